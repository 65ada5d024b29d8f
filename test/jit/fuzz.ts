/**
 * Random M-mode programs that compare the two execution tiers: the interpreter (jit 'off') and
 * compiled regions (jit 'always' or 'on'). Both must leave the same architectural state at every
 * exit, including stops on an instruction budget (DESIGN: tier 2 follows exec.ts exactly).
 *
 * A program is a raw image loaded at 0x80000000 and built with the two-pass assembler
 * (test/vmm/asm.ts). Memory map:
 *
 * ```
 *   0x80000000  prologue    x8 = BASE, mtvec = handler, maybe the timer, x1..x31 (but x8, x9) =
 *                           random values; often a jump over padding, so that the body crosses
 *                           the page boundary at 0x80001000
 *               body        segments: straight runs, counted loops (x9 counts) whose bodies
 *                           call leaf functions, trap, and patch code; a guaranteed marker patch,
 *                           ecall and loop
 *               epilogue    store x1..x31, counters; print "ok" + trap count on the UART;
 *                           write 0x5555 to the test finisher
 *               handler     M-mode trap handler: logs mcause/mepc/mtval/minstret, mepc += 4, mret
 *               functions   leaf functions, each returning through its own link register
 *               pool        64-bit constants (Asm.li64)
 *   DATA_PAGE   0x80100000  (4 KiB aligned, never code); BASE = DATA_PAGE + 2048, held in x8
 *     BASE-2048  trap log   LOG_ENTRIES x { mcause, mepc, mtval, minstret } (index wraps)
 *     BASE-1024  save area  x0..x31 as the epilogue stores them
 *     BASE-768   handler    the four registers the handler uses
 *     BASE-704   counters   trap count, loop iterations, minstret and mcycle at the end,
 *                           timer interrupts
 *     BASE-640   marks      16 dwords: a patched-in `sd x8, mark(x8)` writes BASE there
 *     BASE+0     scratch    2 KiB of random bytes, every random load/store/AMO/LR/SC lands here
 *   DATA_PAGE+4096          the next page: page-crossing accesses spill into it
 * ```
 *
 * Most programs also take timer interrupts (mtimecmp through the CLINT; the handler re-arms
 * it), which both tiers must take at the same instruction.
 *
 * Invariants the generator keeps: x8 (BASE) is never written; x9 (loop counter) only by loop
 * heads and tails; a function never writes its link register; every trapping instruction is
 * 4 bytes (the handler skips 4), and the handler restores what it uses. Control flow only jumps
 * forward to an item boundary of the same sequence, back to a loop head, or calls a function.
 * Compressed instructions come in pairs (or split 4-byte instructions, "straddles"), so labels
 * stay word-aligned. The same seed gives the same bytes: a compressed forward branch needs its
 * target before it is defined, so the program is generated twice and the second pass takes the
 * addresses of the first (the sizes do not depend on offsets).
 */
import * as E from '../diff/encode';
import { Rng } from '../diff/fuzz';
import { Asm } from '../vmm/asm';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import type { JitStats, MachineConfig, RunResult } from '../../host/machine/types';

export { Rng };

/** Where the image is loaded and starts. */
export const LOAD_ADDR = 0x80000000n;
/** The data page (never holds code). */
export const DATA_PAGE = 0x80100000n;
/** Bytes of data compared between tiers: the data page and the page after it. */
export const DATA_BYTES = 8192;
/** x8 holds BASE = DATA_PAGE + 2048 for the whole program. */
export const BASE_REG = 8;
/** x9 counts loop iterations down. */
export const CNT_REG = 9;
export const BASE = DATA_PAGE + 2048n;
/** Offsets from BASE (see the map above). */
export const LOG_OFF = -2048;
export const LOG_ENTRIES = 32;
export const SAVE_OFF = -1024;
const HSAVE_OFF = -768;
export const TRAPS_OFF = -704;
export const LOOPS_OFF = -696;
const MINSTRET_OFF = -688;
const MCYCLE_OFF = -680;
export const IRQS_OFF = -672;
export const MARK_OFF = -640;
export const MARKS = 16;
const SCRATCH = 2048;

const UART = 0x10000000;
const FINISHER = 0x100000;
const NOP = E.aluI('addi', 0, 0, 0);
const FENCE_I = 0x0000100f;
const FENCE = 0x0ff0000f;
const ECALL = 0x00000073;
const EBREAK = 0x00100073;
const MRET = 0x30200073;
/** 4-byte encodings that must raise illegal instruction (cause 2) in M-mode. */
export const ILLEGAL: readonly [number, string][] = [
  [0xc0001073, 'csrrw x0, cycle, x0 (read-only CSR)'],
  [0x0000700b, 'custom-0'],
  [0x80000033, 'OP funct7=0x40'],
  [0x00007003, 'LOAD funct3=7'],
  [0x00004023, 'STORE funct3=4'],
];
/** CSR numbers (privileged spec, tables 2.2-2.5). */
const CSR = {
  cycle: 0xc00, time: 0xc01, instret: 0xc02, mcycle: 0xb00, minstret: 0xb02, mscratch: 0x340,
  mepc: 0x341, mcause: 0x342, mtval: 0x343, mstatus: 0x300, mtvec: 0x305, mie: 0x304,
} as const;
/** CLINT mtimecmp of hart 0 (virt board), and the interrupt enables (privileged spec 3.1.6, 3.1.9). */
const MTIMECMP = 0x2004000;
const MSTATUS_MIE = 8;
const MIE_MTIE = 0x80;

/** A Zicsr instruction: funct3 1..3 (csrrw/s/c) take rs1, 5..7 (the i forms) a 5-bit immediate. */
function csrOp(funct3: number, rd: number, rs1: number, csr: number): number {
  return E.iType(0x73, funct3, rd, rs1, csr >= 2048 ? csr - 4096 : csr);
}
const CSR_OPS = ['', 'csrrw', 'csrrs', 'csrrc', '', 'csrrwi', 'csrrsi', 'csrrci'];
const csrName = (n: number) => Object.entries(CSR).find(([, v]) => v === n)?.[0] ?? `0x${n.toString(16)}`;

const hex = (v: bigint | number) => '0x' + BigInt.asUintN(64, BigInt(v)).toString(16);
const R_OPS = Object.keys(E.ALU_R);
const I_OPS = Object.keys(E.ALU_I);
const SHIFTS = ['slli', 'srli', 'srai', 'slliw', 'srliw', 'sraiw'] as const;
const LOAD_SIZE = { lb: 1, lbu: 1, lh: 2, lhu: 2, lw: 4, lwu: 4, ld: 8 } as const;
const STORE_SIZE = { sb: 1, sh: 2, sw: 4, sd: 8 } as const;
const AMO_OPS = ['amoswap', 'amoadd', 'amoxor', 'amoand', 'amoor', 'amomin', 'amomax', 'amominu', 'amomaxu'] as const;

