/** A mock netfront for the netback tests: tx/rx rings, posted rx buffers, frames built by hand. */
import { Netback } from '../../../host/xen/backends/netback';
import type { Bridge } from '../../../host/xen/backends/bridge';
import {
  decodeRxResponse, decodeTxResponse, encodeRxRequest, encodeTxRequest, NETIF_RX_REQ_SIZE, NETIF_RX_RSP_SIZE,
  NETIF_TX_REQ_SIZE, NETIF_TX_RSP_SIZE, NETRXF_more_data, type NetifTxRequest,
} from '../../../host/xen/backends/netif';
import { FrontRing, type Frontend, type World } from './harness';

/** RAM frames of a mock netfront. */
export const TX_RING = 0;
export const RX_RING = 1;
/** tx data pages: frames 2..9; rx buffers: frames 10..25 (id i -> frame 10 + i). */
export const TX_PAGE = 2;
export const RX_PAGE = 10;
export const RX_BUFFERS = 16;

/** One guest's vif, frontend side, connected to a Netback. */
export class NetFront {
  readonly tx: FrontRing;
  readonly rx: FrontRing;
  readonly port: number;
  readonly be: Netback;
  readonly fatal: string[] = [];
  private txId = 0;

  constructor(readonly world: World, readonly fe: Frontend, bridge: Bridge, mac: string, opts: { sg?: boolean; post?: number; antiSpoof?: boolean } = {}) {
    this.tx = new FrontRing(fe, TX_RING, NETIF_TX_REQ_SIZE, NETIF_TX_RSP_SIZE);
    this.rx = new FrontRing(fe, RX_RING, NETIF_RX_REQ_SIZE, NETIF_RX_RSP_SIZE);
    const txRef = fe.grant(TX_RING);
    const rxRef = fe.grant(RX_RING);
    this.port = fe.allocPort();
    this.be = new Netback({ grants: world.grants, events: world.events, frontendDomid: fe.domid, bridge, mac, antiSpoof: opts.antiSpoof, onFatal: (r) => this.fatal.push(r) });
    const err = this.be.connectRings(txRef, rxRef, this.port, opts.sg ?? false);
    if (err) throw new Error(err);
    fe.takeEvent(this.port);
    this.post(opts.post ?? RX_BUFFERS);
  }

  /** Post rx buffers ids 0..n-1 (frames RX_PAGE + id), granted writable. */
  post(n: number, first = 0): void {
    for (let i = first; i < first + n; i++) this.rx.put(encodeRxRequest({ id: i, gref: this.fe.grant(RX_PAGE + i) }));
    if (this.rx.push()) this.fe.notify(this.port);
  }

  /** Transmit one frame in one slot (or several, with more_data, when `split` > 0 bytes per slot). */
  send(frame: Uint8Array, split = 0, flags = 0): number[] {
    const ids: number[] = [];
    const chunks: Uint8Array[] = [];
    if (split > 0) for (let at = 0; at < frame.length; at += split) chunks.push(frame.subarray(at, at + split));
    else chunks.push(frame);
    chunks.forEach((c, i) => {
      const page = TX_PAGE + (i % 8);
      this.fe.poke(page, 0, c);
      const id = this.txId++ & 0xffff;
      ids.push(id);
      const req: NetifTxRequest = {
        gref: this.fe.grant(page, true), offset: 0, id,
        flags: flags | (i + 1 < chunks.length ? 4 : 0),
        size: i === 0 ? frame.length : c.length,
      };
      this.tx.put(encodeTxRequest(req));
    });
    if (this.tx.push()) this.fe.notify(this.port);
    return ids;
  }

  /** Raw tx request (hostile tests). */
  putTx(req: NetifTxRequest): void {
    this.tx.put(encodeTxRequest(req));
  }

  /** tx responses so far. */
  txResponses(): { id: number; status: number }[] {
    return this.tx.responses().map((b) => decodeTxResponse(b));
  }

  /** Received frames (reassembled from more_data chains), and the raw responses. */
  receive(): { frames: Uint8Array[]; raw: { id: number; offset: number; flags: number; status: number }[] } {
    const raw = this.rx.responses().map((b) => decodeRxResponse(b));
    const frames: Uint8Array[] = [];
    let parts: Uint8Array[] = [];
    for (const r of raw) {
      if (r.status < 0) { parts = []; continue; }
      parts.push(this.fe.peek(RX_PAGE + r.id, r.offset, r.status));
      if (!(r.flags & NETRXF_more_data)) {
        const n = parts.reduce((a, p) => a + p.length, 0);
        const f = new Uint8Array(n);
        let at = 0;
        for (const p of parts) { f.set(p, at); at += p.length; }
        frames.push(f);
        parts = [];
      }
    }
    return { frames, raw };
  }
}

/** "aa:bb:.." to bytes. */
export function mac(s: string): number[] {
  return s.split(':').map((h) => parseInt(h, 16));
}

function csum16(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** An Ethernet/ARP frame (RFC 826): op 1 request, 2 reply. 42 bytes. */
export function arp(op: 1 | 2, srcMac: string, srcIp: number[], dstMac: string, dstIp: number[]): Uint8Array {
  const eth = op === 1 ? [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] : mac(dstMac);
  return Uint8Array.from([
    ...eth, ...mac(srcMac), 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, op,
    ...mac(srcMac), ...srcIp, ...(op === 1 ? [0, 0, 0, 0, 0, 0] : mac(dstMac)), ...dstIp,
  ]);
}

/** An Ethernet/IPv4/ICMP echo frame (RFC 792): type 8 request, 0 reply, with valid checksums. */
export function icmpEcho(type: 8 | 0, srcMac: string, dstMac: string, srcIp: number[], dstIp: number[], id: number, seq: number, payload: Uint8Array): Uint8Array {
  const icmp = new Uint8Array(8 + payload.length);
  icmp.set([type, 0, 0, 0, id >> 8, id & 0xff, seq >> 8, seq & 0xff]);
  icmp.set(payload, 8);
  const ic = csum16(icmp);
  icmp[2] = ic >> 8; icmp[3] = ic & 0xff;
  const ip = Uint8Array.from([0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, ...srcIp, ...dstIp]);
  const total = 20 + icmp.length;
  ip[2] = total >> 8; ip[3] = total & 0xff;
  const hc = csum16(ip);
  ip[10] = hc >> 8; ip[11] = hc & 0xff;
  return Uint8Array.from([...mac(dstMac), ...mac(srcMac), 0x08, 0x00, ...ip, ...icmp]);
}

/** Whether the IPv4 header and ICMP checksums of an echo frame verify. */
export function icmpChecksumsOk(f: Uint8Array): boolean {
  return csum16(f.subarray(14, 34)) === 0 && csum16(f.subarray(34)) === 0;
}
