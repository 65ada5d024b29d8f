/**
 * The single-instruction harness of the ISA unit tests: one core over its own memory, reset to
 * a known state before each test, one instruction at CODE, one `run(1n)` in single-step mode,
 * and a diff of the whole STATE region by slot name, so a test asserts exactly what changed
 * ("x5, pc, instret") and that nothing else did.
 *
 * Traps: run(1n) does not stop when the instruction traps (a trap retires nothing, so the
 * budget is not spent) and goes on to the handler. Both trap vectors hold TRAP_SENTINEL, a load
 * from physical address 0, which is not RAM: the core exits to the host for MMIO there without
 * retiring it. So a trapping step ends at the vector with exit EXIT_MMIO, and the MMIO exit
 * slots (mmio_*) written by that sentinel are left out of its diff. vstvec = VSTVEC holds the
 * sentinel too (H extension): with vsatp and hgatp Bare it is the same load from address 0.
 */
import { describe, expect, it } from 'vitest';
import * as A from '../../assembly/abi';
import { createMemory, instantiateCore, type CoreExports } from '../../host/machine/core';
import { HartState } from '../../host/machine/hart';
import { Disassembler } from '../../host/isa/disasm';

/** Where the instruction under test is placed (the reset pc). */
export const CODE = 0x80000000n;
/** The M-mode trap vector (mtvec, direct mode). */
export const MTVEC = 0x80000100n;
/** The S-mode trap vector (stvec, direct mode). */
export const STVEC = 0x80000200n;
/** The VS-mode trap vector (vstvec, direct mode; H extension), on the code page like the others. */
export const VSTVEC = 0x80000300n;
/** A data page, apart from the code page. */
export const DATA = 0x80010000n;
/** `ld x0, 0(x0)`: the instruction at both trap vectors (see the file comment). */
export const TRAP_SENTINEL = 0x00003003;
/** The value every x1..x31 holds at the start of a test, so that any write is visible. */
export const poison = (i: number): bigint => 0xbad0000000000000n | BigInt(i);
/** What mepc/mcause/mtval/sepc/scause/stval hold at the start of a test. */
export const CSR_POISON = 0x5a5a5a5a5a5a5a5an;

export const M = 3;
export const S = 1;
export const U = 0;

// ---- naming the u64 slots of STATE ----

/** Arrays of slots in abi.ts: base offset name, count, and the name of slot i. */
const ARRAYS: Record<string, [number, (i: number) => string]> = {
  S_X: [33, (i) => `x${i}`], // x32 is the sink that writes to x0 go to
  S_F: [32, (i) => `f${i}`],
  S_PMPCFG: [8, (i) => `pmpcfg${2 * i}`], // RV64: only the even pmpcfg registers exist
  S_PMPADDR: [64, (i) => `pmpaddr${i}`],
  S_SCRATCH_REC: [2, (i) => `scratch_rec+${8 * i}`],
};

/** Slot index (offset / 8) -> name, from the S_* constants of assembly/abi.ts. */
const SLOT_NAMES: string[] = (() => {
  const names: string[] = [];
  for (let i = 0; i < A.STATE_SIZE / 8; i++) names.push(`state+0x${(i * 8).toString(16)}`);
  for (const [key, value] of Object.entries(A)) {
    if (!key.startsWith('S_') || typeof value !== 'number') continue;
    const arr = ARRAYS[key];
    if (arr) for (let i = 0; i < arr[0]; i++) names[value / 8 + i] = arr[1](i);
    else names[value / 8] = key.slice(2).toLowerCase();
  }
  return names;
})();
const SLOT_OF = new Map(SLOT_NAMES.map((n, i) => [n, i]));

/**
 * Slots a diff leaves out unless asked: the statistics counters (they count blocks, TLB
 * accesses and traps, and change with every step) and x32, the sink that the core writes
 * instead of x0 (architecturally invisible; a write to x0 itself would show as `x0`).
 */
export const IGNORED: readonly string[] = [
  ...SLOT_NAMES.filter((n) => n.startsWith('stat_')),
  'x32',
];
/** The MMIO exit slots the trap sentinel writes. */
const MMIO_SLOTS = SLOT_NAMES.filter((n) => n.startsWith('mmio_'));

/** The value of slot `name` in a snapshot. */
export function slotValue(snap: Uint8Array, name: string): bigint {
  const i = SLOT_OF.get(name);
  if (i === undefined) throw new Error(`harness: no STATE slot named ${name}`);
  return new DataView(snap.buffer, snap.byteOffset).getBigUint64(i * 8, true);
}

/** Names of the u64 slots that differ between two STATE snapshots, in offset order. */
export function diff(before: Uint8Array, after: Uint8Array, ignore: readonly string[] = IGNORED): string[] {
  const b = new BigUint64Array(before.buffer, before.byteOffset, A.STATE_SIZE / 8);
  const a = new BigUint64Array(after.buffer, after.byteOffset, A.STATE_SIZE / 8);
  const out: string[] = [];
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i] && !ignore.includes(SLOT_NAMES[i])) out.push(SLOT_NAMES[i]);
  return out;
}

