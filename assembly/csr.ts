// Control and status registers (privileged spec ch. 2, 3.1, 4.1; Zicntr; Sstc).
//
// csrAccess() implements one CSR instruction's access: the privilege check from the address
// (bits 9:8 = lowest privilege, bits 11:10 = 3 for read-only), the read, the WARL write, and
// the side effects (translation contexts, interrupt re-check). An access that is not allowed
// raises illegal instruction with the instruction bits in tval, as QEMU does.

import {
  S_MSTATUS, S_MISA, S_MEDELEG, S_MIDELEG, S_MIE, S_MIP, S_MTVEC, S_MCOUNTEREN, S_MSCRATCH,
  S_MEPC, S_MCAUSE, S_MTVAL, S_STVEC, S_SCOUNTEREN, S_SSCRATCH, S_SEPC, S_SCAUSE, S_STVAL,
  S_SATP, S_MENVCFG, S_SENVCFG, S_STIMECMP, S_MCOUNTINHIBIT, S_MHARTID, S_PMPCFG, S_PMPADDR,
  S_MCYCLE_DELTA, S_MINSTRET_DELTA,
} from './abi';
import {
  priv, icount, rd64, wr64, setIrqCheck, bumpEpoch, PRV_M, PRV_S, PRV_U,
  MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_MPIE, MSTATUS_SPP, MSTATUS_MPP, MSTATUS_MPRV,
  MSTATUS_SUM, MSTATUS_MXR, MSTATUS_TVM, MSTATUS_TW, MSTATUS_TSR, MSTATUS_UXL, MSTATUS_SXL,
  MIP_SSIP, MIP_STIP, MIP_SEIP, MIP_MSIP, MIP_MTIP, MIP_MEIP,
} from './state';
import { updateContexts } from './mmu';
import { mipValue } from './trap';
import { mtime } from './timer';

/** misa: RV64 (MXL = 2) with A, C, I, M, S, U. */
export const MISA_VALUE: u64 = (<u64>2 << 62) | (1 << 0) | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);

const MSTATUS_WRITABLE: u64 = MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP |
  MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR;
/** The bits of mstatus visible through sstatus (§4.1.1). */
const SSTATUS_MASK: u64 = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL;
const SSTATUS_WRITABLE: u64 = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR;
/** Exceptions that may be delegated to S (QEMU: everything but ecall from M). */
const MEDELEG_WRITABLE: u64 = 0xb3ff;
const S_INTERRUPTS: u64 = MIP_SSIP | MIP_STIP | MIP_SEIP;
const MIE_WRITABLE: u64 = S_INTERRUPTS | MIP_MSIP | MIP_MTIP | MIP_MEIP;
const STCE: u64 = 1 << 63;
const MENVCFG_WRITABLE: u64 = STCE | 1; // STCE (Sstc), FIOM
const PMP_ENTRIES: u32 = 16; // as QEMU's virt CPU: pmpcfg0/pmpcfg2, pmpaddr0..15

/** Set by csrAccess when the access was illegal (the caller raises the exception). */
export let csrIllegal: bool = false;

/** Counter-enable check for cycle/time/instret/hpmcounterN (Zicntr; §3.1.11, §4.1.5). */
function counterAllowed(bit: u32): bool {
  if (priv == PRV_M) return true;
  if (((rd64(S_MCOUNTEREN) >> bit) & 1) == 0) return false;
  if (priv == PRV_U && ((rd64(S_SCOUNTEREN) >> bit) & 1) == 0) return false;
  return true;
}

/**
 * Read CSR `csr`; sets csrIllegal when it does not exist or is not accessible at this
 * privilege. `willWrite` is true when the instruction writes it (read-only CSRs then fail).
 */
