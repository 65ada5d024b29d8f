/**
 * D extension (unprivileged spec ch. 21) on RV64, with the compressed FP loads and stores
 * (ch. 16: c.fld, c.fsd, c.fldsp, c.fsdsp), the fcsr/frm/fflags CSRs (§20.2) and the FS rules
 * of the privileged spec (§3.1.6.6; with V = 1 both mstatus.FS and vsstatus.FS, §8.2.11).
 * Every row from its raw encoding, with exact result bits and flags.
 */
import { expect } from 'vitest';
import { ISA } from '../../../assembly/isa/table';
import { fp, RM, cFldFsd, cFldsp, cFsdsp, csr, CSR_FCSR, CSR_FFLAGS, CSR_FRM } from '../../diff/fp-encode';
import { Cases, DATA, S, expectRetired, sext32 } from '../harness';
import { box, fpCase, fpIllegal, fPoison, fpSetup, fsOffCases, FS_CLEAN, FS_DIRTY, FS_INITIAL, FS_OFF, DZ, NV, NX, OF, UF, SD, XL } from './fp';

export const cases = new Cases();
const C = (name: string, i: Parameters<typeof fpCase>[2], o: Parameters<typeof fpCase>[3], note = '') => fpCase(cases, name, i, o, note);

/** The binary64 encoding of a JS number. */
const d = (v: number): bigint => {
  const a = new Float64Array([v]);
  return new BigUint64Array(a.buffer)[0];
};
const NEG = 1n << 63n;
const ONE = d(1), TWO = d(2), THREE = d(3);
const INF = 0x7ff0000000000000n, MAX = 0x7fefffffffffffffn, MIN_NORMAL = 0x0010000000000000n, MIN_SUB = 1n;
const QNAN = 0x7ff8000000000000n, SNAN = 0x7ff0000000000001n, QNAN_PAYLOAD = 0xfff8000000012345n;
const neg = (v: bigint) => v ^ NEG;
const DIRTY = XL | FS_DIRTY | SD;

// ---- loads and stores, 32-bit and compressed ----
cases.add('fld', 'fld: all 64 bits', (h) => {
  const s = h.exec(fp('fld', { rd: 5, rs1: 6, imm: -8 }), (h) => { fpSetup(h); h.hart.setX(6, DATA + 16n); h.write64(DATA + 8n, 0x0123456789abcdefn); });
  expectRetired(s, 4, { f5: 0x0123456789abcdefn, mstatus: DIRTY });
});
cases.add('fsd', 'fsd: all 64 bits; FS unchanged', (h) => {
  const s = h.exec(fp('fsd', { rs1: 6, rs2: 7, imm: 2040 }), (h) => { fpSetup(h); h.hart.setX(6, DATA); h.hart.setF(7, 0xfedcba9876543210n); });
  expectRetired(s, 4, {});
  expect(h.read64(DATA + 2040n)).toBe(0xfedcba9876543210n);
});
cases.add('fld', 'fld misaligned within a page: loaded like ld (QEMU does the same)', (h) => {
  const s = h.exec(fp('fld', { rd: 5, rs1: 6, imm: 4 }), (h) => { fpSetup(h); h.hart.setX(6, DATA); h.write64(DATA + 4n, 0x1111222233334444n); });
  expectRetired(s, 4, { f5: 0x1111222233334444n, mstatus: DIRTY });
});
cases.add('c.fld', 'c.fld f9, 248(x10)', (h) => {
  const s = h.exec(cFldFsd('c.fld', 9, 10, 248), (h) => { fpSetup(h); h.hart.setX(10, DATA); h.write64(DATA + 248n, ONE); });
  expectRetired(s, 2, { f9: ONE, mstatus: DIRTY });
});
cases.add('c.fsd', 'c.fsd f15, 8(x8)', (h) => {
  const s = h.exec(cFldFsd('c.fsd', 15, 8, 8), (h) => { fpSetup(h); h.hart.setX(8, DATA); h.hart.setF(15, THREE); });
  expectRetired(s, 2, {});
  expect(h.read64(DATA + 8n)).toBe(THREE);
});
cases.add('c.fldsp', 'c.fldsp f0, 504(sp): rd = 0 is f0, not reserved', (h) => {
  const s = h.exec(cFldsp(0, 504), (h) => { fpSetup(h); h.hart.setX(2, DATA); h.write64(DATA + 504n, TWO); });
  expectRetired(s, 2, { f0: TWO, mstatus: DIRTY });
});
cases.add('c.fsdsp', 'c.fsdsp f31, 64(sp)', (h) => {
  const s = h.exec(cFsdsp(31, 64), (h) => { fpSetup(h); h.hart.setX(2, DATA); h.hart.setF(31, MAX); });
  expectRetired(s, 2, {});
  expect(h.read64(DATA + 64n)).toBe(MAX);
});
fpIllegal(cases, 'c.fld', cFldFsd('c.fld', 9, 10, 0), 'c.fld with FS = Off: illegal, tval = the 16 bits', (h) => fpSetup(h, FS_OFF), 2);
fpIllegal(cases, 'c.fsdsp', cFsdsp(1, 0), 'c.fsdsp with FS = Off', (h) => fpSetup(h, FS_OFF), 2);

