/**
 * `xl migrate` of a DomU with a vif between two Dom0 processes whose bridges are joined by an
 * uplink (HOST.cfg uplinks=, UDP on 127.0.0.1): the answering pingloop domain
 * (guests/xen/pingloop.c) moves from Dom0 A to Dom0 B (`up --incoming`) while its peer, the
 * pinger, pings it from B (before the move the pings cross the uplink, after it they stay in B:
 * B's bridge must learn from the restored vif's RARP announce that the MAC is no longer behind
 * its uplink) or from A (the other way round: A's bridge learns it from the announce, which
 * crossed the uplink; B has no domain of its own). Wall-clock time (no --deterministic: the
 * downtime is real).
 *
 * The bound on lost replies: the pinger has one request outstanding at a time and gives each
 * WAIT = 1 s. A request is lost only if it reaches A's copy after the save or finds no vif for
 * the MAC: while the domain moves, an interval inside the downtime D that xl migrate reports
 * (from before the save to the target's answer, which comes after the restore and the
 * announce). The requests lost are the one outstanding when the outage began and those sent
 * during it, WAIT apart: at most ceil(D / WAIT) + 1. And every lost request is in one run of
 * consecutive sequence numbers (one outage), with replies before and after it.
 *
 * Fault: a target that refuses the domain (it already has one of that name) leaves it running on
 * A, reachable through the uplink: the pings go on, answered from A, and A's domain is the one
 * that answers the stop. In the long suite (vitest.config.ts).
 */
import { rmSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ROOT, run, until } from './save-helpers';
import { dom0Dir, domainLines, freeUdpPorts, killTyped, replies, startTyped, tempDir } from './vif-helpers';

afterEach(killTyped);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const WAIT_MS = 1000;
const ANS = { name: 'ans', cmdline: 'answer', mac: '00:16:3e:00:00:01', ip: '10.0.0.1' };
const PINGER = { name: 'pinger', cmdline: 'ping', mac: '00:16:3e:00:00:02', ip: '10.0.0.2' };

type Dom = { name: string; cmdline: string; mac: string; ip: string; kernel?: string };

/**
 * Dom0 A (the answering domain; the pinger too if `pingerOn` is A) and Dom0 B (listening for xl
 * migrate; the pinger if `pingerOn` is B, and `bExtra`), their bridges joined by an uplink.
 * Resolves once the pinger has 100 replies. `P` is the pinger's Dom0 (typed 'q' stops it).
 */
async function joined(prefix: string, pingerOn: 'A' | 'B', bExtra: Dom[] = []) {
  const tmp = tempDir(prefix);
  dirs.push(tmp);
  const [pa, pb] = await freeUdpPorts();
  const a = dom0Dir(tmp, 'a', pingerOn === 'A' ? [PINGER, ANS] : [ANS], [`bridge=xenbr0, local=127.0.0.1:${pa}, remote=127.0.0.1:${pb}`]);
  const b = dom0Dir(tmp, 'b', pingerOn === 'B' ? [PINGER, ...bExtra] : bExtra, [`local=127.0.0.1:${pb}, remote=127.0.0.1:${pa}`]);
  const A = startTyped(a.dir, a.rt, ['up', a.host, '--timeout', '240']);
  const B = startTyped(b.dir, b.rt, ['up', b.host, '--incoming', 'tcp:127.0.0.1:0', '--timeout', '240']);
  const alive = () => {
    if (A.child.exitCode !== null || B.child.exitCode !== null) throw new Error(`a Dom0 exited: ${A.err}${B.err}`);
    return true;
  };
  await until('B to listen', () => alive() && /waiting for xl migrate on tcp:127\.0\.0\.1:(\d+)\n/.test(B.err), () => B.err);
  const port = Number(/tcp:127\.0\.0\.1:(\d+)\n/.exec(B.err)![1]);
  const P = pingerOn === 'A' ? A : B;
  await until('100 replies', () => alive() && replies(P.out) >= 100, () => B.out + B.err + A.out + A.err);
  return { a, b, A, B, P, port };
}

