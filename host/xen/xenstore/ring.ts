/**
 * The XenStore shared page, struct xenstore_domain_interface (io/xs_wire.h), seen from the
 * server (xenstored) side. The page is one 4 KiB frame that the guest shares with Dom0:
 *
 *   offset  size  field
 *   0x000   1024  req[]            requests, guest -> xenstored (guest produces)
 *   0x400   1024  rsp[]            replies and watch events, xenstored -> guest
 *   0x800   4     req_cons         xenstored's progress through req[]
 *   0x804   4     req_prod         guest's progress writing req[]
 *   0x808   4     rsp_cons         guest's progress through rsp[]
 *   0x80c   4     rsp_prod         xenstored's progress writing rsp[]
 *   0x810   4     server_features  XENSTORE_SERVER_FEATURE_* bits
 *   0x814   4     connection       XENSTORE_CONNECTED / XENSTORE_RECONNECT
 *   0x818   4     error            XENSTORE_ERROR_* (set when xenstored gives up on the ring)
 *
 * Indices are free-running uint32 counters; the byte for index i is at MASK_XENSTORE_IDX(i).
 * A ring is sane only while prod - cons <= XENSTORE_RING_SIZE (modulo 2^32).
 *
 * Our own indices (req_cons, rsp_prod) are kept privately and only written to the page: a guest
 * scribbling over them cannot make us re-read or skip data. The guest's indices (req_prod,
 * rsp_cons) are read once per pass into locals and validated before use.
 */

/** XENSTORE_RING_SIZE: bytes in each of req[] and rsp[]. */
export const XENSTORE_RING_SIZE = 1024;
/** MASK_XENSTORE_IDX: the ring offset of a free-running index. */
export const MASK_XENSTORE_IDX = (idx: number): number => idx & (XENSTORE_RING_SIZE - 1);

/** Field offsets in the interface page (see the map above). */
export const XS_RING_REQ = 0x000;
export const XS_RING_RSP = 0x400;
export const XS_RING_REQ_CONS = 0x800;
export const XS_RING_REQ_PROD = 0x804;
export const XS_RING_RSP_CONS = 0x808;
export const XS_RING_RSP_PROD = 0x80c;
export const XS_RING_SERVER_FEATURES = 0x810;
export const XS_RING_CONNECTION = 0x814;
export const XS_RING_ERROR = 0x818;
/** Bytes of the page the interface uses (the rest of the 4 KiB frame is unused). */
export const XS_RING_USED = 0x81c;
/** The page size a RingMemory covers. */
export const XS_PAGE_SIZE = 4096;

/** XENSTORE_SERVER_FEATURE_RECONNECTION: the server supports the connection field handshake. */
export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
/** XENSTORE_SERVER_FEATURE_ERROR: the server reports ring failures in the error field. */
export const XENSTORE_SERVER_FEATURE_ERROR = 2;

/** Values of the error field (xs_wire.h, Xen 4.17). */
export enum XenstoreRingError {
  /** No error. */
  NONE = 0,
  /** Communication problem. */
  COMM = 1,
  /** Invalid ring index (prod - cons out of range). */
  RINGIDX = 2,
  /** Protocol violation (payload longer than XENSTORE_PAYLOAD_MAX). */
  PROTO = 3,
}

/**
 * The 4 KiB interface page as the server reaches it. Tests back it with a Uint8Array; the VMM
 * adapts a domain's mapped frame. `read` must return a copy (or a view the caller copies at once).
 * Offsets and lengths passed are always within [0, XS_PAGE_SIZE).
 */
export interface RingMemory {
  read(off: number, len: number): Uint8Array;
  write(off: number, bytes: Uint8Array): void;
}

/** A RingMemory over a plain byte array (tests, and Dom0-local pages). */
export class ArrayRingMemory implements RingMemory {
  constructor(readonly bytes: Uint8Array = new Uint8Array(XS_PAGE_SIZE)) {
    if (bytes.length < XS_PAGE_SIZE) throw new RangeError(`ArrayRingMemory: page is ${bytes.length} bytes, need ${XS_PAGE_SIZE}`);
  }
  read(off: number, len: number): Uint8Array {
    return this.bytes.slice(off, off + len);
  }
  write(off: number, bytes: Uint8Array): void {
    this.bytes.set(bytes, off);
  }
}

function get32(mem: RingMemory, off: number): number {
  const b = mem.read(off, 4);
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}

function put32(mem: RingMemory, off: number, v: number): void {
  mem.write(off, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff));
}

/** Plain-data state of a ServerRing (our private indices). */
export interface ServerRingSnapshot {
  reqCons: number;
  rspProd: number;
}

