/**
 * The block backend (Dom0 side of io/blkif.h; the behaviour of Linux's xen-blkback) over a
 * BlockBackend, so the disks that serve virtio-blk (MemoryBackend, FileBackend) serve Xen
 * guests too.
 *
 * Each notification serves every request on the ring and answers with at most ONE event back
 * (serviceRing). A request is copied out of the ring, decoded from that private copy and
 * checked rule by rule; the first rule broken gives that request a response and touches
 * nothing else:
 *   1. operation READ, WRITE or FLUSH_DISKCACHE         else BLKIF_RSP_EOPNOTSUPP
 *   2. nr_segments 1..11 (0..11 for a flush)            else BLKIF_RSP_ERROR
 *   3. every segment first_sect <= last_sect <= 7       else BLKIF_RSP_ERROR
 *   4. data to the disk (write, flush with segments) on a read-only disk  -> BLKIF_RSP_ERROR
 *   5. sector_number + sectors <= capacity (floor(size / 512))           else BLKIF_RSP_ERROR
 *   6. every grant maps (read-only when the backend only reads the page: writes to the disk;
 *      writable for reads from the disk); all are mapped before any byte moves, so a bad or
 *      revoked grant in any segment fails the request with no page and no sector touched
 *                                                      else BLKIF_RSP_ERROR
 *   7. the disk call succeeds                           else BLKIF_RSP_ERROR
 * Writes are acknowledged only after BlockBackend.write returned (and, for a flush, after
 * flush() returned). `handle` is not checked (one ring serves one vbd, as in Linux).
 *
 * Persistent grants (blkif.h "feature-persistent", as Linux's blkback): when the frontend also
 * writes feature-persistent = 1, a data grant's mapping is kept after its request, keyed by
 * grant reference, up to maxPersistentGrants (default 352 = 32 requests x 11 segments); beyond
 * that, grants are mapped for their request only, as without the feature. Rule 6 then reads:
 * a kept mapping is used only if GrantTables.stillGranted says the entry, re-read now, still
 * grants the same frame to Dom0 (writable if the mapping is); otherwise the old mapping is
 * dropped and the grant mapped afresh, which fails the request if the DomU revoked it. A DomU
 * may thus repoint a persistent grant at another frame between requests (blkfront does) and
 * the backend follows. Every kept mapping is unmapped on disconnect and when the device stops.
 * Indirect segments (blkif.h BLKIF_OP_INDIRECT, "feature-max-indirect-segments", as Linux's
 * blkback): a request names up to maxIndirectSegments (default 256, 1 MiB) segments held in
 * ceil(nr / 512) indirect pages the frontend granted. Before rule 3 the request must pass:
 *   1a. indirect_op READ or WRITE                       else BLKIF_RSP_ERROR (Linux's rule)
 *   2a. nr_segments 1..maxIndirectSegments              else BLKIF_RSP_ERROR
 *   2b. every indirect page maps read-only; its descriptors are copied out once (the private
 *       copy: no double fetch) and the page unmapped before any data moves
 *                                                      else BLKIF_RSP_ERROR
 * then rules 3-7 apply to its segments as to a direct request's. The response echoes
 * operation BLKIF_OP_INDIRECT. Without the feature (maxIndirectSegments 0) operation 6 gets
 * EOPNOTSUPP (rule 1).
 *
 * Multi-page rings (blkif.h "max-ring-page-order" / "ring-page-order", "ring-ref%u"): the
 * backend offers order <= maxRingPageOrder (default 4: 16 pages, 512 slots, Linux's default);
 * a frontend that writes ring-page-order n (0..max) gives ring-ref0..ring-ref{2^n - 1}; one
 * that does not write it gives ring-ref (the single-page ring). A malformed or larger order,
 * or a missing ref, fails the connection.
 *
 * Work per kick is bounded (docs/bounds.md): at most maxRequestsPerRun requests (default 4
 * ring sizes) and maxSegmentsPerRun segments (default 4096: 16 MiB of data) per run; a run that
 * stops at a bound with requests left schedules another run (the channel's kick), so the VM
 * gets the CPU in between and a legitimate frontend still sees every request answered.
 * A ring whose req_prod runs past the ring size is a broken frontend: the device is stopped
 * (BackendChannel.stop) and the xenbus layer moves it to Closing.
 */
