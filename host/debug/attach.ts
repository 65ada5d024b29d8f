/**
 * The CLI's debugging hookup (`wasmvisor run` with -s/-S/--gdb/--monitor): one DebugGate on the
 * run loop, shared by the GDB stub and the monitor. Without those options nothing is attached
 * and the run loop pays nothing.
 */
import type { RunGate, RunResult } from '../machine/types';
import { UserError } from '../errors';
import { DebugGate } from './gate';
import { GdbStub, parseTcpSpec } from './gdb-stub';
import type { DebugTarget } from './target';

export interface DebugOptions {
  gdb?: string;
  startStopped?: boolean;
  monitor?: string;
}

/** What a monitor needs from the hookup (monitor.ts implements the commands). */
export interface MonitorHost {
  gate: DebugGate;
  target: DebugTarget;
}

export interface DebugSession {
  readonly gate: RunGate;
  readonly debugGate: DebugGate;
  /** The run ended: GDB gets W (the exit code) or the connection closes; servers stop. */
  finish(result: RunResult): void;
}

/**
 * Start the GDB stub (if asked); `quit` ends the run (GDB's kill). Prints where it listens on
 * stderr (one line, for people and scripts).
 */
export async function startDebug(o: DebugOptions, target: DebugTarget, quit: () => void, stderr: (t: string) => void,
  monitor?: (cmd: string) => Promise<string>): Promise<DebugSession | undefined> {
  if (o.gdb === undefined && o.monitor === undefined) {
    if (o.startStopped) throw new UserError('wasmvisor: -S needs a debugger to continue the hart: add -s, --gdb or --monitor');
    return undefined;
  }
  const gate = new DebugGate(target, o.startStopped === true);
  let stub: GdbStub | undefined;
  if (o.gdb !== undefined) {
    const spec = parseTcpSpec(o.gdb, '--gdb');
    stub = new GdbStub(target, gate, { onKill: quit, monitor });
    const port = await stub.listen(spec);
    stderr(`wasmvisor: gdb stub listening on ${spec.host}:${port}\n`);
  }
  return {
    gate,
    debugGate: gate,
    finish(result) {
      if (!stub) return;
      if (result.reason === 'exit') stub.guestExited(result.exitCode);
      else stub.close();
    },
  };
}
