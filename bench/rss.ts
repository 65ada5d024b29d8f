/**
 * Host memory against guest memory touched (issue 16, goal 8: host RSS <= 1.1x the guest RAM
 * touched + 60 MB, for a VM and for a DomU).
 *
 * Each case runs in a fresh Node process (`node dist/rss-probe.mjs CASE`, bench/rss-probe.ts),
 * so the RSS is that one guest's and not the bench's own heap or code (the probe used to be
 * `dist/bench.mjs --rss-probe`: the bench's 690 KB bundle in the process added 1.5-2 MiB to the
 * peak, docs/performance.md "Memory"): the probe creates the guest through the
 * host API, runs it to its exit and prints one JSON line with
 * - `touched`: guest RAM backed by host frames at the end (Vm.populatedPages x 4 KiB: the VMM
 *   populates a guest page on its first access, so this is the RAM the guest touched, plus
 *   what the loader wrote: the image, the device tree);
 * - `rss` and `hwm`: process.memoryUsage().rss at the end, and the peak (VmHWM of
 *   /proc/self/status) over the whole run, Node and the compiled core included.
 * The bound is checked on the peak. Cases: minikernel in a VM (128 MiB), a VM that writes one
 * word in every page of 64 MiB (of 128 MiB), and guests/xen/domu.c as a Xen DomU (64 MiB).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as E from '../test/diff/encode';
import { parseImage } from '../host/machine/loader';
import { Vm, KERNEL_RAW_BASE } from '../host/vmm/vm';
import { XenHypervisor } from '../host/xen/hypervisor';
import { vmHwmKiB } from './memory';

export const RSS_CASES = ['minikernel-vm', 'touch64-vm', 'domu'] as const;
export type RssCase = (typeof RSS_CASES)[number];

const MIB = 1 << 20;
/** The goal's slack, 60 MB (10^6 bytes) in MiB. */
const SLACK_MIB = 60e6 / MIB;

export interface RssRow {
  name: RssCase;
  /** Guest RAM size given to the guest, MiB. */
  memMiB: number;
  /** Guest RAM backed by host frames at the end, MiB. */
  touchedMiB: number;
  /** RSS at the end and peak RSS, MiB. */
  rssMiB: number;
  hwmMiB: number;
  /** 1.1 x touched + 60 MB: the goal. */
  boundMiB: number;
  /** Whether the peak is within the bound. */
  ok: boolean;
}

const A0 = 10, A1 = 11, A6 = 16, A7 = 17, T0 = 5, T1 = 6;

function words(ws: number[]): Uint8Array {
  const b = new Uint8Array(ws.length * 4);
  ws.forEach((w, i) => new DataView(b.buffer).setUint32(i * 4, w >>> 0, true));
  return b;
}

/** li for a 32-bit value (as bench/vm.ts). */
function li(rd: number, v: number): number[] {
  const lo = (v << 20) >> 20;
  const hi = ((v - lo) >>> 12) & 0xfffff;
  return hi === 0 ? [E.aluI('addi', rd, 0, lo)] : [E.lui(rd, hi), E.aluI('addiw', rd, rd, lo)];
}

/**
 * A raw S-mode image (at KERNEL_RAW_BASE) that stores one doubleword in each 4 KiB page of
 * [0x80400000, +bytes), then shuts down (SBI SRST). `bytes` is a multiple of 4 KiB below 2 GiB.
 */
export function touchGuest(bytes: number): Uint8Array {
  const pages = bytes >>> 12;
  return words([
    E.lui(T0, 0x80400), // t0 = 0x80400000 (lui sign-extends: fix the upper half below)
    E.shiftI('slli', T0, T0, 32), E.shiftI('srli', T0, T0, 32),
    ...li(T1, pages), // t1 = pages
    // loop: sd t1, 0(t0); t0 += 4096; t1 -= 1; bnez t1, loop
    E.store('sd', T1, T0, 0),
    E.lui(7, 1), E.aluR('add', T0, T0, 7),
    E.aluI('addi', T1, T1, -1),
    E.bType(1, T1, 0, -16), // bne t1, x0, loop
    E.lui(A7, 0x53525), E.aluI('addiw', A7, A7, 0x354), // a7 = 0x53525354 (SRST)
    E.aluI('addi', A6, 0, 0), E.aluI('addi', A0, 0, 0), E.aluI('addi', A1, 0, 0),
    0x00000073, // ecall
  ]);
}

/**
 * Resident KiB of the Wasm linear memory (/proc/self/smaps): the one readable-writable mapping
 * of exactly `bytes` (V8 maps the accessible part apart from its guard region).
 */
function linearMemoryRssKiB(bytes: number): number {
  let size = -1;
  for (const line of readFileSync('/proc/self/smaps', 'latin1').split('\n')) {
    const m = /^(Size|Rss):\s+(\d+) kB/.exec(line);
    if (m?.[1] === 'Size') size = Number(m[2]) * 1024;
    else if (m?.[1] === 'Rss' && size === bytes) return Number(m[2]);
  }
  return -1;
}

