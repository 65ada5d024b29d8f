/**
 * Live `xl migrate` faults at the hand-over (host/migrate/domain-source.ts, domain-target.ts),
 * through the proxy of migrate-live-helpers.ts, with the diskloop DomU given two vifs on xenbr0
 * and each Dom0's bridge joined by an uplink to a UDP socket of the test, which counts the RARP
 * announces (EtherType 0x8035, source MAC) each bridge sends out:
 *   - the target's DONE lost (cut exactly at the answer, after the source's COMMIT): COMMIT is
 *     the point of no return (Xen's "permission to go"), so the domain is the target's: the
 *     target runs it to its end and announces each vif once; the source leaves its copy paused
 *     and never runs it again (no split brain: the lines of the source then the target are an
 *     unmigrated run's exactly, once each, and so is the disk); one line on each side;
 *   - a cut after STATE and before COMMIT (a bandwidth cap holds COMMIT back): the target drops
 *     the domain it loaded (it never ran, announced nothing), the source resumes it, and its vifs
 *     announce their MACs once each (QEMU's announce_self after a failed migration).
 * In the long suite (vitest.config.ts).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { diskloopLines, killAll, lastRound, run, start, until } from './save-helpers';
import { cuttingProxy, dir, removeDirs, target, unmigrated } from './migrate-live-helpers';

const sockets: UdpSocket[] = [];
afterEach(() => {
  killAll();
  for (const s of sockets.splice(0)) s.close();
});
afterAll(removeDirs);

const MACS = ['00:16:3e:00:00:11', '00:16:3e:00:00:12'];

/** A UDP socket standing for the far end of an uplink: the RARP announces it got, by source MAC. */
async function sniffer(): Promise<{ port: number; rarps: () => string[] }> {
  const s = createSocket('udp4');
  sockets.push(s);
  const rarps: string[] = [];
  s.on('message', (m: Buffer) => {
    if (m.length >= 14 && m.readUInt16BE(12) === 0x8035) rarps.push([...m.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':'));
  });
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  return { port: s.address().port, rarps: () => rarps.slice() };
}

/** The diskloop directory with dl given two vifs, and each Dom0's HOST.cfg with an uplink to a sniffer. */
async function setup(prefix: string) {
  const t = dir(prefix);
  const [sa, sb] = [await sniffer(), await sniffer()];
  // Capped at 20% of a CPU (wall-clock time, so no --deterministic): it outlives a slow migration.
  writeFileSync(t.cfg, readFileSync(t.cfg, 'utf8') + `cap = 20\nvif = [ ${MACS.map((m) => `'mac=${m}'`).join(', ')} ]\n`);
  writeFileSync(t.host, `domains = [ 'dl.cfg' ]\nuplinks = [ 'local=127.0.0.1:0, remote=127.0.0.1:${sa.port}' ]\n`);
  const hostB = join(t.dir, 'hostB.cfg');
  writeFileSync(hostB, `uplinks = [ 'local=127.0.0.1:0, remote=127.0.0.1:${sb.port}' ]\n`);
  return { t, sa, sb, hostB };
}

