/**
 * The monitor commands of `wasmvisor run` that act on the whole machine (docs/debug.md
 * "Snapshots and migration from the monitor"), added to host/debug/monitor.ts's:
 *
 *   savevm NAME             save a snapshot (docs/snapshot.md) to NAME
 *   loadvm NAME             replace the machine's state with NAME's, in place
 *   info snapshots          the tags in the snapshot directory
 *   migrate [-d] tcp:H:P    live-migrate (pre-copy, host/migrate/source.ts) to a --incoming
 *   info migrate            the migration's status, as QEMU's
 *
 * NAME is a file path, or a tag: a name without '/' and '.' stands for TAG.wvsnap in the
 * snapshot directory (that of --snapshot-file, or the current directory). QEMU keeps its tags
 * inside the qcow2 disk; we have no such container, so a tag is a file of its own.
 *
 * savevm and loadvm need the machine between two run() calls (snapshot.ts saves and restores
 * a target that is not running): they stop the run (a held hart's run loop is let out without
 * running it, DebugGate.unblock), act, and the run loop runs on; the answer comes then. loadvm
 * checks the snapshot against this command line first, as --restore does, and a mismatch is
 * one line that leaves the machine as it was.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Monitor } from '../debug/monitor';
import { UserError } from '../errors';
import type { Machine } from '../machine/machine';
import { defaultMigrateOptions, parseMigrateOption, type MigrateOptions } from '../migrate/options';
import { MigrationSource, type SourceIo, type SourceRun } from '../migrate/source';
import { restoreSnapshotFile, saveSnapshotFile } from '../snapshot/file';
import type { Vm } from '../vmm/vm';

/** A tag's file name ends in this. */
export const SNAPSHOT_EXT = '.wvsnap';

export const MONITOR_RUN_HELP = `savevm NAME               save a snapshot to NAME (a file, or a tag: TAG.wvsnap)
loadvm NAME               restore the snapshot NAME in place
migrate [-d] tcp:HOST:PORT  migrate live to a 'wasmvisor run ... --incoming' there
info snapshots            the snapshot tags (*.wvsnap) in the snapshot directory
info migrate              the migration's status
`;
const help = (name: string) => MONITOR_RUN_HELP.split('\n').filter((l) => l.startsWith(name)).map((l) => l + '\n').join('');

export interface RunCommandsHost {
  target: Machine | Vm;
  /** The run: stop() makes the current run() return 'stopped'; runState() whether the VM runs (a migration sends it). */
  runnable: SourceRun;
  /** Let a hart held by the debugger out of its run loop after stop() (DebugSession.unblock). */
  unblock(): void;
  /** --snapshot-file: its directory holds the tags. */
  snapshotFile?: string;
  memSize: number;
  /** The command line's migration options (the policy knobs apply to `migrate` too). */
  migrate?: MigrateOptions;
  io: SourceIo;
  /** The migration under way or last tried (--migrate-to's, or the monitor's). */
  migration(): MigrationSource | undefined;
  /** Start `m` (the run loop then drives its stop-and-copy, as --migrate-to's). */
  startMigration(m: MigrationSource): void;
}

interface Waiting { act(): void; fail(why: string): void }

export class RunCommands {
  private readonly waiting: Waiting[] = [];
  private closed = false;

  constructor(private readonly h: RunCommandsHost) {}

  /** Add the commands to `monitor`. */
  define(monitor: Monitor): void {
    monitor.define('savevm', { help: help('savevm'), run: (a) => this.savevm(a) });
    monitor.define('loadvm', { help: help('loadvm'), run: (a) => this.loadvm(a) });
    monitor.define('migrate', { help: help('migrate'), run: (a) => this.migrate(a) });
    monitor.define('info snapshots', { help: help('info snapshots'), run: () => this.snapshots() });
    monitor.define('info migrate', { help: help('info migrate'), run: () => this.migrateInfo() });
  }

  /** True when commands wait for the run to stop (the run loop then calls runWaiting()). */
  get pending(): boolean {
    return this.waiting.length > 0;
  }

  /** With the run stopped: run the commands that waited for it. */
  runWaiting(): void {
    for (const w of this.waiting.splice(0)) w.act();
  }

