/**
 * Differential test programs for the F and D extensions: each program runs a table of cases
 * (one F/D instruction, its operands, its rounding mode) on the bare machine and prints, per
 * case, the result bits and the fflags the instruction raised. The same image runs on
 * `qemu-system-riscv64 -M virt -bios none` and on wasmvisor (both tiers); the lines must be equal.
 *
 * ```
 *   0x80000000  prologue   x8 = IN, x18 = OUT (auipc/addi); mstatus.FS = Initial
 *               per group  the cases of one instruction word (op and rm field), x13 of them:
 *                 loop:    fld f1, f2, f3, ld x10, ld x14 from IN (the case's a, b, c, x, frm)
 *                          csrrw frm, x14; csrrwi fflags, 0
 *                          <the instruction>: rd f4 or x11; rs1 f1 or x10; rs2 f2; rs3 f3
 *                          csrrs x12, fflags; fsd f4 / sd x11 -> OUT; sd x12 -> OUT + 8
 *                          x8 += 40, x18 += 16; loop while --x13
 *               epilogue   print a line per case, "<result: 16 hex digits> <fflags: 2>", on
 *                          the UART, then PASS through the test finisher
 *   IN          (4 KiB aligned after the code) 40 bytes per case: a, b, c, x, frm
 *   OUT         after IN: 16 bytes per case (zero in the image)
 * ```
 *
 * Operands: random bit patterns, and the special values of each format: +-0, subnormals (the
 * smallest, the largest, random ones), the smallest and largest normals, +-1, +-inf, quiet and
 * signalling NaNs (with payloads and either sign), the boundaries of the integer conversions
 * (2^31 - 1, 2^31, 2^32, 2^63, -2^63 - 1 and their neighbours, as floats), x.5 values for the
 * ties of rounding, operands with close exponents (cancellation) and fma addends near -(a * b).
 * A single is NaN-boxed, except now and then on purpose. The rounding mode is static (rm 0..4)
 * or dyn with frm 0..4; with a static rm, frm may hold a reserved value (it must not matter).
 */
import { ISA } from '../../assembly/isa/table';
import { Rng } from './fuzz';
import { fp, hasRm, csr, CSR_FFLAGS, CSR_FRM } from './fp-encode';

export const LOAD_ADDR = 0x80000000;
const UART = 0x10000000;
const FINISHER = 0x100000;

/** One case of a program. */
export interface FpCase {
  op: string;
  rm: number;
  frm: number;
  a: bigint;
  b: bigint;
  c: bigint;
  x: bigint;
}

export interface FpProgram {
  seed: number;
  cases: FpCase[];
  image: Uint8Array;
}

/** The F/D rows the fuzzer runs: everything but the loads and stores. */
export const FP_OPS: string[] = ISA.filter((r) => (r[1] === 'F' || r[1] === 'D') && r[4] !== 'FL' && r[4] !== 'FS').map((r) => r[0]);

/** What an op reads: 's' or 'd' f registers, or 'x' (x10). */
export function inputKind(op: string): 's' | 'd' | 'x' {
  if (op === 'fmv.w.x' || op === 'fmv.d.x') return 'x';
  if (op === 'fmv.x.w') return 's';
  if (op === 'fmv.x.d') return 'd';
  const m = /^fcvt\.[a-z]+\.([a-z]+)$/.exec(op);
  if (m) return m[1] === 's' ? 's' : m[1] === 'd' ? 'd' : 'x';
  return op.endsWith('.s') ? 's' : 'd';
}

/** The op writes an x register (FCMP and FX formats). */
export function writesX(op: string): boolean {
  const row = ISA.find((r) => r[0] === op)!;
  return row[4] === 'FCMP' || row[4] === 'FX';
}

