/**
 * wasmvisor in a web page: `createVm()` starts a VM in a dedicated Worker and returns a handle
 * with the guest console as a byte stream, a statistics stream and run controls.
 *
 *   const vm = await createVm({ image: '/guests/minikernel.elf' });   // an S-mode kernel, as a VM
 *   vm.console.readable.pipeTo(new WritableStream({ write: (b) => term.write(b) }));
 *   term.onData((s) => vm.console.write(s));
 *
 * By default the image is an S-mode kernel run as a virtual machine (VS-mode under the
 * TypeScript VMM, SBI answered by the VMM), as `wasmvisor run`; `mode: 'bare'` runs it on the
 * bare board in M-mode, as `wasmvisor run --bare`.
 *
 * Guest code never runs on the page's thread. When the page is cross-origin isolated
 * (COOP: same-origin, COEP: require-corp) the worker writes its counters into a
 * SharedArrayBuffer that `readCounters()` reads directly; otherwise they arrive as messages.
 *
 * `createXenHost()` (xen-host.ts, exported from here) starts a Xen host instead: Dom0 in the
 * worker with the DomUs of a HOST.cfg, as `wasmvisor up`, each with its memory-backed disks,
 * vifs on the host's bridges and its PV console:
 *
 *   const host = await createXenHost({ config: '/guests/xen/demo.cfg' });
 *   void host.console('domu1').readable.pipeTo(new WritableStream({ write: (b) => term.write(b) }));
 *   term.onData((s) => host.write('domu1', s));        // into domu1's PV console (xl console)
 *   host.addEventListener('domains', () => table.textContent = host.xlList());
 */
import {
  STAT_BLOCK_BYTES, STAT_FIELDS, STAT_SEQ, type BootMessage, type ComboInfo, type ExitRow, type FromWorker, type TechniqueCounters,
  type ToWorker, type VmCounters, type VmMode, type VmState, type WalkSample, type MigrationSummary,
} from './protocol';
import { untilState } from './until-state';
import { bootWorker, type LoadMessage, type StartedWorker, type WorkerBootOptions } from './worker-boot';
import { migrateWorker, type MigrateOptions } from './migrate';

export { createXenHost, XenHost, type XenConsole, type XenHostOptions } from './xen-host';
export type { DomainEnd, XenConsoleRing, XenDomainInfo, XlListRow, XlStateFlags } from './protocol';

export type { MigrateOptions } from './migrate';
export type { MigrationRound, MigrationSummary } from './protocol';
export type { ComboInfo, ExitRow, PageWalk, TechniqueCounters, VmCounters, VmMode, VmState, WalkSample, WalkStep, WalkStepKind } from './protocol';

/** A guest image: a URL to fetch, or the bytes of an ELF64 RISC-V file (or a raw binary: see VmOptions.mode). */
export type ImageSource = string | URL | Uint8Array | ArrayBuffer;

