/**
 * The C frontends (guests/xen/lib: pvcons, blkfront, netfront, ping) against the Dom0 backends,
 * wired by host/xen/devices.ts as xl would: two pvtest DomUs in one process, each with a
 * MemoryBackend disk, a vif on one Bridge and its PV console, run in alternating slices
 * (a stand-in for the toolstack's scheduler). Also a read-only disk, a DomU without vif, the
 * same program run by minikernel booted as a DomU, and the XenStore side of attach/close.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../host/errors';
import { MemoryBackend } from '../../host/devices/virtio/backend';
import { loadImageFile } from '../../host/machine/loader';
import type { Blkback } from '../../host/xen/backends/blkback';
import { Bridge } from '../../host/xen/backends/bridge';
import { XENCONS_IN, XENCONS_IN_PROD } from '../../host/xen/backends/console';
import { attachConsole, attachDisk, attachVif, vdevToDevid, type AttachedDevice } from '../../host/xen/devices';
import type { XenDomain } from '../../host/xen/domain';
import { XenHypervisor } from '../../host/xen/hypervisor';
import { XenbusState } from '../../host/xen/xenstore/xenbus';
import { Vm, type VmRunResult } from '../../host/vmm/vm';

const ROOT = join(__dirname, '../..');
const IMAGE = join(ROOT, 'guests/bin/xen/pvtest.elf');
/** minikernel: as a DomU it runs the same program (guests/xen/lib/pvprog.c) as "minikernel". */
const MINIKERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const XVDA = 51712;
const PATTERN_SECTOR = 64;
const PATTERN_BYTES = 128 * 1024;

/** FNV-1a 32 (guests/xen/lib/ping.c fnv1a). */
function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const x of b) h = Math.imul(h ^ x, 16777619) >>> 0;
  return h;
}

/** pvtest's pattern for domain `domid`: u32 word i = i * 2654435761 ^ domid << 24, little endian. */
function pattern(domid: number): Uint8Array {
  const out = new Uint8Array(PATTERN_BYTES);
  const v = new DataView(out.buffer);
  for (let i = 0; i < PATTERN_BYTES / 4; i++) v.setUint32(4 * i, (Math.imul(i, 2654435761) ^ (domid << 24)) >>> 0, true);
  return out;
}

interface Guest {
  d: XenDomain;
  console: number[];
  disk: MemoryBackend;
  devices: AttachedDevice[];
  last?: VmRunResult;
}

async function guest(hv: XenHypervisor, name: string, opts: { bridge?: Bridge; disk?: MemoryBackend; readOnly?: boolean; deterministic?: boolean; image?: string }): Promise<Guest> {
  const d = await hv.createDomain({ name, memSize: 16 << 20, kernel: loadImageFile(opts.image ?? IMAGE, 0x80200000n), deterministic: opts.deterministic ?? true });
  const g: Guest = { d, console: [], disk: opts.disk ?? new MemoryBackend(1 << 20), devices: [] };
  g.devices.push(attachConsole(hv, d, (b) => g.console.push(...b)));
  g.devices.push(attachDisk(hv, d, vdevToDevid('xvda')!, { backend: g.disk, vdev: 'xvda', readOnly: opts.readOnly ?? false }));
  if (opts.bridge) g.devices.push(attachVif(hv, d, 0, { bridge: opts.bridge }));
  return g;
}

/**
 * Run the guests in turn, `slice` instructions each, until all have shut down. A guest that
 * blocks (SCHEDOP_block with nothing pending) would wait in Vm.run for an event only another
 * guest can send, so its turn ends there: the loop stops it once it has halted.
 */
async function runInTurns(hv: XenHypervisor, guests: Guest[], slice = 200_000n, maxRounds = 500): Promise<number> {
  for (let round = 1; round <= maxRounds; round++) {
    let live = 0;
    for (const g of guests) {
      if (g.last?.reason === 'exit') continue;
      live++;
      const halts = g.d.vm.vcpu.haltExits;
      let settled = false;
      const run = hv.run(g.d.domid, { maxInstructions: slice }).finally(() => { settled = true; });
      while (!settled) {
        await new Promise<void>((r) => setImmediate(r));
        if (!settled && g.d.vm.vcpu.haltExits !== halts) g.d.vm.stop();
      }
      g.last = await run;
    }
    if (live === 0) return round;
  }
  throw new Error(`guests still running after ${maxRounds} rounds`);
}

