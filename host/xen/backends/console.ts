/**
 * The PV console backend (xenconsoled's job; layout of xen/include/public/io/console.h):
 * ```
 * struct xencons_interface {
 *   0x000  char in[1024]     Dom0 -> guest (keyboard)
 *   0x400  char out[2048]    guest -> Dom0 (the log)
 *   0xc00  u32 in_cons       guest's     0xc04  u32 in_prod   ours
 *   0xc08  u32 out_cons      ours        0xc0c  u32 out_prod  guest's
 * }
 * ```
 * Indices run free; byte i of a ring is at `i & (size - 1)` (MASK_XENCONS_IDX). We keep our
 * two indices (out_cons, in_prod) privately, adopted from the page once at connect, and read
 * the guest's two once per pass: out_prod - out_cons > 2048 or in_prod - in_cons > 1024 means
 * the guest broke the ring, and the console is stopped.
 *
 * Each pass (a notification, or input()) drains everything in `out` to the sink, moves as
 * much pending input as fits into `in`, and notifies the guest once if either moved.
 * Input the ring cannot take yet waits in a bounded buffer (default 4096 bytes); beyond it,
 * input is dropped and counted.
 *
 * The page is either a grant (a secondary console device: "ring-ref" + "port" keys, via
 * xenbus) or, for the primary console, a frame the toolstack reserved and hands over directly
 * (connectPage), as xenconsoled maps the magic console page.
 */
import { BackendChannel, type BackendContext, type ChannelSnapshot, type ChannelStats } from './channel';
import { le32, u32Bytes, type SharedPage } from './ring';
import { readU32Key, type XenbusDriver } from './xenbus-backend';

/** Bytes of the input ring. */
export const XENCONS_IN_SIZE = 1024;
/** Bytes of the output ring. */
export const XENCONS_OUT_SIZE = 2048;
/** Offset of in[]. */
export const XENCONS_IN = 0x000;
/** Offset of out[]. */
export const XENCONS_OUT = 0x400;
/** Offset of in_cons. */
export const XENCONS_IN_CONS = 0xc00;
/** Offset of in_prod. */
export const XENCONS_IN_PROD = 0xc04;
/** Offset of out_cons. */
export const XENCONS_OUT_CONS = 0xc08;
/** Offset of out_prod. */
export const XENCONS_OUT_PROD = 0xc0c;

/** How a console backend is created. */
export interface ConsoleOptions extends BackendContext {
  /** Receives the guest's output, in order. */
  sink: (bytes: Uint8Array) => void;
  /** Input bytes kept while the in ring is full (default 4096). */
  maxPendingInput?: number;
}

/** Counters of a console. */
export interface ConsoleStats extends ChannelStats {
  outBytes: number;
  inBytes: number;
  /** Input bytes dropped because the pending buffer was full. */
  inputDropped: number;
}

/** Plain-data state of a console. */
export interface ConsoleSnapshot {
  channel: ChannelSnapshot;
  outCons: number;
  inProd: number;
  pendingInput: number[];
  stats: ConsoleStats;
}

/** One PV console. */
export class ConsoleBackend implements XenbusDriver {
  readonly channel: BackendChannel;
  readonly stats: ConsoleStats;
  private page: SharedPage | null = null;
  private outCons = 0;
  private inProd = 0;
  private pending: number[] = [];
  private readonly maxPending: number;

  constructor(private readonly opts: ConsoleOptions) {
    this.channel = new BackendChannel(opts, `console d${opts.frontendDomid}`);
    const s = this.channel.stats as ConsoleStats;
    Object.assign(s, { outBytes: 0, inBytes: 0, inputDropped: 0 });
    this.stats = s;
    this.maxPending = opts.maxPendingInput ?? 4096;
  }

  /** No features to publish. */
  features(): Record<string, string> {
    return {};
  }

  /** XenbusDriver.connect: "ring-ref" (a grant) and "port". */
  connect(frontend: (key: string) => string | undefined): string | null {
    const ref = readU32Key(frontend('ring-ref'));
    const port = readU32Key(frontend('port'));
    if (ref === undefined || port === undefined) return `console d${this.opts.frontendDomid}: ring-ref/port missing or malformed`;
    return this.connectGrant(ref, port);
  }

  /** Map the console page from grant `ref` and bind `port`. */
  connectGrant(ref: number, port: number): string | null {
    this.page = null;
    const err = this.channel.connect([ref], port, () => this.pass());
    if (err) return err;
    return this.attach(this.channel.pages[0]);
  }

  /** Serve a page the toolstack reaches directly (the primary console) and bind `port`. */
  connectPage(page: SharedPage, port: number): string | null {
    this.page = null;
    const err = this.channel.connect([], port, () => this.pass());
    if (err) return err;
    return this.attach(page);
  }

