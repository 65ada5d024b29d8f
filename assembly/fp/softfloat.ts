// An integer soft-float core for the F and D extensions (unprivileged spec ch. 20 "F", ch. 21
// "D"; IEEE 754-2008): every result is computed with integer arithmetic, rounded in any of the
// five RISC-V rounding modes, with the exact accrued exception flags. Wasm's f32/f64 give
// round-to-nearest-even results only and no flags, so no native float operation is used here
// (docs/fp.md).
//
// One set of routines serves both formats; `d` selects binary64 (true) or binary32 (false).
// A single value is passed as its 32 bits in the low half of a u64 (NaN-boxing is the
// executor's business, fp/exec.ts).
//
// The working form of a finite nonzero value is (sign, e, sig):
//
//     value = (-1)^sign * sig * 2^(e - bias - 62),   sig normalized: bit 62 set, bit 63 clear
//
//   63 62                                                                  0
//   | 0| 1| M fraction bits (52 / 23) | extra bits (10 / 39): round, sticky |
//
// so `e` is the biased exponent field the value would have if it were normal, the bits below
// the M fraction bits are the guard/round/sticky bits of rounding, and bit 63 is room for a
// carry. A right shift "jams": bits shifted out are ORed into bit 0 (sticky), which keeps
// round-to-nearest and the inexact flag exact. roundPack turns the working form into the
// encoding: the one place where rounding, overflow, underflow and inexact are decided.

/** Rounding modes (unpriv spec §20.2, table "Rounding mode encoding"). */
export const RM_RNE: u32 = 0;
export const RM_RTZ: u32 = 1;
export const RM_RDN: u32 = 2;
export const RM_RUP: u32 = 3;
export const RM_RMM: u32 = 4;
/** Accrued exception flags (fflags, unpriv spec §20.2). */
export const FF_NX: u32 = 1; // inexact
export const FF_UF: u32 = 2; // underflow
export const FF_OF: u32 = 4; // overflow
export const FF_DZ: u32 = 8; // divide by zero
export const FF_NV: u32 = 16; // invalid operation

/** The exception flags raised since the executor last cleared them (one instruction's). */
export let fpFlags: u32 = 0;
@inline export function clearFpFlags(): void { fpFlags = 0; }

// ---- format parameters ----
@inline function mBits(d: bool): u32 { return d ? 52 : 23; }
@inline function eAll(d: bool): i32 { return d ? 0x7ff : 0xff; } // the all-ones exponent field
@inline function bias(d: bool): i32 { return d ? 1023 : 127; }
@inline function extra(d: bool): u32 { return d ? 10 : 39; } // 62 - mBits
@inline function signPos(d: bool): u64 { return d ? 63 : 31; }
@inline function signBit(d: bool): u64 { return <u64>1 << signPos(d); }
/** The canonical NaN (unpriv spec §20.3): 0x7fc00000 / 0x7ff8000000000000. */
@inline export function canonicalNaN(d: bool): u64 { return d ? 0x7ff8000000000000 : 0x7fc00000; }
@inline function infinity(d: bool, s: u32): u64 { return (<u64>s << signPos(d)) | (<u64>eAll(d) << mBits(d)); }
@inline function zero(d: bool, s: u32): u64 { return <u64>s << signPos(d); }

// ---- classification of encodings ----
@inline function expField(d: bool, x: u64): i32 { return <i32>((x >> mBits(d)) & <u64>eAll(d)); }
@inline function fracField(d: bool, x: u64): u64 { return x & ((<u64>1 << mBits(d)) - 1); }
@inline export function signOf(d: bool, x: u64): u32 { return <u32>(x >> signPos(d)) & 1; }
@inline export function isNaN(d: bool, x: u64): bool { return expField(d, x) == eAll(d) && fracField(d, x) != 0; }
/** A signalling NaN: quiet bit (the fraction's top bit) clear. */
@inline export function isSNaN(d: bool, x: u64): bool {
  return isNaN(d, x) && ((x >> (mBits(d) - 1)) & 1) == 0;
}
@inline function isInf(d: bool, x: u64): bool { return expField(d, x) == eAll(d) && fracField(d, x) == 0; }
@inline function isZero(d: bool, x: u64): bool { return (x & ~signBit(d)) == 0; }

