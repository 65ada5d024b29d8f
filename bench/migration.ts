/**
 * Live migration against QEMU's (issue 14, "Bench and anchor"; `--only migration`).
 *
 * The guest is guests/bin/migrate/dirty.elf, one M-mode ELF for both engines: it writes every
 * page of its RAM once, prints one line, then dirties DIRTY pages per second of mtime for ever
 * (guests/migrate/dirty.c). Per RAM size (64 MiB, 512 MiB) and engine, two processes on loopback:
 *
 * - wasmvisor: `run --bare --mem M dirty.elf --incoming tcp:127.0.0.1:P` and the same with
 *   `--migrate-to tcp:127.0.0.1:P`; once the source's guest has printed its line, SIGUSR2 starts
 *   the migration; the source's summary line gives total time, downtime and bytes sent.
 * - QEMU: `qemu-system-riscv64 -M virt -bios none -m M -kernel dirty.elf`, the target with
 *   `-incoming tcp:127.0.0.1:P`, both with the HMP monitor on a unix socket; once the source's
 *   guest has printed its line: `migrate_set_parameter downtime-limit 5` (wasmvisor's default
 *   --migrate-downtime), `max-bandwidth` unlimited (wasmvisor has no cap by default), `migrate -d`,
 *   then `info migrate` until it completes: total time, downtime, transferred ram.
 *
 * Both measure at the source (docs/migration.md "Bench", "What each number means"). Total: from
 * the migrate command (before connecting) to the end: wasmvisor's DONE (pre-copy) or COMPLETE
 * (post-copy, every page in), QEMU's completion, which in post-copy waits for its target to close
 * the return path. Downtime: wasmvisor's from the stop to the target's DONE (the target has
 * loaded the state and runs the guest); QEMU's from the stop to its last byte written, without
 * the target (precopy: migration_calculate_complete; post-copy: postcopy_start, the package
 * written): wasmvisor's "sent" is that one. QEMU prints whole milliseconds (0 when under one).
 * Rows carry a `mode` column: pre-copy, and post-copy (wasmvisor: --migrate-mode postcopy; QEMU:
 * `migrate_set_capability postcopy-ram on` on both sides, `migrate_start_postcopy` at once).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QEMU } from './qemu';

/** RAM sizes, MiB. */
export const MIGRATION_SIZES = [64, 512];
/** Migration modes measured (the hook for post-copy and hybrid rows). */
export const MODES = ['precopy', 'postcopy'] as const;
export type MigrationMode = (typeof MODES)[number];

export interface MigrationRow {
  engine: 'wasmvisor' | 'qemu';
  mode: MigrationMode;
  memMiB: number;
  totalMs: number;
  downtimeMs: number;
  /**
   * wasmvisor: from the guest's stop to the last byte handed to the socket, without the target's
   * load and answer: what QEMU's source reports as downtime (it does not wait for its target).
   */
  sentMs?: number;
  /** Bytes on the stream (wasmvisor: every message; QEMU: "transferred ram"). */
  bytes: number;
  /** Pre-copy rounds including stop-and-copy (wasmvisor), dirty-bitmap syncs (QEMU). */
  rounds: number;
}

export interface MigrationBench {
  guest: string;
  rows: MigrationRow[];
  errors: string[];
}

