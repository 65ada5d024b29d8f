/**
 * Grant tables, version 1 (xen/include/public/grant_table.h; semantics of Xen's
 * common/grant_table.c). A DomU says which of its frames another domain may reach by writing
 * grant entries into its grant table; Dom0's backends (the host) reach DomU memory ONLY
 * through map()/copy() here, which check the entry every time:
 *
 *   entry = copy of the 8-byte grant_entry_v1 {flags, domid, frame}, read once from guest RAM
 *   (flags & GTF_type_mask) == GTF_permit_access  and  domid == grantee   else GNTST_general_error
 *   a write access and (flags & GTF_readonly)                               else GNTST_general_error
 *   frame is the granter's RAM, not its grant table or shared-info page    else GNTST_bad_page
 *
 * While a mapping or a copy is live the hypervisor sets GTF_reading (and GTF_writing for a
 * writable access) in the guest's entry, so the guest can tell that it must not reuse the
 * frame yet; the bits are cleared when the last such access ends. As in Xen, an entry that is
 * already pinned is not re-validated for a further access of the same kind: the grant stays in
 * force for the frame recorded at first pin until every mapping of it is gone (a DomU cannot
 * revoke a grant under a live mapping; it can only stop granting new ones). Upgrading a
 * read-only pin to a writable one re-validates the whole entry (Xen checks only GTF_readonly
 * then): it must still grant the pinned frame to the same grantee.
 *
 * The table lives in the DomU's own RAM, at frames the toolstack reserves (frames[]); the
 * guest learns them from GNTTABOP_setup_table, which activates the first nr_frames of them.
 * The guest writes entries there directly, so nothing read from those frames is trusted.
 */
import { XEN_EFAULT, XEN_EINVAL, XEN_ENOSYS, XEN_ESRCH } from './errno';
import * as H from './hypercall-abi';
import { accessFrame, gpaOf, rangeInDomain, readGuest, writeGuest, type DomainMemory } from './domain-memory';

const PAGE = H.XEN_PAGE_SIZE;
const PER_FRAME = H.GRANT_ENTRIES_PER_FRAME;

/** Default cap on live mappings of one domain's grants (Xen's maptrack is bounded likewise). */
export const DEFAULT_MAX_MAPPINGS = 1024;
/** Default cap on live mapping handles in total. */
export const DEFAULT_MAX_HANDLES = 65536;
/** Most structures one grant_table_op hypercall may carry (Xen would preempt; we refuse). */
export const GNTTAB_MAX_BATCH = 1024;

/** How a domain's grant table is set up by the toolstack. */
export interface GrantDomainConfig {
  memory: DomainMemory;
  /** Guest frames reserved for the table, in order (max_nr_frames = frames.length, 1..64). */
  frames: bigint[];
  /** Frames active from the start (zeroed now); setup_table may grow to frames.length. Default 1. */
  initialFrames?: number;
  /** Further frames that may never be granted (the shared-info page, XenStore/console rings). */
  reservedFrames?: bigint[];
  /** May query/set up other domains' tables (dom != DOMID_SELF). */
  privileged?: boolean;
  /** Cap on live mappings of this domain's grants (default DEFAULT_MAX_MAPPINGS). */
  maxMappings?: number;
}

/** One side of a copy: a grant reference, a host buffer, or (hypercall path) the caller's own frame. */
export type GrantCopySide =
  | { kind: 'gref'; domid: number; ref: number; offset: number }
  | { kind: 'local'; buffer: Uint8Array; offset: number }
  | { kind: 'gmfn'; gmfn: bigint; offset: number };

/** One GNTTABOP_copy operation. */
export interface GrantCopyOp {
  source: GrantCopySide;
  dest: GrantCopySide;
  len: number;
}

/** Result of map(): status GNTST_okay with a mapping, or a negative GNTST_* without. */
export interface GrantMapResult {
  status: number;
  mapping?: GrantMapping;
}

/** Result of setup_table: status, and the guest frames of the table on success. */
export interface GrantSetupResult {
  status: number;
  frames: bigint[];
}