function csrRead(csr: u32, willWrite: bool): u64 {
  // §2.1: bits 9:8 give the lowest privilege, 11:10 == 3 marks read-only.
  if (priv < ((csr >> 8) & 3) || (willWrite && (csr >> 10) == 3)) { csrIllegal = true; return 0; }
  switch (csr) {
    // ---- unprivileged counters (Zicntr) ----
    case 0xc00: if (!counterAllowed(0)) break; return icount - 1 + rd64(S_MCYCLE_DELTA);
    case 0xc01: if (!counterAllowed(1)) break; return mtime();
    case 0xc02: if (!counterAllowed(2)) break; return icount - 1 + rd64(S_MINSTRET_DELTA);
    // ---- supervisor ----
    case 0x100: return rd64(S_MSTATUS) & SSTATUS_MASK;
    case 0x104: return rd64(S_MIE) & rd64(S_MIDELEG);
    case 0x105: return rd64(S_STVEC);
    case 0x106: return rd64(S_SCOUNTEREN);
    case 0x10a: return rd64(S_SENVCFG);
    case 0x140: return rd64(S_SSCRATCH);
    case 0x141: return rd64(S_SEPC);
    case 0x142: return rd64(S_SCAUSE);
    case 0x143: return rd64(S_STVAL);
    case 0x144: return mipValue() & rd64(S_MIDELEG);
    case 0x14d:
      // Sstc: S-mode needs menvcfg.STCE and mcounteren.TM.
      if (priv == PRV_S && ((rd64(S_MENVCFG) & STCE) == 0 || (rd64(S_MCOUNTEREN) & 2) == 0)) break;
      return rd64(S_STIMECMP);
    case 0x180:
      if (priv == PRV_S && (rd64(S_MSTATUS) & MSTATUS_TVM) != 0) break;
      return rd64(S_SATP);
    // ---- machine ----
    case 0xf11: case 0xf12: case 0xf13: case 0xf15: return 0;
    case 0xf14: return rd64(S_MHARTID);
    case 0x300: return rd64(S_MSTATUS);
    case 0x301: return MISA_VALUE;
    case 0x302: return rd64(S_MEDELEG);
    case 0x303: return rd64(S_MIDELEG);
    case 0x304: return rd64(S_MIE);
    case 0x305: return rd64(S_MTVEC);
    case 0x306: return rd64(S_MCOUNTEREN);
    case 0x30a: return rd64(S_MENVCFG);
    case 0x320: return rd64(S_MCOUNTINHIBIT);
    case 0x340: return rd64(S_MSCRATCH);
    case 0x341: return rd64(S_MEPC);
    case 0x342: return rd64(S_MCAUSE);
    case 0x343: return rd64(S_MTVAL);
    case 0x344: return mipValue();
    case 0xb00: return icount - 1 + rd64(S_MCYCLE_DELTA);
    case 0xb02: return icount - 1 + rd64(S_MINSTRET_DELTA);
    default:
      // hpmcounter3..31 (read as zero when enabled), mhpmcounter3..31, mhpmevent3..31.
      if (csr >= 0xc03 && csr <= 0xc1f) { if (!counterAllowed(csr - 0xc00)) break; return 0; }
      if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) return 0;
      if (csr >= 0x3a0 && csr <= 0x3af) {
        const n = csr - 0x3a0;
        if ((n & 1) != 0 || n >= PMP_ENTRIES / 4) break; // RV64: only even pmpcfg exist
        return rd64(S_PMPCFG + (<usize>(n >> 1) << 3));
      }
      if (csr >= 0x3b0 && csr <= 0x3ef) {
        const n = csr - 0x3b0;
        if (n >= PMP_ENTRIES) break;
        return rd64(S_PMPADDR + (<usize>n << 3));
      }
      break;
  }
  csrIllegal = true;
  return 0;
}