/** The exponent `e` of the last norm(). */
let nE: i32 = 0;
/** sig of a finite nonzero encoding x in the working form; its e goes to nE. */
function norm(d: bool, x: u64): u64 {
  const e = expField(d, x);
  const f = fracField(d, x);
  if (e != 0) { nE = e; return (f | (<u64>1 << mBits(d))) << extra(d); }
  // subnormal: value = f * 2^(1 - bias - M); normalize it (e may go to zero or below)
  const sig = f << extra(d);
  const n = <i32>clz(sig) - 1;
  nE = 1 - n;
  return sig << <u64>n;
}

/** x >> n, ORing the bits shifted out into bit 0 ("jamming"); any n. */
@inline function shiftRightJam(x: u64, n: u32): u64 {
  if (n == 0) return x;
  if (n >= 64) return x != 0 ? 1 : 0;
  return (x >> <u64>n) | ((x << <u64>(64 - n)) != 0 ? 1 : 0);
}

/**
 * 1 when a magnitude whose discarded bits are `rb` (halfway = `half`) rounds up in mode rm;
 * `lsb` is the kept value's lowest bit (ties to even), `s` the sign.
 */
@inline function roundUp(rm: u32, s: u32, rb: u64, half: u64, lsb: u64): u64 {
  switch (rm) {
    case RM_RNE: return rb > half || (rb == half && lsb != 0) ? 1 : 0;
    case RM_RTZ: return 0;
    case RM_RDN: return s != 0 && rb != 0 ? 1 : 0;
    case RM_RUP: return s == 0 && rb != 0 ? 1 : 0;
    default: return rb >= half ? 1 : 0; // RMM: ties away from zero
  }
}

/**
 * Round the working form (s, e, sig) to the format and encode it, raising NX, UF, OF.
 * Underflow (unpriv spec §20.2: "tininess is detected after rounding") is raised when the
 * result is tiny and inexact; tiny means that the value rounded to M + 1 bits as if the
 * exponent range were unbounded is below 2^emin.
 */
export function roundPack(d: bool, s: u32, e: i32, sig: u64, rm: u32): u64 {
  const M = mBits(d), ex = extra(d);
  const mask: u64 = (<u64>1 << ex) - 1, half: u64 = <u64>1 << (ex - 1);
  const sb = <u64>s << signPos(d);
  if (e <= 0) {
    let tiny = true;
    if (e == 0) {
      // Only a carry out of the rounding can lift a value in [2^(emin-1), 2^emin) to 2^emin.
      const up = roundUp(rm, s, sig & mask, half, (sig >> ex) & 1);
      tiny = (sig >> ex) + up < (<u64>1 << (M + 1));
    }
    sig = shiftRightJam(sig, <u32>(1 - e));
    const rb = sig & mask;
    if (rb != 0) { fpFlags |= FF_NX; if (tiny) fpFlags |= FF_UF; }
    // A carry into bit M makes the smallest normal number: the sum encodes it.
    return sb | ((sig >> ex) + roundUp(rm, s, rb, half, (sig >> ex) & 1));
  }
  const rb = sig & mask;
  let m = (sig >> ex) + roundUp(rm, s, rb, half, (sig >> ex) & 1);
  if ((m >> (M + 1)) != 0) { m >>= 1; e++; }
  if (e >= eAll(d)) {
    // Overflow (§20.2 and IEEE 754 §7.4): infinity, or the largest finite number when the
    // mode rounds toward zero from this side.
    fpFlags |= FF_OF | FF_NX;
    const toMax = rm == RM_RTZ || (rm == RM_RDN && s == 0) || (rm == RM_RUP && s != 0);
    return toMax ? sb | ((<u64>(eAll(d) - 1) << M) | ((<u64>1 << M) - 1)) : infinity(d, s);
  }
  if (rb != 0) fpFlags |= FF_NX;
  return sb | (<u64>e << M) | (m & ((<u64>1 << M) - 1));
}

/** The canonical NaN for an operation with a NaN operand; NV when one of them signals. */
@inline function nanResult(d: bool, snan: bool): u64 {
  if (snan) fpFlags |= FF_NV;
  return canonicalNaN(d);
}
@inline function invalid(d: bool): u64 {
  fpFlags |= FF_NV;
  return canonicalNaN(d);
}

// ---- addition ----

