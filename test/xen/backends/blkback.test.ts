/** blkback against a mock blkfront: data paths, every validation rule, grants, batching, XSA-155. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend, type BlockBackend } from '../../../host/devices/virtio/backend';
import { FileBackend } from '../../../host/devices/virtio/file-backend';
import { Blkback } from '../../../host/xen/backends/blkback';
import {
  BLKIF_OP_DISCARD, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_REQ_SIZE,
  BLKIF_RING_SIZE, BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BLKIF_RSP_SIZE, decodeBlkifResponse,
  encodeBlkifRequest, type BlkifRequest, type BlkifSegment,
} from '../../../host/xen/backends/blkif';
import { SRING_REQ_EVENT, SRING_REQ_PROD, SRING_RSP_PROD } from '../../../host/xen/backends/ring';
import * as H from '../../../host/xen/hypercall-abi';
import { getEntry } from '../memory';
import { checksum, FrontRing, pattern, SI, TABLE, World, type Frontend } from './harness';

const RING = 0; // RAM frame of the ring
const DISK = 1 << 20; // 2048 sectors
const PRISTINE = checksum(pattern(DISK, 7));

let world: World;
let fe: Frontend;
let ring: FrontRing;
let port: number;
let disk: MemoryBackend;
let be: Blkback;
let fatal: string[];

function setup(d: BlockBackend = new MemoryBackend(pattern(DISK, 7))): void {
  world = new World();
  fe = world.addDomain(1);
  ring = new FrontRing(fe, RING, BLKIF_REQ_SIZE, BLKIF_RSP_SIZE);
  const ringRef = fe.grant(RING);
  port = fe.allocPort();
  fatal = [];
  be = new Blkback({ grants: world.grants, events: world.events, frontendDomid: 1, disk: d, onFatal: (r) => fatal.push(r) });
  expect(be.connectRing(ringRef, port)).toBe(null);
  fe.takeEvent(port);
}

beforeEach(() => {
  disk = new MemoryBackend(pattern(DISK, 7));
  setup(disk);
});

function req(operation: number, id: number, sector: number, seg: BlkifSegment[], nr = seg.length): BlkifRequest {
  return { operation, nrSegments: nr, handle: 51712, id: BigInt(id), sector: BigInt(sector), seg };
}

/** Put requests, push, notify if asked; return the responses. */
function run(...reqs: BlkifRequest[]): { id: number; operation: number; status: number }[] {
  for (const r of reqs) ring.put(encodeBlkifRequest(r));
  if (ring.push()) fe.notify(port);
  return ring.responses().map((b) => {
    const r = decodeBlkifResponse(b);
    return { id: Number(r.id), operation: r.operation, status: r.status };
  });
}

/** Frames the backend touched (recorded), minus the ring and the grant table. */
function dataFramesTouched(): number[] {
  const skip = new Set([fe.gfn(RING), ...TABLE, SI]); // SI: event delivery
  return [...fe.mem.touched].filter((g) => !skip.has(g)).map((g) => Number(g - fe.gfn(0)));
}