const text = (g: Guest) => Buffer.from(g.console).toString('latin1');

/**
 * What pvtest (guests/xen/lib/pvprog.c) must print in a two-domain run, from Dom0's side rather
 * than from a recording of its own output: the domain id, console and event-channel ports,
 * ring-ref and MAC the frontends wrote to XenStore, the disk's size, the pattern's checksum
 * computed here, the address rule (10.0.0.<domid>, peer .1 <-> .2), and request counts that
 * must add up to what the backend served (4 write + 4 read + 1 flush requests, 66 segments).
 * The guest checks its own results (read-back equals what it wrote, flush and ping succeed,
 * every grant ended) and prints FAIL and crashes otherwise; its notification and wait counts
 * are its own bookkeeping and are only matched by form.
 */
function expectPvtestLines(hv: XenHypervisor, g: Guest, name: string, peerDomid: number): void {
  const home = `/local/domain/${g.d.domid}`;
  const xs = (path: string) => hv.xs.read(`${home}/${path}`);
  const sum = fnv1a(pattern(g.d.domid)).toString(16).padStart(8, '0');
  const lines = text(g).split('\r\n');
  expect(lines.pop()).toBe(''); // every line ends in CR LF (the PV console)
  const wrote = /^(\S+): wrote 131072 bytes at sector 64 in (\d+) requests \((\d+) segments\)$/.exec(lines[2] ?? '');
  const read = /^(\S+): read back in (\d+) requests, /.exec(lines[3] ?? '');
  expect(wrote && read, lines.join('\n')).toBeTruthy();
  const s = g.devices[1].stats();
  expect(Number(wrote![2]) + Number(read![2]) + 1).toBe(s.requests);
  expect(Number(wrote![3])).toBeLessThan(s.grantMaps);
  expect(lines[5]).toMatch(new RegExp(`^${name}: disk ok \\(\\d+ notifications, \\d+ waits\\)$`));
  const mac = xs('device/vif/0/mac')!.split(':').map((x) => x.padStart(2, '0')).join(':');
  expect(lines).toEqual([
    `${name}: domain ${g.d.domid}, PV console on port ${xs('console/port')}`,
    `${name}: vbd 51712: ${g.disk.bytes.length / 512} sectors, read-write, flush yes, ring-ref ${xs('device/vbd/51712/ring-ref')}, port ${xs('device/vbd/51712/event-channel')}`,
    lines[2],
    `${name}: read back in ${read![2]} requests, fnv1a 0x${sum} (written 0x${sum})`,
    `${name}: flush ok`,
    lines[5],
    `${name}: vif 0: mac ${mac}, port ${xs('device/vif/0/event-channel')}, ip 10.0.0.${g.d.domid}, peer 10.0.0.${peerDomid}`,
    `${name}: ping 10.0.0.${peerDomid} ok`,
    `${name}: all tests passed; powering off`,
  ]);
}

