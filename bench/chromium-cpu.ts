/**
 * Where a page's CPU goes, for the browser column (bench/browser.ts): the CPU time (user +
 * system) of the Chromium processes under this one, by process type, and for the renderers by
 * thread, read from Linux's /proc (utime and stime of /proc/PID/stat and /proc/PID/task/TID/stat,
 * in clock ticks of 10 ms). Two snapshots, one before a page's navigation and one when its
 * guest has exited (before its context closes: a renderer that has ended is no longer listed),
 * give the page's share; a process or thread missing from the first counts from zero.
 *
 * The Node side is one process (the bench takes its CPU from the waited-for children's total);
 * here the same work is spread over the page's renderer (its main thread, the VM's Worker, V8's
 * and Blink's thread pool: script parse and compile, Wasm tier-up, raster), and the browser, GPU
 * (software compositing with --disable-gpu) and network processes that serve every page. Chromium
 * runs some of those at nice -8 (the browser's and the GPU process's main threads), so on a busy
 * machine their CPU delays the Worker's thread more than the same CPU at nice 0 would.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The parts a page's CPU is split into. */
export const CPU_PARTS = ['worker', 'main', 'pool', 'renderer other', 'browser', 'gpu', 'network', 'other'] as const;
export type CpuPart = (typeof CPU_PARTS)[number];

/** CPU ms per process (pid) or renderer thread (pid/tid), with the part it counts to. */
export type CpuSnapshot = Map<string, { part: CpuPart; ms: number }>;

interface Stat { ppid: number; ms: number; comm: string }

function readStat(path: string): Stat | undefined {
  try {
    const f = readFileSync(path, 'latin1');
    // comm can hold spaces and parentheses: the fields after it start past the last ')'
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), ms: (Number(rest[11]) + Number(rest[12])) * 10, comm: f.slice(f.indexOf('(') + 1, f.lastIndexOf(')')) };
  } catch {
    return undefined; // ended meanwhile
  }
}

/** The part a Chromium process counts to, from its command line (`--type=`; none for the browser). */
function processPart(pid: number): CpuPart | 'renderer' {
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return 'other';
  }
  const type = /--type=([a-z-]+)/.exec(cmd)?.[1];
  if (type === undefined) return 'browser';
  if (type === 'renderer') return 'renderer';
  if (type === 'gpu-process') return 'gpu';
  if (type === 'utility' && cmd.includes('network.mojom.NetworkService')) return 'network';
  return 'other';
}

/** A renderer's thread: its main thread (tid = pid), the dedicated Worker's, the thread pool's, or another. */
function threadPart(pid: number, tid: number, comm: string): CpuPart {
  if (tid === pid) return 'main';
  if (comm.startsWith('DedicatedWorker')) return 'worker';
  if (comm.startsWith('ThreadPool')) return 'pool';
  return 'renderer other';
}

/** The CPU so far of every Chromium process descended from this one (renderers by thread). */
export function chromiumCpu(): CpuSnapshot {
  const all = new Map<number, Stat>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readStat(`/proc/${d}/stat`);
    if (s) all.set(Number(d), s);
  }
  const mine = new Set([process.pid]);
  for (let grown = true; grown;) {
    grown = false;
    for (const [pid, s] of all) {
      if (!mine.has(pid) && mine.has(s.ppid)) {
        mine.add(pid);
        grown = true;
      }
    }
  }
  const out: CpuSnapshot = new Map();
  for (const pid of mine) {
    const s = all.get(pid);
    if (pid === process.pid || !s || !s.comm.startsWith('chrom')) continue;
    const part = processPart(pid);
    if (part !== 'renderer') {
      out.set(String(pid), { part, ms: s.ms });
      continue;
    }
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const t = readStat(`/proc/${pid}/task/${tid}/stat`);
      if (t) out.set(`${pid}/${tid}`, { part: threadPart(pid, Number(tid), t.comm), ms: t.ms });
    }
  }
  return out;
}

/** CPU ms per part between two snapshots. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<CpuPart, number> {
  const out = Object.fromEntries(CPU_PARTS.map((p) => [p, 0])) as Record<CpuPart, number>;
  for (const [key, { part, ms }] of after) out[part] += ms - (before.get(key)?.ms ?? 0);
  return out;
}