import type { BlockBackend } from '../../devices/virtio/backend';
import { GNTST_okay } from '../hypercall-abi';
import type { GrantMapping } from '../grant-table';
import {
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, BLKIF_OP_INDIRECT, BLKIF_SEG_SIZE, BLKIF_SEGS_PER_INDIRECT_FRAME,
  BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_REQ_SIZE,
  BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BLKIF_RSP_SIZE, BLKIF_SECTORS_PER_PAGE, BLKIF_SECTOR_SIZE,
  decodeBlkifRequest, encodeBlkifResponse, VDISK_READONLY, type BlkifRequest,
} from './blkif';
import { BackendChannel, type BackendContext, type ChannelSnapshot, type ChannelStats } from './channel';
import { BackRing, le32, MultiPage, serviceRing, type BackRingSnapshot } from './ring';
import { readU32Key, type XenbusDriver } from './xenbus-backend';

/** How a block backend is created. */
export interface BlkbackOptions extends BackendContext {
  /** The disk. */
  disk: BlockBackend;
  /** Requests served per run before yielding (default 4 ring sizes). */
  maxRequestsPerRun?: number;
  /** Most grant mappings kept across requests when persistent grants are negotiated (default 352; 0 turns the feature off). */
  maxPersistentGrants?: number;
  /** feature-max-indirect-segments (default 256; 0 turns BLKIF_OP_INDIRECT off; at most 8 x 512). */
  maxIndirectSegments?: number;
  /** max-ring-page-order offered (default 4: up to 16 ring pages; 0 = single-page rings only). */
  maxRingPageOrder?: number;
  /** Segments served per run before yielding (default 4096). */
  maxSegmentsPerRun?: number;
}

/** Default feature-max-indirect-segments (Linux blkback's MAX_INDIRECT_SEGMENTS): 1 MiB per request. */
export const BLKBACK_MAX_INDIRECT_SEGMENTS = 256;
/** Default max-ring-page-order (Linux blkback's xen_blkif_max_ring_order). */
export const BLKBACK_MAX_RING_PAGE_ORDER = 4;
/** Default bound on segments served per run (16 MiB of data). */
export const BLKBACK_MAX_SEGMENTS_PER_RUN = 4096;

/** Default bound on kept mappings: every segment of a full ring (32 x 11). */
export const BLKBACK_MAX_PERSISTENT_GRANTS = 352;

/** Counters of a block backend. */
export interface BlkbackStats extends ChannelStats {
  requests: number;
  okay: number;
  /** Responses BLKIF_RSP_ERROR. */
  errors: number;
  /** Responses BLKIF_RSP_EOPNOTSUPP. */
  unsupported: number;
  /** Grant maps made for data segments. */
  grantMaps: number;
  /** Segments served through a kept (persistent) mapping, without a map. */
  persistentHits: number;
  /** Kept mappings dropped because the entry no longer granted the same frame. */
  persistentStale: number;
  /** Segments moved between the disk and a granted page (one disk call each). */
  copies: number;
  /** BLKIF_OP_INDIRECT requests taken (also counted in requests). */
  indirect: number;
  /** Runs that stopped at the per-run bound with requests left (and scheduled another). */
  yields: number;
  bytesRead: number;
  bytesWritten: number;
  flushes: number;
  /** Unexpected host exceptions caught (a bug; the device is stopped). Must stay 0. */
  internalErrors: number;
}

/** Plain-data state of a block backend. */
export interface BlkbackSnapshot {
  channel: ChannelSnapshot;
  ring: BackRingSnapshot | null;
  stats: BlkbackStats;
  /** Whether persistent grants were negotiated, and the kept mappings (grant ref, handle). */
  persistent: boolean;
  persistentGrants: { ref: number; handle: number }[];
  /** Pages of the connected ring (2^ring-page-order; 1 for the single-page ring). */
  ringPages: number;
}

/** Why a request failed, for `lastError` (tests, traces). */
type Failure = { status: number; why: string };

/** One vbd: a blkif ring served from a BlockBackend. */
export class Blkback implements XenbusDriver {
  readonly channel: BackendChannel;
  readonly stats: BlkbackStats;
  /** The ring while connected. */
  ring: BackRing | null = null;
  /** Why the last failed request failed. */
  lastError: string | null = null;
  private readonly disk: BlockBackend;
  private readonly limit: number;
  private readonly maxPersistent: number;
  private readonly maxIndirect: number;
  private readonly maxOrder: number;
  private readonly segBudget: number;
  /** Segments served in the current run. */
  private runSegments = 0;
  /** Pages of the connected ring. */
  ringPages = 1;
  /** Persistent grants negotiated for this connection. */
  persistent = false;
  /** Kept mappings by grant reference (bounded by maxPersistent). */
  private readonly kept = new Map<number, GrantMapping>();

