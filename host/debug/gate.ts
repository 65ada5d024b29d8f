/**
 * Run control for a debugger: the RunGate the Machine or vCPU run loop calls around each core
 * entry while a debugger is attached (host/machine/types.ts). It holds the hart while the
 * debugger has it, and decides how the next entry runs:
 *
 *   no breakpoints, no watchpoints   full speed (JIT, BT cache): the budget is untouched
 *   breakpoints (Z0/Z1)              the list is in the core (assembly/bt.ts): blocks end before
 *                                    a breakpoint, tier 2 is off, and run() compares pc at each
 *                                    block start, stopping with EXIT_DEBUG before executing it
 *   watchpoints (Z2/Z3/Z4)           the core keeps the pages that hold one out of its TLB, so
 *                                    their accesses take the slow path, which compares them and
 *                                    stops before the access (assembly/mmu.ts); other pages, the
 *                                    JIT and the BT cache run as usual
 *   a step (s, vCont;s)              one instruction per entry (budget 1, single-step mode)
 *
 * So a software breakpoint works over code the JIT compiled or the BT cache decoded: compiled
 * code is not run while breakpoints exist, and setting them drops the decoded blocks. The cost is
 * paid only while they exist; see docs/debug.md for the numbers.
 */
import { EXIT_DEBUG, EXIT_MMIO } from '../../assembly/abi';
import type { RunGate } from '../machine/types';
import type { DebugTarget } from './target';

/** Why the hart stopped, as the stub reports it. */
export type StopEvent =
  | { kind: 'signal'; signal: number }
  | { kind: 'watch'; type: 'watch' | 'rwatch' | 'awatch'; addr: bigint };

export type WatchKind = 'write' | 'read' | 'access';
interface Watchpoint { addr: bigint; len: number; kind: WatchKind }

const SIGINT = 2;
const SIGTRAP = 5;

/**
 * QEMU's run states that apply here (qapi/run-state.json RunState): what the monitor's `info
 * status` shows, and what a migration carries to the target (QEMU's "globalstate" section):
 * running; paused by the monitor's stop; prelaunch, held by -S before the first cont; debug,
 * stopped by the debugger (a breakpoint, a step, GDB's Ctrl-C); inmigrate, a migration's target
 * waiting for its VM (nothing runs yet).
 */
export type RunState = 'running' | PausedState | 'inmigrate';
/** The states of a held hart: the run states a migration stream may carry (the source's VM was not running). */
export const PAUSED_STATES = ['paused', 'prelaunch', 'debug'] as const;
export type PausedState = (typeof PAUSED_STATES)[number];
/** A state other than running as QEMU's HMP words it: "paused", or "paused (prelaunch)" and so on. */
export const pausedText = (state: Exclude<RunState, 'running'>): string => (state === 'paused' ? 'paused' : `paused (${state})`);

export class DebugGate implements RunGate {
  /** True while the debugger holds the hart. */
  held: boolean;
  /** Software (Z0) and hardware (Z1) breakpoints: both compare the pc (virtual, current privilege). */
  private readonly swBreaks = new Set<bigint>();
  private readonly hwBreaks = new Set<bigint>();
  /** Watchpoints, in the order the core numbers them. */
  private readonly watches: Watchpoint[] = [];
  private stepping = false;
  private haltRequested = false;
  /** An MMIO exit in a step: the next entry (budget 0) completes the instruction. */
  private completing = false;
  /** Resuming at the access a watchpoint stopped: one step with the watchpoints off first. */
  private overWatch = false;
  /** pc of the last watchpoint stop. */
  private watchStopPc: bigint | undefined;
  private release: (() => void) | undefined;
  private mode = { singleStep: false, watches: -1 };
  /** Called when the hart stops (a breakpoint, a step, an interrupt request). */
  onStop: (e: StopEvent) => void = () => {};
  /** Before each stop is reported (onStop, the held waiters): the CLI writes out the console output it holds (attach.ts). */
  beforeStop: () => void = () => {};

  constructor(private readonly target: DebugTarget, startHeld: boolean) {
    this.held = startHeld;
    this.pausedAs = startHeld ? 'prelaunch' : 'paused';
  }

  /** Why the hart is held, while it is (a stop's kind: the monitor's, the debugger's, -S's, a migration's). */
  private pausedAs: PausedState;
  /** A migration's target receiving its VM (host/migrate/incoming.ts): `info status` says inmigrate. */
  incoming = false;
  /** A halt() asked by the monitor's stop (QEMU's "paused"), not the debugger's ("debug"). */
  private haltAs: 'paused' | 'debug' = 'debug';

  /** The run state `info status` shows and a migration sends (QEMU's RunState). */
  get runState(): RunState {
    return this.incoming ? 'inmigrate' : this.held ? this.pausedAs : 'running';
  }

  /**
   * Hold the hart in `state` without a stop event: a migration's target whose VM was not running
   * at the source keeps it so until `cont` (QEMU: the target takes the stream's run state).
   */
  hold(state: PausedState): void {
    this.held = true;
    this.pausedAs = state;
  }

  // ---- the debugger's side ----

  /** Let the hart run until a breakpoint, a watchpoint or halt(); one instruction if `step`. */
  resume(step: boolean): void {
    this.stepping = step;
    this.overWatch = this.watches.length > 0 && this.watchStopPc !== undefined && this.watchStopPc === this.target.pc;
    this.watchStopPc = undefined;
    this.held = false;
    this.syncCore();
    const r = this.release;
    this.release = undefined;
    r?.();
  }

