/**
 * Starting the Worker (worker.ts) for a page handle: createVm (api.ts) and createXenHost
 * (xen-host.ts) both create it, send `init` (the core, guest RAM size, time mode, statistics
 * channel) and wait for `ready`.
 */
import type { FromWorker, ToWorker } from './protocol';

/** The init message. */
export type InitMessage = Extract<ToWorker, { type: 'init' }>;
/** The load message. */
export type LoadMessage = Extract<ToWorker, { type: 'load' }>;

/**
 * A worker that a page started, and sent its `init` (and perhaps a first `load`), before the
 * code that makes its handle had loaded (the demo page's bootstrap, demo/boot.ts). Until a
 * handle takes it, its messages are kept in `received`.
 */
export interface StartedWorker {
  worker: Worker;
  /** The init it was sent. */
  init: InitMessage;
  /** What it sent so far, oldest first (the starter's onmessage appends; bootWorker takes over). */
  received: FromWorker[];
  /** The message of an error event it fired (its script did not load). */
  failed?: string;
  /** The first load, sent by the starter: `bytes` is the image's URL (the worker fetches it). */
  load?: LoadMessage;
}

/** What a worker is started with. */
export interface WorkerBootOptions {
  /** The worker script (default: worker.js next to this module). */
  workerUrl?: string | URL;
  /** A Worker on worker.js already started (the demo page starts one before its bundle loads), that has had no message yet. */
  worker?: Worker;
  /** A worker already started and sent its init (no other is started, no init sent). */
  started?: StartedWorker;
  /** The core: build/core.wasm as a URL, bytes or compiled module (default: core.wasm next to this module). */
  core?: string | URL | ArrayBuffer | WebAssembly.Module;
  memSize: number;
  deterministic: boolean;
  statsBuffer?: SharedArrayBuffer;
  statsIntervalMs: number;
}

/**
 * Start a worker; resolves once it is ready (rejects, and ends it, if it fails to start). Every
 * message it sends, from the first, goes to `receive`.
 */
export async function bootWorker(o: WorkerBootOptions, receive: (msg: FromWorker) => void): Promise<Worker> {
  const workerUrl = o.workerUrl ?? new URL('./worker.js', import.meta.url);
  let core = o.core ?? new URL('./core.wasm', import.meta.url);
  if (core instanceof URL) core = core.href;
  else if (typeof core === 'string') core = new URL(core, location.href).href;
  const started = o.started;
  const worker = started?.worker ?? o.worker ?? new Worker(workerUrl, { type: 'module', name: 'wasmvisor' });
  try {
    await new Promise<void>((resolve, reject) => {
      const got = (msg: FromWorker): void => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'state' && msg.state === 'error') reject(new Error(msg.message));
        receive(msg);
      };
      worker.onmessage = (ev: MessageEvent<FromWorker>) => got(ev.data);
      // A worker script that cannot be fetched fires a bare error event: name the URL tried.
      const failed = (message: string | undefined): void => reject(new Error(`wasmvisor worker: ${new URL(workerUrl, location.href).href}: ${message || 'failed to load (missing file or not JavaScript?)'}`));
      worker.onerror = (ev) => failed(ev.message);
      if (started) {
        for (const msg of started.received.splice(0)) got(msg);
        if (started.failed !== undefined) failed(started.failed);
        return;
      }
      const init: ToWorker = {
        type: 'init',
        core: core as string | ArrayBuffer | WebAssembly.Module,
        memSize: o.memSize,
        deterministic: o.deterministic,
        statsBuffer: o.statsBuffer,
        statsIntervalMs: o.statsIntervalMs,
      };
      worker.postMessage(init);
    });
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return worker;
}
