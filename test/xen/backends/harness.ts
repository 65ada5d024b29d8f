/**
 * Mock frontends for the backend tests: a DomU's RAM (instrumented TestMemory with hooks),
 * its grant table and shared-info page, an event channel to Dom0, and a front ring that the
 * test fills exactly as a C frontend would (io/ring.h FRONT_RING macros), touching guest RAM
 * only through the unrecorded peek/poke, so every recorded access is the hypervisor side's.
 */
import { EventChannels } from '../../../host/xen/event-channel';
import { GrantTables } from '../../../host/xen/grant-table';
import * as H from '../../../host/xen/hypercall-abi';
import { SharedInfoPage } from '../../../host/xen/shared-info';
import { ringSize, SRING_REQ_EVENT, SRING_REQ_PROD, SRING_RING, SRING_RSP_EVENT, SRING_RSP_PROD } from '../../../host/xen/backends/ring';
import { RAM_GFN, TestMemory } from '../memory';

/**
 * A TestMemory that can run a hook after each recorded read (to act "during" a backend pass),
 * records writes, and allocates its frames on first use (cheap to create: the hostile suite
 * builds a fresh hostile domain per case).
 */
export class HookedMemory extends TestMemory {
  /** Called after every read (and read-only access) through the DomainMemory interface. */
  onRead: ((gpa: bigint, length: number) => void) | null = null;
  /** Every write through the interface: [gfn, offset, length]. */
  writes: [bigint, number, number][] = [];

  constructor(domid: number, readonly nframes: number) {
    super(domid, 0);
  }

  /** Frames of destroyed domains (release()), handed out again zeroed: cheaper than allocating. */
  private static readonly pool: Uint8Array[] = [];

  private ensure(gfn: bigint): void {
    if (this.frames.has(gfn) || !this.hasFrame(gfn)) return;
    const f = HookedMemory.pool.pop();
    if (f) f.fill(0);
    this.frames.set(gfn, f ?? new Uint8Array(4096));
  }

  /** The domain is gone: give its frames back for reuse (it must not be accessed afterwards). */
  release(): void {
    for (const f of this.frames.values()) if (HookedMemory.pool.length < 1024) HookedMemory.pool.push(f);
    this.frames.clear();
  }

  override hasFrame(gfn: bigint): boolean {
    return gfn >= this.base && gfn < this.base + BigInt(this.nframes);
  }

  override peek(gfn: bigint, off: number, len: number): Uint8Array {
    this.ensure(gfn);
    return super.peek(gfn, off, len);
  }

  override poke(gfn: bigint, off: number, bytes: ArrayLike<number>): void {
    this.ensure(gfn);
    super.poke(gfn, off, bytes);
  }

  override read(gpa: bigint, length: number): Uint8Array {
    this.ensure(gpa >> 12n);
    const r = super.read(gpa, length);
    const hook = this.onRead;
    if (hook) hook(gpa, length);
    return r;
  }

  override access(gpa: bigint, length: number, write: boolean, use: (view: Uint8Array) => void): void {
    this.ensure(gpa >> 12n);
    if (write) this.writes.push([gpa >> 12n, Number(gpa & 0xfffn), length]);
    super.access(gpa, length, write, use);
    const hook = this.onRead;
    if (!write && hook) hook(gpa, length);
  }

  override write(gpa: bigint, bytes: Uint8Array): void {
    this.ensure(gpa >> 12n);
    this.writes.push([gpa >> 12n, Number(gpa & 0xfffn), bytes.length]);
    super.write(gpa, bytes);
  }
}

/** Frames per test domain; the last 5 are the grant table (4) and the shared-info page. */
export const NFRAMES = 48;
/** Grant-table frames of every test domain. */
export const TABLE = [RAM_GFN + 44n, RAM_GFN + 45n, RAM_GFN + 46n, RAM_GFN + 47n];
/** Shared-info frame. */
export const SI = RAM_GFN + 43n;

/** Scratch for Frontend.entry (poke copies it). */
const ENTRY_BYTES = new Uint8Array(8);
/** A page of zeros (never written). */
const ZERO_PAGE = new Uint8Array(4096);

/** The hypervisor side shared by the domains of one test. */
export class World {
  readonly grants = new GrantTables();
  readonly upcalls = new Map<number, number>();
  readonly events = new EventChannels((domid) => this.upcalls.set(domid, (this.upcalls.get(domid) ?? 0) + 1));
  readonly domains = new Map<number, Frontend>();

