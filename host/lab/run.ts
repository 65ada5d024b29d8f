/**
 * `wasmvisor lab IMAGE`: run one S-mode kernel under every technique combination this build
 * supports (combos.ts), each in a Vm of its own in this process, with its console captured;
 * check that every run printed the same bytes and ended the same way; print one table
 * (table.ts), and optionally write it as JSON and as an SVG bar chart (svg.ts).
 *
 * Exit status: 0 when all outputs are identical, 1 when they are not (the first difference is
 * reported), 2 for bad input (usage, IMAGE), 70 for an internal error (as `run`).
 */
import { writeFileSync } from 'node:fs';
import { UserError } from '../errors';
import { loadImageFile } from '../machine/loader';
import type { LoadedImage } from '../machine/types';
import { readBootOptions, type CliIo } from '../cli/main';
import { parseArgs, type RunOptions } from '../cli/args';
import { checkPlacement } from '../cli/placement';
import { KERNEL_RAW_BASE, Vm } from '../vmm/vm';
import { COMBOS, comboOptions, isSupported, notApplicable, type Combo } from './combos';
import { labFigures, type LabFigures } from './figures';
import { labSvg } from './svg';
import { formatLabTable, labJson, type LabReport, type LabRow } from './table';

/** The text of `wasmvisor lab --help`. */
export const LAB_USAGE = `usage: wasmvisor lab IMAGE [--json FILE|-] [--svg FILE] [--runs N] [--realtime] [VM options]

Run the S-mode kernel IMAGE under every virtualization technique this build supports
(${COMBOS.map((c) => c.id).join(', ')}), one VM each, its console captured, and print one table:
wall time, guest instructions, exits by kind, emulated instructions by class, page-table write
faults, shadow tables built and reused, TLB flushes, 1D and 2D walks, mean host time per exit
(docs/techniques.md, "The lab"). Every technique must print the same console output and end
the same way; otherwise the first difference is reported and the status is 1. A Linux
Image (its boot header's magic) is not run under pv: there is no paravirtual RISC-V Linux.

options of lab:
  --json FILE|-            also write the table as JSON to FILE (- : stdout; the table then
                           goes to stderr)
  --svg FILE               also write an SVG bar chart of wall time and exits to FILE
  --runs N                 run every combination N times and keep its fastest run (default 1)
  --realtime               guest time from the wall clock (default: --deterministic, guest time
                           from retired instructions, so every technique does the same work)
  VM options of run        --mem, --timeout (per run; default ${'300'} s), --max-instructions,
                           --jit, --jit-threshold, --jit-code-limit, --jit-max-blocks,
                           --append, --initrd, --dtb

exit status: 0 when all outputs are identical; 1 when they differ; 2 for bad input.
`;

/** Per-run --timeout when none is given, in seconds. */
export const LAB_DEFAULT_TIMEOUT_S = 300;
/** Console bytes kept per run for the comparison (a guest printing forever is cut here, and said so). */
export const LAB_OUTPUT_CAP = 16 << 20;

/** What `lab` was asked. */
export interface LabOptions {
  image: string;
  json?: string;
  svg?: string;
  runs: number;
  /** IMAGE and the VM options, as typed (given to the run parser with each combination's own). */
  vmArgs: string[];
  /** The run options they make (without --virt/--paging). */
  base: RunOptions;
}

