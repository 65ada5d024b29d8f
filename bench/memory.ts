/**
 * Memory and start-up per `--mem` (`--only mem`, and at the end of every full run).
 *
 * Through the built CLI (`node bin/wasmvisor.mjs`), as a user runs it, for the bare machine and
 * for VM mode, at --mem 16M, 128M and 1G:
 * - **start ms**: wall time of the whole process on an image that exits at once (bare: writes
 *   the test finisher; VM: SBI SRST shutdown), Node's own start included;
 * - **idle RSS**: the peak resident set (VmHWM in /proc/<pid>/status) of a guest that only
 *   waits (`wfi; j .-4`) for 1 s of --timeout.
 * The Node baseline (`wasmvisor --version`) is reported next to them.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trivialElf } from './trivial-elf';

/** One --mem size in one mode. */
export interface MemRow {
  mode: 'bare' | 'vm';
  mem: string;
  /** Best wall time of the whole process on an image that exits at once. */
  startMs: number;
  /** Peak RSS (VmHWM) of an idle guest over 1 s, in MiB. */
  idleRssMiB: number;
}

export interface MemBench {
  /** `wasmvisor --version`: Node's own start and RSS. */
  baseline: { startMs: number; rssMiB: number };
  rows: MemRow[];
}

export const MEM_SIZES = ['16M', '128M', '1G'];

const words = (w: number[]): Uint8Array => {
  const b = new Uint8Array(w.length * 4);
  const v = new DataView(b.buffer);
  w.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return b;
};
/** S-mode: a7 = SRST, a6 = 0 (system_reset), a0 = 0 (shutdown), a1 = 0; ecall; j . */
const VM_EXIT = words([0x535258b7, 0x3548889b, 0x00000813, 0x00000513, 0x00000593, 0x00000073, 0x0000006f]);
/** Any mode: wfi; j .-4 (nothing is ever enabled, so it waits until --timeout). */
const IDLE = words([0x10500073, 0xffdff06f]);

/** Peak RSS in KiB of a live process, from /proc (0 once it is gone). */
export function vmHwmKiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs `node args`; resolves with its wall time and the last VmHWM seen (polled every 10 ms). */
export function runMeasured(args: string[], timeoutMs: number): Promise<{ wallMs: number; hwmKiB: number; status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let hwm = 0;
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString('latin1'); });
    const poll = setInterval(() => { if (p.pid) hwm = Math.max(hwm, vmHwmKiB(p.pid)); }, 10);
    const kill = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => { clearInterval(poll); clearTimeout(kill); reject(e); });
    p.on('exit', (status) => {
      const wallMs = performance.now() - t0;
      clearInterval(poll);
      clearTimeout(kill);
      resolve({ wallMs, hwmKiB: hwm, status, stderr });
    });
  });
}

/** Measures every --mem size in both modes, best of `runs` (start time) and lowest peak (RSS). */
export async function memBenchmarks(root: string, tmp: string, runs: number, log: (s: string) => void): Promise<MemBench> {
  const cli = join(root, 'bin/wasmvisor.mjs');
  const bareExit = join(tmp, 'mem-exit.elf');
  const vmExit = join(tmp, 'mem-exit-vm.bin');
  const idle = join(tmp, 'mem-idle.bin');
  writeFileSync(bareExit, trivialElf());
  writeFileSync(vmExit, VM_EXIT);
  writeFileSync(idle, IDLE);

  const best = async (args: string[], what: string, expectStatus: number): Promise<{ ms: number; mib: number }> => {
    let ms = Infinity;
    let mib = Infinity;
    for (let i = 0; i < runs; i++) {
      const r = await runMeasured([cli, ...args], 60_000);
      if (r.status !== expectStatus) throw new Error(`memory: ${what} exited with ${r.status}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
      ms = Math.min(ms, r.wallMs);
      mib = Math.min(mib, r.hwmKiB / 1024);
    }
    return { ms, mib };
  };

  const base = await best(['--version'], 'wasmvisor --version', 0);
  const rows: MemRow[] = [];
  for (const mode of ['bare', 'vm'] as const) {
    for (const mem of MEM_SIZES) {
      const m = mode === 'bare' ? ['--bare'] : [];
      const start = await best(['run', ...m, '--mem', mem, mode === 'bare' ? bareExit : vmExit], `${mode} --mem ${mem} start`, 0);
      // 124: ended by --timeout, as coreutils timeout.
      const rss = await best(['run', ...m, '--mem', mem, '--timeout', '1', idle], `${mode} --mem ${mem} idle`, 124);
      rows.push({ mode, mem, startMs: start.ms, idleRssMiB: rss.mib });
      log(`bench: memory: ${mode} --mem ${mem}: start ${start.ms.toFixed(1)} ms, idle RSS ${rss.mib.toFixed(1)} MiB`);
    }
  }
  return { baseline: { startMs: base.ms, rssMiB: base.mib }, rows };
}

/** The memory section as text. */
export function formatMemBench(b: MemBench): string {
  const lines = [
    'Memory and start-up per --mem (the built CLI, whole process)',
    '------------------------------------------------------------',
    'mode  --mem   start ms  idle RSS MiB',
  ];
  for (const r of b.rows) {
    lines.push(`${r.mode.padEnd(5)} ${r.mem.padEnd(5)} ${r.startMs.toFixed(1).padStart(10)} ${r.idleRssMiB.toFixed(1).padStart(13)}`);
  }
  lines.push(`(node baseline, wasmvisor --version: ${b.baseline.startMs.toFixed(1)} ms, ${b.baseline.rssMiB.toFixed(1)} MiB; ` +
    'start = an image that exits at once; idle RSS = peak VmHWM of a wfi loop over 1 s)');
  return lines.join('\n');
}
