/**
 * Snapshot files for the CLI (Node only): --save-on-exit, --restore, Ctrl-A S. A file is written
 * to FILE.tmp and renamed, so an interrupted save never leaves a half file under the name.
 */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors';
import { readInputFile } from '../machine/input-file';
import type { Machine } from '../machine/machine';
import type { Vm } from '../vmm/vm';
import { restoreSnapshot, saveSnapshot } from './snapshot';

/** The file Ctrl-A S writes without --snapshot-file. */
export const DEFAULT_SNAPSHOT_FILE = 'wasmvisor-snapshot.wvsnap';

/** Save `target` to `path`; returns the size. One-line UserError when it cannot be saved or written. */
export function saveSnapshotFile(target: Machine | Vm, path: string): number {
  const bytes = saveSnapshot(target);
  const tmp = `${path}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* it may not exist */ }
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new UserError(`${path}: cannot write the snapshot (${code})`);
  }
  return bytes.length;
}

/** Restore `target` from the snapshot file `path` (one-line UserError, exit 2, when it cannot). */
export function restoreSnapshotFile(target: Machine | Vm, path: string, memSize: number): void {
  const bytes = readInputFile(path, { what: 'snapshot', maxBytes: 2 * memSize + (64 << 20) });
  restoreSnapshot(target, bytes, path);
}