  /**
   * Ask a running hart to stop (GDB's Ctrl-C; the monitor's stop, `as` 'paused'): onStop follows
   * with SIGINT.
   */
  halt(as: 'paused' | 'debug' = 'debug'): void {
    if (this.held) return;
    // A target waiting for its VM runs nothing: held at once (QEMU's stop in inmigrate turns
    // autostart off), so the VM stays paused once it has come (incoming.ts).
    if (this.incoming) return void this.stop({ kind: 'signal', signal: SIGINT }, as);
    this.haltRequested = true;
    this.haltAs = as;
    this.target.kick();
  }

  /**
   * Resolves once the hart is held (at once if it is), or the run has ended (ended()): the
   * monitor's stop answers then, as QEMU's stop returns with the VM stopped, so a command after
   * it (info status, migrate) sees the VM paused.
   */
  whenHeld(): Promise<void> {
    if (this.held || this.over) return Promise.resolve();
    return new Promise((r) => this.heldWaiters.push(r));
  }
  private readonly heldWaiters: (() => void)[] = [];
  private over = false;

  /** The run has ended: nothing will be held any more (whenHeld's waiters resolve). */
  ended(): void {
    this.over = true;
    for (const r of this.heldWaiters.splice(0)) r();
  }

  /** Insert a breakpoint (type 0 software, 1 hardware) or a watchpoint (2 write, 3 read, 4 access). */
  insert(type: number, addr: bigint, len: number): boolean {
    if (type === 0) this.swBreaks.add(addr);
    else if (type === 1) this.hwBreaks.add(addr);
    else if (type >= 2 && type <= 4 && this.watches.length < WATCH_MAX) this.watches.push({ addr, len, kind: KINDS[type - 2] });
    else return false;
    return true;
  }

  remove(type: number, addr: bigint, len: number): boolean {
    if (type === 0) return this.swBreaks.delete(addr);
    if (type === 1) return this.hwBreaks.delete(addr);
    const i = this.watches.findIndex((w) => w.addr === addr && w.len === len && w.kind === KINDS[type - 2]);
    if (i < 0) return false;
    this.watches.splice(i, 1);
    return true;
  }

  /**
   * Let a held hart's run loop return to its caller without running the hart: the caller has
   * asked the run to stop (the monitor's savevm, loadvm and migrate act between two runs); the
   * hold stays, so the next run waits again.
   */
  unblock(): void {
    if (!this.held) return;
    this.unblocked = true;
    const r = this.release;
    this.release = undefined;
    r?.();
  }
  private unblocked = false;

  /** Drop every breakpoint and watchpoint and let the hart run (GDB's detach). */
  detach(): void {
    this.swBreaks.clear();
    this.hwBreaks.clear();
    this.watches.length = 0;
    this.resume(false);
  }

  /** Put the core in the mode the breakpoints, watchpoints and step need. */
  private syncCore(): void {
    const breaks = [...new Set([...this.swBreaks, ...this.hwBreaks])];
    const singleStep = this.stepping || this.overWatch;
    const core = this.target.core;
    if (singleStep !== this.mode.singleStep) core.setSingleStep(singleStep);
    breaks.forEach((pc, i) => core.setBreakpoint(i, pc));
    core.setBreakpointCount(breaks.length);
    const watches = this.overWatch ? 0 : this.watches.length;
    this.watches.forEach((w, i) => core.setWatchpoint(i, w.addr, BigInt(w.len), KINDS.indexOf(w.kind) + 1));
    core.setWatchpointCount(watches);
    if (watches > 0) core.flushTlb(); // (their pages must leave the TLB; removing needs nothing)
    this.mode = { singleStep, watches };
  }

  // ---- the run loop's side (RunGate) ----

  async enter(budget: bigint): Promise<bigint> {
    if (this.haltRequested && !this.held) {
      this.haltRequested = false;
      this.stop({ kind: 'signal', signal: SIGINT }, this.haltAs);
    }
    while (this.held && !this.unblocked) await new Promise<void>((r) => { this.release = r; });
    this.unblocked = false;
    this.haltRequested = false;
    if (this.completing) return 0n;
    return this.stepping || this.overWatch ? 1n : budget;
  }

  exited(reason: number): boolean {
    if (reason === EXIT_DEBUG) {
      const w = this.target.core.takeWatchHit();
      if (w < 0 || w >= this.watches.length) return this.stop({ kind: 'signal', signal: SIGTRAP });
      const hit = this.watches[w];
      this.watchStopPc = this.target.pc;
      return this.stop({ kind: 'watch', type: hit.kind === 'write' ? 'watch' : hit.kind === 'read' ? 'rwatch' : 'awatch', addr: hit.addr });
    }
    if (this.completing) this.completing = false;
    else if ((this.stepping || this.overWatch) && reason === EXIT_MMIO) {
      this.completing = true; // (bare machine: the device answers, then run(0) retires it)
      return false;
    }
    if (this.overWatch) {
      // Past the access: the watchpoints are back.
      this.overWatch = false;
      this.syncCore();
    }
    if (this.stepping) return this.stop({ kind: 'signal', signal: SIGTRAP });
    if (this.haltRequested) {
      this.haltRequested = false;
      return this.stop({ kind: 'signal', signal: SIGINT }, this.haltAs);
    }
    return false;
  }

  private stop(e: StopEvent, as: 'paused' | 'debug' = 'debug'): boolean {
    this.beforeStop();
    this.held = true;
    this.pausedAs = as;
    for (const r of this.heldWaiters.splice(0)) r();
    this.stepping = false;
    this.onStop(e);
    return true;
  }
}

const KINDS = ['write', 'read', 'access'] as const;
/** Watchpoints the core holds (assembly/mmu.ts WP_MAX). */
const WATCH_MAX = 16;
