/**
 * Split-driver benchmarks (issue 6, "Benchmarks"):
 *
 * - disk: the same workload (guests/xen/blkbench.c and virtblkbench.c: 4 MiB written, then read
 *   back, in 64 KiB I/Os, 16 in flight per batch) through the emulated virtio-blk device of a
 *   plain VM (modern virtio-mmio, host/devices/virtio/) and through blkfront/blkback in a Xen
 *   DomU (host/xen/backends/blkback.ts). Per path: MB/s over the guest's run (8 MiB moved), VM
 *   exits per MB (every exit of the run, setup included), and the host time spent in the device
 *   model per MB (virtio-blk's MMIO handler; blkback's ring service);
 * - network (not measured yet: `net` stays null until a timed ping-flood / bulk-send guest
 *   exists): the round-trip time of an ICMP echo between two DomUs and their throughput.
 *
 * Every figure is the best of `runs`. Runs are deterministic-time (the guest clock follows its
 * instructions), so only the host's wall clock measures speed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryBackend } from '../host/devices/virtio/backend';
import { parseImage } from '../host/machine/loader';
import { Vm, KERNEL_RAW_BASE } from '../host/vmm/vm';
import type { Blkback } from '../host/xen/backends/blkback';
import { attachDisk } from '../host/xen/devices';
import { XenHypervisor } from '../host/xen/hypervisor';

/** Bytes the disk workload moves in one run: 4 MiB each way. */
export const DISK_BYTES = 8 << 20;
const MB = DISK_BYTES / 1e6;

/** One disk path, best run. */
export interface DiskRun {
  /** Wall time of the guest's run (Vm.run), ms. */
  wallMs: number;
  /** MB (10^6 bytes) moved per second of that time. */
  mbPerS: number;
  /** VM exits of the run (setup included) and per MB moved. */
  exits: number;
  exitsPerMb: number;
  /** Host time in the device model (virtio-blk MMIO handler / blkback ring service), ms and ms per MB. */
  deviceMs: number;
  deviceMsPerMb: number;
  /** Guest instructions retired. */
  instructions: string;
  /** Guest-to-host notifications of the data path (QueueNotify writes / blkback kicks). */
  notifies: number;
}

/** The network section (filled once a network guest exists). */
export interface NetRun {
  /** Echo round trips timed, and the host time per round trip in µs. */
  pings: number;
  rttUs: number;
  /** Bulk send: frames of `frameBytes` delivered, MB/s over the send's host time. */
  frames: number;
  frameBytes: number;
  mbPerS: number;
  /** Wall time of the two-domain run. */
  wallMs: number;
  /** The two guests' result lines. */
  lines: string[];
}

/** The Xen section of the report. */
export interface XenBench {
  disk: { virtio: DiskRun; split: DiskRun; ratio: number; goal: number; goalMet: boolean } | null;
  net: NetRun | null;
}

function lastLines(text: string, n: number): string {
  return text.replace(/\r/g, '').trim().split('\n').slice(-n).join(' | ');
}

/** The disk workload through virtio-blk in a plain VM. */
export async function runVirtioDisk(root: string, timeoutMs: number): Promise<DiskRun> {
  const elf = join(root, 'guests/bin/xen/virtblkbench.elf');
  let out = '';
  const vm = await Vm.create({
    memSize: 16 << 20, kernel: parseImage(new Uint8Array(readFileSync(elf)), 'virtblkbench.elf', KERNEL_RAW_BASE),
    deterministic: true, disk: new MemoryBackend(4 << 20), onConsoleOutput: (b) => { out += Buffer.from(b).toString('latin1'); },
  });
  const blk = vm.blk!;
  let deviceMs = 0;
  const write = blk.write.bind(blk);
  blk.write = (offset, size, value) => {
    const t = performance.now();
    try { return write(offset, size, value); } finally { deviceMs += performance.now() - t; }
  };
  const r = await vm.run({ timeoutMs });
  if (r.reason !== 'exit' || r.exitCode !== 0 || !/virtblkbench: ok/.test(out)) {
    throw new Error(`virtblkbench: ${r.reason} ${r.exitCode ?? ''} ${r.failure ?? ''} (output: '${lastLines(out, 2)}')`);
  }
  const exits = vm.exits.exits;
  return {
    wallMs: r.wallMs, mbPerS: MB / (r.wallMs / 1000), exits, exitsPerMb: exits / MB, deviceMs, deviceMsPerMb: deviceMs / MB,
    instructions: r.instructions.toString(), notifies: blk.counters.notifies,
  };
}