describe('pvtest: two DomUs, disks and a bridge', () => {
  it('both write and read back their disks, ping each other and power off', async () => {
    const hv = new XenHypervisor();
    const bridge = new Bridge({ now: () => 0 });
    const a = await guest(hv, 'a', { bridge });
    const b = await guest(hv, 'b', { bridge });
    await runInTurns(hv, [a, b]);

    // Console: the lines Dom0's view predicts (d1's, then d2's), through the PV console only.
    expectPvtestLines(hv, a, 'pvtest', b.d.domid);
    expectPvtestLines(hv, b, 'pvtest', a.d.domid);
    for (const g of [a, b]) {
      expect(g.last).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(g.last!.failure).toBeUndefined();
      expect(g.d.shutdownReason).toBe('poweroff');
    }

    // Disk: the pattern landed at sector 64, nothing else was written; the guest's checksum is ours.
    for (const g of [a, b]) {
      const want = pattern(g.d.domid);
      const at = PATTERN_SECTOR * 512;
      expect(Buffer.compare(g.disk.bytes.subarray(at, at + PATTERN_BYTES), want)).toBe(0);
      expect(g.disk.bytes.subarray(0, at).every((x) => x === 0)).toBe(true);
      expect(g.disk.bytes.subarray(at + PATTERN_BYTES).every((x) => x === 0)).toBe(true);
      const sum = fnv1a(want).toString(16).padStart(8, '0');
      expect(text(g)).toContain(`fnv1a 0x${sum} (written 0x${sum})`);
      const s = g.devices[1].stats();
      // 4 write + 4 read ring requests + 1 flush; 34 + 32 data segments, each mapped once.
      expect(s).toMatchObject({ requests: 9, okay: 9, errors: 0, unsupported: 0, grantMaps: 66, bytesWritten: PATTERN_BYTES, bytesRead: PATTERN_BYTES, flushes: 1, internalErrors: 0 });
      // One kick per batch of requests (write, two reads in one batch, flush, plus the connect).
      expect(s.notifications).toBe(1);
    }

    // Network: every frame a vif sent went through the bridge, and every frame the bridge
    // sent reached a vif (received, or dropped for want of a posted buffer).
    const [va, vb] = [a.devices[2].stats(), b.devices[2].stats()];
    const bs = bridge.stats;
    expect(bs).toMatchObject({ filtered: 0, invalid: 0 });
    expect(va.spoofed + vb.spoofed + va.txErrors + vb.txErrors + va.internalErrors + vb.internalErrors).toBe(0);
    expect(va.txPackets + vb.txPackets).toBe(bs.forwarded + bs.flooded);
    expect(va.rxPackets + va.rxNoBuffer + vb.rxPackets + vb.rxNoBuffer).toBe(bs.forwarded + bs.flooded);
    // At least: one ARP request flooded; an ARP reply and an echo request and reply each way forwarded.
    expect(bs.flooded).toBeGreaterThanOrEqual(1);
    expect(bs.forwarded).toBeGreaterThanOrEqual(5);
    expect(va.rxPackets).toBeGreaterThanOrEqual(3);
    expect(vb.rxPackets).toBeGreaterThanOrEqual(3);
    expect(bridge.lookup('00:16:3e:00:01:00')).toBe((a.devices[2] as unknown as { driver: { bridgePort: number } }).driver.bridgePort);
    expect(bridge.lookup('00:16:3e:00:02:00')).toBe((b.devices[2] as unknown as { driver: { bridgePort: number } }).driver.bridgePort);

    // Every device ended Connected on both sides; no grant is still mapped by Dom0.
    for (const g of [a, b]) {
      for (const type of ['vbd/51712', 'vif/0']) {
        expect(hv.xs.read(`/local/domain/${g.d.domid}/device/${type}/state`)).toBe(String(XenbusState.Connected));
        expect(hv.xs.read(`/local/domain/0/backend/${type.replace('/', `/${g.d.domid}/`)}/state`)).toBe(String(XenbusState.Connected));
      }
    }
    expect(hv.xenstore.stats.internalErrors).toBe(0);
  }, 30_000);

  it('takes its address from the vif\'s ip key and the peer from pvtest/peer (xl vif=[ip=...])', async () => {
    const hv = new XenHypervisor();
    const bridge = new Bridge({ now: () => 0 });
    const mk = async (name: string, ip: string, peer?: string) => {
      const d = await hv.createDomain({ name, memSize: 16 << 20, kernel: loadImageFile(IMAGE, 0x80200000n), deterministic: true });
      const g: Guest = { d, console: [], disk: new MemoryBackend(1 << 20), devices: [] };
      g.devices.push(attachConsole(hv, d, (b) => g.console.push(...b)));
      g.devices.push(attachDisk(hv, d, XVDA, { backend: g.disk, vdev: 'xvda', readOnly: false }));
      g.devices.push(attachVif(hv, d, 0, { bridge, ip, mac: `00:16:3e:0${d.domid}:00:00` }));
      if (peer) hv.xs.write(`/local/domain/${d.domid}/pvtest/peer`, peer);
      return g;
    };
    const a = await mk('a', '192.168.7.20', '192.168.7.9');
    const b = await mk('b', '192.168.7.9', '192.168.7.20');
    await runInTurns(hv, [a, b]);
    expect(text(a)).toContain('pvtest: vif 0: mac 00:16:3e:01:00:00, port 4, ip 192.168.7.20, peer 192.168.7.9\r\npvtest: ping 192.168.7.9 ok\r\n');
    expect(text(b)).toContain('pvtest: vif 0: mac 00:16:3e:02:00:00, port 4, ip 192.168.7.9, peer 192.168.7.20\r\npvtest: ping 192.168.7.20 ok\r\n');
    expect([a.last?.exitCode, b.last?.exitCode]).toEqual([0, 0]);
    expect(a.devices[2].stats().spoofed + b.devices[2].stats().spoofed).toBe(0);
  }, 30_000);

  it('passes with real time, both vCPUs running at once (Promise.all)', async () => {
    const hv = new XenHypervisor();
    const bridge = new Bridge();
    const a = await guest(hv, 'a', { bridge, deterministic: false });
    const b = await guest(hv, 'b', { bridge, deterministic: false });
    const [ra, rb] = await Promise.all([hv.run(a.d.domid, { timeoutMs: 20_000 }), hv.run(b.d.domid, { timeoutMs: 20_000 })]);
    expect([ra.exitCode, rb.exitCode, ra.reason, rb.reason]).toEqual([0, 0, 'exit', 'exit']);
    expectPvtestLines(hv, a, 'pvtest', b.d.domid);
    expectPvtestLines(hv, b, 'pvtest', a.d.domid);
  }, 30_000);
});