// ---- arithmetic ----
C('fadd.d', { a: ONE, b: TWO }, { f: THREE });
C('fadd.d', { a: ONE, b: d(2 ** -53) }, { f: ONE, flags: NX }, 'a tie, to even');
C('fadd.d', { a: ONE, b: d(2 ** -53), rm: RM.rup }, { f: ONE + 1n, flags: NX });
C('fadd.d', { a: d(-1), b: d(-(2 ** -53)), rm: RM.rdn }, { f: neg(ONE + 1n), flags: NX }, 'rdn rounds a negative away from zero');
C('fadd.d', { a: MAX, b: d(2 ** 970) }, { f: INF, flags: OF | NX }, 'overflow by the carry of the rounding');
C('fadd.d', { a: QNAN_PAYLOAD, b: ONE }, { f: QNAN });
C('fsub.d', { a: THREE, b: THREE, rm: RM.rdn }, { f: NEG });
C('fsub.d', { a: MIN_NORMAL, b: MIN_SUB }, { f: 0x000fffffffffffffn }, 'exact subnormal: no flags');
C('fmul.d', { a: MAX, b: TWO, rm: RM.rdn }, { f: MAX, flags: OF | NX });
C('fmul.d', { a: d(2 ** -1000), b: d(2 ** -74) }, { f: MIN_SUB }, 'exactly the smallest subnormal: no UF');
C('fmul.d', { a: d(2 ** -1000), b: d(1.5 * 2 ** -75) }, { f: MIN_SUB, flags: UF | NX }, '0.75 * 2^-1074 rounds up');
C('fmul.d', { a: MIN_NORMAL, b: d(0.5) }, { f: 0x0008000000000000n }, 'exact subnormal product: no UF');
C('fmul.d', { a: INF, b: NEG }, { f: QNAN, flags: NV });
C('fdiv.d', { a: ONE, b: THREE }, { f: 0x3fd5555555555555n, flags: NX });
C('fdiv.d', { a: ONE, b: THREE, rm: RM.rup }, { f: 0x3fd5555555555556n, flags: NX });
C('fdiv.d', { a: neg(ONE), b: NEG }, { f: INF, flags: DZ }, '-1 / -0 = +inf');
C('fdiv.d', { a: INF, b: INF }, { f: QNAN, flags: NV });
C('fdiv.d', { a: MIN_SUB, b: TWO }, { f: 0n, flags: UF | NX }, '2^-1075 ties to even: 0');
C('fsqrt.d', { a: TWO }, { f: 0x3ff6a09e667f3bcdn, flags: NX });
C('fsqrt.d', { a: TWO, rm: RM.rtz }, { f: 0x3ff6a09e667f3bccn, flags: NX });
C('fsqrt.d', { a: d(0.25) }, { f: d(0.5) });
C('fsqrt.d', { a: neg(INF) }, { f: QNAN, flags: NV });
C('fsqrt.d', { a: SNAN }, { f: QNAN, flags: NV });