/** a + b (fadd); fsub is a + (b with its sign flipped). */
export function fadd(d: bool, a: u64, b: u64, rm: u32): u64 {
  if (isNaN(d, a) || isNaN(d, b)) return nanResult(d, isSNaN(d, a) || isSNaN(d, b));
  let sa = signOf(d, a), sb = signOf(d, b);
  if (isInf(d, a)) return isInf(d, b) && sa != sb ? invalid(d) : a;
  if (isInf(d, b)) return b;
  if (isZero(d, a)) {
    // +0 + -0 is +0, except in RDN (IEEE 754 §6.3)
    if (isZero(d, b)) return sa == sb ? a : zero(d, rm == RM_RDN ? 1 : 0);
    return b;
  }
  if (isZero(d, b)) return a;
  let A = norm(d, a), ea = nE;
  let B = norm(d, b), eb = nE;
  if (eb > ea || (eb == ea && B > A)) {
    const t = A; A = B; B = t;
    const te = ea; ea = eb; eb = te;
    const ts = sa; sa = sb; sb = ts;
  }
  B = shiftRightJam(B, <u32>(ea - eb));
  let e = ea;
  let sig: u64;
  if (sa == sb) {
    sig = A + B;
    if ((sig >> 63) != 0) { sig = shiftRightJam(sig, 1); e++; }
  } else {
    // |A| >= |B|. With ea - eb >= 2 the result keeps at least bit 61, so the jammed sticky
    // stays below the round bit after the normalizing shift; with ea - eb <= 1 nothing was
    // shifted out (the low extra bits of B are zero).
    sig = A - B;
    if (sig == 0) return zero(d, rm == RM_RDN ? 1 : 0);
    const n = <i32>clz(sig) - 1;
    sig <<= <u64>n;
    e -= n;
  }
  return roundPack(d, sa, e, sig, rm);
}

// ---- 128-bit helpers (fma, mul, sqrt) ----
let h128: u64 = 0;
let l128: u64 = 0;
/** The 128-bit product a * b into (h128, l128). */
function mul128(a: u64, b: u64): void {
  const a0 = a & 0xffffffff, a1 = a >> 32, b0 = b & 0xffffffff, b1 = b >> 32;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  l128 = (mid << 32) | (p00 & 0xffffffff);
  h128 = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}
/** (h, l) >> n with jamming, into (h128, l128). */
function shiftRightJam128(h: u64, l: u64, n: u32): void {
  if (n == 0) { h128 = h; l128 = l; return; }
  if (n < 64) {
    const st: u64 = (l << <u64>(64 - n)) != 0 ? 1 : 0;
    l128 = (l >> <u64>n) | (h << <u64>(64 - n)) | st;
    h128 = h >> <u64>n;
    return;
  }
  if (n < 128) {
    const k = n - 64;
    let st: u64 = l != 0 ? 1 : 0;
    if (k > 0 && (h << <u64>(64 - k)) != 0) st = 1;
    l128 = (k == 0 ? h : h >> <u64>k) | st;
    h128 = 0;
    return;
  }
  l128 = (h | l) != 0 ? 1 : 0;
  h128 = 0;
}
/** (h, l) << n for n < 128, into (h128, l128). */
function shiftLeft128(h: u64, l: u64, n: u32): void {
  if (n == 0) { h128 = h; l128 = l; return; }
  if (n < 64) { h128 = (h << <u64>n) | (l >> <u64>(64 - n)); l128 = l << <u64>n; return; }
  h128 = l << <u64>(n - 64);
  l128 = 0;
}

// ---- multiplication ----

/** a * b (fmul). */
export function fmul(d: bool, a: u64, b: u64, rm: u32): u64 {
  if (isNaN(d, a) || isNaN(d, b)) return nanResult(d, isSNaN(d, a) || isSNaN(d, b));
  const s = signOf(d, a) ^ signOf(d, b);
  if (isInf(d, a) || isInf(d, b)) {
    if (isZero(d, a) || isZero(d, b)) return invalid(d); // inf * 0
    return infinity(d, s);
  }
  if (isZero(d, a) || isZero(d, b)) return zero(d, s);
  const A = norm(d, a), ea = nE;
  const B = norm(d, b), eb = nE;
  mul128(A, B); // in [2^124, 2^126)
  let sig = (h128 << 2) | (l128 >> 62) | ((l128 << 2) != 0 ? 1 : 0);
  let e = ea + eb - bias(d);
  if ((sig >> 63) != 0) { sig = shiftRightJam(sig, 1); e++; }
  return roundPack(d, s, e, sig, rm);
}

// ---- division ----

