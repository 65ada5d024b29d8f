/**
 * The harness side of the F and D unit tests (cases/rv64f.ts, cases/rv64d.ts): one
 * instruction from its raw encoding, operands in f6, f7, f8 (or x6), result in f5 (or x5), and
 * an exact expectation of everything that changed: the result register, fcsr (the accrued
 * flags), mstatus (FS becomes Dirty with SD when the FP state is written, privileged spec
 * §3.1.6.6), pc and instret. Every f register starts with a distinct poison value so that a
 * stray write shows in the diff.
 */
import { fp, fpRow, hasRm, RM } from '../../diff/fp-encode';
import { expectIllegal, expectRetired, type Cases, type Harness } from '../harness';

/** mstatus.FS field values (privileged spec §3.1.6.6). */
export const FS_OFF = 0n;
export const FS_INITIAL = 1n << 13n;
export const FS_CLEAN = 2n << 13n;
export const FS_DIRTY = 3n << 13n;
export const SD = 1n << 63n;
/** UXL = SXL = 64, as reset leaves mstatus. */
export const XL = (2n << 32n) | (2n << 34n);

/** fflags bits. */
export const NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16;

/** The value f[i] holds at the start of a test. */
export const fPoison = (i: number): bigint => 0xf00d000000000000n | BigInt(i);
/** A single NaN-boxed in a 64-bit f register. */
export const box = (v: number | bigint): bigint => 0xffffffff00000000n | BigInt.asUintN(32, BigInt(v));

/** FP-enabled state for a test: FS = `fs`, f registers poisoned, fcsr = frm << 5. */
export function fpSetup(h: Harness, fs = FS_INITIAL, frm = 0): void {
  h.hart.mstatus = h.hart.mstatus | fs;
  for (let i = 0; i < 32; i++) h.hart.setF(i, fPoison(i));
  h.hart.fcsr = BigInt(frm << 5);
}

export interface FpIn {
  /** f6, f7, f8 (raw 64 bits: box singles yourself, or pass an unboxed pattern on purpose). */
  a?: bigint;
  b?: bigint;
  c?: bigint;
  /** x6, for the formats with an integer source. */
  x?: bigint;
  /** The rm field (default: rne); 7 uses frm. */
  rm?: number;
  /** frm before the instruction (default 0). */
  frm?: number;
}

export interface FpOut {
  /** f5 (raw 64 bits) or x5 after the instruction; undefined when rd is x0. */
  f?: bigint;
  x?: bigint;
  /** The flags raised (fflags starts at 0). */
  flags?: number;
}

const hex = (v: bigint) => '0x' + v.toString(16);

/**
 * One case: `name` rd=5, rs1=6, rs2=7, rs3=8 with the inputs `i`; exactly `o` changes, plus
 * fcsr when flags were raised and mstatus going Dirty when the FP state was written.
 */
export function fpCase(cases: Cases, name: string, i: FpIn, o: FpOut, note = ''): void {
  const ins = [i.a, i.b, i.c, i.x].filter((v) => v !== undefined).map((v) => hex(v as bigint)).join(', ');
  const rmNote = hasRm(name) ? ` rm=${i.rm ?? 0}${i.frm !== undefined ? ` frm=${i.frm}` : ''}` : '';
  const want = o.f !== undefined ? `f5=${hex(o.f)}` : `x5=${hex(o.x ?? 0n)}`;
  const title = `${name}(${ins})${rmNote} -> ${want}${o.flags ? ` flags=${o.flags}` : ''}${note ? ` (${note})` : ''}`;
  cases.add(name, title, (h) => {
    const word = fp(name, { rd: 5, rs1: 6, rs2: 7, rs3: 8, rm: i.rm ?? RM.rne });
    const s = h.exec(word, (h) => {
      fpSetup(h, FS_INITIAL, i.frm ?? 0);
      if (i.a !== undefined) h.hart.setF(6, i.a);
      if (i.b !== undefined) h.hart.setF(7, i.b);
      if (i.c !== undefined) h.hart.setF(8, i.c);
      if (i.x !== undefined) h.hart.setX(6, i.x);
    });
    const frm = BigInt((i.frm ?? 0) << 5);
    const w: Record<string, bigint> = {};
    let dirty = false;
    if (o.f !== undefined) { w.f5 = o.f; dirty = true; }
    if (o.x !== undefined) w.x5 = o.x;
    if (o.flags) { w.fcsr = frm | BigInt(o.flags); dirty = true; }
    if (dirty) w.mstatus = XL | FS_DIRTY | SD;
    // a written value equal to the poison would not show in the diff
    if (w.f5 === fPoison(5)) throw new Error('fpCase: expected value equals the poison');
    expectRetired(s, 4, w);
  });
}

/** The encoding must raise illegal instruction (mtval = its bits) under `setup`. */
export function fpIllegal(cases: Cases, name: string, word: number, title: string, setup: (h: Harness) => void, len: 2 | 4 = 4): void {
  cases.add(name, title, (h) => expectIllegal(h, word, setup, len));
}

/** Every row of extension `ext` traps with FS = Off (privileged spec §3.1.6.6). */
export function fsOffCases(cases: Cases, names: string[]): void {
  for (const n of names) {
    const word = fpRow(n)[4] === 'FL' || fpRow(n)[4] === 'FS' ? fp(n, { rd: 5, rs1: 6, rs2: 7, imm: 0 }) : fp(n, { rd: 5, rs1: 6, rs2: 7, rs3: 8, rm: RM.rne });
    fpIllegal(cases, n, word, `${n} with mstatus.FS = Off: illegal instruction`, (h) => fpSetup(h, FS_OFF));
  }
}
