/**
 * Runs an image on wasmvisor in-process (Machine.create + run), the side the differential
 * tests compare with QEMU. The board and limits match test/diff/qemu.ts: bare machine, 128 MiB.
 */
import { parseImage } from '../../host/machine/loader';
import type { Machine as MachineClass } from '../../host/machine/machine';
import type { JitStats, StopReason } from '../../host/machine/types';

/** What one wasmvisor run produced. */
export interface WasmvisorResult {
  /** Guest console output (UART), as latin1 text. */
  stdout: string;
  /** Why the run ended. */
  reason: StopReason;
  /** The guest's exit code (meaningful when reason is 'exit'). */
  exitCode: number;
  instructions: bigint;
  /** What tier 2 did in this run. */
  jit: JitStats;
}

let machineModule: Promise<{ Machine: typeof MachineClass } | Error> | undefined;

/**
 * The Machine class, or an Error when host/machine/machine.ts does not exist yet. Imported
 * lazily so that a test file can report "unavailable" instead of failing to load; any other
 * load failure (a broken module) rejects, so it fails the tests loudly.
 */
export function loadMachine(): Promise<{ Machine: typeof MachineClass } | Error> {
  machineModule ??= import('../../host/machine/machine').then(
    (m) => m as { Machine: typeof MachineClass },
    (e: unknown) => {
      const missing = e instanceof Error && /Cannot find module .*host\/machine\/machine'/.test(e.message);
      if (missing) return e as Error;
      throw e;
    },
  );
  return machineModule;
}

/** Run raw or ELF `bytes` (raw binaries at 0x80000000) on the bare machine. */
export async function runWasmvisor(
  bytes: Uint8Array,
  name: string,
  opts: { timeoutMs?: number; maxInstructions?: bigint; memSize?: number; jit?: 'off' | 'on' | 'always' } = {},
): Promise<WasmvisorResult> {
  const mod = await loadMachine();
  if (mod instanceof Error) throw mod;
  const chunks: Uint8Array[] = [];
  const machine = await mod.Machine.create({
    memSize: opts.memSize ?? 128 << 20,
    kernel: parseImage(bytes, name, 0x80000000n),
    deterministic: true,
    jit: opts.jit,
    // The fuzz's outer loops run up to 100 times (fuzz.ts loop()): the threshold they were sized
    // for, so 'on' keeps mixing interpreted and compiled blocks (the default is 50000).
    jitThreshold: opts.jit === 'on' ? 64 : undefined,
    onConsoleOutput: (b) => chunks.push(Uint8Array.from(b)),
  });
  const r = await machine.run({ timeoutMs: opts.timeoutMs ?? 10_000, maxInstructions: opts.maxInstructions });
  return {
    stdout: Buffer.concat(chunks).toString('latin1'),
    reason: r.reason,
    exitCode: r.exitCode,
    instructions: r.instructions,
    jit: machine.hart.jitStats(),
  };
}
