// Control and status registers (privileged spec ch. 2, 3.1, 4.1, 8.2; Zicntr; Sstc).
//
// csrAccess() implements one CSR instruction's access: the privilege check from the address
// (bits 9:8 = lowest privilege, 2 = hypervisor CSRs; bits 11:10 = 3 for read-only), the read,
// the WARL write, and the side effects (translation contexts, interrupt re-check). A refused
// access sets csrFault to illegal instruction (2) or, from V = 1 where HS-mode would have been
// allowed, virtual instruction (22, §8.6.1); tval is the instruction bits, as QEMU does.
//
// With V = 1 the supervisor CSRs are the VS CSRs: sstatus is vsstatus, satp is vsatp, and so
// on (§8.2.9); sie/sip are views of hie/hip shifted down by one.

import {
  S_MSTATUS, S_MEDELEG, S_MIDELEG, S_MIE, S_MIP, S_MTVEC, S_MCOUNTEREN, S_MSCRATCH,
  S_MEPC, S_MCAUSE, S_MTVAL, S_STVEC, S_SCOUNTEREN, S_SSCRATCH, S_SEPC, S_SCAUSE, S_STVAL,
  S_SATP, S_MENVCFG, S_SENVCFG, S_STIMECMP, S_MCOUNTINHIBIT, S_MHARTID, S_PMPCFG, S_PMPADDR,
  S_MCYCLE_DELTA, S_MINSTRET_DELTA, S_HSTATUS, S_HEDELEG, S_HIDELEG, S_HIE, S_HVIP,
  S_HCOUNTEREN, S_HTIMEDELTA, S_HGATP, S_HENVCFG, S_HTVAL, S_HTINST, S_MTVAL2, S_MTINST,
  S_VSSTATUS, S_VSTVEC, S_VSSCRATCH, S_VSEPC, S_VSCAUSE, S_VSTVAL, S_VSATP, S_VSTIMECMP,
} from './abi';
import {
  priv, virt, icount, rd64, wr64, setIrqCheck, bumpEpoch, PRV_M, PRV_S, PRV_U,
  MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_MPIE, MSTATUS_SPP, MSTATUS_MPP, MSTATUS_MPRV,
  MSTATUS_SUM, MSTATUS_MXR, MSTATUS_TVM, MSTATUS_TW, MSTATUS_TSR, MSTATUS_UXL, MSTATUS_MPV,
  MSTATUS_GVA, HSTATUS_GVA, HSTATUS_SPV, HSTATUS_SPVP, HSTATUS_HU, HSTATUS_VTVM, HSTATUS_VTW,
  HSTATUS_VTSR, MIP_SSIP, MIP_STIP, MIP_SEIP, MIP_MSIP, MIP_MTIP, MIP_MEIP, MIP_VSSIP,
  VS_INTERRUPTS, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_VIRTUAL_INSTRUCTION,
} from './state';
import { updateContexts, flushGStage } from './mmu';
import { mipValue, mieValue } from './trap';
import { mtime } from './timer';
import { S_FCSR } from './abi';
import { MSTATUS_FS, MSTATUS_SD } from './state';
import { fpEnabled, fpDirty, withSD } from './fp/status';

/** misa: RV64 (MXL = 2) with A, C, D, F, H, I, M, S, U. */
export const MISA_VALUE: u64 = (<u64>2 << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);

const MSTATUS_WRITABLE: u64 = MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP |
  MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR |
  MSTATUS_MPV | MSTATUS_GVA | MSTATUS_FS;
/** The bits of mstatus visible through sstatus (§4.1.1). */
const SSTATUS_MASK: u64 = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL |
  MSTATUS_FS | MSTATUS_SD;
const SSTATUS_WRITABLE: u64 = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_FS;
/** Exceptions that may be delegated to HS (everything but ecall from M). */
const MEDELEG_WRITABLE: u64 = 0xf0b7ff;
/** Exceptions that may be delegated on to VS (§8.2.2: not ecall from VS/HS/M, guest faults, virtual instruction). */
const HEDELEG_WRITABLE: u64 = 0xb1ff;
const S_INTERRUPTS: u64 = MIP_SSIP | MIP_STIP | MIP_SEIP;
const MIE_WRITABLE: u64 = S_INTERRUPTS | MIP_MSIP | MIP_MTIP | MIP_MEIP;
const HSTATUS_WRITABLE: u64 = HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU | HSTATUS_VTVM | HSTATUS_VTW | HSTATUS_VTSR;
const HSTATUS_VSXL64: u64 = <u64>2 << 32;
const STCE: u64 = 1 << 63;
const MENVCFG_WRITABLE: u64 = STCE | 1; // STCE (Sstc), FIOM
const PMP_ENTRIES: u32 = 16; // as QEMU's virt CPU: pmpcfg0/pmpcfg2, pmpaddr0..15

