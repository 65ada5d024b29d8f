/**
 * The `wasmvisor` command (bundled to dist/cli.mjs; bin/wasmvisor.cjs calls `main`).
 *
 * `wasmvisor run --bare IMAGE` builds a virt-compatible machine, loads IMAGE (and --bios),
 * wires the guest console to stdout/stdin and runs until the guest exits or a limit hits.
 * `wasmvisor xl create DOMU.cfg` and `wasmvisor up HOST.cfg` run Xen DomUs (host/cli/xl.ts).
 *
 * Exit status:
 *   guest's code  the guest ended itself (test finisher or HTIF), see `processExitCode`
 *   0             the user quit with Ctrl-A X
 *   124           --timeout expired (as coreutils `timeout`)
 *   125           --max-instructions reached (the next free code after 124)
 *   141           stdout was closed by its reader (EPIPE), as a SIGPIPE death would report
 *   2             bad input: usage, files, images (UserError)
 *   70            internal error (EX_SOFTWARE from sysexits.h)
 *   69            a post-copy migration failed after the switch: the VM is lost (either side)
 */
import { type BootOptions } from '../machine/boot-data';
import { readInputFile } from '../machine/input-file';
import { UserError } from '../errors';
import { loadImageFile } from '../machine/loader';
import { Machine } from '../machine/machine';
import { FileBackend } from '../devices/virtio/file-backend';
import type { SocketNetBackend } from '../devices/virtio/net-socket';
import type { VirtioDevicesConfig, VirtioSlots } from '../devices/virtio/slots';
import type { RunLimits, RunResult } from '../machine/types';
import { parseArgs, USAGE, type RunOptions } from './args';
import { checkPlacement, RAM_BASE } from './placement';
import { formatStats } from './stats-table';
import { formatExitStats } from '../vmm/stats';
import { KERNEL_RAW_BASE, Vm, type VmRunResult } from '../vmm/vm';
import { formatShadowStats, TrapTechnique } from '../vmm/virt/trap';
import { BtTechnique, formatBtStats } from '../vmm/virt/bt';
import { HwShadowTechnique } from '../vmm/virt/hw-shadow';
import { formatTechniqueCounters } from '../vmm/virt/technique';
import { attachStdin, isTerminal, type ConsoleHookup } from './stdin';
import { fstatSync, statSync } from 'node:fs';
import { drainStdio, onStdioCreated } from './stdio';
import { mModeEvidence } from './m-mode';
import { EXIT_VM_LOST } from '../migrate/options';
import type { DebugControl, DebugSession } from '../debug/attach';
import type { TraceSink } from '../debug/trace';
import type { RunGate } from '../machine/types';
import type { DebugTarget } from '../debug/target';
type DebugTargets = typeof import('../debug/target');
/** The debugger's view of the machine or VM being run (host/debug/target.ts). */
type TargetOf = (m: DebugTargets) => DebugTarget;
// What only some commands and options use (xl, up, lab, the debugger, tracing, snapshots,
// migration, the socket network) is imported where it is used: the bundle then evaluates it only
// then, and it stays out of the code cache that every start reads (docs/performance.md "Start-up").
import pkg from '../../package.json';

/** bin/wasmvisor.cjs hands over the core it compiled while the bundle loaded. */
export { setCoreModule } from '../machine/core';
/** bin/wasmvisor.cjs puts V8's flags back before it writes the code cache at exit. */
export { restoreV8Flags } from '../vmm/compile-tasks';

/** Raw load address of the kernel when a --bios firmware occupies 0x80000000. */
export const PAYLOAD_BASE = 0x80200000n;
/** Exit status after --timeout. */
export const EXIT_TIMEOUT = 124;
/** Exit status after --max-instructions. */
export const EXIT_MAX_INSTRUCTIONS = 125;
/** Exit status of an internal error (sysexits.h EX_SOFTWARE). */
export const EXIT_INTERNAL = 70;

/** Exit status when stdout's reader went away (as if killed by SIGPIPE: 128 + 13). */
export const EXIT_BROKEN_PIPE = 141;

