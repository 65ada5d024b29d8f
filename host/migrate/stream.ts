/**
 * The live-migration stream's framing (docs/migration.md "Stream"): every message is
 *
 *   u8 type, u32 payload length, u32 CRC-32 of those 5 bytes, payload, u32 CRC-32 of the payload
 *
 * (little-endian). The header has its own checksum so that a corrupted length is caught before
 * anything waits for bytes that will never come. A reader refuses a bad checksum, an unknown
 * type or a length above MAX_PAYLOAD with a StreamError (one line); a connection that ends
 * mid-message or between messages is a StreamError too.
 */
import { crc32 } from '../snapshot/format';
import type { Transport } from './transport';

/** Message types (one ASCII letter each). */
export const MSG = {
  HELLO: 0x48, // 'H' source -> target: magic, version, mode, CONF (JSON)
  OK: 0x4f, // 'O' target -> source: the configuration matches
  REFUSE: 0x52, // 'R' target -> source: one line (UTF-8), then the target closes
  PAGES: 0x50, // 'P' source -> target: u32 round, u32 n, n x (u32 page index, u8 kind 0 zero | 1 data, [4096 bytes])
  INDEX: 0x49, // 'I' source -> target: u32 n, n x (u32 page index, u8 populated): RAM as it is at the stop
  STATE: 0x53, // 'S' source -> target: a snapshot without its RAM section (docs/snapshot.md)
  RUNSTATE: 0x47, // 'G' source -> target, right before STATE when the VM is not running: its run state (str: paused, prelaunch, debug); none: running
  READY: 0x59, // 'Y' target -> source: state loaded, ready to run
  COMMIT: 0x43, // 'C' source -> target: the source will not run the VM again
  DONE: 0x44, // 'D' target -> source: running
  // Post-copy and hybrid (docs/migration.md "Post-copy"):
  ABSENT: 0x41, // 'A' source -> target, after INDEX: u32 n, n x u32 page index: pages of the INDEX the target does not have current
  FETCH: 0x46, // 'F' target -> source, after DONE: u32 n, n x u32 page index: send these first (first touch)
  END: 0x45, // 'E' source -> target: every absent page has been sent
  COMPLETE: 0x4b, // 'K' target -> source: every page is in; the target closes
} as const;

const KNOWN = new Set<number>(Object.values(MSG));
export const MAX_PAYLOAD = 64 << 20;
export const STREAM_MAGIC = 'WVMIGR';
export const STREAM_VERSION = 1;

export class StreamError extends Error {}

export interface Message {
  type: number;
  payload: Uint8Array;
  /** The reader's pooled buffer the payload is in (PAGES): MessageReader.recycle gives it back. */
  pooled?: Uint8Array;
}

export function frame(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + payload.length + 4);
  out.set(payload, 9);
  return sealFrame(out, type, payload.length);
}

/**
 * Frame a payload already written at buf[9, 9 + length) in place (no copy of it): the header
 * before it and the payload's CRC behind it. Returns the frame, a view of buf.
 */
export function sealFrame(buf: Uint8Array, type: number, length: number): Uint8Array {
  const v = new DataView(buf.buffer, buf.byteOffset, 9 + length + 4);
  buf[0] = type;
  v.setUint32(1, length, true);
  v.setUint32(5, crc32(buf.subarray(0, 5)), true);
  v.setUint32(9 + length, crc32(buf.subarray(9, 9 + length)), true);
  return buf.subarray(0, 9 + length + 4);
}

/** Node's Buffer where there is one (allocUnsafe: no zeroing); a page in a browser Worker has none. */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/**
 * Buffers of one size (a PAGES frame), taken and given back for reuse. A fresh 1 MiB buffer per
 * message costs its page faults and the GC's unmapping, ~4-6 ms per MiB on this project's
 * machine, against ~0.2 ms per MiB to copy into a reused one (docs/migration.md "Experiments").
 */
export class BufferPool {
  private readonly free: Uint8Array[] = [];
  /** Buffers taken and not given back. */
  private out = 0;
  constructor(readonly size: number, private readonly keep = 8) {}
  take(): Uint8Array {
    this.out++;
    return this.free.pop() ?? (NodeBuffer ? NodeBuffer.allocUnsafe(this.size) : new Uint8Array(this.size));
  }
  give(b: Uint8Array): void {
    if (b.length !== this.size) return;
    this.out--;
    if (this.free.length < this.keep) this.free.push(b);
  }
  /** Whether take() would allocate while taken buffers are still out (their writes not done yet). */
  get starved(): boolean {
    return this.free.length === 0 && this.out > 0;
  }
}

/** Pages per PAGES message (up to 1 MiB of payload). */
export const PAGES_BATCH = 256;
/** The largest PAGES payload: u32 round, u32 n, n x (u32 index, u8 kind, 4096 bytes). */
export const PAGES_MAX_PAYLOAD = 8 + PAGES_BATCH * (5 + 4096);

export function typeName(t: number): string {
  return Object.entries(MSG).find(([, v]) => v === t)?.[0] ?? `0x${t.toString(16)}`;
}

/** Messages read from a stream (a socket, a port: transport.ts), one at a time (next()), checked. */
export class MessageReader {
  /** Received bytes not parsed yet: chunks[0] from `at` on, then the others whole. */
  private chunks: Uint8Array[] = [];
  private at = 0;
  private have = 0;
  private readonly header = new Uint8Array(9);
  private waiter: { resolve: (m: Message) => void; reject: (e: Error) => void } | undefined;
  private failure: StreamError | undefined;
  private queue: Message[] = [];
  /** PAGES payloads are put together in these (a message spans many of a socket's chunks). */
  private readonly pool = new BufferPool(PAGES_MAX_PAYLOAD);
  /** Messages read so far (for messages naming where a stream broke). */
  count = 0;
  /** Payload bytes received. */
  bytes = 0;