  constructor(private readonly opts: BlkbackOptions) {
    this.disk = opts.disk;
    this.channel = new BackendChannel(opts, `vbd d${opts.frontendDomid}`);
    this.limit = opts.maxRequestsPerRun ?? 0;
    this.maxPersistent = opts.maxPersistentGrants ?? BLKBACK_MAX_PERSISTENT_GRANTS;
    this.maxIndirect = Math.min(opts.maxIndirectSegments ?? BLKBACK_MAX_INDIRECT_SEGMENTS, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLKIF_SEGS_PER_INDIRECT_FRAME);
    this.maxOrder = Math.max(0, Math.min(opts.maxRingPageOrder ?? BLKBACK_MAX_RING_PAGE_ORDER, BLKBACK_MAX_RING_PAGE_ORDER));
    this.segBudget = opts.maxSegmentsPerRun ?? BLKBACK_MAX_SEGMENTS_PER_RUN;
    const s = this.channel.stats as BlkbackStats;
    Object.assign(s, { requests: 0, okay: 0, errors: 0, unsupported: 0, grantMaps: 0, persistentHits: 0, persistentStale: 0, copies: 0, indirect: 0, yields: 0, bytesRead: 0, bytesWritten: 0, flushes: 0, internalErrors: 0 });
    this.stats = s;
  }

  /** Capacity in 512-byte sectors. */
  get sectors(): number {
    return Math.floor(this.disk.size / BLKIF_SECTOR_SIZE);
  }

  /** Backend keys (blkif.h "Backend XenBus Nodes"). */
  features(): Record<string, string> {
    const persistent: Record<string, string> = this.maxPersistent > 0 ? { 'feature-persistent': '1' } : {};
    const indirect: Record<string, string> = this.maxIndirect > 0 ? { 'feature-max-indirect-segments': String(this.maxIndirect) } : {};
    return {
      ...persistent,
      ...indirect,
      'sectors': String(this.sectors),
      'sector-size': String(BLKIF_SECTOR_SIZE),
      'physical-sector-size': String(BLKIF_SECTOR_SIZE),
      'info': String(this.disk.readOnly ? VDISK_READONLY : 0),
      'mode': this.disk.readOnly ? 'r' : 'w',
      'feature-flush-cache': '1',
      'max-ring-page-order': String(this.maxOrder),
    };
  }

  /**
   * XenbusDriver.connect: "event-channel" and either "ring-ref" (single-page ring) or
   * "ring-page-order" n plus "ring-ref0".."ring-ref{2^n - 1}" (native ABI).
   */
  connect(frontend: (key: string) => string | undefined): string | null {
    const keys = this.frontendRings(frontend);
    if (typeof keys === 'string') return keys;
    // blkif.h: feature-persistent is in force only if both ends say 1 (anything else: off).
    const p = this.maxPersistent > 0 && frontend('feature-persistent') === '1';
    const err = this.connectRings(keys.refs, keys.port);
    this.persistent = err === null && p;
    return err;
  }

  /** The ring refs and event channel the frontend's keys name, or what is wrong with them. */
  frontendRings(frontend: (key: string) => string | undefined): { refs: number[]; port: number } | string {
    const name = `vbd d${this.opts.frontendDomid}`;
    const port = readU32Key(frontend('event-channel'));
    if (port === undefined) return `${name}: event-channel missing or malformed`;
    const refs: number[] = [];
    const orderKey = frontend('ring-page-order');
    if (orderKey === undefined) {
      const ref = readU32Key(frontend('ring-ref'));
      if (ref === undefined) return `${name}: ring-ref missing or malformed`;
      refs.push(ref);
    } else {
      const order = readU32Key(orderKey);
      if (order === undefined || order > this.maxOrder) return `${name}: ring-page-order '${orderKey}' is not 0..${this.maxOrder}`;
      for (let i = 0; i < 1 << order; i++) {
        const ref = readU32Key(frontend(`ring-ref${i}`));
        if (ref === undefined) return `${name}: ring-ref${i} missing or malformed`;
        refs.push(ref);
      }
    }
    return { refs, port };
  }