/** Where the CLI writes; replaced in tests. */
export interface CliIo {
  stdout(bytes: Uint8Array | string): void;
  stderr(text: string): void;
  stdin: NodeJS.ReadStream;
  /** Register what to do when stdout's reader goes away (EPIPE), e.g. `wasmvisor ... | head`. */
  onStdoutClosed(handler: () => void): void;
  /** Write out now the guest's console bytes stdout() holds back (processIo gathers them per event-loop turn). */
  flush?(): void;
}

let stdoutClosed = false;
let stdoutClosedHandler: (() => void) | undefined;

/**
 * The guest's console bytes, gathered and written at once: the UART hands over one byte per
 * transmit exit, and a write(2) per byte cost a Linux boot's ~4,000 bytes 65-115 ms of CPU
 * (Node's stream and the syscall; the reader of a pipe wakes for each) against a few for one
 * write. They go out when the run loop yields to the event loop (every 20 ms of running, and at
 * once when the guest halts: WFI waits in a timer), before anything else this process writes,
 * and at exit.
 */
let pendingOut: Uint8Array[] = [];
let pendingFlush = false;
function flushStdout(): void {
  pendingFlush = false;
  if (pendingOut.length === 0) return;
  const parts = pendingOut;
  pendingOut = [];
  if (!stdoutClosed) process.stdout.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
}

const processIo: CliIo = {
  stdout: (b) => {
    if (typeof b === 'string') {
      flushStdout();
      if (!stdoutClosed) process.stdout.write(b);
      return;
    }
    pendingOut.push(b);
    if (!pendingFlush) {
      pendingFlush = true;
      setImmediate(flushStdout);
    }
  },
  stderr: (t) => {
    flushStdout();
    process.stderr.write(t);
  },
  flush: flushStdout,
  get stdin() { return process.stdin; }, // on first use: creating the stream costs start-up time
  onStdoutClosed: (handler) => {
    stdoutClosedHandler = handler;
  },
};

onStdioCreated('stdout', (s) => s.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  stdoutClosed = true;
  stdoutClosedHandler?.();
}));

/**
 * Map a guest exit code (finisher codes go up to 0xffff) to a process status (0..255) without
 * ever turning a failure into success: a nonzero code whose low byte is 0 becomes 1.
 */
export function processExitCode(guestCode: number): number {
  if (guestCode === 0) return 0;
  const low = guestCode & 0xff;
  return low === 0 ? 1 : low;
}

/** Run the command line and return the process exit status. Never throws. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const cmd = parseArgs(argv);
    if (cmd.kind === 'help') {
      io.stdout(cmd.command !== undefined ? (await import('./help')).commandHelp(cmd.command) : USAGE);
      return 0;
    }
    if (cmd.kind === 'version') {
      io.stdout(`wasmvisor ${pkg.version}\n`);
      return 0;
    }
    // -- xl toolstack (host/cli/xl.ts) --
    if (cmd.kind === 'xl') return await (await import('./xl')).runXl(cmd.args, io);
    if (cmd.kind === 'up') return await (await import('./xl')).runUp(cmd.args, io);
    if (cmd.kind === 'lab') return await (await import('../lab/run')).runLab(cmd.args, io);
    // -- end xl toolstack --
    return await runGuest(cmd.options, io);
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof UserError || (err instanceof Error && err.name === 'UserError' && 'exitCode' in err)) {
    io.stderr(`${err.message}\n`);
    return (err as UserError).exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`wasmvisor: internal error: ${message}\n`);
  io.stderr(`please report this at the wasmvisor issue tracker with the command line and image\n`);
  if (process.env.WASMVISOR_DEBUG === '1' && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
  return EXIT_INTERNAL;
}

/**
 * Whether typed input may come from a terminal. For the process's own stdin this asks without
 * creating the stream (node:tty's isatty loads node:net and the streams: 5-15 ms): a terminal is
 * a character device other than /dev/null (whose end of input can as well be read later).
 */
function stdinMayBeTerminal(io: CliIo): boolean {
  if (io !== processIo) return isTerminal(io.stdin);
  try {
    const st = fstatSync(0);
    return st.isCharacterDevice() && st.rdev !== statSync('/dev/null').rdev;
  } catch {
    return true; // (no fd 0, or no /dev/null: at once, as before)
  }
}

