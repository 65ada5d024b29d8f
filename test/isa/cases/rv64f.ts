/**
 * F extension (unprivileged spec ch. 20) on RV64: every row from its raw encoding, with exact
 * result bits and exact flags. Singles are NaN-boxed in the 64-bit f registers (§20.2 and
 * §21.2): a result is written boxed, an operand that is not boxed reads as the canonical NaN
 * 0x7fc00000. Traps: FS = Off, reserved rm 5 and 6, dyn with a reserved frm.
 */
import { expect } from 'vitest';
import { ISA } from '../../../assembly/isa/table';
import { fp, RM } from '../../diff/fp-encode';
import * as A from '../../../assembly/abi';
import { Cases, CODE, DATA, expectRetired, sext32, slotValue } from '../harness';
import { box, fpCase, fpIllegal, fpSetup, fsOffCases, FS_DIRTY, NV, NX, OF, UF, DZ, SD, XL } from './fp';

export const cases = new Cases();
const C = (name: string, i: Parameters<typeof fpCase>[2], o: Parameters<typeof fpCase>[3], note = '') => fpCase(cases, name, i, o, note);

// binary32 encodings
const ONE = 0x3f800000, TWO = 0x40000000, THREE = 0x40400000, HALF = 0x3f000000;
const NEG = 0x80000000;
const INF = 0x7f800000, MAX = 0x7f7fffff, MIN_NORMAL = 0x00800000, MIN_SUB = 0x00000001;
const QNAN = 0x7fc00000, SNAN = 0x7f800001, QNAN_PAYLOAD = 0x7fc12345;
const b = box;
const neg = (v: number) => (v ^ NEG) >>> 0;

// ---- loads and stores ----
cases.add('flw', 'flw boxes the loaded word: f5 = 0xffffffff_3f800000', (h) => {
  const s = h.exec(fp('flw', { rd: 5, rs1: 6, imm: 8 }), (h) => { fpSetup(h); h.hart.setX(6, DATA); h.write32(DATA + 8n, ONE); });
  expectRetired(s, 4, { f5: b(ONE), mstatus: XL | FS_DIRTY | SD });
});
cases.add('flw', 'flw into f0 (a register, not a sink)', (h) => {
  const s = h.exec(fp('flw', { rd: 0, rs1: 6, imm: -4 }), (h) => { fpSetup(h); h.hart.setX(6, DATA + 4n); h.write32(DATA, 0x12345678); });
  expectRetired(s, 4, { f0: b(0x12345678), mstatus: XL | FS_DIRTY | SD });
});
cases.add('fsw', 'fsw stores the low word as it is, boxed or not; FS stays as it was', (h) => {
  const s = h.exec(fp('fsw', { rs1: 6, rs2: 7, imm: 12 }), (h) => { fpSetup(h); h.hart.setX(6, DATA); h.hart.setF(7, 0x123456789abcdef0n); });
  expectRetired(s, 4, {});
  expect(h.read32(DATA + 12n)).toBe(0x9abcdef0);
  expect(h.read32(DATA + 16n)).toBe(0);
});

