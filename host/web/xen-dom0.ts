/**
 * Dom0 in the Worker: a Xen host for a page, as `wasmvisor up HOST.cfg` runs one in Node
 * (host/cli/xl.ts). The worker (worker.ts) hands it the `xen-*` messages; the page's handle is
 * XenHost (xen-host.ts). Everything below the toolstack is the Node code unchanged: the
 * XenHypervisor, the Toolstack (xl create, run with the credit scheduler, list, pause, unpause,
 * destroy, console, on_poweroff / on_reboot / on_crash) and Dom0's backends from
 * host/xen/devices.ts (blkback, netback on one Bridge per HOST.cfg bridge, the PV console).
 *
 * What differs from Node is where bytes come from and go to:
 *   - files: HOST.cfg, the DomU xl.cfg files and the kernels are fetched over HTTP, relative to
 *     HOST.cfg's URL (the parsers see URL paths such as "/guests/xen/domu1.cfg"), unless the
 *     page supplied them in `files`;
 *   - disks: `target=mem:SIZE` disks (MemoryBackend) only; an image-file target is refused
 *     with a one-line error, since a page has no file to open;
 *   - consoles: each domain's output is posted to the page (`xen-output`) and the page's
 *     keystrokes go to that domain's PV console `in` ring (Toolstack.console, as `xl console`);
 *   - the domain table (`xen-domains`) and lifecycle notices (`xen-notice`) are posted too.
 */
import * as devices from '../xen/devices';
import { UserError } from '../errors';
import { parseImage } from '../machine/loader';
import { KERNEL_RAW_BASE } from '../vmm/vm';
import {
  XENCONS_IN, XENCONS_IN_CONS, XENCONS_IN_PROD, XENCONS_IN_SIZE, XENCONS_OUT_CONS, XENCONS_OUT_PROD,
} from '../xen/backends/console';
import { le32 } from '../xen/backends/ring';
import { XenHypervisor } from '../xen/hypervisor';
import { parseDomainCfg, type DomainCfg } from '../xen/toolstack/cfg';
import { parseHostCfg, type HostCfg } from '../xen/toolstack/host-cfg';
import type { XlListRow } from '../xen/toolstack/list-format';
import { describeEnd, succeeded, Toolstack, type DeviceOps, type DomainRecord } from '../xen/toolstack/xl';
import type { FromWorker, ToWorker, VmState, XenCommand, XenConsoleRing, XenDomainInfo } from './protocol';

/** Exit status after the time limit (as `wasmvisor up --timeout`). */
const EXIT_TIMEOUT = 124;

/** How the worker set up this Dom0. */
export interface WebDom0Options {
  post(msg: FromWorker, transfer?: Transferable[]): void;
  deterministic: boolean;
}

type UpMessage = Extract<ToWorker, { type: 'xen-up' }>;

/** Read a file by URL path: from the page's `files`, else fetched beside HOST.cfg. */
type ReadFile = (path: string) => Promise<Uint8Array>;

/** One Xen host: its hypervisor, toolstack and the consoles of its domains. */
export class WebDom0 {
  private hv: XenHypervisor | undefined;
  private xl: Toolstack | undefined;
  private host: HostCfg | undefined;
  private readonly consoles = new Map<number, devices.AttachedConsole>();
  private running = false;
  private ended = false;
  private t0 = 0;
  private tEnd = 0;
  private timeoutMs: number | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private out = new Map<DomainRecord, number[]>();

  /** The "slow" factor of xen-up (1: full speed). */
  private slow = 1;

  constructor(private readonly opts: WebDom0Options) {}

