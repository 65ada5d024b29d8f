// Traps: exception and interrupt entry, mret/sret, and which interrupt (if any) is taken.
// Privileged spec §3.1.6 (mstatus stack), §3.1.8 (delegation), §3.1.9 (mip/mie and priority),
// §4.1.1 (sstatus), and for the H extension §8.4 (hideleg, hvip), §8.6 (traps: where a trap
// goes, what it writes: hstatus.SPV/SPVP/GVA, htval, htinst, mstatus.MPV/GVA, mtval2, mtinst).
//
// "HS is external" (S_HS_EXTERNAL, set by vmRun): the host is the hypervisor. A trap from V = 1
// that would enter HS-mode or M-mode does not touch any hart state: the hart stops with
// EXIT_VM_TRAP and the trap's cause, tval, htval and htinst in the VMCS, pc still at the
// trapping instruction, exactly as a VM exit.
//
// "U is external" (S_U_EXTERNAL, set by trapRun): the same, for every trap from U-mode with
// V = 0, where the host runs a deprivileged guest kernel and emulates its S-mode.

import {
  VMCS, S_MSTATUS, S_MEDELEG, S_MIDELEG, S_MIE, S_MIP, S_MTVEC, S_MEPC, S_MCAUSE, S_MTVAL,
  S_STVEC, S_SEPC, S_SCAUSE, S_STVAL, S_IRQ_LINES, S_LR_ADDR, S_STAT_TRAPS, S_STAT_INTERRUPTS,
  S_HSTATUS, S_HEDELEG, S_HIDELEG, S_HIE, S_HVIP, S_HTVAL, S_HTINST, S_MTVAL2, S_MTINST,
  S_VSSTATUS, S_VSTVEC, S_VSEPC, S_VSCAUSE, S_VSTVAL, S_HS_EXTERNAL, S_U_EXTERNAL, S_STAT_VM_EXITS,
  VM_EXIT_CAUSE, VM_EXIT_TVAL, VM_EXIT_HTVAL, VM_EXIT_HTINST, VM_EXIT_INSN_LEN, VM_EXIT_INSN,
  R_LEN, R_RAW, EXIT_VM_TRAP, VM_SBI_INCORE,
} from './abi';
import { sbiInCore } from './sbi';
import {
  pc, priv, virt, curRec, setPc, setPriv, setVirt, setStop, setExit, setIrqCheck, bumpEpoch,
  rd64, wr64, PRV_M, PRV_S, PRV_U, MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_MPIE,
  MSTATUS_SPP, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_MPV, MSTATUS_GVA,
  HSTATUS_GVA, HSTATUS_SPV, HSTATUS_SPVP, CAUSE_INTERRUPT, VS_INTERRUPTS,
  CAUSE_VS_ECALL, IRQ_MEI, IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_SSI, IRQ_STI, IRQ_SGEI, IRQ_VSEI, IRQ_VSSI, IRQ_VSTI,
} from './state';
import { updateContexts } from './mmu';
import { timerPendingBits } from './timer';

const TO_M: u32 = 0;
const TO_HS: u32 = 1;
const TO_VS: u32 = 2;

/** Where a trap with this cause, taken now, goes (§3.1.8, §8.6.4). */
function trapTarget(cause: u64): u32 {
  if (priv == PRV_M) return TO_M;
  const code = cause & 63;
  if ((cause & CAUSE_INTERRUPT) != 0) {
    if (((rd64(S_MIDELEG) | VS_INTERRUPTS) >> code & 1) == 0) return TO_M;
    return virt && ((rd64(S_HIDELEG) >> code) & 1) != 0 ? TO_VS : TO_HS;
  }
  if (((rd64(S_MEDELEG) >> code) & 1) == 0) return TO_M;
  return virt && ((rd64(S_HEDELEG) >> code) & 1) != 0 ? TO_VS : TO_HS;
}

