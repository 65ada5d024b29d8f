/**
 * Batch images for the instruction fuzzer: many cases (test/diff/fuzz.ts) in one raw binary,
 * loaded at 0x80000000 like `qemu -bios none -kernel`, so that one QEMU start runs them all.
 *
 * ```
 *   0x80000000  prologue   x8 = S; mtvec = handler; PMP entry 0 = all memory RWX (for hlv/hsv)
 *               case k     jal over its table; table: fill seed, x1..x31; fill the scratch with
 *                          xorshift64 from the seed; clear the trap log and mscratch; load
 *                          x1..x31; the stream; store x1..x31; jal x4, report
 *               ...        (the next case)
 *               end        wait for the UART to drain, 0x5555 to the test finisher, spin
 *               report     hash mode: print "h <hash>" (scratch, registers, trap log);
 *                          full mode: "x1 <hex>" .. "x31 <hex>", "mem", "trap", "traps"
 *               handler    M-mode traps: fold mcause, mtval, mepc into the trap hash, count,
 *                          skip the instruction (2 or 4 bytes), mret
 *               hex, putc  print x5 as 16 hex digits; print x7 (waits for LSR.THRE)
 *   D (4 KiB aligned, after the code); S = D + 1024, held in x8
 *     S - 1024  scratch    2 KiB: every load, store, AMO, LR/SC, hlv/hsv and c.*sp lands here
 *     S + 1024  save area  x0..x31 as the case's end stores them
 *     S + 1280  trap log   hash, count (the hash in hash mode covers S - 1024 .. S + 1296)
 *     S + 1296  handler    its four saved registers
 *     S + 1344  loops      one counter per nesting depth
 *     S + 1360  constant   the hash's multiplier
 *     S + 1408  edge pool  EDGES (fuzz.ts)
 * ```
 */
import * as E from './encode';
import { BASE_REG, EDGES, LOAD_ADDR, POOL_OFF, SCRATCH_HI, SCRATCH_LO, WRITABLE, generateCase, type FuzzCase } from './fuzz';

const UART = 0x10000000;
const FINISHER = 0x100000;
const SAVE_OFF = 1024;
const TRAP_OFF = 1280;
const HASHED_END = 1296;
const HSAVE_OFF = 1296;
const MUL_OFF = 1360;
const DATA_BYTES = 1024 + POOL_OFF + 8 * EDGES.length;
/** A 64-bit odd multiplier (FNV-1a's prime) so that the report hash mixes every dword. */
const HASH_MUL = 0x100000001b3n;
const CSR = { mtvec: 0x305, mepc: 0x341, mcause: 0x342, mtval: 0x343, mscratch: 0x340, pmpcfg0: 0x3a0, pmpaddr0: 0x3b0 };
const MRET = 0x30200073;
const NOP = E.aluI('addi', 0, 0, 0);

/** Little-endian assembler buffer of 16-bit halves, with words patched once labels are known. */
class Code {
  halves: number[] = [];
  private patches: { at: number; to: string; make: (offset: number) => number | [number, number] }[] = [];
  private labels = new Map<string, number>();
  get size(): number {
    return this.halves.length * 2;
  }
  emit(bits: number, size: 2 | 4 = 4): void {
    this.halves.push(bits & 0xffff);
    if (size === 4) this.halves.push(bits >>> 16);
  }
  /** Define `name` here, or at byte offset `at`. */
  label(name: string, at = this.size): void {
    this.labels.set(name, at);
  }
  /** A jal (or a two-word auipc/addi pair) to `to`, filled in by resolve(). */
  ref(to: string, make: (offset: number) => number | [number, number], words = 1): void {
    this.patches.push({ at: this.size, to, make });
    for (let i = 0; i < words; i++) this.emit(NOP);
  }
  call(to: string, link: number): void {
    this.ref(to, (o) => E.jal(link, o));
  }
  /** auipc rd / addi rd: rd = the address of `to`. */
  la(rd: number, to: string): void {
    this.ref(to, (o) => pcrel(rd, o), 2);
  }
  resolve(): void {
    for (const p of this.patches) {
      const target = this.labels.get(p.to);
      if (target === undefined) throw new Error(`fuzz image: no label ${p.to}`);
      const w = p.make(target - p.at);
      const words = typeof w === 'number' ? [w] : w;
      words.forEach((x, i) => {
        this.halves[p.at / 2 + 2 * i] = x & 0xffff;
        this.halves[p.at / 2 + 2 * i + 1] = x >>> 16;
      });
    }
  }
}

