/**
 * The credit scheduler: how Dom0 shares its one host thread among the DomUs' vCPUs, after Xen's
 * credit1 (xen/common/sched/credit.c) reduced to one physical CPU.
 *
 *   - Time is cut into slices; a slice is one `run()` of one vCPU with a limit. Work is counted
 *     in *units*: retired instructions in deterministic mode (so a test gets the same split every
 *     time), host microseconds otherwise. A slice that retired nothing and did not block (a
 *     vCPU in a trap storm) counts its traps instead (workOf).
 *   - Every accounting period (PERIOD_SLICES slices' worth of units) each active domain earns
 *     credit in proportion to its weight: period * weight / sum of active weights (Xen's
 *     csched_acct). Credit never piles up past one period's share, so a domain that slept does
 *     not come back with a burst.
 *   - Running debits credit. A vCPU with credit left is UNDER, one without is OVER; UNDER
 *     vCPUs run first, and within a priority the one that ran least recently goes first (the
 *     runqueue's round robin). OVER vCPUs still run when nobody is UNDER: the CPU is never idle
 *     while someone can run (work conserving), unless caps say so.
 *   - A cap (percent of the CPU) bounds what a domain gets per period: once it has used
 *     cap% of the period it is *parked* until the next one, even if the CPU would otherwise
 *     idle (Xen's CSCHED_FLAG_VCPU_PARKED).
 *   - A blocked vCPU (SCHEDOP_block, or WFI with nothing pending) is not run and consumes
 *     nothing; it is woken when an interrupt (an event-channel upcall, its timer, input) is
 *     pending. When nothing can run the scheduler idles: it polls the blocked vCPUs (their own
 *     run loops sleep until their timers, a millisecond at most), or in deterministic mode lets
 *     those with a timer jump to it.
 *
 * The host thread is shared with everything else in the process (host timers such as Xen's
 * set_timer_op and SCHEDOP_poll timeouts, backends' I/O, console input): every step lets the
 * host's event loop in when YIELD_MS of wall-clock time have gone by since it last did, since a
 * slice is often shorter than the vCPU run loop's own yield interval and a chain of slices
 * would otherwise never leave the microtask queue.
 *
 * Slices never cross a period boundary, and a capped domain's slice ends where its cap does, so
 * in deterministic mode shares are exact to the instruction (the tests check 1:2 for weights
 * 256:512 and 25% for cap 25).
 *
 * The scheduler does not know Xen: it drives `SchedVcpu`s. xen-vcpu.ts makes one of a XenDomain.
 */
import type { RunLimits } from '../../machine/types';
import type { VmRunResult } from '../../vmm/vm';

/** Most wall-clock milliseconds between two yields of the scheduler to the host's event loop. */
export const YIELD_MS = 20;

/** What one slice of a vCPU did. */
export interface SliceResult {
  result: VmRunResult;
  /** The vCPU blocked (it waits for an interrupt); the scheduler stops running it until wakeable(). */
  blocked: boolean;
}

/** One vCPU as the scheduler drives it. */
export interface SchedVcpu {
  /** Run one slice within `limits`. */
  runSlice(limits: RunLimits): Promise<SliceResult>;
  /** A blocked vCPU: whether an interrupt is pending now (so it would run). */
  wakeable(): boolean;
  /** A blocked vCPU: whether it has a timer armed (deterministic time can jump to it). */
  hasTimer(): boolean;
  /** A blocked vCPU: false while no poll slice can wake it (it waits for post-copy pages, xen-vcpu.ts); default true. */
  pollable?(): boolean;
}

