/**
 * Live `xl migrate` faults at the hand-over (host/migrate/domain-source.ts, domain-target.ts),
 * through the proxy of migrate-live-helpers.ts, with the diskloop DomU given two vifs on xenbr0
 * and each Dom0's bridge joined by an uplink to a UDP socket of the test, which counts the RARP
 * announces (EtherType 0x8035, source MAC) each bridge sends out:
 *   - the target's DONE lost (cut exactly at the answer, after the source's COMMIT): COMMIT is
 *     the point of no return (Xen's "permission to go"), so the domain is the target's: the
 *     target runs it and announces each vif once; the source leaves its copy paused under
 *     dl--migratedaway, as Xen's xl migrate does, and never runs it again; one line on each side.
 *     `xl list` shows dl--migratedaway, the name dl finds nothing, and so the domain can come
 *     back under its name beside the paused copy: saved on the target, restored on the source.
 *     No split brain: the lines of the source, the target and the source again are an
 *     unmigrated run's exactly, once each, and so is the disk;
 *   - COMMIT corrupted on the way (the target's REFUSE of it reaches the source): the target
 *     drops the domain it loaded (it never ran, announced nothing), the source renames it back
 *     from dl--migratedaway to dl and resumes it, and its vifs announce their MACs once each
 *     (QEMU's announce_self after a failed migration).
 * In the long suite (vitest.config.ts).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { diskloopLines, killAll, lastRound, run, start, until } from './save-helpers';
import { cuttingProxy, dir, removeDirs, target, unmigrated, type ProxyFaults } from './migrate-live-helpers';

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

/**
 * What both tests start from: the unmigrated run, the diskloop directory with dl given two vifs
 * and each Dom0's HOST.cfg an uplink to a sniffer, the target Dom0 (B) listening, the proxy with
 * `faults` in front of it, and the source Dom0 (A) running dl to round 20 (of 1,200: the target must still be running it when the first test pauses it there).
 */
async function handover(prefix: string, faults: ProxyFaults) {
  const want = await unmigrated();
  const t = dir(prefix);
  const [sa, sb] = [await sniffer(), await sniffer()];
  // Capped at 20% of a CPU (wall-clock time, so no --deterministic): it outlives a slow migration.
  writeFileSync(t.cfg, readFileSync(t.cfg, 'utf8') + `cap = 20\nvif = [ ${MACS.map((m) => `'mac=${m}'`).join(', ')} ]\n`);
  writeFileSync(t.host, `domains = [ 'dl.cfg' ]\nuplinks = [ 'local=127.0.0.1:0, remote=127.0.0.1:${sa.port}' ]\n`);
  const hostB = join(t.dir, 'hostB.cfg');
  writeFileSync(hostB, `uplinks = [ 'local=127.0.0.1:0, remote=127.0.0.1:${sb.port}' ]\n`);
  const { p: b, port } = await target(t.rtB, [hostB]);
  const proxy = await cuttingProxy(port, () => false, Infinity, faults);
  const a = start(t.dir, ['up', t.host, '--timeout', '300']);
  await until('round 20 on the source', () => lastRound(a.out) >= 20, () => a.out + a.err);
  return { want, t, sa, sb, b, proxy, a };
}

/** The first word (the name) of each domain row of `xl list`'s output. */
const listNames = (stdout: string) => stdout.split('\n').slice(1, -1).map((l) => l.split(/\s+/)[0]);