  /** Read HOST.cfg and everything it names, create the domains, and run them if asked. */
  async up(msg: UpMessage): Promise<void> {
    const post = this.opts.post;
    post({ type: 'state', state: 'loading' });
    try {
      this.timeoutMs = msg.timeoutMs;
      this.slow = msg.slow ?? 1;
      const read = fileReader(msg.config, msg.files);
      const host = await readHost(new URL(msg.config).pathname, read);
      for (const c of host.domains) {
        for (const d of c.disks) {
          if ('path' in d.target) throw new UserError(`${c.file}: disk ${d.vdev}: target ${d.target.path} is an image file, which a page cannot open (use target=mem:SIZE)`);
        }
      }
      const kernels = new Map<string, Uint8Array>();
      await Promise.all([...new Set(host.domains.map((c) => c.kernel))].map(async (k) => kernels.set(k, await read(k))));
      this.host = host;
      await this.create(host, kernels, msg.jit);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.quit();
      post({ type: 'state', state: 'error', message });
      post({ type: 'xen-ready', id: msg.id, error: message });
      return;
    }
    this.postDomains();
    this.timer = setInterval(() => { if (this.running) this.postDomains(); }, msg.updateIntervalMs);
    post({ type: 'xen-ready', id: msg.id });
    if (msg.autostart) this.start();
    else post({ type: 'state', state: 'paused' });
  }

  /** Build the toolstack and create every domain of `host` (none is left if one fails). */
  private async create(host: HostCfg, kernels: Map<string, Uint8Array>, jit: UpMessage['jit']): Promise<void> {
    const hv = (this.hv = new XenHypervisor());
    const ops: DeviceOps = {
      attachDisk: devices.attachDisk,
      attachVif: devices.attachVif,
      attachConsole: (h, d, sink) => {
        const c = devices.attachConsole(h, d, sink);
        this.consoles.set(d.domid, c);
        return c;
      },
    };
    const xl = (this.xl = new Toolstack(hv, {
      devices: ops,
      deterministic: this.opts.deterministic,
      jit,
      // Hot regions compile in the background (WebAssembly.instantiate) as for a single VM.
      jitBackground: true,
      bridges: host.bridges,
      loadKernel: (path) => parseImage(kernels.get(path)!, path, KERNEL_RAW_BASE),
      onConsole: (rec, bytes) => this.output(rec, bytes),
      // The table first, so a page that hears of a domain's end already sees it in the table.
      onNotice: (line) => {
        this.postDomains();
        this.opts.post({ type: 'xen-notice', domain: line.slice(0, line.indexOf(' (d')), line });
      },
    }));
    // The demo's "slow" option: after each slice, sleep (slow - 1) times its length. Wrapping the
    // scheduler's step keeps the toolstack's run loop as the CLI's; pauses and xl commands are
    // taken between steps as usual.
    const slow = this.slow;
    if (slow > 1) {
      const sched = xl.scheduler;
      const step = sched.step.bind(sched);
      sched.step = async () => {
        const t = performance.now();
        const r = await step();
        if (r.kind === 'ran') await new Promise((res) => setTimeout(res, (slow - 1) * Math.max(1, performance.now() - t)));
        return r;
      };
    }
    try {
      for (const c of host.domains) await xl.create(c);
    } catch (e) {
      for (const r of xl.records()) if (r.state !== 'gone') xl.destroy(r.domid);
      throw e;
    }
  }

  /** Run the domains (once): until none is left running, the time limit, or quit(). */
  start(): void {
    const xl = this.xl;
    if (!xl || this.running || this.ended) return;
    this.running = true;
    this.t0 = performance.now();
    this.opts.post({ type: 'state', state: 'running' });
    void xl.run({ timeoutMs: this.timeoutMs }).then((how) => this.finish(how), (e) => {
      this.running = false;
      this.ended = true;
      this.flush();
      this.opts.post({ type: 'state', state: 'error', message: e instanceof Error ? e.message : String(e) });
    });
  }