/**
 * The server end of one domain's interface page: copies request bytes out of req[] and copies
 * reply bytes into rsp[], checking the guest's indices on every pass.
 */
export class ServerRing {
  private reqCons: number;
  private rspProd: number;

  /**
   * @param mem the interface page
   * @param fresh true when the toolstack has just zeroed the page (indices start at 0); false to
   *   adopt the indices already in the page (a page handed over from another server)
   */
  constructor(private readonly mem: RingMemory, fresh = true) {
    if (fresh) {
      this.reqCons = 0;
      this.rspProd = 0;
      put32(mem, XS_RING_REQ_CONS, 0);
      put32(mem, XS_RING_RSP_PROD, 0);
    } else {
      this.reqCons = get32(mem, XS_RING_REQ_CONS);
      this.rspProd = get32(mem, XS_RING_RSP_PROD);
    }
    put32(mem, XS_RING_SERVER_FEATURES, XENSTORE_SERVER_FEATURE_ERROR);
  }

  /**
   * Copies out up to `max` unread request bytes and advances req_cons past them. Returns the
   * bytes (possibly empty), or 'badidx' if req_prod - req_cons exceeds the ring size.
   */
  readRequests(max: number): Uint8Array | 'badidx' {
    const prod = get32(this.mem, XS_RING_REQ_PROD); // fetched once
    const avail = (prod - this.reqCons) >>> 0;
    if (avail > XENSTORE_RING_SIZE) return 'badidx';
    const n = Math.min(avail, Math.max(0, max));
    const out = new Uint8Array(n);
    const start = MASK_XENSTORE_IDX(this.reqCons);
    const first = Math.min(n, XENSTORE_RING_SIZE - start);
    if (first > 0) out.set(this.mem.read(XS_RING_REQ + start, first).subarray(0, first), 0);
    if (n > first) out.set(this.mem.read(XS_RING_REQ, n - first).subarray(0, n - first), first);
    if (n > 0) {
      this.reqCons = (this.reqCons + n) >>> 0;
      put32(this.mem, XS_RING_REQ_CONS, this.reqCons);
    }
    return out;
  }

  /**
   * Free bytes in rsp[], or 'badidx' if rsp_prod - rsp_cons exceeds the ring size.
   */
  responseSpace(): number | 'badidx' {
    const cons = get32(this.mem, XS_RING_RSP_CONS); // fetched once
    const used = (this.rspProd - cons) >>> 0;
    if (used > XENSTORE_RING_SIZE) return 'badidx';
    return XENSTORE_RING_SIZE - used;
  }

  /**
   * Copies as much of `bytes` as fits into rsp[] and advances rsp_prod. Returns the count written
   * (0 when full), or 'badidx' if the guest's rsp_cons is out of range.
   */
  writeResponses(bytes: Uint8Array): number | 'badidx' {
    const space = this.responseSpace();
    if (space === 'badidx') return space;
    const n = Math.min(space, bytes.length);
    const start = MASK_XENSTORE_IDX(this.rspProd);
    const first = Math.min(n, XENSTORE_RING_SIZE - start);
    if (first > 0) this.mem.write(XS_RING_RSP + start, bytes.subarray(0, first));
    if (n > first) this.mem.write(XS_RING_RSP, bytes.subarray(first, n));
    if (n > 0) {
      this.rspProd = (this.rspProd + n) >>> 0;
      put32(this.mem, XS_RING_RSP_PROD, this.rspProd);
    }
    return n;
  }

  /** Records why the server gave up on this ring in the page's error field. */
  setError(err: XenstoreRingError): void {
    put32(this.mem, XS_RING_ERROR, err);
  }

  /** Our private indices, as plain data. */
  snapshot(): ServerRingSnapshot {
    return { reqCons: this.reqCons, rspProd: this.rspProd };
  }

  /** Adopts indices from a snapshot (the page itself is restored with guest memory). */
  restore(s: ServerRingSnapshot): void {
    this.reqCons = s.reqCons >>> 0;
    this.rspProd = s.rspProd >>> 0;
  }
}

/** Reads the four ring indices of a page (for tests, traces and the guest-side test client). */
export function ringIndices(mem: RingMemory): { reqCons: number; reqProd: number; rspCons: number; rspProd: number } {
  return {
    reqCons: get32(mem, XS_RING_REQ_CONS),
    reqProd: get32(mem, XS_RING_REQ_PROD),
    rspCons: get32(mem, XS_RING_RSP_CONS),
    rspProd: get32(mem, XS_RING_RSP_PROD),
  };
}

/** Writes a u32 field of the page (guest-side helper for tests and Dom0-local clients). */
export function writeRingField(mem: RingMemory, off: number, value: number): void {
  put32(mem, off, value >>> 0);
}