/** What the CLI drives: the bare Machine or a Vm. */
interface Runnable {
  consoleInput(bytes: Uint8Array): void;
  /** Ctrl-A C: typed input to the other console (UART <-> virtio console). */
  switchConsoleInput(): 'uart' | 'virtio';
  stop(): void;
  run(limits: RunLimits): Promise<RunResult>;
}

async function runGuest(o: RunOptions, io: CliIo): Promise<number> {
  if (!o.bare) return runVm(o, io);
  const bios = o.bios !== undefined ? loadImageFile(o.bios, RAM_BASE) : undefined;
  const kernel = loadImageFile(o.image, bios ? PAYLOAD_BASE : RAM_BASE);
  if (bios) checkPlacement(bios, o.memSize);
  checkPlacement(kernel, o.memSize, bios);
  const devices = await openVirtioDevices(o, io);

  const machine = await Machine.create({
    memSize: o.memSize,
    kernel,
    bios,
    ...devices.config,
    boot: readBootOptions(o),
    deterministic: o.deterministic,
    jit: o.jit,
    jitThreshold: o.jitThreshold,
    jitCodeLimit: o.jitCodeLimit,
    jitMaxBlocks: o.jitMaxBlocks,
    // copy: the machine may reuse its buffer before an asynchronous stream writes it
    onConsoleOutput: (bytes) => io.stdout(Uint8Array.from(bytes)),
  });

  const target: TargetOf = (m) => m.machineTarget(machine);
  const debug = await startDebug(o, target, () => ({
    quit: () => machine.stop(),
    reset: () => machine.requestReset(),
    exits: () => formatStats(machine.stats()),
  }), io);
  if (o.restore !== undefined) (await import('../snapshot/file')).restoreSnapshotFile(machine, o.restore, o.memSize);
  const trace = o.trace && await openTrace(o, io);
  machine.gate = await traceGate(o, target, trace, debug?.gate);
  if (trace && o.trace?.has('io')) {
    const r = o.traceRange;
    const { formatIo } = await import('../debug/trace');
    machine.traceIo = (a, n, wr, v) => { if (!r || (a >= r.lo && a <= r.hi)) trace.line(formatIo(a, n, wr, v)); };
  }
  const postcopy = o.migrate?.incoming ? await (await import('../migrate/incoming')).receiveMigration(machine, o.migrate, io, debug?.gate) : undefined;
  const { result, quitByUser, brokenPipe, migrated } = await drive(machine, o, io, machine, debug).finally(() => { devices.close(); trace?.close(); });
  if (migrated !== undefined) return migrated;
  if (postcopy && !(await postcopy.settle())) return EXIT_VM_LOST; // (said why when it happened)
  if (o.stats) io.stderr(formatStats(machine.stats()) + formatVirtioStats(machine.virtio));
  if (brokenPipe) return EXIT_BROKEN_PIPE;
  const saved = await saveOnExit(machine, o, result, io);
  return saved ?? outcome(o, result, quitByUser, io);
}

/**
 * VM mode: IMAGE is an S-mode kernel (ELF, or raw at 0x80200000) run in VS-mode by the VMM,
 * which plays SBI firmware and hypervisor.
 */
