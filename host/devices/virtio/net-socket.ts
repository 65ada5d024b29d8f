/**
 * A network backend over TCP, the stream mode of QEMU's `-netdev socket` (Node only):
 * `listen=HOST:PORT` waits for one peer, `connect=HOST:PORT` dials one. On the wire each frame
 * is its length as a 4-byte big-endian integer, then the frame (no virtio header), exactly as
 * QEMU's net_socket_receive writes and net_fill_rstate reads, so a wasmvisor VM and a QEMU
 * guest (`-netdev socket,id=n,connect=127.0.0.1:PORT -device virtio-net-device,netdev=n`) can
 * share a link.
 *
 * Differences from QEMU, for robustness (docs/board.md "virtio-net"):
 * - `connect=` retries every CONNECT_RETRY_MS until the listener is up (QEMU fails at start),
 *   so the two sides can be started in either order;
 * - a peer that goes away is one line on stderr (through `log`); the listener then takes the
 *   next peer and the dialler dials again. While there is no peer, frames from the guest are
 *   dropped and counted (counters.dropped). A listener with a peer refuses further connections.
 * - a length above NET_SOCKET_MAX_FRAME (QEMU's NET_BUFSIZE) ends the connection, as in QEMU.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { UserError } from '../../errors';
import type { NetBackend, NetBackendCounters } from './net-backend';
import type { SocketEndpoint } from './net-option';

export { parseNetOption, type SocketEndpoint } from './net-option';

/** Largest frame accepted from the socket: QEMU's NET_BUFSIZE (4096 + 65536). */
export const NET_SOCKET_MAX_FRAME = 4096 + 65536;
/** Milliseconds between two attempts of `connect=`. */
export const CONNECT_RETRY_MS = 200;

/**
 * Splits a byte stream into length-prefixed frames; keeps partial prefixes and frames across
 * chunks. `feed` returns an error message (and stops) for a length above NET_SOCKET_MAX_FRAME.
 */
export class FrameDecoder {
  private readonly prefix = new Uint8Array(4);
  private prefixFill = 0;
  private frame: Uint8Array | undefined;
  private frameFill = 0;

  constructor(private readonly onFrame: (frame: Uint8Array) => void) {}

  feed(chunk: Uint8Array): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.frame === undefined) {
        const k = Math.min(4 - this.prefixFill, chunk.length - i);
        this.prefix.set(chunk.subarray(i, i + k), this.prefixFill);
        this.prefixFill += k;
        i += k;
        if (this.prefixFill < 4) break;
        this.prefixFill = 0;
        const len = new DataView(this.prefix.buffer).getUint32(0, false);
        if (len > NET_SOCKET_MAX_FRAME) return `frame length ${len} is above ${NET_SOCKET_MAX_FRAME}`;
        this.frame = new Uint8Array(len);
        this.frameFill = 0;
      }
      const k = Math.min(this.frame.length - this.frameFill, chunk.length - i);
      this.frame.set(chunk.subarray(i, i + k), this.frameFill);
      this.frameFill += k;
      i += k;
      if (this.frameFill === this.frame.length) {
        const f = this.frame;
        this.frame = undefined;
        if (f.length > 0) this.onFrame(f); // an empty frame carries nothing (QEMU would pass it on)
      }
    }
    return undefined;
  }
}

/** One frame as it goes on the wire: 4-byte big-endian length, then the bytes. */
export function encodeFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length, false);
  out.set(frame, 4);
  return out;
}


/** A NetBackend over one TCP connection at a time. */
export class SocketNetBackend implements NetBackend {
  onReceive: ((frame: Uint8Array) => void) | undefined;
  readonly counters: NetBackendCounters = { sent: 0, received: 0, dropped: 0 };
  private peer: Socket | undefined;
  private server: Server | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly where: string;

  private constructor(readonly endpoint: SocketEndpoint, private readonly log: (line: string) => void) {
    this.where = `${endpoint.host}:${endpoint.port}`;
  }

  /**
   * Open the backend: listening (resolves once the port is bound; a port that cannot be bound
   * is a one-line UserError) or dialling (resolves at once; connects in the background).
   * `log` gets the one-line notices (a peer that went away).
   */
  static async open(endpoint: SocketEndpoint, log: (line: string) => void): Promise<SocketNetBackend> {
    const b = new SocketNetBackend(endpoint, log);
    if (endpoint.mode === 'listen') await b.listen();
    else b.dial();
    return b;
  }

  /** Whether a peer is connected. */
  get connected(): boolean {
    return this.peer !== undefined;
  }

  /** The port actually bound (listen mode; useful with port 0). */
  get boundPort(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  send(frame: Uint8Array): void {
    if (this.peer === undefined || this.closed) {
      this.counters.dropped++;
      return;
    }
    this.counters.sent++;
    this.peer.write(encodeFrame(frame));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.peer?.destroy();
    this.peer = undefined;
    this.server?.close();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((s) => {
        if (this.peer !== undefined || this.closed) {
          s.destroy(); // one peer at a time
          return;
        }
        this.adopt(s);
      });
      server.once('error', (e: NodeJS.ErrnoException) => {
        reject(new UserError(`wasmvisor: --net: cannot listen on ${this.where}: ${e.code ?? e.message}`));
      });
      server.listen(this.endpoint.port, this.endpoint.host, () => {
        server.unref();
        this.server = server;
        resolve();
      });
    });
  }

  private dial(): void {
    if (this.closed) return;
    const s = createConnection({ host: this.endpoint.host, port: this.endpoint.port });
    s.unref();
    let up = false;
    s.once('connect', () => {
      up = true;
      this.adopt(s);
    });
    s.once('error', () => {
      // Before the connection is up: not listening yet, try again. After: 'close' follows.
    });
    s.once('close', () => {
      if (!up && !this.closed) this.retry = setTimeout(() => this.dial(), CONNECT_RETRY_MS).unref();
    });
  }

  /** Take `s` as the peer until it closes. */
  private adopt(s: Socket): void {
    this.peer = s;
    const who = s.remoteAddress !== undefined ? `${s.remoteAddress}:${s.remotePort}` : this.where;
    s.setNoDelay(true);
    s.unref();
    const decoder = new FrameDecoder((frame) => {
      this.counters.received++;
      this.onReceive?.(frame);
    });
    s.on('data', (chunk: Buffer) => {
      const bad = decoder.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      if (bad !== undefined) {
        this.log(`wasmvisor: --net: peer ${who}: ${bad}; connection closed`);
        s.destroy();
      }
    });
    s.on('error', () => {
      // ECONNRESET and the like: 'close' follows and says it once.
    });
    s.once('close', () => {
      if (this.peer !== s) return;
      this.peer = undefined;
      if (this.closed) return;
      this.log(`wasmvisor: --net: peer ${who} disconnected; frames are dropped until one connects`);
      if (this.endpoint.mode === 'connect') this.retry = setTimeout(() => this.dial(), CONNECT_RETRY_MS).unref();
    });
  }
}