describe('minikernel as a DomU: the same program', () => {
  it('two minikernel DomUs print pvtest\'s lines under their own name, fill their disks the same way and power off', async () => {
    const hv = new XenHypervisor();
    const bridge = new Bridge({ now: () => 0 });
    const a = await guest(hv, 'a', { bridge, image: MINIKERNEL });
    const b = await guest(hv, 'b', { bridge, image: MINIKERNEL });
    await runInTurns(hv, [a, b]);
    // Every line of pvtest's two-domain run under minikernel's name, and nothing else: none of
    // the kernel's own boot lines or task reports (no tasks run under Xen).
    expectPvtestLines(hv, a, 'minikernel', b.d.domid);
    expectPvtestLines(hv, b, 'minikernel', a.d.domid);
    expect(text(a).split('\r\n')[0]).toBe('minikernel: domain 1, PV console on port 2');
    for (const g of [a, b]) {
      expect(g.last).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(g.d.shutdownReason).toBe('poweroff');
      const at = PATTERN_SECTOR * 512;
      expect(Buffer.compare(g.disk.bytes.subarray(at, at + PATTERN_BYTES), pattern(g.d.domid))).toBe(0);
      expect(g.devices[1].stats()).toMatchObject({ requests: 9, okay: 9, errors: 0, grantMaps: 66, flushes: 1 });
    }
  }, 30_000);

  it('without a disk it fails as pvtest does: "FAIL: no disk", SHUTDOWN_crash, exit 1', async () => {
    const hv = new XenHypervisor();
    const d = await hv.createDomain({ name: 'nodisk', memSize: 16 << 20, kernel: loadImageFile(MINIKERNEL, 0x80200000n), deterministic: true });
    const out: number[] = [];
    attachConsole(hv, d, (bytes) => out.push(...bytes));
    const r = await hv.run(d.domid, { timeoutMs: 20_000 });
    expect(Buffer.from(out).toString('latin1')).toBe('minikernel: domain 1, PV console on port 2\r\nFAIL: no disk (device/vbd is empty)\r\n');
    expect(r).toMatchObject({ reason: 'exit', exitCode: 1 });
    expect(d.shutdownReason).toBe('crash');
  });
});

