/**
 * The TypeScript page walker behind the demo's "last page walk" view (host/web/walk.ts), over
 * hand-built page tables: every level count, every step of privileged spec 4.3.2 that ends a
 * walk, and the M-mode / Bare cases.
 */
import { describe, expect, it } from 'vitest';
import { pteFlags, walkPageTables } from '../../host/web/walk';

const RAM_BASE = 0x8000_0000n;
const RAM_SIZE = 0x100_0000n; // 16 MiB

/** Guest-physical memory as a map of 8-byte words, reads outside RAM undefined. */
function memory(words: [bigint, bigint][]) {
  const m = new Map(words.map(([a, v]) => [a, v]));
  return (pa: bigint): bigint | undefined =>
    pa < RAM_BASE || pa + 8n > RAM_BASE + RAM_SIZE ? undefined : m.get(pa) ?? 0n;
}
const V = 1n, R = 2n, W = 4n, X = 8n, A = 0x40n, D = 0x80n;
/** A PTE pointing at physical address pa with flags. */
const pte = (pa: bigint, flags: bigint): bigint => ((pa >> 12n) << 10n) | flags;
const sv39 = (root: bigint, asid = 0n): bigint => (8n << 60n) | (asid << 44n) | (root >> 12n);
const sv48 = (root: bigint): bigint => (9n << 60n) | (root >> 12n);

// Tables at 0x80001000 (root), 0x80002000 (L1), 0x80003000 (L0).
const ROOT = 0x8000_1000n, L1 = 0x8000_2000n, L0 = 0x8000_3000n;