/** a / b (fdiv). The quotient is developed one bit at a time (restoring division). */
export function fdiv(d: bool, a: u64, b: u64, rm: u32): u64 {
  if (isNaN(d, a) || isNaN(d, b)) return nanResult(d, isSNaN(d, a) || isSNaN(d, b));
  const s = signOf(d, a) ^ signOf(d, b);
  if (isInf(d, a)) return isInf(d, b) ? invalid(d) : infinity(d, s);
  if (isInf(d, b)) return zero(d, s);
  if (isZero(d, b)) {
    if (isZero(d, a)) return invalid(d); // 0 / 0
    fpFlags |= FF_DZ;
    return infinity(d, s);
  }
  if (isZero(d, a)) return zero(d, s);
  let A = norm(d, a), ea = nE;
  const B = norm(d, b), eb = nE;
  let e = ea - eb + bias(d);
  if (A < B) { A <<= 1; e--; } // now B <= A < 2B: the quotient is in [1, 2)
  let q: u64 = 0;
  let r = A;
  for (let i = 0; i < 63; i++) {
    q <<= 1;
    if (r >= B) { r -= B; q |= 1; }
    r <<= 1; // r < B < 2^63 before the shift
  }
  return roundPack(d, s, e, q | (r != 0 ? 1 : 0), rm);
}

// ---- square root ----

/** sqrt(a) (fsqrt). */
export function fsqrt(d: bool, a: u64, rm: u32): u64 {
  if (isNaN(d, a)) return nanResult(d, isSNaN(d, a));
  if (isZero(d, a)) return a; // sqrt(-0) = -0
  if (signOf(d, a) != 0) return invalid(d);
  if (isInf(d, a)) return a;
  const A = norm(d, a);
  const E = nE - bias(d); // value = A * 2^(E - 62)
  const odd = E & 1;
  // N = A * 2^(62 + odd): sqrt(value) = sqrt(N) * 2^((E - odd) / 2 - 62), sqrt(N) in [2^62, 2^63).
  const sh = <u64>(62 + odd);
  const nh = A >> (64 - sh), nl = A << sh;
  let r: u64 = 0;
  for (let bit = 62; bit >= 0; bit--) {
    const t = r | (<u64>1 << <u64>bit);
    mul128(t, t);
    if (h128 < nh || (h128 == nh && l128 <= nl)) r = t;
  }
  mul128(r, r);
  const exact = h128 == nh && l128 == nl;
  return roundPack(d, 0, ((E - odd) >> 1) + bias(d), r | (exact ? 0 : 1), rm);
}

// ---- fused multiply-add ----

/**
 * (-1)^negProd * a * b + (-1)^negC * c with one rounding: fmadd (false, false), fmsub
 * (false, true), fnmsub (true, false), fnmadd (true, true). The product is exact in 128 bits;
 * the addend is aligned to it with jamming (unpriv spec §20.6).
 */
