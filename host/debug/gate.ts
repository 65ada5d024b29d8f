/**
 * Run control for a debugger: the RunGate the Machine or vCPU run loop calls around each core
 * entry while a debugger is attached (host/machine/types.ts). It holds the hart while the
 * debugger has it, and decides how the next entry runs:
 *
 *   no breakpoints, no watchpoints   full speed (JIT, BT cache): the budget is untouched
 *   breakpoints (Z0/Z1)              single-step mode in the core (blocks of one instruction,
 *                                    JIT off) with the breakpoint list in the core: run() stops
 *                                    with EXIT_DEBUG before an instruction at one (assembly/index.ts)
 *   watchpoints (Z2/Z3/Z4), or a step one instruction per entry: before each, the access the
 *                                    instruction will make is decoded (mem-access.ts) and compared;
 *                                    a hit stops the hart before the access
 *
 * So a software breakpoint works over code the JIT compiled or the BT cache decoded: that code
 * is not run while breakpoints exist (switching modes drops the decoded blocks). The cost is
 * paid only while they exist; see docs/debug.md for the numbers.
 */
import { EXIT_DEBUG, EXIT_MMIO } from '../../assembly/abi';
import type { RunGate } from '../machine/types';
import { memAccess } from './mem-access';
import { readMemory, type DebugTarget } from './target';

/** Why the hart stopped, as the stub reports it. */
export type StopEvent =
  | { kind: 'signal'; signal: number }
  | { kind: 'watch'; type: 'watch' | 'rwatch' | 'awatch'; addr: bigint };

export type WatchKind = 'write' | 'read' | 'access';
interface Watchpoint { addr: bigint; len: number; kind: WatchKind }

const SIGINT = 2;
const SIGTRAP = 5;

export class DebugGate implements RunGate {
  /** True while the debugger holds the hart. */
  held: boolean;
  /** Software (Z0) and hardware (Z1) breakpoints: both compare the pc (virtual, current privilege). */
  private readonly swBreaks = new Set<bigint>();
  private readonly hwBreaks = new Set<bigint>();
  private readonly watches: Watchpoint[] = [];
  private stepping = false;
  private haltRequested = false;
  /** An MMIO exit in a step: the next entry (budget 0) completes the instruction. */
  private completing = false;
  /** The pc of the last watchpoint stop: its instruction is not checked again on resuming. */
  private watchStopPc: bigint | undefined;
  private release: (() => void) | undefined;
  private coreMode = { singleStep: false, breaks: 0 };
  /** Called when the hart stops (a breakpoint, a step, an interrupt request). */
  onStop: (e: StopEvent) => void = () => {};

  constructor(private readonly target: DebugTarget, startHeld: boolean) {
    this.held = startHeld;
  }

  // ---- the debugger's side ----

  /** Let the hart run until a breakpoint, a watchpoint or halt(). */
  resume(step: boolean): void {
    this.stepping = step;
    this.held = false;
    this.syncCore();
    const r = this.release;
    this.release = undefined;
    r?.();
  }

  /** Ask a running hart to stop (GDB's Ctrl-C, the monitor's stop): onStop follows with SIGINT. */
  halt(): void {
    if (this.held) return;
    this.haltRequested = true;
    this.target.kick();
  }

  /** Insert a breakpoint (type 0 software, 1 hardware) or a watchpoint (2 write, 3 read, 4 access). */
  insert(type: number, addr: bigint, len: number): boolean {
    if (type === 0) this.swBreaks.add(addr);
    else if (type === 1) this.hwBreaks.add(addr);
    else if (type >= 2 && type <= 4) this.watches.push({ addr, len, kind: (['write', 'read', 'access'] as const)[type - 2] });
    else return false;
    return true;
  }

  remove(type: number, addr: bigint, len: number): boolean {
    if (type === 0) return this.swBreaks.delete(addr);
    if (type === 1) return this.hwBreaks.delete(addr);
    const kind = (['write', 'read', 'access'] as const)[type - 2];
    const i = this.watches.findIndex((w) => w.addr === addr && w.len === len && w.kind === kind);
    if (i < 0) return false;
    this.watches.splice(i, 1);
    return true;
  }

