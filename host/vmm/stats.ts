/**
 * VM exit statistics and the exit trace: what `--stats` and `--trace exits` print in VM mode.
 *
 * Every exit is counted under a readable reason ("SBI ecall (TIME set_timer)", "MMIO store
 * (uart0)", "guest-page fault: first touch of RAM", ...). Its host time (from the return of
 * vmRun to the end of its handling) is measured on a sample: the first exit of each reason and
 * then every EXIT_TIME_SAMPLE-th, since reading the clock costs about as much as handling a
 * short exit. The mean host time is the mean over the sampled exits.
 */
import { groupDigits } from '../cli/stats-table';

/** The host time of one exit in this many of each reason is measured (the first one included). */
export const EXIT_TIME_SAMPLE = 16;

/** One row of the exit table. */
export interface ExitRow {
  reason: string;
  count: number;
  /** Share of all exits, in percent. */
  share: number;
  /** Mean host time per exit, in nanoseconds (over the sampled exits). */
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

/**
 * Most distinct reasons one ExitStats keeps; later new reasons all count under OTHER_REASON.
 * The VMM's reasons are a fixed set (its SBI call names are bounded, see sbi.ts, and MMIO
 * reasons are per device) of well under a hundred, so this is a backstop: whatever a guest
 * does, the table, `--stats` and the web stats messages stay this size.
 */
export const MAX_EXIT_REASONS = 256;
/** The reason every exit past MAX_EXIT_REASONS distinct reasons is counted under. */
export const OTHER_REASON = 'other (reason table full)';

/**
 * Counts exits by reason. A reason is interned once as a small integer id (`id()`), so that
 * counting an exit on the hot path is array arithmetic, not a lookup by string.
 */
export class ExitStats {
  private readonly ids = new Map<string, number>();
  private readonly reasons: string[] = [];
  private readonly counts: number[] = [];
  /** Host time summed over the sampled exits of each reason, and how many were sampled. */
  private readonly ns: number[] = [];
  private readonly samples: number[] = [];
  private total = 0;

  /**
   * The id of `reason` (made on first use; ids stay valid across clear()). Once
   * MAX_EXIT_REASONS reasons exist, a new one gets the id of OTHER_REASON.
   */
  id(reason: string): number {
    let id = this.ids.get(reason);
    if (id === undefined) {
      if (this.reasons.length >= MAX_EXIT_REASONS - 1 && reason !== OTHER_REASON) return this.id(OTHER_REASON);
      id = this.reasons.length;
      this.ids.set(reason, id);
      this.reasons.push(reason);
      this.counts.push(0);
      this.ns.push(0);
      this.samples.push(0);
    }
    return id;
  }

  /** The reason an id stands for. */
  reason(id: number): string {
    return this.reasons[id];
  }

  /** Whether the next exit of reason `id` is one whose host time is measured (see the file comment). */
  sampled(id: number): boolean {
    return this.counts[id] % EXIT_TIME_SAMPLE === 0;
  }

  /** Count one exit of reason `id`; `ns` is its host time if it was sampled. */
  count(id: number, ns?: number): void {
    this.counts[id]++;
    this.total++;
    if (ns !== undefined) {
      this.ns[id] += ns;
      this.samples[id]++;
    }
  }

  /** Count `n` exits of reason `id`, none of them timed (the core's in-core SBI calls). */
  countMany(id: number, n: number): void {
    this.counts[id] += n;
    this.total += n;
  }

  /** Exits counted so far. */
  get exits(): number {
    return this.total;
  }

  /** The rows, most frequent first (ties by name). */
  rows(): ExitRow[] {
    const rows: ExitRow[] = [];
    this.reasons.forEach((reason, id) => {
      const count = this.counts[id];
      if (count === 0) return;
      rows.push({ reason, count, share: (count / this.total) * 100, meanNs: this.samples[id] > 0 ? this.ns[id] / this.samples[id] : NaN });
    });
    return rows.sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }

  /** Forget the counts (a rebooted VM keeps counting; tests reset). Ids stay valid. */
  clear(): void {
    this.counts.fill(0);
    this.ns.fill(0);
    this.samples.fill(0);
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
  const head = ['reason', 'count', 'share', `mean host time (1 in ${EXIT_TIME_SAMPLE} timed)`];
  // Untimed rows (the SBI calls the core answers itself: in-core SBI) show '-'.
  const body = rows.map((r) => [r.reason, groupDigits(r.count), `${r.share.toFixed(2)} %`, Number.isNaN(r.meanNs) ? '-' : formatNs(r.meanNs)]);
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
