/** The workloads compiled for the host with gcc -O2, as the native baseline. */

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timedSpawn } from './timing';

/** The host C compiler; override with the CC environment variable. */
export const HOST_CC = process.env.CC ?? 'gcc';

/** The compiler's version line, or undefined when it is not installed. */
export function hostCcVersion(): string | undefined {
  const r = spawnSync(HOST_CC, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0].trim();
}

/**
 * Compiles `source` to `outDir/<name>` with `-O2`, against the stdio shim
 * bench/native/guest.h and the suite's bench.h. Throws with the compiler's
 * first error line on failure.
 */
export function compileNative(root: string, source: string, name: string, outDir: string): string {
  const out = join(outDir, name);
  const args = ['-O2', '-I', join(root, 'bench', 'native'), '-I', join(root, 'guests', 'bench'), '-o', out, source];
  const r = spawnSync(HOST_CC, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${source}: cannot run ${HOST_CC}: ${r.error.message}`);
  if (r.status !== 0) {
    const first = r.stderr.split('\n').find((l) => l.includes('error')) ?? r.stderr.trim();
    throw new Error(`${source}: ${HOST_CC} -O2 failed: ${first}`);
  }
  return out;
}

/**
 * Compiles an empty C program into `outDir`; its run time is the cost of
 * starting and ending a process, subtracted from native times.
 */
export function compileEmptyNative(outDir: string): string {
  const src = join(outDir, 'empty.c');
  writeFileSync(src, 'int main(void) { return 0; }\n');
  const out = join(outDir, 'empty');
  const r = spawnSync(HOST_CC, ['-O2', '-o', out, src], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${src}: ${HOST_CC} -O2 failed: ${r.stderr ?? r.error?.message}`);
  return out;
}

/** A native run: wall time and what the program printed. */
export interface NativeRun {
  wallMs: number;
  output: string;
}

/** Runs a native binary; throws when it fails or times out. */
export function runNative(exe: string, timeoutMs: number): NativeRun {
  const r = timedSpawn(exe, [], timeoutMs);
  if (r.timedOut) throw new Error(`${exe}: did not finish within ${timeoutMs} ms`);
  if (r.status !== 0) throw new Error(`${exe}: exited with status ${r.status}: ${r.stdout.trim().split('\n').pop() ?? ''}`);
  return { wallMs: r.wallMs, output: r.stdout };
}
