/**
 * The Worker that runs one VM, or one Xen host, for a page (host/web/api.ts and xen-host.ts talk
 * to it; messages in protocol.ts).
 *
 * Two kinds of guest run here unchanged from the CLI: a VM (host/vmm: an S-mode kernel in
 * VS-mode, its exits handled by the TypeScript VMM) and the bare Machine (the image in M-mode).
 * Both run loops execute slices of guest instructions and yield to the event loop every ~20 ms,
 * which is when this worker takes console input, pause/reset requests and statistics samples.
 * The `xen-*` messages make this worker Dom0 of a Xen host instead (xen-dom0.ts: the toolstack
 * and backends of `wasmvisor up`, several DomUs sharing this thread). The page's main thread
 * never runs guest code.
 */
import type { BootOptions } from '../machine/boot-data';
import { Machine } from '../machine/machine';
import { setCoreModule } from '../machine/core';
import { parseImage } from '../machine/loader';
import type { HartState } from '../machine/hart';
import type { LoadedImage, MachineStats, RunResult } from '../machine/types';
import type { ExitStats } from '../vmm/stats';
import { KERNEL_RAW_BASE, Vm, type VmRunResult } from '../vmm/vm';
import type { PagingMode, VirtMode } from '../vmm/virt/technique';
import { COMBOS, comboOptions, isSupported } from '../lab/combos';
import { restoreSnapshot, saveSnapshot } from '../snapshot/snapshot';
import { fillCachedGStage } from './walk-fill';
import { WebDom0 } from './xen-dom0';
import { migrateIn, OutgoingMigration } from './worker-migrate';
import {
  STAT_FIELDS, STAT_SEQ, type BootMessage, type DeviceMessage, type ExitRow, type FromWorker, type ToWorker, type VmCounters, type VmMode,
  type VmState, type WalkSample,
} from './protocol';

const RAM_BASE = 0x8000_0000n;