// ---- arithmetic ----
C('fadd.s', { a: b(ONE), b: b(TWO) }, { f: b(THREE) });
C('fadd.s', { a: b(ONE), b: b(0x33800000) }, { f: b(ONE), flags: NX }, '1 + 2^-24: a tie, to even');
C('fadd.s', { a: b(ONE), b: b(0x33800000), rm: RM.rup }, { f: b(0x3f800001), flags: NX }, 'rup');
C('fadd.s', { a: b(ONE), b: b(0x33800000), rm: RM.dyn, frm: RM.rmm }, { f: b(0x3f800001), flags: NX }, 'dyn = rmm: ties away');
C('fadd.s', { a: b(INF), b: b(neg(INF)) }, { f: b(QNAN), flags: NV }, 'inf - inf');
C('fadd.s', { a: b(SNAN), b: b(ONE) }, { f: b(QNAN), flags: NV }, 'sNaN: NV, canonical NaN');
C('fadd.s', { a: b(QNAN_PAYLOAD), b: b(ONE) }, { f: b(QNAN) }, 'qNaN payload not propagated');
C('fadd.s', { a: 0x000000003f800000n, b: b(ONE) }, { f: b(QNAN) }, 'unboxed operand reads as the canonical NaN');
C('fadd.s', { a: b(MAX), b: b(MAX) }, { f: b(INF), flags: OF | NX }, 'overflow');
C('fadd.s', { a: b(MIN_NORMAL), b: b(neg(0x00800001)) }, { f: b(neg(MIN_SUB)) }, 'exact subnormal difference: no UF');
C('fsub.s', { a: b(ONE), b: b(ONE) }, { f: b(0) }, 'x - x = +0');
C('fsub.s', { a: b(ONE), b: b(ONE), rm: RM.rdn }, { f: b(NEG) }, 'x - x = -0 in rdn');
C('fsub.s', { a: b(THREE), b: b(HALF) }, { f: b(0x40200000) });
C('fmul.s', { a: b(MAX), b: b(TWO) }, { f: b(INF), flags: OF | NX });
C('fmul.s', { a: b(MAX), b: b(TWO), rm: RM.rtz }, { f: b(MAX), flags: OF | NX }, 'rtz overflow: largest finite');
C('fmul.s', { a: b(neg(MAX)), b: b(TWO), rm: RM.rup }, { f: b(neg(MAX)), flags: OF | NX }, 'rup, negative overflow');
C('fmul.s', { a: b(INF), b: b(0) }, { f: b(QNAN), flags: NV }, 'inf * 0');
C('fmul.s', { a: b(0x00ffffff), b: b(HALF) }, { f: b(MIN_NORMAL), flags: UF | NX }, 'rounds up to 2^-126 but tiny after rounding at 24 bits');
C('fmul.s', { a: b(MIN_NORMAL), b: b(0x33000000) }, { f: b(0), flags: UF | NX }, '2^-126 * 2^-25: underflow to +0');
C('fdiv.s', { a: b(ONE), b: b(0) }, { f: b(INF), flags: DZ });
C('fdiv.s', { a: b(neg(ONE)), b: b(0) }, { f: b(neg(INF)), flags: DZ });
C('fdiv.s', { a: b(0), b: b(0) }, { f: b(QNAN), flags: NV });
C('fdiv.s', { a: b(ONE), b: b(THREE) }, { f: b(0x3eaaaaab), flags: NX });
C('fdiv.s', { a: b(ONE), b: b(THREE), rm: RM.rtz }, { f: b(0x3eaaaaaa), flags: NX });
C('fsqrt.s', { a: b(0x40800000) }, { f: b(TWO) });
C('fsqrt.s', { a: b(TWO) }, { f: b(0x3fb504f3), flags: NX });
C('fsqrt.s', { a: b(TWO), rm: RM.rup }, { f: b(0x3fb504f4), flags: NX });
C('fsqrt.s', { a: b(neg(ONE)) }, { f: b(QNAN), flags: NV });
C('fsqrt.s', { a: b(NEG) }, { f: b(NEG) }, 'sqrt(-0) = -0');
C('fsqrt.s', { a: b(MIN_SUB) }, { f: b(0x1a3504f3), flags: NX }, 'subnormal operand');

// ---- fused multiply-add: one rounding (§20.6) ----
// (1 + 2^-12)^2 - (1 + 2^-11) = 2^-24 exactly; rounding the product first would give 0.
C('fmadd.s', { a: b(0x3f800800), b: b(0x3f800800), c: b(0xbf801000) }, { f: b(0x33800000) }, 'fused: 2^-24, not 0');
C('fmadd.s', { a: b(INF), b: b(0), c: b(QNAN) }, { f: b(QNAN), flags: NV }, 'inf * 0 + qNaN is invalid');
C('fmadd.s', { a: b(INF), b: b(ONE), c: b(neg(INF)) }, { f: b(QNAN), flags: NV }, 'inf - inf');
C('fmadd.s', { a: b(ONE), b: b(0), c: b(NEG) }, { f: b(0) }, '+0 + -0 = +0');
C('fmadd.s', { a: b(ONE), b: b(0), c: b(NEG), rm: RM.rdn }, { f: b(NEG) }, 'rdn: -0');
C('fmsub.s', { a: b(TWO), b: b(THREE), c: b(ONE) }, { f: b(0x40a00000) }, '2*3 - 1 = 5');
C('fnmsub.s', { a: b(TWO), b: b(THREE), c: b(ONE) }, { f: b(0xc0a00000) }, '-(2*3) + 1 = -5');
C('fnmadd.s', { a: b(TWO), b: b(THREE), c: b(ONE) }, { f: b(0xc0e00000) }, '-(2*3) - 1 = -7');
C('fnmadd.s', { a: b(MAX), b: b(TWO), c: b(0) }, { f: b(neg(INF)), flags: OF | NX });

