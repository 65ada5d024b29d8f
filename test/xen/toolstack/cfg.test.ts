/**
 * xl.cfg and HOST.cfg parsing: the syntax (strings, numbers, lists over lines, comments, ';'),
 * every key with its default, both disk forms, and every error as its exact one line.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../host/errors';
import { vdevToDevid } from '../../../host/xen/devices';
import { parseXlSyntax } from '../../../host/xen/toolstack/cfg-syntax';
import { parseDomainCfg, readDomainCfg, vdevDevid } from '../../../host/xen/toolstack/cfg';
import { memSizeLimit } from '../../../host/machine/mem-size';
import { hostRamSize, vmMemSizeLimit } from '../../../host/vmm/vm';
import { parseHostCfg, readHostCfg } from '../../../host/xen/toolstack/host-cfg';

const F = '/cfgs/d.cfg';
const parse = (text: string) => parseDomainCfg(text, F);
const MIN = "name = 'd'\nkernel = 'k.elf'\n";
/** The most memory (MiB) an xl.cfg may give a DomU: what one VM can hold. */
const MAX_MIB = vmMemSizeLimit() / 2 ** 20;

/** Expect `text` (after MIN when `withMin`) to fail with exactly `message`. */
function fails(text: string, message: string): void {
  let err: unknown;
  try {
    parse(text);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  expect((err as Error).message).toBe(message);
}

describe('xl.cfg syntax', () => {
  it('reads strings, numbers, multi-line lists, comments and ;', () => {
    const s = parseXlSyntax(`# a comment\nname = "a" ; memory=0x40 # hex\nvif = [ 'x',\n  "y", # trailing comma\n]\n\nvcpus=1`, 'f');
    expect(s.map((x) => [x.key, x.value, x.line])).toEqual([['name', 'a', 2], ['memory', 64, 2], ['vif', ['x', 'y'], 3], ['vcpus', 1, 7]]);
    expect(parseXlSyntax('', 'f')).toEqual([]);
  });

  it.each([
    ['= 1', "f:1: expected a setting KEY = VALUE, found '= 1'"],
    ['name "a"', `f:1: expected '=' after 'name', found '"a"'`],
    ['name =', "f:1: 'name' has no value"],
    ['name = # x', "f:1: 'name' has no value"],
    ['name = abc', "f:1: bad value 'abc' for 'name' (expected a number, a 'string' or a [ list ])"],
    ['memory = 12M', "f:1: bad value '12M' for 'memory' (expected a number, a 'string' or a [ list ])"],
    ["name = 'a", "f:1: unterminated string 'a in 'name'"],
    ["name = 'a' 'b'", "f:1: unexpected ''b'' after the value of 'name'"],
    ["\nvif = [ 'a',\n'b'", "f:2: list opened here is never closed with ']'"],
    ["vif = [ 'a' 'b' ]", "f:1: expected ',' or ']' in list, found ''b' ]'"],
    ['vif = [ [1] ]', 'f:1: lists cannot be nested'],
    ["name = 'a'\nname = 'b'", "f:2: 'name' is set twice (first on line 1)"],
  ])('%j: %s', (text, message) => {
    expect(() => parseXlSyntax(text, 'f')).toThrow(new UserError(message));
  });
});

describe('DomU configuration', () => {
  it('fills the defaults of every optional key', () => {
    expect(parse(MIN)).toEqual({
      file: F, name: 'd', kernel: '/cfgs/k.elf', memoryMiB: 128, vcpus: 1, disks: [], vifs: [],
      onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'destroy', weight: 256, cap: 0,
    });
  });

  it('reads every key; paths are relative to the file', () => {
    const c = parse(`name = "web-1.a"\nkernel = '../bin/k.elf'\nmemory = 64\nvcpus = 1\ntype = 'pv'\n` +
      `disk = [ 'format=raw, vdev=xvda, access=rw, target=img/a,b.img', 'b.img,raw,xvdb,ro', 'vdev=xvdc, access=r, target=mem:8M', '/abs.img,,xvdq' ]\n` +
      `vif = [ 'mac=00:16:3E:00:00:01, bridge=br1, ip=10.0.0.1', '' ]\n` +
      `on_poweroff = 'preserve'\non_reboot = 'destroy'\non_crash = 'restart'\ncpu_weight = 512\ncap = 50\n`);
    expect(c).toEqual({
      file: F, name: 'web-1.a', kernel: '/bin/k.elf', memoryMiB: 64, vcpus: 1,
      disks: [
        { target: { path: '/cfgs/img/a,b.img' }, format: 'raw', vdev: 'xvda', devid: 51712, readOnly: false },
        { target: { path: '/cfgs/b.img' }, format: 'raw', vdev: 'xvdb', devid: 51728, readOnly: true },
        { target: { memoryBytes: 8 << 20 }, format: 'raw', vdev: 'xvdc', devid: 51744, readOnly: true },
        { target: { path: '/abs.img' }, format: 'raw', vdev: 'xvdq', devid: (1 << 28) + 16 * 256, readOnly: false },
      ],
      vifs: [{ mac: '00:16:3e:00:00:01', bridge: 'br1', ip: '10.0.0.1' }, { bridge: 'xenbr0' }],
      onPoweroff: 'preserve', onReboot: 'destroy', onCrash: 'restart', weight: 512, cap: 50,
    });
  });

  it('numbers vdevs as Xen does (and as host/xen/devices.ts)', () => {
    for (const v of ['xvda', 'xvdp', 'xvdq', 'xvdz', 'xvdaa', 'hda', 'xvd', 'xvdA']) expect(vdevDevid(v)).toBe(vdevToDevid(v));
    expect([vdevDevid('xvda'), vdevDevid('xvdp'), vdevDevid('xvdaa')]).toEqual([51712, 51952, (1 << 28) + 26 * 256]);
  });

  const L = (n: number) => `${F}:${n}`;
  it.each([
    ['', `${F}: missing 'name'`],
    ["name = 'd'", `${F}: missing 'kernel'`],
    [MIN + 'colour = 1', `${L(3)}: unknown key 'colour' (known: name, kernel, memory, vcpus, type, disk, vif, on_poweroff, on_reboot, on_crash, cpu_weight, cap, cmdline, root, extra, ramdisk)`],
    ["name = 3\nkernel = 'k'", `${L(1)}: name = 3: expected a quoted string`],
    ["name = '-x'\nkernel = 'k'", `${L(1)}: name = '-x': a domain name is 1..64 letters, digits, '-', '_' or '.', starting with a letter or digit`],
    ["name = 'a b'\nkernel = 'k'", `${L(1)}: name = 'a b': a domain name is 1..64 letters, digits, '-', '_' or '.', starting with a letter or digit`],
    ["name = 'd'\nkernel = ''", `${L(2)}: kernel = '': empty path`],
    ["name = 'd'\nkernel = [ 'k' ]", `${L(2)}: kernel = [ 'k' ]: expected a quoted string`],
    [MIN + "type = 'hvm'", `${L(3)}: type = 'hvm': only 'pv' domains are supported`],
    [MIN + 'vcpus = 2', `${L(3)}: vcpus = 2: only 1 vCPU per domain is supported (SMP is not implemented)`],
    [MIN + 'vcpus = 0', `${L(3)}: vcpus = 0: expected 1..128`],
    [MIN + "vcpus = '1'", `${L(3)}: vcpus = '1': expected a number`],
    [MIN + 'memory = 3', `${L(3)}: memory = 3: expected 4..${MAX_MIB} (MiB)`],
    [MIN + 'memory = 4096', `${L(3)}: memory = 4096: expected 4..${MAX_MIB} (MiB)`],
    // issue 11: 2048 MiB overflowed `memoryMiB << 20` to -2147483648 bytes; with RAM_SIZE_MAX
    // 2 GiB, 2043 MiB and up do not fit one VM's Wasm memory with its G-stage tables.
    [MIN + `memory = ${MAX_MIB + 1}`, `${L(3)}: memory = ${MAX_MIB + 1}: expected 4..${MAX_MIB} (MiB)`],
    [MIN + "memory = '64'", `${L(3)}: memory = '64': expected a number (MiB)`],
    [MIN + 'cpu_weight = 0', `${L(3)}: cpu_weight = 0: expected 1..65535`],
    [MIN + 'cpu_weight = 65536', `${L(3)}: cpu_weight = 65536: expected 1..65535`],
    [MIN + 'cap = 101', `${L(3)}: cap = 101: expected 0..100 (percent of one CPU; 0 = no cap)`],
    [MIN + "on_poweroff = 'halt'", `${L(3)}: on_poweroff = 'halt': unknown action 'halt' (expected destroy, restart or preserve)`],
    [MIN + "on_reboot = 'rename-restart'", `${L(3)}: on_reboot = 'rename-restart': 'rename-restart' is not supported by wasmvisor (use destroy, restart or preserve)`],
    [MIN + "on_crash = 'coredump-destroy'", `${L(3)}: on_crash = 'coredump-destroy': 'coredump-destroy' is not supported by wasmvisor (use destroy, restart or preserve)`],
    [MIN + "disk = 'a.img'", `${L(3)}: disk = 'a.img': expected a [ list ] of 'strings'`],
    [MIN + 'disk = [ 1 ]', `${L(3)}: disk = [ 1 ]: entry 1 is not a quoted string`],
    [MIN + "disk = [ 'vdev=xvda' ]", `${L(3)}: disk = [ 'vdev=xvda' ]: disk 'vdev=xvda' has no target`],
    [MIN + "disk = [ 'a.img' ]", `${L(3)}: disk = [ 'a.img' ]: disk 'a.img' has no vdev (e.g. vdev=xvda)`],
    [MIN + "disk = [ 'a.img,qcow2,xvda' ]", `${L(3)}: disk = [ 'a.img,qcow2,xvda' ]: disk format 'qcow2' is not supported (only raw)`],
    [MIN + "disk = [ 'a.img,raw,hda' ]", `${L(3)}: disk = [ 'a.img,raw,hda' ]: bad vdev 'hda' (expected xvda, xvdb, ...)`],
    [MIN + "disk = [ 'a.img,raw,xvda,rx' ]", `${L(3)}: disk = [ 'a.img,raw,xvda,rx' ]: bad access 'rx' (expected rw or ro)`],
    [MIN + "disk = [ 'a,raw,xvda,rw,x' ]", `${L(3)}: disk = [ 'a,raw,xvda,rw,x' ]: too many positional fields in disk 'a,raw,xvda,rw,x' (target,format,vdev,access)`],
    [MIN + "disk = [ 'cache=none, target=a' ]", `${L(3)}: disk = [ 'cache=none, target=a' ]: unknown disk key 'cache' in 'cache=none, target=a' (known: format, vdev, access, devtype, target)`],
    [MIN + "disk = [ 'vdev=xvda, vdev=xvdb, target=a' ]", `${L(3)}: disk = [ 'vdev=xvda, vdev=xvdb, target=a' ]: disk key 'vdev' given twice in 'vdev=xvda, vdev=xvdb, target=a'`],
    [MIN + "disk = [ 'devtype=cdrom, vdev=xvda, target=a' ]", `${L(3)}: disk = [ 'devtype=cdrom, vdev=xvda, target=a' ]: disk devtype 'cdrom' is not supported (only disk)`],
    [MIN + "disk = [ 'a,raw,xvda', 'b,raw,xvda' ]", `${L(3)}: disk = [ 'a,raw,xvda', 'b,raw,xvda' ]: vdev xvda is used twice`],
    [MIN + "disk = [ 'mem:8,raw,xvda' ]", `${L(3)}: disk = [ 'mem:8,raw,xvda' ]: bad memory disk 'mem:8' (expected e.g. mem:8M)`],
    [MIN + "disk = [ 'mem:2K,raw,xvda' ]", `${L(3)}: disk = [ 'mem:2K,raw,xvda' ]: memory disk 'mem:2K' must be 4K..1G`],
    [MIN + "vif = [ 'bridge' ]", `${L(3)}: vif = [ 'bridge' ]: vif item 'bridge' is not key=value`],
    [MIN + "vif = [ 'model=e1000' ]", `${L(3)}: vif = [ 'model=e1000' ]: unknown vif key 'model' (known: mac, bridge, ip)`],
    [MIN + "vif = [ 'mac=00:16:3e:00:00' ]", `${L(3)}: vif = [ 'mac=00:16:3e:00:00' ]: bad mac '00:16:3e:00:00' (expected six hex pairs, e.g. 00:16:3e:00:00:01)`],
    [MIN + "vif = [ 'mac=01:16:3e:00:00:01' ]", `${L(3)}: vif = [ 'mac=01:16:3e:00:00:01' ]: mac '01:16:3e:00:00:01' is a multicast address`],
    [MIN + "vif = [ 'bridge=a/b' ]", `${L(3)}: vif = [ 'bridge=a/b' ]: bad bridge name 'a/b'`],
    [MIN + "vif = [ 'ip=10.0.0.256' ]", `${L(3)}: vif = [ 'ip=10.0.0.256' ]: bad ip '10.0.0.256' (expected an IPv4 address, e.g. 10.0.0.1)`],
    [MIN + "vif = [ 'ip=10.0.0.1,ip=10.0.0.2' ]", `${L(3)}: vif = [ 'ip=10.0.0.1,ip=10.0.0.2' ]: vif key 'ip' given twice in 'ip=10.0.0.1,ip=10.0.0.2'`],
  ])('%j', (text, message) => fails(text, message));

  it('names a file it cannot read', () => {
    expect(() => readDomainCfg('/no/such.cfg')).toThrow(new UserError('/no/such.cfg: no such file'));
    expect(() => readDomainCfg('/tmp')).toThrow(new UserError('/tmp: is a directory, expected a configuration file'));
    // issue 11: these were read without end
    expect(() => readDomainCfg('/dev/zero')).toThrow(new UserError('/dev/zero: configuration file is a character device, expected a regular file'));
  });

  it('accepts the largest memory a VM can have (2042 MiB with RAM_SIZE_MAX 2 GiB), and no more', () => {
    expect(parse(MIN + `memory = ${MAX_MIB}`).memoryMiB).toBe(MAX_MIB);
    expect(vmMemSizeLimit() % 2 ** 20).toBe(0);
    expect(hostRamSize(vmMemSizeLimit())).toBeLessThanOrEqual(memSizeLimit());
    expect(hostRamSize(vmMemSizeLimit() + 2 ** 20)).toBeGreaterThan(memSizeLimit());
  });
});

describe('HOST.cfg', () => {
  const dom = (name: string, bridge = 'xenbr0') => (path: string) => ({ ...parse(`name='${name}'\nkernel='k'\nvif=['bridge=${bridge}']`), file: path });

  it('reads bridges and domains (paths relative to it; xenbr0 by default)', () => {
    const seen: string[] = [];
    const h = parseHostCfg("domains = [ 'a.cfg', '../b.cfg' ]", '/h/host.cfg', (p) => (seen.push(p), dom(p.includes('a') ? 'a' : 'b')(p)));
    expect([h.bridges, seen, h.domains.map((d) => d.name)]).toEqual([['xenbr0'], ['/h/a.cfg', '/b.cfg'], ['a', 'b']]);
    expect(parseHostCfg("bridges = [ 'br0', 'br1' ]\ndomains = [ 'a' ]", 'h', dom('a', 'br1')).bridges).toEqual(['br0', 'br1']);
  });

  it.each([
    ["bridges = [ 'xenbr0' ]", "h: missing 'domains' (e.g. domains = [ 'domu1.cfg' ])"],
    ['domains = [ ]', 'h:1: domains = [ ]: no domains'],
    ["domains = 'a.cfg'", "h:1: domains = 'a.cfg': expected a [ list ] of 'strings'"],
    ["domains = [ '' ]", 'h:1: domains = [ \'\' ]: empty path'],
    [`domains = [ ${Array(17).fill("'a'").join(', ')} ]`, "h:1: domains = [ 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', ...: 17 domains; at most 16"],
    ["bridges = [ 'a', 'a' ]\ndomains = [ 'x' ]", "h:1: bridges = [ 'a', 'a' ]: a bridge is named twice"],
    ["bridges = [ 'a b' ]", "h:1: bridges = [ 'a b' ]: bad bridge name 'a b'"],
    ["memory = 3", "h:1: unknown key 'memory' (known: bridges, domains, uplinks)"],
    ["domains = [ 'a', 'b' ]", "h:1: two domains are named 'a'"],
    ["bridges = [ 'br0' ]\ndomains = [ 'a' ]", "/h/a: vif bridge 'xenbr0' is not one of h's bridges (br0)"],
  ])('%j', (text, message) => {
    expect(() => parseHostCfg(text, 'h', (p) => dom('a')(p.replace(resolve('.'), '/h')))).toThrow(new UserError(message));
  });

  it('the demo reads as the docs say', () => {
    const h = readHostCfg(resolve(__dirname, '../../../guests/xen/demo.cfg'));
    expect(h.bridges).toEqual(['xenbr0']);
    expect(h.domains.map((d) => [d.name, d.memoryMiB, d.disks[0].target, d.vifs[0]])).toEqual([
      ['domu1', 32, { memoryBytes: 1 << 20 }, { mac: '00:16:3e:00:00:01', bridge: 'xenbr0', ip: '10.0.0.1' }],
      ['domu2', 32, { memoryBytes: 1 << 20 }, { mac: '00:16:3e:00:00:02', bridge: 'xenbr0', ip: '10.0.0.2' }],
    ]);
    expect(h.domains.map((d) => d.kernel)).toEqual([1, 2].map(() => resolve(__dirname, '../../../guests/bin/minikernel/minikernel.elf')));
  });
});
