/**
 * The block ring ABI (xen/include/public/io/blkif.h), 64-bit layout, as the C frontend and
 * Linux's blkfront lay it out:
 * ```
 * struct blkif_request {                      struct blkif_request_segment {
 *   0  u8  operation      BLKIF_OP_*            0  u32 gref        grant of the data page
 *   1  u8  nr_segments    1..11 (0 for flush)   4  u8  first_sect  first 512-byte sector used
 *   2  u16 handle         blkif_vdev_t          5  u8  last_sect   last one, <= 7
 *   4  (pad)                                    6  (pad)           -> 8 bytes
 *   8  u64 id             echoed in the response }
 *  16  u64 sector_number  start on the disk
 *  24  seg[11]            -> 112 bytes        struct blkif_response {
 * }                                             0 u64 id   8 u8 operation   10 i16 status  -> 16
 * ```
 * Segments are consecutive on the disk: segment i covers last_sect - first_sect + 1 sectors
 * starting right after segment i-1, at byte first_sect * 512 of its page. `id` sits at offset 8
 * in every request variant (discard and indirect too), so even an unsupported operation can be
 * answered. Ring: 112-byte slots, __RING_SIZE = 32.
 */
import { le16, le32, ringSize } from './ring';

/** Read from the disk into the segments. */
export const BLKIF_OP_READ = 0;
/** Write the segments to the disk. */
export const BLKIF_OP_WRITE = 1;
/** Write barrier (not offered: no feature-barrier). */
export const BLKIF_OP_WRITE_BARRIER = 2;
/** Flush the disk cache; with segments, write them and then flush. */
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
/** Discard (not offered). */
export const BLKIF_OP_DISCARD = 5;
/** Indirect segments (offered with feature-max-indirect-segments): struct blkif_request_indirect. */
export const BLKIF_OP_INDIRECT = 6;

/**
 * struct blkif_request_indirect (blkif.h), 64-bit layout; `id` is at 8 as in every variant:
 * ```
 *   0 u8  operation (6)   1 u8 indirect_op (READ/WRITE)   2 u16 nr_segments
 *   8 u64 id             16 u64 sector_number             24 u16 handle
 *  28 u32 indirect_grefs[8]: pages holding nr_segments blkif_request_segment, 512 per page
 * ```
 */
export const BLKIF_IND_OP = 1;
export const BLKIF_IND_NR_SEGMENTS = 2;
export const BLKIF_IND_HANDLE = 24;
export const BLKIF_IND_GREFS = 28;
/** Most indirect pages in one request (BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST). */
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
/** Segment descriptors in one indirect page (4096 / sizeof(struct blkif_request_segment)). */
export const BLKIF_SEGS_PER_INDIRECT_FRAME = 512;

/** Most segments in one request. */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
/** Sectors in one 4 KiB page: first_sect and last_sect are 0..7. */
export const BLKIF_SECTORS_PER_PAGE = 8;
/** Bytes per sector (blkif sectors are always 512 bytes). */
export const BLKIF_SECTOR_SIZE = 512;

/** Response status: done. */
export const BLKIF_RSP_OKAY = 0;
/** Response status: failed (bad request, grant or I/O error). */
export const BLKIF_RSP_ERROR = -1;
/** Response status: operation not supported. */
export const BLKIF_RSP_EOPNOTSUPP = -2;

/** "info" bits in the backend directory (VDISK_*). */
export const VDISK_CDROM = 1;
/** The media is removable. */
export const VDISK_REMOVABLE = 2;
/** The disk is read-only. */
export const VDISK_READONLY = 4;

/** Request field offsets. */
export const BLKIF_REQ_OPERATION = 0;
export const BLKIF_REQ_NR_SEGMENTS = 1;
export const BLKIF_REQ_HANDLE = 2;
export const BLKIF_REQ_ID = 8;
export const BLKIF_REQ_SECTOR = 16;
export const BLKIF_REQ_SEG = 24;
/** Bytes of one blkif_request_segment. */
export const BLKIF_SEG_SIZE = 8;
/** sizeof(struct blkif_request). */
export const BLKIF_REQ_SIZE = BLKIF_REQ_SEG + BLKIF_MAX_SEGMENTS_PER_REQUEST * BLKIF_SEG_SIZE; // 112

/** Response field offsets. */
export const BLKIF_RSP_ID = 0;
export const BLKIF_RSP_OPERATION = 8;
export const BLKIF_RSP_STATUS = 10;
/** sizeof(struct blkif_response). */
export const BLKIF_RSP_SIZE = 16;

/** Slots in a one-page blkif ring (32). */
export const BLKIF_RING_SIZE = ringSize(BLKIF_REQ_SIZE);

/** One segment as decoded from a private copy. */
export interface BlkifSegment {
  gref: number;
  firstSect: number;
  lastSect: number;
}

/** A request decoded from a private copy (all fields raw: nothing validated yet). */
export interface BlkifRequest {
  operation: number;
  nrSegments: number;
  handle: number;
  id: bigint;
  sector: bigint;
  /** min(nrSegments, 11) segments: never more than the struct holds (none for an indirect request: they are in its pages). */
  seg: BlkifSegment[];
  /** BLKIF_OP_INDIRECT only: the operation its segments carry out. */
  indirectOp?: number;
  /** BLKIF_OP_INDIRECT only: the 8 indirect_grefs as found (the backend uses ceil(nr / 512)). */
  indirectGrefs?: number[];
}