describe('walkPageTables', () => {
  it('Sv39, 4 KiB page: three PTE reads at root + VPN[2]*8, L1 + VPN[1]*8, L0 + VPN[0]*8', () => {
    // va 0x4060_3abc: VPN[2] = 1, VPN[1] = 3, VPN[0] = 3, offset 0xabc.
    const va = (1n << 30n) | (3n << 21n) | (3n << 12n) | 0xabcn;
    const read = memory([
      [ROOT + 8n, pte(L1, V)],
      [L1 + 24n, pte(L0, V)],
      [L0 + 24n, pte(0x8012_3000n, V | R | X | A)],
    ]);
    const w = walkPageTables(sv39(ROOT, 5n), va, 1, read);
    expect(w.mode).toBe('sv39');
    expect(w.asid).toBe(5);
    expect(w.fault).toBeUndefined();
    expect(w.levels.map((l) => [l.level, l.vpn, l.table, l.pteAddr, l.leaf])).toEqual([
      [2, 1, ROOT, ROOT + 8n, false],
      [1, 3, L1, L1 + 24n, false],
      [0, 3, L0, L0 + 24n, true],
    ]);
    expect(w.levels[2].flags).toBe('-A--X-RV');
    expect(w.pa).toBe(0x8012_3abcn);
    expect(w.pageSize).toBe(4096);
  });

  it('Sv39 megapage (leaf at level 1): the VA supplies VPN[0] and the offset', () => {
    const va = 0x8020_5123n; // VPN[2] = 2, VPN[1] = 1, VPN[0] = 5
    const read = memory([[ROOT + 16n, pte(L1, V)], [L1 + 8n, pte(0x8060_0000n, V | R | W | X | A | D)]]);
    const w = walkPageTables(sv39(ROOT), va, 0, read);
    expect(w.levels.map((l) => l.leaf)).toEqual([false, true]);
    expect(w.pa).toBe(0x8060_5123n);
    expect(w.pageSize).toBe(2 << 20);
  });

  it('Sv39 gigapage at the root', () => {
    const read = memory([[ROOT + 16n, pte(0x8000_0000n, V | R | X)]]);
    const w = walkPageTables(sv39(ROOT), 0x8765_4321n, 1, read);
    expect(w.levels).toHaveLength(1);
    expect(w.pa).toBe(0x8765_4321n);
    expect(w.pageSize).toBe(1 << 30);
  });

  it('Sv48 walks four levels, VPN[3] from bits 47:39', () => {
    const L2 = 0x8000_4000n;
    // va 0x80_4060_1008: VPN[3] = 1, VPN[2] = 1, VPN[1] = 3, VPN[0] = 1.
    const va = (1n << 39n) | (1n << 30n) | (3n << 21n) | (1n << 12n) | 8n;
    const read = memory([
      [ROOT + 8n, pte(L2, V)],
      [L2 + 8n, pte(L1, V)],
      [L1 + 24n, pte(L0, V)],
      [L0 + 8n, pte(0x8000_9000n, V | R)],
    ]);
    const w = walkPageTables(sv48(ROOT), va, 1, read);
    expect(w.mode).toBe('sv48');
    expect(w.levels.map((l) => [l.level, l.vpn])).toEqual([[3, 1], [2, 1], [1, 3], [0, 1]]);
    expect(w.pa).toBe(0x8000_9008n);
  });

  it('M-mode and satp.MODE = Bare are untranslated', () => {
    const read = memory([]);
    expect(walkPageTables(sv39(ROOT), 0x8000_0004n, 3, read)).toMatchObject({ mode: 'bare', pa: 0x8000_0004n, levels: [] });
    expect(walkPageTables(0n, 0x8000_0004n, 1, read)).toMatchObject({ mode: 'bare', pa: 0x8000_0004n, levels: [] });
  });

  it('ends with the fault the hart would take', () => {
    const va = 0x8000_0000n; // VPN[2] = 2
    const at = (p: bigint) => memory([[ROOT + 16n, p]]);
    expect(walkPageTables(sv39(ROOT), va, 1, at(pte(L1, 0n))).fault).toBe('page fault: PTE.V = 0');
    expect(walkPageTables(sv39(ROOT), va, 1, at(pte(L1, V | W))).fault).toBe('page fault: PTE has W without R');
    expect(walkPageTables(sv39(ROOT), va, 1, at(pte(L1, V) | (1n << 63n))).fault).toBe('page fault: reserved PTE bits 63:54 set');
    // A gigapage whose PPN[1:0] are not zero.
    expect(walkPageTables(sv39(ROOT), va, 1, at(pte(0x8020_0000n, V | R))).fault).toBe('page fault: misaligned superpage at level 2');
    // A pointer PTE at level 0.
    const chain = memory([[ROOT + 16n, pte(L1, V)], [L1, pte(L0, V)], [L0, pte(L0, V)]]);
    const w = walkPageTables(sv39(ROOT), va, 1, chain);
    expect(w.fault).toBe('page fault: no leaf PTE at level 0');
    expect(w.levels).toHaveLength(3);
    // A root table outside RAM: an access fault, with the address.
    const out = walkPageTables(sv39(0x1000n), va, 1, memory([]));
    expect(out.fault).toBe('access fault: PTE at 0x1010 is not in RAM');
    expect(out.levels[0].pte).toBeUndefined();
    expect(walkPageTables(sv39(ROOT), 0x40_0000_0000n, 1, memory([])).fault).toBe('page fault: VA not sign-extended from bit 38');
    expect(walkPageTables((10n << 60n) | 1n, va, 1, memory([])).fault).toBe('satp.MODE 10 is not Sv39 or Sv48');
  });

  it('accepts sign-extended high addresses', () => {
    // 0xffff_ffc0_0000_0000: bits 63:38 all set, VPN[2] = 256.
    const read = memory([[ROOT + 256n * 8n, pte(0x8000_0000n, V | R | X)]]);
    const w = walkPageTables(sv39(ROOT), 0xffff_ffc0_0000_0010n, 1, read);
    expect(w.levels[0].vpn).toBe(256);
    expect(w.pa).toBe(0x8000_0010n);
  });

  it('pteFlags spells DAGUXWRV with dashes', () => {
    expect(pteFlags(0xffn)).toBe('DAGUXWRV');
    expect(pteFlags(0n)).toBe('--------');
    expect(pteFlags(V | X | D)).toBe('D---X--V');
  });
});
