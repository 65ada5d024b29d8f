/**
 * `--virt pv`: a paravirtual MMU and CPU, as Xen's PV guests have them. The guest kernel runs
 * deprivileged exactly as under `--virt trap` (trap.ts: real U-mode, V = 0, a shadow table in
 * satp, every trap an exit), but a kernel that found the PV extension (pv-abi.ts, by BASE
 * probe_extension) asks instead of trapping:
 *
 *   CSR access      FID csr: the virtual CSR file of trap-csr.ts, with no illegal-instruction
 *                   trap and no instruction to fetch and decode
 *   satp switches   mmuext_op NEW_BASEPTR: the next entry activates the cached shadow
 *   PTE updates     mmu_update batches: each request is validated (below), written into the
 *                   guest's table by the VMM and the shadows updated (paging/shadow.ts update),
 *                   so the write-protected table pages never fault
 *   unpin           mmuext_op UNPIN_TABLE: a freed table is no longer protected, so reusing
 *                   it as data costs no faults either
 *   TLB flushes     the shadows are exact after every call, so the guest needs none (a flush
 *                   op is accepted and counted, as a no-op)
 *   trap entry      set_callback: the VMM saves the user registers into the guest's trap frame
 *                   and enters its PV entry point (Xen's trap bounce), so the entry path runs
 *                   no sscratch swap and reads sepc/scause/stval from memory
 *   trap return     iret: one hypercall for csrw sepc, two sstatus writes, csrw sscratch and sret
 *
 * Validation of a mmu_update request (Xen's rule: a domain maps only frames it owns; xen/arch/
 * x86/mm.c get_page_from_l1e): ptr 8-aligned in guest RAM, command MMU_NORMAL_PT_UPDATE; a
 * valid PTE (V = 1) has bits 63:54 zero, no W without R, and names a guest RAM page. Anything
 * else ends the batch with Xen's error. Isolation does not rest on this alone: the shadow pager
 * maps only guest RAM frames whatever the guest tables hold (a guest may still store to its
 * tables directly: those stores fault and are emulated as under trap).
 *
 * What still traps: what the guest does not ask for (wfi, its first stvec and sie writes); a
 * guest that never registers a callback keeps the trap-and-emulate entry and exit path.
 */
import { nameSbiExtension, SBI_ERR_INVALID_PARAM, SBI_ERR_NOT_SUPPORTED, SBI_SUCCESS, type SbiOutcome, type SbiVcpu } from '../sbi';
import {
  MMU_NORMAL_PT_UPDATE, PV_FRAME_PC, PV_FRAME_SIZE, PV_TRAP_INFO_SIZE, MMU_UPDATE_SIZE, MMUEXT, MMUEXT_OP_SIZE, PV_BATCH_MAX, PV_FID, PV_FUNCTION_NAMES, PV_SBI_EID,
  XEN_EFAULT, XEN_EINVAL, XEN_ENOSYS, XEN_EPERM,
} from './pv-abi';
import { csrAccess, SSTATUS, type CsrHart } from './trap-csr';
import { TrapTechnique } from './trap';
import type { ReasonId, Technique, TechniqueCounters, VcpuPort } from './technique';

const A0 = 10, A1 = 11, A2 = 12;
const PTE_V = 1n, PTE_R = 2n, PTE_W = 4n;
const PTE_RESERVED = 0x3ffn << 54n;
const PPN_MASK = (1n << 44n) - 1n;
const CONTINUE: SbiOutcome = { kind: 'continue' };

nameSbiExtension(PV_SBI_EID, 'PV', PV_FUNCTION_NAMES);

/** The paravirtual technique: trap.ts's deprivileged guest, plus the PV hypercalls. */
export class PvTechnique implements Technique {
  readonly mode = 'pv' as const;
  /** The deprivileged machinery (entry, virtual traps, shadow paging, emulation of what still traps). */
  readonly trap: TrapTechnique;
  private hypercalls = 0;
  private updates = 0;
  /** set_callback: the PV trap entry (guest virtual; 0: none) and the trap information block (guest-physical). */
  private callback = 0n;
  private trapInfo = 0n;
  private readonly iretId: ReasonId;
  private readonly csrHart: CsrHart;
  private readonly isGuestRam: (gpa: bigint) => boolean;

