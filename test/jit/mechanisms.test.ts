/**
 * The JIT's mechanisms of issue 16, each on a directed program that runs with the interpreter
 * (--jit off) and with every block compiled on its first run (--jit always), deterministically:
 * both must leave exactly the same registers, pc, instret and trap CSRs, and the values the
 * program computes are checked against what RISC-V says they are.
 *
 *   - guest registers live in Wasm locals across a region's blocks: a fault in a later block of
 *     the region, a timer interrupt while the region loops, an instruction-budget stop;
 *   - the rotate idiom (slliw/srliw/or and slli/srli/or become one rotl), and the look-alikes
 *     that must not (the source rewritten between the shifts and the or, amounts that do not
 *     add up to the width, a shift that overwrites its own source);
 *   - a store that rewrites code of its own region;
 *   - a loop of two blocks (the second only jumps back), compiled as one Wasm loop with both
 *     blocks' registers in locals and a temporary stored at the back edge: faults in either
 *     block, and budget stops anywhere, see the interpreter's state.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { Asm, BASE } from './asm';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import type { HartState } from '../../host/machine/hart';

/** CLINT mtimecmp of hart 0 and mtime (virt board). */
const MTIMECMP = 0x2004000;
const MTIME = 0x200bff8;

function state(h: HartState): Record<string, string> {
  const s: Record<string, string> = {};
  for (let i = 1; i < 32; i++) s[`x${i}`] = h.x(i).toString(16);
  for (const k of ['pc', 'instret', 'mstatus', 'mcause', 'mepc', 'mtval'] as const) s[k] = h[k].toString(16);
  return s;
}

/** Bytes of RAM compared between the tiers: the image's pages and the page after them. */
function ramSpan(image: Uint8Array): number { return ((image.length + 0xfff) & ~0xfff) + 0x1000; }

/**
 * Run the program on both tiers; returns the interpreter's machine after checking the JIT's
 * equals it: the stop (reason, exit code, instructions), every register, pc, instret, the trap
 * CSRs, and the RAM the program can touch (its image's pages and the next).
 */
async function both(a: Asm, maxInstructions = 100_000n) {
  const image = a.bytes();
  const runs: { m: Machine; r: [string, number, string]; s: Record<string, string>; ram: Uint8Array }[] = [];
  for (const jit of ['off', 'always'] as const) {
    const m = await Machine.create({ memSize: 4 << 20, kernel: parseImage(image, 'mech.bin', BASE), deterministic: true, jit });
    const r = await m.run({ maxInstructions, timeoutMs: 30_000 });
    runs.push({ m, r: [r.reason, r.exitCode, r.instructions.toString()], s: state(m.hart), ram: m.memory.read(BASE, ramSpan(image)) });
  }
  expect(runs[1].r).toEqual(runs[0].r);
  expect(runs[1].s).toEqual(runs[0].s);
  const diff = runs[0].ram.findIndex((b, i) => b !== runs[1].ram[i]);
  expect(diff === -1 ? 'same RAM' : `RAM differs at 0x${(BASE + BigInt(diff)).toString(16)}`).toBe('same RAM');
  const js = runs[1].m.stats().jit;
  expect(js.failures).toBe(0n);
  expect(js.instructions).toBeGreaterThan(0n);
  return { m: runs[0].m, r: runs[0].r, jit: js };
}

/** The 32-bit word of guest RAM at addr (little-endian). */
function word32(m: Machine, addr: bigint): bigint {
  return BigInt(new DataView(m.memory.read(addr, 4).buffer).getUint32(0, true));
}

/**
 * both() at every instruction budget from 1 to the end of the run. The budget is checked
 * between blocks: a run stops at the first block boundary at or after k, or at its own end if
 * k falls in its last block, and both tiers at the same place.
 */
async function budgetStops(a: Asm): Promise<void> {
  const full = await both(a, 100_000n);
  expect(full.r.slice(0, 2)).toEqual(['exit', 0]);
  const end = BigInt(full.r[2]);
  for (let k = 1n; k <= end; k++) {
    const { r } = await both(a, k);
    const n = BigInt(r[2]);
    expect(r[0] === 'exit' ? n === end : r[0] === 'max-instructions' && n >= k && n < end, `budget ${k}: ${r}`).toBe(true);
  }
}

