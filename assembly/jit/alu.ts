// ALU and M-extension instructions for the emitter (emit.ts): each pushes its operands from
// the register locals (regs.ts) and pops the result into rd. Register x0 reads as 0; a write to
// it (rd = 32, the sink) emits nothing.

import { R_RD, R_RS1, R_RS2, R_IMM } from '../abi';
import * as W from './wasm';
import { getReg, setReg, L_VA, L_T, L_T2, L_T3 } from './regs';
import { rotateSource, rotateAmount, rotateWord } from './idioms';

export function binReg(r: usize, o: u8): void {
  const rd = <u32>load<u8>(r, R_RD);
  if (rd == 32) return;
  getReg(<u32>load<u8>(r, R_RS1));
  getReg(<u32>load<u8>(r, R_RS2));
  W.op(o);
  setReg(rd);
}

export function binImm(r: usize, o: u8): void {
  const rd = <u32>load<u8>(r, R_RD);
  if (rd == 32) return;
  getReg(<u32>load<u8>(r, R_RS1));
  W.i64c(<i64>load<i32>(r, R_IMM));
  W.op(o);
  setReg(rd);
}

/** A 32-bit operation on the low words, sign-extended (RV64 *W instructions, §5.2). */
export function word(r: usize, o: u8, imm: bool): void {
  const rd = <u32>load<u8>(r, R_RD);
  if (rd == 32) return;
  getReg(<u32>load<u8>(r, R_RS1));
  W.op(W.I32_WRAP_I64);
  if (imm) W.i32c(load<i32>(r, R_IMM));
  else { getReg(<u32>load<u8>(r, R_RS2)); W.op(W.I32_WRAP_I64); }
  W.op(o);
  W.op(W.I64_EXTEND_I32_S);
  setReg(rd);
}

/** `or` of two shifts that make a rotate (idioms.ts): one rotl. Returns false when it is not one. */
export function rotate(r: usize): bool {
  const src = rotateSource(r);
  if (src < 0) return false;
  getReg(<u32>src);
  if (rotateWord) {
    W.op(W.I32_WRAP_I64);
    W.i32c(<i32>rotateAmount);
    W.op(W.I32_ROTL);
    W.op(W.I64_EXTEND_I32_S);
  } else {
    W.i64c(<i64>rotateAmount);
    W.op(W.I64_ROTL);
  }
  setReg(<u32>load<u8>(r, R_RD));
  return true;
}

export function cmpReg(r: usize, o: u8, imm: bool): void {
  const rd = <u32>load<u8>(r, R_RD);
  if (rd == 32) return;
  getReg(<u32>load<u8>(r, R_RS1));
  if (imm) W.i64c(<i64>load<i32>(r, R_IMM));
  else getReg(<u32>load<u8>(r, R_RS2));
  W.op(o);
  W.op(W.I64_EXTEND_I32_U);
  setReg(rd);
}

/**
 * The high 64 bits of a 128-bit product (MULH, MULHSU, MULHU; §13.1) from four 32 x 32-bit
 * products: Wasm has no 64 x 64 -> 128 multiply. Signed operands are corrected afterwards:
 * high(a * b) signed = high unsigned - (a < 0 ? b : 0) - (b < 0 ? a : 0).
 */