/** Options of createVm. */
export interface VmOptions {
  /** Guest to load (and start, unless autostart is false). Without it, call load() later. */
  image?: ImageSource;
  /**
   * 'vm' (default): the image is an S-mode kernel (ELF, or raw at 0x80200000) run in VS-mode
   * by the VMM. 'bare': the bare board, the image (ELF, or raw at 0x80000000) entered in M-mode.
   */
  mode?: VmMode;
  /** VM mode: the technique combination to run under (one of Vm.combos' ids; default hw+nested). */
  combo?: string;
  /** Name used in error messages about the image (default: the URL's file name, or "image"). */
  name?: string;
  /** Start running as soon as the image is loaded (default true). */
  autostart?: boolean;
  /** Guest RAM in bytes (default 128 MiB, as the CLI). */
  memSize?: number;
  /** Kernel command line: the device tree's /chosen bootargs (the CLI's --append). */
  append?: string;
  /** Initial ramdisk (URL or bytes), loaded where QEMU's virt puts it (the CLI's --initrd). */
  initrd?: ImageSource;
  /** A device tree blob (URL or bytes) used instead of the generated one (the CLI's --dtb; not with append or initrd). */
  dtb?: ImageSource;
  /**
   * A virtio console (slot 2) whose output joins the UART's on `console` (the CLI's
   * --virtio-console). Default false.
   */
  virtioConsole?: boolean;
  /** Where `console.write` sends typed input: 'uart' (default) or 'virtio' (the virtio console; the CLI's --console-input). */
  consoleInput?: 'uart' | 'virtio';
  /** A virtio entropy device (slot 3) fed by the browser's crypto.getRandomValues (the CLI's --virtio-rng). Default false. */
  virtioRng?: boolean;
  /** Time derived from retired instructions only (reproducible runs). Default false. */
  deterministic?: boolean;
  /** The worker script (default: worker.js next to this module). */
  workerUrl?: string | URL;
  /** The core: build/core.wasm as a URL, bytes or compiled module (default: core.wasm next to this module). */
  core?: string | URL | ArrayBuffer | WebAssembly.Module;
  /** A Worker on worker.js started earlier and not yet messaged (default: a new one). */
  worker?: Worker;
  /**
   * @internal A worker a page's bootstrap started and sent its init (and perhaps a first load)
   * before this module loaded (demo/boot.ts): its init's memSize, deterministic, statistics
   * buffer and interval stand instead of the options'. The messages of its first load wait
   * until adopt() (or go, unread, with the next load()).
   */
  started?: StartedWorker;
  /** Share counters through a SharedArrayBuffer (default: when the page is cross-origin isolated). */
  shared?: boolean;
  /** Milliseconds between statistics samples (default 100: ten a second). */
  statsIntervalMs?: number;
}

/** One statistics sample with the rates a person wants to see. */
export interface VmStats {
  counters: VmCounters;
  /** Instructions retired per second of guest run time since the previous sample (0 when not running). */
  instructionsPerSecond: number;
  /** TLB hits / accesses, 0..1 (NaN before the first access). */
  tlbHitRate: number;
  /** Mean PTE reads per one-dimensional / two-dimensional walk (NaN before the first). */
  refsPerWalk1d: number;
  refsPerWalk2d: number;
  /** BT cache hits / lookups, 0..1 (NaN before the first lookup). */
  blockHitRate: number;
  /** Whether the guest runs as a VM (VS-mode under the VMM) or on the bare board. */
  mode: VmMode;
  /**
   * Exits to the host by reason, most frequent first. VM mode: the VMM's VM exits (count, share,
   * mean host time, as `--stats` prints them). Bare: the hart's MMIO and WFI exits (meanNs NaN).
   */
  exits: ExitRow[];
  /** The hart's last page walk (its walk log) when the sample was taken, if any yet. */
  walk?: WalkSample;
  /** VM mode: the technique combination the guest runs under (ComboInfo.id) and its technique's counters. */
  combo?: string;
  technique?: TechniqueCounters;
}

/** The guest console: output as a byte stream, input as writes. */
export interface VmConsole {
  /** Bytes the guest writes to its UART. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Send keys to the guest's UART (strings are UTF-8 encoded). */
  write(data: string | Uint8Array): void;
}

/** A running (or paused) VM in a Worker. Events: 'state' and 'stats' (CustomEvent, detail as below). */
export class Vm extends EventTarget {
  /** The guest console. */
  readonly console: VmConsole;
  /** Statistics samples, about ten a second (when nobody reads, old samples are dropped). */
  readonly stats: ReadableStream<VmStats>;
  /** True when counters come through shared memory rather than messages. */
  readonly shared: boolean;
  /** How the current guest runs (the mode of the last load). */
  mode: VmMode;
  /** The techniques lab's combinations (--virt and --paging) and which of them this build runs. */
  combos: ComboInfo[] = [];
  /** The combination of the last VM-mode load (ComboInfo.id). */
  combo = 'hw+nested';
  /** Run state: loading, running, paused, exited or error. */
  state: VmState = 'loading';
  /** The guest's exit code once state is 'exited'. */
  exitCode: number | undefined;
  /** The error message once state is 'error', or why the VMM stopped the guest ('exited'). */
  error: string | undefined;
  /** When the page first saw each state (performance.now(), ms after navigation start): bench/browser.ts's breakdown. */
  readonly stateTimes: Partial<Record<VmState, number>> = {};
  /** When the worker first entered each state, on the page's clock (ms after navigation start): the time its messages took to be seen is the difference. */
  readonly workerStateTimes: Partial<Record<VmState, number>> = {};