/** Result of query_size. */
export interface GrantQueryResult {
  status: number;
  nrFrames: number;
  maxNrFrames: number;
}

/** Plain-data state of a live mapping. */
export interface GrantMappingSnapshot {
  handle: number;
  granter: number;
  grantee: number;
  ref: number;
  readonly: boolean;
  frame: number;
}

/** Plain-data state of one domain's table. */
export interface GrantDomainSnapshot {
  domid: number;
  nrFrames: number;
  dying: boolean;
  /** Pinned entries: the frame recorded at first pin and the pin counts. */
  active: { ref: number; frame: number; reads: number; writes: number }[];
}

/** Plain-data state of all grant tables (the entries themselves live in guest RAM). */
export interface GrantTablesSnapshot {
  domains: GrantDomainSnapshot[];
  mappings: GrantMappingSnapshot[];
  nextHandle: number;
}

interface Active {
  frame: bigint;
  reads: number;
  writes: number;
}

interface Entry {
  flags: number;
  domid: number;
  frame: number;
}

class GrantDomain {
  nrFrames: number;
  mappings = 0;
  dying = false;
  readonly active = new Map<number, Active>();
  readonly reserved: Set<bigint>;
  constructor(readonly domid: number, readonly memory: DomainMemory, readonly frames: bigint[], nrFrames: number,
    reserved: bigint[], readonly privileged: boolean, readonly maxMappings: number) {
    this.nrFrames = nrFrames;
    this.reserved = new Set([...frames, ...reserved]);
  }
  get nrEntries(): number {
    return this.nrFrames * PER_FRAME;
  }
}

interface MappingRecord extends GrantMappingSnapshot {
  gfn: bigint;
}

/**
 * A backend's view of one mapped grant: exactly one 4 KiB frame of the granter, readable, and
 * writable unless mapped read-only. It satisfies xenstore's RingMemory (read/write by page
 * offset). Offsets outside the frame, writes through a read-only mapping and any use after
 * unmap are bugs in the backend and throw RangeError; nothing a guest does makes them throw.
 */
export class GrantMapping {
  /** @internal built by GrantTables.map */
  constructor(private readonly tables: GrantTables, private readonly rec: MappingRecord) {}

  /** The mapping handle (grant_handle_t), for unmap. */
  get handle(): number { return this.rec.handle; }
  /** The granting domain. */
  get granter(): number { return this.rec.granter; }
  /** The grant reference mapped. */
  get ref(): number { return this.rec.ref; }
  /** Whether only reads are allowed. */
  get readonly(): boolean { return this.rec.readonly; }
  /** Whether the mapping is still live. */
  get live(): boolean { return this.tables.isLive(this.rec); }

  /** Copy `length` bytes at `offset` of the frame. */
  read(offset: number, length: number): Uint8Array {
    this.check(offset, length, false);
    return this.tables.memoryOf(this.rec).read(gpaOf(this.rec.gfn, offset), length);
  }

  /** Copy `bytes` to `offset` of the frame. */
  write(offset: number, bytes: Uint8Array): void {
    this.check(offset, bytes.length, true);
    this.tables.memoryOf(this.rec).write(gpaOf(this.rec.gfn, offset), bytes);
  }

  /**
   * Zero-copy access to `length` bytes at `offset` of the frame: `use` gets a view that is
   * valid only while it runs (a backend must not keep it). `write` (a writable mapping only)
   * means `use` may store into it. The bounds and liveness checks are read()'s and write()'s.
   */
  access(offset: number, length: number, write: boolean, use: (view: Uint8Array) => void): void {
    this.check(offset, length, write);
    const base = (this.base ??= gpaOf(this.rec.gfn, 0));
    accessFrame(this.tables.memoryOf(this.rec), offset === 0 ? base : base + BigInt(offset), length, write, use);
  }

  /** The frame's guest-physical address, computed on first access(). */
  private base: bigint | undefined;