/** Parse `lab`'s arguments (after the word lab). Throws UserError. `undefined`: --help. */
export function parseLabArgs(argv: readonly string[]): LabOptions | undefined {
  let json: string | undefined, svg: string | undefined, runs = 1, realtime = false;
  const vmArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) [a, value] = [a.slice(0, eq), a.slice(eq + 1)];
    const take = (): string => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) throw new UserError(`wasmvisor: lab: ${a} needs a value (see wasmvisor lab --help)`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') return undefined;
    else if (a === '--json') json = take();
    else if (a === '--svg') svg = take();
    else if (a === '--runs') {
      const v = take();
      runs = Number(v);
      if (!/^\d+$/.test(v) || runs < 1 || runs > 100) throw new UserError(`wasmvisor: lab: --runs: bad value '${v}' (expected 1..100)`);
    } else if (a === '--realtime') realtime = true;
    else if (a === '--virt' || a === '--paging' || a === '--bare' || a === '--stats' || a === '--trace' || a === '--deterministic' || a === '--disk' || a === '--bios') {
      throw new UserError(`wasmvisor: lab: ${a} is not an option of lab (it runs every --virt/--paging combination itself; see wasmvisor lab --help)`);
    } else vmArgs.push(argv[i]);
  }
  // (in front: after a '--' everything is positional)
  if (!realtime) vmArgs.unshift('--deterministic');
  // The run parser checks the VM options and finds IMAGE (one positional argument).
  const cmd = (() => {
    try {
      const c = parseArgs(['run', ...vmArgs]);
      if (c.kind !== 'run') throw new UserError(`wasmvisor: lab: ${vmArgs.join(' ')}: not VM options (see wasmvisor lab --help)`);
      return c.options;
    } catch (e) {
      if (e instanceof UserError) throw new UserError(e.message.replace(/^wasmvisor: run: missing IMAGE.*/, 'wasmvisor: lab: missing IMAGE (usage: wasmvisor lab IMAGE [options]; see wasmvisor lab --help)').replace(/^wasmvisor: run:/, 'wasmvisor: lab:'), e.exitCode);
      throw e;
    }
  })();
  if (cmd.timeout === undefined) cmd.timeout = String(LAB_DEFAULT_TIMEOUT_S);
  if (!vmArgs.some((a) => a === '--timeout' || a.startsWith('--timeout='))) vmArgs.unshift('--timeout', cmd.timeout);
  return { image: cmd.image, json, svg, runs, vmArgs, base: cmd };
}

/** One run's result. */
export interface LabRun {
  combo: Combo;
  figures: LabFigures;
  /** How it ended: "exit N", "timeout", "max-instructions", "stopped", or "failed: ..." */
  outcome: string;
  output: Uint8Array;
  /** Console bytes past LAB_OUTPUT_CAP (not kept). */
  outputDropped: number;
}

/** Run `kernel` once under `combo` with the lab's options. */
export async function runCombo(kernel: LoadedImage, combo: Combo, o: LabOptions): Promise<LabRun> {
  const r = comboOptions(combo, o.vmArgs);
  const chunks: Uint8Array[] = [];
  let kept = 0, dropped = 0;
  const vm = await Vm.create({
    memSize: r.memSize,
    kernel,
    boot: readBootOptions(r),
    virt: r.virt,
    paging: r.paging,
    deterministic: r.deterministic,
    jit: r.jit,
    jitThreshold: r.jitThreshold,
    jitCodeLimit: r.jitCodeLimit,
    jitMaxBlocks: r.jitMaxBlocks,
    onConsoleOutput: (b) => {
      const room = LAB_OUTPUT_CAP - kept;
      if (room > 0) chunks.push(Uint8Array.from(b.subarray(0, room)));
      kept += Math.min(room, b.length);
      dropped += Math.max(0, b.length - room);
    },
  });
  const t0 = performance.now();
  const res = await vm.run({ timeoutMs: Number(r.timeout) * 1000, ...(r.maxInstructions !== undefined ? { maxInstructions: r.maxInstructions } : {}) });
  const wallMs = performance.now() - t0;
  const figures = labFigures({
    wallMs,
    instructions: vm.vcpu.instructions,
    exitRows: vm.exits.rows(),
    walks: vm.walkCounters(),
    technique: vm.vcpu.technique.counters?.(),
  });
  // A shadow combination that walked in two dimensions ran nested paging: the VM did not honour
  // VmConfig.paging (a wiring bug, not a result to print under the wrong name).
  if (combo.paging === 'shadow' && figures.walks2d > 0) {
    throw new Error(`lab: ${combo.id}: the VM walked ${figures.walks2d} guest translations in two dimensions, so it did not run shadow paging`);
  }
  const outcome = res.failure !== undefined ? `failed: ${res.failure}` : res.reason === 'exit' ? `exit ${res.exitCode}` : res.reason;
  const output = new Uint8Array(kept);
  let at = 0;
  for (const c of chunks) output.set(c, (at += c.length) - c.length);
  return { combo, figures, outcome, output, outputDropped: dropped };
}