// ---- values ----
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export const bitsD = (v: number): bigint => { f64[0] = v; return u64[0]; };
export const bitsS = (v: number): bigint => { f32[0] = v; return BigInt(u32[0]); };
export const valueD = (b: bigint): number => { u64[0] = BigInt.asUintN(64, b); return f64[0]; };
export const valueS = (b: bigint): number => { u32[0] = Number(BigInt.asUintN(32, b)); return f32[0]; };

const BOUNDARIES = [
  0.5, 1.5, 2.5, 3.5, 1, 2, 3, 0.25, 0.75, 1e-3, 2 ** 31 - 1, 2 ** 31, 2 ** 31 - 0.5, 2 ** 31 + 0.5, 2 ** 31 + 1,
  2 ** 32, 2 ** 32 - 1, 2 ** 32 - 0.5, 2 ** 32 + 1, 2 ** 63, 2 ** 63 - 1024, 2 ** 63 + 2048, 2 ** 64, 2 ** 64 - 2048,
  2 ** 24 + 1, 2 ** 23 + 0.5, 2 ** 52 - 0.5, 2 ** 53 + 1, 2 ** 53 + 2, 0.1, 1 / 3,
];

/** Special encodings of a format (all as bit patterns of that format). */
function specials(d: boolean): bigint[] {
  const v: bigint[] = d
    ? [0n, 1n, 0x000fffffffffffffn, 0x0008000000000000n, 0x0010000000000000n, 0x0010000000000001n, 0x7fefffffffffffffn,
      0x7ff0000000000000n, 0x7ff8000000000000n, 0x7ff8000000012345n, 0x7ff0000000000001n, 0x7ff4000000000000n,
      0x3ff0000000000000n, 0x3fefffffffffffffn, 0x3ff0000000000001n, 0x7fe0000000000000n, 0x0020000000000000n]
    : [0n, 1n, 0x7fffffn, 0x400000n, 0x800000n, 0x800001n, 0x7f7fffffn, 0x7f800000n, 0x7fc00000n, 0x7fc12345n,
      0x7f800001n, 0x7fa00000n, 0x3f800000n, 0x3f7fffffn, 0x3f800001n, 0x7f000000n, 0x1000000n];
  for (const x of BOUNDARIES) v.push(d ? bitsD(x) : bitsS(x));
  return v;
}
const SPECIAL_D = specials(true);
const SPECIAL_S = specials(false);

function randomBits(r: Rng, d: boolean): bigint {
  const hi = BigInt(r.u32()), lo = BigInt(r.u32());
  return d ? (hi << 32n) | lo : lo;
}

/** A random finite value with a random exponent in [bias - spread, bias + spread]. */
function randomNear(r: Rng, d: boolean, spread: number): bigint {
  const m = d ? 52 : 23, bias = d ? 1023 : 127, emax = d ? 2046 : 254;
  const e = Math.max(1, Math.min(emax, bias + r.int(-spread, spread)));
  const frac = randomBits(r, true) & ((1n << BigInt(m)) - 1n);
  // sometimes few significant bits: exact results and ties are more likely
  const f = r.chance(0.3) ? frac & ~((1n << BigInt(r.int(0, m))) - 1n) : frac;
  return (BigInt(e) << BigInt(m)) | f;
}

/** One operand of a format (sign included). */
function operand(r: Rng, d: boolean): bigint {
  const sign = d ? 1n << 63n : 1n << 31n;
  let v: bigint;
  const k = r.u32() % 100;
  if (k < 25) v = r.pick(d ? SPECIAL_D : SPECIAL_S);
  else if (k < 35) v = randomBits(r, d);
  else if (k < 45) v = randomBits(r, true) & (d ? 0x000fffffffffffffn : 0x7fffffn); // subnormal (or zero)
  else if (k < 85) v = randomNear(r, d, 12);
  else v = randomNear(r, d, d ? 1100 : 140);
  // neighbours of a special value, one ulp either way
  if (k < 25 && r.chance(0.3)) v = BigInt.asUintN(d ? 64 : 32, v + (r.chance(0.5) ? 1n : -1n)) & ~sign;
  if (r.chance(0.45)) v |= sign; else v &= ~sign;
  return v;
}