  private worker: Worker;
  private statsView: Float64Array | undefined;
  /** @internal How createVm started the worker (migrate() starts the target alike). */
  bootOptions: Omit<WorkerBootOptions, 'worker' | 'statsBuffer'> | undefined;
  /** @internal The last load, with its own copies of the files (migrate() loads the target with it). */
  lastLoad: Extract<ToWorker, { type: 'load' }> | undefined;
  private latest: VmCounters | undefined;
  private walk: WalkSample | undefined;
  private exitRows: ExitRow[] = [];
  private technique: { combo: string; counters: TechniqueCounters } | undefined;
  private prev: { instructions: number; wallMs: number; ips: number } | undefined;
  /** The state and counters of the last sample emitted (repeatsIdle). */
  private emitted: { state: VmState; wallMs: number; instructions: number } | undefined;
  private outCtl!: ReadableStreamDefaultController<Uint8Array>;
  private statsCtl!: ReadableStreamDefaultController<VmStats>;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private readonly encoder = new TextEncoder();
  private loads = 0;
  private readonly pendingLoads = new Map<number, (error: string | undefined) => void>();
  private readonly pendingSnaps = new Map<number, (reply: { bytes?: ArrayBuffer; error?: string }) => void>();

  /** @internal Use createVm(). */
  constructor(worker: Worker, statsBuffer: SharedArrayBuffer | undefined, private readonly intervalMs: number, mode: VmMode) {
    super();
    this.mode = mode;
    this.worker = worker;
    this.shared = statsBuffer !== undefined;
    this.statsView = statsBuffer && new Float64Array(statsBuffer);
    const readable = new ReadableStream<Uint8Array>({ start: (c) => { this.outCtl = c; } });
    this.console = {
      readable,
      write: (data) => {
        const bytes = typeof data === 'string' ? this.encoder.encode(data) : data;
        this.send({ type: 'input', bytes });
      },
    };
    this.stats = new ReadableStream<VmStats>({ start: (c) => { this.statsCtl = c; } }, { highWaterMark: 4 });
    if (this.shared) {
      this.pollTimer = setInterval(() => {
        const c = this.readCounters();
        if (!this.repeatsIdle(c)) this.emitStats(c);
      }, intervalMs);
    }
  }

  /**
   * A periodic sample (the shared-memory poll, or the worker's counters message) that repeats
   * the last one emitted while the guest does not run (paused, exited, failed): not emitted. The
   * first sample after a state change still goes out (the page shows the run's mean then), and
   * the next one whose counters moved. Ten unchanged samples a second kept an idle demo page's
   * main thread, compositor and Chromium's GPU process at ~40 ms of CPU a second each, measured
   * (docs/performance.md, "The demo page, fifth round").
   */
  private repeatsIdle(c: VmCounters | undefined): boolean {
    const e = this.emitted;
    return c !== undefined && e !== undefined && this.state !== 'running' && e.state === this.state
      && e.wallMs === c.wallMs && e.instructions === c.instructions;
  }

  /** @internal */
  send(msg: ToWorker, transfer: Transferable[] = []): void {
    // Anything sent now supersedes a bootstrap's load not adopted: its messages are dropped.
    this.early = undefined;
    this.worker.postMessage(msg, transfer);
  }

  /** The first load a page's bootstrap sent (createVm's `started`) and its messages, until adopt(). */
  private early: { load: LoadMessage; held: FromWorker[] } | undefined;

  /** @internal Hold the messages of a bootstrap's first load until adopt(). */
  holdEarly(load: LoadMessage): void {
    this.early = { load, held: [] };
    this.loads = Math.max(this.loads, load.id);
  }