/** A response. */
export interface BlkifResponse {
  id: bigint;
  operation: number;
  status: number;
}

/** Decode a request from its private copy (BLKIF_REQ_SIZE bytes). */
export function decodeBlkifRequest(b: Uint8Array): BlkifRequest {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  if (b[BLKIF_REQ_OPERATION] === BLKIF_OP_INDIRECT) {
    const indirectGrefs: number[] = [];
    for (let i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++) indirectGrefs.push(le32(b, BLKIF_IND_GREFS + 4 * i));
    return {
      operation: BLKIF_OP_INDIRECT, nrSegments: le16(b, BLKIF_IND_NR_SEGMENTS), handle: le16(b, BLKIF_IND_HANDLE),
      id: v.getBigUint64(BLKIF_REQ_ID, true), sector: v.getBigUint64(BLKIF_REQ_SECTOR, true), seg: [],
      indirectOp: b[BLKIF_IND_OP], indirectGrefs,
    };
  }
  const nr = b[BLKIF_REQ_NR_SEGMENTS];
  const seg: BlkifSegment[] = [];
  for (let i = 0; i < Math.min(nr, BLKIF_MAX_SEGMENTS_PER_REQUEST); i++) {
    const o = BLKIF_REQ_SEG + i * BLKIF_SEG_SIZE;
    seg.push({ gref: le32(b, o), firstSect: b[o + 4], lastSect: b[o + 5] });
  }
  return {
    operation: b[BLKIF_REQ_OPERATION],
    nrSegments: nr,
    handle: le16(b, BLKIF_REQ_HANDLE),
    id: v.getBigUint64(BLKIF_REQ_ID, true),
    sector: v.getBigUint64(BLKIF_REQ_SECTOR, true),
    seg,
  };
}

/** Encode a request (frontends and tests). Segments beyond 11 are not representable. */
export function encodeBlkifRequest(r: BlkifRequest): Uint8Array {
  const b = new Uint8Array(BLKIF_REQ_SIZE);
  const v = new DataView(b.buffer);
  b[BLKIF_REQ_OPERATION] = r.operation;
  b[BLKIF_REQ_NR_SEGMENTS] = r.nrSegments;
  v.setUint16(BLKIF_REQ_HANDLE, r.handle, true);
  v.setBigUint64(BLKIF_REQ_ID, r.id, true);
  v.setBigUint64(BLKIF_REQ_SECTOR, r.sector, true);
  r.seg.slice(0, BLKIF_MAX_SEGMENTS_PER_REQUEST).forEach((s, i) => {
    const o = BLKIF_REQ_SEG + i * BLKIF_SEG_SIZE;
    v.setUint32(o, s.gref >>> 0, true);
    b[o + 4] = s.firstSect;
    b[o + 5] = s.lastSect;
  });
  return b;
}

/** Encode an indirect request (frontends and tests): `grefs` go to indirect_grefs (at most 8). */
export function encodeBlkifIndirectRequest(op: number, nrSegments: number, id: bigint, sector: bigint, grefs: number[], handle = 0): Uint8Array {
  const b = new Uint8Array(BLKIF_REQ_SIZE);
  const v = new DataView(b.buffer);
  b[BLKIF_REQ_OPERATION] = BLKIF_OP_INDIRECT;
  b[BLKIF_IND_OP] = op;
  v.setUint16(BLKIF_IND_NR_SEGMENTS, nrSegments, true);
  v.setBigUint64(BLKIF_REQ_ID, id, true);
  v.setBigUint64(BLKIF_REQ_SECTOR, sector, true);
  v.setUint16(BLKIF_IND_HANDLE, handle, true);
  grefs.slice(0, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST).forEach((g, i) => v.setUint32(BLKIF_IND_GREFS + 4 * i, g >>> 0, true));
  return b;
}

/** Encode segment descriptors as an indirect page holds them (8 bytes each). */
export function encodeBlkifSegments(seg: BlkifSegment[]): Uint8Array {
  const b = new Uint8Array(seg.length * BLKIF_SEG_SIZE);
  const v = new DataView(b.buffer);
  seg.forEach((s, i) => {
    v.setUint32(i * BLKIF_SEG_SIZE, s.gref >>> 0, true);
    b[i * BLKIF_SEG_SIZE + 4] = s.firstSect;
    b[i * BLKIF_SEG_SIZE + 5] = s.lastSect;
  });
  return b;
}

/** Encode a response. */
export function encodeBlkifResponse(r: BlkifResponse): Uint8Array {
  const b = new Uint8Array(BLKIF_RSP_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(BLKIF_RSP_ID, r.id, true);
  b[BLKIF_RSP_OPERATION] = r.operation;
  v.setInt16(BLKIF_RSP_STATUS, r.status, true);
  return b;
}

/** Decode a response (frontends and tests). */
export function decodeBlkifResponse(b: Uint8Array): BlkifResponse {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return { id: v.getBigUint64(BLKIF_RSP_ID, true), operation: b[BLKIF_RSP_OPERATION], status: v.getInt16(BLKIF_RSP_STATUS, true) };
}