/** The instruction length and bits of the executing instruction (0 when none: interrupts). */
@inline function insnLen(): u64 {
  return curRec == 0 ? 0 : <u64>load<u8>(curRec, R_LEN);
}
@inline function insnBits(): u64 {
  if (curRec == 0) return 0;
  const raw = <u64>load<u32>(curRec, R_RAW);
  return load<u8>(curRec, R_LEN) == 2 ? raw & 0xffff : raw;
}

/** A VM exit: the trap goes to the host, which sees it in the VMCS. */
function vmExit(cause: u64, tval: u64, htval: u64, htinst: u64): void {
  store<u64>(VMCS + VM_EXIT_CAUSE, cause);
  store<u64>(VMCS + VM_EXIT_TVAL, tval);
  store<u64>(VMCS + VM_EXIT_HTVAL, htval);
  store<u64>(VMCS + VM_EXIT_HTINST, htinst);
  store<u64>(VMCS + VM_EXIT_INSN_LEN, (cause & CAUSE_INTERRUPT) != 0 ? 0 : insnLen());
  store<u64>(VMCS + VM_EXIT_INSN, (cause & CAUSE_INTERRUPT) != 0 ? 0 : insnBits());
  wr64(S_STAT_VM_EXITS, rd64(S_STAT_VM_EXITS) + 1);
  setExit(EXIT_VM_TRAP);
}

/**
 * Enter the trap handler for `cause` (bit 63 set for interrupts) with tval from the current pc.
 * `gva`: tval is a guest virtual address; htval/htinst as §8.6.3 defines them.
 */
export function takeTrap(cause: u64, tval: u64, gva: bool, htval: u64, htinst: u64): void {
  const isIrq = (cause & CAUSE_INTERRUPT) != 0;
  const target = trapTarget(cause);
  if (virt && target != TO_VS && rd64(S_HS_EXTERNAL) != 0) {
    if (cause == CAUSE_VS_ECALL && load<u64>(VMCS + VM_SBI_INCORE) != 0 && sbiInCore()) return;
    vmExit(cause, tval, htval, htinst);
    return;
  }
  if (!virt && priv == PRV_U && rd64(S_U_EXTERNAL) != 0) {
    // Trap-and-emulate (trapRun): the "kernel" of this U-mode code is the host's VMM.
    vmExit(cause, tval, 0, 0);
    return;
  }
  let code = cause & 63;
  wr64(S_LR_ADDR, 0xffffffffffffffff);
  let st = rd64(S_MSTATUS);
  if (target == TO_VS) {
    // Into VS-mode: the vs* CSRs, V stays 1. VS interrupts are reported with their S codes.
    if (isIrq && (code == IRQ_VSSI || code == IRQ_VSTI || code == IRQ_VSEI)) code -= 1;
    const c = isIrq ? CAUSE_INTERRUPT | code : code;
    wr64(S_VSCAUSE, c);
    wr64(S_VSEPC, pc);
    wr64(S_VSTVAL, tval);
    let vst = rd64(S_VSSTATUS);
    vst = (vst & ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE)) |
      (priv == PRV_S ? MSTATUS_SPP : 0) | ((vst & MSTATUS_SIE) != 0 ? MSTATUS_SPIE : 0);
    wr64(S_VSSTATUS, vst);
    const tv = rd64(S_VSTVEC);
    setPc((tv & ~(<u64>3)) + (isIrq && (tv & 1) != 0 ? code << 2 : 0));
    setPriv(PRV_S);
  } else if (target == TO_HS) {
    // Into HS-mode: SPV/SPVP/GVA in hstatus, SPP/SPIE/SIE in sstatus; V becomes 0.
    wr64(S_SCAUSE, cause);
    wr64(S_SEPC, pc);
    wr64(S_STVAL, tval);
    wr64(S_HTVAL, htval);
    wr64(S_HTINST, htinst);
    let hs = rd64(S_HSTATUS) & ~(HSTATUS_SPV | HSTATUS_GVA);
    if (virt) hs = (hs & ~HSTATUS_SPVP) | HSTATUS_SPV | (priv == PRV_S ? HSTATUS_SPVP : 0);
    if (gva) hs |= HSTATUS_GVA;
    wr64(S_HSTATUS, hs);
    st = (st & ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE)) |
      (priv == PRV_S ? MSTATUS_SPP : 0) | ((st & MSTATUS_SIE) != 0 ? MSTATUS_SPIE : 0);
    wr64(S_MSTATUS, st);
    const tv = rd64(S_STVEC);
    setPc((tv & ~(<u64>3)) + (isIrq && (tv & 1) != 0 ? code << 2 : 0));
    setPriv(PRV_S);
    setVirt(false);
  } else {
    // Into M-mode: MPV/GVA, MPP, MPIE <- MIE, MIE <- 0; mtval2/mtinst; V becomes 0.
    wr64(S_MCAUSE, cause);
    wr64(S_MEPC, pc);
    wr64(S_MTVAL, tval);
    wr64(S_MTVAL2, htval);
    wr64(S_MTINST, htinst);
    st = (st & ~(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPV | MSTATUS_GVA)) |
      (<u64>priv << MSTATUS_MPP_SHIFT) | ((st & MSTATUS_MIE) != 0 ? MSTATUS_MPIE : 0) |
      (virt ? MSTATUS_MPV : 0) | (gva ? MSTATUS_GVA : 0);
    wr64(S_MSTATUS, st);
    const tv = rd64(S_MTVEC);
    setPc((tv & ~(<u64>3)) + (isIrq && (tv & 1) != 0 ? code << 2 : 0));
    setPriv(PRV_M);
    setVirt(false);
  }
  wr64(isIrq ? S_STAT_INTERRUPTS : S_STAT_TRAPS, rd64(isIrq ? S_STAT_INTERRUPTS : S_STAT_TRAPS) + 1);
  setStop(true);
  setIrqCheck(true);
  bumpEpoch();
  updateContexts();
}

