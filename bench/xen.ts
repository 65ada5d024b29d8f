/**
 * Split-driver benchmarks (issue 6, "Benchmarks"):
 *
 * - disk: the same workload (guests/xen/blkbench.c and virtblkbench.c: a 64 MiB disk written, then read
 *   back, in 64 KiB I/Os, 16 in flight per batch) through the emulated virtio-blk device of a
 *   plain VM (modern virtio-mmio, host/devices/virtio/) and through blkfront/blkback in a Xen
 *   DomU (host/xen/backends/blkback.ts). Per path, over the I/O phase (host time from the first
 *   data notification to the guest's result line, so boot, the driver handshake and the
 *   untimed buffer fill are left out; the guest's stamping, checking and driver work count):
 *   MB/s (8 MiB moved), VM exits per MB and per batch, and the host time spent in the device
 *   model per MB (virtio-blk's MMIO handler; blkback's ring service). The two paths alternate,
 *   run by run;
 * - network: two DomUs running guests/xen/netbench.c, each with a vif on one Dom0 Bridge
 *   (host/xen/backends/bridge.ts) and its PV console, both vCPUs run at once (Promise.all) with
 *   real time. The client pings the server (ICMP echo, one at a time) and then sends it a
 *   bulk stream (sequence-numbered raw Ethernet frames, a window of 24, cumulative ACKs); the
 *   server checksums what it receives. The host timestamps the console lines that mark the
 *   phase boundaries (the guests' clocks are not a measure of host speed) and reads the
 *   counters there: RTT = host time of the ping phase / pings; MB/s = payload / host time of
 *   the bulk phase; exits (both VMs) and event-channel notifications (both vifs, both
 *   directions) per MB of the bulk phase.
 *
 * Every figure is the best of `runs` (the disk paths by their I/O phase). The disk runs are deterministic-time (the guest clock
 * follows its instructions), so only the host's wall clock measures speed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBackend } from '../host/devices/virtio/backend';
import { QUEUE_NOTIFY } from '../host/devices/virtio/mmio';
import { parseImage } from '../host/machine/loader';
import { Vm, KERNEL_RAW_BASE, type VmRunResult } from '../host/vmm/vm';
import type { Blkback } from '../host/xen/backends/blkback';
import { Bridge } from '../host/xen/backends/bridge';
import type { Netback } from '../host/xen/backends/netback';
import { attachConsole, attachDisk, attachVif, type AttachedXenbusDevice } from '../host/xen/devices';
import type { XenDomain } from '../host/xen/domain';
import { XenHypervisor } from '../host/xen/hypervisor';

/** The disk of the disk workload; the guests write all of it, then read it back. */
export const DISK_SIZE = 64 << 20;
/** Bytes the disk workload moves in one run: the disk each way. */
export const DISK_BYTES = 2 * DISK_SIZE;
const MB = DISK_BYTES / 1e6;

/** One disk path, best run. */
export interface DiskRun {
  /** Wall time of the guest's whole run (Vm.run: boot, driver handshake, buffer fill, I/O), ms. */
  wallMs: number;
  /**
   * Host time of the I/O phase, ms: from the first data notification (the QueueNotify write /
   * the first blkback pass that finds a request) to the console line after the last read-back
   * check. The guest's own work in that window (stamping and checking sectors, the driver) counts.
   */
  ioMs: number;
  /** MB (10^6 bytes) moved per second of the I/O phase. */
  mbPerS: number;
  /** VM exits of the I/O phase, per MB moved, and per batch of 16 I/Os (8 batches each way). */
  exits: number;
  exitsPerMb: number;
  exitsPerBatch: number;
  /** VM exits of the whole run, setup included. */
  runExits: number;
  /** Host time in the device model (virtio-blk MMIO handler / blkback ring service) in the I/O phase, ms and ms per MB. */
  deviceMs: number;
  deviceMsPerMb: number;
  /** Guest instructions retired: the whole run, and in the I/O phase. */
  instructions: string;
  ioInstructions: string;
  /** Guest-to-host notifications of the data path (QueueNotify writes / blkback kicks). */
  notifies: number;
}

