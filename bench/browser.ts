/**
 * The browser column (issue 16, item 7): the demo page (dist/web, served by scripts/demo.mjs)
 * in Debian's chromium, headless through playwright-core, runs a bench guest
 * (`?guest=bench/NAME.elf`, the bare board, the JIT on with its background compiles in the
 * Worker); the figure is the time from the page's navigation start (performance.timeOrigin)
 * to the moment the page saw the guest exit (the worker's state message). The same ELF run as
 * a whole Node process (`node bin/wasmvisor.mjs run --bare ELF`, code cache warm) is the reference:
 * both include loading the code, compiling the core, starting the machine and the JIT's
 * compiles, so the ratio is page over process.
 *
 * Each measurement is one fresh page (a new browser context: nothing cached between runs,
 * as a first visit), best of `runs`. The page's own breakdown comes from its Performance
 * entries: the fetches (resource timing: demo.js, worker.js, core.wasm, the ELF) and the
 * instants the page marks. Its CPU is split by process and by the renderer's threads
 * (bench/chromium-cpu.ts), and a worker-only page (no demo.js, terminal or panels: the floor of
 * what a page costs over the Node process) is timed alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { chromiumCpu, cpuBetween, CPU_PARTS, type CpuPart } from './chromium-cpu';
import { STAT_BLOCK_BYTES } from '../host/web/protocol';
import { timedSpawn } from './timing';

/** Debian's chromium (test/oracles.ts names the same). */
export const CHROMIUM = '/usr/bin/chromium';
/** The guests the column covers (issue 16 names these three). */
export const BROWSER_GUESTS = ['crc32', 'sha256', 'dhry'];

/** One guest, best run of each side. */
export interface BrowserRun {
  name: string;
  /** Page navigation start to the exit seen by the page, ms. */
  pageMs: number;
  /** `node bin/wasmvisor.mjs run --bare ELF`, process start to exit, ms. */
  nodeMs: number;
  ratio: number;
  /** The best page run's fetches: resource name -> [start, end] ms after navigation start. */
  fetches: Record<string, [number, number]>;
  /** The best page run: when the worker reported 'running' (everything before the guest's first instruction), ms after navigation start. */
  runningMs: number;
  /** The best page run: DOMContentLoaded and load events, ms after navigation start. */
  domContentLoadedMs: number;
  loadMs: number;
  /** The best page run: when the worker itself entered 'running' and 'exited' (its clock, moved to the page's), ms after navigation start. */
  workerRunningMs: number;
  workerExitMs: number;
  /** CPU time (user + system), medians over the runs: the page's renderer process (CDP Performance ProcessTime: the page, its Worker, their compiler and raster threads), the Node process. */
  pageCpuMs: number;
  nodeCpuMs: number;
  /** The 1-minute load average at the start of each run. */
  load: number[];
  /**
   * A repeat visit: the same browser context after two loads of the page, so the HTTP cache
   * revalidates (304) and Chromium's code caches (the scripts', the streamed core's) are warm,
   * as the Node process's code cache is. Best of `runs`, page ms, and its ratio to nodeMs.
   */
  repeatMs: number;
  repeatRatio: number;
  /** The fresh visits' CPU by part (bench/chromium-cpu.ts: the renderer's threads, the browser's other processes), medians, ms. */
  cpuParts: Record<CpuPart, number>;
  /**
   * The floor: a fresh page that only starts the VM's Worker (a minimal same-origin document,
   * the Worker sent `init` and the guest's `load` by URL, as demo/boot.ts does; no demo.js,
   * no terminal or panels). Best of `runs`, ms from navigation start to the exit, its ratio to
   * nodeMs, and its CPU (all Chromium processes, median).
   */
  floorMs: number;
  floorRatio: number;
  floorCpuMs: number;
  /** A fresh visit's CPU, all Chromium processes (the sum of cpuParts), median, ms. */
  allCpuMs: number;
}

/** The section. */
export interface BrowserBench {
  runs: BrowserRun[];
  /** Page / process, geometric mean. */
  geomean: number;
  /** The same for repeat visits. */
  repeatGeomean: number;
  /** The same for the worker-only page (the floor). */
  floorGeomean: number;
  /** CPU, all Chromium processes of a fresh visit over the Node process's, geometric mean of the guests' medians. */
  cpuGeomean: number;
  goal: number;
}

interface PageTiming {
  exitMs: number;
  /** When the page saw the worker report 'running' (core compiled, machine built, ELF loaded). */
  runningMs: number;
  exitCode: number | undefined;
  fetches: Record<string, [number, number]>;
  domContentLoadedMs: number;
  loadMs: number;
  workerRunningMs: number;
  workerExitMs: number;
}

