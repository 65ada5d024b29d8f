/**
 * The page a loop's load or store site hit last, kept in locals (docs/jit.md "Steady state",
 * fifth round; assembly/jit/emit.ts siteProbe): inside a compiled loop, an access whose page tag
 * equals its site's uses the site's addend without probing the TLB. These programs make a
 * wrong reuse visible: data accesses go through Sv39 (M-mode with mstatus.MPRV = 1, MPP = S) to
 * virtual pages mapped out of order onto physical ones (a stale addend reads or writes the wrong
 * page), and end in a page fault on the first unmapped page (a stale tag would not fault). Each
 * runs with the interpreter and with the JIT at a threshold of 4 (deterministic: the loop's
 * region is compiled and entered after its 4th iteration); both must leave the same registers,
 * pc, instret and trap CSRs, and the values the test computes.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { Asm, BASE } from './asm';
import { bothTiers } from './tiers';

const THRESHOLD = 4;
/** Virtual page k (va k * 4096) -> physical page BASE + PHYS[k] * 4096; page 3 is unmapped. */
const PHYS = [5, 4, 6];
const MASK = (1n << 64n) - 1n;

/** Run on both tiers (tiers.ts); the JIT's state must equal the interpreter's. */
async function both(image: Uint8Array, maxInstructions?: bigint) {
  const t = await bothTiers(image, { name: 'sites.bin', threshold: THRESHOLD, csrs: ['pc', 'instret', 'mstatus', 'mcause', 'mepc', 'mtval', 'satp'], maxInstructions });
  return { m: t.compiled, r: t.r, jit: t.jit };
}

/** The value at byte `off` of physical data page p (4, 5, 6): distinct per dword. */
const datum = (p: number, off: number) => (BigInt(p) << 32n) | BigInt(off + 1) | 0x5a00000000000000n;

/**
 * Code in page 0; the Sv39 tables in pages 1 (root), 2 and 3; data in pages 4-6. `body` is the
 * loop, at label 'loop', over va = x10 from 0 with x10 += 8; `after` is the trap handler's code
 * before the finisher. The handler is M-mode (no delegation); after the trap MPP = M, so its
 * accesses are physical.
 */
function program(body: (a: Asm) => void, after: (a: Asm) => void = () => {}): Uint8Array {
  const a = new Asm();
  a.la(5, 'handler').w(E.csr(1, 0, 5, 0x305)) // mtvec
    // satp = Sv39 (8 << 60) | root's ppn
    .li(5, 8).w(E.shiftI('slli', 5, 5, 60)).li(6, 0x80001).w(E.aluR('or', 5, 5, 6), E.csr(1, 0, 5, 0x180))
    // mstatus |= MPRV | MPP = S
    .li(5, (1 << 17) | (1 << 11)).w(E.csr(2, 0, 5, 0x300))
    .li(10, 0).li(11, 0).li(28, 31);
  body(a);
  a.label('handler');
  after(a);
  a.pass();
  // page tables: root[0] -> page 2; page 2 [0] -> page 3; page 3 [k] -> PHYS[k] (V R W A D)
  const pte = (page: number, flags: bigint) => (((BASE >> 12n) + BigInt(page)) << 10n) | flags;
  a.pad(0x1000).dword(pte(2, 1n)).pad(0x2000).dword(pte(3, 1n)).pad(0x3000);
  for (const p of PHYS) a.dword(pte(p, 0xc7n));
  for (const p of [4, 5, 6]) {
    a.pad(p * 0x1000).label(`p${p}`);
    for (let off = 0; off < 0x1000; off += 8) a.dword(datum(p, off));
  }
  a.label('p7');
  return a.bytes();
}

