/**
 * A Xen domain (a DomU): one Vm (host/vmm) with a domain id and a name, its RAM as the Xen
 * layer sees it (DomainMemory), its shared-info page, the hypervisor frames the toolstack set
 * aside at the top of its RAM (layout.ts), the XenStore and PV console event channels, its
 * one-shot timer (set_timer_op), how its run ended (SCHEDOP_shutdown), and its console_io
 * output. XenHypervisor (hypervisor.ts) builds domains; hypercalls.ts acts on them.
 *
 * The upcall line: hvip.VSEIP (through Vm.setExternalInterrupt, source EIP_SOURCE_UPCALL)
 * follows `evtchn_upcall_pending && !evtchn_upcall_mask` of vcpu_info[0]. It is evaluated when
 * an event raises the upcall (EventChannels' onUpcall) and again at every hypercall the domain
 * makes, before it returns; so a guest drops the line by clearing evtchn_upcall_pending and
 * then making any hypercall (docs/xen/hypercalls.md, "Upcalls").
 *
 * SCHEDOP_poll (hypercalls.ts checks the arguments, then beginPoll): the vCPU is suspended
 * until, as in Xen's do_poll / evtchn_check_pollers / vcpu_unblock (common/sched/core.c,
 * common/event_channel.c),
 *   - a port of the domain becomes pending (0 -> 1, masked or not) that the poll is interested
 *     in: the one port of a one-port poll, any port of a poll of several (Xen's poll_evtchn -1);
 *   - evtchn_upcall_pending goes 0 -> 1 (vcpu_mark_events_pending kicks the vCPU, and a kick
 *     unblocks it), whatever evtchn_upcall_mask says;
 *   - the vCPU takes an enabled interrupt (the VMM ends any suspend on one: a vGIC injection
 *     kicks a Xen/Arm vCPU the same way);
 *   - guest time reaches the timeout (Xen's poll_timer).
 */
import { NEVER } from '../machine/halt';
import { EIP_SOURCE_UPCALL, type Vm } from '../vmm/vm';
import { crlf, type SuspendWake } from '../vmm/sbi';
import type { DomainMemory } from './domain-memory';
import type { XenLayout } from './layout';
import type { SharedInfoPage } from './shared-info';

/** Xen system time runs in ns; the guest's `time` CSR ticks at 10 MHz: 100 ns a tick. */
export const NS_PER_TICK = 100n;

/** Why a domain stopped itself (SCHEDOP_shutdown reasons we accept). */
export type ShutdownReason = 'poweroff' | 'reboot' | 'crash' | 'watchdog';

/** Plain-data state of a domain beyond its RAM and VMCS (for migration, later). */
export interface XenDomainSnapshot {
  domid: number;
  name: string;
  xenstoreEvtchn: number;
  consoleEvtchn: number;
  /** Armed timer deadline in guest ticks, or null. */
  timerDeadline: string | null;
  /** The SCHEDOP_poll the vCPU is blocked in: its port (-1: any) and deadline in guest ticks. */
  poll: { port: number; deadline: string | null } | null;
  shutdown: ShutdownReason | null;
}

/** A SCHEDOP_poll in progress: Xen's v->poll_evtchn, the domain's poll_mask bit, v->poll_timer. */
interface PollWait {
  /** The port of a one-port poll, or -1: an event on any port ends it. */
  readonly port: number;
  /** The timeout in guest ticks (rounded up from ns), or undefined for none. */
  readonly deadline: bigint | undefined;
  /** What ended it; undefined while the vCPU waits. */
  ended: 'event' | 'timeout' | undefined;
}

/** What a domain is built from (XenHypervisor.createDomain fills it). */
export interface XenDomainParts {
  domid: number;
  name: string;
  vm: Vm;
  memory: DomainMemory;
  sharedInfo: SharedInfoPage;
  layout: XenLayout;
  xenstoreEvtchn: number;
  consoleEvtchn: number;
  /** Ports in the domain's event-channel table. */
  maxPorts: number;
  /** console_io output, after the "(dN) " line prefix. */
  onConsole: (bytes: Uint8Array) => void;
  /** Raise VIRQ_TIMER in this domain (EventChannels.raiseVirq). */
  raiseTimer: () => void;
}

