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
import { attachStdin } from './stdin';
import { commandHelp } from './help';
import { mModeEvidence } from './m-mode';
import { runUp, runXl } from './xl';
import { runLab } from '../lab/run';
import pkg from '../../package.json';

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
      io.stdout(cmd.command !== undefined ? commandHelp(cmd.command) : USAGE);
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

  const { result, quitByUser, brokenPipe } = await drive(machine, o, io).finally(() => disk?.close());
  if (o.stats) io.stderr(formatStats(machine.stats()));
  if (brokenPipe) return EXIT_BROKEN_PIPE;
  return outcome(o, result, quitByUser, io);
}

/**
 * VM mode: IMAGE is an S-mode kernel (ELF, or raw at 0x80200000) run in VS-mode by the VMM,
 * which plays SBI firmware and hypervisor.
 */
async function runVm(o: RunOptions, io: CliIo): Promise<number> {
  const kernel = loadImageFile(o.image, KERNEL_RAW_BASE);
  const mMode = mModeEvidence(kernel);
  if (mMode !== undefined) throw new UserError(`wasmvisor: ${o.image}: an M-mode program (${mMode}), not an S-mode kernel: run it on the bare machine with --bare`);
  checkPlacement(kernel, o.memSize);
  const vm = await Vm.create({
    memSize: o.memSize,
    kernel,
    boot: readBootOptions(o),
    virt: o.virt,
    deterministic: o.deterministic,
    jit: o.jit,
    jitThreshold: o.jitThreshold,
    jitCodeLimit: o.jitCodeLimit,
    jitMaxBlocks: o.jitMaxBlocks,
    onConsoleOutput: (bytes) => io.stdout(Uint8Array.from(bytes)),
    onTraceExit: o.traceExits ? (line) => io.stderr(line + '\n') : undefined,
  });
  const { result, quitByUser, brokenPipe } = await drive(vm, o, io);
  const failure = (result as VmRunResult).failure;
  if (failure !== undefined) io.stderr(`wasmvisor: ${failure}\n`);
  if (o.stats) {
    io.stderr(formatStats(vm.stats()));
    io.stderr(formatExitStats(vm.exits, vm.vcpu.instructions, vm.walkCounters()));
    const tech = vm.vcpu.technique;
    if (tech instanceof TrapTechnique) io.stderr(formatShadowStats(tech.shadow.counters, tech.mode));
    if (tech instanceof BtTechnique) io.stderr(formatBtStats(tech.counters()));
  }
  if (brokenPipe) return EXIT_BROKEN_PIPE;
  return outcome(o, result, quitByUser, io);
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

/** Wire the console and the limits to a machine or VM and run it. */
async function drive(machine: Runnable, o: RunOptions, io: CliIo): Promise<{ result: RunResult; quitByUser: boolean; brokenPipe: boolean }> {
  let quitByUser = false;
  let brokenPipe = false;
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
  );
  const limits: RunLimits = {};
  if (o.timeout !== undefined) limits.timeoutMs = Number(o.timeout) * 1000;
  if (o.maxInstructions !== undefined) limits.maxInstructions = o.maxInstructions;
  let result: RunResult;
  try {
    result = await machine.run(limits);
  } finally {
    hookup.close();
  }
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
