/**
 * C extension, RV64 (unprivileged spec ch. 16): every compressed instruction from its 16-bit
 * encoding, checked against the base instruction it expands to (pc + 2 when it falls through),
 * and the reserved encodings that must raise illegal instruction with mtval = the 16 bits.
 * Encoders missing from test/diff/encode.ts are written here from §16.3-16.5 and checked
 * against objdump's encodings.
 */
import { expect } from 'vitest';
import * as E from '../../diff/encode';
import { Cases, CODE, DATA, MTVEC, expectChanges, expectIllegal, expectRetired, slotValue, u64, type Harness } from '../harness';

export const cases = new Cases();

const ALL = 0xffffffffffffffffn;
const bits = (v: number, hi: number, lo: number) => (v >>> lo) & ((1 << (hi - lo + 1)) - 1);

// ---- CSS / CI stack-pointer forms and CR jumps (§16.3, §16.4) ----
const cLwsp = (rd: number, off: number) => (2 << 13) | (bits(off, 5, 5) << 12) | (rd << 7) | (bits(off, 4, 2) << 4) | (bits(off, 7, 6) << 2) | 2;
const cLdsp = (rd: number, off: number) => (3 << 13) | (bits(off, 5, 5) << 12) | (rd << 7) | (bits(off, 4, 3) << 5) | (bits(off, 8, 6) << 2) | 2;
const cSwsp = (rs2: number, off: number) => (6 << 13) | (bits(off, 5, 2) << 9) | (bits(off, 7, 6) << 7) | (rs2 << 2) | 2;
const cSdsp = (rs2: number, off: number) => (7 << 13) | (bits(off, 5, 3) << 10) | (bits(off, 8, 6) << 7) | (rs2 << 2) | 2;
const cJr = (rs1: number) => (8 << 12) | (rs1 << 7) | 2;
const cJalr = (rs1: number) => (9 << 12) | (rs1 << 7) | 2;
const C_EBREAK = 0x9002;

cases.add('c.lwsp', 'local encoders match objdump', () => {
  expect(cLwsp(10, 8)).toBe(0x4522);
  expect(cLdsp(10, 504)).toBe(0x757e);
  expect(cSwsp(10, 252)).toBe(0xdfaa);
  expect(cSdsp(10, 504)).toBe(0xffaa);
  expect(cJr(1)).toBe(0x8082);
  expect(cJalr(10)).toBe(0x9502);
});

/** A compressed instruction that falls through: writes, pc + 2, instret + 1, nothing else. */
function c(insn: string, title: string, word: number, setup: (h: Harness) => void, writes: Record<string, bigint>): void {
  cases.add(insn, title, (h) => expectRetired(h.exec(word, setup), 2, writes));
}
const set = (regs: Record<number, bigint>) => (h: Harness) => { for (const [r, v] of Object.entries(regs)) h.hart.setX(Number(r), v); };

// ---- quadrant 0 ----
c('c.addi4spn', 'rd\' = sp + nzuimm', E.cAddi4spn(9, 1020), set({ 2: DATA }), { x9: DATA + 1020n });
c('c.addi4spn', 'smallest nzuimm', E.cAddi4spn(8, 4), set({ 2: DATA }), { x8: DATA + 4n });
c('c.lw', 'sign-extends', E.cLoadStore('c.lw', 9, 10, 124), (h) => { h.write32(DATA + 124n, 0x80000001); h.hart.setX(10, DATA); }, { x9: 0xffffffff80000001n });
c('c.ld', 'loads 64 bits', E.cLoadStore('c.ld', 15, 8, 248), (h) => { h.write64(DATA + 248n, 0x8877665544332211n); h.hart.setX(8, DATA); }, { x15: 0x8877665544332211n });
cases.add('c.sw', 'stores the low word only', (h) => {
  const s = h.exec(E.cLoadStore('c.sw', 9, 10, 4), (h) => { h.write64(DATA, ALL); h.write64(DATA + 8n, ALL); h.hart.setX(10, DATA); h.hart.setX(9, 0x1122334455667788n); });
  expectRetired(s, 2);
  expect([h.read64(DATA), h.read64(DATA + 8n)]).toEqual([0x55667788ffffffffn, ALL]);
});
cases.add('c.sd', 'stores 64 bits', (h) => {
  const s = h.exec(E.cLoadStore('c.sd', 9, 10, 248), (h) => { h.hart.setX(10, DATA); h.hart.setX(9, 0x1122334455667788n); });
  expectRetired(s, 2);
  expect(h.read64(DATA + 248n)).toBe(0x1122334455667788n);
});