/** auipc rd, hi; addi rd, rd, lo: rd = pc + offset. */
function pcrel(rd: number, offset: number): [number, number] {
  const hi = (offset + 0x800) >> 12;
  return [E.auipc(rd, hi & 0xfffff), E.aluI('addi', rd, rd, offset - (hi << 12))];
}

/** li rd, imm for a value that fits 32 bits signed (lui + addi(w)). */
function li32(c: Code, rd: number, v: number): void {
  const lo = ((v & 0xfff) << 20) >> 20;
  const hi = ((v - lo) >>> 12) & 0xfffff;
  if (hi !== 0) c.emit(E.lui(rd, hi));
  c.emit(hi !== 0 ? E.aluI('addiw', rd, rd, lo) : E.aluI('addi', rd, 0, lo));
}
const csrw = (csr: number, rs: number) => E.csr(1, 0, rs, csr);
const csrr = (rd: number, csr: number) => E.csr(2, rd, 0, csr);

/** A batch image. */
export interface FuzzBatch {
  seed: number;
  /** Index of the first case; cases are first .. first + cases.length - 1. */
  first: number;
  cases: FuzzCase[];
  image: Uint8Array;
  /** Full-mode images print every register; hash-mode images one line per case. */
  full: boolean;
  /** S, the address held in x8. */
  base: bigint;
}

/** Build cases first .. first + count - 1 of run `seed` (about `n` top-level items each). Same arguments, same bytes. */
export function buildBatch(seed: number, first: number, count: number, n: number, full = false): FuzzBatch {
  const cases = Array.from({ length: count }, (_, i) => generateCase(seed, first + i, n));
  const c = new Code();
  c.la(BASE_REG, 'S');
  c.la(5, 'handler');
  c.emit(csrw(CSR.mtvec, 5));
  c.emit(E.aluI('addi', 5, 0, -1));
  c.emit(csrw(CSR.pmpaddr0, 5));
  c.emit(E.aluI('addi', 5, 0, 0x1f)); // NAPOT, R, W, X (privileged spec 3.7.1)
  c.emit(csrw(CSR.pmpcfg0, 5));
  cases.forEach((k, i) => emitCase(c, k, i));
  emitEnd(c);
  emitReport(c, full);
  emitHandler(c);
  emitPrint(c);

  const D = (c.size + 4095) & ~4095;
  const S = D + 1024;
  c.label('S', S);
  c.resolve();
  const image = new Uint8Array(D + DATA_BYTES);
  const view = new DataView(image.buffer);
  c.halves.forEach((h, i) => view.setUint16(i * 2, h, true));
  view.setBigUint64(S + MUL_OFF, HASH_MUL, true);
  EDGES.forEach((v, i) => view.setBigUint64(S + POOL_OFF + 8 * i, BigInt.asUintN(64, v), true));
  return { seed, first, cases, image, full, base: BigInt(LOAD_ADDR + S) };
}

/** One case: its inline table, the scratch fill, the start state, the stream, the save and the report. */
function emitCase(c: Code, k: FuzzCase, i: number): void {
  if (c.size % 4) c.emit(0x0001, 2); // c.nop: keep the table's jal word-aligned
  c.ref(`over${i}`, (o) => E.jal(0, o));
  if (c.size % 8) c.emit(NOP);
  const table = c.size;
  const words: bigint[] = [k.fillSeed, ...k.init.slice(1)];
  for (const v of words) {
    const u = BigInt.asUintN(64, v);
    for (let s = 0n; s < 64n; s += 16n) c.emit(Number((u >> s) & 0xffffn), 2);
  }
  c.label(`over${i}`);
  const t = table - c.size; // table offset from x9
  c.emit(E.auipc(9, 0));
  c.emit(E.load('ld', 5, 9, t));
  // scratch = xorshift64 (13, 7, 17) from the fill seed
  c.emit(E.aluI('addi', 6, BASE_REG, SCRATCH_LO));
  c.emit(E.aluI('addi', 7, BASE_REG, SCRATCH_HI));
  const fill = c.size;
  for (const [op, sh] of [['slli', 13], ['srli', 7], ['slli', 17]] as const) {
    c.emit(E.shiftI(op, 10, 5, sh));
    c.emit(E.aluR('xor', 5, 5, 10));
  }
  c.emit(E.store('sd', 5, 6, 0));
  c.emit(E.aluI('addi', 6, 6, 8));
  c.emit(E.branch('bltu', 6, 7, fill - c.size));
  c.emit(E.store('sd', 0, BASE_REG, TRAP_OFF));
  c.emit(E.store('sd', 0, BASE_REG, TRAP_OFF + 8));
  c.emit(csrw(CSR.mscratch, 0));
  for (const reg of WRITABLE) if (reg !== 9) c.emit(E.load('ld', reg, 9, t + 8 * reg));
  c.emit(E.load('ld', 9, 9, t + 8 * 9));
  for (const insn of k.insns) c.emit(insn.bits, insn.size);
  for (let reg = 1; reg < 32; reg++) c.emit(E.store('sd', reg, BASE_REG, SAVE_OFF + 8 * reg));
  c.call('report', 4);
}

