/**
 * Helpers for the debugging tests: start `wasmvisor run` with a GDB stub or a monitor on a
 * free port (tcp::0; the CLI prints the port it got), and talk to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/wasmvisor.mjs');
export const MINIKERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');

export function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist/cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `npm run build` first');
}

/** A running wasmvisor: its output so far, the port a listener reported, its exit. */
export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the port of the first "... listening on HOST:PORT" line naming `what`. */
  port(what: 'gdb stub' | 'monitor'): Promise<number>;
  exit: Promise<number | null>;
}

/** Every child started, killed after each test file (a failed test must not leave one running). */
const children: ChildProcess[] = [];
afterAll(() => { for (const c of children) if (c.exitCode === null) c.kill(); });

export function startWasmvisor(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, 'run', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, WASMVISOR_DEBUG: '1' } });
  children.push(child);
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.setEncoding('latin1').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('latin1').on('data', (d: string) => { err += d; waiters.splice(0).forEach((w) => w()); });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    async port(what) {
      const re = new RegExp(`wasmvisor: ${what} listening on [^\\n]*:(\\d+)\\n`);
      for (;;) {
        const m = re.exec(err);
        if (m) return Number(m[1]);
        if (child.exitCode !== null) throw new Error(`wasmvisor exited (${child.exitCode}) before its ${what} listened: ${err}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

/** A line-oriented TCP client: send text, wait until the received text matches. */
export class TcpClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { this.buf += d; this.wake(); });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', () => {});
  }
  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
  static open(port: number): Promise<TcpClient> {
    return new Promise((res, rej) => {
      const s = connect(port, '127.0.0.1', () => res(new TcpClient(s)));
      s.once('error', rej);
    });
  }
  send(text: string): void {
    this.socket.write(text, 'latin1');
  }
  /** Everything received so far. */
  get text(): string {
    return this.buf;
  }
  /** Wait until the received text (from `from` on) matches `re`; returns the match. */
  async until(re: RegExp, from = 0, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.buf.slice(from));
      if (m) return m;
      if (this.closed) throw new Error(`connection closed before ${re}: ${JSON.stringify(this.buf.slice(from))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}: ${JSON.stringify(this.buf.slice(from))}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, left); });
    }
  }
  close(): void {
    this.socket.end();
  }
}

/** Send a monitor command; resolves with its output (up to the next prompt), CR LF turned into LF. */
export async function monitorCommand(c: TcpClient, line: string, timeoutMs = 30_000): Promise<string> {
  const from = c.text.length;
  c.send(line + '\r\n');
  const m = await c.until(/([\s\S]*?)\(wasmvisor\) $/, from, timeoutMs);
  return m[1].replace(/\r\n/g, '\n');
}

/** Open the monitor of `w` and wait for its banner and first prompt. */
export async function openMonitor(w: Running): Promise<TcpClient> {
  const c = await TcpClient.open(await w.port('monitor'));
  await c.until(/^wasmvisor monitor - type 'help' for more information\r\n\(wasmvisor\) $/);
  return c;
}