const GUEST = 'guests/bin/migrate/dirty.elf';
const READY = /dirty: \d+ pages written/;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A child whose stdout and stderr are collected; `until(re)` waits for a match in either. */
class Child {
  readonly proc: ChildProcess;
  text = '';
  private readonly exited: Promise<number | null>;
  constructor(cmd: string, args: string[], env?: Record<string, string>) {
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : undefined });
    this.proc.stdout!.setEncoding('latin1').on('data', (d: string) => (this.text += d));
    this.proc.stderr!.setEncoding('latin1').on('data', (d: string) => (this.text += d));
    this.exited = new Promise((r) => this.proc.on('close', (c) => r(c)));
  }
  async until(re: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
    const t0 = Date.now();
    for (;;) {
      const m = re.exec(this.text);
      if (m) return m;
      if (this.proc.exitCode !== null || Date.now() - t0 > timeoutMs) throw new Error(`${what}: no ${re} after ${Date.now() - t0} ms: ${this.text.trim().split('\n').slice(-2).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  exit(timeoutMs: number): Promise<number | null> {
    const t = setTimeout(() => this.kill(), timeoutMs);
    return this.exited.finally(() => clearTimeout(t));
  }
  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

const num = (s: string) => Number(s.replace(/,/g, ''));

async function wasmvisorMigration(root: string, memMiB: number, mode: MigrationMode, timeoutMs: number): Promise<MigrationRow> {
  const port = await freePort();
  const cli = join(root, 'bin/wasmvisor.mjs');
  const common = [cli, 'run', '--bare', '--mem', `${memMiB}M`, join(root, GUEST)];
  const target = new Child(process.execPath, [...common, '--incoming', `tcp:127.0.0.1:${port}`]);
  let source: Child | undefined;
  try {
    await target.until(/waiting for a migration/, 30_000, 'wasmvisor target');
    source = new Child(process.execPath, [...common, '--migrate-to', `tcp:127.0.0.1:${port}`, '--migrate-after', '86400', '--migrate-mode', mode], { WASMVISOR_MIGRATE_PROFILE: '1' });
    await source.until(READY, 60_000, 'wasmvisor source');
    source.proc.kill('SIGUSR2');
    const code = await source.exit(timeoutMs);
    const m = /migrated to \S+ \(\w+\): total ([\d.,]+) ms, downtime ([\d.,]+) ms, (\d+) rounds .* ([\d,]+) bytes sent/.exec(source.text);
    if (code !== 0 || !m) throw new Error(`wasmvisor source exited ${code}: ${source.text.trim().split('\n').slice(-2).join(' | ')}`);
    await target.until(/migrated in from/, 10_000, 'wasmvisor target');
    const sent = /; sent in ([\d.]+) ms/.exec(source.text);
    return { engine: 'wasmvisor', mode, memMiB, totalMs: num(m[1]), downtimeMs: num(m[2]), sentMs: sent ? Number(sent[1]) : undefined, bytes: num(m[4]), rounds: Number(m[3]) };
  } finally {
    source?.kill();
    target.kill();
  }
}

/** An HMP monitor on a unix socket: `cmd` sends one line and returns what came back up to the next prompt. */
async function monitor(path: string): Promise<{ cmd(line: string): Promise<string>; close(): void }> {
  let sock: ReturnType<typeof connect> | undefined;
  for (let i = 0; i < 200 && !sock; i++) {
    try {
      sock = await new Promise((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  if (!sock) throw new Error(`QEMU monitor ${path}: cannot connect`);
  const s = sock;
  let buf = '';
  s.setEncoding('latin1').on('data', (d: string) => (buf += d));
  const prompt = async (from: number) => {
    for (let i = 0; i < 500; i++) {
      const at = buf.indexOf('(qemu) ', from);
      if (at >= 0) return at;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('QEMU monitor: no prompt');
  };
  await prompt(0);
  let seen = buf.length;
  return {
    async cmd(line: string) {
      s.write(`${line}\n`);
      const at = await prompt(seen);
      const out = buf.slice(seen, at).replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''); // HMP's readline echo
      seen = at + 7;
      return out;
    },
    close: () => s.destroy(),
  };
}

async function qemuMigration(memMiB: number, mode: MigrationMode, elf: string, timeoutMs: number): Promise<MigrationRow> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-bench-mig-'));
  const port = await freePort();
  const machine = (name: string) => ['-M', 'virt', '-bios', 'none', '-m', `${memMiB}M`, '-display', 'none', '-serial', 'stdio', '-monitor', `unix:${join(dir, name)},server,nowait`, '-kernel', elf];
  const target = new Child(QEMU, [...machine('t.sock'), '-incoming', `tcp:127.0.0.1:${port}`]);
  const source = new Child(QEMU, machine('s.sock'));
  const mons: { close(): void }[] = [];
  try {
    const tm = await monitor(join(dir, 't.sock'));
    mons.push(tm);
    const sm = await monitor(join(dir, 's.sock'));
    mons.push(sm);
    await source.until(READY, 60_000, 'QEMU source');
    await sm.cmd('migrate_set_parameter downtime-limit 5');
    await sm.cmd('migrate_set_parameter max-bandwidth 100G');
    if (mode === 'postcopy') {
      // QEMU's post-copy: the capability on both sides, then the switch right after the start
      // (as wasmvisor's --migrate-mode postcopy, which sends no pre-copy round).
      await tm.cmd('migrate_set_capability postcopy-ram on');
      await sm.cmd('migrate_set_capability postcopy-ram on');
    }
    await sm.cmd(`migrate -d tcp:127.0.0.1:${port}`);
    if (mode === 'postcopy') {
      await sm.cmd('migrate_start_postcopy'); // (its answer is the readline echo; a failure shows in info migrate)
    }
    const t0 = Date.now();
    for (;;) {
      const info = await sm.cmd('info migrate');
      const status = /Migration status: (\S+)/.exec(info)?.[1];
      if (status === 'completed') {
        const get = (re: RegExp) => Number(re.exec(info)?.[1] ?? NaN);
        const totalMs = get(/total time: (\d+) ms/);
        const downtimeMs = get(/downtime: (\d+) ms/);
        return {
          engine: 'qemu', mode, memMiB,
          // (QEMU 7.2's post-copy sometimes prints the host's uptime as the downtime: not a downtime)
          totalMs, downtimeMs: downtimeMs > totalMs ? NaN : downtimeMs,
          bytes: get(/transferred ram: (\d+) kbytes/) * 1024, rounds: get(/dirty sync count: (\d+)/),
        };
      }
      if (status === 'failed' || status === 'cancelled' || Date.now() - t0 > timeoutMs) throw new Error(`QEMU migration ${status ?? 'did not start'}: ${info.trim().split('\n')[0]}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    for (const m of mons) m.close();
    source.kill();
    target.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Every size, mode and engine, `runs` times each (interleaved); per row the run with the least
 * total time. `log` gets a progress line per run.
 */
export async function migrationBenchmarks(root: string, runs: number, useQemu: boolean, timeoutMs: number, log: (s: string) => void): Promise<MigrationBench> {
  const best = new Map<string, MigrationRow>();
  const errors: string[] = [];
  const keep = (r: MigrationRow) => {
    const k = `${r.engine} ${r.mode} ${r.memMiB}`;
    const b = best.get(k);
    if (!b || r.totalMs < b.totalMs) best.set(k, r);
  };
  for (const memMiB of MIGRATION_SIZES) {
    for (const mode of MODES) {
      for (let i = 0; i < runs; i++) {
        try {
          const r = await wasmvisorMigration(root, memMiB, mode, timeoutMs);
          log(`bench: migration ${memMiB} MiB ${mode} wasmvisor: total ${r.totalMs} ms, downtime ${r.downtimeMs} ms (all sent after ${r.sentMs} ms), ${r.bytes} bytes`);
          keep(r);
        } catch (e) {
          errors.push(`wasmvisor ${memMiB} MiB ${mode}: ${e instanceof Error ? e.message : String(e)}`);
        }
        if (!useQemu) continue;
        try {
          const r = await qemuMigration(memMiB, mode, join(root, GUEST), timeoutMs);
          log(`bench: migration ${memMiB} MiB ${mode} qemu: total ${r.totalMs} ms, downtime ${r.downtimeMs} ms, ${r.bytes} bytes`);
          keep(r);
        } catch (e) {
          errors.push(`qemu ${memMiB} MiB ${mode}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }
  for (const e of errors) log(`bench:   ERROR migration ${e}`);
  return { guest: GUEST, rows: [...best.values()], errors };
}

/** The table: one line per size and mode, wasmvisor and QEMU side by side, and the ratios. */
export function formatMigrationBench(b: MigrationBench): string {
  const pad = (s: string, n: number) => s.padStart(n);
  const f = (v: number | undefined, d = 0) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));
  const mb = (v: number | undefined) => (v === undefined ? '-' : (v / 2 ** 20).toFixed(1));
  // QEMU prints whole ms; a 0 is "under 1 ms", so the ratio is against 1 ms and marked with >=.
  const ratio = (a: number | undefined, q: number | undefined, floor = false) =>
    a === undefined || q === undefined || Number.isNaN(q) ? '-' : q === 0 && floor ? `>=${(a / 1).toFixed(2)}x` : q === 0 ? '-' : `${(a / q).toFixed(2)}x`;
  const lines = [
    `Live migration over loopback TCP (${b.guest}: every page written, then a steady store rate; best total of the runs)`,
    `${'RAM'.padEnd(8)}${'mode'.padEnd(9)}${pad('wv total ms', 12)}${pad('wv down ms', 11)}${pad('wv sent', 9)}${pad('wv MiB', 8)}${pad('wv rnds', 8)}${pad('qemu total', 11)}${pad('qemu down', 10)}${pad('qemu MiB', 9)}${pad('syncs', 6)}${pad('total/qemu', 11)}${pad('down/qemu', 10)}${pad('sent/qemu', 10)}`,
  ];
  const sizes = [...new Set(b.rows.map((r) => r.memMiB))].sort((x, y) => x - y);
  for (const memMiB of sizes) {
    for (const mode of MODES) {
      const w = b.rows.find((r) => r.engine === 'wasmvisor' && r.memMiB === memMiB && r.mode === mode);
      const q = b.rows.find((r) => r.engine === 'qemu' && r.memMiB === memMiB && r.mode === mode);
      if (!w && !q) continue;
      lines.push(
        `${`${memMiB} MiB`.padEnd(8)}${mode.padEnd(9)}${pad(f(w?.totalMs), 12)}${pad(f(w?.downtimeMs, 2), 11)}${pad(f(w?.sentMs, 2), 9)}${pad(mb(w?.bytes), 8)}${pad(f(w?.rounds), 8)}` +
        `${pad(f(q?.totalMs), 11)}${pad(q ? (q.downtimeMs === 0 ? '<1' : f(q.downtimeMs)) : '-', 10)}${pad(mb(q?.bytes), 9)}${pad(f(q?.rounds), 6)}` +
        `${pad(ratio(w?.totalMs, q?.totalMs), 11)}${pad(ratio(w?.downtimeMs, q?.downtimeMs, true), 10)}${pad(ratio(w?.sentMs, q?.downtimeMs, true), 10)}`,
      );
    }
  }
  lines.push('wv down: stop to the target\'s DONE (the guest runs nowhere); wv sent: stop to the last byte written, QEMU\'s definition of');
  lines.push('downtime (its source does not wait for the target). QEMU: downtime-limit 5 ms, max-bandwidth 100G; "<1": it printed 0 ms.');
  for (const e of b.errors) lines.push(`ERROR ${e}`);
  return lines.join('\n');
}
