/**
 * `--virt hw --paging shadow`: the H extension with shadow page tables instead of nested paging,
 * as KVM ran on hardware without EPT/NPT. Everything but the memory virtualization is as in
 * hw.ts (the guest kernel in VS-mode, its programs in VU-mode, SBI, interrupts, MMIO), so
 * nested and shadow paging are compared with everything else equal:
 *
 *   hgatp         Bare: no G-stage; guest-physical addresses never reach the hart
 *   vsatp         the VMM's shadow (gVA -> hPA, paging/shadow.ts, native leaves: the guest's
 *                 U/R/W/X, the hart applies vsstatus.SUM/MXR and the VS/VU privilege)
 *   hstatus.VTVM  set: the guest's satp reads and writes and its sfence.vma raise a virtual
 *                 instruction exception (priv spec §8.2.1 "hstatus", §8.6.4), so the VMM keeps
 *                 the guest's satp (virtual, in this module) and only ever loads shadows
 *   hedeleg       without the page faults (12, 13, 15): a VS-stage fault is a shadow miss or a
 *                 write to a write-protected guest page table, which the VMM resolves; the
 *                 guest's own faults are redirected into it, as KVM's shadow MMU did
 *
 *   cause 22 (virtual instruction)  csrr/csrw satp, sfence.vma: emulated; anything else: an
 *                                   illegal instruction for the guest (KVM does the same)
 *   cause 12/13/15                  shadow fill / guest fault / page-table write / MMIO
 *   cause 10, 2/4/6                 as hw.ts
 */
import { servePtWrite } from '../paging/pt-write';
import { decodeHtinst, decodeRaw, type MmioAccess } from '../mmio';
import { ShadowPager, type ShadowAccess } from '../paging/shadow';
import { CAUSE_NAMES, causeText } from '../stats';
import { SSTATUS } from './trap-csr';
import { zeroCounters, type ReasonId, type Technique, type TechniqueCounters, type VcpuPort } from './technique';

const C = { ILLEGAL: 2, LOAD_MISALIGNED: 4, STORE_MISALIGNED: 6, ECALL_VS: 10, FETCH_PAGE: 12, LOAD_PAGE: 13, STORE_PAGE: 15, VIRTUAL_INSN: 22 } as const;
/** hstatus.VTVM (§8.2.1). */
const HSTATUS_VTVM = 1n << 20n;
const PAGE_FAULTS = (1n << 12n) | (1n << 13n) | (1n << 15n);
const CSR_SATP = 0x180;
/** Fills of the same address in a row that mean the shadow does not converge (a VMM bug). */
const MAX_REFILLS = 4;

const hx = (v: bigint) => '0x' + v.toString(16);

/** The H extension with shadow paging. */
export class HwShadowTechnique implements Technique {
  readonly mode = 'hw' as const;
  readonly shadow: ShadowPager;
  /** The guest's satp (virtual: the hart's vsatp holds its shadow). */
  guestSatp = 0n;
  private emulated = 0;
  private lastFill = { pc: -1n, gva: -1n, n: 0 };
  private readonly ids = new Map<string, ReasonId>();

  constructor(private readonly cpu: VcpuPort, private readonly redirect: (cause: bigint, tval: bigint) => void) {
    const vm = cpu.vm;
    this.shadow = new ShadowPager({
      ram: vm.hostRam,
      frames: vm.frames,
      isGuestRam: (gpa) => vm.isGuestRam(gpa),
      gpaToHpa: (gpa) => vm.gpaToHpa(gpa),
      flushTlb: () => vm.core.flushTlb(),
    }, true);
  }

  reset(): void {
    const v = this.cpu.vm.vmcs;
    v.hstatus |= HSTATUS_VTVM;
    v.hedeleg &= ~PAGE_FAULTS;
    v.hgatp = 0n;
    v.vsatp = 0n;
    this.guestSatp = 0n;
    this.shadow.clear();
  }

  enter(): number {
    const vm = this.cpu.vm;
    this.activate();
    return vm.core.vmRun();
  }

  /** Load the shadow of the guest's satp into vsatp (a cached one after a context switch). */
  private activate(): void {
    const v = this.cpu.vm.vmcs;
    const st = v.vsstatus;
    v.vsatp = this.shadow.activate(this.guestSatp, { user: v.priv === 0n, sum: (st & SSTATUS.SUM) !== 0n, mxr: (st & SSTATUS.MXR) !== 0n });
  }

  guestPageRemoved(): void {
    this.shadow.clear();
  }

  isSbiCall(): boolean {
    const v = this.cpu.vm.vmcs;
    return v.exitCauseCode === C.ECALL_VS && !v.exitIsInterrupt;
  }

  counters(): TechniqueCounters {
    const c = this.shadow.counters;
    return { ...zeroCounters(), emulated: this.emulated, ptWriteFaults: c.ptWrites, shadowsBuilt: c.built, shadowsReused: c.reused, tlbFlushes: c.tlbFlushes };
  }

