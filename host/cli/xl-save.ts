/**
 * The Dom0 side of `xl save DOM FILE`, `xl restore FILE` and `xl migrate DOM HOST[:PORT]`
 * (docs/xen/xl.md): the save file is host/snapshot/xen.ts's, the live migration
 * host/migrate/domain-source.ts's. Each starts between two slices (Toolstack.defer), so the
 * domain is not running while it is saved.
 */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors';
import { readInputFile } from '../machine/input-file';
import { readXenSave } from '../snapshot/xen';
import type { DomainRecord, Toolstack } from '../xen/toolstack/xl';
import { migrateDomainLive, type DomainSourceIo } from '../migrate/domain-source';
import { defaultMigrateOptions, parseMigrateOption, type MigrateMode, type MigrateOptions } from '../migrate/options';
import type { Summary } from '../migrate/progress';

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

/**
 * xl migrate, live (host/migrate/domain-source.ts): pre-copy, post-copy or hybrid as `flags`
 * (run's --migrate-* options) say; the other domains run on meanwhile. Resolves with the mode and
 * the summary once the target runs the domain (ours is destroyed then); rejects with a one-line
 * UserError: exit 1 when the domain runs on here, 69 when it was lost after a post-copy switch.
 */
export async function migrateDomain(xl: Toolstack, domid: number, host: string, port: number, flags: Record<string, string>, io: DomainSourceIo): Promise<{ mode: MigrateMode; summary: Summary }> {
  const opts = defaultMigrateOptions();
  for (const [name, value] of Object.entries(flags)) {
    if (!XL_MIGRATE_FLAGS.includes(name)) throw new UserError(`xl migrate: unknown option '${name}'`);
    parseMigrateOption(opts, name, value);
  }
  checkXlMigrateOptions(opts);
  const summary = await migrateDomainLive(xl, domid, host, port, opts, io);
  return { mode: opts.mode, summary };
}

/** The flags of xl migrate: run's migration policy flags (host/migrate/options.ts). */
export const XL_MIGRATE_FLAGS = ['--migrate-mode', '--migrate-precopy-rounds', '--migrate-max-rounds', '--migrate-downtime', '--migrate-bandwidth', '--plot'];

/** Checks across xl migrate's flags (as run's checkMigrateOptions). */
export function checkXlMigrateOptions(m: MigrateOptions): void {
  if (m.precopyRounds !== undefined && m.mode !== 'hybrid') throw new UserError(`wasmvisor: xl migrate: --migrate-precopy-rounds is for --migrate-mode hybrid (this is ${m.mode})`);
}
