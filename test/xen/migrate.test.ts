/**
 * `xl migrate DOM HOST:PORT` of a paused domain between two Dom0 processes (host/cli/xl-migrate.ts,
 * host/migrate/domain-*.ts; pre-copy converges in its first round: nothing dirties a paused domain):
 * the source runs the diskloop DomU (guests/xen/diskloop.c) under `wasmvisor up`, the target is
 * `wasmvisor up --incoming tcp:127.0.0.1:0`. The domain moves in the middle of its disk I/O and
 * its console goes on on the target's terminal: the source's lines and then the target's are
 * exactly an unmigrated run's, and the disk (one image file, shared storage) ends the same
 * (--deterministic). A migration that cannot happen (nobody listening, a target that refuses
 * the domain) leaves it running on the source, unharmed, with one line saying why (exit 1).
 * In the long suite (vitest.config.ts).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeDirs, unmigrated } from './migrate-live-helpers';
import { diskloopDir, diskloopLines, killAll, lastRound, ROOT, run, start, until, type Proc } from './save-helpers';

afterEach(killAll);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  removeDirs(); // (the unmigrated run's, made by the helpers)
});

function dir(prefix: string): ReturnType<typeof diskloopDir> {
  const t = diskloopDir(prefix);
  dirs.push(t.dir);
  return t;
}

/** A target Dom0 listening on a port the system picked; resolves with it and its port. */
async function target(rt: string, extra: string[] = []): Promise<{ p: Proc; port: number }> {
  const p = start(rt, ['up', ...extra, '--incoming', 'tcp:127.0.0.1:0', '--deterministic', '--timeout', '300']);
  await until('the target to listen', () => /waiting for xl migrate on tcp:127\.0\.0\.1:(\d+)\n/.test(p.err), () => p.err);
  return { p, port: Number(/tcp:127\.0\.0\.1:(\d+)\n/.exec(p.err)![1]) };
}