  /** @internal The bootstrap's first load, while it can be adopted: its image name, mode and technique. */
  get earlyLoad(): { name: string; mode: VmMode; combo: string | undefined } | undefined {
    const e = this.early;
    return e && { name: e.load.name, mode: e.load.mode, combo: e.load.combo };
  }

  /**
   * @internal Take the bootstrap's first load as this handle's own, as if load() had sent it
   * (`bytes`: the image, for lastLoad), and deliver its messages held so far. Resolves when it
   * is loaded (rejects with its error), as load().
   */
  async adopt(bytes: ArrayBuffer): Promise<void> {
    const e = this.early;
    if (!e) throw new Error('wasmvisor: no early load to adopt');
    this.early = undefined;
    const msg = e.load;
    this.mode = msg.mode;
    this.combo = msg.combo ?? this.combo;
    this.forget();
    const done = new Promise<string | undefined>((resolve) => this.pendingLoads.set(msg.id, resolve));
    this.lastLoad = { ...msg, bytes };
    for (const m of e.held) this.receive(m);
    const error = await done;
    if (error !== undefined) throw new Error(error);
  }

  /** @internal A message from the worker. */
  receive(msg: FromWorker): void {
    if (this.early && msg.type !== 'ready') {
      this.early.held.push(msg);
      return;
    }
    switch (msg.type) {
      case 'migration':
        this.migrationListener?.(msg);
        break;
      case 'output':
        this.outCtl.enqueue(msg.bytes);
        break;
      case 'state':
        // Shared counters: take the sample that goes with this state (the worker wrote it first).
        if (this.shared && msg.state !== 'running') this.emitStats(this.readCounters());
        this.state = msg.state;
        this.stateTimes[msg.state] ??= performance.now();
        if (msg.at !== undefined) this.workerStateTimes[msg.state] ??= msg.at - performance.timeOrigin;
        this.exitCode = msg.exitCode;
        this.error = msg.message;
        this.dispatchEvent(new CustomEvent('state', { detail: { state: msg.state, exitCode: msg.exitCode, message: msg.message } }));
        break;
      case 'stats':
        if (msg.walk) this.walk = msg.walk;
        if (msg.exits) this.exitRows = msg.exits;
        if (msg.technique) this.technique = msg.technique;
        if (msg.counters) {
          if (msg.walk || msg.exits || !this.repeatsIdle(msg.counters)) this.emitStats(msg.counters);
        }
        else if (this.shared && (msg.walk || msg.exits)) this.emitStats(this.readCounters());
        break;
      case 'loaded':
        this.pendingLoads.get(msg.id)?.(msg.error);
        this.pendingLoads.delete(msg.id);
        break;
      case 'saved':
      case 'restored':
        this.pendingSnaps.get(msg.id)?.(msg);
        this.pendingSnaps.delete(msg.id);
        break;
      case 'ready':
        this.combos = msg.combos ?? [];
        break;
    }
  }

  /** The latest counters: read straight from shared memory when shared, else the last message. */
  readCounters(): VmCounters | undefined {
    const v = this.statsView;
    if (!v) return this.latest;
    // Seqlock: retry while the worker is mid-write (odd) or wrote during our copy.
    for (let tries = 0; tries < 100; tries++) {
      const seq = v[STAT_SEQ];
      if (seq === 0) return undefined;
      if (seq % 2 === 1) continue;
      const c = {} as VmCounters;
      STAT_FIELDS.forEach((k, i) => { c[k] = v[i]; });
      if (v[STAT_SEQ] === seq) return c;
    }
    return this.latest;
  }

