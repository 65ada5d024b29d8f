/**
 * The back end of a Xen shared ring (xen/include/public/io/ring.h), over one granted page.
 *
 * Layout of the shared page (DEFINE_RING_TYPES' `struct __name##_sring`):
 * ```
 *   0x00  u32 req_prod    written by the frontend: requests published
 *   0x04  u32 req_event   written by the backend: notify me when req_prod passes this
 *   0x08  u32 rsp_prod    written by the backend: responses published
 *   0x0c  u32 rsp_event   written by the frontend: notify me when rsp_prod passes this
 *   0x10  u8  __pad[48]
 *   0x40  union { request; response; } ring[RING_SIZE]
 * ```
 * RING_SIZE is __RING_SIZE: (4096 - 64) / sizeof(entry), rounded DOWN to a power of two, so an
 * index maps to a slot with `idx & (size - 1)` and free-running u32 indices wrap cleanly.
 *
 * The backend owns req_cons and rsp_prod_pvt privately (the frontend never sees them) and
 * trusts nothing it reads from the page:
 * - each request is copied OUT of its slot, once, before any field is looked at (no double
 *   fetch: XSA-155); callers decode only the private copy;
 * - req_prod is read once per check and bounded: req_prod - rsp_prod_pvt > RING_SIZE
 *   (RING_REQUEST_PROD_OVERFLOW) or req_prod behind req_cons means the frontend is broken;
 *   the ring then refuses all further work (`broken` holds why) and the device must be stopped;
 * - rsp_event only decides whether to notify (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY); a wild
 *   value costs the frontend its own notifications, nothing else.
 * Responses are written from the private rsp_prod_pvt and published by pushResponses().
 */

/** What a ring needs of the page: byte reads (copies) and writes by offset. GrantMapping fits. */
export interface SharedPage {
  /** A copy of `length` bytes at `offset` (0 <= offset, offset + length <= 4096). */
  read(offset: number, length: number): Uint8Array;
  /** Store `bytes` at `offset`. */
  write(offset: number, bytes: Uint8Array): void;
}

/** Bytes of the page. */
export const RING_PAGE_SIZE = 4096;
/** Offset of req_prod. */
export const SRING_REQ_PROD = 0x00;
/** Offset of req_event. */
export const SRING_REQ_EVENT = 0x04;
/** Offset of rsp_prod. */
export const SRING_RSP_PROD = 0x08;
/** Offset of rsp_event. */
export const SRING_RSP_EVENT = 0x0c;
/** Offset of ring[0] (the 16 bytes of indices plus 48 bytes of padding). */
export const SRING_RING = 0x40;

/**
 * __CONST_RING_SIZE for entries of `entryBytes` (the larger of request and response) in a ring of
 * `pages` pages (1 unless a multi-page ring was negotiated: blkif.h "ring-page-order").
 */
export function ringSize(entryBytes: number, pages = 1): number {
  const n = Math.floor((RING_PAGE_SIZE * pages - SRING_RING) / entryBytes);
  let p = 1;
  while (p * 2 <= n) p *= 2; // __RD32: round down to a power of two
  return p;
}

/** Plain-data state of a back ring (the page itself is the frontend's memory). */
export interface BackRingSnapshot {
  reqCons: number;
  rspProdPvt: number;
  rspPushed: number;
  broken: string | null;
}