const mask64 = (1n << 64n) - 1n;
const sext32 = (v: bigint) => BigInt.asIntN(32, v) & mask64;
const rotl32 = (v: bigint, k: bigint) => { const x = v & 0xffffffffn; return ((x << k) | (x >> (32n - k))) & 0xffffffffn; };
const rotl64 = (v: bigint, k: bigint) => ((v << k) | (v >> (64n - k))) & mask64;

describe('JIT: the rotate idiom', () => {
  it('slliw/srliw/or and slli/srli/or give the rotates; the look-alikes keep their own values', async () => {
    const a = new Asm()
      .li(5, 0x87654321 | 0) // x5 = 0xffffffff87654321
      .li(20, 3)
      .label('loop')
      .w(E.shiftI('srliw', 6, 5, 7), E.shiftI('slliw', 7, 5, 25), E.aluR('or', 8, 6, 7)) // rotr32(x5, 7)
      .w(E.shiftI('slli', 9, 5, 13), E.shiftI('srli', 10, 5, 51), E.aluR('or', 11, 10, 9)) // rotl64(x5, 13)
      .w(E.shiftI('srliw', 12, 5, 3), E.shiftI('slliw', 13, 5, 29), E.aluI('addi', 5, 5, 1), E.aluR('or', 14, 12, 13)) // source changed
      .w(E.shiftI('slliw', 15, 5, 8), E.shiftI('srliw', 15, 15, 24), E.shiftI('srliw', 16, 5, 24), E.aluR('or', 17, 15, 16)) // self-overwrite
      .w(E.shiftI('slliw', 18, 5, 4), E.shiftI('srliw', 19, 5, 4), E.aluR('or', 21, 18, 19)) // 4 + 4 != 32
      .w(E.shiftI('slliw', 22, 5, 9), E.shiftI('srliw', 23, 6, 23), E.aluR('or', 24, 22, 23)) // two sources
      .w(E.aluI('addi', 20, 20, -1))
      .br('bne', 20, 0, 'loop')
      .pass();
    // The modules compiled (synchronously: deterministic) hold the rotates, and not the look-alikes.
    const modules: Uint8Array[] = [];
    const Orig = WebAssembly.Module;
    (WebAssembly as { Module: unknown }).Module = class extends Orig {
      constructor(bytes: BufferSource) {
        modules.push(new Uint8Array(bytes instanceof ArrayBuffer ? bytes : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
        super(bytes);
      }
    };
    let res;
    try {
      res = await both(a);
    } finally {
      (WebAssembly as { Module: unknown }).Module = Orig;
    }
    const { m, r } = res;
    expect(r[0]).toBe('exit');
    const has = (seq: number[]) => modules.some((mod) => mod.some((_, i) => seq.every((v, j) => mod[i + j] === v)));
    // i32.wrap_i64, i32.const k, i32.rotl, i64.extend_i32_s; i64.const k, i64.rotl
    const rotlBytes = (k: number) => [0xa7, 0x41, k, 0x77, 0xac];
    expect(has(rotlBytes(25))).toBe(true); // srliw 7 | slliw 25
    expect(has([0x42, 13, 0x89])).toBe(true); // slli 13 | srli 51
    expect(has(rotlBytes(29))).toBe(false); // x5 changed between the shifts and the or
    expect(has(rotlBytes(9))).toBe(false); // shifts of two registers
    expect(has(rotlBytes(4)) || has(rotlBytes(28))).toBe(false); // 4 + 4 != 32
    // The last iteration starts with x5 = 0xffffffff87654321 + 2.
    const x5 = 0xffffffff87654323n;
    const h = m.hart;
    expect(h.x(5)).toBe(x5 + 1n);
    expect(h.x(8)).toBe(sext32(rotl32(x5, 25n)));
    expect(h.x(11)).toBe(rotl64(x5, 13n));
    expect(h.x(14)).toBe(sext32(((x5 & 0xffffffffn) >> 3n) | ((x5 << 29n) & 0xffffffffn)));
    const y = x5 + 1n;
    expect(h.x(17)).toBe(sext32((((y << 8n) & 0xffffffffn) >> 24n) | ((y & 0xffffffffn) >> 24n)));
    expect(h.x(21)).toBe(sext32(((y << 4n) & 0xffffffffn) | ((y & 0xffffffffn) >> 4n)));
    const x6 = sext32((x5 & 0xffffffffn) >> 7n);
    expect(h.x(24)).toBe(sext32(((y << 9n) & 0xffffffffn) | ((x6 & 0xffffffffn) >> 23n)));
  });
});

describe('JIT: registers in locals across the blocks of a region', () => {
  /**
   * Three blocks in one page: a loop head, its latch, and a block that faults (lb from
   * 0xffffffffffffffff: an access fault, privileged spec 3.6) after writing a register. Every
   * register the region wrote is in a local when the fault comes; the trap must see them all.
   * The handler reads mcause (x27) and minstret (x26) and ends the run through the test
   * finisher, so the instruction counts of the run are compared, not a spin loop's.
   */
  function faultProgram(): Asm {
    return new Asm()
      .la(6, 'handler').w(E.csr(1, 0, 6, 0x305)) // mtvec
      .li(20, 4).li(21, 0)
      .label('loop')
      .w(E.aluI('addi', 21, 21, 3), E.aluI('addi', 22, 21, 100))
      .br('beq', 20, 0, 'fault')
      .w(E.aluI('addi', 20, 20, -1), E.shiftI('slli', 23, 21, 2))
      .j('loop')
      .label('fault')
      .w(E.aluI('addi', 24, 22, 7))
      .label('lb')
      .w(E.load('lb', 25, 0, -1), E.aluI('addi', 28, 0, 1))
      .label('handler')
      .w(E.csr(2, 27, 0, 0x342)) // csrr x27, mcause
      .w(E.csr(2, 26, 0, 0xb02)) // csrr x26, minstret
      .pass();
  }

  it('a fault in a later block leaves the interpreter\'s exact state (mepc, mtval, every register, instret)', async () => {
    const a = faultProgram();
    const { m, r, jit } = await both(a, 500n);
    const h = m.hart;
    expect([h.mcause, h.mepc, h.mtval]).toEqual([5n, a.at('lb'), mask64]);
    expect([h.x(20), h.x(21), h.x(22), h.x(23), h.x(24), h.x(25), h.x(28), h.x(27)]).toEqual([0n, 15n, 115n, 48n, 122n, 0n, 0n, 5n]);
    // 7 before the loop, 4 whole iterations of 6, the head of the 5th (3), the addi before the
    // lb (which does not retire), the handler's csrr of mcause; then its csrr of minstret and the
    // finisher's li, li (the sw ends the run before it retires)
    expect((a.at('loop') - BASE) / 4n).toBe(7n);
    expect(h.x(26)).toBe(7n + 4n * 6n + 3n + 1n + 1n);
    expect(r).toEqual(['exit', 0, (h.x(26) + 1n + 4n).toString()]);
    expect(jit.calls).toBeGreaterThan(0n);
  });

  it('budget stops at every instruction of the run leave the same state in both tiers', async () => {
    const a = faultProgram();
    await budgetStops(a);
  });

  it('a timer interrupt while the region loops is taken at the interpreter\'s instruction', async () => {
    // mtimecmp = mtime + 50; MTIE, MIE; the handler counts (x28), re-arms 37 ticks ahead, mrets.
    const a = new Asm()
      .la(6, 'handler').w(E.csr(1, 0, 6, 0x305))
      .li(7, MTIME).w(E.load('ld', 8, 7, 0), E.aluI('addi', 8, 8, 50))
      .li(9, MTIMECMP).w(E.store('sd', 8, 9, 0))
      .li(10, 0x80).w(E.csr(2, 0, 10, 0x304)) // csrs mie, MTIE
      .w(E.csr(6, 0, 8, 0x300)) // csrsi mstatus, MIE
      .li(20, 3000).li(21, 0)
      .label('loop')
      .w(E.aluI('addi', 21, 21, 1), E.aluR('xor', 22, 22, 21))
      .br('bltu', 22, 21, 'skip')
      .w(E.aluR('add', 23, 23, 22))
      .label('skip')
      .w(E.aluI('addi', 20, 20, -1))
      .br('bne', 20, 0, 'loop')
      .label('done')
      .pass()
      .label('handler')
      .w(E.aluI('addi', 28, 28, 1), E.csr(2, 29, 0, 0x341)) // x29 = mepc
      .w(E.load('ld', 8, 7, 0), E.aluI('addi', 8, 8, 37), E.store('sd', 8, 9, 0))
      .w(E.iType(0x73, 0, 0, 0, 0x302)); // mret
    const { m, r } = await both(a, 1_000_000n);
    expect(r.slice(0, 2)).toEqual(['exit', 0]);
    // What the loop computes, interrupts or not (the handler touches none of x20..x23).
    let x22 = 0n, x23 = 0n;
    for (let x21 = 1n; x21 <= 3000n; x21++) { x22 ^= x21; if (x22 >= x21) x23 += x22; }
    const h = m.hart;
    expect([h.x(20), h.x(21), h.x(22), h.x(23)]).toEqual([0n, 3000n, x22, x23]);
    // The interrupts came while the loop ran (the compared minstret and x28 say at which
    // instructions and how many), and the last trap was one of them (privileged spec 3.1.15).
    expect(h.x(28)).toBeGreaterThan(5n);
    expect([h.mcause, h.mepc]).toEqual([(1n << 63n) | 7n, h.x(29)]);
    expect(h.x(29) >= a.at('loop') && h.x(29) < a.at('done')).toBe(true);
    expect(r[2]).toBe(h.instret.toString());
  });
});

describe('JIT: a store to code of its own region', () => {
  /**
   * P: addi x7, x7, 1 becomes addi x7, x7, 100 after the first pass; Q (a later block of the
   * same region) likewise from addi x14, x14, 1 to addi x14, x14, 1000.
   */
  const program = () => new Asm()
    .la(6, 'P').la(12, 'Q')
    .li(8, E.aluI('addi', 7, 7, 100)).li(13, E.aluI('addi', 14, 14, 1000))
    .li(20, 3)
    .label('loop')
    .label('P')
    .w(E.aluI('addi', 7, 7, 1), E.store('sw', 8, 6, 0), E.aluI('addi', 20, 20, -1))
    .br('beq', 20, 0, 'done')
    .label('Q')
    .w(E.aluI('addi', 14, 14, 1), E.store('sw', 13, 12, 0))
    .j('loop')
    .label('done')
    .pass();

  it('rewriting an instruction of the running block and of a later block runs the new code', async () => {
    const a = program();
    const { m, r } = await both(a);
    // 10 before the loop; two whole passes of P (4) and Q (3); P's third, whose beq is taken;
    // the finisher's li, li (the sw ends the run before it retires)
    expect((a.at('loop') - BASE) / 4n).toBe(10n);
    expect(r).toEqual(['exit', 0, String(10 + 2 * 7 + 4 + 4)]);
    expect(m.hart.x(7)).toBe(201n);
    expect(m.hart.x(14)).toBe(1001n);
    expect([word32(m, a.at('P')), word32(m, a.at('Q'))]).toEqual([BigInt(E.aluI('addi', 7, 7, 100) >>> 0), BigInt(E.aluI('addi', 14, 14, 1000) >>> 0)]);
  });

  it('budget stops at every instruction of the run leave the same state (and code) in both tiers', async () => {
    await budgetStops(program());
  });
});

describe('JIT: a loop of two blocks', () => {
  const K = 6;
  const BAD = -256n & mask64;
  /** Instructions of head's block up to its branch, and of latch's block. */
  const HEAD = 4n, LATCH = 5n;
  /**
   * head: lw x5 (the node's value); x6 += 1; x7 = x5 << 1 (written before it is read: a
   * temporary of the loop); bltu x5, x11 to latch, in the middle of head's block.
   * latch: x13 += x7; x16 = node.target; sw x13 to it; x10 = node.next; j head. Only latch goes
   * back to head, so it is emitted inside head's loop. K nodes with values 1..K; the last one's
   * next (faultIn 'head': the lw faults, load access fault, cause 5) or store target (faultIn
   * 'latch': the sw faults, store access fault, cause 7) is -256 (privileged spec 3.6). The
   * handler reads mcause (x27) and minstret (x26) and ends the run through the test finisher, so
   * the run stops right after the fault: both tiers' instruction counts and every register
   * the loop left are compared, not a spin loop's state at a budget.
   */
  function program(faultIn: 'head' | 'latch'): Asm {
    const a = new Asm()
      .la(6, 'handler').w(E.csr(1, 0, 6, 0x305)) // mtvec
      .la(10, 'node0').li(11, 100).li(6, 0).li(13, 0)
      .label('head')
      .label('lw')
      .w(E.load('lw', 5, 10, 0), E.aluI('addi', 6, 6, 1), E.shiftI('slli', 7, 5, 1))
      .br('bltu', 5, 11, 'latch')
      .w(E.aluI('addi', 8, 6, 0))
      .pass() // (not reached: every value is below 100)
      .label('latch')
      .w(E.aluR('add', 13, 13, 7), E.load('ld', 16, 10, 16))
      .label('sw')
      .w(E.store('sw', 13, 16, 0), E.load('ld', 10, 10, 8))
      .j('head')
      .label('handler')
      .w(E.csr(2, 27, 0, 0x342)) // csrr x27, mcause
      .w(E.csr(2, 26, 0, 0xb02)) // csrr x26, minstret
      .pass()
      .pad(4096)
      .label('scratch').dword(0n);
    // node i: value (4 bytes, 4 of padding), next, store target
    for (let i = 0; i < K; i++) {
      const last = i === K - 1;
      a.label(`node${i}`).w(i + 1, 0);
      a.dword(last && faultIn === 'head' ? BAD : last ? 'scratch' : `node${i + 1}`);
      a.dword(last && faultIn === 'latch' ? BAD : 'scratch');
    }
    return a;
  }
  /** Instructions before head. */
  const setup = (a: Asm) => (a.at('head') - BASE) / 4n;
  /**
   * The run: x26 = minstret as the handler reads it (the faulting instruction does not retire,
   * the handler's csrr of mcause does: privileged spec 3.1.10), then that csrr of minstret and
   * the finisher's li, li (its sw ends the run before it retires).
   */
  function expectEnd(r: [string, number, string], h: HartState, minstret: bigint) {
    expect(h.x(26)).toBe(minstret);
    expect(r).toEqual(['exit', 0, (minstret + 1n + 4n).toString()]);
  }

  it('a fault in the first block sees the temporary of the iteration before (mepc, mtval, registers, instret)', async () => {
    const a = program('head');
    const { m, r, jit } = await both(a, 2000n);
    const h = m.hart;
    expect([h.mcause, h.mepc, h.mtval]).toEqual([5n, a.at('lw'), BAD]);
    expect([h.x(5), h.x(6), h.x(7), h.x(10), h.x(13), h.x(16), h.x(27)])
      .toEqual([BigInt(K), BigInt(K), BigInt(2 * K), BAD, BigInt(K * (K + 1)), a.at('scratch'), 5n]);
    // K whole iterations, then the handler's first csrr
    expectEnd(r, h, setup(a) + BigInt(K) * (HEAD + LATCH) + 1n);
    expect(word32(m, a.at('scratch'))).toBe(BigInt(K * (K + 1)));
    expect(jit.calls).toBeGreaterThan(0n);
  });

  it('a fault in the second block, inside the first one\'s loop, leaves the interpreter\'s state', async () => {
    const a = program('latch');
    const { m, r } = await both(a, 2000n);
    const h = m.hart;
    expect([h.mcause, h.mepc, h.mtval]).toEqual([7n, a.at('sw'), BAD]);
    expect([h.x(5), h.x(6), h.x(7), h.x(13), h.x(16), h.x(27)])
      .toEqual([BigInt(K), BigInt(K), BigInt(2 * K), BigInt(K * (K + 1)), BAD, 7n]);
    expect(h.x(10)).toBe(a.at(`node${K - 1}`));
    // K - 1 whole iterations, head, latch's add and ld, then the handler's first csrr
    expectEnd(r, h, setup(a) + BigInt(K - 1) * (HEAD + LATCH) + HEAD + 2n + 1n);
    expect(word32(m, a.at('scratch'))).toBe(BigInt((K - 1) * K)); // the sw of the last whole iteration
  });

  it('budget stops at every instruction of the run leave the same state in both tiers', async () => {
    for (const f of ['head', 'latch'] as const) await budgetStops(program(f));
  });
});

describe('JIT: a looping block with code after its last back edge', () => {
  const BAD = -256n & mask64;
  /** Nodes per list (each list ends with a node of value 0), the last list's first. */
  const LISTS = [3, 1, 2, 4];
  /**
   * head: lw x5 (the node's value); x6 += 1; x10 = node.next; bne x5, x0 back to head (the
   * block's only back edge). The same decoded block goes on past it: x9 += 1; x12 += x6;
   * x15 = the list's store target; sw x12 to it; x20 += 16; j outer. x9, x12, x15 and x20 are
   * written only after the back edge, so the loop does not carry them (they are clean at its
   * head), while its exits must still leave them as the interpreter does; x9, x12 and x20 are
   * read only after it too, so they are loaded there, not when the block starts. outer (a block with a
   * branch of its own, so not head's partner): x10 = the next list; bne x10, x0 to head; else
   * pass; the trap handler reads mcause and passes too. faultIn 'loop': the last list's third node has next = -256 (the lw of the next
   * iteration faults: load access fault, cause 5); 'tail': the last list's store target is -256
   * (store access fault, cause 7); privileged spec 3.6.
   */
  function program(faultIn: 'loop' | 'tail' | 'none'): Asm {
    const a = new Asm()
      .la(6, 'handler').w(E.csr(1, 0, 6, 0x305)) // mtvec
      .la(20, 'heads').li(6, 0).li(9, 0).li(12, 0).li(15, 0)
      .j('outer')
      .label('head')
      .label('lw')
      .w(E.load('lw', 5, 10, 0), E.aluI('addi', 6, 6, 1), E.load('ld', 10, 10, 8))
      .br('bne', 5, 0, 'head')
      .w(E.aluI('addi', 9, 9, 1), E.aluR('add', 12, 12, 6), E.load('ld', 15, 20, 8))
      .label('sw')
      .w(E.store('sw', 12, 15, 0), E.aluI('addi', 20, 20, 16))
      .j('outer')
      .label('outer')
      .w(E.load('ld', 10, 20, 0))
      .br('bne', 10, 0, 'head');
    a.pass()
      .label('handler')
      .w(E.csr(2, 27, 0, 0x342)) // csrr x27, mcause
      .pass() // (the run ends: both tiers' instruction counts are compared)
      .pad(4096)
      .label('scratch').dword(0n);
    const last = LISTS.length - 1;
    // heads: (first node, store target) per list, then 0
    a.label('heads');
    LISTS.forEach((_, l) => a.dword(`l${l}n0`).dword(l === last && faultIn === 'tail' ? BAD : 'scratch'));
    a.dword(0n).dword(0n);
    LISTS.forEach((len, l) => {
      for (let i = 0; i < len; i++) {
        const end = i === len - 1;
        a.label(`l${l}n${i}`).w(end ? 0 : 10 * l + i + 1, 0);
        a.dword(l === last && i === 2 && faultIn === 'loop' ? BAD : end ? 0n : `l${l}n${i + 1}`);
      }
    });
    return a;
  }
  /** x6, x9, x12 after `lists` whole lists. */
  function after(lists: number): [bigint, bigint, bigint] {
    let x6 = 0n, x12 = 0n;
    for (let l = 0; l < lists; l++) { x6 += BigInt(LISTS[l]); x12 += x6; }
    return [x6, BigInt(lists), x12];
  }

  it('runs to the end with the values RISC-V gives', async () => {
    const { m, r, jit } = await both(program('none'), 2000n);
    expect(r).toEqual(['exit', 0, r[2]]);
    const h = m.hart;
    expect([h.x(6), h.x(9), h.x(12), h.x(10)]).toEqual([...after(LISTS.length), 0n]);
    expect(jit.calls).toBeGreaterThan(0n);
  });

  it('a fault inside the loop leaves the registers the loop does not carry as the interpreter does', async () => {
    const a = program('loop');
    const { m, r } = await both(a, 2000n);
    expect(r.slice(0, 2)).toEqual(['exit', 0]);
    const h = m.hart;
    const [x6, x9, x12] = after(LISTS.length - 1);
    expect([h.mcause, h.mepc, h.mtval, h.x(27)]).toEqual([5n, a.at('lw'), BAD, 5n]);
    // three nodes of the last list were counted; x15 and x20 still hold the list before's
    expect([h.x(6), h.x(9), h.x(12), h.x(10)]).toEqual([x6 + 3n, x9, x12, BAD]);
    expect([h.x(15), h.x(20)]).toEqual([a.at('scratch'), a.at('heads') + BigInt(16 * (LISTS.length - 1))]);
  });

  it('a fault after the back edge leaves the interpreter\'s state', async () => {
    const a = program('tail');
    const { m, r } = await both(a, 2000n);
    expect(r.slice(0, 2)).toEqual(['exit', 0]);
    const h = m.hart;
    const [x6, x9, x12] = after(LISTS.length);
    expect([h.mcause, h.mepc, h.mtval, h.x(27)]).toEqual([7n, a.at('sw'), BAD, 7n]);
    expect([h.x(6), h.x(9), h.x(12), h.x(15)]).toEqual([x6, x9, x12, BAD]);
    expect(h.x(20)).toBe(a.at('heads') + BigInt(16 * (LISTS.length - 1)));
  });

  it('budget stops at every instruction of the run leave the same state in both tiers', async () => {
    for (const f of ['loop', 'tail', 'none'] as const) await budgetStops(program(f));
  });
});

describe('JIT: registers loaded where a block first reads them', () => {
  const BAD = -256n & mask64;
  const X7 = 0x1234n;
  /**
   * blk (a block that does not loop: it jumps to next, which has a branch of its own, so it is
   * no partner): lw x5 (node value); beq x5, x0 to done; then x6 = x7 + x8 (the block's first
   * reads of x7 and x8, loaded there and not when it starts); x11 = node.target; sd x6 to it;
   * x7 = x6 + 1; x10 = node.next; j next. next: x20 += 1; bltu x20, x21 to blk. Nodes 1..4 then
   * a 0. faultIn 'load': node 2's next is -256 (the lw of the next pass faults, cause 5);
   * 'store': node 2's target is -256 (the sd faults, cause 7); privileged spec 3.6.
   */
  function program(faultIn: 'load' | 'store' | 'none'): Asm {
    const a = new Asm()
      .la(6, 'handler').w(E.csr(1, 0, 6, 0x305)) // mtvec
      .la(10, 'n0').li(7, Number(X7)).li(8, 5).li(20, 0).li(21, 100)
      .j('next0')
      .label('blk')
      .label('lw')
      .w(E.load('lw', 5, 10, 0))
      .br('beq', 5, 0, 'done')
      .w(E.aluR('add', 6, 7, 8), E.load('ld', 11, 10, 16))
      .label('sd')
      .w(E.store('sd', 6, 11, 0), E.aluI('addi', 7, 6, 1), E.load('ld', 10, 10, 8))
      .j('next')
      .label('next')
      .w(E.aluI('addi', 20, 20, 1))
      .label('next0')
      .br('bltu', 20, 21, 'blk')
      .label('done');
    a.pass()
      .label('handler')
      .w(E.csr(2, 27, 0, 0x342)) // csrr x27, mcause
      .pass()
      .pad(4096)
      .label('scratch').dword(0n);
    for (let i = 0; i < 5; i++) {
      a.label(`n${i}`).w(i < 4 ? i + 1 : 0, 0);
      a.dword(i === 2 && faultIn === 'load' ? BAD : i < 4 ? `n${i + 1}` : 0n);
      a.dword(i === 2 && faultIn === 'store' ? BAD : 'scratch');
    }
    return a;
  }

  it('runs to the end with the values RISC-V gives', async () => {
    const { m, r, jit } = await both(program('none'), 2000n);
    expect(r.slice(0, 2)).toEqual(['exit', 0]);
    const h = m.hart;
    expect([h.x(6), h.x(7), h.x(20)]).toEqual([X7 + 5n + 18n, X7 + 24n, 4n]);
    expect(jit.calls).toBeGreaterThan(0n);
  });

  it('faults before and after the first reads leave the interpreter\'s state', async () => {
    const l = program('load');
    let h = (await both(l, 2000n)).m.hart;
    expect([h.mcause, h.mepc, h.mtval, h.x(27)]).toEqual([5n, l.at('lw'), BAD, 5n]);
    expect([h.x(6), h.x(7), h.x(10), h.x(20)]).toEqual([X7 + 5n + 12n, X7 + 18n, BAD, 3n]);
    const s = program('store');
    h = (await both(s, 2000n)).m.hart;
    expect([h.mcause, h.mepc, h.mtval, h.x(27)]).toEqual([7n, s.at('sd'), BAD, 7n]);
    expect([h.x(6), h.x(7), h.x(11), h.x(20)]).toEqual([X7 + 5n + 12n, X7 + 12n, BAD, 2n]);
  });

  it('budget stops at every instruction of the run leave the same state in both tiers', async () => {
    for (const f of ['load', 'store', 'none'] as const) await budgetStops(program(f));
  });
});
