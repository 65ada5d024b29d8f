/**
 * The demo page's bootstrap: scripts/build-web.mjs bundles it and inlines it at the top of
 * index.html's <head>, so it runs as the document starts to parse, before the stylesheets and
 * demo.js (the terminal, charts and panels, 650 KB) have loaded.
 *
 * It starts the VM's Worker and sends it `init` (the worker fetches and compiles the core) and,
 * when the address names a guest the page loads by itself (not Linux, which needs its
 * initramfs, nor a Xen host), a `load` of that guest by URL: the worker fetches the image and
 * starts the guest without waiting for the page. bench/browser.ts measured the page without
 * this: the Worker could not start while the main thread evaluated demo.js, and the guest's
 * first instruction came 400-600 ms after DOMContentLoaded. demo/main.ts takes the worker over
 * with createVm({ started }) and adopts the load (Vm.adopt: the guest's output and states,
 * held until then, go to the terminal as if it had loaded the guest itself).
 *
 * It also fetches the guest list and the first guest's image for the page (the picker, and the
 * bytes the page keeps for migration), and runs demo.js (index.html preloads it) once the
 * Worker has answered: messages posted to a Worker before its thread runs are handed to it by
 * the page's main thread, which, busy evaluating demo.js, held them back 400-500 ms in a trace
 * (bench/browser.ts, docs/performance.md).
 */
import { STAT_BLOCK_BYTES, type FromWorker } from '../protocol';
import type { LoadMessage, StartedWorker } from '../worker-boot';
import { firstGuest, LINUX_GUEST } from './guest-mode';

/** What the bootstrap leaves for demo/main.ts (globalThis.wasmvisorBoot). */
export interface DemoBoot {
  started: StartedWorker;
  /** guests/index.json. */
  list: Promise<Response>;
  /** The first guest (not with ?xen) and its image, fetched by the page. */
  guest?: string;
  image?: Promise<ArrayBuffer | undefined>;
}

/** Statistics samples per second's interval: createVm's default. */
const STATS_INTERVAL_MS = 100;
/** Guest RAM: createVm's default. */
const MEM_SIZE = 128 << 20;

/** demo.js runs this long after the bootstrap at the latest, answer from the Worker or not. */
const DEMO_AT_LATEST_MS = 3000;

let demoAdded = false;
/** Add demo.js's script (once), when the document has been parsed (its code looks elements up). */
function runDemo(): void {
  if (demoAdded) return;
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', runDemo, { once: true });
    return;
  }
  demoAdded = true;
  const s = document.createElement('script');
  s.type = 'module';
  s.src = 'demo.js';
  document.head.append(s);
}

function boot(): DemoBoot {
  const params = new URLSearchParams(location.search);
  const worker = new Worker('worker.js', { type: 'module', name: 'wasmvisor' });
  // As createVm: counters through shared memory when the page is cross-origin isolated, unless
  // ?stats=messages asks for the message path.
  const shared = params.get('stats') !== 'messages' && globalThis.crossOriginIsolated === true;
  const started: StartedWorker = {
    worker,
    init: {
      type: 'init',
      core: new URL('core.wasm', location.href).href,
      memSize: MEM_SIZE,
      deterministic: false,
      statsBuffer: shared ? new SharedArrayBuffer(STAT_BLOCK_BYTES) : undefined,
      statsIntervalMs: STATS_INTERVAL_MS,
    },
    received: [],
  };
  worker.onmessage = (ev: MessageEvent<FromWorker>) => { started.received.push(ev.data); runDemo(); };
  worker.onerror = (ev) => { started.failed = ev.message; runDemo(); };
  // (a worker that neither answers nor fails still gets its page)
  setTimeout(runDemo, DEMO_AT_LATEST_MS);
  worker.postMessage(started.init);
  const first = firstGuest(params);
  if (first && first.path !== LINUX_GUEST) {
    // As Vm.load of demo/main.ts's first select(): technique hw+nested, the default devices.
    const load: LoadMessage = {
      type: 'load', id: 1, name: first.path, bytes: new URL(`guests/${first.path}`, location.href).href, autostart: true,
      mode: first.mode, combo: 'hw+nested', devices: { virtioConsole: false, virtioRng: false, consoleInput: 'uart' },
    };
    worker.postMessage(load);
    started.load = load;
  }
  const image = first && fetch(`guests/${first.path}`).then((r) => (r.ok ? r.arrayBuffer() : undefined), () => undefined);
  return { started, list: fetch('guests/index.json'), guest: first?.path, image };
}

(globalThis as { wasmvisorBoot?: DemoBoot }).wasmvisorBoot = boot();