async function runVm(o: RunOptions, io: CliIo): Promise<number> {
  const kernel = loadImageFile(o.image, KERNEL_RAW_BASE);
  const boot = readBootOptions(o); // (its files' errors first: they name what the user gave)
  const mMode = mModeEvidence(kernel);
  if (mMode !== undefined) throw new UserError(`wasmvisor: ${o.image}: an M-mode program (${mMode}), not an S-mode kernel: run it on the bare machine with --bare`);
  const trace = o.trace && await openTrace(o, io);
  const exitLineWanted = trace && (await import('../debug/trace')).exitLineWanted;
  checkPlacement(kernel, o.memSize);
  const devices = await openVirtioDevices(o, io);
  const vm = await Vm.create({
    memSize: o.memSize,
    kernel,
    ...devices.config,
    boot,
    virt: o.virt,
    paging: o.paging,
    deterministic: o.deterministic,
    jit: o.jit,
    jitThreshold: o.jitThreshold,
    jitCodeLimit: o.jitCodeLimit,
    jitMaxBlocks: o.jitMaxBlocks,
    onConsoleOutput: (bytes) => io.stdout(Uint8Array.from(bytes)),
    onTraceExit: trace && exitLineWanted && o.trace && ['exits', 'sbi', 'io'].some((k) => o.trace?.has(k as 'exits')) ? (line) => { if (exitLineWanted(o.trace as Set<never>, line)) trace.line(line); } : undefined,
  });
  const target: TargetOf = (m) => m.vmTarget(vm);
  const debug = await startDebug(o, target, (m) => ({
    quit: () => vm.stop(),
    reset: () => { vm.rebootRequested = true; vm.vcpu.wake(); },
    exits: () => formatExitStats(vm.exits, vm.vcpu.instructions, vm.walkCounters()),
    hState: () => m.vmcsHState(vm),
  }), io);
  vm.vcpu.gate = await traceGate(o, target, trace, debug?.gate);
  if (o.restore !== undefined) (await import('../snapshot/file')).restoreSnapshotFile(vm, o.restore, o.memSize);
  const postcopy = o.migrate?.incoming ? await (await import('../migrate/incoming')).receiveMigration(vm, o.migrate, io, debug?.gate) : undefined;
  const { result, quitByUser, brokenPipe, migrated } = await drive(vm, o, io, vm, debug).finally(() => { devices.close(); trace?.close(); });
  if (migrated !== undefined) return migrated;
  if (postcopy && !(await postcopy.settle())) return EXIT_VM_LOST; // (said why when it happened)
  const failure = (result as VmRunResult).failure;
  if (failure !== undefined) io.stderr(`wasmvisor: ${failure}\n`);
  if (o.stats) {
    io.stderr(formatStats(vm.stats()));
    io.stderr(formatExitStats(vm.exits, vm.vcpu.instructions, vm.walkCounters()));
    io.stderr(formatVirtioStats(vm.virtio));
    const tech = vm.vcpu.technique;
    if (tech instanceof TrapTechnique || tech instanceof HwShadowTechnique) io.stderr(formatShadowStats(tech.shadow.counters, tech.mode));
    if (tech instanceof BtTechnique) io.stderr(formatBtStats(tech.counters()));
    else {
      const c = tech.counters?.();
      if (c !== undefined) io.stderr(formatTechniqueCounters(tech.mode, c));
    }
  }
  if (brokenPipe) return EXIT_BROKEN_PIPE;
  const saved = failure === undefined ? await saveOnExit(vm, o, result, io) : undefined;
  return saved ?? outcome(o, result, quitByUser, io);
}

/**
 * --save-on-exit (docs/snapshot.md): save when the run ended for the host's reasons (--timeout,
 * --max-instructions, Ctrl-A X), not when the guest ended itself (there is nothing left to run).
 * Returns an exit status only when the save failed (2, its one line printed).
 */
/**
 * After a migration whose COMMIT went out with no answer (source.ts targetOwns), the guest is
 * never resumed here; QEMU leaves such a source paused. A process with no one to resume it would
 * lose the guest if the target dropped its copy, so its stopped state goes to a snapshot file
 * (--save-on-exit's, else --snapshot-file's, else wasmvisor-migration-PID.wvsnap): `run --restore` it only if the target
 * does not run the guest (docs/migration.md "Stream").
 */
async function saveHeldState(target: Machine | Vm, o: RunOptions, io: CliIo): Promise<void> {
  const path = o.saveOnExit ?? o.snapshotFile ?? `wasmvisor-migration-${process.pid}.wvsnap`;
  try {
    const n = (await import('../snapshot/file')).saveSnapshotFile(target, path);
    io.stderr(`wasmvisor: saved the VM held here in ${path} (${n} bytes): --restore it only if the target does not run it\n`);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    io.stderr(`${e.message}\n`);
  }
}

async function saveOnExit(target: Machine | Vm, o: RunOptions, r: RunResult, io: CliIo): Promise<number | undefined> {
  if (o.saveOnExit === undefined) return undefined;
  if (r.reason === 'exit') {
    io.stderr(`wasmvisor: ${o.saveOnExit}: not saved: the guest exited (code ${r.exitCode})\n`);
    return undefined;
  }
  try {
    const n = (await import('../snapshot/file')).saveSnapshotFile(target, o.saveOnExit);
    io.stderr(`wasmvisor: saved snapshot ${o.saveOnExit} (${n} bytes)\n`);
    return undefined;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    io.stderr(`${e.message}\n`);
    return e.exitCode;
  }
}