/** The network section: guests/xen/netbench.c in two DomUs, best run. */
export interface NetRun {
  /** Echo round trips timed, and the host time per round trip in µs. */
  pings: number;
  rttUs: number;
  /** Bulk send: payload bytes, frames of up to `frameBytes` payload bytes, MB/s over the phase's host time. */
  bytes: number;
  frames: number;
  frameBytes: number;
  bulkMs: number;
  mbPerS: number;
  /** VM exits of both domains during the bulk phase, per MB of payload. */
  exitsPerMb: number;
  /** Event-channel notifications of both vifs (frontend kicks + backend notifications) per MB. */
  notificationsPerMb: number;
  /** Frames the backends dropped for want of a posted rx buffer during the bulk phase, and frames the client sent again. */
  rxNoBuffer: number;
  resent: number;
  /** The server's FNV-1a of the stream equals the host's (and the client's). */
  checksumOk: boolean;
  /** Wall time of the two-domain run. */
  wallMs: number;
  /** The two guests' result lines. */
  lines: string[];
}

/** The Xen section of the report. */
export interface XenBench {
  /**
   * split: blkfront/blkback as negotiated by default (indirect segments, a two-page ring);
   * splitOld: the same guest against a backend that offers neither (the single-page ring of
   * 11-segment requests the frontend falls back to), in the same run.
   */
  disk: { virtio: DiskRun; split: DiskRun; splitOld: DiskRun; ratio: number; oldRatio: number; goal: number; goalMet: boolean } | null;
  net: NetRun | null;
}

function lastLines(text: string, n: number): string {
  return text.replace(/\r/g, '').trim().split('\n').slice(-n).join(' | ');
}

/**
 * The benchmark's disk: DISK_SIZE bytes in memory, every page already written once, so that
 * neither path pays the host OS for first-touch page faults of a fresh allocation (which cost
 * more than the copies themselves and are not what the comparison is about).
 */
function usedDisk(): MemoryBackend {
  return new MemoryBackend(new Uint8Array(DISK_SIZE).fill(0xe5));
}

/** Batches of the disk workload, each way: batches of 16 x 64 KiB. */
const DISK_BATCHES = DISK_SIZE / (16 << 16);

/**
 * The I/O window of one disk run: opened by `start()` (called just before the first data
 * notification is handled), closed by the guest's result line (`line()` sees every console
 * chunk). `exits` reads the VM's exit count.
 */
function ioWindow(name: string, vm: () => Vm | undefined) {
  const exits = () => vm()?.exits.exits ?? 0;
  const instret = () => vm()?.stats().instructions ?? 0n;
  const w = { t0: -1, t1: -1, e0: 0, e1: 0, i0: 0n, i1: 0n, deviceMs: 0, text: '' };
  return {
    w,
    start(): void {
      if (w.t0 < 0) { w.t0 = performance.now(); w.e0 = exits(); w.i0 = instret(); }
    },
    timed<T>(f: () => T): T {
      const t = performance.now();
      try { return f(); } finally { if (w.t0 >= 0 && w.t1 < 0) w.deviceMs += performance.now() - t; }
    },
    line(bytes: Uint8Array): void {
      w.text += Buffer.from(bytes).toString('latin1');
      if (w.t1 < 0 && new RegExp(`${name}: ok`).test(w.text)) { w.t1 = performance.now(); w.e1 = exits(); w.i1 = instret(); }
    },
    result(r: VmRunResult, runExits: number, notifies: number): DiskRun {
      if (r.reason !== 'exit' || r.exitCode !== 0 || w.t0 < 0 || w.t1 < 0) {
        throw new Error(`${name}: ${r.reason} ${r.exitCode ?? ''} ${r.failure ?? ''} (output: '${lastLines(w.text, 2)}')`);
      }
      const ioMs = w.t1 - w.t0;
      const exits = w.e1 - w.e0;
      return {
        wallMs: r.wallMs, ioMs, mbPerS: MB / (ioMs / 1000), exits, exitsPerMb: exits / MB, exitsPerBatch: exits / (2 * DISK_BATCHES),
        runExits, deviceMs: w.deviceMs, deviceMsPerMb: w.deviceMs / MB, instructions: r.instructions.toString(), ioInstructions: (w.i1 - w.i0).toString(), notifies,
      };
    },
  };
}

