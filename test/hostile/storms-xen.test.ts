/**
 * A trap storm in a DomU under `wasmvisor up` (issue 11, defect 1): one stuck DomU used to freeze
 * Dom0, every other DomU and `xl list` from another terminal, since its slice never gave the
 * thread back. Now:
 *
 *   - a healthy DomU beside it (guests/bin/xen/domu.elf) prints exactly its expected text and
 *     powers off, in both scheduler modes (host microseconds, and --deterministic instructions,
 *     where a slice of a vCPU that only traps is charged its traps: charged nothing, it stayed
 *     UNDER and starved everyone else for good);
 *   - the stuck one is ended by --timeout: exit 124, one line naming it, within 2 s;
 *   - `xl list` from another process answers while the storm goes on, and SIGINT and SIGTERM
 *     (which Dom0 handles, to remove its socket) end the command within 2 s;
 *   - and an xl command whose Dom0 does not answer at all (a socket that accepts and stays
 *     silent) gives up after ANSWER_TIMEOUT_MS with one line and exit 1.
 *
 * Every process gets its own XDG_RUNTIME_DIR, so the Dom0s of other tests are never seen.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWER_TIMEOUT_MS } from '../../host/cli/xl-client';
import { haveBuild, ROOT, runCli, startCli } from './cli';
import { busyThenDone, stvecEbreak } from './storms-guests';

const DOMU = join(ROOT, 'guests/bin/xen/domu.elf');
const SLACK_MS = 2000;
/** Long enough for the healthy DomU beside a storm (about 3 s here) and an `xl list` after it. */
const TIMEOUT_S = 8;
/** Loop turns of the busy DomU: 2M instructions, many times its share of one credit period. */
const BUSY_TURNS = 1_000_000n;

