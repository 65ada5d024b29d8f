/** wasmvisor itself, run in-process through the Machine API. */

import { Machine } from '../host/machine/machine';
import { parseImage } from '../host/machine/loader';
import { RAM_BASE } from '../assembly/abi';
import type { MachineStats } from '../host/machine/types';

/** Guest RAM for every benchmark run, as QEMU's `-m 128M`. */
export const MEM_SIZE = 128 * 1024 * 1024;

/** One run of an image on a fresh machine. */
export interface WasmvisorRun {
  /** Wall time of `run()` alone (the machine already created). */
  wallMs: number;
  /** Time of `Machine.create` (Wasm instantiation, RAM, loading the image). */
  createMs: number;
  /** Guest instructions retired, from `stats()`. */
  instructions: bigint;
  /** Millions of guest instructions per second of `run()` wall time. */
  mips: number;
  /** Everything the guest wrote to its console, CR removed. */
  output: string;
  /** All of the machine's counters after the run (TLB misses, page walks, blocks, ...). */
  stats: MachineStats;
}

/**
 * Creates a machine with `image` (ELF bytes) as its kernel, runs it to the
 * end, and returns the timings and console output. Throws when the guest
 * does not exit by itself within `timeoutMs` or exits non-zero.
 */
export async function runWasmvisor(image: Uint8Array, name: string, timeoutMs: number, jit: 'off' | 'on' = 'on'): Promise<WasmvisorRun> {
  const kernel = parseImage(image, name, BigInt(RAM_BASE));
  let output = '';
  const t0 = performance.now();
  const machine = await Machine.create({
    memSize: MEM_SIZE,
    kernel,
    jit,
    onConsoleOutput: (bytes) => {
      output += Buffer.from(bytes).toString('latin1');
    },
  });
  const t1 = performance.now();
  const result = await machine.run({ timeoutMs });
  const t2 = performance.now();
  if (result.reason !== 'exit') {
    throw new Error(`${name}: wasmvisor run ended with '${result.reason}' after ${Math.round(t2 - t1)} ms`);
  }
  if (result.exitCode !== 0) {
    const last = output.replace(/\r/g, '').trim().split('\n').pop() ?? '';
    throw new Error(`${name}: guest exited with code ${result.exitCode} under wasmvisor: ${last}`);
  }
  const wallMs = t2 - t1;
  const stats = machine.stats();
  const instructions = stats.instructions;
  return {
    stats,
    wallMs,
    createMs: t1 - t0,
    instructions,
    mips: Number(instructions) / (wallMs * 1000),
    output: output.replace(/\r/g, ''),
  };
}
