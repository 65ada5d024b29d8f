/**
 * The JIT's region entries (issue 16, docs/jit.md "Steady state", fourth round): an indirect call
 * (jalr with a link register) whose targets the dispatcher linked while the block ran interpreted
 * takes those targets into its region, and compares its target with them before leaving, so a
 * call through a function pointer and the callee's return stay in the region instead of going
 * through the run loop twice.
 *
 * Each program runs with the interpreter (--jit off) and with the JIT at a threshold of 4 (the
 * region is formed after the jalr's block has run and been linked to both targets): both leave
 * exactly the same registers, pc, instret and trap CSRs, at the end and at budget stops anywhere
 * in the window where the region is compiled and entered.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { Asm, BASE } from './asm';
import { bothTiers } from './tiers';

/** CLINT mtimecmp of hart 0 and mtime (virt board). */
const MTIMECMP = 0x2004000;
const MTIME = 0x200bff8;
const THRESHOLD = 4;

/** Run on both tiers (tiers.ts); the JIT's state must equal the interpreter's. */
async function both(image: Uint8Array, maxInstructions?: bigint) {
  const t = await bothTiers(image, { name: 'dispatch.bin', threshold: THRESHOLD, csrs: ['pc', 'instret', 'mstatus', 'mcause', 'mepc', 'mtval'], maxInstructions });
  return { m: t.interpreted, r: t.r, jit: t.jit };
}

const N = 1000;
/** addi x22, x22, 7: what `patch` writes over f1's first instruction. */
const PATCHED = E.aluI('addi', 22, 22, 7);

/**
 * s0 counts N down to 1; each iteration calls f1 (s0 even) or f2 (s0 odd, 16 bytes further)
 * through a5 with `jalr ra, 0(a5)`. With `patchAt`, the iteration where s0 == patchAt first
 * rewrites f1's addi (x22 += 1 becomes x22 += 7). After the loop, one call through s3 to f3,
 * a target the jalr of the loop never took (so it is not in the region), then the finisher.
 */
function program(patchAt = 0, timer = false): Uint8Array {
  const a = new Asm();
  if (timer) {
    // mtimecmp = mtime + 50; MTIE, MIE; the handler counts (x28), keeps mepc (x29), re-arms 37
    // ticks ahead and returns.
    a.la(6, 'handler').w(E.csr(1, 0, 6, 0x305)) // mtvec
      .li(25, MTIME).w(E.load('ld', 27, 25, 0), E.aluI('addi', 27, 27, 50))
      .li(26, MTIMECMP).w(E.store('sd', 27, 26, 0))
      .li(6, 0x80).w(E.csr(2, 0, 6, 0x304)) // csrs mie, MTIE
      .w(E.csr(6, 0, 8, 0x300)); // csrsi mstatus, MIE
  }
  a.la(9, 'f1').la(19, 'f3')
    .li(8, N).li(20, patchAt).li(21, PATCHED)
    .label('loop')
    .br('bne', 8, 20, 'call')
    .w(E.store('sw', 21, 9, 0))
    .label('call')
    .w(E.aluI('andi', 5, 8, 1), E.shiftI('slli', 5, 5, 4), E.aluR('add', 15, 9, 5), E.jalr(1, 15, 0))
    .w(E.aluI('addi', 8, 8, -1))
    .br('bne', 8, 0, 'loop')
    .w(E.jalr(1, 19, 0))
    .pass()
    .label('f1')
    .w(E.aluI('addi', 22, 22, 1), E.jalr(0, 1, 0), E.aluI('addi', 0, 0, 0), E.aluI('addi', 0, 0, 0))
    .label('f2')
    .w(E.aluI('addi', 23, 23, 1000), E.jalr(0, 1, 0))
    .label('f3')
    .w(E.aluI('addi', 24, 24, 5), E.jalr(0, 1, 0))
    .label('handler')
    .w(E.aluI('addi', 28, 28, 1), E.csr(2, 29, 0, 0x341)) // x29 = mepc
    .w(E.load('ld', 27, 25, 0), E.aluI('addi', 27, 27, 37), E.store('sd', 27, 26, 0))
    .w(E.iType(0x73, 0, 0, 0, 0x302)); // mret
  return a.bytes();
}

describe('JIT: an indirect call to targets linked before the region was formed', () => {
  it('runs the calls and the returns inside one region entry', async () => {
    const { m, r, jit } = await both(program());
    expect(r.slice(0, 2)).toEqual(['exit', 0]);
    // s0 odd (500 times): f2; even (500): f1; f3 once.
    expect(m.hart.x(22)).toBe(500n);
    expect(m.hart.x(23)).toBe(500_000n);
    expect(m.hart.x(24)).toBe(5n);
    expect(m.hart.x(8)).toBe(0n);
    // 10 instructions (two la, three li) before the loop, 9 per iteration (bne, the call's four,
    // the callee's two, addi, bne), the call to f3 (3), the finisher's two li (its store exits
    // to the host before it retires).
    expect(m.hart.instret).toBe(10n + 9n * BigInt(N) + 3n + 4n);
    // The region (rooted at the return point, the first block to reach the threshold) is entered
    // once and runs the rest of the loop: calls and returns through the jalrs stay in it; it is
    // left by the call to f3. Without the linked targets each iteration left it twice.
    expect(jit.calls).toBe(1n);
    expect(jit.compiles).toBe(1n);
    expect(jit.instructions).toBeGreaterThan(9n * BigInt(N - 5));
  });

  it('a budget stop anywhere around the region\'s compile and first iterations leaves the interpreter\'s state', async () => {
    // The region is compiled in the 4th iteration (instruction ~10 + 3 * 9); stop at every count
    // from the start of the 3rd iteration to the 9th.
    for (let n = 28n; n <= 90n; n++) {
      const { r } = await both(program(), n);
      expect(r[0]).toBe('max-instructions');
    }
  }, 120_000);

  it('timer interrupts while the region calls and returns are taken at the interpreter\'s instruction', async () => {
    const { m, r, jit } = await both(program(0, true));
    expect(r.slice(0, 2)).toEqual(['exit', 0]);
    expect(m.hart.x(22)).toBe(500n);
    expect(m.hart.x(23)).toBe(500_000n);
    expect(m.hart.x(24)).toBe(5n);
    // deterministic mtime: some 9,000 instructions give the handler well over 5 runs
    expect(m.hart.x(28)).toBeGreaterThan(5n);
    // An interrupt leaves the region at the event check of a jump inside it (goto), so the
    // handler's return enters it again: more than one entry, but a few per interrupt, not two
    // per iteration (1,841 before the links of older epochs counted: every trap and mret starts
    // a new epoch, and the regions formed after an interrupt left f1 and f2 out).
    expect(jit.calls).toBeGreaterThan(1n);
    expect(jit.calls).toBeLessThan(BigInt(N) / 4n);
  });

  it('a store that rewrites a linked target drops the region, and the new code runs', async () => {
    const patchAt = 600;
    const { m, r } = await both(program(patchAt));
    expect(r.slice(0, 2)).toEqual(['exit', 0]);
    // f1 runs for even s0: 1000..602 (200 times) with +1, then 600..2 (300 times) with +7
    // (the patch lands in the iteration where s0 == 600, before its call).
    expect(m.hart.x(22)).toBe(200n + 300n * 7n);
    expect(m.hart.x(23)).toBe(500_000n);
    expect(m.hart.x(24)).toBe(5n);
  });
});