/** The disk workload through virtio-blk in a plain VM. */
export async function runVirtioDisk(root: string, timeoutMs: number): Promise<DiskRun> {
  const elf = join(root, 'guests/bin/xen/virtblkbench.elf');
  let vm: Vm | undefined = undefined;
  const io = ioWindow('virtblkbench', () => vm);
  vm = await Vm.create({
    memSize: 16 << 20, kernel: parseImage(new Uint8Array(readFileSync(elf)), 'virtblkbench.elf', KERNEL_RAW_BASE),
    deterministic: true, disk: usedDisk(), onConsoleOutput: (b) => io.line(b),
  });
  const blk = vm.blk!;
  const write = blk.write.bind(blk);
  blk.write = (offset, size, value) => {
    if (offset === QUEUE_NOTIFY) io.start();
    return io.timed(() => write(offset, size, value));
  };
  const r = await vm.run({ timeoutMs });
  return io.result(r, vm.exits.exits, blk.counters.notifies);
}

/** The disk workload through blkfront/blkback in a DomU. */
export async function runSplitDisk(root: string, timeoutMs: number, old = false): Promise<DiskRun & { grantMaps: number; persistent: number }> {
  const elf = join(root, 'guests/bin/xen/blkbench.elf');
  let domain: XenDomain | undefined = undefined;
  const io = ioWindow('blkbench', () => domain?.vm);
  const hv = new XenHypervisor();
  const d = await hv.createDomain({
    name: 'blkbench', memSize: 16 << 20, kernel: parseImage(new Uint8Array(readFileSync(elf)), 'blkbench.elf', KERNEL_RAW_BASE),
    deterministic: true, onConsoleOutput: (b) => io.line(b),
  });
  domain = d;
  const vbd = attachDisk(hv, d, 51712, { backend: usedDisk(), vdev: 'xvda', readOnly: false }, old ? { blkback: { maxIndirectSegments: 0, maxRingPageOrder: 0 } } : {});
  const be = vbd.driver as Blkback;
  // Time the ring service: the channel calls `serve` through the instance, so wrapping it here
  // measures every run of the backend (a private method, wrapped for the benchmark only).
  const inst = be as unknown as { serve: () => void };
  const serve = inst.serve.bind(be);
  inst.serve = () => {
    if (be.ring && be.ring.unconsumed() > 0) io.start();
    io.timed(serve);
  };
  const r = await hv.run(d.domid, { timeoutMs });
  const s = be.stats;
  return { ...io.result(r, d.vm.exits.exits, s.kicks), grantMaps: s.grantMaps, persistent: s.persistentHits ?? 0 };
}

/** The network workload of one run (the client's netbench/* keys). */
export interface NetConfig {
  pings: number;
  bytes: number;
  /** Payload bytes per frame (16..1484, a multiple of 4). */
  frame: number;
  deterministic: boolean;
}

/** The default network workload: 1000 round trips, 4 MiB in frames of 1400 payload bytes. */
export const NET_DEFAULT: NetConfig = { pings: 1000, bytes: 4 << 20, frame: 1400, deterministic: false };