// ---- quadrant 1 ----
c('c.addi', 'negative immediate', E.cAddi(5, -32), set({ 5: 0n }), { x5: u64(-32) });
c('c.addi', 'positive immediate', E.cAddi(31, 31), set({ 31: 1n }), { x31: 32n });
cases.add('c.addi', 'c.nop (rd = 0, imm = 0) changes nothing', (h) => expectRetired(h.exec(0x0001), 2));
c('c.addiw', 'sign-extends the word result', E.cAddiw(5, 1), set({ 5: 0x7fffffffn }), { x5: 0xffffffff80000000n });
c('c.addiw', 'imm 0 is sext.w', E.cAddiw(5, 0), set({ 5: 0x1_80000000n }), { x5: 0xffffffff80000000n });
c('c.li', 'negative immediate', E.cLi(5, -32), () => {}, { x5: u64(-32) });
c('c.li', 'positive immediate', E.cLi(10, 31), () => {}, { x10: 31n });
c('c.addi16sp', 'negative', E.cAddi16sp(-512), set({ 2: DATA }), { x2: DATA - 512n });
c('c.addi16sp', 'positive', E.cAddi16sp(496), set({ 2: DATA }), { x2: DATA + 496n });
c('c.lui', 'positive', E.cLui(5, 1), () => {}, { x5: 0x1000n });
c('c.lui', 'negative: sign-extended from bit 17', E.cLui(5, -32), () => {}, { x5: 0xfffffffffffe0000n });
c('c.srli', 'logical, shamt 63', E.cShiftAndi('c.srli', 8, 63), set({ 8: ALL }), { x8: 1n });
c('c.srli', 'shamt 32 (bit 12)', E.cShiftAndi('c.srli', 15, 32), set({ 15: ALL }), { x15: 0xffffffffn });
c('c.srai', 'arithmetic, shamt 63', E.cShiftAndi('c.srai', 8, 63), set({ 8: 0x8000000000000000n }), { x8: ALL });
c('c.srai', 'positive value', E.cShiftAndi('c.srai', 9, 4), set({ 9: 0x100n }), { x9: 0x10n });
c('c.andi', 'negative immediate', E.cShiftAndi('c.andi', 8, -32), set({ 8: ALL }), { x8: u64(-32) });
c('c.andi', 'positive immediate', E.cShiftAndi('c.andi', 8, 0x0f), set({ 8: 0x1234n }), { x8: 4n });
c('c.sub', 'wraps', E.cArith('c.sub', 8, 9), set({ 8: 0n, 9: 1n }), { x8: ALL });
c('c.xor', 'rd\' ^= rs2\'', E.cArith('c.xor', 8, 9), set({ 8: 0xff00n, 9: 0x0ff0n }), { x8: 0xf0f0n });
c('c.or', 'rd\' |= rs2\'', E.cArith('c.or', 10, 11), set({ 10: 0xf0n, 11: 0x0fn }), { x10: 0xffn });
c('c.and', 'rd\' &= rs2\'', E.cArith('c.and', 12, 13), set({ 12: 0xf0n, 13: 0x3cn }), { x12: 0x30n });
c('c.subw', 'sign-extends', E.cArith('c.subw', 14, 15), set({ 14: 0x80000000n, 15: 1n }), { x14: 0x7fffffffn });
c('c.subw', 'negative word result', E.cArith('c.subw', 14, 15), set({ 14: 0n, 15: 1n }), { x14: ALL });
c('c.addw', 'sign-extends', E.cArith('c.addw', 8, 15), set({ 8: 0x7fffffffn, 15: 1n }), { x8: 0xffffffff80000000n });

/** A compressed control transfer: pc = target, writes, instret + 1. */
function jump(insn: string, title: string, word: number, setup: (h: Harness) => void, target: bigint, writes: Record<string, bigint> = {}): void {
  cases.add(insn, title, (h) => {
    const s = h.exec(word, setup);
    expect(s.trapped).toBe(false);
    expectChanges(s, { ...writes, pc: target, instret: 1n });
  });
}
jump('c.j', 'forward, no link', E.cJ(2046), () => {}, CODE + 2046n);
jump('c.j', 'backward', E.cJ(-2048), () => {}, CODE - 2048n);
jump('c.beqz', 'taken (backward)', E.cBranch('c.beqz', 8, -256), set({ 8: 0n }), CODE - 256n);
jump('c.beqz', 'not taken: pc + 2', E.cBranch('c.beqz', 8, 254), set({ 8: 1n }), CODE + 2n);
jump('c.bnez', 'taken (negative value)', E.cBranch('c.bnez', 15, 254), set({ 15: ALL }), CODE + 254n);
jump('c.bnez', 'not taken: pc + 2', E.cBranch('c.bnez', 15, -2), set({ 15: 0n }), CODE + 2n);