/** Scheduler knobs. */
export interface SchedulerOptions {
  /** Units are instructions (true) or host microseconds (false). */
  deterministic: boolean;
  /** Slice length in deterministic mode, in instructions (default 100,000). */
  sliceInstructions?: number;
  /** Slice length otherwise, in milliseconds (default 10, Xen's credit1 tick). */
  sliceMs?: number;
  /** Slices per accounting period (default 3: credit1 accounts every 30 ms of 10 ms ticks). */
  periodSlices?: number;
  /** Wall-clock guard of one deterministic slice, in case its vCPU halts with no timer (default 200 ms). */
  guardMs?: number;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
  /** Wait this long (idle with nothing to poll); default a setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

/** A vCPU's scheduling state, as `xl list` shows it. */
export type VcpuState = 'runnable' | 'blocked' | 'paused' | 'parked';

/** What a domain got from the scheduler (for `xl list` and --stats). */
export interface SchedAccount {
  weight: number;
  cap: number;
  /** Credit now, in units (negative: OVER). */
  credit: number;
  /** Instructions retired in slices. */
  instructions: bigint;
  /** Host milliseconds spent in slices that ran instructions (the "CPU time"). */
  hostMs: number;
  /** Slices given. */
  slices: number;
  /** Times the vCPU blocked. */
  blocks: number;
  /** Periods in which the cap parked it. */
  parkedPeriods: number;
  state: VcpuState;
}

/** What one scheduling step did. */
export type StepResult =
  | { kind: 'ran'; domid: number; slice: SliceResult }
  | { kind: 'idle'; ms: number } // nothing could run
  | { kind: 'empty' }; // no vCPU at all (or all paused)

interface Entry {
  domid: number;
  vcpu: SchedVcpu;
  weight: number;
  cap: number;
  credit: number;
  /** Units the cap still allows in this period (Infinity: no cap). */
  capLeft: number;
  usedThisPeriod: number;
  blocked: boolean;
  paused: boolean;
  parked: boolean;
  lastRun: number;
  acct: Omit<SchedAccount, 'weight' | 'cap' | 'credit' | 'state'>;
}

/** The credit scheduler (see the file comment). */
export class CreditScheduler {
  /** Accounting periods so far. */
  periods = 0;
  /** Units the CPU idled (nothing runnable), in the current unit. */
  idleUnits = 0;
  /** Host milliseconds spent idle: waits and polls of blocked vCPUs that ran nothing. */
  idleMs = 0;
  private readonly entries = new Map<number, Entry>();
  private readonly slice: number;
  private readonly period: number;
  private readonly guardMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private elapsed = 0; // units of the current period
  private periodStart: number;
  private seq = 0;
  private pollNext = 0; // round robin over blocked vCPUs when idle
  private accountNow = true; // a domain was added: share the credit again
  private lastYield = performance.now(); // wall clock (not opts.now): only the yield uses it

  constructor(readonly opts: SchedulerOptions) {
    this.slice = opts.deterministic ? opts.sliceInstructions ?? 100_000 : (opts.sliceMs ?? 10) * 1000;
    this.period = this.slice * (opts.periodSlices ?? 3);
    this.guardMs = opts.guardMs ?? 200;
    this.now = opts.now ?? (() => performance.now());
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.periodStart = this.now();
  }

  /** Add a domain's vCPU. A new accounting period starts at the next step, which gives it its share. */
  add(domid: number, vcpu: SchedVcpu, params: { weight: number; cap: number }): void {
    if (this.entries.has(domid)) throw new Error(`scheduler: domain ${domid} is already scheduled`);
    checkParams(params);
    const e: Entry = {
      domid, vcpu, weight: params.weight, cap: params.cap, credit: 0, capLeft: Infinity, usedThisPeriod: 0,
      blocked: false, paused: false, parked: false, lastRun: -1,
      acct: { instructions: 0n, hostMs: 0, slices: 0, blocks: 0, parkedPeriods: 0 },
    };
    this.entries.set(domid, e);
    this.accountNow = true;
  }

  /** Remove a domain (destroyed). */
  remove(domid: number): void {
    this.entries.delete(domid);
  }

  /** Whether `domid` is scheduled. */
  has(domid: number): boolean {
    return this.entries.has(domid);
  }

