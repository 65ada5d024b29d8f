/**
 * Random instruction streams for differential testing against QEMU (test/diff/fuzz.test.ts).
 *
 * A case is one random stream of RV64IMAC + Zicsr + Zifencei + H instructions with its own start
 * registers and scratch memory; a batch image (test/diff/fuzz-image.ts) runs many cases one
 * after the other, each ending in a report the test compares between QEMU and wasmvisor.
 *
 * What a stream holds (each class is a method of StreamGen):
 *   - ALU, W-ops, shifts, M (mul/div/rem), LUI/AUIPC, with operands biased to the edges and an
 *     "edge" class that loads both operands from a pool of INT_MIN, INT_MAX, -1, 0, 1, shift
 *     counts 0/31/32/63/64 and 32-bit sign boundaries (division by -1 and by 0 in particular);
 *   - loads, stores, AMOs, LR/SC on the scratch area, aligned, and misaligned loads and stores
 *     (the board performs them) and misaligned LRs (they trap: the handler logs and skips them);
 *   - the stack-pointer compressed forms (sp is pointed into the scratch first), c.addi16sp,
 *     c.addi4spn and the rest of RVC;
 *   - control flow: forward branches and jumps, jalr / c.jr / c.jalr to a computed forward
 *     target (jalr sometimes with an odd target, whose bit 0 the hart clears), and counted
 *     loops (bounded backward branches, nested two deep) so that blocks get hot and the JIT
 *     compiles them;
 *   - CSR instructions on mscratch (the counters are not deterministic across machines), ecall,
 *     ebreak, c.ebreak (they trap and are skipped), fence, fence.i, sfence.vma, hfence.*,
 *     and the H extension's hlv/hlvx/hsv (M-mode may use them: privileged spec 8.3.1; PMP is
 *     opened to all of memory in the prologue, so their VU-mode accesses are allowed).
 *
 * Invariants: x8 holds S, the middle of the scratch area, and is never written; every memory
 * access lands in the scratch area; control flow only moves forward to an item boundary of the
 * same sequence, or back to the head of its loop; a loop counts in memory (LOOP_OFF), so the
 * body may write any register. The same seed always gives the same bytes.
 */
import * as E from './encode';

/** Base register for every generated memory access; never written by the stream. */
export const BASE_REG = 8;
/** RAM base where the binary is loaded. */
export const LOAD_ADDR = 0x80000000;
/** Offsets from S (x8); see fuzz-image.ts for the whole map. */
export const SCRATCH_LO = -1024; // scratch = [S - 1024, S + 1024)
export const SCRATCH_HI = 1024;
/** Loop counters, one dword per nesting depth (outside the scratch: only loops touch them). */
export const LOOP_OFF = 1344;
/** The edge-value pool (EDGES), read by "edge" items. */
export const POOL_OFF = 1408;

/** A small fast seeded PRNG (mulberry32): the same seed gives the same stream everywhere. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.u32() % (hi - lo + 1));
  }
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.u32() % xs.length];
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  /** A 64-bit value, biased toward the edge cases of arithmetic (0, +-1, extremes, 32-bit limits). */
  value64(): bigint {
    if (this.chance(0.35)) return this.pick(EDGES);
    const hi = BigInt(this.u32()), lo = BigInt(this.u32());
    const v = (hi << 32n) | lo;
    return this.chance(0.3) ? BigInt.asIntN(64, BigInt.asIntN(this.pick([8, 16, 32]), v)) : BigInt.asIntN(64, v);
  }
}

const INT64_MIN = -(1n << 63n);
const INT32_MIN = -0x80000000n;
/**
 * Edge operands (the pool at POOL_OFF): extremes, +-1, 0, shift counts and the 32-bit sign
 * boundaries, sign- and zero-extended. Indexes 0..3 are the dividends and 4..6 the divisors
 * the division corner cases use (INT_MIN / -1 overflows: M extension, table 13.1).
 */
