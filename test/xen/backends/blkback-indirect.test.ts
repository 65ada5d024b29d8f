/**
 * blkback's indirect segments (blkif.h BLKIF_OP_INDIRECT, feature-max-indirect-segments),
 * multi-page rings (max-ring-page-order / ring-page-order / ring-ref%u) and the per-run
 * segment bound, against a mock blkfront.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../host/devices/virtio/backend';
import { Blkback, type BlkbackOptions } from '../../../host/xen/backends/blkback';
import {
  BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_REQ_SIZE, BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BLKIF_RSP_SIZE, decodeBlkifResponse, encodeBlkifIndirectRequest, encodeBlkifRequest,
  encodeBlkifSegments, type BlkifSegment,
} from '../../../host/xen/backends/blkif';
import { ringSize } from '../../../host/xen/backends/ring';
import { checksum, FrontRing, pattern, World, type Frontend } from './harness';

const DISK = 1 << 20; // 2048 sectors
const IND = 2; // frame holding the indirect descriptors

let world: World;
let fe: Frontend;
let ring: FrontRing;
let port: number;
let disk: MemoryBackend;
let be: Blkback;
let fatal: string[];

function setup(opts: Partial<BlkbackOptions> = {}, pages = 1): void {
  world = new World();
  fe = world.addDomain(1);
  disk = new MemoryBackend(pattern(DISK, 7));
  ring = new FrontRing(fe, 0, BLKIF_REQ_SIZE, BLKIF_RSP_SIZE, pages);
  const refs = Array.from({ length: pages }, (_, i) => fe.grant(i));
  port = fe.allocPort();
  fatal = [];
  be = new Blkback({ grants: world.grants, events: world.events, frontendDomid: 1, disk, onFatal: (r) => fatal.push(r), ...opts });
  expect(be.connectRings(refs, port)).toBe(null);
  fe.takeEvent(port);
}

beforeEach(() => setup());

/** Full-page segments over frames first..first + n - 1, granted (read-only for a write). */
function pages(first: number, n: number, readonly: boolean): BlkifSegment[] {
  return Array.from({ length: n }, (_, i) => ({ gref: fe.grant(first + i, readonly), firstSect: 0, lastSect: 7 }));
}

/** Put an indirect request whose descriptors `seg` sit in frame IND (granted read-only as `indRef`). */
function putIndirect(op: number, id: number, sector: number, seg: BlkifSegment[], nr = seg.length, indRef = fe.grant(IND, true)): void {
  fe.poke(IND, 0, encodeBlkifSegments(seg));
  ring.put(encodeBlkifIndirectRequest(op, nr, BigInt(id), BigInt(sector), [indRef]));
}

function responses(): { id: number; operation: number; status: number }[] {
  if (ring.push()) fe.notify(port);
  return ring.responses().map((b) => {
    const r = decodeBlkifResponse(b);
    return { id: Number(r.id), operation: r.operation, status: r.status };
  });
}