/** WARL write of a CSR whose read succeeded. */
function csrWrite(csr: u32, v: u64): void {
  switch (csr) {
    case 0x100: {
      const st = rd64(S_MSTATUS);
      wr64(S_MSTATUS, (st & ~SSTATUS_WRITABLE) | (v & SSTATUS_WRITABLE));
      updateContexts();
      setIrqCheck(true);
      return;
    }
    case 0x104: {
      const m = rd64(S_MIDELEG);
      wr64(S_MIE, (rd64(S_MIE) & ~m) | (v & m));
      setIrqCheck(true);
      return;
    }
    case 0x105: if ((v & 3) < 2) wr64(S_STVEC, v); return;
    case 0x106: wr64(S_SCOUNTEREN, v & 0xffffffff); return;
    case 0x10a: wr64(S_SENVCFG, v & 1); return;
    case 0x140: wr64(S_SSCRATCH, v); return;
    case 0x141: wr64(S_SEPC, v & ~(<u64>1)); return;
    case 0x142: wr64(S_SCAUSE, v); return;
    case 0x143: wr64(S_STVAL, v); return;
    case 0x144: {
      // Only SSIP is writable through sip, and only when delegated.
      const w = MIP_SSIP & rd64(S_MIDELEG);
      wr64(S_MIP, (rd64(S_MIP) & ~w) | (v & w));
      setIrqCheck(true);
      return;
    }
    case 0x14d: wr64(S_STIMECMP, v); setIrqCheck(true); return;
    case 0x180: {
      // §4.1.11: a write with an unsupported MODE has no effect. Bare, Sv39, Sv48.
      const mode = v >> 60;
      if (mode != 0 && mode != 8 && mode != 9) return;
      wr64(S_SATP, v);
      updateContexts();
      bumpEpoch();
      return;
    }
    case 0x300: {
      let nv = (rd64(S_MSTATUS) & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE);
      // MPP is WARL: the reserved value 2 keeps the previous mode.
      if (((nv & MSTATUS_MPP) >> 11) == 2) nv = (nv & ~MSTATUS_MPP) | (rd64(S_MSTATUS) & MSTATUS_MPP);
      wr64(S_MSTATUS, nv | (<u64>2 << 32) | (<u64>2 << 34)); // UXL = SXL = 64 (read-only)
      updateContexts();
      setIrqCheck(true);
      return;
    }
    case 0x301: return; // misa is read-only here (WARL)
    case 0x302: wr64(S_MEDELEG, v & MEDELEG_WRITABLE); return;
    case 0x303: wr64(S_MIDELEG, v & S_INTERRUPTS); setIrqCheck(true); return;
    case 0x304: wr64(S_MIE, v & MIE_WRITABLE); setIrqCheck(true); return;
    case 0x305: if ((v & 3) < 2) wr64(S_MTVEC, v); return;
    case 0x306: wr64(S_MCOUNTEREN, v & 0xffffffff); return;
    case 0x30a: wr64(S_MENVCFG, v & MENVCFG_WRITABLE); setIrqCheck(true); return;
    case 0x320: wr64(S_MCOUNTINHIBIT, v & 0xfffffffd); return;
    case 0x340: wr64(S_MSCRATCH, v); return;
    case 0x341: wr64(S_MEPC, v & ~(<u64>1)); return;
    case 0x342: wr64(S_MCAUSE, v); return;
    case 0x343: wr64(S_MTVAL, v); return;
    case 0x344: {
      // M-mode may write SSIP, STIP (unless Sstc drives it) and SEIP (§3.1.9).
      let w = S_INTERRUPTS;
      if ((rd64(S_MENVCFG) & STCE) != 0) w &= ~MIP_STIP;
      wr64(S_MIP, (rd64(S_MIP) & ~w) | (v & w));
      setIrqCheck(true);
      return;
    }
    // After a write the writing instruction's own increment is not seen (§3.3.1 note):
    // the next read returns v plus the instructions retired after this one.
    case 0xb00: wr64(S_MCYCLE_DELTA, v - icount); return;
    case 0xb02: wr64(S_MINSTRET_DELTA, v - icount); return;
    default:
      if (csr >= 0x3a0 && csr <= 0x3af) {
        const slot = S_PMPCFG + (<usize>((csr - 0x3a0) >> 1) << 3);
        // A locked entry (L, bit 7 of its byte) keeps its configuration.
        const old = rd64(slot);
        let nv: u64 = 0;
        for (let b: u64 = 0; b < 64; b += 8) {
          const ob = (old >> b) & 0xff;
          let nb = (v >> b) & 0x9f; // bits 6:5 are reserved (WARL 0)
          if ((nb & 3) == 2) nb &= ~(<u64>2); // R=0, W=1 is reserved: clear W
          nv |= ((ob & 0x80) != 0 ? ob : nb) << b;
        }
        wr64(slot, nv);
        return;
      }
      if (csr >= 0x3b0 && csr <= 0x3ef) {
        wr64(S_PMPADDR + (<usize>(csr - 0x3b0) << 3), v & 0x3fffffffffffff);
        return;
      }
      return; // counters and hpm events read as zero, writes ignored
  }
}

export const CSR_RW: u32 = 1;
export const CSR_RS: u32 = 2;
export const CSR_RC: u32 = 3;

/**
 * One CSR instruction: `kind` is CSR_RW/RS/RC, `src` the rs1 value or zimm, and `writes`
 * false for csrrs/csrrc with rs1 = x0 (or zimm = 0), which must not write (§9.1).
 * Returns the old value; check csrIllegal afterwards.
 */
export function csrAccess(csr: u32, kind: u32, src: u64, writes: bool): u64 {
  csrIllegal = false;
  const old = csrRead(csr, writes);
  if (csrIllegal || !writes) return old;
  const nv = kind == CSR_RW ? src : kind == CSR_RS ? old | src : old & ~src;
  csrWrite(csr, nv);
  return old;
}

/** WFI is illegal in U-mode and, with mstatus.TW, in S-mode (§3.1.6.5, as QEMU). */
export function wfiAllowed(): bool {
  if (priv == PRV_U) return false;
  if (priv == PRV_S && (rd64(S_MSTATUS) & MSTATUS_TW) != 0) return false;
  return true;
}
/** sret is illegal in U-mode and, with mstatus.TSR, in S-mode. */
export function sretAllowed(): bool {
  if (priv == PRV_U) return false;
  if (priv == PRV_S && (rd64(S_MSTATUS) & MSTATUS_TSR) != 0) return false;
  return true;
}
/** sfence.vma is illegal in U-mode and, with mstatus.TVM, in S-mode. */
export function sfenceAllowed(): bool {
  if (priv == PRV_U) return false;
  if (priv == PRV_S && (rd64(S_MSTATUS) & MSTATUS_TVM) != 0) return false;
  return true;
}