/** What the host saw at the end of one console line. */
export interface NetMark {
  /** 0 client, 1 server. */
  guest: number;
  line: string;
  /** performance.now() when the line reached the console backend. */
  t: number;
  /** VM exits of both domains, and notifications of both vifs (kicks + notifications), then. */
  exits: number;
  notifications: number;
  /** Frames both vifs dropped for want of a posted rx buffer, then. */
  dropped: number;
}

/** The two netbench domains, wired and not yet run. */
export interface NetbenchSetup {
  hv: XenHypervisor;
  bridge: Bridge;
  /** Client (domid 1) and server (domid 2). */
  domains: [XenDomain, XenDomain];
  vifs: [AttachedXenbusDevice<Netback>, AttachedXenbusDevice<Netback>];
  /** Console text of each domain. */
  text: [string, string];
  /** Every console line, in order, with the host's time and counters. */
  marks: NetMark[];
}

/** FNV-1a 32 of netbench's stream: `bytes` bytes, byte k = byte k & 3 (LE) of u32 (k >> 2) * 2654435761. */
export function netbenchFnv(bytes: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < bytes; k++) {
    const w = Math.imul(k >>> 2, 2654435761) >>> 0;
    h = Math.imul(h ^ ((w >>> (8 * (k & 3))) & 0xff), 16777619) >>> 0;
  }
  return h;
}

/**
 * Build the two netbench DomUs (16 MiB each; client domid 1, server domid 2), their vifs on
 * one Bridge and their PV consoles, with the client's workload in XenStore.
 */
export async function netbenchSetup(root: string, cfg: NetConfig): Promise<NetbenchSetup> {
  const elf = new Uint8Array(readFileSync(join(root, 'guests/bin/xen/netbench.elf')));
  const hv = new XenHypervisor();
  const bridge = cfg.deterministic ? new Bridge({ now: () => 0 }) : new Bridge();
  const a = await hv.createDomain({ name: 'netbench-client', memSize: 16 << 20, kernel: parseImage(elf, 'netbench.elf', KERNEL_RAW_BASE), deterministic: cfg.deterministic });
  const b = await hv.createDomain({ name: 'netbench-server', memSize: 16 << 20, kernel: parseImage(elf, 'netbench.elf', KERNEL_RAW_BASE), deterministic: cfg.deterministic });
  const home = `/local/domain/${a.domid}/netbench`;
  hv.xs.write(`${home}/pings`, String(cfg.pings));
  hv.xs.write(`${home}/bytes`, String(cfg.bytes));
  hv.xs.write(`${home}/frame`, String(cfg.frame));
  const vifs: [AttachedXenbusDevice<Netback>, AttachedXenbusDevice<Netback>] = [attachVif(hv, a, 0, { bridge }), attachVif(hv, b, 0, { bridge })];
  const setup: NetbenchSetup = { hv, bridge, domains: [a, b], vifs, text: ['', ''], marks: [] };
  const partial = ['', ''];
  const sink = (guest: number) => (bytes: Uint8Array) => {
    const t = performance.now();
    const s = Buffer.from(bytes).toString('latin1');
    setup.text[guest] += s;
    partial[guest] += s;
    let nl;
    while ((nl = partial[guest].indexOf('\n')) >= 0) {
      const line = partial[guest].slice(0, nl).replace(/\r$/, '');
      partial[guest] = partial[guest].slice(nl + 1);
      let notifications = 0, dropped = 0;
      for (const v of vifs) {
        notifications += v.driver.stats.kicks + v.driver.stats.notifications;
        dropped += v.driver.stats.rxNoBuffer;
      }
      setup.marks.push({ guest, line, t, exits: a.vm.exits.exits + b.vm.exits.exits, notifications, dropped });
    }
  };
  attachConsole(hv, a, sink(0));
  attachConsole(hv, b, sink(1));
  return setup;
}

/** The mark of the first line of `guest` matching `re`. */
function mark(s: NetbenchSetup, guest: number, re: RegExp): NetMark {
  const m = s.marks.find((x) => x.guest === guest && re.test(x.line));
  if (!m) throw new Error(`netbench: no line /${re.source}/ from the ${guest === 0 ? 'client' : 'server'} (output: '${lastLines(s.text[guest], 2)}')`);
  return m;
}