/** One DomU. */
export class XenDomain {
  readonly domid: number;
  /** Its name, as /local/domain/<domid>/name holds it (Toolstack.rename changes both). */
  name: string;
  readonly vm: Vm;
  readonly memory: DomainMemory;
  readonly sharedInfo: SharedInfoPage;
  readonly layout: XenLayout;
  /** The DomU's port for XenStore (bound to the host's xenstored). */
  readonly xenstoreEvtchn: number;
  /** The DomU's port for the PV console (unbound, waiting for Dom0's console backend). */
  readonly consoleEvtchn: number;
  /** Ports in the domain's event-channel table (valid ports are 0..maxPorts-1). */
  readonly maxPorts: number;
  /** Set when the domain shut itself down (SCHEDOP_shutdown). */
  shutdownReason: ShutdownReason | undefined;
  /** Hypercalls made, by number; unknown numbers all under HYPERCALL_OTHER (ops-abi.ts), so it stays small. */
  readonly hypercalls = new Map<number, number>();
  private readonly onConsole: (bytes: Uint8Array) => void;
  private readonly raiseTimer: () => void;
  private consoleAtLineStart = true;
  private timerDeadline: bigint | undefined;
  private timerHandle: ReturnType<typeof setTimeout> | undefined;
  private pollWait: PollWait | undefined;
  private pollHandle: ReturnType<typeof setTimeout> | undefined;

  constructor(p: XenDomainParts) {
    this.domid = p.domid;
    this.name = p.name;
    this.vm = p.vm;
    this.memory = p.memory;
    this.sharedInfo = p.sharedInfo;
    this.layout = p.layout;
    this.xenstoreEvtchn = p.xenstoreEvtchn;
    this.consoleEvtchn = p.consoleEvtchn;
    this.maxPorts = p.maxPorts;
    this.onConsole = p.onConsole;
    this.raiseTimer = p.raiseTimer;
  }

  /** Frames the guest may not balloon out or grant: shared-info, grant frames, XenStore and console pages. */
  isHypervisorFrame(gfn: bigint): boolean {
    return gfn >= this.layout.firstGfn && gfn < this.layout.firstGfn + BigInt(this.layout.frames);
  }

  /**
   * One of the domain's hypervisor pages as Dom0 reaches it (offsets 0..4095): the XenStore
   * page for xenstored, the console page for the console backend's connectPage. Reads of a
   * frame that is not (or no longer) the domain's RAM give zeros, writes to it are dropped.
   * Throws RangeError for a frame that is not a hypervisor page (a toolstack bug).
   */
  hypervisorPage(gfn: bigint): { read(offset: number, length: number): Uint8Array; write(offset: number, bytes: Uint8Array): void } {
    if (!this.isHypervisorFrame(gfn)) throw new RangeError(`d${this.domid}: gfn 0x${gfn.toString(16)} is not a hypervisor page`);
    const mem = this.memory;
    const at = (off: number) => (gfn << 12n) + BigInt(off);
    return {
      read: (off, len) => (mem.hasFrame(gfn) ? mem.read(at(off), len) : new Uint8Array(len)),
      write: (off, bytes) => {
        if (mem.hasFrame(gfn)) mem.write(at(off), bytes);
      },
    };
  }

  // ---- the upcall line ----

  /** Set hvip.VSEIP's upcall source from vcpu_info[0] (see the file comment). */
  updateUpcallLine(): void {
    const up = this.sharedInfo.upcallPending(0) && !this.sharedInfo.upcallMask(0);
    this.vm.setExternalInterrupt(EIP_SOURCE_UPCALL, up);
  }

  /** Whether the upcall line is asserted now. */
  get upcallLine(): boolean {
    return this.sharedInfo.upcallPending(0) && !this.sharedInfo.upcallMask(0);
  }