  private check(offset: number, length: number, write: boolean): void {
    if (!this.live) throw new RangeError(`grant mapping ${this.rec.handle}: used after unmap`);
    if (write && this.rec.readonly) throw new RangeError(`grant mapping ${this.rec.handle} (d${this.rec.granter} ref ${this.rec.ref}) is read-only`);
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > PAGE) {
      throw new RangeError(`grant mapping ${this.rec.handle}: offset ${offset} + length ${length} outside the 4096-byte frame`);
    }
  }
}

/** Every domain's grant table, and the mappings backends hold. */
export class GrantTables {
  private readonly domains = new Map<number, GrantDomain>();
  private readonly maps = new Map<number, MappingRecord>();
  private nextHandle = 1;
  /** The host domain's id (Dom0, the default grantee of map and copy). */
  readonly hostDomid: number;
  private readonly maxHandles: number;

  constructor(opts: { hostDomid?: number; maxHandles?: number } = {}) {
    this.hostDomid = opts.hostDomid ?? 0;
    this.maxHandles = opts.maxHandles ?? DEFAULT_MAX_HANDLES;
  }

  /**
   * Add a domain's table. Zeroes its initial frames. Throws for configuration errors (a
   * toolstack bug): duplicate domid, frames that are not the domain's RAM or repeat.
   */
  addDomain(domid: number, cfg: GrantDomainConfig): void {
    if (!Number.isInteger(domid) || domid < 0 || domid >= H.DOMID_FIRST_RESERVED) throw new RangeError(`grant table: domid ${domid} out of range`);
    if (this.domains.has(domid)) throw new Error(`grant table: domain ${domid} already exists`);
    const frames = cfg.frames;
    if (frames.length < 1 || frames.length > 64) throw new RangeError(`grant table d${domid}: ${frames.length} frames, expected 1..64`);
    if (new Set(frames).size !== frames.length) throw new Error(`grant table d${domid}: a frame is listed twice`);
    for (const f of frames) if (!cfg.memory.hasFrame(f)) throw new RangeError(`grant table d${domid}: frame 0x${f.toString(16)} is not the domain's RAM`);
    const initial = cfg.initialFrames ?? 1;
    if (!Number.isInteger(initial) || initial < 0 || initial > frames.length) throw new RangeError(`grant table d${domid}: initialFrames ${initial}, expected 0..${frames.length}`);
    const d = new GrantDomain(domid, cfg.memory, frames.slice(), initial, cfg.reservedFrames ?? [], cfg.privileged ?? false, cfg.maxMappings ?? DEFAULT_MAX_MAPPINGS);
    for (let i = 0; i < initial; i++) cfg.memory.write(gpaOf(frames[i], 0), new Uint8Array(PAGE));
    this.domains.set(domid, d);
  }

  /** Whether `domid` has a (not dying) table. */
  hasDomain(domid: number): boolean {
    const d = this.domains.get(domid);
    return d !== undefined && !d.dying;
  }

  /**
   * Destroy a domain's table. With mappings still live it becomes dying, as in Xen: no new
   * map or copy (GNTST_bad_domain), existing mappings keep working until unmapped, and the
   * table goes when the last one does. Its entries are no longer written.
   */
  removeDomain(domid: number): void {
    const d = this.domains.get(domid);
    if (!d) return;
    if (d.mappings === 0) this.domains.delete(domid);
    else d.dying = true;
  }

  /** Frames in use of `domid`'s table (GNTTABOP_setup_table grew it to that), for xl save. */
  tableFrames(domid: number): number | undefined {
    return this.domains.get(domid)?.nrFrames;
  }

  /**
   * xl restore: the new table of `domid` has `nrFrames` frames in use, whose entries came back
   * with guest RAM (so nothing is zeroed, unlike setup_table). Pins and mappings are not
   * restored here: the backends map their grants again. Null, or what is wrong.
   */
  restoreTableFrames(domid: number, nrFrames: number): string | null {
    const d = this.domains.get(domid);
    if (!d) return `no grant table for d${domid}`;
    if (!Number.isInteger(nrFrames) || nrFrames < 0 || nrFrames > d.frames.length) return `${nrFrames} grant-table frames in use, the domain has at most ${d.frames.length}`;
    d.nrFrames = nrFrames;
    return null;
  }

