/**
 * The Dom0 side of `xl save DOM FILE`, `xl restore FILE` and `xl migrate DOM HOST[:PORT]`
 * (docs/xen/xl.md): the save file is host/snapshot/xen.ts's, the transfer host/cli/xl-migrate.ts's.
 * Each runs between two slices (Toolstack.defer), so the domain is not running while it is saved.
 */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors';
import { readInputFile } from '../machine/input-file';
import { readXenSave } from '../snapshot/xen';
import type { DomainRecord, Toolstack } from '../xen/toolstack/xl';
import { sendSave } from './xl-migrate';

/** The largest save file xl restore reads. */
const MAX_SAVE_FILE = 2 ** 31;

/** xl save: write the domain's save to `file` (FILE.tmp, then renamed) and destroy it. Returns the size. */
export function saveFile(xl: Toolstack, domid: number, file: string): number {
  const bytes = xl.saveBytes(domid);
  const tmp = `${file}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* it may not exist */ }
    throw new UserError(`${file}: cannot write the save file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  xl.saved(domid, 'saved', file);
  return bytes.length;
}

/** xl restore: the domain of save file `file`, running under a new domid. */
export async function restoreFile(xl: Toolstack, file: string, paused = false): Promise<DomainRecord> {
  const bytes = readInputFile(file, { what: 'save file', maxBytes: MAX_SAVE_FILE });
  const rec = await xl.restore(readXenSave(file, bytes));
  if (paused) xl.pause(rec.domid); // xl restore -p: before its first slice (this runs between slices)
  xl.opts.onNotice?.(`${rec.cfg.name} (d${rec.domid}): restored from ${file}`);
  return rec;
}

/** The target's side of a migration: restore `bytes` between two slices. */
export function receiveMigration(xl: Toolstack, bytes: Uint8Array, from: string): Promise<DomainRecord> {
  return new Promise((resolve, reject) => {
    xl.defer(async () => {
      try {
        const rec = await xl.restore(readXenSave(`migration from ${from}`, bytes));
        xl.opts.onNotice?.(`${rec.cfg.name} (d${rec.domid}): migrated in from ${from}`);
        resolve(rec);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

/**
 * xl migrate, stop-and-copy (host/cli/xl-migrate.ts): save and pause the domain now (between
 * slices), send the save, and once the target runs it destroy ours; if the migration fails the
 * domain is unpaused and runs on here. Resolves with the bytes sent and the downtime (from the
 * pause to the target's answer that it runs the domain: save, transfer and restore); rejects with a UserError
 * (exit 1) saying why it did not migrate.
 */
export async function migrateDomain(xl: Toolstack, domid: number, host: string, port: number): Promise<{ bytes: number; downtimeMs: number }> {
  const t0 = performance.now();
  const bytes = xl.saveBytes(domid);
  const rec = xl.record(domid);
  const wasPaused = rec.paused;
  if (!wasPaused) xl.pause(domid);
  const to = `${host}:${port}`;
  // (The domain may have been destroyed meanwhile: then there is nothing left to do.)
  let downtimeMs = 0;
  const between = (f: () => void) => new Promise<void>((res) => xl.defer(() => {
    try { f(); } catch { /* gone */ }
    res();
  }));
  try {
    await sendSave(host, port, bytes);
    downtimeMs = performance.now() - t0;
  } catch (e) {
    await between(() => {
      if (!wasPaused && rec.state === 'running' && rec.domid === domid) xl.unpause(domid);
    });
    throw new UserError(`cannot migrate ${rec.cfg.name} (d${domid}) to ${to}: ${(e as Error).message}; it runs on here`, 1);
  }
  await between(() => xl.saved(domid, 'migrated', to));
  return { bytes: bytes.length, downtimeMs };
}
