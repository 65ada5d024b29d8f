/**
 * V8's tier-up budget for the JIT's modules (host/machine/jit-tiering.ts): raised once per
 * process, at the first region's compile and not before (the core, compiled earlier, keeps V8's
 * default budget for its own tier-up), and V8 reads it when a module is compiled, so a module
 * compiled before keeps the budget it had (docs/jit.md, "Boots are not slower").
 */
import { spawnSync } from 'node:child_process';
import binaryen from 'binaryen';
import { describe, expect, it, vi } from 'vitest';
import * as E from '../diff/encode';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { JIT_TIERING_BUDGET } from '../../host/machine/jit-tiering';

const flags = vi.hoisted(() => [] as string[]);
vi.mock('node:v8', async (orig) => ({
  ...(await orig<typeof import('node:v8')>()),
  setFlagsFromString: (f: string) => void flags.push(f),
}));

const BASE = 0x80000000n;
const FINISHER = 0x100000; // sifive_test (virt board): 0x5555 = pass

function li(rd: number, v: number): number[] {
  const lo = ((v & 0xfff) ^ 0x800) - 0x800;
  return [E.lui(rd, ((v - lo) >>> 12) & 0xfffff), E.aluI('addiw', rd, rd, lo)];
}

/**
 * A loop of `n` iterations over four blocks (as test/jit/pending.test.ts), then the test finisher:
 *        li   x20, n
 * loop:  addi x5, x5, 1 ; andi x6, x5, 1 ; beq x6, x0, even
 *        addi x7, x7, 1 ; jal x0, next
 * even:  addi x8, x8, 1
 * next:  addi x20, x20, -1 ; bne x20, x0, loop
 */
function loop(n: number): Uint8Array {
  const w = [
    ...li(20, n),
    E.aluI('addi', 5, 5, 1), E.aluI('andi', 6, 5, 1), E.branch('beq', 6, 0, 12),
    E.aluI('addi', 7, 7, 1), E.jal(0, 8),
    E.aluI('addi', 8, 8, 1),
    E.aluI('addi', 20, 20, -1), E.branch('bne', 20, 0, -28),
    ...li(31, FINISHER), ...li(30, 0x5555), E.store('sw', 30, 31, 0),
  ];
  const out = new Uint8Array(w.length * 4);
  const v = new DataView(out.buffer);
  w.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return out;
}

async function run(n: number, jitThreshold: number): Promise<Machine> {
  const m = await Machine.create({ memSize: 4 << 20, kernel: parseImage(loop(n), 'loop.bin', BASE), jit: 'on', jitThreshold, jitBackground: false });
  const r = await m.run({ timeoutMs: 60_000 });
  // li (2); 7 instructions per iteration that makes x5 odd, 6 per even one; the finisher's li,
  // li (its sw ends the run before it retires)
  const odd = Math.ceil(n / 2), even = Math.floor(n / 2);
  expect([r.reason, r.exitCode, r.instructions]).toEqual(['exit', 0, BigInt(2 + 7 * odd + 6 * even + 4)]);
  expect([m.hart.x(5), m.hart.x(7), m.hart.x(8)]).toEqual([BigInt(n), BigInt(odd), BigInt(even)]);
  return m;
}

describe('JIT: the tier-up budget of the JIT modules', () => {
  it('is set at the first region compile, once, and not for a machine that compiles nothing', async () => {
    // 1000 runs of the loop's block, threshold 2000: nothing compiled, no flag.
    const idle = await run(1000, 2000);
    expect(idle.stats().jit.compiles).toBe(0n);
    expect(flags).toEqual([]);
    // 1 M runs, threshold 64: one region (compiled synchronously, so at once: the count does
    // not depend on when a loaded machine's compiler thread finishes), and the flag with it.
    const hot = await run(1_000_000, 64);
    expect(hot.stats().jit.compiles).toBe(1n);
    expect(flags).toEqual([`--wasm-tiering-budget=${JIT_TIERING_BUDGET}`]);
    // Another machine's regions: the flag is not set again.
    const again = await run(1_000_000, 64);
    expect(again.stats().jit.compiles).toBe(1n);
    expect(flags).toEqual([`--wasm-tiering-budget=${JIT_TIERING_BUDGET}`]);
  }, 60_000);

  it("V8 reads the budget when a module is compiled: one compiled before the flag keeps V8's default and tiers up", () => {
    // A hot loop of 2 M iterations in each of two copies of one module: the first compiled
    // before the flag is raised, the second after; V8 traces each TurboFan compile, and the child
    // runs no other Wasm (binaryen, itself Wasm, builds the module here).
    const wat = '(module (func (export "f") (param i32) (result i32) (local i32) (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))) (local.get 1)))';
    const hex = Buffer.from(binaryen.parseText(wat).emitBinary()).toString('hex');
    const script = `
      import v8 from 'node:v8';
      const bytes = Buffer.from('${hex}', 'hex');
      const before = new WebAssembly.Module(bytes);
      v8.setFlagsFromString('--wasm-tiering-budget=${JIT_TIERING_BUDGET}');
      const after = new WebAssembly.Module(bytes);
      console.log('before', new WebAssembly.Instance(before).exports.f(2000000));
      // (V8's compiler thread, on a loaded machine, gets 2 s to finish the first one's tier-up)
      setTimeout(() => {
        console.log('after', new WebAssembly.Instance(after).exports.f(2000000));
        setTimeout(() => {}, 2000);
      }, 2000);
    `;
    const r = spawnSync(process.execPath, ['--trace-wasm-compilation-times', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect([r.status, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('before') || l.startsWith('after') || l.includes('using TurboFan'));
    // The module compiled before the flag tiers up during its 2 M iterations; the one after does not.
    expect(lines.map((l) => (l.includes('using TurboFan') ? 'TurboFan' : l)).sort()).toEqual(['TurboFan', 'after 2000000', 'before 2000000']);
    expect(lines.findIndex((l) => l.includes('using TurboFan'))).toBeLessThan(lines.indexOf('after 2000000'));
  }, 60_000);
});