  /** Live mappings of `domid`'s grants. */
  activeMappings(domid: number): number {
    return this.domains.get(domid)?.mappings ?? 0;
  }

  /** The live mapping with `handle`, if any (e.g. to recover objects after restore()). */
  mapping(handle: number): GrantMapping | undefined {
    const r = this.maps.get(handle);
    return r ? new GrantMapping(this, r) : undefined;
  }

  /** @internal */
  isLive(rec: MappingRecord): boolean {
    return this.maps.get(rec.handle) === rec;
  }

  /** @internal the granter's memory for a live mapping */
  memoryOf(rec: MappingRecord): DomainMemory {
    return this.domains.get(rec.granter)!.memory;
  }

  private target(caller: number, dom: number): GrantDomain | number {
    const id = dom === H.DOMID_SELF ? caller : dom;
    const d = this.domains.get(id);
    if (!d || d.dying) return H.GNTST_bad_domain;
    if (id !== caller) {
      const c = this.domains.get(caller);
      if (caller !== this.hostDomid && !(c?.privileged ?? false)) return H.GNTST_permission_denied;
    }
    return d;
  }

  /**
   * GNTTABOP_setup_table: make the table of `dom` at least `nrFrames` frames (new frames are
   * zeroed; the table never shrinks) and return the guest frames of the first `nrFrames`.
   * GNTST_bad_domain, GNTST_permission_denied (another domain, unprivileged),
   * GNTST_general_error (more frames than the toolstack reserved).
   */
  setupTable(caller: number, dom: number, nrFrames: number): GrantSetupResult {
    const d = this.target(caller, dom);
    if (typeof d === 'number') return { status: d, frames: [] };
    if (!Number.isInteger(nrFrames) || nrFrames < 0 || nrFrames > d.frames.length) return { status: H.GNTST_general_error, frames: [] };
    for (let i = d.nrFrames; i < nrFrames; i++) {
      if (d.memory.hasFrame(d.frames[i])) d.memory.write(gpaOf(d.frames[i], 0), new Uint8Array(PAGE));
    }
    if (nrFrames > d.nrFrames) d.nrFrames = nrFrames;
    return { status: H.GNTST_okay, frames: d.frames.slice(0, nrFrames) };
  }

  /** GNTTABOP_query_size: current and maximum frames of `dom`'s table. */
  querySize(caller: number, dom: number): GrantQueryResult {
    const d = this.target(caller, dom);
    if (typeof d === 'number') return { status: d, nrFrames: 0, maxNrFrames: 0 };
    return { status: H.GNTST_okay, nrFrames: d.nrFrames, maxNrFrames: d.frames.length };
  }

  /** Copy entry `ref` out of guest RAM, or undefined when its table frame is not reachable. */
  private readEntry(d: GrantDomain, ref: number): Entry | undefined {
    const gfn = d.frames[Math.floor(ref / PER_FRAME)];
    if (!d.memory.hasFrame(gfn)) return undefined;
    let e: Entry | undefined;
    // One read of the whole entry (no copy where the memory allows): the guest cannot change
    // it between the fields.
    accessFrame(d.memory, gpaOf(gfn, (ref % PER_FRAME) * H.GRANT_ENTRY_V1_SIZE), H.GRANT_ENTRY_V1_SIZE, false, (b) => {
      e = {
        flags: b[0] | (b[1] << 8),
        domid: b[2] | (b[3] << 8),
        frame: (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) >>> 0,
      };
    });
    return e;
  }

  /** Set and clear bits of entry `ref`'s flags (re-read now: the guest may have changed them). */
  private updateFlags(d: GrantDomain, ref: number, set: number, clear: number): void {
    const gfn = d.frames[Math.floor(ref / PER_FRAME)];
    if (d.dying || !d.memory.hasFrame(gfn)) return;
    const gpa = gpaOf(gfn, (ref % PER_FRAME) * H.GRANT_ENTRY_V1_SIZE + H.GRANT_ENTRY_V1_FLAGS);
    const b = d.memory.read(gpa, 2);
    const flags = ((b[0] | (b[1] << 8)) | set) & ~clear;
    d.memory.write(gpa, Uint8Array.of(flags & 0xff, (flags >>> 8) & 0xff));
  }