  /** Change weight and cap (xl sched-credit -w / -c); they apply from now. */
  setParams(domid: number, params: { weight: number; cap: number }): void {
    checkParams(params);
    const e = this.get(domid);
    e.weight = params.weight;
    e.cap = params.cap;
    e.capLeft = Math.max(0, this.capUnits(e) - e.usedThisPeriod);
  }

  /** Stop giving `domid` slices (xl pause). */
  pause(domid: number): void {
    this.get(domid).paused = true;
  }

  /** Give `domid` slices again (xl unpause). */
  unpause(domid: number): void {
    this.get(domid).paused = false;
  }

  /** What `domid` got, and its state now. */
  account(domid: number): SchedAccount {
    const e = this.get(domid);
    return { ...e.acct, weight: e.weight, cap: e.cap, credit: e.credit, state: stateOf(e) };
  }

  /** Pick a vCPU and run one slice (or idle one step when nothing can run). */
  async step(): Promise<StepResult> {
    await this.letHostIn();
    this.maybeAccount();
    for (const e of this.entries.values()) {
      if (e.blocked && e.vcpu.wakeable()) e.blocked = false;
    }
    const e = this.pick();
    if (e !== undefined) return this.runSlice(e, this.sliceLimits(e), true);
    const live = [...this.entries.values()].filter((x) => !x.paused);
    if (live.length === 0) return { kind: 'empty' };
    if (live.some((x) => x.parked) && live.every((x) => x.parked || x.blocked)) {
      // Only capped domains could run, and their caps say no: the CPU idles to the period's end.
      const t0 = this.now();
      if (this.opts.deterministic) {
        this.idleUnits += this.period - this.elapsed;
        this.elapsed = this.period;
      } else {
        await this.sleep(Math.max(0, Math.min(1, (this.period - this.elapsed - (t0 - this.periodStart) * 1000) / 1000)));
      }
      return this.idled(t0);
    }
    return this.idlePoll(live.filter((x) => x.blocked));
  }

  /** Yield to the host's event loop (timers, I/O) if YIELD_MS have passed since the last time. */
  private async letHostIn(): Promise<void> {
    if (performance.now() - this.lastYield < YIELD_MS) return;
    await new Promise<void>((r) => setImmediate(r));
    this.lastYield = performance.now();
  }

  /**
   * Nothing runnable, some vCPUs blocked: give one of them a short poll slice (round robin). Its
   * run loop syncs its clock and sleeps until an interrupt or the end of the poll; if it wakes,
   * it runs the rest of the poll and is runnable again. In deterministic mode only a vCPU with
   * a timer can make progress (its time jumps to the timer); with none the scheduler just waits
   * a millisecond (for console input).
   */
  private async idlePoll(blocked: Entry[]): Promise<StepResult> {
    const t0 = this.now();
    const polled = blocked.filter((x) => x.vcpu.pollable?.() ?? true);
    const candidates = this.opts.deterministic ? polled.filter((x) => x.vcpu.hasTimer()) : polled;
    if (candidates.length === 0) {
      await this.sleep(1);
      return this.idled(t0);
    }
    const e = candidates[this.pollNext++ % candidates.length];
    const limits: RunLimits = this.opts.deterministic ? this.sliceLimits(e) : { timeoutMs: 1 };
    return this.runSlice(e, limits, false);
  }

  private idled(t0: number): StepResult {
    const ms = this.now() - t0;
    this.idleMs += ms;
    return { kind: 'idle', ms };
  }

  private async runSlice(e: Entry, limits: RunLimits, charged: boolean): Promise<StepResult> {
    const t0 = this.now();
    const slice = await e.vcpu.runSlice(limits);
    const ms = this.now() - t0;
    const work = workOf(slice);
    const ran = work > 0n;
    e.lastRun = this.seq++;
    e.acct.instructions += slice.result.instructions;
    if (ran) e.acct.hostMs += ms;
    else this.idleMs += ms;
    if (charged || ran) e.acct.slices++;
    const units = this.opts.deterministic ? Number(work) : ran ? ms * 1000 : 0;
    e.credit -= units;
    e.usedThisPeriod += units;
    e.capLeft -= units;
    if (e.cap > 0 && e.capLeft <= 0 && !e.parked) {
      e.parked = true;
      e.acct.parkedPeriods++;
    }
    if (this.opts.deterministic) this.elapsed += units;
    else if (!ran) this.idleUnits += ms * 1000;
    if (slice.blocked && !e.blocked) {
      e.blocked = true;
      e.acct.blocks++;
    }
    return { kind: 'ran', domid: e.domid, slice };
  }