/** A generated program. */
export interface JitProgram {
  seed: number;
  /** The raw image (load at LOAD_ADDR): code, pool, zeros, the data pages. */
  image: Uint8Array;
  /** One line per emitted item: address and assembly text. */
  listing: string[];
  /** First byte after the code pages (LOAD_ADDR up to it is compared). */
  codePagesEnd: bigint;
  /** What the generator put in (static counts, for reports). */
  counts: { items: number; loops: number; patches: number; traps: number; calls: number; functions: number };
  /**
   * Timer interrupts on: mtimecmp starts at most 40 ticks (320 instructions) in, so at least one
   * interrupt is taken; the handler then re-arms it `timerPeriod` ticks ahead.
   */
  timer: boolean;
  timerPeriod: number;
}

/** Registers a generated instruction must not write, and what it may do. */
interface Ctx {
  avoid: ReadonlySet<number>;
  /** Calls to leaf functions allowed (not inside a function). */
  calls: boolean;
  /** Slots of the current loop body (already emitted) that a later patch may rewrite. */
  slots: string[];
}

/** One unit of a sequence: forward branches skip whole items. */
interface Item {
  text: string;
  emit?: () => void;
  /** A forward branch over `skip` items: emitted with the target label once it is chosen. */
  skip?: number;
  emitTo?: (label: string) => void;
}

/** A leaf function: its label, link register, the registers it must keep, an optional slot. */
interface Fn {
  label: string;
  link: number;
  slot?: string;
  ctx: Ctx;
}

/** The generator for one seed and pass. */
class Gen {
  readonly asm = new Asm(LOAD_ADDR);
  readonly listing: string[] = [];
  readonly labels: string[] = [];
  readonly counts = { items: 0, loops: 0, patches: 0, traps: 0, calls: 0, functions: 0 };
  /** Compressed forward branches: label, and the address pass 1 gave it. */
  readonly forwardC: { label: string; assumed: bigint }[] = [];
  private nextLabel = 0;
  private markIndex = 0;
  private fns: Fn[] = [];
  timer = false;
  timerPeriod = 0;

  /**
   * qemu: the program must also run the same on QEMU (test/jit/fuzz.test.ts compares them):
   * no timer, no counter or mstatus reads, no UART or mtime accesses (time and the UART's
   * readiness follow the host's clock there), the handler logs 0 for minstret, and the
   * epilogue prints the registers and hashes of the data and code pages (waiting for LSR.THRE).
   */
  constructor(private readonly r: Rng, private readonly prev: Map<string, bigint> | undefined, private readonly qemu = false) {}

  private newLabel(prefix: string): string {
    return `${prefix}${this.nextLabel++}`;
  }
  private define(label: string): void {
    this.asm.label(label);
    this.labels.push(label);
  }
  private word(w: number): void {
    this.asm.emit(w >>> 0);
  }
  private pairWord(lo: number, hi: number): number {
    return ((hi << 16) | (lo & 0xffff)) >>> 0;
  }

  // ---- registers ----
  private writable(ctx: Ctx): number[] {
    const out: number[] = [];
    for (let i = 1; i < 32; i++) if (i !== BASE_REG && i !== CNT_REG && !ctx.avoid.has(i)) out.push(i);
    return out;
  }
  private rd(ctx: Ctx): number {
    return this.r.chance(0.03) ? 0 : this.r.pick(this.writable(ctx));
  }
  private rs(): number {
    return this.r.int(0, 31);
  }
  private imm12(): number {
    return this.r.chance(0.3) ? this.r.pick([0, 1, -1, 2047, -2048, 31, 32, 63]) : this.r.int(-2048, 2047);
  }
  /**
   * An offset from x0 for an access that must fault. Never -1, so that seeds keep the programs
   * they had when the core mishandled address 0xffffffffffffffff (now fixed; fuzz.test.ts has a
   * test of its own for it).
   */
  private faultOff(size: number): number {
    const off = this.imm12();
    // QEMU 7.2 reports a misaligned access's fault with mtval rounded down to the access size
    // (below the access; the spec wants the faulting portion's address: privileged 3.1.16)
    if (this.qemu) return off & -size;
    return off === -1 ? -2 : off;
  }

  // ---- single 4-byte instructions (usable anywhere, also split across words) ----
  private aluWord(ctx: Ctx): [number, string] {
    const r = this.r, rd = this.rd(ctx), a = this.rs();
    if (r.chance(0.45)) {
      const op = r.pick(R_OPS);
      const b = /div|rem/.test(op) && r.chance(0.15) ? 0 : this.rs();
      return [E.aluR(op, rd, a, b), `${op} x${rd}, x${a}, x${b}`];
    }
    if (r.chance(0.35)) {
      const op = r.pick(SHIFTS), sh = r.int(0, op.endsWith('w') ? 31 : 63);
      return [E.shiftI(op, rd, a, sh), `${op} x${rd}, x${a}, ${sh}`];
    }
    if (r.chance(0.1)) {
      const op = r.pick(['lui', 'auipc'] as const), imm = r.chance(0.3) ? r.pick([0, 0x80000, 0xfffff, 0x7ffff]) : r.int(0, 0xfffff);
      return [op === 'lui' ? E.lui(rd, imm) : E.auipc(rd, imm), `${op} x${rd}, ${hex(imm)}`];
    }
    const op = r.pick(I_OPS), imm = this.imm12();
    return [E.aluI(op, rd, a, imm), `${op} x${rd}, x${a}, ${imm}`];
  }
  /** An offset into the scratch area for an access of `size`: aligned, misaligned, or crossing into the next page. */
  private scratchOff(size: number): number {
    const r = this.r;
    if (size > 1 && r.chance(0.04)) return SCRATCH - size + r.int(1, size - 1); // crosses DATA_PAGE + 4096
    if (size > 1 && r.chance(0.25)) return r.int(0, SCRATCH - size); // any alignment
    return r.int(0, SCRATCH / size - 1) * size;
  }
  private memWord(ctx: Ctx): [number, string] {
    const r = this.r;
    if (r.chance(0.5)) {
      const op = r.pick(Object.keys(LOAD_SIZE) as (keyof typeof LOAD_SIZE)[]);
      const rd = this.rd(ctx), off = this.scratchOff(LOAD_SIZE[op]);
      return [E.load(op, rd, BASE_REG, off), `${op} x${rd}, ${off}(x8)`];
    }
    const op = r.pick(Object.keys(STORE_SIZE) as (keyof typeof STORE_SIZE)[]);
    const rs2 = this.rs(), off = this.scratchOff(STORE_SIZE[op]);
    return [E.store(op, rs2, BASE_REG, off), `${op} x${rs2}, ${off}(x8)`];
  }
  /** A 4-byte instruction that traps (the handler skips it). */
  private trapWord(): [number, string] {
    const r = this.r;
    this.counts.traps++;
    switch (r.int(0, 5)) {
      case 0: return [ECALL, 'ecall'];
      case 1: return [EBREAK, 'ebreak'];
      case 2: {
        // QEMU 7.2 takes the two reserved LOAD/STORE widths (RV128's ldu/sq) without an illegal-instruction trap
        const [w, t] = r.pick(this.qemu ? ILLEGAL.slice(0, 3) : ILLEGAL);
        return [w, `illegal ${hex(w)} (${t})`];
      }
      case 3: {
        // loads from x0 + imm: physical 0..0x7ff (no device) or the top of the address space
        const op = r.pick(Object.keys(LOAD_SIZE) as (keyof typeof LOAD_SIZE)[]), rd = r.int(1, 31), off = this.faultOff(LOAD_SIZE[op]);
        // rd is never written: the access faults (still, keep x8/x9 out of it)
        const safe = rd === BASE_REG || rd === CNT_REG ? 0 : rd;
        return [E.load(op, safe, 0, off), `${op} x${safe}, ${off}(x0)  # access fault`];
      }
      case 4: {
        const op = r.pick(Object.keys(STORE_SIZE) as (keyof typeof STORE_SIZE)[]), rs2 = this.rs(), off = this.faultOff(STORE_SIZE[op]);
        return [E.store(op, rs2, 0, off), `${op} x${rs2}, ${off}(x0)  # access fault`];
      }
      default: {
        const rs2 = this.rs();
        // QEMU 7.2 reports an AMO's access fault as a load fault (cause 5: its single-threaded
        // AMO loads first), where the spec says store/AMO (7, as wasmvisor does): not on QEMU
        if (this.qemu) return [E.store('sw', rs2, 0, 0), `sw x${rs2}, 0(x0)  # access fault`];
        return [E.amo('amoadd', 'w', 0, 0, rs2), `amoadd.w x0, x${rs2}, (x0)  # access fault`];
      }
    }
  }
  private csrWord(ctx: Ctx): [number, string] {
    const r = this.r, rd = this.rd(ctx);
    const k = r.int(0, 9);
    if (k < 4) {
      // reads: the counters make instruction counting visible (not on QEMU, whose counters follow the host)
      const c = r.pick(this.qemu ? [CSR.mscratch, CSR.mepc, CSR.mcause, CSR.mtval]
        : [CSR.minstret, CSR.mcycle, CSR.instret, CSR.cycle, CSR.time, CSR.mscratch, CSR.mepc, CSR.mcause, CSR.mtval, CSR.mstatus]);
      return [csrOp(2, rd, 0, c), `csrr x${rd}, ${csrName(c)}`];
    }
    if (k < 8) {
      const f = r.pick([1, 2, 3, 5, 6, 7]), src = f >= 5 ? r.int(0, 31) : this.rs();
      return [csrOp(f, rd, src, CSR.mscratch), `${CSR_OPS[f]} x${rd}, mscratch, ${f >= 5 ? src : 'x' + src}`];
    }
    // writes to the counters only move their deltas (csr.ts), not HartState.instret
    const c = this.qemu ? CSR.mscratch : r.pick([CSR.minstret, CSR.mcycle]), src = this.rs();
    return [csrOp(1, 0, src, c), `csrw ${csrName(c)}, x${src}`];
  }
  /** A random 4-byte instruction that does not transfer control. */
  private anyWord(ctx: Ctx): [number, string] {
    const k = this.r.int(0, 19);
    if (k < 10) return this.aluWord(ctx);
    if (k < 15) return this.memWord(ctx);
    if (k < 17) return this.csrWord(ctx);
    return this.trapWord();
  }