export const EDGES: readonly bigint[] = [
  INT64_MIN, INT32_MIN, 0x80000000n, (1n << 63n) - 1n, // dividends with overflow corners
  -1n, 0n, 1n, // divisors: -1 (overflow), 0 (division by zero), 1
  2n, -2n, INT64_MIN + 1n, 0x7fffffffn, 0xffffffffn, 0x100000000n, -0x7fffffffn, 0x80000001n,
  31n, 32n, 63n, 64n, 0xffffffff7fffffffn - (1n << 64n), 0x8000000080000000n - (1n << 64n),
  0x5555555555555555n, 0xaaaaaaaaaaaaaaaan - (1n << 64n), 0x0000ffffffff0000n,
];

/** One instruction of the stream. */
export interface Insn {
  bits: number;
  size: 2 | 4;
}

/** One unit of the stream: instructions that branches may skip over as a whole. */
export interface Item {
  insns: Insn[];
  /** Text for listings (several lines for a loop). */
  text: string;
  /** A forward control transfer: skips this many following items; encoded once offsets are known. */
  skip?: number;
  /** Rewrites insns for the distance (bytes) from the item's first instruction to its target. */
  encode?: (offset: number) => Insn[];
}

/** The registers the stream may write (all but x0 and the base). */
export const WRITABLE = Array.from({ length: 31 }, (_, i) => i + 1).filter((r) => r !== BASE_REG);
const C_WRITABLE = [9, 10, 11, 12, 13, 14, 15]; // x8..x15 minus the base register
const C_ANY = [8, 9, 10, 11, 12, 13, 14, 15];
const R_OPS = Object.keys(E.ALU_R);
const DIV_OPS = R_OPS.filter((op) => /div|rem/.test(op));
const I_OPS = Object.keys(E.ALU_I);
const hex = (v: number) => (v < 0 ? '-0x' + (-v).toString(16) : '0x' + v.toString(16));
const size = (insns: Insn[]) => insns.reduce((s, i) => s + i.size, 0);
const MSCRATCH = 0x340;
const CSR_NAMES = ['', 'csrrw', 'csrrs', 'csrrc', '', 'csrrwi', 'csrrsi', 'csrrci'];
const LOAD_SIZE = { lb: 1, lbu: 1, lh: 2, lhu: 2, lw: 4, lwu: 4, ld: 8 } as const;
const STORE_SIZE = { sb: 1, sh: 2, sw: 4, sd: 8 } as const;
const HLV_SIZE: Record<keyof typeof E.HLV, number> = {
  'hlv.b': 1, 'hlv.bu': 1, 'hlv.h': 2, 'hlv.hu': 2, 'hlvx.hu': 2, 'hlv.w': 4, 'hlv.wu': 4, 'hlvx.wu': 4, 'hlv.d': 8,
};
const HSV_SIZE: Record<keyof typeof E.HSV, number> = { 'hsv.b': 1, 'hsv.h': 2, 'hsv.w': 4, 'hsv.d': 8 };

/** Generator of stream items; one method per instruction class. */
class StreamGen {
  constructor(private readonly r: Rng) {}

  private rd(): number {
    return this.r.chance(0.03) ? 0 : this.r.pick(WRITABLE);
  }
  private rs(): number {
    return this.r.int(0, 31);
  }
  private imm12(): number {
    return this.r.chance(0.3) ? this.r.pick([0, 1, -1, 2047, -2048, 31, 32, 63]) : this.r.int(-2048, 2047);
  }
  private one(bits: number, text: string, size: 2 | 4 = 4): Item {
    return { insns: [{ bits, size }], text };
  }
  private many(parts: [number, string, (2 | 4)?][]): Item {
    return { insns: parts.map(([bits, , s]) => ({ bits, size: s ?? 4 })), text: parts.map((p) => p[1]).join('; ') };
  }
  /** An aligned offset from x8 for an access of `size` bytes, inside the scratch area. */
  private offset(size: number, lo = SCRATCH_LO, hi = SCRATCH_HI): number {
    return this.r.int(lo / size, hi / size - 1) * size;
  }
  /** Like offset, but misaligned (by 1 .. size-1 bytes) half of the time for sizes > 1. */
  private maybeMisaligned(size: number): number {
    const off = this.offset(size, SCRATCH_LO, SCRATCH_HI - 8);
    return size > 1 && this.r.chance(0.5) ? off + this.r.int(1, size - 1) : off;
  }