// ---- quadrant 2 ----
c('c.slli', 'shamt 63', E.cSlli(5, 63), set({ 5: 1n }), { x5: 0x8000000000000000n });
c('c.slli', 'shamt 1', E.cSlli(31, 1), set({ 31: 0x4000000000000001n }), { x31: 0x8000000000000002n });
c('c.lwsp', 'sign-extends', cLwsp(5, 252), (h) => { h.write32(DATA + 252n, 0x80000000); h.hart.setX(2, DATA); }, { x5: 0xffffffff80000000n });
c('c.ldsp', 'loads 64 bits', cLdsp(31, 504), (h) => { h.write64(DATA + 504n, 0x0102030405060708n); h.hart.setX(2, DATA); }, { x31: 0x0102030405060708n });
jump('c.jr', 'pc = rs1, no link', cJr(5), set({ 5: DATA + 6n }), DATA + 6n);
jump('c.jr', 'clears bit 0 (expands to jalr x0, 0(rs1))', cJr(1), set({ 1: DATA + 1n }), DATA);
c('c.mv', 'copies rs2', E.cMv(5, 31), set({ 31: 0x1234n }), { x5: 0x1234n });
jump('c.jalr', 'links ra = pc + 2', cJalr(5), set({ 5: DATA + 8n }), DATA + 8n, { x1: CODE + 2n });
jump('c.jalr', 'rs1 = ra: target is the old ra', cJalr(1), set({ 1: DATA + 8n }), DATA + 8n, { x1: CODE + 2n });
c('c.add', 'wraps', E.cAdd(5, 6), set({ 5: ALL, 6: 2n }), { x5: 1n });
cases.add('c.swsp', 'stores the low word at sp + uimm', (h) => {
  const s = h.exec(cSwsp(7, 252), (h) => { h.hart.setX(2, DATA); h.hart.setX(7, 0x1122334455667788n); h.write64(DATA + 248n, ALL); h.write64(DATA + 256n, ALL); });
  expectRetired(s, 2);
  expect([h.read64(DATA + 248n), h.read64(DATA + 256n)]).toEqual([0x55667788ffffffffn, ALL]);
});
cases.add('c.sdsp', 'stores 64 bits at sp + uimm', (h) => {
  const s = h.exec(cSdsp(7, 504), (h) => { h.hart.setX(2, DATA); h.hart.setX(7, 0x1122334455667788n); });
  expectRetired(s, 2);
  expect(h.read64(DATA + 504n)).toBe(0x1122334455667788n);
});
cases.add('c.ebreak', 'breakpoint (cause 3), mepc = pc, mtval = 0', (h) => {
  const s = h.exec(C_EBREAK);
  expect(s.trapped).toBe(true);
  expectChanges(s, { mcause: 3n, mepc: CODE, mtval: 0n, mstatus: slotValue(s.before, 'mstatus') | 0x1800n, pc: MTVEC });
});

// ---- reserved encodings (§16.3-16.5): illegal instruction, mtval = the 16 bits ----
const reserved: [string, string, number][] = [
  ['c.addi4spn', 'all-zero halfword (defined illegal)', 0x0000],
  ['c.addi4spn', 'nzuimm = 0 with rd\' = x9', 0x0004],
  ['c.addiw', 'rd = 0', 0x2005],
  ['c.lui', 'nzimm = 0', 0x6081],
  ['c.addi16sp', 'nzimm = 0', 0x6101],
  ['c.lwsp', 'rd = 0', 0x4022],
  ['c.ldsp', 'rd = 0', 0x6022],
  ['c.jr', 'rs1 = 0', 0x8002],
  ['illegal', 'quadrant 0, funct3 = 100 (reserved)', 0x8000],
  ['illegal', 'c.fld (no F/D)', 0x2000],
  ['illegal', 'c.fsdsp (no F/D)', 0xa002],
  ['illegal', 'CA with bit 12 = 1 and funct2 = 10 (reserved)', 0x9c41],
];
for (const [insn, title, word] of reserved) {
  cases.add(insn, `reserved: ${title} (0x${word.toString(16).padStart(4, '0')}) is illegal`, (h) => expectIllegal(h, word, () => {}, 2));
}
cases.add('c.addi4spn', 'the upper half of the fetched word is not part of mtval', (h) => {
  // An all-zero halfword followed by a valid instruction: mtval holds only the 16 bits.
  expectIllegal(h, 0x0000, (h) => h.write16(CODE + 2n, 0x0505), 2);
});
