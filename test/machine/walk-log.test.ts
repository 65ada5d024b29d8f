/**
 * The walk log (abi.ts S_WALK_LOG): with walkLogOn, the core records every PTE read of the
 * last page walk. tlbstress (guests/bench) chases pointers under Sv39 in S-mode with 4 KiB
 * pages for its arena, so its last walk is three satp-table reads ending at a 4 KiB leaf.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Machine } from '../../host/machine/machine';
import { loadImageFile } from '../../host/machine/loader';

describe('walk log', () => {
  it('records the three levels of the last Sv39 walk', async () => {
    const m = await Machine.create({
      memSize: 128 << 20,
      kernel: loadImageFile(join(__dirname, '../../guests/bin/bench/tlbstress.elf'), 0x80000000n),
      deterministic: true,
    });
    m.hart.walkLogOn = true;
    // Long enough to be deep in the chase (S-mode, Sv39 on), far from its end.
    await m.run({ maxInstructions: 20_000_000n });
    const w = m.hart.lastWalk();
    expect(w).toBeDefined();
    expect(w!.steps.map((s) => [s.kind, s.level])).toEqual([['satp', 2], ['satp', 1], ['satp', 0]]);
    expect(w!.faultCause).toBeUndefined();
    // The guest identity-maps RAM: the leaf's PPN is the page of the address walked.
    const leaf = w!.steps[2].pte;
    expect(((leaf >> 10n) << 12n)).toBe(w!.va & ~0xfffn);
    expect(w!.pa).toBe(w!.va);
    // Each step's PTE address lies in the page the previous step pointed to.
    for (let i = 1; i < 3; i++) {
      const table = (w!.steps[i - 1].pte >> 10n) << 12n;
      expect(w!.steps[i].pteAddress & ~0xfffn).toBe(table);
    }
  });
});