  /** The run ended: what `wasmvisor up` does at exit, with the page as its terminal. */
  private finish(how: 'done' | 'quit' | 'timeout'): void {
    const xl = this.xl!;
    this.running = false;
    this.ended = true;
    this.tEnd = performance.now();
    this.flush();
    if (how === 'quit') return;
    // At the time limit the domains still running are destroyed, as `wasmvisor up` does at exit.
    const late = xl.records().find((r) => r.state === 'running');
    for (const r of xl.records()) if (r.state === 'running') xl.destroy(r.domid);
    this.postDomains();
    const file = this.host?.file ?? 'HOST.cfg';
    const state: VmState = 'exited';
    if (how === 'timeout') {
      this.opts.post({ type: 'state', state, exitCode: EXIT_TIMEOUT, message: `${file}: timeout after ${(this.timeoutMs ?? 0) / 1000} s${late ? ` (${late.cfg.name} still running)` : ''}` });
      return;
    }
    const failed = xl.records().find((r) => !succeeded(r));
    if (failed === undefined) this.opts.post({ type: 'state', state, exitCode: 0 });
    else this.opts.post({ type: 'state', state, exitCode: 1, message: `${failed.cfg.name} (d${failed.domid}) did not power off cleanly: ${failed.end ? describeEnd(failed.end) : 'no end'}` });
  }

  /** Stop everything: the run loop returns after its slice, the domains are destroyed. */
  quit(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const xl = this.xl;
    if (!xl) return;
    xl.quit();
    for (const r of xl.records()) if (r.state !== 'gone') xl.destroy(r.domid);
    this.ended = true;
  }

