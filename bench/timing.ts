/** Running a child process under a stopwatch, and best-of-N. */

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One timed run of a child process. */
export interface TimedRun {
  /** Wall time from spawn to exit, in milliseconds. */
  wallMs: number;
  /** Exit status (null when killed by a signal, e.g. the timeout). */
  status: number | null;
  stdout: string;
  stderr: string;
  /** True when the run was killed for exceeding its time limit. */
  timedOut: boolean;
}

/**
 * Runs `cmd args` with stdin from /dev/null and both outputs captured (in `env`, or
 * this process's environment), killing it after `timeoutMs`. Wall time includes process creation, as a
 * shell's `time` would show.
 */
export function timedSpawn(cmd: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): TimedRun {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
    encoding: 'latin1',
  });
  const wallMs = performance.now() - t0;
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  if (r.error && !timedOut) throw r.error;
  return {
    wallMs,
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    timedOut,
  };
}

/** Minimum, median and maximum of a measurement's runs, in ms. */
export interface Spread {
  minMs: number;
  medianMs: number;
  maxMs: number;
}

/** The spread of `samples` (the median of an even count is the mean of the middle two). */
export function spreadOf(samples: number[]): Spread {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { minMs: s[0], medianMs: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, maxMs: s[s.length - 1] };
}

/** Calls `once` n times and keeps the run with the smallest `wallMs`, with the spread of all n. */
export async function bestOf<T extends { wallMs: number }>(n: number, once: () => T | Promise<T>): Promise<T & { spread: Spread }> {
  let best: T | undefined;
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await once();
    samples.push(r.wallMs);
    if (best === undefined || r.wallMs < best.wallMs) best = r;
  }
  return { ...(best as T), spread: spreadOf(samples) };
}

/**
 * CPU time (user + system, ms) of one run of `cmd args`, measured by /usr/bin/time (GNU time,
 * 10 ms resolution); null when it is not installed or the run fails.
 */
export function cpuOfSpawn(cmd: string, args: string[], timeoutMs: number): number | null {
  if (!existsSync('/usr/bin/time')) return null;
  const out = join(tmpdir(), `wasmvisor-bench-time-${process.pid}.txt`);
  try {
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', out, cmd, ...args], { stdio: 'ignore', timeout: timeoutMs });
    if (r.status !== 0) return null;
    const [u, s] = readFileSync(out, 'latin1').trim().split(/\s+/).slice(-2).map(Number);
    // whole ms: (0.09 + 0.01) * 1000 is 99.99999999999999 in floating point, which the bench printed
    return Number.isFinite(u) && Number.isFinite(s) ? Math.round((u + s) * 1000) : null;
  } finally {
    rmSync(out, { force: true });
  }
}
