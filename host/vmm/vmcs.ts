/**
 * The VMCS as the VMM sees it: named fields over one vCPU's VMCS region of linear memory, at
 * the VM_* offsets of assembly/abi.ts (the only place they are defined). The core copies the
 * guest-state and controls sections into the hart on `vmRun()` and writes them back, with the
 * exit information, when the guest exits. Nothing else in host/ reads or writes a VMCS field by
 * raw offset.
 *
 *   VM_X        x0..x31                      guest state
 *   VM_PC       pc
 *   VM_PRIV     1 VS, 0 VU
 *   VM_VS       vsstatus vstvec vsscratch vsepc vscause vstval vsatp vstimecmp
 *   VM_CONTROLS hstatus hedeleg hideleg hie hvip hcounteren htimedelta hgatp henvcfg
 *   VM_SCOUNTEREN, VM_SENVCFG  a deprivileged guest kernel's (--virt trap, bt) virtual CSRs
 *   VM_BUDGET   guest instructions allowed in the next entry
 *   VM_EXIT_*   reason cause tval htval htinst insn_len insn instructions (written by the core)
 */
import * as A from '../../assembly/abi';

/** The offset of each VS CSR inside the VS block (same order as S_VS_BLOCK). */
const VS = {
  vsstatus: A.S_VSSTATUS - A.S_VS_BLOCK,
  vstvec: A.S_VSTVEC - A.S_VS_BLOCK,
  vsscratch: A.S_VSSCRATCH - A.S_VS_BLOCK,
  vsepc: A.S_VSEPC - A.S_VS_BLOCK,
  vscause: A.S_VSCAUSE - A.S_VS_BLOCK,
  vstval: A.S_VSTVAL - A.S_VS_BLOCK,
  vsatp: A.S_VSATP - A.S_VS_BLOCK,
  vstimecmp: A.S_VSTIMECMP - A.S_VS_BLOCK,
} as const;

/** The offset of each control CSR inside the controls block (same order as S_H_BLOCK). */
const CT = {
  hstatus: A.S_HSTATUS - A.S_H_BLOCK,
  hedeleg: A.S_HEDELEG - A.S_H_BLOCK,
  hideleg: A.S_HIDELEG - A.S_H_BLOCK,
  hie: A.S_HIE - A.S_H_BLOCK,
  hvip: A.S_HVIP - A.S_H_BLOCK,
  hcounteren: A.S_HCOUNTEREN - A.S_H_BLOCK,
  htimedelta: A.S_HTIMEDELTA - A.S_H_BLOCK,
  hgatp: A.S_HGATP - A.S_H_BLOCK,
  henvcfg: A.S_HENVCFG - A.S_H_BLOCK,
} as const;

/** Every named u64 field of the VMCS (x0..x31 aside), for tests and snapshots. */
export const VMCS_FIELDS = [
  'pc', 'priv',
  'vsstatus', 'vstvec', 'vsscratch', 'vsepc', 'vscause', 'vstval', 'vsatp', 'vstimecmp',
  'hstatus', 'hedeleg', 'hideleg', 'hie', 'hvip', 'hcounteren', 'htimedelta', 'hgatp', 'henvcfg',
  'scounteren', 'senvcfg',
  'budget',
  'exitReason', 'exitCause', 'exitTval', 'exitHtval', 'exitHtinst', 'exitInsnLen', 'exitInsn', 'exitInstructions',
] as const;

/** The name of one VMCS field. */
export type VmcsField = (typeof VMCS_FIELDS)[number];

/** Named accessors for one VMCS. All values are u64 (bigint); writes wrap to 64 bits. */
export class Vmcs {
  private readonly u64: BigUint64Array;

  /** @param base byte offset of the VMCS in `memory` (the core's own VMCS is abi.ts VMCS). */
  /** The same words as 32-bit halves: the exit path reads small fields without making bigints. */
  readonly u32: Uint32Array;

  constructor(memory: WebAssembly.Memory, readonly base: number = A.VMCS) {
    this.u64 = new BigUint64Array(memory.buffer, base, A.VMCS_SIZE / 8);
    this.u32 = new Uint32Array(memory.buffer, base, A.VMCS_SIZE / 4);
  }

