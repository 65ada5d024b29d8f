/**
 * host/web/node-path.ts, the `node:path` of the browser bundles: the same answers as Node's
 * path.posix for the paths the xl.cfg parsers resolve (URL paths), with "/" as the working
 * directory.
 */
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dirname, join, normalize, resolve } from '../../host/web/node-path';

const PATHS = [
  '/', '/a', '/a/', '/a/b', '/a/b/', '/a//b', '/a/./b', '/a/../b', '/../a', '/a/b/../../..', 'a', 'a/b', './a', '../a',
  'a/../..', 'a/..', 'a/../', 'a/', 'a//b', '', '.', '..', '//a//b//', '//', '/guests/xen/demo.cfg', '/guests/xen/../bin/xen/pvtest.elf',
];

describe('node-path (browser node:path)', () => {
  it('normalize and dirname agree with path.posix', () => {
    for (const p of PATHS) {
      expect([p, normalize(p)]).toEqual([p, posix.normalize(p)]);
      expect([p, dirname(p)]).toEqual([p, posix.dirname(p)]);
    }
  });

  it('resolve agrees with path.posix run from /, as the parsers call it', () => {
    // (posix.resolve would start from the real working directory; the page has none: "/")
    const fromRoot = (...parts: string[]) => posix.resolve('/', ...parts);
    for (const p of PATHS) {
      expect([p, resolve(p)]).toEqual([p, fromRoot(p)]);
      expect([p, resolve('/guests/xen', p)]).toEqual([p, fromRoot('/guests/xen', p)]);
      expect([p, resolve(dirname(resolve('/guests/xen/demo.cfg')), p)]).toEqual([p, fromRoot(posix.dirname('/guests/xen/demo.cfg'), p)]);
    }
    expect(resolve('/guests/xen', '../bin/xen/pvtest.elf')).toBe('/guests/bin/xen/pvtest.elf');
    expect(resolve('/x', 'disk.img', '/abs', 'k.elf')).toBe('/abs/k.elf');
  });

  it('join agrees with path.posix', () => {
    for (const p of PATHS) {
      for (const q of ['b', '../c', '/d', '', '.']) {
        expect([p, q, join(p, q)]).toEqual([p, q, posix.join(p, q)]);
      }
    }
  });
});