// ---- sign injection (no flags, NaN-boxing applies to the operands) ----
C('fsgnj.s', { a: b(ONE), b: b(neg(TWO)) }, { f: b(neg(ONE)) });
C('fsgnj.s', { a: b(SNAN), b: b(ONE) }, { f: b(SNAN) }, 'a sNaN is moved, not quieted, no NV');
C('fsgnjn.s', { a: b(ONE), b: b(ONE) }, { f: b(neg(ONE)) }, 'fneg');
C('fsgnjn.s', { a: 0x1234n, b: b(ONE) }, { f: b(0xffc00000) }, 'unboxed rs1: the canonical NaN, sign from ~rs2');
C('fsgnjx.s', { a: b(neg(ONE)), b: b(neg(TWO)) }, { f: b(ONE) }, 'fabs');

// ---- min/max: the 2.2 rules ----
C('fmin.s', { a: b(0), b: b(NEG) }, { f: b(NEG) }, '-0 < +0');
C('fmin.s', { a: b(QNAN), b: b(TWO) }, { f: b(TWO) }, 'one qNaN: the other operand');
C('fmin.s', { a: b(ONE), b: b(SNAN) }, { f: b(ONE), flags: NV }, 'one sNaN: the other, NV');
C('fmin.s', { a: b(QNAN_PAYLOAD), b: b(SNAN) }, { f: b(QNAN), flags: NV }, 'two NaNs: canonical');
C('fmax.s', { a: b(NEG), b: b(0) }, { f: b(0) }, '+0 > -0');
C('fmax.s', { a: b(neg(ONE)), b: b(neg(TWO)) }, { f: b(neg(ONE)) });
C('fmax.s', { a: b(SNAN), b: b(neg(INF)) }, { f: b(neg(INF)), flags: NV });

// ---- comparisons ----
C('feq.s', { a: b(ONE), b: b(ONE) }, { x: 1n });
C('feq.s', { a: b(0), b: b(NEG) }, { x: 1n }, '+0 == -0');
C('feq.s', { a: b(QNAN), b: b(QNAN) }, { x: 0n }, 'quiet: no flag');
C('feq.s', { a: b(SNAN), b: b(ONE) }, { x: 0n, flags: NV });
C('flt.s', { a: b(ONE), b: b(TWO) }, { x: 1n });
C('flt.s', { a: b(NEG), b: b(0) }, { x: 0n }, '-0 < +0 is false');
C('flt.s', { a: b(QNAN), b: b(ONE) }, { x: 0n, flags: NV }, 'signalling: any NaN');
C('fle.s', { a: b(TWO), b: b(TWO) }, { x: 1n });
C('fle.s', { a: b(neg(INF)), b: b(neg(MAX)) }, { x: 1n });
C('fle.s', { a: b(ONE), b: b(QNAN) }, { x: 0n, flags: NV });
cases.add('feq.s', 'feq.s with rd = x0 writes nothing but the flags', (h) => {
  const s = h.exec(fp('feq.s', { rd: 0, rs1: 6, rs2: 7 }), (h) => { fpSetup(h); h.hart.setF(6, b(SNAN)); h.hart.setF(7, b(ONE)); });
  expectRetired(s, 4, { fcsr: BigInt(NV), mstatus: XL | FS_DIRTY | SD });
});

// ---- fclass ----
[[neg(INF), 1 << 0], [neg(ONE), 1 << 1], [neg(MIN_SUB), 1 << 2], [NEG, 1 << 3], [0, 1 << 4], [MIN_SUB, 1 << 5],
  [ONE, 1 << 6], [INF, 1 << 7], [SNAN, 1 << 8], [QNAN, 1 << 9]].forEach(([v, m]) => C('fclass.s', { a: b(v) }, { x: BigInt(m) }));