  constructor(private readonly cpu: VcpuPort) {
    this.trap = new TrapTechnique(cpu);
    const vm = cpu.vm;
    const v = vm.vmcs;
    this.csrHart = {
      vmcs: v,
      guestTime: () => BigInt.asUintN(64, vm.core.mtimeNow() + v.htimedelta),
      instret: () => vm.hart.instret,
      get mstatus() { return vm.hart.mstatus; },
      set mstatus(x: bigint) { vm.hart.mstatus = x; },
    };
    this.isGuestRam = (gpa) => vm.isGuestRam(gpa);
    this.trap.deliverHook = (cause, tval) => this.bounce(cause, tval);
    this.iretId = cpu.reason('SBI ecall (PV iret)');
    vm.sbiExtensions.set(PV_SBI_EID, { handle: (s, fid) => this.hypercall(s, fid) });
  }

  /** The shadow pager (trap.ts's). */
  get shadow(): TrapTechnique['shadow'] {
    return this.trap.shadow;
  }

  reset(): void {
    this.callback = this.trapInfo = 0n;
    this.trap.reset();
  }
  enter(): number { return this.trap.enter(); }
  /** SBI calls take the vCPU's fast path, but iret: it sets the pc, which the fast path would step. */
  isSbiCall(): boolean { return this.trap.isSbiCall() && !this.isIret(); }
  handleTrap(): ReasonId { return this.trap.isSbiCall() && this.isIret() ? this.iret() : this.trap.handleTrap(); }

  private isIret(): boolean {
    const v = this.cpu.vm.vmcs;
    return v.x(16) === BigInt(PV_FID.IRET) && v.x(17) === BigInt(PV_SBI_EID);
  }

