/** The results table, its ratios and geometric means, and the JSON written to bench/results/. */

import type { HostInfo } from './machine-info';
import type { Spread } from './timing';

/** One engine's best run of one workload. */
export interface EngineResult {
  /** Best wall time in ms (wasmvisor: `run()` alone; QEMU and native: the whole process). */
  wallMs: number;
  /** wallMs less the engine's startup cost (QEMU, native); equal to wallMs for wasmvisor. */
  netMs: number;
  /** The workload's result line, e.g. "crc32: 0x1234abcd". */
  result: string;
  /** Min, median and max wall time of the runs (ms). */
  spread?: Spread;
}

/** Everything measured for one workload. Missing engines are null, with the reason in `errors`. */
export interface WorkloadResult {
  name: string;
  /** Guest instructions retired (from wasmvisor's stats), when wasmvisor ran. */
  instructions: string | null;
  /** wasmvisor as it runs by default: hot code compiled to WebAssembly (--jit on). */
  wasmvisor: (EngineResult & { mips: number; stats: Record<string, string | number> }) | null;
  /** wasmvisor with the interpreter only (--jit off). */
  interpreter: (EngineResult & { mips: number }) | null;
  qemu: EngineResult | null;
  native: EngineResult | null;
  /** Net-time ratios: wasmvisor/qemu, wasmvisor/native, qemu/native (larger = first is slower). */
  ratios: {
    wasmvisorOverQemu: number | null; wasmvisorOverNative: number | null; qemuOverNative: number | null;
    /** The interpreter against QEMU, and the JIT's speedup over the interpreter (interp / jit). */
    interpreterOverQemu: number | null; jitSpeedup: number | null;
  };
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
  startup: {
    qemuMs: number | null; nativeMs: number | null; wasmvisorCreateMs: number | null;
    /** `node bin/wasmvisor.mjs run` on the trivial image: process start to exit, as qemuMs is for QEMU. */
    wasmvisorProcessMs?: number | null;
    /**
     * CPU time (user + system, from /usr/bin/time: 10 ms steps) of the same whole processes, best
     * of the runs: less disturbed than wall time on a shared machine. `nodeCpuMs` is `node -e 0`,
     * Node's own start-up, the floor of any Node command.
     */
    cpu?: { wasmvisorMs: number | null; qemuMs: number | null; nodeMs: number | null };
    /** Wall time, best of the rounds, the three processes alternating in each round (QEMU: `-M virt -bios none -m 128M -kernel`). */
    alternated?: { wasmvisorMs: number; qemuMs: number | null; nodeMs: number };
    /** When NODE_EXTRA_CA_CERTS is set: the CLI and `node -e 0` without it (wall, best of the rounds). */
    withoutExtraCaCerts?: { wasmvisorMs: number; nodeMs: number };
  };
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
  const results = [w.wasmvisor?.result, w.interpreter?.result, w.qemu?.result, w.native?.result].filter((r): r is string => r !== undefined);
  return {
    ...w,
    ratios: {
      wasmvisorOverQemu: ratio(w.wasmvisor?.netMs, w.qemu?.netMs),
      wasmvisorOverNative: ratio(w.wasmvisor?.netMs, w.native?.netMs),
      qemuOverNative: ratio(w.qemu?.netMs, w.native?.netMs),
      interpreterOverQemu: ratio(w.interpreter?.netMs, w.qemu?.netMs),
      jitSpeedup: ratio(w.interpreter?.netMs, w.wasmvisor?.netMs),
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
    interpreterOverQemu: geomean(ws.map((w) => w.ratios.interpreterOverQemu)),
    jitSpeedup: geomean(ws.map((w) => w.ratios.jitSpeedup)),
  };
}

const ms = (v: number | null | undefined): string => (v == null ? '-' : v.toFixed(1));
const times = (v: number | null): string => (v == null ? '-' : `${v.toFixed(2)}x`);
const minstr = (v: string | null): string => (v == null ? '-' : `${(Number(v) / 1e6).toFixed(1)}M`);

/** The results as a fixed-width text table, one row per workload plus the geometric-mean row. */
export function formatTable(report: BenchReport): string {
  const head = ['workload', 'instr', 'interp ms', 'MIPS', 'jit ms', 'MIPS', 'qemu ms', 'native ms', 'jit/qemu', 'jit/native', 'interp/qemu', 'qemu/native', 'jit gain', 'check'];
  const rows: string[][] = report.workloads.map((w) => [
    w.name,
    minstr(w.instructions),
    ms(w.interpreter?.wallMs),
    w.interpreter ? w.interpreter.mips.toFixed(0) : '-',
    ms(w.wasmvisor?.wallMs),
    w.wasmvisor ? w.wasmvisor.mips.toFixed(0) : '-',
    ms(w.qemu?.netMs),
    ms(w.native?.netMs),
    times(w.ratios.wasmvisorOverQemu),
    times(w.ratios.wasmvisorOverNative),
    times(w.ratios.interpreterOverQemu),
    times(w.ratios.qemuOverNative),
    times(w.ratios.jitSpeedup),
    !w.match ? 'MISMATCH' : w.errors.length > 0 ? 'ERROR' : 'ok',
  ]);
  const g = report.geomean;
  const mipsMean = (pick: (w: WorkloadResult) => number | undefined): string => {
    const m = geomean(report.workloads.map((w) => pick(w) ?? null));
    return m == null ? '' : m.toFixed(0);
  };
  rows.push(['geomean', '', '', mipsMean((w) => w.interpreter?.mips), '', mipsMean((w) => w.wasmvisor?.mips), '', '',
    times(g.wasmvisorOverQemu), times(g.wasmvisorOverNative), times(g.interpreterOverQemu), times(g.qemuOverNative), times(g.jitSpeedup), '']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), ...rows.slice(0, -1).map(line), '-'.repeat(line(head).length), line(rows[rows.length - 1])].join('\n');
}