C('fclass.s', { a: 0x3f800000n }, { x: 1n << 9n }, 'unboxed: the canonical (quiet) NaN');

// ---- conversions to integers: saturation, NV, NX (§20.7, table 20.2) ----
C('fcvt.w.s', { a: b(QNAN) }, { x: 0x7fffffffn, flags: NV }, 'NaN -> 2^31 - 1');
C('fcvt.w.s', { a: b(neg(INF)) }, { x: sext32(0x80000000), flags: NV });
C('fcvt.w.s', { a: b(0x4f000000) }, { x: 0x7fffffffn, flags: NV }, '2^31 is out of range');
C('fcvt.w.s', { a: b(0xcf000000) }, { x: sext32(0x80000000) }, '-2^31 is exact');
C('fcvt.w.s', { a: b(0x40200000) }, { x: 2n, flags: NX }, '2.5 rne -> 2');
C('fcvt.w.s', { a: b(0xc0200000), rm: RM.rmm }, { x: sext32(-3), flags: NX }, '-2.5 rmm -> -3');
C('fcvt.w.s', { a: b(0xc0200000), rm: RM.rup }, { x: sext32(-2), flags: NX });
C('fcvt.w.s', { a: b(0xc0200000), rm: RM.rdn }, { x: sext32(-3), flags: NX });
C('fcvt.w.s', { a: b(0xc0200000), rm: RM.rtz }, { x: sext32(-2), flags: NX });
C('fcvt.wu.s', { a: b(neg(ONE)) }, { x: 0n, flags: NV }, '-1 out of range');
C('fcvt.wu.s', { a: b(0xbf000000), rm: RM.rtz }, { x: 0n, flags: NX }, '-0.5 rtz -> 0: in range, inexact');
C('fcvt.wu.s', { a: b(0x4f32d05e) }, { x: 0xffffffffb2d05e00n }, '3e9: the 32-bit result sign-extended');
C('fcvt.wu.s', { a: b(0x4f800000) }, { x: 0xffffffffffffffffn, flags: NV }, '2^32 saturates to 2^32 - 1, sign-extended');
C('fcvt.wu.s', { a: b(QNAN) }, { x: 0xffffffffffffffffn, flags: NV });
C('fcvt.l.s', { a: b(0x5f000000) }, { x: 0x7fffffffffffffffn, flags: NV }, '2^63');
C('fcvt.l.s', { a: b(0xdf000000) }, { x: 0x8000000000000000n }, '-2^63 exact');
C('fcvt.l.s', { a: b(0x3f400000), rm: RM.rne }, { x: 1n, flags: NX }, '0.75 -> 1');
C('fcvt.lu.s', { a: b(SNAN) }, { x: 0xffffffffffffffffn, flags: NV });
C('fcvt.lu.s', { a: b(0x5f800000) }, { x: 0xffffffffffffffffn, flags: NV }, '2^64');
C('fcvt.lu.s', { a: b(0x5f7fffff) }, { x: 0xffffff0000000000n }, 'largest single below 2^64');

// ---- conversions from integers ----
C('fcvt.s.w', { x: 0xffffffffffffffffn }, { f: b(neg(ONE)) });
C('fcvt.s.w', { x: 0x7fffffffn }, { f: b(0x4f000000), flags: NX }, '2^31 - 1 rounds to 2^31');
C('fcvt.s.w', { x: 0x7fffffffn, rm: RM.rtz }, { f: b(0x4effffff), flags: NX });
C('fcvt.s.w', { x: 0x1234567800000003n }, { f: b(0x40400000) }, 'upper word ignored');
C('fcvt.s.wu', { x: 0xffffffffn }, { f: b(0x4f800000), flags: NX });
C('fcvt.s.wu', { x: 0xffffffff80000000n }, { f: b(0x4f000000) }, 'the low word unsigned');
C('fcvt.s.l', { x: 0x8000000000000000n }, { f: b(0xdf000000) });
C('fcvt.s.l', { x: 0xffffffffffffffffn, rm: RM.dyn, frm: RM.rdn }, { f: b(neg(ONE)) });
C('fcvt.s.lu', { x: 0xffffffffffffffffn }, { f: b(0x5f800000), flags: NX });
C('fcvt.s.lu', { x: 0n }, { f: b(0) });

