/**
 * --append, --initrd and --dtb through the built CLI (issue 12, part 2): bad input is exactly one
 * line on stderr and exit code 2, in both modes; good input boots.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { virtBoardFdt } from '../../host/machine/fdt';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const HELLO = join(ROOT, 'guests/bin/demo/hello.elf');
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-bootopt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function wasmvisor(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input: '', encoding: 'latin1', timeout: 60_000, env: { ...process.env, WASMVISOR_DEBUG: '' } });
}
function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}
function expectUsageError(r: SpawnSyncReturns<string>, message: string): void {
  expect(r.error).toBeUndefined();
  expect(r.stderr).toBe(message + '\n');
  expect(r.stdout).toBe('');
  expect(r.status).toBe(2);
}

const dtb = virtBoardFdt({ memSize: 128 << 20, hartIsa: 'rv64imac' });

describe.each([['--bare'], []])('boot options %s', (...mode: string[]) => {
  // an M-mode program on the bare board, an S-mode kernel as a VM (a VM refuses M-mode images)
  const IMAGE = mode.includes('--bare') ? HELLO : join(ROOT, 'guests/bin/minikernel/minikernel.elf');
  it('a missing or non-regular --initrd / --dtb', () => {
    expectUsageError(wasmvisor(['run', ...mode, '--initrd', join(dir, 'nope.img'), IMAGE]), `${join(dir, 'nope.img')}: no such file`);
    expectUsageError(wasmvisor(['run', ...mode, '--initrd', '/dev/zero', IMAGE]), '/dev/zero: initrd is a character device, expected a regular file');
    expectUsageError(wasmvisor(['run', ...mode, '--dtb', dir, IMAGE]), `${dir}: is a directory, expected a device tree blob`);
  }, 120_000);

  it('an initrd that does not fit in RAM, or falls on the device tree', () => {
    const big = file('big.img', new Uint8Array(24 << 20));
    // entry + RAM/2: hello.elf's entry is 0x80000000, minikernel's 0x80200000
    const bare = mode.includes('--bare');
    expectUsageError(wasmvisor(['run', ...mode, '-m', '32M', '--initrd', big, IMAGE]),
      `${big}: initrd of 25165824 bytes at ${bare ? '0x81000000' : '0x81200000'} does not fit in RAM 0x80000000-0x81ffffff; give the guest more memory (--mem)`);
    const mid = file('mid.img', new Uint8Array((bare ? 7 : 5) << 20));
    expectUsageError(wasmvisor(['run', ...mode, '-m', '16M', '--initrd', mid, IMAGE]),
      `${mid}: initrd at ${bare ? '0x80800000' : '0x80a00000'}-0x80efffff overlaps the device tree at 0x80e00000; give the guest more memory (--mem)`);
  }, 60_000);

  it('a --dtb that is not a device tree blob, or is truncated', () => {
    const zero = file('zero.dtb', new Uint8Array(64));
    expectUsageError(wasmvisor(['run', ...mode, '--dtb', zero, IMAGE]), `${zero}: not a device tree blob (magic 0x00000000, expected 0xd00dfeed)`);
    const cut = file('cut.dtb', dtb.subarray(0, 100));
    expectUsageError(wasmvisor(['run', ...mode, '--dtb', cut, IMAGE]), `${cut}: truncated device tree blob (totalsize ${dtb.length} bytes, file has 100)`);
  }, 60_000);

});

it('the bare hello demo runs with --append, --initrd, with --dtb, and with all three', () => {
  const initrd = file('i.img', new Uint8Array(4096).fill(0xa5));
  for (const extra of [['--append', 'console=ttyS0', '--initrd', initrd], ['--dtb', file('u.dtb', dtb)], ['--dtb', file('u2.dtb', dtb), '--append', 'x', '--initrd', initrd]]) {
    const r = wasmvisor(['run', '--bare', ...extra, HELLO]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('hello from RV64 M-mode');
    expect(r.stdout).toContain('dtb magic: 0xd00dfeed (ok)');
    expect(r.status).toBe(0);
  }
}, 120_000);
