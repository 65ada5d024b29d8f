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
 */
import { EIP_SOURCE_UPCALL, type Vm } from '../vmm/vm';
import { crlf } from '../vmm/sbi';
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
  shutdown: ShutdownReason | null;
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
  readonly name: string;
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
  /** Hypercalls made, by number (for --stats and tests). */
  readonly hypercalls = new Map<number, number>();
  private readonly onConsole: (bytes: Uint8Array) => void;
  private readonly raiseTimer: () => void;
  private consoleAtLineStart = true;
  private timerDeadline: bigint | undefined;
  private timerHandle: ReturnType<typeof setTimeout> | undefined;

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

  /** An event raised evtchn_upcall_pending (EventChannels' onUpcall): assert and wake the vCPU. */
  upcall(): void {
    this.updateUpcallLine();
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
  setTimer(ns: bigint): void {
    this.cancelTimer();
    if (ns === 0n) return;
    const deadline = (ns + NS_PER_TICK - 1n) / NS_PER_TICK;
    this.timerDeadline = deadline;
    if (this.pollTimer()) return;
    if (!this.vm.cfg.deterministic) {
      const ms = Number(deadline - this.vm.vcpu.guestTime()) / 10_000;
      this.timerHandle = setTimeout(() => {
        this.timerHandle = undefined;
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
    const now = this.vm.vcpu.guestTime();
    if (this.timerDeadline > now) this.vm.hart.timeOffset += this.timerDeadline - now;
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
      shutdown: this.shutdownReason ?? null,
    };
  }
}
