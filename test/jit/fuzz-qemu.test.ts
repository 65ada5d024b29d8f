/**
 * The JIT fuzzer's programs (test/jit/fuzz.ts) against QEMU: fuzz.test.ts compares the two tiers
 * with each other, which a bug both share would pass. Here the QEMU-compatible variant of each
 * seed's program (buildJitProgram(seed, true): no timer, counters or UART polling, and a dump
 * of the registers and of hashes of the data and code pages at the end) runs on QEMU and on
 * wasmvisor's interpreter, with every block compiled (jit 'always') and with hot code compiled
 * (jit 'on', threshold 2): the console output, the dump included, must be the same byte for byte.
 *
 *   JIT_QEMU_SEEDS=n  number of seeds (default 16), JIT_FUZZ_FIRST=s the first (default 1)
 *   JIT_FUZZ_SEED=s   run seed s alone
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runQemu } from '../diff/qemu';
import { oracle } from '../oracles';
import { Tier, buildJitProgram } from './fuzz';

const single = process.env.JIT_FUZZ_SEED;
const SEEDS = single !== undefined
  ? [Number(single)]
  : Array.from({ length: Number(process.env.JIT_QEMU_SEEDS ?? 16) }, (_, i) => i + Number(process.env.JIT_FUZZ_FIRST ?? 1));

const haveQemu = oracle('qemu', 'test/jit/fuzz-qemu.test.ts');
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-jitq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The dump's lines: x1..x31, data, code, then "ok <trap count mod 16 as a letter>". */
const DUMP = new RegExp(`^${Array.from({ length: 31 }, (_, i) => `x${i + 1} [0-9a-f]{16}\\n`).join('')}data [0-9a-f]{16}\\ncode [0-9a-f]{16}\\nok [a-p]\\n$`);

describe.skipIf(!haveQemu)('JIT fuzz programs: wasmvisor (both tiers) matches QEMU', () => {
  it.each(SEEDS)('seed %i', async (seed) => {
    const prog = buildJitProgram(seed, true);
    expect(prog.timer).toBe(false);
    const file = join(dir, `jitq-${seed}.bin`);
    writeFileSync(file, prog.image);
    const q = await runQemu(file, { timeoutMs: 60_000 });
    const rerun = `rerun: JIT_FUZZ_SEED=${seed} npx vitest run test/jit/fuzz-qemu.test.ts`;
    expect([q.timedOut, q.exitCode], `seed ${seed}: QEMU (stderr: ${q.stderr.trim()})`).toEqual([false, 0]);
    const want = q.stdout.replace(/\r\n/g, '\n');
    expect(want, `seed ${seed}: QEMU's dump`).toMatch(DUMP);
    for (const cfg of [{ jit: 'off' }, { jit: 'always' }, { jit: 'on', jitThreshold: 2 }] as const) {
      const t = await Tier.boot(prog, cfg);
      const s = await t.run();
      expect([s.reason, s.exitCode], `seed ${seed}, ${JSON.stringify(cfg)}: end of run`).toEqual(['exit', 0]);
      const got = s.console.replace(/\r\n/g, '\n');
      if (got !== want) {
        const a = want.split('\n'), b = got.split('\n');
        const k = a.findIndex((l, i) => l !== b[i]);
        expect.fail(`seed ${seed}, ${JSON.stringify(cfg)}: first difference: qemu '${a[k]}', wasmvisor '${b[k]}' (${rerun})\n${prog.listing.join('\n')}`);
      }
      if (cfg.jit !== 'off') expect(t.jitStats().calls, `seed ${seed}: compiled code ran`).toBeGreaterThan(0n);
    }
  }, 120_000);
});
