// Operand extraction, one function per format of the ISA table (assembly/isa/table.ts).
//
// Each extractor writes rd, rs1, rs2 and imm of a decoded record (layout in abi.ts) and
// returns false when the encoding is reserved (the decoder then records an illegal
// instruction). A write to x0 is recorded as a write to x32, a sink register that nothing
// reads, so the executor never tests rd == 0.
//
// Base formats (unprivileged spec §2.3):
//   31      25 24  20 19  15 14  12 11   7 6      0
//  | funct7   |  rs2 |  rs1 |funct3|  rd  | opcode |  R
//  |     imm[11:0]   |  rs1 |funct3|  rd  | opcode |  I
//  | imm[11:5]|  rs2 |  rs1 |funct3|imm4:0| opcode |  S
//  |12|10:5   |  rs2 |  rs1 |funct3|4:1|11| opcode |  B
//  |        imm[31:12]              |  rd  | opcode |  U
//  |20|  10:1     |11|   19:12      |  rd  | opcode |  J
//
// Compressed formats (§16.2): rd'/rs1'/rs2' are 3-bit fields naming x8..x15.

import { R_RD, R_RS1, R_RS2, R_IMM } from './abi';

export const X_SINK: u32 = 32;

@inline function setRd(rec: usize, rd: u32): void {
  store<u8>(rec, <u8>(rd == 0 ? X_SINK : rd), R_RD);
}
@inline function setRs1(rec: usize, r: u32): void {
  store<u8>(rec, <u8>r, R_RS1);
}
@inline function setRs2(rec: usize, r: u32): void {
  store<u8>(rec, <u8>r, R_RS2);
}
@inline function setImm(rec: usize, imm: i32): void {
  store<i32>(rec, imm, R_IMM);
}
@inline function bits(w: u32, hi: u32, lo: u32): u32 {
  return (w >> lo) & ((1 << (hi - lo + 1)) - 1);
}
@inline function sext(v: u32, width: u32): i32 {
  const s = 32 - width;
  return (<i32>(v << s)) >> s;
}
@inline function rd(w: u32): u32 { return (w >> 7) & 31; }
@inline function rs1(w: u32): u32 { return (w >> 15) & 31; }
@inline function rs2(w: u32): u32 { return (w >> 20) & 31; }
/** A 3-bit compressed register field at bit `lo`, naming x8..x15. */
@inline function creg(w: u32, lo: u32): u32 { return 8 + ((w >> lo) & 7); }

// ---- 32-bit formats ----

export function fmtR(w: u32, rec: usize): bool {
  setRd(rec, rd(w)); setRs1(rec, rs1(w)); setRs2(rec, rs2(w)); setImm(rec, 0);
  return true;
}
export function fmtI(w: u32, rec: usize): bool {
  setRd(rec, rd(w)); setRs1(rec, rs1(w)); setRs2(rec, 0); setImm(rec, (<i32>w) >> 20);
  return true;
}
export function fmtS(w: u32, rec: usize): bool {
  setRd(rec, 0); setRs1(rec, rs1(w)); setRs2(rec, rs2(w));
  setImm(rec, (((<i32>w) >> 25) << 5) | <i32>bits(w, 11, 7));
  return true;
}
export function fmtB(w: u32, rec: usize): bool {
  setRd(rec, 0); setRs1(rec, rs1(w)); setRs2(rec, rs2(w));
  const imm = (bits(w, 31, 31) << 12) | (bits(w, 7, 7) << 11) | (bits(w, 30, 25) << 5) | (bits(w, 11, 8) << 1);
  setImm(rec, sext(imm, 13));
  return true;
}
export function fmtU(w: u32, rec: usize): bool {
  setRd(rec, rd(w)); setRs1(rec, 0); setRs2(rec, 0); setImm(rec, <i32>(w & 0xfffff000));
  return true;
}
export function fmtJ(w: u32, rec: usize): bool {
  setRd(rec, rd(w)); setRs1(rec, 0); setRs2(rec, 0);
  const imm = (bits(w, 31, 31) << 20) | (bits(w, 19, 12) << 12) | (bits(w, 20, 20) << 11) | (bits(w, 30, 21) << 1);
  setImm(rec, sext(imm, 21));
  return true;
}
/** Shift by a 6-bit shamt (RV64I slli/srli/srai). */
export function fmtSH6(w: u32, rec: usize): bool {
  setRd(rec, rd(w)); setRs1(rec, rs1(w)); setRs2(rec, 0); setImm(rec, <i32>bits(w, 25, 20));
  return true;
}
/** Shift by a 5-bit shamt (slliw/srliw/sraiw). */
export function fmtSH5(w: u32, rec: usize): bool {
  setRd(rec, rd(w)); setRs1(rec, rs1(w)); setRs2(rec, 0); setImm(rec, <i32>bits(w, 24, 20));
  return true;
}
/** CSR number in imm, source register in rs1. */
export function fmtCSR(w: u32, rec: usize): bool {
  setRd(rec, rd(w)); setRs1(rec, rs1(w)); setRs2(rec, 0); setImm(rec, <i32>(w >> 20));
  return true;
}
/** CSR number in imm, 5-bit zero-extended zimm in the rs1 field. */
export function fmtCSRI(w: u32, rec: usize): bool {
  return fmtCSR(w, rec);
}
export function fmtAMO(w: u32, rec: usize): bool {
  return fmtR(w, rec);
}
export function fmtLR(w: u32, rec: usize): bool {
  return fmtR(w, rec);
}
export function fmtSFENCE(w: u32, rec: usize): bool {
  return fmtR(w, rec);
}
export function fmtNONE(w: u32, rec: usize): bool {
  setRd(rec, 0); setRs1(rec, 0); setRs2(rec, 0); setImm(rec, 0);
  return true;
}

