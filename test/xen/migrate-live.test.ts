/**
 * Live `xl migrate` between two Dom0 processes in each mode (host/migrate/domain-source.ts,
 * domain-target.ts): the diskloop DomU (guests/xen/diskloop.c) runs under `wasmvisor up` and is
 * migrated while it does disk I/O, without being paused first, to `up --incoming`. In every mode
 * its console lines on the source and then on the target are exactly an unmigrated run's and the
 * disk (one image file, shared storage) ends the same (--deterministic); pre-copy shows at least
 * one live round before its stop-and-copy, hybrid its pre-copy rounds and then post-copy, and
 * post-copy (its push slowed by --migrate-bandwidth so that the domain runs before every page is
 * in) pages fetched on demand. In the long suite (vitest.config.ts).
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { diskloopLines, killAll, lastRound, run, start, until } from './save-helpers';
import { dir, parseMigrateLine, removeDirs, target, unmigrated, type MigrateLine } from './migrate-live-helpers';

afterEach(killAll);
afterAll(removeDirs);

/** Migrate the diskloop DomU mid-I/O with `flags`; checks what every mode must give and returns xl migrate's line. */
async function migrateMidRun(prefix: string, flags: string[]): Promise<{ line: MigrateLine; src: string; dst: string }> {
  const want = await unmigrated();
  const t = dir(prefix);
  const { p: b, port } = await target(t.rtB);
  const a = start(t.dir, ['up', t.host, '--deterministic', '--timeout', '300']);
  await until('round 100 on the source', () => lastRound(a.out) >= 100, () => a.out + a.err);

  const m = await run(t.dir, ['xl', 'migrate', ...flags, 'dl', `127.0.0.1:${port}`]);
  expect(m.status).toBe(0);
  const line = parseMigrateLine(m.stderr, port);
  expect(line.downtimeMs).toBeLessThanOrEqual(line.totalMs);
  expect((await a.exited).status).toBe(0); // a migrated domain counts as done
  // The source Dom0: the summary (its stderr is not a terminal: no progress line), then the end.
  const summary = /\((?:precopy|postcopy|hybrid): (.*)\)\n$/.exec(m.stderr)![1];
  expect(a.err).toBe(`wasmvisor: migrated to tcp:127.0.0.1:${port} (${line.mode}): ${summary}\n` +
    `wasmvisor: dl (d1): migrated to 127.0.0.1:${port}: destroyed\n`);
  const moved = lastRound(a.out);
  expect(moved).toBeGreaterThanOrEqual(100);
  expect(moved).toBeLessThan(1199);

  expect((await b.exited).status).toBe(0);
  expect(b.err).toMatch(new RegExp(`^wasmvisor: waiting for xl migrate on tcp:127\\.0\\.0\\.1:${port}\\n`));
  expect(b.err).toMatch(/\nwasmvisor: dl \(d1\): migrated in from 127\.0\.0\.1:\d+\n/);
  expect(b.err).toMatch(/\nwasmvisor: dl \(d1\): poweroff, exit code 0: destroyed\n$/);
  const srcLines = diskloopLines(a.out);
  const dstLines = diskloopLines(b.out);
  expect(dstLines[0]).toBe(want.lines[moved + 2]);
  expect([...srcLines, ...dstLines]).toEqual(want.lines);
  expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
  return { line, src: a.err, dst: b.err };
}

describe('live xl migrate of a DomU doing disk I/O (built CLI)', () => {
  it('pre-copy (the default): live rounds while it runs, then stop-and-copy; the run is exactly an unmigrated one', async () => {
    const { line, dst } = await migrateMidRun('wasmvisor-xllive-pre-', []);
    expect(line.mode).toBe('precopy');
    expect(line.rounds.length).toBeGreaterThanOrEqual(2);
    expect(line.rounds.slice(0, -1).every((r) => /^\d[\d,]*$/.test(r))).toBe(true); // live rounds
    expect(line.rounds[line.rounds.length - 1]).toMatch(/^stop-and-copy \d[\d,]*$/);
    expect(Number(line.rounds[0].replace(/,/g, ''))).toBeGreaterThan(50); // round 1: every page it has
    expect(line.fetched).toBe(0);
    expect(dst).not.toMatch(/post-copy/);
  }, 300_000);

  it('post-copy: it resumes on the target at once, pages fetched on demand, backends wait for every page', async () => {
    const { line, dst } = await migrateMidRun('wasmvisor-xllive-post-', ['--migrate-mode', 'postcopy', '--migrate-bandwidth', '0.2']);
    expect(line.mode).toBe('postcopy');
    expect(line.rounds).toHaveLength(1);
    expect(line.rounds[0]).toMatch(/^post-copy \d[\d,]*$/);
    expect(line.fetched).toBeGreaterThan(0);
    const done = /\nwasmvisor: post-copy complete: (\d+) pages in \d+ ms, (\d+) fetched on demand, (\d+) device accesses waited for every page\n/.exec(dst);
    expect(done).not.toBeNull();
    expect(Number(done![1])).toBe(Number(line.rounds[0].slice('post-copy '.length).replace(/,/g, '')));
    expect(Number(done![2])).toBe(line.fetched);
  }, 300_000);

  it('hybrid: --migrate-precopy-rounds pre-copy rounds, then post-copy of what they left', async () => {
    const { line, dst } = await migrateMidRun('wasmvisor-xllive-hyb-', ['--migrate-mode', 'hybrid', '--migrate-precopy-rounds', '2']);
    expect(line.mode).toBe('hybrid');
    expect(line.rounds).toHaveLength(3);
    expect(line.rounds[0]).toMatch(/^\d[\d,]*$/);
    expect(line.rounds[1]).toMatch(/^\d[\d,]*$/);
    expect(line.rounds[2]).toMatch(/^post-copy \d[\d,]*$/);
    expect(dst).toMatch(/\nwasmvisor: post-copy complete: \d+ pages in \d+ ms, \d+ fetched on demand, \d+ device accesses waited for every page\n/);
  }, 300_000);
});
