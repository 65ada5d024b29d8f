/** qemu-system-riscv64 (TCG) as the comparison emulator. */

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timedSpawn } from './timing';
import { trivialElf } from './trivial-elf';

/** The QEMU binary; override with the QEMU environment variable. */
export const QEMU = process.env.QEMU ?? 'qemu-system-riscv64';

/** A guest run under QEMU: wall time and everything the guest printed. */
export interface QemuRun {
  wallMs: number;
  output: string;
}

/** QEMU's version line ("QEMU emulator version 7.2.22 ..."), or undefined when not installed. */
export function qemuVersion(): string | undefined {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0].trim();
}

/**
 * Runs one image the way the guests' own QEMU checks do:
 * `-M virt -bios none -m 128M -nographic -kernel <elf>`, console on stdout.
 * Throws when QEMU fails, times out, or the guest exits non-zero.
 */
export function runQemu(elf: string, timeoutMs: number): QemuRun {
  const r = timedSpawn(QEMU, ['-M', 'virt', '-bios', 'none', '-m', '128M', '-nographic', '-kernel', elf], timeoutMs);
  if (r.timedOut) throw new Error(`${elf}: QEMU did not finish within ${timeoutMs} ms`);
  if (r.status !== 0) {
    const why = r.stderr.trim().split('\n')[0] || r.stdout.trim().split('\n').pop() || '';
    throw new Error(`${elf}: QEMU exited with status ${r.status}${why ? `: ${why}` : ''}`);
  }
  return { wallMs: r.wallMs, output: r.stdout.replace(/\r/g, '') };
}

/**
 * Writes the trivial image (bench/trivial-elf.ts) into `dir` and returns its
 * path; QEMU's time on it is its startup and shutdown cost.
 */
export function writeTrivialImage(dir: string): string {
  const path = join(dir, 'trivial.elf');
  writeFileSync(path, trivialElf());
  return path;
}