  private emitStats(c: VmCounters | undefined): void {
    if (!c) return;
    this.latest = c;
    this.emitted = { state: this.state, wallMs: c.wallMs, instructions: c.instructions };
    // The rate over guest run time, both numbers taken by the worker at the same moment. A
    // sample that repeats the previous one (read before the worker wrote again) keeps the rate.
    let ips = 0;
    const p = this.prev;
    if (p && c.wallMs === p.wallMs && this.state === 'running') ips = p.ips;
    else if (p && c.wallMs > p.wallMs && c.instructions >= p.instructions) {
      ips = ((c.instructions - p.instructions) * 1000) / (c.wallMs - p.wallMs);
    }
    if (!p || c.wallMs !== p.wallMs || c.instructions !== p.instructions) this.prev = { instructions: c.instructions, wallMs: c.wallMs, ips };
    const s: VmStats = {
      counters: c,
      instructionsPerSecond: ips,
      tlbHitRate: c.tlbAccesses > 0 ? 1 - c.tlbMisses / c.tlbAccesses : NaN,
      refsPerWalk1d: c.pageWalks > 0 ? c.pageWalkRefs / c.pageWalks : NaN,
      refsPerWalk2d: c.walks2d > 0 ? c.walkRefs2d / c.walks2d : NaN,
      blockHitRate: c.blockHits + c.blockMisses > 0 ? c.blockHits / (c.blockHits + c.blockMisses) : NaN,
      mode: c.vm ? 'vm' : 'bare',
      exits: c.vm ? this.exitRows : bareExits(c),
      walk: this.walk,
      ...(c.vm && this.technique ? { combo: this.technique.combo, technique: this.technique.counters } : {}),
    };
    // Drop samples nobody reads rather than queue them without bound.
    if ((this.statsCtl.desiredSize ?? 0) > 0) this.statsCtl.enqueue(s);
    this.dispatchEvent(new CustomEvent('stats', { detail: s }));
  }

  /**
   * Load a guest image (replacing the current one) and start it unless autostart is false.
   * `mode` defaults to the mode of the previous load (createVm's option at first); `combo`, the
   * technique combination of a VM (one of `combos`), to the previous load's (hw+nested at first).
   */
  async load(image: ImageSource, opts: { name?: string; autostart?: boolean; mode?: VmMode; combo?: string; memSize?: number } & BootSources = {}): Promise<void> {
    this.early = undefined; // a bootstrap's load not adopted is replaced: its messages are dropped
    const bytes = await imageBytes(image);
    const name = opts.name ?? imageName(image);
    const transfer: ArrayBuffer[] = [bytes];
    const file = async (src: ImageSource | undefined, what: string) => {
      if (src === undefined) return undefined;
      const b = await imageBytes(src);
      transfer.push(b);
      return { name: imageName(src, what), bytes: b };
    };
    const boot: BootMessage | undefined = opts.append !== undefined || opts.initrd !== undefined || opts.dtb !== undefined
      ? { append: opts.append, initrd: await file(opts.initrd, 'initrd'), dtb: await file(opts.dtb, 'dtb') }
      : undefined;
    const devices = { virtioConsole: opts.virtioConsole ?? false, virtioRng: opts.virtioRng ?? false, consoleInput: opts.consoleInput ?? 'uart' };
    this.mode = opts.mode ?? this.mode;
    this.combo = opts.combo ?? this.combo;
    this.forget();
    const id = ++this.loads;
    const done = new Promise<string | undefined>((resolve) => this.pendingLoads.set(id, resolve));
    const msg = { type: 'load', id, name, bytes, autostart: opts.autostart ?? true, mode: this.mode, boot, combo: this.combo, devices, memSize: opts.memSize } as const;
    this.lastLoad = { ...msg, bytes: bytes.slice(0), boot: copyBoot(boot) };
    this.send(msg, transfer);
    const error = await done;
    if (error !== undefined) throw new Error(error);
  }

  /** Stop running guest instructions (the state becomes 'paused'). */
  pause(): void { this.send({ type: 'pause' }); }
  /** Continue after pause(). */
  resume(): void { this.send({ type: 'resume' }); }
  /** Reload the image into a fresh machine and start it again. */
  reset(): void { this.forget(); this.send({ type: 'reset' }); }