  /** Map ring `ringRef` of the frontend and bind its port `port`. Null or an error message. */
  connectRing(ringRef: number, port: number): string | null {
    return this.connectRings([ringRef], port);
  }

  /** Map the ring pages `refs` (1, 2, 4, ... of them, in ring-ref%u order) and bind `port`. */
  connectRings(refs: number[], port: number): string | null {
    this.ring = null;
    this.releasePersistent();
    this.persistent = false;
    const err = this.channel.connect(refs, port, () => this.serve());
    if (err) return err;
    const pages = this.channel.pages;
    this.ringPages = pages.length;
    this.ring = new BackRing(pages.length === 1 ? pages[0] : new MultiPage(pages), BLKIF_REQ_SIZE, BLKIF_RSP_SIZE, undefined, pages.length);
    // Requests may already be waiting (the frontend published before connecting).
    this.channel.run();
    return null;
  }

  /**
   * xl restore (host/snapshot/xen.ts): reconnect to a frontend that never saw the save, with
   * the ring `refs` and `port` of its XenStore keys and what snapshot() saved: our private ring
   * indices (the shared ring came back with guest RAM) and the persistent grants, mapped again
   * so that their pins and GTF_reading/GTF_writing bits are as before. Nothing is served and no
   * event is sent here: the save was taken with every request answered (the backend serves a
   * kick to its end), so the next kick of the frontend carries on. Null, or an error message.
   */
  resume(refs: number[], port: number, s: { ring: BackRingSnapshot; persistent: boolean; persistentRefs: number[] }): string | null {
    this.ring = null;
    this.releasePersistent();
    const err = this.channel.connect(refs, port, () => this.serve());
    if (err) return err;
    const pages = this.channel.pages;
    this.ringPages = pages.length;
    this.ring = new BackRing(pages.length === 1 ? pages[0] : new MultiPage(pages), BLKIF_REQ_SIZE, BLKIF_RSP_SIZE, s.ring, pages.length);
    this.persistent = s.persistent && this.maxPersistent > 0;
    for (const ref of this.persistent ? s.persistentRefs.slice(0, this.maxPersistent) : []) {
      const m = this.mapOnce(ref, false);
      if (typeof m !== 'number') this.kept.set(ref, m);
    }
    return null;
  }

  /** XenbusDriver.disconnect. */
  disconnect(): void {
    this.releasePersistent();
    this.channel.disconnect();
    this.ring = null;
  }

  /** Turn persistent grants on or off for the current connection (tests, connectRing users). */
  setPersistent(on: boolean): void {
    if (!on) this.releasePersistent();
    this.persistent = on && this.maxPersistent > 0;
  }

  /** Mappings kept across requests now. */
  get persistentGrants(): number {
    return this.kept.size;
  }

  /** Unmap every kept mapping. */
  private releasePersistent(): void {
    for (const m of this.kept.values()) this.opts.grants.unmap(m);
    this.kept.clear();
  }

  /** Stop the device (a broken frontend or a bug): drop kept mappings, then the channel. */
  private stopDevice(reason: string): void {
    this.releasePersistent();
    this.channel.stop(reason);
    this.ring = null;
  }

  /** XenbusDriver.setOnFatal. */
  setOnFatal(handler: (reason: string) => void): void {
    this.channel.onFatal = handler;
  }

  /** Serve the ring now (what a notification does). */
  kick(): void {
    this.channel.kick();
  }

  private serve(): void {
    const ring = this.ring;
    if (!ring) return;
    let notify = false;
    const limit = this.limit || ring.size * 4;
    let served = 0;
    this.runSegments = 0;
    try {
      notify = serviceRing(ring, limit, () => {
        served++;
        this.one(ring);
      }, () => this.runSegments < this.segBudget);
    } catch (e) {
      this.stats.internalErrors++;
      this.stopDevice(`internal error: ${(e as Error).message}`);
      return;
    }
    if (ring.broken) {
      this.stopDevice(`frontend broke the ring: ${ring.broken}`);
      return;
    }
    if (notify) this.channel.notify();
    // Stopped at a bound with requests waiting: run again later (after the VM ran, when the
    // channel has a scheduler), so a legitimate frontend is still served in full.
    if ((served >= limit || this.runSegments >= this.segBudget) && ring.unconsumed() > 0) {
      this.stats.yields++;
      this.channel.kick();
    }
  }

