/**
 * `--virt trap`: classic trap-and-emulate (Popek and Goldberg, 1974) on a hart without the H
 * extension. The guest kernel runs deprivileged, in real U-mode with V = 0; the hart's satp
 * points at a shadow table the VMM owns (paging/shadow.ts); "U is external" (core trapRun) makes
 * every trap an exit to this module, which emulates the guest's virtual S-mode:
 *
 *   illegal instruction  csrr/csrw of S CSRs, time/cycle/instret, sret, wfi, sfence.vma from
 *                        virtual S: emulated against the virtual CSR file (trap-csr.ts);
 *                        anything else (or from virtual U): a virtual illegal-instruction trap
 *   ecall                from virtual S: SBI (sbi.ts); from virtual U: a virtual trap (cause 8)
 *   page fault           shadow miss: fill; the guest's own fault: a virtual page fault; a store
 *                        to a guest page table: emulated, shadows zapped; not RAM: MMIO
 *                        (decoded from the instruction read out of guest memory: no htinst)
 *   interrupt            the guest's timer or an injected interrupt became deliverable: it is
 *                        delivered at the next entry
 *   breakpoint, misaligned: virtual traps to the guest's stvec
 *
 * The virtual S-mode state lives where the hw technique keeps it (technique.ts): VMCS priv
 * (1 virtual S, 0 virtual U), vsstatus, vstvec, vsscratch, vsepc, vscause, vstval, vsatp,
 * vstimecmp, hie/hvip for sie/sip; scounteren and senvcfg are fields of VirtualCsrs.
 */
import { servePtWrite } from '../paging/pt-write';
import { decodeRaw } from '../mmio';
import { ShadowPager, type ShadowAccess, type ShadowCounters } from '../paging/shadow';
import { CSR_NAMES, csrAccess, SSTATUS, VirtualCsrs, VS_INTERRUPTS, type CsrHart } from './trap-csr';
import { zeroCounters, type ReasonId, type Technique, type TechniqueCounters, type VcpuPort, type VirtMode } from './technique';

const INTERRUPT = 1n << 63n;
/** sip/sie bits in the VS positions of hvip/hie (priv spec §8.2.4): SSI 2, STI 6, SEI 10. */
const VSSIP = 1n << 2n, VSTIP = 1n << 6n, VSEIP = 1n << 10n;
const INSN_SRET = 0x10200073;
const INSN_WFI = 0x10500073;
/** Fills of the same address in a row that mean the shadow does not converge (a VMM bug). */
const MAX_REFILLS = 4;

const hx = (v: bigint) => '0x' + v.toString(16);

/** The trap-and-emulate technique. */
export class TrapTechnique implements Technique {
  readonly mode: VirtMode = 'trap';
  readonly shadow: ShadowPager;
  readonly csrs: VirtualCsrs;
  /** The hart's satp as last set (the current shadow). */
  private hartSatp = -1n;
  /** Privileged instructions emulated (after a trap; under bt, the call-outs). */
  emulated = 0;
  /** A paravirtual delivery of a virtual trap (pv.ts): true when it took the trap. */
  deliverHook: ((cause: bigint, tval: bigint) => boolean) | undefined;
  private lastFill = { pc: -1n, gva: -1n, n: 0 };
  private readonly ids = new Map<string, ReasonId>();
  private readonly csrIds = new Map<number, ReasonId>();
  private readonly csrHart: CsrHart;

  constructor(protected readonly cpu: VcpuPort) {
    const vm = cpu.vm;
    this.csrs = new VirtualCsrs(vm.vmcs);
    this.shadow = new ShadowPager({
      ram: vm.hostRam,
      frames: vm.frames,
      isGuestRam: (gpa) => vm.isGuestRam(gpa),
      gpaToHpa: (gpa) => vm.gpaToHpa(gpa),
      flushTlb: () => vm.core.flushTlb(),
    });
    const v = vm.vmcs;
    this.csrHart = {
      vmcs: v,
      guestTime: () => BigInt.asUintN(64, vm.core.mtimeNow() + v.htimedelta),
      instret: () => vm.hart.instret,
      get mstatus() { return vm.hart.mstatus; },
      set mstatus(x: bigint) { vm.hart.mstatus = x; },
    };
  }