  aluR(): Item {
    const op = this.r.pick(R_OPS), rd = this.rd(), a = this.rs();
    // division by zero gets its own chance: rs2 = x0
    const b = /div|rem/.test(op) && this.r.chance(0.15) ? 0 : this.rs();
    return this.one(E.aluR(op, rd, a, b), `${op} x${rd}, x${a}, x${b}`);
  }
  aluI(): Item {
    const rd = this.rd(), a = this.rs();
    if (this.r.chance(0.35)) {
      const op = this.r.pick(['slli', 'srli', 'srai', 'slliw', 'srliw', 'sraiw'] as const);
      const max = op.endsWith('w') ? 31 : 63;
      const sh = this.r.chance(0.4) ? this.r.pick([0, 1, max, max - 1, 31, 32].filter((x) => x <= max)) : this.r.int(0, max);
      return this.one(E.shiftI(op, rd, a, sh), `${op} x${rd}, x${a}, ${sh}`);
    }
    const op = this.r.pick(I_OPS), imm = this.imm12();
    return this.one(E.aluI(op, rd, a, imm), `${op} x${rd}, x${a}, ${imm}`);
  }
  upper(): Item {
    const rd = this.rd(), imm = this.r.chance(0.3) ? this.r.pick([0, 0x80000, 0xfffff, 0x7ffff]) : this.r.int(0, 0xfffff);
    const op = this.r.pick(['lui', 'auipc'] as const);
    return this.one(op === 'lui' ? E.lui(rd, imm) : E.auipc(rd, imm), `${op} x${rd}, ${hex(imm)}`);
  }
  /**
   * Both operands from the edge pool, then an R-type op on them (or a shift by an edge count).
   * Division and remainder get their corner pairs: {INT64_MIN, INT32_MIN, 0x80000000, INT64_MAX}
   * by {-1, 0, 1} (M extension, table 13.1: overflow and division by zero).
   */
  edge(): Item {
    const r = this.r, a = r.pick(WRITABLE), b = r.pick(WRITABLE.filter((x) => x !== a)), rd = this.rd();
    const div = r.chance(0.4);
    const op = div ? r.pick(DIV_OPS) : r.pick(R_OPS);
    const ia = div && r.chance(0.7) ? r.int(0, 3) : r.int(0, EDGES.length - 1);
    const ib = div && r.chance(0.7) ? r.int(4, 6) : r.int(0, EDGES.length - 1);
    const ld = (reg: number, i: number): [number, string] => [E.load('ld', reg, BASE_REG, POOL_OFF + 8 * i), `ld x${reg}, edge[${EDGES[i]}]`];
    if (!div && r.chance(0.2)) {
      const op2 = r.pick(['slli', 'srli', 'srai', 'slliw', 'srliw', 'sraiw'] as const);
      const sh = r.pick(op2.endsWith('w') ? [0, 1, 31] : [0, 1, 31, 32, 63]);
      return this.many([ld(a, ia), [E.shiftI(op2, rd, a, sh), `${op2} x${rd}, x${a}, ${sh}`]]);
    }
    return this.many([ld(a, ia), ld(b, ib), [E.aluR(op, rd, a, b), `${op} x${rd}, x${a}, x${b}`]]);
  }
  load(): Item {
    const op = this.r.pick(Object.keys(E.LOADS) as (keyof typeof E.LOADS)[]);
    const rd = this.rd(), off = this.offset(LOAD_SIZE[op]);
    return this.one(E.load(op, rd, BASE_REG, off), `${op} x${rd}, ${off}(x8)`);
  }
  store(): Item {
    const op = this.r.pick(Object.keys(E.STORES) as (keyof typeof E.STORES)[]);
    const rs2 = this.rs(), off = this.offset(STORE_SIZE[op]);
    return this.one(E.store(op, rs2, BASE_REG, off), `${op} x${rs2}, ${off}(x8)`);
  }
  /**
   * A load or store at an offset that is misaligned half of the time, or a misaligned LR. The
   * virt board (QEMU 7.2 and wasmvisor alike) performs misaligned loads and stores (privileged
   * spec 3.6.3.3 lets it); a misaligned LR raises load address-misaligned (cause 4, mtval = the
   * address), which the handler logs and skips. A lone LR is always misaligned: an aligned one
   * would leave a reservation behind, and when a later SC then succeeds is implementation-defined.
   * Misaligned AMOs and SCs are left out: QEMU 7.2 reports a misaligned AMO as a load fault
   * (cause 4, where the spec says store/AMO, 6, as wasmvisor does) and fails a misaligned SC
   * without a reservation silently instead of trapping.
   */
  misaligned(): Item {
    const r = this.r, k = r.int(0, 2);
    if (k === 0) {
      const op = r.pick(Object.keys(E.LOADS) as (keyof typeof E.LOADS)[]), rd = this.rd(), off = this.maybeMisaligned(LOAD_SIZE[op]);
      return this.one(E.load(op, rd, BASE_REG, off), `${op} x${rd}, ${off}(x8)`);
    }
    if (k === 1) {
      const op = r.pick(Object.keys(E.STORES) as (keyof typeof E.STORES)[]), rs2 = this.rs(), off = this.maybeMisaligned(STORE_SIZE[op]);
      return this.one(E.store(op, rs2, BASE_REG, off), `${op} x${rs2}, ${off}(x8)`);
    }
    const w = r.pick(['w', 'd'] as const), t = r.pick(WRITABLE), rd = this.rd();
    const off = this.offset(8, SCRATCH_LO, SCRATCH_HI - 8) + r.int(1, w === 'w' ? 3 : 7);
    return this.many([[E.aluI('addi', t, BASE_REG, off), `addi x${t}, x8, ${off}`], [E.amo('lr', w, rd, t, 0), `lr.${w} x${rd}, (x${t})`]]);
  }
  /** addi t, x8, off; amoX.{w,d} rd, rs2, (t). */
  amo(): Item {
    const w = this.r.pick(['w', 'd'] as const);
    const name = this.r.pick(['amoswap', 'amoadd', 'amoxor', 'amoand', 'amoor', 'amomin', 'amomax', 'amominu', 'amomaxu'] as const);
    const t = this.r.pick(WRITABLE), off = this.offset(w === 'w' ? 4 : 8), rd = this.rd(), rs2 = this.rs();
    const aq = this.r.chance(0.3), rl = this.r.chance(0.3);
    return this.many([[E.aluI('addi', t, BASE_REG, off), `addi x${t}, x8, ${off}`], [E.amo(name, w, rd, t, rs2, aq, rl), `${name}.${w} x${rd}, x${rs2}, (x${t})`]]);
  }
  /** addi t, x8, off; lr rd1, (t); 0..2 ALU ops not writing t; sc rd2, rs2, (t). Or a lone sc (fails). */
  lrsc(): Item {
    const w = this.r.pick(['w', 'd'] as const);
    const t = this.r.pick(WRITABLE), off = this.offset(w === 'w' ? 4 : 8);
    const parts: [number, string][] = [[E.aluI('addi', t, BASE_REG, off), `addi x${t}, x8, ${off}`]];
    const notT = WRITABLE.filter((x) => x !== t);
    if (!this.r.chance(0.15)) {
      const rd1 = this.r.pick(notT);
      parts.push([E.amo('lr', w, rd1, t, 0), `lr.${w} x${rd1}, (x${t})`]);
      for (let i = this.r.int(0, 2); i > 0; i--) {
        const op = this.r.pick(R_OPS), rd = this.r.pick(notT), a = this.rs(), b = this.rs();
        parts.push([E.aluR(op, rd, a, b), `${op} x${rd}, x${a}, x${b}`]);
      }
    }
    const rd2 = this.rd(), rs2 = this.rs();
    parts.push([E.amo('sc', w, rd2, t, rs2), `sc.${w} x${rd2}, x${rs2}, (x${t})`]);
    return this.many(parts);
  }
  /** sp = x8 + off, then c.lwsp / c.ldsp / c.swsp / c.sdsp with an offset that stays in the scratch. */
  spRel(): Item {
    const r = this.r, op = r.pick(['c.lwsp', 'c.ldsp', 'c.swsp', 'c.sdsp'] as const);
    const word = op === 'c.lwsp' || op === 'c.swsp', max = word ? 252 : 504;
    const base = this.offset(8, SCRATCH_LO, SCRATCH_HI - max - 8), off = r.int(0, max / (word ? 4 : 8)) * (word ? 4 : 8);
    const reg = op.endsWith('sp') && op.includes('l') ? r.pick(WRITABLE) : this.rs();
    const bits = op === 'c.lwsp' || op === 'c.ldsp' ? E.cLoadSp(op, reg, off) : E.cStoreSp(op, reg, off);
    return this.many([[E.aluI('addi', 2, BASE_REG, base), `addi x2, x8, ${base}`], [bits, `${op} x${reg}, ${off}(sp)`, 2]]);
  }
  /** A CSR instruction on mscratch (register and immediate forms). */
  csr(): Item {
    const f = this.r.pick([1, 2, 3, 5, 6, 7]), rd = this.rd(), src = this.r.int(0, 31);
    return this.one(E.csr(f, rd, src, MSCRATCH), `${CSR_NAMES[f]} x${rd}, mscratch, ${f >= 5 ? src : 'x' + src}`);
  }
  /** ecall / ebreak / c.ebreak (trap, skipped by the handler), fences, sfence.vma, hfence.*. */
  system(): Item {
    const r = this.r, k = r.int(0, 7);
    if (k === 0) return this.one(E.SYSTEM.ecall, 'ecall');
    if (k === 1) return this.one(E.SYSTEM.ebreak, 'ebreak');
    if (k === 2) return this.one(E.C_EBREAK, 'c.ebreak', 2);
    if (k === 3) return this.one(E.SYSTEM.fence, 'fence');
    if (k === 4) return this.one(E.SYSTEM['fence.i'], 'fence.i');
    const name = r.pick(['sfence.vma', 'hfence.vvma', 'hfence.gvma'] as const), a = this.rs(), b = this.rs();
    return this.one(E.fenceVma(name, a, b), `${name} x${a}, x${b}`);
  }
  /** addi t, x8, off; hlv.* rd, (t) or hsv.* rs2, (t): M-mode accesses as VU with vsatp and hgatp Bare. */
  hyp(): Item {
    const r = this.r, t = r.pick(WRITABLE);
    if (r.chance(0.6)) {
      const op = r.pick(Object.keys(E.HLV) as (keyof typeof E.HLV)[]), rd = this.rd(), off = this.offset(HLV_SIZE[op]);
      return this.many([[E.aluI('addi', t, BASE_REG, off), `addi x${t}, x8, ${off}`], [E.hlv(op, rd, t), `${op} x${rd}, (x${t})`]]);
    }
    const op = r.pick(Object.keys(E.HSV) as (keyof typeof E.HSV)[]), rs2 = this.rs(), off = this.offset(HSV_SIZE[op]);
    return this.many([[E.aluI('addi', t, BASE_REG, off), `addi x${t}, x8, ${off}`], [E.hsv(op, rs2, t), `${op} x${rs2}, (x${t})`]]);
  }
  /** A forward conditional branch or jump over 1..4 items (resolved in `layout`). */
  forward(): Item {
    const skip = this.r.int(1, 4);
    const kind = this.r.int(0, 9);
    if (kind < 5) {
      const op = this.r.pick(Object.keys(E.BRANCHES) as (keyof typeof E.BRANCHES)[]);
      const a = this.rs(), b = this.rs();
      return { insns: [{ bits: 0, size: 4 }], text: `${op} x${a}, x${b}, +${skip} items`, skip, encode: (o) => [{ bits: E.branch(op, a, b, o), size: 4 }] };
    }
    if (kind < 7) {
      const op = this.r.pick(['c.beqz', 'c.bnez'] as const), a = this.r.pick(C_ANY);
      return { insns: [{ bits: 0, size: 2 }], text: `${op} x${a}, +${skip} items`, skip, encode: (o) => [{ bits: E.cBranch(op, a, o), size: 2 }] };
    }
    if (kind < 9) {
      const rd = this.rd();
      return { insns: [{ bits: 0, size: 4 }], text: `jal x${rd}, +${skip} items`, skip, encode: (o) => [{ bits: E.jal(rd, o), size: 4 }] };
    }
    return { insns: [{ bits: 0, size: 2 }], text: `c.j +${skip} items`, skip, encode: (o) => [{ bits: E.cJ(o), size: 2 }] };
  }
  /**
   * An indirect forward jump over 0..3 items: auipc t, 0; jalr rd, o(t) (o sometimes odd: the
   * target's bit 0 is cleared, unprivileged spec 2.5), or auipc t, 0; addi t, t, o; c.jr t / c.jalr t.
   */
  indirect(): Item {
    const r = this.r, t = r.pick(WRITABLE), skip = r.int(0, 3), kind = r.int(0, 2);
    const auipc: Insn = { bits: E.auipc(t, 0), size: 4 };
    if (kind === 0) {
      const rd = this.rd(), odd = r.chance(0.3) ? 1 : 0;
      return {
        insns: [auipc, { bits: 0, size: 4 }], text: `auipc x${t}, 0; jalr x${rd}, +${skip} items${odd ? ' + 1' : ''}(x${t})`, skip,
        encode: (o) => [auipc, { bits: E.jalr(rd, t, o + odd), size: 4 }],
      };
    }
    const op = kind === 1 ? 'c.jr' : 'c.jalr';
    return {
      insns: [auipc, { bits: 0, size: 4 }, { bits: E.cJr(op, t), size: 2 }], text: `auipc x${t}, 0; addi x${t}, x${t}, +${skip} items; ${op} x${t}`, skip,
      encode: (o) => [auipc, { bits: E.aluI('addi', t, t, o), size: 4 }, { bits: E.cJr(op, t), size: 2 }],
    };
  }
  compressed(): Item {
    const r = this.r;
    const c = (bits: number, text: string) => this.one(bits, text, 2);
    const nz6 = () => (r.chance(0.5) ? r.int(-32, -1) : r.int(1, 31));
    switch (r.int(0, 13)) {
      case 0: { const rd = r.pick(WRITABLE), i = nz6(); return c(E.cAddi(rd, i), `c.addi x${rd}, ${i}`); }
      case 1: { const rd = r.pick(WRITABLE), i = r.int(-32, 31); return c(E.cAddiw(rd, i), `c.addiw x${rd}, ${i}`); }
      case 2: { const rd = r.pick(WRITABLE), i = r.int(-32, 31); return c(E.cLi(rd, i), `c.li x${rd}, ${i}`); }
      case 3: { const rd = r.pick(WRITABLE.filter((x) => x !== 2)), i = nz6(); return c(E.cLui(rd, i), `c.lui x${rd}, ${i}`); }
      case 4: { const i = r.pick([-512, -16, 16, 496, r.int(-32, 31) * 16 || 32]); return c(E.cAddi16sp(i), `c.addi16sp ${i}`); }
      case 5: { const rd = r.pick(C_WRITABLE), i = r.int(1, 255) * 4; return c(E.cAddi4spn(rd, i), `c.addi4spn x${rd}, ${i}`); }
      case 6: { const rd = r.pick(WRITABLE), s = r.pick([1, 31, 32, 63, r.int(1, 63)]); return c(E.cSlli(rd, s), `c.slli x${rd}, ${s}`); }
      case 7: {
        const op = r.pick(['c.srli', 'c.srai', 'c.andi'] as const), rd = r.pick(C_WRITABLE);
        const i = op === 'c.andi' ? r.int(-32, 31) : r.pick([1, 31, 32, 63, r.int(1, 63)]);
        return c(E.cShiftAndi(op, rd, i), `${op} x${rd}, ${i}`);
      }
      case 8: {
        const op = r.pick(['c.sub', 'c.xor', 'c.or', 'c.and', 'c.subw', 'c.addw'] as const);
        const rd = r.pick(C_WRITABLE), b = r.pick(C_ANY);
        return c(E.cArith(op, rd, b), `${op} x${rd}, x${b}`);
      }
      case 9: { const rd = r.pick(WRITABLE), b = r.int(1, 31); return c(E.cMv(rd, b), `c.mv x${rd}, x${b}`); }
      case 10: { const rd = r.pick(WRITABLE), b = r.int(1, 31); return c(E.cAdd(rd, b), `c.add x${rd}, x${b}`); }
      case 11: case 12: {
        // compressed offsets are unsigned from x8 = S: [S, S + 248] is inside the scratch buffer
        const op = r.pick(['c.lw', 'c.ld', 'c.sw', 'c.sd'] as const);
        const word = op === 'c.lw' || op === 'c.sw';
        const reg = op === 'c.lw' || op === 'c.ld' ? r.pick(C_WRITABLE) : r.pick(C_ANY);
        const off = word ? r.int(0, 31) * 4 : r.int(0, 31) * 8;
        return c(E.cLoadStore(op, reg, BASE_REG, off), `${op} x${reg}, ${off}(x8)`);
      }
      default: return c(0x0001, 'c.nop');
    }
  }
  /**
   * A counted loop: mem[LOOP_OFF + 8 depth] = N; body; then decrement it and branch back while
   * non-zero (bne, blt or c.bnez). Outer loops run up to 100 times, past the JIT threshold of
   * 64 interpreted runs that wasmvisor.ts sets for 'on', so their blocks get compiled.
   */
  loop(depth: number, gen: (depth: number, n: number) => Item[]): Item {
    const r = this.r, slot = LOOP_OFF + 8 * depth;
    const n = depth === 0 ? (r.chance(0.5) ? r.int(65, 100) : r.int(1, 64)) : r.int(1, 8);
    const t = r.pick(WRITABLE), u = r.pick(WRITABLE);
    const body = gen(depth + 1, r.int(3, depth === 0 ? 14 : 6));
    const bodyInsns = layout(body);
    const head: Insn[] = [{ bits: E.aluI('addi', t, 0, n), size: 4 }, { bits: E.store('sd', t, BASE_REG, slot), size: 4 }];
    const tail: Insn[] = [
      { bits: E.load('ld', u, BASE_REG, slot), size: 4 }, { bits: E.aluI('addi', u, u, -1), size: 4 }, { bits: E.store('sd', u, BASE_REG, slot), size: 4 },
    ];
    const back = -(size(bodyInsns) + 12);
    const kind = C_WRITABLE.includes(u) && back >= -256 && r.chance(0.5) ? 'c.bnez' : r.pick(['bne', 'blt'] as const);
    const br: Insn = kind === 'c.bnez' ? { bits: E.cBranch('c.bnez', u, back), size: 2 }
      : { bits: kind === 'bne' ? E.branch('bne', u, 0, back) : E.branch('blt', 0, u, back), size: 4 };
    const indent = (s: string) => s.split('\n').map((l) => '  ' + l).join('\n');
    return {
      insns: [...head, ...bodyInsns, ...tail, br],
      text: [`loop ${n} times (counter at ${slot}(x8), x${t}):`, ...body.map((it) => indent(it.text)), `end loop (x${u}, ${kind})`].join('\n'),
    };
  }
}