describe('JIT: a loop\'s access sites and the pages they hit', () => {
  it('loads walk virtual pages mapped out of order, then take the page fault of an unmapped page', async () => {
    // loop: ld x12, 0(x10); x11 = x11 * 31 + x12; x10 += 8; j loop (a block that jumps to itself)
    const image = program((a) => a.label('loop')
      .w(E.load('ld', 12, 10, 0), E.aluR('mul', 11, 11, 28), E.aluR('add', 11, 11, 12), E.aluI('addi', 10, 10, 8))
      .j('loop'));
    const { m, r, jit } = await both(image);
    expect(r.slice(0, 2)).toEqual(['exit', 0]);
    let h = 0n;
    for (const p of PHYS) for (let off = 0; off < 0x1000; off += 8) h = (h * 31n + datum(p, off)) & MASK;
    expect(m.hart.x(11)).toBe(h);
    expect(m.hart.mcause).toBe(13n); // load page fault
    expect(m.hart.mtval).toBe(0x3000n);
    expect(m.hart.x(10)).toBe(0x3000n);
    // 19 instructions before the loop (mtvec 3, satp 7, mstatus 3, three li), 5 per iteration
    // (1,536 of them; the last one's ld faults and does not retire), the finisher's two li
    expect(m.hart.instret).toBe(19n + 5n * 1536n + 4n);
    expect(jit.instructions).toBeGreaterThan(5n * 1500n);
  });

  it('stores walk them too, then take the store page fault; the data land in the mapped pages', async () => {
    // loop: sd x10, 0(x10); x10 += 8; j loop. The handler sums physical pages 4..6 by weight.
    const image = program((a) => a.label('loop')
      .w(E.store('sd', 10, 10, 0), E.aluI('addi', 10, 10, 8)).j('loop'),
    (a) => {
      // x13 = sum over the 3 physical pages of dword * (index + 1), index = page's rank in 4..6
      a.la(14, 'p4').la(15, 'p7').li(16, 0).li(13, 0)
        .label('sum').w(E.load('ld', 17, 14, 0), E.shiftI('srli', 18, 16, 9), E.aluI('addi', 18, 18, 1),
          E.aluR('mul', 17, 17, 18), E.aluR('add', 13, 13, 17), E.aluI('addi', 14, 14, 8), E.aluI('addi', 16, 16, 1))
        .br('bne', 14, 15, 'sum');
    });
    const { m, r } = await both(image);
    expect(r.slice(0, 2)).toEqual(['exit', 0]);
    expect(m.hart.mcause).toBe(15n); // store/AMO page fault
    expect(m.hart.mtval).toBe(0x3000n);
    let sum = 0n;
    for (let k = 0; k < 3; k++) for (let off = 0; off < 0x1000; off += 8) {
      // physical page 4 + k holds what was stored to the virtual page mapped onto it
      const vpage = PHYS.indexOf(4 + k);
      sum += BigInt(vpage * 0x1000 + off) * BigInt(k + 1);
    }
    expect(m.hart.x(13)).toBe(sum & MASK);
  });

  it('misaligned halves in a loop leave compiled code each time, as the interpreter has them', async () => {
    // loop over va 0..64 by 1: lh x12, 0(x10); x11 += x12; x10 += 1; bne x10, x29, loop
    const image = program((a) => a.li(29, 64).label('loop')
      .w(E.load('lh', 12, 10, 0), E.aluR('add', 11, 11, 12), E.aluI('addi', 10, 10, 1))
      .br('bne', 10, 29, 'loop').li(12, 0x3000).w(E.load('ld', 12, 12, 0)));
    const { m } = await both(image);
    expect(m.hart.x(10)).toBe(64n);
    // virtual page 0 is physical page 5: x11 = the sum of the 64 halfwords at byte offsets 0..63
    const bytes = new Uint8Array(72);
    const dv = new DataView(bytes.buffer);
    for (let off = 0; off < 72; off += 8) dv.setBigUint64(off, datum(5, off), true);
    let sum = 0n;
    for (let k = 0; k < 64; k++) sum += BigInt(dv.getInt16(k, true));
    expect(m.hart.x(11)).toBe(sum & MASK);
    expect(m.hart.mcause).toBe(13n);
  });

  it('a budget stop at any instruction while the loop is compiled and entered leaves the interpreter\'s state', async () => {
    const image = program((a) => a.label('loop')
      .w(E.load('ld', 12, 10, 0), E.aluR('mul', 11, 11, 28), E.aluR('add', 11, 11, 12), E.aluI('addi', 10, 10, 8))
      .j('loop'));
    for (let n = 30n; n <= 70n; n++) {
      const { r } = await both(image, n);
      expect(r[0]).toBe('max-instructions');
    }
    // and across the first page change (va 0x1000 at iteration 512)
    for (let n = 19n + 5n * 510n; n <= 19n + 5n * 514n; n++) await both(image, n);
  }, 120_000);
});