// ---- fused: (1 + 2^-27)^2 - (1 + 2^-26) = 2^-54, exactly ----
C('fmadd.d', { a: d(1 + 2 ** -27), b: d(1 + 2 ** -27), c: d(-(1 + 2 ** -26)) }, { f: d(2 ** -54) }, 'one rounding');
C('fmadd.d', { a: MAX, b: TWO, c: neg(MAX) }, { f: MAX }, 'no intermediate overflow: 2 MAX - MAX = MAX');
C('fmadd.d', { a: QNAN, b: ONE, c: SNAN }, { f: QNAN, flags: NV });
C('fmsub.d', { a: TWO, b: THREE, c: ONE }, { f: d(5) });
C('fmsub.d', { a: d(0.1), b: d(10), c: ONE }, { f: d(2 ** -54) }, '0.1 * 10 - 1 = 2^-54: the representation error of 0.1, exactly');
C('fnmsub.d', { a: TWO, b: THREE, c: ONE }, { f: d(-5) });
C('fnmadd.d', { a: TWO, b: THREE, c: ONE }, { f: d(-7) });
C('fnmadd.d', { a: ONE, b: NEG, c: NEG }, { f: 0n }, '-(1 * -0) - (-0) = +0 + +0');

// ---- sign injection, min/max, compare, classify ----
C('fsgnj.d', { a: ONE, b: neg(TWO) }, { f: neg(ONE) });
C('fsgnjn.d', { a: QNAN_PAYLOAD, b: ONE }, { f: QNAN_PAYLOAD }, 'NaN payload moved as is');
C('fsgnjx.d', { a: neg(THREE), b: neg(ONE) }, { f: THREE });
C('fmin.d', { a: NEG, b: 0n }, { f: NEG });
C('fmin.d', { a: SNAN, b: neg(ONE) }, { f: neg(ONE), flags: NV });
C('fmin.d', { a: QNAN, b: QNAN_PAYLOAD }, { f: QNAN });
C('fmax.d', { a: 0n, b: NEG }, { f: 0n });
C('fmax.d', { a: QNAN, b: d(-5) }, { f: d(-5) });
C('feq.d', { a: NEG, b: 0n }, { x: 1n });
C('feq.d', { a: SNAN, b: SNAN }, { x: 0n, flags: NV });
C('flt.d', { a: neg(INF), b: INF }, { x: 1n });
C('flt.d', { a: QNAN, b: INF }, { x: 0n, flags: NV });
C('fle.d', { a: ONE, b: ONE }, { x: 1n });
C('fle.d', { a: TWO, b: ONE }, { x: 0n });
[[neg(INF), 0], [neg(ONE), 1], [neg(MIN_SUB), 2], [NEG, 3], [0n, 4], [0x000fffffffffffffn, 5], [MIN_NORMAL, 6],
  [INF, 7], [SNAN, 8], [QNAN, 9]].forEach(([v, k]) => C('fclass.d', { a: v as bigint }, { x: 1n << BigInt(k) }));

// ---- conversions between formats ----
C('fcvt.s.d', { a: ONE }, { f: box(0x3f800000) });
C('fcvt.s.d', { a: d(1e300) }, { f: box(0x7f800000), flags: OF | NX });
C('fcvt.s.d', { a: SNAN }, { f: box(0x7fc00000), flags: NV }, 'canonical NaN');
C('fcvt.s.d', { a: QNAN_PAYLOAD }, { f: box(0x7fc00000) }, 'payload dropped, no flag');
// (1 - 2^-25) * 2^-126 rounds to 2^-126 at 24 bits: not tiny after rounding, so no UF (§20.2)
C('fcvt.s.d', { a: d((1 - 2 ** -25) * 2 ** -126) }, { f: box(0x00800000), flags: NX }, 'tininess after rounding: no UF');
C('fcvt.s.d', { a: d((1 - 2 ** -25) * 2 ** -126), rm: RM.rtz }, { f: box(0x007fffff), flags: UF | NX });
C('fcvt.s.d', { a: d(2 ** -150) }, { f: box(0), flags: UF | NX }, 'half the smallest subnormal: tie to even 0');
C('fcvt.s.d', { a: d(2 ** -150), rm: RM.rmm }, { f: box(1), flags: UF | NX });
C('fcvt.d.s', { a: box(0x00000001) }, { f: d(2 ** -149) }, 'exact');
C('fcvt.d.s', { a: box(0x7f800001) }, { f: QNAN, flags: NV });
C('fcvt.d.s', { a: 0x3f800000n }, { f: QNAN }, 'unboxed: the canonical NaN');

