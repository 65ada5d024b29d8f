/**
 * The vCPU run loop: the host half of KVM_RUN. Enter the guest through its technique (virt/:
 * hw.ts `vmRun()`, trap.ts `trapRun()`), handle the exit the core reports in the VMCS, repeat.
 *
 *   EXIT_VM_TRAP  what it means is the technique's business (virt/hw.ts, virt/trap.ts); they
 *                 share the SBI, MMIO, redirect and failure handling here (VcpuPort)
 *   EXIT_HALT     WFI with nothing pending      -> sleep until the guest timer or an interrupt
 *   EXIT_BUDGET   the time slice is spent       -> sync time, let the event loop in
 */
import * as A from '../../assembly/abi';
import { Disassembler } from '../isa/disasm';
import type { RunGate, RunLimits } from '../machine/types';
import { HaltSleeper, NEVER } from '../machine/halt';
import { GuestClock } from '../machine/guest-clock';
import { extendLoad, type MmioAccess } from './mmio';
import { decodeSbiCall, handleSbi, SBI_INCORE_CALL_IDS, sbiCallFolded, sbiCallIdName, type SbiCall, type SbiOutcome, type SbiVcpu, type SuspendWake } from './sbi';
import type { ExitStats } from './stats';
import { CAUSE_NAMES, causeText, formatExitTrace } from './stats';
import type { Vm, VmRunResult } from './vm';
import { PageNotHere } from '../machine/missing-pages';
import { FIRST_TOUCH, FIRST_TOUCH_PT, HwTechnique } from './virt/hw';
import { HwShadowTechnique } from './virt/hw-shadow';
import { PvTechnique } from './virt/pv';
import type { Technique, VcpuPort } from './virt/technique';
import { TrapTechnique } from './virt/trap';
import { BtTechnique } from './virt/bt';
import { walk2d } from './walk';

/** mtime frequency (10 MHz). */
/** Most guest instructions per entry: keeps the clock and the event loop responsive. */
const SLICE = 1_000_000n;
/** The clock, looked up once (in Node, the global `performance` is a getter). */
const clock = globalThis.performance;
/** Most SBI-call exits in a row that do without reading the clock (see runExits). */
const CLOCK_EVERY = 16;

// hip/hie/hvip bits of the virtual supervisor interrupts (priv spec §8.2.4).
const VSSIP = 1n << 2n;
const VSTIP = 1n << 6n;
const VSEIP = 1n << 10n;
/** henvcfg.STCE: the guest's stimecmp is vstimecmp (Sstc, priv spec §8.2.11). */
const STCE = 1n << 63n;
/** hstatus.VSXL = 2: VS-mode is RV64. */
const HSTATUS_VSXL_64 = 2n << 32n;
/** vsstatus bits. */
const SSTATUS_SIE = 1n << 1n;
const SSTATUS_SPIE = 1n << 5n;
const SSTATUS_SPP = 1n << 8n;
const SSTATUS_SUM = 1n << 18n;
const SSTATUS_MXR = 1n << 19n;

/** Exception causes. */
const C = {
  INSN_MISALIGNED: 0, ILLEGAL: 2, BREAKPOINT: 3, LOAD_MISALIGNED: 4, LOAD_ACCESS: 5, STORE_MISALIGNED: 6,
  STORE_ACCESS: 7, ECALL_VU: 8, ECALL_VS: 10, FETCH_PAGE: 12, LOAD_PAGE: 13, STORE_PAGE: 15,
  FETCH_GUEST_PAGE: 20, LOAD_GUEST_PAGE: 21, VIRTUAL_INSN: 22, STORE_GUEST_PAGE: 23,
} as const;

/**
 * What the guest handles itself (hedeleg), exactly KVM's default (arch/riscv/kvm): instruction
 * misaligned, breakpoint, ecall from VU, and the three page faults.
 */
export const KVM_HEDELEG =
  (1n << BigInt(C.INSN_MISALIGNED)) | (1n << BigInt(C.BREAKPOINT)) | (1n << BigInt(C.ECALL_VU)) |
  (1n << BigInt(C.FETCH_PAGE)) | (1n << BigInt(C.LOAD_PAGE)) | (1n << BigInt(C.STORE_PAGE));