  /**
   * xl restore (host/snapshot/xen.ts): serve the primary console page again with the indices
   * and pending input snapshot() saved, binding `port`, without a pass: output the guest
   * wrote but has not signalled yet is taken at its next notification, as it would have been.
   */
  resumePage(page: SharedPage, port: number, s: { outCons: number; inProd: number; pendingInput: number[] }): string | null {
    this.page = null;
    const err = this.channel.connect([], port, () => this.pass());
    if (err) return err;
    this.page = page;
    this.outCons = s.outCons >>> 0;
    this.inProd = s.inProd >>> 0;
    this.pending = s.pendingInput.slice(0, this.maxPending).map((b) => b & 0xff);
    return null;
  }

  private attach(page: SharedPage): string | null {
    this.page = page;
    this.outCons = le32(page.read(XENCONS_OUT_CONS, 4), 0);
    this.inProd = le32(page.read(XENCONS_IN_PROD, 4), 0);
    this.channel.run();
    return this.channel.stopped;
  }

  /** XenbusDriver.disconnect. */
  disconnect(): void {
    this.channel.disconnect();
    this.page = null;
  }

  /** XenbusDriver.setOnFatal. */
  setOnFatal(handler: (reason: string) => void): void {
    this.channel.onFatal = handler;
  }

  /** What a notification does. */
  kick(): void {
    this.channel.kick();
  }

  /** Type `bytes` into the guest's console. Returns how many were accepted (queued or written). */
  input(bytes: Uint8Array): number {
    const room = Math.max(0, this.maxPending - this.pending.length);
    const n = Math.min(room, bytes.length);
    for (let i = 0; i < n; i++) this.pending.push(bytes[i]);
    this.stats.inputDropped += bytes.length - n;
    if (n > 0 && this.channel.connected) this.channel.run();
    return n;
  }

  /** One pass: drain out, fill in, notify once. */
  private pass(): void {
    const page = this.page;
    if (!page) return;
    let moved = false;
    const prod = le32(page.read(XENCONS_OUT_PROD, 4), 0);
    const avail = (prod - this.outCons) >>> 0;
    if (avail > XENCONS_OUT_SIZE) return this.broken(`out_prod ${prod} is ${avail} bytes past out_cons ${this.outCons}`);
    if (avail > 0) {
      const out = ringRead(page, XENCONS_OUT, XENCONS_OUT_SIZE, this.outCons, avail);
      this.outCons = (this.outCons + avail) >>> 0;
      page.write(XENCONS_OUT_CONS, u32Bytes(this.outCons));
      this.stats.outBytes += avail;
      moved = true;
      this.opts.sink(out);
    }
    if (this.pending.length > 0) {
      const cons = le32(page.read(XENCONS_IN_CONS, 4), 0);
      const used = (this.inProd - cons) >>> 0;
      if (used > XENCONS_IN_SIZE) return this.broken(`in_cons ${cons} is not within ${XENCONS_IN_SIZE} bytes before in_prod ${this.inProd}`);
      const n = Math.min(XENCONS_IN_SIZE - used, this.pending.length);
      if (n > 0) {
        ringWrite(page, XENCONS_IN, XENCONS_IN_SIZE, this.inProd, Uint8Array.from(this.pending.splice(0, n)));
        this.inProd = (this.inProd + n) >>> 0;
        page.write(XENCONS_IN_PROD, u32Bytes(this.inProd));
        this.stats.inBytes += n;
        moved = true;
      }
    }
    if (moved) this.channel.notify();
  }

  private broken(why: string): void {
    this.page = null;
    this.channel.stop(`guest broke the console ring: ${why}`);
  }

  /** Plain-data state. */
  snapshot(): ConsoleSnapshot {
    return { channel: this.channel.snapshot(), outCons: this.outCons, inProd: this.inProd, pendingInput: this.pending.slice(), stats: { ...this.stats } };
  }
}

/** Copy `n` bytes of a byte ring at `base` (size a power of two) from free-running index `idx`. */
function ringRead(page: SharedPage, base: number, size: number, idx: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const at = idx & (size - 1);
  const first = Math.min(n, size - at);
  out.set(page.read(base + at, first), 0);
  if (first < n) out.set(page.read(base, n - first), first);
  return out;
}

/** Write `bytes` into a byte ring at free-running index `idx` (bytes.length <= size). */
function ringWrite(page: SharedPage, base: number, size: number, idx: number, bytes: Uint8Array): void {
  const at = idx & (size - 1);
  const first = Math.min(bytes.length, size - at);
  page.write(base + at, bytes.subarray(0, first));
  if (first < bytes.length) page.write(base, bytes.subarray(first));
}