// ---- to integers ----
C('fcvt.w.d', { a: d(2147483647.5) }, { x: 0x7fffffffn, flags: NV }, 'rounds to 2^31: out of range');
C('fcvt.w.d', { a: d(2147483647.5), rm: RM.rtz }, { x: 0x7fffffffn, flags: NX });
C('fcvt.w.d', { a: d(-2147483648.5) }, { x: sext32(0x80000000), flags: NX }, 'ties to even: -2^31');
C('fcvt.w.d', { a: d(-2147483649) }, { x: sext32(0x80000000), flags: NV });
C('fcvt.w.d', { a: QNAN }, { x: 0x7fffffffn, flags: NV });
C('fcvt.wu.d', { a: d(4294967295.4) }, { x: 0xffffffffffffffffn, flags: NX });
C('fcvt.wu.d', { a: d(4294967295.5) }, { x: 0xffffffffffffffffn, flags: NV }, 'rounds to 2^32');
C('fcvt.wu.d', { a: d(-0.5), rm: RM.rdn }, { x: 0n, flags: NV }, 'rdn: -1');
C('fcvt.l.d', { a: d(2 ** 63) }, { x: 0x7fffffffffffffffn, flags: NV });
C('fcvt.l.d', { a: d(-(2 ** 63)) }, { x: NEG });
C('fcvt.l.d', { a: 0xc3e0000000000001n }, { x: NEG, flags: NV }, '-2^63 - 2048');
C('fcvt.l.d', { a: neg(MIN_SUB), rm: RM.rdn }, { x: 0xffffffffffffffffn, flags: NX }, 'smallest negative subnormal rdn: -1');
C('fcvt.l.d', { a: INF }, { x: 0x7fffffffffffffffn, flags: NV });
C('fcvt.lu.d', { a: d(2 ** 64) }, { x: 0xffffffffffffffffn, flags: NV });
C('fcvt.lu.d', { a: 0x43efffffffffffffn }, { x: 0xfffffffffffff800n });
C('fcvt.lu.d', { a: neg(INF) }, { x: 0n, flags: NV });
C('fcvt.lu.d', { a: d(0.5), rm: RM.rmm }, { x: 1n, flags: NX });

// ---- from integers ----
C('fcvt.d.w', { x: 0xffffffff80000000n }, { f: d(-(2 ** 31)) });
C('fcvt.d.w', { x: 0x00000000ffffffffn }, { f: d(-1) }, 'the low word, signed');
C('fcvt.d.wu', { x: 0xffffffffffffffffn }, { f: d(4294967295) });
C('fcvt.d.l', { x: 0x7fffffffffffffffn }, { f: d(2 ** 63), flags: NX });
C('fcvt.d.l', { x: 0x7fffffffffffffffn, rm: RM.rtz }, { f: 0x43dfffffffffffffn, flags: NX });
C('fcvt.d.l', { x: 0x0020000000000001n, rm: RM.dyn, frm: RM.rup }, { f: d(2 ** 53 + 2), flags: NX });
C('fcvt.d.lu', { x: 0xffffffffffffffffn }, { f: d(2 ** 64), flags: NX });
C('fcvt.d.lu', { x: 0xfffffffffffff800n }, { f: 0x43efffffffffffffn });

// ---- moves ----
C('fmv.x.d', { a: SNAN }, { x: SNAN }, 'raw bits');
C('fmv.d.x', { x: 0x123456789abcdef0n }, { f: 0x123456789abcdef0n });

// ---- rm: every rm field is checked, even where the result is exact ----
fpIllegal(cases, 'fcvt.d.w', fp('fcvt.d.w', { rd: 5, rs1: 6, rm: 5 }), 'fcvt.d.w rm = 5', (h) => fpSetup(h));
fpIllegal(cases, 'fcvt.d.s', fp('fcvt.d.s', { rd: 5, rs1: 6, rm: 7 }), 'fcvt.d.s dyn with frm = 6', (h) => fpSetup(h, FS_INITIAL, 6));
fpIllegal(cases, 'fdiv.d', fp('fdiv.d', { rd: 5, rs1: 6, rs2: 7, rm: 6 }), 'fdiv.d rm = 6', (h) => fpSetup(h));
fsOffCases(cases, ISA.filter((r) => r[1] === 'D').map((r) => r[0]));

