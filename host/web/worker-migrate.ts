/**
 * Live migration between two Workers of a page (docs/migration.md "In the browser"), the worker
 * side: the source and target of host/migrate, unchanged, over a MessagePort (port-transport.ts)
 * instead of TCP. worker.ts owns the run loop; this file starts the source and answers its
 * stop request the way the CLI's run loop does (stopWanted, then stopAndCopy between slices).
 */
import type { Machine } from '../machine/machine';
import type { Vm } from '../vmm/vm';
import { UserError } from '../errors';
import { receiveOver } from '../migrate/incoming';
import { defaultMigrateOptions } from '../migrate/options';
import { PortTransport } from '../migrate/port-transport';
import { MigrationSource } from '../migrate/source';
import type { Dialer } from '../migrate/transport';
import type { FromWorker } from './protocol';

/** What worker.ts lends a migration. */
export interface MigrationHost {
  readonly guest: Machine | Vm | undefined;
  /** A run() is in progress. */
  readonly running: boolean;
  /** Stop the run in progress (it returns 'stopped'). */
  stop(): void;
  /** The target runs the guest now (after a stop-and-copy of a guest that was not running). */
  handedOver(): void;
  post(msg: FromWorker): void;
}

/** A migration out of this worker, from `migrate-out` to its end. */
export class OutgoingMigration {
  private readonly source: MigrationSource;
  private ended = false;
  /** The guest is the target's now: this worker must not run it again. */
  handedOver = false;

  constructor(private readonly host: MigrationHost, private readonly id: number, port: MessagePort, knobs: { downtimeMs?: number; maxRounds?: number; bandwidthMBps?: number }) {
    const guest = host.guest;
    if (!guest) throw new UserError('wasmvisor: cannot migrate: no guest is loaded');
    const opts = { ...defaultMigrateOptions(), downtimeMs: knobs.downtimeMs ?? 5, maxRounds: knobs.maxRounds ?? 30, bandwidthMBps: knobs.bandwidthMBps };
    const dial: Dialer = { text: "the page's target Worker", connect: () => Promise.resolve(new PortTransport(port)) };
    this.source = new MigrationSource(guest, { stop: () => this.stopRequested() }, opts, {
      stderr: () => undefined, // (the same lines reach the page as `end`)
      isTTY: false,
      onRound: (r, pagesSent) => host.post({ type: 'migration', id, round: { ...r, pagesSent } }),
      onEnd: (end) => {
        this.ended = true;
        host.post({ type: 'migration', id, end });
      },
    }, dial);
  }

  start(): void {
    this.source.start();
  }

  /** The run loop stopped because the source asked it to (stopAndCopy is due). */
  get stopWanted(): boolean {
    return this.source.stopWanted;
  }

  /** Stop-and-copy with the guest stopped; true once the target runs it. */
  async stopAndCopy(): Promise<boolean> {
    this.handedOver = await this.source.stopAndCopy();
    return this.handedOver;
  }

  /** The stop-and-copy failed after COMMIT with no answer: the target may run the guest, so this side must not. */
  get targetOwns(): boolean {
    return this.source.targetOwns;
  }

  /** The run ended (the guest exited, a pause) before the migration did. */
  abandon(why: string): void {
    if (this.ended) return;
    this.source.abandon(why);
    // (before its first round the source has nothing to report: say it here)
    if (!this.ended) this.host.post({ type: 'migration', id: this.id, end: { error: `abandoned: ${why}` } });
    this.ended = true;
  }

  get done(): boolean {
    return this.ended;
  }

  /** The source wants the guest stopped: stop the run (the run loop then calls stopAndCopy), or copy now if it is not running. */
  private stopRequested(): void {
    if (this.host.running) this.host.stop();
    else void this.stopAndCopy().then((ok) => ok && this.host.handedOver());
  }
}

/** The target: load the stream on `port` into `guest` (built from the same image and options). */
export async function migrateIn(guest: Machine | Vm | undefined, port: MessagePort): Promise<{ pages: number; bytes: number }> {
  if (!guest) throw new UserError("wasmvisor: incoming migration: load the source's guest (not started) first");
  return receiveOver(guest, new PortTransport(port), "wasmvisor: incoming migration from the page's source Worker");
}
