/**
 * Linux migrated live between two wasmvisor processes (issue 14, item 3; docs/migration.md).
 * The source boots guests/bin/linux as a VM with a virtio-blk disk (a host file both processes
 * open: shared storage, as QEMU's migration assumes), a virtio-rng, a virtio console and a
 * virtio-net whose socket backend dials the test (`connect=`), to the busybox shell. A background
 * job and a foreground command are running when SIGUSR2 starts the migration (pre-copy, then
 * stop-and-copy); the target, started with the same command line but `--incoming` and another
 * `mac=`, takes over:
 *  - the foreground command's output ("sleep 3; echo ...") appears on the target's console and
 *    the shell answers the next command there, exactly;
 *  - the background job's 12 lines are all in its file, in order;
 *  - /dev/vda reads the same checksum as on the source and as the host file; a block written
 *    from the target reaches the host file;
 *  - virtio-net: the guest keeps the source's MAC (the saved one wins over the target's mac=),
 *    the target's backend dials the test again (the backend is given on the command line), and
 *    an ARP request the guest sends after the migration arrives on that new connection;
 *  - virtio-rng still answers; poweroff exits the target 0; the source exited 0 at DONE.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../host/devices/virtio/net-socket';
import { freePort, Guest, IMAGE, INITRD, waitListening, wasmvisorArgs } from './virtio-guest';

const have = existsSync(IMAGE) && existsSync(INITRD);
const DISK_SIZE = 1 << 20;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const SOURCE_MAC = '52:54:00:12:34:99';
/** The whole disk's checksum as the guest reads it (busybox md5sum on dd's output). */
const DISK_MD5 = 'dd if=/dev/vda bs=4096 count=256 2>/dev/null | md5sum';

/** The network peer: a listener that keeps every connection's frames apart. */
function peer(port: number): Promise<{ server: Server; conns: { socket: Socket; frames: Uint8Array[] }[] }> {
  const conns: { socket: Socket; frames: Uint8Array[] }[] = [];
  const server = createServer((socket) => {
    const c = { socket, frames: [] as Uint8Array[] };
    conns.push(c);
    const d = new FrameDecoder((f) => c.frames.push(f));
    socket.on('data', (b: Buffer) => d.feed(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, conns })));
}