  // ---- compressed (chapter 16), always two per word ----
  private compressed(ctx: Ctx): [number, string] {
    const r = this.r, w = this.writable(ctx);
    const cw = w.filter((x) => x >= 8 && x <= 15);
    const nz6 = () => (r.chance(0.5) ? r.int(-32, -1) : r.int(1, 31));
    const k = r.int(0, 13);
    if (cw.length === 0 && (k === 5 || k === 7 || k === 8 || k === 11)) return [0x0001, 'c.nop'];
    switch (k) {
      case 0: { const rd = r.pick(w), i = nz6(); return [E.cAddi(rd, i), `c.addi x${rd}, ${i}`]; }
      case 1: { const rd = r.pick(w), i = r.int(-32, 31); return [E.cAddiw(rd, i), `c.addiw x${rd}, ${i}`]; }
      case 2: { const rd = r.pick(w), i = r.int(-32, 31); return [E.cLi(rd, i), `c.li x${rd}, ${i}`]; }
      case 3: { const rd = r.pick(w.filter((x) => x !== 2)), i = nz6(); return [E.cLui(rd, i), `c.lui x${rd}, ${i}`]; }
      case 4: {
        if (!w.includes(2)) return [0x0001, 'c.nop'];
        const i = r.pick([-512, -16, 16, 496, 32]);
        return [E.cAddi16sp(i), `c.addi16sp ${i}`];
      }
      case 5: { const rd = r.pick(cw), i = r.int(1, 255) * 4; return [E.cAddi4spn(rd, i), `c.addi4spn x${rd}, ${i}`]; }
      case 6: { const rd = r.pick(w), s = r.int(1, 63); return [E.cSlli(rd, s), `c.slli x${rd}, ${s}`]; }
      case 7: {
        const op = r.pick(['c.srli', 'c.srai', 'c.andi'] as const), rd = r.pick(cw);
        const i = op === 'c.andi' ? r.int(-32, 31) : r.int(1, 63);
        return [E.cShiftAndi(op, rd, i), `${op} x${rd}, ${i}`];
      }
      case 8: {
        const op = r.pick(['c.sub', 'c.xor', 'c.or', 'c.and', 'c.subw', 'c.addw'] as const), rd = r.pick(cw), b = r.int(8, 15);
        return [E.cArith(op, rd, b), `${op} x${rd}, x${b}`];
      }
      case 9: { const rd = r.pick(w), b = r.int(1, 31); return [E.cMv(rd, b), `c.mv x${rd}, x${b}`]; }
      case 10: { const rd = r.pick(w), b = r.int(1, 31); return [E.cAdd(rd, b), `c.add x${rd}, x${b}`]; }
      case 11: case 12: {
        // unsigned scaled offsets from x8 = BASE: [BASE, BASE + 248] is scratch
        const op = r.pick(['c.lw', 'c.ld', 'c.sw', 'c.sd'] as const), store = op === 'c.sw' || op === 'c.sd';
        const reg = store ? r.int(8, 15) : r.pick(cw.length ? cw : [0]);
        if (reg === 0) return [0x0001, 'c.nop'];
        const off = op === 'c.lw' || op === 'c.sw' ? r.int(0, 31) * 4 : r.int(0, 31) * 8;
        return [E.cLoadStore(op, reg, BASE_REG, off), `${op} x${reg}, ${off}(x8)`];
      }
      default: return [0x0001, 'c.nop'];
    }
  }
  private cPairWord(ctx: Ctx): [number, string] {
    const [a, ta] = this.compressed(ctx), [b, tb] = this.compressed(ctx);
    return [this.pairWord(a, b), `${ta}; ${tb}`];
  }