  constructor(socket: Transport, private readonly what: string) {
    socket.on('data', (b: Uint8Array) => {
      this.chunks.push(b);
      this.have += b.length;
      this.parse();
    });
    const ended = (why: string) => () => this.fail(new StreamError(`${this.what}: ${why} ${this.have > 0 ? `in the middle of message ${this.count + 1}` : `after message ${this.count}`} (truncated stream)`));
    socket.on('end', ended('the connection closed'));
    socket.on('close', ended('the connection closed'));
    socket.on('error', (e: { code?: string; message: string }) => this.fail(new StreamError(`${this.what}: connection error ${e.code ?? e.message} after message ${this.count}`)));
  }

  /** Copy the next n bytes (n <= have) to dst at `to`; consume them unless `keep`. */
  private copy(dst: Uint8Array, to: number, n: number, keep = false): void {
    let at = this.at;
    let k = 0;
    while (n > 0) {
      const c = this.chunks[k];
      const m = Math.min(n, c.length - at);
      dst.set(c.subarray(at, at + m), to);
      to += m;
      n -= m;
      at += m;
      if (at === c.length) {
        k++;
        at = 0;
      }
    }
    if (keep) return;
    this.chunks.splice(0, k);
    this.at = at;
  }

  /** The next n bytes (n <= have), consumed: a view of the chunk they are in, or `dst` filled. */
  private take(n: number, dst: () => Uint8Array): Uint8Array {
    const c = this.chunks[0];
    if (c.length - this.at >= n) {
      const v = c.subarray(this.at, this.at + n);
      this.at += n;
      if (this.at === c.length) {
        this.chunks.shift();
        this.at = 0;
      }
      this.have -= n;
      return v;
    }
    const d = dst();
    this.copy(d, 0, n);
    this.have -= n;
    return d.subarray(0, n);
  }

  private parse(): void {
    while (!this.failure && this.have >= 9) {
      const c = this.chunks[0];
      let h: Uint8Array;
      if (c.length - this.at >= 9) h = c.subarray(this.at, this.at + 9);
      else {
        this.copy(this.header, 0, 9, true);
        h = this.header;
      }
      const hv = new DataView(h.buffer, h.byteOffset, 9);
      const type = h[0];
      const len = hv.getUint32(1, true);
      if (hv.getUint32(5, true) !== crc32(h.subarray(0, 5))) return this.fail(new StreamError(`${this.what}: checksum mismatch in the header of message ${this.count + 1} (corrupt stream)`));
      if (!KNOWN.has(type)) return this.fail(new StreamError(`${this.what}: message ${this.count + 1} has unknown type 0x${type.toString(16)} (corrupt stream)`));
      if (len > MAX_PAYLOAD) return this.fail(new StreamError(`${this.what}: message ${this.count + 1} claims ${len} bytes (corrupt stream)`));
      if (this.have < 9 + len + 4) return;
      this.take(9, () => this.header);
      let pooled: Uint8Array | undefined;
      const payload = this.take(len, () => (type === MSG.PAGES && len <= this.pool.size ? (pooled = this.pool.take()) : new Uint8Array(len)));
      const crc = this.take(4, () => this.header);
      if (new DataView(crc.buffer, crc.byteOffset, 4).getUint32(0, true) !== crc32(payload)) return this.fail(new StreamError(`${this.what}: checksum mismatch in message ${this.count + 1} (${typeName(type)}, corrupt stream)`));
      this.count++;
      this.bytes += len;
      this.deliver(pooled ? { type, payload, pooled } : { type, payload });
    }
  }

  /** The caller is done with m's payload: its buffer may take a later message. */
  recycle(m: Message): void {
    if (m.pooled) this.pool.give(m.pooled);
    m.pooled = undefined;
  }

  private deliver(m: Message): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(m);
    } else this.queue.push(m);
  }

  private fail(e: StreamError): void {
    if (this.failure) return;
    this.failure = e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  /** The next message; rejects with a StreamError once the stream is broken. */
  next(): Promise<Message> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The next message, which must be of one of `types`. */
  async expect(...types: number[]): Promise<Message> {
    const m = await this.next();
    if (!types.includes(m.type)) throw new StreamError(`${this.what}: expected ${types.map(typeName).join(' or ')}, got ${typeName(m.type)} (message ${this.count})`);
    return m;
  }

  /** The line of a REFUSE that arrived and was not read yet (the peer's reason for closing). */
  refusal(): string | undefined {
    const m = this.queue.find((q) => q.type === MSG.REFUSE);
    return m ? new In(m.payload, this.what).str() : undefined;
  }

  get broken(): StreamError | undefined {
    return this.failure;
  }
}

/** Little-endian payload building and reading. */
export class Out {
  private parts: Uint8Array[] = [];
  length = 0;
  u8(v: number): void { this.push(Uint8Array.of(v)); }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.push(b);
  }
  bytes(b: Uint8Array): void { this.push(b); }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u32(b.length);
    this.push(b);
  }
  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  result(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export class In {
  private pos = 0;
  private readonly view: DataView;
  constructor(private readonly b: Uint8Array, private readonly what: string) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new StreamError(`${this.what}: a message is shorter than its contents (corrupt stream)`);
  }
  u8(): number { this.need(1); return this.b[this.pos++]; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  bytes(n: number): Uint8Array { this.need(n); const v = this.b.subarray(this.pos, this.pos + n); this.pos += n; return v; }
  str(): string { return new TextDecoder().decode(this.bytes(this.u32())); }
  end(): void {
    if (this.pos !== this.b.length) throw new StreamError(`${this.what}: ${this.b.length - this.pos} bytes left over in a message (corrupt stream)`);
  }
}
