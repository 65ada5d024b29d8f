/**
 * Differential fuzzing: random instruction streams (test/diff/fuzz.ts, in batch images built by
 * test/diff/fuzz-image.ts) run on QEMU (-cpu rv64,h=true) and on wasmvisor, with the JIT on
 * (hot loops compile) and with jit 'always' (every block compiled): each case must end with
 * the same registers, scratch memory and trap log (mcause, mtval, mepc of every trap).
 *
 *   FUZZ_CASES=n    cases to run (default below; `npm run fuzz:long` runs 1,000,000)
 *   FUZZ_SEED=s     run seed (default 1): case i of seed s is always the same program
 *   FUZZ_LENGTH=n   top-level items per case (default 40; loops hold more)
 *   FUZZ_BATCH=n    cases per image, i.e. per QEMU start (default 100)
 *   FUZZ_CASE=i     run case i alone and print its full dump on both machines
 *   FUZZ_PROGRESS=f append a line per batch to file f (cases done, rate): for long runs
 *
 * A failure names the seed and case, the first differing register and how to rerun it.
 * scripts/fuzz.mjs sets these from --cases/--seed/--length/--batch.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ISA } from '../../assembly/isa/table';
import { findRow } from '../../host/isa/disasm';
import { oracle } from '../oracles';
import { buildBatch, DUMP_KEYS, firstDifference, listing, parseDumps, parseHashes, type FuzzBatch } from './fuzz-image';
import { generateCase } from './fuzz';
import { runQemu } from './qemu';
import { runWasmvisor } from './wasmvisor';

const env = (name: string, dflt: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`test/diff/fuzz.test.ts: ${name}=${v} is not a count`);
  return n;
};
const ONE = process.env.FUZZ_CASE !== undefined && process.env.FUZZ_CASE !== '' ? env('FUZZ_CASE', 0) : undefined;
const CASES = ONE !== undefined ? 1 : env('FUZZ_CASES', 1000);
const SEED = env('FUZZ_SEED', 1);
const LENGTH = env('FUZZ_LENGTH', 40);
const BATCH = Math.max(1, env('FUZZ_BATCH', 100));
const FIRST = ONE ?? 0;
const batches = Array.from({ length: Math.ceil(CASES / BATCH) }, (_, i) => [FIRST + i * BATCH, Math.min(BATCH, CASES - i * BATCH)] as const);

/** QEMU with the H extension, so that hlv/hsv/hfence are instructions there too. */
const CPU = 'rv64,h=true';
const WASM_MEM = 16 << 20; // the programs use 2 pages; a small RAM keeps Machine.create cheap

/**
 * Table rows the stream never holds, and why. Everything else in assembly/isa/table.ts must be
 * reached: the coverage test below fails when a row is added and the generator does not know it.
 */
/** The compressed F/D loads and stores (extension C in the table, tested by the F/D fuzzer). */
const FP_RVC = new Set(['c.fld', 'c.fsd', 'c.fldsp', 'c.fsdsp']);

export const UNREACHABLE: Record<string, string> = {
  mret: 'returns to mstatus.MPP at mepc: a privilege change, which the privileged fuzzer (test/diff/priv*) covers; the trap handler runs one per trap',
  sret: 'returns to mstatus.SPP at sepc: a privilege change, covered by the privileged fuzzer',
  wfi: 'QEMU stops the hart until an interrupt, and the stream enables none: a hang, not a result',
};

const haveQemu = oracle('qemu', 'test/diff/fuzz.test.ts');
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rerun = (i: number) => `rerun: FUZZ_CASE=${i} FUZZ_SEED=${SEED} FUZZ_LENGTH=${LENGTH} npx vitest run test/diff/fuzz.test.ts`;