interface WorkerScope {
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;
const post = (msg: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(msg, transfer);

/** What the worker drives: the bare Machine or a Vm (the same surface the CLI uses). */
interface Guest {
  readonly hart: HartState;
  /** The VMM's exit counts (VM mode only). */
  readonly exits?: ExitStats;
  consoleInput(bytes: Uint8Array): void;
  stop(): void;
  run(): Promise<RunResult & { failure?: string }>;
  stats(): MachineStats;
}

let memSize = 128 << 20;
/** createVm's memSize: a load without its own goes back to it. */
let initMemSize = memSize;
let deterministic = false;
let statsView: Float64Array | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;
let image: LoadedImage | undefined;
let mode: VmMode = 'vm';
let guest: Guest | undefined;
/** The Xen host, when this worker is Dom0 (xen-up) rather than one VM's. */
let dom0: WebDom0 | undefined;
let state: VmState = 'loading';
/** The run loop in progress (resolves when run() returns). */
let running: Promise<void> | undefined;
/** A live migration of this worker's guest to another worker (worker-migrate.ts), while it lasts. */
let migration: OutgoingMigration | undefined;
/** Milliseconds the current guest has run, not counting the run in progress (started at runStart). */
let runMs = 0;
let runStart = 0;
/** Identity of the last walk and exit table sent, so unchanged ones are not sent again. */
let walkKey = '';
let exitsSent = -1;
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

// ---- setImmediate: the run loops yield with it (a Node API); browsers get a MessageChannel ----
// A MessageChannel task is not clamped like setTimeout(0), so the yield costs microseconds.
if (typeof (globalThis as { setImmediate?: unknown }).setImmediate !== 'function') {
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => queue.shift()?.();
  (globalThis as unknown as { setImmediate: (fn: () => void) => void }).setImmediate = (fn) => {
    if (statsView) writeShared(counters());
    queue.push(fn);
    channel.port2.postMessage(0);
  };
}

let lastError: string | undefined;
function setState(s: VmState, extra: { exitCode?: number; message?: string } = {}): void {
  state = s;
  lastError = extra.message;
  post({ type: 'state', state: s, ...extra, at: performance.timeOrigin + performance.now() });
}

/** The hart's last page walk (its walk log) with the translation registers, if it changed. */
function sampleWalk(): WalkSample | undefined {
  if (!guest) return undefined;
  const h = guest.hart;
  const w = h.lastWalk();
  if (!w) return undefined;
  const key = `${w.va}:${w.access}:${w.pa}:${w.faultCause}:${w.steps.map((s) => `${s.kind}${s.pteAddress}`).join()}`;
  if (key === walkKey) return undefined;
  walkKey = key;
  if (!(guest instanceof Vm)) return { ...w, machine: 'bare', satp: h.satp, vsatp: h.vsatp, hgatp: h.hgatp };
  const { vsatp, hgatp } = guest.vmcs;
  const ram = guest.hostRam;
  const read = (hpa: bigint): bigint | undefined => {
    if (hpa < ram.base || hpa + 8n > ram.base + BigInt(ram.size)) return undefined;
    const b = ram.read(hpa, 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  };
  const steps = fillCachedGStage(w.steps, w.va, w.pa, vsatp, hgatp, read);
  return { ...w, steps, machine: 'vm', satp: h.satp, vsatp, hgatp };
}

function counters(): VmCounters | undefined {
  if (!guest) return undefined;
  const s = guest.stats();
  const h = guest.hart;
  const flushes = Number(s.btFlushes);
  if (flushes !== lastFlushes) {
    // The cache was emptied since the last sample: count blocks decoded from here on.
    lastFlushes = flushes;
    missesAtFlush = Number(s.blockMisses);
  }
  const vm = guest instanceof Vm ? guest : undefined;
  return {
    instructions: Number(s.instructions),
    wallMs: runMs + (state === 'running' ? performance.now() - runStart : 0),
    tlbAccesses: Number(s.tlbAccesses),
    tlbMisses: Number(s.tlbMisses),
    pageWalks: Number(h.statWalks),
    pageWalkRefs: Number(h.statWalkRefs),
    walks2d: Number(h.statWalks2d),
    walkRefs2d: Number(h.statWalkRefs2d),
    pwcHits: Number(h.statPwcHits),
    blockHits: Number(s.blockHits),
    blockMisses: Number(s.blockMisses),
    blockChains: Number(s.blockChains),
    btFlushes: flushes,
    codeInvalidations: Number(s.codeInvalidations),
    traps: Number(s.traps),
    interrupts: Number(s.interrupts),
    mmioExits: Number(s.mmioExits),
    haltExits: Number(s.haltExits),
    vmExits: vm ? vm.exits.exits : 0,
    pc: Number(vm ? vm.vmcs.pc : h.pc),
    priv: vm ? Number(vm.vmcs.priv) : h.priv,
    btBlocks: Number(s.blockMisses) - missesAtFlush,
    jitInstructions: Number(s.jit.instructions),
    jitRegions: Number(s.jit.compiles),
    vm: vm ? 1 : 0,
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

/** The VMM's exit rows, when they changed since the last sample. */
function exitRows(): ExitRow[] | undefined {
  const e = guest?.exits;
  if (!e || e.exits === exitsSent) return undefined;
  exitsSent = e.exits;
  return e.rows();
}

/** The technique combination of the next VM (the lab's, host/lab/combos.ts) and the run options it stands for. */
let combo: { id: string; virt?: VirtMode; paging?: PagingMode } = { id: 'hw+nested' };

/** The combination named by a load (default hw+nested), checked by the CLI's own parser; throws if this build lacks it. */
function techniqueOf(id: string | undefined): typeof combo {
  const c = COMBOS.find((x) => x.id === (id ?? 'hw+nested'));
  if (c === undefined) throw new Error(`wasmvisor: unknown technique combination '${id}' (have ${COMBOS.map((x) => x.id).join(', ')})`);
  const o = comboOptions(c, ['image']);
  return { id: c.id, virt: o.virt, paging: o.paging };
}

/** Publish one sample: counters into the shared block (seqlock) or as a message, the rest as a message. */
function publishStats(): void {
  const c = counters();
  if (!c) return;
  const walk = sampleWalk();
  const exits = exitRows();
  const tc = exits && guest instanceof Vm ? guest.vcpu.technique.counters?.() : undefined;
  const technique = tc ? { combo: combo.id, counters: tc } : undefined;
  if (statsView) {
    writeShared(c);
    if (walk || exits) post({ type: 'stats', walk, exits, technique });
  } else {
    post({ type: 'stats', counters: c, walk, exits, technique });
  }
}

/** Run the guest until it exits or is stopped (pause, reset, new image). */
function startRun(): void {
  if (!guest || running) return;
  const g = guest;
  runStart = performance.now();
  setState('running');
  running = (async () => {
    try {
      const r: VmRunResult = await g.run();
      runMs += performance.now() - runStart;
      running = undefined;
      flushOutput();
      if (g !== guest) return;
      // The migration's stop: stop-and-copy, then either the target runs the guest or it runs on here.
      if (r.reason === 'stopped' && migration?.stopWanted) {
        if (await migration.stopAndCopy()) return handedOver();
        if (migration.targetOwns) {
          // COMMIT went and no answer came: the target may run it, so it stays paused here
          // (the source said so on the migration's end; source.ts targetOwns).
          state = 'paused';
          publishStats();
          setState('paused');
          return;
        }
        startRun();
        return;
      }
      migration?.abandon(r.reason === 'exit' ? 'the guest exited first' : 'the guest was paused');
      // The final counters go out before the state, so a page that sees 'paused' or
      // 'exited' already has the numbers that go with it.
      state = r.reason === 'exit' ? 'exited' : 'paused';
      publishStats();
      if (r.reason === 'exit') setState('exited', { exitCode: r.exitCode, message: r.failure });
      else setState('paused');
    } catch (e) {
      running = undefined;
      flushOutput();
      setState('error', { message: e instanceof Error ? e.message : String(e) });
      publishStats();
    }
  })();
}

/** The target runs the guest now: this worker keeps none (the page ends it). */
function handedOver(): void {
  migration = undefined;
  guest = undefined;
  state = 'paused';
}

async function stopRun(): Promise<void> {
  if (!running) return;
  guest?.stop();
  await running;
}

/** The boot options of the current image (--append, --initrd, --dtb of the CLI). */
let bootOptions: BootOptions | undefined;
/** The virtio devices of the current image (--virtio-console, --virtio-rng of the CLI). */
let devices: DeviceMessage = { virtioConsole: false, virtioRng: false, consoleInput: 'uart' };

function bootOptionsOf(m: BootMessage | undefined): BootOptions | undefined {
  if (!m) return undefined;
  const file = (f: { name: string; bytes: ArrayBuffer } | undefined) => (f ? { name: f.name, data: new Uint8Array(f.bytes) } : undefined);
  return { append: m.append, initrd: file(m.initrd), dtb: file(m.dtb) };
}

/** Build a fresh guest for the current image (first load, reset). */
async function boot(autostart: boolean): Promise<void> {
  await stopRun();
  guest = undefined;
  if (!image) return;
  runMs = 0;
  walkKey = '';
  exitsSent = -1;
  missesAtFlush = lastFlushes = 0;
  try {
    // Generated code is compiled in the background (WebAssembly.instantiate), off this thread's run loop.
    const cfg = {
      memSize, kernel: image, boot: bootOptions, deterministic, onConsoleOutput: consoleOutput, jitBackground: true,
      virtioConsole: devices.virtioConsole, virtioRng: devices.virtioRng,
      consoleInput: devices.consoleInput,
    };
    guest = mode === 'vm' ? await Vm.create({ ...cfg, virt: combo.virt, paging: combo.paging }) : await Machine.create(cfg);
  } catch (e) {
    setState('error', { message: e instanceof Error ? e.message : String(e) });
    return;
  }
  // The core records the steps of every page walk; the page draws the last one.
  guest.hart.walkLogOn = true;
  publishStats();
  if (autostart) startRun();
  else setState('paused');
}

/**
 * The core next to this module (what bootWorker sends by default), fetched and compiled as soon
 * as the worker starts, before `init` arrives: the page's own start-up overlaps it. Browsers
 * only (a worker with a location); init with another core does not use it.
 */
const ownCore = typeof location !== 'undefined' && typeof fetch === 'function' ? new URL('./core.wasm', import.meta.url).href : undefined;
const ownCoreModule: Promise<WebAssembly.Module> | undefined = ownCore ? fetchCore(ownCore) : undefined;
ownCoreModule?.catch(() => undefined); // a failure is reported when init asks for it

async function compileCore(core: WebAssembly.Module | ArrayBuffer | string): Promise<WebAssembly.Module> {
  if (core instanceof WebAssembly.Module) return core;
  if (typeof core !== 'string') return WebAssembly.compile(core);
  if (core === ownCore && ownCoreModule) return ownCoreModule;
  return fetchCore(core);
}

async function fetchCore(core: string): Promise<WebAssembly.Module> {
  const res = await fetch(core);
  if (!res.ok) throw new Error(`wasmvisor core: ${core}: HTTP ${res.status}`);
  // Compile while the bytes arrive when the server says application/wasm (compileStreaming
  // refuses anything else); otherwise from the whole buffer.
  if (typeof WebAssembly.compileStreaming === 'function' && res.headers.get('Content-Type') === 'application/wasm') {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}

/** Image fetches of `load` messages that name a URL, started when the message arrived (while an `init` before it compiles the core). */
const imageFetches = new Map<ToWorker, Promise<ArrayBuffer>>();
async function fetchImage(url: string): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`wasmvisor: ${url}: HTTP ${res.status} ${res.statusText}`);
  return res.arrayBuffer();
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init':
      memSize = initMemSize = msg.memSize;
      deterministic = msg.deterministic;
      if (msg.statsBuffer) statsView = new Float64Array(msg.statsBuffer);
      setCoreModule(await compileCore(msg.core));
      statsTimer ??= setInterval(publishStats, msg.statsIntervalMs);
      post({ type: 'ready', combos: COMBOS.map((c) => ({ id: c.id, title: c.title, supported: isSupported(c) })) });
      return;
    case 'load':
      await stopRun();
      dom0?.quit();
      dom0 = undefined;
      setState('loading');
      mode = msg.mode;
      memSize = msg.memSize ?? initMemSize;
      bootOptions = bootOptionsOf(msg.boot);
      devices = msg.devices ?? { virtioConsole: false, virtioRng: false, consoleInput: 'uart' };
      try {
        combo = techniqueOf(msg.combo);
        const fetching = imageFetches.get(msg);
        imageFetches.delete(msg);
        const bytes = typeof msg.bytes === 'string' ? await (fetching ?? fetchImage(msg.bytes)) : msg.bytes;
        // A raw kernel goes where an SBI firmware would leave it (VM), or at the RAM base (bare).
        image = parseImage(new Uint8Array(bytes), msg.name, mode === 'vm' ? KERNEL_RAW_BASE : RAM_BASE);
      } catch (e) {
        image = undefined;
        guest = undefined;
        const message = e instanceof Error ? e.message : String(e);
        setState('error', { message });
        post({ type: 'loaded', id: msg.id, error: message });
        return;
      }
      await boot(msg.autostart);
      post({ type: 'loaded', id: msg.id, error: state === 'error' ? lastError : undefined });
      return;
    case 'input':
      guest?.consoleInput(msg.bytes);
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
    case 'save': {
      // A snapshot is taken between run() calls (host/snapshot/snapshot.ts): pause, save, go on.
      const wasRunning = running !== undefined;
      try {
        if (!guest) throw new Error('wasmvisor: cannot save: no guest is loaded');
        await stopRun();
        const bytes = saveSnapshot(guest as Machine | Vm);
        post({ type: 'saved', id: msg.id, bytes: bytes.buffer as ArrayBuffer }, [bytes.buffer as ArrayBuffer]);
      } catch (e) {
        post({ type: 'saved', id: msg.id, error: e instanceof Error ? e.message : String(e) });
      }
      if (wasRunning && guest) startRun();
      return;
    }
    case 'restore':
      if (!image) { post({ type: 'restored', id: msg.id, error: `wasmvisor: ${msg.name}: load the guest the snapshot was taken of first` }); return; }
      await boot(false);
      try {
        if (!guest) throw new Error(lastError ?? `wasmvisor: ${msg.name}: the guest did not build`);
        restoreSnapshot(guest as Machine | Vm, new Uint8Array(msg.bytes), msg.name);
      } catch (e) {
        // Checked before anything changed: the fresh guest stays, paused at its start.
        post({ type: 'restored', id: msg.id, error: e instanceof Error ? e.message : String(e) });
        return;
      }
      walkKey = '';
      exitsSent = -1;
      publishStats();
      post({ type: 'restored', id: msg.id });
      if (msg.autostart) startRun();
      return;
    case 'migrate-out':
      try {
        if (migration && !migration.done) throw new Error('wasmvisor: cannot migrate: a migration is in progress');
        if (state !== 'running' && state !== 'paused') throw new Error(`wasmvisor: cannot migrate: the guest is ${state}`);
        const host = {
          get guest() { return guest as Machine | Vm | undefined; },
          get running() { return running !== undefined; },
          stop: () => guest?.stop(),
          handedOver,
          post,
        };
        const m = new OutgoingMigration(host, msg.id, msg.port, msg);
        migration = m;
        m.start();
      } catch (e) {
        msg.port.close();
        post({ type: 'migration', id: msg.id, end: { error: e instanceof Error ? e.message : String(e) } });
      }
      return;
    case 'migrate-in':
      try {
        const got = await migrateIn(guest as Machine | Vm | undefined, msg.port);
        // (the guest ran in the source meanwhile, unless it was paused: an estimate, never short)
        runMs = msg.wallMs + (msg.run ? Math.max(0, Date.now() - msg.at) : 0);
        walkKey = '';
        exitsSent = -1;
        publishStats();
        post({ type: 'migrated-in', id: msg.id, ...got });
      } catch (e) {
        post({ type: 'migrated-in', id: msg.id, error: e instanceof Error ? e.message : String(e) });
        return;
      }
      if (msg.run) startRun();
      return;
    case 'xen-up':
      await stopRun();
      guest = undefined;
      image = undefined;
      dom0?.quit();
      dom0 = new WebDom0({ post, deterministic });
      await dom0.up(msg);
      return;
    case 'xen-run':
      dom0?.start();
      return;
    case 'xen-xl':
      try {
        if (!dom0) throw new Error('xl: no Xen host is running in this worker');
        post({ type: 'xen-reply', id: msg.id, ring: await dom0.command(msg.command, msg.domain) });
      } catch (e) {
        post({ type: 'xen-reply', id: msg.id, error: e instanceof Error ? e.message : String(e) });
      }
      return;
  }
}

// Messages are handled one at a time, in order (a reset must not overtake the load before it).
let chain: Promise<void> = Promise.resolve();
scope.onmessage = (ev) => {
  const msg = ev.data;
  // Input goes straight in: it must not wait behind a pause or a reset.
  if (msg.type === 'input') { guest?.consoleInput(msg.bytes); return; }
  if (msg.type === 'xen-input') { dom0?.input(msg.domain, msg.bytes); return; }
  if (msg.type === 'load' && typeof msg.bytes === 'string') {
    const f = fetchImage(msg.bytes);
    f.catch(() => undefined); // reported by the load
    imageFetches.set(msg, f);
  }
  chain = chain.then(() => handle(msg)).catch((e) => {
    setState('error', { message: e instanceof Error ? e.message : String(e) });
  });
};
