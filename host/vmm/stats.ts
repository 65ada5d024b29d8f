/**
 * VM exit statistics and the exit trace: what `--stats` and `--trace exits` print in VM mode.
 *
 * Every exit is recorded under a readable reason ("SBI ecall (TIME set_timer)", "MMIO store
 * (uart0)", "guest-page fault: first touch of RAM", ...) with the host time spent handling it
 * (from the return of vmRun to the next entry).
 */
import { groupDigits } from '../cli/stats-table';

/** One row of the exit table. */
export interface ExitRow {
  reason: string;
  count: number;
  /** Share of all exits, in percent. */
  share: number;
  /** Mean host time per exit, in nanoseconds. */
  meanNs: number;
}

/** Page-walk counters of the hart, split by dimension. */
export interface WalkCounters {
  /** TLB misses walked with one stage (V = 0, or one of the stages Bare). */
  walks1d: bigint;
  refs1d: bigint;
  /** TLB misses walked in two dimensions (V = 1, both stages active); undefined if the core does not count them. */
  walks2d?: bigint;
  refs2d?: bigint;
}

/** Counts exits by reason. */
export class ExitStats {
  private readonly byReason = new Map<string, { count: number; ns: number }>();
  private total = 0;

  /** Count one exit handled in `ns` host nanoseconds. */
  record(reason: string, ns: number): void {
    let e = this.byReason.get(reason);
    if (!e) {
      e = { count: 0, ns: 0 };
      this.byReason.set(reason, e);
    }
    e.count++;
    e.ns += ns;
    this.total++;
  }

  /** Exits counted so far. */
  get exits(): number {
    return this.total;
  }

  /** The rows, most frequent first (ties by name). */
  rows(): ExitRow[] {
    return [...this.byReason.entries()]
      .map(([reason, e]) => ({ reason, count: e.count, share: (e.count / this.total) * 100, meanNs: e.ns / e.count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }

  /** Forget everything (a rebooted VM keeps counting; tests reset). */
  clear(): void {
    this.byReason.clear();
    this.total = 0;
  }
}

/** A duration in ns as "850 ns", "12.3 µs" or "4.56 ms". */
export function formatNs(ns: number): string {
  if (ns < 1000) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(1)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

/** The `--stats` section about VM exits and walks, ending in "\n". */
export function formatExitStats(stats: ExitStats, guestInstructions: bigint, walks: WalkCounters): string {
  const rows = stats.rows();
  const head = ['reason', 'count', 'share', 'mean host time'];
  const body = rows.map((r) => [r.reason, groupDigits(r.count), `${r.share.toFixed(2)} %`, formatNs(r.meanNs)]);
  body.push(['total', groupDigits(stats.exits), stats.exits > 0 ? '100.00 %' : 'n/a', '']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => `  ${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2].padStart(w[2])}  ${r[3].padStart(w[3])}`.trimEnd() + '\n';
  let out = 'wasmvisor VM exits\n' + line(head) + body.map(line).join('');
  const perExit = stats.exits > 0 ? (Number(guestInstructions) / stats.exits).toFixed(1) : 'n/a';
  const mean = (refs: bigint, n: bigint) => (n > 0n ? (Number(refs) / Number(n)).toFixed(2) : 'n/a');
  const kv: [string, string][] = [
    ['guest instructions', groupDigits(guestInstructions)],
    ['guest instructions per exit', perExit],
    ['TLB misses, 1D walks', `${groupDigits(walks.walks1d)} (mean ${mean(walks.refs1d, walks.walks1d)} refs per walk)`],
    [
      'TLB misses, 2D walks',
      walks.walks2d === undefined || walks.refs2d === undefined
        ? 'not counted by this core'
        : `${groupDigits(walks.walks2d)} (mean ${mean(walks.refs2d, walks.walks2d)} refs per walk)`,
    ],
  ];
  const kw = Math.max(...kv.map(([k]) => k.length));
  out += kv.map(([k, v]) => `  ${k.padEnd(kw)}  ${v}\n`).join('');
  return out;
}

/** What one trace line says about an exit. */
export interface ExitTraceInfo {
  /** Sequence number of the exit (1-based). */
  seq: number;
  reason: string;
  pc: bigint;
  cause?: bigint;
  tval?: bigint;
  htval?: bigint;
  /** The guest instruction at pc, disassembled (or hex), when known. */
  insn?: string;
}

const hx = (v: bigint) => '0x' + v.toString(16);

/** One `--trace exits` line (without the newline). */
export function formatExitTrace(t: ExitTraceInfo): string {
  let s = `exit ${t.seq}: ${t.reason} pc=${hx(t.pc)}`;
  if (t.cause !== undefined) s += ` cause=${causeText(t.cause)}`;
  if (t.tval !== undefined) s += ` tval=${hx(t.tval)}`;
  if (t.htval !== undefined) s += ` htval=${hx(t.htval)}`;
  if (t.insn !== undefined) s += ` insn: ${t.insn}`;
  return s;
}

const INTERRUPT = 1n << 63n;

/** A cause as a number, "irq N" for interrupts. */
export function causeText(cause: bigint): string {
  return (cause & INTERRUPT) !== 0n ? `irq ${cause & ~INTERRUPT}` : cause.toString();
}

/** Names of exception causes (priv spec table 3.6, and §8.6.1 for 10, 20..23). */
export const CAUSE_NAMES: Record<number, string> = {
  0: 'instruction address misaligned', 1: 'instruction access fault', 2: 'illegal instruction', 3: 'breakpoint',
  4: 'load address misaligned', 5: 'load access fault', 6: 'store address misaligned', 7: 'store access fault',
  8: 'ecall from U/VU', 9: 'ecall from HS', 10: 'ecall from VS', 11: 'ecall from M',
  12: 'instruction page fault', 13: 'load page fault', 15: 'store page fault',
  20: 'instruction guest-page fault', 21: 'load guest-page fault', 22: 'virtual instruction', 23: 'store guest-page fault',
};