  // ---- the exit path's number views (no bigint allocation) ----
  /** The exit cause's code (bits 62..0 truncated to 32 bits) and whether it is an interrupt. */
  get exitCauseCode(): number { return this.u32[A.VM_EXIT_CAUSE >> 2]; }
  get exitIsInterrupt(): boolean { return (this.u32[(A.VM_EXIT_CAUSE >> 2) + 1] >>> 31) === 1; }
  /** Length of the trapping instruction (2 or 4; 0 when none). */
  get exitInsnLength(): number { return this.u32[A.VM_EXIT_INSN_LEN >> 2]; }
  /** pc += n (n < 2^32), with the carry into the high word. */
  advancePc(n: number): void {
    const i = A.VM_PC >> 2;
    const lo = this.u32[i] + n;
    this.u32[i] = lo >>> 0;
    if (lo > 0xffff_ffff) this.u32[i + 1] = (this.u32[i + 1] + 1) >>> 0;
  }
  /**
   * Guest register x[i] as a number: exact below 2^53, and at least 2^32 whenever the value
   * does not fit in 32 bits, so comparisons with 32-bit constants (SBI ids) are exact.
   */
  xNumber(i: number): number {
    if (i <= 0 || i >= 32) return 0;
    const w = (A.VM_X >> 2) + i * 2;
    return this.u32[w + 1] * 0x1_0000_0000 + this.u32[w];
  }
  /** The low 32 bits of guest register x[i]. */
  xLow32(i: number): number {
    return i <= 0 || i >= 32 ? 0 : this.u32[(A.VM_X >> 2) + i * 2];
  }
  /** x[i] = n sign-extended to 64 bits, for an integer n in [-2^31, 2^32); writes to x0 are dropped. */
  setXNumber(i: number, n: number): void {
    if (i <= 0 || i >= 32) return;
    const w = (A.VM_X >> 2) + i * 2;
    this.u32[w] = n >>> 0;
    this.u32[w + 1] = n < 0 ? 0xffff_ffff : 0;
  }

  private get(off: number): bigint {
    return this.u64[off >> 3];
  }
  private set(off: number, v: bigint): void {
    this.u64[off >> 3] = BigInt.asUintN(64, v);
  }

  /** Zero the whole VMCS (a fresh vCPU). */
  clear(): void {
    this.u64.fill(0n);
  }

  /** Read a field by name. */
  field(name: VmcsField): bigint {
    return this[name] as bigint;
  }
  /** Write a field by name. */
  setField(name: VmcsField, v: bigint): void {
    (this as unknown as Record<VmcsField, bigint>)[name] = v;
  }

  // ---- guest state ----
  /** Guest register x[i]; x0 reads 0. */
  x(i: number): bigint {
    return i === 0 ? 0n : this.get(A.VM_X + i * 8);
  }
  /** Write guest register x[i]; writes to x0 are dropped. */
  setX(i: number, v: bigint): void {
    if (i > 0 && i < 32) this.set(A.VM_X + i * 8, v);
  }
  get pc(): bigint { return this.get(A.VM_PC); }
  set pc(v: bigint) { this.set(A.VM_PC, v); }
  /** Guest privilege: 1 VS, 0 VU. */
  get priv(): bigint { return this.get(A.VM_PRIV); }
  set priv(v: bigint) { this.set(A.VM_PRIV, v); }
  get vsstatus(): bigint { return this.get(A.VM_VS + VS.vsstatus); }
  set vsstatus(v: bigint) { this.set(A.VM_VS + VS.vsstatus, v); }
  get vstvec(): bigint { return this.get(A.VM_VS + VS.vstvec); }
  set vstvec(v: bigint) { this.set(A.VM_VS + VS.vstvec, v); }
  get vsscratch(): bigint { return this.get(A.VM_VS + VS.vsscratch); }
  set vsscratch(v: bigint) { this.set(A.VM_VS + VS.vsscratch, v); }
  get vsepc(): bigint { return this.get(A.VM_VS + VS.vsepc); }
  set vsepc(v: bigint) { this.set(A.VM_VS + VS.vsepc, v); }
  get vscause(): bigint { return this.get(A.VM_VS + VS.vscause); }
  set vscause(v: bigint) { this.set(A.VM_VS + VS.vscause, v); }
  get vstval(): bigint { return this.get(A.VM_VS + VS.vstval); }
  set vstval(v: bigint) { this.set(A.VM_VS + VS.vstval, v); }
  get vsatp(): bigint { return this.get(A.VM_VS + VS.vsatp); }
  set vsatp(v: bigint) { this.set(A.VM_VS + VS.vsatp, v); }
  /** The guest's timer compare (Sstc through henvcfg.STCE), in guest time (mtime + htimedelta). */
  get vstimecmp(): bigint { return this.get(A.VM_VS + VS.vstimecmp); }
  set vstimecmp(v: bigint) { this.set(A.VM_VS + VS.vstimecmp, v); }

