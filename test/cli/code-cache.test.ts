// bin/wasmvisor.mjs loads the CLI bundle with V8's code cache (dist/cli.cjs.cache, issue 16):
// a cache for another bundle or Node, or one V8 refuses, is never used, the CLI behaves the
// same, and the cache is rewritten for the bundle at hand.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const BUNDLE = join(ROOT, 'dist/cli.cjs');
const CACHE = `${BUNDLE}.cache`;
const HELLO = join(ROOT, 'guests/bin/demo/hello.elf');

const run = () => spawnSync(process.execPath, [BIN, 'run', '--bare', HELLO], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
/** The key bin/wasmvisor.mjs expects at the head of the cache for the bundle as it is now. */
const expectedKey = () => {
  const st = statSync(BUNDLE);
  return `wasmvisor ${process.version} ${process.arch} ${st.size} ${st.mtimeMs} ${st.ino}\n`;
};

beforeAll(() => {
  if (!existsSync(BUNDLE)) throw new Error('dist/cli.cjs is missing: run `node scripts/build.mjs` first');
});

describe('the CLI code cache', () => {
  const reference = () => {
    const r = run();
    return [r.status, r.stdout, r.stderr];
  };

  it('a cache with another key is ignored, and replaced by one for this bundle and Node', () => {
    const want = reference();
    expect(want[0]).toBe(0);
    writeFileSync(CACHE, Buffer.concat([Buffer.from('wasmvisor v0.0.0 x64 1 2 3\n'.padEnd(128)), Buffer.alloc(4096, 0x5a)]));
    expect(reference()).toEqual(want);
    const head = readFileSync(CACHE).subarray(0, 128).toString('latin1');
    expect(head).toBe(expectedKey().padEnd(128));
  });

  it('a cache with the right key but data V8 refuses still runs the CLI the same, and is rewritten', () => {
    const want = reference();
    writeFileSync(CACHE, Buffer.concat([Buffer.from(expectedKey().padEnd(128)), Buffer.alloc(4096, 0x5a)]));
    expect(reference()).toEqual(want);
    const c = readFileSync(CACHE);
    expect(c.subarray(0, 128).toString('latin1')).toBe(expectedKey().padEnd(128));
    expect(c.subarray(128, 128 + 4096).equals(Buffer.alloc(4096, 0x5a))).toBe(false);
  });
});