  handleTrap(): ReasonId {
    const cpu = this.cpu;
    const v = cpu.vm.vmcs;
    if (v.exitIsInterrupt) return cpu.fail(`unexpected interrupt ${causeText(v.exitCause)} taken to HS`);
    const code = v.exitCauseCode;
    switch (code) {
      case C.ECALL_VS:
        return cpu.sbi(cpu.decodeSbi());
      case C.VIRTUAL_INSN:
        return this.virtualInsn();
      case C.FETCH_PAGE:
      case C.LOAD_PAGE:
      case C.STORE_PAGE:
        return this.pageFault(code === C.FETCH_PAGE ? 'fetch' : code === C.LOAD_PAGE ? 'read' : 'write', code);
      case C.ILLEGAL:
      case C.LOAD_MISALIGNED:
      case C.STORE_MISALIGNED:
        this.redirect(BigInt(code), v.exitTval);
        return this.id(`${CAUSE_NAMES[code]} (redirected to the guest)`);
    }
    return cpu.fail(`${CAUSE_NAMES[code] ?? 'unknown cause'} taken to HS`);
  }

  /**
   * A virtual-instruction exception: with VTVM, a satp access or sfence.vma in VS-mode (§8.6.4);
   * emulated against the guest's virtual satp. Others are the guest's own illegal instructions.
   */
  private virtualInsn(): ReasonId {
    const v = this.cpu.vm.vmcs;
    let insn = Number(v.exitInsn & 0xffff_ffffn);
    if (insn === 0) insn = this.cpu.fetchInsn(v.pc) ?? 0;
    if (v.priv === 1n && (insn & 0x7f) === 0x73) {
      const f3 = (insn >>> 12) & 7;
      if (f3 === 0 && insn >>> 25 === 0x09 && ((insn >>> 7) & 31) === 0) {
        // sfence.vma: the shadows follow every guest PTE write (write protection): nothing is stale.
        this.shadow.sfence();
        this.emulated++;
        v.advancePc(4);
        return this.id('sfence.vma (emulated, VTVM)');
      }
      if (f3 !== 0 && f3 !== 4 && insn >>> 20 === CSR_SATP) {
        const rs1 = (insn >>> 15) & 31;
        const rd = (insn >>> 7) & 31;
        const kind = f3 & 3; // 1 RW, 2 RS, 3 RC
        const src = f3 >= 5 ? BigInt(rs1) : v.x(rs1);
        const writes = kind === 1 || rs1 !== 0;
        const old = this.guestSatp;
        if (writes) {
          const nv = BigInt.asUintN(64, kind === 1 ? src : kind === 2 ? old | src : old & ~src);
          const mode = nv >> 60n;
          // WARL (§4.1.11): modes Bare, Sv39 and Sv48; a write of another mode is ignored.
          if (mode === 0n || mode === 8n || mode === 9n) this.guestSatp = nv;
        }
        if (rd !== 0) v.setX(rd, old);
        this.emulated++;
        v.advancePc(4);
        return this.id(writes ? 'csr write satp (emulated, VTVM)' : 'csr read satp (emulated, VTVM)');
      }
    }
    this.redirect(BigInt(C.ILLEGAL), BigInt(insn));
    return this.id('virtual instruction (illegal instruction to the guest)');
  }

  /** A VS-stage page fault on the shadow (exit tval = the guest virtual address). */
  private pageFault(access: ShadowAccess, cause: number): ReasonId {
    const cpu = this.cpu;
    const vm = cpu.vm;
    const v = vm.vmcs;
    const gva = v.exitTval;
    const st = v.vsstatus;
    // The view of the access that faulted: VU or VS, and vsstatus.SUM/MXR (§4.3.1, §8.2.3).
    const view = { user: v.priv === 0n, sum: (st & SSTATUS.SUM) !== 0n, mxr: (st & SSTATUS.MXR) !== 0n };
    this.activate();
    const r = this.shadow.fault(gva, access, view);
    switch (r.kind) {
      case 'filled': {
        const f = this.lastFill;
        if (f.pc === v.pc && f.gva === gva) {
          if (++f.n >= MAX_REFILLS) return cpu.fail(`the shadow page table does not converge at ${hx(gva)} (${access})`);
        } else {
          f.pc = v.pc; f.gva = gva; f.n = 0;
        }
        return this.id(`page fault: shadow fill (${access})`);
      }
      case 'guest-fault':
        this.redirect(BigInt(r.cause), gva);
        return this.id('page fault (redirected to the guest)');
      case 'bad':
        return cpu.fail(r.what);
      case 'pt-write': {
        // A store, AMO or SC to the guest's own page table: emulated, then zapped (paging/pt-write.ts).
        const why = servePtWrite(cpu, this.shadow, r.gpa, access);
        if (why !== undefined) return cpu.fail(why);
        return this.id('page fault: guest page-table write (emulated)');
      }
      case 'mmio': {
        const htinst = Number(v.exitHtinst & 0xffff_ffffn);
        let acc: MmioAccess | undefined = decodeHtinst(htinst);
        if (acc === undefined) {
          const raw = cpu.fetchInsn(v.pc);
          if (raw !== undefined) acc = decodeRaw(raw);
        }
        if (acc === undefined || acc.write !== (access === 'write')) {
          return cpu.fail(`MMIO access at guest-physical ${hx(r.gpa)} by an instruction the VMM cannot emulate`);
        }
        return cpu.mmio(r.gpa, acc);
      }
    }
    return cpu.fail(`${CAUSE_NAMES[cause]}: unhandled`);
  }

  private id(name: string): ReasonId {
    let id = this.ids.get(name);
    if (id === undefined) this.ids.set(name, (id = this.cpu.reason(name)));
    return id;
  }
}
