/**
 * Guest time (docs/time.md): the host side of mtime, shared by the bare machine, the VMM's vCPU
 * (and so Xen domains) and the browser Worker.
 *
 * - Deterministic (`--deterministic`): mtime = offset + (instret >> 3): it follows retired
 *   instructions only, and moves on by itself only when the hart is idle (WFI: straight to the
 *   deadline), so a run is reproducible.
 * - Wall time (the default): mtime follows the host's monotonic clock (performance.now(), which
 *   Node and Workers both have) at the board's timebase. At each entry into the core (`sync`,
 *   at most every PUBLISH_MS) the host publishes its reading with the instruction count it
 *   belongs to and an estimate of ticks per instruction; the core extrapolates from them on
 *   time reads and at its event checks, and stops at a cap (abi.ts S_TIME_LIMIT) a little past
 *   the reading, so however fast the guest runs its time cannot run ahead of the host's clock
 *   by more than the cap. Time never goes backwards: a publication is never below what the
 *   guest may already have read. Nothing of this runs per instruction.
 */
import type { HartState } from './hart';
import { TIMEBASE_HZ } from './halt';

const TICKS_PER_MS = TIMEBASE_HZ / 1000;
/** Publish at most this often (ms): the VMM syncs on every exit, and a publication costs a few bigint writes. */
const PUBLISH_MS = 0.25;
/** The rate estimate is sampled over windows of at least this many ms of running. */
const SAMPLE_MS = 2;
/** Rate assumed before the first sample: 64 instructions per tick (640 MIPS). */
const DEFAULT_INSNS_PER_MS = 640_000;
/** Instructions of a run slice (the run loops' budget): the cap allows two slices of extrapolation. */
const SLICE_INSNS = 1_000_000;
/** Bounds of the cap past the host's reading, in ticks (5 ms .. 50 ms). */
const LEAD_MIN = 5 * TICKS_PER_MS;
const LEAD_MAX = 50 * TICKS_PER_MS;

/** What the clock needs of the core: mtime as the guest would read it now. */
export interface ClockCore {
  mtimeNow(): bigint;
}

/** One hart's mtime. */
export class GuestClock {
  /** Host ms at which wall-clock mtime is 0 (creation). */
  private readonly origin: number;
  /** Ticks added to the host's reading (CLINT writes to mtime). */
  private adjust = 0n;
  private publishedMs = -Infinity;
  /** Estimated guest instructions per ms of host time while running (0: none yet). */
  private insnsPerMs = 0;
  private sampleMs = NaN;
  private sampleInsns = 0n;

  constructor(
    private readonly hart: HartState,
    private readonly core: ClockCore,
    readonly deterministic: boolean,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.origin = now();
  }

  /** Set up the time fields after the core cleared its state (creation, machine reset). */
  reset(): void {
    const h = this.hart;
    h.timeOffset = 0n;
    h.timeShift = this.deterministic ? 3 : 6;
    if (this.deterministic) {
      h.timeMul = 0n;
      return;
    }
    h.timeMul = 1n;
    h.timeBase = h.instret;
    h.timeLimit = 0n;
    this.sampleMs = NaN;
    this.publish(this.now(), 0n);
  }

  /** mtime now. */
  mtime(): bigint {
    return this.core.mtimeNow();
  }

  /** Before an entry into the core: publish the host's clock (wall time; at most every PUBLISH_MS). */
  sync(nowMs = this.now()): void {
    if (this.deterministic || nowMs - this.publishedMs < PUBLISH_MS) return;
    this.publish(nowMs, undefined);
  }

  /** The hart slept (WFI, a blocked vCPU): that time is not running time for the rate estimate. */
  idle(): void {
    this.sampleMs = NaN;
  }

  /** Move mtime forward to at least `v` (idle time skipped, a poll's timeout reached). */
  atLeast(v: bigint): void {
    const now = this.core.mtimeNow();
    if (v <= now) return;
    if (this.deterministic) this.hart.timeOffset += v - now;
    else this.publish(this.now(), v);
  }

  /** Move mtime forward by `ticks` (deterministic idle time). */
  advance(ticks: bigint): void {
    this.atLeast(this.core.mtimeNow() + ticks);
  }

  /** A write to mtime (CLINT): time goes on from `v`, forwards or backwards. */
  set(v: bigint): void {
    if (this.deterministic) {
      this.hart.timeOffset += v - this.core.mtimeNow();
      return;
    }
    const nowMs = this.now();
    this.adjust += v - this.wallTicks(nowMs);
    this.publish(nowMs, v, true);
  }

  private wallTicks(nowMs: number): bigint {
    return BigInt(Math.floor((nowMs - this.origin) * TICKS_PER_MS)) + this.adjust;
  }

  /**
   * Publish the host's reading at `nowMs`: mtime is max(reading, what the guest may have read,
   * `floor`), or exactly `floor` when `exact` (a write to mtime).
   */
  private publish(nowMs: number, floor: bigint | undefined, exact = false): void {
    const h = this.hart;
    this.publishedMs = nowMs;
    const wall = this.wallTicks(nowMs);
    let off: bigint;
    if (exact && floor !== undefined) off = floor;
    else {
      const seen = this.core.mtimeNow();
      off = wall > seen ? wall : seen;
      if (floor !== undefined && floor > off) off = floor;
    }
    const insns = h.instret;
    if (Number.isNaN(this.sampleMs)) {
      this.sampleMs = nowMs;
      this.sampleInsns = insns;
    } else if (nowMs - this.sampleMs >= SAMPLE_MS) {
      const rate = Number(insns - this.sampleInsns) / (nowMs - this.sampleMs);
      if (rate > 0) this.insnsPerMs = this.insnsPerMs > 0 ? (this.insnsPerMs + rate) / 2 : rate;
      this.sampleMs = nowMs;
      this.sampleInsns = insns;
    }
    const perMs = this.insnsPerMs > 0 ? this.insnsPerMs : DEFAULT_INSNS_PER_MS;
    // Ticks per instruction in 32.32 fixed point, at most 1 (the core's product must fit 64 bits).
    const mul = Math.min(2 ** 32, Math.max(1, Math.round((TICKS_PER_MS / perMs) * 2 ** 32)));
    const lead = Math.min(LEAD_MAX, Math.max(LEAD_MIN, Math.round((2 * SLICE_INSNS / perMs) * TICKS_PER_MS)));
    const limit = wall + BigInt(lead);
    h.timeMul = BigInt(mul);
    h.timeBase = insns;
    h.timeOffset = off;
    h.timeLimit = limit > off ? limit : off;
  }
}