/** What one step did. */
export interface Step {
  /** run()'s exit reason (EXIT_MMIO when the instruction trapped: see the file comment). */
  exit: number;
  /** The instruction trapped and the hart is at a trap vector. */
  trapped: boolean;
  before: Uint8Array;
  after: Uint8Array;
  /** Changed slots (IGNORED and, after a trap, the sentinel's mmio_* slots left out). */
  changed: string[];
}

/** One core, reset before each test. */
export class Harness {
  readonly memory: WebAssembly.Memory;
  readonly core: CoreExports;
  readonly hart: HartState;
  readonly dis: Disassembler;
  private readonly ram: Uint8Array;
  private readonly view: DataView;

  constructor(readonly ramSize = 1 << 20) {
    this.memory = createMemory(ramSize);
    this.core = instantiateCore(this.memory);
    this.hart = new HartState(this.memory);
    this.dis = new Disassembler(this.core, this.memory);
    this.ram = new Uint8Array(this.memory.buffer, A.RAM_OFFSET, ramSize);
    this.view = new DataView(this.memory.buffer, A.RAM_OFFSET, ramSize);
  }

  /**
   * The known start state: M-mode at CODE, RAM zeroed, x1..x31 = poison(i), trap CSRs =
   * CSR_POISON, mtvec = MTVEC and stvec = STVEC holding TRAP_SENTINEL, single-step on.
   */
  reset(): this {
    this.core.init(BigInt(this.ramSize));
    this.core.setSingleStep(true);
    this.ram.fill(0);
    this.core.reset(CODE, 0n, 0n, 0n);
    const h = this.hart;
    for (let i = 1; i < 32; i++) h.setX(i, poison(i));
    h.mepc = h.mcause = h.mtval = h.sepc = h.scause = h.stval = CSR_POISON;
    h.mtvec = MTVEC;
    h.stvec = STVEC;
    h.vstvec = VSTVEC;
    this.put(TRAP_SENTINEL, MTVEC);
    this.put(TRAP_SENTINEL, STVEC);
    this.put(TRAP_SENTINEL, VSTVEC);
    return this;
  }

  private off(paddr: bigint, size: number): number {
    const off = Number(paddr - BigInt(A.RAM_BASE));
    if (off < 0 || off + size > this.ramSize) throw new Error(`harness: 0x${paddr.toString(16)} is outside RAM`);
    return off;
  }

  /** Write one instruction (16-bit when its low two bits are not 11) at `at`. */
  put(word: number, at: bigint = CODE): void {
    if ((word & 3) === 3) this.write32(at, word);
    else this.write16(at, word);
  }

  write8(pa: bigint, v: number | bigint): void { this.view.setUint8(this.off(pa, 1), Number(BigInt.asUintN(8, BigInt(v)))); this.inval(pa, 1); }
  write16(pa: bigint, v: number | bigint): void { this.view.setUint16(this.off(pa, 2), Number(BigInt.asUintN(16, BigInt(v))), true); this.inval(pa, 2); }
  write32(pa: bigint, v: number | bigint): void { this.view.setUint32(this.off(pa, 4), Number(BigInt.asUintN(32, BigInt(v))), true); this.inval(pa, 4); }
  write64(pa: bigint, v: bigint): void { this.view.setBigUint64(this.off(pa, 8), BigInt.asUintN(64, v), true); this.inval(pa, 8); }
  read8(pa: bigint): number { return this.view.getUint8(this.off(pa, 1)); }
  read16(pa: bigint): number { return this.view.getUint16(this.off(pa, 2), true); }
  read32(pa: bigint): number { return this.view.getUint32(this.off(pa, 4), true); }
  read64(pa: bigint): bigint { return this.view.getBigUint64(this.off(pa, 8), true); }
  /** A copy of `len` bytes of RAM at `pa`. */
  bytes(pa: bigint, len: number): Uint8Array { return this.ram.slice(this.off(pa, len), this.off(pa, len) + len); }

  private inval(pa: bigint, len: number): void {
    this.core.invalidateRam(pa, BigInt(len));
  }

  /** A copy of the whole STATE region. */
  snapshot(): Uint8Array {
    return new Uint8Array(this.memory.buffer, A.STATE, A.STATE_SIZE).slice();
  }

  /** Run exactly one instruction (and, if it traps, stop at the trap vector). */
  step(): Step {
    const before = this.snapshot();
    const exit = this.core.run(1n);
    const after = this.snapshot();
    const pc = this.hart.pc;
    const trapped = exit === A.EXIT_MMIO && (pc === MTVEC || pc === STVEC || pc === VSTVEC) && this.hart.mmioAddr === 0n;
    const changed = diff(before, after, trapped ? [...IGNORED, ...MMIO_SLOTS] : IGNORED);
    return { exit, trapped, before, after, changed };
  }

