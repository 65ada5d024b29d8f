/**
 * While a region is compiled in the background (--jit on), the other blocks of that region do
 * not start regions of their own (assembly/jit/jit.ts, "pending"): the blocks of a hot loop
 * reach the threshold a few iterations apart, and each used to become the root of another copy
 * of the loop (a Linux boot compiled 21 regions where 12 now do; docs/jit.md, "Boots are not
 * slower"). The loop below has four blocks in one page and runs 10 M times; its region, rooted
 * at the loop head, holds all four, so once installed the loop never leaves it.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';

const BASE = 0x80000000n;
const FINISHER = 0x100000; // sifive_test (virt board): 0x5555 = pass
const ITERATIONS = 10_000_000;

/** rd = a 32-bit constant (lui + addiw). */
function li(rd: number, v: number): number[] {
  const lo = ((v & 0xfff) ^ 0x800) - 0x800;
  return [E.lui(rd, ((v - lo) >>> 12) & 0xfffff), E.aluI('addiw', rd, rd, lo)];
}

/**
 *        li   x20, ITERATIONS
 * loop:  addi x5, x5, 1 ; andi x6, x5, 1 ; beq x6, x0, even     block 1 (the root)
 *        addi x7, x7, 1 ; jal x0, next                           block 2 (odd)
 * even:  addi x8, x8, 1                                          block 3 (falls into next)
 * next:  addi x20, x20, -1 ; bne x20, x0, loop                   block 4 (and the end of 3)
 *        the test finisher
 */
function program(): Uint8Array {
  const w = [
    ...li(20, ITERATIONS),
    E.aluI('addi', 5, 5, 1), E.aluI('andi', 6, 5, 1), E.branch('beq', 6, 0, 12), // loop: at 8
    E.aluI('addi', 7, 7, 1), E.jal(0, 8),
    E.aluI('addi', 8, 8, 1), // even: at 28
    E.aluI('addi', 20, 20, -1), E.branch('bne', 20, 0, -28), // next: at 32
    ...li(31, FINISHER), ...li(30, 0x5555), E.store('sw', 30, 31, 0),
  ];
  const out = new Uint8Array(w.length * 4);
  const v = new DataView(out.buffer);
  w.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return out;
}

describe('JIT: blocks of a region being compiled', () => {
  it('a loop whose blocks all get hot while its region compiles in the background is compiled once', async () => {
    const m = await Machine.create({
      memSize: 4 << 20, kernel: parseImage(program(), 'pending.bin', BASE), jit: 'on', jitThreshold: 64, jitBackground: true,
    });
    const r = await m.run({ timeoutMs: 60_000 });
    // li (2); per iteration 7 instructions when x5 turns odd (block 1, 2, 4), 6 when even (1, 3,
    // 4); the finisher's li, li (its sw ends the run before it retires): every instruction
    // counted once, whichever tier ran it.
    expect([r.reason, r.exitCode, r.instructions]).toEqual(['exit', 0, BigInt(2 + (ITERATIONS / 2) * (7 + 6) + 4)]);
    expect(m.hart.x(5)).toBe(BigInt(ITERATIONS));
    expect(m.hart.x(7)).toBe(BigInt(ITERATIONS / 2)); // odd values of x5
    expect(m.hart.x(8)).toBe(BigInt(ITERATIONS / 2));
    const js = m.stats().jit;
    expect(js.failures).toBe(0n);
    // One region (before, 3: the tree before this change compiled 3 regions of 8 blocks each),
    // and most of the loop ran in it.
    expect(js.compiles).toBe(1n);
    expect(js.instructions).toBeGreaterThan(BigInt(ITERATIONS));
  }, 60_000);
});
