/**
 * The built `wasmvisor` command as a hostile guest's host: `node bin/wasmvisor.mjs ARGS` in a
 * child process, with what the tests in test/hostile/ assert about it measured from outside:
 * the wall time from spawn to exit and the child's peak RSS (VmHWM of /proc/PID/status, the
 * kernel's high-water mark, polled every POLL_MS until the process is gone).
 *
 * `tty: true` runs the command on a pseudo-terminal (util-linux script(1)), as a user at a
 * terminal runs it: stdin in raw mode, Ctrl-A escapes, the terminal's signal handling. The
 * shell prints its pid first (the wasmvisor process is found as its child, so pid, RSS and
 * signals still refer to wasmvisor itself) and, after wasmvisor has exited, TTY_MARK with the
 * terminal's icanon flag ("icanon": cooked again, "-icanon": left in raw mode); its status is
 * wasmvisor's.
 *
 * Every run has a guard: a child still alive after `guardMs` is killed with SIGKILL and the
 * run reports `guardKilled` (a hang becomes a failed assertion, not a stuck test).
 * Needs dist/cli.mjs (`node scripts/build.mjs`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/wasmvisor.mjs');
/** Whether the build the tests run is there. */
export const haveBuild = existsSync(join(ROOT, 'dist/cli.mjs'));
/** Whether script(1) can give the command a terminal. */
export const haveScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

const POLL_MS = 25;
/** With tty: what the shell prints after wasmvisor's exit, e.g. "@tty=icanon@". */
export const TTY_MARK = /@tty=(-?icanon)@/;

/** How one run ended, and what it cost. */
export interface CliRun {
  /** Exit status, or null when a signal killed it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Spawn to exit, in milliseconds. */
  wallMs: number;
  /** Peak resident set size of the wasmvisor process, in KiB (0 if it was never read). */
  peakRssKiB: number;
  /** The guard killed it (it outlived guardMs). */
  guardKilled: boolean;
}

export interface CliOptions {
  /** Bytes for stdin (then end of input); without it stdin stays open (and empty). */
  input?: string | Uint8Array;
  /** Kill with SIGKILL after this long (default 60 s). */
  guardMs?: number;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Run on a pseudo-terminal (see the file comment). */
  tty?: boolean;
}

/** A running command: its output so far, and ways to wait for text, type and signal. */
export class CliProcess {
  stdout = '';
  stderr = '';
  /** With tty: the pid of the shell that runs wasmvisor (once it has printed it). */
  private shell: number | undefined;
  private ownPid: number | undefined;
  /** Milliseconds since spawn (performance.now() at spawn). */
  readonly t0 = performance.now();
  /** Resolves when the process has exited. */
  readonly done: Promise<CliRun>;
  /** performance.now() when it exited (NaN before). */
  exitedAt = NaN;
  private readonly child: ChildProcess;
  private readonly waiters: { text: string; resolve: () => void }[] = [];
  private peak = 0;

