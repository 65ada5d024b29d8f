/**
 * virtio-net's socket backend against QEMU's (issue 12): a wasmvisor VM listening with
 * `--net socket,listen=` and the same Linux on `qemu-system-riscv64 -M virt` connecting with
 * `-netdev socket,connect=` and a virtio-net-device, pinging each other. The wire format is
 * QEMU's own, so this link is the proof that it matches.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oracle, QEMU } from '../oracles';
import { freePort, Guest, IMAGE, INITRD, waitListening, wasmvisorArgs } from './virtio-guest';

const have = existsSync(IMAGE) && existsSync(INITRD);

describe.skipIf(!have || !oracle('qemu', 'test/linux/qemu-net.test.ts'))('a wasmvisor VM and a QEMU guest on one --net socket link', () => {
  let W: Guest;
  let Q: Guest;
  beforeAll(async () => {
    const port = await freePort();
    W = new Guest('wasmvisor', '', wasmvisorArgs([IMAGE, '--initrd', INITRD, '--append', 'console=ttyS0 quiet', '--net', `socket,listen=127.0.0.1:${port}`]));
    // QEMU's connect= tries once, at start: the listener must be up first.
    await waitListening(port);
    Q = new Guest('QEMU', '', [QEMU,
      '-M', 'virt', '-m', '128M', '-nographic', '-kernel', IMAGE, '-initrd', INITRD, '-append', 'console=ttyS0 quiet',
      '-global', 'virtio-mmio.force-legacy=false',
      '-netdev', `socket,id=n0,connect=127.0.0.1:${port}`, '-device', 'virtio-net-device,netdev=n0,mac=52:54:00:12:34:57']);
    await Promise.all([W, Q].map((g) => g.waitFor(/wasmvisor Linux \(busybox\)[\s\S]*\/ # $/, 170_000)));
  }, 180_000);
  afterAll(() => {
    for (const g of [W, Q]) if (g?.child.exitCode === null) g.child.kill('SIGKILL');
  });

  it('ping -c 3 both ways, then both power off with 0', async () => {
    await W.sh('ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up');
    await Q.sh('ifconfig eth0 10.0.2.16 netmask 255.255.255.0 up');
    expect(await W.sh('ping -c 3 10.0.2.16', 40_000)).toContain('3 packets transmitted, 3 packets received, 0% packet loss');
    expect(await Q.sh('ping -c 3 10.0.2.15', 40_000)).toContain('3 packets transmitted, 3 packets received, 0% packet loss');
    for (const g of [W, Q]) g.child.stdin!.write('poweroff\n');
    expect(await W.exited).toBe(0);
    // QEMU's virt powers off through its syscon: status 0.
    expect(await Q.exited).toBe(0);
  }, 120_000);
});