/** Interrupts the guest handles itself (hideleg). */
export const KVM_HIDELEG = VSSIP | VSTIP | VSEIP;
/**
 * medeleg of the (bare) hart in VM mode: hedeleg only takes effect for traps that medeleg
 * already sends to HS (priv spec §8.2.2), so these include KVM_HEDELEG; the rest are the traps
 * HS (the VMM) handles.
 */
const VM_MEDELEG = KVM_HEDELEG | (1n << BigInt(C.ILLEGAL)) | (1n << BigInt(C.LOAD_MISALIGNED)) |
  (1n << BigInt(C.STORE_MISALIGNED)) | (1n << BigInt(C.ECALL_VS)) | (1n << BigInt(C.FETCH_GUEST_PAGE)) |
  (1n << BigInt(C.LOAD_GUEST_PAGE)) | (1n << BigInt(C.VIRTUAL_INSN)) | (1n << BigInt(C.STORE_GUEST_PAGE));

/**
 * The exit handlers return the reason of the exit as an id of the VM's ExitStats (ExitStats.id),
 * so that nothing is allocated to describe an exit; what else they found is left in the
 * vCPU's `halting` and `exitInsnText` fields for the run loop.
 */
type ReasonId = number;

const hx = (v: bigint) => '0x' + v.toString(16);

/** The one vCPU of a VM. */
export class Vcpu {
  /** Guest instructions retired since creation (the hart's count: the VM owns the hart). */
  get instructions(): bigint {
    return this.vm.hart.instret;
  }
  wallMs = 0;
  mmioExits = 0n;
  haltExits = 0n;
  private stopRequested = false;
  /**
   * Milliseconds of guest running between two turns of the host's event loop (stdin, timers,
   * stop()). Live migration's pre-copy lowers it while it sends (host/migrate/source.ts), so its
   * socket gets turns as QEMU's migration thread gets a core.
   */
  yieldMs = 20;
  private readonly sleeper = new HaltSleeper();
  private failure: string | undefined;
  /** mtime (machine/guest-clock.ts): wall time, or instruction time with --deterministic. */
  readonly clock: GuestClock;
  private traceSeq = 0;
  private suspended: { retentive: boolean; resumeAddr: bigint; opaque: bigint; wake?: SuspendWake } | undefined;
  private readonly disasm: Disassembler;

  /** The SBI handlers' view of this vCPU (made once: SBI calls are the hottest exits). */
  private readonly port: SbiVcpu;
  private readonly stats: ExitStats;
  /** Ids of the reasons that need no details. */
  private readonly reasons: { budget: ReasonId; halt: ReasonId };
  /** How the CPU is virtualized (--virt): it enters the guest and says what a trap exit means. */
  readonly technique: Technique;
  /** Reason ids of SBI calls by call id (SbiResult.call), and of MMIO loads and stores by device. */
  private readonly sbiIds: ReasonId[] = [];
  private readonly mmioIds = new Map<object, { load: ReasonId; store: ReasonId }>();
  /** trapsTaken() when run() began. */
  private traps0 = 0n;
  /** The budget last written to the VMCS (-1: write it before the next entry). */
  private lastBudget = -1n;
  /** Set by an exit handler: wait for an interrupt before the next entry (WFI, SBI HSM suspend). */
  private halting = false;
  /** Set by an exit handler: the instruction to show in the trace (disassembled), if known. */
  private exitInsnText: string | undefined;

  constructor(private readonly vm: Vm) {
    this.clock = new GuestClock(vm.hart, vm.core, vm.cfg.deterministic === true, () => clock.now());
    this.clock.reset();
    this.disasm = new Disassembler(vm.core, vm.memory);
    this.port = this.sbiPort();
    this.stats = vm.exits;
    this.reasons = {
      budget: this.stats.id('time slice ends (budget)'),
      halt: this.stats.id('WFI (vCPU halts)'),
    };
    const port = this.techniquePort();
    this.technique = vm.cfg.virt === 'trap' ? new TrapTechnique(port)
      : vm.cfg.virt === 'bt' ? new BtTechnique(port)
      : vm.cfg.virt === 'pv' ? new PvTechnique(port)
      : vm.cfg.paging === 'shadow' ? new HwShadowTechnique(port, (c, t) => this.redirect(c, t))
      : new HwTechnique(port, (c, t) => this.redirect(c, t));
  }

