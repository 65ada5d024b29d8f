/**
 * Binary translation against trap-and-emulate, differentially: random sequences of CSR
 * instructions (csrrw/rs/rc and their immediate forms) on the virtual supervisor CSRs, run by a
 * guest kernel under --virt trap (each one traps and trap-csr.ts emulates it) and under
 * --virt bt (each one an inline site, btvirt.ts), interpreted and compiled: every value read and
 * every virtual CSR left behind must be equal. Sources never set bit 1 (SIE, SSIE, SSIP), so no
 * interrupt is ever enabled; satp and stimecmp are only read (their writes are call-outs, which
 * use trap.ts's own emulation).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../../host/machine/loader';
import { Vm } from '../../../host/vmm/vm';
import * as E from '../../diff/encode';
import { fcSeed } from '../../fc-seed';
import { assemble, li, shutdown } from '../guests';

const BASE = 0x80200000n;
const SEED = fcSeed(0x5bd1);
const RUNS = 25;
const S0 = 8;
/** Read/write CSRs, and the ones only read. */
const RW = [0x100, 0x104, 0x105, 0x106, 0x10a, 0x140, 0x141, 0x142, 0x143, 0x144];
const RO = [0x180, 0x14d];
/** Sources: t0, t1, t2, s1 (random values, bit 1 clear); results go to a0..a5. */
const SRC = [5, 6, 7, 9];
const DST = [10, 11, 12, 13, 14, 15];

const csr = (f3: number, rd: number, c: number, rs1: number) => ((c << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x73) >>> 0;

const opArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      c: fc.constantFrom(...RW), f3: fc.constantFrom(1, 2, 3, 5, 6, 7), rd: fc.constantFrom(...DST, 0),
      src: fc.constantFrom(...SRC, 0), imm: fc.integer({ min: 0, max: 31 }).map((i) => i & ~2),
    }),
  },
  { weight: 1, arbitrary: fc.record({ c: fc.constantFrom(...RO), f3: fc.constant(2), rd: fc.constantFrom(...DST), src: fc.constant(0), imm: fc.constant(0) }) },
);
const valueArb = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }).map((v) => v & ~2);

function program(values: number[], ops: { c: number; f3: number; rd: number; src: number; imm: number }[]): number[] {
  const w: number[] = [E.auipc(S0, 8)]; // s0 = BASE + 0x8000: where results go
  SRC.forEach((r, i) => w.push(...li(r, values[i])));
  let slot = 0;
  for (const o of ops) {
    w.push(csr(o.f3, o.rd, o.c, o.f3 >= 5 ? o.imm : o.src));
    if (o.rd !== 0) w.push(E.store('sd', o.rd, S0, 8 * slot++));
  }
  return [...w, ...shutdown(0)];
}

async function run(words: number[], virt: 'trap' | 'bt', jit: 'off' | 'always') {
  const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(assemble(words), 'guest.bin', BASE), deterministic: true, virt, jit });
  const r = await vm.run({ maxInstructions: 20_000n, timeoutMs: 30_000 });
  const bytes = vm.readGuest(BASE + 0x8000n, 8 * 64) as Uint8Array;
  const v = vm.vmcs;
  return {
    end: [r.failure, r.exitCode],
    results: Array.from(bytes),
    csrs: [v.vsstatus, v.hie, v.hvip, v.vstvec, v.vsscratch, v.vsepc, v.vscause, v.vstval, v.scounteren, v.senvcfg, v.priv],
    emulated: vm.exits.rows().filter((row) => row.reason.endsWith('(emulated)')).reduce((n, row) => n + row.count, 0),
  };
}

describe('--virt bt: inline CSR sites are trap-and-emulate, differentially', () => {
  it('random CSR sequences read and leave the same values under trap and bt (interpreted and compiled)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(valueArb, { minLength: 4, maxLength: 4 }), fc.array(opArb, { minLength: 1, maxLength: 40 }), async (values, ops) => {
        const words = program(values, ops);
        const trap = await run(words, 'trap', 'off');
        expect(trap.end).toEqual([undefined, 0]);
        expect(trap.emulated).toBe(ops.length); // each CSR instruction trapped once
        for (const jit of ['off', 'always'] as const) {
          const bt = await run(words, 'bt', jit);
          expect({ ...bt, emulated: 0 }).toEqual({ ...trap, emulated: 0 });
          expect(bt.emulated).toBe(0); // and none trapped
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 240_000);
});