describe('fuzz case generator', () => {
  it('is reproducible: the same seed and case give the same bytes, another case different ones', () => {
    const a = buildBatch(SEED, 5, 2, LENGTH), b = buildBatch(SEED, 5, 2, LENGTH), c = buildBatch(SEED, 6, 2, LENGTH);
    expect(Buffer.from(a.image).equals(Buffer.from(b.image))).toBe(true);
    expect(Buffer.from(a.image).equals(Buffer.from(c.image))).toBe(false);
    // a case does not depend on the batch it is in
    expect(listing(a.cases[1])).toBe(listing(c.cases[0]));
  });

  it('reaches every row of the ISA table except the listed ones (coverage over 300 cases)', () => {
    const hits = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      for (const insn of generateCase(SEED, i, LENGTH).insns) {
        const row = findRow(insn.bits);
        expect(row, `case ${i}: 0x${insn.bits.toString(16)} is no instruction`).toBeDefined();
        hits.set(row![0], (hits.get(row![0]) ?? 0) + 1);
      }
    }
    // F and D have their own differential fuzzer (test/diff/fp*.ts), over operands that matter
    // there (NaNs, subnormals, rounding modes); this stream is integer and system code.
    const rows = ISA.filter((r) => r[1] !== 'F' && r[1] !== 'D' && !FP_RVC.has(r[0])).map((r) => r[0]);
    const reached = rows.filter((n) => hits.has(n));
    const missed = rows.filter((n) => !hits.has(n));
    console.log(`instruction fuzzer coverage: ${reached.length} of ${rows.length} table rows reached; not reached: ` +
      missed.map((n) => `${n} (${UNREACHABLE[n] ?? 'NO REASON'})`).join('; '));
    expect(missed).toEqual(Object.keys(UNREACHABLE).filter((n) => rows.includes(n)).sort((x, y) => rows.indexOf(x) - rows.indexOf(y)));
    // the classes the stream exists for are frequent, not one-offs
    for (const n of ['rem', 'div', 'jalr', 'c.jr', 'c.jalr', 'c.lwsp', 'c.sdsp', 'csrrw', 'hlv.d', 'bne']) {
      expect(hits.get(n) ?? 0, n).toBeGreaterThan(20);
    }
  });
});

describe('dump comparison', () => {
  const dump = (x5: string) =>
    DUMP_KEYS.map((k) => `${k} ${k === 'x5' ? x5 : '00000000000000' + (k === 'mem' ? 'ff' : '01')}`).join('\r\n') + '\r\n';
  it('parses every line of a case and names the first differing register', () => {
    const [a] = parseDumps(dump('0000000000000005')), [b] = parseDumps(dump('ffffffffffffffff'));
    expect([...a.keys()]).toEqual(DUMP_KEYS);
    expect(firstDifference(a, a)).toBeUndefined();
    expect(firstDifference(a, b)).toBe('x5: qemu 0000000000000005, wasmvisor ffffffffffffffff');
    expect(firstDifference(a, parseDumps('x1 0000000000000001\n')[0])).toBe('x2: qemu 0000000000000001, wasmvisor (missing)');
    expect(parseDumps(dump('0000000000000005') + dump('0000000000000006')).map((m) => m.get('x5'))).toEqual(['0000000000000005', '0000000000000006']);
    expect(parseHashes('h 0123456789abcdef\r\nnoise\nh fedcba9876543210\n')).toEqual(['0123456789abcdef', 'fedcba9876543210']);
  });
});

/** Run a batch image on QEMU: its console output. */
async function qemu(b: FuzzBatch, tag: string): Promise<string> {
  const file = join(dir, `${tag}-${SEED}-${b.first}.bin`);
  writeFileSync(file, b.image);
  const q = await runQemu(file, { timeoutMs: 60_000, cpu: CPU });
  rmSync(file); // a long run writes thousands of images
  expect([q.timedOut, q.exitCode], `QEMU on cases ${b.first}.. (stderr: ${q.stderr.trim()})`).toEqual([false, 0]);
  return q.stdout;
}

