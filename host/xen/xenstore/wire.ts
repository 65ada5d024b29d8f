/**
 * The XenStore wire protocol (xen/include/public/io/xs_wire.h): the message types, the error
 * strings, the 16-byte `struct xsd_sockmsg` header, and a stream parser that turns bytes copied
 * out of a ring (or a local socket) into whole messages.
 *
 *   struct xsd_sockmsg {            offset
 *       uint32_t type;    XS_???       0
 *       uint32_t req_id;  echoed       4
 *       uint32_t tx_id;   0 = none     8
 *       uint32_t len;     payload     12
 *   };                    payload follows at 16, `len` bytes, at most XENSTORE_PAYLOAD_MAX
 *
 * All fields are little-endian (RISC-V is little-endian; Xen's header uses native order).
 */

/** enum xsd_sockmsg_type, with the values of xs_wire.h (XS_DEBUG = 0 ... XS_DIRECTORY_PART = 22). */
export enum XsType {
  DEBUG = 0,
  DIRECTORY = 1,
  READ = 2,
  GET_PERMS = 3,
  WATCH = 4,
  UNWATCH = 5,
  TRANSACTION_START = 6,
  TRANSACTION_END = 7,
  INTRODUCE = 8,
  RELEASE = 9,
  GET_DOMAIN_PATH = 10,
  WRITE = 11,
  MKDIR = 12,
  RM = 13,
  SET_PERMS = 14,
  WATCH_EVENT = 15,
  ERROR = 16,
  IS_DOMAIN_INTRODUCED = 17,
  RESUME = 18,
  SET_TARGET = 19,
  RESTRICT = 20,
  RESET_WATCHES = 21,
  DIRECTORY_PART = 22,
  /** XS_INVALID: guaranteed never to be a valid type. */
  INVALID = 0xffff,
}

/**
 * The error names of xs_wire.h's xsd_errors[] table, in table order (EPERM was appended in
 * Xen 4.17). An ERROR reply carries the name as a NUL-terminated string, never a number.
 */
export const XSD_ERRORS = [
  'EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOMEM', 'ENOSPC', 'EIO', 'ENOTEMPTY',
  'ENOSYS', 'EROFS', 'EBUSY', 'EAGAIN', 'EISCONN', 'E2BIG', 'EPERM',
] as const;

/** One of the error names a reply may carry. */
export type XsErrno = (typeof XSD_ERRORS)[number];

/** Size of struct xsd_sockmsg. */
export const XSD_SOCKMSG_SIZE = 16;
/** XENSTORE_PAYLOAD_MAX: longest payload in either direction; a longer `len` kills the connection. */
export const XENSTORE_PAYLOAD_MAX = 4096;
/** XENSTORE_ABS_PATH_MAX: longest absolute path (EINVAL beyond). */
export const XENSTORE_ABS_PATH_MAX = 3072;
/** XENSTORE_REL_PATH_MAX: longest relative path a domain may send (EINVAL beyond). */
export const XENSTORE_REL_PATH_MAX = 2048;

/** A XenStore failure with its wire error name; the server turns it into an XS_ERROR reply. */
export class XsError extends Error {
  constructor(readonly errno: XsErrno, detail?: string) {
    super(detail ? `xenstore: ${errno}: ${detail}` : `xenstore: ${errno}`);
    this.name = 'XsError';
  }
}

/** A decoded xsd_sockmsg header. */
export interface XsHeader {
  /** Message type (an XsType value, or anything a guest sent). */
  type: number;
  /** Request id, echoed in the reply. */
  reqId: number;
  /** Transaction id, 0 if none. */
  txId: number;
  /** Payload length in bytes. */
  len: number;
}

/** A whole message: header plus its payload (a private copy). */
export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

/** Reads the 16-byte header at `off` of `bytes` (which must hold it). */
export function decodeHeader(bytes: Uint8Array, off = 0): XsHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset + off, XSD_SOCKMSG_SIZE);
  return { type: v.getUint32(0, true), reqId: v.getUint32(4, true), txId: v.getUint32(8, true), len: v.getUint32(12, true) };
}

