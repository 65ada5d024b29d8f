/**
 * Live migration over a MessagePort (the demo page's migration between two Workers, host/web):
 * a Transport (transport.ts) on one end of a MessageChannel, so the same source and target code
 * that runs over TCP runs between Workers. Works with the browser's and Node's MessageChannel.
 *
 * On the port, each message is one of
 *   { t: 'd', b: Uint8Array }   bytes of the stream, in order
 *   { t: 'a', n }               the receiver took n bytes (flow control)
 *   { t: 'e' }                  the sender's end(): no more bytes
 *   { t: 'x' }                  the sender's destroy(): the stream broke
 * A port has no back-pressure of its own (postMessage always queues), so the sender keeps at
 * most WINDOW bytes unacknowledged: write() returns false beyond it, and 'drain' follows once
 * the receiver's acknowledgements bring it back under, as a socket's buffer does. Without it
 * the source would measure the speed of postMessage, not of the peer, and its downtime
 * estimate (dirty pages over bandwidth) would be meaningless.
 */
import type { Transport } from './transport';

/** Unacknowledged bytes a sender may have in flight (a socket's send buffer is of this order). */
export const WINDOW = 4 << 20;

type PortMessage = { t: 'd'; b: Uint8Array } | { t: 'a'; n: number } | { t: 'e' } | { t: 'x' };

/** The part of a MessagePort used (the browser's and Node's both have it). */
export interface PortLike {
  postMessage(m: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  close(): void;
}

type Listener = (arg: never) => void;

export class PortTransport implements Transport {
  private readonly listeners = new Map<string, Set<Listener>>();
  private unacked = 0;
  private blocked = false;
  private closed = false;
  /** Bytes written and received (for tests and the page's figures). */
  sent = 0;
  received = 0;

  constructor(private readonly port: PortLike, private readonly window = WINDOW) {
    port.onmessage = (ev) => this.receive(ev.data as PortMessage);
  }

  get destroyed(): boolean {
    return this.closed;
  }

  write(bytes: Uint8Array, done?: () => void): boolean {
    if (done) queueMicrotask(done); // (structured clone copies the bytes: the caller may reuse its buffer)
    if (this.closed) return false;
    this.port.postMessage({ t: 'd', b: bytes });
    this.sent += bytes.length;
    this.unacked += bytes.length;
    if (this.unacked >= this.window) this.blocked = true;
    return !this.blocked;
  }

  end(bytes?: Uint8Array): void {
    if (this.closed) return;
    if (bytes) this.write(bytes);
    this.port.postMessage({ t: 'e' });
    this.finish();
  }

  destroy(): void {
    if (this.closed) return;
    this.port.postMessage({ t: 'x' });
    this.finish();
  }

  /** No more writes from this side; the peer closes the port when it reads 'e' or 'x'. */
  private finish(): void {
    this.closed = true;
    this.emit('close');
  }

  private receive(m: PortMessage): void {
    switch (m.t) {
      case 'd':
        this.received += m.b.length;
        this.port.postMessage({ t: 'a', n: m.b.length });
        this.emit('data', m.b);
        return;
      case 'a':
        this.unacked -= m.n;
        if (this.blocked && this.unacked < this.window / 2) {
          this.blocked = false;
          this.emit('drain');
        }
        return;
      case 'e':
      case 'x':
        this.port.onmessage = null;
        this.port.close();
        if (m.t === 'e') this.emit('end');
        if (!this.closed) this.finish();
        return;
    }
  }

  on(event: string, listener: Listener): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.listeners.get(event)?.delete(listener);
    return this;
  }

  private emit(event: string, arg?: unknown): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) (l as (a?: unknown) => void)(arg);
  }
}