  constructor(args: string[], opts: CliOptions = {}) {
    const env = { ...process.env, WASMVISOR_DEBUG: '', WASMVISOR_DOM0: '', ...opts.env };
    if (opts.tty) {
      const run = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
      const cmd = `echo "@shell=$$@"; ${run}; s=$?; echo "@tty=$(stty -a | grep -o -- '-\\?icanon')@"; exit $s`;
      this.child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    } else {
      this.child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
      this.ownPid = this.child.pid;
    }
    this.child.stdout!.on('data', (b: Buffer) => {
      this.stdout += b.toString('latin1');
      if (this.shell === undefined) {
        const m = /@shell=(\d+)@/.exec(this.stdout);
        if (m) this.shell = Number(m[1]);
      }
      this.notify();
    });
    this.child.stderr!.on('data', (b: Buffer) => {
      this.stderr += b.toString('latin1');
      this.notify();
    });
    if (opts.input !== undefined) this.child.stdin!.end(opts.input);
    this.child.stdin!.on('error', () => {}); // EPIPE once it has exited
    const poll = setInterval(() => this.pollRss(), POLL_MS);
    let guardKilled = false;
    const guard = setTimeout(() => {
      guardKilled = true;
      const pid = this.pid;
      if (pid !== undefined && pid !== this.child.pid) tryKill(pid, 'SIGKILL');
      this.child.kill('SIGKILL');
    }, opts.guardMs ?? 60_000);
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (status, signal) => {
        this.exitedAt = performance.now();
        clearInterval(poll);
        clearTimeout(guard);
        resolve({
          status, signal, stdout: this.stdout, stderr: this.stderr, wallMs: this.exitedAt - this.t0,
          peakRssKiB: this.peak, guardKilled,
        });
      });
    });
  }

  /** The wasmvisor process id (with tty: the shell's node child, once it runs). */
  get pid(): number | undefined {
    if (this.ownPid === undefined && this.shell !== undefined) this.ownPid = childOf(this.shell);
    return this.ownPid;
  }

  /** Resolve once stdout or stderr contains `text`; reject after `ms`. */
  waitFor(text: string, ms = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stdout.includes(text) || this.stderr.includes(text)) return resolve();
      const timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(text)} after ${ms} ms; stdout ${JSON.stringify(this.stdout.slice(-400))}, stderr ${JSON.stringify(this.stderr.slice(-400))}`)), ms);
      this.waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** Type into stdin (on a terminal: as keys). */
  write(bytes: string | Uint8Array): void {
    this.child.stdin!.write(bytes);
  }

  /** Send `signal` to the wasmvisor process itself; returns performance.now() when sent. */
  kill(signal: NodeJS.Signals): number {
    if (this.pid === undefined) throw new Error('the command has not told its pid yet');
    tryKill(this.pid, signal);
    return performance.now();
  }

  private notify(): void {
    for (const w of this.waiters.filter((w) => this.stdout.includes(w.text) || this.stderr.includes(w.text))) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  private pollRss(): void {
    const pid = this.pid;
    if (pid === undefined) return;
    try {
      const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (m) this.peak = Math.max(this.peak, Number(m[1]));
    } catch {
      // gone: the last reading stands
    }
  }
}

/** Start `wasmvisor ARGS`. */
export function startCli(args: string[], opts: CliOptions = {}): CliProcess {
  return new CliProcess(args, opts);
}

/** Run `wasmvisor ARGS` to its end. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  return startCli(args, { input: '', ...opts }).done;
}

/**
 * The command's own start-up and shut-down on this machine now: the wall time of a run whose
 * guest exits at once (`image`, with `args`). Tests add it to the bounds they assert, so a
 * loaded machine's slow start is not blamed on the limit under test.
 */
export async function startupMs(image: string, args: string[] = ['--bare']): Promise<number> {
  const r = await runCli(['run', ...args, image]);
  if (r.status !== 0) throw new Error(`startupMs: ${image} exited ${r.status}: ${r.stderr}`);
  return r.wallMs;
}

/** The node process whose parent is `ppid` (from /proc/PID/stat), if it runs yet. */
function childOf(ppid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      if (Number(stat.slice(close + 2).split(' ')[1]) === ppid && comm.startsWith('node')) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Run the built CLI with stdin closed; SIGKILLed after 30 s (a hang). */
export function runCliSync(args: string[]) {
  if (!existsSync(join(ROOT, 'dist/cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `node scripts/build.mjs` first');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/wasmvisor.mjs'), ...args], {
    cwd: ROOT, input: '', encoding: 'latin1', timeout: 30_000, killSignal: 'SIGKILL', env: { ...process.env, WASMVISOR_DEBUG: '' },
  });
  return { ...r, ms: performance.now() - t0 };
}

/** Refused: exactly `message` on stderr, nothing on stdout, exit 2, no stack trace, in under 10 s. */
export function expectRefused(args: string[], message: string): void {
  const r = runCliSync(args);
  expect(r.signal).toBeNull(); // not killed: it did not hang
  expect(r.stderr).toBe(message + '\n');
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout).toBe('');
  expect(r.status).toBe(2);
  expect(r.ms).toBeLessThan(10_000);
}
