/**
 * `npm run bench`: runs every workload of guests/bench/ on wasmvisor
 * (in-process), on qemu-system-riscv64 (TCG) and natively (host gcc -O2),
 * prints a table of times and ratios, and writes bench/results/latest.json.
 *
 *   node dist/bench.mjs [--runs N] [--only crc32,qsort,vm,rss,lab,browser,migration] [--no-wasmvisor]
 *                       [--no-qemu] [--no-native] [--no-make] [--out FILE]
 *                       [--timeout SECONDS]
 *
 * Every measurement is the best of N runs (default 3). QEMU and native times
 * are whole processes; their startup cost (a trivial image, an empty
 * program) is measured and subtracted before ratios are taken. wasmvisor's
 * time is `Machine.run()` alone. See bench/README.md for how to read it.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostInfo } from './machine-info';
import { HOST_CC, compileEmptyNative, compileNative, hostCcVersion, runNative } from './native';
import { QEMU, qemuVersion, runQemu, writeTrivialImage } from './qemu';
import { BenchReport, EngineResult, WorkloadResult, finishWorkload, formatTable, geomeanRow } from './report';
import { bestOf, cpuOfSpawn, timedSpawn, type Spread } from './timing';
import { benchSvg, type ChartRow } from './chart';
import { trivialElf } from './trivial-elf';
import { runWasmvisor } from './wasmvisor';
import { WORKLOADS, resultLine, workloadPaths } from './workloads';
import { vmBenchmarks, formatVmBench, type VmBench } from './vm';
import { bootBenchmarks, formatBootBench, type BootBench } from './boot';
import { formatJitCheck, jitSlowerThanInterpreter, type JitPair } from './jit-check';
import { formatLinuxBench, linuxBenchmarks, type LinuxBench } from './linux';
import { xenBenchmarks, formatXenBench, type XenBench } from './xen';
import { memBenchmarks, formatMemBench, type MemBench } from './memory';
import { rssBenchmarks, rssProbe, formatRssBench, type RssRow } from './rss';
import { labBenchmarks, formatLabBench, type LabBench } from './lab';
import { browserBenchmarks, formatBrowserBench, type BrowserBench } from './browser';
import { formatMigrationBench, migrationBenchmarks, type MigrationBench } from './migration';

/** Command-line options. */
interface Options {
  runs: number;
  only: string[] | null;
  wasmvisor: boolean;
  qemu: boolean;
  native: boolean;
  make: boolean;
  out: string | null;
  timeoutMs: number;
}