describe('live xl migrate: faults at the hand-over (built CLI)', () => {
  it("the target's DONE lost after COMMIT: the domain is the target's; the source keeps its copy paused as dl--migratedaway; no split brain", async () => {
    const { want, t, sa, sb, b, proxy, a } = await handover('wasmvisor-xllive-done-', { cutAnswer: (type) => type === 'D' });
    const m = await run(t.dir, ['xl', 'migrate', 'dl', `127.0.0.1:${proxy.port}`]);
    // COMMIT went through; the target's READY came back, its DONE did not.
    expect(proxy.frames().slice(-3)).toEqual(['I', 'S', 'C']);
    expect(proxy.answers()).toEqual(['O', 'Y', 'D (cut)']);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: dl \\(d1\\): migration to 127\\.0\\.0\\.1:${proxy.port}: [^\\n]*connection closed[^\\n]* after COMMIT, before the target's answer; the domain is the target's: paused here as dl--migratedaway, not resumed\\n$`));
    expect(m.status).toBe(1);
    // The target runs it from COMMIT on, having announced each vif once.
    await until('the target to run it', () => /\nwasmvisor: dl \(d1\): migrated in from 127\.0\.0\.1:\d+\n/.test(b.err) && lastRound(b.out) >= 0, () => b.err);
    await until('the announces on the target', () => sb.rarps().length >= 2, () => b.err);
    expect(sb.rarps().sort()).toEqual(MACS);
    // The source: one line; the domain paused under dl--migratedaway, never run again; dl names nothing.
    expect(a.err).toMatch(new RegExp(`^wasmvisor: xl migrate: domain 'dl' is the target's: migration to tcp:127\\.0\\.0\\.1:${proxy.port}: [^\\n]*connection closed[^\\n]* after COMMIT, before the target's answer; it stays paused here as 'dl--migratedaway' \\(xl unpause it only if the target does not run it\\)\\n$`));
    const list = await run(t.dir, ['xl', 'list']);
    expect(list.stdout).toMatch(/\ndl--migratedaway +1 +16 +1 +--p--- /);
    expect(listNames(list.stdout)).toEqual(['Domain-0', 'dl--migratedaway']);
    expect(await run(t.dir, ['xl', 'unpause', 'dl'])).toEqual({ stdout: '', stderr: "wasmvisor: xl unpause: no domain 'dl' (see wasmvisor xl list)\n", status: 1 });
    const moved = diskloopLines(a.out);
    expect(moved.length).toBeGreaterThan(20);
    // The domain comes back under its name while the copy is there: saved on the target
    // (paused first, so that it cannot end before the save), restored on the source.
    await until('the target to run a round past the source', () => lastRound(b.out) > lastRound(a.out), () => b.out.slice(-300) + b.err);
    const paused = await run(t.rtB, ['xl', 'pause', 'dl']);
    expect(paused.status, paused.stderr + b.err).toBe(0);
    const file = join(t.dir, 'back.wvsave');
    expect((await run(t.rtB, ['xl', 'save', 'dl', file])).status).toBe(0);
    expect((await b.exited).status).toBe(0);
    expect(b.err).toMatch(new RegExp(`\nwasmvisor: dl \\(d1\\): migrated in from 127\\.0\\.0\\.1:\\d+\nwasmvisor: dl \\(d1\\): saved to ${file.replace(/[.]/g, '\\.')}: destroyed\n$`));
    expect(sa.rarps()).toEqual([]);
    expect(diskloopLines(a.out)).toEqual(moved); // (nothing ran here meanwhile)
    // (-p: restored paused, so that it is still there for xl list however fast it would end)
    const restored = await run(t.dir, ['xl', 'restore', '-p', file]);
    expect([restored.stderr, restored.status]).toEqual([`wasmvisor: xl restore: dl restored from ${file} as d2 (paused)\n`, 0]);
    const both = await run(t.dir, ['xl', 'list']);
    expect(listNames(both.stdout)).toEqual(['Domain-0', 'dl--migratedaway', 'dl']);
    expect(both.stdout).toMatch(/\ndl--migratedaway +1 +16 +1 +--p--- [^\n]*\ndl +2 +16 +1 +--p--- /);
    // dl now names the restored domain: it is the one unpaused.
    expect(await run(t.dir, ['xl', 'unpause', 'dl'])).toEqual({ stdout: '', stderr: '', status: 0 });
    await until('the end of the restored run', () => a.err.includes('(d2): poweroff'), () => a.out.slice(-300) + a.err);
    // The paused copy goes by its name now.
    expect((await run(t.dir, ['xl', 'destroy', 'dl--migratedaway'])).status).toBe(0);
    expect((await a.exited).status).toBe(1); // (up: a domain that did not power off cleanly)
    expect(a.err).toMatch(new RegExp(`\\)\\n` +
      `wasmvisor: dl \\(d2\\): restored from ${file.replace(/[.]/g, '\\.')}\\n` +
      'wasmvisor: dl \\(d2\\): poweroff, exit code 0: destroyed\\n' +
      'wasmvisor: dl--migratedaway \\(d1\\): destroyed\\n' +
      'wasmvisor: dl--migratedaway \\(d1\\) did not power off cleanly: destroyed\\n$'));
    expect(sa.rarps().sort()).toEqual(MACS); // (the restored domain's vifs, on the source's bridge)
    // One copy ran at a time: the source's lines, the target's, the source's again are an unmigrated run's, once each.
    expect([...moved, ...diskloopLines(b.out), ...diskloopLines(a.out).slice(moved.length)]).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
  }, 300_000);

  it('COMMIT corrupted on the way: the target refuses it and drops its copy; the source renames it back, resumes it and re-announces each vif once', async () => {
    // COMMIT's checksum broken on the way: the target refuses it and its REFUSE reaches the
    // source, which so knows the target runs nothing (xl_migrate.c's "Target reports startup
    // failure"): it renames the domain back and resumes it.
    const { want, t, sa, sb, b, proxy, a } = await handover('wasmvisor-xllive-precommit-', { corrupt: (type) => type === 'C' });
    const m = await run(t.dir, ['xl', 'migrate', '--migrate-max-rounds', '2', 'dl', `127.0.0.1:${proxy.port}`]);
    expect(proxy.frames().slice(-3)).toEqual(['I', 'S', 'C (corrupt)']);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: cannot migrate dl \\(d1\\) to 127\\.0\\.0\\.1:${proxy.port}: [^\\n]*refused by the target: [^\\n]*corrupt stream[^\\n]*; it runs on here\\n$`));
    expect(m.status).toBe(1);
    // Renamed dl--migratedaway before COMMIT, back to dl after the REFUSE: running as dl.
    const list = await run(t.dir, ['xl', 'list']);
    expect(listNames(list.stdout)).toEqual(['Domain-0', 'dl']);
    expect(list.stdout).toMatch(/\ndl +1 +16 +1 +[r-][b-]---- /);
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
