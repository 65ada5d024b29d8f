/**
 * A guest-side XenStore client for the tests: plays the DomU end of an interface page backed by
 * a plain Uint8Array (writes req[] and req_prod, reads rsp[] and advances rsp_cons).
 */
import { ArrayRingMemory, MASK_XENSTORE_IDX, ringIndices, writeRingField, XS_RING_REQ, XS_RING_REQ_PROD, XS_RING_RSP, XS_RING_RSP_CONS } from '../../../host/xen/xenstore/ring';
import { decodeHeader, splitNul, XSD_SOCKMSG_SIZE } from '../../../host/xen/xenstore/wire';
import { request, type XenStoreServer } from '../../../host/xen/xenstore/server';

/** A decoded reply or event. */
export interface Reply {
  type: number;
  reqId: number;
  txId: number;
  strings: string[];
  raw: Uint8Array;
}

export class GuestClient {
  readonly mem = new ArrayRingMemory();
  notifications = 0;
  private reqId = 0;
  private carry = new Uint8Array(0);

  constructor(readonly server: XenStoreServer, readonly domid: number) {
    server.introduce(domid, this.mem, () => this.notifications++);
  }

  /** Puts raw bytes into req[] (wrapping) and bumps req_prod; does not kick. */
  put(bytes: Uint8Array): void {
    let prod = ringIndices(this.mem).reqProd;
    for (const b of bytes) {
      this.mem.bytes[XS_RING_REQ + MASK_XENSTORE_IDX(prod)] = b;
      prod = (prod + 1) >>> 0;
    }
    writeRingField(this.mem, XS_RING_REQ_PROD, prod);
  }

  /** Sends one request, kicks the server, returns every reply/event now on the ring. */
  send(type: number, txId: number, ...args: (string | Uint8Array)[]): Reply[] {
    this.put(request(type, ++this.reqId, txId, ...args));
    this.server.kick(this.domid);
    return this.take();
  }

  /** Sends and expects exactly one reply (no events); returns its strings. */
  call(type: number, txId: number, ...args: (string | Uint8Array)[]): Reply {
    const r = this.send(type, txId, ...args);
    if (r.length !== 1) throw new Error(`expected one reply, got ${r.length}: ${JSON.stringify(r.map((x) => x.strings))}`);
    return r[0];
  }

  /** All bytes the server produced and we have not consumed (advances rsp_cons). */
  rawResponses(): Uint8Array {
    const { rspCons, rspProd } = ringIndices(this.mem);
    let n = (rspProd - rspCons) >>> 0;
    if (n > 1024) n = 0; // a test scribbled over rsp_cons: resynchronise
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.mem.bytes[XS_RING_RSP + MASK_XENSTORE_IDX(rspCons + i)];
    writeRingField(this.mem, XS_RING_RSP_CONS, rspProd);
    return out;
  }

  /** Decodes every message now in rsp[]. */
  take(): Reply[] {
    const fresh = this.rawResponses();
    const bytes = new Uint8Array(this.carry.length + fresh.length);
    bytes.set(this.carry);
    bytes.set(fresh, this.carry.length);
    const out: Reply[] = [];
    if (this.carry.length > 0 && bytes.length === 0) return out;
    let o = 0;
    while (o + XSD_SOCKMSG_SIZE <= bytes.length) {
      const h = decodeHeader(bytes, o);
      const raw = bytes.slice(o, o + XSD_SOCKMSG_SIZE + h.len);
      const { strings } = splitNul(raw.subarray(XSD_SOCKMSG_SIZE));
      out.push({ type: h.type, reqId: h.reqId, txId: h.txId, strings, raw });
      o += XSD_SOCKMSG_SIZE + h.len;
    }
    // A message may be split across two passes when the ring was full.
    this.carry = bytes.slice(o);
    return out;
  }
}