// ---- 16-bit formats (§16.3-16.5); each yields its expanded instruction's operands ----

/** c.addi4spn rd', nzuimm -> addi rd', x2, nzuimm; nzuimm[5:4|9:6|2|3] = [12:11|10:7|6|5]. */
export function fmtCIW(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 11) << 4) | (bits(h, 10, 7) << 6) | (bits(h, 6, 6) << 2) | (bits(h, 5, 5) << 3);
  setRd(rec, creg(h, 2)); setRs1(rec, 2); setRs2(rec, 0); setImm(rec, <i32>imm);
  return imm != 0;
}
/** c.lw: uimm[5:3] = [12:10], uimm[2] = [6], uimm[6] = [5]. */
export function fmtCLW(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 10) << 3) | (bits(h, 6, 6) << 2) | (bits(h, 5, 5) << 6);
  setRd(rec, creg(h, 2)); setRs1(rec, creg(h, 7)); setRs2(rec, 0); setImm(rec, <i32>imm);
  return true;
}
/** c.ld: uimm[5:3] = [12:10], uimm[7:6] = [6:5]. */
export function fmtCLD(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 10) << 3) | (bits(h, 6, 5) << 6);
  setRd(rec, creg(h, 2)); setRs1(rec, creg(h, 7)); setRs2(rec, 0); setImm(rec, <i32>imm);
  return true;
}
export function fmtCSW(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 10) << 3) | (bits(h, 6, 6) << 2) | (bits(h, 5, 5) << 6);
  setRd(rec, 0); setRs1(rec, creg(h, 7)); setRs2(rec, creg(h, 2)); setImm(rec, <i32>imm);
  return true;
}
export function fmtCSD(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 10) << 3) | (bits(h, 6, 5) << 6);
  setRd(rec, 0); setRs1(rec, creg(h, 7)); setRs2(rec, creg(h, 2)); setImm(rec, <i32>imm);
  return true;
}
@inline function ciImm(h: u32): i32 {
  return sext((bits(h, 12, 12) << 5) | bits(h, 6, 2), 6);
}
/** c.addi rd, imm -> addi rd, rd, imm (rd = 0 is a HINT: executes as a no-op). */
export function fmtCI(h: u32, rec: usize): bool {
  const r = rd(h);
  setRd(rec, r); setRs1(rec, r); setRs2(rec, 0); setImm(rec, ciImm(h));
  return true;
}
/** c.addiw rd, imm -> addiw rd, rd, imm; rd = 0 is reserved. */
export function fmtCADDIW(h: u32, rec: usize): bool {
  fmtCI(h, rec);
  return rd(h) != 0;
}
/** c.li rd, imm -> addi rd, x0, imm. */
export function fmtCLI(h: u32, rec: usize): bool {
  setRd(rec, rd(h)); setRs1(rec, 0); setRs2(rec, 0); setImm(rec, ciImm(h));
  return true;
}
/** c.addi16sp: nzimm[9] = [12], nzimm[4|6|8:7|5] = [6|5|4:3|2]; zero is reserved. */
export function fmtCADDI16SP(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 12) << 9) | (bits(h, 6, 6) << 4) | (bits(h, 5, 5) << 6) | (bits(h, 4, 3) << 7) | (bits(h, 2, 2) << 5);
  setRd(rec, 2); setRs1(rec, 2); setRs2(rec, 0); setImm(rec, sext(imm, 10));
  return imm != 0;
}
/** c.lui rd, nzimm[17:12]; zero is reserved (rd = 0 is a HINT). */
export function fmtCLUI(h: u32, rec: usize): bool {
  const v = (bits(h, 12, 12) << 5) | bits(h, 6, 2);
  setRd(rec, rd(h)); setRs1(rec, 0); setRs2(rec, 0); setImm(rec, sext(v, 6) << 12);
  return v != 0;
}
/** c.srli / c.srai rd', shamt[5] = [12], shamt[4:0] = [6:2]. */
export function fmtCBSH(h: u32, rec: usize): bool {
  const r = creg(h, 7);
  setRd(rec, r); setRs1(rec, r); setRs2(rec, 0); setImm(rec, <i32>((bits(h, 12, 12) << 5) | bits(h, 6, 2)));
  return true;
}
/** c.andi rd', imm. */
export function fmtCBI(h: u32, rec: usize): bool {
  const r = creg(h, 7);
  setRd(rec, r); setRs1(rec, r); setRs2(rec, 0); setImm(rec, ciImm(h));
  return true;
}
/** c.sub/xor/or/and/subw/addw rd', rs2'. */
export function fmtCA(h: u32, rec: usize): bool {
  const r = creg(h, 7);
  setRd(rec, r); setRs1(rec, r); setRs2(rec, creg(h, 2)); setImm(rec, 0);
  return true;
}
/** c.j: offset[11|4|9:8|10|6|7|3:1|5] = [12|11|10:9|8|7|6|5:3|2] -> jal x0. */
export function fmtCJ(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 12) << 11) | (bits(h, 11, 11) << 4) | (bits(h, 10, 9) << 8) | (bits(h, 8, 8) << 10) |
    (bits(h, 7, 7) << 6) | (bits(h, 6, 6) << 7) | (bits(h, 5, 3) << 1) | (bits(h, 2, 2) << 5);
  setRd(rec, 0); setRs1(rec, 0); setRs2(rec, 0); setImm(rec, sext(imm, 12));
  return true;
}
/** c.beqz/c.bnez rs1': offset[8|4:3] = [12|11:10], offset[7:6|2:1|5] = [6:5|4:3|2]. */
export function fmtCB(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 12) << 8) | (bits(h, 11, 10) << 3) | (bits(h, 6, 5) << 6) | (bits(h, 4, 3) << 1) | (bits(h, 2, 2) << 5);
  setRd(rec, 0); setRs1(rec, creg(h, 7)); setRs2(rec, 0); setImm(rec, sext(imm, 9));
  return true;
}
/** c.slli rd, shamt (rd = 0 is a HINT). */
export function fmtCSLLI(h: u32, rec: usize): bool {
  const r = rd(h);
  setRd(rec, r); setRs1(rec, r); setRs2(rec, 0); setImm(rec, <i32>((bits(h, 12, 12) << 5) | bits(h, 6, 2)));
  return true;
}
/** c.lwsp rd: uimm[5] = [12], uimm[4:2|7:6] = [6:4|3:2]; rd = 0 is reserved. */
export function fmtCLWSP(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 12) << 5) | (bits(h, 6, 4) << 2) | (bits(h, 3, 2) << 6);
  setRd(rec, rd(h)); setRs1(rec, 2); setRs2(rec, 0); setImm(rec, <i32>imm);
  return rd(h) != 0;
}
/** c.ldsp rd: uimm[5] = [12], uimm[4:3|8:6] = [6:5|4:2]; rd = 0 is reserved. */
export function fmtCLDSP(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 12) << 5) | (bits(h, 6, 5) << 3) | (bits(h, 4, 2) << 6);
  setRd(rec, rd(h)); setRs1(rec, 2); setRs2(rec, 0); setImm(rec, <i32>imm);
  return rd(h) != 0;
}
/** c.jr rs1 -> jalr x0, 0(rs1); rs1 = 0 is reserved. */
export function fmtCJR(h: u32, rec: usize): bool {
  setRd(rec, 0); setRs1(rec, rd(h)); setRs2(rec, 0); setImm(rec, 0);
  return rd(h) != 0;
}
/** c.mv rd, rs2 -> add rd, x0, rs2. */
export function fmtCMV(h: u32, rec: usize): bool {
  setRd(rec, rd(h)); setRs1(rec, 0); setRs2(rec, bits(h, 6, 2)); setImm(rec, 0);
  return true;
}
/** c.jalr rs1 -> jalr x1, 0(rs1). */
export function fmtCJALR(h: u32, rec: usize): bool {
  setRd(rec, 1); setRs1(rec, rd(h)); setRs2(rec, 0); setImm(rec, 0);
  return true;
}
/** c.add rd, rs2 -> add rd, rd, rs2. */
export function fmtCADD(h: u32, rec: usize): bool {
  const r = rd(h);
  setRd(rec, r); setRs1(rec, r); setRs2(rec, bits(h, 6, 2)); setImm(rec, 0);
  return true;
}
/** c.swsp rs2: uimm[5:2|7:6] = [12:9|8:7]. */
export function fmtCSWSP(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 9) << 2) | (bits(h, 8, 7) << 6);
  setRd(rec, 0); setRs1(rec, 2); setRs2(rec, bits(h, 6, 2)); setImm(rec, <i32>imm);
  return true;
}
/** c.sdsp rs2: uimm[5:3|8:6] = [12:10|9:7]. */
export function fmtCSDSP(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 10) << 3) | (bits(h, 9, 7) << 6);
  setRd(rec, 0); setRs1(rec, 2); setRs2(rec, bits(h, 6, 2)); setImm(rec, <i32>imm);
  return true;
}