  /** Add DomU `domid` with NFRAMES frames (and `maxPorts` event channels, default 1024). */
  addDomain(domid: number, nframes = NFRAMES, maxPorts?: number): Frontend {
    const d = new Frontend(this, domid, nframes, maxPorts);
    this.domains.set(domid, d);
    return d;
  }

  /**
   * Destroy DomU `domid` (its grant table and event channels: peers' interdomain ports become
   * unbound; its RAM frames go back to the pool), so that the id can be added again. Backends
   * must have unmapped its grants first: a table with live mappings only becomes dying
   * (grant-table.ts) and the id stays taken, so that is refused here.
   */
  removeDomain(domid: number): void {
    const live = this.grants.activeMappings(domid);
    if (live !== 0) throw new Error(`removeDomain d${domid}: ${live} grant mappings still live`);
    this.grants.removeDomain(domid);
    this.events.removeDomain(domid);
    this.domains.get(domid)?.mem.release();
    this.domains.delete(domid);
    this.upcalls.delete(domid);
  }
}

/** A DomU as its frontend drivers see it. */
export class Frontend {
  readonly mem: HookedMemory;
  readonly si: SharedInfoPage;
  private nextRef = 8;
  private refFirst = 8;
  private refEnd = Infinity;

  constructor(readonly world: World, readonly domid: number, nframes: number, maxPorts?: number) {
    this.mem = new HookedMemory(domid, nframes);
    this.si = new SharedInfoPage(this.mem, SI);
    world.grants.addDomain(domid, { memory: this.mem, frames: TABLE, initialFrames: 4, reservedFrames: [SI] });
    world.events.addDomain({ domid, sharedInfo: this.si, maxPorts });
  }

  /** Guest frame number of RAM frame i. */
  gfn(i: number): bigint {
    return RAM_GFN + BigInt(i);
  }

  /**
   * From now on hand out refs first..end-1 round robin (refs 0..7 are reserved, as in Xen): for a
   * long-lived domain whose default-allocated grants are short-lived, so the table never runs out.
   * Refs still in use must lie outside the range.
   */
  cycleRefs(first: number, end: number): void {
    if (!(first >= 8 && end > first && end <= TABLE.length * 512)) throw new RangeError(`cycleRefs ${first}..${end}`);
    this.refFirst = this.nextRef = first;
    this.refEnd = end;
  }

  private allocRef(): number {
    const r = this.nextRef++;
    if (this.nextRef >= this.refEnd) this.nextRef = this.refFirst;
    return r;
  }

  /** Grant RAM frame `i` to Dom0 (gnttab_grant_foreign_access); returns the ref. */
  grant(i: number, readonly = false, ref = this.allocRef()): number {
    this.entry(ref, H.GTF_permit_access | (readonly ? H.GTF_readonly : 0), 0, Number(this.gfn(i)));
    return ref;
  }

  /** Write a raw grant entry (grant_entry_v1: u16 flags, u16 domid, u32 frame, little-endian). */
  entry(ref: number, flags: number, domid: number, frame: number): void {
    const b = ENTRY_BYTES;
    b[0] = flags; b[1] = flags >>> 8; b[2] = domid; b[3] = domid >>> 8;
    b[4] = frame; b[5] = frame >>> 8; b[6] = frame >>> 16; b[7] = frame >>> 24;
    this.mem.poke(TABLE[Math.floor(ref / 512)], (ref % 512) * 8, b);
  }

  /** End access to `ref` (flags = 0). */
  revoke(ref: number): void {
    this.entry(ref, 0, 0, 0);
  }

  /** An unbound port for Dom0 (xenbus_alloc_evtchn). */
  allocPort(): number {
    const p = this.world.events.allocUnbound(this.domid, H.DOMID_SELF, 0);
    if (p <= 0) throw new Error(`allocUnbound: ${p}`);
    return p;
  }

  /** EVTCHNOP_send on `port`. */
  notify(port: number): void {
    const rc = this.world.events.send(this.domid, port);
    if (rc !== 0) throw new Error(`send: ${rc}`);
  }

