/**
 * Differential fuzzing: random RV64IMAC instruction streams (test/diff/fuzz.ts) run on QEMU and
 * on wasmvisor must leave the same 31 registers and the same scratch memory.
 *
 * FUZZ_SEEDS=n runs n programs (default 20), FUZZ_LENGTH=n instructions each (default 300),
 * FUZZ_SEED_BASE=s starts at seed s (default 1). A failure names the seed: rerun it alone with
 * FUZZ_SEEDS=1 FUZZ_SEED_BASE=<seed>.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram, DUMP_KEYS, firstDifference, parseDump } from './fuzz';
import { qemuAvailable, runQemu } from './qemu';
import { loadMachine, runWasmvisor } from './wasmvisor';

const SEEDS = Number(process.env.FUZZ_SEEDS ?? 20);
const LENGTH = Number(process.env.FUZZ_LENGTH ?? 300);
const BASE = Number(process.env.FUZZ_SEED_BASE ?? 1);
const seeds = Array.from({ length: SEEDS }, (_, i) => BASE + i);

const haveQemu = qemuAvailable();
const machine = await loadMachine();
if (!haveQemu) console.warn('test/diff/fuzz.test.ts: skipped: qemu-system-riscv64 not found (install qemu-system-misc)');
if (machine instanceof Error) console.warn(`test/diff/fuzz.test.ts: wasmvisor side skipped: ${machine.message}`);

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fuzz program generator', () => {
  it('is reproducible: the same seed gives the same bytes, another seed different ones', () => {
    const a = buildProgram(42, LENGTH), b = buildProgram(42, LENGTH), c = buildProgram(43, LENGTH);
    expect(Buffer.from(a.image).equals(Buffer.from(b.image))).toBe(true);
    expect(Buffer.from(a.image).equals(Buffer.from(c.image))).toBe(false);
    expect(a.listing.length).toBeGreaterThan(LENGTH / 3);
  });
});

describe('dump comparison', () => {
  const dump = (x5: string) =>
    DUMP_KEYS.map((k) => `${k} ${k === 'x5' ? x5 : '00000000000000' + (k === 'mem' ? 'ff' : '01')}`).join('\r\n') + '\r\n';
  it('parses all 32 lines and names the first differing register', () => {
    const a = parseDump(dump('0000000000000005')), b = parseDump(dump('ffffffffffffffff'));
    expect([...a.keys()]).toEqual(DUMP_KEYS);
    expect(firstDifference(a, a)).toBeUndefined();
    expect(firstDifference(a, b)).toBe('x5: qemu 0000000000000005, wasmvisor ffffffffffffffff');
    expect(firstDifference(a, parseDump('x1 0000000000000001\n'))).toBe('x2: qemu 0000000000000001, wasmvisor (missing)');
  });
});

describe.skipIf(!haveQemu)('QEMU runs the fuzz programs to completion', () => {
  it('prints all 31 registers and the memory hash, and exits 0 through the finisher', async () => {
    const p = buildProgram(BASE, LENGTH);
    const file = join(dir, `check-${BASE}.bin`);
    writeFileSync(file, p.image);
    const q = await runQemu(file, { timeoutMs: 20_000 });
    expect(q.timedOut).toBe(false);
    expect(q.exitCode).toBe(0);
    const dump = parseDump(q.stdout);
    expect([...dump.keys()]).toEqual(DUMP_KEYS);
    expect(dump.get('x8')).toBe(p.base.toString(16).padStart(16, '0')); // the base register, never written
  });
});

describe.skipIf(!haveQemu || machine instanceof Error)('wasmvisor matches QEMU on random instruction streams', () => {
  it.each(seeds)('seed %i', async (seed) => {
    const p = buildProgram(seed, LENGTH);
    const file = join(dir, `seed-${seed}.bin`);
    writeFileSync(file, p.image);
    const q = await runQemu(file, { timeoutMs: 20_000 });
    expect(q.exitCode, `seed ${seed}: QEMU exit status (stderr: ${q.stderr.trim()})`).toBe(0);
    const w = await runWasmvisor(p.image, `seed-${seed}.bin`, { timeoutMs: 20_000 });
    const diff = firstDifference(parseDump(q.stdout), parseDump(w.stdout));
    const rerun = `rerun: FUZZ_SEEDS=1 FUZZ_SEED_BASE=${seed} FUZZ_LENGTH=${LENGTH} npx vitest run test/diff/fuzz.test.ts`;
    expect(diff, `seed ${seed}: first difference ${diff}\n${rerun}\nprogram:\n${p.listing.join('\n')}`).toBeUndefined();
    expect([w.reason, w.exitCode], `seed ${seed}: wasmvisor end of run`).toEqual(['exit', 0]);
  }, 60_000);
});
