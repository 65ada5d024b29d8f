/**
 * The fixed shell script of the Linux session tests (shell.test.ts, lab-techniques.test.ts): one
 * command per prompt, and what wasmvisor's board prints for each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { haveImages } from './session';

const VERSIONS = haveImages() ? readFileSync(join(__dirname, '../../guests/bin/linux/VERSIONS'), 'utf8') : '';
const versionOf = (key: string) => (VERSIONS.match(new RegExp(`^${key} (.+)$`, 'm')) ?? [])[1];
/** `uname -r` and `uname -v` of the committed Image (build.sh records them). */
export const RELEASE = versionOf('Linux');
export const BUILD = versionOf('uname -v');

/** The fixed command script, one command per prompt. */
export const SCRIPT = ['uname -a', 'cat /proc/cpuinfo', 'ls /', 'cat /proc/cmdline', 'echo $((6 * 7)) > /tmp/x; cat /tmp/x', 'mount'];

/** What wasmvisor's board prints for the script (both modes), keyed by command. */
export const EXPECTED: Record<string, string[]> = {
  'uname -a': [`Linux wasmvisor ${RELEASE} ${BUILD} riscv64 GNU/Linux`],
  'ls /': ['bin   dev   etc   init  mnt   proc  root  sbin  sys   tmp   usr   var'],
  'cat /proc/cmdline': ['console=ttyS0'],
  'echo $((6 * 7)) > /tmp/x; cat /tmp/x': ['42'],
};

/** The hart as Linux describes it (docs/board.md): one hart, rv64imafdc + Sstc, Sv48, ids 0 (SBI). */
export const CPUINFO_WASMVISOR = ['processor\t: 0', 'hart\t\t: 0', 'isa\t\t: rv64imafdc_sstc', 'mmu\t\t: sv48', 'mvendorid\t: 0x0', 'marchid\t\t: 0x0', 'mimpid\t\t: 0x0', ''];

/** `mount` (sizes vary with the RAM the kernel has). */
export const MOUNTS = [
  expect.stringMatching(/^rootfs on \/ type rootfs \(rw,size=\d+k,nr_inodes=\d+\)$/),
  'proc on /proc type proc (rw,relatime)',
  'sysfs on /sys type sysfs (rw,relatime)',
  expect.stringMatching(/^devtmpfs on \/dev type devtmpfs \(rw,relatime,size=\d+k,nr_inodes=\d+,mode=755\)$/),
  'tmpfs on /tmp type tmpfs (rw,relatime)',
];
