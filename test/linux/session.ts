/**
 * A console session with the Linux guest (guests/bin/linux): spawns wasmvisor (VM mode, or bare
 * behind OpenSBI) or qemu-system-riscv64 -M virt on the committed Image and initramfs, waits for
 * the busybox shell's prompt, types commands on stdin one at a time (each after the previous
 * prompt, as a user would) and collects what the console printed for each.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OPENSBI, QEMU } from '../oracles';

const ROOT = join(__dirname, '../..');
export const IMAGE = join(ROOT, 'guests/bin/linux/Image');
export const INITRD = join(ROOT, 'guests/bin/linux/initramfs.cpio.gz');
export const CLI = join(ROOT, 'bin/wasmvisor.mjs');
export const APPEND = 'console=ttyS0';
/** The shell's prompt (PS1='\w # ' from /etc/profile, in /). */
export const PROMPT = '/ # ';
/** What rcS prints once proc, sys and devtmpfs are mounted. */
export const BANNER = 'wasmvisor Linux (busybox)';

export type Where = 'vm' | 'bare' | 'qemu';

export function haveImages(): boolean {
  return existsSync(IMAGE) && existsSync(INITRD);
}

/**
 * The command line that boots the guest in `where`, with `--jit MODE` for wasmvisor; `vmArgs`
 * are more VM options (e.g. --virt trap) for 'vm'.
 */
export function bootCommand(where: Where, jit: 'on' | 'off' = 'on', vmArgs: readonly string[] = []): { cmd: string; args: string[] } {
  const common = [IMAGE, '--initrd', INITRD, '--append', APPEND];
  switch (where) {
    case 'vm':
      return { cmd: process.execPath, args: [CLI, 'run', ...common, '--jit', jit, ...vmArgs] };
    case 'bare':
      return { cmd: process.execPath, args: [CLI, 'run', '--bare', '--bios', OPENSBI, ...common, '--jit', jit] };
    case 'qemu':
      // QEMU's default -bios is its own OpenSBI; -nographic puts the UART on stdio.
      return { cmd: QEMU, args: ['-M', 'virt', '-m', '128M', '-nographic', '-kernel', IMAGE, '-initrd', INITRD, '-append', APPEND] };
  }
}

export class Session {
  readonly proc: ChildProcessWithoutNullStreams;
  /** Everything the console printed, \r\n folded to \n. */
  out = '';
  stderr = '';
  readonly started = performance.now();
  private readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(where: Where, jit: 'on' | 'off' = 'on', vmArgs: readonly string[] = []) {
    const { cmd, args } = bootCommand(where, jit, vmArgs);
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d: Buffer) => {
      this.out += d.toString('latin1').replace(/\r\n/g, '\n').replace(/\r/g, '');
      for (const w of this.waiters) w();
    });
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString('latin1')));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  /** Wait until the output after `from` contains `text`; its index, or a descriptive throw. */
  async waitFor(text: string, from: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.out.indexOf(text, from);
      if (i >= 0) return i;
      const left = deadline - performance.now();
      if (left <= 0 || this.proc.exitCode !== null) {
        throw new Error(`no ${JSON.stringify(text)} within ${timeoutMs} ms; console tail:\n${this.out.slice(-1500)}\nstderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(left, 500));
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.waiters.push(done);
      });
      this.waiters = [];
    }
  }

  /** Boot to the first prompt; the milliseconds it took. */
  async boot(timeoutMs: number): Promise<number> {
    await this.waitFor(PROMPT, 0, timeoutMs);
    return performance.now() - this.started;
  }

  /** Type `cmd` and Enter; the lines it printed (its echo and the next prompt excluded). */
  async run(cmd: string, timeoutMs = 30_000): Promise<string[]> {
    const from = this.out.length;
    this.proc.stdin.write(`${cmd}\n`);
    const echoed = await this.waitFor(`${cmd}\n`, from, timeoutMs);
    const start = echoed + cmd.length + 1;
    const end = await this.waitFor(`\n${PROMPT}`, start - 1, timeoutMs);
    return end < start ? [] : this.out.slice(start, end).split('\n');
  }

  /** Type `poweroff`; the exit code of the process once it ends. */
  async poweroff(timeoutMs = 30_000): Promise<number | null> {
    this.proc.stdin.write('poweroff\n');
    return this.exit(timeoutMs);
  }

  /** Wait for the process to end (killed after `timeoutMs`). */
  async exit(timeoutMs: number): Promise<number | null> {
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
