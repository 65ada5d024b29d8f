/**
 * host/web/walk-fill.ts: completing a logged 2D walk with the G-stage translations the core's
 * cache served. Hand-built tables first (every case of the fill), then the real thing: the
 * last walk of minikernel run as a VM, where every filled-in G-stage walk must land on the
 * host address the hart actually used.
 */
import { describe, expect, it } from 'vitest';
import { fillCachedGStage, gStageSteps, type ViewStep } from '../../host/web/walk-fill';
import type { WalkStep } from '../../host/machine/hart';
import { loadImageFile } from '../../host/machine/loader';
import { KERNEL_RAW_BASE, Vm } from '../../host/vmm/vm';

const V = 1n, R = 2n, W = 4n, X = 8n, U = 16n, A = 64n, D = 128n;
const pte = (pa: bigint, flags: bigint): bigint => ((pa >> 12n) << 10n) | flags;
const SV39X4 = 8n << 60n;
const SV39 = 8n << 60n;

// Host memory: a G-stage Sv39x4 table (16 KiB root at 0x9000_0000) mapping guest pages to
// host pages, and nothing else readable.
const G_ROOT = 0x9000_0000n, G_L1 = 0x9000_4000n, G_L0 = 0x9000_5000n;
const hgatp = SV39X4 | (7n << 44n) | (G_ROOT >> 12n);
const words = new Map<bigint, bigint>();
/** Map guest page gpa -> host page hpa with 4 KiB G-stage leaves (all under one L1/L0 table). */
function gmap(gpa: bigint, hpa: bigint): void {
  words.set(G_ROOT + ((gpa >> 30n) & 0x7ffn) * 8n, pte(G_L1, V));
  words.set(G_L1 + ((gpa >> 21n) & 0x1ffn) * 8n, pte(G_L0, V));
  words.set(G_L0 + ((gpa >> 12n) & 0x1ffn) * 8n, pte(hpa, V | R | W | X | U | A | D));
}
const read = (hpa: bigint): bigint | undefined => (hpa >= 0x9000_0000n && hpa < 0x9001_0000n ? words.get(hpa) ?? 0n : undefined);

// The guest's VS-stage tables at GPA 0x8020_1000 (root), 0x8020_2000, 0x8020_3000, in host
// pages 0xa000_1000.., and its data page GPA 0x8040_0000 in host page 0xa000_9000.
gmap(0x8020_1000n, 0xa000_1000n);
gmap(0x8020_2000n, 0xa000_2000n);
gmap(0x8020_3000n, 0xa000_3000n);
gmap(0x8040_0000n, 0xa000_9000n);
const vsatp = SV39 | (0x8020_1000n >> 12n);
const va = 0x8040_0123n; // VPN[2] = 2, VPN[1] = 2, VPN[0] = 0
const vsSteps: WalkStep[] = [
  { kind: 'vs', level: 2, pteAddress: 0xa000_1000n + 2n * 8n, pte: pte(0x8020_2000n, V) },
  { kind: 'vs', level: 1, pteAddress: 0xa000_2000n + 2n * 8n, pte: pte(0x8020_3000n, V) },
  { kind: 'vs', level: 0, pteAddress: 0xa000_3000n, pte: pte(0x8040_0000n, V | R | W | A | D) },
];
const brief = (steps: ViewStep[]) => steps.map((s) => `${s.kind}${s.level}${s.cached ? '*' : ''}@${s.pteAddress.toString(16)}`);

describe('gStageSteps', () => {
  it('reads the Sv39x4 levels of a GPA: 11-bit root index, then 9 bits, ending at the leaf', () => {
    expect(brief(gStageSteps(0x8040_0000n, hgatp, 'g-final', read))).toEqual([
      'g-final2*@90000010', // root + (GPA >> 30 = 2) * 8
      'g-final1*@90004010', // L1 + ((GPA >> 21) & 0x1ff = 2) * 8
      'g-final0*@90005000', // L0 + ((GPA >> 12) & 0x1ff = 0) * 8
    ]);
    // A GPA above 4 GiB uses the root's extra index bits (Sv39x4: bits 40:30).
    expect(gStageSteps(0x1_4000_0000n, hgatp, 'g-final', read)[0].pteAddress).toBe(G_ROOT + 5n * 8n);
  });

  it('stops at an invalid PTE, returns nothing for hgatp Bare or unreadable tables', () => {
    const s = gStageSteps(0xc000_0000n, hgatp, 'g-for-vs', read);
    expect(s.map((x) => [x.level, x.pte])).toEqual([[2, 0n]]);
    expect(gStageSteps(0x8040_0000n, 0n, 'g-final', read)).toEqual([]);
    expect(gStageSteps(0x8040_0000n, SV39X4 | (0x7000_0000n >> 12n), 'g-final', read)).toEqual([]);
  });
});