  reset(): void {
    const h = this.cpu.vm.hart;
    // Every counter read traps (scounteren = 0): the guest's time base and its own scounteren
    // are emulated (docs/techniques.md, "sensitive but unprivileged").
    h.scounteren = 0n;
    h.satp = 0n;
    h.mie = 0n;
    h.mideleg = 0n;
    // The hart's own M and S timers are not used by a VM; at 0 they would be due forever and
    // hide the guest timer's deadline from the core's run loop (timer.ts nextTimerIcount), so
    // the guest's timer interrupt would wait for the end of the time slice.
    h.mtimecmp = 0xffff_ffff_ffff_ffffn;
    h.stimecmp = 0xffff_ffff_ffff_ffffn;
    this.hartSatp = -1n;
    this.csrs.reset();
    this.shadow.clear();
  }

  enter(): number {
    const vm = this.cpu.vm;
    const v = vm.vmcs;
    this.deliverInterrupt();
    const st = v.vsstatus;
    const satp = this.shadow.activate(v.vsatp, {
      user: v.priv === 0n, sum: (st & SSTATUS.SUM) !== 0n, mxr: (st & SSTATUS.MXR) !== 0n,
    });
    if (satp !== this.hartSatp) vm.hart.satp = this.hartSatp = satp;
    return vm.core.trapRun();
  }

  guestPageRemoved(): void {
    // Its frame goes back to the allocator: no shadow leaf may keep pointing at it. Rare
    // (ballooning), so every shadow goes and is rebuilt on demand.
    this.shadow.clear();
  }

  counters(): TechniqueCounters {
    return { ...zeroCounters(), emulated: this.emulated, ...shadowFigures(this.shadow.counters) };
  }

  isSbiCall(): boolean {
    const v = this.cpu.vm.vmcs;
    return v.exitCauseCode === 8 && !v.exitIsInterrupt && v.priv === 1n;
  }

  handleTrap(): ReasonId {
    const v = this.cpu.vm.vmcs;
    const code = v.exitCauseCode;
    if (v.exitIsInterrupt) {
      // Delivered by the next enter() (deliverInterrupt), which re-checks it.
      return this.id(code === 10 ? 'interrupt: virtual external' : code === 6 ? 'interrupt: virtual timer' : 'interrupt: virtual software');
    }
    switch (code) {
      case 2:
        return this.illegal();
      case 8:
        if (v.priv === 1n) return this.cpu.sbi(this.cpu.decodeSbi());
        this.deliver(8n, 0n);
        return this.id('ecall from virtual U (to the guest)');
      case 0: case 3: case 4: case 6:
        this.deliver(BigInt(code), v.exitTval);
        return this.id(`exception ${code} (to the guest)`);
      case 12: case 13: case 15:
        return this.pageFault(code === 12 ? 'fetch' : code === 13 ? 'read' : 'write');
    }
    return this.cpu.fail(`trap cause ${code} from the deprivileged guest`);
  }

  // ---- privileged instructions ----

  /** An illegal-instruction trap: a privileged instruction to emulate, or the guest's own. */
  private illegal(): ReasonId {
    const v = this.cpu.vm.vmcs;
    let insn = Number(v.exitInsn & 0xffff_ffffn);
    if (insn === 0) insn = this.cpu.fetchInsn(v.pc) ?? 0;
    const r = this.emulate(insn, v.priv === 1n, false);
    if (r !== undefined) return r;
    this.deliver(2n, v.exitTval);
    return this.id('illegal instruction (to the guest)');
  }