  // ---- items ----
  private one(w: number, text: string): Item {
    return { text, emit: () => this.word(w) };
  }
  /** c1, then 4-byte instructions at odd halfword addresses, then c2: k + 1 words. */
  private straddle(ctx: Ctx): Item {
    const [c1, t1] = this.compressed(ctx);
    const insns: [number, string][] = [];
    for (let i = this.r.int(1, 3); i > 0; i--) insns.push(this.anyWord(ctx));
    const [c2, t2] = this.compressed(ctx);
    const halves = [c1 & 0xffff];
    for (const [w] of insns) halves.push(w & 0xffff, w >>> 16);
    halves.push(c2 & 0xffff);
    const words: number[] = [];
    for (let i = 0; i < halves.length; i += 2) words.push(this.pairWord(halves[i], halves[i + 1]));
    return { text: [t1, ...insns.map(([, t]) => t), t2].join('; ') + '  # straddle', emit: () => words.forEach((w) => this.word(w)) };
  }
  private amo(ctx: Ctx): Item {
    const r = this.r, w = r.pick(['w', 'd'] as const), size = w === 'w' ? 4 : 8;
    const name = r.pick(AMO_OPS), t = r.pick(this.writable(ctx)), rd = this.rd(ctx), rs2 = this.rs();
    // misaligned AMOs trap (store/AMO address misaligned or access fault): the handler skips them
    // (not on QEMU: 7.2 reports them as load address misaligned, cause 4, where the spec says 6)
    const mis = r.chance(0.08) && !this.qemu;
    const off = mis ? r.int(0, SCRATCH / size - 2) * size + r.int(1, size - 1) : r.int(0, SCRATCH / size - 1) * size;
    if (mis) this.counts.traps++;
    const aq = r.chance(0.3), rl = r.chance(0.3);
    const words = [E.aluI('addi', t, BASE_REG, off), E.amo(name, w, rd, t, rs2, aq, rl)];
    return { text: `addi x${t}, x8, ${off}; ${name}.${w} x${rd}, x${rs2}, (x${t})`, emit: () => words.forEach((x) => this.word(x)) };
  }
  private lrsc(ctx: Ctx): Item {
    const r = this.r, w = r.pick(['w', 'd'] as const), size = w === 'w' ? 4 : 8;
    const t = r.pick(this.writable(ctx)), off = r.int(0, SCRATCH / size - 1) * size;
    const notT: Ctx = { ...ctx, avoid: new Set([...ctx.avoid, t]) };
    const words = [E.aluI('addi', t, BASE_REG, off)];
    const text = [`addi x${t}, x8, ${off}`];
    if (!r.chance(0.15)) {
      const rd1 = r.pick(this.writable(notT));
      words.push(E.amo('lr', w, rd1, t, 0));
      text.push(`lr.${w} x${rd1}, (x${t})`);
      for (let i = r.int(0, 2); i > 0; i--) {
        // between LR and SC anything but control flow: a store or a trap may break the reservation
        const [x, tx] = r.chance(0.7) ? this.aluWord(notT) : this.anyWord(notT);
        words.push(x);
        text.push(tx);
      }
    }
    const rd2 = this.rd(notT), rs2 = this.rs();
    words.push(E.amo('sc', w, rd2, t, rs2));
    text.push(`sc.${w} x${rd2}, x${rs2}, (x${t})`);
    return { text: text.join('; '), emit: () => words.forEach((x) => this.word(x)) };
  }
  /** Device accesses: UART THR writes (console output), UART LSR reads, CLINT mtime reads. */
  private mmio(ctx: Ctx): Item {
    const r = this.r, t = r.pick(this.writable(ctx)), k = r.int(0, 2);
    if (k === 0) {
      const rs2 = this.rs();
      const words = [E.lui(t, UART >>> 12), E.store('sb', rs2, t, 0)];
      return { text: `lui x${t}, uart; sb x${rs2}, 0(x${t})`, emit: () => words.forEach((x) => this.word(x)) };
    }
    const rd = this.rd(ctx);
    if (k === 1) {
      const words = [E.lui(t, UART >>> 12), E.load('lbu', rd, t, 5)];
      return { text: `lui x${t}, uart; lbu x${rd}, 5(x${t})  # LSR`, emit: () => words.forEach((x) => this.word(x)) };
    }
    const words = [E.lui(t, 0x200c), E.load('ld', rd, t, -8)];
    return { text: `lui x${t}, 0x200c; ld x${rd}, -8(x${t})  # mtime`, emit: () => words.forEach((x) => this.word(x)) };
  }
  /** An access through a computed pointer: t = x8 + o1 (one or two addi); load/store at o2(t), o1 + o2 in scratch (rd may be t). */
  private pointer(ctx: Ctx): Item {
    const r = this.r, t = r.pick(this.writable(ctx));
    const load = r.chance(0.5);
    const op = load ? r.pick(Object.keys(LOAD_SIZE) as (keyof typeof LOAD_SIZE)[]) : r.pick(Object.keys(STORE_SIZE) as (keyof typeof STORE_SIZE)[]);
    const size = load ? LOAD_SIZE[op as keyof typeof LOAD_SIZE] : STORE_SIZE[op as keyof typeof STORE_SIZE];
    const o2 = r.chance(0.3) ? 0 : r.int(-2048, 2047), o1 = this.scratchOff(size) - o2; // o1 in [-2047, 4095]
    const rd = load ? (r.chance(0.3) ? t : this.rd(ctx)) : this.rs();
    const w2 = load ? E.load(op as keyof typeof LOAD_SIZE, rd, t, o2) : E.store(op as keyof typeof STORE_SIZE, rd, t, o2);
    const words = [E.aluI('addi', t, BASE_REG, o1 > 2047 ? 2047 : o1), ...(o1 > 2047 ? [E.aluI('addi', t, t, o1 - 2047)] : []), w2];
    return { text: `x${t} = x8 + ${o1}; ${op} x${rd}, ${o2}(x${t})`, emit: () => words.forEach((x) => this.word(x)) };
  }
  private forward(ctx: Ctx): Item {
    const r = this.r, k = r.int(0, 9);
    if (k < 5) {
      const op = r.pick(Object.keys(E.BRANCHES) as (keyof typeof E.BRANCHES)[]), a = this.rs(), b = this.rs();
      const skip = r.int(1, 4);
      return { text: `${op} x${a}, x${b}, +${skip} items`, skip, emitTo: (l) => this.asm.branch(op, a, b, l) };
    }
    if (k < 7) {
      const rd = this.rd(ctx), skip = r.int(1, 4);
      return { text: `jal x${rd}, +${skip} items`, skip, emitTo: (l) => this.asm.jal(rd, l) };
    }
    // compressed: the branch in the low half, a compressed instruction after it (run on fall-through)
    const [filler, tf] = this.compressed(ctx);
    const skip = r.int(1, 2);
    const op = r.pick(['c.beqz', 'c.bnez', 'c.j'] as const), a = r.int(8, 15);
    return {
      text: `${op === 'c.j' ? 'c.j' : `${op} x${a},`} +${skip} items; ${tf}`,
      skip,
      emitTo: (l) => {
        const assumed = this.prev?.get(l) ?? this.asm.pc;
        this.forwardC.push({ label: l, assumed });
        const off = Number(assumed - this.asm.pc);
        this.word(this.pairWord(op === 'c.j' ? E.cJ(off) : E.cBranch(op, a, off), filler));
      },
    };
  }
  private call(ctx: Ctx): Item | undefined {
    if (!ctx.calls || this.fns.length === 0) return undefined;
    const r = this.r, fn = r.pick(this.fns), t = r.pick(this.writable(ctx));
    this.counts.calls++;
    const k = r.int(0, 4);
    if (k <= 1) return { text: `jal x${fn.link}, ${fn.label}`, emit: () => this.asm.jal(fn.link, fn.label) };
    if (k === 2) return { text: `la x${t}, ${fn.label}; jalr x${fn.link}, 0(x${t})`, emit: () => { this.asm.la(t, fn.label); this.word(E.jalr(fn.link, t, 0)); } };
    if (k === 3 || fn.link !== 1) {
      const imm = r.int(-64, 64);
      return {
        text: `la x${t}, ${fn.label}; addi x${t}, x${t}, ${-imm}; jalr x${fn.link}, ${imm}(x${t})`,
        emit: () => { this.asm.la(t, fn.label); this.word(E.aluI('addi', t, t, -imm)); this.word(E.jalr(fn.link, t, imm)); },
      };
    }
    // c.jalr t links x1 = pc + 2: the function returns into the high half of the word
    const cjalr = (4 << 13) | (1 << 12) | (t << 7) | 2;
    return { text: `la x${t}, ${fn.label}; c.jalr x${t}; c.nop`, emit: () => { this.asm.la(t, fn.label); this.word(this.pairWord(cjalr, 0x0001)); } };
  }
  /** The word a patch writes: a mark store, an ALU op, a trap, two compressed, a memory access. */
  private newWord(ctx: Ctx, mark: boolean): [number, string] {
    const k = mark ? 0 : this.r.int(0, 9);
    if (k < 3) {
      const i = this.markIndex++ % MARKS;
      return [E.store('sd', BASE_REG, BASE_REG, MARK_OFF + 8 * i), `sd x8, mark${i}(x8)`];
    }
    if (k < 6) return this.aluWord(ctx);
    if (k < 7) return this.trapWord();
    if (k < 9) return this.cPairWord(ctx);
    return this.memWord(ctx);
  }
  private origWord(ctx: Ctx): [number, string] {
    return this.r.chance(0.5) ? [NOP, 'nop'] : this.aluWord(ctx);
  }
  /** Store `word` into the slot at `slot` (la + li64 + sw / two sh / amoswap.w), optionally then fence.i. */
  private patchStore(ctx: Ctx, slot: string, word: number): { text: string; emit: () => void } {
    const r = this.r, w = this.writable(ctx);
    const a = r.pick(w), t = r.pick(w.filter((x) => x !== a));
    // without fence.i, when the hart fetches the new word is up to the implementation (unprivileged
    // spec, Zifencei): QEMU keeps running a translated block that stored into itself, so on QEMU always fence
    const how = r.int(0, 5), fence = r.chance(0.2) || this.qemu;
    this.counts.patches++;
    const text = `la x${a}, ${slot}; li x${t}, ${hex(word)}; ${how === 4 ? `sh x${t}, 0(x${a}); srli x${t}, x${t}, 16; sh x${t}, 2(x${a})` : how === 5 ? `amoswap.w x0, x${t}, (x${a})` : `sw x${t}, 0(x${a})`}${fence ? '; fence.i' : ''}`;
    return {
      text,
      emit: () => {
        this.asm.la(a, slot);
        this.asm.li64(t, BigInt(word));
        if (how === 4) {
          this.word(E.store('sh', t, a, 0));
          this.word(E.shiftI('srli', t, t, 16));
          this.word(E.store('sh', t, a, 2));
        } else if (how === 5) this.word(E.amo('amoswap', 'w', 0, a, t));
        else this.word(E.store('sw', t, a, 0));
        if (fence) this.word(FENCE_I);
      },
    };
  }
  /**
   * Self-modifying code: rewrite a slot that runs later. Mostly the slot follows in the same
   * straight run (same decoded block); else a slot earlier in the current loop body (runs again
   * next iteration) or the slot at a function's entry.
   */
  private patch(ctx: Ctx, mark = false): Item {
    const r = this.r, k = mark ? 0 : r.int(0, 9);
    if (k >= 6 && k < 8 && ctx.slots.length > 0) {
      const slot = r.pick(ctx.slots), [nw, tn] = this.newWord(ctx, false), p = this.patchStore(ctx, slot, nw);
      return { text: `${p.text}  # ${slot} := ${tn}`, emit: p.emit };
    }
    const fnsWithSlot = this.fns.filter((f) => f.slot);
    if (k >= 8 && fnsWithSlot.length > 0 && ctx.calls) {
      const fn = r.pick(fnsWithSlot), [nw, tn] = this.newWord(fn.ctx, false), p = this.patchStore(ctx, fn.slot!, nw);
      return { text: `${p.text}  # ${fn.slot} := ${tn}`, emit: p.emit };
    }
    const slot = this.newLabel('P');
    const [nw, tn] = this.newWord(ctx, mark), [ow, to] = this.origWord(ctx);
    const p = this.patchStore(ctx, slot, nw);
    const between: [number, string][] = [];
    for (let i = r.int(0, 3); i > 0; i--) between.push(this.aluWord(ctx));
    return {
      text: `${p.text}; ${between.map(([, t]) => t + '; ').join('')}${slot}: ${to}  # := ${tn}`,
      emit: () => {
        p.emit();
        between.forEach(([w]) => this.word(w));
        this.define(slot);
        this.word(ow);
      },
    };
  }