/** Set by csrAccess when the access was refused: the cause to raise (2 or 22), else 0. */
export let csrFault: u64 = 0;

@inline function illegal(): u64 { csrFault = CAUSE_ILLEGAL_INSTRUCTION; return 0; }
@inline function virtualInsn(): u64 { csrFault = CAUSE_VIRTUAL_INSTRUCTION; return 0; }

/**
 * Counter-enable check for cycle/time/instret/hpmcounterN (Zicntr; §3.1.11, §4.1.5, and
 * hcounteren §8.2.6): false with csrFault set when the access must trap.
 */
function counterAllowed(bit: u32): bool {
  if (priv == PRV_M) return true;
  if (((rd64(S_MCOUNTEREN) >> bit) & 1) == 0) { illegal(); return false; }
  if (virt && ((rd64(S_HCOUNTEREN) >> bit) & 1) == 0) { virtualInsn(); return false; }
  if (priv == PRV_U && ((rd64(S_SCOUNTEREN) >> bit) & 1) == 0) {
    if (virt) virtualInsn(); else illegal();
    return false;
  }
  return true;
}

/** The VS CSR a supervisor CSR number names when V = 1 (§8.2.9), or the number itself. */
function redirect(csr: u32): u32 {
  switch (csr) {
    case 0x100: case 0x104: case 0x105: case 0x140: case 0x141: case 0x142: case 0x143:
    case 0x144: case 0x180: case 0x14d:
      return csr + 0x100;
    default:
      return csr;
  }
}

/** Supervisor, hypervisor and VS CSRs that exist (what HS-mode could access, for §8.6.1). */
function hsCsrExists(csr: u32): bool {
  switch (csr) {
    case 0x100: case 0x104: case 0x105: case 0x106: case 0x10a: case 0x140: case 0x141:
    case 0x142: case 0x143: case 0x144: case 0x14d: case 0x180:
    case 0x200: case 0x204: case 0x205: case 0x240: case 0x241: case 0x242: case 0x243:
    case 0x244: case 0x24d: case 0x280:
    case 0x600: case 0x602: case 0x603: case 0x604: case 0x605: case 0x606: case 0x607:
    case 0x60a: case 0x643: case 0x644: case 0x645: case 0x64a: case 0x680: case 0xe12:
      return true;
    default:
      return false;
  }
}

/**
 * Privilege check and read of CSR `csr`; sets csrFault when the access must trap. `willWrite`
 * is true when the instruction writes it (read-only CSRs then fail).
 */