  /** Whether the granter may grant frame `gfn` at all. */
  private grantable(d: GrantDomain, gfn: bigint): boolean {
    return d.memory.hasFrame(gfn) && !d.reserved.has(gfn);
  }

  /**
   * Pin entry `ref` of `d` for `grantee` (Xen's _set_status_v1 plus the active entry):
   * returns the granted frame, or a GNTST_* status.
   */
  private acquire(d: GrantDomain, ref: number, readonly: boolean, grantee: number): bigint | number {
    if (!Number.isInteger(ref) || ref < 0 || ref >= d.nrEntries) return H.GNTST_bad_gntref;
    let act = d.active.get(ref);
    if (!act || (!readonly && act.writes === 0)) {
      const e = this.readEntry(d, ref); // the only read of the entry: everything below checks this copy
      if (!e) return H.GNTST_general_error;
      // Stricter than Xen, which skips these two checks when upgrading a read pin to a write
      // pin: here the entry must still grant this frame, writable, to this grantee.
      if ((e.flags & H.GTF_type_mask) !== H.GTF_permit_access || e.domid !== grantee) return H.GNTST_general_error;
      if (act && BigInt(e.frame) !== act.frame) return H.GNTST_general_error;
      if (!readonly && (e.flags & H.GTF_readonly) !== 0) return H.GNTST_general_error;
      if (!act) {
        const frame = BigInt(e.frame);
        if (!this.grantable(d, frame)) return H.GNTST_bad_page;
        act = { frame, reads: 0, writes: 0 };
        d.active.set(ref, act);
      }
      this.updateFlags(d, ref, H.GTF_reading | (readonly ? 0 : H.GTF_writing), 0);
    }
    if (readonly) act.reads++;
    else act.writes++;
    return act.frame;
  }

  /** Drop one pin of entry `ref`; clear GTF_writing / GTF_reading when the last such pin goes. */
  private release(d: GrantDomain, ref: number, readonly: boolean): void {
    const act = d.active.get(ref);
    if (!act) return;
    if (readonly) act.reads--;
    else act.writes--;
    let clear = 0;
    if (!readonly && act.writes === 0) clear |= H.GTF_writing;
    if (act.reads + act.writes === 0) {
      clear |= H.GTF_reading;
      d.active.delete(ref);
    }
    if (clear) this.updateFlags(d, ref, 0, clear);
  }

  /**
   * Map grant `ref` of domain `granter` for `grantee` (default: the host), read-only or
   * writable (GNTTABOP_map_grant_ref). Statuses: GNTST_bad_domain (no such or dying domain),
   * GNTST_no_space (the granter's or the global mapping cap is reached), GNTST_bad_gntref
   * (ref beyond the table), GNTST_general_error (not permit_access, other grantee, writable
   * map of a read-only grant, table frame unreachable), GNTST_bad_page (frame not grantable).
   */
  map(granter: number, ref: number, readonly: boolean, grantee = this.hostDomid): GrantMapResult {
    const d = this.domains.get(granter);
    if (!d || d.dying) return { status: H.GNTST_bad_domain };
    if (d.mappings >= d.maxMappings || this.maps.size >= this.maxHandles) return { status: H.GNTST_no_space };
    const frame = this.acquire(d, ref, readonly, grantee);
    if (typeof frame === 'number') return { status: frame };
    let handle = this.nextHandle;
    while (this.maps.has(handle)) handle = handle >= 0x7fffffff ? 1 : handle + 1; // < maxHandles live: ends
    this.nextHandle = handle >= 0x7fffffff ? 1 : handle + 1;
    const rec: MappingRecord = { handle, granter, grantee, ref, readonly, frame: Number(frame), gfn: frame };
    this.maps.set(handle, rec);
    d.mappings++;
    return { status: H.GNTST_okay, mapping: new GrantMapping(this, rec) };
  }