  /**
   * Save the guest's whole state as a snapshot file's bytes (the CLI's --save-on-exit format,
   * host/snapshot). A running guest is paused for the save and goes on after it.
   */
  async save(): Promise<Uint8Array> {
    const id = ++this.loads;
    const reply = await new Promise<{ bytes?: ArrayBuffer; error?: string }>((resolve) => {
      this.pendingSnaps.set(id, resolve);
      this.send({ type: 'save', id });
    });
    if (reply.error !== undefined || !reply.bytes) throw new Error(reply.error ?? 'wasmvisor: save: no snapshot');
    return new Uint8Array(reply.bytes);
  }

  /**
   * Restore a snapshot (bytes from save() or `--save-on-exit`) into a fresh machine of the
   * current image: load() the same guest, with the same mode, technique and boot options, first.
   * A snapshot that does not match is a one-line error and leaves a fresh, paused guest.
   */
  async restore(snapshot: Uint8Array | ArrayBuffer, opts: { name?: string; autostart?: boolean } = {}): Promise<void> {
    const bytes = snapshot instanceof ArrayBuffer ? snapshot.slice(0) : (snapshot.slice().buffer as ArrayBuffer);
    this.forget();
    const id = ++this.loads;
    const reply = await new Promise<{ error?: string }>((resolve) => {
      this.pendingSnaps.set(id, resolve);
      this.send({ type: 'restore', id, name: opts.name ?? 'snapshot', bytes, autostart: opts.autostart ?? true }, [bytes]);
    });
    if (reply.error !== undefined) throw new Error(reply.error);
  }

  /**
   * Live-migrate the guest to a new Worker (docs/migration.md "In the browser"): the target is
   * started like this one and loaded with the last load's image and options; the guest runs on
   * while pre-copy rounds stream its pages over a MessageChannel, then stops for the last dirty
   * pages and its state, and goes on in the target. This handle then drives the target (console,
   * statistics, controls) and the old worker is ended; the console stream goes on without a gap.
   * Each round is a 'migration' event (detail: { round }); resolves with the summary, or rejects
   * with the one-line reason, the guest running on here.
   */
  async migrate(opts: MigrateOptions = {}): Promise<MigrationSummary> {
    if (!this.bootOptions || !this.lastLoad) throw new Error('wasmvisor: cannot migrate: no guest is loaded');
    // (the source worker checks again; this saves starting a target for nothing)
    if (this.state !== 'running' && this.state !== 'paused') throw new Error(`wasmvisor: cannot migrate: the guest is ${this.state}`);
    const statsBuffer = this.shared ? new SharedArrayBuffer(STAT_BLOCK_BYTES) : undefined;
    const { worker, summary, replay } = await migrateWorker({
      bootOptions: { ...this.bootOptions, statsBuffer },
      load: { ...this.lastLoad, bytes: this.lastLoad.bytes.slice(0), boot: copyBoot(this.lastLoad.boot) },
      run: this.state !== 'paused',
      wallMs: () => this.readCounters()?.wallMs ?? 0,
      send: (msg, transfer) => this.send(msg, transfer),
      onSource: (listener) => (this.migrationListener = listener),
      onRound: (round) => this.dispatchEvent(new CustomEvent('migration', { detail: { round } })),
      options: opts,
    });
    this.migrationListener = undefined;
    // The switch: the old worker's last output came before its summary; the target's follows.
    this.worker.terminate();
    this.worker = worker;
    this.statsView = statsBuffer && new Float64Array(statsBuffer);
    this.forget();
    replay((msg) => this.receive(msg));
    return summary;
  }

  private migrationListener: ((msg: FromWorker) => void) | undefined;

  /** Drop what belonged to the previous guest (rates, walk, exit rows). */
  private forget(): void {
    this.prev = undefined;
    this.walk = undefined;
    this.exitRows = [];
    this.technique = undefined;
  }

  /** Resolves when the state satisfies `pred` (immediately if it already does). */
  until(pred: (s: VmState) => boolean): Promise<VmState> {
    return untilState(this, pred);
  }

