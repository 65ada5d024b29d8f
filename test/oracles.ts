/**
 * The external oracles the suite compares against (QEMU, OpenSBI, dtc, Chromium, gdb-multiarch), found once,
 * and the one way a test goes without one.
 *
 * Without the tool, `oracle(name, who)` returns false and the caller skips visibly
 * (describe.skipIf / it.skipIf), with a warning naming the file and what to install. With
 * WASMVISOR_REQUIRE_ORACLES=1 (.ci/run exports it) a missing oracle is a failure instead: it
 * throws, which fails the test file, so CI cannot pass with its comparisons silently skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export type OracleName = 'qemu' | 'opensbi' | 'dtc' | 'chromium' | 'gdb';

/** Debian's OpenSBI generic firmware (package opensbi). */
export const OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin';
/** Debian's chromium (package chromium). */
export const CHROMIUM = '/usr/bin/chromium';
/** Debian's multi-architecture GDB (package gdb-multiarch), the GDB stub's client. */
export const GDB = 'gdb-multiarch';
/** The QEMU binary (override with env QEMU_RISCV64). */
export const QEMU = process.env.QEMU_RISCV64 ?? 'qemu-system-riscv64';

const runs = (cmd: string, arg: string) => spawnSync(cmd, [arg], { stdio: 'ignore', timeout: 10_000 }).status === 0;

const PROBES: Record<OracleName, { present: () => boolean; install: string }> = {
  qemu: { present: () => runs(QEMU, '--version'), install: 'qemu-system-riscv64: install qemu-system-misc' },
  opensbi: { present: () => existsSync(OPENSBI), install: `${OPENSBI}: install opensbi` },
  dtc: { present: () => runs('dtc', '--version'), install: 'dtc: install device-tree-compiler' },
  chromium: { present: () => existsSync(CHROMIUM), install: `${CHROMIUM}: install chromium` },
  gdb: { present: () => runs(GDB, '--version'), install: 'gdb-multiarch: install gdb-multiarch' },
};

const found = new Map<OracleName, boolean>();

/** True when the oracle is installed (cached; never throws). */
export function haveOracle(name: OracleName): boolean {
  let ok = found.get(name);
  if (ok === undefined) {
    ok = PROBES[name].present();
    found.set(name, ok);
  }
  return ok;
}

/** True when oracles must not be skipped (WASMVISOR_REQUIRE_ORACLES=1, set by .ci/run). */
export const requireOracles = process.env.WASMVISOR_REQUIRE_ORACLES === '1';

/**
 * Whether `who` (a test file or suite) can use `name`. Missing: a warning and false (skip), or,
 * under WASMVISOR_REQUIRE_ORACLES=1, an error that fails the file.
 */
export function oracle(name: OracleName, who: string): boolean {
  if (haveOracle(name)) return true;
  const msg = `${who}: ${name} oracle missing (${PROBES[name].install})`;
  if (requireOracles) throw new Error(`${msg}; WASMVISOR_REQUIRE_ORACLES=1 makes a skipped oracle suite a failure`);
  console.warn(`${msg}: skipped`);
  return false;
}