// ---- F and D formats (unpriv spec ch. 20-21). An f register is a register: f0 is not a sink,
// so a destination f register is recorded as is. rm (bits 14:12) and rs3 (bits 31:27) are read
// from the record's raw bits by fp/exec.ts. ----

@inline function setFRd(rec: usize, r: u32): void {
  store<u8>(rec, <u8>r, R_RD);
}
/** flw/fld: f rd, imm(x rs1). */
export function fmtFL(w: u32, rec: usize): bool {
  setFRd(rec, rd(w)); setRs1(rec, rs1(w)); setRs2(rec, 0); setImm(rec, (<i32>w) >> 20);
  return true;
}
/** fsw/fsd: f rs2, imm(x rs1). */
export function fmtFS(w: u32, rec: usize): bool {
  return fmtS(w, rec);
}
/** f rd, f rs1, f rs2 (and rm when the row leaves it open). */
export function fmtFR(w: u32, rec: usize): bool {
  setFRd(rec, rd(w)); setRs1(rec, rs1(w)); setRs2(rec, rs2(w)); setImm(rec, 0);
  return true;
}
/** fmadd & co: f rd, rs1, rs2, rs3. */
export function fmtFR4(w: u32, rec: usize): bool {
  return fmtFR(w, rec);
}
/** f rd, f rs1 (fsqrt, fcvt.s.d, fcvt.d.s). */
export function fmtFR1(w: u32, rec: usize): bool {
  return fmtFR(w, rec);
}
/** f rd, x rs1 (fcvt.s.w..., fmv.w.x, fmv.d.x). */
export function fmtXF(w: u32, rec: usize): bool {
  return fmtFR(w, rec);
}
/** x rd, f rs1, f rs2 (feq, flt, fle): an x destination, so x0 goes to the sink. */
export function fmtFCMP(w: u32, rec: usize): bool {
  return fmtR(w, rec);
}
/** x rd, f rs1 (fcvt.w.s..., fclass, fmv.x.w, fmv.x.d). */
export function fmtFX(w: u32, rec: usize): bool {
  return fmtR(w, rec);
}
/** c.fld f rd', uimm(x rs1'): as c.ld (rd' names f8..f15). */
export function fmtCFLD(h: u32, rec: usize): bool {
  return fmtCLD(h, rec);
}
/** c.fsd f rs2', uimm(x rs1'): as c.sd. */
export function fmtCFSD(h: u32, rec: usize): bool {
  return fmtCSD(h, rec);
}
/** c.fldsp f rd, uimm(x2): as c.ldsp, but rd = 0 names f0 and is not reserved. */
export function fmtCFLDSP(h: u32, rec: usize): bool {
  const imm = (bits(h, 12, 12) << 5) | (bits(h, 6, 5) << 3) | (bits(h, 4, 2) << 6);
  setFRd(rec, rd(h)); setRs1(rec, 2); setRs2(rec, 0); setImm(rec, <i32>imm);
  return true;
}
/** c.fsdsp f rs2, uimm(x2): as c.sdsp. */
export function fmtCFSDSP(h: u32, rec: usize): bool {
  return fmtCSDSP(h, rec);
}
