// bin/wasmvisor.mjs loads the CLI bundle with V8's code cache (dist/cli.cjs.cache, issue 16):
// a cache for another bundle or Node, or one V8 refuses, is never used, the CLI behaves the
// same, and the cache is rewritten for the bundle at hand.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const BUNDLE = join(ROOT, 'dist/cli.cjs');
const CACHE = `${BUNDLE}.cache`;
const HELLO = join(ROOT, 'guests/bin/demo/hello.elf');
const MINIKERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');

const run = () => spawnSync(process.execPath, [BIN, 'run', '--bare', HELLO], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
/** minikernel in a VM (the default mode), which sets a V8 flag while it runs (host/vmm/compile-tasks.ts). */
const runVm = (nodeOptions: string[] = []) =>
  spawnSync(process.execPath, [...nodeOptions, BIN, 'run', MINIKERNEL], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
/**
 * The cache file of runs with these node options: dist/cli.cjs.HASH.cache, HASH the FNV-1a of
 * the options and NODE_OPTIONS, as bin/wasmvisor.cjs names it.
 */
const optionCache = (nodeOptions: string[]) => {
  const opts = `${nodeOptions.join('\0')}\0${process.env.NODE_OPTIONS ?? ''}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < opts.length; i++) h = Math.imul(h ^ opts.charCodeAt(i), 0x01000193);
  return `${BUNDLE}.${(h >>> 0).toString(16).padStart(8, '0')}.cache`;
};
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

  // These two use node options, so that their cache files are their own: the other test files'
  // CLI runs (in parallel) use dist/cli.cjs.cache and could replace it between two runs here.
  it('a VM run writes a cache that the next run accepts: it is not written again', () => {
    const opts = ['--stack-size=1000'];
    const cache = optionCache(opts);
    rmSync(cache, { force: true });
    const first = runVm(opts);
    expect(first.status).toBe(0);
    const written = statSync(cache);
    const bytes = readFileSync(cache);
    expect(bytes.subarray(0, 128).toString('latin1')).toBe(expectedKey().padEnd(128));
    const second = runVm(opts);
    expect([second.status, second.stdout, second.stderr]).toEqual([first.status, first.stdout, first.stderr]);
    // rewritten means a new file renamed over it: another inode
    expect(statSync(cache).ino).toBe(written.ino);
    expect(readFileSync(cache).equals(bytes)).toBe(true);
    rmSync(cache);
  });

  it('runs with other node options keep their own caches, and each accepts its own', () => {
    const a = ['--max-semi-space-size=2'];
    const b = ['--max-semi-space-size=4'];
    expect(optionCache(a)).not.toBe(optionCache(b));
    for (const o of [a, b]) rmSync(optionCache(o), { force: true });
    expect(runVm(a).status).toBe(0);
    expect(existsSync(optionCache(b))).toBe(false);
    expect(runVm(b).status).toBe(0);
    const inodes = [a, b].map((o) => statSync(optionCache(o)).ino);
    expect(runVm(a).status).toBe(0);
    expect(runVm(b).status).toBe(0);
    expect([a, b].map((o) => statSync(optionCache(o)).ino)).toEqual(inodes);
    for (const o of [a, b]) rmSync(optionCache(o));
  });

  it('writing an option cache removes the stale ones, those beyond the newest 4, and dead runs\' temporary files', () => {
    const opts = ['--max-semi-space-size=3'];
    const mine = optionCache(opts);
    rmSync(mine, { force: true });
    const dir = dirname(BUNDLE);
    const fake = (n: number) => join(dir, `cli.cjs.fffff00${n}.cache`);
    const body = Buffer.concat([Buffer.from(expectedKey().padEnd(160)), Buffer.alloc(64, 1)]);
    // five of this bundle, from oldest (1) to newest (5), newer than any other in dist/ (their
    // mtimes ahead of the clock), one of another bundle, and a dead run's temporary file
    const t = Date.now() / 1000 + 3600;
    for (let n = 1; n <= 5; n++) {
      writeFileSync(fake(n), body);
      utimesSync(fake(n), t + n, t + n);
    }
    const stale = fake(6);
    writeFileSync(stale, Buffer.concat([Buffer.from('wasmvisor v0.0.0 x64 1 2 3\n'.padEnd(160)), Buffer.alloc(64, 1)]));
    const tmp = join(dir, 'cli.cjs.fffff007.cache.99999.tmp');
    writeFileSync(tmp, body);
    utimesSync(tmp, 1_000_000, 1_000_000);
    try {
      expect(runVm(opts).status).toBe(0);
      expect(existsSync(mine)).toBe(true);
      // this run's, and the newest 3 others of this bundle: 4 in all
      expect([1, 2, 3, 4, 5].map((n) => existsSync(fake(n)))).toEqual([false, false, true, true, true]);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(tmp)).toBe(false);
      expect(existsSync(CACHE)).toBe(true); // the plain runs' cache is not an option cache
    } finally {
      for (const f of [1, 2, 3, 4, 5, 6].map(fake).concat([tmp, mine])) rmSync(f, { force: true });
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('cli.cjs.fffff'))).toEqual([]);
  });
});
