/**
 * Linux's own drivers on wasmvisor's virtio devices (issue 12, item 3), in both modes at once:
 * guest A is a VM (`wasmvisor run Image`), guest B the bare machine behind Debian's OpenSBI
 * (`--bare --bios fw_dynamic.bin`). Each has a disk image, a virtio-rng, a virtio console and a
 * virtio-net linked to the other over TCP (A listens, B connects). A's shell is on ttyS0 (the
 * UART); B's is on the virtio console itself (`console=hvc1 --console-input virtio`), so every
 * byte typed to B and every byte B's shell prints crosses virtio-console's queues. The shells
 * are driven through stdin, each command framed by markers that only its output contains:
 *  - virtio-blk: /dev/vda reads back the host file's checksum; random bytes written from
 *    /dev/hwrng read back the same and, after poweroff, are in the host file;
 *  - virtio-rng: /dev/hwrng is bound to virtio_rng, a read gives 64 bytes, two reads differ;
 *  - virtio-console: a line written to its hvc device reaches stdout, and --stats counts it
 *    (for B: exactly the bytes typed went in through it);
 *  - virtio-net: the MACs from config space, then ping -c 3 both ways;
 *  - dmesg: the drivers' probe lines, and no error line from our devices;
 *  - poweroff exits 0.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, Guest, IMAGE, INITRD, FW, wasmvisorArgs } from './virtio-guest';

const DISK_SIZE = 1 << 20;
const have = existsSync(IMAGE) && existsSync(INITRD) && existsSync(FW);

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

describe.skipIf(!have)('Linux drives the virtio devices: A in VM mode, B bare behind OpenSBI, linked by --net', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-linux-dev-'));
  const original = new Map<string, Uint8Array>();
  let A: Guest;
  let B: Guest;
  const both = () => [A, B];

  beforeAll(async () => {
    const port = await freePort();
    const disk = (name: string) => {
      const p = join(dir, `${name}.img`);
      const bytes = new Uint8Array(randomBytes(DISK_SIZE));
      writeFileSync(p, bytes);
      original.set(p, bytes);
      return p;
    };
    const common = (d: string) => ['--initrd', INITRD, '--disk', d, '--virtio-rng', '--virtio-console', '--stats'];
    const dA = disk('a');
    const dB = disk('b');
    A = new Guest('A (VM)', dA, wasmvisorArgs([IMAGE, ...common(dA), '--append', 'console=ttyS0 quiet', '--net', `socket,listen=127.0.0.1:${port}`]));
    B = new Guest('B (bare)', dB, wasmvisorArgs(['--bare', '--bios', FW, IMAGE, ...common(dB), '--append', 'console=hvc1 quiet', '--console-input', 'virtio', '--net', `socket,connect=127.0.0.1:${port},mac=52:54:00:12:34:57`]));
    await Promise.all(both().map((g) => g.waitFor(/wasmvisor Linux \(busybox\)[\s\S]*\/ # $/, 170_000)));
  }, 180_000);

  afterAll(() => {
    for (const g of both()) if (g?.child.exitCode === null) g.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('virtio-blk: /dev/vda reads the host file; bytes written from /dev/hwrng read back', async () => {
    await Promise.all(both().map(async (g) => {
      const host = original.get(g.disk)!;
      expect(await g.sh('dd if=/dev/vda bs=4096 count=256 2>/dev/null | md5sum')).toBe(`${md5(host)}  -\n`);
      const out = await g.sh('dd if=/dev/hwrng of=/dev/vda bs=512 count=8 seek=128 2>/dev/null; sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; dd if=/dev/vda bs=512 count=8 skip=128 2>/dev/null | md5sum');
      expect(out).toMatch(/^[0-9a-f]{32} {2}-\n$/);
      expect(out.slice(0, 32)).not.toBe(md5(host.subarray(128 * 512, 136 * 512)));
      (g as Guest & { written?: string }).written = out.slice(0, 32);
    }));
  }, 60_000);

  it('virtio-rng: hwrng is virtio_rng; two 64-byte reads are full and differ', async () => {
    await Promise.all(both().map(async (g) => {
      expect(await g.sh('cat /sys/class/misc/hw_random/rng_current')).toMatch(/^virtio_rng\.\d+\n$/);
      // (this busybox's head has no -c: dd takes the 64 bytes)
      const a = await g.sh('dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c; dd if=/dev/hwrng bs=64 count=1 2>/dev/null | md5sum');
      const b = await g.sh('dd if=/dev/hwrng bs=64 count=1 2>/dev/null | md5sum');
      expect(a).toMatch(/^\s*64\n[0-9a-f]{32} {2}-\n$/);
      expect(b).toMatch(/^[0-9a-f]{32} {2}-\n$/);
      expect(a.split('\n')[1].slice(0, 32)).not.toBe(b.slice(0, 32));
    }));
  }, 60_000);

  it('virtio-console: a line written to its hvc device reaches stdout', async () => {
    await Promise.all(both().map(async (g) => {
      // The SBI console is hvc0 in this kernel (CONFIG_HVC_RISCV_SBI), so the virtio port is
      // hvc1 (the SBI one would reach stdout too: --stats tells them apart, below).
      expect(await g.sh('cat /proc/consoles')).toMatch(g === A ? /^ttyS0 / : /^hvc1 /);
      const from = g.out.length;
      await g.sh(`echo hvc-$((6*7))-${g.name[0]} > /dev/hvc1`);
      await g.waitFor(new RegExp(`hvc-42-${g.name[0]}\\n`), 10_000, from);
    }));
  }, 60_000);

  it('virtio-net: MACs from config space; ping -c 3 both ways', async () => {
    expect(await A.sh('cat /sys/class/net/eth0/address')).toBe('52:54:00:12:34:56\n');
    expect(await B.sh('cat /sys/class/net/eth0/address')).toBe('52:54:00:12:34:57\n');
    await A.sh('ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up');
    await B.sh('ifconfig eth0 10.0.2.16 netmask 255.255.255.0 up');
    const ab = await A.sh('ping -c 3 10.0.2.16', 40_000);
    expect(ab).toContain('3 packets transmitted, 3 packets received, 0% packet loss');
    const ba = await B.sh('ping -c 3 10.0.2.15', 40_000);
    expect(ba).toContain('3 packets transmitted, 3 packets received, 0% packet loss');
  }, 90_000);

  it('dmesg: the drivers probed our devices, and no error line names them', async () => {
    await Promise.all(both().map(async (g) => {
      const lines = (await g.sh('dmesg | grep -i -e error -e virtio -e vda -e eth0 -e hvc')).split('\n').filter((l) => l !== '');
      expect(lines.some((l) => /virtio_blk virtio\d+: \[vda\] 2048 512-byte logical blocks \(1\.05 MB\/1\.00 MiB\)/.test(l))).toBe(true);
      const errors = lines.filter((l) => /error|fail/i.test(l) && /virtio|vd[a-z]|eth\d|hvc|rng/i.test(l));
      expect(errors).toEqual([]);
    }));
  }, 30_000);

  it('poweroff exits 0; the disk files hold what the guests wrote, nothing else changed; --stats counts the devices', async () => {
    for (const g of both()) g.type('poweroff\n');
    const codes = await Promise.all(both().map((g) => g.exited));
    expect(codes).toEqual([0, 0]);
    for (const g of both()) {
      const now = new Uint8Array(readFileSync(g.disk));
      const was = original.get(g.disk)!;
      expect(md5(now.subarray(128 * 512, 136 * 512))).toBe((g as Guest & { written?: string }).written);
      expect(md5(now.subarray(0, 128 * 512))).toBe(md5(was.subarray(0, 128 * 512)));
      expect(md5(now.subarray(136 * 512))).toBe(md5(was.subarray(136 * 512)));
      const con = /virtio-console@10003000: notifies \d+, interrupts \d+, outBytes (\d+), inBytes (\d+)/.exec(g.err);
      if (g === A) {
        // The hvc line went through the virtio console (not the SBI one): its transmit counter has it.
        expect([con?.[1], con?.[2]]).toEqual([String('hvc-42-A\r\n'.length), '0']);
      } else {
        // B's shell read every typed byte from the virtio console and wrote its session there.
        expect(Number(con?.[2])).toBe(B.typed);
        expect(Number(con?.[1])).toBeGreaterThan(B.typed);
      }
      const net = /virtio-net@10002000: .*txFrames (\d+).*rxFrames (\d+)/.exec(g.err);
      expect(Number(net![1])).toBeGreaterThanOrEqual(6);
      expect(Number(net![2])).toBeGreaterThanOrEqual(6);
    }
  }, 60_000);
});