  // ---- execution controls ----
  get hstatus(): bigint { return this.get(A.VM_CONTROLS + CT.hstatus); }
  set hstatus(v: bigint) { this.set(A.VM_CONTROLS + CT.hstatus, v); }
  get hedeleg(): bigint { return this.get(A.VM_CONTROLS + CT.hedeleg); }
  set hedeleg(v: bigint) { this.set(A.VM_CONTROLS + CT.hedeleg, v); }
  get hideleg(): bigint { return this.get(A.VM_CONTROLS + CT.hideleg); }
  set hideleg(v: bigint) { this.set(A.VM_CONTROLS + CT.hideleg, v); }
  /** VSSIE, VSTIE, VSEIE: the guest's sie bits alias these while delegated. */
  get hie(): bigint { return this.get(A.VM_CONTROLS + CT.hie); }
  set hie(v: bigint) { this.set(A.VM_CONTROLS + CT.hie, v); }
  /** Interrupt injection: VSSIP (2), VSTIP (6), VSEIP (10). */
  get hvip(): bigint { return this.get(A.VM_CONTROLS + CT.hvip); }
  set hvip(v: bigint) { this.set(A.VM_CONTROLS + CT.hvip, v); }
  get hcounteren(): bigint { return this.get(A.VM_CONTROLS + CT.hcounteren); }
  set hcounteren(v: bigint) { this.set(A.VM_CONTROLS + CT.hcounteren, v); }
  /** Guest time = mtime + htimedelta. */
  get htimedelta(): bigint { return this.get(A.VM_CONTROLS + CT.htimedelta); }
  set htimedelta(v: bigint) { this.set(A.VM_CONTROLS + CT.htimedelta, v); }
  /** The G-stage root: MODE (63:60), VMID (57:44), PPN (43:0). */
  get hgatp(): bigint { return this.get(A.VM_CONTROLS + CT.hgatp); }
  set hgatp(v: bigint) { this.set(A.VM_CONTROLS + CT.hgatp, v); }
  get henvcfg(): bigint { return this.get(A.VM_CONTROLS + CT.henvcfg); }
  set henvcfg(v: bigint) { this.set(A.VM_CONTROLS + CT.henvcfg, v); }
  /** A deprivileged guest kernel's virtual scounteren and senvcfg (--virt trap and bt: trap-csr.ts, assembly/btvirt.ts). */
  get scounteren(): bigint { return this.get(A.VM_SCOUNTEREN); }
  set scounteren(v: bigint) { this.set(A.VM_SCOUNTEREN, v); }
  get senvcfg(): bigint { return this.get(A.VM_SENVCFG); }
  set senvcfg(v: bigint) { this.set(A.VM_SENVCFG, v); }
  /** Most guest instructions the next `vmRun()` may retire. */
  get budget(): bigint { return this.get(A.VM_BUDGET); }
  set budget(v: bigint) { this.set(A.VM_BUDGET, v); }

  // ---- exit information (written by the core; setters for tests and fakes) ----
  /** EXIT_* of the last exit. */
  get exitReason(): bigint { return this.get(A.VM_EXIT_REASON); }
  set exitReason(v: bigint) { this.set(A.VM_EXIT_REASON, v); }
  /** The trap's cause for EXIT_VM_TRAP (bit 63 = interrupt). */
  get exitCause(): bigint { return this.get(A.VM_EXIT_CAUSE); }
  set exitCause(v: bigint) { this.set(A.VM_EXIT_CAUSE, v); }
  /** The stval the trap would have written (the guest virtual address of a fault). */
  get exitTval(): bigint { return this.get(A.VM_EXIT_TVAL); }
  set exitTval(v: bigint) { this.set(A.VM_EXIT_TVAL, v); }
  /** Guest physical address >> 2 for guest-page faults. */
  get exitHtval(): bigint { return this.get(A.VM_EXIT_HTVAL); }
  set exitHtval(v: bigint) { this.set(A.VM_EXIT_HTVAL, v); }
  /** The transformed instruction (priv spec §8.6.3), a pseudo-instruction, or 0. */
  get exitHtinst(): bigint { return this.get(A.VM_EXIT_HTINST); }
  set exitHtinst(v: bigint) { this.set(A.VM_EXIT_HTINST, v); }
  /** Length of the trapping instruction (2 or 4), 0 if none. */
  get exitInsnLen(): bigint { return this.get(A.VM_EXIT_INSN_LEN); }
  set exitInsnLen(v: bigint) { this.set(A.VM_EXIT_INSN_LEN, v); }
  /** The trapping instruction's raw bits (ecall, virtual instruction), 0 if none. */
  get exitInsn(): bigint { return this.get(A.VM_EXIT_INSN); }
  set exitInsn(v: bigint) { this.set(A.VM_EXIT_INSN, v); }
  /** Guest instructions retired in the last entry. */
  get exitInstructions(): bigint { return this.get(A.VM_EXIT_INSTRUCTIONS); }
  set exitInstructions(v: bigint) { this.set(A.VM_EXIT_INSTRUCTIONS, v); }

  /**
   * The guest-physical address of a guest-page fault: htval << 2, plus the low two bits of the
   * guest virtual address in tval for an explicit access (its page offset equals the GPA's).
   * For an implicit VS-stage page-table access (htinst holds a pseudo-instruction, bits 1:0 = 00)
   * tval is the original access's address, not the PTE's, so only htval << 2 is known (a PTE
   * address is 8-aligned anyway).
   */
  get exitGpa(): bigint {
    const insn = this.exitHtinst;
    const implicit = insn !== 0n && (insn & 3n) === 0n;
    return (this.exitHtval << 2n) | (implicit ? 0n : this.exitTval & 3n);
  }
}