// ---- moves ----
C('fmv.x.w', { a: 0x0000000080000001n }, { x: 0xffffffff80000001n }, 'the low word sign-extended, no box check');
C('fmv.w.x', { x: 0x123456789abcdef0n }, { f: b(0x9abcdef0) });

// ---- compressed: RV64 has no c.flw/c.fsw; c.fld etc. are D rows (rv64d) ----
cases.add('illegal', 'quadrant-0 funct3 011 is c.ld on RV64, not c.flw', (h) => {
  const s = h.exec(0x6000 | (1 << 7) | (2 << 2), (h) => { fpSetup(h); h.hart.setX(9, DATA); h.write64(DATA, 0x1122334455667788n); });
  expectRetired(s, 2, { x10: 0x1122334455667788n });
});

// ---- traps ----
fsOffCases(cases, ISA.filter((r) => r[1] === 'F').map((r) => r[0]));
fpIllegal(cases, 'fadd.s', fp('fadd.s', { rd: 5, rs1: 6, rs2: 7, rm: 5 }), 'rm = 5 is reserved', (h) => fpSetup(h));
fpIllegal(cases, 'fcvt.w.s', fp('fcvt.w.s', { rd: 5, rs1: 6, rm: 6 }), 'rm = 6 is reserved', (h) => fpSetup(h));
fpIllegal(cases, 'fmadd.s', fp('fmadd.s', { rd: 5, rs1: 6, rs2: 7, rs3: 8, rm: 7 }), 'dyn with frm = 5', (h) => fpSetup(h, undefined, 5));
fpIllegal(cases, 'fsqrt.s', fp('fsqrt.s', { rd: 5, rs1: 6, rm: 7 }), 'dyn with frm = 7', (h) => fpSetup(h, undefined, 7));
fpIllegal(cases, 'fsqrt.s', fp('fsqrt.s', { rd: 5, rs1: 6 }) | (1 << 20), 'fsqrt.s with rs2 != 0 is not an instruction', (h) => fpSetup(h));
C('fsgnj.s', { a: b(ONE), b: b(TWO), frm: 7 }, { f: b(ONE) }, 'no rm field: a reserved frm does not matter');

// ---- FP loads and stores to a device: an MMIO exit like lw/sw (f[i] is x-array slot 34 + i) ----
const DEVICE = 0x10000000n;
cases.add('flw', 'flw from a device: MMIO exit (size 4, rd slot 34 + 5), completed NaN-boxed', (h) => {
  const s = h.exec(fp('flw', { rd: 5, rs1: 6, imm: 4 }), (h) => { fpSetup(h); h.hart.setX(6, DEVICE); });
  expect(s.exit).toBe(A.EXIT_MMIO);
  expect([h.hart.mmioAddr, h.hart.mmioSize, h.hart.mmioWrite, slotValue(h.snapshot(), 'mmio_rd'), h.hart.pc]).toEqual([DEVICE + 4n, 4, false, 39n, CODE]);
  h.hart.mmioData = 0x80000001n;
  h.hart.mmioStatus = A.MMIO_OK;
  h.put(fp('fsgnj.s', { rd: 9, rs1: 5, rs2: 5 }), CODE + 4n); // the next instruction reads f5 as a boxed single
  h.core.run(2n);
  expect([h.hart.f(5), h.hart.f(9), h.hart.instret]).toEqual([box(0x80000001), box(0x80000001), 2n]);
  expect(h.hart.mstatus & (FS_DIRTY | SD)).toBe(FS_DIRTY | SD);
});
cases.add('fsw', 'fsw to a device: MMIO exit with the low word as data', (h) => {
  const s = h.exec(fp('fsw', { rs1: 6, rs2: 7, imm: 0 }), (h) => { fpSetup(h); h.hart.setX(6, DEVICE); h.hart.setF(7, b(0xdeadbeef)); });
  expect(s.exit).toBe(A.EXIT_MMIO);
  expect([h.hart.mmioAddr, h.hart.mmioSize, h.hart.mmioWrite, h.hart.mmioData]).toEqual([DEVICE, 4, true, 0xdeadbeefn]);
});