  /** Reset, place `word` at CODE, let `setup` prepare registers and memory, and step. */
  exec(word: number, setup: (h: this) => void = () => {}): Step {
    this.reset();
    this.put(word);
    setup(this);
    return this.step();
  }
}

/**
 * Assert that exactly the slots in `expected` changed, to exactly those values (numbers for
 * small values, bigint otherwise).
 */
export function expectChanges(step: Step, expected: Record<string, bigint | number>): void {
  const names = Object.keys(expected).sort((a, b) => (SLOT_OF.get(a) ?? -1) - (SLOT_OF.get(b) ?? -1));
  for (const n of names) if (!SLOT_OF.has(n)) throw new Error(`expectChanges: no STATE slot named ${n}`);
  // Compared as hex text: a failure then reads like a register dump.
  const hex = (v: bigint) => '0x' + v.toString(16);
  const got: Record<string, string> = {};
  for (const n of step.changed) got[n] = hex(slotValue(step.after, n));
  const want: Record<string, string> = {};
  for (const n of names) want[n] = hex(BigInt.asUintN(64, BigInt(expected[n])));
  expect(got).toEqual(want);
}

/** Assert a plain retired instruction: rd (when given) = value, pc advanced by len, instret + 1, nothing else. */
export function expectRetired(step: Step, len: 2 | 4, writes: Record<string, bigint | number> = {}): void {
  expect(step.trapped).toBe(false);
  const pc0 = slotValue(step.before, 'pc');
  expectChanges(step, { ...writes, pc: pc0 + BigInt(len), instret: slotValue(step.before, 'instret') + 1n });
}

/**
 * Assert that the step trapped into M-mode (to: 'M') or S-mode (to: 'S') with `cause` and
 * `tval`, from the pc and privilege it started with, and that only the trap state changed:
 * the cause/epc/tval CSRs, the mstatus stack (privileged spec §3.1.6.1: MPP <- priv,
 * MPIE <- MIE, MIE <- 0; §4.1.1: SPP, SPIE <- SIE, SIE <- 0), pc = the vector, priv.
 * instret does not advance. Slots whose new value equals the old one do not show in a diff
 * and are left out of the expectation.
 */
export function expectTrap(s: Step, cause: bigint, tval: bigint, to: 'M' | 'S' = 'M'): void {
  expect(s.trapped).toBe(true);
  const before = (n: string) => slotValue(s.before, n);
  const priv = before('priv');
  const st = before('mstatus');
  const want: Record<string, bigint> = {};
  if (to === 'M') {
    Object.assign(want, { mcause: cause, mepc: before('pc'), mtval: tval, pc: MTVEC, priv: 3n });
    want.mstatus = (st & ~0x1888n) | (priv << 11n) | ((st & 8n) << 4n);
  } else {
    Object.assign(want, { scause: cause, sepc: before('pc'), stval: tval, pc: STVEC, priv: 1n });
    want.mstatus = (st & ~0x122n) | (priv === 1n ? 0x100n : 0n) | ((st & 2n) << 4n);
  }
  for (const n of Object.keys(want)) if (want[n] === before(n)) delete want[n];
  expectChanges(s, want);
}

/** The word must raise illegal instruction with mtval = its bits (16 for a compressed one). */
export function expectIllegal(h: Harness, word: number, setup: (h: Harness) => void = () => {}, len: 2 | 4 = 4): void {
  expectTrap(h.exec(word, setup), 2n, BigInt(len === 2 ? word & 0xffff : word >>> 0));
}

/** The value `v` as a 64-bit two's complement pattern. */
export const u64 = (v: bigint | number): bigint => BigInt.asUintN(64, BigInt(v));
/** The 32-bit value `v` sign-extended to 64 bits (the result of every RV64 W op). */
export const sext32 = (v: bigint | number): bigint => BigInt.asUintN(64, BigInt.asIntN(32, BigInt(v)));

/** A list of test cases, one or more per ISA table row, collected so coverage.test.ts can check them. */
export class Cases {
  readonly list: { insn: string; title: string; fn: (h: Harness) => void }[] = [];

  /** A test of instruction `insn` (an ISA table name). */
  add(insn: string, title: string, fn: (h: Harness) => void): void {
    this.list.push({ insn, title, fn });
  }
  /** The table names this list has at least one test for. */
  covered(): Set<string> {
    return new Set(this.list.map((c) => c.insn));
  }
}

/** Register a case list with vitest: one describe per instruction, one shared harness. */
export function runCases(cases: Cases): void {
  const h = new Harness();
  const byInsn = new Map<string, Cases['list']>();
  for (const c of cases.list) byInsn.set(c.insn, [...(byInsn.get(c.insn) ?? []), c]);
  for (const [insn, list] of byInsn) {
    describe(insn, () => {
      for (const c of list) it(c.title, () => c.fn(h));
    });
  }
}
