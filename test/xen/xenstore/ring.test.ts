/** The interface page: index wrap-around, messages split across the ring end, snapshots. */
import { describe, expect, it } from 'vitest';
import { ArrayRingMemory, MASK_XENSTORE_IDX, ringIndices, ServerRing, writeRingField, XENSTORE_RING_SIZE, XS_RING_REQ_CONS, XS_RING_RSP, XS_RING_RSP_CONS, XS_RING_RSP_PROD } from '../../../host/xen/xenstore/ring';
import { XenStoreServer, request } from '../../../host/xen/xenstore/server';
import { XsToolstack } from '../../../host/xen/xenstore/toolstack';
import { bytesOf, encodeMessage, MessageReader, nulJoin, XsType } from '../../../host/xen/xenstore/wire';
import { GuestClient } from './client';

describe('interface page', () => {
  it('layout constants match struct xenstore_domain_interface', () => {
    expect(XENSTORE_RING_SIZE).toBe(1024);
    expect(MASK_XENSTORE_IDX(1025)).toBe(1);
    expect(MASK_XENSTORE_IDX(0xffffffff)).toBe(1023);
    expect([XS_RING_REQ_CONS, XS_RING_RSP_CONS, XS_RING_RSP_PROD, XS_RING_RSP]).toEqual([2048, 2056, 2060, 1024]);
  });

  it('reads requests and writes replies across the 2^32 index wrap and the ring end', () => {
    const mem = new ArrayRingMemory();
    const start = 0xfffffff8; // 8 bytes before the u32 wrap, at ring offset 1016
    for (const off of [0x800, 0x804, 0x808, 0x80c]) writeRingField(mem, off, start);
    const ring = new ServerRing(mem, false);
    const msg = request(XsType.READ, 5, 0, 'x');
    for (let i = 0; i < msg.length; i++) mem.bytes[MASK_XENSTORE_IDX(start + i)] = msg[i];
    writeRingField(mem, 0x804, (start + msg.length) >>> 0);
    const got = ring.readRequests(1024);
    expect(got).toEqual(msg);
    expect(ringIndices(mem).reqCons).toBe((start + msg.length) >>> 0);
    expect(ring.readRequests(1024)).toEqual(new Uint8Array(0));
    const reply = encodeMessage(XsType.READ, 5, 0, bytesOf('value'));
    expect(ring.writeResponses(reply)).toBe(reply.length);
    const back = new Uint8Array(reply.length);
    for (let i = 0; i < reply.length; i++) back[i] = mem.bytes[XS_RING_RSP + MASK_XENSTORE_IDX(start + i)];
    expect(back).toEqual(reply);
    expect(ring.responseSpace()).toBe(1024 - reply.length);
    writeRingField(mem, XS_RING_RSP_CONS, (start + reply.length + 1) >>> 0); // cons past prod
    expect(ring.writeResponses(reply)).toBe('badidx');
  });

  it('a full rsp ring holds replies back until the guest consumes', () => {
    const server = new XenStoreServer();
    const ts = new XsToolstack(server);
    ts.createDomainHome(1, 'g');
    ts.write('/local/domain/1/big', 'y'.repeat(1000));
    const g = new GuestClient(server, 1);
    g.put(request(XsType.READ, 1, 0, 'big'));
    g.put(request(XsType.READ, 2, 0, 'big'));
    server.kick(1);
    const first = g.take(); // 1024 bytes arrived: one reply and a piece of the next
    expect(first.map((r) => r.reqId)).toEqual([1]);
    expect(server.connection(1)!.pendingOutput).toBe(2 * 1016 - 1024);
    server.kick(1);
    const second = g.take();
    expect(second.map((r) => [r.reqId, r.raw.length])).toEqual([[2, 1016]]);
  });

  it('MessageReader reassembles a message fed one byte at a time and refuses len > 4096', () => {
    const r = new MessageReader();
    const msg = request(XsType.WRITE, 9, 3, 'p', bytesOf('v'));
    let out = null;
    for (let i = 0; i < msg.length; i++) {
      expect(r.wanted()).toBeGreaterThan(0);
      out = r.push(msg.subarray(i, i + 1));
      if (i < msg.length - 1) expect(out).toBe(null);
    }
    expect(out).toEqual({ type: XsType.WRITE, reqId: 9, txId: 3, payload: Uint8Array.of(0x70, 0, 0x76) });
    const bad = encodeMessage(XsType.READ, 1, 0, new Uint8Array(0));
    bad[12] = 0x01;
    bad[13] = 0x10; // len 4097
    expect(r.push(bad)).toBe('toolong');
  });

  it('server snapshot/restore keeps watches, a partial request and the ring indices', () => {
    const server = new XenStoreServer();
    const ts = new XsToolstack(server);
    ts.createDomainHome(1, 'g');
    const g = new GuestClient(server, 1);
    g.send(XsType.WATCH, 0, 'data', 'tok');
    const req = request(XsType.WRITE, 2, 0, 'data/k', bytesOf('v'));
    g.put(req.subarray(0, 10));
    server.kick(1);
    const snap = JSON.parse(JSON.stringify(server.snapshot()));
    const copy = new ArrayRingMemory(g.mem.bytes.slice());
    const restored = new XenStoreServer();
    let notes = 0;
    restored.restore(snap, (domid) => (domid === 1 ? { mem: copy, notify: () => notes++ } : null));
    // Finish the request on the restored server's page.
    const g2 = Object.assign(Object.create(GuestClient.prototype), { mem: copy, server: restored, domid: 1, reqId: 2, carry: new Uint8Array(0), notifications: 0 }) as GuestClient;
    g2.put(req.subarray(10));
    restored.kick(1);
    expect(g2.take().map((r) => r.raw)).toEqual([
      encodeMessage(XsType.WRITE, 2, 0, nulJoin(['OK'])),
      encodeMessage(XsType.WATCH_EVENT, 0, 0, nulJoin(['data/k', 'tok'])),
    ]);
    expect(notes).toBe(1);
    expect(new XsToolstack(restored).read('/local/domain/1/name')).toBe('g');
  });
});
