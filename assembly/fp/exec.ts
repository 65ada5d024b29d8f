// The F and D executor: the interpreter (exec.ts) hands it every op from OP_FLW to OP_FMV_D_X.
// Arithmetic is softfloat.ts; this file is the architectural glue (unpriv spec ch. 20-21,
// privileged spec §3.1.6.6 "Extension Context Status" and §8.2.11 for vsstatus.FS):
//
//   - FS: with mstatus.FS = Off, or with V = 1 and vsstatus.FS = Off, every F/D instruction is
//     an illegal instruction. An instruction that writes an f register or changes fflags sets
//     FS = Dirty (and SD); with V = 1 both mstatus.FS and vsstatus.FS (§8.2.11).
//   - rm: the instruction's rounding mode, or frm when rm = 7 (dyn); 5, 6, and dyn with frm
//     5..7 are reserved: illegal instruction (§20.2).
//   - NaN-boxing (§21.2 "NaN Boxing of Narrower Values"): a single value lives in
//     the low half of a 64-bit f register whose upper half is all ones. An operand that is not
//     properly boxed reads as the canonical NaN; every single result is written boxed.
//     fsw and fmv.x.w move the low 32 bits as they are (no check).
//   - Flags accrue in fcsr.fflags; an instruction that traps changes nothing.
//
// The JIT does not translate these ops (jit/emit.ts hands any op it does not know to the
// interpreter with jitRest), so both tiers run this code.
//
// vCPUs: in VM mode each Vm has its own core instance and hart, so f0..f31 and fcsr stay in the
// hart's STATE across VM entries and exits (vmRun copies x registers only); a VMM that switched
// several vCPUs on one hart would have to carry them in the VMCS too.

import {
  STATE, S_F, S_FCSR, S_MMIO_LEN, TLB_READ, TLB_WRITE, TLB_ENTRIES,
  R_RD, R_RS1, R_RS2, R_IMM, R_RAW, R_LEN, EXIT_MMIO,
} from '../abi';
import * as O from '../gen/isa';
import {
  stop, exitReason, pc, addIcount, getX, setX, rd64, wr64, CAUSE_ILLEGAL_INSTRUCTION,
} from '../state';
import { ctxData, loadSlow } from '../mmu';
import { raiseException } from '../trap';
import { slowStore, readHost, writeHost } from '../exec'; // the TLB fast path, shared with integer loads and stores
import { fpEnabled, fpDirty } from './status';
import * as SF from './softfloat';

const BOX: u64 = 0xffffffff00000000;
/** f[i] is slot 34 + i of the x array (S_F = 34 * 8): an MMIO load completes into it (index.ts). */
export const F_AS_X: u32 = 34;

// ---- f registers ----
@inline function getF(i: u32): u64 { return load<u64>(STATE + S_F + (<usize>i << 3)); }
@inline function setF(i: u32, v: u64): void { store<u64>(STATE + S_F + (<usize>i << 3), v); }
/** A single operand: the low half when properly NaN-boxed, else the canonical NaN. */
@inline function getS(i: u32): u64 {
  const v = getF(i);
  return (v >> 32) == 0xffffffff ? v & 0xffffffff : 0x7fc00000;
}


/** Illegal instruction for record r, `left` records uncounted (r included). */
function illegalInsn(r: usize, left: u64): bool {
  addIcount(-left);
  const raw = load<u32>(r, R_RAW);
  raiseException(CAUSE_ILLEGAL_INSTRUCTION, <u64>(load<u8>(r, R_LEN) == 2 ? raw & 0xffff : raw));
  return false;
}

/** The rounding mode of instruction `raw`, or 8 when it is reserved. */
@inline function roundingMode(raw: u32): u32 {
  let rm = (raw >> 12) & 7;
  if (rm == 7) rm = <u32>(rd64(S_FCSR) >> 5) & 7;
  return rm <= SF.RM_RMM ? rm : 8;
}

// what an operation writes
const W_S: u32 = 1; // f rd, boxed single
const W_D: u32 = 2; // f rd, double
const W_X: u32 = 3; // x rd

/**
 * Execute the F/D instruction of record r (pc and the current record already set by the
 * caller); `left` is the number of records from r to the block's end (r included). Returns
 * false when the block must stop here (a trap, an MMIO exit, a store that changed code).
 */
