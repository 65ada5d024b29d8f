/**
 * Guest time is wall time (issue 11, docs/time.md): a guest times a busy loop with its own clock
 * (guests/board/wallclock.c: computes until the `time` CSR says 2 s have passed) while this test
 * times the same stretch on the host, between the guest's "clock: start" and "clock: end" lines,
 * through the built CLI with the JIT on (the default). Before the fix mtime was instret >> 6 and
 * ran ahead of the wall clock whenever the JIT retired more than 640 MIPS: this loop then took
 * about a second of host time.
 *
 * --deterministic keeps instruction time: the same guest reports the same ticks on every run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const BARE = join(ROOT, 'guests/bin/board/wallclock.elf');
const VM = join(ROOT, 'guests/bin/vmboard/wallclock.elf');
const TIMEBASE_HZ = 10_000_000;
/**
 * Allowed disagreement. On an idle host the two agree within 1 %; the host's view of the two
 * lines includes pipe and event-loop latency, and guest time can lag by one run slice, which a
 * stalled host process (a loaded 2-core machine, other test files in parallel) stretches to a
 * few hundred ms. Before the fix the error was 40-50 %.
 */
const TOLERANCE = 0.15;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `npm run build` first');
});

interface Timed {
  status: number | null;
  stdout: string;
  /** performance.now() when each line of stdout arrived, by its text. */
  at: Map<string, number>;
}

/** Runs the CLI and notes when each output line arrives. */
function runTimed(args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const at = new Map<string, number>();
    p.stdout.on('data', (d: Buffer) => {
      const t = performance.now();
      stdout += d.toString('latin1');
      for (const line of stdout.replace(/\r/g, '').split('\n').slice(0, -1)) if (!at.has(line)) at.set(line, t);
    });
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout: stdout.replace(/\r/g, ''), at }));
  });
}

/** The guest's measured ticks and the host's seconds between its two lines. */
async function measure(args: string[]): Promise<{ guestS: number; hostS: number; mtimeTicks: number }> {
  const r = await runTimed(args);
  expect(r.status).toBe(0);
  const m = /^clock: time (\d+) ticks, mtime (\d+) ticks \(lcg [0-9a-f]+\)$/m.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  const start = r.at.get('clock: start');
  const end = r.at.get('clock: end');
  expect(start).toBeDefined();
  expect(end).toBeDefined();
  return { guestS: Number(m![1]) / TIMEBASE_HZ, hostS: ((end as number) - (start as number)) / 1000, mtimeTicks: Number(m![2]) };
}

describe('guest time follows the host wall clock (JIT on)', () => {
  it('bare machine: time CSR and CLINT mtime agree with the host within 15 % over a 2 s loop', async () => {
    const { guestS, hostS, mtimeTicks } = await measure(['run', '--bare', BARE]);
    expect(guestS).toBeGreaterThanOrEqual(2);
    expect(Math.abs(guestS - hostS) / hostS, `guest ${guestS} s, host ${hostS} s`).toBeLessThan(TOLERANCE);
    // mtime through the CLINT is the same clock, read just outside the loop.
    expect(Math.abs(mtimeTicks / TIMEBASE_HZ - guestS)).toBeLessThan(0.01);
  }, 60_000);

  it('VM mode: the guest time CSR (mtime + htimedelta) agrees with the host within 15 % over a 2 s loop', async () => {
    const { guestS, hostS } = await measure(['run', VM]);
    expect(guestS).toBeGreaterThanOrEqual(2);
    expect(Math.abs(guestS - hostS) / hostS, `guest ${guestS} s, host ${hostS} s`).toBeLessThan(TOLERANCE);
  }, 60_000);
});

describe('--deterministic keeps instruction time', () => {
  it('the same guest reports the same ticks and output on two runs, bare and VM', () => {
    for (const args of [['run', '--bare', BARE, '--deterministic'], ['run', VM, '--deterministic']]) {
      const a = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
      const b = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
      expect(a.status).toBe(0);
      expect(a.stdout).toMatch(/clock: time 2\d{7} ticks/);
      expect(b.stdout).toBe(a.stdout);
    }
  }, 120_000);
});