/** The classes of the stream with their weights (loop only below the nesting limit). */
const MIX: [Exclude<keyof StreamGen, 'loop'> | 'loop', number][] = [
  ['aluR', 22], ['aluI', 16], ['upper', 3], ['edge', 10], ['load', 7], ['store', 7], ['misaligned', 3], ['amo', 4], ['lrsc', 3],
  ['spRel', 3], ['csr', 2], ['system', 2], ['hyp', 3], ['forward', 7], ['indirect', 3], ['compressed', 16], ['loop', 3],
];

/** Nesting limit of loops (depth 0 is the top level; loops at depth 0 and 1). */
const MAX_DEPTH = 2;

/** Generate about `n` items at loop depth `depth`. */
function generateSeq(g: StreamGen, r: Rng, depth: number, n: number): Item[] {
  const mix = depth < MAX_DEPTH ? MIX : MIX.filter(([k]) => k !== 'loop');
  const total = mix.reduce((s, [, w]) => s + w, 0);
  const items: Item[] = [];
  while (items.length < n) {
    let x = r.int(0, total - 1);
    let kind = mix[0][0];
    for (const [k, w] of mix) {
      if (x < w) { kind = k; break; }
      x -= w;
    }
    items.push(kind === 'loop' ? g.loop(depth, (d, m) => generateSeq(g, r, d, m)) : (g[kind] as () => Item).call(g));
  }
  return items;
}

