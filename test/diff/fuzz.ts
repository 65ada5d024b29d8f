/**
 * Random instruction streams for differential testing against QEMU.
 *
 * A program is a raw binary loaded at 0x80000000 (like `qemu -bios none -kernel`):
 *
 * ```
 *   0x80000000  prologue   x8 = S (auipc/addi); x1..x31 (except x8) = ld from the init table
 *               stream     N random RV64IMAC instructions (ALU, W-ops, shifts, mul/div, loads,
 *                          stores, AMOs, LR/SC, forward branches and jumps, compressed forms)
 *               epilogue   save x1..x31, print "xN <16 hex digits>" per register and
 *                          "mem <hash of the scratch buffer>" on the UART, write 0x5555 to the
 *                          test finisher, spin
 *   D (4 KiB aligned, after the code)
 *   D + 0      scratch    2 KiB of random bytes: every guest load/store/AMO lands here
 *   D + 1024   = S, held in x8, which no generated instruction writes
 *   D + 2048   save area  x1..x31 as the epilogue stores them
 *   D + 2304   init table the 64-bit start values of x1..x31
 * ```
 *
 * Every memory access is naturally aligned and inside the scratch buffer; control flow only
 * moves forward to an item boundary inside the stream (or to the epilogue); an LR and its SC are
 * one item with only ALU instructions between them, same size and same address, so SC's
 * outcome is defined by the spec (no store between, no implementation-defined reservation
 * granularity). The same seed always gives the same bytes.
 */
import * as E from './encode';

/** Base register for every generated memory access; never written by the stream. */
export const BASE_REG = 8;
/** RAM base where the binary is loaded. */
export const LOAD_ADDR = 0x80000000;
/** UART THR and test finisher, as on the virt board. */
const UART = 0x10000000;
const FINISHER = 0x100000;
/** Offsets from S (x8). */
const SCRATCH_LO = -1024; // scratch = [S - 1024, S + 1024)
const SCRATCH_HI = 1024;
const SAVE_OFF = 1024;
const INIT_OFF = 1280;

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
    if (this.chance(0.35)) {
      return this.pick([0n, 1n, 2n, -1n, -2n, 1n << 63n, (1n << 63n) - 1n, 0x7fffffffn, 0x80000000n,
        0xffffffffn, -0x80000000n, 0x100000000n, 31n, 32n, 63n, 64n]);
    }
    const hi = BigInt(this.u32()), lo = BigInt(this.u32());
    const v = (hi << 32n) | lo;
    return this.chance(0.3) ? BigInt.asIntN(64, BigInt.asIntN(this.pick([8, 16, 32]), v)) : BigInt.asIntN(64, v);
  }
}

/** One unit of the stream: instructions that branches may skip over as a whole. */
interface Item {
  /** Encoded instructions (32-bit words or 16-bit halves). */
  insns: { bits: number; size: 2 | 4 }[];
  /** Text for listings. */
  text: string;
  /** A forward branch/jump: skips this many following items; encoded once offsets are known. */
  skip?: number;
  encode?: (offset: number) => number;
}

/** A generated program. */
export interface FuzzProgram {
  seed: number;
  /** The raw binary (load at 0x80000000). */
  image: Uint8Array;
  /** One line per stream item, for reports. */
  listing: string[];
  /** Start values of x1..x31 (index 0 unused). */
  init: bigint[];
  /** S, the address held in x8 (the middle of the scratch buffer). */
  base: bigint;
}