export function fpExec(op: u32, r: usize, left: u64): bool {
  if (!fpEnabled()) return illegalInsn(r, left);
  const raw = load<u32>(r, R_RAW);
  const rd = <u32>load<u8>(r, R_RD);
  const rs1 = <u32>load<u8>(r, R_RS1);
  const rs2 = <u32>load<u8>(r, R_RS2);
  // ---- loads and stores ----
  if (op == O.OP_FLW || op == O.OP_FLD) {
    const size: u64 = op == O.OP_FLW ? 4 : 8;
    const va = getX(rs1) + <u64><i64>load<i32>(r, R_IMM);
    const h = readHost(va, size);
    let v: u64;
    if (h != 0) v = size == 4 ? <u64>load<u32>(h) : load<u64>(h);
    else {
      v = loadSlow(va, size, F_AS_X + rd, false);
      if (stop) {
        addIcount(-left);
        if (exitReason == EXIT_MMIO) { wr64(S_MMIO_LEN, <u64>load<u8>(r, R_LEN)); fpDirty(); }
        return false;
      }
    }
    setF(rd, size == 4 ? BOX | (v & 0xffffffff) : v);
    fpDirty();
    return true;
  }
  if (op == O.OP_FSW || op == O.OP_FSD) {
    const size: u64 = op == O.OP_FSW ? 4 : 8;
    const va = getX(rs1) + <u64><i64>load<i32>(r, R_IMM);
    const v = size == 4 ? getF(rs2) & 0xffffffff : getF(rs2);
    const h = writeHost(va, size);
    if (h != 0) {
      if (size == 4) store<u32>(h, <u32>v); else store<u64>(h, v);
      return true;
    }
    return !slowStore(va, <u32>size, v, pc, r, <u32>left);
  }
  // ---- computation: pure until committed below ----
  const rm = roundingMode(raw);
  let needsRm = true;
  let w = W_D;
  let res: u64 = 0;
  SF.clearFpFlags();
  switch (op) {
    // single
    case O.OP_FMADD_S: case O.OP_FMSUB_S: case O.OP_FNMSUB_S: case O.OP_FNMADD_S: {
      const rs3 = raw >> 27;
      res = SF.fma(false, getS(rs1), getS(rs2), getS(rs3), rm, op == O.OP_FNMSUB_S || op == O.OP_FNMADD_S,
        op == O.OP_FMSUB_S || op == O.OP_FNMADD_S);
      w = W_S;
      break;
    }
    case O.OP_FADD_S: res = SF.fadd(false, getS(rs1), getS(rs2), rm); w = W_S; break;
    case O.OP_FSUB_S: res = SF.fadd(false, getS(rs1), getS(rs2) ^ 0x80000000, rm); w = W_S; break;
    case O.OP_FMUL_S: res = SF.fmul(false, getS(rs1), getS(rs2), rm); w = W_S; break;
    case O.OP_FDIV_S: res = SF.fdiv(false, getS(rs1), getS(rs2), rm); w = W_S; break;
    case O.OP_FSQRT_S: res = SF.fsqrt(false, getS(rs1), rm); w = W_S; break;
    case O.OP_FSGNJ_S: case O.OP_FSGNJN_S: case O.OP_FSGNJX_S:
      res = SF.fsgnj(false, getS(rs1), getS(rs2), op - O.OP_FSGNJ_S); w = W_S; needsRm = false; break;
    case O.OP_FMIN_S: case O.OP_FMAX_S:
      res = SF.fminmax(false, getS(rs1), getS(rs2), op == O.OP_FMAX_S); w = W_S; needsRm = false; break;
    case O.OP_FEQ_S: res = SF.feq(false, getS(rs1), getS(rs2)); w = W_X; needsRm = false; break;
    case O.OP_FLT_S: res = SF.fless(false, getS(rs1), getS(rs2), false); w = W_X; needsRm = false; break;
    case O.OP_FLE_S: res = SF.fless(false, getS(rs1), getS(rs2), true); w = W_X; needsRm = false; break;
    case O.OP_FCLASS_S: res = SF.fclass(false, getS(rs1)); w = W_X; needsRm = false; break;
    case O.OP_FCVT_W_S: case O.OP_FCVT_WU_S: case O.OP_FCVT_L_S: case O.OP_FCVT_LU_S: {
      const k = op - O.OP_FCVT_W_S; // w, wu, l, lu
      res = SF.fcvtToInt(false, getS(rs1), rm, k >= 2, (k & 1) == 0);
      w = W_X;
      break;
    }
    case O.OP_FCVT_S_W: case O.OP_FCVT_S_WU: case O.OP_FCVT_S_L: case O.OP_FCVT_S_LU: {
      const k = op - O.OP_FCVT_S_W;
      res = SF.fcvtFromInt(false, getX(rs1), rm, k >= 2, (k & 1) == 0);
      w = W_S;
      break;
    }
    case O.OP_FMV_X_W: res = <u64><i64><i32>getF(rs1); w = W_X; needsRm = false; break;
    case O.OP_FMV_W_X: res = getX(rs1) & 0xffffffff; w = W_S; needsRm = false; break;
    // double
    case O.OP_FMADD_D: case O.OP_FMSUB_D: case O.OP_FNMSUB_D: case O.OP_FNMADD_D: {
      const rs3 = raw >> 27;
      res = SF.fma(true, getF(rs1), getF(rs2), getF(rs3), rm, op == O.OP_FNMSUB_D || op == O.OP_FNMADD_D,
        op == O.OP_FMSUB_D || op == O.OP_FNMADD_D);
      break;
    }
    case O.OP_FADD_D: res = SF.fadd(true, getF(rs1), getF(rs2), rm); break;
    case O.OP_FSUB_D: res = SF.fadd(true, getF(rs1), getF(rs2) ^ 0x8000000000000000, rm); break;
    case O.OP_FMUL_D: res = SF.fmul(true, getF(rs1), getF(rs2), rm); break;
    case O.OP_FDIV_D: res = SF.fdiv(true, getF(rs1), getF(rs2), rm); break;
    case O.OP_FSQRT_D: res = SF.fsqrt(true, getF(rs1), rm); break;
    case O.OP_FSGNJ_D: case O.OP_FSGNJN_D: case O.OP_FSGNJX_D:
      res = SF.fsgnj(true, getF(rs1), getF(rs2), op - O.OP_FSGNJ_D); needsRm = false; break;
    case O.OP_FMIN_D: case O.OP_FMAX_D:
      res = SF.fminmax(true, getF(rs1), getF(rs2), op == O.OP_FMAX_D); needsRm = false; break;
    case O.OP_FCVT_S_D: res = SF.fcvtFormat(true, getF(rs1), rm); w = W_S; break;
    case O.OP_FCVT_D_S: res = SF.fcvtFormat(false, getS(rs1), rm); break;
    case O.OP_FEQ_D: res = SF.feq(true, getF(rs1), getF(rs2)); w = W_X; needsRm = false; break;
    case O.OP_FLT_D: res = SF.fless(true, getF(rs1), getF(rs2), false); w = W_X; needsRm = false; break;
    case O.OP_FLE_D: res = SF.fless(true, getF(rs1), getF(rs2), true); w = W_X; needsRm = false; break;
    case O.OP_FCLASS_D: res = SF.fclass(true, getF(rs1)); w = W_X; needsRm = false; break;
    case O.OP_FCVT_W_D: case O.OP_FCVT_WU_D: case O.OP_FCVT_L_D: case O.OP_FCVT_LU_D: {
      const k = op - O.OP_FCVT_W_D;
      res = SF.fcvtToInt(true, getF(rs1), rm, k >= 2, (k & 1) == 0);
      w = W_X;
      break;
    }
    case O.OP_FCVT_D_W: case O.OP_FCVT_D_WU: case O.OP_FCVT_D_L: case O.OP_FCVT_D_LU: {
      const k = op - O.OP_FCVT_D_W;
      res = SF.fcvtFromInt(true, getX(rs1), rm, k >= 2, (k & 1) == 0);
      break;
    }
    case O.OP_FMV_X_D: res = getF(rs1); w = W_X; needsRm = false; break;
    case O.OP_FMV_D_X: res = getX(rs1); needsRm = false; break;
    default: return illegalInsn(r, left);
  }
  // Every instruction with an rm field checks it, even where the result is exact (fcvt.d.s,
  // fcvt.d.w), as the spec reads and QEMU does.
  if (needsRm && rm > SF.RM_RMM) return illegalInsn(r, left);
  // ---- commit ----
  let dirty = w != W_X;
  if (w == W_S) setF(rd, BOX | res);
  else if (w == W_D) setF(rd, res);
  else setX(rd, res);
  const fl = <u64>SF.fpFlags;
  if (fl != 0) {
    const fcsr = rd64(S_FCSR);
    if ((fcsr | fl) != fcsr) { wr64(S_FCSR, fcsr | fl); dirty = true; }
  }
  if (dirty) fpDirty();
  return true;
}