describe('blkback indirect segments', () => {
  it('offers feature-max-indirect-segments 256 and max-ring-page-order 4; 0 turns them off', () => {
    expect(be.features()).toMatchObject({ 'feature-max-indirect-segments': '256', 'max-ring-page-order': '4' });
    setup({ maxIndirectSegments: 0, maxRingPageOrder: 0 });
    expect(be.features()['feature-max-indirect-segments']).toBeUndefined();
    expect(be.features()['max-ring-page-order']).toBe('0');
  });

  it('writes 16 pages in one indirect request and reads them back in another (operation 6 echoed)', () => {
    const src = pattern(16 * 4096, 51);
    for (let i = 0; i < 16; i++) fe.poke(10 + i, 0, src.subarray(i * 4096, (i + 1) * 4096));
    putIndirect(BLKIF_OP_WRITE, 1, 200, pages(10, 16, true));
    expect(responses()).toEqual([{ id: 1, operation: BLKIF_OP_INDIRECT, status: BLKIF_RSP_OKAY }]);
    expect(checksum(disk.bytes.subarray(200 * 512, 200 * 512 + 16 * 4096))).toBe(checksum(src));
    expect(disk.bytes.subarray(199 * 512, 200 * 512)).toEqual(pattern(DISK, 7).subarray(199 * 512, 200 * 512));
    expect(disk.bytes.subarray(328 * 512, 329 * 512)).toEqual(pattern(DISK, 7).subarray(328 * 512, 329 * 512));

    putIndirect(BLKIF_OP_READ, 2, 200, pages(26, 16, false));
    expect(responses()).toEqual([{ id: 2, operation: BLKIF_OP_INDIRECT, status: BLKIF_RSP_OKAY }]);
    const back = new Uint8Array(16 * 4096);
    for (let i = 0; i < 16; i++) back.set(fe.peek(26 + i, 0, 4096), i * 4096);
    expect(checksum(back)).toBe(checksum(src));
    expect(be.stats).toMatchObject({ requests: 2, indirect: 2, okay: 2, errors: 0, copies: 32, bytesWritten: 16 * 4096, bytesRead: 16 * 4096 });
    expect(world.grants.activeMappings(1)).toBe(1 + be.persistentGrants); // the indirect pages are not kept
  });

  it('rules 1a, 2a, 2b and 3-5 for indirect requests: each its error, the disk untouched', () => {
    const seg = pages(10, 2, true);
    putIndirect(BLKIF_OP_FLUSH_DISKCACHE, 1, 0, seg);
    expect(responses()).toEqual([{ id: 1, operation: BLKIF_OP_INDIRECT, status: BLKIF_RSP_ERROR }]);
    expect(be.lastError).toBe('request id 1: indirect_op 3, expected READ or WRITE');
    putIndirect(BLKIF_OP_WRITE, 2, 0, seg, 0);
    expect(responses()[0].status).toBe(BLKIF_RSP_ERROR);
    expect(be.lastError).toBe('request id 2: indirect nr_segments 0, expected 1..256');
    putIndirect(BLKIF_OP_WRITE, 3, 0, seg, 257);
    expect(responses()[0].status).toBe(BLKIF_RSP_ERROR);
    expect(be.lastError).toBe('request id 3: indirect nr_segments 257, expected 1..256');
    putIndirect(BLKIF_OP_WRITE, 4, 0, seg, 2, 1500); // never granted
    expect(responses()[0].status).toBe(BLKIF_RSP_ERROR);
    expect(be.lastError).toMatch(/^request id 4: indirect page 0: grant ref 1500 \(GNTST -\d+\)$/);
    putIndirect(BLKIF_OP_WRITE, 5, 0, [seg[0], { ...seg[1], lastSect: 8 }]);
    expect(responses()[0].status).toBe(BLKIF_RSP_ERROR);
    expect(be.lastError).toBe('request id 5: segment 1: first_sect 0 last_sect 8');
    putIndirect(BLKIF_OP_WRITE, 6, 2040, seg); // 16 sectors from 2040: past 2048
    expect(responses()[0].status).toBe(BLKIF_RSP_ERROR);
    expect(be.lastError).toBe('request id 6: sectors 2040+16 beyond the disk\'s 2048');
    // Segments past nr_segments in the page are never looked at: nr 1 of 2 with a bad second.
    putIndirect(BLKIF_OP_WRITE, 7, 0, [seg[0], { gref: 1500, firstSect: 9, lastSect: 0 }], 1);
    expect(responses()).toEqual([{ id: 7, operation: BLKIF_OP_INDIRECT, status: BLKIF_RSP_OKAY }]);
    expect(be.stats).toMatchObject({ requests: 7, indirect: 7, okay: 1, errors: 6, bytesWritten: 4096 });
    expect(checksum(disk.bytes.subarray(4096))).toBe(checksum(pattern(DISK, 7).subarray(4096)));
    expect(fatal).toEqual([]);
    expect(world.grants.activeMappings(1)).toBe(1 + be.persistentGrants);
  });

  it('without the feature, operation 6 is EOPNOTSUPP and its pages are never mapped', () => {
    setup({ maxIndirectSegments: 0 });
    putIndirect(BLKIF_OP_WRITE, 9, 0, pages(10, 2, true));
    expect(responses()).toEqual([{ id: 9, operation: BLKIF_OP_INDIRECT, status: BLKIF_RSP_EOPNOTSUPP }]);
    expect(be.stats).toMatchObject({ requests: 1, indirect: 0, unsupported: 1, grantMaps: 0 });
  });

  it('a descriptor rewritten after the backend copied the indirect page: the copy is used', () => {
    const seg = pages(10, 1, true);
    fe.poke(10, 0, pattern(4096, 3));
    putIndirect(BLKIF_OP_WRITE, 1, 0, seg);
    // The backend reads the indirect page once; a hook rewrites it right after that read.
    let reads = 0;
    const at = fe.gfn(IND) * 4096n;
    fe.mem.onRead = (gpa) => {
      if (gpa !== at) return;
      reads++;
      fe.poke(IND, 0, encodeBlkifSegments([{ gref: 1500, firstSect: 0, lastSect: 8 }]));
    };
    expect(responses()).toEqual([{ id: 1, operation: BLKIF_OP_INDIRECT, status: BLKIF_RSP_OKAY }]);
    fe.mem.onRead = null;
    expect(reads).toBe(1);
    expect(disk.bytes.subarray(0, 4096)).toEqual(pattern(4096, 3));
  });
});

