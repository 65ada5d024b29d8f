/**
 * Snapshots from the command line, run as a user runs them (`node bin/wasmvisor.mjs`): `run ...
 * --save-on-exit FILE` then `run ... --restore FILE` prints exactly what the uninterrupted run
 * prints (VM and bare mode); bad snapshots and mismatched command lines are one line on stderr
 * and exit 2; a guest that exits itself is not saved; Ctrl-A S saves on a terminal and says
 * where. Needs dist/cli.mjs (`npm run build`).
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsoleMux, MUX_HELP, MUX_HELP_SAVE } from '../../host/cli/console-mux';
import { OPENSBI, oracle } from '../oracles';

const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const ECHO = join(ROOT, 'guests/bin/demo/echo.elf');
const haveOpensbi = oracle('opensbi', 'test/snapshot/cli.test.ts');
const haveScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-snap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function wasmvisor(args: string[], input = ''): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input, encoding: 'latin1', timeout: 60_000, env: { ...process.env, WASMVISOR_DEBUG: '' } });
}

/** Exactly one line on stderr, nothing on stdout, exit 2. */
function refused(r: SpawnSyncReturns<string>, line: string | RegExp): void {
  expect(r.error).toBeUndefined();
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n')).toHaveLength(2);
  if (typeof line === 'string') expect(r.stderr).toBe(line + '\n');
  else expect(r.stderr.trimEnd()).toMatch(line);
  expect(r.status).toBe(2);
}

function saveAndRestore(base: string[], at: number): void {
  const full = wasmvisor([...base]);
  expect(full.status).toBe(0);
  const f = join(dir, `s-${at}.wvsnap`);
  const a = wasmvisor([...base, '--max-instructions', String(at), '--save-on-exit', f]);
  expect(a.status).toBe(125);
  const size = statSync(f).size;
  expect(a.stderr).toContain(`wasmvisor: saved snapshot ${f} (${size} bytes)\n`);
  const b = wasmvisor([...base, '--restore', f]);
  expect([b.status, b.stderr]).toEqual([0, '']);
  expect(a.stdout + b.stdout).toBe(full.stdout);
  expect(a.stdout.length).toBeGreaterThan(0);
  expect(b.stdout.length).toBeGreaterThan(0);
}

describe('--save-on-exit and --restore', () => {
  it('VM mode: minikernel saved at --max-instructions, restored, prints exactly the uninterrupted output', () => {
    saveAndRestore(['run', KERNEL, '--deterministic'], 9_000_001);
  }, 120_000);

  it.skipIf(!haveOpensbi)('bare mode behind OpenSBI: the same', () => {
    saveAndRestore(['run', '--bare', '--bios', OPENSBI, KERNEL, '--deterministic'], 12_345_678);
  }, 120_000);

  it('a guest that exits itself is not saved (one line says so), and its exit status is kept', () => {
    const f = join(dir, 'never.wvsnap');
    const r = wasmvisor(['run', KERNEL, '--deterministic', '--save-on-exit', f]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`wasmvisor: ${f}: not saved: the guest exited (code 0)\n`);
    expect(existsSync(f)).toBe(false);
  }, 60_000);

  it('refuses in one line with exit 2: corrupt, truncated, not a snapshot, missing, other --mem, other mode', () => {
    const f = join(dir, 'good.wvsnap');
    expect(wasmvisor(['run', KERNEL, '--deterministic', '--max-instructions', '2000000', '--save-on-exit', f]).status).toBe(125);
    const good = readFileSync(f);
    const flip = Uint8Array.from(good);
    flip[good.length >> 1] ^= 1;
    const corrupt = join(dir, 'corrupt.wvsnap');
    writeFileSync(corrupt, flip);
    refused(wasmvisor(['run', KERNEL, '--restore', corrupt]), new RegExp(`^${corrupt}: checksum mismatch in section RAM at byte \\d+ \\(corrupt snapshot\\)$`));
    const cut = join(dir, 'cut.wvsnap');
    writeFileSync(cut, good.subarray(0, 1000));
    refused(wasmvisor(['run', KERNEL, '--restore', cut]), new RegExp(`^${cut}: truncated at byte 1000 \\(section HART at byte \\d+ needs \\d+ bytes\\)$`));
    const junk = join(dir, 'junk.wvsnap');
    writeFileSync(junk, 'hello, world\n');
    refused(wasmvisor(['run', KERNEL, '--restore', junk]), `${junk}: not a wasmvisor snapshot (bad magic)`);
    refused(wasmvisor(['run', KERNEL, '--restore', join(dir, 'nope.wvsnap')]), `${join(dir, 'nope.wvsnap')}: no such file`);
    refused(wasmvisor(['run', KERNEL, '-m', '64M', '--restore', f]), `${f}: snapshot does not match the command line: --mem 128M in the snapshot, --mem 64M here`);
    refused(wasmvisor(['run', '--bare', KERNEL, '--restore', f]), `${f}: snapshot does not match the command line: it is of a VM, not a bare machine`);
  }, 120_000);
});