/** b related to a: close exponent, or a's value nudged, for cancellation and ties. */
function related(r: Rng, d: boolean, a: bigint): bigint {
  const width = d ? 64 : 32;
  const sign = 1n << BigInt(width - 1);
  const k = r.u32() % 4;
  if (k === 0) return a ^ sign; // -a
  if (k === 1) return BigInt.asUintN(width, (a ^ (r.chance(0.5) ? sign : 0n)) + BigInt(r.int(-3, 3)));
  const m = d ? 52 : 23;
  const shift = BigInt(r.int(-2, 2)) << BigInt(m); // exponent +-2
  return BigInt.asUintN(width, (a & ~((1n << BigInt(m)) - 1n)) + shift + (randomBits(r, true) & ((1n << BigInt(m)) - 1n))) ^ (r.chance(0.5) ? sign : 0n);
}

/** An fma addend near -(a * b) (the cancellation cases), or a random operand. */
function addend(r: Rng, d: boolean, a: bigint, b: bigint): bigint {
  if (!r.chance(0.5)) return operand(r, d);
  const p = d ? valueD(a) * valueD(b) : Math.fround(valueS(a) * valueS(b));
  if (!Number.isFinite(p)) return operand(r, d);
  const c = d ? bitsD(-p) : bitsS(-p);
  return BigInt.asUintN(d ? 64 : 32, c + BigInt(r.int(-2, 2)));
}

/** A NaN-boxed single (now and then not boxed, on purpose). */
function boxS(r: Rng, v: bigint): bigint {
  if (r.chance(0.03)) return r.chance(0.5) ? v : (BigInt(r.u32()) << 32n) | v;
  return 0xffffffff00000000n | v;
}

const INT_EDGES = [0n, 1n, -1n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), 2n ** 32n - 1n, 2n ** 24n + 1n, 2n ** 53n + 1n,
  2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 0xffffffff00000001n, 2n ** 31n + 1n];

function intOperand(r: Rng): bigint {
  if (r.chance(0.3)) return BigInt.asUintN(64, r.pick(INT_EDGES));
  if (r.chance(0.3)) return BigInt.asUintN(64, BigInt(r.int(-100000, 100000)));
  return BigInt.asUintN(64, r.value64());
}

/** Weight of each op: arithmetic and conversions more often than moves. */
function pickOp(r: Rng): string {
  if (r.chance(0.35)) return r.pick(['fadd', 'fsub', 'fmul', 'fdiv', 'fmadd', 'fmsub', 'fnmsub', 'fnmadd', 'fsqrt'].map((o) => `${o}.${r.chance(0.5) ? 's' : 'd'}`));
  return r.pick(FP_OPS);
}

/**
 * A value near a boundary where rounding decides underflow or overflow: 2^emin (tininess after
 * rounding), half the smallest subnormal, the largest finite number and 2^(emax + 1), off by a
 * few units in the last place.
 */
function boundary(r: Rng, d: boolean): number {
  const p = d ? 53 : 24;
  const emin = d ? -1022 : -126, emax = d ? 1023 : 127;
  const base = r.pick([2 ** emin, 2 ** emin, 2 ** (emin - p), 2 ** emin * (2 - 2 ** (1 - p)), 2 ** emax * (2 - 2 ** (1 - p)), 2 ** emax * 2]);
  const ulp = 2 ** -p;
  const t = (Number.isFinite(base) ? base : 2 ** emax * 2) * (1 + ulp * (r.int(-6, 6) + r.u32() / 2 ** 32));
  return r.chance(0.5) ? -t : t;
}

/**
 * Operands whose exact result lands near a boundary() value with bits beyond the format's
 * precision (so the rounding, not the operands, decides UF or OF), for ops that can get there.
 */
