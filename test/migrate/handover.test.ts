/**
 * COMMIT is the point of no return for a single VM too (docs/migration.md "Stream"): once the
 * source has written COMMIT, a connection that dies before the target's answer leaves the VM
 * the target's. The source never resumes it (as QEMU's source stays paused after completing);
 * it saves the stopped VM to a snapshot file and exits 1, so that a target that dropped its copy
 * loses nothing: the snapshot restored runs the rest of the guest exactly. (The guest prints its
 * result at its end, so a copy that ran prints it all; the checks are that it prints the
 * unmigrated run's text once, from exactly one side.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cuttingProxy, type ProxyFaults } from '../xen/migrate-live-helpers';
import { BIN, ROOT, start, unmigratedOutput } from './process';

// crc32 on the bare machine, interpreted: ~3 s, so the migration (at most 2 rounds) always
// reaches its stop before the guest ends (minikernel as a VM ends in ~150 ms).
const GUEST = join(ROOT, 'guests/bin/bench/crc32.elf');
const base = ['run', '--bare', GUEST, '--deterministic', '--jit', 'off'];
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-handover-'));
let reference = '';

beforeAll(() => {
  reference = unmigratedOutput(base);
  expect(reference).toBe(`crc32: 0xb7664be6\r\n`);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Target, a cuttingProxy (`cut`, `faults`: a VM's stream) in front of it and a source through it
 * with at most 2 rounds and `extra`; both processes' ends.
 */
async function handOver(cut: Parameters<typeof cuttingProxy>[1], faults: ProxyFaults, extra: string[]) {
  const port = await freePort();
  const target = start([...base, '--incoming', `tcp:127.0.0.1:${port}`]);
  await target.stderrHas(`wasmvisor: waiting for a migration on tcp:127.0.0.1:${port}\n`);
  const proxy = await cuttingProxy(port, cut, Infinity, { headerLine: false, ...faults });
  const source = start([...base, '--migrate-max-rounds', '2', ...extra, '--migrate-to', `tcp:127.0.0.1:${proxy.port}`]);
  const [s, t] = await Promise.all([source.done, target.done]);
  proxy.server.close();
  return { s, t, proxy };
}

describe('a single VM migration cut after COMMIT', () => {
  it('answer lost (the target got COMMIT and runs the VM): the source holds it, saves it and exits 1; one copy ran', async () => {
    const snap = join(dir, 'answer-lost.wvsnap');
    const { s, t, proxy } = await handOver(() => false, { cutAnswer: (type) => type === 'D' }, ['--save-on-exit', snap]);
    expect(proxy.answers()).toContain('D (cut)');
    expect(proxy.frames().slice(-2)).toEqual(['S', 'C']);
    expect(s.code, s.stderr + t.stderr).toBe(1);
    expect(s.stderr).toMatch(new RegExp(`^wasmvisor: migration to tcp:127\\.0\\.0\\.1:${proxy.port}: [^\\n]*(connection closed|connection error)[^\\n]* after COMMIT, before the target's answer; the VM is the target's: not resumed here\\n` +
      `wasmvisor: saved the VM held here in ${snap.replace(/[.\\/]/g, '\\$&')} \\(\\d+ bytes\\): --restore it only if the target does not run it\\n$`));
    expect(existsSync(snap)).toBe(true);
    // The target ran it to the end: the source's lines then the target's are the unmigrated run's.
    expect(t.code, t.stderr).toBe(0);
    expect(s.stdout + t.stdout).toBe(reference);
  }, 90_000);

  it('cut after STATE, before READY came back: no COMMIT was written, so the source resumes and runs the guest to its end', async () => {
    const snap = join(dir, 'before-ready.wvsnap');
    const { s, t, proxy } = await handOver((_, frames) => frames[frames.length - 1] === 'S', {}, ['--snapshot-file', snap]);
    expect(proxy.frames().slice(-2)).toEqual(['I', 'S']);
    expect(s.code, s.stderr + t.stderr).toBe(0);
    expect(s.stderr).toMatch(/^wasmvisor: migration to tcp:127\.0\.0\.1:\d+: [^\n]*(connection closed|connection error)[^\n]*; the VM keeps running here\n$/);
    expect(s.stdout).toBe(reference);
    expect(t.code).toBe(2);
    expect(t.stdout).toBe('');
    expect(t.stderr).toMatch(/; nothing was run\n$/);
    expect(existsSync(snap)).toBe(false);
  }, 90_000);

  it('COMMIT written but cut on its way: the target runs nothing, the source holds the guest; the saved state runs the rest exactly', async () => {
    const snap = join(dir, 'precommit.wvsnap');
    const { s, t, proxy } = await handOver(() => false, { cutBefore: (type) => type === 'C' }, ['--save-on-exit', snap]);
    expect(proxy.frames().slice(-2)).toEqual(['I', 'S']);
    expect(proxy.answers()).toEqual(['O', 'Y']); // (OK, READY)
    expect(s.code, s.stderr + t.stderr).toBe(1);
    expect(s.stderr).toMatch(/ after COMMIT, before the target's answer; the VM is the target's: not resumed here\nwasmvisor: saved the VM held here in [^\n]+\n$/);
    expect(t.code).toBe(2);
    expect(t.stdout).toBe('');
    expect(t.stderr).toMatch(/; nothing was run\n$/);
    // Nothing lost: the held state, restored, prints exactly the rest of the unmigrated run.
    const rest = spawnSync(process.execPath, [BIN, ...base, '--restore', snap], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
    expect(rest.status, rest.stderr).toBe(0);
    expect(s.stdout + rest.stdout).toBe(reference);
  }, 90_000);

  it('COMMIT corrupted on the way: the target refuses it (REFUSE reaches the source), so the source resumes and runs the guest to its end', async () => {
    const snap = join(dir, 'refused.wvsnap');
    const { s, t, proxy } = await handOver(() => false, { corrupt: (type) => type === 'C' }, ['--snapshot-file', snap]);
    expect(proxy.frames().slice(-1)).toEqual(['C (corrupt)']);
    expect(t.code).toBe(2);
    expect(t.stdout).toBe('');
    expect(t.stderr).toMatch(/: checksum mismatch in message \d+ \(COMMIT, corrupt stream\); nothing was run\n$/);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/^wasmvisor: migration to tcp:127\.0\.0\.1:\d+: refused by the target: checksum mismatch in message \d+ \(COMMIT, corrupt stream\); the VM keeps running here\n$/);
    expect(s.stdout).toBe(reference);
    expect(existsSync(snap)).toBe(false);
  }, 90_000);
});

/** A port free at the moment (the system's pick, released). */
function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => res(port));
    });
  });
}