  /** One random item of a sequence. */
  private item(ctx: Ctx): Item {
    const r = this.r;
    for (;;) {
      const k = r.int(0, 99);
      if (k < 22) { const [w, t] = this.aluWord(ctx); return this.one(w, t); }
      if (k < 30) { const [w, t] = this.memWord(ctx); return this.one(w, t); }
      if (k < 34) return this.pointer(ctx);
      if (k < 44) { const [w, t] = this.cPairWord(ctx); return this.one(w, t); }
      if (k < 49) return this.straddle(ctx);
      if (k < 54) return this.amo(ctx);
      if (k < 57) return this.lrsc(ctx);
      if (k < 63) { const [w, t] = this.trapWord(); return this.one(w, t); }
      if (k < 68) { const [w, t] = this.csrWord(ctx); return this.one(w, t); }
      if (k < 71) { if (this.qemu) continue; return this.mmio(ctx); }
      if (k < 80) return this.forward(ctx);
      if (k < 86) { const c = this.call(ctx); if (c) return c; continue; }
      if (k < 94) return this.patch(ctx);
      if (k < 96) return r.chance(0.5) ? this.one(FENCE_I, 'fence.i') : this.one(FENCE, 'fence');
      const [w, t] = this.anyWord(ctx);
      return this.one(w, t);
    }
  }

