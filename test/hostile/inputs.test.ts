/**
 * Issue 11, defect 4: non-regular files given as inputs were read to the end (/dev/zero as an
 * image, as an xl.cfg's kernel=, or as the cfg itself hung while RSS climbed to 4.5 GB) or
 * blocked forever (a FIFO). Through the built CLI each must be refused at once: one line naming
 * the file and what it is, exit 2, no stack trace, within a few seconds.
 * Needs dist/cli.mjs (`node scripts/build.mjs`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectRefused } from './cli';
import { afterAll, describe, expect, it } from 'vitest';
import { memSizeLimit } from '../../host/machine/mem-size';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HELLO = join(ROOT, 'guests/bin/demo/hello.elf');


const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIFO = join(dir, 'fifo');
execFileSync('mkfifo', [FIFO]);

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const ZERO = '/dev/zero: image file is a character device, expected a regular file';

describe('non-regular files are refused before they are read', { timeout: 60_000 }, () => {
  it('/dev/zero as the image: bare machine, VM, and as --bios', () => {
    expectRefused(['run', '--bare', '/dev/zero'], ZERO);
    expectRefused(['run', '/dev/zero'], ZERO);
    expectRefused(['run', '--bare', '--bios', '/dev/zero', HELLO], ZERO);
  });

  it('a FIFO as the image does not block', () => {
    expectRefused(['run', '--bare', FIFO], `${FIFO}: image file is a FIFO, expected a regular file`);
  });

  it('/dev/zero or a FIFO as the xl.cfg or HOST.cfg', () => {
    expectRefused(['xl', 'create', '/dev/zero'], '/dev/zero: configuration file is a character device, expected a regular file');
    expectRefused(['xl', 'create', FIFO], `${FIFO}: configuration file is a FIFO, expected a regular file`);
    expectRefused(['up', '/dev/zero'], '/dev/zero: configuration file is a character device, expected a regular file');
    const host = file('host.cfg', `domains = [ '${FIFO}' ]\n`);
    expectRefused(['up', host], `${FIFO}: configuration file is a FIFO, expected a regular file`);
  });

  it("/dev/zero as an xl.cfg's kernel=", () => {
    const cfg = file('zk.cfg', "name = 'zk'\nkernel = '/dev/zero'\nmemory = 16\n");
    expectRefused(['xl', 'create', cfg], ZERO);
  });

  it('a FIFO as a disk, read-only (the open used to wait for a writer)', () => {
    expectRefused(['run', '--bare', '--disk', `${FIFO},ro`, HELLO], `${FIFO}: disk image is a FIFO, expected a regular file or a block device`);
    const cfg = file('fd.cfg', `name = 'fd'\nkernel = '${HELLO}'\nmemory = 16\ndisk = [ 'format=raw, vdev=xvda, access=ro, target=${FIFO}' ]\n`);
    expectRefused(['xl', 'create', cfg], `${FIFO}: disk image is a FIFO, expected a regular file or a block device`);
  });

  it('an image larger than any RAM is refused by its size, without reading it (a sparse file)', () => {
    const p = file('huge.img', '');
    truncateSync(p, memSizeLimit() + 1);
    expectRefused(['run', '--bare', p], `${p}: image file is ${memSizeLimit() + 1} bytes, more than ${memSizeLimit()}`);
  });
});