/** CPU time (user + system) of this process's waited-for children so far, ms (Linux: /proc/self/stat's cutime and cstime, in clock ticks of 10 ms). */
function childCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'latin1');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[13]) + Number(rest[14])) * 10;
}

const median = (a: number[]): number => {
  const b = [...a].sort((x, y) => x - y);
  return b.length % 2 ? b[(b.length - 1) / 2] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2;
};

/** Time the demo page on each guest (and the Node process on the same ELF), best of `runs`. */
export async function browserBenchmarks(root: string, runs: number, timeoutMs: number, log: (s: string) => void): Promise<BrowserBench> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM}: not installed (apt-get install chromium)`);
  if (!existsSync(join(root, 'dist/web/index.html'))) throw new Error('dist/web/index.html: not built (node scripts/build.mjs)');
  // Loaded at run time, not bundled into dist/bench.mjs (playwright-core requires Node built-ins
  // dynamically, which an ESM bundle cannot): module names the bundler does not follow.
  const pw = 'playwright-core';
  const { chromium } = (await import(pw)) as typeof import('playwright-core');
  const { serveDemo } = (await import(pathToFileURL(join(root, 'scripts/demo.mjs')).href)) as {
    serveDemo(o: { port: number }): Promise<{ url: string; close(): Promise<void> }>;
  };
  const server: { url: string; close(): Promise<void> } = await serveDemo({ port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      // Chromium 156's headless mode builds each new context's window with the browser's own
      // omnibox popup, a WebUI renderer that took 1-2 s of CPU during every page load here (a
      // trace: "WebUI Top Renderer", chrome://omnibox-popup.top-chrome); a browser does that
      // once at start, not per page. Off, so only the page competes with the Node process.
      '--disable-features=PreloadTopChromeWebUI,WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup'],
  });
  const out: BrowserRun[] = [];
  try {
    const cli = join(root, 'bin/wasmvisor.mjs');
    for (const name of BROWSER_GUESTS) {
      const elf = join(root, `guests/bin/bench/${name}.elf`);
      timedSpawn(process.execPath, [cli, 'run', '--bare', elf], timeoutMs); // warms the CLI's code cache
      let nodeMs = Infinity;
      let best: PageTiming | undefined;
      const pageCpu: number[] = [];
      const nodeCpu: number[] = [];
      const load: number[] = [];
      const url = `${server.url}?guest=bench/${name}.elf`;
      /** Load the page in `page` and wait for the guest's exit; its timing. */
      const visit = async (page: Page): Promise<PageTiming> => {
        await page.goto(url);
        // Wait for the exit event (the time is the page's own, stateTimes.exited) rather than
        // poll the page every few ms, which took the page's main thread from its work.
        await page.waitForFunction(() => (window as unknown as DemoWindow).wasmvisorDemo !== undefined, null, { timeout: timeoutMs, polling: 100 });
        await page.evaluate(() => (window as unknown as DemoWindow).wasmvisorDemo!.vm.until((st) => st === 'exited' || st === 'error'));
        const t = await page.evaluate(pageTiming);
        if (t.exitCode !== 0) throw new Error(`${name}: the page's guest exited with code ${t.exitCode}`);
        return t;
      };
      // The repeat visitor: a context kept across its visits (two before the first measured).
      const warm = await browser.newContext({ viewport: { width: 1240, height: 760 } });
      const warmPage = await warm.newPage();
      let repeatMs = Infinity;
      let floorMs = Infinity;
      const floorCpu: number[] = [];
      const allCpu: number[] = [];
      const parts = Object.fromEntries(CPU_PARTS.map((p) => [p, [] as number[]])) as Record<CpuPart, number[]>;
      try {
        for (let i = 0; i < 2; i++) await visit(warmPage);
        // Alternate the sides so that the machine's noise falls on all.
        for (let i = 0; i < runs; i++) {
          load.push(loadavg()[0]);
          const cpu0 = childCpuMs();
          const r = timedSpawn(process.execPath, [cli, 'run', '--bare', elf], timeoutMs);
          if (r.status !== 0) throw new Error(`${name}: node exited with status ${r.status}`);
          nodeCpu.push(childCpuMs() - cpu0);
          nodeMs = Math.min(nodeMs, r.wallMs);
          const ctx = await browser.newContext({ viewport: { width: 1240, height: 760 } });
          try {
            const page = await ctx.newPage();
            const cdp = await ctx.newCDPSession(page);
            await cdp.send('Performance.enable');
            const cpuBefore = chromiumCpu();
            const t = await visit(page);
            const byPart = cpuBetween(cpuBefore, chromiumCpu());
            for (const p of CPU_PARTS) parts[p].push(byPart[p]);
            allCpu.push(Object.values(byPart).reduce((a, b) => a + b, 0));
            const metrics = (await cdp.send('Performance.getMetrics')).metrics;
            pageCpu.push((metrics.find((m) => m.name === 'ProcessTime')?.value ?? NaN) * 1000);
            if (!best || t.exitMs < best.exitMs) best = t;
          } finally {
            await ctx.close();
          }
          repeatMs = Math.min(repeatMs, (await visit(warmPage)).exitMs);
          const fctx = await browser.newContext({ viewport: { width: 1240, height: 760 } });
          try {
            const page = await fctx.newPage();
            const cpuBefore = chromiumCpu();
            // (the demo server answers a path it does not serve with a one-line text page, with
            // the page's isolation headers: the Worker gets SharedArrayBuffer as on the demo page)
            await page.goto(`${server.url}bench-floor`);
            const f = await page.evaluate(floorVisit, [`bench/${name}.elf`, STAT_BLOCK_BYTES] as [string, number]);
            const byPart = cpuBetween(cpuBefore, chromiumCpu());
            if (f.exitCode !== 0) throw new Error(`${name}: the floor page's guest exited with code ${f.exitCode}`);
            floorMs = Math.min(floorMs, f.exitMs);
            floorCpu.push(Object.values(byPart).reduce((a, b) => a + b, 0));
          } finally {
            await fctx.close();
          }
        }
      } finally {
        await warm.close();
      }
      const run: BrowserRun = {
        name, pageMs: best!.exitMs, runningMs: best!.runningMs, nodeMs, ratio: best!.exitMs / nodeMs, fetches: best!.fetches,
        domContentLoadedMs: best!.domContentLoadedMs, loadMs: best!.loadMs, workerRunningMs: best!.workerRunningMs, workerExitMs: best!.workerExitMs,
        pageCpuMs: median(pageCpu), nodeCpuMs: median(nodeCpu), load, repeatMs, repeatRatio: repeatMs / nodeMs,
        cpuParts: Object.fromEntries(CPU_PARTS.map((p) => [p, median(parts[p])])) as Record<CpuPart, number>,
        floorMs, floorRatio: floorMs / nodeMs, floorCpuMs: median(floorCpu), allCpuMs: median(allCpu),
      };
      out.push(run);
      log(`bench: browser: ${name}: page ${run.pageMs.toFixed(0)} ms, node process ${nodeMs.toFixed(0)} ms (${run.ratio.toFixed(2)}x), repeat visit ${repeatMs.toFixed(0)} ms (${run.repeatRatio.toFixed(2)}x), worker-only page ${floorMs.toFixed(0)} ms (${run.floorRatio.toFixed(2)}x); CPU page ${run.pageCpuMs.toFixed(0)} ms, node ${run.nodeCpuMs.toFixed(0)} ms; load ${load.map((l) => l.toFixed(1)).join(' ')}`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const geo = (f: (r: BrowserRun) => number): number => Math.exp(out.reduce((s, r) => s + Math.log(f(r)), 0) / out.length);
  return { runs: out, geomean: geo((r) => r.ratio), repeatGeomean: geo((r) => r.repeatRatio), floorGeomean: geo((r) => r.floorRatio), cpuGeomean: geo((r) => r.allCpuMs / r.nodeCpuMs), goal: 1.3 };
}