function csrRead(csr: u32, willWrite: bool): u64 {
  const level = (csr >> 8) & 3;
  const readOnly = (csr >> 10) == 3;
  if (virt) {
    // From V = 1: M CSRs are illegal; H and VS CSRs, and S CSRs from VU, are virtual
    // instructions when HS-mode could have accessed them (§8.6.1).
    if (level == 3) return illegal();
    if (readOnly && willWrite) return illegal();
    if (level == 2 || (level == 1 && priv == PRV_U)) return hsCsrExists(csr) ? virtualInsn() : illegal();
    csr = redirect(csr);
  } else {
    if (priv < (level == 2 ? 1 : level) || (readOnly && willWrite)) return illegal();
  }
  switch (csr) {
    // ---- unprivileged counters (Zicntr) ----
    case 0xc00: if (!counterAllowed(0)) return 0; return icount - 1 + rd64(S_MCYCLE_DELTA);
    case 0xc01: if (!counterAllowed(1)) return 0; return mtime() + (virt ? rd64(S_HTIMEDELTA) : 0);
    case 0xc02: if (!counterAllowed(2)) return 0; return icount - 1 + rd64(S_MINSTRET_DELTA);
    // ---- supervisor (V = 0) ----
    case 0x100: return rd64(S_MSTATUS) & SSTATUS_MASK;
    // ---- floating point (unpriv spec §20.2): illegal while FS is Off (fp/status.ts) ----
    case 0x001: if (!fpEnabled()) return illegal(); return rd64(S_FCSR) & 0x1f;
    case 0x002: if (!fpEnabled()) return illegal(); return (rd64(S_FCSR) >> 5) & 7;
    case 0x003: if (!fpEnabled()) return illegal(); return rd64(S_FCSR) & 0xff;
    case 0x104: return mieValue() & rd64(S_MIDELEG) & S_INTERRUPTS;
    case 0x105: return rd64(S_STVEC);
    case 0x106: return rd64(S_SCOUNTEREN);
    case 0x10a: return rd64(S_SENVCFG);
    case 0x140: return rd64(S_SSCRATCH);
    case 0x141: return rd64(S_SEPC);
    case 0x142: return rd64(S_SCAUSE);
    case 0x143: return rd64(S_STVAL);
    case 0x144: return mipValue() & rd64(S_MIDELEG) & S_INTERRUPTS;
    case 0x14d:
      // Sstc: S-mode needs menvcfg.STCE and mcounteren.TM.
      if (priv == PRV_S && ((rd64(S_MENVCFG) & STCE) == 0 || (rd64(S_MCOUNTEREN) & 2) == 0)) return illegal();
      return rd64(S_STIMECMP);
    case 0x180:
      if (priv == PRV_S && (rd64(S_MSTATUS) & MSTATUS_TVM) != 0) return illegal();
      return rd64(S_SATP);
    // ---- virtual supervisor (§8.2.9-8.2.15) ----
    case 0x200: return (rd64(S_VSSTATUS) & SSTATUS_MASK) | (<u64>2 << 32);
    case 0x204: return (rd64(S_HIE) & rd64(S_HIDELEG) & VS_INTERRUPTS) >> 1;
    case 0x205: return rd64(S_VSTVEC);
    case 0x240: return rd64(S_VSSCRATCH);
    case 0x241: return rd64(S_VSEPC);
    case 0x242: return rd64(S_VSCAUSE);
    case 0x243: return rd64(S_VSTVAL);
    case 0x244: return (mipValue() & rd64(S_HIDELEG) & VS_INTERRUPTS) >> 1;
    case 0x24d:
      if (virt && ((rd64(S_HENVCFG) & STCE) == 0 || (rd64(S_HCOUNTEREN) & 2) == 0)) {
        if ((rd64(S_MENVCFG) & STCE) == 0 || (rd64(S_MCOUNTEREN) & 2) == 0) return illegal();
        return virtualInsn();
      }
      return rd64(S_VSTIMECMP);
    case 0x280:
      if (virt && (rd64(S_HSTATUS) & HSTATUS_VTVM) != 0) return virtualInsn();
      return rd64(S_VSATP);
    // ---- hypervisor (§8.2.1-8.2.8) ----
    case 0x600: return rd64(S_HSTATUS) | HSTATUS_VSXL64;
    case 0x602: return rd64(S_HEDELEG);
    case 0x603: return rd64(S_HIDELEG);
    case 0x604: return rd64(S_HIE) & VS_INTERRUPTS;
    case 0x605: return rd64(S_HTIMEDELTA);
    case 0x606: return rd64(S_HCOUNTEREN);
    case 0x607: return 0; // hgeie: no guest external interrupt files (GEILEN = 0)
    case 0x60a: return rd64(S_HENVCFG) & ((rd64(S_MENVCFG) & STCE) != 0 ? 0xffffffffffffffff : ~STCE);
    case 0x643: return rd64(S_HTVAL);
    case 0x644: return mipValue() & VS_INTERRUPTS;
    case 0x645: return rd64(S_HVIP) & VS_INTERRUPTS;
    case 0x64a: return rd64(S_HTINST);
    case 0x680:
      if (priv == PRV_S && (rd64(S_MSTATUS) & MSTATUS_TVM) != 0) return illegal();
      return rd64(S_HGATP);
    case 0xe12: return 0; // hgeip
    // ---- machine ----
    case 0xf11: case 0xf12: case 0xf13: case 0xf15: return 0;
    case 0xf14: return rd64(S_MHARTID);
    case 0x300: return rd64(S_MSTATUS);
    case 0x301: return MISA_VALUE;
    case 0x302: return rd64(S_MEDELEG);
    case 0x303: return rd64(S_MIDELEG) | VS_INTERRUPTS; // VS interrupts: read-only one (§8.4.1)
    case 0x304: return mieValue();
    case 0x305: return rd64(S_MTVEC);
    case 0x306: return rd64(S_MCOUNTEREN);
    case 0x30a: return rd64(S_MENVCFG);
    case 0x320: return rd64(S_MCOUNTINHIBIT);
    case 0x340: return rd64(S_MSCRATCH);
    case 0x341: return rd64(S_MEPC);
    case 0x342: return rd64(S_MCAUSE);
    case 0x343: return rd64(S_MTVAL);
    case 0x344: return mipValue();
    case 0x34a: return rd64(S_MTINST);
    case 0x34b: return rd64(S_MTVAL2);
    case 0xb00: return icount - 1 + rd64(S_MCYCLE_DELTA);
    case 0xb02: return icount - 1 + rd64(S_MINSTRET_DELTA);
    // Sdtrig with no triggers (debug spec 1.0 §5.1, §5.7): tselect is WARL with no legal
    // index but 0, and tdata1 there reads type 0, "there is no trigger at this tselect", which
    // ends a debugger's enumeration (and makes riscv-tests' rv64mi breakpoint skip). tdata2 and
    // tdata3 have no trigger to hold data for. All four read 0 and ignore writes (csrWrite);
    // they are M-mode CSRs (address bits 9:8), so S, U and V = 1 get illegal instruction.
    case 0x7a0: case 0x7a1: case 0x7a2: case 0x7a3: return 0;
    default:
      // hpmcounter3..31 (read as zero when enabled), mhpmcounter3..31, mhpmevent3..31.
      if (csr >= 0xc03 && csr <= 0xc1f) { if (!counterAllowed(csr - 0xc00)) return 0; return 0; }
      if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) return 0;
      if (csr >= 0x3a0 && csr <= 0x3af) {
        const n = csr - 0x3a0;
        if ((n & 1) != 0 || n >= PMP_ENTRIES / 4) return illegal(); // RV64: only even pmpcfg exist
        return rd64(S_PMPCFG + (<usize>(n >> 1) << 3));
      }
      if (csr >= 0x3b0 && csr <= 0x3ef) {
        const n = csr - 0x3b0;
        if (n >= PMP_ENTRIES) return illegal();
        return rd64(S_PMPADDR + (<usize>n << 3));
      }
      break;
  }
  return illegal();
}

