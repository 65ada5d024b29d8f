import { describe, expect, it } from 'vitest';
import { FrameAllocator } from '../../host/vmm/frames';
import { GStage, HGATP_MODE_SV48X4, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, read64 } from '../../host/vmm/gstage';
import { FakeRam } from './fakes';

describe('GStage', () => {
  it('builds an Sv39x4 table: 16 KiB-aligned root, hgatp with mode, VMID and PPN', () => {
    const ram = new FakeRam(256 * 4096);
    const g = new GStage(ram, new FrameAllocator(ram), undefined, 5n);
    expect(g.root % 16384n).toBe(0n);
    expect(g.hgatp).toBe((8n << 60n) | (5n << 44n) | (g.root >> 12n));
    expect(g.gpaBits).toBe(41);
  });

  it('maps, looks up and unmaps 4 KiB pages; leaves are V|R|W|X|U|A|D', () => {
    const ram = new FakeRam(256 * 4096);
    const g = new GStage(ram, new FrameAllocator(ram));
    g.map(0x80001000n, 0x80042000n);
    expect(g.lookup(0x80001abcn)).toEqual({ hpa: 0x80042abcn, perms: PTE_R | PTE_W | PTE_X });
    expect(g.lookup(0x80002000n)).toBeUndefined();
    expect(g.lookup(0x1_8000_0000n)).toBeUndefined(); // another root slot: no table there
    // The root slot of GPA 0x80001000 is index 2 (bits 40:30); its leaf has all the bits.
    const l1 = ((read64(ram, g.root + 2n * 8n) >> 10n) << 12n);
    const l0 = ((read64(ram, l1 + 0n * 8n) >> 10n) << 12n);
    expect(read64(ram, l0 + 1n * 8n)).toBe(((0x80042000n >> 12n) << 10n) | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D | PTE_V);
    expect(g.counters()).toEqual({ pages: 1, tables: 3 });
    g.map(0x1ff_ffff_f000n, 0x80043000n, PTE_R); // the last page of the 41-bit space: root index 2047
    expect(g.lookup(0x1ff_ffff_f008n)).toEqual({ hpa: 0x80043008n, perms: PTE_R });
    expect(g.unmap(0x80001000n)).toBe(0x80042000n);
    expect(g.unmap(0x80001000n)).toBeUndefined();
    expect(g.lookup(0x80001000n)).toBeUndefined();
    expect(g.counters().pages).toBe(1);
    expect(() => g.map(0x200_0000_0000n, 0x80044000n)).toThrow('gstage: GPA 0x20000000000 is beyond 41 bits');
    expect(() => g.map(0x80001001n, 0x80044000n)).toThrow('is not page-aligned');
  });

  it('Sv48x4 has four levels and 50-bit guest physical addresses', () => {
    const ram = new FakeRam(256 * 4096);
    const g = new GStage(ram, new FrameAllocator(ram), HGATP_MODE_SV48X4, 1n);
    expect(g.gpaBits).toBe(50);
    g.map(0x3_ffff_ffff_f000n, 0x80010000n);
    expect(g.lookup(0x3_ffff_ffff_f010n)?.hpa).toBe(0x80010010n);
    expect(g.counters().tables).toBe(4);
  });
});