export function fma(d: bool, a: u64, b: u64, c: u64, rm: u32, negProd: bool, negC: bool): u64 {
  if (isNaN(d, a) || isNaN(d, b) || isNaN(d, c)) {
    // inf * 0 is invalid even when the addend is a quiet NaN (§20.6).
    const infZero = (isInf(d, a) && isZero(d, b)) || (isZero(d, a) && isInf(d, b));
    return nanResult(d, isSNaN(d, a) || isSNaN(d, b) || isSNaN(d, c) || infZero);
  }
  const sP = signOf(d, a) ^ signOf(d, b) ^ (negProd ? 1 : 0);
  const sC = signOf(d, c) ^ (negC ? 1 : 0);
  if (isInf(d, a) || isInf(d, b)) {
    if (isZero(d, a) || isZero(d, b)) return invalid(d);
    if (isInf(d, c) && sC != sP) return invalid(d);
    return infinity(d, sP);
  }
  if (isInf(d, c)) return infinity(d, sC);
  if (isZero(d, a) || isZero(d, b)) {
    if (isZero(d, c)) return zero(d, sP == sC ? sP : rm == RM_RDN ? 1 : 0);
    return (c & ~signBit(d)) | (<u64>sC << signPos(d)); // exact: c itself
  }
  const A = norm(d, a), ea = nE;
  const B = norm(d, b), eb = nE;
  mul128(A, B);
  // The product, normalized so its top bit is bit 125: value = P * 2^(eP - bias - 125).
  let ph = h128, pl = l128;
  let eP = ea + eb - bias(d) + 1;
  if ((ph >> 61) == 0) { shiftLeft128(ph, pl, 1); ph = h128; pl = l128; eP--; }
  let s = sP, e = eP, xh = ph, xl = pl;
  if (!isZero(d, c)) {
    const C = norm(d, c), eC = nE;
    let ch = C >> 1, cl = C << 63; // top bit at 125 too
    // x = the larger magnitude, y = the smaller, aligned to x.
    let yh = ch, yl = cl, ey = eC;
    if (eC > eP || (eC == eP && (ch > ph || (ch == ph && cl > pl)))) {
      s = sC; e = eC; xh = ch; xl = cl; yh = ph; yl = pl; ey = eP;
    }
    shiftRightJam128(yh, yl, <u32>(e - ey));
    yh = h128; yl = l128;
    if (sP == sC) {
      const lo = xl + yl;
      xh = xh + yh + (lo < xl ? 1 : 0);
      xl = lo;
      if ((xh >> 62) != 0) { shiftRightJam128(xh, xl, 1); xh = h128; xl = l128; e++; }
    } else {
      // x - y >= 0. As in fadd: an alignment of 2 or more keeps the result above 2^124, so
      // the sticky bit stays far below the round bit; smaller alignments lose no bits.
      const lo = xl - yl;
      xh = xh - yh - (xl < yl ? 1 : 0);
      xl = lo;
      if (xh == 0 && xl == 0) return zero(d, rm == RM_RDN ? 1 : 0);
      const lz = xh != 0 ? <u32>clz(xh) : 64 + <u32>clz(xl);
      shiftLeft128(xh, xl, lz - 2);
      xh = h128; xl = l128;
      e -= <i32>(lz - 2);
    }
  }
  // top bit 125 -> working form (bit 62), jamming the low 63 bits
  const sig = (xh << 1) | (xl >> 63) | ((xl << 1) != 0 ? 1 : 0);
  return roundPack(d, s, e, sig, rm);
}

// ---- conversions ----

/**
 * fcvt.{w,wu,l,lu}.{s,d}: a to a 32- or 64-bit integer, as the value of the x register (a
 * 32-bit result sign-extended, §20.7). Out of range and NaN saturate with NV only, per the
 * table "Domains of float-to-integer conversions": NaN and +inf give the largest value, -inf
 * the smallest; in range and inexact gives NX.
 */
export function fcvtToInt(d: bool, a: u64, rm: u32, wide: bool, signed: bool): u64 {
  const maxPos: u64 = signed ? (wide ? 0x7fffffffffffffff : 0x7fffffff) : (wide ? 0xffffffffffffffff : 0xffffffff);
  const minNeg: u64 = signed ? (wide ? 0x8000000000000000 : 0xffffffff80000000) : 0;
  const hi = wide ? maxPos : <u64><i64><i32>maxPos; // sign-extended
  if (isNaN(d, a)) { fpFlags |= FF_NV; return hi; }
  const s = signOf(d, a);
  if (isInf(d, a)) { fpFlags |= FF_NV; return s != 0 ? minNeg : hi; }
  if (isZero(d, a)) return 0;
  const A = norm(d, a);
  const E = nE - bias(d); // value = A * 2^(E - 62)
  let mag: u64 = 0;
  let frac: u64 = 0; // the discarded fraction, scaled so that one half is 2^63
  if (E > 63) {
    fpFlags |= FF_NV;
    return s != 0 ? minNeg : hi;
  } else if (E >= 62) {
    mag = A << <u64>(E - 62);
  } else {
    const k = <u32>(62 - E); // >= 1
    if (k < 64) { mag = A >> <u64>k; frac = A << <u64>(64 - k); }
    else frac = k == 64 ? A : 1; // nonzero and below one half
    mag += roundUp(rm, s, frac, <u64>1 << 63, mag & 1);
  }
  let bad = false;
  if (signed) {
    const lim: u64 = wide ? 0x8000000000000000 : 0x80000000;
    bad = s != 0 ? mag > lim : mag >= lim;
  } else {
    bad = s != 0 ? mag != 0 : mag > maxPos;
  }
  if (bad) { fpFlags |= FF_NV; return s != 0 ? minNeg : hi; }
  if (frac != 0) fpFlags |= FF_NX;
  const v = s != 0 ? 0 - mag : mag;
  return wide ? v : <u64><i64><i32>v;
}

/**
 * fcvt.{s,d}.{w,wu,l,lu}: the integer in x register value v (its low 32 bits for w/wu) to the
 * format, rounded in rm.
 */
