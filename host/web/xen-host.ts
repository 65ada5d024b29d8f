/**
 * A Xen host in a web page: `createXenHost()` starts Dom0 in a dedicated Worker (xen-dom0.ts)
 * with the DomUs of a HOST.cfg, as `wasmvisor up HOST.cfg` does in Node, and returns a handle:
 * each domain's console (what it printed, live output, and keystrokes into its PV console, as
 * `xl console`), the domain table (`xl list`), xl pause / unpause / destroy, and the run state.
 *
 *   const host = await createXenHost({ config: '/guests/xen/demo.cfg' });
 *   const con = host.console('domu1');          // everything so far, then live output
 *   void con.readable.pipeTo(new WritableStream({ write: (b) => term.write(b) }));
 *   term.onData((s) => con.write(s));
 *   await host.until((s) => s === 'exited');    // exitCode 0: every DomU powered off with code 0
 *   console.log(host.xlList());
 *
 * HOST.cfg, the DomU xl.cfg files and their kernels are fetched relative to the configuration's
 * URL (or taken from `files`). Disks are `target=mem:SIZE` disks held in the worker's memory.
 * docs/xen/web.md is the guide.
 */
import { formatXlList, type XlListRow } from '../xen/toolstack/list-format';
import type { FromWorker, ToWorker, VmState, XenCommand, XenConsoleRing, XenDomainInfo } from './protocol';
import { untilState } from './until-state';
import { bootWorker } from './worker-boot';

export type { DomainEnd, XenConsoleRing, XenDomainInfo, XlListRow, XlStateFlags } from './protocol';

/** Options of createXenHost. */
export interface XenHostOptions {
  /** HOST.cfg (bridges = [...], domains = [ 'domu1.cfg', ... ]): a URL, relative to the page. */
  config: string | URL;
  /**
   * Files to use instead of fetching them, by URL path ("/guests/xen/domu1.cfg"): configurations
   * written in the page, kernels already in memory.
   */
  files?: Record<string, string | Uint8Array>;
  /** Run the domains as soon as they are built (default true); otherwise call start(). */
  autostart?: boolean;
  /** Stop after this many milliseconds of running (exit code 124, as `wasmvisor up --timeout`). */
  timeoutMs?: number;
  /** Time derived from retired instructions only (reproducible runs). Default false. */
  deterministic?: boolean;
  /** Tier-2 compilation of guest code (default 'on'). */
  jit?: 'off' | 'on' | 'always';
  /** The worker script (default: worker.js next to this module). */
  workerUrl?: string | URL;
  /** The core (default: core.wasm next to this module). */
  core?: string | URL | ArrayBuffer | WebAssembly.Module;
  /**
   * Slow the domains down by this factor (the demo's "slow" option): after each scheduler slice
   * Dom0 sleeps (factor - 1) times its length, so short demos live long enough to pause them.
   * Default 1 (full speed).
   */
  slow?: number;
  /** Milliseconds between updates of the domain table while the domains run (default 250). */
  updateIntervalMs?: number;
  /** Console bytes kept per domain for console() and output() (default 1 MiB; older bytes go first). */
  historyBytes?: number;
}

/** One domain's console: its output as a byte stream, keystrokes into its PV console. */
export interface XenConsole {
  /** What the domain printed so far, then its output as it comes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Type into the domain's PV console (its `in` ring; strings are UTF-8 encoded). */
  write(data: string | Uint8Array): void;
}

/**
 * Dom0 with its DomUs in a Worker. Events (CustomEvent, detail as below):
 *   state     { state, exitCode, message }   the host's run state changed
 *   domains   XenDomainInfo[]                the domain table was updated
 *   output    { domain, domid, bytes }        a domain printed
 *   notice    { domain, line }                a lifecycle event ("domu1 (d1): poweroff, exit code 0: destroyed")
 */