  /** Take one request, execute it, queue its response. */
  private one(ring: BackRing): void {
    const req = decodeBlkifRequest(ring.takeRequest()); // the private copy: never re-read
    this.stats.requests++;
    const f = this.execute(req);
    this.runSegments += 1 + req.seg.length; // the segments it moved or looked at (at most nr_segments)
    const status = f ? f.status : BLKIF_RSP_OKAY;
    if (f) {
      this.lastError = `request id ${req.id}: ${f.why}`;
      if (f.status === BLKIF_RSP_EOPNOTSUPP) this.stats.unsupported++;
      else this.stats.errors++;
    } else this.stats.okay++;
    ring.putResponse(encodeBlkifResponse({ id: req.id, operation: req.operation, status }));
  }

  /** Rules 1-7 of the header comment; null when the request succeeded. */
  private execute(req: BlkifRequest): Failure | null {
    let op = req.operation;
    const nseg = req.nrSegments;
    if (op === BLKIF_OP_INDIRECT && this.maxIndirect > 0) {
      this.stats.indirect++;
      op = req.indirectOp!;
      if (op !== BLKIF_OP_READ && op !== BLKIF_OP_WRITE) return fail(`indirect_op ${op}, expected READ or WRITE`);
      if (nseg < 1 || nseg > this.maxIndirect) return fail(`indirect nr_segments ${nseg}, expected 1..${this.maxIndirect}`);
      const bad = this.readIndirect(req);
      if (bad) return bad;
    } else if (op !== BLKIF_OP_READ && op !== BLKIF_OP_WRITE && op !== BLKIF_OP_FLUSH_DISKCACHE) {
      return { status: BLKIF_RSP_EOPNOTSUPP, why: `operation ${op} not supported` };
    } else if (nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST || (nseg === 0 && op !== BLKIF_OP_FLUSH_DISKCACHE)) {
      return fail(`nr_segments ${nseg}, expected ${op === BLKIF_OP_FLUSH_DISKCACHE ? 0 : 1}..${BLKIF_MAX_SEGMENTS_PER_REQUEST}`);
    }
    let sectors = 0;
    for (let i = 0; i < nseg; i++) {
      const s = req.seg[i];
      if (s.lastSect >= BLKIF_SECTORS_PER_PAGE || s.firstSect > s.lastSect) {
        return fail(`segment ${i}: first_sect ${s.firstSect} last_sect ${s.lastSect}`);
      }
      sectors += s.lastSect - s.firstSect + 1;
    }
    const toDisk = op !== BLKIF_OP_READ;
    if (nseg > 0) {
      if (toDisk && this.disk.readOnly) return fail('write to a read-only disk');
      if (req.sector + BigInt(sectors) > BigInt(this.sectors)) {
        return fail(`sectors ${req.sector}+${sectors} beyond the disk's ${this.sectors}`);
      }
    }
    const maps: GrantMapping[] = [];
    const temporary: GrantMapping[] = [];
    try {
      for (let i = 0; i < nseg; i++) {
        const ref = req.seg[i].gref;
        const m = this.persistent ? this.persistentMap(ref, toDisk, maps, temporary) : this.mapOnce(ref, toDisk);
        if (typeof m === 'number') return fail(`segment ${i}: grant ref ${ref} (GNTST ${m})`);
        if (this.kept.get(ref) !== m) temporary.push(m);
        maps.push(m);
      }
      return this.transfer(op, Number(req.sector) * BLKIF_SECTOR_SIZE, req, maps);
    } finally {
      for (const m of temporary) this.opts.grants.unmap(m);
    }
  }