/** --trace insn/int/mmu: the instruction tracer steps the hart (around a debugger's gate, if any). */
async function traceGate(o: RunOptions, target: TargetOf, sink: TraceSink | undefined, inner: RunGate | undefined): Promise<RunGate | undefined> {
  if (!sink || !o.trace || !['insn', 'int', 'mmu'].some((k) => o.trace?.has(k as 'insn'))) return inner;
  const { InsnTracer } = await import('../debug/trace');
  return new InsnTracer(target(await import('../debug/target')), { kinds: o.trace, range: o.traceRange }, sink, inner);
}

/** --trace: where its lines go. */
async function openTrace(o: RunOptions, io: CliIo): Promise<TraceSink> {
  const { TraceSink } = await import('../debug/trace');
  return new TraceSink(o.traceFile, io.stderr);
}

/**
 * The debugger of -s, -S, --gdb and --monitor (host/debug/attach.ts), loaded when one is asked
 * for; without one, -S alone is refused there.
 */
async function startDebug(o: RunOptions, target: TargetOf, ctl: (m: DebugTargets) => DebugControl, io: CliIo): Promise<DebugSession | undefined> {
  if (o.gdb === undefined && o.monitor === undefined && o.startStopped !== true) return undefined;
  const m = await import('../debug/target');
  return (await import('../debug/attach')).startDebug(o, target(m), { ...ctl(m), flushOutput: io.flush }, io.stderr);
}

/**
 * The virtio devices of --disk, --net, --virtio-console and --virtio-rng (issue 12), the same
 * for both modes: the disk file opened, the socket listening or dialling. `close` lets go of
 * both once the guest has stopped.
 */
async function openVirtioDevices(o: RunOptions, io: CliIo): Promise<{ config: VirtioDevicesConfig; close(): void }> {
  const disk = o.disk ? FileBackend.open(o.disk.path, { readOnly: o.disk.readOnly }) : undefined;
  let net: SocketNetBackend | undefined;
  try {
    if (o.net) net = await (await import('../devices/virtio/net-socket')).SocketNetBackend.open(o.net.endpoint, (line) => io.stderr(line + '\n'));
  } catch (e) {
    disk?.close();
    throw e;
  }
  return {
    config: {
      disk,
      net: net ? { backend: net, mac: o.net?.mac } : undefined,
      virtioConsole: o.virtioConsole,
      virtioRng: o.virtioRng,
      consoleInput: o.consoleInput,
    },
    close: () => {
      disk?.close();
      net?.close();
    },
  };
}

/** --stats lines of the virtio devices that exist (none: empty). */
function formatVirtioStats(v: VirtioSlots): string {
  const lines: string[] = [];
  for (const t of v.attached) {
    const c = (t.device as unknown as { counters?: Record<string, number> }).counters ?? {};
    const fields = Object.entries(c).map(([k, n]) => `${k} ${n}`);
    if (t === v.net) {
      const b = v.netDevice!.backend.counters;
      fields.push(`link sent ${b.sent}`, `link received ${b.received}`, `link dropped ${b.dropped}`);
    }
    lines.push(`${t.name}: notifies ${t.counters.notifies}, interrupts ${t.counters.interrupts}${fields.length ? ', ' + fields.join(', ') : ''}\n`);
  }
  return lines.join('');
}

/** Largest --dtb accepted (a generated tree is a few KiB; QEMU's own limit is 2 MiB too). */
const DTB_MAX_BYTES = 2 << 20;

/** --append, --initrd and --dtb, their files read through the input-file checks (issue 12). */
export function readBootOptions(o: RunOptions): BootOptions | undefined {
  if (o.append === undefined && o.initrd === undefined && o.dtb === undefined) return undefined;
  const file = (path: string, what: string, maxBytes: number) => ({ name: path, data: readInputFile(path, { what, maxBytes }) });
  return {
    append: o.append,
    initrd: o.initrd !== undefined ? file(o.initrd, 'initrd', o.memSize) : undefined,
    dtb: o.dtb !== undefined ? file(o.dtb, 'device tree blob', DTB_MAX_BYTES) : undefined,
  };
}

/**
 * Wire the console and the limits to a machine or VM and run it. Ctrl-A S stops the run, saves
 * a snapshot of `target` (to --snapshot-file), prints one line and runs on with what is left of
 * the limits.
 */
