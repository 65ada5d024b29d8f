/**
 * A wasmvisor process for the migration tests (live.test.ts, postcopy.test.ts): `node
 * bin/wasmvisor.mjs ARGS` (needs the build), its output collected, and a wait for a line on
 * stderr that fails if the process exits without printing it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
export const BIN = join(ROOT, 'bin/wasmvisor.mjs');

export interface Done { code: number | null; stdout: string; stderr: string }

export function start(args: string[]): { child: ChildProcess; done: Promise<Done>; stderrHas(s: string): Promise<void> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, WASMVISOR_DEBUG: '' } });
  let stdout = '';
  let stderr = '';
  const waiters: { s: string; resolve: () => void }[] = [];
  child.stdout!.setEncoding('latin1').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('latin1').on('data', (d: string) => {
    stderr += d;
    for (const w of waiters.filter((x) => stderr.includes(x.s))) w.resolve();
  });
  const done = new Promise<Done>((res) => child.on('close', (code) => res({ code, stdout, stderr })));
  const stderrHas = (s: string) => new Promise<void>((res, rej) => {
    if (stderr.includes(s)) return res();
    waiters.push({ s, resolve: res });
    void done.then(() => rej(new Error(`exited without printing '${s}': ${stderr}`)));
  });
  return { child, done, stderrHas };
}

/**
 * The guest's stdout from an unmigrated run of `args` (what a migrated run's two halves must add
 * up to); throws with its stderr when that run does not exit 0.
 */
export function unmigratedOutput(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`the unmigrated run of ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
