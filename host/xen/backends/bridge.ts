/**
 * A learning bridge (IEEE 802.1D transparent bridging, the behaviour of Linux's bridge that
 * xl's vif-bridge script attaches vifs to): the virtual switch joining the domains' vifs.
 *
 * For each frame from port P:
 *   - shorter than an Ethernet header, or a source MAC that is multicast (bit 0 of byte 0) or
 *     all zero: dropped (`invalid`), nothing learned;
 *   - the source MAC is learned on P (a new entry, or a move and refresh of an old one);
 *   - a multicast/broadcast destination, or a unicast one not in the table (or aged out): the
 *     frame is FLOODED to every port but P;
 *   - a known destination on P itself: `filtered` (not sent back); on another port: sent there.
 * The table holds at most `maxEntries` MACs (default 1024; when full, the least recently seen
 * entry is evicted) and forgets an entry `ageingMs` after its MAC was last seen as a source
 * (default 300 s, Linux's ageing_time). Time comes from `now()` (milliseconds), injectable so a
 * deterministic run stays deterministic.
 *
 * Ports receive frames with deliver() and, once per input() batch, flush(): a vif publishes its
 * rx responses and notifies its guest once per batch, however many frames arrived.
 */

/** An Ethernet frame and the one offload bit carried with it. */
export interface EthFrame {
  /** destination MAC, source MAC, ethertype, payload (no FCS). */
  data: Uint8Array;
  /** The sender left the transport checksum blank (NETTXF_csum_blank). */
  csumBlank?: boolean;
}

/** Something plugged into the bridge (a vif). */
export interface BridgePort {
  /** For traces and errors. */
  readonly name: string;
  /** Take one frame (the port copies what it keeps; it may drop and count). */
  deliver(frame: EthFrame): void;
  /** End of a batch of deliver() calls: publish and notify once. */
  flush(): void;
}

/** Bridge options. */
export interface BridgeOptions {
  /** MAC table capacity (default 1024). */
  maxEntries?: number;
  /** Entries not refreshed for this long are forgotten (default 300000 ms). */
  ageingMs?: number;
  /** Clock in milliseconds (default Date.now). */
  now?: () => number;
}

/** Counters of a bridge. */
export interface BridgeStats {
  /** Frames sent to exactly one known port. */
  forwarded: number;
  /** Frames flooded (broadcast, multicast, unknown destination). */
  flooded: number;
  /** Frames whose destination is on the port they came from. */
  filtered: number;
  /** Runts and frames with an invalid source MAC. */
  invalid: number;
  /** Entries evicted because the table was full. */
  evicted: number;
  /** Entries forgotten by ageing. */
  aged: number;
}

/** One MAC table entry as plain data. */
export interface MacEntry {
  /** "02:00:00:00:00:01". */
  mac: string;
  port: number;
  /** now() when last seen as a source. */
  seen: number;
}

/** Plain-data state of a bridge (ports are re-attached by their owners). */
export interface BridgeSnapshot {
  table: MacEntry[];
  stats: BridgeStats;
}

/** The 48-bit MAC at `off` of `b` as a number (exact: < 2^53). */
export function macAt(b: Uint8Array, off: number): number {
  return ((b[off] * 256 + b[off + 1]) * 65536 + (b[off + 2] << 8 | b[off + 3])) * 65536 + (b[off + 4] << 8 | b[off + 5]);
}

/** A MAC number as "aa:bb:cc:dd:ee:ff". */
export function formatMac(mac: number): string {
  const parts: string[] = [];
  for (let i = 5; i >= 0; i--) parts.push((Math.floor(mac / 2 ** (8 * i)) & 0xff).toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Parse "aa:bb:cc:dd:ee:ff" into 6 bytes, or undefined. */
export function parseMac(s: string): Uint8Array | undefined {
  const m = /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})$/.exec(s);
  return m ? Uint8Array.from(m.slice(1), (h) => parseInt(h, 16)) : undefined;
}

const ETH_HLEN = 14;

/** EtherType of RARP (RFC 903). */
export const ETH_P_RARP = 0x8035;

/**
 * The frame QEMU's announce_self sends for a MAC after a migration (net/announce.c,
 * announce_self_create), 60 bytes: broadcast destination, source = the MAC, EtherType RARP;
 * htype 1, ptype 0x0800, hlen 6, plen 4, op 3 (reverse request), sender and target hardware
 * address = the MAC, both protocol addresses 0; zero padding.
 */
