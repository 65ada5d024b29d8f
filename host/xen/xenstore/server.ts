/**
 * The XenStore server (xenstored) of our Dom0: one connection per introduced domain over its
 * interface page, local connections for Dom0 programs, and the dispatch of every request type
 * to the store and the watch registry (docs/misc/xenstore.txt for the payloads).
 *
 * Replies echo type, req_id and tx_id; failures are XS_ERROR replies carrying the error name.
 * Watch events caused by a request are queued after that request's reply. Nothing a client
 * sends makes a method of this class throw: protocol violations kill that one connection.
 */
import { LocalConnection, RingConnection, type Connection, type ConnectionSnapshot } from './connection';
import { canonicalize, DOMID_MAX, domainPath, type Caller } from './path';
import type { RingMemory } from './ring';
import { XenStore, type StoreChange, type StoreSnapshot, type XsLimits } from './store';
import { SPECIAL_INTRODUCE, SPECIAL_RELEASE, WatchRegistry, type WatchSnapshot, type Watcher } from './watches';
import { bytesOf, encodeMessage, latin1, nulJoin, splitNul, XsError, XsType, XENSTORE_PAYLOAD_MAX, type XsErrno, type XsMessage } from './wire';

/**
 * What the server needs from the hypervisor to honour INTRODUCE over the wire: map a domain's
 * interface frame and bind its event channel. Without it, INTRODUCE replies ENOSYS (the
 * toolstack then calls introduce() directly).
 */
export interface DomainPorts {
  /** The domain's interface page at guest frame `mfn`, or null if it is not a frame of that domain. */
  mapInterface(domid: number, mfn: number): RingMemory | null;
  /** A function raising the Dom0 end of `port` bound to the domain, or null if unusable. */
  bindNotifier(domid: number, port: number): (() => void) | null;
}

/** Options of a XenStoreServer. */
export interface XenStoreServerOptions {
  limits?: Partial<XsLimits>;
  ports?: DomainPorts;
}

/** Plain-data state of the whole server. */
export interface ServerSnapshot {
  store: StoreSnapshot;
  watches: WatchSnapshot[];
  connections: ConnectionSnapshot[];
}

/** Counters (for --stats and tests). */
export interface ServerStats {
  /** Exceptions other than XsError caught in dispatch (bugs; answered EIO). Should stay 0. */
  internalErrors: number;
}

const OK = nulJoin(['OK']);
/** DOMID_FIRST_RESERVED (xen.h): ids from here on are special, not domains. */
const DOMID_FIRST_RESERVED = 0x7ff0;

/** xenstored: serves introduced domains and local Dom0 clients from one XenStore. */
export class XenStoreServer {
  readonly store: XenStore;
  readonly watches: WatchRegistry;
  readonly stats: ServerStats = { internalErrors: 0 };
  private readonly rings = new Map<number, RingConnection>();
  private readonly locals = new Set<LocalConnection>();
  private readonly ports: DomainPorts | undefined;
  private localSeq = 0;
  /** Changes made while a request is being handled, fired after its reply. */
  private held: StoreChange[] | null = null;

  constructor(opts: XenStoreServerOptions = {}) {
    this.store = new XenStore(opts.limits);
    this.watches = new WatchRegistry(this.store.limits.maxWatchesPerDomain);
    this.ports = opts.ports;
    this.store.onChange = (changes) => {
      if (this.held) this.held.push(...changes);
      else this.fireChanges(changes);
    };
  }

  /**
   * Starts serving domain `domid` over its interface page (the toolstack's INTRODUCE) and fires
   * @introduceDomain. Throws XsError EEXIST if it is already introduced, EINVAL for a bad domid.
   * @param notify raises the domain's XenStore event channel
   * @param fresh the page was zeroed for this connection (false: adopt the indices in the page)
   */
  introduce(domid: number, mem: RingMemory, notify: () => void, fresh = true): RingConnection {
    if (!Number.isInteger(domid) || domid <= 0 || domid >= DOMID_FIRST_RESERVED) throw new XsError('EINVAL', `bad domid ${domid}`);
    if (this.rings.has(domid)) throw new XsError('EEXIST', `domain ${domid} already introduced`);
    const conn = this.attach(domid, mem, notify, fresh);
    this.watches.fireSpecial(SPECIAL_INTRODUCE);
    this.flushAll();
    return conn;
  }