/** The pinger's last line: requests, replies, lost, late. */
function summary(lines: string[]): { requests: number; replies: number; lost: number; late: number } {
  const m = /^pingloop: (\d+) requests, (\d+) replies, (\d+) lost, (\d+) late$/.exec(lines.at(-1) ?? '');
  expect(m, lines.slice(-3).join('\n')).not.toBeNull();
  return { requests: Number(m![1]), replies: Number(m![2]), lost: Number(m![3]), late: Number(m![4]) };
}

/** The sequence numbers the pinger reported lost. */
function lostSeqs(lines: string[]): number[] {
  return lines.flatMap((l) => /^pingloop: seq (\d+) lost$/.exec(l)?.[1] ?? []).map(Number);
}

describe('xl migrate of a DomU with a vif between two joined Dom0s (built CLI)', () => {
  // B: before, the pings cross the uplink; after, they stay in B (B's bridge must learn from
  // the announce that the MAC left its uplink). A: before, they stay in A; after, they cross
  // the uplink (A's bridge learns from the announce, which came over the uplink).
  it.each(['B', 'A'] as const)('the peer (on Dom0 %s) keeps getting replies; lost ones are bounded by the downtime', async (pingerOn) => {
    const { a, A, B, P, port } = await joined('wasmvisor-vifmig-', pingerOn);
    const ansA = pingerOn === 'A' ? 2 : 1; // its domids on A and B
    const ansB = pingerOn === 'B' ? 2 : 1;
    const before = replies(P.out);
    const m = await run(a.rt, ['xl', 'migrate', 'ans', `127.0.0.1:${port}`]);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: ans \\(d${ansA}\\) migrated to 127\\.0\\.0\\.1:${port} \\(precopy: total \\d+ ms, downtime \\d+ ms, \\d+ rounds \\(pages \\d+, stop-and-copy \\d+\\), 0 pages fetched on demand, [\\d,]+ bytes sent\\)\\n$`));
    expect(m.status).toBe(0);
    const downtimeMs = Number(/downtime (\d+) ms/.exec(m.stderr)![1]);
    // The replies go on, from B. The outage ended before the command returned, with fewer
    // than `after` + 100 replies (progress lines come every 100): 300 more make 200 after it.
    const after = replies(P.out);
    await until('200 replies after the migration', () => replies(P.out) >= after + 300, () => P.out + B.err + A.err);
    P.type('q');
    const [ea, eb] = await Promise.all([A.exited, B.exited]);
    expect([ea.status, eb.status]).toEqual([0, 0]);
    const pingerEnd = 'wasmvisor: pinger \\(d1\\): poweroff, exit code 0: destroyed\\n';
    expect(A.err).toMatch(new RegExp(`^wasmvisor: migrated to tcp:127\\.0\\.0\\.1:${port} \\(precopy\\): [^\\n]+\\nwasmvisor: ans \\(d${ansA}\\): migrated to 127\\.0\\.0\\.1:${port}: destroyed\\n${pingerOn === 'A' ? pingerEnd : ''}$`));
    expect(B.err).toMatch(new RegExp(`^wasmvisor: waiting for xl migrate on tcp:127\\.0\\.0\\.1:${port}\\n` +
      `wasmvisor: ans \\(d${ansB}\\): migrated in from 127\\.0\\.0\\.1:\\d+\\n` +
      `wasmvisor: ans \\(d${ansB}\\): poweroff, exit code 0: destroyed\\n${pingerOn === 'B' ? pingerEnd : ''}$`));
    // The answering domain started on A and ended on B.
    expect(domainLines(A.out, 'ans')).toEqual(['pingloop: answer, mac 00:16:3e:00:00:01, ip 10.0.0.1, peer 10.0.0.2']);
    const endB = domainLines(B.out, 'ans');
    expect(endB).toHaveLength(1);
    const answered = Number(/^pingloop: answered (\d+) echo requests$/.exec(endB[0])![1]);

    const lines = domainLines(P.out, 'pinger');
    const s = summary(lines);
    const lost = lostSeqs(lines);
    expect(s.requests).toBe(s.replies + s.lost);
    expect(lost).toHaveLength(s.lost);
    expect(s.lost).toBeLessThanOrEqual(Math.ceil(downtimeMs / WAIT_MS) + 1);
    // One outage: consecutive sequence numbers, with replies before and after it.
    lost.forEach((q, i) => expect(q).toBe(lost[0] + i));
    if (lost.length > 0) {
      expect(lost[0]).toBeGreaterThan(before);
      expect(lost.at(-1)!).toBeLessThanOrEqual(s.requests - 200);
    }
    expect(s.replies).toBeGreaterThanOrEqual(after + 300);
    // Each reply was an answer; requests lost on their way were not answered; +1: the stop.
    expect(answered).toBeGreaterThanOrEqual(s.replies + 1);
    expect(answered).toBeLessThanOrEqual(s.requests + 1);
  }, 300_000);

  it('a migration the target refuses leaves the domain running on the source, reachable across the uplink', async () => {
    // B already runs a domain named ans (conecho, no vif): it refuses ours.
    const other = { name: 'ans', cmdline: '', mac: '', ip: '', kernel: `${ROOT}/guests/bin/xen/conecho.elf` };
    const { a, A, B, port } = await joined('wasmvisor-vifmig-fail-', 'B', [other]);
    const before = replies(B.out);
    const t0 = performance.now();
    const m = await run(a.rt, ['xl', 'migrate', 'ans', `127.0.0.1:${port}`]);
    const attemptMs = performance.now() - t0;
    expect(m.status).toBe(1);
    expect(m.stderr).toMatch(new RegExp(`^wasmvisor: xl migrate: cannot migrate ans \\(d1\\) to 127\\.0\\.0\\.1:${port}: refused by the target: migration from 127\\.0\\.0\\.1:\\d+: a domain named 'ans' already exists here; it runs on here\\n$`));
    await until('200 replies after the refusal', () => replies(B.out) >= before + 300, () => B.out + B.err);
    B.type('q');
    const ea = await A.exited;
    expect(ea.status).toBe(0);
    expect(A.err).toMatch(new RegExp(`^wasmvisor: xl migrate: domain 'ans' keeps running here: migration to tcp:127\\.0\\.0\\.1:${port}: refused by the target: migration from 127\\.0\\.0\\.1:\\d+: a domain named 'ans' already exists here\n` +
      'wasmvisor: ans \\(d1\\): poweroff, exit code 0: destroyed\n$'));
    // It answered the stop on A: its whole console is there.
    const ansA = domainLines(A.out, 'ans');
    expect(ansA[0]).toBe('pingloop: answer, mac 00:16:3e:00:00:01, ip 10.0.0.1, peer 10.0.0.2');
    expect(ansA[1]).toMatch(/^pingloop: answered \d+ echo requests$/);
    await until('the pinger\'s summary', () => / requests, \d+ replies, \d+ lost, \d+ late/.test(B.out), () => B.out + B.err);
    B.child.kill('SIGTERM'); // its conecho 'ans' never ends
    await B.exited;
    const lines = domainLines(B.out, 'pinger');
    const s = summary(lines);
    expect(s.requests).toBe(s.replies + s.lost);
    // Nothing was lost on the way: while the domain was paused for the attempt, requests waited
    // in its rx ring. A reply later than WAIT (a pause longer than 1 s on a loaded host) counts
    // as lost: at most one per WAIT of the attempt, plus the one outstanding.
    expect(s.lost).toBeLessThanOrEqual(Math.ceil(attemptMs / WAIT_MS) + 1);
    expect(s.replies).toBeGreaterThanOrEqual(before + 300);
  }, 300_000);
});
