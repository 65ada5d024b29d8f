/**
 * Live `xl migrate` when the connection is cut (host/migrate/domain-source.ts, domain-target.ts),
 * through a proxy in front of the target Dom0 (migrate-live-helpers.ts cuttingProxy):
 *   - during pre-copy (in round 1): the domain runs on on the source, unharmed, to exactly the
 *     lines and disk of an unmigrated run; xl migrate fails with one line (exit 1); the target
 *     ran nothing and says so in one line;
 *   - after the post-copy switch (right after the first pages pushed behind COMMIT): the domain
 *     is lost on both sides, as KVM documents for post-copy: xl migrate exits 69 with the source's
 *     line, both Dom0s destroy it with "lost in its migration", the target never ran it with a
 *     page missing (its lines, after the source's, are a prefix of an unmigrated run's), and the
 *     target Dom0's other domain runs on to its exact end;
 *   - a domain named dl--migratedaway already on the source: the rename before COMMIT (Xen's
 *     xl migrate renames the domain so before its "permission to go") is refused, so the
 *     migration fails there, after the target's READY and before COMMIT: the domain runs on as
 *     dl to its exact end, the other one too, and the target ran nothing.
 * In the long suite (vitest.config.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DISKLOOP, diskloopLines, killAll, lastRound, run, start, until } from './save-helpers';
import { cuttingProxy, dir, removeDirs, target, unmigrated } from './migrate-live-helpers';

afterEach(killAll);
afterAll(removeDirs);

/** A second diskloop domain `name` in `dir`: its xl.cfg `cfgFile` there, on a disk of its own (disk2.img, returned). */
function secondDiskloop(dir: string, name: string, cfgFile: string): string {
  const disk = join(dir, 'disk2.img');
  writeFileSync(disk, new Uint8Array(1 << 20));
  writeFileSync(join(dir, cfgFile), `name = '${name}'\nkernel = '${DISKLOOP}'\nmemory = 16\ndisk = [ 'format=raw, vdev=xvda, access=rw, target=${disk}' ]\n`);
  return disk;
}

