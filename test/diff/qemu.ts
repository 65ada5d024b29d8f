/**
 * Runs an image under QEMU's virt machine, the reference the differential tests compare to:
 * `qemu-system-riscv64 -M virt -bios none -m 128M -nographic -kernel IMAGE`.
 */
import { spawn, spawnSync } from 'node:child_process';

/** The QEMU binary (override with env QEMU_RISCV64). */
export const QEMU = process.env.QEMU_RISCV64 ?? 'qemu-system-riscv64';

/** What one QEMU run produced. */
export interface QemuResult {
  /** Guest console output (the UART on -nographic stdio). */
  stdout: string;
  /** QEMU's exit status: the test finisher's code; null if killed. */
  exitCode: number | null;
  /** True when the run was killed after the timeout. */
  timedOut: boolean;
  stderr: string;
}

let available: boolean | undefined;

/** True when `qemu-system-riscv64 --version` runs. Cached. */
export function qemuAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync(QEMU, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    available = r.status === 0;
  }
  return available;
}

/**
 * Run `image` (a file path: ELF or raw binary) on QEMU virt. Without `bios` it starts in M-mode
 * at 0x80000000 with no firmware; with `bios` (e.g. OpenSBI fw_dynamic.bin) the image is the
 * payload at 0x80200000. `cpu` selects the model and extensions (e.g. 'rv64,h=true').
 */
export function runQemu(image: string, opts: { timeoutMs?: number; memory?: string; bios?: string; cpu?: string } = {}): Promise<QemuResult> {
  const args = ['-M', 'virt', '-bios', opts.bios ?? 'none', '-m', opts.memory ?? '128M', '-nographic', '-kernel', image];
  if (opts.cpu !== undefined) args.push('-cpu', opts.cpu);
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 10_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode: code,
        timedOut,
      });
    });
  });
}