/** How often a run with a monitor yields to the event loop (ms of wall time; 20 without one). */
const MONITOR_YIELD_MS = 1;

async function drive(machine: Runnable, o: RunOptions, io: CliIo, target?: Machine | Vm, debug?: DebugSession): Promise<{ result: RunResult; quitByUser: boolean; brokenPipe: boolean; migrated?: number }> {
  let quitByUser = false;
  let brokenPipe = false;
  let saveRequested = false;
  io.onStdoutClosed(() => {
    brokenPipe = true;
    machine.stop();
  });
  // The monitor (host/debug/): --monitor stdio reads its lines from stdin; on a terminal,
  // Ctrl-A C switches typed input between the guest's console and the monitor.
  const monitor = debug?.monitor;
  let inMonitor = o.monitor === 'stdio';
  const mio = monitor && await import('../debug/monitor-io');
  const PROMPT = mio ? mio.PROMPT : '';
  const editor = monitor && mio && new mio.LineEditor((line) => void monitor.execute(line).then((out) => io.stderr(mio.crlf(out) + PROMPT)), io.stdin.isTTY === true, io.stderr);
  if (inMonitor) {
    io.stderr(PROMPT);
    // the end of a stdio monitor's input ends the run, as quit (after the commands before it)
    io.stdin.once('end', () => void monitor?.execute('quit'));
  }
  const attach = () => attachStdin(
    io.stdin,
    (bytes) => (inMonitor && editor ? editor.feed(bytes) : machine.consoleInput(bytes)),
    () => {
      quitByUser = true;
      machine.stop();
    },
    (text) => io.stderr(text),
    target ? () => {
      saveRequested = true;
      machine.stop();
    } : undefined,
    editor && (() => {
      inMonitor = !inMonitor;
      io.stderr(inMonitor ? `\r\n${PROMPT}` : '\r\n');
    }),
    () => machine.switchConsoleInput(),
  );
  // Typed input from a terminal (raw mode) or for the monitor at once; from a pipe or a file
  // from the run's first yield on (the bytes wait in the pipe or file meanwhile), so a guest that
  // is done by then never creates process.stdin (docs/performance.md "Start-up").
  let hookup: ConsoleHookup | undefined;
  let later: NodeJS.Immediate | undefined;
  if (editor || stdinMayBeTerminal(io)) hookup = attach();
  else later = setImmediate(() => { later = undefined; hookup = attach(); });
  const limits: RunLimits = {};
  if (o.timeout !== undefined) limits.timeoutMs = Number(o.timeout) * 1000;
  if (o.maxInstructions !== undefined) limits.maxInstructions = o.maxInstructions;
  let result: RunResult;
  // Run on with what is left of the limits.
  const addUp = (r: RunResult) => {
    done.instructions += r.instructions;
    done.traps += r.traps;
    done.wallMs += r.wallMs;
    if (limits.maxInstructions !== undefined) limits.maxInstructions -= r.instructions;
    if (limits.timeoutMs !== undefined) limits.timeoutMs -= r.wallMs;
  };
  const done = { instructions: 0n, traps: 0n, wallMs: 0 };
  // --migrate-to (docs/migration.md): pre-copy runs between the run's slices; stop-and-copy here.
  const sourceIo = { stderr: io.stderr, get isTTY() { return process.stderr.isTTY === true; } };
  // The run a migration stops: a hart the debugger holds (-S, the monitor's stop) is let out of
  // the run loop too, so a paused VM migrates (in one round: nothing dirties its RAM), and its
  // run state goes with it: the target keeps it paused (source.ts SourceRun).
  const run = { stop: () => { machine.stop(); debug?.unblock(); }, runState: () => debug?.gate.runState ?? 'running' as const };
  let migration = o.migrate?.to && target ? new (await import('../migrate/source')).MigrationSource(target, run, o.migrate, sourceIo) : undefined;
  migration?.start();
  // SIGUSR2 starts the migration now (scripts and tests that wait for the guest to be ready).
  const migrateNow = () => migration?.startNow();
  if (migration) process.on('SIGUSR2', migrateNow);
  // The monitor's savevm, loadvm and migrate (monitor-run.ts): they act between two run() calls.
  const commands = monitor && target && debug ? new (await import('./monitor-run')).RunCommands({
    target, runnable: run, unblock: debug.unblock, snapshotFile: o.snapshotFile, memSize: o.memSize, migrate: o.migrate, io: sourceIo,
    migration: () => migration,
    startMigration: (m) => { migration = m; m.start(); },
  }) : undefined;
  if (commands && monitor) commands.define(monitor);
  // With a monitor the run yields to the event loop every 1 ms of wall time instead of 20, so a
  // `stop` (or savevm, migrate) lands within about a millisecond of guest time, as QEMU's monitor
  // stops a running guest at once; the cost is a timer turn per millisecond.
  if (commands && target) (target instanceof Vm ? target.vcpu : target).yieldMs = MONITOR_YIELD_MS;
  try {
    for (;;) {
      result = await machine.run(limits);
      // (a monitor's quit wins over the commands waiting for this stop: they answer that the run ended)
      const stopped = result.reason === 'stopped' && !quitByUser && !brokenPipe && debug?.quitting !== true;
      if (stopped && commands?.pending) {
        commands.runWaiting();
        if (!migration?.stopWanted && !saveRequested) {
          addUp(result);
          continue;
        }
      }
      if (stopped && migration?.stopWanted) {
        if (await migration.stopAndCopy()) {
          debug?.finish(result);
          return { result, quitByUser, brokenPipe, migrated: 0 };
        }
        // COMMIT went out and no answer came back: the target may run the guest, so this side
        // never does again (as xl migrate's point of no return; source.ts said so in one line).
        if (migration.targetOwns) {
          debug?.finish(result);
          if (target) await saveHeldState(target, o, io);
          return { result, quitByUser, brokenPipe, migrated: 1 };
        }
        addUp(result);
        continue;
      }
      if (!(result.reason === 'stopped' && saveRequested && !quitByUser && !brokenPipe && target)) break;
      saveRequested = false;
      const snap = await import('../snapshot/file');
      const path = o.snapshotFile ?? snap.DEFAULT_SNAPSHOT_FILE;
      try {
        io.stderr(`\r\nwasmvisor: saved snapshot ${path} (${snap.saveSnapshotFile(target, path)} bytes)\r\n`);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        io.stderr(`\r\n${e.message}\r\n`);
      }
      addUp(result);
    }
  } finally {
    if (later !== undefined) clearImmediate(later);
    hookup?.close();
    process.off('SIGUSR2', migrateNow);
    commands?.close('the run has ended');
    migration?.abandon('the run ended first');
  }
  debug?.finish(result);
  result = { ...result, instructions: result.instructions + done.instructions, traps: result.traps + done.traps, wallMs: result.wallMs + done.wallMs };
  return { result, quitByUser, brokenPipe };
}