  /**
   * FID iret(frame): restore x1..x31 and the pc from the frame, sscratch = frame, and return to
   * virtual U-mode with interrupts enabled (sret with SPP = U, SPIE = 1: priv spec §3.3.2).
   * A frame outside guest RAM: a0 = -EFAULT, the guest continues after its ecall.
   */
  private iret(): ReasonId {
    const vm = this.cpu.vm;
    const v = vm.vmcs;
    this.hypercalls++;
    const frame = v.x(10);
    const bytes = vm.readGuest(frame, PV_FRAME_SIZE);
    if (bytes === undefined) {
      v.setX(10, BigInt.asUintN(64, BigInt(-XEN_EFAULT)));
      v.advancePc(4);
      return this.iretId;
    }
    const b = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 1; i < 32; i++) v.setX(i, b.getBigUint64(i * 8, true));
    v.pc = v.vsepc = b.getBigUint64(PV_FRAME_PC, true) & ~1n;
    v.vsscratch = frame;
    v.vsstatus = (v.vsstatus & ~SSTATUS.SPP) | SSTATUS.SIE | SSTATUS.SPIE;
    v.priv = 0n;
    return this.iretId;
  }

  /**
   * Deliver a virtual trap of virtual U-mode to the PV entry (set_callback), as Xen bounces a
   * PV guest's trap: the registers go to the frame at sscratch, the trap's sepc/scause/stval to
   * the information block; false (deliver it through stvec) when there is no callback, the trap
   * is from virtual S, or the frame or block is not guest RAM or lies in a guest page table (the
   * VMM's own stores do not go through the write protection).
   */
  private bounce(cause: bigint, tval: bigint): boolean {
    const vm = this.cpu.vm;
    const v = vm.vmcs;
    if (this.callback === 0n || v.priv !== 0n) return false;
    const frame = v.vsscratch;
    const shadow = this.trap.shadow;
    if (!vm.isGuestRam(frame) || !vm.isGuestRam(frame + BigInt(PV_FRAME_SIZE - 1)) || shadow.isPageTable(frame) ||
      shadow.isPageTable(frame + BigInt(PV_FRAME_SIZE - 1)) || shadow.isPageTable(this.trapInfo)) return false;
    const regs = new Uint8Array(PV_FRAME_SIZE);
    const r = new DataView(regs.buffer);
    for (let i = 1; i < 32; i++) r.setBigUint64(i * 8, v.x(i), true);
    r.setBigUint64(PV_FRAME_PC, v.pc, true);
    const info = new Uint8Array(PV_TRAP_INFO_SIZE);
    const f = new DataView(info.buffer);
    f.setBigUint64(0, v.pc, true);
    f.setBigUint64(8, cause, true);
    f.setBigUint64(16, tval, true);
    vm.writeGuest(frame, regs);
    vm.writeGuest(this.trapInfo, info);
    // The CSRs as a trap into S from U leaves them (§4.1.1, §4.1.2), then the entry path's work.
    v.vsepc = v.pc;
    v.vscause = cause;
    v.vstval = tval;
    const st = v.vsstatus;
    v.vsstatus = (st & ~(SSTATUS.SPP | SSTATUS.SPIE | SSTATUS.SIE)) | ((st & SSTATUS.SIE) !== 0n ? SSTATUS.SPIE : 0n);
    v.priv = 1n;
    v.vsscratch = 0n;
    v.setX(10, frame);
    v.pc = this.callback;
    return true;
  }
  guestPageRemoved(gpa: bigint): void { this.trap.guestPageRemoved(); void gpa; }

  counters(): TechniqueCounters {
    return { ...this.trap.counters(), hypercalls: this.hypercalls, mmuUpdates: this.updates };
  }

  /** One PV hypercall (an ecall from virtual S with a7 = PV_SBI_EID; sbi.ts steps over it). */
  private hypercall(s: SbiVcpu, fid: number): SbiOutcome {
    this.hypercalls++;
    switch (fid) {
      case PV_FID.CSR: this.csr(s); break;
      case PV_FID.MMU_UPDATE: this.batch(s, MMU_UPDATE_SIZE, (b, o) => this.mmuUpdate(b, o)); break;
      case PV_FID.MMUEXT_OP: this.batch(s, MMUEXT_OP_SIZE, (b, o) => this.mmuextOp(b, o)); break;
      case PV_FID.SET_CALLBACK: this.setCallback(s); break;
      default: s.setXNumber(A0, SBI_ERR_NOT_SUPPORTED);
    }
    return CONTINUE;
  }

  /** FID set_callback: a0 = PV trap entry (0: off), a1 = guest-physical trap information block. */
  private setCallback(s: SbiVcpu): void {
    const entry = s.x(A0);
    const info = s.x(A1);
    const vm = this.cpu.vm;
    if (entry !== 0n && ((entry & 1n) !== 0n || !vm.isGuestRam(info) || !vm.isGuestRam(info + BigInt(PV_TRAP_INFO_SIZE - 1)))) {
      s.setXNumber(A0, SBI_ERR_INVALID_PARAM);
      return;
    }
    this.callback = entry;
    this.trapInfo = entry === 0n ? 0n : info;
    s.setXNumber(A0, SBI_SUCCESS);
  }

  /** FID csr: a0 = CSR number, a1 = op (0 read, 1 write, 2 set, 3 clear), a2 = value; a1 <- old value. */
  private csr(s: SbiVcpu): void {
    const num = s.xNumber(A0);
    const op = s.xNumber(A1);
    if (num > 0xfff || op > 3) {
      s.setXNumber(A0, SBI_ERR_INVALID_PARAM);
      return;
    }
    // As a csrrw/csrrs/csrrc of virtual S-mode; a read is csrrs with x0 (Zicsr §9.1).
    const old = csrAccess(this.trap.csrs, this.csrHart, num, true, op === 0 ? 2 : op, s.x(A2), op !== 0);
    if (old === undefined) {
      s.setXNumber(A0, SBI_ERR_INVALID_PARAM);
      return;
    }
    s.setXNumber(A0, SBI_SUCCESS);
    s.setX(A1, old);
  }

  /**
   * A batched call (mmu_update, mmuext_op): a0 = guest-physical address of `count` (a1) entries of
   * `size` bytes, a2 = where to store the count done (0: nowhere). Each entry goes to `one`, which
   * returns 0 or a Xen errno; the first refusal ends the batch (the entries before it stay done).
   */
  private batch(s: SbiVcpu, size: number, one: (b: DataView, off: number) => number): void {
    const count = s.xNumber(A1);
    let done = 0;
    let err = 0;
    if (count > PV_BATCH_MAX) {
      err = XEN_EINVAL; // bounded work per call (docs/bounds.md)
    } else if (count > 0) {
      const bytes = s.readGuest(s.x(A0), count * size);
      if (bytes === undefined) {
        err = XEN_EFAULT;
      } else {
        const b = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (; done < count; done++) {
          err = one(b, done * size);
          if (err !== 0) break;
        }
      }
    }
    const donePtr = s.x(A2);
    if (donePtr !== 0n) {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, BigInt(done), true);
      if (!s.writeGuest(donePtr, out) && err === 0) err = XEN_EFAULT;
    }
    s.setXNumber(A0, -err);
    s.setXNumber(A1, done);
  }

  /** One mmu_update request { ptr, val }: validated, then written by the pager. */
  private mmuUpdate(b: DataView, off: number): number {
    const ptr = b.getBigUint64(off, true);
    const val = b.getBigUint64(off + 8, true);
    const err = checkMmuUpdate(ptr, val, this.isGuestRam);
    if (err !== 0) return err;
    this.trap.shadow.update(ptr, val);
    this.updates++;
    return 0;
  }

  /** One mmuext_op { cmd, arg1, arg2 }. */
  private mmuextOp(b: DataView, off: number): number {
    const vm = this.cpu.vm;
    const cmd = b.getBigUint64(off, true);
    const arg1 = b.getBigUint64(off + 8, true);
    switch (cmd) {
      case BigInt(MMUEXT.UNPIN_TABLE): {
        const gpa = (arg1 & PPN_MASK) << 12n;
        if (arg1 > PPN_MASK || !vm.isGuestRam(gpa)) return XEN_EINVAL;
        this.trap.shadow.release(gpa);
        return 0;
      }
      case BigInt(MMUEXT.NEW_BASEPTR): {
        const mode = arg1 >> 60n;
        if (mode !== 0n && mode !== 8n && mode !== 9n) return XEN_EINVAL;
        if (mode !== 0n && !vm.isGuestRam((arg1 & PPN_MASK) << 12n)) return XEN_EINVAL;
        vm.vmcs.vsatp = arg1; // the next entry activates its shadow (trap.ts enter)
        return 0;
      }
      case BigInt(MMUEXT.TLB_FLUSH_LOCAL):
      case BigInt(MMUEXT.INVLPG_LOCAL):
        this.trap.shadow.sfence(); // exact shadows: counted, nothing to do
        return 0;
    }
    return XEN_ENOSYS;
  }
}

/**
 * Whether mmu_update may write PTE `val` at guest-physical `ptr`: 0, or the Xen errno that
 * refuses it. ENOSYS: a command other than MMU_NORMAL_PT_UPDATE (ptr & 7); EPERM: ptr, or the
 * page a valid PTE names, is not guest RAM; EINVAL: a valid PTE with reserved bits 63:54 set or
 * W without R (priv spec §4.3.1, §4.4.1). A PTE with V = 0 is accepted whatever else it holds:
 * no walk uses it.
 */
export function checkMmuUpdate(ptr: bigint, val: bigint, isGuestRam: (gpa: bigint) => boolean): number {
  if (Number(ptr & 7n) !== MMU_NORMAL_PT_UPDATE) return XEN_ENOSYS;
  if (!isGuestRam(ptr) || !isGuestRam(ptr + 7n)) return XEN_EPERM;
  if ((val & PTE_V) !== 0n) {
    if ((val & PTE_RESERVED) !== 0n || (val & (PTE_R | PTE_W)) === PTE_W) return XEN_EINVAL;
    if (!isGuestRam(((val >> 10n) & PPN_MASK) << 12n)) return XEN_EPERM;
  }
  return 0;
}