  /**
   * An event raised evtchn_upcall_pending (EventChannels' onUpcall): assert the line and wake
   * the vCPU. This is Xen's vcpu_mark_events_pending, whose kick also ends a poll.
   */
  upcall(): void {
    this.updateUpcallLine();
    if (this.pollWait !== undefined) this.endPoll(this.pollWait, 'event');
    this.vm.vcpu.wake();
  }

  // ---- SCHEDOP_poll (see the file comment) ----

  /** Whether the vCPU is blocked in SCHEDOP_poll. */
  get polling(): boolean {
    return this.pollWait !== undefined;
  }

  /**
   * Block the vCPU in SCHEDOP_poll once its arguments passed (hypercalls.ts): `port` is the one
   * port of a one-port poll, -1 for several; `timeoutNs` is absolute system time, 0 for none.
   * Returns what ends the vCPU's suspend. With real time a host timer ends the poll at the
   * timeout (so a vCPU the scheduler is not running wakes too); with deterministic time the
   * halted vCPU's time jumps there, as for WFI. Either way the guest sees time >= the timeout
   * when the poll ends by it.
   */
  beginPoll(port: number, timeoutNs: bigint): SuspendWake {
    this.cancelPoll();
    const deadline = timeoutNs === 0n ? undefined : (timeoutNs + NS_PER_TICK - 1n) / NS_PER_TICK;
    const p: PollWait = { port, deadline, ended: undefined };
    this.pollWait = p;
    if (deadline !== undefined && !this.vm.cfg.deterministic) {
      // Host timers take at most 2^31 - 1 ms: a longer wait is armed again until it is over.
      let left = Number(deadline - this.vm.vcpu.guestTime()) / 10_000;
      const arm = (): void => {
        const ms = Math.min(Math.max(left, 0), 2 ** 31 - 1);
        left -= ms;
        this.pollHandle = setTimeout(() => {
          this.pollHandle = undefined;
          if (left > 0) arm();
          else this.endPoll(p, 'timeout');
        }, ms);
      };
      arm();
    }
    return {
      ready: () => {
        if (p.ended === undefined) {
          this.pollTimer(); // a due set_timer_op raises VIRQ_TIMER, which may end the poll
          if (p.ended === undefined && p.deadline !== undefined && this.vm.vcpu.guestTime() >= p.deadline) this.endPoll(p, 'timeout');
        }
        return p.ended !== undefined;
      },
      resume: () => {
        this.endPoll(p, 'event'); // (an interrupt, if nothing else ended it: a kick)
        if (p.ended === 'timeout' && p.deadline !== undefined) {
          // The host timer may fire a little before guest time (which follows the wall clock
          // only while the vCPU runs) gets there: the woken vCPU's time is at least the timeout.
          this.vm.vcpu.clock.atLeast(BigInt.asUintN(64, p.deadline - this.vm.vmcs.htimedelta));
        }
      },
      due: () => {
        if (p.ended !== undefined) return NEVER;
        let due = p.deadline ?? NEVER;
        if (this.timerDeadline !== undefined && this.timerDeadline < due) due = this.timerDeadline;
        return due;
      },
    };
  }

  /**
   * Port `port` of this domain became pending (EventChannels' onPortPending; Xen's
   * evtchn_check_pollers): end a poll interested in it.
   */
  checkPollers(port: number): void {
    const p = this.pollWait;
    if (p !== undefined && (p.port < 0 || p.port === port)) this.endPoll(p, 'event');
  }

  /** Forget a poll in progress without ending it (the domain is destroyed). */
  cancelPoll(): void {
    this.pollWait = undefined;
    if (this.pollHandle !== undefined) clearTimeout(this.pollHandle);
    this.pollHandle = undefined;
  }

  private endPoll(p: PollWait, why: 'event' | 'timeout'): void {
    if (p.ended !== undefined) return;
    p.ended = why;
    if (this.pollWait === p) this.cancelPoll();
    this.vm.vcpu.wake();
  }