/**
 * One network run: both DomUs at once (Promise.all; real time unless cfg.deterministic), then
 * the figures from the marks. Throws if a guest failed or the checksum differs.
 */
export async function runNet(root: string, cfg: NetConfig, timeoutMs: number): Promise<NetRun> {
  const s = await netbenchSetup(root, cfg);
  const [a, b] = s.domains;
  const t0 = performance.now();
  const rs: VmRunResult[] = await Promise.all([s.hv.run(a.domid, { timeoutMs }), s.hv.run(b.domid, { timeoutMs })]);
  const wallMs = performance.now() - t0;
  rs.forEach((r, i) => {
    if (r.reason !== 'exit' || r.exitCode !== 0) {
      throw new Error(`netbench ${i === 0 ? 'client' : 'server'}: ${r.reason} ${r.exitCode ?? ''} ${r.failure ?? ''} (output: '${lastLines(s.text[i], 2)}')`);
    }
  });
  const p0 = mark(s, 0, /^netbench: ping: \d+ round trips$/), p1 = mark(s, 0, /^netbench: ping: \d+ replies$/);
  const b0 = mark(s, 0, /^netbench: bulk: \d+ bytes in \d+ frames/), b1 = mark(s, 0, /^netbench: bulk: \d+ frames acked/);
  const got = mark(s, 1, /^netbench: received /);
  const frames = Math.ceil(cfg.bytes / cfg.frame);
  const want = netbenchFnv(cfg.bytes).toString(16).padStart(8, '0');
  const checksumOk = got.line === `netbench: received ${frames} frames, ${cfg.bytes} bytes, fnv1a 0x${want}, pattern ok` + got.line.slice(got.line.indexOf(' ('))
    && b0.line.endsWith(`fnv1a 0x${want}`) && b1.line.endsWith(`receiver fnv1a 0x${want} ok`);
  if (!checksumOk) throw new Error(`netbench: checksum: host 0x${want}; '${b0.line}' / '${got.line}'`);
  const mb = cfg.bytes / 1e6;
  const bulkMs = b1.t - b0.t;
  const resent = Number(/(\d+) resent/.exec(b1.line)?.[1] ?? NaN);
  return {
    pings: cfg.pings, rttUs: ((p1.t - p0.t) * 1000) / cfg.pings,
    bytes: cfg.bytes, frames, frameBytes: cfg.frame, bulkMs, mbPerS: mb / (bulkMs / 1000),
    exitsPerMb: (b1.exits - b0.exits) / mb, notificationsPerMb: (b1.notifications - b0.notifications) / mb,
    rxNoBuffer: b1.dropped - b0.dropped, resent,
    checksumOk, wallMs, lines: [b1.line, got.line],
  };
}