/** satp, vsatp and hgatp writes: an unsupported MODE makes the whole write have no effect (§4.1.11). */
@inline function atpModeOk(v: u64): bool {
  const mode = v >> 60;
  return mode == 0 || mode == 8 || mode == 9;
}

/** WARL write of a CSR whose read succeeded (csr already redirected for V = 1). */
function csrWrite(csr: u32, v: u64): void {
  switch (csr) {
    // fcsr = frm (7:5) | fflags (4:0); a write makes the FP state Dirty
    case 0x001: wr64(S_FCSR, (rd64(S_FCSR) & ~(<u64>0x1f)) | (v & 0x1f)); fpDirty(); return;
    case 0x002: wr64(S_FCSR, (rd64(S_FCSR) & ~(<u64>0xe0)) | ((v & 7) << 5)); fpDirty(); return;
    case 0x003: wr64(S_FCSR, v & 0xff); fpDirty(); return;
    case 0x100: {
      const st = rd64(S_MSTATUS);
      wr64(S_MSTATUS, withSD((st & ~SSTATUS_WRITABLE) | (v & SSTATUS_WRITABLE)));
      updateContexts();
      setIrqCheck(true);
      return;
    }
    case 0x104: {
      const m = rd64(S_MIDELEG) & S_INTERRUPTS;
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
    case 0x180:
      if (!atpModeOk(v)) return;
      wr64(S_SATP, v);
      updateContexts();
      bumpEpoch();
      return;
    // ---- virtual supervisor ----
    case 0x200: {
      const st = rd64(S_VSSTATUS);
      wr64(S_VSSTATUS, withSD((st & ~SSTATUS_WRITABLE) | (v & SSTATUS_WRITABLE)));
      updateContexts();
      setIrqCheck(true);
      return;
    }
    case 0x204: {
      const m = rd64(S_HIDELEG) & VS_INTERRUPTS;
      wr64(S_HIE, (rd64(S_HIE) & ~m) | ((v << 1) & m));
      setIrqCheck(true);
      return;
    }
    case 0x205: if ((v & 3) < 2) wr64(S_VSTVEC, v); return;
    case 0x240: wr64(S_VSSCRATCH, v); return;
    case 0x241: wr64(S_VSEPC, v & ~(<u64>1)); return;
    case 0x242: wr64(S_VSCAUSE, v); return;
    case 0x243: wr64(S_VSTVAL, v); return;
    case 0x244: {
      // vsip.SSIP is hvip.VSSIP, when delegated.
      const w = MIP_VSSIP & rd64(S_HIDELEG);
      wr64(S_HVIP, (rd64(S_HVIP) & ~w) | ((v << 1) & w));
      setIrqCheck(true);
      return;
    }
    case 0x24d: wr64(S_VSTIMECMP, v); setIrqCheck(true); return;
    case 0x280:
      if (!atpModeOk(v)) return;
      wr64(S_VSATP, v);
      updateContexts();
      bumpEpoch();
      return;
    // ---- hypervisor ----
    case 0x600: {
      wr64(S_HSTATUS, v & HSTATUS_WRITABLE);
      updateContexts();
      return;
    }
    case 0x602: wr64(S_HEDELEG, v & HEDELEG_WRITABLE); return;
    case 0x603: wr64(S_HIDELEG, v & VS_INTERRUPTS); setIrqCheck(true); return;
    case 0x604: wr64(S_HIE, v & VS_INTERRUPTS); setIrqCheck(true); return;
    case 0x605: wr64(S_HTIMEDELTA, v); setIrqCheck(true); return;
    case 0x606: wr64(S_HCOUNTEREN, v & 0xffffffff); return;
    case 0x60a: {
      // henvcfg.STCE exists only when menvcfg.STCE does.
      const m = (rd64(S_MENVCFG) & STCE) != 0 ? STCE | 1 : <u64>1;
      wr64(S_HENVCFG, v & m);
      setIrqCheck(true);
      return;
    }
    case 0x643: wr64(S_HTVAL, v); return;
    case 0x644: {
      // hip.VSSIP is hvip.VSSIP; the other bits are read-only here.
      wr64(S_HVIP, (rd64(S_HVIP) & ~MIP_VSSIP) | (v & MIP_VSSIP));
      setIrqCheck(true);
      return;
    }
    case 0x645: wr64(S_HVIP, v & VS_INTERRUPTS); setIrqCheck(true); return;
    case 0x64a: wr64(S_HTINST, v); return;
    case 0x680: {
      // hgatp: the root of an x4 table is 16 KiB aligned (PPN bits 1:0 read as zero); VMID 14 bits.
      // An unsupported MODE is not ignored as for satp: the fields are WARL in the normal way
      // (§8.2.10), so MODE keeps its value and VMID and PPN are written.
      const mode: u64 = atpModeOk(v) ? v & (<u64>0xf << 60) : rd64(S_HGATP) & (<u64>0xf << 60);
      wr64(S_HGATP, mode | (v & 0x03fffffffffffffc));
      flushGStage();
      updateContexts();
      return;
    }
    case 0x300: {
      let nv = (rd64(S_MSTATUS) & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE);
      // MPP is WARL: the reserved value 2 keeps the previous mode.
      if (((nv & MSTATUS_MPP) >> 11) == 2) nv = (nv & ~MSTATUS_MPP) | (rd64(S_MSTATUS) & MSTATUS_MPP);
      wr64(S_MSTATUS, withSD(nv) | (<u64>2 << 32) | (<u64>2 << 34)); // UXL = SXL = 64 (read-only)
      updateContexts();
      setIrqCheck(true);
      return;
    }
    case 0x301: return; // misa is read-only here (WARL)
    case 0x302: wr64(S_MEDELEG, v & MEDELEG_WRITABLE); return;
    case 0x303: wr64(S_MIDELEG, v & S_INTERRUPTS); setIrqCheck(true); return;
    case 0x304:
      wr64(S_MIE, v & MIE_WRITABLE);
      wr64(S_HIE, v & VS_INTERRUPTS); // the VS bits of mie are hie's
      setIrqCheck(true);
      return;
    case 0x305: if ((v & 3) < 2) wr64(S_MTVEC, v); return;
    case 0x306: wr64(S_MCOUNTEREN, v & 0xffffffff); return;
    case 0x30a: wr64(S_MENVCFG, v & MENVCFG_WRITABLE); setIrqCheck(true); return;
    case 0x320: wr64(S_MCOUNTINHIBIT, v & 0xfffffffd); return;
    case 0x340: wr64(S_MSCRATCH, v); return;
    case 0x341: wr64(S_MEPC, v & ~(<u64>1)); return;
    case 0x342: wr64(S_MCAUSE, v); return;
    case 0x343: wr64(S_MTVAL, v); return;
    case 0x344: {
      // M-mode may write SSIP, STIP (unless Sstc drives it), SEIP (§3.1.9) and VSSIP (hvip).
      let w = S_INTERRUPTS;
      if ((rd64(S_MENVCFG) & STCE) != 0) w &= ~MIP_STIP;
      wr64(S_MIP, (rd64(S_MIP) & ~w) | (v & w));
      wr64(S_HVIP, (rd64(S_HVIP) & ~MIP_VSSIP) | (v & MIP_VSSIP));
      setIrqCheck(true);
      return;
    }
    case 0x34a: wr64(S_MTINST, v); return;
    case 0x34b: wr64(S_MTVAL2, v); return;
    // After a write the writing instruction's own increment is not seen (§3.3.1 note):
    // the next read returns v plus the instructions retired after this one.
    case 0xb00: wr64(S_MCYCLE_DELTA, v - icount); return;
    case 0xb02: wr64(S_MINSTRET_DELTA, v - icount); return;
    case 0x7a0: case 0x7a1: case 0x7a2: case 0x7a3: return; // Sdtrig, no triggers (see csrRead)
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
 * Returns the old value; check csrFault afterwards.
 */
export function csrAccess(csr: u32, kind: u32, src: u64, writes: bool): u64 {
  csrFault = 0;
  const old = csrRead(csr, writes);
  if (csrFault != 0 || !writes) return old;
  const nv = kind == CSR_RW ? src : kind == CSR_RS ? old | src : old & ~src;
  csrWrite(virt ? redirect(csr) : csr, nv);
  return old;
}

/**
 * Which exception an instruction of the privileged set raises here, or 0 (§3.1.6.5, §8.6.1):
 * the mstatus trap bits (TW, TSR, TVM) give illegal instruction, the hstatus ones in V = 1
 * (VTW, VTSR, VTVM) and supervisor instructions in VU give virtual instruction.
 */
export function wfiFault(): u64 {
  if (priv == PRV_M) return 0;
  if ((rd64(S_MSTATUS) & MSTATUS_TW) != 0) return CAUSE_ILLEGAL_INSTRUCTION;
  if (virt) return priv == PRV_U || (rd64(S_HSTATUS) & HSTATUS_VTW) != 0 ? CAUSE_VIRTUAL_INSTRUCTION : 0;
  return priv == PRV_U ? CAUSE_ILLEGAL_INSTRUCTION : 0;
}
export function sretFault(): u64 {
  if (priv == PRV_M) return 0;
  if (virt) return priv == PRV_U || (rd64(S_HSTATUS) & HSTATUS_VTSR) != 0 ? CAUSE_VIRTUAL_INSTRUCTION : 0;
  if (priv == PRV_U || (rd64(S_MSTATUS) & MSTATUS_TSR) != 0) return CAUSE_ILLEGAL_INSTRUCTION;
  return 0;
}
export function sfenceFault(): u64 {
  if (priv == PRV_M) return 0;
  if (virt) return priv == PRV_U || (rd64(S_HSTATUS) & HSTATUS_VTVM) != 0 ? CAUSE_VIRTUAL_INSTRUCTION : 0;
  if (priv == PRV_U || (rd64(S_MSTATUS) & MSTATUS_TVM) != 0) return CAUSE_ILLEGAL_INSTRUCTION;
  return 0;
}
/** HLV/HLVX/HSV (§8.2.8): virtual instruction from V = 1; from U only with hstatus.HU. */
export function hyperAccessFault(): u64 {
  if (virt) return CAUSE_VIRTUAL_INSTRUCTION;
  if (priv == PRV_U && (rd64(S_HSTATUS) & HSTATUS_HU) == 0) return CAUSE_ILLEGAL_INSTRUCTION;
  return 0;
}
/** HFENCE.VVMA/GVMA: virtual instruction from V = 1, illegal from U; GVMA also with TVM in HS. */
export function hfenceFault(gvma: bool): u64 {
  if (virt) return CAUSE_VIRTUAL_INSTRUCTION;
  if (priv == PRV_U) return CAUSE_ILLEGAL_INSTRUCTION;
  if (gvma && priv == PRV_S && (rd64(S_MSTATUS) & MSTATUS_TVM) != 0) return CAUSE_ILLEGAL_INSTRUCTION;
  return 0;
}
