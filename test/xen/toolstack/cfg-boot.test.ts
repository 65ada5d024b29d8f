/**
 * xl.cfg boot keys (issue 12, part 2): cmdline= overrides root= and extra=, which libxl joins as
 * "root=ROOT EXTRA" (tools/xl/xl_parse.c); ramdisk=. A DomU built with them finds /chosen
 * bootargs and the initrd in the device tree at a1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../host/errors';
import { parseImage } from '../../../host/machine/loader';
import { XenHypervisor } from '../../../host/xen/hypervisor';
import { parseDomainCfg } from '../../../host/xen/toolstack/cfg';
import { buildGuest } from '../guest-asm';

const MIN = "name = 'd'\nkernel = 'k.elf'\n";
const parse = (text: string) => parseDomainCfg(MIN + text, '/cfgs/d.cfg');
const HAVE_DTC = spawnSync('dtc', ['--version'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-xlboot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('xl.cfg cmdline, root, extra, ramdisk', () => {
  it('joins and overrides as xl does', () => {
    expect(parse('').cmdline).toBeUndefined();
    expect(parse("extra = 'quiet'").cmdline).toBe('quiet');
    expect(parse("root = '/dev/xvda'").cmdline).toBe('root=/dev/xvda');
    expect(parse("root = '/dev/xvda'\nextra = 'console=hvc0 quiet'").cmdline).toBe('root=/dev/xvda console=hvc0 quiet');
    expect(parse("cmdline = 'console=hvc0'\nroot = '/dev/xvda'\nextra = 'x'").cmdline).toBe('console=hvc0');
    expect(parse("ramdisk = 'boot/initrd.img'").ramdisk).toBe('/cfgs/boot/initrd.img');
  });
  it('refuses a ramdisk that is not a path', () => {
    expect(() => parse("ramdisk = ''")).toThrow(new UserError("/cfgs/d.cfg:3: ramdisk = '': empty path"));
    expect(() => parse('extra = 3')).toThrow(new UserError('/cfgs/d.cfg:3: extra = 3: expected a quoted string'));
  });
});

describe('a DomU with cmdline and ramdisk', () => {
  it.skipIf(!HAVE_DTC)('gets bootargs and linux,initrd-start/end in its tree, and the ramdisk bytes there', async () => {
    const hv = new XenHypervisor();
    const initrd = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const d = await hv.createDomain({
      name: 'd1', memSize: 32 << 20, kernel: parseImage(buildGuest([]), 'd1.bin', 0x80200000n), deterministic: true, jit: 'off',
      boot: { append: 'root=/dev/xvda quiet', initrd: { name: 'r.img', data: initrd } },
    });
    const vm = d.vm;
    expect(vm.initrd?.start).toBe(0x80200000n + (16n << 20n));
    expect(vm.readGuest(vm.initrd!.start, 300)).toEqual(initrd);
    const size = new DataView(vm.readGuest(vm.dtbAddress, 8)!.slice().buffer).getUint32(4);
    const path = join(dir, 'domu.dtb');
    writeFileSync(path, vm.readGuest(vm.dtbAddress, size)!);
    const dts = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', path], { encoding: 'utf8' }).stdout;
    expect(dts).toContain('bootargs = "root=/dev/xvda quiet";');
    expect(dts).toContain('linux,initrd-start = <0x81200000>;');
    expect(dts).toContain('linux,initrd-end = <0x8120012c>;');
    expect(dts).toContain('hypervisor {'); // Xen's nodes are still added
  }, 60_000);
});
