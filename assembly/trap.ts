// Traps: exception and interrupt entry, mret/sret, and which interrupt (if any) is taken.
// Privileged spec §3.1.6 (mstatus stack), §3.1.8 (delegation), §3.1.9 (mip/mie and priority),
// §4.1.1 (sstatus).

import {
  S_MSTATUS, S_MEDELEG, S_MIDELEG, S_MIE, S_MIP, S_MTVEC, S_MEPC, S_MCAUSE, S_MTVAL,
  S_STVEC, S_SEPC, S_SCAUSE, S_STVAL, S_IRQ_LINES, S_LR_ADDR, S_STAT_TRAPS, S_STAT_INTERRUPTS,
} from './abi';
import {
  pc, priv, setPc, setPriv, setStop, setIrqCheck, bumpEpoch, rd64, wr64,
  PRV_M, PRV_S, PRV_U, MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_MPIE, MSTATUS_SPP,
  MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, CAUSE_INTERRUPT,
  IRQ_MEI, IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_SSI, IRQ_STI,
} from './state';
import { updateContexts } from './mmu';
import { timerPendingBits } from './timer';

/** Enter the trap handler for `cause` (bit 63 set for interrupts) with tval, from the current pc. */
export function takeTrap(cause: u64, tval: u64): void {
  const isIrq = (cause & CAUSE_INTERRUPT) != 0;
  const code = cause & 63;
  const deleg = rd64(isIrq ? S_MIDELEG : S_MEDELEG);
  let st = rd64(S_MSTATUS);
  wr64(S_LR_ADDR, 0xffffffffffffffff);
  if (priv <= PRV_S && ((deleg >> code) & 1) != 0) {
    // Into S-mode (§4.1.1): SPP, SPIE <- SIE, SIE <- 0.
    wr64(S_SCAUSE, cause);
    wr64(S_SEPC, pc);
    wr64(S_STVAL, tval);
    st = (st & ~(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE)) |
      (priv == PRV_S ? MSTATUS_SPP : 0) |
      ((st & MSTATUS_SIE) != 0 ? MSTATUS_SPIE : 0);
    wr64(S_MSTATUS, st);
    const tv = rd64(S_STVEC);
    setPc((tv & ~(<u64>3)) + (isIrq && (tv & 1) != 0 ? code << 2 : 0));
    setPriv(PRV_S);
  } else {
    // Into M-mode (§3.1.6.1): MPP <- priv, MPIE <- MIE, MIE <- 0.
    wr64(S_MCAUSE, cause);
    wr64(S_MEPC, pc);
    wr64(S_MTVAL, tval);
    st = (st & ~(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE)) |
      (<u64>priv << MSTATUS_MPP_SHIFT) |
      ((st & MSTATUS_MIE) != 0 ? MSTATUS_MPIE : 0);
    wr64(S_MSTATUS, st);
    const tv = rd64(S_MTVEC);
    setPc((tv & ~(<u64>3)) + (isIrq && (tv & 1) != 0 ? code << 2 : 0));
    setPriv(PRV_M);
  }
  wr64(isIrq ? S_STAT_INTERRUPTS : S_STAT_TRAPS, rd64(isIrq ? S_STAT_INTERRUPTS : S_STAT_TRAPS) + 1);
  setStop(true);
  setIrqCheck(true);
  bumpEpoch();
  updateContexts();
}

/** Raise a synchronous exception at the current pc. */
export function raiseException(cause: u64, tval: u64): void {
  takeTrap(cause, tval);
}

/** mret (§3.3.2): priv <- MPP, MIE <- MPIE, MPIE <- 1, MPP <- U; MPRV cleared if leaving M. */
export function doMret(): void {
  let st = rd64(S_MSTATUS);
  const mpp = <u32>((st & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  st = (st & ~(MSTATUS_MIE | MSTATUS_MPP)) | ((st & MSTATUS_MPIE) != 0 ? MSTATUS_MIE : 0) | MSTATUS_MPIE;
  if (mpp != PRV_M) st &= ~MSTATUS_MPRV;
  wr64(S_MSTATUS, st);
  setPriv(mpp);
  setPc(rd64(S_MEPC));
  setIrqCheck(true);
  bumpEpoch();
  updateContexts();
}

/** sret (§3.3.2): priv <- SPP, SIE <- SPIE, SPIE <- 1, SPP <- U; MPRV cleared. */
export function doSret(): void {
  let st = rd64(S_MSTATUS);
  const spp = (st & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
  st = (st & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) | ((st & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0) | MSTATUS_SPIE;
  wr64(S_MSTATUS, st);
  setPriv(spp);
  setPc(rd64(S_SEPC));
  setIrqCheck(true);
  bumpEpoch();
  updateContexts();
}

/** The value of mip as software reads it: written bits, device lines and the timers. */
export function mipValue(): u64 {
  return rd64(S_MIP) | rd64(S_IRQ_LINES) | timerPendingBits();
}

@inline function pick(bits: u64): u32 {
  // Priority order (§3.1.9): MEI, MSI, MTI, SEI, SSI, STI.
  if ((bits & (1 << IRQ_MEI)) != 0) return IRQ_MEI;
  if ((bits & (1 << IRQ_MSI)) != 0) return IRQ_MSI;
  if ((bits & (1 << IRQ_MTI)) != 0) return IRQ_MTI;
  if ((bits & (1 << IRQ_SEI)) != 0) return IRQ_SEI;
  if ((bits & (1 << IRQ_SSI)) != 0) return IRQ_SSI;
  if ((bits & (1 << IRQ_STI)) != 0) return IRQ_STI;
  return 0xffffffff;
}

/** The interrupt that would be taken now, or -1. */
export function pendingInterrupt(): i32 {
  const pending = mipValue() & rd64(S_MIE);
  if (pending == 0) return -1;
  const st = rd64(S_MSTATUS);
  const mideleg = rd64(S_MIDELEG);
  // M-level interrupts: enabled below M, or in M with MIE.
  const mEnabled = priv < PRV_M || (st & MSTATUS_MIE) != 0;
  const mPending = pending & ~mideleg;
  if (mEnabled && mPending != 0) return <i32>pick(mPending);
  // S-level (delegated): enabled below S, or in S with SIE; never while in M.
  const sEnabled = priv < PRV_S || (priv == PRV_S && (st & MSTATUS_SIE) != 0);
  const sPending = pending & mideleg;
  if (sEnabled && sPending != 0) return <i32>pick(sPending);
  return -1;
}

/** Take the highest-priority deliverable interrupt, if any. Returns true if one was taken. */
export function checkInterrupts(): bool {
  const irq = pendingInterrupt();
  if (irq < 0) return false;
  takeTrap(CAUSE_INTERRUPT | <u64>irq, 0);
  return true;
}