export class XenHost extends EventTarget {
  /**
   * loading; paused: built, not started (autostart false); running; exited: no domain left
   * running (exitCode and error as `wasmvisor up` reports them); error: it could not start.
   */
  state: VmState = 'loading';
  /** Once exited: 0 when every DomU powered off with exit code 0, 1 otherwise, 124 after timeoutMs. */
  exitCode: number | undefined;
  /** Why it could not start ('error'), or which domain did not power off cleanly ('exited'). */
  error: string | undefined;
  /** Domain-0's `xl list` row (its time: the worker's time neither in DomU slices nor idle). */
  dom0: XlListRow | undefined;
  /** Every DomU of the host in creation order, live or not (the latest table). */
  domains: XenDomainInfo[] = [];
  /** Lifecycle notices so far, in order. */
  readonly notices: string[] = [];

  private readonly worker: Worker;
  private readonly historyBytes: number;
  private readonly history = new Map<string, { chunks: Uint8Array[]; bytes: number }>();
  private readonly readers = new Map<string, Set<ReadableStreamDefaultController<Uint8Array>>>();
  private readonly pending = new Map<number, { resolve: (ring?: XenConsoleRing) => void; reject: (e: Error) => void }>();
  private readonly encoder = new TextEncoder();
  private ids = 0;

  /** @internal Use createXenHost(). */
  constructor(worker: Worker, historyBytes: number) {
    super();
    this.worker = worker;
    this.historyBytes = historyBytes;
  }

  /** @internal */
  send(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  /** @internal A message from the worker. */
  receive(msg: FromWorker): void {
    switch (msg.type) {
      case 'xen-output':
        this.record(msg.domain, msg.bytes);
        this.dispatchEvent(new CustomEvent('output', { detail: { domain: msg.domain, domid: msg.domid, bytes: msg.bytes } }));
        break;
      case 'xen-domains':
        this.dom0 = msg.dom0;
        this.domains = msg.domains;
        this.dispatchEvent(new CustomEvent('domains', { detail: msg.domains }));
        break;
      case 'xen-notice':
        this.notices.push(msg.line);
        this.dispatchEvent(new CustomEvent('notice', { detail: { domain: msg.domain, line: msg.line } }));
        break;
      case 'state':
        this.state = msg.state;
        this.exitCode = msg.exitCode;
        this.error = msg.message;
        this.dispatchEvent(new CustomEvent('state', { detail: { state: msg.state, exitCode: msg.exitCode, message: msg.message } }));
        break;
      case 'xen-ready':
      case 'xen-reply': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error !== undefined) p?.reject(new Error(msg.error));
        else p?.resolve(msg.type === 'xen-reply' ? msg.ring : undefined);
        break;
      }
      default:
        break;
    }
  }

  /** Keep a domain's output (bounded) and hand it to its open consoles. */
  private record(domain: string, bytes: Uint8Array): void {
    let h = this.history.get(domain);
    if (!h) this.history.set(domain, (h = { chunks: [], bytes: 0 }));
    h.chunks.push(bytes);
    h.bytes += bytes.length;
    while (h.bytes > this.historyBytes) {
      const over = h.bytes - this.historyBytes;
      const first = h.chunks[0];
      if (first.length <= over) h.chunks.shift();
      else h.chunks[0] = first.subarray(over);
      h.bytes -= Math.min(first.length, over);
    }
    for (const c of this.readers.get(domain) ?? []) c.enqueue(bytes.slice());
  }

  /** @internal Send a request that the worker answers with the next id. */
  request(msg: (id: number) => ToWorker): Promise<XenConsoleRing | undefined> {
    const id = ++this.ids;
    const done = new Promise<XenConsoleRing | undefined>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.send(msg(id));
    return done;
  }

  /**
   * The entry of a domain: by name (its latest incarnation) or by id (a domain that has not
   * gone). Undefined if there is none.
   */
  domain(domain: string | number): XenDomainInfo | undefined {
    if (typeof domain === 'number') return this.domains.find((d) => d.domid === domain && d.life !== 'gone');
    for (let i = this.domains.length - 1; i >= 0; i--) if (this.domains[i].name === domain) return this.domains[i];
    return undefined;
  }

  private nameOf(domain: string | number): string {
    if (typeof domain === 'string') return domain;
    const d = this.domain(domain);
    if (!d) throw new Error(`xl: no domain ${domain}`);
    return d.name;
  }

  /** Everything `domain` printed (up to historyBytes, the latest). */
  output(domain: string | number): Uint8Array {
    const h = this.history.get(this.nameOf(domain));
    const out = new Uint8Array(h?.bytes ?? 0);
    let at = 0;
    for (const c of h?.chunks ?? []) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** `xl console`: a domain's console (output so far and as it comes; keystrokes into its PV console). */
  console(domain: string | number): XenConsole {
    const name = this.nameOf(domain);
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        ctl = c;
        const past = this.output(name);
        if (past.length > 0) c.enqueue(past);
        let set = this.readers.get(name);
        if (!set) this.readers.set(name, (set = new Set()));
        set.add(c);
      },
      cancel: () => void this.readers.get(name)?.delete(ctl),
    });
    return { readable, write: (data) => this.write(name, data) };
  }

  /** Type into a domain's PV console (dropped if the domain is gone). */
  write(domain: string | number, data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? this.encoder.encode(data) : data;
    this.send({ type: 'xen-input', domain, bytes });
  }

  /** Run the domains (after createXenHost with autostart false). */
  start(): void {
    this.send({ type: 'xen-run' });
  }

  /** xl pause. Rejects with the toolstack's message ("xl: no domain 'x'") if there is no such live domain. */
  async pause(domain: string | number): Promise<void> {
    await this.xl('pause', domain);
  }

  /** xl unpause. */
  async unpause(domain: string | number): Promise<void> {
    await this.xl('unpause', domain);
  }

  /** xl destroy: the domain stops at once and its devices go. */
  async destroy(domain: string | number): Promise<void> {
    await this.xl('destroy', domain);
  }

  /** A live domain's PV console page as Dom0's backend sees it: ring indices and unread input. */
  async consoleRing(domain: string | number): Promise<XenConsoleRing> {
    return (await this.xl('ring', domain))!;
  }

  private xl(command: XenCommand, domain: string | number): Promise<XenConsoleRing | undefined> {
    return this.request((id) => ({ type: 'xen-xl', id, command, domain }));
  }

  /** The domain table as `xl list` prints it: Domain-0, then every DomU of the host (gone ones too, as `wasmvisor up` at exit). */
  xlList(): string {
    return formatXlList(this.dom0 ? [this.dom0, ...this.domains] : this.domains);
  }

  /** Resolves when the state satisfies `pred` (immediately if it already does). */
  until(pred: (s: VmState) => boolean): Promise<VmState> {
    return untilState(this, pred);
  }

  /** End the worker (every domain with it) and close the console streams. The handle is unusable afterwards. */
  terminate(): void {
    this.worker.terminate();
    for (const set of this.readers.values()) {
      for (const c of set) {
        try { c.close(); } catch { /* already closed */ }
      }
    }
    this.readers.clear();
    for (const p of this.pending.values()) p.reject(new Error('xl: the Xen host was terminated'));
    this.pending.clear();
  }
}