  /** Stops serving `domid` (RELEASE, domain destroyed) and fires @releaseDomain. False if unknown. */
  release(domid: number): boolean {
    if (!this.detach(domid)) return false;
    this.watches.fireSpecial(SPECIAL_RELEASE);
    this.flushAll();
    return true;
  }

  private attach(domid: number, mem: RingMemory, notify: () => void, fresh: boolean): RingConnection {
    const conn = new RingConnection({ domid, privileged: false, conn: `ring:${domid}` }, mem, notify, this.dispatcher, this.store.limits.maxPendingOutput, fresh);
    conn.onDeath = (c) => this.forget(c);
    this.rings.set(domid, conn);
    return conn;
  }

  private detach(domid: number): boolean {
    const conn = this.rings.get(domid);
    if (!conn) return false;
    conn.kill('released');
    this.rings.delete(domid);
    return true;
  }

  /** True while `domid` is introduced (its connection may have died; see connection()). */
  isIntroduced(domid: number): boolean {
    return this.rings.has(domid);
  }

  /** The ring connection of `domid`, if introduced. */
  connection(domid: number): RingConnection | undefined {
    return this.rings.get(domid);
  }

  /** The domain sent an event on its XenStore channel: serve its ring. Never throws for guest data. */
  kick(domid: number): void {
    const conn = this.rings.get(domid);
    if (!conn) return;
    conn.pump();
    this.flushAll();
  }

  /** Opens a local connection (Dom0 programs; privileged unless told otherwise). */
  openLocal(domid = 0, privileged = true): LocalConnection {
    const conn = new LocalConnection({ domid, privileged, conn: `local:${++this.localSeq}` }, this.dispatcher, this.store.limits.maxPendingOutput);
    conn.onDeath = (c) => {
      this.forget(c);
      this.locals.delete(c as LocalConnection);
    };
    this.locals.add(conn);
    return conn;
  }

  /** Moves queued events to every client and notifies those that got something. */
  flushAll(): void {
    for (const c of this.rings.values()) if (c.pendingOutput > 0) c.flushAndSignal();
    for (const c of this.locals) if (c.pendingOutput > 0) c.flushAndSignal();
  }

  /** Fires changes made outside any request (the toolstack's direct calls) and flushes. */
  private fireChanges(changes: readonly StoreChange[]): void {
    for (const ch of changes) this.watches.fire(ch);
    this.flushAll();
  }

  /** Drops what a dead connection held. */
  private forget(c: Connection): void {
    this.watches.removeAll(c);
    this.store.dropTransactions(c.caller.conn!);
  }

  /**
   * One domain's connection, as xl save keeps it: queued output, a partial request, our ring
   * indices, and its watches (paths absolute, as registered). `transactions`: how many it has
   * open (a save refuses those: their overlays name paths of the old domain id).
   */
  domainState(domid: number): { conn: ConnectionSnapshot; watches: WatchSnapshot[]; transactions: number } | undefined {
    const c = this.rings.get(domid);
    if (!c) return undefined;
    const name = c.caller.conn!;
    return { conn: c.snapshot(), watches: this.watches.snapshot().filter((w) => w.conn === name), transactions: this.store.transactionCount(domid) };
  }

  /**
   * xl restore: serve domain `domid` over `mem` (the ring page came back with guest RAM) with a
   * saved connection state and its watches (paths already renamed for `domid`). No
   * @introduceDomain fires and no watch event is sent: to the guest nothing happened.
   */
  adoptDomain(domid: number, state: { conn: ConnectionSnapshot; watches: WatchSnapshot[] }, mem: RingMemory, notify: () => void): RingConnection {
    if (this.rings.has(domid)) throw new XsError('EEXIST', `domain ${domid} already introduced`);
    const conn = this.attach(domid, mem, notify, false);
    conn.restoreState({ ...state.conn, domid, conn: conn.caller.conn! });
    if (state.conn.ring) conn.ring.restore(state.conn.ring);
    for (const w of state.watches) this.watches.add(conn, w.path, w.token, w.relative);
    return conn;
  }

  /** Plain-data state: store, watches, connections (ring pages are restored with guest memory). */
  snapshot(): ServerSnapshot {
    return {
      store: this.store.snapshot(),
      watches: this.watches.snapshot(),
      connections: [...this.rings.values()].map((c) => c.snapshot()),
    };
  }