describe('live xl migrate: faults at the hand-over (built CLI)', () => {
  it("the target's DONE lost after COMMIT: the domain is the target's; the source keeps its copy paused; no split brain", async () => {
    const want = await unmigrated();
    const { t, sa, sb, hostB } = await setup('wasmvisor-xllive-done-');
    const { p: b, port } = await target(t.rtB, [hostB]);
    const proxy = await cuttingProxy(port, () => false, Infinity, { cutAnswer: (type) => type === 'D' });
    const a = start(t.dir, ['up', t.host, '--timeout', '300']);
    await until('round 100 on the source', () => lastRound(a.out) >= 100, () => a.out + a.err);
    const m = await run(t.dir, ['xl', 'migrate', 'dl', `127.0.0.1:${proxy.port}`]);
    // COMMIT went through; the target's READY came back, its DONE did not.
    expect(proxy.frames().slice(-3)).toEqual(['I', 'S', 'C']);
    expect(proxy.answers()).toEqual(['O', 'Y', 'D (cut)']);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: dl \\(d1\\): migration to 127\\.0\\.0\\.1:${proxy.port}: [^\\n]*connection closed[^\\n]* after COMMIT, before the target's answer; the domain is the target's: paused here, not resumed\\n$`));
    expect(m.status).toBe(1);
    // The target ran it from COMMIT to its end, announcing each vif once.
    const dst = await b.exited;
    expect(b.err).toMatch(/\nwasmvisor: dl \(d1\): migrated in from 127\.0\.0\.1:\d+\n/);
    expect(b.err).toContain('\nwasmvisor: dl (d1): poweroff, exit code 0: destroyed\n');
    expect(dst.status).toBe(0);
    expect(sb.rarps().sort()).toEqual(MACS);
    // The source: one line, the domain paused and never run again.
    expect(a.err).toMatch(new RegExp(`^wasmvisor: xl migrate: domain 'dl' is the target's: migration to tcp:127\\.0\\.0\\.1:${proxy.port}: [^\\n]*connection closed[^\\n]* after COMMIT, before the target's answer; it stays paused here \\(xl unpause it only if the target does not run it\\)\\n$`));
    const list = await run(t.dir, ['xl', 'list']);
    expect(list.stdout).toMatch(/\ndl +1 +16 +1 +--p---/);
    const moved = diskloopLines(a.out);
    const destroyed = await run(t.dir, ['xl', 'destroy', 'dl']);
    expect(destroyed.status).toBe(0);
    expect((await a.exited).status).toBe(1); // (up: a domain that did not power off cleanly)
    expect(diskloopLines(a.out)).toEqual(moved); // (nothing ran between the stop and the destroy)
    expect(a.err).toMatch(/\nwasmvisor: dl \(d1\): destroyed\nwasmvisor: dl \(d1\) did not power off cleanly: destroyed\n$/);
    expect(sa.rarps()).toEqual([]);
    // One copy ran at a time: the source's lines then the target's are an unmigrated run's, once each.
    expect(moved.length).toBeGreaterThan(100);
    expect([...moved, ...diskloopLines(b.out)]).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
  }, 300_000);

  it('COMMIT corrupted on the way: the target refuses it and drops its copy; the source resumes it and re-announces each vif once', async () => {
    const want = await unmigrated();
    const { t, sa, sb, hostB } = await setup('wasmvisor-xllive-precommit-');
    const { p: b, port } = await target(t.rtB, [hostB]);
    // COMMIT goes in one write with the last pages and STATE, so no cut can fall between them:
    // its checksum is broken instead. The target refuses it (REFUSE reaches the source), so the
    // source knows the target runs nothing and resumes the domain.
    const proxy = await cuttingProxy(port, () => false, Infinity, { corrupt: (type) => type === 'C' });
    const a = start(t.dir, ['up', t.host, '--timeout', '300']);
    await until('round 100 on the source', () => lastRound(a.out) >= 100, () => a.out + a.err);
    const m = await run(t.dir, ['xl', 'migrate', '--migrate-max-rounds', '2', 'dl', `127.0.0.1:${proxy.port}`]);
    expect(proxy.frames().slice(-3)).toEqual(['I', 'S', 'C (corrupt)']);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: cannot migrate dl \\(d1\\) to 127\\.0\\.0\\.1:${proxy.port}: [^\\n]*refused by the target: [^\\n]*corrupt stream[^\\n]*; it runs on here\\n$`));
    expect(m.status).toBe(1);
    // The target loaded the state, never ran it, and dropped it.
    await until('the target to give up', () => /nothing was run\n/.test(b.err), () => b.err);
    expect(b.err).toMatch(/\nwasmvisor: incoming migration of dl from 127\.0\.0\.1:\d+: [^\n]+; nothing was run\n$/);
    b.child.kill('SIGTERM');
    await b.exited;
    expect(b.out).toBe('');
    expect(sb.rarps()).toEqual([]);
    // The source ran it on to its end: its vifs announced their MACs once each, after the failure.
    expect((await a.exited).status).toBe(0);
    expect(sa.rarps().sort()).toEqual(MACS);
    expect(a.err).toMatch(new RegExp(`^wasmvisor: xl migrate: domain 'dl' keeps running here: migration to tcp:127\\.0\\.0\\.1:${proxy.port}: [^\\n]*\\n` +
      'wasmvisor: dl \\(d1\\): poweroff, exit code 0: destroyed\\n$'));
    expect(diskloopLines(a.out)).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
  }, 300_000);
});