  /** UNDER before OVER; least recently run first; parked, paused and blocked vCPUs never. */
  private pick(): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.entries.values()) {
      if (e.paused || e.blocked || e.parked) continue;
      if (best === undefined) {
        best = e;
        continue;
      }
      const under = e.credit > 0, bestUnder = best.credit > 0;
      if (under !== bestUnder ? under : e.lastRun < best.lastRun) best = e;
    }
    return best;
  }

  /** One slice, cut at the period's end and at the cap. */
  private sliceLimits(e: Entry): RunLimits {
    let units = this.slice;
    if (this.opts.deterministic) units = Math.min(units, Math.max(1, this.period - this.elapsed));
    if (e.cap > 0) units = Math.min(units, Math.max(1, e.capLeft));
    if (this.opts.deterministic) return { maxInstructions: BigInt(Math.ceil(units)), timeoutMs: this.guardMs };
    return { timeoutMs: units / 1000 };
  }

  /** Start a new accounting period if the current one is over. */
  private maybeAccount(): void {
    if (!this.opts.deterministic) this.elapsed = (this.now() - this.periodStart) * 1000;
    if (this.elapsed < this.period && !this.accountNow) return;
    if (!this.accountNow) this.periods++;
    this.accountNow = false;
    this.elapsed = 0;
    this.periodStart = this.now();
    for (const e of this.entries.values()) {
      const share = this.shareOf(e);
      e.credit = Math.min(e.credit + share, share);
      e.usedThisPeriod = 0;
      e.capLeft = this.capUnits(e);
      e.parked = false;
    }
  }

  /** Active domains: not paused, and not blocked unless they ran in this period (credit1's active list). */
  private isActive(e: Entry): boolean {
    return !e.paused && (!e.blocked || e.usedThisPeriod > 0);
  }

  /** A domain's credit per period: period * weight / sum of active weights (its own counted). */
  private shareOf(e: Entry): number {
    let sum = e.weight;
    for (const o of this.entries.values()) if (o !== e && this.isActive(o)) sum += o.weight;
    return (this.period * e.weight) / sum;
  }

  private capUnits(e: Entry): number {
    return e.cap > 0 ? (this.period * e.cap) / 100 : Infinity;
  }

  private get(domid: number): Entry {
    const e = this.entries.get(domid);
    if (!e) throw new Error(`scheduler: no domain ${domid}`);
    return e;
  }
}

/**
 * What a slice did, in deterministic units: the instructions it retired; or, when it retired
 * none and did not block, the traps it took. A vCPU in a trap storm (its trap handler traps
 * again) retires nothing, yet uses its slice up (the run loop counts its traps against the
 * same limit); charged nothing, it would stay UNDER, be picked first every time, and starve
 * every other domain.
 */
function workOf(slice: SliceResult): bigint {
  const r = slice.result;
  if (r.instructions > 0n || slice.blocked) return r.instructions;
  return r.traps;
}

function stateOf(e: Entry): VcpuState {
  if (e.paused) return 'paused';
  if (e.blocked) return 'blocked';
  if (e.parked) return 'parked';
  return 'runnable';
}

function checkParams(p: { weight: number; cap: number }): void {
  if (!Number.isInteger(p.weight) || p.weight < 1 || p.weight > 65535) throw new RangeError(`scheduler: weight ${p.weight}, expected 1..65535`);
  if (!Number.isInteger(p.cap) || p.cap < 0 || p.cap > 100) throw new RangeError(`scheduler: cap ${p.cap}, expected 0..100`);
}