describe('blkback multi-page rings', () => {
  /** connect() through XenStore-style keys. */
  function connectKeys(keys: Record<string, string>): string | null {
    be = new Blkback({ grants: world.grants, events: world.events, frontendDomid: 1, disk });
    return be.connect((k) => keys[k]);
  }

  it('ring-page-order 2: four pages, 128 slots; 100 requests in one push, one notification back', () => {
    setup({}, 4);
    expect(ring.size).toBe(128);
    expect(ringSize(112, 4)).toBe(128);
    expect(be.ring!.size).toBe(128);
    expect(be.ringPages).toBe(4);
    for (let i = 0; i < 100; i++) {
      ring.put(encodeBlkifRequest({ operation: BLKIF_OP_READ, nrSegments: 1, handle: 0, id: BigInt(i), sector: BigInt(i), seg: [{ gref: fe.grant(10 + (i % 8)), firstSect: i % 8, lastSect: i % 8 }] }));
    }
    const before = be.channel.stats.notifications;
    const rs = responses();
    expect(rs.map((r) => r.id)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(rs.every((r) => r.status === BLKIF_RSP_OKAY && r.operation === BLKIF_OP_READ)).toBe(true);
    expect(be.channel.stats.notifications - before).toBe(1);
    // Request 99 read sector 99 into sector 3 of frame 13 (slots straddle pages: 112-byte slots).
    expect(fe.peek(13, 3 * 512, 512)).toEqual(pattern(DISK, 7).subarray(99 * 512, 100 * 512));
  });

  it('negotiation through the frontend keys: order, ring-ref%u, and the single-page ring-ref', () => {
    const p = fe.allocPort();
    const refs = [20, 21, 22, 23].map((f) => fe.grant(f));
    expect(connectKeys({ 'event-channel': String(p), 'ring-page-order': '2', 'ring-ref0': String(refs[0]), 'ring-ref1': String(refs[1]), 'ring-ref2': String(refs[2]), 'ring-ref3': String(refs[3]) })).toBe(null);
    expect([be.ringPages, be.ring!.size]).toEqual([4, 128]);
    be.disconnect();
    expect(connectKeys({ 'event-channel': String(p), 'ring-page-order': '5', 'ring-ref0': String(refs[0]) })).toBe("vbd d1: ring-page-order '5' is not 0..4");
    expect(connectKeys({ 'event-channel': String(p), 'ring-page-order': '1', 'ring-ref0': String(refs[0]) })).toBe('vbd d1: ring-ref1 missing or malformed');
    expect(connectKeys({ 'event-channel': String(p), 'ring-page-order': 'x', 'ring-ref': String(refs[0]) })).toBe("vbd d1: ring-page-order 'x' is not 0..4");
    expect(connectKeys({ 'event-channel': String(p), 'ring-ref': String(refs[0]) })).toBe(null);
    expect([be.ringPages, be.ring!.size]).toEqual([1, 32]);
    be.disconnect();
    expect(world.grants.activeMappings(1)).toBe(1); // only the fixture's own ring
  });
});

describe('blkback work per run', () => {
  it('stops at maxSegmentsPerRun and schedules another run; every request is answered', () => {
    const later: (() => void)[] = [];
    setup({ maxSegmentsPerRun: 16, schedule: (run) => later.push(run) });
    for (let i = 0; i < 4; i++) {
      const seg = pages(10 + 4 * i, 4, false);
      ring.put(encodeBlkifRequest({ operation: BLKIF_OP_READ, nrSegments: 4, handle: 0, id: BigInt(i), sector: BigInt(8 * i), seg }));
    }
    for (let i = 0; i < 4; i++) putIndirect(BLKIF_OP_READ, 10 + i, 64, pages(26, 15, false));
    if (ring.push()) fe.notify(port);
    expect(later.length).toBe(1);
    later.shift()!();
    // A direct request of 4 segments costs 5: the fourth brings the run to 20 >= 16.
    expect(be.stats.requests).toBe(4);
    expect(be.stats.yields).toBe(1);
    expect(later.length).toBe(1); // another run scheduled
    later.shift()!();
    expect(be.stats.requests).toBe(5); // an indirect request of 15 segments: 16, the bound
    while (later.length > 0) later.shift()!();
    expect(be.stats).toMatchObject({ requests: 8, okay: 8, yields: 4, indirect: 4 });
    expect(ring.responses().map((b) => Number(decodeBlkifResponse(b).id))).toEqual([0, 1, 2, 3, 10, 11, 12, 13]);
  });
});