function outcome(o: RunOptions, r: RunResult, quitByUser: boolean, io: CliIo): number {
  switch (r.reason) {
    case 'exit':
      return processExitCode(r.exitCode);
    case 'timeout':
      io.stderr(`wasmvisor: ${o.image}: timeout after ${o.timeout} s (${r.instructions} instructions)\n`);
      return EXIT_TIMEOUT;
    case 'max-instructions': {
      // A trap storm reaches the limit in traps, having retired (almost) nothing.
      const traps = o.maxInstructions !== undefined && r.instructions < o.maxInstructions ? ` and ${r.traps} traps` : '';
      io.stderr(`wasmvisor: ${o.image}: stopped after ${r.instructions} instructions${traps} (--max-instructions ${o.maxInstructions})\n`);
      return EXIT_MAX_INSTRUCTIONS;
    }
    case 'stopped':
      if (quitByUser) io.stderr('\r\nwasmvisor: terminated by Ctrl-A X\n');
      return 0;
  }
}

/**
 * Entry point used by bin/wasmvisor.cjs: run, let stdout and stderr drain (those that were used,
 * stdio.ts), then exit with the status (explicitly, so a device timer or stdin can never keep the
 * process alive).
 */
export async function main(argv: string[]): Promise<void> {
  process.once('exit', flushStdout); // (an exit on a signal: stdin.ts, xl-control.ts)
  const code = await runCli(argv);
  flushStdout();
  await drainStdio({ stdout: stdoutClosed });
  process.exit(code);
}