const WRITABLE = Array.from({ length: 31 }, (_, i) => i + 1).filter((r) => r !== BASE_REG);
const C_WRITABLE = [9, 10, 11, 12, 13, 14, 15]; // x8..x15 minus the base register
const C_ANY = [8, 9, 10, 11, 12, 13, 14, 15];
const R_OPS = Object.keys(E.ALU_R);
const I_OPS = Object.keys(E.ALU_I);
const hex = (v: number) => (v < 0 ? '-0x' + (-v).toString(16) : '0x' + v.toString(16));

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
      const sh = this.r.int(0, op.endsWith('w') ? 31 : 63);
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
  private offset(size: number, lo = SCRATCH_LO, hi = SCRATCH_HI): number {
    return this.r.int(lo / size, hi / size - 1) * size;
  }
  load(): Item {
    const op = this.r.pick(Object.keys(E.LOADS) as (keyof typeof E.LOADS)[]);
    const size = { lb: 1, lbu: 1, lh: 2, lhu: 2, lw: 4, lwu: 4, ld: 8 }[op];
    const rd = this.rd(), off = this.offset(size);
    return this.one(E.load(op, rd, BASE_REG, off), `${op} x${rd}, ${off}(x8)`);
  }
  store(): Item {
    const op = this.r.pick(Object.keys(E.STORES) as (keyof typeof E.STORES)[]);
    const size = { sb: 1, sh: 2, sw: 4, sd: 8 }[op];
    const rs2 = this.rs(), off = this.offset(size);
    return this.one(E.store(op, rs2, BASE_REG, off), `${op} x${rs2}, ${off}(x8)`);
  }
  /** addi t, x8, off; amoX.{w,d} rd, rs2, (t). */
  amo(): Item {
    const w = this.r.pick(['w', 'd'] as const);
    const name = this.r.pick(['amoswap', 'amoadd', 'amoxor', 'amoand', 'amoor', 'amomin', 'amomax', 'amominu', 'amomaxu'] as const);
    const t = this.r.pick(WRITABLE), off = this.offset(w === 'w' ? 4 : 8), rd = this.rd(), rs2 = this.rs();
    const aq = this.r.chance(0.3), rl = this.r.chance(0.3);
    return {
      insns: [{ bits: E.aluI('addi', t, BASE_REG, off), size: 4 }, { bits: E.amo(name, w, rd, t, rs2, aq, rl), size: 4 }],
      text: `addi x${t}, x8, ${off}; ${name}.${w} x${rd}, x${rs2}, (x${t})`,
    };
  }
  /** addi t, x8, off; lr rd1, (t); 0..2 ALU ops not writing t; sc rd2, rs2, (t). Or a lone sc (fails). */
  lrsc(): Item {
    const w = this.r.pick(['w', 'd'] as const);
    const t = this.r.pick(WRITABLE), off = this.offset(w === 'w' ? 4 : 8);
    const insns: Item['insns'] = [{ bits: E.aluI('addi', t, BASE_REG, off), size: 4 }];
    const text = [`addi x${t}, x8, ${off}`];
    const notT = WRITABLE.filter((x) => x !== t);
    const lone = this.r.chance(0.15);
    if (!lone) {
      const rd1 = this.r.pick(notT);
      insns.push({ bits: E.amo('lr', w, rd1, t, 0), size: 4 });
      text.push(`lr.${w} x${rd1}, (x${t})`);
      for (let i = this.r.int(0, 2); i > 0; i--) {
        const op = this.r.pick(R_OPS), rd = this.r.pick(notT), a = this.rs(), b = this.rs();
        insns.push({ bits: E.aluR(op, rd, a, b), size: 4 });
        text.push(`${op} x${rd}, x${a}, x${b}`);
      }
    }
    const rd2 = this.rd(), rs2 = this.rs();
    insns.push({ bits: E.amo('sc', w, rd2, t, rs2), size: 4 });
    text.push(`sc.${w} x${rd2}, x${rs2}, (x${t})`);
    return { insns, text: text.join('; ') };
  }
  /** A forward conditional branch or jump over 1..4 items (resolved in `build`). */
  forward(remaining: number): Item | undefined {
    if (remaining < 1) return undefined;
    const skip = this.r.int(1, Math.min(4, remaining));
    const kind = this.r.int(0, 9);
    if (kind < 5) {
      const op = this.r.pick(Object.keys(E.BRANCHES) as (keyof typeof E.BRANCHES)[]);
      const a = this.rs(), b = this.rs();
      return { insns: [{ bits: 0, size: 4 }], text: `${op} x${a}, x${b}, +${skip} items`, skip, encode: (o) => E.branch(op, a, b, o) };
    }
    if (kind < 7) {
      const op = this.r.pick(['c.beqz', 'c.bnez'] as const), a = this.r.pick(C_ANY);
      return { insns: [{ bits: 0, size: 2 }], text: `${op} x${a}, +${skip} items`, skip, encode: (o) => E.cBranch(op, a, o) };
    }
    if (kind < 9) {
      const rd = this.rd();
      return { insns: [{ bits: 0, size: 4 }], text: `jal x${rd}, +${skip} items`, skip, encode: (o) => E.jal(rd, o) };
    }
    return { insns: [{ bits: 0, size: 2 }], text: `c.j +${skip} items`, skip, encode: (o) => E.cJ(o) };
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
      case 6: { const rd = r.pick(WRITABLE), s = r.int(1, 63); return c(E.cSlli(rd, s), `c.slli x${rd}, ${s}`); }
      case 7: {
        const op = r.pick(['c.srli', 'c.srai', 'c.andi'] as const), rd = r.pick(C_WRITABLE);
        const i = op === 'c.andi' ? r.int(-32, 31) : r.int(1, 63);
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
        const reg = op.includes('l') && !op.includes('s') ? r.pick(C_WRITABLE) : r.pick(C_ANY);
        const off = word ? r.int(0, 31) * 4 : r.int(0, 31) * 8;
        return c(E.cLoadStore(op, reg, BASE_REG, off), `${op} x${reg}, ${off}(x8)`);
      }
      default: return c(0x0001, 'c.nop');
    }
  }
}