  /** The run ended: commands still waiting say so; later ones too. */
  close(why: string): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.fail(why);
  }

  /** Run `f` between two run() calls; its UserError is the command's one-line answer. */
  private whenStopped(f: () => string): Promise<string> {
    if (this.closed) return Promise.resolve('the run has ended\n');
    return new Promise((resolve) => {
      this.waiting.push({
        act: () => {
          try {
            resolve(f());
          } catch (e) {
            if (!(e instanceof UserError)) throw e;
            resolve(e.message.replace(/^wasmvisor: /, '') + '\n');
          }
        },
        fail: (why) => resolve(`${why}\n`),
      });
      this.h.runnable.stop();
      this.h.unblock();
    });
  }

  /** The snapshot directory: --snapshot-file's, or the current one. */
  private get dir(): string {
    return this.h.snapshotFile !== undefined ? dirname(this.h.snapshotFile) : '.';
  }

  /** NAME's file: a tag (no '/' or '.') is TAG.wvsnap in the snapshot directory; anything else a path. */
  fileOf(name: string): string {
    return /^[^/\\.]+$/.test(name) ? join(this.dir, name + SNAPSHOT_EXT) : name;
  }

  private savevm(args: string[]): string | Promise<string> {
    if (args.length !== 1) return 'savevm: expected one NAME (a file, or a tag for TAG.wvsnap), e.g. savevm before-boot\n';
    const file = this.fileOf(args[0]);
    return this.whenStopped(() => `savevm: saved ${file} (${saveSnapshotFile(this.h.target, file)} bytes)\n`);
  }

  private loadvm(args: string[]): string | Promise<string> {
    if (args.length !== 1) return 'loadvm: expected one NAME (a file, or a tag for TAG.wvsnap), e.g. loadvm before-boot\n';
    const file = this.fileOf(args[0]);
    if (this.h.migration()?.busy) return `loadvm: a migration is under way (info migrate)\n`;
    return this.whenStopped(() => {
      restoreSnapshotFile(this.h.target, file, this.h.memSize);
      return `loadvm: restored ${file}\n`;
    });
  }

  /** QEMU's `info snapshots`, over the tags' files: tag, size, date (UTC). */
  private snapshots(): string {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(SNAPSHOT_EXT) && /^[^.]+$/.test(n.slice(0, -SNAPSHOT_EXT.length))).sort();
    } catch (e) {
      return `info snapshots: cannot read ${this.dir} (${(e as NodeJS.ErrnoException).code ?? String(e)})\n`;
    }
    if (names.length === 0) return `no snapshots in ${this.dir} (savevm TAG writes TAG${SNAPSHOT_EXT} there)\n`;
    let s = 'TAG                  SIZE        DATE (UTC)\n';
    for (const n of names) {
      const st = statSync(join(this.dir, n));
      s += `${basename(n, SNAPSHOT_EXT).padEnd(20)} ${String(st.size).padStart(11)} ${st.mtime.toISOString().slice(0, 19).replace('T', ' ')}\n`;
    }
    return s;
  }

  private migrate(args: string[]): string {
    const uri = args.filter((a) => a !== '-d'); // (-d: QEMU's "do not wait"; we never wait)
    if (uri.length !== 1) return 'migrate: expected tcp:HOST:PORT, e.g. migrate tcp:127.0.0.1:4444\n';
    if (this.closed) return 'the run has ended\n';
    if (this.h.migration()?.busy) return `migrate: a migration is under way (info migrate)\n`;
    const opts: MigrateOptions = { ...(this.h.migrate ?? defaultMigrateOptions()), incoming: undefined, afterMs: 0 };
    try {
      parseMigrateOption(opts, '--migrate-to', uri[0]);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      return `migrate: ${e.message.replace(/^wasmvisor: --migrate-to: /, '')}\n`;
    }
    if (opts.mode !== 'precopy') return `migrate: --migrate-mode ${opts.mode} is not supported yet (only precopy)\n`;
    // (its stop-and-copy stops the run; a hart the monitor holds is let out of the run loop too)
    const runnable: SourceRun = { stop: () => { this.h.runnable.stop(); this.h.unblock(); }, runState: this.h.runnable.runState };
    this.h.startMigration(new MigrationSource(this.h.target, runnable, opts, this.h.io));
    return '';
  }

  /** QEMU's `info migrate` lines that apply (status, times, what was sent), or nothing before any. */
  private migrateInfo(): string {
    const m = this.h.migration();
    if (!m) return '';
    const st = m.status();
    let s = `Migration status: ${st.state}${st.error !== undefined ? ` (${st.error})` : ''}\n`;
    s += `destination: ${st.to}\n`;
    if (st.state === 'setup') return s;
    s += `total time: ${Math.round(st.totalMs)} ms\n`;
    if (st.downtimeMs !== undefined) s += `downtime: ${st.downtimeMs.toFixed(2)} ms\n`;
    else if (st.expectedDowntimeMs !== undefined) s += `expected downtime: ${st.expectedDowntimeMs.toFixed(2)} ms\n`;
    s += `rounds: ${st.rounds}\n`;
    s += `transferred ram: ${Math.round(st.bytes / 1024)} kbytes\n`;
    s += `pages sent: ${st.pagesSent}\n`;
    s += `dirty pages rate: ${Math.round(st.dirtyRate)} pages\n`;
    return s;
  }
}