const USAGE = 'usage: bench [--runs N] [--only a,b] [--no-wasmvisor] [--no-qemu] [--no-native] [--no-make] [--out FILE] [--timeout SECONDS]';

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 3, only: null, wasmvisor: true, qemu: true, native: true, make: true, out: null, timeoutMs: 300_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) throw new UsageError(`bench: ${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--runs': {
        const v = value();
        o.runs = Number(v);
        if (!Number.isInteger(o.runs) || o.runs < 1) throw new UsageError(`bench: --runs must be a positive integer, got '${v}'`);
        break;
      }
      case '--only': {
        o.only = value().split(',').filter((s) => s !== '');
        const unknown = o.only.filter((n) => n !== 'vm' && n !== 'boot' && n !== 'xen' && n !== 'mem' && n !== 'rss' && n !== 'lab' && n !== 'browser' && n !== 'linux' && n !== 'migration' && !WORKLOADS.some((w) => w.name === n));
        if (unknown.length > 0) {
          throw new UsageError(`bench: unknown workload '${unknown[0]}' (have ${WORKLOADS.map((w) => w.name).join(', ')}, vm, boot, linux, xen, mem, rss, lab, browser)`);
        }
        break;
      }
      case '--timeout': {
        const v = value();
        o.timeoutMs = Number(v) * 1000;
        if (!(o.timeoutMs > 0)) throw new UsageError(`bench: --timeout must be a positive number of seconds, got '${v}'`);
        break;
      }
      case '--no-wasmvisor': o.wasmvisor = false; break;
      case '--no-qemu': o.qemu = false; break;
      case '--no-native': o.native = false; break;
      case '--no-make': o.make = false; break;
      case '--out': o.out = value(); break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new UsageError(`bench: unknown option '${a}'\n${USAGE}`);
    }
  }
  return o;
}

/** The repository root: this file is bench/run.ts, or its bundle dist/bench.mjs. */
function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** Progress of the workload measurements: "[3/12] sha256 qemu" before each, on stderr. */
const progress = { done: 0, total: 0 };
function step(name: string, engine: string): void {
  progress.done++;
  log(`[${progress.done}/${progress.total}] ${name} ${engine}`);
}

/** Each workload's engines with the min/median/max of their runs (the SVG and the spread table). */
const spreads: ChartRow[] = [];
function spreadRow(name: string, engine: string, spread: Spread): void {
  let row = spreads.find((r) => r.name === name);
  if (!row) spreads.push((row = { name, engines: [] }));
  row.engines.push({ engine, spread });
}

/** min / median / max of every measured engine, one line each. */
function formatSpreads(rows: ChartRow[], runs: number): string {
  const lines = [`Spread of the ${runs} runs (ms): min / median / max`];
  for (const r of rows) {
    for (const e of r.engines) {
      const s = e.spread;
      // (from the values as the JSON keeps them, to the microsecond, so both say the same)
      const ms = (v: number) => (Math.round(v * 1000) / 1000).toFixed(1).padStart(9);
      lines.push(`  ${r.name.padEnd(10)} ${e.engine.padEnd(7)} ${ms(s.minMs)} / ${ms(s.medianMs)} / ${ms(s.maxMs)}`);
    }
  }
  return lines.join('\n');
}

/**
 * Measures one engine on one workload, best of `runs`. Every run must print
 * the same result line; the first run's line is the one compared across
 * engines.
 */
async function measure<T extends { wallMs: number; output: string }>(
  name: string,
  engine: string,
  runs: number,
  once: () => T | Promise<T>,
): Promise<T & { result: string; spread: Spread }> {
  let first: string | undefined;
  const best = await bestOf(runs, async () => {
    const r = await once();
    const line = resultLine(name, r.output);
    if (line === undefined) {
      const shown = r.output.trim().split('\n').slice(-2).join(' | ');
      throw new Error(`${name}: ${engine} printed no single '${name}: 0x...' line (output: '${shown}')`);
    }
    if (first === undefined) first = line;
    else if (line !== first) throw new Error(`${name}: ${engine} printed '${line}' after '${first}' in an earlier run`);
    return r;
  });
  return { ...best, result: first as string };
}

/** Builds the guest images with the guests' Makefile; throws with make's last lines on failure. */
function buildGuests(root: string, names: string[]): void {
  const guests = join(root, 'guests');
  const targets = names.map((n) => relative(guests, workloadPaths(root, n).elf));
  const r = spawnSync('make', ['-C', guests, ...targets], { encoding: 'utf8' });
  if (r.error) throw new Error(`bench: cannot run make: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = `${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join('\n');
    throw new Error(`bench: make -C guests failed:\n${tail}`);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function main(): Promise<number> {
  // The child of the RSS section (bench/rss.ts): one guest in a fresh process.
  if (process.argv[2] === '--rss-probe') {
    await rssProbe(repoRoot(), process.argv[3] ?? '', process.argv[4]); // [4]: 'off' runs with --jit off
    return 0;
  }
  const opt = parseArgs(process.argv.slice(2));
  const root = repoRoot();
  const workloads = WORKLOADS.filter((w) => opt.only === null || opt.only.includes(w.name));
  const names = workloads.map((w) => w.name);

  if (opt.make && names.length > 0) buildGuests(root, names); // (none: make with no target would build every guest)

  const qemu = qemuVersion();
  const cc = hostCcVersion();
  const useQemu = opt.qemu && qemu !== undefined;
  const useNative = opt.native && cc !== undefined;
  if (opt.qemu && !useQemu) log(`bench: ${QEMU} not found (set QEMU=): QEMU columns stay empty`);
  if (opt.native && !useNative) log(`bench: ${HOST_CC} not found (set CC=): native columns stay empty`);

  const host = hostInfo(root, qemu, cc);
  console.log(`machine: ${host.cpuModel}, ${host.cores} cores, ${host.memoryGiB} GiB, ${host.platform}`);
  console.log(`node:    ${host.node}`);
  console.log(`qemu:    ${qemu ?? 'not found'}`);
  console.log(`commit:  ${host.commit ?? 'not a git checkout'}`);
  console.log(`runs:    ${opt.runs} per measurement (tables: the minimum)`);
  progress.total = workloads.length * ((opt.wasmvisor ? 2 : 0) + (useQemu ? 1 : 0) + (useNative ? 1 : 0));

  const tmp = mkdtempSync(join(tmpdir(), 'wasmvisor-bench-'));
  try {
    // ---- startup costs ----
    const startup: BenchReport['startup'] = { qemuMs: null, nativeMs: null, wasmvisorCreateMs: null };
    if (useQemu) {
      const trivial = writeTrivialImage(tmp);
      startup.qemuMs = (await bestOf(opt.runs, () => runQemu(trivial, 30_000))).wallMs;
      log(`bench: QEMU startup+shutdown on a trivial image: ${startup.qemuMs.toFixed(1)} ms`);
    }
    if (useNative) {
      const empty = compileEmptyNative(tmp);
      startup.nativeMs = (await bestOf(opt.runs, () => runNative(empty, 10_000))).wallMs;
      log(`bench: native process startup (empty program): ${startup.nativeMs.toFixed(1)} ms`);
    }
    if (opt.wasmvisor) {
      try {
        const r = await bestOf(opt.runs, async () => {
          const run = await runWasmvisor(trivialElf(), 'trivial.elf', 30_000);
          return { ...run, wallMs: run.createMs };
        });
        startup.wasmvisorCreateMs = r.createMs;
        log(`bench: wasmvisor Machine.create on a trivial image: ${r.createMs.toFixed(1)} ms`);
      } catch (e) {
        log(`bench: wasmvisor cannot run a trivial image: ${errorText(e)}`);
      }
      // The whole process, as QEMU's figure is (issue 16): the CLI with its code cache warm (the
      // first run writes it), the core compiled while the bundle loads.
      try {
        const trivial = writeTrivialImage(tmp);
        const cli = [join(root, 'bin/wasmvisor.cjs'), 'run', trivial]; // the command package.json's bin names
        timedSpawn(process.execPath, cli, 30_000); // warms dist/cli.cjs.cache
        // The three whole processes alternate, so that the machine's load falls on each alike.
        const qemuArgs = ['-M', 'virt', '-bios', 'none', '-m', '128M', '-nographic', '-kernel', trivial];
        const best = { wasmvisor: Infinity, qemu: Infinity, node: Infinity };
        for (let i = 0; i < Math.max(opt.runs, 5); i++) {
          const r = timedSpawn(process.execPath, cli, 30_000);
          if (r.status !== 0) throw new Error(`exited with status ${r.status}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
          best.wasmvisor = Math.min(best.wasmvisor, r.wallMs);
          if (useQemu) best.qemu = Math.min(best.qemu, timedSpawn(QEMU, qemuArgs, 30_000).wallMs);
          best.node = Math.min(best.node, timedSpawn(process.execPath, ['-e', '0'], 30_000).wallMs);
        }
        const bestMs = best.wasmvisor;
        startup.wasmvisorProcessMs = bestMs;
        startup.alternated = { wasmvisorMs: bestMs, qemuMs: useQemu ? best.qemu : null, nodeMs: best.node };
        // NODE_EXTRA_CA_CERTS makes every Node process parse those certificates before it runs
        // any JavaScript (40 ms of CPU for Debian's bundle on this project's machine): the same
        // two Node processes without it, for a machine that does not set it.
        if (process.env.NODE_EXTRA_CA_CERTS) {
          const env = { ...process.env };
          delete env.NODE_EXTRA_CA_CERTS;
          const bare = { wasmvisor: Infinity, node: Infinity };
          for (let i = 0; i < Math.max(opt.runs, 5); i++) {
            bare.wasmvisor = Math.min(bare.wasmvisor, timedSpawn(process.execPath, cli, 30_000, env).wallMs);
            bare.node = Math.min(bare.node, timedSpawn(process.execPath, ['-e', '0'], 30_000, env).wallMs);
          }
          startup.withoutExtraCaCerts = { wasmvisorMs: bare.wasmvisor, nodeMs: bare.node };
        }
        // The same processes by CPU time (QEMU's too), and Node's own start-up as the floor.
        const bestCpu = (cmd: string, args: string[]): number | null => {
          let best: number | null = null;
          for (let i = 0; i < Math.max(opt.runs, 5); i++) {
            const c = cpuOfSpawn(cmd, args, 30_000);
            if (c !== null && (best === null || c < best)) best = c;
          }
          return best;
        };
        startup.cpu = {
          wasmvisorMs: bestCpu(process.execPath, cli),
          qemuMs: useQemu ? bestCpu(QEMU, ['-M', 'virt', '-bios', 'none', '-m', '128M', '-nographic', '-kernel', trivial]) : null,
          nodeMs: bestCpu(process.execPath, ['-e', '0']),
        };
        log(`bench: the same by CPU time: wasmvisor ${startup.cpu.wasmvisorMs ?? '-'} ms, QEMU ${startup.cpu.qemuMs ?? '-'} ms, node -e 0 ${startup.cpu.nodeMs ?? '-'} ms`);
        log(`bench: alternated: QEMU ${best.qemu.toFixed(1)} ms, node -e 0 ${best.node.toFixed(1)} ms` +
          `${startup.withoutExtraCaCerts ? `; without NODE_EXTRA_CA_CERTS: wasmvisor ${startup.withoutExtraCaCerts.wasmvisorMs.toFixed(1)} ms, node -e 0 ${startup.withoutExtraCaCerts.nodeMs.toFixed(1)} ms` : ''}`);
        log(`bench: wasmvisor process start to exit on a trivial image: ${bestMs.toFixed(1)} ms` +
          `${startup.qemuMs != null ? ` (QEMU ${startup.qemuMs.toFixed(1)} ms, ${(bestMs / startup.qemuMs).toFixed(2)}x)` : ''}`);
      } catch (e) {
        log(`bench: wasmvisor CLI on a trivial image: ${errorText(e)}`);
      }
    }

    // ---- the workloads ----
    const results: WorkloadResult[] = [];
    for (const w of workloads) {
      const { source, elf } = workloadPaths(root, w.name);
      const errors: string[] = [];
      let wasmvisor: WorkloadResult['wasmvisor'] = null;
      let interpreter: WorkloadResult['interpreter'] = null;
      let qemuRes: EngineResult | null = null;
      let nativeRes: EngineResult | null = null;
      let instructions: string | null = null;

      if (opt.wasmvisor) {
        try {
          const image = new Uint8Array(readFileSync(elf));
          step(w.name, 'jit');
          const r = await measure(w.name, 'wasmvisor', opt.runs, () => runWasmvisor(image, relative(root, elf), opt.timeoutMs));
          // bigint counters become decimal strings so the JSON stays plain.
          const stats = Object.fromEntries(
            Object.entries(r.stats).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : (v as number)]),
          );
          wasmvisor = { wallMs: r.wallMs, netMs: r.wallMs, result: r.result, mips: r.mips, stats, spread: r.spread };
          spreadRow(w.name, 'jit', r.spread);
          instructions = r.instructions.toString();
        } catch (e) {
          errors.push(`wasmvisor: ${errorText(e)}`);
        }
        try {
          const image = new Uint8Array(readFileSync(elf));
          step(w.name, 'interp');
          const r = await measure(w.name, 'wasmvisor --jit off', opt.runs, () => runWasmvisor(image, relative(root, elf), opt.timeoutMs, 'off'));
          interpreter = { wallMs: r.wallMs, netMs: r.wallMs, result: r.result, mips: r.mips, spread: r.spread };
          spreadRow(w.name, 'interp', r.spread);
        } catch (e) {
          errors.push(`wasmvisor --jit off: ${errorText(e)}`);
        }
      }
      if (useQemu) {
        try {
          step(w.name, 'qemu');
          const r = await measure(w.name, 'qemu', opt.runs, () => runQemu(elf, opt.timeoutMs));
          qemuRes = { wallMs: r.wallMs, netMs: r.wallMs - (startup.qemuMs ?? 0), result: r.result, spread: r.spread };
          spreadRow(w.name, 'qemu', r.spread);
        } catch (e) {
          errors.push(`qemu: ${errorText(e)}`);
        }
      }
      if (useNative) {
        try {
          step(w.name, 'native');
          const exe = compileNative(root, source, w.name, tmp);
          const r = await measure(w.name, 'native', opt.runs, () => runNative(exe, opt.timeoutMs));
          nativeRes = { wallMs: r.wallMs, netMs: r.wallMs - (startup.nativeMs ?? 0), result: r.result, spread: r.spread };
          spreadRow(w.name, 'native', r.spread);
        } catch (e) {
          errors.push(`native: ${errorText(e)}`);
        }
      }

      const wr = finishWorkload({ name: w.name, instructions, wasmvisor, interpreter, qemu: qemuRes, native: nativeRes, errors });
      results.push(wr);
      const parts = [
        interpreter ? `interpreter ${interpreter.wallMs.toFixed(1)} ms` : null,
        wasmvisor ? `jit ${wasmvisor.wallMs.toFixed(1)} ms` : null,
        qemuRes ? `qemu ${qemuRes.wallMs.toFixed(1)} ms` : null,
        nativeRes ? `native ${nativeRes.wallMs.toFixed(1)} ms` : null,
      ].filter((p) => p !== null);
      log(`bench: ${w.name}: ${parts.join(', ') || 'no engine ran'}`);
      for (const e of errors) log(`bench:   ERROR ${e}`);
    }

    let vmBench: VmBench | null = null;
    if (opt.wasmvisor && (opt.only === null || opt.only.includes('vm'))) {
      try {
        vmBench = await vmBenchmarks(root, opt.runs, opt.timeoutMs, log);
      } catch (e) {
        log(`bench: VM benchmarks: ${errorText(e)}`);
      }
    }

    let bootBench: BootBench | null = null;
    if (opt.wasmvisor && (opt.only === null || opt.only.includes('boot'))) {
      try {
        bootBench = await bootBenchmarks(root, opt.runs, useQemu, log);
      } catch (e) {
        log(`bench: boot time: ${errorText(e)}`);
      }
    }

    let linuxBench: LinuxBench | null = null;
    if (opt.wasmvisor && (opt.only === null || opt.only.includes('linux'))) {
      try {
        linuxBench = await linuxBenchmarks(root, useQemu, log, opt.runs);
      } catch (e) {
        log(`bench: Linux boot: ${errorText(e)}`);
      }
    }

    // ---- Xen split drivers (issue 6; bench/xen.ts) ----
    let xenBench: XenBench | null = null;
    if (opt.wasmvisor && (opt.only === null || opt.only.includes('xen'))) {
      try {
        if (opt.make) {
          const r = spawnSync('make', ['-C', join(root, 'guests'), 'bin/xen/blkbench.elf', 'bin/xen/virtblkbench.elf', 'bin/xen/netbench.elf'], { encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`make -C guests failed: ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`);
        }
        xenBench = await xenBenchmarks(root, opt.runs, opt.timeoutMs, log);
      } catch (e) {
        log(`bench: Xen benchmarks: ${errorText(e)}`);
      }
    }
    // ---- end of Xen split drivers ----

    let memBench: MemBench | null = null;
    if (opt.wasmvisor && (opt.only === null || opt.only.includes('mem'))) {
      try {
        memBench = await memBenchmarks(root, tmp, opt.runs, log);
      } catch (e) {
        log(`bench: memory: ${errorText(e)}`);
      }
    }
    // ---- host RSS against guest RAM touched (issue 16 goal 8; bench/rss.ts) ----
    let rssBench: RssRow[] | null = null;
    if (opt.wasmvisor && (opt.only === null || opt.only.includes('rss'))) {
      try {
        rssBench = await rssBenchmarks(process.argv[1], opt.runs, log);
      } catch (e) {
        log(`bench: rss: ${errorText(e)}`);
      }
    }

    // ---- the techniques lab (issue 13; bench/lab.ts) ----
    let labBench: LabBench | null = null;
    if (opt.wasmvisor && (opt.only === null || opt.only.includes('lab'))) {
      try {
        labBench = await labBenchmarks(root, opt.runs, opt.timeoutMs, log);
      } catch (e) {
        log(`bench: lab: ${errorText(e)}`);
      }
    }
    // ---- end of the techniques lab ----

    // ---- the browser column (issue 16; bench/browser.ts) ----
    let browserBench: BrowserBench | null = null;
    if (opt.wasmvisor && (opt.only === null || opt.only.includes('browser'))) {
      try {
        browserBench = await browserBenchmarks(root, opt.runs, opt.timeoutMs, log);
      } catch (e) {
        log(`bench: browser: ${errorText(e)}`);
      }
    }
    // ---- end of the browser column ----

    // ---- live migration against QEMU's (issue 14; bench/migration.ts) ----
    let migrationBench: MigrationBench | null = null;
    if (opt.wasmvisor && (opt.only === null || opt.only.includes('migration'))) {
      try {
        if (opt.make) {
          const r = spawnSync('make', ['-C', join(root, 'guests'), 'bin/migrate/dirty.elf'], { encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`make -C guests failed: ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`);
        }
        migrationBench = await migrationBenchmarks(root, opt.runs, useQemu, opt.timeoutMs, log);
      } catch (e) {
        log(`bench: migration: ${errorText(e)}`);
      }
    }
    // ---- end of live migration ----

    const report: BenchReport & { vm?: VmBench; boot?: BootBench; xen?: XenBench; linux?: LinuxBench; mem?: MemBench; rss?: RssRow[]; lab?: LabBench; browser?: BrowserBench; migration?: MigrationBench } = { host, runs: opt.runs, startup, workloads: results, geomean: geomeanRow(results) };
    if (labBench) report.lab = labBench;
    if (browserBench) report.browser = browserBench;
    if (migrationBench) report.migration = migrationBench;
    if (vmBench) report.vm = vmBench;
    if (bootBench) report.boot = bootBench;
    if (linuxBench) report.linux = linuxBench;
    if (xenBench) report.xen = xenBench;
    if (memBench) report.mem = memBench;
    if (rssBench) report.rss = rssBench;

    console.log('');
    console.log(formatTable(report));
    console.log('');
    if (spreads.length > 0) {
      console.log(formatSpreads(spreads, opt.runs));
      console.log('');
    }
    console.log('Times in ms, best of ' + opt.runs + '. qemu and native columns have startup subtracted ' +
      `(qemu ${startup.qemuMs?.toFixed(1) ?? '-'} ms, native ${startup.nativeMs?.toFixed(1) ?? '-'} ms); ` +
      'ratios are slowdowns of the first engine against the second; jit gain = interpreter time / jit time. ' +
      'jit = wasmvisor as it runs by default (hot code compiled to WebAssembly), interp = --jit off.');
    if (startup.wasmvisorProcessMs != null) {
      console.log(`Start-up, trivial image, process start to exit: wasmvisor ${startup.wasmvisorProcessMs.toFixed(1)} ms` +
        `${startup.qemuMs != null ? `, QEMU ${startup.qemuMs.toFixed(1)} ms (${(startup.wasmvisorProcessMs / startup.qemuMs).toFixed(2)}x)` : ''}` +
        `${startup.wasmvisorCreateMs != null ? `; Machine.create alone ${startup.wasmvisorCreateMs.toFixed(1)} ms` : ''}.`);
      const a = startup.alternated;
      if (a) console.log(`  alternated (best of ${Math.max(opt.runs, 5)}): wasmvisor ${a.wasmvisorMs.toFixed(1)} ms, QEMU ${a.qemuMs?.toFixed(1) ?? '-'} ms` +
        `${a.qemuMs ? ` (${(a.wasmvisorMs / a.qemuMs).toFixed(2)}x)` : ''}, node -e 0 ${a.nodeMs.toFixed(1)} ms.`);
      const w = startup.withoutExtraCaCerts;
      if (w) console.log(`  without NODE_EXTRA_CA_CERTS (set here; Node parses those certificates at every start): wasmvisor ${w.wasmvisorMs.toFixed(1)} ms` +
        `${a?.qemuMs ? ` (${(w.wasmvisorMs / a.qemuMs).toFixed(2)}x QEMU)` : ''}, node -e 0 ${w.nodeMs.toFixed(1)} ms.`);
      const c = startup.cpu;
      if (c) console.log(`  by CPU time (best of ${Math.max(opt.runs, 5)}, 10 ms steps): wasmvisor ${c.wasmvisorMs ?? '-'} ms, QEMU ${c.qemuMs ?? '-'} ms` +
        `${c.wasmvisorMs != null && c.qemuMs ? ` (${(c.wasmvisorMs / c.qemuMs).toFixed(2)}x)` : ''}; node -e 0 alone ${c.nodeMs ?? '-'} ms.`);
    }
    if (vmBench) {
      console.log('');
      console.log(formatVmBench(vmBench));
    }
    if (rssBench) {
      console.log('');
      console.log(formatRssBench(rssBench));
    }
    if (bootBench) {
      console.log('');
      console.log(formatBootBench(bootBench));
    }
    if (linuxBench) {
      console.log('');
      console.log(formatLinuxBench(linuxBench));
    }
    if (xenBench) {
      console.log('');
      console.log(formatXenBench(xenBench));
    }
    if (memBench) {
      console.log('');
      console.log(formatMemBench(memBench));
    }
    if (labBench) {
      console.log('');
      console.log(formatLabBench(labBench));
    }
    if (browserBench) {
      console.log('');
      console.log(formatBrowserBench(browserBench));
    }
    if (migrationBench) {
      console.log('');
      console.log(formatMigrationBench(migrationBench));
    }

    // ---- the JIT is never slower than --jit off (issue 16; bench/jit-check.ts) ----
    const jitPairs: JitPair[] = results.flatMap((w) =>
      w.wasmvisor && w.interpreter ? [{ name: w.name, jitMs: w.wasmvisor.wallMs, interpMs: w.interpreter.wallMs }] : []);
    if (bootBench) {
      jitPairs.push({ name: 'boot: minikernel as a VM', jitMs: bootBench.vmJitMs, interpMs: bootBench.vmInterpMs });
      if (bootBench.bareOpenSbiMs != null && bootBench.bareOpenSbiInterpMs != null) {
        jitPairs.push({ name: 'boot: OpenSBI + minikernel, bare', jitMs: bootBench.bareOpenSbiMs, interpMs: bootBench.bareOpenSbiInterpMs });
      }
    }
    if (linuxBench) {
      jitPairs.push({ name: 'boot: Linux to the shell prompt as a VM', jitMs: linuxBench.vmJitMs, interpMs: linuxBench.vmInterpMs });
      jitPairs.push({ name: 'boot: Linux lab workload as a VM', jitMs: linuxBench.labJitMs, interpMs: linuxBench.labInterpMs });
    }
    if (jitPairs.length > 0) {
      console.log('');
      console.log(formatJitCheck(jitPairs));
      (report as { jitSlower?: string[] }).jitSlower = jitSlowerThanInterpreter(jitPairs);
    }
    // ---- end of the JIT check ----

    let bad = 0;
    for (const w of results) {
      if (!w.match) {
        bad++;
        console.log('');
        console.log(`!!!!!!!! CHECKSUM MISMATCH in ${w.name} !!!!!!!!`);
        if (w.wasmvisor) console.log(`  wasmvisor: ${w.wasmvisor.result}`);
        if (w.interpreter) console.log(`  --jit off: ${w.interpreter.result}`);
        if (w.qemu) console.log(`  qemu:      ${w.qemu.result}`);
        if (w.native) console.log(`  native:    ${w.native.result}`);
      }
      for (const e of w.errors) {
        bad++;
        console.log(`ERROR ${e}`);
      }
    }
    for (const m of labBench?.guests.flatMap((g) => g.mismatches) ?? []) {
      bad++;
      console.log(`ERROR ${m}`);
    }

    const out = opt.out ?? join(root, 'bench', 'results', 'latest.json');
    mkdirSync(dirname(out), { recursive: true });
    // Times to the microsecond; more digits would only be noise.
    const round = (_k: string, v: unknown): unknown =>
      typeof v === 'bigint' ? v.toString() : typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v;
    writeFileSync(out, `${JSON.stringify(report, round, 2)}\n`);
    log(`bench: wrote ${relative(process.cwd(), out) || out}`);
    if (spreads.length > 0) {
      const svg = out.replace(/(\.json)?$/, '.svg');
      writeFileSync(svg, benchSvg(`wasmvisor bench, ${host.commit?.slice(0, 12) ?? ''} ${host.date}`, spreads));
      log(`bench: wrote ${relative(process.cwd(), svg) || svg}`);
    }
    return bad === 0 ? 0 : 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof UsageError || (e instanceof Error && e.message.startsWith('bench:')) ? e.message : e);
    process.exit(2);
  },
);