/** Wait for the transmitter to drain (LSR.TEMT), then PASS through the finisher. */
function emitEnd(c: Code): void {
  if (c.size % 4) c.emit(0x0001, 2);
  li32(c, 6, UART);
  const drain = c.size;
  c.emit(E.load('lbu', 10, 6, 5));
  c.emit(E.aluI('andi', 10, 10, 0x40));
  c.emit(E.branch('beq', 10, 0, drain - c.size));
  li32(c, 6, FINISHER);
  li32(c, 7, 0x5555);
  c.emit(E.store('sw', 7, 6, 0));
  c.emit(E.jal(0, 0));
}

/** Print `text` (x7 = each byte, putc returns through x3). */
function print(c: Code, text: string): void {
  for (const ch of text) {
    c.emit(E.aluI('addi', 7, 0, ch.charCodeAt(0)));
    c.call('putc', 3);
  }
}

/** x5 = hash of the dwords [x8 + lo, x8 + hi): h = rotl(h ^ d, 5) * HASH_MUL. Uses x7, x10..x14. */
function emitHash(c: Code, lo: number, hi: number): void {
  c.emit(E.aluI('addi', 5, 0, 0));
  c.emit(E.aluI('addi', 11, BASE_REG, lo));
  c.emit(E.aluI('addi', 12, BASE_REG, hi));
  c.emit(E.load('ld', 13, BASE_REG, MUL_OFF));
  const loop = c.size;
  c.emit(E.load('ld', 7, 11, 0));
  c.emit(E.aluR('xor', 5, 5, 7));
  c.emit(E.shiftI('slli', 10, 5, 5));
  c.emit(E.shiftI('srli', 14, 5, 59));
  c.emit(E.aluR('or', 5, 10, 14));
  c.emit(E.aluR('mul', 5, 5, 13));
  c.emit(E.aluI('addi', 11, 11, 8));
  c.emit(E.branch('bltu', 11, 12, loop - c.size));
}

/** The report, called with jal x4 after the case stored its registers. */
function emitReport(c: Code, full: boolean): void {
  c.label('report');
  if (full) {
    for (let reg = 1; reg < 32; reg++) {
      print(c, `x${reg} `);
      c.emit(E.load('ld', 5, BASE_REG, SAVE_OFF + 8 * reg));
      c.call('hex', 1);
    }
    emitHash(c, SCRATCH_LO, SCRATCH_HI);
    print(c, 'mem ');
    c.call('hex', 1);
    print(c, 'trap ');
    c.emit(E.load('ld', 5, BASE_REG, TRAP_OFF));
    c.call('hex', 1);
    print(c, 'traps ');
    c.emit(E.load('ld', 5, BASE_REG, TRAP_OFF + 8));
    c.call('hex', 1);
  } else {
    emitHash(c, SCRATCH_LO, HASHED_END);
    print(c, 'h ');
    c.call('hex', 1);
  }
  c.emit(E.jalr(0, 4, 0));
}

/**
 * The M-mode trap handler (mtvec direct mode: it must be 4-byte aligned): trap hash =
 * rotl(hash ^ v, 5) for v = mcause, mtval, mepc; count += 1; mepc += the trapping instruction's
 * length (2 unless its low bits are 11: unprivileged spec 1.5); mret.
 */