describe('Ctrl-A S', () => {
  it('the mux calls save on s or S, and its help lists it only when saving is offered', () => {
    let saves = 0;
    const notices: string[] = [];
    const guest: number[] = [];
    const mux = new ConsoleMux({ guest: (b) => guest.push(...b), quit: () => {}, notice: (t) => notices.push(t), save: () => saves++ });
    mux.feed(Uint8Array.from([0x61, 0x01, 0x73, 0x62, 0x01, 0x53, 0x01, 0x68]));
    expect([saves, guest]).toEqual([2, [0x61, 0x62]]);
    expect(notices).toEqual([MUX_HELP + MUX_HELP_SAVE]);
    const plain: string[] = [];
    const noSave = new ConsoleMux({ guest: () => {}, quit: () => {}, notice: (t) => plain.push(t) });
    noSave.feed(Uint8Array.from([0x01, 0x73, 0x01, 0x68]));
    expect(plain).toEqual([MUX_HELP]);
  });

  it.skipIf(!haveScript)('on a terminal: saves to --snapshot-file, says so, runs on; the file restores the echo guest', async () => {
    const f = join(dir, 'typed.wvsnap');
    const cmd = `node bin/wasmvisor.mjs run --bare ${ECHO} --snapshot-file ${f}; echo "EXIT=$?"`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const waiters: { text: string; resolve: () => void }[] = [];
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      for (const w of waiters.filter((w) => out.includes(w.text))) w.resolve();
    });
    const seen = (text: string) => new Promise<void>((res, rej) => {
      if (out.includes(text)) return res();
      const t = setTimeout(() => rej(new Error(`timed out waiting for ${JSON.stringify(text)} in ${JSON.stringify(out)}`)), 30_000);
      waiters.push({ text, resolve: () => (clearTimeout(t), res()) });
    });
    const done = new Promise<number | null>((res) => child.on('close', res));
    try {
      await seen('> ');
      child.stdin.write('one\r');
      await seen('ONE');
      child.stdin.write('\x01s');
      await seen(`wasmvisor: saved snapshot ${f} (`);
      child.stdin.write('two\r'); // still running after the save
      await seen('TWO');
      child.stdin.write('\x01x');
      await seen('EXIT=');
    } finally {
      child.stdin.end();
    }
    expect(await done).toBe(0);
    expect(out).toContain('EXIT=0');
    // The snapshot was taken after ONE and before "two" was typed: restored, it reads new input.
    const r = wasmvisor(['run', '--bare', ECHO, '--restore', f], 'three\rquit\r');
    expect(r.stdout).toContain('THREE');
    expect(r.stdout).not.toContain('ONE');
    expect(r.stdout).not.toContain('wasmvisor echo: type a line');
  }, 90_000);
});
