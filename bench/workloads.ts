/** The benchmark workloads and where their sources and guest images live. */

import { join } from 'node:path';

/** One workload: guests/bench/<name>.c, built to guests/bin/bench/<name>.elf. */
export interface Workload {
  name: string;
  /** What the workload stresses, one line (the README says more). */
  measures: string;
}

/** Every workload, in the order the table lists them. */
export const WORKLOADS: readonly Workload[] = [
  { name: 'crc32', measures: 'byte loads and a dependent table lookup per byte' },
  { name: 'sha256', measures: '32-bit ALU work: rotates, adds, logic' },
  { name: 'qsort', measures: 'unpredictable branches, calls, array loads/stores' },
  { name: 'matmul', measures: 'integer multiply and unit-stride loads' },
  { name: 'dhry', measures: 'short blocks, calls, string copy/compare, records' },
  { name: 'tlbstress', measures: 'Sv39 in S-mode: one TLB miss per hop over 8192 pages' },
];

/** Paths of one workload inside the repository at `root`. */
export function workloadPaths(root: string, name: string): { source: string; elf: string } {
  return {
    source: join(root, 'guests', 'bench', `${name}.c`),
    elf: join(root, 'guests', 'bin', 'bench', `${name}.elf`),
  };
}

/**
 * The workload's result line in console output: "<name>: 0x<hex>" (CR LF or
 * LF line ends), or undefined when there is none or more than one.
 */
export function resultLine(name: string, output: string): string | undefined {
  const lines = output
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.startsWith(`${name}: 0x`));
  if (lines.length !== 1 || !/^[a-z0-9]+: 0x[0-9a-f]+$/.test(lines[0])) return undefined;
  return lines[0];
}
