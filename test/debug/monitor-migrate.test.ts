/**
 * The monitor's migrate and info migrate over TCP (host/cli/monitor-run.ts, which drives
 * host/migrate/source.ts): minikernel under --deterministic, let run until it has printed
 * something, then migrated to a `wasmvisor run ... --incoming` process: the source exits 0 with
 * the migration's summary, and the target prints the rest, so that the two outputs make the
 * uninterrupted run's. A VM migrated while it runs; a bare machine while the monitor holds it:
 * it comes paused, as QEMU's, and the target's monitor runs it on (cont).
 */
import { spawn, spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPENSBI, oracle } from '../oracles';
import { BIN, MINIKERNEL, ROOT, monitorCommand as command, openMonitor, requireBuild, startWasmvisor } from './session';

beforeAll(requireBuild);
const haveOpensbi = oracle('opensbi', 'test/debug/monitor-migrate.test.ts');
let nextPort = 20000 + ((process.pid * 7) % 20000);

function reference(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, 'run', ...args], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
  expect([r.status, r.stderr]).toEqual([0, '']);
  return r.stdout;
}

/** `wasmvisor run ARGS --incoming tcp:127.0.0.1:PORT`, once it waits. */
async function target(args: string[], port: number) {
  const child = spawn(process.execPath, [BIN, 'run', ...args, '--incoming', `tcp:127.0.0.1:${port}`], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('latin1').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('latin1').on('data', (d: string) => (stderr += d));
  const done = new Promise<number | null>((r) => child.on('close', r));
  const waiting = `wasmvisor: waiting for a migration on tcp:127.0.0.1:${port}\n`;
  for (let i = 0; i < 600 && !stderr.includes(waiting); i++) await new Promise((r) => setTimeout(r, 50));
  expect(stderr).toBe(waiting);
  const watchdog = setTimeout(() => child.kill(), 60_000);
  return { child, done: done.finally(() => clearTimeout(watchdog)), stdout: () => stdout, stderr: () => stderr };
}

async function migrateFromMonitor(args: string[], live: boolean): Promise<boolean> {
  const ref = reference(args);
  const port = nextPort++;
  // (a VM held by the monitor at the stop comes paused: the target needs a monitor to cont it, as
  // QEMU's; live, the stop can come before the cont below: round 1 of a held VM leaves nothing dirty)
  const t = await target([...args, '--monitor', 'stdio'], port);
  const paused = /\nwasmvisor: migrated in from 127\.0\.0\.1:\d+ \(\d+ pages, \d+ bytes\); paused: cont on the monitor runs it\n/;
  // (Live: at most 2 pre-copy rounds, so that the hand-over comes well before minikernel's end.)
  const s = startWasmvisor([...args, '-S', '--monitor', 'tcp::0', ...(live ? ['--migrate-max-rounds', '2'] : [])]);
  const c = await openMonitor(s);
  expect(await command(c, 'info migrate')).toBe(''); // (none yet, as QEMU's)
  // A bad address and a refused connection: one line each; the machine stays here.
  expect(await command(c, 'migrate 127.0.0.1:1')).toBe("migrate: '127.0.0.1:1' is not tcp:HOST:PORT (e.g. tcp:127.0.0.1:4444)\n");
  const refused = nextPort++; // (nobody listens there)
  expect(await command(c, `migrate tcp:127.0.0.1:${refused}`)).toBe('');
  let info = '';
  for (let i = 0; i < 200 && !info.startsWith('Migration status: failed'); i++) info = await command(c, 'info migrate');
  expect(info).toBe(`Migration status: failed (cannot connect (ECONNREFUSED))\ndestination: tcp:127.0.0.1:${refused}\ntotal time: ${/total time: (\d+) ms/.exec(info)?.[1]} ms\nrounds: 0\ntransferred ram: 0 kbytes\npages sent: 0\ndirty pages rate: 0 pages\n`);
  const line = `wasmvisor: migration to tcp:127.0.0.1:${refused}: cannot connect (ECONNREFUSED); the VM stays here, paused\n`; // (-S: held)
  for (let i = 0; i < 100 && !s.stderr().includes(line); i++) await new Promise((r) => setTimeout(r, 50)); // (the pipe may lag the monitor's answer)
  expect(s.stderr()).toContain(line);
  // Run until it has printed something, then migrate (running, or held by the monitor).
  for (let i = 0; i < 2000 && s.stdout().length === 0; i++) {
    expect(await command(c, 'cont')).toBe('');
    expect(await command(c, 'stop')).toBe('');
  }
  expect(s.stdout().length).toBeGreaterThan(0);
  // Live: migrate answers at once, then cont lets the guest run through the later pre-copy rounds.
  // (Sent in that order: minikernel finishes in a few hundred ms, and a guest let run first
  // could end before the first round.)
  if (live) {
    expect(await command(c, `migrate -d tcp:127.0.0.1:${port}`)).toBe('');
    // The guest is let run once round 1 has begun to send (the target prepares its restore
    // before it answers, and minikernel as a VM is done in ~150 ms): the rest of the rounds and
    // the stop-and-copy run while it does.
    let st = '';
    for (let i = 0; i < 2000 && !/^pages sent: [1-9]/m.test(st) && !/^Migration status: (failed|completed)/.test(st); i++) st = await command(c, 'info migrate');
    expect(st).toMatch(/^Migration status: (active|device)\n/);
    c.send('cont\r\n');
  } else {
    c.send(`migrate -d tcp:127.0.0.1:${port}\r\n`);
    // Paused on the target (as at the source) until its monitor's cont.
    for (let i = 0; i < 1200 && !paused.test(t.stderr()) && t.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(t.stderr()).toMatch(paused);
    t.child.stdin.write('info status\ncont\n');
  }
  // (live: cont the target if the stop came while the source was still held)
  const poll = live ? setInterval(() => { if (paused.test(t.stderr())) { clearInterval(poll); t.child.stdin.write('cont\n'); } }, 50) : undefined;
  const [sc, tc] = await Promise.all([s.exit, t.done]);
  clearInterval(poll);
  // minikernel finishes in a few hundred ms: a loaded machine can let it end during pre-copy.
  // That is the source's documented outcome (the run ended first; the target ran nothing), and
  // the caller tries again; anything else must be the hand-over.
  if (live && s.stderr().includes('abandoned: the run ended first')) {
    expect([sc, tc, s.stdout()]).toEqual([0, 2, ref]);
    expect(t.stdout()).toBe('');
    return false;
  }
  expect([sc, tc], s.stderr() + t.stderr()).toEqual([0, 0]);
  expect(s.stdout() + t.stdout()).toBe(ref);
  expect(t.stdout().length).toBeGreaterThan(0);
  expect(s.stderr()).toMatch(new RegExp(`wasmvisor: migrated to tcp:127\\.0\\.0\\.1:${port} \\(precopy\\): total [\\d.]+ ms, downtime [\\d.]+ ms, \\d+ rounds \\(pages [\\d,]+(, [\\d,]+)*, stop-and-copy [\\d,]+\\), 0 pages fetched on demand, [\\d,]+ bytes sent\\n$`));
  expect(t.stderr()).toMatch(live
    ? /\nwasmvisor: migrated in from 127\.0\.0\.1:\d+ \(\d+ pages, \d+ bytes\); (running\n\(wasmvisor\) |paused: cont on the monitor runs it\n\(wasmvisor\) \(wasmvisor\) )$/
    : /\nwasmvisor: migrated in from 127\.0\.0\.1:\d+ \(\d+ pages, \d+ bytes\); paused: cont on the monitor runs it\n\(wasmvisor\) VM status: paused\r\n\(wasmvisor\) \(wasmvisor\) $/);
  return true;
}

describe('monitor migrate (pre-copy, --deterministic)', () => {
  it('VM mode, running: the target prints the rest of the output', async () => {
    let handedOver = false;
    for (let attempt = 0; attempt < 4 && !handedOver; attempt++) handedOver = await migrateFromMonitor([MINIKERNEL, '--deterministic'], true);
    expect(handedOver).toBe(true);
  }, 120_000);

  it.skipIf(!haveOpensbi)('bare machine behind OpenSBI, held by the monitor (stop): the same', async () => {
    await migrateFromMonitor(['--bare', '--bios', OPENSBI, MINIKERNEL, '--deterministic'], false);
  }, 120_000);
});
