/**
 * A Linux guest driven through its console for the virtio tests (devices.test.ts,
 * qemu-net.test.ts): a child process (wasmvisor, or QEMU as the peer) whose stdin is the
 * shell's input and whose stdout is read as text.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '../..');
export const IMAGE = join(ROOT, 'guests/bin/linux/Image');
export const INITRD = join(ROOT, 'guests/bin/linux/initramfs.cpio.gz');
export const FW = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin';
const CLI = join(ROOT, 'bin/wasmvisor.mjs');

/** The command line of `wasmvisor run ARGS` in a child process. */
export function wasmvisorArgs(args: string[]): [string, ...string[]] {
  return [process.execPath, CLI, 'run', ...args];
}

/** A free TCP port on 127.0.0.1 (bound, then let go). */
/**
 * Wait until something listens on TCP `port` (a LISTEN row in /proc/net/tcp), without
 * connecting: a probe connection would be taken as the listener's one peer.
 */
export async function waitListening(port: number, timeoutMs = 30_000): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const t0 = Date.now();
  while (!readFileSync('/proc/net/tcp', 'latin1').split('\n').some((l) => l.includes(hex) && / 0A /.test(l))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** One wasmvisor process running Linux, with its console as text. */
export class Guest {
  readonly child: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<number | null>;
  private seq = 0;

  /** @param command the program and its arguments (wasmvisorArgs for `wasmvisor run`) */
  constructor(readonly name: string, readonly disk: string, command: [string, ...string[]]) {
    this.child = spawn(command[0], command.slice(1), { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => (this.out += b.toString('latin1').replace(/\r/g, '')));
    this.child.stderr!.on('data', (b: Buffer) => (this.err += b.toString('latin1')));
    this.exited = new Promise((r) => this.child.on('close', (code) => r(code)));
  }

  /** Bytes typed so far (written to the guest's stdin). */
  typed = 0;

  /** Type `text` (ASCII) into the guest's console. */
  type(text: string): void {
    this.typed += text.length;
    this.child.stdin!.write(text);
  }

  /** Wait until the console output from `from` on matches `re`. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const t0 = Date.now();
    for (;;) {
      const m = re.exec(this.out.slice(from));
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() - t0 > timeoutMs) {
        throw new Error(`${this.name}: no ${re} after ${Date.now() - t0} ms; console tail:\n${this.out.slice(-1500)}\nstderr: ${this.err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Run `cmd` in the guest's shell and return its output. The markers are printed by echo with
   * an arithmetic expansion, so the echoed command line never contains them.
   */
  async sh(cmd: string, timeoutMs = 30_000): Promise<string> {
    const n = ++this.seq;
    const from = this.out.length;
    this.type(`echo @@B$((${n}*1))@@; ${cmd}; echo @@E$((${n}*1))@@\n`);
    const m = await this.waitFor(new RegExp(`@@B${n}@@\\n([\\s\\S]*?)@@E${n}@@\\n`), timeoutMs, from);
    return m[1];
  }
}