  /** Whether Dom0 notified `port`; clears the pending bit (the guest's handler). */
  takeEvent(port: number): boolean {
    const p = this.si.isPending(port);
    if (p) this.si.clearPending(port);
    // The upcall handler also clears evtchn_upcall_pending and the selector (vcpu_info of vCPU 0).
    this.mem.poke(SI, 0, [0]);
    this.mem.poke(SI, 8, new Uint8Array(8));
    return p;
  }

  /** Unrecorded read of a frame. */
  peek(i: number, off: number, len: number): Uint8Array {
    return this.mem.peek(this.gfn(i), off, len);
  }

  /** Unrecorded write into a frame. */
  poke(i: number, off: number, bytes: ArrayLike<number>): void {
    this.mem.poke(this.gfn(i), off, bytes);
  }
}

function get32(b: Uint8Array, off = 0): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

function put32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** The front end of a shared ring in RAM frame `frame` of `fe` (FRONT_RING_INIT after SHARED_RING_INIT). */
export class FrontRing {
  readonly size: number;
  readonly entryBytes: number;
  reqProdPvt = 0;
  rspCons = 0;

  /** A ring over frames frame..frame + pages - 1 (a multi-page ring when pages > 1). */
  constructor(readonly fe: Frontend, readonly frame: number, readonly reqBytes: number, readonly rspBytes: number, readonly pages = 1) {
    this.entryBytes = Math.max(reqBytes, rspBytes);
    this.size = ringSize(this.entryBytes, pages);
    for (let p = 0; p < pages; p++) fe.poke(frame + p, 0, ZERO_PAGE);
    fe.poke(frame, SRING_REQ_EVENT, put32(1));
    fe.poke(frame, SRING_RSP_EVENT, put32(1));
  }

  /** Slot offset of index i. */
  slot(i: number): number {
    return SRING_RING + (i & (this.size - 1)) * this.entryBytes;
  }

  /** Write a request at req_prod_pvt (not yet published). */
  put(req: Uint8Array): void {
    this.pokeAt(this.slot(this.reqProdPvt), req);
    this.reqProdPvt = (this.reqProdPvt + 1) >>> 0;
  }

  /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY. */
  push(): boolean {
    const old = this.field(SRING_REQ_PROD);
    const now = this.reqProdPvt;
    this.setField(SRING_REQ_PROD, now);
    const ev = this.field(SRING_REQ_EVENT);
    return ((now - ev) >>> 0) < ((now - old) >>> 0);
  }

  /** Take every published response and re-arm rsp_event (RING_FINAL_CHECK_FOR_RESPONSES). */
  responses(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let n = 0; n < 4 * this.size; n++) {
      const prod = this.field(SRING_RSP_PROD);
      if (this.rspCons === prod) {
        this.setField(SRING_RSP_EVENT, (this.rspCons + 1) >>> 0);
        if (this.field(SRING_RSP_PROD) === this.rspCons) break;
        continue;
      }
      out.push(this.peekAt(this.slot(this.rspCons), this.rspBytes));
      this.rspCons = (this.rspCons + 1) >>> 0;
    }
    return out;
  }

  /** Write bytes at a ring offset (across the ring's frames). */
  pokeAt(off: number, b: Uint8Array): void {
    for (let i = 0; i < b.length;) {
      const f = Math.floor((off + i) / 4096);
      const at = (off + i) % 4096;
      const n = Math.min(b.length - i, 4096 - at);
      this.fe.poke(this.frame + f, at, b.subarray(i, i + n));
      i += n;
    }
  }

  /** Read bytes at a ring offset (across the ring's frames). */
  peekAt(off: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length;) {
      const f = Math.floor((off + i) / 4096);
      const at = (off + i) % 4096;
      const n = Math.min(length - i, 4096 - at);
      out.set(this.fe.peek(this.frame + f, at, n), i);
      i += n;
    }
    return out;
  }

  /** A u32 of the sring header. */
  field(off: number): number {
    return get32(this.fe.peek(this.frame, off, 4));
  }

  /** Set a u32 of the sring header. */
  setField(off: number, v: number): void {
    this.fe.poke(this.frame, off, put32(v >>> 0));
  }
}

/** FNV-1a 32-bit checksum of bytes (the test program's disk pattern check). */
export function checksum(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const x of b) h = Math.imul(h ^ x, 0x01000193) >>> 0;
  return h;
}

/** Deterministic pattern bytes. */
export function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
