/**
 * Post-copy `xl migrate` of a DomU does not hold the target Dom0's other domains
 * (host/xen/toolstack/xen-vcpu.ts, Vcpu.onPageWait): while the migrated domain's pages are still
 * coming over a slow link (the proxy's delay and a bandwidth cap), its vCPU waits descheduled
 * and the target's own domain runs on.
 *
 * The witness is exact, from the target's console alone: the migrated diskloop's first line on
 * the target comes from a console hypercall, which runs only once every page is in
 * (host/xen/hypercalls.ts); the target's own diskloop (dl2, capped so that it runs throughout)
 * prints its lines into the same stdout. Its lines between the switch (the target Dom0's
 * "migrated in" line; counted when the test sees it, which can only undercount) and dl's first
 * line there were printed while dl's pages were outstanding: before, none (the waiting
 * hypercall held the slice, and with it every domain of that Dom0), now hundreds.
 * In the long suite (vitest.config.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DISKLOOP, diskloopLines, killAll, lastRound, run, start, until } from './save-helpers';
import { cuttingProxy, dir, parseMigrateLine, removeDirs, unmigrated } from './migrate-live-helpers';

afterEach(killAll);
afterAll(removeDirs);

/** The lines of domain `name` in `up`'s stdout ("NAME | ", padded to the longest name, dropped). */
const linesOf = (out: string, name: string) => {
  const re = new RegExp(`^${name} *\\| `);
  return out.replace(/\r/g, '').split('\n').filter((l) => re.test(l)).map((l) => l.replace(re, ''));
};

describe('post-copy xl migrate: the target Dom0 runs its other domains while pages come (built CLI)', () => {
  it('the target domain prints on while the migrated one waits for its pages', async () => {
    const want = await unmigrated();
    const t = dir('wasmvisor-xllive-others-');
    const disk2 = join(t.dir, 'disk2.img');
    writeFileSync(disk2, new Uint8Array(1 << 20));
    // dl2, the target Dom0's own domain, capped at 10% of a CPU (wall-clock time) so that it
    // runs through the whole migration.
    writeFileSync(join(t.dir, 'dl2.cfg'), `name = 'dl2'\nkernel = '${DISKLOOP}'\nmemory = 16\ncap = 10\ndisk = [ 'format=raw, vdev=xvda, access=rw, target=${disk2}' ]\n`);
    writeFileSync(join(t.dir, 'host2.cfg'), `domains = [ 'dl2.cfg' ]\n`);
    const b = start(t.rtB, ['up', join(t.dir, 'host2.cfg'), '--incoming', 'tcp:127.0.0.1:0', '--timeout', '300']);
    await until('the target to listen', () => /waiting for xl migrate on tcp:127\.0\.0\.1:(\d+)\n/.test(b.err), () => b.err);
    const port = Number(/waiting for xl migrate on tcp:127\.0\.0\.1:(\d+)\n/.exec(b.err)![1]);
    // A slow link: 40 ms each way, and the stream capped at 0.05 MB/s (the ~110 pages take ~9 s).
    const proxy = await cuttingProxy(port, () => false, Infinity, { delayMs: 40 });
    const a = start(t.dir, ['up', t.host, '--deterministic', '--timeout', '300']);
    await until('round 100 on the source', () => lastRound(a.out) >= 100, () => a.out + a.err);
    const migrating = run(t.dir, ['xl', 'migrate', '--migrate-mode', 'postcopy', '--migrate-bandwidth', '0.05', 'dl', `127.0.0.1:${proxy.port}`]);
    await until('the switch on the target', () => /\nwasmvisor: dl \(d2\): migrated in from /.test(b.err), () => b.err);
    const atSwitch = linesOf(b.out, 'dl2').length;
    const m = await migrating;
    expect(m.status).toBe(0);
    expect(parseMigrateLine(m.stderr, proxy.port).mode).toBe('postcopy');
    expect(await a.exited).toMatchObject({ status: 0 });
    expect((await b.exited).status).toBe(0);

    // dl on the target: its first line there came once every page was in.
    const out = b.out.replace(/\r/g, '');
    const firstDl = out.search(/\ndl *\| /) + 1;
    expect(firstDl).toBeGreaterThan(0);
    const beforeDl = linesOf(out.slice(0, firstDl), 'dl2').length;
    // dl2 ran on meanwhile: hundreds of its lines, exactly an unmigrated run's in order.
    expect(beforeDl - atSwitch).toBeGreaterThanOrEqual(100);
    expect(linesOf(out, 'dl2')).toEqual(want.lines);
    expect(readFileSync(disk2).equals(want.disk)).toBe(true);
    // And dl itself is whole: the source's lines, then the target's, are an unmigrated run's.
    expect([...diskloopLines(a.out), ...linesOf(out, 'dl')]).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
  }, 300_000);
});