/** How far forward (bytes) each kind of transfer reaches: B-type, CB, J-type, jalr's 12-bit immediate. */
function reach(it: Item): number {
  const first = it.insns[0];
  if (it.insns.length > 1) return 2046; // auipc + jalr / addi: a 12-bit signed immediate, maybe + 1
  return first.size === 2 ? (it.text.startsWith('c.j ') ? 2046 : 254) : it.text.startsWith('jal ') ? 1 << 19 : 4094;
}

/**
 * Lay out a sequence: resolve each forward transfer to the item boundary `skip` items on (the
 * end of the sequence at most, and nearer when the encoding does not reach that far), then
 * flatten. The end of a loop body is its counter decrement, so such a jump is a `continue`.
 */
export function layout(items: Item[]): Insn[] {
  const starts: number[] = [];
  let pos = 0;
  for (const it of items) {
    starts.push(pos);
    pos += size(it.insns);
  }
  starts.push(pos);
  return items.flatMap((it, k) => {
    if (it.skip === undefined) return it.insns;
    let target = Math.min(k + 1 + it.skip, items.length);
    while (starts[target] - starts[k] > reach(it)) target--;
    it.insns = it.encode!(starts[target] - starts[k]);
    return it.insns;
  });
}

/** One case: start registers x1..x31 (index 0 and 8 unused), the scratch fill seed, the items. */
export interface FuzzCase {
  init: bigint[];
  fillSeed: bigint;
  items: Item[];
  /** The laid-out stream. */
  insns: Insn[];
}

/** The seed of case `index` of a run with seed `seed`. */
export function caseSeed(seed: number, index: number): number {
  return (Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

/** Generate case `index` of run `seed`: about `n` top-level items. */
export function generateCase(seed: number, index: number, n: number): FuzzCase {
  const r = new Rng(caseSeed(seed, index));
  const init: bigint[] = [0n];
  for (let i = 1; i < 32; i++) init.push(r.value64());
  const fillSeed = (BigInt(r.u32()) << 32n) | BigInt(r.u32() | 1);
  const items = generateSeq(new StreamGen(r), r, 0, n);
  return { init, fillSeed, items, insns: layout(items) };
}