describe('blkback data path', () => {
  it('publishes the blkif features; the ring has 32 slots of 112 bytes', () => {
    expect(BLKIF_RING_SIZE).toBe(32);
    expect(be.features()).toEqual({
      'sectors': '2048', 'sector-size': '512', 'physical-sector-size': '512', 'info': '0', 'mode': 'w',
      'feature-flush-cache': '1', 'max-ring-page-order': '4', 'feature-persistent': '1', 'feature-max-indirect-segments': '256',
    });
  });

  it('writes multi-segment requests and reads them back with matching checksums', () => {
    // 3 segments: sectors 2..7 of page 2, 0..7 of page 3, 0..0 of page 4 = 6 + 8 + 1 = 15 sectors.
    const src = pattern(15 * 512, 99);
    fe.poke(2, 2 * 512, src.subarray(0, 6 * 512));
    fe.poke(3, 0, src.subarray(6 * 512, 14 * 512));
    fe.poke(4, 0, src.subarray(14 * 512));
    const g = [fe.grant(2, true), fe.grant(3, true), fe.grant(4, true)];
    const seg = [{ gref: g[0], firstSect: 2, lastSect: 7 }, { gref: g[1], firstSect: 0, lastSect: 7 }, { gref: g[2], firstSect: 0, lastSect: 0 }];
    expect(run(req(BLKIF_OP_WRITE, 41, 100, seg))).toEqual([{ id: 41, operation: BLKIF_OP_WRITE, status: BLKIF_RSP_OKAY }]);
    expect(checksum(disk.bytes.subarray(100 * 512, 115 * 512))).toBe(checksum(src));
    expect(disk.bytes.subarray(99 * 512, 100 * 512)).toEqual(pattern(DISK, 7).subarray(99 * 512, 100 * 512)); // neighbours intact
    expect(disk.bytes.subarray(115 * 512, 116 * 512)).toEqual(pattern(DISK, 7).subarray(115 * 512, 116 * 512));

    // Read the 15 sectors back into other pages, 11 segments of mixed sizes.
    const rg = Array.from({ length: 11 }, (_, i) => fe.grant(10 + i));
    const rseg = rg.map((gref, i) => (i < 4 ? { gref, firstSect: 0, lastSect: 1 } : i < 10 ? { gref, firstSect: 7, lastSect: 7 } : { gref, firstSect: 3, lastSect: 3 }));
    expect(run(req(BLKIF_OP_READ, 42, 100, rseg))).toEqual([{ id: 42, operation: BLKIF_OP_READ, status: BLKIF_RSP_OKAY }]);
    const back = new Uint8Array(15 * 512);
    let at = 0;
    rseg.forEach((s, i) => {
      const n = (s.lastSect - s.firstSect + 1) * 512;
      back.set(fe.peek(10 + i, s.firstSect * 512, n), at);
      at += n;
    });
    expect(checksum(back)).toBe(checksum(src));
    expect(fe.peek(10, 1024, 1)[0]).toBe(0); // only the named sectors of a page are written
    expect(be.stats).toMatchObject({ requests: 2, okay: 2, errors: 0, grantMaps: 14, copies: 14, bytesRead: 15 * 512, bytesWritten: 15 * 512 });
    // Every mapping was undone: no GTF_reading/GTF_writing left, nothing mapped but the ring.
    for (const r of [...g, ...rg]) expect(getEntry(fe.mem, TABLE, r)[0] & (H.GTF_reading | H.GTF_writing)).toBe(0);
    expect(world.grants.activeMappings(1)).toBe(1);
  });

  it('flush: alone, and with data (written, then flushed, then acknowledged)', () => {
    const events: string[] = [];
    const spy: BlockBackend = {
      size: DISK, readOnly: false,
      read: (o, d) => disk.read(o, d),
      write: (o, s) => { events.push(`write@${o} rsp_prod=${ring.field(SRING_RSP_PROD)}`); disk.write(o, s); },
      flush: () => { events.push(`flush rsp_prod=${ring.field(SRING_RSP_PROD)}`); },
    };
    setup(spy);
    expect(run(req(BLKIF_OP_FLUSH_DISKCACHE, 1, 0, []))).toEqual([{ id: 1, operation: BLKIF_OP_FLUSH_DISKCACHE, status: BLKIF_RSP_OKAY }]);
    fe.poke(5, 0, pattern(512, 3));
    const r = run(req(BLKIF_OP_FLUSH_DISKCACHE, 2, 8, [{ gref: fe.grant(5, true), firstSect: 0, lastSect: 0 }]));
    expect(r).toEqual([{ id: 2, operation: BLKIF_OP_FLUSH_DISKCACHE, status: BLKIF_RSP_OKAY }]);
    // Nothing was acknowledged (rsp_prod) before the disk call returned.
    expect(events).toEqual(['flush rsp_prod=0', 'write@4096 rsp_prod=1', 'flush rsp_prod=1']);
    expect(disk.bytes.subarray(4096, 4608)).toEqual(pattern(512, 3));
    expect(be.stats.flushes).toBe(2);
  });

  it('read-only disk: mode r, info VDISK_READONLY; writes fail, reads and flushes work', () => {
    const ro = new MemoryBackend(pattern(DISK, 7), { readOnly: true });
    setup(ro);
    expect(be.features()).toMatchObject({ mode: 'r', info: '4' });
    fe.poke(2, 0, pattern(4096, 5));
    const w = run(req(BLKIF_OP_WRITE, 7, 0, [{ gref: fe.grant(2, true), firstSect: 0, lastSect: 7 }]));
    expect(w).toEqual([{ id: 7, operation: BLKIF_OP_WRITE, status: BLKIF_RSP_ERROR }]);
    expect(checksum(ro.bytes)).toBe(PRISTINE);
    expect(dataFramesTouched()).toEqual([]); // refused before any grant was used
    const fd = run(req(BLKIF_OP_FLUSH_DISKCACHE, 8, 0, [{ gref: fe.grant(2, true), firstSect: 0, lastSect: 0 }]));
    expect(fd[0].status).toBe(BLKIF_RSP_ERROR);
    expect(run(req(BLKIF_OP_FLUSH_DISKCACHE, 9, 0, []))[0].status).toBe(BLKIF_RSP_OKAY);
    expect(run(req(BLKIF_OP_READ, 10, 8, [{ gref: fe.grant(3), firstSect: 0, lastSect: 7 }]))[0].status).toBe(BLKIF_RSP_OKAY);
    expect(fe.peek(3, 0, 4096)).toEqual(pattern(DISK, 7).subarray(4096, 8192));
  });

  it('bad requests: each gets its error, and nothing outside the ring and grant table is touched', () => {
    const gp = fe.grant(2);
    const ok = { gref: gp, firstSect: 0, lastSect: 0 };
    const cases: [BlkifRequest, number][] = [
      [req(BLKIF_OP_READ, 1, 0, [], 0), BLKIF_RSP_ERROR], // no segments
      [req(BLKIF_OP_WRITE, 2, 0, [ok], 12), BLKIF_RSP_ERROR], // more than 11
      [req(BLKIF_OP_READ, 3, 0, [ok], 255), BLKIF_RSP_ERROR],
      [req(BLKIF_OP_READ, 4, 0, [{ gref: gp, firstSect: 3, lastSect: 2 }]), BLKIF_RSP_ERROR], // first > last
      [req(BLKIF_OP_READ, 5, 0, [{ gref: gp, firstSect: 0, lastSect: 8 }]), BLKIF_RSP_ERROR], // last > 7
      [req(BLKIF_OP_READ, 6, 0, [{ gref: gp, firstSect: 9, lastSect: 9 }]), BLKIF_RSP_ERROR],
      [req(BLKIF_OP_READ, 7, 2048, [ok]), BLKIF_RSP_ERROR], // past the end
      [req(BLKIF_OP_READ, 8, 2047, [{ gref: gp, firstSect: 0, lastSect: 1 }]), BLKIF_RSP_ERROR], // straddles the end
      [req(BLKIF_OP_READ, 9, 0, [ok], 0), BLKIF_RSP_ERROR],
      [{ ...req(BLKIF_OP_READ, 10, 0, [ok]), sector: 0xffffffffffffffffn }, BLKIF_RSP_ERROR], // u64 wrap
      [req(BLKIF_OP_WRITE_BARRIER, 11, 0, [ok]), BLKIF_RSP_EOPNOTSUPP],
      [req(BLKIF_OP_DISCARD, 12, 0, [ok]), BLKIF_RSP_EOPNOTSUPP],
      [req(200, 13, 0, [ok]), BLKIF_RSP_EOPNOTSUPP],
    ];
    const rsp = run(...cases.map(([r]) => r));
    expect(rsp).toEqual(cases.map(([r, status]) => ({ id: Number(r.id), operation: r.operation, status })));
    expect(checksum(disk.bytes)).toBe(PRISTINE);
    expect(dataFramesTouched()).toEqual([]);
    expect(be.stats).toMatchObject({ requests: 13, errors: 10, unsupported: 3, grantMaps: 0 });
    expect(be.lastError).toBe('request id 13: operation 200 not supported');
    // The device still works afterwards.
    expect(run(req(BLKIF_OP_READ, 14, 0, [ok]))[0].status).toBe(BLKIF_RSP_OKAY);
  });

  it('bad grant refs: beyond the table, never granted, other grantee, read-only grant for a read', () => {
    fe.poke(2, 0, new Uint8Array(4096).fill(0xee));
    const foreign = 20;
    fe.entry(foreign, H.GTF_permit_access, 5, Number(fe.gfn(2)));
    const roRef = fe.grant(2, true);
    const siRef = 21;
    fe.entry(siRef, H.GTF_permit_access, 0, Number(fe.gfn(43))); // the shared-info page
    const good = fe.grant(3);
    const refs = [4096, 0xffffffff, 30, foreign, roRef, siRef];
    const rsp = run(...refs.map((gref, i) => req(BLKIF_OP_READ, i, 0, [{ gref: good, firstSect: 0, lastSect: 0 }, { gref, firstSect: 0, lastSect: 0 }])));
    expect(rsp.map((r) => r.status)).toEqual(refs.map(() => BLKIF_RSP_ERROR));
    expect(fe.peek(2, 0, 4096)).toEqual(new Uint8Array(4096).fill(0xee));
    expect(fe.peek(3, 0, 512)).toEqual(new Uint8Array(512)); // the good first segment was not written either
    expect(dataFramesTouched()).toEqual([]); // mapped (to validate) but never read or written
    expect(world.grants.activeMappings(1)).toBe(1);
  });

  it('a grant revoked while the request is being mapped fails that request only', () => {
    const refs = [fe.grant(2, true), fe.grant(3, true), fe.grant(4, true)];
    fe.poke(2, 0, pattern(512, 1));
    // When the backend reads segment 1's grant entry, the guest revokes segment 2's.
    const entryGpa = TABLE[0] * 4096n + BigInt(refs[1] * 8);
    fe.mem.onRead = (gpa) => { if (gpa === entryGpa) fe.revoke(refs[2]); };
    const seg = refs.map((gref) => ({ gref, firstSect: 0, lastSect: 0 }));
    expect(run(req(BLKIF_OP_WRITE, 5, 0, seg))).toEqual([{ id: 5, operation: BLKIF_OP_WRITE, status: BLKIF_RSP_ERROR }]);
    fe.mem.onRead = null;
    expect(checksum(disk.bytes)).toBe(PRISTINE); // no sector written
    expect(dataFramesTouched()).toEqual([]);
    for (const r of refs.slice(0, 2)) expect(getEntry(fe.mem, TABLE, r)[0]).toBe(H.GTF_permit_access | H.GTF_readonly);
    // The next request works.
    expect(run(req(BLKIF_OP_WRITE, 6, 0, seg.slice(0, 2)))[0].status).toBe(BLKIF_RSP_OKAY);
    expect(disk.bytes.subarray(0, 512)).toEqual(pattern(512, 1));
  });

  it('a request changed in the ring after the backend copied it: the private copy is used (XSA-155)', () => {
    fe.poke(2, 0, pattern(512, 11));
    const gref = fe.grant(2, true);
    ring.put(encodeBlkifRequest(req(BLKIF_OP_WRITE, 77, 10, [{ gref, firstSect: 0, lastSect: 0 }])));
    const slot = ring.slot(0);
    let fired = 0;
    fe.mem.onRead = (gpa, len) => {
      if (gpa === fe.gfn(RING) * 4096n + BigInt(slot) && len === BLKIF_REQ_SIZE) {
        fired++;
        // Rewrite everything: another sector, 200 segments, a wild ref, another id.
        fe.poke(RING, slot, encodeBlkifRequest(req(BLKIF_OP_WRITE, 99, 2000, [{ gref: 9999, firstSect: 0, lastSect: 7 }], 200)));
      }
    };
    if (ring.push()) fe.notify(port);
    fe.mem.onRead = null;
    expect(fired).toBe(1); // the slot was read exactly once
    const rsp = ring.responses().map((b) => decodeBlkifResponse(b));
    expect(rsp).toEqual([{ id: 77n, operation: BLKIF_OP_WRITE, status: BLKIF_RSP_OKAY }]);
    expect(disk.bytes.subarray(10 * 512, 11 * 512)).toEqual(pattern(512, 11));
    expect(disk.bytes.subarray(2000 * 512, 2001 * 512)).toEqual(pattern(DISK, 7).subarray(2000 * 512, 2001 * 512));
  });

  it('batching: a whole ring of requests per notification, one notification back, per batch', () => {
    for (let batch = 0; batch < 3; batch++) {
      const before = { ...be.stats };
      const n = batch === 0 ? 32 : 5 + batch;
      const reqs = Array.from({ length: n }, (_, i) => req(BLKIF_OP_READ, batch * 100 + i, i * 8, [
        { gref: fe.grant(2 + (i % 8)), firstSect: 0, lastSect: 7 }, { gref: fe.grant(12 + (i % 8)), firstSect: 0, lastSect: 3 },
      ]));
      const upBefore = world.upcalls.get(1) ?? 0;
      for (const r of reqs) ring.put(encodeBlkifRequest(r));
      expect(ring.push()).toBe(true); // req_event armed: the frontend must notify once
      fe.notify(port);
      expect(be.stats.kicks - before.kicks).toBe(1);
      expect(be.stats.notifications - before.notifications).toBe(1);
      expect(be.stats.requests - before.requests).toBe(n);
      expect(be.stats.copies - before.copies).toBe(2 * n);
      expect(be.stats.grantMaps - before.grantMaps).toBe(2 * n);
      expect(fe.takeEvent(port)).toBe(true);
      expect((world.upcalls.get(1) ?? 0) - upBefore).toBe(1);
      expect(ring.field(SRING_REQ_EVENT)).toBe(ring.reqProdPvt + 1); // re-armed for the next batch
      const rsp = ring.responses().map((b) => decodeBlkifResponse(b));
      expect(rsp.map((r) => Number(r.id))).toEqual(reqs.map((r) => Number(r.id)));
      expect(rsp.every((r) => r.status === BLKIF_RSP_OKAY)).toBe(true);
    }
  });

  it('a frontend that is not re-armed (rsp_event stale) is not notified', () => {
    run(req(BLKIF_OP_FLUSH_DISKCACHE, 1, 0, []));
    fe.takeEvent(port);
    ring.put(encodeBlkifRequest(req(BLKIF_OP_FLUSH_DISKCACHE, 2, 0, [])));
    ring.setField(0x0c, 0); // rsp_event far behind
    ring.push();
    fe.notify(port);
    expect(fe.takeEvent(port)).toBe(false);
    expect(be.stats.notifications).toBe(1);
  });

  it('a req_prod more than a ring ahead stops the device; later kicks do nothing', () => {
    ring.setField(SRING_REQ_PROD, 33);
    fe.notify(port);
    expect(fatal).toEqual(['vbd d1: frontend broke the ring: req_prod 33 is not within 32 slots after rsp_prod 0 (req_cons 0)']);
    expect(be.channel.connected).toBe(false);
    expect(world.grants.activeMappings(1)).toBe(0); // ring unmapped
    expect(world.events.status(0, 1, port).status).toBe(H.EVTCHNSTAT_unbound); // port closed
    const kicks = be.stats.kicks;
    be.kick();
    expect(be.stats.kicks).toBe(kicks + 1);
    expect(be.stats.requests).toBe(0);
  });

  it('req_prod moving backwards also stops the device', () => {
    run(req(BLKIF_OP_FLUSH_DISKCACHE, 1, 0, []));
    ring.setField(SRING_REQ_PROD, 0);
    be.kick();
    expect(fatal.length).toBe(1);
    expect(fatal[0]).toMatch(/req_prod 0 is not within 32 slots after rsp_prod 1/);
  });

  it('deferred mode: kicks coalesce into one scheduled run', () => {
    const queue: (() => void)[] = [];
    world = new World();
    fe = world.addDomain(1);
    ring = new FrontRing(fe, RING, BLKIF_REQ_SIZE, BLKIF_RSP_SIZE);
    const ref = fe.grant(RING);
    port = fe.allocPort();
    be = new Blkback({ grants: world.grants, events: world.events, frontendDomid: 1, disk, schedule: (f) => queue.push(f) });
    expect(be.connectRing(ref, port)).toBe(null);
    ring.put(encodeBlkifRequest(req(BLKIF_OP_FLUSH_DISKCACHE, 1, 0, [])));
    ring.push();
    for (let i = 0; i < 50; i++) fe.notify(port);
    expect(queue.length).toBe(1);
    expect(be.stats.requests).toBe(0);
    queue.shift()!();
    // kicks: 50 sends + the one bind_interdomain raises itself; runs: the connect pass + this one
    expect(be.stats).toMatchObject({ kicks: 51, runs: 2, requests: 1, notifications: 1 });
  });
});

