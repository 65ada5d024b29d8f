/**
 * Migrating a VM that is not running (issue 14; docs/migration.md "A paused VM"), as QEMU
 * migrates a paused guest: the stream carries the run state (RUNSTATE), the target keeps the VM
 * paused and says so in `info status`, and `cont` on its monitor runs it on to exactly the
 * output of an unmigrated run. minikernel under --deterministic, started with -S or stopped from
 * the monitor; with -S nothing runs before the migration, so that case has no race with the
 * guest's end (a ~150 ms guest outran its migration on a loaded machine in live.test.ts). Also a
 * running VM to a target started with -S (paused there, as QEMU's target without autostart),
 * and a target without a monitor, which refuses a paused VM.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { oracle } from '../oracles';
import { monitorCommand, openMonitor, startWasmvisor } from '../debug/session';
import { ROOT, start, unmigratedOutput, type Done } from './process';

const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const base = ['run', KERNEL, '--deterministic'];
const haveOpensbi = oracle('opensbi', 'test/migrate/paused.test.ts');
let nextPort = 21000 + (process.pid % 20000);
let reference = '';

beforeAll(() => {
  reference = unmigratedOutput(base);
  expect(reference).toContain('minikernel: shutdown');
}, 60_000);

type Proc = ReturnType<typeof start>;
/** A line on the process's stdin monitor. */
const say = (p: Proc, line: string) => void p.child.stdin!.write(line + '\n');
/**
 * The stderr lines, without the target's "waiting" line and the monitor's prompts; the monitor's
 * answers end in \r\n on stdio (monitor-io.ts), other lines in \n: both are checked here.
 */
const lines = (d: Done) => d.stderr.replaceAll('(wasmvisor) ', '').split('\n').filter((l) => l !== '' && !l.startsWith('wasmvisor: waiting for a migration'))
  .map((l) => (l.startsWith('VM status: ') ? (l.endsWith('\r') ? l.slice(0, -1) : `${l} (no \\r)`) : l));
/** Kill both if the test hangs: its failure then shows their stderr rather than a timeout. */
function watchdog(...ps: Proc[]): () => void {
  const t = setTimeout(() => ps.forEach((p) => p.child.kill()), 45_000);
  return () => clearTimeout(t);
}

/** A target with a stdio monitor on a fresh port, once it listens. */
async function target(extra: string[] = []): Promise<{ t: Proc; port: number }> {
  const port = nextPort++;
  const t = start([...base, ...extra, '--incoming', `tcp:127.0.0.1:${port}`]);
  await t.stderrHas(`wasmvisor: waiting for a migration on tcp:127.0.0.1:${port}\n`);
  return { t, port };
}

/** The target said it holds the VM in `state` (its monitor's words), answers `info status` so, then runs it on `cont`. */
async function contOnTarget(t: Proc, state: string, mode = 'precopy'): Promise<Done> {
  const paused = state === 'paused' ? 'paused' : `paused (${state})`;
  await t.stderrHas(`; ${paused}: cont on the monitor runs it\n`);
  say(t, 'info status');
  await t.stderrHas(`VM status: ${paused}\r\n`);
  say(t, 'cont');
  const d = await t.done;
  const got = lines(d);
  expect(got[0]).toMatch(mode === 'precopy'
    ? new RegExp(`^wasmvisor: migrated in from 127\\.0\\.0\\.1:\\d+ \\(\\d+ pages, \\d+ bytes\\); ${paused.replace(/[()]/g, '\\$&')}: cont on the monitor runs it$`)
    : new RegExp(`^wasmvisor: migrated in from 127\\.0\\.0\\.1:\\d+ \\(${mode}: 0 pages here, \\d+ to come, \\d+ bytes\\); ${paused.replace(/[()]/g, '\\$&')}: cont on the monitor runs it$`));
  // (post-copy: the pages come while it is paused; their line may come before or after the answer)
  const complete = got.filter((l) => l.startsWith('wasmvisor: post-copy complete: '));
  expect(complete).toHaveLength(mode === 'precopy' ? 0 : 1);
  expect(got.slice(1).filter((l) => !complete.includes(l))).toEqual([`VM status: ${paused}`]);
  return d;
}

