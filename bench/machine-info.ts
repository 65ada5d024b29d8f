/** A description of the host, stored with every result so runs can be compared. */

import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';

/** The host a benchmark ran on. */
export interface HostInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  qemu: string | null;
  hostCc: string | null;
  /** git commit of the tree measured, when it is a git checkout. */
  commit: string | null;
  /** ISO 8601 time the run started. */
  date: string;
}

/** The "model name" line of /proc/cpuinfo, else what Node reports. */
function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    // not Linux: fall back below
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function gitCommit(root: string): string | null {
  const r = spawnSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Collects the host description. */
export function hostInfo(root: string, qemu: string | undefined, hostCc: string | undefined): HostInfo {
  return {
    cpuModel: cpuModel(),
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    qemu: qemu ?? null,
    hostCc: hostCc ?? null,
    commit: gitCommit(root),
    date: new Date().toISOString(),
  };
}