/** Read a little-endian u32 out of a private copy. */
export function le32(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

/** Read a little-endian u16 out of a private copy. */
export function le16(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}

/** Little-endian u32 as 4 bytes. */
export function u32Bytes(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

/**
 * Several mapped pages seen as one ring area (a multi-page ring: blkif.h "ring-ref%u", the pages
 * in the order of their refs). Offsets run across the pages; a slot may straddle two.
 */
export class MultiPage implements SharedPage {
  constructor(private readonly pages: SharedPage[]) {}

  read(offset: number, length: number): Uint8Array {
    const i = Math.floor(offset / RING_PAGE_SIZE);
    const at = offset - i * RING_PAGE_SIZE;
    if (at + length <= RING_PAGE_SIZE) return this.pages[i].read(at, length);
    const out = new Uint8Array(length);
    const first = RING_PAGE_SIZE - at;
    out.set(this.pages[i].read(at, first), 0);
    out.set(this.pages[i + 1].read(0, length - first), first);
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    const i = Math.floor(offset / RING_PAGE_SIZE);
    const at = offset - i * RING_PAGE_SIZE;
    const first = Math.min(bytes.length, RING_PAGE_SIZE - at);
    this.pages[i].write(at, first === bytes.length ? bytes : bytes.subarray(0, first));
    if (first < bytes.length) this.pages[i + 1].write(0, bytes.subarray(first));
  }
}

/** A back ring (BACK_RING_ATTACH): requests in, responses out. */
export class BackRing {
  /** Slots in the ring (a power of two). */
  readonly size: number;
  /** Bytes of one slot. */
  readonly entryBytes: number;
  /** Why the ring was given up (the frontend broke the protocol), or null. */
  broken: string | null = null;
  private reqCons: number;
  private rspProdPvt: number;
  /** The rsp_prod we last published (never re-read from the page). */
  private rspPushed: number;

  /**
   * Attach to the ring in `page`. As BACK_RING_ATTACH does, the private indices start at the
   * page's rsp_prod (0 for a ring the frontend just initialised with SHARED_RING_INIT), read
   * once; a snapshot restores them instead.
   */
  constructor(private readonly page: SharedPage, readonly reqBytes: number, readonly rspBytes: number, state?: BackRingSnapshot, pages = 1) {
    this.entryBytes = Math.max(reqBytes, rspBytes);
    this.size = ringSize(this.entryBytes, pages);
    const start = state ? state.reqCons : le32(page.read(SRING_RSP_PROD, 4), 0);
    this.reqCons = start;
    this.rspProdPvt = state ? state.rspProdPvt : start;
    this.rspPushed = state ? state.rspPushed : start;
    this.broken = state ? state.broken : null;
  }

  /** Requests consumed so far (req_cons, free-running). */
  get consumed(): number {
    return this.reqCons;
  }

  /** Responses produced so far (rsp_prod_pvt, free-running). */
  get produced(): number {
    return this.rspProdPvt;
  }

  /**
   * Requests published and not yet taken (RING_HAS_UNCONSUMED_REQUESTS), after reading
   * req_prod once and bounding it. 0 once broken.
   */
  unconsumed(): number {
    if (this.broken) return 0;
    const prod = le32(this.page.read(SRING_REQ_PROD, 4), 0);
    const ahead = (prod - this.rspProdPvt) >>> 0;
    const fresh = (prod - this.reqCons) >>> 0;
    if (ahead > this.size || fresh > ahead) {
      this.broken = `req_prod ${prod} is not within ${this.size} slots after rsp_prod ${this.rspProdPvt} (req_cons ${this.reqCons})`;
      return 0;
    }
    return fresh;
  }

  /** Whether a response slot is free (we never answer more requests than were taken). */
  private canRespond(): boolean {
    return this.rspProdPvt !== this.reqCons;
  }

  /**
   * Copy the next request out of its slot into private memory and consume it (the caller has
   * seen unconsumed() > 0). Everything about the request is decided from this copy.
   */
  takeRequest(): Uint8Array {
    const slot = this.reqCons & (this.size - 1);
    const copy = this.page.read(SRING_RING + slot * this.entryBytes, this.reqBytes);
    this.reqCons = (this.reqCons + 1) >>> 0;
    return copy;
  }

  /** Write a response into the next private response slot (published by pushResponses). */
  putResponse(rsp: Uint8Array): void {
    if (rsp.length !== this.rspBytes) throw new RangeError(`ring response of ${rsp.length} bytes, expected ${this.rspBytes}`);
    if (!this.canRespond()) throw new Error('ring: response without a request taken'); // backend bug
    const slot = this.rspProdPvt & (this.size - 1);
    this.page.write(SRING_RING + slot * this.entryBytes, rsp);
    this.rspProdPvt = (this.rspProdPvt + 1) >>> 0;
  }

  /**
   * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish rsp_prod, then read rsp_event once and tell
   * whether the frontend asked to be notified of a response in (old, new].
   */
  pushResponses(): boolean {
    const old = this.rspPushed;
    const now = this.rspProdPvt;
    if (old === now) return false;
    this.page.write(SRING_RSP_PROD, u32Bytes(now));
    this.rspPushed = now;
    const event = le32(this.page.read(SRING_RSP_EVENT, 4), 0);
    return ((now - event) >>> 0) < ((now - old) >>> 0);
  }

  /**
   * RING_FINAL_CHECK_FOR_REQUESTS: true when requests are waiting; otherwise set req_event to
   * req_cons + 1 (notify me on the next one) and check once more, closing the race with a
   * frontend that published just before req_event moved.
   */
  finalCheck(): boolean {
    if (this.unconsumed() > 0) return true;
    if (this.broken) return false;
    this.page.write(SRING_REQ_EVENT, u32Bytes((this.reqCons + 1) >>> 0));
    return this.unconsumed() > 0;
  }

  /** Plain-data state. */
  snapshot(): BackRingSnapshot {
    return { reqCons: this.reqCons, rspProdPvt: this.rspProdPvt, rspPushed: this.rspPushed, broken: this.broken };
  }
}

/**
 * Serve a ring the way every Xen backend's interrupt handler does: take requests while there
 * are any (one() takes at least one and answers what it took), publish the responses, do the
 * final check, and loop while it finds more. At most `limit` calls of one() (a frontend that
 * keeps publishing cannot hold the host), and none once more() says false (a budget the
 * caller counts, such as blkback's segments per run). Returns whether the frontend must be notified: once
 * per call, however many requests were served.
 */
export function serviceRing(ring: BackRing, limit: number, one: () => void, more: () => boolean = () => true): boolean {
  let notify = false;
  let served = 0;
  for (let pass = 0; pass <= limit; pass++) {
    while (served < limit && more() && ring.unconsumed() > 0) {
      one();
      served++;
    }
    if (ring.broken) return notify;
    notify = ring.pushResponses() || notify;
    if (served >= limit || !more() || !ring.finalCheck()) break;
  }
  return notify;
}
