/**
 * Live migration between two wasmvisor processes on loopback (issue 14, docs/migration.md), run
 * as a user runs it (`node bin/wasmvisor.mjs`; needs the build): minikernel under
 * --deterministic is migrated mid-run with pre-copy; the source's console output followed by the
 * target's equals an unmigrated run's, and both exit 0. A target with another --mem refuses with
 * one line and the source runs on to the same output. A fault-injecting proxy between them cuts,
 * corrupts or delays the stream at seeded random byte offsets: every case either migrates with
 * identical output, or the target refuses with one line having run nothing while the source
 * finishes the run itself.
 */
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENSBI, oracle } from '../oracles';
import { BIN, ROOT, start, unmigratedOutput, type Done } from './process';

const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const haveOpensbi = oracle('opensbi', 'test/migrate/live.test.ts');
let nextPort = 20000 + (process.pid % 20000);

type Fault = { kind: 'none' } | { kind: 'cut' | 'corrupt' | 'delay'; at: number };

/** A TCP proxy listening on `port`, forwarding to `to`, faulting the source-to-target direction once. */
function proxy(port: number, to: number, fault: Fault): Promise<{ reached: () => boolean; close: () => void }> {
  let reached = false;
  let servers: net.Server;
  return new Promise((ready) => {
    servers = net.createServer((src) => {
      const dst = net.connect({ port: to, host: '127.0.0.1' });
      let seen = 0;
      const kill = () => { src.destroy(); dst.destroy(); };
      dst.on('data', (d) => src.write(d));
      dst.on('error', kill).on('close', kill);
      src.on('error', kill).on('close', () => dst.end());
      src.on('data', (d: Buffer) => {
        const start = seen;
        seen += d.length;
        if (fault.kind === 'none' || reached || fault.at < start || fault.at >= seen) return void dst.write(d);
        reached = true;
        const at = fault.at - start;
        if (fault.kind === 'cut') {
          dst.write(d.subarray(0, at), kill);
        } else if (fault.kind === 'corrupt') {
          const c = Buffer.from(d);
          c[at] ^= 0x5a;
          dst.write(c);
        } else {
          dst.write(d.subarray(0, at));
          src.pause();
          setTimeout(() => { dst.write(d.subarray(at)); src.resume(); }, 20);
        }
      });
    });
    servers.listen(port, '127.0.0.1', () => ready({ reached: () => reached, close: () => servers.close() }));
  });
}

const base = ['run', KERNEL, '--deterministic'];
let reference = '';
const tmp = mkdtempSync(join(tmpdir(), 'wasmvisor-live-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(() => {
  reference = unmigratedOutput(base);
  expect(reference).toContain('minikernel: shutdown');
}, 60_000);

/** Target on one port, (optional proxy,) source; both outcomes. */
async function migrate(opts: { target?: string[]; source?: string[]; fault?: Fault; args?: string[] } = {}) {
  const args = opts.args ?? base;
  const port = nextPort++;
  const target = start([...args, ...(opts.target ?? []), '--incoming', `tcp:127.0.0.1:${port}`]);
  await target.stderrHas(`wasmvisor: waiting for a migration on tcp:127.0.0.1:${port}\n`);
  let via = port;
  let px: Awaited<ReturnType<typeof proxy>> | undefined;
  if (opts.fault) {
    via = nextPort++;
    px = await proxy(via, port, opts.fault);
  }
  const source = start([...args, ...(opts.source ?? []), '--migrate-to', `tcp:127.0.0.1:${via}`]);
  // A watchdog: a hang is a failure with both sides' stderr, not a test timeout.
  const watchdog = setTimeout(() => { source.child.kill(); target.child.kill(); }, 45_000);
  const [s, t] = await Promise.all([source.done, target.done]);
  clearTimeout(watchdog);
  px?.close();
  return { s, t, reached: px?.reached() ?? false, port };
}

