/**
 * The network ring ABI (xen/include/public/io/netif.h). Two rings per vif, one page each:
 * ```
 * tx (guest -> Dom0), 12-byte slots, 256 of them:
 *   netif_tx_request  { 0 u32 gref; 4 u16 offset; 6 u16 flags; 8 u16 id; 10 u16 size }
 *   netif_tx_response { 0 u16 id; 2 i16 status }
 * rx (Dom0 -> guest), 8-byte slots, 256 of them:
 *   netif_rx_request  { 0 u16 id; 2 (pad); 4 u32 gref }      an empty page the guest posts
 *   netif_rx_response { 0 u16 id; 2 u16 offset; 4 u16 flags; 6 i16 status }  status > 0: bytes
 * ```
 * A tx packet is one request, or (feature-sg) a chain whose slots all but the last carry
 * NETTXF_more_data; the FIRST slot's `size` is the whole packet, each later slot's `size` its
 * own bytes, so the first slot holds size - sum(later sizes). NETTXF_extra_info says the next
 * slot is a netif_extra_info { 0 u8 type; 1 u8 flags; 2.. 6 bytes } (more follow while flags has
 * XEN_NETIF_EXTRA_FLAG_MORE); extra slots are answered with NETIF_RSP_NULL.
 */
import { le16, le32, ringSize } from './ring';

/** Tx flag: the checksum is left blank (to be filled by whoever offloads it). */
export const NETTXF_csum_blank = 1 << 0;
/** Tx flag: the packet's checksum is known good. */
export const NETTXF_data_validated = 1 << 1;
/** Tx flag: the packet continues in the next slot. */
export const NETTXF_more_data = 1 << 2;
/** Tx flag: an extra-info slot follows. */
export const NETTXF_extra_info = 1 << 3;

/** Rx flag: the checksum is known good. */
export const NETRXF_data_validated = 1 << 0;
/** Rx flag: the checksum is blank. */
export const NETRXF_csum_blank = 1 << 1;
/** Rx flag: the packet continues in the next response. */
export const NETRXF_more_data = 1 << 2;
/** Rx flag: an extra-info response follows (never sent here). */
export const NETRXF_extra_info = 1 << 3;

/** Response status: the packet was dropped. */
export const NETIF_RSP_DROPPED = -2;
/** Response status: the slot or packet was bad. */
export const NETIF_RSP_ERROR = -1;
/** Response status: done. */
export const NETIF_RSP_OKAY = 0;
/** Response status: no response for this slot (an extra-info slot). */
export const NETIF_RSP_NULL = 1;

/** netif_extra_info flag: another extra slot follows. */
export const XEN_NETIF_EXTRA_FLAG_MORE = 1 << 0;
/** Extra-info types are 1..XEN_NETIF_EXTRA_TYPE_MAX - 1 (GSO, MCAST_ADD, MCAST_DEL, HASH). */
export const XEN_NETIF_EXTRA_TYPE_MAX = 5;
/** Most slots one tx packet may use (XEN_NETBK_LEGACY_SLOTS_MAX = XEN_NETIF_NR_SLOTS_MIN). */
export const XEN_NETIF_NR_SLOTS_MIN = 18;
/** Largest tx packet (the u16 size field). */
export const XEN_NETIF_MAX_TX_SIZE = 0xffff;
/** Smallest frame: an Ethernet header. */
export const ETH_HLEN = 14;

/** sizeof(netif_tx_request). */
export const NETIF_TX_REQ_SIZE = 12;
/** sizeof(netif_tx_response). */
export const NETIF_TX_RSP_SIZE = 4;
/** sizeof(netif_rx_request). */
export const NETIF_RX_REQ_SIZE = 8;
/** sizeof(netif_rx_response). */
export const NETIF_RX_RSP_SIZE = 8;
/** Slots of the tx ring (256). */
export const NET_TX_RING_SIZE = ringSize(NETIF_TX_REQ_SIZE);
/** Slots of the rx ring (256). */
export const NET_RX_RING_SIZE = ringSize(NETIF_RX_REQ_SIZE);

/** A tx request decoded from its private copy. */
export interface NetifTxRequest {
  gref: number;
  offset: number;
  flags: number;
  id: number;
  size: number;
}

/** An rx request decoded from its private copy. */
export interface NetifRxRequest {
  id: number;
  gref: number;
}

/** An rx response. */
export interface NetifRxResponse {
  id: number;
  offset: number;
  flags: number;
  status: number;
}

/** Decode a tx request (12 bytes). */
export function decodeTxRequest(b: Uint8Array): NetifTxRequest {
  return { gref: le32(b, 0), offset: le16(b, 4), flags: le16(b, 6), id: le16(b, 8), size: le16(b, 10) };
}

/** Encode a tx request (frontends, tests). */
export function encodeTxRequest(r: NetifTxRequest): Uint8Array {
  const b = new Uint8Array(NETIF_TX_REQ_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, r.gref >>> 0, true);
  v.setUint16(4, r.offset, true);
  v.setUint16(6, r.flags, true);
  v.setUint16(8, r.id, true);
  v.setUint16(10, r.size, true);
  return b;
}

/** Encode a tx response. */
export function encodeTxResponse(id: number, status: number): Uint8Array {
  const b = new Uint8Array(NETIF_TX_RSP_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, id, true);
  v.setInt16(2, status, true);
  return b;
}

/** Decode a tx response (frontends, tests). */
export function decodeTxResponse(b: Uint8Array): { id: number; status: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return { id: v.getUint16(0, true), status: v.getInt16(2, true) };
}

/** Decode an rx request (8 bytes). */
export function decodeRxRequest(b: Uint8Array): NetifRxRequest {
  return { id: le16(b, 0), gref: le32(b, 4) };
}

/** Encode an rx request (frontends, tests). */
export function encodeRxRequest(r: NetifRxRequest): Uint8Array {
  const b = new Uint8Array(NETIF_RX_REQ_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, r.id, true);
  v.setUint32(4, r.gref >>> 0, true);
  return b;
}

/** Encode an rx response. */
export function encodeRxResponse(r: NetifRxResponse): Uint8Array {
  const b = new Uint8Array(NETIF_RX_RSP_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, r.id, true);
  v.setUint16(2, r.offset, true);
  v.setUint16(4, r.flags, true);
  v.setInt16(6, r.status, true);
  return b;
}

/** Decode an rx response (frontends, tests). */
export function decodeRxResponse(b: Uint8Array): NetifRxResponse {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return { id: v.getUint16(0, true), offset: v.getUint16(2, true), flags: v.getUint16(4, true), status: v.getInt16(6, true) };
}