  /** Drop every breakpoint and watchpoint and let the hart run (GDB's detach). */
  detach(): void {
    this.swBreaks.clear();
    this.hwBreaks.clear();
    this.watches.length = 0;
    this.resume(false);
  }

  /** Put the core in the mode the current breakpoints need (only while the hart is held or resuming). */
  private syncCore(): void {
    const breaks = [...new Set([...this.swBreaks, ...this.hwBreaks])];
    const singleStep = breaks.length > 0 || this.watches.length > 0 || this.stepping;
    const core = this.target.core;
    if (singleStep !== this.coreMode.singleStep) core.setSingleStep(singleStep);
    breaks.forEach((pc, i) => core.setBreakpoint(i, pc));
    core.setBreakpointCount(breaks.length);
    this.coreMode = { singleStep, breaks: breaks.length };
  }

  // ---- the run loop's side (RunGate) ----

  async enter(budget: bigint): Promise<bigint> {
    for (;;) {
      if (this.haltRequested && !this.held) {
        this.haltRequested = false;
        this.stop({ kind: 'signal', signal: SIGINT });
      }
      while (this.held) await new Promise<void>((r) => { this.release = r; });
      this.haltRequested = false;
      if (this.completing) return 0n;
      if (!this.stepping && this.watches.length === 0) return budget;
      // A watchpoint stops the hart before the access, as a RISC-V trigger with timing = before
      // does (debug spec §5.2.9 mcontrol.timing); GDB's riscv target expects that (it marks
      // watchpoints non-steppable, removes them and steps over the access itself). The first
      // instruction after such a stop is not checked again, so the hart always makes progress.
      const pc = this.target.pc;
      const w = this.watches.length > 0 && pc !== this.watchStopPc ? this.watchHit() : undefined;
      this.watchStopPc = undefined;
      if (w) {
        this.watchStopPc = pc;
        this.stop(w);
        continue;
      }
      return 1n;
    }
  }

  exited(reason: number): boolean {
    if (reason === EXIT_DEBUG) return this.stop({ kind: 'signal', signal: SIGTRAP });
    if (this.completing) this.completing = false;
    else if (this.stepping && reason === EXIT_MMIO) {
      this.completing = true; // (bare machine: the device answers, then run(0) retires it)
      return false;
    }
    if (this.stepping) return this.stop({ kind: 'signal', signal: SIGTRAP });
    if (this.haltRequested) {
      this.haltRequested = false;
      return this.stop({ kind: 'signal', signal: SIGINT });
    }
    return false;
  }

  private stop(e: StopEvent): boolean {
    this.held = true;
    this.stepping = false;
    this.onStop(e);
    return true;
  }

  /** The watchpoint the instruction at pc will hit, if any. */
  private watchHit(): StopEvent | undefined {
    const t = this.target;
    const pc = t.pc;
    // (The fetch goes through the same translation as data here: fine for S/U, and M-mode is bare.)
    const lo = readMemory(t, pc, 2, false);
    if (!lo) return undefined;
    let insn = lo[0] | (lo[1] << 8);
    if ((insn & 3) === 3) {
      const hi = readMemory(t, pc + 2n, 2, false);
      if (!hi) return undefined;
      insn = (insn | (hi[0] << 16) | (hi[1] << 24)) >>> 0;
    }
    const acc = memAccess(insn, (i) => t.x(i));
    if (!acc) return undefined;
    for (const w of this.watches) {
      if (acc.addr + BigInt(acc.size) <= w.addr || w.addr + BigInt(w.len) <= acc.addr) continue;
      if (w.kind === 'write' && acc.write) return { kind: 'watch', type: 'watch', addr: w.addr };
      if (w.kind === 'read' && acc.read) return { kind: 'watch', type: 'rwatch', addr: w.addr };
      if (w.kind === 'access') return { kind: 'watch', type: 'awatch', addr: w.addr };
    }
    return undefined;
  }
}
