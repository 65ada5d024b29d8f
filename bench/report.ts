/** The results table, its ratios and geometric means, and the JSON written to bench/results/. */

import type { HostInfo } from './machine-info';

/** One engine's best run of one workload. */
export interface EngineResult {
  /** Best wall time in ms (wasmvisor: `run()` alone; QEMU and native: the whole process). */
  wallMs: number;
  /** wallMs less the engine's startup cost (QEMU, native); equal to wallMs for wasmvisor. */
  netMs: number;
  /** The workload's result line, e.g. "crc32: 0x1234abcd". */
  result: string;
}

/** Everything measured for one workload. Missing engines are null, with the reason in `errors`. */
export interface WorkloadResult {
  name: string;
  /** Guest instructions retired (from wasmvisor's stats), when wasmvisor ran. */
  instructions: string | null;
  wasmvisor: (EngineResult & { mips: number; stats: Record<string, string | number> }) | null;
  qemu: EngineResult | null;
  native: EngineResult | null;
  /** Net-time ratios: wasmvisor/qemu, wasmvisor/native, qemu/native (larger = first is slower). */
  ratios: { wasmvisorOverQemu: number | null; wasmvisorOverNative: number | null; qemuOverNative: number | null };
  /** True when every engine that ran printed the same result line. */
  match: boolean;
  /** One line per engine that failed, e.g. "qemu: ... exited with status 3". */
  errors: string[];
}

/** The whole file bench/results/latest.json. */
export interface BenchReport {
  host: HostInfo;
  /** Runs per measurement; the best (shortest) is kept. */
  runs: number;
  /** Startup costs in ms, measured on a trivial image / an empty program. */
  startup: { qemuMs: number | null; nativeMs: number | null; wasmvisorCreateMs: number | null };
  workloads: WorkloadResult[];
  geomean: WorkloadResult['ratios'];
}

/** a / b, or null when either is missing or b is not positive. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || !(b > 0) || !(a > 0)) return null;
  return a / b;
}

/** Geometric mean of the values that are present; null when none is. */
export function geomean(values: (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v != null && v > 0);
  if (xs.length === 0) return null;
  return Math.exp(xs.reduce((s, v) => s + Math.log(v), 0) / xs.length);
}

/** Fills in `ratios` and `match` from the engine results. */
export function finishWorkload(w: Omit<WorkloadResult, 'ratios' | 'match'>): WorkloadResult {
  const results = [w.wasmvisor?.result, w.qemu?.result, w.native?.result].filter((r): r is string => r !== undefined);
  return {
    ...w,
    ratios: {
      wasmvisorOverQemu: ratio(w.wasmvisor?.netMs, w.qemu?.netMs),
      wasmvisorOverNative: ratio(w.wasmvisor?.netMs, w.native?.netMs),
      qemuOverNative: ratio(w.qemu?.netMs, w.native?.netMs),
    },
    match: results.every((r) => r === results[0]),
  };
}

/** Geometric means of each ratio over the workloads. */
export function geomeanRow(ws: WorkloadResult[]): WorkloadResult['ratios'] {
  return {
    wasmvisorOverQemu: geomean(ws.map((w) => w.ratios.wasmvisorOverQemu)),
    wasmvisorOverNative: geomean(ws.map((w) => w.ratios.wasmvisorOverNative)),
    qemuOverNative: geomean(ws.map((w) => w.ratios.qemuOverNative)),
  };
}

const ms = (v: number | null | undefined): string => (v == null ? '-' : v.toFixed(1));
const times = (v: number | null): string => (v == null ? '-' : `${v.toFixed(2)}x`);
const minstr = (v: string | null): string => (v == null ? '-' : `${(Number(v) / 1e6).toFixed(1)}M`);

/** The results as a fixed-width text table, one row per workload plus the geometric-mean row. */
export function formatTable(report: BenchReport): string {
  const head = ['workload', 'instr', 'wasmvisor ms', 'MIPS', 'qemu ms', 'native ms', 'wv/qemu', 'wv/native', 'qemu/native', 'check'];
  const rows: string[][] = report.workloads.map((w) => [
    w.name,
    minstr(w.instructions),
    ms(w.wasmvisor?.wallMs),
    w.wasmvisor ? w.wasmvisor.mips.toFixed(1) : '-',
    ms(w.qemu?.netMs),
    ms(w.native?.netMs),
    times(w.ratios.wasmvisorOverQemu),
    times(w.ratios.wasmvisorOverNative),
    times(w.ratios.qemuOverNative),
    !w.match ? 'MISMATCH' : w.errors.length > 0 ? 'ERROR' : 'ok',
  ]);
  const g = report.geomean;
  rows.push(['geomean', '', '', '', '', '', times(g.wasmvisorOverQemu), times(g.wasmvisorOverNative), times(g.qemuOverNative), '']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), ...rows.slice(0, -1).map(line), '-'.repeat(line(head).length), line(rows[rows.length - 1])].join('\n');
}