describe('fillCachedGStage', () => {
  it('fills in a G-stage walk before every VS step the log has none for, and the final one', () => {
    const out = fillCachedGStage(vsSteps, va, 0xa000_9123n, vsatp, hgatp, read);
    expect(brief(out)).toEqual([
      'g-for-vs2*@90000010', 'g-for-vs1*@90004008', 'g-for-vs0*@90005008', 'vs2@a0001010',
      'g-for-vs2*@90000010', 'g-for-vs1*@90004008', 'g-for-vs0*@90005010', 'vs1@a0002010',
      'g-for-vs2*@90000010', 'g-for-vs1*@90004008', 'g-for-vs0*@90005018', 'vs0@a0003000',
      'g-final2*@90000010', 'g-final1*@90004010', 'g-final0*@90005000',
    ]);
  });

  it('keeps logged G-stage steps as they are (no fill before that VS step, none after a logged final walk)', () => {
    const logged: WalkStep[] = [
      ...gStageSteps(0x8020_1010n, hgatp, 'g-for-vs', read).map(({ cached: _, ...s }) => s),
      vsSteps[0], vsSteps[1], vsSteps[2],
      ...gStageSteps(0x8040_0000n, hgatp, 'g-final', read).map(({ cached: _, ...s }) => s),
    ];
    const out = fillCachedGStage(logged, va, 0xa000_9123n, vsatp, hgatp, read);
    expect(brief(out)).toEqual([
      'g-for-vs2@90000010', 'g-for-vs1@90004008', 'g-for-vs0@90005008', 'vs2@a0001010',
      'g-for-vs2*@90000010', 'g-for-vs1*@90004008', 'g-for-vs0*@90005010', 'vs1@a0002010',
      'g-for-vs2*@90000010', 'g-for-vs1*@90004008', 'g-for-vs0*@90005018', 'vs0@a0003000',
      'g-final2@90000010', 'g-final1@90004010', 'g-final0@90005000',
    ]);
  });

  it('vsatp Bare: the GVA is the GPA of the final walk; a failed walk gets no final walk', () => {
    expect(brief(fillCachedGStage([], 0x8040_0123n, 0xa000_9123n, 0n, hgatp, read)))
      .toEqual(['g-final2*@90000010', 'g-final1*@90004010', 'g-final0*@90005000']);
    expect(brief(fillCachedGStage(vsSteps.slice(0, 2), va, undefined, vsatp, hgatp, read))).toHaveLength(8);
  });

  it('no fill for a VS step whose computed GPA disagrees with its host address (vsatp changed since)', () => {
    const other = SV39 | (0x8020_7000n >> 12n); // page offset still agrees: fill with the other root's GPA
    expect(fillCachedGStage(vsSteps.slice(0, 1), va, undefined, other, hgatp, read)[2].pteAddress).toBe(G_L0 + 7n * 8n);
    const mismatch: WalkStep[] = [{ ...vsSteps[0], pteAddress: 0xa000_1ff8n }];
    expect(brief(fillCachedGStage(mismatch, va, undefined, vsatp, hgatp, read))).toEqual(['vs2@a0001ff8']);
  });
});

describe('the last walk of minikernel as a VM', () => {
  it('every filled-in G-stage walk ends at the host address the hart used', async () => {
    const kernel = loadImageFile('guests/bin/minikernel/minikernel.elf', KERNEL_RAW_BASE);
    const vm = await Vm.create({ memSize: 128 << 20, kernel, deterministic: true });
    vm.hart.walkLogOn = true;
    const r = await vm.run({ timeoutMs: 20_000 });
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    const w = vm.hart.lastWalk()!;
    const ram = vm.hostRam;
    const read64 = (hpa: bigint): bigint | undefined => {
      if (hpa < ram.base || hpa + 8n > ram.base + BigInt(ram.size)) return undefined;
      const b = ram.read(hpa, 8);
      return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
    };
    expect(w.pa).toBeDefined();
    const steps = fillCachedGStage(w.steps, w.va, w.pa, vm.vmcs.vsatp, vm.vmcs.hgatp, read64);
    const vs = steps.filter((s) => s.kind === 'vs');
    expect(vs.map((s) => s.level)).toEqual([2, 1, 0]);
    // Each VS step is preceded by a complete G-stage walk (three levels, ending at a leaf) whose
    // leaf maps the PTE's guest page to the host page the hart read the PTE from.
    const leafOf = (g: ViewStep[]) => g.at(-1)!;
    let i = 0;
    for (const s of vs) {
      const j = steps.indexOf(s, i);
      const g = steps.slice(i, j);
      expect(g.map((x) => `${x.kind}${x.level}`)).toEqual(['g-for-vs2', 'g-for-vs1', 'g-for-vs0']);
      expect(((leafOf(g).pte >> 10n) << 12n) | (s.pteAddress & 0xfffn)).toBe(s.pteAddress);
      i = j + 1;
    }
    const final = steps.slice(i);
    expect(final.map((x) => `${x.kind}${x.level}`)).toEqual(['g-final2', 'g-final1', 'g-final0']);
    expect(((leafOf(final).pte >> 10n) << 12n) | (w.pa! & 0xfffn)).toBe(w.pa);
  }, 30_000);
});