/** Raise a synchronous exception at the current pc (no guest address information). */
export function raiseException(cause: u64, tval: u64): void {
  takeTrap(cause, tval, false, 0, 0);
}

/** Raise an address-related exception: gva when tval is a guest virtual address. */
export function raiseFault(cause: u64, tval: u64, gva: bool, htval: u64, htinst: u64): void {
  takeTrap(cause, tval, gva, htval, htinst);
}

/** mret (§3.3.2, §8.6.4): priv <- MPP, V <- MPV (if MPP != M), MIE <- MPIE, MPIE <- 1, MPP <- U. */
export function doMret(): void {
  let st = rd64(S_MSTATUS);
  const mpp = <u32>((st & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  const mpv = (st & MSTATUS_MPV) != 0;
  st = (st & ~(MSTATUS_MIE | MSTATUS_MPP | MSTATUS_MPV)) | ((st & MSTATUS_MPIE) != 0 ? MSTATUS_MIE : 0) | MSTATUS_MPIE;
  if (mpp != PRV_M) st &= ~MSTATUS_MPRV;
  wr64(S_MSTATUS, st);
  setPriv(mpp);
  setVirt(mpp != PRV_M && mpv);
  setPc(rd64(S_MEPC));
  setIrqCheck(true);
  bumpEpoch();
  updateContexts();
}

/**
 * sret (§3.3.2, §8.6.4). In VS-mode it uses vsstatus and vsepc and stays in V = 1; in HS or M
 * it returns to the mode in sstatus.SPP with V <- hstatus.SPV, and clears SPV.
 */
export function doSret(): void {
  if (virt) {
    let vst = rd64(S_VSSTATUS);
    const spp = (vst & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
    vst = (vst & ~(MSTATUS_SIE | MSTATUS_SPP)) | ((vst & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0) | MSTATUS_SPIE;
    wr64(S_VSSTATUS, vst);
    setPriv(spp);
    setPc(rd64(S_VSEPC));
  } else {
    let st = rd64(S_MSTATUS);
    const spp = (st & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
    const hs = rd64(S_HSTATUS);
    st = (st & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) | ((st & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0) | MSTATUS_SPIE;
    wr64(S_MSTATUS, st);
    wr64(S_HSTATUS, hs & ~HSTATUS_SPV);
    setPriv(spp);
    setVirt((hs & HSTATUS_SPV) != 0);
    setPc(rd64(S_SEPC));
  }
  setIrqCheck(true);
  bumpEpoch();
  updateContexts();
}

/**
 * mip as software reads it: written bits, device lines, the timers, and the interrupts the
 * hypervisor injects through hvip (VSSIP, VSTIP, VSEIP; §8.2.4).
 */
export function mipValue(): u64 {
  return rd64(S_MIP) | rd64(S_IRQ_LINES) | timerPendingBits() | (rd64(S_HVIP) & VS_INTERRUPTS);
}

/** mie with the VS enable bits, which live in hie (§8.2.4). */
export function mieValue(): u64 {
  return rd64(S_MIE) | (rd64(S_HIE) & VS_INTERRUPTS);
}

@inline function bit(bits: u64, n: u32): bool {
  return ((bits >> <u64>n) & 1) != 0;
}

/** The highest-priority interrupt in `bits` (§3.1.9, §8.6.3 order), or -1. */
function pick(bits: u64): i32 {
  if (bit(bits, IRQ_MEI)) return IRQ_MEI;
  if (bit(bits, IRQ_MSI)) return IRQ_MSI;
  if (bit(bits, IRQ_MTI)) return IRQ_MTI;
  if (bit(bits, IRQ_SEI)) return IRQ_SEI;
  if (bit(bits, IRQ_SSI)) return IRQ_SSI;
  if (bit(bits, IRQ_STI)) return IRQ_STI;
  if (bit(bits, IRQ_SGEI)) return IRQ_SGEI;
  if (bit(bits, IRQ_VSEI)) return IRQ_VSEI;
  if (bit(bits, IRQ_VSSI)) return IRQ_VSSI;
  if (bit(bits, IRQ_VSTI)) return IRQ_VSTI;
  return -1;
}

/** The interrupt that would be taken now, or -1. */
export function pendingInterrupt(): i32 {
  const pending = mipValue() & mieValue();
  if (pending == 0) return -1;
  const st = rd64(S_MSTATUS);
  const mideleg = rd64(S_MIDELEG) | VS_INTERRUPTS;
  const hideleg = rd64(S_HIDELEG) & VS_INTERRUPTS;
  // With the host as hypervisor, the hart's own M and HS interrupts are the host's business;
  // only VS-level interrupt bits exist: delegated by hideleg they go to VS, otherwise they are
  // HS-level and end in a VM exit.
  if (virt && rd64(S_HS_EXTERNAL) != 0) {
    const toHs = pending & VS_INTERRUPTS & ~hideleg;
    if (toHs != 0) return pick(toHs);
  } else {
    // M-level: enabled below M, or in M with MIE.
    const mEnabled = priv < PRV_M || virt || (st & MSTATUS_MIE) != 0;
    const mPending = pending & ~mideleg;
    if (mEnabled && mPending != 0) return pick(mPending);
    // HS-level: enabled whenever V = 1, below S, or in HS with SIE; never in M.
    const hsEnabled = virt || priv < PRV_S || (priv == PRV_S && (st & MSTATUS_SIE) != 0);
    const hsPending = pending & mideleg & ~hideleg;
    if (hsEnabled && hsPending != 0) return pick(hsPending);
  }
  // VS-level: only with V = 1, in VU or in VS with vsstatus.SIE.
  if (virt) {
    const vsEnabled = priv == PRV_U || (rd64(S_VSSTATUS) & MSTATUS_SIE) != 0;
    const vsPending = pending & mideleg & hideleg;
    if (vsEnabled && vsPending != 0) return pick(vsPending);
  }
  return -1;
}

/** Take the highest-priority deliverable interrupt, if any. Returns true if one was taken. */
export function checkInterrupts(): bool {
  const irq = pendingInterrupt();
  if (irq < 0) return false;
  takeTrap(CAUSE_INTERRUPT | <u64>irq, 0, false, 0, 0);
  return true;
}