  /**
   * Restores a snapshot. `attach(domid)` gives the page and notifier for each ring connection
   * in it (null to leave that domain out). Local connections and their watches are not kept.
   */
  restore(s: ServerSnapshot, attach: (domid: number) => { mem: RingMemory; notify: () => void } | null): void {
    for (const c of [...this.locals]) c.close();
    this.rings.clear();
    this.store.restore(s.store);
    for (const cs of s.connections) {
      const a = attach(cs.domid);
      if (!a) continue;
      const conn = new RingConnection({ domid: cs.domid, privileged: cs.privileged, conn: cs.conn }, a.mem, a.notify, this.dispatcher, this.store.limits.maxPendingOutput, false);
      conn.restoreState(cs);
      if (cs.ring) conn.ring.restore(cs.ring);
      conn.onDeath = (c) => this.forget(c);
      this.rings.set(cs.domid, conn);
    }
    const byName = new Map<string, Watcher>([...this.rings.values()].map((c) => [c.caller.conn!, c]));
    this.watches.restore(s.watches, (name) => byName.get(name));
  }

  // ---- dispatch ----

  private readonly dispatcher = (conn: Connection, msg: XsMessage): void => {
    this.held = [];
    let reply: Uint8Array | null = null;
    let after: (() => void) | null = null;
    try {
      const r = this.handle(conn, msg);
      if (r instanceof Uint8Array) reply = r;
      else ({ reply, after } = r);
      if (reply.length > XENSTORE_PAYLOAD_MAX) throw new XsError('E2BIG', 'reply too long');
      conn.queue(encodeMessage(msg.type, msg.reqId, msg.txId, reply));
    } catch (e) {
      let errno: XsErrno = 'EIO';
      if (e instanceof XsError) errno = e.errno;
      else this.stats.internalErrors++;
      conn.stats.errors++;
      conn.queue(encodeMessage(XsType.ERROR, msg.reqId, msg.txId, nulJoin([errno])));
      after = null;
    }
    const held = this.held;
    this.held = null;
    for (const ch of held) this.watches.fire(ch);
    after?.();
    // Events for other clients go out now; `conn` itself is flushed by its own pump.
    for (const c of this.rings.values()) if (c !== conn && c.pendingOutput > 0) c.flushAndSignal();
    for (const c of this.locals) if (c !== conn && c.pendingOutput > 0) c.flushAndSignal();
  };