describe('pvtest: a read-only disk and no vif', () => {
  const ro = async (disk: MemoryBackend, readOnly: boolean) => {
    const at = PATTERN_SECTOR * 512;
    disk.bytes.set(pattern(7), at);
    const before = disk.bytes.slice();
    const hv = new XenHypervisor();
    const g = await guest(hv, 'ro', { disk, readOnly });
    await runInTurns(hv, [g]);
    const sum = fnv1a(pattern(7)).toString(16).padStart(8, '0');
    expect(text(g)).toBe([
      'pvtest: domain 1, PV console on port 2',
      'pvtest: vbd 51712: 2048 sectors, read-only, flush yes, ring-ref 8, port 3',
      'pvtest: write to read-only disk refused (status -1)',
      `pvtest: read 131072 bytes at sector 64, fnv1a 0x${sum}`,
      'pvtest: disk ok (2 notifications, 0 waits)',
      'pvtest: no vif; no ping',
      'pvtest: all tests passed; powering off',
      '',
    ].join('\r\n'));
    expect(g.last).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(Buffer.compare(disk.bytes, before)).toBe(0);
    expect(g.devices[1].stats()).toMatchObject({ requests: 4, okay: 3, errors: 1, bytesWritten: 0, bytesRead: PATTERN_BYTES }); // 1 refused write + 3 reads of 11, 11, 10 pages;
    expect(hv.xs.read('/local/domain/0/backend/vbd/1/51712/mode')).toBe('r');
  };

  it('a read-only MemoryBackend: the write is refused and reported, the read works', () => ro(new MemoryBackend(1 << 20, { readOnly: true }), false));
  it('a writable backend attached read-only (xl access r)', () => ro(new MemoryBackend(1 << 20), true));
});

describe('pvtest: failures crash the domain', () => {
  it('a vif with no peer on the bridge: ping gives up after 6000 timer expiries and the domain crashes', async () => {
    const hv = new XenHypervisor();
    const bridge = new Bridge({ now: () => 0 });
    const g = await guest(hv, 'alone', { bridge });
    await runInTurns(hv, [g], 5_000_000n);
    const lines = text(g).split('\r\n');
    expect(lines.slice(-3)).toEqual(['pvtest: vif 0: mac 00:16:3e:00:01:00, port 4, ip 10.0.0.1, peer 10.0.0.2', 'FAIL: ping 10.0.0.2: 6001 ARP requests, 0 echo requests, 0 replies', '']);
    expect(g.last).toMatchObject({ reason: 'exit', exitCode: 1 });
    expect(g.d.shutdownReason).toBe('crash');
    // Every ARP request was flooded to no one (the only port is the sender's).
    expect(bridge.stats.flooded).toBe(6001);
    expect(g.devices[2].stats()).toMatchObject({ txPackets: 6001, rxPackets: 0 });
  }, 30_000);
});

/**
 * The disk the benchmark guests leave (guests/xen/lib/diskbench.h): each 1 MiB batch is the same
 * buffer (byte i = i * 7 + 1) with every sector stamped with its disk offset (u64 LE: offset << 8 | 0xa5).
 */
function diskbenchDisk(bytes: number): Uint8Array {
  const want = new Uint8Array(bytes);
  const v = new DataView(want.buffer);
  for (let i = 0; i < want.length; i++) want[i] = ((i % (1 << 20)) * 7 + 1) & 0xff;
  for (let o = 0; o < want.length; o += 512) v.setBigUint64(o, (BigInt(o) << 8n) | 0xa5n, true);
  return want;
}