  /**
   * Whether the entry behind a live mapping still grants what the mapping was made for: re-read
   * from guest RAM now, it must be GTF_permit_access to the mapping's grantee, for the frame
   * pinned at map time, and not GTF_readonly under a writable mapping. A backend that keeps
   * mappings across requests (blkback's persistent grants) asks before each use, so a grant the
   * DomU revoked or pointed elsewhere is never used through an old mapping. False for a dead
   * mapping or a dying table.
   */
  stillGranted(m: GrantMapping): boolean {
    const rec = this.maps.get(m.handle);
    if (!rec) return false;
    const d = this.domains.get(rec.granter);
    if (!d || d.dying) return false;
    const e = this.readEntry(d, rec.ref);
    if (!e) return false;
    if ((e.flags & H.GTF_type_mask) !== H.GTF_permit_access || e.domid !== rec.grantee) return false;
    if (BigInt(e.frame) !== rec.gfn) return false;
    return rec.readonly || (e.flags & H.GTF_readonly) === 0;
  }

  /** Unmap (GNTTABOP_unmap_grant_ref): GNTST_okay, or GNTST_bad_handle for no such mapping. */
  unmap(handle: number | GrantMapping): number {
    const h = typeof handle === 'number' ? handle : handle.handle;
    const rec = this.maps.get(h);
    if (!rec) return H.GNTST_bad_handle;
    this.maps.delete(h);
    const d = this.domains.get(rec.granter);
    if (d) {
      this.release(d, rec.ref, rec.readonly);
      d.mappings--;
      if (d.dying && d.mappings === 0) this.domains.delete(rec.granter);
    }
    return H.GNTST_okay;
  }

  /**
   * GNTTABOP_copy on behalf of `grantee` (default: the host): one status per operation, in
   * order, checked as Xen does: domains (GNTST_bad_domain), source grant or frame, destination
   * grant or frame (the entry checks of map(), a gmfn outside the caller's RAM: GNTST_bad_page),
   * then bounds: offset + len within 4096 on both sides and within a local buffer
   * (GNTST_bad_copy_arg). Nothing is copied for a failed operation.
   */
  copy(ops: readonly GrantCopyOp[], grantee = this.hostDomid): number[] {
    return ops.map((op) => this.copyOne(op, grantee));
  }

  private copyOne(op: GrantCopyOp, grantee: number): number {
    const src = this.lockSide(op.source, grantee);
    if (typeof src === 'number') return src;
    const dst = this.lockSide(op.dest, grantee);
    if (typeof dst === 'number') return dst;
    const s = this.claim(op.source, src, true, grantee);
    if (typeof s === 'number') return s;
    const t = this.claim(op.dest, dst, false, grantee);
    if (typeof t === 'number') {
      this.unclaim(op.source, src, true);
      return t;
    }
    let status: number = H.GNTST_okay;
    const len = op.len;
    if (!inPage(op.source, len) || !inPage(op.dest, len)) status = H.GNTST_bad_copy_arg;
    else if (len > 0) {
      const bytes = s instanceof Uint8Array ? s.slice(op.source.offset, op.source.offset + len) : s.mem.read(gpaOf(s.gfn, op.source.offset), len);
      if (t instanceof Uint8Array) t.set(bytes, op.dest.offset);
      else t.mem.write(gpaOf(t.gfn, op.dest.offset), bytes);
    }
    this.unclaim(op.dest, dst, false);
    this.unclaim(op.source, src, true);
    return status;
  }

  /** The domain a copy side refers to (null for a local buffer), or GNTST_bad_domain. */
  private lockSide(side: GrantCopySide, grantee: number): GrantDomain | null | number {
    if (side.kind === 'local') return null;
    const id = side.kind === 'gref' ? (side.domid === H.DOMID_SELF ? grantee : side.domid) : grantee;
    const d = this.domains.get(id);
    if (!d || d.dying) return side.kind === 'gref' ? H.GNTST_bad_domain : H.GNTST_bad_page;
    return d;
  }

