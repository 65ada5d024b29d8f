/**
 * XenStore connections: the byte transport between one client and the server.
 *
 * A RingConnection serves a domain's shared interface page (ring.ts); a LocalConnection is
 * Dom0's in-process stand-in for xenstored's Unix socket. Both copy request bytes into a
 * MessageReader (no double fetch), hand whole messages to the server's dispatcher, and queue
 * replies and watch events for the client, bounded by XsLimits.maxPendingOutput:
 *   - a request is only taken while the queue has room for its largest possible reply, so a
 *     client that never consumes replies stops being served instead of growing our memory;
 *   - a watch event that does not fit is dropped (and counted), as xenstored drops events for
 *     domains over their outstanding-output quota.
 * A protocol violation (bad ring index, len > XENSTORE_PAYLOAD_MAX) kills the connection: it
 * stops being served, drops its watches and transactions, and records why.
 */
import { nulJoin, encodeMessage, MessageReader, XsType, XSD_SOCKMSG_SIZE, XENSTORE_PAYLOAD_MAX, type XsMessage } from './wire';
import { ServerRing, XenstoreRingError, type RingMemory, type ServerRingSnapshot } from './ring';
import type { Caller } from './path';
import type { Watcher } from './watches';

/** Largest single message we ever queue. */
const MAX_MESSAGE = XSD_SOCKMSG_SIZE + XENSTORE_PAYLOAD_MAX;
/** Messages handled per pump at most (a 1 KiB ring holds at most 64 bare headers). */
const MAX_STEPS_PER_PUMP = 1024;

/** Why a connection was killed. */
export type DeathReason = 'ring-index' | 'payload-too-long' | 'released';

/** Counters a connection keeps (for --stats and tests). */
export interface ConnectionStats {
  requests: number;
  errors: number;
  eventsSent: number;
  eventsDropped: number;
}

/** Plain-data state of a connection. */
export interface ConnectionSnapshot {
  conn: string;
  domid: number;
  privileged: boolean;
  partial: number[];
  out: number[];
  dead: DeathReason | null;
  ring?: ServerRingSnapshot;
  stats: ConnectionStats;
}

/** What a connection asks of the server: handle one whole message. */
export type Dispatcher = (conn: Connection, msg: XsMessage) => void;

/** Common part of ring and local connections. */
export abstract class Connection implements Watcher {
  private readonly reader = new MessageReader();
  private out: Uint8Array[] = [];
  private outBytes = 0;
  private deathReason: DeathReason | null = null;
  /** Counters. */
  readonly stats: ConnectionStats = { requests: 0, errors: 0, eventsSent: 0, eventsDropped: 0 };

  /** Output bound actually used: at least two of the largest messages, so a reply always fits. */
  protected readonly maxPendingOutput: number;

  constructor(readonly caller: Caller, protected readonly dispatch: Dispatcher, maxPendingOutput: number) {
    this.maxPendingOutput = Math.max(maxPendingOutput, 2 * MAX_MESSAGE);
  }

  /** Bytes the client may send next (requests); 'badidx' kills the connection. */
  protected abstract pull(max: number): Uint8Array | 'badidx';
  /** Hands reply bytes to the client; returns how many it took, or 'badidx'. */
  protected abstract push(bytes: Uint8Array): number | 'badidx';
  /** Tells the client there is something new (event channel notify). */
  protected abstract signal(): void;
  /** Records a fatal error where the client can see it. */
  protected abstract report(reason: DeathReason): void;

  /** Why the connection is dead, or null while it is served. */
  get dead(): DeathReason | null {
    return this.deathReason;
  }

  /** Bytes of replies and events waiting for the client. */
  get pendingOutput(): number {
    return this.outBytes;
  }

  /** Queues a reply (always accepted: pump only takes requests while there is room). */
  queue(msg: Uint8Array): void {
    if (this.deathReason) return;
    this.out.push(msg);
    this.outBytes += msg.length;
  }

  /** Watcher: queues a WATCH_EVENT "<epath>|<token>|" with req_id = tx_id = 0. */
  deliver(epath: string, token: string): void {
    if (this.deathReason) return;
    const msg = encodeMessage(XsType.WATCH_EVENT, 0, 0, nulJoin([epath, token]));
    if (msg.length - XSD_SOCKMSG_SIZE > XENSTORE_PAYLOAD_MAX || this.outBytes + msg.length > this.maxPendingOutput) {
      this.stats.eventsDropped++;
      return;
    }
    this.stats.eventsSent++;
    this.queue(msg);
  }

  /**
   * Serves the connection: moves queued output to the client, then takes and dispatches whole
   * requests while there is room for their replies. Never throws for anything the client did.
   */
  pump(): void {
    if (this.deathReason) return;
    let changed = this.flush();
    for (let step = 0; step < MAX_STEPS_PER_PUMP && !this.deathReason; step++) {
      if (this.outBytes + MAX_MESSAGE > this.maxPendingOutput) break;
      const bytes = this.pull(this.reader.wanted());
      if (bytes === 'badidx') return this.kill('ring-index');
      if (bytes.length === 0) break;
      changed = true;
      const msg = this.reader.push(bytes);
      if (msg === 'toolong') return this.kill('payload-too-long');
      if (msg) {
        this.stats.requests++;
        this.dispatch(this, msg);
        if (this.flush()) changed = true;
      }
    }
    if (this.flush()) changed = true;
    if (changed && !this.deathReason) this.signal();
  }