// ---- fcsr, frm, fflags (Zicsr on the FP CSRs, §20.2) ----
cases.add('csrrw', 'fcsr: rd = old (frm, fflags), written & 0xff, FS -> Dirty', (h) => {
  const s = h.exec(csr(1, 5, CSR_FCSR, 6), (h) => { fpSetup(h, FS_CLEAN, 3); h.hart.fcsr = 0x71n; h.hart.setX(6, 0xfffn); });
  expectRetired(s, 4, { x5: 0x71n, fcsr: 0xffn, mstatus: DIRTY });
});
cases.add('csrrsi', 'frm: csrrsi sets bits of the 3-bit field', (h) => {
  const s = h.exec(csr(6, 5, CSR_FRM, 2), (h) => { fpSetup(h, FS_INITIAL, 1); h.hart.fcsr = 0x3fn; });
  expectRetired(s, 4, { x5: 1n, fcsr: 0x7fn, mstatus: DIRTY });
});
cases.add('csrrci', 'fflags: csrrci clears bits; frm untouched', (h) => {
  const s = h.exec(csr(7, 5, CSR_FFLAGS, 0x11), (h) => { fpSetup(h); h.hart.fcsr = 0xffn; });
  expectRetired(s, 4, { x5: 0x1fn, fcsr: 0xeen, mstatus: DIRTY });
});
cases.add('csrrs', 'fflags read (rs1 = x0): no write, FS stays Clean', (h) => {
  const s = h.exec(csr(2, 5, CSR_FFLAGS, 0), (h) => { fpSetup(h, FS_CLEAN); h.hart.fcsr = 0x25n; });
  expectRetired(s, 4, { x5: 5n });
});
fpIllegal(cases, 'csrrs', csr(2, 5, CSR_FCSR, 0), 'fcsr with FS = Off: illegal', (h) => fpSetup(h, FS_OFF));
fpIllegal(cases, 'csrrwi', csr(5, 0, CSR_FRM, 1), 'frm with FS = Off: illegal', (h) => fpSetup(h, FS_OFF));

// ---- FS with V = 1: both fields apply, both go Dirty (§8.2.11) ----
const vsMode = (vsFs: bigint) => (h: Parameters<Parameters<Cases['add']>[2]>[0]) => {
  fpSetup(h, FS_INITIAL);
  h.hart.priv = S;
  h.hart.v = 1;
  h.hart.vsstatus = vsFs;
  h.hart.setF(6, ONE);
  h.hart.setF(7, TWO);
};
cases.add('fadd.d', 'V = 1: mstatus.FS and vsstatus.FS both become Dirty', (h) => {
  const s = h.exec(fp('fadd.d', { rd: 5, rs1: 6, rs2: 7, rm: 0 }), vsMode(FS_INITIAL));
  expectRetired(s, 4, { f5: THREE, mstatus: DIRTY, vsstatus: FS_DIRTY | SD });
});
cases.add('fadd.d', 'V = 1 with vsstatus.FS = Off: illegal instruction (to M), f5 unchanged', (h) => {
  const word = fp('fadd.d', { rd: 5, rs1: 6, rs2: 7, rm: 0 });
  const s = h.exec(word, vsMode(FS_OFF));
  expect(s.trapped).toBe(true);
  expect([h.hart.mcause, h.hart.mtval]).toEqual([2n, BigInt(word)]);
  expect(h.hart.f(5)).toBe(fPoison(5));
  expect(s.changed).not.toContain('vsstatus');
});
cases.add('fadd.d', 'V = 1 with mstatus.FS = Off (vsstatus.FS on): illegal instruction', (h) => {
  const s = h.exec(fp('fadd.d', { rd: 5, rs1: 6, rs2: 7, rm: 0 }), (h) => { vsMode(FS_INITIAL)(h); h.hart.mstatus = XL; });
  expect(s.trapped).toBe(true);
  expect(h.hart.mcause).toBe(2n);
});
cases.add('csrrs', 'sstatus shows FS and SD; with V = 1 it is vsstatus', (h) => {
  const s = h.exec(csr(2, 5, 0x100, 0), (h) => { vsMode(FS_DIRTY | SD)(h); });
  expectRetired(s, 4, { x5: FS_DIRTY | SD | (2n << 32n) });
});
cases.add('csrrw', 'mstatus.FS is writable and SD follows it', (h) => {
  const s = h.exec(csr(1, 0, 0x300, 6), (h) => { h.hart.setX(6, FS_DIRTY); });
  expectRetired(s, 4, { mstatus: XL | FS_DIRTY | SD });
});
cases.add('csrrs', 'misa has F and D', (h) => {
  const s = h.exec(csr(2, 5, 0x301, 0));
  expectRetired(s, 4, { x5: (2n << 62n) | 0x1411adn });
});