/**
 * migrate(), run again (up to 6 times) while the guest outran its migration: minikernel as a VM
 * ends in ~150 ms, and on a loaded machine its end can come before the stop. Only that exact
 * outcome is retried: the source ran it all and said "abandoned: the run ended first", the
 * target ran nothing.
 */
async function migrateCaught(opts: Parameters<typeof migrate>[0]): Promise<Awaited<ReturnType<typeof migrate>>> {
  for (let attempt = 1; ; attempt++) {
    const r = await migrate(opts);
    const outran = r.s.code === 0 && r.t.stdout === '' && r.t.code !== 0 && /^wasmvisor: migration to tcp:127\.0\.0\.1:\d+: abandoned: the run ended first\n$/.test(r.s.stderr);
    if (!outran || attempt === 6) return r;
  }
}

/** The target's stderr without its "waiting" line. */
const targetLines = (t: Done) => t.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('wasmvisor: waiting for a migration'));

function expectMigrated(r: Awaited<ReturnType<typeof migrate>>, expected = reference): void {
  expect([r.s.code, r.t.code], r.s.stderr + r.t.stderr).toEqual([0, 0]);
  expect(r.s.stdout + r.t.stdout).toBe(expected);
  expect(r.t.stdout.length).toBeGreaterThan(0);
  expect(r.s.stderr).toMatch(/^wasmvisor: migrated to tcp:127\.0\.0\.1:\d+ \(precopy\): total [\d.]+ ms, downtime [\d.]+ ms, \d+ rounds \(pages [\d,]+(, [\d,]+)*, stop-and-copy [\d,]+\), 0 pages fetched on demand, [\d,]+ bytes sent\n$/);
  expect(targetLines(r.t)).toHaveLength(1);
  expect(targetLines(r.t)[0]).toMatch(/^wasmvisor: migrated in from 127\.0\.0\.1:\d+ \(\d+ pages, \d+ bytes\); running$/);
}

/** The target refused (one line, exit 2, ran nothing); the source ran the guest to the end. */
function expectRefused(r: Awaited<ReturnType<typeof migrate>>, line: RegExp, expected = reference): void {
  expect(r.t.code, r.s.stderr + r.t.stderr).toBe(2);
  expect(r.t.stdout).toBe('');
  expect(targetLines(r.t)).toHaveLength(1);
  expect(targetLines(r.t)[0]).toMatch(line);
  expect(r.s.code).toBe(0);
  expect(r.s.stdout).toBe(expected);
  // Refused or cut while pre-copying; or the guest finished first (a fault slowed the stream).
  expect(r.s.stderr).toMatch(/^wasmvisor: migration to tcp:127\.0\.0\.1:\d+: (.+; the VM keeps running here|abandoned: the run ended first)\n$/);
}