  /** Emit a sequence of items, resolving forward branches to item boundaries (or its end). */
  private emitSeq(items: Item[]): void {
    const pending = new Map<number, string[]>();
    for (let k = 0; k <= items.length; k++) {
      for (const l of pending.get(k) ?? []) this.define(l);
      if (k === items.length) break;
      const it = items[k];
      this.listing.push(`${hex(this.asm.pc)}  ${it.text}`);
      this.counts.items++;
      if (it.skip !== undefined) {
        const label = this.newLabel('F'), target = Math.min(k + 1 + it.skip, items.length);
        pending.set(target, [...(pending.get(target) ?? []), label]);
        it.emitTo!(label);
      } else it.emit!();
    }
  }
  private seq(n: number, ctx: Ctx): Item[] {
    const items: Item[] = [];
    for (let i = 0; i < n; i++) items.push(this.item(ctx));
    return items;
  }
  private line(text: string): void {
    this.listing.push(`${hex(this.asm.pc)}  ${text}`);
  }

  /** A counted loop: x9 = n; body (maybe starting with a patchable slot); count; x9 -= 1; branch back. */
  private loop(top: Ctx): void {
    const r = this.r, n = r.int(1, 6), head = this.newLabel('L');
    this.counts.loops++;
    this.line(`li x9, ${n}`);
    this.word(E.aluI('addi', CNT_REG, 0, n));
    this.define(head);
    this.line(`${head}:`);
    const ctx: Ctx = { ...top, slots: [] };
    if (r.chance(0.5)) {
      const slot = this.newLabel('S'), [w, t] = this.origWord(ctx);
      this.define(slot);
      this.line(`${slot}: ${t}`);
      this.word(w);
      ctx.slots.push(slot);
    }
    this.emitSeq(this.seq(r.int(4, 14), ctx));
    const t = r.pick(this.writable(ctx));
    this.line(`loop count via x${t}; x9 -= 1; back to ${head}`);
    this.word(E.load('ld', t, BASE_REG, LOOPS_OFF));
    this.word(E.aluI('addi', t, t, 1));
    this.word(E.store('sd', t, BASE_REG, LOOPS_OFF));
    const back = r.int(0, 2);
    if (back === 0) {
      this.word(this.pairWord(E.cAddi(CNT_REG, -1), 0x0001));
      this.asm.branch('bne', CNT_REG, 0, head);
    } else if (back === 1) {
      this.word(E.aluI('addi', CNT_REG, CNT_REG, -1));
      this.asm.branch('blt', 0, CNT_REG, head);
    } else {
      this.word(E.aluI('addi', CNT_REG, CNT_REG, -1));
      const off = Number(this.asm.addr(head) - this.asm.pc);
      if (off >= -256) this.word(this.pairWord(E.cBranch('c.bnez', CNT_REG, off), 0x0001));
      else this.asm.branch('bne', CNT_REG, 0, head);
    }
  }

  /** The whole program. */
  build(): void {
    const r = this.r, asm = this.asm;
    const top: Ctx = { avoid: new Set(), calls: true, slots: [] };
    // functions first (their labels are resolved at finish): link registers and slots
    for (let i = r.int(2, 4); i > 0; i--) {
      const link = r.chance(0.5) ? 1 : r.chance(0.5) ? 5 : r.pick(this.writable(top));
      const label = this.newLabel('fn');
      this.fns.push({ label, link, slot: r.chance(0.5) ? this.newLabel('S') : undefined, ctx: { avoid: new Set([link]), calls: false, slots: [] } });
    }
    this.counts.functions = this.fns.length;

    // prologue
    this.line(`li x8, ${hex(BASE)}; mtvec = handler; x1..x31 = random`);
    asm.li64(BASE_REG, BASE);
    asm.la(5, 'handler');
    this.word(csrOp(1, 0, 5, CSR.mtvec));
    this.timer = r.chance(0.6) && !this.qemu;
    this.timerPeriod = r.int(6, 60);
    if (this.timer) {
      const first = r.int(0, 40);
      this.line(`timer: mtimecmp = ${first}, mie.MTIE, mstatus.MIE (period ${this.timerPeriod} ticks)`);
      this.word(E.lui(5, MTIMECMP >>> 12));
      this.word(E.aluI('addi', 6, 0, first));
      this.word(E.store('sd', 6, 5, 0));
      this.word(E.aluI('addi', 5, 0, MIE_MTIE));
      this.word(csrOp(2, 0, 5, CSR.mie));
      this.word(csrOp(6, 0, MSTATUS_MIE, CSR.mstatus));
    }
    for (let i = 1; i < 32; i++) if (i !== BASE_REG && i !== CNT_REG) asm.li64(i, r.value64());
    this.word(E.aluI('addi', CNT_REG, 0, 0));
    if (r.chance(0.6)) {
      // jump over padding so that the body crosses the page boundary at 0x80001000 early
      const to = LOAD_ADDR + 0x1000n - BigInt(r.int(0, 150) * 4), body = this.newLabel('B');
      this.line(`j ${body} (padding up to ${hex(to)})`);
      asm.jal(0, body);
      while (asm.pc < to) this.word(0);
      this.define(body);
    }

    // the guaranteed events first, then random segments
    this.emitSeq([this.patch(top, true), this.one(ECALL, 'ecall')]);
    this.counts.traps++;
    this.loop(top);
    for (let s = r.int(5, 9); s > 0; s--) {
      if (r.chance(0.45)) this.loop(top);
      else this.emitSeq(this.seq(r.int(6, 24), top));
    }

    // epilogue
    this.line('epilogue: interrupts off, save x1..x31 and the counters, print, finisher');
    this.word(csrOp(7, 0, MSTATUS_MIE, CSR.mstatus));
    for (let i = 1; i < 32; i++) this.word(E.store('sd', i, BASE_REG, SAVE_OFF + 8 * i));
    this.word(this.qemu ? E.aluI('addi', 5, 0, 0) : csrOp(2, 5, 0, CSR.minstret));
    this.word(E.store('sd', 5, BASE_REG, MINSTRET_OFF));
    this.word(this.qemu ? E.aluI('addi', 5, 0, 0) : csrOp(2, 5, 0, CSR.mcycle));
    this.word(E.store('sd', 5, BASE_REG, MCYCLE_OFF));
    if (this.qemu) this.dump();
    this.word(E.lui(5, UART >>> 12));
    // x6 to the UART: a plain store, or on QEMU through q_putc (which keeps x5)
    const out = () => {
      if (!this.qemu) return this.word(E.store('sb', 6, 5, 0));
      this.word(E.aluI('addi', 7, 6, 0));
      asm.jal(3, 'q_putc');
    };
    for (const ch of 'ok ') {
      this.word(E.aluI('addi', 6, 0, ch.charCodeAt(0)));
      out();
    }
    this.word(E.load('ld', 6, BASE_REG, TRAPS_OFF));
    this.word(E.aluI('andi', 6, 6, 15));
    this.word(E.aluI('addi', 6, 6, 'a'.charCodeAt(0)));
    out();
    this.word(E.aluI('addi', 6, 0, 10));
    out();
    if (this.qemu) {
      // QEMU exits at the finisher write: let the transmitter drain first (LSR.TEMT)
      const drain = this.newLabel('Q');
      this.define(drain);
      this.word(E.load('lbu', 10, 5, 5));
      this.word(E.aluI('andi', 10, 10, 0x40));
      asm.branch('beq', 10, 0, drain);
    }
    this.word(E.lui(5, FINISHER >>> 12));
    this.word(E.lui(6, 0x5));
    this.word(E.aluI('addiw', 6, 6, 0x555));
    this.word(E.store('sw', 6, 5, 0));
    this.word(E.jal(0, 0));

    // the trap handler: log { mcause, mepc, mtval, minstret } at (count mod LOG_ENTRIES), mepc += 4
    this.define('handler');
    this.line('handler:');
    const H = [5, 6, 7, 28];
    H.forEach((x, i) => this.word(E.store('sd', x, BASE_REG, HSAVE_OFF + 8 * i)));
    this.word(this.qemu ? E.aluI('addi', 5, 0, 0) : csrOp(2, 5, 0, CSR.minstret));
    this.word(E.load('ld', 6, BASE_REG, TRAPS_OFF));
    this.word(E.aluI('addi', 7, 6, 1));
    this.word(E.store('sd', 7, BASE_REG, TRAPS_OFF));
    this.word(E.aluI('andi', 6, 6, LOG_ENTRIES - 1));
    this.word(E.shiftI('slli', 6, 6, 5));
    this.word(E.aluR('add', 6, 6, BASE_REG));
    this.word(csrOp(2, 7, 0, CSR.mcause));
    this.word(E.store('sd', 7, 6, LOG_OFF));
    this.word(csrOp(2, 28, 0, CSR.mtval));
    this.word(E.store('sd', 28, 6, LOG_OFF + 16));
    this.word(E.store('sd', 5, 6, LOG_OFF + 24));
    this.word(csrOp(2, 5, 0, CSR.mepc));
    this.word(E.store('sd', 5, 6, LOG_OFF + 8));
    asm.branch('blt', 7, 0, 'handler_irq'); // mcause bit 63: an interrupt, mepc is the next pc
    this.word(E.aluI('addi', 5, 5, 4));
    this.word(csrOp(1, 0, 5, CSR.mepc));
    asm.jal(0, 'handler_ret');
    // timer interrupt: count it, mtimecmp = time + period
    this.define('handler_irq');
    this.word(E.load('ld', 6, BASE_REG, IRQS_OFF));
    this.word(E.aluI('addi', 6, 6, 1));
    this.word(E.store('sd', 6, BASE_REG, IRQS_OFF));
    this.word(csrOp(2, 5, 0, CSR.time));
    this.word(E.aluI('addi', 5, 5, this.timerPeriod));
    this.word(E.lui(7, MTIMECMP >>> 12));
    this.word(E.store('sd', 5, 7, 0));
    this.define('handler_ret');
    H.forEach((x, i) => this.word(E.load('ld', x, BASE_REG, HSAVE_OFF + 8 * i)));
    this.word(MRET);

    // leaf functions
    for (const fn of this.fns) {
      this.define(fn.label);
      this.line(`${fn.label}: (returns through x${fn.link})`);
      if (fn.slot) {
        const [w, t] = this.origWord(fn.ctx);
        this.define(fn.slot);
        this.line(`${fn.slot}: ${t}`);
        this.word(w);
      }
      this.emitSeq(this.seq(r.int(2, 10), fn.ctx));
      this.line(`ret through x${fn.link}`);
      if (r.chance(0.3)) this.word(this.pairWord((4 << 13) | (fn.link << 7) | 2, 0x0001)); // c.jr
      else this.word(E.jalr(0, fn.link, 0));
    }
    if (this.qemu) this.printRoutines();
    this.define('code_end');
  }

