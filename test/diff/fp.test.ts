/**
 * Differential fuzzing of F and D against QEMU (test/diff/fp-fuzz.ts): per case, the result
 * bits and the fflags one instruction raised must be those QEMU gives, in every rounding mode,
 * static and dynamic. Each program also runs on wasmvisor's two tiers, the interpreter
 * (--jit off) and every block compiled on its first run (--jit always): both must print the
 * same lines.
 *
 * Default: FP_FUZZ_PROGRAMS=4 programs of FP_FUZZ_CASES=1500 cases (6000 cases). The long
 * run: e.g. FP_FUZZ_PROGRAMS=200 FP_FUZZ_CASES=5000 (one million cases). FP_FUZZ_SEED_BASE=s
 * starts at seed s (default 1). A failure names the seed and the case.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { buildFpProgram, caseInsn, describeCase, firstMismatch, FP_OPS, parseResults, type FpProgram } from './fp-fuzz';
import { runQemu } from './qemu';
import { oracle } from '../oracles';

const PROGRAMS = Number(process.env.FP_FUZZ_PROGRAMS ?? 4);
const CASES = Number(process.env.FP_FUZZ_CASES ?? 1500);
const BASE = Number(process.env.FP_FUZZ_SEED_BASE ?? 1);
const seeds = Array.from({ length: PROGRAMS }, (_, i) => BASE + i);

const haveQemu = oracle('qemu', 'test/diff/fp.test.ts');
if (!haveQemu) console.warn('test/diff/fp.test.ts: skipped: qemu-system-riscv64 not found (install qemu-system-misc)');

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-fpfuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run a program on wasmvisor's bare machine with one tier; the console text and how it ended. */
async function runTier(p: FpProgram, jit: 'off' | 'always') {
  const out: Uint8Array[] = [];
  const m = await Machine.create({
    memSize: 128 << 20,
    kernel: parseImage(p.image, `fp-${p.seed}.bin`, 0x80000000n),
    deterministic: true,
    jit,
    onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
  });
  const r = await m.run({ timeoutMs: 60_000 });
  return { text: Buffer.concat(out).toString('latin1'), end: [r.reason, r.exitCode], compiled: m.stats().jit.instructions };
}

describe('FP fuzz program generator', () => {
  it('is reproducible, covers every F/D computational row, and uses every rounding mode', () => {
    const a = buildFpProgram(7, 3000), b = buildFpProgram(7, 3000), c = buildFpProgram(8, 3000);
    expect(Buffer.from(a.image).equals(Buffer.from(b.image))).toBe(true);
    expect(Buffer.from(a.image).equals(Buffer.from(c.image))).toBe(false);
    expect(new Set(a.cases.map((k) => k.op))).toEqual(new Set(FP_OPS));
    const rms = new Set(a.cases.map((k) => (k.rm === 7 ? `dyn${k.frm}` : `rm${k.rm}`)));
    for (const m of ['rm0', 'rm1', 'rm2', 'rm3', 'rm4', 'dyn0', 'dyn1', 'dyn2', 'dyn3', 'dyn4']) expect(rms).toContain(m);
    expect(describeCase(a.cases[0])).toContain(a.cases[0].op);
    expect(caseInsn(a.cases[0]) >>> 0).toBeGreaterThan(0);
  });
});

describe.skipIf(!haveQemu)(`wasmvisor matches QEMU on F/D: ${PROGRAMS} programs x ${CASES} cases`, () => {
  it.each(seeds)('seed %i', async (seed) => {
    const p = buildFpProgram(seed, CASES);
    const file = join(dir, `fp-${seed}.bin`);
    writeFileSync(file, p.image);
    const q = await runQemu(file, { timeoutMs: 60_000 });
    expect(q.exitCode, `seed ${seed}: QEMU exit status (stderr: ${q.stderr.trim()})`).toBe(0);
    const want = parseResults(q.stdout);
    expect(want.length, `seed ${seed}: QEMU printed every case`).toBe(2 * CASES);
    const rerun = `rerun: FP_FUZZ_PROGRAMS=1 FP_FUZZ_SEED_BASE=${seed} FP_FUZZ_CASES=${CASES} npx vitest run test/diff/fp.test.ts`;
    for (const jit of ['off', 'always'] as const) {
      const w = await runTier(p, jit);
      expect(w.end, `seed ${seed} --jit ${jit}: end of run`).toEqual(['exit', 0]);
      const diff = firstMismatch(p, want, parseResults(w.text), ['qemu', `wasmvisor --jit ${jit}`]);
      expect(diff, `${diff}\n${rerun}`).toBeUndefined();
      if (jit === 'always') expect(w.compiled, 'the JIT ran the integer parts of the program').toBeGreaterThan(0n);
    }
  }, 240_000);
});
