#!/usr/bin/env node
// The instruction fuzzer (test/diff/fuzz.test.ts) from the command line:
//   node scripts/fuzz.mjs [--cases N] [--seed S] [--length L] [--batch B] [--case I] [--progress FILE]
// sets FUZZ_CASES, FUZZ_SEED, FUZZ_LENGTH, FUZZ_BATCH, FUZZ_CASE, FUZZ_PROGRESS and runs that test file alone
// (build first: `npm run build`). `npm run fuzz:long` is --cases 1000000 --batch 500, with its
// progress (a line per batch: cases done, rate) in build/fuzz-long.log. It prints how many
// cases ran and the rate; a failure names the seed and case and how to rerun it alone.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KNOBS = { '--cases': 'FUZZ_CASES', '--seed': 'FUZZ_SEED', '--length': 'FUZZ_LENGTH', '--batch': 'FUZZ_BATCH', '--case': 'FUZZ_CASE', '--progress': 'FUZZ_PROGRESS' };
const env = { ...process.env };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const [flag, inline] = args[i].split('=', 2);
  const name = KNOBS[flag];
  const value = inline ?? args[++i];
  if (!name || value === undefined || (name !== 'FUZZ_PROGRESS' && !/^\d+$/.test(value))) {
    console.error(`fuzz: ${flag} ${value ?? ''}: expected --cases, --seed, --length, --batch or --case with a whole number, or --progress FILE`);
    process.exit(2);
  }
  env[name] = value;
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const t0 = Date.now();
const child = spawn('npx', ['vitest', 'run', 'test/diff/fuzz.test.ts'], { cwd: root, env, stdio: 'inherit' });
child.on('exit', (code, signal) => {
  console.log(`fuzz: ${signal ?? `exit ${code}`} after ${((Date.now() - t0) / 1000).toFixed(0)} s (FUZZ_CASES=${env.FUZZ_CASES ?? 'default'}, FUZZ_SEED=${env.FUZZ_SEED ?? 1})`);
  process.exit(code ?? 1);
});