export function mulHigh(r: usize, aSigned: bool, bSigned: bool): void {
  const rd = <u32>load<u8>(r, R_RD);
  if (rd == 32) return;
  getReg(<u32>load<u8>(r, R_RS1));
  W.localSet(L_VA); // a
  getReg(<u32>load<u8>(r, R_RS2));
  W.localSet(L_T); // b
  // p01 = lo(a) * hi(b), p10 = hi(a) * lo(b)
  W.localGet(L_VA); W.i64c(0xffffffff); W.op(W.I64_AND);
  W.localGet(L_T); W.i64c(32); W.op(W.I64_SHR_U);
  W.op(W.I64_MUL);
  W.localSet(L_T2);
  W.localGet(L_VA); W.i64c(32); W.op(W.I64_SHR_U);
  W.localGet(L_T); W.i64c(0xffffffff); W.op(W.I64_AND);
  W.op(W.I64_MUL);
  W.localSet(L_T3);
  // hi(a) * hi(b) + hi(p01) + hi(p10)
  W.localGet(L_VA); W.i64c(32); W.op(W.I64_SHR_U);
  W.localGet(L_T); W.i64c(32); W.op(W.I64_SHR_U);
  W.op(W.I64_MUL);
  W.localGet(L_T2); W.i64c(32); W.op(W.I64_SHR_U);
  W.op(W.I64_ADD);
  W.localGet(L_T3); W.i64c(32); W.op(W.I64_SHR_U);
  W.op(W.I64_ADD);
  // + carry of mid = hi(lo(a) * lo(b)) + lo(p01) + lo(p10)
  W.localGet(L_VA); W.i64c(0xffffffff); W.op(W.I64_AND);
  W.localGet(L_T); W.i64c(0xffffffff); W.op(W.I64_AND);
  W.op(W.I64_MUL);
  W.i64c(32); W.op(W.I64_SHR_U);
  W.localGet(L_T2); W.i64c(0xffffffff); W.op(W.I64_AND);
  W.op(W.I64_ADD);
  W.localGet(L_T3); W.i64c(0xffffffff); W.op(W.I64_AND);
  W.op(W.I64_ADD);
  W.i64c(32); W.op(W.I64_SHR_U);
  W.op(W.I64_ADD);
  if (aSigned) {
    // - (a < 0 ? b : 0) = - (b & (a >> 63))
    W.localGet(L_T);
    W.localGet(L_VA); W.i64c(63); W.op(W.I64_SHR_S);
    W.op(W.I64_AND);
    W.op(W.I64_SUB);
  }
  if (bSigned) {
    W.localGet(L_VA);
    W.localGet(L_T); W.i64c(63); W.op(W.I64_SHR_S);
    W.op(W.I64_AND);
    W.op(W.I64_SUB);
  }
  setReg(rd);
}

/**
 * Division and remainder inline (M extension §13.2): a zero divisor gives all ones (div) or
 * the dividend (rem); signed overflow (MIN / -1) gives MIN (div) or 0 (rem; Wasm's rem_s
 * already gives 0), where Wasm's div_s would trap. The word forms divide the low words
 * sign- or zero-extended to 64 bits, where no quotient overflows (INT32_MIN / -1 = 2^31), and
 * sign-extend the result's low word.
 */
export function divRem(r: usize, rem: bool, signed: bool, word: bool): void {
  const rd = <u32>load<u8>(r, R_RD);
  if (rd == 32) return;
  extendWord(<u32>load<u8>(r, R_RS1), signed, word);
  W.localSet(L_VA); // a
  extendWord(<u32>load<u8>(r, R_RS2), signed, word);
  W.localTee(L_T); // b
  W.op(W.I64_EQZ);
  W.structured(W.IF, W.T_I64);
  if (rem) W.localGet(L_VA); else W.i64c(-1);
  W.op(W.ELSE);
  if (signed && !rem && !word) {
    W.localGet(L_VA);
    W.i64c(i64.MIN_VALUE);
    W.op(W.I64_EQ);
    W.localGet(L_T);
    W.i64c(-1);
    W.op(W.I64_EQ);
    W.op(W.I32_AND);
    W.structured(W.IF, W.T_I64);
    W.i64c(i64.MIN_VALUE);
    W.op(W.ELSE);
  }
  W.localGet(L_VA);
  W.localGet(L_T);
  W.op(rem ? (signed ? W.I64_REM_S : W.I64_REM_U) : (signed ? W.I64_DIV_S : W.I64_DIV_U));
  if (signed && !rem && !word) W.op(W.END);
  W.op(W.END);
  if (word) W.op(W.I64_EXTEND32_S);
  setReg(rd);
}

/** Push register r, or for a word operation its low word sign- or zero-extended. */
export function extendWord(r: u32, signed: bool, word: bool): void {
  getReg(r);
  if (!word) return;
  if (signed) W.op(W.I64_EXTEND32_S);
  else { W.i64c(0xffffffff); W.op(W.I64_AND); }
}
