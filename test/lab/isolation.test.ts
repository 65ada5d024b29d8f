/**
 * Isolation holds under every technique (issue 13, part 6): the hostile-guest suites of
 * test/vmm/isolation.test.ts and test/hostile/storms.test.ts, run under each combination the
 * lab's registry says this build supports (host/lab/combos.ts), so bt, pv and hw with shadow
 * paging join them when their branches teach the run parser their modes.
 *
 * What is asserted is what must not depend on the technique (exits differ by design: a shadow
 * fill is not a first touch of the G-stage):
 *   - the hostile guest (wild page tables, probes of the whole guest-physical space, wild SBI
 *     calls; test/vmm/hostile.ts; fixed seeds, and a fast-check property over its seeds) ends with exit 0 and its message; its own trap
 *     handler counted exactly the traps the model predicts per scause; every SBI call returned
 *     what the spec gives; every device access was emulated exactly as the model says (the MMIO
 *     and SBI exits); no byte of host RAM outside the VM's frames changed; every translation the
 *     VMM made (G-stage leaves, shadow leaves) leads to a frame of one of the guest's own pages;
 *   - a page-table pointer outside RAM stops the VM with one report line, nothing else written;
 *   - trap storms (VS-mode handlers that trap again; infinite loops of traps) end at the wall
 *     clock and instruction limits, with nothing on the console after the mark.
 * The full, hw-specific audit (exact exit table, G-stage shape, hedeleg) stays in test/vmm/.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fcSeed } from '../fc-seed';
import { comboOptions, supportedCombos, type Combo } from '../../host/lab/combos';
import { parseImage } from '../../host/machine/loader';
import { FRAME_SIZE } from '../../host/vmm/frames';
import { Vm } from '../../host/vmm/vm';
import { STORM_MARK, stvecEbreak, stvecIllegal, stvecUnmapped } from '../hostile/storms-guests';
import * as E from '../diff/encode';
import { Asm } from '../vmm/asm';
import { damagedCanary, plantCanary, walkGStage } from '../vmm/audit';
import { buildHostile, COUNTS, expectHostile, HOSTILE_MEM, HOSTILE_MSG, RAM_BASE, RAM_END, RESULTS, type SbiEvent } from '../vmm/hostile';

/** Fixed seeds (fewer than test/vmm's: each runs under every technique). */
const SEEDS = [1n, 0x5eedn] as const;
/** The property over the hostile generator's seeds: its own fixed seed, few runs per technique. */
const FC_SEED = 0x1ab_13;
const FC_RUNS = 3;

const reasons = (vm: Vm) => Object.fromEntries(vm.exits.rows().map((r) => [r.reason, r.count]));
/** The exits every technique takes alike: device emulation and SBI calls. */
const deviceAndSbi = (exits: Record<string, number>) => Object.fromEntries(Object.entries(exits).filter(([r]) => r.startsWith('MMIO ') || r.startsWith('SBI ')));

async function vmFor(combo: Combo, image: Uint8Array, name: string, memSize = HOSTILE_MEM, out?: number[]): Promise<Vm> {
  // The run options the CLI makes of the combination (as the lab and the web page use them).
  const o = comboOptions(combo, [name]);
  return Vm.create({
    memSize, kernel: parseImage(image, name, 0x80200000n), deterministic: true, virt: o.virt, paging: o.paging,
    onConsoleOutput: (b) => out?.push(...b),
  });
}

/** The host frames of the guest's populated RAM pages. */
function guestFrames(vm: Vm): Set<bigint> {
  const s = new Set<bigint>();
  for (let p = RAM_BASE; p < RAM_END; p += FRAME_SIZE) if (vm.isPopulated(p)) s.add(vm.gpaToHpa(p)!);
  return s;
}

/** Every translation the VMM keeps leads to one of the guest's own frames; how many it checked. */
function auditTranslations(vm: Vm): number {
  const own = guestFrames(vm);
  let n = 0;
  if ((vm.vmcs.hgatp >> 60n) !== 0n) {
    const g = walkGStage(vm);
    expect(g.oddities).toEqual([]);
    for (const f of g.leaves.values()) expect(own.has(f), `G-stage leaf -> 0x${f.toString(16)}`).toBe(true);
    n += g.leaves.size;
    for (const f of g.tables) expect(vm.frames.owns(f)).toBe(true);
  }
  const shadow = (vm.vcpu.technique as { shadow?: { leaves?: () => Iterable<{ va: bigint; hpa: bigint }> } }).shadow;
  if (typeof shadow?.leaves === 'function') {
    for (const l of shadow.leaves()) {
      expect(own.has(l.hpa), `shadow leaf 0x${l.va.toString(16)} -> 0x${l.hpa.toString(16)}, not a guest frame`).toBe(true);
      n++;
    }
  }
  return n;
}