describe('blkbench (the split-driver half of the disk benchmark)', () => {
  /** blkbench on a 4 MiB disk, against a backend with its default offers or with `blkback` options. */
  async function blkbench(blkback?: { maxIndirectSegments?: number; maxRingPageOrder?: number }) {
    const hv = new XenHypervisor();
    const out: number[] = [];
    const d = await hv.createDomain({
      name: 'blkbench', memSize: 16 << 20, kernel: loadImageFile(join(ROOT, 'guests/bin/xen/blkbench.elf'), 0x80200000n),
      deterministic: true, onConsoleOutput: (b) => out.push(...b),
    });
    const disk = new MemoryBackend(4 << 20);
    const vbd = attachDisk(hv, d, XVDA, { backend: disk, vdev: 'xvda', readOnly: false }, blkback ? { blkback } : {});
    const r = await hv.run(d.domid, { timeoutMs: 20_000 });
    const lines = Buffer.from(out).toString('latin1').split('\r\n');
    expect(lines[0]).toMatch(/^\(d1\) blkbench: write 4194304 bytes, 64 I\/Os of 65536: \d+ us, \d+\.\d MB\/s, 4 notifications, 0 waits$/);
    expect(lines[1]).toMatch(/^\(d1\) blkbench: read 4194304 bytes, 64 I\/Os of 65536: \d+ us, \d+\.\d MB\/s, 4 notifications, 0 waits$/);
    expect(lines.slice(2)).toEqual(['(d1) blkbench: ok; powering off', '']);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(Buffer.compare(disk.bytes, diskbenchDisk(4 << 20))).toBe(0);
    return { hv, d, vbd, be: vbd.driver as Blkback };
  }

  it('writes and reads back 4 MiB in 64 KiB I/Os: 128 indirect requests on a two-page ring, one kick per batch, one event back in all', async () => {
    const { hv, d, vbd, be } = await blkbench();
    // 64 I/Os per phase, one BLKIF_OP_INDIRECT request of 16 segments each; 1 kick per batch of
    // 16 I/Os (+1 at connect). Persistent grants: the 256 pages of the 1 MiB buffer and the 16
    // indirect pages in use (shadow slots 0..15) are mapped once; every other use hits.
    expect(vbd.stats()).toMatchObject({
      requests: 128, indirect: 128, okay: 128, grantMaps: 256 + 16, persistentHits: (2048 - 256) + (128 - 16), persistentStale: 0,
      kicks: 9, notifications: 1, bytesWritten: 4 << 20, bytesRead: 4 << 20, yields: 0,
    });
    expect(be.ringPages).toBe(2);
    expect(be.ring!.size).toBe(64);
    expect(be.persistent).toBe(true);
    expect(be.persistentGrants).toBe(272);
    expect(hv.grants.activeMappings(d.domid)).toBe(274); // + the two ring pages
    vbd.close();
    expect(be.persistentGrants).toBe(0);
    expect(hv.grants.activeMappings(d.domid)).toBe(0);
  }, 30_000);

  it('against a backend that offers neither: the single-page ring of 11 + 5 segment requests, same disk', async () => {
    const { hv, d, vbd, be } = await blkbench({ maxIndirectSegments: 0, maxRingPageOrder: 0 });
    // 64 I/Os x 2 ring requests (11 + 5 segments) per phase; 1 kick per batch of 16 I/Os (+1 at connect).
    // Persistent grants (blkbench opts in): the 256 pages of the 1 MiB buffer are granted and
    // mapped once; the other 1792 segments reuse the kept mappings; none is repointed.
    expect(vbd.stats()).toMatchObject({
      requests: 256, indirect: 0, okay: 256, grantMaps: 256, persistentHits: 2048 - 256, persistentStale: 0,
      kicks: 9, notifications: 1, bytesWritten: 4 << 20, bytesRead: 4 << 20,
    });
    expect(be.ringPages).toBe(1);
    expect(be.persistentGrants).toBe(256);
    expect(hv.grants.activeMappings(d.domid)).toBe(257); // + the ring
    vbd.close();
    expect(hv.grants.activeMappings(d.domid)).toBe(0);
  }, 30_000);
});

describe('virtblkbench (the emulated half): Vm with a disk option', () => {
  it('a virtio-blk device in slot 0 serves the same workload and leaves the same disk', async () => {
    const disk = new MemoryBackend(4 << 20);
    let out = '';
    const vm = await Vm.create({
      memSize: 16 << 20, kernel: loadImageFile(join(ROOT, 'guests/bin/xen/virtblkbench.elf'), 0x80200000n), deterministic: true, disk,
      onConsoleOutput: (b) => { out += Buffer.from(b).toString('latin1'); },
    });
    const r = await vm.run({ timeoutMs: 20_000 });
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(out).toMatch(/virtblkbench: ok/);
    expect(vm.blk!.counters.notifies).toBe(8);
    expect(Buffer.compare(disk.bytes, diskbenchDisk(4 << 20))).toBe(0);
  }, 30_000);
});

