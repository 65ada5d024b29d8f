/**
 * The `wasmvisor` command (bundled to dist/cli.mjs; bin/wasmvisor.mjs calls `main`).
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
 */
import { type BootOptions } from '../machine/boot-data';
import { readInputFile } from '../machine/input-file';
import { UserError } from '../errors';
import { loadImageFile } from '../machine/loader';
import { Machine } from '../machine/machine';
import { FileBackend } from '../devices/virtio/file-backend';
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
import { attachStdin } from './stdin';
import { runUp, runXl } from './xl';
import { runLab } from '../lab/run';
import { receiveMigration } from '../migrate/incoming';
import { MigrationSource } from '../migrate/source';
import { DEFAULT_SNAPSHOT_FILE, restoreSnapshotFile, saveSnapshotFile } from '../snapshot/file';
import pkg from '../../package.json';

/** bin/wasmvisor.mjs hands over the core it compiled while the bundle loaded. */
export { setCoreModule } from '../machine/core';

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
}

let stdoutClosed = false;
let stdoutClosedHandler: (() => void) | undefined;

const processIo: CliIo = {
  stdout: (b) => {
    if (!stdoutClosed) process.stdout.write(b);
  },
  stderr: (t) => void process.stderr.write(t),
  stdin: process.stdin,
  onStdoutClosed: (handler) => {
    stdoutClosedHandler = handler;
  },
};

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  stdoutClosed = true;
  stdoutClosedHandler?.();
});

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
      io.stdout(USAGE);
      return 0;
    }
    if (cmd.kind === 'version') {
      io.stdout(`wasmvisor ${pkg.version}\n`);
      return 0;
    }
    // -- xl toolstack (host/cli/xl.ts) --
    if (cmd.kind === 'xl') return await runXl(cmd.args, io);
    if (cmd.kind === 'up') return await runUp(cmd.args, io);
    if (cmd.kind === 'lab') return await runLab(cmd.args, io);
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

/** What the CLI drives: the bare Machine or a Vm. */
interface Runnable {
  consoleInput(bytes: Uint8Array): void;
  stop(): void;
  run(limits: RunLimits): Promise<RunResult>;
}

async function runGuest(o: RunOptions, io: CliIo): Promise<number> {
  if (!o.bare) return runVm(o, io);
  const bios = o.bios !== undefined ? loadImageFile(o.bios, RAM_BASE) : undefined;
  const kernel = loadImageFile(o.image, bios ? PAYLOAD_BASE : RAM_BASE);
  if (bios) checkPlacement(bios, o.memSize);
  checkPlacement(kernel, o.memSize, bios);
  const disk = o.disk ? FileBackend.open(o.disk.path, { readOnly: o.disk.readOnly }) : undefined;

  const machine = await Machine.create({
    memSize: o.memSize,
    kernel,
    bios,
    disk,
    boot: readBootOptions(o),
    deterministic: o.deterministic,
    jit: o.jit,
    jitThreshold: o.jitThreshold,
    jitCodeLimit: o.jitCodeLimit,
    jitMaxBlocks: o.jitMaxBlocks,
    // copy: the machine may reuse its buffer before an asynchronous stream writes it
    onConsoleOutput: (bytes) => io.stdout(Uint8Array.from(bytes)),
  });

  if (o.restore !== undefined) restoreSnapshotFile(machine, o.restore, o.memSize);
  if (o.migrate?.incoming) await receiveMigration(machine, o.migrate, io);
  const { result, quitByUser, brokenPipe, migrated } = await drive(machine, o, io, machine).finally(() => disk?.close());
  if (migrated) return 0;
  if (o.stats) io.stderr(formatStats(machine.stats()));
  if (brokenPipe) return EXIT_BROKEN_PIPE;
  const saved = saveOnExit(machine, o, result, io);
  return saved ?? outcome(o, result, quitByUser, io);
}

/**
 * VM mode: IMAGE is an S-mode kernel (ELF, or raw at 0x80200000) run in VS-mode by the VMM,
 * which plays SBI firmware and hypervisor.
 */