const hexMac = (f: Uint8Array, at: number) => Array.from(f.subarray(at, at + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
/** An ARP request (EtherType 0x0806, opcode 1) from `mac` asking for `ip`. */
const isArpFor = (f: Uint8Array, mac: string, ip: number[]) =>
  f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[21] === 1 && hexMac(f, 6) === mac && ip.every((b, i) => f[38 + i] === b);

describe.skipIf(!have)('Linux migrated live between two processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-linux-mig-'));
  const guests: Guest[] = [];
  let net: Awaited<ReturnType<typeof peer>> | undefined;
  afterAll(() => {
    for (const g of guests) if (g.child.exitCode === null) g.child.kill('SIGKILL');
    net?.server.close();
    for (const c of net?.conns ?? []) c.socket.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a running shell, its jobs, the disk and the NIC continue on the target', async () => {
    const disk = join(dir, 'disk.img');
    const original = new Uint8Array(randomBytes(DISK_SIZE));
    writeFileSync(disk, original);
    const [netPort, migPort] = [await freePort(), await freePort()];
    net = await peer(netPort);
    const args = (mac: string) => [IMAGE, '--initrd', INITRD, '--append', 'console=ttyS0 quiet', '--disk', disk, '--virtio-rng', '--virtio-console',
      '--net', `socket,connect=127.0.0.1:${netPort},mac=${mac}`];
    const src = new Guest('source', disk, wasmvisorArgs([...args(SOURCE_MAC), '--migrate-to', `tcp:127.0.0.1:${migPort}`, '--migrate-after', '86400']));
    guests.push(src);
    await src.waitFor(/wasmvisor Linux \(busybox\)[\s\S]*\/ # $/, 170_000);
    expect(await src.sh(DISK_MD5)).toBe(`${md5(original)}  -\n`);
    expect((await src.sh('cat /sys/class/net/eth0/address')).trim()).toBe(SOURCE_MAC);
    // Sectors 16-23: 4 KiB from the hardware RNG, synced to the host file.
    await src.sh('dd if=/dev/hwrng of=/dev/vda bs=512 count=8 seek=16 2>/dev/null; sync');
    const before = await src.sh(DISK_MD5);
    expect(before).toBe(`${md5(readFileSync(disk))}  -\n`);
    expect(before).not.toBe(`${md5(original)}  -\n`);

    // The target: the same command line with --incoming (and another mac=, which the saved one overrides).
    const tgt = new Guest('target', disk, wasmvisorArgs([...args('52:54:00:00:00:01'), '--incoming', `tcp:127.0.0.1:${migPort}`]));
    guests.push(tgt);
    await waitListening(migPort);

    // A background job that writes a line every second, and a foreground command, both running at the switch.
    await src.sh('(i=0; while [ $i -lt 12 ]; do echo tick $i >> /tmp/ticks; i=$((i+1)); sleep 1; done) & true');
    src.type('sleep 3; echo slept $((6*7))\n');
    await src.waitFor(/sleep 3; echo slept \$\(\(6\*7\)\)\n$/, 30_000);
    src.child.kill('SIGUSR2');
    expect(await src.exited).toBe(0);
    expect(src.err).toMatch(/^wasmvisor: migrated to tcp:127\.0\.0\.1:\d+ \(precopy\): total [\d,]+ ms, downtime [\d,.]+ ms, \d+ rounds \(pages [\d, ]+stop-and-copy \d+\), 0 pages fetched on demand, [\d,]+ bytes sent$/m);
    expect(tgt.err).toMatch(/^wasmvisor: migrated in from 127\.0\.0\.1:\d+ \(\d+ pages, \d+ bytes\); running$/m);
    expect(src.out).not.toContain('slept 42');
    console.log(src.err.split('\n').find((l) => l.includes('migrated to')));

    // The foreground command finishes on the target, and the shell answers there.
    await tgt.waitFor(/^slept 42\n\/ # $/m, 60_000);
    expect(tgt.out.startsWith('slept 42\n') || tgt.out.startsWith('\nslept 42\n')).toBe(true);
    expect(await tgt.sh('echo $((1+2)) $(cat /sys/class/net/eth0/address)')).toBe(`3 ${SOURCE_MAC}\n`);
    await tgt.sh('wait');
    expect(await tgt.sh('cat /tmp/ticks')).toBe(Array.from({ length: 12 }, (_, i) => `tick ${i}\n`).join(''));

    // The disk: the same contents seen from the target; a write from the target reaches the file.
    expect(await tgt.sh(DISK_MD5)).toBe(before);
    await tgt.sh('echo migrated | dd of=/dev/vda bs=512 seek=100 2>/dev/null; sync');
    const after = readFileSync(disk);
    expect(after.subarray(100 * 512, 100 * 512 + 9).toString('latin1')).toBe('migrated\n');
    expect(await tgt.sh(DISK_MD5)).toBe(`${md5(after)}  -\n`);

    // The NIC: the target's backend dialled the peer again; the guest's ARP request from the source's MAC arrives on it.
    await tgt.sh('ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up; ping -c 1 -W 1 10.0.2.2 >/dev/null 2>&1; true', 60_000);
    const last = net.conns[net.conns.length - 1];
    expect(net.conns.length).toBeGreaterThanOrEqual(2);
    expect(last.frames.some((f) => isArpFor(f, SOURCE_MAC, [10, 0, 2, 2]))).toBe(true);

    // virtio-rng on the target; then poweroff ends it with 0.
    expect((await tgt.sh('dd if=/dev/hwrng bs=16 count=1 2>/dev/null | wc -c')).trim()).toBe('16');
    tgt.type('poweroff\n');
    expect(await tgt.exited).toBe(0);
  }, 400_000);
});