  /** What the techniques may use of this vCPU. */
  private techniquePort(): VcpuPort {
    return {
      vm: this.vm,
      fail: (what) => this.fail(what),
      decodeSbi: () => decodeSbiCall(this.port),
      sbi: (call) => {
        const reason = this.sbiReason(call.id);
        this.sbi(call);
        return reason;
      },
      mmio: (gpa, acc) => this.mmio(gpa, acc),
      halt: () => { this.halting = true; },
      fetchInsn: (pc) => this.fetchInsn(pc),
      reason: (name) => this.stats.id(name),
    };
  }

  /** Entry state: pc = entry, a0 = hartid 0, a1 = DTB, VS-mode, the controls a KVM vCPU gets. */
  reset(entry: bigint, dtb: bigint): void {
    const v = this.vm.vmcs;
    const h = this.vm.hart;
    v.clear();
    v.pc = entry;
    v.setX(10, 0n);
    v.setX(11, dtb);
    v.priv = 1n;
    v.hstatus = HSTATUS_VSXL_64;
    v.hedeleg = KVM_HEDELEG;
    v.hideleg = KVM_HIDELEG;
    v.hcounteren = 0xffff_ffffn;
    v.henvcfg = STCE;
    v.hgatp = this.vm.gstage.hgatp;
    v.vstimecmp = NEVER;
    // Guest time starts at 0, as KVM does by setting htimedelta = -(host time).
    v.htimedelta = BigInt.asUintN(64, -this.clock.mtime());
    // The hart's M-level setup that the VM relies on (what firmware does under a real KVM).
    h.medeleg = VM_MEDELEG;
    h.mcounteren = 0xffff_ffffn;
    // KVM's vCPU reset makes CY, TM and IR readable in VU-mode (scounteren = 7), as OpenSBI does
    // for an S-mode kernel: Linux sets scounteren only in its PMU driver, and its vDSO reads time
    // from U-mode (a virtual-instruction exception otherwise, issue 12).
    h.scounteren = 7n;
    h.menvcfg = h.menvcfg | STCE;
    // The hart's own M and S timers are not the guest's. Left at reset (mtimecmp 0: due forever)
    // they hide the guest timer's deadline from the core's run loop (timer.ts nextTimerIcount
    // treats "due now" as no deadline), so VSTIP would be seen only at the next exit or the end
    // of a time slice, and a --deterministic run would depend on where slices end (a restored
    // snapshot, which starts a new slice, would retire a different number of instructions).
    h.mtimecmp = NEVER;
    h.stimecmp = NEVER;
    this.suspended = undefined;
    this.lastBudget = -1n; // the VMCS was cleared
    this.vm.core.flushTlb();
    this.technique.reset();
  }

  /** Whether an SBI HSM suspend is in progress, and what else wakes it (a vendor extension's wait). */
  suspendedOn(): { wake?: SuspendWake } | undefined {
    return this.suspended;
  }

  /**
   * An SBI HSM suspend in progress, for snapshots (null if none). A suspend that waits on a
   * vendor extension's wake condition (host/xen) cannot be saved: throws.
   */
  /**
   * `vendorWake`: the caller saves the vendor extension's wait itself (Xen's SCHEDOP_poll,
   * host/snapshot/xen.ts) and gives the wake back to loadSuspendState; otherwise such a wait
   * cannot be saved.
   */
  suspendState(vendorWake = false): { retentive: boolean; resumeAddr: string; opaque: string } | null {
    const s = this.suspended;
    if (!s) return null;
    if (s.wake && !vendorWake) throw new Error('a vCPU suspended on a vendor SBI extension cannot be saved');
    return { retentive: s.retentive, resumeAddr: s.resumeAddr.toString(), opaque: s.opaque.toString() };
  }
  loadSuspendState(s: { retentive: boolean; resumeAddr: string; opaque: string } | null, wake?: SuspendWake): void {
    this.suspended = s ? { retentive: s.retentive, resumeAddr: BigInt(s.resumeAddr), opaque: BigInt(s.opaque), ...(wake ? { wake } : {}) } : undefined;
  }
  /** A debugger's hold on the run loop (host/debug/), undefined when none is attached. */
  gate: RunGate | undefined;
  /**
   * Post-copy: an exit needs pages still arriving (`wait` resolves once they are in). Set by a
   * scheduler that runs other guests meanwhile (Xen's, host/xen/toolstack/xen-vcpu.ts): run()
   * returns 'stopped' at once instead of awaiting `wait` in the slice; the exit changed nothing,
   * so the next run() repeats it. Unset (a VM's own vCPU): the run loop awaits it.
   */
  onPageWait: ((wait: Promise<void>) => void) | undefined;

