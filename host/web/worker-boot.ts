/**
 * Starting the Worker (worker.ts) for a page handle: createVm (api.ts) and createXenHost
 * (xen-host.ts) both create it, send `init` (the core, guest RAM size, time mode, statistics
 * channel) and wait for `ready`.
 */
import type { FromWorker, ToWorker } from './protocol';

/** What a worker is started with. */
export interface WorkerBootOptions {
  /** The worker script (default: worker.js next to this module). */
  workerUrl?: string | URL;
  /** A Worker on worker.js already started (the demo page starts one before its bundle loads), that has had no message yet. */
  worker?: Worker;
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
  const worker = o.worker ?? new Worker(workerUrl, { type: 'module', name: 'wasmvisor' });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = (ev: MessageEvent<FromWorker>) => {
        if (ev.data.type === 'ready') resolve();
        else if (ev.data.type === 'state' && ev.data.state === 'error') reject(new Error(ev.data.message));
        receive(ev.data);
      };
      // A worker script that cannot be fetched fires a bare error event: name the URL tried.
      worker.onerror = (ev) => reject(new Error(`wasmvisor worker: ${new URL(workerUrl, location.href).href}: ${ev.message || 'failed to load (missing file or not JavaScript?)'}`));
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
