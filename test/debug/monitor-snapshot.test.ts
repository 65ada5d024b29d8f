/**
 * The monitor's savevm, loadvm and info snapshots over TCP (host/cli/monitor-run.ts): minikernel
 * under --deterministic, held at its entry (-S), let run in short bursts (cont, stop); saved
 * once it has printed something, run on, restored in place: what it prints after loadvm is
 * exactly what the uninterrupted run printed after the saved point. A snapshot of another
 * configuration is refused in one line and leaves the machine as it was.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENSBI, oracle } from '../oracles';
import { BIN, MINIKERNEL, ROOT, monitorCommand as command, openMonitor, requireBuild, startWasmvisor, type Running, type TcpClient } from './session';

beforeAll(requireBuild);
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-monsnap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const haveOpensbi = oracle('opensbi', 'test/debug/monitor-snapshot.test.ts');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function reference(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, 'run', ...args], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
  expect([r.status, r.stderr]).toEqual([0, '']);
  return r.stdout;
}

/** Stdout once it has not grown for 300 ms (the hart is stopped; the pipe may still hold some). */
async function settled(w: Running): Promise<number> {
  for (let n = w.stdout().length; ; ) {
    await sleep(300);
    if (w.stdout().length === n) return n;
    n = w.stdout().length;
  }
}

/** cont, stop, until stdout is longer than `than`; returns its settled length. */
async function runUntilMore(c: TcpClient, w: Running, than: number): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    expect(await command(c, 'cont')).toBe('');
    expect(await command(c, 'stop')).toBe('');
    if (w.stdout().length > than) break;
  }
  return settled(w);
}

/** savevm at a point L, run on to M > L, loadvm, cont to the end: stdout = ref[0, M) + ref[L, end). */
async function saveRunOnLoad(args: string[], name: string, file: string): Promise<void> {
  // minikernel finishes in a few hundred ms: on a loaded machine one cont/stop burst can run it to
  // its end (the monitor's connection closes; the run is then exactly the reference). Only that
  // outcome is tried again, up to 4 times; any other failure fails the test.
  let done = false;
  for (let attempt = 0; attempt < 4 && !done; attempt++) done = await saveRunOnLoadOnce(args, name, file);
  expect(done).toBe(true);
}

async function saveRunOnLoadOnce(args: string[], name: string, file: string): Promise<boolean> {
  const ref = reference(args);
  expect(ref.length).toBeGreaterThan(1000);
  const w = startWasmvisor([...args, '-S', '--monitor', 'tcp::0', '--snapshot-file', join(dir, 'ctrl-a-s.wvsnap')]);
  const c = await openMonitor(w);
  const ranToTheEnd = async (e: unknown): Promise<false> => {
    if (!/connection closed/.test(String(e)) || (await w.exit) !== 0 || w.stdout() !== ref) throw e;
    return false;
  };
  let L: number;
  try {
    L = await runUntilMore(c, w, 0);
  } catch (e) {
    return ranToTheEnd(e);
  }
  expect(await command(c, `savevm ${name}`)).toBe(`savevm: saved ${file} (${statSync(file).size} bytes)\n`);
  expect(await command(c, 'info registers')).toMatch(/^pc {7}[0-9a-f]{16}/); // still held
  let M: number;
  try {
    M = await runUntilMore(c, w, L);
  } catch (e) {
    return ranToTheEnd(e);
  }
  expect(M).toBeGreaterThan(L);
  expect(M).toBeLessThan(ref.length); // (the run went on, not to its end)
  expect(await command(c, `loadvm ${name}`)).toBe(`loadvm: restored ${file}\n`);
  expect(await command(c, 'cont')).toBe('');
  expect(await w.exit).toBe(0);
  expect(w.stdout()).toBe(ref.slice(0, M) + ref.slice(L));
  expect(L).toBeGreaterThan(0);
  return true;
}

describe('monitor savevm / loadvm (--deterministic)', () => {
  it('VM mode, a tag (TAG.wvsnap in the --snapshot-file directory): output continues from the saved point exactly', async () => {
    await saveRunOnLoad([MINIKERNEL, '--deterministic'], 'mid-run', join(dir, 'mid-run.wvsnap'));
  }, 90_000);

  it.skipIf(!haveOpensbi)('bare machine behind OpenSBI, a file path: the same', async () => {
    await saveRunOnLoad(['--bare', '--bios', OPENSBI, MINIKERNEL, '--deterministic'], join(dir, 'bare.snap'), join(dir, 'bare.snap'));
  }, 90_000);

  it('info snapshots lists the tags; loadvm refuses a missing file and another configuration in one line, and the run goes on', async () => {
    const other = join(dir, 'mem64.wvsnap');
    const s = spawnSync(process.execPath, [BIN, 'run', MINIKERNEL, '--mem', '64M', '--max-instructions', '100000', '--save-on-exit', other], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
    expect(s.status).toBe(125);
    const ref = reference([MINIKERNEL, '--deterministic']);
    const w = startWasmvisor([MINIKERNEL, '--deterministic', '-S', '--monitor', 'tcp::0', '--snapshot-file', join(dir, 'x.wvsnap')]);
    const c = await openMonitor(w);
    expect(await command(c, 'savevm at-entry')).toMatch(/^savevm: saved .*at-entry\.wvsnap \(\d+ bytes\)\n$/);
    const list = (await command(c, 'info snapshots')).split('\n');
    expect(list[0]).toBe('TAG                  SIZE        DATE (UTC)');
    const row = (tag: string) => new RegExp(`^${tag} +${statSync(join(dir, `${tag}.wvsnap`)).size} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$`);
    expect(list.find((l) => l.startsWith('at-entry '))).toMatch(row('at-entry'));
    expect(list.find((l) => l.startsWith('mem64 '))).toMatch(row('mem64'));
    expect(await command(c, 'loadvm nothere')).toBe(`${join(dir, 'nothere.wvsnap')}: no such file\n`);
    expect(await command(c, 'loadvm mem64')).toBe(`${other}: snapshot does not match the command line: --mem 64M in the snapshot, --mem 128M here\n`);
    expect(await command(c, 'savevm')).toBe('savevm: expected one NAME (a file, or a tag for TAG.wvsnap), e.g. savevm before-boot\n');
    expect(await command(c, `savevm ${join(dir, 'no-such-dir', 'f.wvsnap')}`)).toMatch(/no-such-dir\/f\.wvsnap: cannot write the snapshot \(ENOENT\)\n$/);
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
    // The refusals changed nothing: the run from the entry prints the reference.
    expect(await command(c, 'cont')).toBe('');
    expect(await w.exit).toBe(0);
    expect(w.stdout()).toBe(ref);
  }, 90_000);

  it('--monitor stdio: savevm held at the entry runs before the end of input quits; --restore of that file prints the whole run', () => {
    const file = join(dir, 'stdio.wvsnap');
    const r = spawnSync(process.execPath, [BIN, 'run', MINIKERNEL, '--deterministic', '-S', '--monitor', 'stdio'], { cwd: ROOT, input: `savevm ${file}\n`, encoding: 'latin1', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`(wasmvisor) savevm: saved ${file} (${statSync(file).size} bytes)\r\n(wasmvisor) `);
    const b = spawnSync(process.execPath, [BIN, 'run', MINIKERNEL, '--deterministic', '--restore', file], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
    expect([b.status, b.stderr]).toEqual([0, '']);
    expect(b.stdout).toBe(reference([MINIKERNEL, '--deterministic']));
  }, 90_000);
});
