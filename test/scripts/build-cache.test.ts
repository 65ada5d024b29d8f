// The incremental build's staleness rule (scripts/build-cache.mjs): a step is skipped only when
// its key, every input's content and the presence of every output are as recorded.
import { mkdtempSync, rmSync, writeFileSync, unlinkSync, mkdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without types
import { filesUnder, isStale, metafileInputs, readStamp, writeStamp } from '../../scripts/build-cache.mjs';

let root: string;
const put = (p: string, text: string) => {
  mkdirSync(join(root, p, '..'), { recursive: true });
  writeFileSync(join(root, p), text);
};
const KEY = { args: ['-O3'], asc: '0.28.20' };
const INPUTS = ['src/a.ts', 'src/b.ts'];
const OUTPUTS = ['out/core.wasm'];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wv-build-cache-'));
  put('src/a.ts', 'export const a = 1;\n');
  put('src/b.ts', 'export const b = 2;\n');
  put('out/core.wasm', 'wasm');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('isStale', () => {
  it('is stale without a stamp, fresh after one, and stays fresh on a second check', () => {
    expect(isStale(root, 'core', KEY, INPUTS, OUTPUTS)).toBe(true);
    writeStamp(root, 'core', KEY, INPUTS);
    expect(isStale(root, 'core', KEY, INPUTS, OUTPUTS)).toBe(false);
    expect(isStale(root, 'core', KEY, INPUTS, OUTPUTS)).toBe(false);
    expect(readStamp(root, 'core').inputs).toEqual(INPUTS);
  });

  it('is stale when an input changes, even with its mtime put back', () => {
    writeStamp(root, 'core', KEY, INPUTS);
    put('src/b.ts', 'export const b = 3;\n');
    utimesSync(join(root, 'src/b.ts'), new Date(0), new Date(0));
    expect(isStale(root, 'core', KEY, INPUTS, OUTPUTS)).toBe(true);
  });

  it('is fresh when an input is rewritten with the same content (a touch, a checkout)', () => {
    writeStamp(root, 'core', KEY, INPUTS);
    put('src/a.ts', 'export const a = 1;\n');
    utimesSync(join(root, 'src/a.ts'), new Date(), new Date(Date.now() + 60_000));
    expect(isStale(root, 'core', KEY, INPUTS, OUTPUTS)).toBe(false);
  });

  it('is stale when the key changes (options, tool versions)', () => {
    writeStamp(root, 'core', KEY, INPUTS);
    expect(isStale(root, 'core', { ...KEY, asc: '0.28.21' }, INPUTS, OUTPUTS)).toBe(true);
    expect(isStale(root, 'core', { ...KEY, args: ['--debug'] }, INPUTS, OUTPUTS)).toBe(true);
  });

  it('is stale when an output is missing', () => {
    writeStamp(root, 'core', KEY, INPUTS);
    unlinkSync(join(root, 'out/core.wasm'));
    expect(isStale(root, 'core', KEY, INPUTS, OUTPUTS)).toBe(true);
  });

  it('is stale when an input is deleted or a new one appears', () => {
    writeStamp(root, 'core', KEY, INPUTS);
    put('src/c.ts', 'export const c = 4;\n');
    expect(isStale(root, 'core', KEY, [...INPUTS, 'src/c.ts'], OUTPUTS)).toBe(true);
    unlinkSync(join(root, 'src/a.ts'));
    expect(isStale(root, 'core', KEY, INPUTS, OUTPUTS)).toBe(true);
  });

  it('checks the inputs a stamp recorded when the caller knows none (a bundle\'s metafile)', () => {
    writeStamp(root, 'bundle', KEY, INPUTS);
    expect(isStale(root, 'bundle', KEY, [], [])).toBe(false);
    put('src/a.ts', 'export const a = 5;\n');
    expect(isStale(root, 'bundle', KEY, [], [])).toBe(true);
  });
});

describe('inputs', () => {
  it('filesUnder lists matching files recursively, sorted', () => {
    put('src/deep/z.ts', '');
    put('src/deep/skip.md', '');
    expect(filesUnder(root, 'src', ['.ts'])).toEqual(['src/a.ts', 'src/b.ts', 'src/deep/z.ts']);
    expect(filesUnder(root, 'absent', ['.ts'])).toEqual([]);
  });

  it('metafileInputs keeps project and package files and drops plugin namespaces', () => {
    const meta = { inputs: { 'host/cli/main.ts': {}, 'node_modules/@xterm/xterm/lib/xterm.mjs': {}, 'node-stub:node:fs': {} } };
    expect(metafileInputs(root, meta)).toEqual(['host/cli/main.ts', 'node_modules/@xterm/xterm/lib/xterm.mjs']);
  });
});