  /** Moves queued output to the client; true if any byte moved. Kills on a bad index. */
  flush(): boolean {
    let moved = false;
    // Each pass either moves bytes or stops; the queue is finite.
    while (this.out.length > 0 && !this.deathReason) {
      const head = this.out[0];
      const n = this.push(head);
      if (n === 'badidx') {
        this.kill('ring-index');
        return moved;
      }
      if (n === 0) break;
      moved = true;
      this.outBytes -= n;
      if (n === head.length) this.out.shift();
      else this.out[0] = head.subarray(n);
    }
    return moved;
  }

  /** Flushes and signals the client if anything moved (after events queued from elsewhere). */
  flushAndSignal(): void {
    if (this.deathReason) return;
    if (this.flush() && !this.deathReason) this.signal();
  }

  /** Stops serving the connection for good. */
  kill(reason: DeathReason): void {
    if (this.deathReason) return;
    this.deathReason = reason;
    this.out = [];
    this.outBytes = 0;
    this.reader.reset();
    this.report(reason);
    this.onDeath?.(this);
  }

  /** Set by the server: drop the connection's watches and transactions. */
  onDeath: ((c: Connection) => void) | null = null;

  /** Plain-data state. */
  snapshot(): ConnectionSnapshot {
    const out = new Uint8Array(this.outBytes);
    let o = 0;
    for (const m of this.out) {
      out.set(m, o);
      o += m.length;
    }
    return {
      conn: this.caller.conn!,
      domid: this.caller.domid,
      privileged: this.caller.privileged,
      partial: [...this.reader.partial()],
      out: [...out],
      dead: this.deathReason,
      stats: { ...this.stats },
    };
  }

  /** Restores queued output, a partial request and counters from a snapshot. */
  restoreState(s: ConnectionSnapshot): void {
    this.reader.reset();
    let partial = Uint8Array.from(s.partial);
    // At most two pushes: the header, then the payload; each is at most wanted().
    while (partial.length > 0) {
      const n = Math.min(partial.length, this.reader.wanted());
      if (this.reader.push(partial.subarray(0, n)) !== null) break;
      partial = partial.subarray(n);
    }
    this.out = s.out.length > 0 ? [Uint8Array.from(s.out)] : [];
    this.outBytes = s.out.length;
    this.deathReason = s.dead;
    Object.assign(this.stats, s.stats);
  }
}

/** A domain's connection over its shared interface page. */
export class RingConnection extends Connection {
  readonly ring: ServerRing;

  /**
   * @param notify raises the domain's XenStore event channel
   * @param fresh the page was just zeroed by the toolstack (see ServerRing)
   */
  constructor(caller: Caller, mem: RingMemory, private readonly notify: () => void, dispatch: Dispatcher, maxPendingOutput: number, fresh = true) {
    super(caller, dispatch, maxPendingOutput);
    this.ring = new ServerRing(mem, fresh);
  }

  protected pull(max: number): Uint8Array | 'badidx' {
    return this.ring.readRequests(max);
  }

  protected push(bytes: Uint8Array): number | 'badidx' {
    return this.ring.writeResponses(bytes);
  }

  protected signal(): void {
    this.notify();
  }

  protected report(reason: DeathReason): void {
    if (reason === 'ring-index') this.ring.setError(XenstoreRingError.RINGIDX);
    else if (reason === 'payload-too-long') this.ring.setError(XenstoreRingError.PROTO);
  }

  override snapshot(): ConnectionSnapshot {
    return { ...super.snapshot(), ring: this.ring.snapshot() };
  }
}

/**
 * An in-process connection (Dom0's xenstored socket): the caller writes request bytes with
 * send() and takes reply bytes with receive(). Output is bounded like a ring's.
 */
export class LocalConnection extends Connection {
  private input: Uint8Array[] = [];
  private output: Uint8Array[] = [];
  private outputBytes = 0;

  /** Appends request bytes and serves them at once. */
  send(bytes: Uint8Array): void {
    if (this.dead) return;
    this.input.push(bytes.slice());
    this.pump();
  }

  /** Takes every reply byte produced so far, then serves any requests that were waiting for room. */
  receive(): Uint8Array {
    const all = new Uint8Array(this.outputBytes);
    let o = 0;
    for (const b of this.output) {
      all.set(b, o);
      o += b.length;
    }
    this.output = [];
    this.outputBytes = 0;
    this.pump();
    return all;
  }

  /** Closes the connection (its watches and transactions go). */
  close(): void {
    this.kill('released');
  }

  protected pull(max: number): Uint8Array | 'badidx' {
    if (this.input.length === 0) return new Uint8Array(0);
    const head = this.input[0];
    if (head.length <= max) {
      this.input.shift();
      return head;
    }
    this.input[0] = head.subarray(max);
    return head.subarray(0, max);
  }

  protected push(bytes: Uint8Array): number | 'badidx' {
    const n = Math.min(bytes.length, this.maxPendingOutput - this.outputBytes);
    if (n <= 0) return 0;
    this.output.push(bytes.slice(0, n));
    this.outputBytes += n;
    return n;
  }

  protected signal(): void {}

  protected report(): void {}
}