export function fcvtFromInt(d: bool, v: u64, rm: u32, wide: bool, signed: bool): u64 {
  let x = v;
  if (!wide) x = signed ? <u64><i64><i32>v : v & 0xffffffff;
  const s: u32 = signed && <i64>x < 0 ? 1 : 0;
  const mag = s != 0 ? 0 - x : x;
  if (mag == 0) return 0;
  const n = <u32>clz(mag);
  if (n == 0) return roundPack(d, s, bias(d) + 63, shiftRightJam(mag, 1), rm);
  return roundPack(d, s, bias(d) + 63 - <i32>n, mag << <u64>(n - 1), rm);
}

/** fcvt.s.d (narrow = true) and fcvt.d.s: NaNs become the canonical NaN (NV if signalling). */
export function fcvtFormat(narrow: bool, a: u64, rm: u32): u64 {
  const from = narrow, to = !narrow; // narrowing reads a double
  if (isNaN(from, a)) return nanResult(to, isSNaN(from, a));
  const s = signOf(from, a);
  if (isInf(from, a)) return infinity(to, s);
  if (isZero(from, a)) return zero(to, s);
  const A = norm(from, a);
  return roundPack(to, s, nE - bias(from) + bias(to), A, rm); // exact when widening
}

// ---- sign injection, comparisons, min/max, classify ----

/** fsgnj (mode 0), fsgnjn (1), fsgnjx (2): a's magnitude with a sign from b. */
export function fsgnj(d: bool, a: u64, b: u64, mode: u32): u64 {
  const sb = signBit(d);
  const bs = mode == 0 ? b & sb : mode == 1 ? ~b & sb : (a ^ b) & sb;
  return (a & ~sb) | bs;
}

/** a < b (orEqual: a <= b) for non-NaN a and b, with -0 == +0. */
function lessThan(d: bool, a: u64, b: u64, orEqual: bool): bool {
  if (isZero(d, a) && isZero(d, b)) return orEqual;
  if (a == b) return orEqual;
  const sa = signOf(d, a), sb = signOf(d, b);
  if (sa != sb) return sa != 0;
  return sa == 0 ? a < b : a > b; // same sign: the encodings order the magnitudes
}

/** feq: quiet comparison (NV only for a signalling NaN). */
export function feq(d: bool, a: u64, b: u64): u64 {
  if (isNaN(d, a) || isNaN(d, b)) {
    if (isSNaN(d, a) || isSNaN(d, b)) fpFlags |= FF_NV;
    return 0;
  }
  return a == b || (isZero(d, a) && isZero(d, b)) ? 1 : 0;
}
/** flt (orEqual false) and fle: signalling comparisons (NV for any NaN, §20.8). */
export function fless(d: bool, a: u64, b: u64, orEqual: bool): u64 {
  if (isNaN(d, a) || isNaN(d, b)) { fpFlags |= FF_NV; return 0; }
  return lessThan(d, a, b, orEqual) ? 1 : 0;
}

/**
 * fmin/fmax (§20.6, the 2.2 rules = IEEE 754-2019 minimumNumber/maximumNumber): -0 < +0; one
 * NaN operand gives the other operand; two give the canonical NaN; a signalling NaN raises NV.
 */
export function fminmax(d: bool, a: u64, b: u64, max: bool): u64 {
  const an = isNaN(d, a), bn = isNaN(d, b);
  if (isSNaN(d, a) || isSNaN(d, b)) fpFlags |= FF_NV;
  if (an && bn) return canonicalNaN(d);
  if (an) return b;
  if (bn) return a;
  const sa = signOf(d, a), sb = signOf(d, b);
  // the total order of non-NaN encodings, -0 below +0
  const aLess = sa != sb ? sa != 0 : sa == 0 ? a < b : a > b;
  return aLess != max ? a : b;
}

/** fclass (§20.9): one bit of ten. */
export function fclass(d: bool, a: u64): u64 {
  const s = signOf(d, a);
  if (isNaN(d, a)) return isSNaN(d, a) ? 1 << 8 : 1 << 9;
  if (isInf(d, a)) return s != 0 ? 1 << 0 : 1 << 7;
  if (isZero(d, a)) return s != 0 ? 1 << 3 : 1 << 4;
  if (expField(d, a) == 0) return s != 0 ? 1 << 2 : 1 << 5;
  return s != 0 ? 1 << 1 : 1 << 6;
}