  /** End the worker and close the streams. The handle is unusable afterwards. */
  terminate(): void {
    this.worker.terminate();
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    try { this.outCtl.close(); } catch { /* already closed */ }
    try { this.statsCtl.close(); } catch { /* already closed */ }
  }
}

/** The bare machine's exits to the host as rows (it has no VMM: no host time is measured). */
function bareExits(c: VmCounters): ExitRow[] {
  const total = c.mmioExits + c.haltExits;
  const row = (reason: string, count: number): ExitRow => ({ reason, count, share: total > 0 ? (count / total) * 100 : 0, meanNs: NaN });
  return [row('MMIO', c.mmioExits), row('WFI (halt)', c.haltExits)];
}

async function imageBytes(image: ImageSource): Promise<ArrayBuffer> {
  if (image instanceof ArrayBuffer) return image.slice(0);
  if (image instanceof Uint8Array) return image.slice().buffer as ArrayBuffer;
  const res = await fetch(image);
  if (!res.ok) throw new Error(`wasmvisor: ${String(image)}: HTTP ${res.status} ${res.statusText}`);
  return res.arrayBuffer();
}

function imageName(image: ImageSource, dflt = 'image'): string {
  if (typeof image === 'string' || image instanceof URL) {
    const path = String(image).split(/[?#]/)[0];
    return path.slice(path.lastIndexOf('/') + 1) || dflt;
  }
  return dflt;
}

/** The boot files of a load message, copied (a message's buffers are transferred). */
function copyBoot(b: BootMessage | undefined): BootMessage | undefined {
  if (!b) return undefined;
  const file = (f: { name: string; bytes: ArrayBuffer } | undefined) => (f ? { name: f.name, bytes: f.bytes.slice(0) } : undefined);
  return { append: b.append, initrd: file(b.initrd), dtb: file(b.dtb) };
}

/** Boot options of a load (VmOptions' append, initrd and dtb). */
export interface BootSources {
  append?: string;
  initrd?: ImageSource;
  dtb?: ImageSource;
  /** As VmOptions.virtioConsole, virtioRng and consoleInput (issue 12). */
  virtioConsole?: boolean;
  virtioRng?: boolean;
  consoleInput?: 'uart' | 'virtio';
}

/** Start a VM in a new Worker; with options.image, load it (and run it unless autostart is false). */
export async function createVm(options: VmOptions = {}): Promise<Vm> {
  const init = options.started?.init;
  const intervalMs = init?.statsIntervalMs ?? options.statsIntervalMs ?? 100;
  const shared = init ? init.statsBuffer !== undefined : options.shared ?? (typeof crossOriginIsolated === 'boolean' && crossOriginIsolated);
  const statsBuffer = init ? init.statsBuffer : shared ? new SharedArrayBuffer(STAT_BLOCK_BYTES) : undefined;
  const memSize = init?.memSize ?? options.memSize ?? 128 << 20;
  const deterministic = init?.deterministic ?? options.deterministic ?? false;
  let vm: Vm | undefined;
  const early: FromWorker[] = [];
  const worker = await bootWorker({
    worker: options.worker,
    started: options.started,
    workerUrl: options.workerUrl,
    core: options.core,
    memSize,
    deterministic,
    statsBuffer,
    statsIntervalMs: intervalMs,
  }, (msg) => (vm ? vm.receive(msg) : early.push(msg)));
  vm = new Vm(worker, statsBuffer, intervalMs, options.mode ?? 'vm');
  vm.bootOptions = { workerUrl: options.workerUrl, core: options.core, memSize, deterministic, statsIntervalMs: intervalMs };
  if (options.started?.load) vm.holdEarly(options.started.load);
  for (const msg of early) vm.receive(msg);
  if (options.image !== undefined) await vm.load(options.image, { name: options.name, autostart: options.autostart, mode: options.mode, combo: options.combo, virtioConsole: options.virtioConsole, virtioRng: options.virtioRng, consoleInput: options.consoleInput, append: options.append, initrd: options.initrd, dtb: options.dtb });
  return vm;
}