  /**
   * QEMU mode's dump, after the epilogue saved x1..x31: "xN <16 hex digits>" for each, then
   * "data <hash>" of the two data pages (trap log, counters, scratch) and "code <hash>" of the
   * code up to code_end (after self-modification). h = rotl(h ^ d, 5) * 0x100000001b3 per dword.
   */
  private dump(): void {
    const asm = this.asm;
    const print = (text: string) => {
      for (const ch of text) {
        this.word(E.aluI('addi', 7, 0, ch.charCodeAt(0)));
        asm.jal(3, 'q_putc');
      }
    };
    for (let i = 1; i < 32; i++) {
      print(`x${i} `);
      this.word(E.load('ld', 5, BASE_REG, SAVE_OFF + 8 * i));
      asm.jal(1, 'q_hex');
    }
    for (const [name, lo, hi] of [['data', DATA_PAGE, DATA_PAGE + BigInt(DATA_BYTES)], ['code', LOAD_ADDR, undefined]] as const) {
      asm.li64(11, lo);
      if (hi === undefined) asm.la(12, 'code_end');
      else asm.li64(12, hi);
      asm.li64(13, 0x100000001b3n);
      this.word(E.aluI('addi', 5, 0, 0));
      const loop = this.newLabel('Q');
      this.define(loop);
      this.word(E.load('ld', 7, 11, 0));
      this.word(E.aluR('xor', 5, 5, 7));
      this.word(E.shiftI('slli', 10, 5, 5));
      this.word(E.shiftI('srli', 14, 5, 59));
      this.word(E.aluR('or', 5, 10, 14));
      this.word(E.aluR('mul', 5, 5, 13));
      this.word(E.aluI('addi', 11, 11, 8));
      asm.branch('bltu', 11, 12, loop);
      print(`${name} `);
      asm.jal(1, 'q_hex');
    }
  }

  /** q_hex: print x5 in hex and a newline (x7, x9, x10; returns through x1). q_putc: wait for LSR.THRE, write x7 (x6, x10; x3). */
  private printRoutines(): void {
    const asm = this.asm;
    this.define('q_hex');
    this.word(E.aluI('addi', 9, 0, 60));
    this.define('q_digit');
    this.word(E.aluR('srl', 7, 5, 9));
    this.word(E.aluI('andi', 7, 7, 15));
    this.word(E.aluI('addi', 10, 7, -10));
    this.word(E.branch('blt', 10, 0, 8));
    this.word(E.aluI('addi', 7, 7, 39));
    this.word(E.aluI('addi', 7, 7, 48));
    asm.jal(3, 'q_putc');
    this.word(E.aluI('addi', 9, 9, -4));
    asm.branch('bge', 9, 0, 'q_digit');
    this.word(E.aluI('addi', 7, 0, 10));
    asm.jal(3, 'q_putc');
    this.word(E.jalr(0, 1, 0));
    this.define('q_putc');
    this.word(E.lui(6, UART >>> 12));
    this.define('q_wait');
    this.word(E.load('lbu', 10, 6, 5));
    this.word(E.aluI('andi', 10, 10, 0x20));
    asm.branch('beq', 10, 0, 'q_wait');
    this.word(E.store('sb', 7, 6, 0));
    this.word(E.jalr(0, 3, 0));
  }
}

/**
 * Build the program for `seed`. Same seed, same bytes. With `qemu`, a program QEMU runs the same
 * way (see Gen's constructor; a different program for the same seed).
 */