describe('live xl migrate with the connection cut (built CLI)', () => {
  it('cut during pre-copy: the domain runs on on the source to the same output and disk; the target ran nothing', async () => {
    const want = await unmigrated();
    const t = dir('wasmvisor-xllive-cutpre-');
    const { p: b, port } = await target(t.rtB);
    // About a quarter of round 1 (it sends every page the domain has, ~100 of them).
    const proxy = await cuttingProxy(port, (sent) => sent >= 100_000, 100_000);
    const a = start(t.dir, ['up', t.host, '--deterministic', '--timeout', '300']);
    await until('round 100 on the source', () => lastRound(a.out) >= 100, () => a.out + a.err);
    const m = await run(t.dir, ['xl', 'migrate', 'dl', `127.0.0.1:${proxy.port}`]);
    expect(proxy.cutAt()).toBe(100_000);
    expect(m.status).toBe(1);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: cannot migrate dl \\(d1\\) to 127\\.0\\.0\\.1:${proxy.port}: [^\\n]*(connection closed|connection error)[^\\n]*; it runs on here\\n$`));
    expect((await a.exited).status).toBe(0);
    expect(a.err).toMatch(new RegExp(`^wasmvisor: xl migrate: domain 'dl' keeps running here: migration to tcp:127\\.0\\.0\\.1:${proxy.port}: [^\\n]*\\n` +
      'wasmvisor: dl \\(d1\\): poweroff, exit code 0: destroyed\\n$'));
    expect(diskloopLines(a.out)).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
    // The target: one line, nothing run, still waiting for a migration.
    await until('the target to give up', () => /nothing was run\n/.test(b.err), () => b.err);
    expect(b.err).toMatch(/\nwasmvisor: incoming migration of dl from 127\.0\.0\.1:\d+: the connection closed in the middle of message \d+ \(truncated stream\); nothing was run\n$/);
    expect(b.out).toBe('');
    b.child.kill('SIGTERM');
  }, 300_000);

  it('cut after the post-copy switch: the domain is lost on both sides; the target Dom0 runs its other domain on', async () => {
    const want = await unmigrated();
    const t = dir('wasmvisor-xllive-cutpost-');
    // The target Dom0 runs a domain of its own (diskloop on its own disk) throughout.
    const disk2 = secondDiskloop(t.dir, 'dl2', 'dl2.cfg');
    writeFileSync(join(t.dir, 'host2.cfg'), `domains = [ 'dl2.cfg' ]\n`);
    const { p: b, port } = await target(t.rtB, [join(t.dir, 'host2.cfg')]);
    // COMMIT and the first message behind it (pages pushed), then the end of the stream.
    const proxy = await cuttingProxy(port, (_, frames) => frames.includes('C') && frames.length >= frames.indexOf('C') + 2);
    const a = start(t.dir, ['up', t.host, '--deterministic', '--timeout', '300']);
    await until('round 100 on the source', () => lastRound(a.out) >= 100, () => a.out + a.err);
    const m = await run(t.dir, ['xl', 'migrate', '--migrate-mode', 'postcopy', '--migrate-bandwidth', '0.2', 'dl', `127.0.0.1:${proxy.port}`]);
    expect(proxy.cutAt()).toBeGreaterThan(0);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: dl \\(d1\\): migration to tcp:127\\.0\\.0\\.1:${proxy.port}: [^\\n]+ after the switch to post-copy; the VM is lost: this side gave it up at the switch and cannot resume it\\n$`));
    expect(m.status).toBe(69);
    const src = await a.exited;
    expect(a.err).toBe(`wasmvisor: dl (d1): lost in its migration (post-copy to 127.0.0.1:${proxy.port}): destroyed\n` +
      `wasmvisor: dl (d1) did not power off cleanly: lost in its migration (post-copy to 127.0.0.1:${proxy.port})\n`);
    expect(src.status).toBe(1); // (up: a domain that did not power off cleanly)

    const dst = await b.exited;
    const lost = /\nwasmvisor: incoming migration of dl from (127\.0\.0\.1:\d+): [^\n]+ during post-copy; the VM is lost: (\d+) of its pages never arrived, and it cannot run without them\n/.exec(b.err);
    expect(lost).not.toBeNull();
    expect(Number(lost![2])).toBeGreaterThan(0);
    expect(b.err).toContain(`\nwasmvisor: dl (d2): lost in its migration (post-copy from ${lost![1]}): destroyed\n`);
    expect(b.err).toContain('\nwasmvisor: dl2 (d1): poweroff, exit code 0: destroyed\n');
    expect(dst.status).toBe(1); // one of its domains did not end cleanly
    // dl ran on the target only with its pages: its lines go on from the source's, never past an unmigrated run's.
    const moved = diskloopLines(a.out);
    const after = diskloopLines(b.out);
    expect([...moved, ...after]).toEqual(want.lines.slice(0, moved.length + after.length));
    expect(moved.length).toBeGreaterThan(100);
    // dl2, the target Dom0's own domain, ran to its exact end.
    const dl2 = b.out.replace(/\r/g, '').split('\n').filter((l) => l.startsWith('dl2 | diskloop: ')).map((l) => l.slice('dl2 | '.length));
    expect(dl2).toEqual(want.lines);
    expect(readFileSync(disk2).equals(want.disk)).toBe(true);
  }, 300_000);

  it("a domain named dl--migratedaway already on the source: the rename fails before COMMIT; dl runs on as dl; the target ran nothing", async () => {
    const want = await unmigrated();
    const t = dir('wasmvisor-xllive-away-');
    const disk2 = secondDiskloop(t.dir, 'dl--migratedaway', 'away.cfg');
    writeFileSync(t.host, `domains = [ 'dl.cfg', 'away.cfg' ]\n`);
    const { p: b, port } = await target(t.rtB);
    const proxy = await cuttingProxy(port, () => false);
    const a = start(t.dir, ['up', t.host, '--deterministic', '--timeout', '300']);
    await until('round 100 on the source', () => lastRound(a.out) >= 100, () => a.out + a.err);
    const m = await run(t.dir, ['xl', 'migrate', 'dl', `127.0.0.1:${proxy.port}`]);
    expect(m.stderr).toBe(`wasmvisor: xl migrate: cannot migrate dl (d1) to 127.0.0.1:${proxy.port}: cannot rename the domain to 'dl--migratedaway' before COMMIT: a domain named 'dl--migratedaway' already exists; it runs on here\n`);
    expect(m.status).toBe(1);
    // The target had it all (READY); COMMIT never went.
    expect(proxy.frames().slice(-2)).toEqual(['I', 'S']);
    expect(proxy.answers().slice(-1)).toEqual(['Y']);
    await until('the target to give up', () => /nothing was run\n/.test(b.err), () => b.err);
    expect(b.err).toMatch(/\nwasmvisor: incoming migration of dl from 127\.0\.0\.1:\d+: [^\n]+; nothing was run\n$/);
    expect(b.out).toBe('');
    b.child.kill('SIGTERM');
    // Both ran to their ends, dl under its own name.
    expect((await a.exited).status).toBe(0);
    expect(a.err).toMatch(new RegExp(`^wasmvisor: xl migrate: domain 'dl' keeps running here: migration to tcp:127\\.0\\.0\\.1:${proxy.port}: cannot rename the domain to 'dl--migratedaway' before COMMIT: a domain named 'dl--migratedaway' already exists\\n`));
    expect(a.err).toContain('\nwasmvisor: dl (d1): poweroff, exit code 0: destroyed\n');
    expect(a.err).toContain('\nwasmvisor: dl--migratedaway (d2): poweroff, exit code 0: destroyed\n');
    expect(a.err.split('\n').length).toBe(4);
    // (up pads the prefixes to the longest name: "dl               | ", "dl--migratedaway | ")
    const linesOf = (name: string) => a.out.replace(/\r/g, '').split('\n').filter((l) => l.startsWith(`${name.padEnd(16)} | diskloop: `)).map((l) => l.slice(19));
    expect(linesOf('dl')).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
    expect(linesOf('dl--migratedaway')).toEqual(want.lines);
    expect(readFileSync(disk2).equals(want.disk)).toBe(true);
  }, 300_000);
});