  /** Make run() return 'stopped' soon. */
  stop(): void {
    this.stopRequested = true;
    this.wake();
  }

  /** Wake a halted vCPU (input arrived). */
  wake(): void {
    this.sleeper.wake();
  }

  /** Guest time: mtime + htimedelta. */
  guestTime(): bigint {
    return BigInt.asUintN(64, this.vm.core.mtimeNow() + this.vm.vmcs.htimedelta);
  }

  /** Publish the host's clock reading `nowMs` as mtime (guest-clock.ts; nothing when deterministic). */
  private syncTime(nowMs: number): void {
    this.clock.sync(nowMs);
  }

  /**
   * The run loop: the checks that can end the run, and the waits (a halted vCPU, the yield to
   * the event loop); the entries and exits themselves are in runExits.
   */
  async run(limits: RunLimits): Promise<VmRunResult> {
    const vm = this.vm;
    const t0 = clock.now();
    const i0 = this.instructions;
    const traps0 = this.traps0 = this.trapsTaken();
    const deadline = limits.timeoutMs !== undefined ? t0 + limits.timeoutMs : Infinity;
    this.lastBudget = -1n;
    let lastYield = t0;
    let now = t0;
    const result = (reason: VmRunResult['reason'], exitCode: number): VmRunResult => {
      const wallMs = clock.now() - t0;
      this.wallMs += wallMs;
      const r: VmRunResult = { reason, exitCode, instructions: this.instructions - i0, traps: this.trapsTaken() - traps0, wallMs };
      if (this.failure !== undefined) r.failure = this.failure;
      return r;
    };
    for (;;) {
      if (this.failure !== undefined) return result('exit', 1);
      if (vm.exitCode !== undefined) return result('exit', vm.exitCode);
      if (this.stopRequested) {
        // Consumed here, not cleared at run()'s start: a stop() that lands between two run()
        // calls (a caller running the guest in slices, a timer between them) stops the next one.
        this.stopRequested = false;
        return result('stopped', 0);
      }
      if (vm.rebootRequested) vm.reboot();
      if (now >= deadline) return result('timeout', 0);
      if (this.suspended) {
        if (!this.interruptPending() && !(this.suspended.wake?.ready() ?? false)) {
          await this.waitForInterrupt(deadline);
          now = clock.now();
          continue;
        }
        this.resumeFromSuspend();
      }
      if (this.budget(limits, i0) === 0n) return result('max-instructions', 0);
      let step = 0n;
      if (this.gate !== undefined) {
        // A debugger (host/debug/): wait while it holds the vCPU; budget 1 while it steps.
        step = await this.gate.enter(SLICE);
        if (step === SLICE) step = 0n;
        now = clock.now();
        if (vm.exitCode !== undefined || this.stopRequested || vm.rebootRequested) continue;
      }
      try {
        now = this.runExits(limits, i0, now, deadline, lastYield + this.yieldMs, step);
      } catch (e) {
        // Post-copy (vm.ts PageNotHere): an exit touched a page still on the source before it
        // changed anything; fetch it, and the guest repeats the access on the next entry.
        if (!(e instanceof PageNotHere) || vm.missingPages === undefined) throw e;
        const wait = e.page === undefined ? vm.missingPages.all() : vm.missingPages.fetch(e.page);
        if (this.onPageWait !== undefined) {
          this.onPageWait(wait);
          return result('stopped', 0);
        }
        await wait;
        now = clock.now();
        continue;
      }
      if (this.halting) {
        this.haltExits++;
        if (!this.suspended) await this.waitForInterrupt(deadline);
        now = clock.now();
      }
      if (now - lastYield > this.yieldMs) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = clock.now();
      }
    }
  }

  /**
   * The exit path, the hot loop of the VMM: enter the guest, handle its exit, enter again, until
   * an exit needs the run loop (the VM ended or reboots, a halt, stop(), the instruction limit)
   * or the clock passes `deadline` or `yieldAfter`. It is synchronous so that its locals live in
   * registers (an async function keeps them in a heap context, and each new time would be an
   * allocation). The clock read after an exit serves the deadline, the yield and mtime; a second
   * one, after handling, times the exits ExitStats samples (see stats.ts). `now` is the time of
   * the last clock read, and the result is the time of its own last one.
   *
   * The fast path is for the hottest exit, an SBI call: reading the clock costs about 40 ns, as
   * much as the rest of such an exit, and its reason (the call) is known before it is handled,
   * so it reads the clock only when the stats time it or when CLOCK_EVERY exits have gone by
   * without a reading (which bounds how late the deadline, the yield and mtime can be).
   */
  private runExits(limits: RunLimits, i0: bigint, now: number, deadline: number, yieldAfter: number, step = 0n): number {
    const vm = this.vm;
    const stats = this.stats;
    const tracing = vm.cfg.onTraceExit !== undefined;
    const gate = this.gate;
    let untimed = 0; // SBI-call exits since the last clock read
    // In-core SBI (assembly/sbi.ts): off while each exit must be seen (traced, a debugger).
    const v32 = vm.vmcs.u32;
    v32[A.VM_SBI_INCORE >> 2] = vm.cfg.sbiInCore !== false && this.technique.mode === 'hw' && !tracing && gate === undefined ? 1 : 0;
    vm.holdPopulate(tracing || gate !== undefined); // (first touches in the core likewise: vm.ts)
    for (;;) {
      const budget = step !== 0n ? step : this.budget(limits, i0);
      if (budget === 0n) return now;
      this.syncTime(now);
      if (budget !== this.lastBudget) vm.vmcs.budget = this.lastBudget = budget;
      const exit = this.technique.enter();
      if (v32[A.VM_SBI_COUNTS_TOTAL >> 2] !== 0) this.countInCoreSbi(v32);
      const pcAtExit = tracing ? vm.vmcs.pc : 0n;
      this.halting = false;
      this.exitInsnText = undefined;
      let reason: ReasonId;
      let read: boolean; // whether this exit read the clock (into `now`)
      if (exit === A.EXIT_VM_TRAP && this.technique.isSbiCall()) {
        // The fast path (see above): the reason first, then the clock only if needed.
        const call = decodeSbiCall(this.port);
        reason = this.sbiReason(call.id);
        read = stats.sampled(reason) || untimed >= CLOCK_EVERY;
        if (read) now = clock.now();
        this.sbi(call);
      } else {
        now = clock.now();
        read = true;
        reason = this.handleExit(exit);
      }
      if (!read) {
        untimed++;
        stats.count(reason);
      } else {
        untimed = 0;
        if (stats.sampled(reason)) {
          const t = clock.now();
          stats.count(reason, (t - now) * 1e6);
          now = t;
        } else {
          stats.count(reason);
        }
      }
      if (tracing) this.trace(exit, reason, pcAtExit);
      if (gate !== undefined && (gate.exited(exit) || step !== 0n)) {
        // The debugger holds the vCPU (a WFI is waited for after it lets go), or it steps: one
        // entry at a time, each through its gate.
        if (gate.held) this.halting = false;
        return now;
      }
      if (this.halting || this.failure !== undefined || vm.exitCode !== undefined || this.stopRequested || vm.rebootRequested) return now;
      if (now >= deadline || now > yieldAfter) return now;
    }
  }

  /**
   * Guest instructions the next entry may run: a time slice, or less to stop at
   * limits.maxInstructions (0: none left, or as many traps taken: a trap storm retires nothing).
   */
  private budget(limits: RunLimits, i0: bigint): bigint {
    if (limits.maxInstructions === undefined) return SLICE;
    const left = i0 + limits.maxInstructions - this.instructions;
    if (left <= 0n || this.trapsTaken() - this.traps0 >= limits.maxInstructions) return 0n;
    return left < SLICE ? left : SLICE;
  }

  /** Traps and interrupts the hart took in the guest, and its exits to the VMM. */
  private trapsTaken(): bigint {
    const h = this.vm.hart;
    return h.statTraps + h.statInterrupts + h.statVmExits;
  }

  // ---- exits ----

  private handleExit(exit: number): ReasonId {
    switch (exit) {
      case A.EXIT_BUDGET:
      case A.EXIT_DEBUG: // a debugger's breakpoint (host/debug/): counted with the slices
        return this.reasons.budget;
      case A.EXIT_HALT:
        this.halting = true;
        return this.reasons.halt;
      case A.EXIT_VM_TRAP:
        return this.technique.handleTrap();
    }
    return this.fail(`unexpected exit reason ${exit} from vmRun`);
  }

  /**
   * Add what the core handled itself in the last entry to the exit statistics, and clear its
   * counts: the SBI calls it answered (assembly/sbi.ts) and the guest pages it populated
   * (assembly/populate.ts: counted as the first-touch exits they replace, as KVM counts the
   * faults it handles in the kernel), whose log it reads and whose pool it tops up.
   */
  private countInCoreSbi(v32: Uint32Array): void {
    let sbi = 0;
    for (let slot = 0; slot < A.SBI_SLOTS; slot++) {
      const i = (A.VM_SBI_COUNTS >> 2) + slot;
      const n = v32[i];
      if (n === 0) continue;
      v32[i] = 0;
      sbi += n;
      this.stats.countMany(this.sbiReason(SBI_INCORE_CALL_IDS[slot]), n);
    }
    if (v32[A.VM_SBI_COUNTS_TOTAL >> 2] !== sbi) {
      const [data, pt] = this.vm.pop.takeCounts();
      if (data !== 0) this.stats.countMany(this.firstTouchIds[0] ??= this.stats.id(FIRST_TOUCH), data);
      if (pt !== 0) this.stats.countMany(this.firstTouchIds[1] ??= this.stats.id(FIRST_TOUCH_PT), pt);
      this.vm.syncPopulated();
      this.vm.pop.refill();
    }
    v32[A.VM_SBI_COUNTS_TOTAL >> 2] = 0;
  }
  private readonly firstTouchIds: [ReasonId?, ReasonId?] = [];

  /** The reason id of the SBI calls with call id `call` (SbiCall.id). */
  private sbiReason(call: number): ReasonId {
    return (this.sbiIds[call] ??= this.stats.id(`SBI ecall (${sbiCallIdName(call)})`));
  }

  /** SBI call `call` (decoded): handle, step over the ecall, act on the outcome. */
  private sbi(call: SbiCall): void {
    const v = this.vm.vmcs;
    const r = handleSbi(this.port, call);
    v.advancePc(v.exitInsnLength !== 0 ? v.exitInsnLength : 4);
    const o: SbiOutcome = r.outcome;
    switch (o.kind) {
      case 'continue':
        break;
      case 'shutdown':
        this.vm.exitCode = o.code;
        break;
      case 'reboot':
        this.vm.rebootRequested = true;
        break;
      case 'hart-stop':
        // With one hart, nothing can ever start it again: the VM is over.
        this.vm.exitCode = 0;
        break;
      case 'suspend':
        this.suspended = { retentive: o.retentive, resumeAddr: o.resumeAddr, opaque: o.opaque, wake: o.wake };
        this.halting = true;
        break;
    }
  }

  /** After an HSM suspend, once an interrupt is pending (SBI §9.4). */
  private resumeFromSuspend(): void {
    const s = this.suspended;
    this.suspended = undefined;
    s?.wake?.resume();
    if (!s || s.retentive) return; // retentive: continue after the ecall with a0 = SUCCESS
    const v = this.vm.vmcs;
    // Non-retentive: resume at resume_addr with a0 = hartid, a1 = opaque, satp = 0, SIE = 0.
    v.pc = s.resumeAddr;
    v.setX(10, 0n);
    v.setX(11, s.opaque);
    v.vsatp = 0n;
    v.vsstatus = v.vsstatus & ~SSTATUS_SIE;
    v.priv = 1n;
    this.vm.core.flushTlb();
  }

  /** The SBI handlers' view of this vCPU. */
  private sbiPort(): SbiVcpu {
    const vm = this.vm;
    const v = vm.vmcs;
    return {
      x: (i) => v.x(i),
      setX: (i, val) => v.setX(i, val),
      xNumber: (i) => v.xNumber(i),
      xLow32: (i) => v.xLow32(i),
      setXNumber: (i, n) => v.setXNumber(i, n),
      setTimer: (t) => { v.vstimecmp = t; },
      raiseSoftwareInterrupt: () => { v.hvip = v.hvip | VSSIP; },
      flushTranslations: () => vm.core.flushTlb(),
      consoleWrite: (b) => vm.cfg.onConsoleOutput?.(b),
      consoleRead: (max) => this.consoleRead(max),
      readGuest: (gpa, len) => vm.readGuest(gpa, len),
      writeGuest: (gpa, b) => vm.writeGuest(gpa, b),
      extension: (eid) => vm.sbiExtensions.get(eid), // vendor SBI extensions (host/xen)
    };
  }

  /**
   * Console input for SBI getchar / DBCN read: taken from the same UART the guest could read,
   * through its registers (LSR.DR, then RBR), so the two paths share one input stream.
   */
  private consoleRead(max: number): Uint8Array {
    const u = this.vm.uart;
    const LCR = 3, LSR = 5, RBR = 0;
    if ((Number(u.read(LCR, 1)) & 0x80) !== 0) return new Uint8Array(0); // DLAB: RBR is hidden
    const out: number[] = [];
    while (out.length < max && (Number(u.read(LSR, 1)) & 1) !== 0) out.push(Number(u.read(RBR, 1)));
    return Uint8Array.from(out);
  }

  /** Emulate one load or store on the device at `gpa`. */
  private mmio(gpa: bigint, acc: MmioAccess): ReasonId {
    const vm = this.vm;
    const v = vm.vmcs;
    this.mmioExits++;
    const w = vm.bus.find(gpa, acc.size);
    if (!w) {
      // No device there: the guest gets an access fault, as on the bare board.
      this.redirect(BigInt(acc.write ? C.STORE_ACCESS : C.LOAD_ACCESS), v.exitTval);
      return this.stats.id(`MMIO ${acc.write ? 'store' : 'load'} to no device (access fault to the guest)`);
    }
    const off = Number(gpa - w.base);
    if (acc.write) {
      const mask = (1n << BigInt(acc.size * 8)) - 1n;
      w.device.write(off, acc.size, v.x(acc.reg) & mask);
    } else {
      v.setX(acc.reg, extendLoad(w.device.read(off, acc.size), acc.size, acc.signed));
    }
    v.advancePc(v.exitInsnLength !== 0 ? v.exitInsnLength : acc.len);
    let ids = this.mmioIds.get(w.device);
    if (ids === undefined) {
      const name = w.device.name;
      this.mmioIds.set(w.device, (ids = { load: this.stats.id(`MMIO load (${name})`), store: this.stats.id(`MMIO store (${name})`) }));
    }
    return acc.write ? ids.store : ids.load;
  }

  /**
   * Deliver a trap to the guest's own handler, as the hart does for a delegated trap (priv spec
   * §8.6.4 / §4.1.1): vsepc, vscause, vstval, vsstatus.SPP/SPIE/SIE, pc = vstvec base, VS-mode.
   */
  private redirect(cause: bigint, tval: bigint): void {
    const v = this.vm.vmcs;
    v.vsepc = v.pc;
    v.vscause = cause;
    v.vstval = tval;
    let s = v.vsstatus & ~(SSTATUS_SPP | SSTATUS_SPIE | SSTATUS_SIE);
    if (v.priv === 1n) s |= SSTATUS_SPP;
    if ((v.vsstatus & SSTATUS_SIE) !== 0n) s |= SSTATUS_SPIE;
    v.vsstatus = s;
    v.priv = 1n;
    v.pc = v.vstvec & ~3n;
  }

  /** Stop the guest with one report line. */
  private fail(what: string): ReasonId {
    const v = this.vm.vmcs;
    const insn = this.describeInsn();
    const hasHtval = v.exitHtval !== 0n;
    this.failure =
      `${this.vm.cfg.kernel.name}: VM stopped: ${what}; pc ${hx(v.pc)}, cause ${causeText(v.exitCause)}, ` +
      `tval ${hx(v.exitTval)}${hasHtval ? `, htval ${hx(v.exitHtval)} (GPA ${hx(v.exitGpa)})` : ''}` +
      (insn !== undefined ? `: ${insn}` : '');
    this.exitInsnText = insn;
    return this.stats.id(`fatal: ${what}`);
  }

  // ---- waiting ----

  /** Whether an enabled virtual interrupt is pending (what ends a WFI). */
  interruptPending(): boolean {
    const v = this.vm.vmcs;
    let pending = v.hvip & (VSSIP | VSEIP);
    if ((v.henvcfg & STCE) !== 0n && this.guestTime() >= v.vstimecmp) pending |= VSTIP;
    return (pending & v.hie) !== 0n;
  }

  /** Sleep until the guest's timer is due, input arrives, stop(), or 20 ms pass (never busy). */
  private async waitForInterrupt(deadline: number): Promise<void> {
    const v = this.vm.vmcs;
    this.syncTime(clock.now());
    if (this.interruptPending()) return;
    const now = this.guestTime();
    let due = NEVER;
    if ((v.hie & VSTIP) !== 0n && (v.henvcfg & STCE) !== 0n && v.vstimecmp > now) due = v.vstimecmp;
    const own = this.suspended?.wake?.due(); // a vendor extension's timeout (SuspendWake)
    if (own !== undefined && own < due) due = own;
    await this.sleeper.wait({
      now, due, deterministic: this.vm.cfg.deterministic === true, deadline,
      advance: (ticks) => this.clock.advance(ticks),
      inputPending: this.vm.uart.pendingInput() > 0,
    });
    this.clock.idle();
  }

  // ---- instructions for traces and reports ----

  /** Read the instruction at guest virtual `pc` through both stages; undefined if it cannot be read. */
  fetchInsn(pc: bigint): number | undefined {
    const lo = this.readCode(pc);
    if (lo === undefined) return undefined;
    if ((lo & 3) !== 3) return lo;
    const hi = this.readCode(pc + 2n);
    return hi === undefined ? undefined : ((hi << 16) | lo) >>> 0;
  }

  /** 16 bits of guest code at a guest virtual address (two-dimensional walk, no side effects). */
  private readCode(gva: bigint): number | undefined {
    const vm = this.vm;
    const v = vm.vmcs;
    const ram = vm.hostRam;
    const r = walk2d({
      gva, access: 'fetch', vsatp: v.vsatp, hgatp: v.hgatp, priv: v.priv === 1n ? 'VS' : 'VU',
      sum: (v.vsstatus & SSTATUS_SUM) !== 0n, mxr: false, vmxr: (v.vsstatus & SSTATUS_MXR) !== 0n,
      read64: (hpa) => {
        if (hpa < ram.base || hpa + 8n > ram.base + BigInt(ram.size)) return undefined;
        const b = ram.read(hpa, 8);
        return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
      },
    });
    if (!r.ok || r.hpa < ram.base || r.hpa + 2n > ram.base + BigInt(ram.size)) return undefined;
    const b = ram.read(r.hpa, 2);
    return b[0] | (b[1] << 8);
  }

  /** The instruction of the current exit, disassembled (or in hex), when it can be known. */
  private describeInsn(): string | undefined {
    const v = this.vm.vmcs;
    const cause = Number(v.exitCause);
    let raw: number | undefined;
    if ((cause === C.ECALL_VS || cause === C.VIRTUAL_INSN || cause === C.ILLEGAL) && v.exitInsn !== 0n) raw = Number(v.exitInsn & 0xffff_ffffn);
    else raw = this.fetchInsn(v.pc);
    if (raw === undefined) return undefined;
    try {
      return this.disasm.disassemble(raw, v.pc);
    } catch {
      return `0x${raw.toString(16).padStart((raw & 3) === 3 ? 8 : 4, '0')}`;
    }
  }

  private trace(exit: number, reason: ReasonId, pc: bigint): void {
    const v = this.vm.vmcs;
    const trap = exit === A.EXIT_VM_TRAP;
    let line = formatExitTrace({
      seq: ++this.traceSeq,
      reason: this.stats.reason(reason),
      pc,
      cause: trap ? v.exitCause : undefined,
      tval: trap ? v.exitTval : undefined,
      htval: trap ? v.exitHtval : undefined,
      insn: this.exitInsnText ?? (trap ? this.describeAt(pc) : undefined),
    });
    // An unknown SBI call is counted under one folded name (sbi.ts); the trace keeps its ids
    // (a7/a6 are still the guest's: a NOT_SUPPORTED answer writes only a0).
    if (trap && this.technique.isSbiCall() && sbiCallFolded(decodeSbiCall(this.port).id)) {
      line += ` (a7=${hx(this.port.x(17))}, a6=${hx(this.port.x(16))})`;
    }
    this.vm.cfg.onTraceExit?.(line);
  }

  /** Disassemble the guest instruction at `pc` (for traces). */
  private describeAt(pc: bigint): string | undefined {
    const raw = this.fetchInsn(pc);
    if (raw === undefined) return undefined;
    try {
      return this.disasm.disassemble(raw, pc);
    } catch {
      return `0x${raw.toString(16)}`;
    }
  }
}