  /**
   * Rule 2b: map each of the request's ceil(nr / 512) indirect pages read-only, copy its
   * descriptors out (once), unmap it, and decode the private copy into req.seg.
   */
  private readIndirect(req: BlkifRequest): Failure | null {
    const nseg = req.nrSegments;
    const pages = Math.ceil(nseg / BLKIF_SEGS_PER_INDIRECT_FRAME);
    for (let p = 0; p < pages; p++) {
      const ref = req.indirectGrefs![p];
      // With persistent grants the indirect page is a kept mapping like a data page (Linux's
      // blkfront grants it writable then); else it is mapped read-only for this read only.
      const temporary: GrantMapping[] = [];
      const m = this.persistent ? this.persistentMap(ref, true, [], temporary) : this.mapOnce(ref, true);
      if (typeof m === 'number') return fail(`indirect page ${p}: grant ref ${ref} (GNTST ${m})`);
      if (this.kept.get(ref) !== m) temporary.push(m);
      const n = Math.min(nseg - p * BLKIF_SEGS_PER_INDIRECT_FRAME, BLKIF_SEGS_PER_INDIRECT_FRAME);
      let copy: Uint8Array;
      try {
        copy = m.read(0, n * BLKIF_SEG_SIZE);
      } finally {
        for (const t of temporary) this.opts.grants.unmap(t);
      }
      for (let i = 0; i < n; i++) {
        const o = i * BLKIF_SEG_SIZE;
        req.seg.push({ gref: le32(copy, o), firstSect: copy[o + 4], lastSect: copy[o + 5] });
      }
    }
    return null;
  }

  /** Map `ref` for this request only (read-only when the backend only reads the page). */
  private mapOnce(ref: number, readonly: boolean): GrantMapping | number {
    const r = this.opts.grants.map(this.opts.frontendDomid, ref, readonly);
    if (r.status !== GNTST_okay || !r.mapping) return r.status;
    this.stats.grantMaps++;
    return r.mapping;
  }

  /**
   * Rule 6 with persistent grants: a kept mapping of `ref` if the entry still grants its frame
   * (and it is writable when the page is written), else a fresh mapping, kept while there is
   * room. Persistent grants are mapped writable (Linux's blkfront grants them so); a read-only
   * grant still serves a write to the disk, mapped for the request only. A dropped mapping
   * that an earlier segment of this request already uses is unmapped when the request ends.
   */
  private persistentMap(ref: number, readonly: boolean, inUse: GrantMapping[], temporary: GrantMapping[]): GrantMapping | number {
    const grants = this.opts.grants;
    const old = this.kept.get(ref);
    if (old) {
      if ((readonly || !old.readonly) && grants.stillGranted(old)) {
        this.stats.persistentHits++;
        return old;
      }
      // Revoked, repointed, or now needed writable: never use the old mapping again.
      this.kept.delete(ref);
      if (inUse.includes(old)) temporary.push(old);
      else grants.unmap(old);
      this.stats.persistentStale++;
    }
    const m = this.mapOnce(ref, false);
    if (typeof m === 'number') return readonly ? this.mapOnce(ref, true) : m; // never kept
    if (this.kept.size < this.maxPersistent) this.kept.set(ref, m);
    return m;
  }

  /**
   * Move the data (every grant is mapped): each segment goes straight between the disk and the
   * granted page (GrantMapping.access, a view of the DomU's frame while the disk call runs), one
   * disk call per segment and no copy in between. A write is acknowledged after the last
   * segment's disk write returned.
   */
  private transfer(op: number, offset: number, req: BlkifRequest, maps: GrantMapping[]): Failure | null {
    const disk = this.disk;
    try {
      let at = offset;
      for (let i = 0; i < maps.length; i++) {
        const s = req.seg[i];
        const n = (s.lastSect - s.firstSect + 1) * BLKIF_SECTOR_SIZE;
        const where = at;
        if (op === BLKIF_OP_READ) maps[i].access(s.firstSect * BLKIF_SECTOR_SIZE, n, true, (page) => disk.read(where, page));
        else maps[i].access(s.firstSect * BLKIF_SECTOR_SIZE, n, false, (page) => disk.write(where, page));
        this.stats.copies++;
        at += n;
      }
      if (op === BLKIF_OP_READ) this.stats.bytesRead += at - offset;
      else this.stats.bytesWritten += at - offset;
      if (op === BLKIF_OP_FLUSH_DISKCACHE) {
        this.disk.flush();
        this.stats.flushes++;
      }
      return null;
    } catch (e) {
      return fail(`disk: ${(e as Error).message}`);
    }
  }

  /** Plain-data state. */
  snapshot(): BlkbackSnapshot {
    return {
      channel: this.channel.snapshot(), ring: this.ring?.snapshot() ?? null, stats: { ...this.stats },
      persistent: this.persistent, persistentGrants: [...this.kept].map(([ref, m]) => ({ ref, handle: m.handle })),
      ringPages: this.ringPages,
    };
  }
}

function fail(why: string): Failure {
  return { status: BLKIF_RSP_ERROR, why };
}