/**
 * Start the running guest, send `commands` to its monitor once its first output arrives (the
 * last one a migrate to the target, started with `targetArgs`), and wait for the source to end.
 * On a loaded machine the ~150 ms guest can end first: only that outcome (the source ran it
 * all, the target got nothing) is tried again, up to 6 times.
 */
async function migrateMidRun(targetArgs: string[], commands: (port: number) => string[]): Promise<{ sd: Done; t: Proc; done: () => void }> {
  for (let attempt = 1; ; attempt++) {
    const { t, port } = await target(targetArgs);
    const s = start([...base, '--monitor', 'stdio']);
    const done = watchdog(s, t);
    await new Promise<void>((r) => s.child.stdout!.once('data', () => r()));
    for (const c of commands(port)) say(s, c);
    const sd = await s.done;
    if (sd.stdout !== reference || attempt >= 6) return { sd, t, done };
    t.child.kill();
    await t.done;
    done();
  }
}

describe.skipIf(!haveOpensbi)('migrating a paused VM', () => {
  it('-S: pre-copy converges in one round, the target stays paused (prelaunch) until cont, then runs to the unmigrated output', async () => {
    const { t, port } = await target(['--monitor', 'stdio']);
    const s = start([...base, '-S', '--monitor', 'stdio', '--migrate-to', `tcp:127.0.0.1:${port}`]);
    const done = watchdog(s, t);
    say(s, 'info status');
    const [sd, td] = await Promise.all([s.done, contOnTarget(t, 'prelaunch')]);
    done();
    expect([sd.code, td.code], sd.stderr + td.stderr).toEqual([0, 0]);
    expect(sd.stdout).toBe('');
    expect(td.stdout).toBe(reference);
    // One round of every page; nothing dirtied, so stop-and-copy sends none.
    expect(sd.stderr).toMatch(/^\(wasmvisor\) VM status: paused \(prelaunch\)\r\n\(wasmvisor\) wasmvisor: migrated to tcp:127\.0\.0\.1:\d+ \(precopy\): total [\d.]+ ms, downtime [\d.]+ ms, 2 rounds \(pages [1-9][\d,]*, stop-and-copy 0\), 0 pages fetched on demand, [\d,]+ bytes sent\n$/);
  }, 60_000);

  it('a target\'s TCP monitor: paused (inmigrate) while it waits, paused (prelaunch) once a -S VM came; cont runs it to the unmigrated output', async () => {
    const port = nextPort++;
    const t = startWasmvisor([KERNEL, '--deterministic', '--monitor', 'tcp:127.0.0.1:0', '--incoming', `tcp:127.0.0.1:${port}`]);
    const c = await openMonitor(t);
    for (let i = 0; i < 600 && !t.stderr().includes('waiting for a migration'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await monitorCommand(c, 'info status')).toBe('VM status: paused (inmigrate)\n');
    // (a stop now answers at once and changes nothing visible: the VM comes paused anyway)
    expect(await monitorCommand(c, 'stop')).toBe('');
    expect(await monitorCommand(c, 'info status')).toBe('VM status: paused (inmigrate)\n');
    const s = start([...base, '-S', '--monitor', 'stdio', '--migrate-to', `tcp:127.0.0.1:${port}`]);
    const done = watchdog(s);
    for (let i = 0; i < 600 && !t.stderr().includes('cont on the monitor runs it'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await monitorCommand(c, 'info status')).toBe('VM status: paused (prelaunch)\n');
    expect(await monitorCommand(c, 'cont')).toBe('');
    const [sd, code] = await Promise.all([s.done, t.exit]);
    done();
    expect([sd.code, code]).toEqual([0, 0]);
    expect(t.stdout()).toBe(reference);
    expect(t.stderr()).toMatch(/^wasmvisor: monitor listening on 127\.0\.0\.1:\d+\nwasmvisor: waiting for a migration on tcp:127\.0\.0\.1:\d+\nwasmvisor: migrated in from 127\.0\.0\.1:\d+ \(\d+ pages, \d+ bytes\); paused \(prelaunch\): cont on the monitor runs it\n$/);
  }, 60_000);

  it('-S with post-copy: the target stays paused while the pages come, and cont runs it to the unmigrated output', async () => {
    const { t, port } = await target(['--monitor', 'stdio']);
    const s = start([...base, '-S', '--monitor', 'stdio', '--migrate-mode', 'postcopy', '--migrate-to', `tcp:127.0.0.1:${port}`]);
    const done = watchdog(s, t);
    const [sd, td] = await Promise.all([s.done, contOnTarget(t, 'prelaunch', 'postcopy')]);
    done();
    expect([sd.code, td.code], sd.stderr + td.stderr).toEqual([0, 0]);
    expect(sd.stdout).toBe('');
    expect(td.stdout).toBe(reference);
    expect(sd.stderr).toMatch(/^\(wasmvisor\) wasmvisor: migrated to tcp:127\.0\.0\.1:\d+ \(postcopy\): total [\d.]+ ms, downtime [\d.]+ ms, 1 rounds \(pages post-copy [1-9][\d,]*\), \d+ pages fetched on demand, [\d,]+ bytes sent\n$/);
  }, 60_000);

  it('a target without a monitor refuses a paused VM with one line; the source keeps it paused, and cont runs it there', async () => {
    const { t, port } = await target();
    const s = start([...base, '-S', '--monitor', 'stdio', '--migrate-to', `tcp:127.0.0.1:${port}`]);
    const done = watchdog(s, t);
    const why = 'the source VM is paused (prelaunch) and this target has no monitor to continue it: add --monitor (or -s, --gdb)';
    const td = await t.done;
    expect(td.code).toBe(2);
    expect(td.stdout).toBe('');
    expect(lines(td)).toEqual([`wasmvisor: incoming migration on tcp:127.0.0.1:${port}: ${why}`]);
    await s.stderrHas('the VM stays here, paused\n');
    say(s, 'info status');
    await s.stderrHas('VM status: paused (prelaunch)\r\n');
    say(s, 'cont');
    const sd = await s.done;
    done();
    expect(sd.code).toBe(0);
    expect(sd.stdout).toBe(reference);
    expect(lines(sd)).toEqual([`wasmvisor: migration to tcp:127.0.0.1:${port}: refused by the target: ${why}; the VM stays here, paused`, 'VM status: paused (prelaunch)']);
  }, 60_000);

  it('a running VM to a target started with -S: paused there (QEMU\'s autostart off) until cont, which finishes the run', async () => {
    // Live pre-copy of the running ~150 ms guest.
    const { sd, t, done } = await migrateMidRun(['-S', '--monitor', 'stdio'], (port) => [`migrate tcp:127.0.0.1:${port}`]);
    const td = await contOnTarget(t, 'paused');
    done();
    expect([sd.code, td.code], sd.stderr + td.stderr).toEqual([0, 0]);
    expect(sd.stdout + td.stdout).toBe(reference);
    expect(sd.stderr).toMatch(/^\(wasmvisor\) \(wasmvisor\) wasmvisor: migrated to tcp:127\.0\.0\.1:\d+ \(precopy\): [^\n]+\n$/);
  }, 300_000);

  it('stopped from the monitor mid-run, migrated with the monitor\'s migrate: paused on the target, cont finishes the run', async () => {
    // The stop is sent when the guest's first output arrives.
    const { sd, t, done } = await migrateMidRun(['--monitor', 'stdio'], (port) => ['stop', 'info status', `migrate tcp:127.0.0.1:${port}`]);
    const td = await contOnTarget(t, 'paused');
    done();
    expect([sd.code, td.code], sd.stderr + td.stderr).toEqual([0, 0]);
    expect(sd.stdout.length).toBeGreaterThan(0);
    expect(sd.stdout + td.stdout).toBe(reference);
    expect(sd.stderr).toMatch(/^\(wasmvisor\) \(wasmvisor\) VM status: paused\r\n\(wasmvisor\) \(wasmvisor\) wasmvisor: migrated to tcp:127\.0\.0\.1:\d+ \(precopy\): total [\d.]+ ms, downtime [\d.]+ ms, 2 rounds \(pages [1-9][\d,]*, stop-and-copy 0\), 0 pages fetched on demand, [\d,]+ bytes sent\n$/);
  }, 300_000);
});
