/**
 * A hostile DomU against the XenStore server: random byte streams, random structured requests
 * and random values written over the four ring indices, in any order, with kicks in between.
 * For every run: no exception escapes the server, no internal error (EIO from a bug) is
 * counted, the hostile connection never queues more than its output bound, and another
 * domain's connection keeps working (write, read back, watch event) afterwards.
 * XS_HOSTILE_RUNS sets the number of runs (default 3000).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { XenStoreServer, request } from '../../../host/xen/xenstore/server';
import { XsToolstack } from '../../../host/xen/xenstore/toolstack';
import { bytesOf, encodeMessage, nulJoin, XsType } from '../../../host/xen/xenstore/wire';
import { writeRingField, XS_RING_REQ_CONS, XS_RING_REQ_PROD, XS_RING_RSP_CONS, XS_RING_RSP_PROD } from '../../../host/xen/xenstore/ring';
import { GuestClient } from './client';
import { fcSeed } from '../../fc-seed';

const RUNS = Number(process.env.XS_HOSTILE_RUNS ?? 3000);
const MAX_OUT = 16 * 1024;

const segment = fc.constantFrom('data', 'a', 'b', '@releaseDomain', 'local', 'domain', '1', '2', '', 'x y', '..');
const pathArb = fc.tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 4 })).map(([abs, segs]) => (abs ? '/' : '') + segs.join('/'));
const argArb = fc.oneof(pathArb, fc.constantFrom('T', 'F', 'n1', 'b2', 'r0', 'w70000', '1', '0', '4294967296', ''), fc.string({ maxLength: 12 }));

const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('bytes' as const), data: fc.uint8Array({ maxLength: 200 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('msg' as const), type: fc.integer({ min: 0, max: 24 }), tx: fc.constantFrom(0, 0, 1, 2, 0xffffffff), args: fc.array(argArb, { maxLength: 4 }), value: fc.option(fc.uint8Array({ maxLength: 40 })) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('idx' as const),
      field: fc.constantFrom(XS_RING_REQ_CONS, XS_RING_REQ_PROD, XS_RING_RSP_CONS, XS_RING_RSP_PROD),
      value: fc.oneof(fc.integer({ min: 0, max: 2048 }), fc.integer({ min: 0, max: 0xffffffff })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('header' as const), len: fc.integer({ min: 0, max: 0xffffffff }), type: fc.integer({ min: 0, max: 0xffffffff }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'consume' as const }) },
);

describe('XenStore: hostile ring property', () => {
  it(`well-formed random requests each get exactly one reply and never kill the connection (${RUNS} runs)`, () => {
    const msg = fc.record({ type: fc.integer({ min: 0, max: 24 }), tx: fc.constantFrom(0, 0, 1, 2, 3), args: fc.array(argArb, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 12 }), (msgs) => {
        const server = new XenStoreServer();
        const ts = new XsToolstack(server);
        ts.createDomainHome(1, 'evil');
        const evil = new GuestClient(server, 1);
        for (const m of msgs) {
          const replies = evil.send(m.type, m.tx, ...m.args).filter((r) => r.type !== XsType.WATCH_EVENT);
          expect(replies.length).toBe(1);
          expect([m.type, XsType.ERROR]).toContain(replies[0].type);
          expect(replies[0].txId).toBe(m.tx);
        }
        expect(server.connection(1)!.dead).toBe(null);
        expect(server.stats.internalErrors).toBe(0);
      }),
      { numRuns: Math.ceil(RUNS / 3), seed: fcSeed(0x5e1) },
    );
  }, 120_000);

  it(`never throws and never disturbs another domain (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 24 }), (steps) => {
        const server = new XenStoreServer({ limits: { maxPendingOutput: MAX_OUT } });
        const ts = new XsToolstack(server);
        ts.createDomainHome(1, 'evil');
        ts.createDomainHome(2, 'good');
        const evil = new GuestClient(server, 1);
        const good = new GuestClient(server, 2);
        good.send(XsType.WATCH, 0, 'data', 'w');
        for (const s of steps) {
          switch (s.kind) {
            case 'bytes':
              evil.put(s.data);
              break;
            case 'msg':
              evil.put(request(s.type, 7, s.tx, ...s.args, ...(s.value ? [s.value] : [])));
              break;
            case 'header': {
              const h = encodeMessage(s.type, 1, 0, new Uint8Array(0));
              new DataView(h.buffer).setUint32(12, s.len, true);
              evil.put(h);
              break;
            }
            case 'idx':
              writeRingField(evil.mem, s.field, s.value);
              break;
            case 'consume':
              evil.take();
              break;
          }
          server.kick(1);
          const c = server.connection(1);
          if (c) expect(c.pendingOutput).toBeLessThanOrEqual(MAX_OUT);
        }
        expect(server.stats.internalErrors).toBe(0);
        good.take();
        const w = good.send(XsType.WRITE, 0, 'data/ok', bytesOf('fine'));
        expect(w.map((r) => r.raw)).toEqual([
          encodeMessage(XsType.WRITE, 2, 0, nulJoin(['OK'])),
          encodeMessage(XsType.WATCH_EVENT, 0, 0, nulJoin(['data/ok', 'w'])),
        ]);
        expect(good.call(XsType.READ, 0, 'data/ok').raw.subarray(16)).toEqual(bytesOf('fine'));
        expect(server.connection(2)!.dead).toBe(null);
      }),
      { numRuns: RUNS, seed: fcSeed(0x5e2) },
    );
  }, 120_000);
});