  private claim(side: GrantCopySide, d: GrantDomain | null, readonly: boolean, grantee: number): Uint8Array | { mem: DomainMemory; gfn: bigint } | number {
    if (side.kind === 'local') return side.buffer;
    if (side.kind === 'gmfn') {
      return d!.memory.hasFrame(side.gmfn) ? { mem: d!.memory, gfn: side.gmfn } : H.GNTST_bad_page;
    }
    const frame = this.acquire(d!, side.ref, readonly, grantee);
    return typeof frame === 'number' ? frame : { mem: d!.memory, gfn: frame };
  }

  private unclaim(side: GrantCopySide, d: GrantDomain | null, readonly: boolean): void {
    if (side.kind === 'gref') this.release(d!, side.ref, readonly);
  }

  // -------------------------------------------------------------------------------------------
  // The hypercall: HYPERVISOR_grant_table_op(cmd, uop, count), uop a guest-physical pointer.
  // -------------------------------------------------------------------------------------------

  /**
   * Run grant_table_op `cmd` for guest `caller` on `count` structures at guest-physical `uop`:
   * setup_table, query_size and copy (map/unmap are for Dom0, which is the host and calls map()
   * directly). Each structure is copied out once and its status copied back. Returns a0: 0, or
   * -EFAULT (structures not in the caller's RAM), -EINVAL (count > GNTTAB_MAX_BATCH), -ESRCH
   * (caller has no table), -ENOSYS (other sub-operations).
   */
  hypercall(caller: number, cmd: number, uop: bigint, count: number): number {
    const c = this.domains.get(caller);
    if (!c || c.dying) return -XEN_ESRCH;
    const size = cmd === H.GNTTABOP_setup_table ? H.GNTTAB_SETUP_TABLE_SIZE
      : cmd === H.GNTTABOP_query_size ? H.GNTTAB_QUERY_SIZE_SIZE
        : cmd === H.GNTTABOP_copy ? H.GNTTAB_COPY_SIZE : 0;
    if (size === 0) return -XEN_ENOSYS;
    if (!Number.isInteger(count) || count < 0 || count > GNTTAB_MAX_BATCH) return -XEN_EINVAL;
    const mem = c.memory;
    if (!rangeInDomain(mem, uop, size * count)) return -XEN_EFAULT;
    for (let i = 0; i < count; i++) {
      const at = uop + BigInt(i * size);
      const a = readGuest(mem, at, size);
      const v = new DataView(a.buffer, a.byteOffset, size);
      if (cmd === H.GNTTABOP_setup_table) {
        const r = this.setupTable(caller, v.getUint16(H.GNTTAB_SETUP_TABLE_DOM, true), v.getUint32(H.GNTTAB_SETUP_TABLE_NR_FRAMES, true));
        let status = r.status;
        if (status === H.GNTST_okay && r.frames.length > 0) {
          const list = v.getBigUint64(H.GNTTAB_SETUP_TABLE_FRAME_LIST, true);
          if (!rangeInDomain(mem, list, r.frames.length * 8)) status = H.GNTST_bad_virt_addr;
          else {
            const out = new Uint8Array(r.frames.length * 8);
            const ov = new DataView(out.buffer);
            r.frames.forEach((f, j) => ov.setBigUint64(j * 8, f, true));
            writeGuest(mem, list, out);
          }
        }
        v.setInt16(H.GNTTAB_SETUP_TABLE_STATUS, status, true);
      } else if (cmd === H.GNTTABOP_query_size) {
        const r = this.querySize(caller, v.getUint16(H.GNTTAB_QUERY_SIZE_DOM, true));
        v.setUint32(H.GNTTAB_QUERY_SIZE_NR_FRAMES, r.nrFrames, true);
        v.setUint32(H.GNTTAB_QUERY_SIZE_MAX_NR_FRAMES, r.maxNrFrames, true);
        v.setInt16(H.GNTTAB_QUERY_SIZE_STATUS, r.status, true);
      } else {
        v.setInt16(H.GNTTAB_COPY_STATUS, this.copyFromGuest(caller, v), true);
      }
      writeGuest(mem, at, a);
    }
    return 0;
  }

