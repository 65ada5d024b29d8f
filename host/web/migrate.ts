/**
 * Live migration between two Workers of a page, the page's side (Vm.migrate in api.ts; the
 * workers' side is worker-migrate.ts): start the target worker as the source's was started,
 * load the same guest into it without running it, join the two with a MessageChannel, and
 * follow the source's rounds to the end.
 *
 * The target's messages are held back until the source has reported the end: its console
 * output then follows the source's last output (which the source posted before its summary),
 * whatever order the two workers' messages reach the page in.
 */
import type { FromWorker, MigrationRound, MigrationSummary, ToWorker } from './protocol';
import { bootWorker, type WorkerBootOptions } from './worker-boot';

/** Vm.migrate's options: the CLI's --migrate-downtime, --migrate-max-rounds, --migrate-bandwidth. */
export interface MigrateOptions {
  /** Stop-and-copy once the estimated downtime is at most this (ms; default 5). */
  downtimeMs?: number;
  /** Pre-copy rounds at most before stop-and-copy regardless (default 30). */
  maxRounds?: number;
  /** A cap on the stream, in megabytes (10^6) per second (default: none). */
  bandwidthMBps?: number;
}

let nextId = 1;

export async function migrateWorker(o: {
  bootOptions: WorkerBootOptions;
  load: Extract<ToWorker, { type: 'load' }>;
  /** Run the guest in the target after the hand-over (false: it was paused). */
  run: boolean;
  /** The source's guest run time so far (the target's counters go on from it). */
  wallMs(): number;
  /** Post to the source worker. */
  send(msg: ToWorker, transfer: Transferable[]): void;
  /** Route the source worker's `migration` messages to `listener`. */
  onSource(listener: (msg: FromWorker) => void): void;
  onRound(round: MigrationRound): void;
  options: MigrateOptions;
}): Promise<{ worker: Worker; summary: MigrationSummary; replay(receive: (msg: FromWorker) => void): void }> {
  const id = nextId++;
  const held: FromWorker[] = [];
  const waiters: { pred: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void }[] = [];
  const fromTarget = (m: FromWorker): void => {
    held.push(m);
    for (const w of waiters.filter((x) => x.pred(m))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  };
  const targetSays = <T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>> =>
    new Promise((resolve) => {
      const m = held.find((x) => x.type === type && 'id' in x && x.id === id);
      if (m) return resolve(m as Extract<FromWorker, { type: T }>);
      waiters.push({ pred: (x) => x.type === type && 'id' in x && x.id === id, resolve: resolve as (m: FromWorker) => void });
    });

  const worker = await bootWorker({ ...o.bootOptions, worker: undefined }, fromTarget);
  try {
    const files = [o.load.bytes, o.load.boot?.initrd?.bytes, o.load.boot?.dtb?.bytes].filter((b): b is ArrayBuffer => b !== undefined);
    worker.postMessage({ ...o.load, id, autostart: false } satisfies ToWorker, files);
    const loaded = await targetSays('loaded');
    if (loaded.error !== undefined) throw new Error(`wasmvisor: migration: the target worker could not load the guest: ${loaded.error}`);

    const channel = new MessageChannel();
    const end = new Promise<{ summary: MigrationSummary } | { error: string }>((resolve) => {
      o.onSource((m) => {
        if (m.type !== 'migration' || m.id !== id) return;
        if (m.round) o.onRound(m.round);
        if (m.end) resolve(m.end);
      });
    });
    worker.postMessage({ type: 'migrate-in', id, port: channel.port2, run: o.run, wallMs: o.wallMs(), at: Date.now() } satisfies ToWorker, [channel.port2]);
    o.send({ type: 'migrate-out', id, port: channel.port1, ...o.options }, [channel.port1]);
    const result = await end;
    if ('error' in result) throw new Error(result.error.startsWith('wasmvisor') ? result.error : `wasmvisor: migration: ${result.error}`);
    const inReply = await targetSays('migrated-in');
    if (inReply.error !== undefined) throw new Error(inReply.error);
    return {
      worker,
      summary: result.summary,
      // What the target said from its migrated-in on (its earlier state and counters are the fresh guest's).
      replay: (receive) => {
        const from = held.indexOf(inReply);
        for (const m of held.slice(from)) receive(m);
        held.length = 0;
        worker.onmessage = (ev: MessageEvent<FromWorker>) => receive(ev.data);
      },
    };
  } catch (e) {
    worker.terminate();
    throw e;
  }
}