/** Encodes header + payload (len is taken from the payload). */
export function encodeMessage(type: number, reqId: number, txId: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(XSD_SOCKMSG_SIZE + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, type >>> 0, true);
  v.setUint32(4, reqId >>> 0, true);
  v.setUint32(8, txId >>> 0, true);
  v.setUint32(12, payload.length, true);
  out.set(payload, XSD_SOCKMSG_SIZE);
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder('latin1');

/** The bytes of `s` (paths and tokens are ASCII; values may be any bytes). */
export function bytesOf(s: string): Uint8Array {
  return enc.encode(s);
}

/** Decodes bytes one-to-one as Latin-1, so that any byte string round-trips through a JS string. */
export function latin1(bytes: Uint8Array): string {
  return dec.decode(bytes);
}

/** Concatenates strings each followed by a NUL (the `<foo>|*` notation of xenstore.txt). */
export function nulJoin(parts: readonly string[]): Uint8Array {
  return bytesOf(parts.map((p) => p + '\0').join(''));
}

/**
 * Splits a payload into its NUL-terminated strings. Bytes after the last NUL (an unterminated
 * tail) are returned as `rest`, so callers can tell "a|b|" from "a|b".
 */
export function splitNul(payload: Uint8Array): { strings: string[]; rest: Uint8Array } {
  const strings: string[] = [];
  let start = 0;
  for (let i = 0; i < payload.length; i++) {
    if (payload[i] === 0) {
      strings.push(latin1(payload.subarray(start, i)));
      start = i + 1;
    }
  }
  return { strings, rest: payload.subarray(start) };
}

/**
 * Reassembles messages from a byte stream. Bytes are copied in (never referenced), so a guest
 * rewriting its ring after we consumed it changes nothing (no double fetch, XSA-155 class).
 * Holds at most one header plus XENSTORE_PAYLOAD_MAX bytes.
 */
export class MessageReader {
  private readonly buf = new Uint8Array(XSD_SOCKMSG_SIZE + XENSTORE_PAYLOAD_MAX);
  private have = 0;
  private header: XsHeader | null = null;

  /** Bytes still wanted to finish the current header or payload (never 0). */
  wanted(): number {
    return this.header ? XSD_SOCKMSG_SIZE + this.header.len - this.have : XSD_SOCKMSG_SIZE - this.have;
  }

  /**
   * Appends `bytes` (at most wanted()). Returns a finished message, null if more bytes are needed,
   * or 'toolong' when the header's len exceeds XENSTORE_PAYLOAD_MAX (the connection must die).
   */
  push(bytes: Uint8Array): XsMessage | null | 'toolong' {
    if (bytes.length > this.wanted()) throw new RangeError('MessageReader: pushed more than wanted()');
    this.buf.set(bytes, this.have);
    this.have += bytes.length;
    if (!this.header) {
      if (this.have < XSD_SOCKMSG_SIZE) return null;
      const h = decodeHeader(this.buf);
      if (h.len > XENSTORE_PAYLOAD_MAX) return 'toolong';
      this.header = h;
    }
    const h = this.header;
    if (this.have < XSD_SOCKMSG_SIZE + h.len) return null;
    const msg = { type: h.type, reqId: h.reqId, txId: h.txId, payload: this.buf.slice(XSD_SOCKMSG_SIZE, XSD_SOCKMSG_SIZE + h.len) };
    this.reset();
    return msg;
  }

  /** Bytes of a message received so far (0 between messages). */
  pending(): number {
    return this.have;
  }

  /** A copy of the partial message (for snapshots). */
  partial(): Uint8Array {
    return this.buf.slice(0, this.have);
  }

  /** Drops any partial message. */
  reset(): void {
    this.have = 0;
    this.header = null;
  }
}