/** Held after COMMIT (source exit 1, two lines); the target ran it, or ran nothing and the saved state runs the rest. */
function expectHeld(r: Awaited<ReturnType<typeof migrate>>, snap: string): void {
  expect(r.s.stderr).toMatch(/^wasmvisor: migration to tcp:127\.0\.0\.1:\d+: [^\n]+ after COMMIT, before the target's answer; the VM is the target's: not resumed here\nwasmvisor: saved the VM held here in [^\n]+\n$/);
  if (r.t.code === 0) {
    expect(r.s.stdout + r.t.stdout).toBe(reference);
    return;
  }
  expect(r.t.code, r.t.stderr).toBe(2);
  expect(r.t.stdout).toBe('');
  const rest = spawnSync(process.execPath, [BIN, ...base, '--restore', snap], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
  expect(rest.status, rest.stderr).toBe(0);
  expect(r.s.stdout + rest.stdout).toBe(reference);
}

describe('live migration, pre-copy (minikernel, --deterministic)', () => {
  // At most 2 rounds: minikernel runs for well under a second, and an unbounded pre-copy on a
  // loaded machine could outlast it (the source then says it abandoned; the fault test allows that).
  it('VM: the source output followed by the target output is the unmigrated run', async () => {
    expectMigrated(await migrateCaught({ source: ['--migrate-max-rounds', '2'] }));
  }, 60_000);

  it('VM: --migrate-max-rounds 1 stops and copies after round 1', async () => {
    const r = await migrateCaught({ source: ['--migrate-max-rounds', '1'] });
    expectMigrated(r);
    expect(r.s.stderr).toMatch(/, 2 rounds \(pages [\d,]+, stop-and-copy [\d,]+\)/);
  }, 60_000);

  it.skipIf(!haveOpensbi)('bare machine behind OpenSBI: the same', async () => {
    const args = ['run', '--bare', '--bios', OPENSBI, KERNEL, '--deterministic'];
    expectMigrated(await migrateCaught({ args, source: ['--migrate-max-rounds', '2'] }), unmigratedOutput(args));
  }, 90_000);

  it('a target with another --mem refuses with one line; the source runs on', async () => {
    const r = await migrate({ target: ['--mem', '64M'] });
    expectRefused(r, /^wasmvisor: incoming migration on tcp:127\.0\.0\.1:\d+: the source VM does not match this command line: --mem 128M there, --mem 64M here$/);
    expect(r.s.stderr).toContain('refused by the target: the source VM does not match this command line: --mem 128M there, --mem 64M here; the VM keeps running here');
  }, 60_000);
});

describe('a fault-injecting proxy (seeded)', () => {
  it('cuts, corruptions and delays: every case migrates exactly or is refused with the source unharmed', async () => {
    let seed = 0x14c0ffee;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const kinds = ['cut', 'corrupt', 'delay'] as const;
    const counts: Record<string, number> = {};
    const CASES = 20;
    for (let i = 0; i < CASES; i++) {
      const kind = kinds[i % 3];
      // The first 6 (2 of each kind) in the first messages (HELLO, round 1's start: always
      // reached), the rest anywhere in the first 64 KB: a migration of minikernel sends 70 KB to
      // 1.3 MB (how many rounds it takes depends on timing), so nearly every fault reaches it.
      const at = Math.floor(i < 6 ? rand() * 300 : rand() * 64_000);
      const snap = join(tmp, `fault-${i}.wvsnap`);
      const r = await migrate({ fault: { kind, at }, source: ['--migrate-max-rounds', '3', '--snapshot-file', snap] });
      const migrated = r.s.code === 0 && r.t.code === 0;
      // A cut that fell after COMMIT was written (it goes in one write with the last pages and
      // the state): the source holds the VM and saves it (handover.test.ts); the target either
      // got COMMIT and ran it, or dropped it, and then the saved state runs the rest exactly.
      const held = r.s.code === 1;
      if (migrated) expectMigrated(r);
      else if (held) expectHeld(r, snap);
      else expectRefused(r, /^wasmvisor: incoming migration on tcp:127\.0\.0\.1:\d+: .*(corrupt stream|truncated stream|connection error).*; nothing was run$/);
      // A cut or a corruption that reached the stream is never a clean migration (checksums, no COMMIT).
      if (r.reached && kind !== 'delay') expect(migrated).toBe(false);
      const key = `${kind} ${r.reached ? 'reached' : 'past the end'}: ${migrated ? 'migrated' : held ? 'held' : 'refused'}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    console.log(`fault cases: ${JSON.stringify(counts)}`);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(CASES);
    // Every kind of fault reached the stream; some cases got through.
    expect(counts['cut reached: refused']).toBeGreaterThanOrEqual(2);
    expect(counts['corrupt reached: refused']).toBeGreaterThanOrEqual(2);
    expect(Object.entries(counts).filter(([k]) => k.startsWith('delay reached')).reduce((a, [, v]) => a + v, 0)).toBeGreaterThanOrEqual(2);
    expect(Object.entries(counts).filter(([k]) => k.endsWith('migrated')).reduce((a, [, v]) => a + v, 0)).toBeGreaterThan(0);
  }, 300_000); // 20 cases of two processes each: minutes on a loaded 2-core machine
});