  // ---- time and the one-shot timer (set_timer_op) ----

  /** Xen system time in ns: the guest's `time` CSR (10 MHz, from 0 at creation) times 100. */
  systemTimeNs(): bigint {
    return this.vm.vcpu.guestTime() * NS_PER_TICK;
  }

  /** Whether the timer is armed. */
  get timerArmed(): boolean {
    return this.timerDeadline !== undefined;
  }

  /**
   * Arm the one-shot timer for absolute system time `ns` (0: cancel). A deadline already
   * past fires at once. With real time a host timer also fires it while the vCPU runs or is
   * blocked; with deterministic time it fires at the next hypercall at or after the deadline,
   * or when the vCPU blocks (time jumps to it, as a halted hart's does).
   */
  setTimer(ns: bigint, restoring = false): void {
    this.cancelTimer();
    if (ns === 0n) return;
    const deadline = (ns + NS_PER_TICK - 1n) / NS_PER_TICK;
    this.timerDeadline = deadline;
    // restoring (xl restore): a deadline already due fires where it would have without the
    // save (the next hypercall, or the block), not at once.
    if (!restoring && this.pollTimer()) return;
    if (!this.vm.cfg.deterministic) {
      const ms = Number(deadline - this.vm.vcpu.guestTime()) / 10_000;
      this.timerHandle = setTimeout(() => {
        this.timerHandle = undefined;
        // The host's clock reached the deadline; guest time, which the core extrapolates between
        // publications (machine/guest-clock.ts), may trail it by a little: bring it there, so a
        // guest never sees its timer fire before its deadline.
        this.vm.vcpu.clock.atLeast(BigInt.asUintN(64, deadline - this.vm.vmcs.htimedelta));
        this.fireTimer();
      }, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
    }
  }

  /** Fire the timer if it is due; true if it fired. */
  pollTimer(): boolean {
    if (this.timerDeadline === undefined || this.vm.vcpu.guestTime() < this.timerDeadline) return false;
    this.fireTimer();
    return true;
  }

  /**
   * Deterministic time, the vCPU about to block with nothing pending: move time to the
   * deadline and fire. False if no timer is armed.
   */
  skipToTimer(): boolean {
    if (this.timerDeadline === undefined) return false;
    this.vm.vcpu.clock.atLeast(BigInt.asUintN(64, this.timerDeadline - this.vm.vmcs.htimedelta));
    this.fireTimer();
    return true;
  }

  private fireTimer(): void {
    this.cancelTimer();
    this.raiseTimer();
  }

  /** Disarm the timer (set_timer_op(0), domain destroyed). */
  cancelTimer(): void {
    this.timerDeadline = undefined;
    if (this.timerHandle !== undefined) clearTimeout(this.timerHandle);
    this.timerHandle = undefined;
  }

  // ---- console_io ----

  /** CONSOLEIO_write bytes: each line starts with "(dN) ", as Xen prints a DomU's console_io. */
  consoleWrite(bytes: Uint8Array): void {
    const out: number[] = [];
    const prefix = new TextEncoder().encode(`(d${this.domid}) `);
    for (const b of bytes) {
      if (this.consoleAtLineStart) out.push(...prefix);
      out.push(b);
      this.consoleAtLineStart = b === 10;
    }
    this.onConsole(crlf(Uint8Array.from(out)));
  }

  /** Plain-data state (RAM, VMCS and the Xen tables are saved by their owners). */
  snapshot(): XenDomainSnapshot {
    return {
      domid: this.domid,
      name: this.name,
      xenstoreEvtchn: this.xenstoreEvtchn,
      consoleEvtchn: this.consoleEvtchn,
      timerDeadline: this.timerDeadline === undefined ? null : this.timerDeadline.toString(),
      poll: this.pollWait === undefined ? null : { port: this.pollWait.port, deadline: this.pollWait.deadline?.toString() ?? null },
      shutdown: this.shutdownReason ?? null,
    };
  }
}