const top = mkdtempSync(join(tmpdir(), 'wasmvisor-storms-xen-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

/** A private runtime directory (mode 0700, as XDG requires) for one test's processes. */
function runtimeDir(name: string): Record<string, string> {
  const rt = join(top, `rt-${name}`);
  mkdirSync(rt, { mode: 0o700 });
  return { XDG_RUNTIME_DIR: rt };
}

/** Write the cfg files and return the HOST.cfg path: the stuck DomU first (it is d1, picked first). */
function hostCfg(domains: ('stuck' | 'domu' | 'busy')[]): string {
  writeFileSync(join(top, 'stuck.bin'), stvecEbreak());
  writeFileSync(join(top, 'stuck.cfg'), `name = 'stuck'\nkernel = 'stuck.bin'\nmemory = 16\n`);
  writeFileSync(join(top, 'busy.bin'), busyThenDone(BUSY_TURNS));
  writeFileSync(join(top, 'busy.cfg'), `name = 'busy'\nkernel = 'busy.bin'\nmemory = 16\n`);
  writeFileSync(join(top, 'domu.cfg'), `name = 'domu'\nkernel = '${DOMU}'\nmemory = 16\n`);
  const host = join(top, `host-${domains.join('-')}.cfg`);
  writeFileSync(host, `domains = [ ${domains.map((d) => `'${d}.cfg'`).join(', ')} ]\n`);
  return host;
}

/**
 * domu.elf's console text when it runs alone (the guest checks its own results and crashes on a
 * FAIL line, test/xen/domu.test.ts checks each line against the host's values): the oracle for
 * the same guest beside a stuck one.
 */
let alone: string[] = [];

/** domu.elf's console text as domain `domid` under `up`, each line prefixed by its name. */
function expectedDomu(domid: number, width: number): string[] {
  return alone.map((l) => `${'domu'.padEnd(width)} | ${l.replace('(d1)', `(d${domid})`).replace(/domid 1$/, `domid ${domid}`)}`);
}

describe.skipIf(!haveBuild)('a stuck DomU under up (built CLI)', () => {
  beforeAll(async () => {
    // The healthy DomU alone, as a check of the expected text.
    const r = await runCli(['up', hostCfg(['domu'])], { env: runtimeDir('alone'), guardMs: 60_000 });
    expect(r.status).toBe(0);
    alone = r.stdout.split('\n').filter((l) => l.startsWith('domu | ')).map((l) => l.slice('domu | '.length));
    expect(alone.length).toBeGreaterThan(5);
    expect(alone.filter((l) => l.includes('FAIL'))).toEqual([]);
  }, 90_000);

  for (const deterministic of [false, true]) {
    const mode = deterministic ? '--deterministic' : 'wall-clock time';
    it(`${mode}: the healthy DomU finishes, xl list answers, the stuck one ends at --timeout (124, one line)`, async () => {
      const env = runtimeDir(deterministic ? 'det' : 'wall');
      const host = hostCfg(['stuck', 'domu']);
      const p = startCli(['up', host, '--timeout', String(TIMEOUT_S), ...(deterministic ? ['--deterministic'] : [])], { env, guardMs: 60_000 });
      await p.waitFor('stuck | storm', 30_000);
      const stormAt = performance.now(); // the session (and its --timeout) had begun
      // The healthy DomU gets the CPU beside the storm and completes.
      await p.waitFor('domu: all tests passed', 30_000);
      // Dom0 answers another terminal while the storm goes on.
      const list = await runCli(['xl', 'list'], { env, guardMs: 30_000 });
      expect(list.stderr).toBe('');
      expect(list.status).toBe(0);
      // (domu is listed until its poweroff, which follows its last line, has destroyed it)
      expect(list.stdout).toMatch(/^Name +ID +Mem VCPUs\tState\tTime\(s\)\nDomain-0 +0 +0 +1 +r----- +[\d.]+\nstuck +1 +16 +1 +r----- +[\d.]+\n(domu +2 +16 +1 +\S+ +[\d.]+\n)?$/);
      expect(list.wallMs).toBeLessThan(ANSWER_TIMEOUT_MS);
      const r = await p.done;
      expect(r.guardKilled).toBe(false);
      const out = r.stdout.split('\n');
      expect(out.filter((l) => l.startsWith('domu  | '))).toEqual(expectedDomu(2, 5));
      expect(out.filter((l) => l.startsWith('stuck | '))).toEqual(['stuck | storm']);
      expect(r.stderr.split('\n')).toEqual([
        'wasmvisor: domu (d2): poweroff, exit code 0: destroyed',
        'wasmvisor: stuck (d1): destroyed',
        `wasmvisor: ${host}: timeout after ${TIMEOUT_S} s (stuck still running)`,
        '',
      ]);
      expect(r.status).toBe(124);
      expect(p.exitedAt - stormAt).toBeLessThan(TIMEOUT_S * 1000 + SLACK_MS);
    }, 90_000);
  }

  it('--deterministic: a busy DomU beside the storm gets its share and finishes (a slice that only trapped is charged its traps)', async () => {
    const host = hostCfg(['stuck', 'busy']);
    const p = startCli(['up', host, '--timeout', String(TIMEOUT_S), '--deterministic', '--stats'], { env: runtimeDir('busy'), guardMs: 60_000 });
    await p.waitFor('busy  | done', (TIMEOUT_S + 10) * 1000);
    const r = await p.done;
    expect(r.stderr.split('\n').filter((l) => l.startsWith('wasmvisor:'))).toEqual([
      'wasmvisor: busy (d2): poweroff, exit code 0: destroyed',
      'wasmvisor: stuck (d1): destroyed',
      `wasmvisor: ${host}: timeout after ${TIMEOUT_S} s (stuck still running)`,
    ]);
    // --stats: busy retired its 2M instructions (and a few more) in slices of at most 100,000
    const busy = /^busy +(\d+) +[\d.]+ +(\d+) /m.exec(r.stderr);
    expect(busy, r.stderr).not.toBeNull();
    expect(Number(busy![1])).toBeGreaterThanOrEqual(2 * Number(BUSY_TURNS));
    expect(Number(busy![2])).toBeGreaterThanOrEqual(20);
    expect(r.status).toBe(124);
  }, 90_000);

  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} ends up with a storming DomU within 2 s (status ${status}) and removes its socket`, async () => {
      const env = runtimeDir(signal);
      const p = startCli(['up', hostCfg(['stuck'])], { env, guardMs: 60_000 });
      await p.waitFor('stuck | storm', 30_000);
      const socket = join(env.XDG_RUNTIME_DIR, 'wasmvisor', `dom0-${p.pid}.sock`);
      expect(existsSync(socket)).toBe(true);
      await new Promise((r) => setTimeout(r, 300)); // well into the storm
      const sent = p.kill(signal);
      const r = await p.done;
      expect(r.guardKilled).toBe(false);
      expect([r.status, r.signal]).toEqual([status, null]);
      expect(p.exitedAt - sent).toBeLessThan(SLACK_MS);
      expect(existsSync(socket)).toBe(false);
    }, 90_000);
  }

  it(`an xl command whose Dom0 accepts but never answers gives up after ${ANSWER_TIMEOUT_MS / 1000} s: one line, exit 1`, async () => {
    const env = runtimeDir('silent');
    const dir = join(env.XDG_RUNTIME_DIR, 'wasmvisor');
    mkdirSync(dir, { mode: 0o700 });
    // A live pid (this process) with a socket that swallows the request.
    const held: Socket[] = [];
    const server = createServer((s) => {
      held.push(s);
      s.on('error', () => {});
    });
    const path = join(dir, `dom0-${process.pid}.sock`);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const r = await runCli(['xl', 'list'], { env, guardMs: ANSWER_TIMEOUT_MS + 30_000 });
      expect(r.guardKilled).toBe(false);
      expect([r.stdout, r.stderr, r.status]).toEqual(['', `wasmvisor: xl list: Dom0 (pid ${process.pid}) did not answer within ${ANSWER_TIMEOUT_MS / 1000} s\n`, 1]);
      expect(r.wallMs).toBeGreaterThanOrEqual(ANSWER_TIMEOUT_MS);
      expect(r.wallMs).toBeLessThan(ANSWER_TIMEOUT_MS + 5000);
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, ANSWER_TIMEOUT_MS + 60_000);
});