function boundaryOperands(r: Rng, op: string, d: boolean): [number, number, number] | undefined {
  const t = boundary(r, d);
  const round = (v: number) => (d ? v : Math.fround(v));
  const a = round((1 + r.u32() / 2 ** 32) * (r.chance(0.5) ? 1 : 2 ** r.int(-20, 20)));
  const name = op.replace(/\.[sd]$/, '');
  switch (name) {
    case 'fmul': return [a, round(t / a), 0];
    case 'fdiv': return [round(t * a), a, 0];
    case 'fadd': case 'fsub': {
      const small = round(t * 2 ** -r.int(1, d ? 60 : 30) * (r.chance(0.5) ? 1 : -1));
      const big = round(t - small);
      return name === 'fadd' ? [big, small, 0] : [big, -small, 0];
    }
    case 'fmadd': case 'fmsub': case 'fnmsub': case 'fnmadd': return [a, round(t / a), r.chance(0.5) ? 0 : round(t * 2 ** -r.int(1, 40))];
    default: return undefined;
  }
}

/** A random case. */
export function randomCase(r: Rng): FpCase {
  const op = pickOp(r);
  const kind = inputKind(op);
  const d = kind === 'd';
  let rm = 7, frm = r.int(0, 4);
  if (hasRm(op)) {
    if (r.chance(0.5)) { rm = r.int(0, 4); if (r.chance(0.2)) frm = r.int(5, 7); }
  } else if (r.chance(0.2)) frm = r.int(5, 7);
  let a = 0n, b = 0n, c = 0n;
  if (kind !== 'x') {
    a = operand(r, d);
    b = r.chance(0.35) ? related(r, d, a) : operand(r, d);
    c = addend(r, d, a, b);
    const near = r.chance(0.25) ? boundaryOperands(r, op, d) : undefined;
    if (near) [a, b, c] = near.map((v) => (d ? bitsD(v) : bitsS(v))) as [bigint, bigint, bigint];
    if (op === 'fcvt.s.d' && r.chance(0.3)) a = bitsD(boundary(r, false)); // doubles near the single boundaries
    if (!d) { a = boxS(r, a); b = boxS(r, b); c = boxS(r, c); }
  }
  return { op, rm, frm, a, b, c, x: intOperand(r) };
}

/** The instruction of a case: rd = f4 (x11 for an x result), rs1 = f1 (x10), rs2 = f2, rs3 = f3. */
export function caseInsn(k: FpCase): number {
  return fp(k.op, { rd: writesX(k.op) ? 11 : 4, rs1: inputKind(k.op) === 'x' ? 10 : 1, rs2: 2, rs3: 3, rm: k.rm });
}