/** The hostile guest of `seed` under `combo`, and every technique-independent check of its run. */
async function hostileRun(combo: Combo, seed: bigint): Promise<void> {
  const guest = buildHostile(seed);
  const out: number[] = [];
  const vm = await vmFor(combo, guest.image, `hostile-${seed}.bin`, HOSTILE_MEM, out);
  const expected = expectHostile(guest.events, new Set());
  const canary = plantCanary(vm);
  const r = await vm.run({ maxInstructions: 5_000_000n, timeoutMs: 30_000 });
  expect(r.failure).toBeUndefined();
  expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
  const text = Buffer.from(out).toString('latin1');
  expect(text.endsWith(HOSTILE_MSG)).toBe(true);
  expect(text).toContain(guest.sbiOutput);
  const dv = new DataView(vm.readGuest(COUNTS, 32 * 8)!.buffer);
  expect(Array.from({ length: 32 }, (_, i) => Number(dv.getBigUint64(i * 8, true)))).toEqual(expected.traps);
  const calls = guest.events.filter((e): e is SbiEvent => e.kind === 'sbi' && e.slot !== undefined);
  const rv = new DataView(vm.readGuest(RESULTS, calls.length * 16)!.buffer);
  expect(calls.map((c) => ({ a7: c.a7, a0: BigInt.asIntN(64, rv.getBigUint64(c.slot! * 16, true)), ...(c.a1 !== undefined ? { a1: rv.getBigUint64(c.slot! * 16 + 8, true) } : {}) })))
    .toEqual(calls.map((c) => ({ a7: c.a7, a0: BigInt.asIntN(64, c.a0), ...(c.a1 !== undefined ? { a1: c.a1 } : {}) })));
  expect(deviceAndSbi(reasons(vm))).toEqual(deviceAndSbi(expected.exits));
  expect(Object.keys(reasons(vm)).filter((k) => k.startsWith('fatal'))).toEqual([]);
  expect(damagedCanary(vm, canary)).toEqual([]);
  expect(auditTranslations(vm)).toBeGreaterThan(0);
}

for (const combo of supportedCombos()) {
  describe(`isolation under ${combo.id}`, () => {
    for (const seed of SEEDS) {
      it(`hostile guest, seed ${seed}: its traps, SBI results and device exits are the model's; host RAM intact; every translation to its own frames`, () => hostileRun(combo, seed), 60_000);
    }

    it(`property (fast-check, seed ${FC_SEED}, ${FC_RUNS} runs): for any seed of the hostile generator, the same holds`, async () => {
      await fc.assert(fc.asyncProperty(fc.bigInt({ min: 2n, max: (1n << 48n) - 1n }), (seed) => hostileRun(combo, seed)), { seed: fcSeed(FC_SEED), numRuns: FC_RUNS });
    }, 120_000);

    it('a page-table pointer to guest-physical 0x10000000 (a device) or 2^41 (nothing) stops the VM with one report line; host RAM intact', async () => {
      const T0 = 5, T1 = 6;
      for (const gpa of [0x10000000n, 1n << 41n]) {
        const a = new Asm(0x80200000n);
        const ROOT = 0x80201000n;
        const root = new Uint8Array(4096);
        const dv = new DataView(root.buffer);
        dv.setBigUint64(2 * 8, ((0x80000000n >> 12n) << 10n) | 0xcfn, true); // own code: 1 GiB identity, V R W X A D
        dv.setBigUint64(0, ((gpa >> 12n) << 10n) | 1n, true); // [0] -> "L1" at gpa
        a.li64(T0, (8n << 60n) | (ROOT >> 12n)).emit(((0x180 << 20) | (T0 << 15) | (1 << 12) | 0x73) >>> 0, 0x12000073);
        a.li64(T0, 0x1000n).label('load').emit(E.load('ld', T1, T0, 0), E.jal(0, 0));
        a.place(ROOT, root);
        const vm = await vmFor(combo, a.finish(0x2000), 'guest.bin', 16 << 20);
        const canary = plantCanary(vm);
        const r = await vm.run({ maxInstructions: 100_000n, timeoutMs: 10_000 });
        expect(r).toMatchObject({ reason: 'exit', exitCode: 1 });
        expect(r.failure).toMatch(new RegExp(`^guest\\.bin: VM stopped: [^\\n]*0x${gpa.toString(16)}[^\\n]*pc 0x${a.addr('load').toString(16)}[^\\n]*$`));
        expect(Object.keys(reasons(vm)).filter((k) => k.startsWith('fatal')).length).toBe(1);
        expect(vm.exitCode).toBeUndefined(); // the test finisher was not "read"
        expect(damagedCanary(vm, canary)).toEqual([]);
      }
    }, 60_000);

    for (const [name, image] of [['stvec at an ebreak', stvecEbreak], ['stvec at an unmapped page (Sv39)', stvecUnmapped], ['stvec at an illegal instruction', stvecIllegal]] as const) {
      it(`trap storm, ${name}: a 0.5 s wall-clock limit ends it (within 2 s), and so does a limit of 50,000 instructions or traps`, async () => {
        const out: number[] = [];
        const vm = await vmFor(combo, image(), 'storm.bin', 16 << 20, out);
        const t0 = performance.now();
        const r = await vm.run({ timeoutMs: 500 });
        expect(r.failure).toBeUndefined();
        expect(r.reason).toBe('timeout');
        expect(performance.now() - t0).toBeLessThan(2500);
        expect(Buffer.from(out).toString('latin1')).toBe(STORM_MARK);
        const r2 = await vm.run({ maxInstructions: 50_000n, timeoutMs: 10_000 });
        expect(r2.reason).toBe('max-instructions');
        expect(r2.failure).toBeUndefined();
        expect(Buffer.from(out).toString('latin1')).toBe(STORM_MARK);
      }, 30_000);
    }
  });
}
