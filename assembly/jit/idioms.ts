// Guest idioms the emitter turns into one WebAssembly operation (issue 16).
//
// The rotate: RV64I without Zbb rotates with two shifts and an or (sha256's Σ and σ functions
// are `srliw t, x, k; slliw u, x, 32 - k; or d, t, u`). While a block is emitted, each register
// whose value is a constant shift of another register's current value remembers it; an `or`
// of a left and a right shift of the same source whose amounts add up to the width is emitted
// as one i32.rotl (i64.rotl for slli/srli). The shifts themselves still write their registers
// (they are architectural state). OR of two sign-extended words is the sign extension of their
// OR, so sext32(rotl32(x, k)) is exact for the W forms (unprivileged spec §4.2.1, RV64I
// shift-word instructions).
//
// The tracking is per block: emit.ts resets it where a block starts (every entry into a block's
// code, including its own loop, starts there), and a block's code is straight-line otherwise
// (a branch's taken path leaves it).

import { R_RD, R_RS1, R_RS2, R_IMM } from '../abi';

/** Source register of r's shift, -1 when r holds no tracked shift. */
const shSrc = new StaticArray<i32>(33);
/** Left-rotate amount the shift stands for: k for a left shift, width - k for a right one. */
const shRot = new StaticArray<u32>(33);
/** A left shift (else a right one). */
const shLeft = new StaticArray<bool>(33);
/** The 32-bit (W) form. */
const shWord = new StaticArray<bool>(33);

/** A block starts: no register holds a known shift. */
export function resetShifts(): void {
  for (let i = 0; i < 33; i++) unchecked(shSrc[i] = -1);
}

/** rd was written: it holds no tracked shift, and shifts of its old value are stale. */
export function forgetShifts(rd: u32): void {
  unchecked(shSrc[rd] = -1);
  for (let i = 1; i < 32; i++) if (unchecked(shSrc[i]) == <i32>rd) unchecked(shSrc[i] = -1);
}

/** After the constant shift of record r (rd = rs1 << or >> imm) is emitted: remember it. */
export function noteShift(r: usize, left: bool, word: bool): void {
  const rd = <u32>load<u8>(r, R_RD);
  const rs = <u32>load<u8>(r, R_RS1);
  const k = <u32>load<i32>(r, R_IMM) & (word ? 31 : 63);
  if (rd == 32 || rs == rd || rs == 0 || k == 0) return;
  unchecked(shSrc[rd] = <i32>rs);
  unchecked(shRot[rd] = left ? k : (word ? 32 : 64) - k);
  unchecked(shLeft[rd] = left);
  unchecked(shWord[rd] = word);
}

/**
 * Is record r (`or rd, a, b`) a rotate: a and b complementary shifts of one register that still
 * holds the value they shifted? Then returns that register; rotateAmount and rotateWord say
 * how. Else -1.
 */
export function rotateSource(r: usize): i32 {
  const rd = <u32>load<u8>(r, R_RD);
  const a = <u32>load<u8>(r, R_RS1);
  const b = <u32>load<u8>(r, R_RS2);
  if (rd == 32 || a == 0 || b == 0 || a == 32 || b == 32) return -1;
  const src = unchecked(shSrc[a]);
  if (src < 0 || unchecked(shSrc[b]) != src) return -1;
  if (unchecked(shWord[a]) != unchecked(shWord[b]) || unchecked(shLeft[a]) == unchecked(shLeft[b])) return -1;
  if (unchecked(shRot[a]) != unchecked(shRot[b])) return -1;
  rotateAmount = unchecked(shRot[a]);
  rotateWord = unchecked(shWord[a]);
  return src;
}
/** The left-rotate amount of the rotate rotateSource found last. */
export let rotateAmount: u32 = 0;
/** Whether it is a 32-bit rotate (i32.rotl, sign-extended). */
export let rotateWord: bool = false;