  /** Typed bytes for `domain`'s console (dropped when it is gone, as typing into a closed `xl console`). */
  input(domain: string | number, bytes: Uint8Array): void {
    const xl = this.xl;
    if (!xl) return;
    try {
      xl.console(this.record(domain).domid)(bytes);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
  }

  /** An xl command; resolves with the console ring for 'ring'. Throws UserError for a domain that is not there. */
  async command(command: XenCommand, domain: string | number): Promise<XenConsoleRing | undefined> {
    const xl = this.xl;
    if (!xl) throw new UserError('xl: no Xen host is running in this worker');
    if (command === 'ring') return this.ring(this.record(domain));
    // Between two slices, as the CLI's console escapes (a slice may be running right now).
    const act = (): void => {
      const rec = this.record(domain);
      if (command === 'pause') xl.pause(rec.domid);
      else if (command === 'unpause') xl.unpause(rec.domid);
      else xl.destroy(rec.domid);
      this.postDomains();
    };
    if (!this.running) {
      act();
      return undefined;
    }
    await new Promise<void>((resolve, reject) => xl.defer(() => {
      try {
        act();
        resolve();
      } catch (e) {
        reject(e);
      }
    }));
    return undefined;
  }

  /** The live record of a domain by name or id. */
  private record(domain: string | number): DomainRecord {
    const xl = this.xl!;
    if (typeof domain === 'number') return xl.record(domain);
    const r = xl.records().find((x) => x.cfg.name === domain && x.state !== 'gone');
    if (r === undefined) throw new UserError(`xl: no domain '${domain}'${xl.records().some((x) => x.cfg.name === domain) ? ' (it is gone)' : ''}`);
    return r;
  }

  /** Read a live domain's PV console page as the backend sees it. */
  private ring(rec: DomainRecord): XenConsoleRing {
    const d = this.hv!.domain(rec.domid)!;
    const page = d.hypervisorPage(d.layout.consoleGfn);
    const u32 = (off: number) => le32(page.read(off, 4), 0);
    const [inCons, inProd, outCons, outProd] = [u32(XENCONS_IN_CONS), u32(XENCONS_IN_PROD), u32(XENCONS_OUT_CONS), u32(XENCONS_OUT_PROD)];
    const n = Math.min((inProd - inCons) >>> 0, XENCONS_IN_SIZE);
    const ring = page.read(XENCONS_IN, XENCONS_IN_SIZE);
    const unread = new Uint8Array(n);
    for (let i = 0; i < n; i++) unread[i] = ring[(inCons + i) & (XENCONS_IN_SIZE - 1)]; // MASK_XENCONS_IDX
    const con = this.consoles.get(rec.domid);
    return { domain: rec.cfg.name, domid: rec.domid, inCons, inProd, outCons, outProd, unread, stats: con ? con.stats() : {} };
  }

  // ---- output: bytes batched per domain and posted at the next yield of the run loop ----

  private output(rec: DomainRecord, bytes: Uint8Array): void {
    if (this.out.size === 0) queueMicrotask(() => this.flush());
    let buf = this.out.get(rec);
    if (!buf) this.out.set(rec, (buf = []));
    for (const b of bytes) buf.push(b);
  }

  private flush(): void {
    for (const [rec, buf] of this.out) {
      const bytes = Uint8Array.from(buf);
      this.opts.post({ type: 'xen-output', domain: rec.cfg.name, domid: rec.domid, bytes }, [bytes.buffer]);
    }
    this.out.clear();
  }

  /** A domain's own figures: what the scheduler gave it and its VM exits. */
  private figures(r: DomainRecord): Pick<XenDomainInfo, 'instructions' | 'hostMs' | 'slices' | 'exits' | 'topExit'> {
    const xl = this.xl!;
    const t = xl.totals(r);
    const exits = xl.exits(r);
    return { instructions: Number(t.instructions), hostMs: t.hostMs, slices: t.slices, exits: exits.reduce((n, x) => n + x.count, 0), topExit: exits[0] };
  }

  /** Post the domain table: Domain-0, then every domain of the host (live or not). */
  private postDomains(): void {
    const xl = this.xl;
    if (!xl) return;
    this.flush(); // output first: a page that sees a domain end has its last words
    const now = this.ended ? this.tEnd : this.running ? performance.now() : this.t0;
    const guests = xl.records().reduce((s, r) => s + xl.totals(r).hostMs, 0);
    const dom0Time = this.t0 === 0 ? 0 : Math.max(0, now - this.t0 - guests - xl.scheduler.idleMs) / 1000;
    const dom0: XlListRow = xl.list(dom0Time)[0];
    const domains = xl.records().map((r): XenDomainInfo => ({
      ...xl.row(r),
      life: r.state,
      paused: r.paused,
      end: r.end && { ...r.end, text: describeEnd(r.end) },
      succeeded: succeeded(r),
      restarts: r.restarts,
      file: r.cfg.file,
      kernel: r.cfg.kernel,
      ...this.figures(r),
    }));
    this.opts.post({ type: 'xen-domains', dom0, domains });
  }
}

/** A ReadFile over the page's files and fetch relative to HOST.cfg's URL. */
function fileReader(config: string, files: Record<string, string | Uint8Array>): ReadFile {
  const encoder = new TextEncoder();
  return async (path) => {
    const given = files[path];
    if (given !== undefined) return typeof given === 'string' ? encoder.encode(given) : given;
    let res: Response;
    try {
      res = await fetch(new URL(path, config));
    } catch (e) {
      throw new UserError(`${path}: cannot fetch (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!res.ok) throw new UserError(`${path}: HTTP ${res.status} ${res.statusText}`.trimEnd());
    return new Uint8Array(await res.arrayBuffer());
  };
}

/**
 * Read HOST.cfg at URL path `file` and the DomU files it names. parseHostCfg reads each DomU
 * file through a synchronous callback; here files come over the network, so a first pass only
 * learns their paths (answering with stand-ins), they are fetched, and the second pass parses.
 */
async function readHost(file: string, read: ReadFile): Promise<HostCfg> {
  const decoder = new TextDecoder();
  const text = decoder.decode(await read(file));
  const paths: string[] = [];
  parseHostCfg(text, file, (p) => {
    paths.push(p);
    return standIn(p, paths.length);
  });
  const texts = new Map(await Promise.all(paths.map(async (p) => [p, decoder.decode(await read(p))] as const)));
  return parseHostCfg(text, file, (p) => parseDomainCfg(texts.get(p)!, p));
}

/** A DomU configuration with a unique name and no vif (the first pass of readHost). */
function standIn(file: string, n: number): DomainCfg {
  return {
    file, name: `\0${n}`, kernel: '', memoryMiB: 0, vcpus: 1, disks: [], vifs: [],
    onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'destroy', weight: 0, cap: 0,
  };
}
