/**
 * Helpers of the xl save / restore / migrate tests (save-restore.test.ts, migrate.test.ts): the
 * built CLI in child processes, each test with its own XDG_RUNTIME_DIR, and the diskloop DomU
 * (guests/xen/diskloop.c) on a 1 MiB disk image file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/wasmvisor.mjs');
export const DISKLOOP = join(ROOT, 'guests/bin/xen/diskloop.elf');

/** A child process and what it wrote so far. */
export interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
}

const started: Proc[] = [];

/** Kill what a test left running (afterEach). */
export function killAll(): void {
  for (const p of started.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

/** Start `wasmvisor ARGS` with runtime directory `rt` (stdin closed). */
export function start(rt: string, args: string[], extraEnv: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, WASMVISOR_DEBUG: '', WASMVISOR_DOM0: '', XDG_RUNTIME_DIR: rt, ...extraEnv },
  });
  const p: Proc = { child, out: '', err: '', exited: new Promise((res) => child.on('close', (status, signal) => res({ status, signal }))) };
  child.stdout!.setEncoding('latin1').on('data', (s: string) => (p.out += s));
  child.stderr!.setEncoding('latin1').on('data', (s: string) => (p.err += s));
  child.stdin!.end();
  started.push(p);
  return p;
}

/** Run `wasmvisor ARGS` to its end. */
export async function run(rt: string, args: string[], extraEnv: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; status: number | null }> {
  const p = start(rt, args, extraEnv);
  const { status } = await p.exited;
  return { stdout: p.out, stderr: p.err, status };
}

/** Poll `cond` every 50 ms until it holds (at most `ms`). */
export async function until(what: string, cond: () => boolean, seen: () => string = () => '', ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(seen().slice(-600))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A private directory (mode 0700, usable as XDG_RUNTIME_DIR) with a diskloop cfg on disk image `disk.img` (1 MiB of zeros) and a host cfg. */
export function diskloopDir(prefix: string): { dir: string; cfg: string; host: string; disk: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, new Uint8Array(1 << 20));
  const cfg = join(dir, 'dl.cfg');
  writeFileSync(cfg, `name = 'dl'\nkernel = '${DISKLOOP}'\nmemory = 16\ndisk = [ 'format=raw, vdev=xvda, access=rw, target=${disk}' ]\n`);
  const host = join(dir, 'host.cfg');
  writeFileSync(host, `domains = [ 'dl.cfg' ]\n`);
  return { dir, cfg, host, disk };
}

/** The diskloop lines of a console capture: `up`'s "dl | " prefix and CRs dropped. */
export function diskloopLines(out: string): string[] {
  return out.replace(/\r/g, '').split('\n').map((l) => l.replace(/^dl \| /, '')).filter((l) => l.startsWith('diskloop: '));
}

/** The last round a capture shows, or -1. */
export function lastRound(out: string): number {
  const m = [...out.matchAll(/diskloop: round (\d+) /g)];
  return m.length === 0 ? -1 : Number(m[m.length - 1][1]);
}
