// Which of Node's built-in modules a run loads (issue 16, start-up): scripts/build.mjs's
// lazyBuiltins load node:net, node:os and node:v8 on first use, so a bare machine that compiles
// nothing loads none of them (node:v8 and the stream modules it pulls in are 11.5 M instructions
// of a start), while a VM, which sets a V8 flag when it is created (host/vmm/compile-tasks.ts),
// and a JIT compile (host/machine/jit-tiering.ts) load node:v8.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { trivialElf } from '../../bench/trivial-elf';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/wasmvisor.cjs');
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-modules-'));
const TRIVIAL = join(dir, 'trivial.elf');
writeFileSync(TRIVIAL, trivialElf());
const CRC32 = join(ROOT, 'guests/bin/bench/crc32.elf');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The public built-in modules (`NativeModule x`, no internal/) loaded by a run of the CLI with `args`. */
function modulesOf(args: string[]): string[] {
  const list = join(dir, 'modules.txt');
  const preload = join(dir, 'record.cjs');
  writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
  const r = spawnSync(process.execPath, ['-r', preload, BIN, ...args], { cwd: ROOT, encoding: 'latin1', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  expect([r.status, r.stderr]).toEqual([0, '']);
  return readFileSync(list, 'latin1').split('\n').filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice(13));
}

describe('built-in modules loaded at start', () => {
  it('a bare machine that compiles nothing loads neither node:v8 nor node:net nor node:os', () => {
    const mods = modulesOf(['run', '--bare', '--jit', 'off', TRIVIAL]);
    expect(mods).toContain('vm'); // (the shim's own: the sign that the list is the run's)
    expect(mods.filter((m) => ['v8', 'net', 'os', 'stream'].includes(m))).toEqual([]);
  }, 60_000);

  it('a VM loads node:v8 (it sets --wasm-num-compilation-tasks when it is created)', () => {
    expect(modulesOf(['run', TRIVIAL])).toContain('v8');
  }, 60_000);

  it('a bare machine loads node:v8 at its first JIT compile', () => {
    expect(modulesOf(['run', '--bare', '--jit', 'always', CRC32])).toContain('v8');
  }, 60_000);
});