describe('blkback over an image file', () => {
  it('FileBackend: the same disk serves blkback', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blkback-'));
    try {
      const path = join(dir, 'disk.img');
      writeFileSync(path, new Uint8Array(64 * 1024));
      const fb = FileBackend.open(path);
      setup(fb);
      fe.poke(2, 0, pattern(4096, 21));
      expect(run(req(BLKIF_OP_WRITE, 1, 8, [{ gref: fe.grant(2, true), firstSect: 0, lastSect: 7 }]))[0].status).toBe(BLKIF_RSP_OKAY);
      expect(run(req(BLKIF_OP_FLUSH_DISKCACHE, 2, 0, []))[0].status).toBe(BLKIF_RSP_OKAY);
      expect(run(req(BLKIF_OP_READ, 3, 8, [{ gref: fe.grant(3), firstSect: 0, lastSect: 7 }]))[0].status).toBe(BLKIF_RSP_OKAY);
      expect(fe.peek(3, 0, 4096)).toEqual(pattern(4096, 21));
      fb.close();
      expect(new Uint8Array(readFileSync(path)).subarray(4096, 8192)).toEqual(pattern(4096, 21));
      // A closed file: the disk call throws, the request gets an error.
      expect(run(req(BLKIF_OP_READ, 4, 8, [{ gref: fe.grant(4), firstSect: 0, lastSect: 0 }]))[0].status).toBe(BLKIF_RSP_ERROR);
      expect(be.lastError).toMatch(/request id 4: disk: .*closed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('blkback persistent grants (feature-persistent)', () => {
  const seg = (gref: number) => ({ gref, firstSect: 0, lastSect: 7 });

  it('negotiates through XenStore keys: on only when the frontend writes feature-persistent = 1', () => {
    for (const [key, want] of [['1', true], ['0', false], [undefined, false], ['01', false]] as const) {
      setup(disk);
      be.disconnect();
      const keys: Record<string, string | undefined> = { 'ring-ref': String(fe.grant(RING)), 'event-channel': String(fe.allocPort()), 'feature-persistent': key };
      expect(be.connect((k) => keys[k])).toBe(null);
      expect(be.persistent).toBe(want);
    }
    const off = new Blkback({ grants: world.grants, events: world.events, frontendDomid: 1, disk, maxPersistentGrants: 0 });
    expect(off.features()['feature-persistent']).toBeUndefined();
  });

  it('maps each grant once, reuses the mapping, and unmaps everything on disconnect', () => {
    be.setPersistent(true);
    const g2 = fe.grant(2), g3 = fe.grant(3);
    fe.poke(2, 0, pattern(4096, 5));
    fe.poke(3, 0, pattern(4096, 6));
    expect(run(req(BLKIF_OP_WRITE, 1, 0, [seg(g2), seg(g3)]))[0].status).toBe(BLKIF_RSP_OKAY);
    expect(run(req(BLKIF_OP_READ, 2, 8, [seg(g2)]), req(BLKIF_OP_WRITE, 3, 16, [seg(g3)])).map((r) => r.status)).toEqual([0, 0]);
    expect(be.stats).toMatchObject({ grantMaps: 2, persistentHits: 2, persistentStale: 0 });
    expect(be.persistentGrants).toBe(2);
    // Both kept mappings are writable and pinned: GTF_reading | GTF_writing stay set.
    expect(getEntry(fe.mem, TABLE, g2)[0]).toBe(H.GTF_permit_access | H.GTF_reading | H.GTF_writing);
    expect(fe.peek(2, 0, 4096)).toEqual(pattern(4096, 6)); // sector 8 = the old page 3 data
    expect(disk.bytes.subarray(8192, 12288)).toEqual(pattern(4096, 6));
    expect(be.snapshot().persistentGrants.map((p) => p.ref)).toEqual([g2, g3]);
    be.disconnect();
    expect(be.persistentGrants).toBe(0);
    expect(world.grants.activeMappings(1)).toBe(0);
    expect(getEntry(fe.mem, TABLE, g2)[0]).toBe(H.GTF_permit_access);
  });

  it('a revoked grant is detected before its kept mapping is used: the request fails, nothing is touched', () => {
    be.setPersistent(true);
    const g2 = fe.grant(2);
    expect(run(req(BLKIF_OP_READ, 1, 0, [seg(g2)]))[0].status).toBe(BLKIF_RSP_OKAY);
    fe.revoke(g2); // a hostile or buggy frontend clears the entry under the backend's mapping
    fe.poke(2, 0, new Uint8Array(4096));
    fe.mem.touched.clear();
    expect(run(req(BLKIF_OP_READ, 2, 0, [seg(g2)]))[0].status).toBe(BLKIF_RSP_ERROR);
    expect(dataFramesTouched()).toEqual([]);
    expect(fe.peek(2, 0, 4096).every((x) => x === 0)).toBe(true);
    expect(be.stats).toMatchObject({ persistentStale: 1, persistentHits: 0, errors: 1 });
    expect(be.persistentGrants).toBe(0);
    expect(world.grants.activeMappings(1)).toBe(1); // the ring only
  });

  it('a grant pointed at another frame (blkfront reusing a slot) is remapped: data goes to the new frame', () => {
    be.setPersistent(true);
    const g = fe.grant(2);
    expect(run(req(BLKIF_OP_READ, 1, 0, [seg(g)]))[0].status).toBe(BLKIF_RSP_OKAY);
    fe.entry(g, H.GTF_permit_access | H.GTF_reading | H.GTF_writing, 0, Number(fe.gfn(4))); // frame only changes
    fe.poke(2, 0, new Uint8Array(4096));
    expect(run(req(BLKIF_OP_READ, 2, 8, [seg(g)]))[0].status).toBe(BLKIF_RSP_OKAY);
    expect(fe.peek(4, 0, 4096)).toEqual(disk.bytes.subarray(4096, 8192));
    expect(fe.peek(2, 0, 4096).every((x) => x === 0)).toBe(true);
    expect(be.stats).toMatchObject({ grantMaps: 2, persistentStale: 1 });
  });

  it('a read-only grant serves writes for one request only; the cache is bounded', () => {
    const small = new Blkback({ grants: world.grants, events: world.events, frontendDomid: 1, disk, maxPersistentGrants: 2 });
    be.disconnect();
    expect(small.connectRing(fe.grant(RING), fe.allocPort())).toBe(null);
    small.setPersistent(true);
    ring = new FrontRing(fe, RING, BLKIF_REQ_SIZE, BLKIF_RSP_SIZE);
    const ro = fe.grant(2, true);
    const [a, b, c] = [fe.grant(3), fe.grant(4), fe.grant(5)];
    const put = (...r: BlkifRequest[]) => {
      for (const x of r) ring.put(encodeBlkifRequest(x));
      ring.push();
      small.kick();
      return ring.responses().map((x) => decodeBlkifResponse(x).status);
    };
    expect(put(req(BLKIF_OP_WRITE, 1, 0, [seg(ro)]))).toEqual([0]);
    expect(small.persistentGrants).toBe(0);
    expect(put(req(BLKIF_OP_READ, 2, 0, [seg(ro)]))).toEqual([BLKIF_RSP_ERROR]); // writable map of a read-only grant
    expect(put(req(BLKIF_OP_READ, 3, 0, [seg(a), seg(b), seg(c)]))).toEqual([0]);
    expect(small.persistentGrants).toBe(2);
    expect(world.grants.activeMappings(1)).toBe(3); // ring + 2 kept; c was mapped for its request only
    small.disconnect();
    expect(world.grants.activeMappings(1)).toBe(0);
  });
});