/** The whole section, best of `runs` each. */
export async function xenBenchmarks(root: string, runs: number, timeoutMs: number, log: (s: string) => void): Promise<XenBench> {
  const res: XenBench = { disk: null, net: null };
  try {
    // Alternate the two paths so that the machine's noise falls on both; best I/O phase of each.
    let virtio: DiskRun | undefined;
    let split: Awaited<ReturnType<typeof runSplitDisk>> | undefined;
    let splitOld: Awaited<ReturnType<typeof runSplitDisk>> | undefined;
    for (let i = 0; i < runs; i++) {
      const v = await runVirtioDisk(root, timeoutMs);
      if (!virtio || v.ioMs < virtio.ioMs) virtio = v;
      const sp = await runSplitDisk(root, timeoutMs);
      if (!split || sp.ioMs < split.ioMs) split = sp;
      const so = await runSplitDisk(root, timeoutMs, true);
      if (!splitOld || so.ioMs < splitOld.ioMs) splitOld = so;
    }
    if (!virtio || !split || !splitOld) throw new Error('no disk runs');
    const ratio = split.mbPerS / virtio.mbPerS;
    res.disk = { virtio, split, splitOld, ratio, oldRatio: splitOld.mbPerS / virtio.mbPerS, goal: 3, goalMet: ratio >= 3 };
    log(`bench: disk: virtio-blk ${virtio.mbPerS.toFixed(0)} MB/s, blkfront/blkback ${split.mbPerS.toFixed(0)} MB/s (${ratio.toFixed(2)}x; ${splitOld.mbPerS.toFixed(0)} MB/s without indirect segments and multi-page rings)`);
  } catch (e) {
    log(`bench: xen disk: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    // Best by bulk time (the RTT of the same run goes with it: the phases share the host's state).
    let n: NetRun | undefined;
    for (let i = 0; i < runs; i++) {
      const r = await runNet(root, NET_DEFAULT, timeoutMs);
      if (!n || r.bulkMs < n.bulkMs) n = r;
    }
    res.net = n!;
    log(`bench: net: RTT ${n!.rttUs.toFixed(1)} µs, bulk ${n!.mbPerS.toFixed(1)} MB/s`);
  } catch (e) {
    log(`bench: xen net: ${e instanceof Error ? e.message : String(e)}`);
  }
  return res;
}

function row(name: string, r: DiskRun): string {
  return `  ${name.padEnd(26)} ${r.mbPerS.toFixed(1).padStart(8)} MB/s  ${r.ioMs.toFixed(1).padStart(6)} ms  ${r.exitsPerMb.toFixed(1).padStart(5)} exits/MB ` +
    `${r.exitsPerBatch.toFixed(2).padStart(5)} exits/batch  ${(r.deviceMsPerMb).toFixed(3).padStart(6)} ms/MB in the device  ` +
    `${(Number(r.ioInstructions) / 1e6).toFixed(2)} M instr  (whole run ${r.wallMs.toFixed(1)} ms, ${r.runExits} exits, ${(Number(r.instructions) / 1e6).toFixed(2)} M instr, ${r.notifies} notifies)`;
}

/** The Xen section as text (like formatVmBench). */
export function formatXenBench(x: XenBench): string {
  const lines = ['Xen split drivers', '-----------------'];
  if (x.disk) {
    const d = x.disk;
    lines.push(`Disk: ${DISK_SIZE >> 20} MiB written + read back, 64 KiB I/Os, 16 in flight (${(DISK_BYTES / 1e6).toFixed(1)} MB per run); MB/s, exits and device time over the I/O phase`);
    lines.push(row('virtio-blk (VM)', d.virtio));
    lines.push(row('blkfront/blkback', d.split));
    lines.push(row('  (11-seg, 1-page ring)', d.splitOld));
    lines.push(`  split / emulated throughput: ${d.ratio.toFixed(2)}x; without indirect segments and multi-page rings ${d.oldRatio.toFixed(2)}x`);
  }
  if (x.net) {
    const n = x.net;
    lines.push(`Network: two DomUs on one bridge (netfront/netback), real time, host-timed phases`);
    lines.push(`  ICMP echo round trip   ${n.rttUs.toFixed(1).padStart(8)} µs  (${n.pings} pings, one at a time)`);
    lines.push(`  bulk one-way           ${n.mbPerS.toFixed(1).padStart(8)} MB/s  ${n.bulkMs.toFixed(1)} ms for ${n.bytes} bytes in ${n.frames} frames of ${n.frameBytes}  ` +
      `${n.exitsPerMb.toFixed(1)} exits/MB  ${n.notificationsPerMb.toFixed(1)} notifications/MB  ${n.resent} resent, ${n.rxNoBuffer} dropped  ` +
      `checksum ${n.checksumOk ? 'matched' : 'DIFFERS'}`);
  }
  return lines.join('\n');
}
