/**
 * The snapshot file format (docs/snapshot.md): one versioned, checksummed file.
 *
 *   header   8 bytes magic "WVSNAP\r\n", u32 FORMAT_VERSION, u32 flags (0)
 *   section  4 bytes tag (ASCII), u16 name length, name (UTF-8), u32 section version,
 *            u32 payload length, payload, u32 CRC-32 of everything from the tag to the payload
 *   ...
 *   END      the last section: tag "END ", empty name, version 1, payload = u32 CRC-32 of every
 *            byte of the file before this section (header included)
 *
 * All integers are little-endian. Every byte is covered by a CRC (the header by END's), and a
 * file that stops before END is truncated: either way the reader refuses it with one line.
 * Payloads are written with SectionWriter and read with SectionReader (fixed-width integers,
 * byte strings, and JSON for plain-data device state, whose bigints are strings).
 */
import { UserError } from '../errors';

export const MAGIC = new TextEncoder().encode('WVSNAP\r\n');
/** Bumped on any incompatible change of the container or of a section's meaning. */
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 16;

/** A snapshot that cannot be used: one line naming the file and what is wrong (exit 2). */
export class SnapshotError extends UserError {
  constructor(file: string, what: string) {
    super(`${file}: ${what}`, 2);
  }
}

// ---- CRC-32 (IEEE 802.3, reflected, as zlib and PNG) ----
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * zlib's crc32 where the host has it (Node 20.16+, reached without a static import so the
 * browser bundle does not need node:zlib): the same function, some 100x faster than the table
 * loop below, which live migration's stop-and-copy would otherwise pay per megabyte (~10 ms).
 * Looked up on first use: loading node:zlib costs 4-20 ms, which every CLI start would pay
 * (docs/performance.md "Start-up").
 */
let nativeCrc32: ((b: Uint8Array, c: number) => number) | null | undefined;

function findNativeCrc32(): ((b: Uint8Array, c: number) => number) | null {
  const p = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const z = p?.getBuiltinModule?.('node:zlib') as { crc32?: (b: Uint8Array, c: number) => number } | undefined;
  return typeof z?.crc32 === 'function' ? z.crc32 : null;
}