  /** Decode one struct gnttab_copy (already copied out) and run it. */
  private copyFromGuest(caller: number, v: DataView): number {
    const flags = v.getUint16(H.GNTTAB_COPY_FLAGS, true);
    const side = (base: number, isGref: boolean): GrantCopySide | number => {
      const domid = v.getUint16(base + H.GNTTAB_COPY_PTR_DOMID, true);
      const offset = v.getUint16(base + H.GNTTAB_COPY_PTR_OFFSET, true);
      const u = v.getBigUint64(base + H.GNTTAB_COPY_PTR_U, true);
      if (isGref) return { kind: 'gref', domid, ref: Number(u & 0xffffffffn), offset };
      // Only DOMID_SELF may be reached by frame number (gnttab_copy_lock_domain).
      if (domid !== H.DOMID_SELF) return H.GNTST_permission_denied;
      return { kind: 'gmfn', gmfn: u, offset };
    };
    const source = side(H.GNTTAB_COPY_SOURCE, (flags & H.GNTCOPY_source_gref) !== 0);
    if (typeof source === 'number') return source;
    const dest = side(H.GNTTAB_COPY_DEST, (flags & H.GNTCOPY_dest_gref) !== 0);
    if (typeof dest === 'number') return dest;
    return this.copyOne({ source, dest, len: v.getUint16(H.GNTTAB_COPY_LEN, true) }, caller);
  }

  // -------------------------------------------------------------------------------------------
  // Snapshot.
  // -------------------------------------------------------------------------------------------

  /** Plain-data state: table sizes, pinned entries and live mappings. */
  snapshot(): GrantTablesSnapshot {
    return {
      domains: [...this.domains.values()].map((d) => ({
        domid: d.domid,
        nrFrames: d.nrFrames,
        dying: d.dying,
        active: [...d.active].map(([ref, a]) => ({ ref, frame: Number(a.frame), reads: a.reads, writes: a.writes })),
      })),
      mappings: [...this.maps.values()].map(({ handle, granter, grantee, ref, readonly, frame }) => ({ handle, granter, grantee, ref, readonly, frame })),
      nextHandle: this.nextHandle,
    };
  }

  /**
   * Load `s`. Every domain in it must have been added again (addDomain with the same frames);
   * backends recover their mappings with mapping(handle). Throws on a snapshot that does not
   * fit (a host bug, not guest input).
   */
  restore(s: GrantTablesSnapshot): void {
    for (const ds of s.domains) {
      const d = this.domains.get(ds.domid);
      if (!d) throw new Error(`grant restore: domain ${ds.domid} was not added`);
      if (ds.nrFrames > d.frames.length) throw new Error(`grant restore: d${ds.domid} has ${ds.nrFrames} frames, at most ${d.frames.length}`);
    }
    this.maps.clear();
    for (const ds of s.domains) {
      const d = this.domains.get(ds.domid)!;
      d.nrFrames = ds.nrFrames;
      d.dying = ds.dying;
      d.mappings = 0;
      d.active.clear();
      for (const a of ds.active) d.active.set(a.ref, { frame: BigInt(a.frame), reads: a.reads, writes: a.writes });
    }
    for (const m of s.mappings) {
      const d = this.domains.get(m.granter);
      if (!d) throw new Error(`grant restore: mapping ${m.handle} of unknown domain ${m.granter}`);
      this.maps.set(m.handle, { ...m, gfn: BigInt(m.frame) });
      d.mappings++;
    }
    this.nextHandle = s.nextHandle;
  }
}

/** Whether offset..offset+len of a copy side is inside its page (and its local buffer). */
function inPage(side: GrantCopySide, len: number): boolean {
  const { offset } = side;
  if (!Number.isInteger(offset) || !Number.isInteger(len) || offset < 0 || len < 0) return false;
  if (offset + len > PAGE) return false;
  return side.kind !== 'local' || offset + len <= side.buffer.length;
}