  /** One request: the reply payload, or a payload and something to do after it is queued. */
  private handle(conn: Connection, msg: XsMessage): Uint8Array | { reply: Uint8Array; after: () => void } {
    const c = conn.caller;
    const tx = msg.txId;
    switch (msg.type) {
      case XsType.READ:
        return this.store.read(c, tx, this.path(c, oneArg(msg)));
      case XsType.WRITE: {
        const nul = msg.payload.indexOf(0);
        if (nul < 0) throw new XsError('EINVAL', 'WRITE without path terminator');
        const path = this.path(c, latin1(msg.payload.subarray(0, nul)));
        this.store.write(c, tx, path, msg.payload.subarray(nul + 1));
        return OK;
      }
      case XsType.MKDIR:
        this.store.mkdir(c, tx, this.path(c, oneArg(msg)));
        return OK;
      case XsType.RM:
        this.store.rm(c, tx, this.path(c, oneArg(msg)));
        return OK;
      case XsType.DIRECTORY:
        return nulJoin(this.store.directory(c, tx, this.path(c, oneArg(msg))));
      case XsType.GET_PERMS:
        return nulJoin(this.store.getPerms(c, tx, this.path(c, oneArg(msg))));
      case XsType.SET_PERMS: {
        const args = strings(msg, 2);
        this.store.setPerms(c, tx, this.path(c, args[0]), args.slice(1));
        return OK;
      }
      case XsType.WATCH: {
        const [wpath, token] = strings(msg, 2);
        const abs = canonicalize(wpath, c.domid, true);
        this.watches.add(conn, abs, token, !wpath.startsWith('/') && !wpath.startsWith('@'));
        // xenstore.txt: a new watch fires once straight away, with <path> = <wpath> as given.
        return { reply: OK, after: () => conn.deliver(wpath, token) };
      }
      case XsType.UNWATCH: {
        const [wpath, token] = strings(msg, 2);
        this.watches.remove(conn, canonicalize(wpath, c.domid, true), token);
        return OK;
      }
      case XsType.TRANSACTION_START:
        if (tx !== 0) throw new XsError('EBUSY', 'TRANSACTION_START inside a transaction');
        return nulJoin([String(this.store.startTransaction(c))]);
      case XsType.TRANSACTION_END: {
        const arg = oneArg(msg);
        if (arg !== 'T' && arg !== 'F') throw new XsError('EINVAL', 'TRANSACTION_END wants T or F');
        this.store.endTransaction(c, tx, arg === 'T');
        return OK;
      }
      case XsType.GET_DOMAIN_PATH:
        return nulJoin([domainPath(parseDomid(oneArg(msg)))]);
      case XsType.RESET_WATCHES:
        this.watches.removeAll(conn);
        this.store.dropTransactions(c.conn!);
        return OK;
      case XsType.INTRODUCE: {
        privileged(c);
        const [d, mfnS, portS] = strings(msg, 3);
        const domid = parseDomid(d);
        if (domid === 0 || domid >= DOMID_FIRST_RESERVED) throw new XsError('EINVAL', 'not a guest domid');
        const mfn = parseDecimal(mfnS);
        const port = parseDecimal(portS);
        if (!this.ports) throw new XsError('ENOSYS', 'INTRODUCE needs the hypervisor ports');
        if (this.rings.has(domid)) throw new XsError('EEXIST');
        const mem = this.ports.mapInterface(domid, mfn);
        const notify = mem ? this.ports.bindNotifier(domid, port) : null;
        if (!mem || !notify) throw new XsError('EINVAL', 'bad interface frame or event channel');
        this.attach(domid, mem, notify, true);
        return { reply: OK, after: () => this.watches.fireSpecial(SPECIAL_INTRODUCE) };
      }
      case XsType.RELEASE: {
        privileged(c);
        if (!this.detach(parseDomid(oneArg(msg)))) throw new XsError('ENOENT', 'domain not introduced');
        return { reply: OK, after: () => this.watches.fireSpecial(SPECIAL_RELEASE) };
      }
      case XsType.IS_DOMAIN_INTRODUCED:
        privileged(c);
        return nulJoin([this.rings.has(parseDomid(oneArg(msg))) ? 'T' : 'F']);
      case XsType.DEBUG:
      case XsType.RESUME:
      case XsType.SET_TARGET:
      case XsType.RESTRICT:
      case XsType.DIRECTORY_PART:
        throw new XsError('ENOSYS', `unsupported request ${msg.type}`);
      default:
        throw new XsError('EINVAL', `bad request type ${msg.type}`);
    }
  }

  private path(c: Caller, p: string): string {
    return canonicalize(p, c.domid);
  }
}

/** The single NUL-terminated argument of a request (xenstored's onearg). */
function oneArg(msg: XsMessage): string {
  const { strings: s, rest } = splitNul(msg.payload);
  if (s.length !== 1 || rest.length !== 0) throw new XsError('EINVAL', 'expected one argument');
  return s[0];
}

/** At least `min` NUL-terminated strings and nothing unterminated after them. */
function strings(msg: XsMessage, min: number): string[] {
  const { strings: s, rest } = splitNul(msg.payload);
  if (s.length < min || rest.length !== 0) throw new XsError('EINVAL', `expected ${min} arguments`);
  return s;
}

function privileged(c: Caller): void {
  if (!c.privileged) throw new XsError('EACCES', 'Dom0 only');
}

function parseDecimal(s: string): number {
  if (!/^\d{1,10}$/.test(s)) throw new XsError('EINVAL', 'bad number');
  const n = Number(s);
  if (n > 0xffffffff) throw new XsError('EINVAL', 'bad number');
  return n;
}

function parseDomid(s: string): number {
  const n = parseDecimal(s);
  if (n > DOMID_MAX) throw new XsError('EINVAL', 'bad domid');
  return n;
}

/** Encodes a request (for Dom0 clients and tests): header plus NUL-terminated strings. */
export function request(type: number, reqId: number, txId: number, ...args: (string | Uint8Array)[]): Uint8Array {
  const parts = args.map((a) => (typeof a === 'string' ? bytesOf(a + '\0') : a));
  const len = parts.reduce((n, p) => n + p.length, 0);
  const payload = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    payload.set(p, o);
    o += p.length;
  }
  return encodeMessage(type, reqId, txId, payload);
}