  /**
   * Emulate the guest's privileged instruction `insn` at pc (from virtual S when `virtualS`):
   * csrr/csrw of the virtual CSR file, sret, wfi, sfence.vma. Returns its reason, or undefined
   * when it is the guest's own illegal instruction. `callout`: it came as a BT call-out
   * (bt.ts), not a trap; only the reason's name differs.
   */
  protected emulate(insn: number, virtualS: boolean, callout: boolean): ReasonId | undefined {
    const v = this.cpu.vm.vmcs;
    if ((insn & 0x7f) !== 0x73) return undefined;
    const f3 = (insn >>> 12) & 7;
    if (f3 === 0 && virtualS) {
      if (insn === INSN_SRET) return this.sret(callout);
      if (insn === INSN_WFI) return this.wfi(callout);
      if (insn >>> 25 === 0x09 && ((insn >>> 7) & 31) === 0) {
        // sfence.vma: the shadows follow every guest PTE write (write protection), so
        // nothing is stale; it is counted (paging/shadow.ts).
        this.shadow.sfence();
        v.advancePc(4);
        this.emulated++;
        return this.id(callout ? 'BT call-out: sfence.vma' : 'sfence.vma (emulated)');
      }
    } else if (f3 !== 0 && f3 !== 4) {
      const csr = insn >>> 20;
      const rs1 = (insn >>> 15) & 31;
      const rd = (insn >>> 7) & 31;
      const kind = f3 & 3; // 1 RW, 2 RS, 3 RC
      const src = f3 >= 5 ? BigInt(rs1) : v.x(rs1);
      const writes = kind === 1 || rs1 !== 0;
      const old = csrAccess(this.csrs, this.csrHart, csr, virtualS, kind, src, writes);
      if (old !== undefined) {
        if (rd !== 0) v.setX(rd, old);
        v.advancePc(4);
        this.emulated++;
        // The reason by number first: the name is built once per CSR, access kind and path.
        const how = writes ? (kind === 1 && rd === 0 ? 1 : 2) : 0;
        const key = csr * 8 + how + (callout ? 4 : 0);
        let id = this.csrIds.get(key);
        if (id === undefined) {
          const name = `csr ${['read', 'write', 'read/write'][how]} ${CSR_NAMES[csr] ?? hx(BigInt(csr))}`;
          this.csrIds.set(key, (id = this.id(callout ? `BT call-out: ${name}` : `${name} (emulated)`)));
        }
        return id;
      }
    }
    return undefined;
  }

  /** sret (priv spec §3.3.2, for S): priv <- SPP, SIE <- SPIE, SPIE <- 1, SPP <- U, pc <- sepc. */
  private sret(callout: boolean): ReasonId {
    const v = this.cpu.vm.vmcs;
    this.emulated++;
    const st = v.vsstatus;
    v.priv = (st & SSTATUS.SPP) !== 0n ? 1n : 0n;
    v.vsstatus = (st & ~(SSTATUS.SIE | SSTATUS.SPP)) | ((st & SSTATUS.SPIE) !== 0n ? SSTATUS.SIE : 0n) | SSTATUS.SPIE;
    v.pc = v.vsepc;
    const to = v.priv === 1n ? 'sret to virtual S' : 'sret to virtual U';
    return this.id(callout ? `BT call-out: ${to}` : `${to} (emulated)`);
  }

  /** wfi (§3.3.3): wait until an interrupt is pending in sip & sie, whatever sstatus.SIE says. */
  private wfi(callout: boolean): ReasonId {
    const v = this.cpu.vm.vmcs;
    this.emulated++;
    v.advancePc(4);
    if ((this.virtualPending() & v.hie) === 0n) this.cpu.halt();
    return this.id(callout ? 'BT call-out: wfi' : 'wfi (emulated)');
  }

  // ---- memory ----

  private pageFault(access: ShadowAccess): ReasonId {
    const cpu = this.cpu;
    const vm = cpu.vm;
    const v = vm.vmcs;
    const gva = v.exitTval;
    const r = this.shadow.fault(gva, access);
    switch (r.kind) {
      case 'filled': {
        const f = this.lastFill;
        if (f.pc === v.pc && f.gva === gva) {
          if (++f.n >= MAX_REFILLS) return cpu.fail(`the shadow page table does not converge at ${hx(gva)} (${access})`);
        } else {
          f.pc = v.pc; f.gva = gva; f.n = 0;
        }
        return this.id(access === 'write' ? 'page fault: shadow fill (write)' : access === 'read' ? 'page fault: shadow fill (read)' : 'page fault: shadow fill (fetch)');
      }
      case 'guest-fault':
        this.deliver(BigInt(r.cause), gva);
        return this.id('page fault (to the guest)');
      case 'bad':
        return cpu.fail(r.what);
      case 'pt-write': {
        // A store, AMO or SC to the guest's own page table: emulated, then zapped (paging/pt-write.ts).
        const why = servePtWrite(cpu, this.shadow, r.gpa, access);
        if (why !== undefined) return cpu.fail(why);
        return this.id('page fault: guest page-table write (emulated)');
      }
      case 'mmio': {
        // No htinst without the H extension: the instruction is read from guest memory.
        const raw = cpu.fetchInsn(v.pc);
        const acc = raw !== undefined ? decodeRaw(raw) : undefined;
        if (acc === undefined || acc.write !== (access === 'write')) {
          return cpu.fail(`MMIO access at guest-physical ${hx(r.gpa)} by an instruction the VMM cannot emulate`);
        }
        return cpu.mmio(r.gpa, acc);
      }
    }
  }