/** The first difference between two runs, as one line; undefined when they are identical. */
export function compareRuns(image: string, a: LabRun, b: LabRun): string | undefined {
  const what = `wasmvisor: lab: ${image}: ${b.combo.id} differs from ${a.combo.id}`;
  // The VMM's report of a guest it stopped names technique-specific causes: "failed" is the end.
  const end = (r: LabRun) => (r.outcome.startsWith('failed') ? 'failed' : r.outcome);
  if (end(a) !== end(b)) return `${what}: it ended with ${b.outcome}, not ${a.outcome}`;
  const x = a.output, y = b.output;
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  if (i === x.length && i === y.length) {
    if (a.outputDropped !== b.outputDropped) return `${what}: console output of ${b.outputDropped + y.length} bytes, not ${a.outputDropped + x.length}`;
    return undefined;
  }
  let line = 1;
  for (let k = 0; k < i; k++) if (x[k] === 10) line++;
  const show = (u: Uint8Array) => (i < u.length ? JSON.stringify(Buffer.from(u.subarray(i, i + 24)).toString('latin1')) : 'the end of output');
  return `${what}: console output differs at byte ${i} (line ${line}): ${show(y)} instead of ${show(x)}`;
}

/**
 * Run `kernel` under every combination of `combos`, each o.runs times keeping its fastest run,
 * in order; `progress` hears of each kept run. Returns the runs and the differences from the
 * first combination's (one line each; none when all are identical).
 */
export async function labRuns(kernel: LoadedImage, combos: readonly Combo[], o: LabOptions, progress?: (r: LabRun) => void): Promise<{ runs: LabRun[]; mismatches: string[] }> {
  const runs: LabRun[] = [];
  for (const c of combos) {
    let keep: LabRun | undefined;
    for (let k = 0; k < o.runs; k++) {
      const run = await runCombo(kernel, c, o);
      if (keep === undefined || run.figures.wallMs < keep.figures.wallMs) keep = run;
    }
    runs.push(keep!);
    progress?.(keep!);
  }
  const mismatches = runs.slice(1).map((r) => compareRuns(o.image, runs[0], r)).filter((m): m is string => m !== undefined);
  return { runs, mismatches };
}

/** `wasmvisor lab ARGS`: returns the exit status; UserError for bad input (the caller reports it). */
export async function runLab(argv: readonly string[], io: CliIo): Promise<number> {
  const o = parseLabArgs(argv);
  if (o === undefined) {
    io.stdout(LAB_USAGE);
    return 0;
  }
  const kernel = loadImageFile(o.image, KERNEL_RAW_BASE);
  checkPlacement(kernel, o.base.memSize);
  const inBuild = COMBOS.filter(isSupported);
  const combos = inBuild.filter((c) => notApplicable(c, kernel) === undefined);
  const { runs: best, mismatches } = await labRuns(kernel, combos, o);
  const na = inBuild.filter((c) => !combos.includes(c)).map((c) => ({ combo: c.id, why: notApplicable(c, kernel)! }));
  const rows: LabRow[] = best.map((r) => ({ combo: r.combo.id, figures: r.figures }));
  const report: LabReport = {
    image: o.image,
    options: { runs: o.runs, jit: o.base.jit ?? 'on', deterministic: o.base.deterministic, memSize: o.base.memSize, timeoutS: Number(o.base.timeout) },
    supported: combos.map((c) => c.id),
    unsupported: COMBOS.filter((c) => !inBuild.includes(c)).map((c) => c.id),
    notApplicable: Object.fromEntries(na.map((x) => [x.combo, x.why])),
    identical: mismatches.length === 0,
    outcomes: Object.fromEntries(best.map((r) => [r.combo.id, r.outcome])),
    rows,
  };
  const table = formatLabTable(rows);
  const notes = `(${o.base.deterministic ? 'deterministic' : 'realtime'} guest time, --jit ${report.options.jit}, best of ${o.runs} run${o.runs > 1 ? 's' : ''}; ` +
    (report.identical ? `${best.length} technique${best.length > 1 ? 's' : ''}, identical console output, ended: ${best[0].outcome}` : 'console output DIFFERS between techniques') +
    (report.unsupported.length > 0 ? `; not in this build: ${report.unsupported.join(', ')}` : '') +
    na.map((x) => `; ${x.combo}: not applicable (${x.why})`).join('') + ')\n';
  if (o.json === '-') {
    io.stdout(labJson(report));
    io.stderr(table + notes);
  } else {
    io.stdout(table + notes);
    if (o.json !== undefined) writeOut(o.json, labJson(report), '--json');
  }
  if (o.svg !== undefined) writeOut(o.svg, labSvg(rows, `wasmvisor lab: ${o.image.split('/').pop()}`), '--svg');
  for (const m of mismatches) io.stderr(m + '\n');
  return mismatches.length === 0 ? 0 : 1;
}

function writeOut(path: string, text: string, what: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new UserError(`wasmvisor: lab: ${what}: cannot write '${path}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