describe('xl migrate between two Dom0 processes (built CLI)', () => {
  it('moves the diskloop DomU mid-I/O; its console continues on the target exactly as an unmigrated run, the disk ends the same', async () => {
    const want = await unmigrated();
    const t = dir('wasmvisor-xlmig-');
    const rtB = join(t.dir, 'b');
    mkdirSync(rtB, { mode: 0o700 });
    const { p: b, port } = await target(rtB);
    const a = start(t.dir, ['up', t.host, '--deterministic', '--timeout', '300']);
    await until('round 100 on the source', () => lastRound(a.out) >= 100, () => a.out + a.err);
    // Paused first, so that a loaded machine cannot let it finish before the command arrives
    // (xl save and migrate take a paused domain; the restored one runs).
    expect((await run(t.dir, ['xl', 'pause', 'dl'])).status).toBe(0);

    const m = await run(t.dir, ['xl', 'migrate', 'dl', `127.0.0.1:${port}`]);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: dl \\(d1\\) migrated to 127\\.0\\.0\\.1:${port} \\(precopy: total [\\d.]+ ms, downtime [\\d.]+ ms, 2 rounds \\(pages \\d+, stop-and-copy \\d+\\), 0 pages fetched on demand, [\\d,]+ bytes sent\\)\\n$`));
    expect(m.status).toBe(0);
    const src = await a.exited;
    expect(src.status).toBe(0); // a migrated domain counts as done
    expect(a.err).toMatch(new RegExp(`^wasmvisor: migrated to tcp:127\\.0\\.0\\.1:${port} \\(precopy\\): [^\\n]+\\nwasmvisor: dl \\(d1\\): migrated to 127\\.0\\.0\\.1:${port}: destroyed\\n$`));
    const moved = lastRound(a.out);
    expect(moved).toBeGreaterThanOrEqual(100);
    expect(moved).toBeLessThan(1199);

    const dst = await b.exited;
    expect(dst.status).toBe(0);
    expect(b.err).toMatch(new RegExp(`^wasmvisor: waiting for xl migrate on tcp:127\\.0\\.0\\.1:${port}\\n` +
      'wasmvisor: dl \\(d1\\): migrated in from 127\\.0\\.0\\.1:\\d+\\n' +
      'wasmvisor: dl \\(d1\\): poweroff, exit code 0: destroyed\\n$'));
    const srcLines = diskloopLines(a.out);
    const dstLines = diskloopLines(b.out);
    expect(dstLines[0]).toBe(`diskloop: round ${moved + 1} sector ${64 + 32 * ((moved + 1) % 24)} fnv1a ${want.lines[moved + 2].split(' fnv1a ')[1]}`);
    expect([...srcLines, ...dstLines]).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
  }, 300_000);

  it('a migration that cannot happen leaves the domain running on the source: nobody listening, a target that refuses it', async () => {
    const want = await unmigrated();
    const t = dir('wasmvisor-xlmig-fail-');
    // A port nobody listens on: bind one, close it.
    const free = await new Promise<number>((res) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => res(port));
      });
    });
    const a = start(t.dir, ['up', t.host, '--deterministic', '--timeout', '300']);
    await until('round 50 on the source', () => lastRound(a.out) >= 50, () => a.out + a.err);
    // Paused, so that it cannot finish before the attempts (a paused domain migrates, and stays paused if it does not).
    expect((await run(t.dir, ['xl', 'pause', 'dl'])).status).toBe(0);
    const m = await run(t.dir, ['xl', 'migrate', 'dl', `127.0.0.1:${free}`]);
    expect([m.stderr, m.status]).toEqual([`wasmvisor: xl migrate: cannot migrate dl (d1) to 127.0.0.1:${free}: cannot connect (ECONNREFUSED); it runs on here\n`, 1]);

    // A target that already runs a domain named dl refuses it.
    const rtB = join(t.dir, 'b');
    mkdirSync(rtB, { mode: 0o700 });
    const other = join(t.dir, 'other.cfg');
    writeFileSync(other, `name = 'dl'\nkernel = '${join(ROOT, 'guests/bin/xen/conecho.elf')}'\nmemory = 16\n`);
    const otherHost = join(t.dir, 'otherhost.cfg');
    writeFileSync(otherHost, `domains = [ 'other.cfg' ]\n`);
    const { p: b, port } = await target(rtB, [otherHost]);
    const m2 = await run(t.dir, ['xl', 'migrate', 'dl', `127.0.0.1:${port}`], { WASMVISOR_DOM0: String(a.child.pid) });
    expect(m2.status).toBe(1);
    expect(m2.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: cannot migrate dl \\(d1\\) to 127\\.0\\.0\\.1:${port}: refused by the target: migration from 127\\.0\\.0\\.1:\\d+: a domain named 'dl' already exists here; it runs on here\\n$`));
    expect(b.err).toMatch(/\nwasmvisor: incoming migration of dl from 127\.0\.0\.1:\d+: refused: migration from 127\.0\.0\.1:\d+: a domain named 'dl' already exists here\n$/);

    // The source's domain runs on to its end, exactly as if nothing had been tried.
    const list = await run(t.dir, ['xl', 'list', 'dl'], { WASMVISOR_DOM0: String(a.child.pid) });
    expect(list.stdout.split('\n')[1]).toMatch(/^dl +1 +16 +1 +--p---/);
    expect((await run(t.dir, ['xl', 'unpause', 'dl'], { WASMVISOR_DOM0: String(a.child.pid) })).status).toBe(0);
    expect((await a.exited).status).toBe(0);
    expect(a.err).toMatch(new RegExp(`^wasmvisor: xl migrate: domain 'dl' keeps running here: migration to tcp:127\\.0\\.0\\.1:${free}: cannot connect \\(ECONNREFUSED\\)\\n` +
      `wasmvisor: xl migrate: domain 'dl' keeps running here: migration to tcp:127\\.0\\.0\\.1:${port}: refused by the target: [^\\n]+\\n` +
      'wasmvisor: dl \\(d1\\): poweroff, exit code 0: destroyed\\n$'));
    expect(diskloopLines(a.out)).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
    b.child.kill('SIGTERM');
  }, 300_000);

  it('a Dom0 migrates a domain to itself (xl migrate dl to its own --incoming, as Xen allows): dl--migratedaway goes, dl--incoming becomes dl under a new id, the run is an unmigrated one', async () => {
    const want = await unmigrated();
    const t = dir('wasmvisor-xlmig-self-');
    const { p: a, port } = await target(t.dir, [t.host]);
    await until('round 100', () => lastRound(a.out) >= 100, () => a.out + a.err);
    expect((await run(t.dir, ['xl', 'pause', 'dl'])).status).toBe(0);
    const m = await run(t.dir, ['xl', 'migrate', 'dl', `127.0.0.1:${port}`]);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: dl \\(d1\\) migrated to 127\\.0\\.0\\.1:${port} \\(precopy: total [\\d.]+ ms, downtime [\\d.]+ ms, 2 rounds \\(pages \\d+, stop-and-copy \\d+\\), 0 pages fetched on demand, [\\d,]+ bytes sent\\)\\n$`));
    expect(m.status).toBe(0);
    // The one domain is dl again, under the id the incoming one got (the source's d1 is gone).
    const l = await run(t.dir, ['xl', 'list']);
    expect(l.stdout.split('\n').slice(1).filter((x) => x !== '').map((x) => x.split(/ +/).slice(0, 2).join(' '))).toEqual(['Domain-0 0', 'dl 2']);
    const end = await a.exited;
    expect(end.status).toBe(0);
    expect(a.err).toMatch(new RegExp(`^wasmvisor: waiting for xl migrate on tcp:127\\.0\\.0\\.1:${port}\\n` +
      `wasmvisor: migrated to tcp:127\\.0\\.0\\.1:${port} \\(precopy\\): [^\\n]+\\n` +
      `wasmvisor: dl \\(d1\\): migrated to 127\\.0\\.0\\.1:${port}: destroyed\\n` +
      'wasmvisor: dl \\(d2\\): migrated in from 127\\.0\\.0\\.1:\\d+\\n' +
      'wasmvisor: dl \\(d2\\): poweroff, exit code 0: destroyed\\n$'));
    expect(diskloopLines(a.out)).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
  }, 300_000);
});