/** The classes of the stream with their weights. */
const MIX: [keyof StreamGen | 'forward', number][] = [
  ['aluR', 28], ['aluI', 20], ['upper', 3], ['load', 8], ['store', 8], ['amo', 5], ['lrsc', 3],
  ['forward', 7], ['compressed', 18],
];

/** Generate the random stream of about `n` instructions. */
function generateStream(r: Rng, n: number): Item[] {
  const g = new StreamGen(r);
  const total = MIX.reduce((s, [, w]) => s + w, 0);
  const items: Item[] = [];
  let count = 0;
  while (count < n) {
    let x = r.int(0, total - 1);
    let kind = MIX[0][0];
    for (const [k, w] of MIX) {
      if (x < w) { kind = k; break; }
      x -= w;
    }
    // a forward jump may target the epilogue, which starts right after the last item
    const item = kind === 'forward' ? g.forward(Infinity) : (g[kind as Exclude<typeof kind, 'forward'>] as () => Item).call(g);
    if (!item) continue;
    items.push(item);
    count += item.insns.length;
  }
  return items;
}

/** Little-endian assembler buffer of 16-bit halves. */
class Code {
  halves: number[] = [];
  get size(): number {
    return this.halves.length * 2;
  }
  emit(bits: number, size: 2 | 4 = 4): void {
    this.halves.push(bits & 0xffff);
    if (size === 4) this.halves.push(bits >>> 16);
  }
}

/** li rd, imm for a value that fits 32 bits signed (lui + addi(w)). */
function li32(c: Code, rd: number, v: number): void {
  const lo = ((v & 0xfff) << 20) >> 20;
  const hi = ((v - lo) >>> 12) & 0xfffff;
  if (hi !== 0) c.emit(E.lui(rd, hi));
  c.emit(hi !== 0 ? E.aluI('addiw', rd, rd, lo) : E.aluI('addi', rd, 0, lo));
}

/** Build the program for one seed: about `n` stream instructions. Same seed, same bytes. */
export function buildProgram(seed: number, n = 300): FuzzProgram {
  const r = new Rng(seed);
  const init: bigint[] = [0n];
  for (let i = 1; i < 32; i++) init.push(r.value64());
  const items = generateStream(r, n);

  // resolve forward offsets: item start addresses relative to the stream start
  const starts: number[] = [];
  let pos = 0;
  for (const it of items) {
    starts.push(pos);
    pos += it.insns.reduce((s, i) => s + i.size, 0);
  }
  starts.push(pos); // the epilogue
  items.forEach((it, k) => {
    if (it.skip === undefined) return;
    const target = Math.min(k + 1 + it.skip, items.length);
    it.insns[0].bits = it.encode!(starts[target] - starts[k]);
  });

  const code = new Code();
  // prologue: x8 = S via auipc/addi (patched once D is known), then the init table
  code.emit(0);
  code.emit(0);
  for (const reg of WRITABLE) code.emit(E.load('ld', reg, BASE_REG, INIT_OFF + 8 * reg));
  for (const it of items) for (const i of it.insns) code.emit(i.bits, i.size);
  emitEpilogue(code);

  const D = (code.size + 4095) & ~4095;
  const S = D + 1024;
  const hi = (S + 0x800) >> 12;
  const lo = S - (hi << 12);
  code.halves.splice(0, 4, ...split(E.auipc(BASE_REG, hi)), ...split(E.aluI('addi', BASE_REG, BASE_REG, lo)));

  const image = new Uint8Array(D + INIT_OFF + 1024 + 256);
  const view = new DataView(image.buffer);
  code.halves.forEach((h, i) => view.setUint16(i * 2, h, true));
  for (let i = 0; i < 2048; i += 4) view.setUint32(D + i, r.u32(), true);
  for (let reg = 1; reg < 32; reg++) view.setBigUint64(S + INIT_OFF + 8 * reg, BigInt.asUintN(64, init[reg]), true);
  return { seed, image, listing: items.map((it) => it.text), init, base: BigInt(LOAD_ADDR + S) };
}

const split = (w: number) => [w & 0xffff, w >>> 16];

/**
 * Save x1..x31, print them and the scratch hash on the UART, then pass via the finisher.
 * Each byte waits for LSR.THRE (16550 LSR bit 5) and the finisher waits for LSR.TEMT (bit 6):
 * QEMU's UART drops bytes written while the previous one is still being sent.
 */