/** The disk workload through blkfront/blkback in a DomU. */
export async function runSplitDisk(root: string, timeoutMs: number): Promise<DiskRun & { grantMaps: number; persistent: number }> {
  const elf = join(root, 'guests/bin/xen/blkbench.elf');
  let out = '';
  const hv = new XenHypervisor();
  const d = await hv.createDomain({
    name: 'blkbench', memSize: 16 << 20, kernel: parseImage(new Uint8Array(readFileSync(elf)), 'blkbench.elf', KERNEL_RAW_BASE),
    deterministic: true, onConsoleOutput: (b) => { out += Buffer.from(b).toString('latin1'); },
  });
  const vbd = attachDisk(hv, d, 51712, { backend: new MemoryBackend(4 << 20), vdev: 'xvda', readOnly: false });
  const be = vbd.driver as Blkback;
  let deviceMs = 0;
  // Time the ring service: the channel calls `serve` through the instance, so wrapping it here
  // measures every run of the backend (a private method, wrapped for the benchmark only).
  const inst = be as unknown as { serve: () => void };
  const serve = inst.serve.bind(be);
  inst.serve = () => {
    const t = performance.now();
    try { serve(); } finally { deviceMs += performance.now() - t; }
  };
  const r = await hv.run(d.domid, { timeoutMs });
  if (r.reason !== 'exit' || r.exitCode !== 0 || !/blkbench: ok/.test(out)) {
    throw new Error(`blkbench: ${r.reason} ${r.exitCode ?? ''} ${r.failure ?? ''} (output: '${lastLines(out, 2)}')`);
  }
  const exits = d.vm.exits.exits;
  const s = be.stats;
  return {
    wallMs: r.wallMs, mbPerS: MB / (r.wallMs / 1000), exits, exitsPerMb: exits / MB, deviceMs, deviceMsPerMb: deviceMs / MB,
    instructions: r.instructions.toString(), notifies: s.kicks, grantMaps: s.grantMaps, persistent: s.persistentHits ?? 0,
  };
}

async function best<T extends { wallMs: number }>(runs: number, once: () => Promise<T>): Promise<T> {
  let b: T | undefined;
  for (let i = 0; i < runs; i++) {
    const r = await once();
    if (!b || r.wallMs < b.wallMs) b = r;
  }
  return b!;
}

/** The whole section, best of `runs` each. */
export async function xenBenchmarks(root: string, runs: number, timeoutMs: number, log: (s: string) => void): Promise<XenBench> {
  const res: XenBench = { disk: null, net: null };
  try {
    const virtio = await best(runs, () => runVirtioDisk(root, timeoutMs));
    const split = await best(runs, () => runSplitDisk(root, timeoutMs));
    const ratio = split.mbPerS / virtio.mbPerS;
    res.disk = { virtio, split, ratio, goal: 3, goalMet: ratio >= 3 };
    log(`bench: disk: virtio-blk ${virtio.mbPerS.toFixed(0)} MB/s, blkfront/blkback ${split.mbPerS.toFixed(0)} MB/s (${ratio.toFixed(2)}x)`);
  } catch (e) {
    log(`bench: xen disk: ${e instanceof Error ? e.message : String(e)}`);
  }
  return res;
}

function row(name: string, r: DiskRun): string {
  return `  ${name.padEnd(18)} ${r.mbPerS.toFixed(1).padStart(8)} MB/s  ${r.wallMs.toFixed(1).padStart(7)} ms  ${r.exitsPerMb.toFixed(1).padStart(6)} exits/MB (${r.exits})  ` +
    `${(r.deviceMsPerMb).toFixed(3).padStart(6)} ms/MB in the device  ${r.notifies} notifies  ${(Number(r.instructions) / 1e6).toFixed(2)} M instr`;
}

/** The Xen section as text (like formatVmBench). */
export function formatXenBench(x: XenBench): string {
  const lines = ['Xen split drivers', '-----------------'];
  if (x.disk) {
    const d = x.disk;
    lines.push(`Disk: 4 MiB written + 4 MiB read, 64 KiB I/Os, 16 in flight (${(DISK_BYTES / 1e6).toFixed(1)} MB per run)`);
    lines.push(row('virtio-blk (VM)', d.virtio));
    lines.push(row('blkfront/blkback', d.split));
    lines.push(`  split / emulated throughput: ${d.ratio.toFixed(2)}x (goal ${d.goal}x: ${d.goalMet ? 'met' : 'NOT met'})`);
  }
  if (x.net) {
    const n = x.net;
    lines.push(`Network (two DomUs, one bridge): ICMP echo round trip ${n.rttUs.toFixed(1)} µs (${n.pings} pings); ` +
      `bulk ${n.mbPerS.toFixed(1)} MB/s (${n.frames} frames of ${n.frameBytes} bytes)`);
  }
  return lines.join('\n');
}