async function runVm(o: RunOptions, io: CliIo): Promise<number> {
  const kernel = loadImageFile(o.image, KERNEL_RAW_BASE);
  checkPlacement(kernel, o.memSize);
  const vm = await Vm.create({
    memSize: o.memSize,
    kernel,
    boot: readBootOptions(o),
    virt: o.virt,
    paging: o.paging,
    deterministic: o.deterministic,
    jit: o.jit,
    jitThreshold: o.jitThreshold,
    jitCodeLimit: o.jitCodeLimit,
    jitMaxBlocks: o.jitMaxBlocks,
    onConsoleOutput: (bytes) => io.stdout(Uint8Array.from(bytes)),
    onTraceExit: o.traceExits ? (line) => io.stderr(line + '\n') : undefined,
  });
  if (o.restore !== undefined) restoreSnapshotFile(vm, o.restore, o.memSize);
  if (o.migrate?.incoming) await receiveMigration(vm, o.migrate, io);
  const { result, quitByUser, brokenPipe, migrated } = await drive(vm, o, io, vm);
  if (migrated) return 0;
  const failure = (result as VmRunResult).failure;
  if (failure !== undefined) io.stderr(`wasmvisor: ${failure}\n`);
  if (o.stats) {
    io.stderr(formatStats(vm.stats()));
    io.stderr(formatExitStats(vm.exits, vm.vcpu.instructions, vm.walkCounters()));
    const tech = vm.vcpu.technique;
    if (tech instanceof TrapTechnique || tech instanceof HwShadowTechnique) io.stderr(formatShadowStats(tech.shadow.counters, tech.mode));
    if (tech instanceof BtTechnique) io.stderr(formatBtStats(tech.counters()));
    else {
      const c = tech.counters?.();
      if (c !== undefined) io.stderr(formatTechniqueCounters(tech.mode, c));
    }
  }
  if (brokenPipe) return EXIT_BROKEN_PIPE;
  const saved = failure === undefined ? saveOnExit(vm, o, result, io) : undefined;
  return saved ?? outcome(o, result, quitByUser, io);
}

/**
 * --save-on-exit (docs/snapshot.md): save when the run ended for the host's reasons (--timeout,
 * --max-instructions, Ctrl-A X), not when the guest ended itself (there is nothing left to run).
 * Returns an exit status only when the save failed (2, its one line printed).
 */
function saveOnExit(target: Machine | Vm, o: RunOptions, r: RunResult, io: CliIo): number | undefined {
  if (o.saveOnExit === undefined) return undefined;
  if (r.reason === 'exit') {
    io.stderr(`wasmvisor: ${o.saveOnExit}: not saved: the guest exited (code ${r.exitCode})\n`);
    return undefined;
  }
  try {
    const n = saveSnapshotFile(target, o.saveOnExit);
    io.stderr(`wasmvisor: saved snapshot ${o.saveOnExit} (${n} bytes)\n`);
    return undefined;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    io.stderr(`${e.message}\n`);
    return e.exitCode;
  }
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
async function drive(machine: Runnable, o: RunOptions, io: CliIo, target?: Machine | Vm): Promise<{ result: RunResult; quitByUser: boolean; brokenPipe: boolean; migrated?: boolean }> {
  let quitByUser = false;
  let brokenPipe = false;
  let saveRequested = false;
  io.onStdoutClosed(() => {
    brokenPipe = true;
    machine.stop();
  });
  const hookup = attachStdin(
    io.stdin,
    (bytes) => machine.consoleInput(bytes),
    () => {
      quitByUser = true;
      machine.stop();
    },
    (text) => io.stderr(text),
    target ? () => {
      saveRequested = true;
      machine.stop();
    } : undefined,
  );
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
  const migration = o.migrate?.to && target ? new MigrationSource(target, machine, o.migrate, { stderr: io.stderr, isTTY: process.stderr.isTTY === true }) : undefined;
  migration?.start();
  try {
    for (;;) {
      result = await machine.run(limits);
      if (result.reason === 'stopped' && migration?.stopWanted && !quitByUser && !brokenPipe) {
        if (await migration.stopAndCopy()) return { result, quitByUser, brokenPipe, migrated: true };
        addUp(result);
        continue;
      }
      if (!(result.reason === 'stopped' && saveRequested && !quitByUser && !brokenPipe && target)) break;
      saveRequested = false;
      const path = o.snapshotFile ?? DEFAULT_SNAPSHOT_FILE;
      try {
        io.stderr(`\r\nwasmvisor: saved snapshot ${path} (${saveSnapshotFile(target, path)} bytes)\r\n`);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        io.stderr(`\r\n${e.message}\r\n`);
      }
      addUp(result);
    }
  } finally {
    hookup.close();
    migration?.abandon('the run ended first');
  }
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
 * Entry point used by bin/wasmvisor.mjs: run, let stdout and stderr drain, then exit with the
 * status (explicitly, so a device timer or stdin can never keep the process alive).
 */
export async function main(argv: string[]): Promise<void> {
  const code = await runCli(argv);
  if (!stdoutClosed) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}