/**
 * Start a Xen host in a new Worker: Dom0 reads `options.config` (HOST.cfg) and every file it
 * names, builds the DomUs with their disks, vifs and PV consoles, and runs them unless autostart
 * is false. Resolves once the domains are built; rejects with a one-line message (a file that
 * cannot be fetched, a configuration error "FILE:LINE: ...", a kernel that does not load).
 */
export async function createXenHost(options: XenHostOptions): Promise<XenHost> {
  let host: XenHost | undefined;
  const early: FromWorker[] = [];
  const worker = await bootWorker({
    workerUrl: options.workerUrl,
    core: options.core,
    memSize: 0, // each DomU's memory comes from its xl.cfg
    deterministic: options.deterministic ?? false,
    statsIntervalMs: 1000,
  }, (msg) => (host ? host.receive(msg) : early.push(msg)));
  host = new XenHost(worker, options.historyBytes ?? 1 << 20);
  for (const msg of early) host.receive(msg);
  const config = new URL(String(options.config), location.href).href;
  try {
    await host.request((id) => ({
      type: 'xen-up', id, config, files: options.files ?? {}, autostart: options.autostart ?? true,
      timeoutMs: options.timeoutMs, jit: options.jit, slow: options.slow, updateIntervalMs: options.updateIntervalMs ?? 250,
    }));
  } catch (e) {
    host.terminate();
    throw e;
  }
  return host;
}