// ---- assembling ----
const addi = (rd: number, rs1: number, imm: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x13) >>> 0;
const ld = (rd: number, rs1: number, imm: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x03) >>> 0;
const lbu = (rd: number, rs1: number, imm: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (4 << 12) | (rd << 7) | 0x03) >>> 0;
const sd = (rs2: number, rs1: number, imm: number) => ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (3 << 12) | ((imm & 31) << 7) | 0x23) >>> 0;
const sb = (rs2: number, rs1: number) => ((rs2 << 20) | (rs1 << 15) | 0x23) >>> 0;
const sw = (rs2: number, rs1: number) => ((rs2 << 20) | (rs1 << 15) | (2 << 12) | 0x23) >>> 0;
const lui = (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0;
const auipc = (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x17) >>> 0;
const rop = (f3: number, f7: number, rd: number, rs1: number, rs2: number) => ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x33) >>> 0;
const andi = (rd: number, rs1: number, imm: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (7 << 12) | (rd << 7) | 0x13) >>> 0;
const btype = (f3: number, rs1: number, rs2: number, off: number) =>
  ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (((off >> 1) & 15) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0;
const jal = (rd: number, off: number) =>
  ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) | (((off >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0;
const jalr = (rd: number, rs1: number) => ((rs1 << 15) | (rd << 7) | 0x67) >>> 0;
const fldI = (rd: number, rs1: number, imm: number) => fp('fld', { rd, rs1, imm });
const fsdI = (rs2: number, rs1: number, imm: number) => fp('fsd', { rs1, rs2, imm });

/**
 * Build the program of `n` cases for one seed. Same seed, same bytes. The cases are grouped by
 * instruction (a stable sort on the instruction word), and each group is a loop over its
 * cases' operands, so the code stays small and the JIT compiles each loop once.
 */
export function buildFpProgram(seed: number, n: number): FpProgram {
  const r = new Rng(seed);
  const drawn = Array.from({ length: n }, () => randomCase(r));
  const cases = drawn.map((k, i) => ({ k, i, w: caseInsn(k) })).sort((x, y) => x.w - y.w || x.i - y.i).map((x) => x.k);
  const code: number[] = [];
  const fix: number[] = []; // auipc/addi pairs to patch: x8 = IN, x18 = OUT, x9 = OUT, x19 = OUT end
  fix.push(code.length); code.push(0, 0);
  fix.push(code.length); code.push(0, 0);
  code.push(lui(5, 2)); // 0x2000: mstatus.FS = Initial
  code.push(csr(2, 0, 0x300, 5)); // csrrs zero, mstatus, t0
  for (let g = 0; g < cases.length;) {
    const w = caseInsn(cases[g]);
    let e = g;
    while (e < cases.length && caseInsn(cases[e]) === w) e++;
    const count = e - g;
    code.push(lui(13, (count + 0x800) >> 12), addi(13, 13, count - (((count + 0x800) >> 12) << 12))); // x13 = count
    const loop = code.length;
    code.push(fldI(1, 8, 0), fldI(2, 8, 8), fldI(3, 8, 16), ld(10, 8, 24), ld(14, 8, 32));
    code.push(csr(1, 0, CSR_FRM, 14), csr(5, 0, CSR_FFLAGS, 0)); // frm = x14; fflags = 0
    code.push(w);
    code.push(csr(2, 12, CSR_FFLAGS, 0));
    code.push(writesX(cases[g].op) ? sd(11, 18, 0) : fsdI(4, 18, 0), sd(12, 18, 8));
    code.push(addi(8, 8, 40), addi(18, 18, 16), addi(13, 13, -1));
    code.push(btype(1, 13, 0, (loop - code.length) * 4)); // bne x13, zero, loop
    g = e;
  }
  // epilogue: per case "<result: 16 hex digits> <flags: 2 hex digits>\n"
  fix.push(code.length); code.push(0, 0);
  fix.push(code.length); code.push(0, 0);
  const loop = code.length;
  code.push(ld(5, 9, 0), addi(20, 0, 60));
  const callHex1 = code.length; code.push(0);
  code.push(addi(7, 0, 32));
  const callPutc0 = code.length; code.push(0);
  code.push(ld(5, 9, 8), addi(20, 0, 4));
  const callHex2 = code.length; code.push(0);
  code.push(addi(7, 0, 10));
  const callPutc3 = code.length; code.push(0);
  code.push(addi(9, 9, 16));
  code.push(btype(6, 9, 19, (loop - code.length) * 4)); // bltu x9, x19, loop
  // drain the transmitter (LSR.TEMT), then PASS through the finisher
  code.push(lui(6, UART >>> 12));
  const drain = code.length;
  code.push(lbu(10, 6, 5), andi(10, 10, 0x40), btype(0, 10, 0, (drain - code.length - 2) * 4));
  code.push(lui(6, FINISHER >>> 12), lui(7, 5), addi(7, 7, 0x555), sw(7, 6), jal(0, 0));
  // hex: print x5 from bit x20 + 3 down as hex digits; uses x7, x20, x21, x6; returns through x1
  const hexAt = code.length;
  const digit = code.length;
  code.push(rop(5, 0, 7, 5, 20), andi(7, 7, 15), addi(21, 7, -10));
  code.push(btype(4, 21, 0, 8)); // blt x21, zero, +8
  code.push(addi(7, 7, 39), addi(7, 7, 48));
  const callPutc1 = code.length; code.push(0);
  code.push(addi(20, 20, -4), btype(5, 20, 0, (digit - code.length - 1) * 4));
  code.push(jalr(0, 1));
  // putc: wait for LSR.THRE, write x7; uses x6, x22; returns through x3
  const putcAt = code.length;
  code.push(lui(6, UART >>> 12));
  const wait = code.length;
  code.push(lbu(22, 6, 5), andi(22, 22, 0x20), btype(0, 22, 0, (wait - code.length - 2) * 4));
  code.push(sb(7, 6), jalr(0, 3));
  for (const at of [callHex1, callHex2]) code[at] = jal(1, (hexAt - at) * 4);
  for (const at of [callPutc0, callPutc1, callPutc3]) code[at] = jal(3, (putcAt - at) * 4);

  const IN = (code.length * 4 + 4095) & ~4095;
  const OUT = IN + 40 * n;
  const la = (at: number, rd: number, target: number) => {
    const rel = target - at * 4;
    const hi = (rel + 0x800) >> 12;
    code[at] = auipc(rd, hi);
    code[at + 1] = addi(rd, rd, rel - (hi << 12));
  };
  la(fix[0], 8, IN);
  la(fix[1], 18, OUT);
  la(fix[2], 9, OUT);
  la(fix[3], 19, OUT + 16 * n);
  const image = new Uint8Array(OUT);
  const view = new DataView(image.buffer);
  code.forEach((w, i) => view.setUint32(i * 4, w, true));
  cases.forEach((k, i) => {
    view.setBigUint64(IN + 40 * i, k.a, true);
    view.setBigUint64(IN + 40 * i + 8, k.b, true);
    view.setBigUint64(IN + 40 * i + 16, k.c, true);
    view.setBigUint64(IN + 40 * i + 24, k.x, true);
    view.setBigUint64(IN + 40 * i + 32, BigInt(k.frm), true);
  });
  return { seed, cases, image };
}

/** The printed results: result and flags of each case, in order (two entries per case). */
export function parseResults(text: string): bigint[] {
  const out: bigint[] = [];
  for (const l of text.split(/\r?\n/)) {
    const m = /^([0-9a-f]{16}) ([0-9a-f]{2})$/.exec(l);
    if (m) out.push(BigInt('0x' + m[1]), BigInt('0x' + m[2]));
  }
  return out;
}

const h = (v: bigint) => '0x' + v.toString(16);

/** One case as text, for a failure message. */
export function describeCase(k: FpCase): string {
  const ins = inputKind(k.op) === 'x' ? `x=${h(k.x)}` : `a=${h(k.a)} b=${h(k.b)} c=${h(k.c)}`;
  return `${k.op} rm=${k.rm} frm=${k.frm} ${ins}`;
}

/**
 * The first case where two result lists differ, as text, or undefined when they agree on
 * every case (and both have all 2 n dwords).
 */
export function firstMismatch(p: FpProgram, want: bigint[], got: bigint[], names: [string, string]): string | undefined {
  for (let i = 0; i < p.cases.length; i++) {
    const wr = want[2 * i], wf = want[2 * i + 1], gr = got[2 * i], gf = got[2 * i + 1];
    if (wr !== gr || wf !== gf) {
      const fmt = (r?: bigint, f?: bigint) => (r === undefined ? '(missing)' : `${h(r)} flags ${f === undefined ? '?' : h(f)}`);
      return `seed ${p.seed} case ${i}: ${describeCase(p.cases[i])}: ${names[0]} ${fmt(wr, wf)}, ${names[1]} ${fmt(gr, gf)}`;
    }
  }
  if (want.length !== got.length) return `seed ${p.seed}: ${names[0]} printed ${want.length} dwords, ${names[1]} ${got.length}`;
  return undefined;
}