  // ---- virtual traps and interrupts ----

  /** sip as the guest sees it, in the VS bit positions: injected bits and the guest's timer. */
  private virtualPending(): bigint {
    const v = this.cpu.vm.vmcs;
    let p = v.hvip & (VSSIP | VSEIP);
    if (v.vstimecmp !== 0xffff_ffff_ffff_ffffn && this.csrHart.guestTime() >= v.vstimecmp) p |= VSTIP;
    return p;
  }

  /** Deliver the highest-priority pending, enabled virtual interrupt, if the guest can take one now (§3.1.9, §4.1.3). */
  private deliverInterrupt(): void {
    const v = this.cpu.vm.vmcs;
    const enabled = v.hie & VS_INTERRUPTS;
    if (enabled === 0n) return;
    if (v.priv === 1n && (v.vsstatus & SSTATUS.SIE) === 0n) return;
    const p = this.virtualPending() & enabled;
    if (p === 0n) return;
    const code = (p & VSEIP) !== 0n ? 9n : (p & VSSIP) !== 0n ? 1n : 5n; // SEI > SSI > STI
    this.deliver(INTERRUPT | code, 0n);
  }

  /**
   * A trap into the guest's virtual S-mode, as the hart takes one into S (priv spec §4.1.1,
   * §4.1.2): sepc = pc, scause, stval, SPP = the virtual privilege, SPIE = SIE, SIE = 0,
   * pc = stvec (plus 4 x cause for an interrupt in vectored mode).
   */
  deliver(cause: bigint, tval: bigint): void {
    if (this.deliverHook?.(cause, tval) === true) return;
    const v = this.cpu.vm.vmcs;
    v.vsepc = v.pc;
    v.vscause = cause;
    v.vstval = tval;
    const st = v.vsstatus;
    v.vsstatus = (st & ~(SSTATUS.SPP | SSTATUS.SPIE | SSTATUS.SIE)) | (v.priv === 1n ? SSTATUS.SPP : 0n) |
      ((st & SSTATUS.SIE) !== 0n ? SSTATUS.SPIE : 0n);
    v.priv = 1n;
    const tv = v.vstvec;
    const irq = (cause & INTERRUPT) !== 0n;
    v.pc = (tv & ~3n) + (irq && (tv & 1n) !== 0n ? (cause & 63n) * 4n : 0n);
  }

  protected id(name: string): ReasonId {
    let id = this.ids.get(name);
    if (id === undefined) this.ids.set(name, (id = this.cpu.reason(name)));
    return id;
  }
}

/** The lab's shadow-paging figures (technique.ts TechniqueCounters) from a shadow MMU's counters. */
export function shadowFigures(c: ShadowCounters): Pick<TechniqueCounters, 'ptWriteFaults' | 'shadowsBuilt' | 'shadowsReused' | 'tlbFlushes'> {
  return { ptWriteFaults: c.ptWrites, shadowsBuilt: c.built, shadowsReused: c.reused, tlbFlushes: c.tlbFlushes };
}

/** The shadow MMU's counters as the CLI's --stats prints them (after the exit table). */
export function formatShadowStats(c: ShadowPager['counters'], mode: VirtMode = 'trap'): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return `wasmvisor shadow page tables (--virt ${mode})\n` +
    `  shadows built / reused       ${n(c.built)} / ${n(c.reused)} (switches to a cached shadow)\n` +
    `  shadow fills                 ${n(c.fills)}\n` +
    `  guest page-table writes      ${n(c.ptWrites)} emulated, ${n(c.zaps)} shadow entries zapped, ${n(c.unprotects)} pages unprotected\n` +
    `  write protections            ${n(c.writeProtects)}\n` +
    `  guest sfence.vma             ${n(c.sfences)}\n` +
    `  TLB flushes by the VMM       ${n(c.tlbFlushes)}\n` +
    `  shadows evicted              ${n(c.evictions)} (${n(c.frames)} table frames alive)\n`;
}