interface DemoWindow {
  wasmvisorDemo?: { vm: { state: string; exitCode?: number; stateTimes: Record<string, number>; workerStateTimes: Record<string, number>; until(pred: (s: string) => boolean): Promise<string> } };
}

/** Runs in the page: when it saw the exit, and where its load time went. */
function pageTiming(): PageTiming {
  const w = window as unknown as DemoWindow;
  const vm = w.wasmvisorDemo!.vm;
  const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
  const fetches: Record<string, [number, number]> = {};
  for (const e of performance.getEntriesByType('resource') as PerformanceResourceTiming[]) {
    fetches[e.name.replace(/^https?:\/\/[^/]+\//, '').replace(/\?.*$/, '')] = [Math.round(e.startTime), Math.round(e.responseEnd)];
  }
  return {
    exitMs: vm.stateTimes.exited ?? performance.now(), runningMs: vm.stateTimes.running ?? NaN, exitCode: vm.exitCode, fetches,
    domContentLoadedMs: nav ? nav.domContentLoadedEventEnd : NaN, loadMs: nav ? nav.loadEventEnd : NaN,
    workerRunningMs: vm.workerStateTimes.running ?? NaN, workerExitMs: vm.workerStateTimes.exited ?? NaN,
  };
}

/**
 * Runs in the floor page: start the Worker as demo/boot.ts does (init, then the guest's load by
 * URL, autostart) and resolve at its exit, with the exit's time after navigation start.
 */
function floorVisit([guest, statBytes]: [string, number]): Promise<{ exitMs: number; exitCode: number | undefined }> {
  return new Promise((resolve, reject) => {
    const w = new Worker('/worker.js', { type: 'module', name: 'wasmvisor' });
    w.onerror = (ev) => reject(new Error(`worker.js: ${ev.message}`));
    w.onmessage = (ev: MessageEvent<{ type: string; state?: string; exitCode?: number; message?: string }>) => {
      const m = ev.data;
      if (m.type !== 'state') return;
      if (m.state === 'exited') resolve({ exitMs: performance.now(), exitCode: m.exitCode });
      else if (m.state === 'error') reject(new Error(`${guest}: ${m.message}`));
    };
    const shared = globalThis.crossOriginIsolated === true;
    w.postMessage({ type: 'init', core: new URL('/core.wasm', location.href).href, memSize: 128 << 20, deterministic: false, statsBuffer: shared ? new SharedArrayBuffer(statBytes) : undefined, statsIntervalMs: 100 });
    w.postMessage({ type: 'load', id: 1, name: guest, bytes: new URL(`/guests/${guest}`, location.href).href, autostart: true, mode: 'bare', combo: 'hw+nested', devices: { virtioConsole: false, virtioRng: false, consoleInput: 'uart' } });
  });
}

/** The section as text. */
export function formatBrowserBench(b: BrowserBench): string {
  const lines = ['Browser (chromium headless, the demo page, a fresh page per run: navigation start to the guest\'s exit; repeat: a context that visited twice before)', '-------'];
  lines.push(`  ${'guest'.padEnd(8)} ${'page ms'.padStart(8)} ${'node ms'.padStart(8)} ${'page/node'.padStart(9)} ${'repeat'.padStart(7)} ${'CPU page/node'.padStart(14)}   page: running at (worker's), exited at worker, DOMContentLoaded, load, fetches (start-end ms)`);
  for (const r of b.runs) {
    const f = Object.entries(r.fetches).filter(([k]) => /(\.js|\.wasm|\.elf)$/.test(k)).map(([k, [s, e]]) => `${k.split('/').pop()} ${s}-${e}`).join(', ');
    const cpu = `${r.pageCpuMs.toFixed(0)}/${r.nodeCpuMs.toFixed(0)}`;
    lines.push(`  ${r.name.padEnd(8)} ${r.pageMs.toFixed(0).padStart(8)} ${r.nodeMs.toFixed(0).padStart(8)} ${r.ratio.toFixed(2).padStart(8)}x ${r.repeatRatio.toFixed(2).padStart(6)}x ${cpu.padStart(14)}   ${r.runningMs.toFixed(0)} (${r.workerRunningMs.toFixed(0)}), ${r.workerExitMs.toFixed(0)}, ${r.domContentLoadedMs.toFixed(0)}, ${r.loadMs.toFixed(0)}; ${f}`);
  }
  lines.push('  where a fresh page\'s CPU went (ms, medians; node: the whole process), and the worker-only page (the floor: the Worker alone, no demo.js)');
  lines.push(`  ${'guest'.padEnd(8)} ${'node'.padStart(6)} ${CPU_PARTS.map((p) => p.padStart(Math.max(6, p.length))).join(' ')}   ${'floor ms'.padStart(8)} ${'floor/node'.padStart(10)} ${'floor CPU'.padStart(9)}`);
  for (const r of b.runs) {
    lines.push(`  ${r.name.padEnd(8)} ${r.nodeCpuMs.toFixed(0).padStart(6)} ${CPU_PARTS.map((p) => r.cpuParts[p].toFixed(0).padStart(Math.max(6, p.length))).join(' ')}   ${r.floorMs.toFixed(0).padStart(8)} ${r.floorRatio.toFixed(2).padStart(9)}x ${r.floorCpuMs.toFixed(0).padStart(9)}`);
  }
  const loads = b.runs.flatMap((r) => r.load);
  lines.push(`  load average (1 min) at the runs' starts: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
  lines.push(`  geomean page/node, repeat visits: ${b.repeatGeomean.toFixed(2)}x; worker-only page: ${b.floorGeomean.toFixed(2)}x; CPU of a fresh visit (all Chromium processes) / the Node process's: ${b.cpuGeomean.toFixed(2)}x`);
  lines.push(`  geomean page/node ${b.geomean.toFixed(2)}x (goal <= ${b.goal}x: ${b.geomean <= b.goal && b.runs.every((r) => r.ratio <= b.goal) ? 'met' : 'NOT met'})`);
  return lines.join('\n');
}