function emitHandler(c: Code): void {
  if (c.size % 4) c.emit(0x0001, 2);
  c.label('handler');
  const saved = [5, 6, 7, 10];
  saved.forEach((r, i) => c.emit(E.store('sd', r, BASE_REG, HSAVE_OFF + 8 * i)));
  c.emit(E.load('ld', 5, BASE_REG, TRAP_OFF));
  for (const csr of [CSR.mcause, CSR.mtval, CSR.mepc]) {
    c.emit(csrr(6, csr));
    c.emit(E.aluR('xor', 5, 5, 6));
    c.emit(E.shiftI('slli', 7, 5, 5));
    c.emit(E.shiftI('srli', 10, 5, 59));
    c.emit(E.aluR('or', 5, 7, 10));
  }
  c.emit(E.store('sd', 5, BASE_REG, TRAP_OFF));
  c.emit(E.load('ld', 5, BASE_REG, TRAP_OFF + 8));
  c.emit(E.aluI('addi', 5, 5, 1));
  c.emit(E.store('sd', 5, BASE_REG, TRAP_OFF + 8));
  c.emit(csrr(5, CSR.mepc));
  c.emit(E.load('lhu', 6, 5, 0));
  c.emit(E.aluI('andi', 6, 6, 3));
  c.emit(E.aluI('addi', 6, 6, -3));
  c.emit(E.aluI('addi', 5, 5, 2));
  c.emit(E.branch('bne', 6, 0, 8));
  c.emit(E.aluI('addi', 5, 5, 2));
  c.emit(csrw(CSR.mepc, 5));
  saved.forEach((r, i) => c.emit(E.load('ld', r, BASE_REG, HSAVE_OFF + 8 * i)));
  c.emit(MRET);
}

/**
 * hex: print x5 as 16 hex digits and a newline (uses x7, x9, x10; returns through x1).
 * putc: wait for THR empty (16550 LSR bit 5: QEMU's UART drops bytes written while the previous
 * one is still being sent), write x7 (uses x6, x10; returns through x3).
 */
function emitPrint(c: Code): void {
  c.label('hex');
  c.emit(E.aluI('addi', 9, 0, 60));
  const digit = c.size;
  c.emit(E.aluR('srl', 7, 5, 9));
  c.emit(E.aluI('andi', 7, 7, 15));
  c.emit(E.aluI('addi', 10, 7, -10));
  c.emit(E.branch('blt', 10, 0, 8)); // digits 0..9 skip the letter adjustment
  c.emit(E.aluI('addi', 7, 7, 39)); // 'a' - '0' - 10
  c.emit(E.aluI('addi', 7, 7, 48)); // '0'
  c.call('putc', 3);
  c.emit(E.aluI('addi', 9, 9, -4));
  c.emit(E.branch('bge', 9, 0, digit - c.size));
  c.emit(E.aluI('addi', 7, 0, 10));
  c.call('putc', 3);
  c.emit(E.jalr(0, 1, 0));
  c.label('putc');
  li32(c, 6, UART);
  const wait = c.size;
  c.emit(E.load('lbu', 10, 6, 5));
  c.emit(E.aluI('andi', 10, 10, 0x20));
  c.emit(E.branch('beq', 10, 0, wait - c.size));
  c.emit(E.store('sb', 7, 6, 0));
  c.emit(E.jalr(0, 3, 0));
}

/** The per-case hashes of a hash-mode run's console output, in order. */
export function parseHashes(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^h ([0-9a-f]{16})$/.exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

/** The names a full-mode dump has, in order. */
export const DUMP_KEYS = [...Array.from({ length: 31 }, (_, i) => `x${i + 1}`), 'mem', 'trap', 'traps'];

/** Parse a full-mode dump: name -> 16 hex digits, one map per case. */
export function parseDumps(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  for (const line of text.split(/\r?\n/)) {
    const x = /^(x\d+|mem|trap|traps) ([0-9a-f]{16})$/.exec(line);
    if (!x) continue;
    if (x[1] === 'x1' || out.length === 0) out.push(new Map());
    out[out.length - 1].set(x[1], x[2]);
  }
  return out;
}

/** First difference between two dumps, as a one-line description, or undefined when equal. */
export function firstDifference(expected: Map<string, string> | undefined, actual: Map<string, string> | undefined, names = ['qemu', 'wasmvisor']): string | undefined {
  for (const k of DUMP_KEYS) {
    const e = expected?.get(k), a = actual?.get(k);
    if (e !== a) return `${k}: ${names[0]} ${e ?? '(missing)'}, ${names[1]} ${a ?? '(missing)'}`;
  }
  return undefined;
}

/** A case's listing, for failure reports. */
export function listing(k: FuzzCase): string {
  return k.items.map((it) => it.text).join('\n');
}

export { LOAD_ADDR };