/** Run one case alone in full mode on both machines (and both JIT modes): the first difference, if any. */
async function diagnose(i: number): Promise<string | undefined> {
  const b = buildBatch(SEED, i, 1, LENGTH, true);
  const [want] = parseDumps(await qemu(b, 'case'));
  for (const jit of ['on', 'always', 'off'] as const) {
    const w = await runWasmvisor(b.image, `fuzz-case-${i}.bin`, { timeoutMs: 60_000, memSize: WASM_MEM, jit });
    const diff = firstDifference(want, parseDumps(w.stdout)[0], ['qemu', `wasmvisor (jit ${jit})`]);
    if (diff !== undefined) return diff;
  }
  return undefined;
}

const totals = { cases: 0, jitCalls: 0n, jitInstructions: 0n, instructions: 0n, ms: 0 };

describe.skipIf(!haveQemu)('QEMU runs the fuzz cases to completion', () => {
  it('full mode prints every register, the scratch hash and the trap log of each case; x8 is the base', async () => {
    const b = buildBatch(SEED, FIRST, 2, LENGTH, true);
    const dumps = parseDumps(await qemu(b, 'check'));
    expect(dumps.map((d) => [...d.keys()])).toEqual([DUMP_KEYS, DUMP_KEYS]);
    for (const d of dumps) expect(d.get('x8')).toBe(b.base.toString(16).padStart(16, '0'));
  }, 120_000);
});

describe.skipIf(!haveQemu)(`wasmvisor matches QEMU on ${CASES} random cases (seed ${SEED}, ${LENGTH} items each)`, () => {
  it.each(batches)('cases %i.. (%i)', async (first, count) => {
    const t0 = performance.now();
    const b = buildBatch(SEED, first, count, LENGTH, ONE !== undefined);
    const q = await qemu(b, 'batch');
    for (const jit of ['on', 'always'] as const) {
      const w = await runWasmvisor(b.image, `fuzz-${first}.bin`, { timeoutMs: 120_000, memSize: WASM_MEM, jit });
      expect([w.reason, w.exitCode], `cases ${first}..: wasmvisor (jit ${jit}) end of run`).toEqual(['exit', 0]);
      const want = ONE !== undefined ? parseDumps(q).map((m) => [...m.values()].join(' ')) : parseHashes(q);
      const got = ONE !== undefined ? parseDumps(w.stdout).map((m) => [...m.values()].join(' ')) : parseHashes(w.stdout);
      expect(want.length, 'QEMU reported every case').toBe(count);
      const k = got.findIndex((h, j) => h !== want[j]);
      if (k >= 0 || got.length !== want.length) {
        const i = first + (k >= 0 ? k : got.length);
        const diff = (await diagnose(i)) ?? `the batch hashes differ (jit ${jit}) but the case alone agrees: look at the cases before it`;
        expect.fail(`seed ${SEED}, case ${i} (jit ${jit}): first difference ${diff}\n${rerun(i)}\nprogram:\n${listing(b.cases[i - first])}`);
      }
      if (jit === 'on') {
        totals.jitCalls += w.jit.calls;
        totals.jitInstructions += w.jit.instructions;
        totals.instructions += w.instructions;
      }
      if (jit === 'always') expect(w.jit.failures, 'regions the JIT refused').toBe(0n);
    }
    totals.cases += count;
    totals.ms += performance.now() - t0;
    if (process.env.FUZZ_PROGRESS) {
      appendFileSync(process.env.FUZZ_PROGRESS, `${new Date().toISOString()} seed ${SEED}: ${totals.cases} of ${CASES} cases agree ` +
        `(through case ${first + count - 1}), ${(totals.cases / (totals.ms / 1000)).toFixed(1)} cases/s\n`);
    }
  }, 600_000);

  it.skipIf(ONE !== undefined)('the JIT ran: hot loops compiled under jit on (not only the interpreter)', () => {
    console.log(`instruction fuzzer: ${totals.cases} cases, ${totals.instructions} instructions (jit on, ${totals.jitInstructions} compiled), ` +
      `${(totals.cases / (totals.ms / 1000)).toFixed(0)} cases/s`);
    expect(totals.cases).toBe(CASES);
    expect(totals.jitCalls).toBeGreaterThan(0n);
    expect(totals.jitInstructions).toBeGreaterThan(0n);
  });
});