/** The child's side: run one case and print its JSON line. */
export async function rssProbe(root: string, name: string, jit?: string): Promise<void> {
  const jitCfg = jit === 'off' ? { jit: 'off' as const } : {};
  let vmOf: () => Vm;
  let memSize: number;
  let run: () => Promise<{ reason: string; exitCode: number }>;
  if (name === 'minikernel-vm' || name === 'touch64-vm') {
    memSize = 128 * MIB;
    const image = name === 'minikernel-vm'
      ? parseImage(new Uint8Array(readFileSync(join(root, 'guests/bin/minikernel/minikernel.elf'))), 'minikernel.elf', KERNEL_RAW_BASE)
      : parseImage(touchGuest(64 * MIB), 'touch64.bin', KERNEL_RAW_BASE);
    const vm = await Vm.create({ memSize, kernel: image, deterministic: true, onConsoleOutput: () => {}, ...jitCfg });
    vmOf = () => vm;
    run = () => vm.run({ timeoutMs: 120_000 });
  } else if (name === 'domu') {
    memSize = 64 * MIB;
    const hv = new XenHypervisor();
    const d = await hv.createDomain({
      name: 'domu', memSize, deterministic: true, onConsoleOutput: () => {}, ...jitCfg,
      kernel: parseImage(new Uint8Array(readFileSync(join(root, 'guests/bin/xen/domu.elf'))), 'domu.elf', KERNEL_RAW_BASE),
    });
    vmOf = () => d.vm;
    run = () => hv.run(d.domid, { timeoutMs: 120_000 });
  } else {
    throw new Error(`--rss-probe: unknown case ${name} (known: ${RSS_CASES.join(', ')})`);
  }
  const created = process.memoryUsage().rss;
  const r = await run();
  const mu = process.memoryUsage();
  const rss = mu.rss;
  const hwm = vmHwmKiB(process.pid) * 1024;
  const touched = vmOf().populatedPages * 4096;
  const linear = linearMemoryRssKiB(vmOf().memory.buffer.byteLength) * 1024;
  process.stdout.write(JSON.stringify({ name, memSize, touched, rss, hwm, created, linear, heapUsed: mu.heapUsed, heapTotal: mu.heapTotal, external: mu.external, reason: r.reason, exitCode: r.exitCode }) + '\n');
}

/** Runs every case in its own process (best = lowest peak of `runs`). */
export async function rssBenchmarks(benchMjs: string, runs: number, log: (s: string) => void): Promise<RssRow[]> {
  const probe = join(dirname(benchMjs), 'rss-probe.mjs'); // built beside dist/bench.mjs
  const rows: RssRow[] = [];
  for (const name of RSS_CASES) {
    let best: RssRow | undefined;
    for (let i = 0; i < runs; i++) {
      const out = await new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, [probe, name], { stdio: ['ignore', 'pipe', 'pipe'] });
        let so = '';
        let se = '';
        p.stdout.on('data', (d: Buffer) => { so += d.toString('latin1'); });
        p.stderr.on('data', (d: Buffer) => { se += d.toString('latin1'); });
        p.on('error', reject);
        p.on('exit', (status) => status === 0 ? resolve(so) : reject(new Error(`rss ${name}: exit ${status}: ${se.trim().split('\n').pop() ?? ''}`)));
      });
      const j = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { memSize: number; touched: number; rss: number; hwm: number; reason: string; exitCode: number };
      if (j.reason !== 'exit' || j.exitCode !== 0) throw new Error(`rss ${name}: guest ended with ${j.reason} ${j.exitCode}`);
      const touchedMiB = j.touched / MIB;
      const row: RssRow = {
        name, memMiB: j.memSize / MIB, touchedMiB, rssMiB: j.rss / MIB, hwmMiB: j.hwm / MIB,
        boundMiB: 1.1 * touchedMiB + SLACK_MIB, ok: false,
      };
      row.ok = row.hwmMiB <= row.boundMiB;
      if (best === undefined || row.hwmMiB < best.hwmMiB) best = row;
    }
    rows.push(best!);
    log(`bench: rss ${name}: touched ${best!.touchedMiB.toFixed(1)} MiB, peak RSS ${best!.hwmMiB.toFixed(1)} MiB (bound ${best!.boundMiB.toFixed(1)})`);
  }
  return rows;
}

/** The section as text. */
export function formatRssBench(rows: RssRow[]): string {
  const lines = [
    'Host RSS against guest RAM touched (goal: peak RSS <= 1.1 x touched + 60 MB; one fresh process per case)',
    '---------------------------------------------------------------------------------------------------------',
    'case            guest MiB  touched MiB  end RSS MiB  peak RSS MiB  bound MiB  goal',
  ];
  for (const r of rows) {
    lines.push(`${r.name.padEnd(15)} ${r.memMiB.toFixed(0).padStart(9)} ${r.touchedMiB.toFixed(1).padStart(12)} ${r.rssMiB.toFixed(1).padStart(12)} ` +
      `${r.hwmMiB.toFixed(1).padStart(13)} ${r.boundMiB.toFixed(1).padStart(10)}  ${r.ok ? 'met' : 'NOT met'}`);
  }
  return lines.join('\n');
}
