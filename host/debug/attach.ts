/**
 * The CLI's debugging hookup (`wasmvisor run` with -s/-S/--gdb/--monitor): one DebugGate on the
 * run loop, shared by the GDB stub and the monitor. Without those options nothing is attached
 * and the run loop pays nothing.
 */
import type { Server } from 'node:net';
import type { RunResult } from '../machine/types';
import { UserError } from '../errors';
import { DebugGate } from './gate';
import { GdbStub, parseTcpSpec } from './gdb-stub';
import { Monitor } from './monitor';
import { listenMonitor } from './monitor-io';
import type { DebugTarget } from './target';

export interface DebugOptions {
  gdb?: string;
  startStopped?: boolean;
  monitor?: string;
}

/** What the run's owner lets the debugger do besides the hart. */
export interface DebugControl {
  /** End the run (GDB's kill, the monitor's quit). */
  quit(): void;
  /** Reset the machine (the monitor's system_reset). */
  reset(): void;
  /** The exit table for `info exits`. */
  exits(): string;
  /**
   * Write out the guest's console output held back (the CLI gathers it per event-loop turn):
   * called before a stop or the run's end is reported, so a debugger that sees it has seen the
   * output that came before it, as when every byte was written at once.
   */
  flushOutput?(): void;
  /** Extra `info registers` lines (a VM's H state). */
  hState?(): string;
}

export interface DebugSession {
  readonly gate: DebugGate;
  /** The monitor, when --monitor was given (the CLI feeds it stdin lines or Ctrl-A C). */
  readonly monitor: Monitor | undefined;
  /** Let a held hart's run loop return after a stop() (DebugGate.unblock): the hold stays. */
  unblock(): void;
  /** End the run (and release a held hart): the monitor's quit, the end of a stdio monitor's input. */
  quit(): void;
  /** quit() was called (the run loop must not run on after the stop it caused). */
  readonly quitting: boolean;
  /** The run ended: GDB gets W (the exit code) or the connection closes; servers stop. */
  finish(result: RunResult): void;
}

/** Start the GDB stub and the monitor's server as asked; prints where they listen on stderr. */
export async function startDebug(o: DebugOptions, target: DebugTarget, ctl: DebugControl, stderr: (t: string) => void): Promise<DebugSession | undefined> {
  if (o.gdb === undefined && o.monitor === undefined) {
    if (o.startStopped) throw new UserError('wasmvisor: -S needs a debugger to continue the hart: add -s, --gdb or --monitor');
    return undefined;
  }
  const gate = new DebugGate(target, o.startStopped === true);
  if (ctl.flushOutput) gate.beforeStop = ctl.flushOutput;
  // Ending the run must also release a held hart, or the run loop would wait forever.
  let quitting = false;
  const quit = () => { quitting = true; ctl.quit(); gate.detach(); };
  // (GDB's `monitor CMD` reaches the monitor even without --monitor, as with QEMU)
  const monitor = new Monitor({ target, gate, exits: ctl.exits, hState: ctl.hState, reset: ctl.reset, quit });
  let stub: GdbStub | undefined;
  let server: Server | undefined;
  if (o.gdb !== undefined) {
    const spec = parseTcpSpec(o.gdb, '--gdb');
    stub = new GdbStub(target, gate, { onKill: ctl.quit, monitor: (cmd) => monitor.execute(cmd) });
    const port = await stub.listen(spec);
    stderr(`wasmvisor: gdb stub listening on ${spec.host}:${port}\n`);
  }
  if (o.monitor !== undefined && o.monitor !== 'stdio') {
    const spec = parseTcpSpec(o.monitor as string, '--monitor');
    const m = await listenMonitor(spec, monitor);
    server = m.server;
    stderr(`wasmvisor: monitor listening on ${spec.host}:${m.port}\n`);
  }
  return {
    gate,
    monitor: o.monitor !== undefined ? monitor : undefined,
    quit,
    get quitting() { return quitting; },
    unblock: () => gate.unblock(),
    finish(result) {
      ctl.flushOutput?.();
      gate.ended();
      server?.close();
      if (!stub) return;
      if (result.reason === 'exit') stub.guestExited(result.exitCode);
      else stub.close();
    },
  };
}