function emitEpilogue(c: Code): void {
  for (let reg = 1; reg < 32; reg++) c.emit(E.store('sd', reg, BASE_REG, SAVE_OFF + 8 * reg));
  const calls: [number, 'hex' | 'putc'][] = []; // jal sites to patch: hex is called with ra = x1, putc with x3
  const call = (to: 'hex' | 'putc') => {
    calls.push([c.size, to]);
    c.emit(0);
  };
  const print = (text: string) => {
    for (const ch of text) {
      c.emit(E.aluI('addi', 7, 0, ch.charCodeAt(0)));
      call('putc');
    }
  };
  for (let reg = 1; reg < 32; reg++) {
    print(`x${reg} `);
    c.emit(E.load('ld', 5, BASE_REG, SAVE_OFF + 8 * reg));
    call('hex');
  }
  // x5 = hash of the scratch dwords: h = rotl(h, 5) ^ d
  c.emit(E.aluI('addi', 5, 0, 0));
  c.emit(E.aluI('addi', 11, BASE_REG, SCRATCH_LO));
  c.emit(E.aluI('addi', 12, BASE_REG, SCRATCH_HI));
  const loop = c.size;
  c.emit(E.load('ld', 7, 11, 0));
  c.emit(E.shiftI('slli', 10, 5, 5));
  c.emit(E.shiftI('srli', 13, 5, 59));
  c.emit(E.aluR('or', 5, 10, 13));
  c.emit(E.aluR('xor', 5, 5, 7));
  c.emit(E.aluI('addi', 11, 11, 8));
  c.emit(E.branch('bltu', 11, 12, loop - c.size));
  print('mem ');
  call('hex');
  // wait for the transmitter to drain (x6 = UART, set by putc), then PASS through the finisher
  const drain = c.size;
  c.emit(E.load('lbu', 10, 6, 5));
  c.emit(E.aluI('andi', 10, 10, 0x40));
  c.emit(E.branch('beq', 10, 0, drain - c.size));
  li32(c, 6, FINISHER);
  li32(c, 7, 0x5555);
  c.emit(E.store('sw', 7, 6, 0));
  c.emit(E.jal(0, 0));
  // hex: print x5 as 16 hex digits and a newline; uses x7, x9, x10; returns through x1
  const hexAt = c.size;
  c.emit(E.aluI('addi', 9, 0, 60));
  const digit = c.size;
  c.emit(E.aluR('srl', 7, 5, 9));
  c.emit(E.aluI('andi', 7, 7, 15));
  c.emit(E.aluI('addi', 10, 7, -10));
  c.emit(E.branch('blt', 10, 0, 8)); // digits 0..9 skip the letter adjustment
  c.emit(E.aluI('addi', 7, 7, 39)); // 'a' - '0' - 10
  c.emit(E.aluI('addi', 7, 7, 48)); // '0'
  call('putc');
  c.emit(E.aluI('addi', 9, 9, -4));
  c.emit(E.branch('bge', 9, 0, digit - c.size));
  c.emit(E.aluI('addi', 7, 0, 10));
  call('putc');
  c.emit(E.jalr(0, 1, 0));
  // putc: wait for THR empty, write x7; uses x6, x10; returns through x3
  const putcAt = c.size;
  li32(c, 6, UART);
  const wait = c.size;
  c.emit(E.load('lbu', 10, 6, 5));
  c.emit(E.aluI('andi', 10, 10, 0x20));
  c.emit(E.branch('beq', 10, 0, wait - c.size));
  c.emit(E.store('sb', 7, 6, 0));
  c.emit(E.jalr(0, 3, 0));
  for (const [at, to] of calls) {
    const [a, b] = split(to === 'hex' ? E.jal(1, hexAt - at) : E.jal(3, putcAt - at));
    c.halves[at / 2] = a;
    c.halves[at / 2 + 1] = b;
  }
}

/** Parse the epilogue's dump: register (or "mem") -> 16 hex digits. Lines that don't match are ignored. */
export function parseDump(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const x = /^(x\d+|mem) ([0-9a-f]{16})$/.exec(line);
    if (x) m.set(x[1], x[2]);
  }
  return m;
}

/** The names a complete dump has, in order: x1..x31 then mem. */
export const DUMP_KEYS = [...Array.from({ length: 31 }, (_, i) => `x${i + 1}`), 'mem'];

/** First difference between two dumps, as a one-line description, or undefined when equal. */
export function firstDifference(expected: Map<string, string>, actual: Map<string, string>): string | undefined {
  for (const k of DUMP_KEYS) {
    const e = expected.get(k), a = actual.get(k);
    if (e !== a) return `${k}: qemu ${e ?? '(missing)'}, wasmvisor ${a ?? '(missing)'}`;
  }
  return undefined;
}