export function rarpAnnouncement(mac: number): Uint8Array {
  const f = new Uint8Array(60);
  const m = new Uint8Array(6);
  for (let i = 0; i < 6; i++) m[i] = Math.floor(mac / 2 ** (8 * (5 - i))) & 0xff;
  f.fill(0xff, 0, 6);
  f.set(m, 6);
  f.set([ETH_P_RARP >> 8, ETH_P_RARP & 0xff, 0, 1, 0x08, 0x00, 6, 4, 0, 3], 12);
  f.set(m, 22);
  f.set(m, 32);
  return f;
}
/** Multicast bit of the first byte (the high byte of the 48-bit number). */
const MCAST_BIT = 2 ** 40;

/** Whether a MAC number has the group (multicast/broadcast) bit. */
function isMulticast(mac: number): boolean {
  return Math.floor(mac / MCAST_BIT) % 2 === 1;
}

/** The virtual switch. */
export class Bridge {
  readonly stats: BridgeStats = { forwarded: 0, flooded: 0, filtered: 0, invalid: 0, evicted: 0, aged: 0 };
  private readonly ports = new Map<number, BridgePort>();
  /** MAC -> entry, in least-recently-seen-first order (a refresh re-inserts). */
  private readonly table = new Map<number, { port: number; seen: number }>();
  private nextPort = 1;
  private readonly maxEntries: number;
  private readonly ageingMs: number;
  private readonly now: () => number;

  constructor(opts: BridgeOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 1024;
    this.ageingMs = opts.ageingMs ?? 300_000;
    this.now = opts.now ?? Date.now;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError(`bridge: maxEntries ${this.maxEntries}, expected >= 1`);
  }

  /** Plug a port in; returns its number (used by input()). */
  attach(port: BridgePort): number {
    const id = this.nextPort++;
    this.ports.set(id, port);
    return id;
  }

  /** Unplug port `id` and forget the MACs learned on it. */
  detach(id: number): void {
    this.ports.delete(id);
    for (const [mac, e] of this.table) if (e.port === id) this.table.delete(mac);
  }

  /** Number of ports plugged in. */
  get portCount(): number {
    return this.ports.size;
  }

  /** The port a MAC ("aa:bb:..") is known on, if any (ageing applies). */
  lookup(mac: string): number | undefined {
    const b = parseMac(mac);
    return b ? this.find(macAt(b, 0)) : undefined;
  }

  /** Forward a batch of frames that came in on port `from`, then flush every port that got one. */
  input(from: number, frames: readonly EthFrame[]): void {
    if (!this.ports.has(from)) return;
    const touched = new Set<BridgePort>();
    for (const f of frames) this.forward(from, f, touched);
    for (const p of touched) p.flush();
  }

  private forward(from: number, f: EthFrame, touched: Set<BridgePort>): void {
    const d = f.data;
    if (d.length < ETH_HLEN) {
      this.stats.invalid++;
      return;
    }
    const dst = macAt(d, 0);
    const src = macAt(d, 6);
    if (src === 0 || isMulticast(src)) {
      this.stats.invalid++;
      return;
    }
    this.learn(src, from);
    const to = isMulticast(dst) ? undefined : this.find(dst);
    if (to === undefined) {
      this.stats.flooded++;
      for (const [id, p] of this.ports) {
        if (id === from) continue;
        p.deliver(f);
        touched.add(p);
      }
      return;
    }
    if (to === from) {
      this.stats.filtered++;
      return;
    }
    const p = this.ports.get(to)!;
    this.stats.forwarded++;
    p.deliver(f);
    touched.add(p);
  }

  private learn(mac: number, port: number): void {
    const now = this.now();
    if (this.table.has(mac)) this.table.delete(mac);
    else if (this.table.size >= this.maxEntries) {
      const oldest = this.table.keys().next().value as number;
      this.table.delete(oldest);
      this.stats.evicted++;
    }
    this.table.set(mac, { port, seen: now });
  }

  private find(mac: number): number | undefined {
    const e = this.table.get(mac);
    if (!e) return undefined;
    if (this.now() - e.seen > this.ageingMs || !this.ports.has(e.port)) {
      this.table.delete(mac);
      this.stats.aged++;
      return undefined;
    }
    return e.port;
  }

  /** The MAC table, least recently seen first. */
  macTable(): MacEntry[] {
    return [...this.table].map(([mac, e]) => ({ mac: formatMac(mac), port: e.port, seen: e.seen }));
  }

  /** Plain-data state. */
  snapshot(): BridgeSnapshot {
    return { table: this.macTable(), stats: { ...this.stats } };
  }
}