describe('devices.ts: the XenStore side', () => {
  it('vdevToDevid follows the xvd numbering', () => {
    expect(['xvda', 'xvdb', 'xvdp', 'xvdq', 'xvdaa', 'sda', 'xvd', 'xvdA'].map(vdevToDevid)).toEqual([51712, 51728, 51952, (1 << 28) | (16 << 8), (1 << 28) | (26 << 8), undefined, undefined, undefined]);
  });

  it('writes libxl\'s keys, refuses a second attach and bad names, and close() removes both directories', async () => {
    const hv = new XenHypervisor();
    const d = (await hv.createDomain({ name: 'x', memSize: 16 << 20, kernel: loadImageFile(IMAGE, 0x80200000n), deterministic: true }));
    const vbd = attachDisk(hv, d, XVDA, { backend: new MemoryBackend(1 << 20), vdev: 'xvda', readOnly: false });
    const be = '/local/domain/0/backend/vbd/1/51712';
    const fe = '/local/domain/1/device/vbd/51712';
    expect(['backend', 'backend-id', 'state', 'virtual-device', 'device-type'].map((k) => hv.xs.read(`${fe}/${k}`))).toEqual([be, '0', '1', '51712', 'disk']);
    expect(['frontend', 'frontend-id', 'online', 'state', 'dev', 'mode', 'sectors', 'feature-flush-cache'].map((k) => hv.xs.read(`${be}/${k}`))).toEqual([fe, '1', '1', '2', 'xvda', 'w', '2048', '1']);
    expect(hv.xs.getPerms(fe)).toEqual(['n1', 'r0']);
    expect(() => attachDisk(hv, d, XVDA, { backend: new MemoryBackend(4096), vdev: 'xvda', readOnly: false })).toThrow(UserError);
    expect(() => attachDisk(hv, d, 51728, { backend: new MemoryBackend(4096), vdev: 'xv da', readOnly: false })).toThrow(/disk name "xv da"/);
    expect(() => attachVif(hv, d, 0, { bridge: new Bridge(), mac: '01:00:5e:00:00:01' })).toThrow(/not a unicast/);
    expect(() => attachVif(hv, d, 0, { bridge: new Bridge(), ip: '10.0.0' })).toThrow(/not a dotted IPv4/);

    const bridge = new Bridge();
    const vif = attachVif(hv, d, 0, { bridge, mac: '00:16:3E:AA:BB:CC', ip: '192.168.1.5' });
    expect(hv.xs.read('/local/domain/1/device/vif/0/mac')).toBe('00:16:3e:aa:bb:cc');
    expect(['mac', 'ip', 'bridge', 'handle', 'feature-rx-copy'].map((k) => hv.xs.read(`/local/domain/0/backend/vif/1/0/${k}`))).toEqual(['00:16:3e:aa:bb:cc', '192.168.1.5', 'xenbr0', '0', '1']);
    expect(bridge.portCount).toBe(1);

    const snap = vbd.snapshot();
    expect(snap.xenbus).toEqual({ paths: { frontend: fe, backend: be }, state: XenbusState.InitWait, connected: false, error: null });
    expect(snap.driver.ring).toBeNull();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    vbd.close();
    vbd.close();
    vif.close();
    expect(hv.xs.tryRead(`${fe}/state`)).toBeUndefined();
    expect(hv.xs.tryRead(`${be}/state`)).toBeUndefined();
    expect(hv.xs.tryRead('/local/domain/0/backend/vif/1/0/state')).toBeUndefined();
    expect(bridge.portCount).toBe(0);
    // Detached: the same ids can be attached again.
    attachDisk(hv, d, XVDA, { backend: new MemoryBackend(4096), vdev: 'xvda', readOnly: true });
    expect(hv.xs.read(`${be}/mode`)).toBe('r');
  });

  it('attachConsole: input lands in the guest\'s in ring; a second attach is refused', async () => {
    const hv = new XenHypervisor();
    const d = await hv.createDomain({ name: 'c', memSize: 16 << 20, kernel: loadImageFile(IMAGE, 0x80200000n), deterministic: true });
    const con = attachConsole(hv, d, () => {});
    con.input(new TextEncoder().encode('hi'));
    const page = d.hypervisorPage(d.layout.consoleGfn);
    expect([...page.read(XENCONS_IN, 2)]).toEqual([0x68, 0x69]);
    expect(new DataView(page.read(XENCONS_IN_PROD, 4).buffer).getUint32(0, true)).toBe(2);
    expect(con.stats()).toMatchObject({ inBytes: 2, notifications: 1 });
    expect(() => attachConsole(hv, d, () => {})).toThrow(UserError);
    con.close();
  });
});
