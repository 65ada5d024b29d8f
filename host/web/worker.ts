/**
 * The Worker that runs one VM for a page (host/web/api.ts talks to it; messages in protocol.ts).
 *
 * The bare Machine runs here unchanged: its run loop executes slices of guest instructions
 * and yields to the event loop every ~20 ms, which is when this worker takes console input,
 * pause/reset requests and statistics samples. The page's main thread never runs guest code.
 */
import { Machine } from '../machine/machine';
import { setCoreModule } from '../machine/core';
import { parseImage } from '../machine/loader';
import type { LoadedImage } from '../machine/types';
import { walkPageTables, type PageWalk } from './walk';
import { STAT_FIELDS, STAT_SEQ, type FromWorker, type ToWorker, type VmCounters, type VmState } from './protocol';

const RAM_BASE = 0x8000_0000n;

interface WorkerScope {
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;
const post = (msg: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(msg, transfer);

let memSize = 128 << 20;
let deterministic = false;
let statsView: Float64Array | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;
let image: LoadedImage | undefined;
let machine: Machine | undefined;
let state: VmState = 'loading';
/** The run loop in progress (resolves when Machine.run returns). */
let running: Promise<void> | undefined;
/** Milliseconds the current guest has run, not counting the run in progress (started at runStart). */
let runMs = 0;
let runStart = 0;
let lastWalk: PageWalk | undefined;
let walkSent: PageWalk | undefined;
let missesAtFlush = 0;
let lastFlushes = 0;

// ---- the console: bytes batched and posted at the next yield of the run loop ----
let out: number[] = [];
function consoleOutput(bytes: Uint8Array): void {
  if (out.length === 0) queueMicrotask(flushOutput);
  for (const b of bytes) out.push(b);
}
function flushOutput(): void {
  if (out.length === 0) return;
  const bytes = Uint8Array.from(out);
  out = [];
  post({ type: 'output', bytes }, [bytes.buffer]);
}

// ---- setImmediate: the Machine yields with it (a Node API); browsers get a MessageChannel ----
// A MessageChannel task is not clamped like setTimeout(0), so the yield costs microseconds.
// Each yield is also where the page-walk view samples the hart (it is between slices there).
if (typeof (globalThis as { setImmediate?: unknown }).setImmediate !== 'function') {
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => queue.shift()?.();
  (globalThis as unknown as { setImmediate: (fn: () => void) => void }).setImmediate = (fn) => {
    sampleWalk();
    if (statsView) writeShared(counters());
    queue.push(fn);
    channel.port2.postMessage(0);
  };
}

let lastError: string | undefined;
function setState(s: VmState, extra: { exitCode?: number; message?: string } = {}): void {
  state = s;
  lastError = extra.message;
  post({ type: 'state', state: s, ...extra });
}

/** Remember the translation of the current pc when the guest runs translated (S/U with satp on). */
function sampleWalk(): void {
  if (!machine) return;
  const h = machine.hart;
  const satp = h.satp;
  if (h.priv === 3 || satp >> 60n === 0n) return;
  const mem = machine.memory;
  lastWalk = walkPageTables(satp, h.pc, h.priv, (pa) => {
    if (pa < RAM_BASE || pa + 8n > RAM_BASE + BigInt(memSize)) return undefined;
    const b = mem.read(pa, 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  });
}

function counters(): VmCounters | undefined {
  if (!machine) return undefined;
  const s = machine.stats();
  const h = machine.hart;
  const flushes = Number(s.btFlushes);
  if (flushes !== lastFlushes) {
    // The cache was emptied since the last sample: count blocks decoded from here on.
    lastFlushes = flushes;
    missesAtFlush = Number(s.blockMisses);
  }
  return {
    instructions: Number(s.instructions),
    wallMs: runMs + (state === 'running' ? performance.now() - runStart : 0),
    tlbAccesses: Number(s.tlbAccesses),
    tlbMisses: Number(s.tlbMisses),
    pageWalks: Number(s.pageWalks),
    pageWalkRefs: Number(s.pageWalkRefs),
    blockHits: Number(s.blockHits),
    blockMisses: Number(s.blockMisses),
    blockChains: Number(s.blockChains),
    btFlushes: flushes,
    codeInvalidations: Number(s.codeInvalidations),
    traps: Number(s.traps),
    interrupts: Number(s.interrupts),
    mmioExits: Number(s.mmioExits),
    haltExits: Number(s.haltExits),
    pc: Number(h.pc),
    priv: h.priv,
    btBlocks: Number(s.blockMisses) - missesAtFlush,
  };
}

/** Write counters into the shared block under its seqlock (odd sequence: a write in progress). */
function writeShared(c: VmCounters | undefined): void {
  const v = statsView;
  if (!v || !c) return;
  v[STAT_SEQ]++;
  STAT_FIELDS.forEach((k, i) => { v[i] = c[k]; });
  v[STAT_SEQ]++;
}

/** Publish one sample: into the shared block (seqlock), or as a message. */
function publishStats(): void {
  const c = counters();
  if (!c) return;
  const walk = lastWalk !== walkSent ? lastWalk : undefined;
  walkSent = lastWalk;
  if (statsView) {
    writeShared(c);
    if (walk) post({ type: 'stats', walk });
  } else {
    post({ type: 'stats', counters: c, walk });
  }
}

/** Run the machine until it exits or is stopped (pause, reset, new image). */
function startRun(): void {
  if (!machine || running) return;
  const m = machine;
  runStart = performance.now();
  setState('running');
  running = (async () => {
    try {
      const r = await m.run();
      runMs += performance.now() - runStart;
      running = undefined;
      flushOutput();
      if (m !== machine) return;
      // The final counters go out before the state, so a page that sees 'paused' or
      // 'exited' already has the numbers that go with it.
      state = r.reason === 'exit' ? 'exited' : 'paused';
      publishStats();
      if (r.reason === 'exit') setState('exited', { exitCode: r.exitCode });
      else setState('paused');
    } catch (e) {
      running = undefined;
      flushOutput();
      setState('error', { message: e instanceof Error ? e.message : String(e) });
      publishStats();
    }
  })();
}

async function stopRun(): Promise<void> {
  if (!running) return;
  machine?.stop();
  await running;
}

/** Build a fresh machine for the current image (first load, reset). */
async function boot(autostart: boolean): Promise<void> {
  await stopRun();
  machine = undefined;
  if (!image) return;
  runMs = 0;
  lastWalk = walkSent = undefined;
  missesAtFlush = lastFlushes = 0;
  try {
    machine = await Machine.create({ memSize, kernel: image, deterministic, onConsoleOutput: consoleOutput });
  } catch (e) {
    setState('error', { message: e instanceof Error ? e.message : String(e) });
    return;
  }
  publishStats();
  if (autostart) startRun();
  else setState('paused');
}

async function compileCore(core: WebAssembly.Module | ArrayBuffer | string): Promise<WebAssembly.Module> {
  if (core instanceof WebAssembly.Module) return core;
  if (typeof core !== 'string') return WebAssembly.compile(core);
  const res = await fetch(core);
  if (!res.ok) throw new Error(`wasmvisor core: ${core}: HTTP ${res.status}`);
  return WebAssembly.compile(await res.arrayBuffer());
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init':
      memSize = msg.memSize;
      deterministic = msg.deterministic;
      if (msg.statsBuffer) statsView = new Float64Array(msg.statsBuffer);
      setCoreModule(await compileCore(msg.core));
      statsTimer ??= setInterval(publishStats, msg.statsIntervalMs);
      post({ type: 'ready' });
      return;
    case 'load':
      await stopRun();
      setState('loading');
      try {
        image = parseImage(new Uint8Array(msg.bytes), msg.name, RAM_BASE);
      } catch (e) {
        image = undefined;
        machine = undefined;
        const message = e instanceof Error ? e.message : String(e);
        setState('error', { message });
        post({ type: 'loaded', id: msg.id, error: message });
        return;
      }
      await boot(msg.autostart);
      post({ type: 'loaded', id: msg.id, error: state === 'error' ? lastError : undefined });
      return;
    case 'input':
      machine?.consoleInput(msg.bytes);
      return;
    case 'pause':
      await stopRun();
      return;
    case 'resume':
      if (state === 'paused') startRun();
      return;
    case 'reset':
      await boot(state === 'running' || state === 'exited' || state === 'error');
      return;
  }
}

// Messages are handled one at a time, in order (a reset must not overtake the load before it).
let chain: Promise<void> = Promise.resolve();
scope.onmessage = (ev) => {
  const msg = ev.data;
  // Input goes straight in: it must not wait behind a pause or a reset.
  if (msg.type === 'input') { machine?.consoleInput(msg.bytes); return; }
  chain = chain.then(() => handle(msg)).catch((e) => {
    setState('error', { message: e instanceof Error ? e.message : String(e) });
  });
};