export function crc32(bytes: Uint8Array, crc = 0): number {
  if (bytes.length >= 64) {
    nativeCrc32 ??= findNativeCrc32();
    if (nativeCrc32 !== null) return nativeCrc32(bytes, crc) >>> 0;
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** A growing byte buffer with little-endian writers (the payload of one section). */
export class SectionWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
  }
  u64(v: bigint): void {
    this.room(8);
    this.view.setBigUint64(this.length, BigInt.asUintN(64, v), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  /** A u32 length, then the bytes. */
  blob(b: Uint8Array): void {
    this.u32(b.length);
    this.bytes(b);
  }
  /** Plain data as JSON (a blob); bigints become decimal strings. */
  json(v: unknown): void {
    this.blob(new TextEncoder().encode(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))));
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Reads one section's payload; running past its end is a SnapshotError naming the section. */
export class SectionReader {
  private pos = 0;
  private readonly view: DataView;
  constructor(readonly file: string, readonly section: string, private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): number {
    if (this.pos + n > this.buf.length) throw new SnapshotError(this.file, `section ${this.section} is shorter than its contents (corrupt snapshot)`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  u8(): number {
    return this.buf[this.need(1)];
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.need(8), true);
  }
  bytes(n: number): Uint8Array {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  blob(): Uint8Array {
    return this.bytes(this.u32());
  }
  json<T>(): T {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(this.blob())) as T;
    } catch (e) {
      if (e instanceof SnapshotError) throw e;
      throw new SnapshotError(this.file, `section ${this.section} holds malformed data (corrupt snapshot)`);
    }
  }
  /** The payload must be used up exactly. */
  end(): void {
    if (this.remaining !== 0) throw new SnapshotError(this.file, `section ${this.section} has ${this.remaining} unread bytes (corrupt snapshot)`);
  }
}

/** One section as stored. */
export interface Section {
  tag: string;
  name: string;
  version: number;
  payload: Uint8Array;
}

/** The key a section is looked up by: "TAG" or "TAG:name". */
export function sectionKey(tag: string, name: string): string {
  return name === '' ? tag.trim() : `${tag.trim()}:${name}`;
}

const enc = new TextEncoder();

/** Write the header, the sections and END. */
export function encodeSnapshot(sections: Section[]): Uint8Array {
  const out = new SectionWriter();
  out.bytes(MAGIC);
  out.u32(FORMAT_VERSION);
  out.u32(0);
  for (const s of sections) writeSection(out, s);
  const body = out.result();
  const end = new SectionWriter();
  end.u32(crc32(body));
  writeSection(out, { tag: 'END ', name: '', version: 1, payload: end.result() });
  return out.result();
}

function writeSection(out: SectionWriter, s: Section): void {
  if (s.tag.length !== 4) throw new Error(`snapshot: tag '${s.tag}' is not 4 characters`);
  const head = new SectionWriter();
  head.bytes(enc.encode(s.tag));
  const name = enc.encode(s.name);
  head.u16(name.length);
  head.bytes(name);
  head.u32(s.version);
  head.u32(s.payload.length);
  const h = head.result();
  out.bytes(h);
  out.bytes(s.payload);
  out.u32(crc32(s.payload, crc32(h)));
}

/** Check and split a snapshot file into its sections (keyed by sectionKey), in file order. */
export function decodeSnapshot(file: string, bytes: Uint8Array): Map<string, Section> {
  const bad = (what: string) => new SnapshotError(file, what);
  if (bytes.length < HEADER_SIZE || !MAGIC.every((b, i) => bytes[i] === b)) throw bad('not a wasmvisor snapshot (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) throw bad(`snapshot format version ${version}, this wasmvisor reads version ${FORMAT_VERSION}`);
  const sections = new Map<string, Section>();
  let pos = HEADER_SIZE;
  for (;;) {
    const start = pos;
    if (pos + 6 > bytes.length) throw bad(`truncated at byte ${bytes.length} (no END section)`);
    const tag = String.fromCharCode(...bytes.subarray(pos, pos + 4));
    const nameLen = view.getUint16(pos + 4, true);
    pos += 6;
    if (pos + nameLen + 8 > bytes.length) throw bad(`truncated at byte ${bytes.length} (in the header of a section at byte ${start})`);
    let name: string;
    try {
      name = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(pos, pos + nameLen));
    } catch {
      throw bad(`section at byte ${start} has a malformed name (corrupt snapshot)`);
    }
    pos += nameLen;
    const sversion = view.getUint32(pos, true);
    const len = view.getUint32(pos + 4, true);
    pos += 8;
    if (pos + len + 4 > bytes.length) throw bad(`truncated at byte ${bytes.length} (section ${sectionKey(tag, name)} at byte ${start} needs ${len} bytes)`);
    const payload = bytes.subarray(pos, pos + len);
    pos += len;
    const crc = view.getUint32(pos, true);
    pos += 4;
    const key = sectionKey(tag, name);
    if (crc32(bytes.subarray(start, pos - 4)) !== crc) throw bad(`checksum mismatch in section ${key} at byte ${start} (corrupt snapshot)`);
    if (tag === 'END ') {
      if (len !== 4 || view.getUint32(pos - 8, true) !== crc32(bytes.subarray(0, start))) throw bad('whole-file checksum mismatch (corrupt snapshot)');
      if (pos !== bytes.length) throw bad(`${bytes.length - pos} bytes after the END section (corrupt snapshot)`);
      return sections;
    }
    if (sections.has(key)) throw bad(`section ${key} appears twice (corrupt snapshot)`);
    sections.set(key, { tag, name, version: sversion, payload });
  }
}
