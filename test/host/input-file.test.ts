/**
 * input-file.ts: every user-supplied file is opened without blocking, must be a regular file
 * (a disk may be a block device), and a whole-file read is refused by size before any byte is
 * read. Issue 11: /dev/zero as an image or cfg read until the host ran out of memory, and a FIFO
 * blocked the open forever.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { UserError } from '../../host/errors';
import { openInputFile, readInputFile } from '../../host/machine/input-file';

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IMAGE = { what: 'image file', maxBytes: 1 << 20 };

function userError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('readInputFile', () => {
  test('reads a regular file whole', () => {
    const p = join(dir, 'a.bin');
    writeFileSync(p, Uint8Array.of(1, 2, 3));
    expect(readInputFile(p, IMAGE)).toEqual(Uint8Array.of(1, 2, 3));
  });
  test('an empty regular file reads as no bytes', () => {
    const p = join(dir, 'empty.bin');
    writeFileSync(p, '');
    expect(readInputFile(p, IMAGE).length).toBe(0);
  });
  test('a character device (/dev/zero) is refused without reading it', () => {
    expect(userError(() => readInputFile('/dev/zero', IMAGE))).toBe('/dev/zero: image file is a character device, expected a regular file');
  });
  test('a FIFO is refused at once (the open does not wait for a writer)', () => {
    const p = join(dir, 'fifo');
    execFileSync('mkfifo', [p]);
    const t0 = performance.now();
    expect(userError(() => readInputFile(p, { what: 'configuration file', maxBytes: 1 << 20 }))).toBe(
      `${p}: configuration file is a FIFO, expected a regular file`,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
  });
  test('a file over the limit is refused by its size, before reading (a sparse 3 GiB file)', () => {
    const p = join(dir, 'huge.img');
    writeFileSync(p, '');
    truncateSync(p, 3 * 2 ** 30);
    expect(userError(() => readInputFile(p, IMAGE))).toBe(`${p}: image file is ${3 * 2 ** 30} bytes, more than ${1 << 20}`);
  });
  test('a missing file and a directory', () => {
    expect(userError(() => readInputFile(join(dir, 'none'), IMAGE))).toBe(`${join(dir, 'none')}: no such file`);
    expect(userError(() => readInputFile(dir, IMAGE))).toBe(`${dir}: is a directory, expected an image file`);
  });
});

describe('openInputFile (disks)', () => {
  test('a disk names its own open errors; a character device is not a disk', () => {
    const openError = (code: string) => `d.img: cannot open disk image: ${code}`;
    expect(userError(() => openInputFile(join(dir, 'none.img'), { what: 'disk image', write: true, blockDevice: true, openError }))).toBe(
      'd.img: cannot open disk image: ENOENT',
    );
    expect(userError(() => openInputFile('/dev/zero', { what: 'disk image', blockDevice: true, openError }))).toBe(
      '/dev/zero: disk image is a character device, expected a regular file or a block device',
    );
  });
});
