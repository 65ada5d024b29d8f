/**
 * blkback's persistent grants against a frontend that keeps rewriting its grant entries between
 * requests (revoking, re-granting read-only or writable, pointing at another frame, granting to
 * another domain): a model decides each request's status from the entries as they are when
 * the request is served, and where a read must land. A kept mapping whose entry changed must
 * never be used: a read goes to the frame the entry names now, or the request fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../host/devices/virtio/backend';
import { Blkback } from '../../../host/xen/backends/blkback';
import {
  BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_REQ_SIZE, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BLKIF_RSP_SIZE, decodeBlkifResponse, encodeBlkifRequest,
} from '../../../host/xen/backends/blkif';
import * as H from '../../../host/xen/hypercall-abi';
import { FrontRing, pattern, World } from './harness';
import { fcSeed } from '../../fc-seed';

const REFS = [9, 10, 11, 12];
const FRAMES = [1, 2, 3, 4, 5];
type Entry = { flags: number; domid: number; frame: number };

const entryArb = fc.record({
  flags: fc.constantFrom(0, H.GTF_permit_access, H.GTF_permit_access | H.GTF_readonly),
  domid: fc.constantFrom(0, 0, 0, 2),
  frame: fc.constantFrom(...FRAMES),
});
const op = fc.oneof(
  fc.record({ k: fc.constant('entry' as const), ref: fc.constantFrom(...REFS), e: entryArb }),
  fc.record({ k: fc.constant('io' as const), read: fc.boolean(), refs: fc.array(fc.constantFrom(...REFS), { minLength: 1, maxLength: 3 }), sector: fc.integer({ min: 0, max: 100 }) }),
);

describe('blkback persistent grants: entries rewritten between requests', () => {
  it('uses a kept mapping only while its entry still grants the same frame (60 cases; PGRANT_RUNS=N for more)', () => {
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 4 }), (ops, max) => {
      const world = new World();
      const fe = world.addDomain(1);
      const ring = new FrontRing(fe, 0, BLKIF_REQ_SIZE, BLKIF_RSP_SIZE);
      const disk = new MemoryBackend(pattern(64 << 10, 3));
      const be = new Blkback({ grants: world.grants, events: world.events, frontendDomid: 1, disk, maxPersistentGrants: max });
      expect(be.connectRing(fe.grant(0), fe.allocPort())).toBe(null);
      be.setPersistent(true);
      const model = new Map<number, Entry>();
      let id = 0;
      for (const o of ops) {
        if (o.k === 'entry') {
          // Keep the hypervisor's GTF_reading / GTF_writing bits, as a frontend's plain store of
          // domid and frame would (it cannot clear them; it can clear permit_access).
          fe.entry(o.ref, o.e.flags, o.e.domid, Number(fe.gfn(o.e.frame)));
          model.set(o.ref, o.e);
          continue;
        }
        const before = FRAMES.map((f) => fe.peek(f, 0, 4096));
        const sector = o.sector;
        // Expected: each segment's entry must grant a frame to Dom0 now; writable for a read from disk.
        const okay = o.refs.every((r) => {
          const e = model.get(r);
          return e !== undefined && (e.flags & H.GTF_permit_access) !== 0 && e.domid === 0 && (!o.read || (e.flags & H.GTF_readonly) === 0);
        });
        ring.put(encodeBlkifRequest({
          operation: o.read ? BLKIF_OP_READ : BLKIF_OP_WRITE, nrSegments: o.refs.length, handle: 0, id: BigInt(++id), sector: BigInt(sector),
          seg: o.refs.map((gref) => ({ gref, firstSect: 0, lastSect: 7 })),
        }));
        ring.push();
        be.kick();
        const rsp = ring.responses().map((b) => decodeBlkifResponse(b));
        expect(rsp.map((r) => r.status)).toEqual([okay ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR]);
        // Frames: a read writes exactly the frames the entries name now, with the disk's bytes.
        const want = before.map((b) => b.slice());
        if (okay && o.read) {
          o.refs.forEach((r, i) => {
            const at = (sector + i * 8) * 512;
            want[FRAMES.indexOf(model.get(r)!.frame)] = disk.bytes.slice(at, at + 4096);
          });
        }
        FRAMES.forEach((f, i) => expect(fe.peek(f, 0, 4096)).toEqual(want[i]));
        expect(be.persistentGrants).toBeLessThanOrEqual(max);
      }
      expect(be.stats.internalErrors).toBe(0);
      be.disconnect();
      expect(world.grants.activeMappings(1)).toBe(0);
    }), { numRuns: Number(process.env.PGRANT_RUNS ?? 60), seed: fcSeed(0x9e7) });
  }, 30_000);
});