export function buildJitProgram(seed: number, qemu = false): JitProgram {
  const pass = (prev: Map<string, bigint> | undefined) => {
    const g = new Gen(new Rng(seed), prev, qemu);
    g.build();
    const data = new Uint8Array(DATA_BYTES);
    const dr = new Rng(seed ^ 0x5eed);
    for (let i = SCRATCH; i < DATA_BYTES; i += 4) new DataView(data.buffer).setUint32(i, dr.u32(), true);
    g.asm.place(DATA_PAGE, data);
    const image = g.asm.finish(Number(DATA_PAGE - LOAD_ADDR) + DATA_BYTES);
    const labels = new Map(g.labels.map((l) => [l, g.asm.addr(l)] as [string, bigint]));
    return { g, image, labels };
  };
  const first = pass(undefined);
  const second = pass(first.labels);
  for (const f of second.g.forwardC) {
    if (second.labels.get(f.label) !== f.assumed) throw new Error(`jit fuzz seed ${seed}: label ${f.label} moved between passes`);
  }
  const codeEnd = second.g.asm.codeEnd;
  return {
    seed,
    image: second.image,
    listing: second.g.listing,
    codePagesEnd: (codeEnd + 4095n) & ~4095n,
    counts: second.g.counts,
    timer: second.g.timer,
    timerPeriod: second.g.timerPeriod,
  };
}

// ---- running and comparing the tiers ----

/** Everything architectural the tiers must agree on at a stop. */
export interface TierState {
  reason: RunResult['reason'];
  exitCode: number;
  /** x0..x31. */
  x: bigint[];
  pc: bigint;
  instret: bigint;
  priv: number;
  csrs: Record<'mcause' | 'mepc' | 'mtval' | 'mscratch' | 'mstatus' | 'mtvec' | 'mip' | 'mie', bigint>;
  /** LR reservation address (what a following SC sees). */
  lrAddr: bigint;
  /** DATA_PAGE .. + DATA_BYTES. */
  data: Uint8Array;
  /** LOAD_ADDR .. codePagesEnd (after self-modification). */
  code: Uint8Array;
  /** UART output so far, latin1. */
  console: string;
}

/** One machine running a program on one tier. */
export class Tier {
  private constructor(readonly machine: Machine, readonly prog: JitProgram, private readonly out: number[]) {}

  /** A fresh machine with the program loaded. `extra` sets the JIT options (jit, jitThreshold...). */
  static async boot(prog: JitProgram, extra: Partial<MachineConfig>): Promise<Tier> {
    const out: number[] = [];
    const machine = await Machine.create({
      memSize: 16 << 20,
      kernel: parseImage(prog.image, `jitfuzz-${prog.seed}.bin`, LOAD_ADDR),
      deterministic: true,
      onConsoleOutput: (b) => out.push(...b),
      ...extra,
    });
    return new Tier(machine, prog, out);
  }

  /** Run until exit or `maxInstructions` more (stopping at the first block boundary at or after it). */
  async run(maxInstructions?: bigint): Promise<TierState> {
    const r = await this.machine.run({ maxInstructions, timeoutMs: 20_000 });
    return this.state(r);
  }

  /** The state now, after a run that ended with `r`. */
  state(r: RunResult): TierState {
    const h = this.machine.hart, mem = this.machine.memory;
    return {
      reason: r.reason,
      exitCode: r.exitCode,
      x: Array.from({ length: 32 }, (_, i) => h.x(i)),
      pc: h.pc,
      instret: h.instret,
      priv: h.priv,
      csrs: { mcause: h.mcause, mepc: h.mepc, mtval: h.mtval, mscratch: h.mscratch, mstatus: h.mstatus, mtvec: h.mtvec, mip: h.mip, mie: h.mie },
      lrAddr: h.lrAddr,
      data: mem.read(DATA_PAGE, DATA_BYTES),
      code: mem.read(LOAD_ADDR, Number(this.prog.codePagesEnd - LOAD_ADDR)),
      console: String.fromCharCode(...this.out),
    };
  }

  /** What tier 2 did on this machine. */
  jitStats(): JitStats {
    return this.machine.hart.jitStats();
  }
}

/** First difference between two states as one line (a = interpreter, b = the other tier), or undefined. */
export function firstDifference(a: TierState, b: TierState): string | undefined {
  const d = (what: string, x: unknown, y: unknown) => `${what}: off ${x}, jit ${y}`;
  if (a.reason !== b.reason || a.exitCode !== b.exitCode) return d('stop', `${a.reason}/${a.exitCode}`, `${b.reason}/${b.exitCode}`);
  if (a.pc !== b.pc) return d('pc', hex(a.pc), hex(b.pc));
  if (a.instret !== b.instret) return d('instret', a.instret, b.instret);
  for (let i = 1; i < 32; i++) if (a.x[i] !== b.x[i]) return d(`x${i}`, hex(a.x[i]), hex(b.x[i]));
  if (a.priv !== b.priv) return d('priv', a.priv, b.priv);
  for (const k of Object.keys(a.csrs) as (keyof TierState['csrs'])[]) {
    if (a.csrs[k] !== b.csrs[k]) return d(k, hex(a.csrs[k]), hex(b.csrs[k]));
  }
  if (a.lrAddr !== b.lrAddr) return d('lrAddr', hex(a.lrAddr), hex(b.lrAddr));
  const bytes = (what: string, base: bigint, x: Uint8Array, y: Uint8Array) => {
    if (x.length !== y.length) return d(`${what} length`, x.length, y.length);
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) {
        const at = i & ~7;
        const dw = (v: Uint8Array) => hex(new DataView(v.buffer, v.byteOffset).getBigUint64(at, true));
        return d(`${what} byte ${hex(base + BigInt(i))} (dword ${hex(base + BigInt(at))})`, dw(x), dw(y));
      }
    }
    return undefined;
  };
  const dd = bytes('data', DATA_PAGE, a.data, b.data) ?? bytes('code', LOAD_ADDR, a.code, b.code);
  if (dd) return dd;
  if (a.console !== b.console) return d('console', JSON.stringify(a.console), JSON.stringify(b.console));
  return undefined;
}

/** A dword of the data page, by offset from BASE. */
export function dataDword(s: TierState, offFromBase: number): bigint {
  const at = Number(BASE - DATA_PAGE) + offFromBase;
  return new DataView(s.data.buffer, s.data.byteOffset).getBigUint64(at, true);
}

/** The trap log entries written so far (the last LOG_ENTRIES when it wrapped), oldest first. */
export function trapLog(s: TierState): { mcause: bigint; mepc: bigint; mtval: bigint; minstret: bigint }[] {
  const n = Number(dataDword(s, TRAPS_OFF));
  const out = [];
  for (let k = Math.max(0, n - LOG_ENTRIES); k < n; k++) {
    const e = LOG_OFF + 32 * (k % LOG_ENTRIES);
    out.push({ mcause: dataDword(s, e), mepc: dataDword(s, e + 8), mtval: dataDword(s, e + 16), minstret: dataDword(s, e + 24) });
  }
  return out;
}

/** How many mark dwords a patched-in `sd x8, mark(x8)` wrote. */
export function marksWritten(s: TierState): number {
  let n = 0;
  for (let i = 0; i < MARKS; i++) if (dataDword(s, MARK_OFF + 8 * i) === BASE) n++;
  return n;
}
