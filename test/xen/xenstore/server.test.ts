/**
 * The XenStore server over a domain's ring: every request type, its reply bytes, errors, the
 * permission rules as a DomU meets them, transactions and watch events (exact bytes on rsp[]).
 */
import { describe, expect, it } from 'vitest';
import { XenStoreServer, request } from '../../../host/xen/xenstore/server';
import { XsToolstack } from '../../../host/xen/xenstore/toolstack';
import { bytesOf, encodeMessage, nulJoin, XsType } from '../../../host/xen/xenstore/wire';
import { ringIndices, XS_RING_ERROR, XS_RING_SERVER_FEATURES, XenstoreRingError } from '../../../host/xen/xenstore/ring';
import { GuestClient } from './client';

function setup() {
  const server = new XenStoreServer();
  const ts = new XsToolstack(server);
  ts.createDomainHome(1, 'guest1');
  ts.createDomainHome(2, 'guest2');
  const g1 = new GuestClient(server, 1);
  const g2 = new GuestClient(server, 2);
  return { server, ts, g1, g2 };
}

const err = (name: string) => ({ type: XsType.ERROR, strings: [name] });

describe('XenStore server: requests over the ring', () => {
  it('WRITE then READ a relative path: exact reply bytes', () => {
    const { g1, server } = setup();
    expect(server.connection(1)!.ring).toBeDefined();
    const w = g1.call(XsType.WRITE, 0, 'data/x', bytesOf('hello'));
    expect(w.raw).toEqual(encodeMessage(XsType.WRITE, 1, 0, nulJoin(['OK'])));
    const r = g1.call(XsType.READ, 0, 'data/x');
    expect(r.raw).toEqual(encodeMessage(XsType.READ, 2, 0, bytesOf('hello')));
    // The same node by its absolute path.
    expect(g1.call(XsType.READ, 0, '/local/domain/1/data/x').strings).toEqual([]);
    expect(g1.call(XsType.READ, 0, '/local/domain/1/data/x').raw.subarray(16)).toEqual(bytesOf('hello'));
    expect(g1.notifications).toBeGreaterThan(0);
    expect(server.stats.internalErrors).toBe(0);
  });

  it('ERROR replies echo req_id and tx_id and carry the error name', () => {
    const { g1, server, ts } = setup();
    ts.setPerms('/local/domain/1/data', ['n1']);
    const r = g1.call(XsType.READ, 0, 'data/missing');
    expect(r.raw).toEqual(encodeMessage(XsType.ERROR, 1, 0, nulJoin(['ENOENT'])));
    expect(g1.call(XsType.READ, 77, 'data/x').raw).toEqual(encodeMessage(XsType.ERROR, 2, 77, nulJoin(['ENOENT'])));
    expect(g1.call(XsType.READ, 0, 'bad//path')).toMatchObject(err('EINVAL'));
    expect(g1.call(XsType.READ, 0, 'sp ace')).toMatchObject(err('EINVAL'));
    expect(g1.call(XsType.READ, 0, '/trailing/')).toMatchObject(err('EINVAL'));
    // Paths longer than a 1 KiB ring, through a local connection as domain 1.
    const local = server.openLocal(1, false);
    local.send(request(XsType.WRITE, 1, 0, 'data/' + 'a'.repeat(2043), bytesOf('v')));
    expect(local.receive()).toEqual(encodeMessage(XsType.WRITE, 1, 0, nulJoin(['OK'])));
    local.send(request(XsType.READ, 2, 0, 'data/' + 'a'.repeat(2044)));
    expect(local.receive()).toEqual(encodeMessage(XsType.ERROR, 2, 0, nulJoin(['EINVAL'])));
    local.send(request(XsType.READ, 3, 0, '/' + 'a'.repeat(3072)));
    expect(local.receive()).toEqual(encodeMessage(XsType.ERROR, 3, 0, nulJoin(['EINVAL'])));
    expect(g1.call(XsType.WRITE, 0, bytesOf('no-terminator'))).toMatchObject(err('EINVAL'));
    expect(g1.call(XsType.READ, 0, 'a', 'b')).toMatchObject(err('EINVAL'));
    expect(g1.call(XsType.WATCH_EVENT, 0, 'a', 'b')).toMatchObject(err('EINVAL'));
    expect(g1.call(999, 0)).toMatchObject(err('EINVAL'));
    expect(g1.call(XsType.DEBUG, 0, 'print', 'x')).toMatchObject(err('ENOSYS'));
  });

  it('MKDIR, DIRECTORY and RM', () => {
    const { g1 } = setup();
    expect(g1.call(XsType.MKDIR, 0, 'data/a/b').strings).toEqual(['OK']);
    g1.call(XsType.WRITE, 0, 'data/a/c', bytesOf('1'));
    expect(g1.call(XsType.DIRECTORY, 0, 'data/a').raw).toEqual(encodeMessage(XsType.DIRECTORY, 3, 0, nulJoin(['b', 'c'])));
    expect(g1.call(XsType.DIRECTORY, 0, 'data/a/b').raw.length).toBe(16); // no children: empty payload
    expect(g1.call(XsType.MKDIR, 0, 'data/a/c').strings).toEqual(['OK']);
    expect(g1.call(XsType.READ, 0, 'data/a/c').raw.subarray(16)).toEqual(bytesOf('1')); // MKDIR kept the value
    expect(g1.call(XsType.RM, 0, 'data/a').strings).toEqual(['OK']);
    expect(g1.call(XsType.READ, 0, 'data/a/c')).toMatchObject(err('ENOENT'));
    expect(g1.call(XsType.RM, 0, 'data/a').strings).toEqual(['OK']); // missing, parent exists
    expect(g1.call(XsType.RM, 0, 'data/a/b')).toMatchObject(err('ENOENT')); // parent missing too
    expect(g1.call(XsType.GET_DOMAIN_PATH, 0, '7').strings).toEqual(['/local/domain/7']);
  });

  it('permissions: owner first, the first letter for everyone else, Dom0 may do anything', () => {
    const { g1, g2, ts } = setup();
    // Home is "n0 r1": domain 1 reads, cannot write; domain 2 sees nothing.
    expect(g1.call(XsType.READ, 0, '/local/domain/1/name').raw.subarray(16)).toEqual(bytesOf('guest1'));
    expect(g1.call(XsType.WRITE, 0, '/local/domain/1/name', bytesOf('x'))).toMatchObject(err('EACCES'));
    expect(g1.call(XsType.WRITE, 0, '/local/domain/1/newkey', bytesOf('x'))).toMatchObject(err('EACCES'));
    expect(g2.call(XsType.READ, 0, '/local/domain/1/name')).toMatchObject(err('EACCES'));
    expect(g2.call(XsType.READ, 0, '/local/domain/1/nothere')).toMatchObject(err('EACCES')); // no probing
    expect(g1.call(XsType.READ, 0, '/local/domain/1/nothere')).toMatchObject(err('ENOENT'));
    // A node created by domain 1 in data/ ("n1") is owned by domain 1 and inherits "n".
    g1.call(XsType.WRITE, 0, 'data/k', bytesOf('v'));
    expect(g1.call(XsType.GET_PERMS, 0, 'data/k').raw).toEqual(encodeMessage(XsType.GET_PERMS, 6, 0, nulJoin(['n1'])));
    // Owner grants domain 2 read; everybody else none.
    expect(g1.call(XsType.SET_PERMS, 0, 'data/k', 'n1', 'r2').strings).toEqual(['OK']);
    expect(g2.call(XsType.READ, 0, '/local/domain/1/data/k').raw.subarray(16)).toEqual(bytesOf('v'));
    expect(g2.call(XsType.WRITE, 0, '/local/domain/1/data/k', bytesOf('w'))).toMatchObject(err('EACCES'));
    expect(g1.call(XsType.SET_PERMS, 0, 'data/k', 'n1', 'w2').strings).toEqual(['OK']);
    expect(g2.call(XsType.WRITE, 0, '/local/domain/1/data/k', bytesOf('w')).strings).toEqual(['OK']);
    expect(g2.call(XsType.READ, 0, '/local/domain/1/data/k')).toMatchObject(err('EACCES'));
    // Only Dom0 changes owners; malformed permission strings are EINVAL.
    expect(g1.call(XsType.SET_PERMS, 0, 'data/k', 'n2')).toMatchObject(err('EPERM'));
    expect(g1.call(XsType.SET_PERMS, 0, 'data/k', 'x1')).toMatchObject(err('EINVAL'));
    expect(g1.call(XsType.SET_PERMS, 0, 'data/k', 'r70000')).toMatchObject(err('EINVAL'));
    expect(g1.call(XsType.SET_PERMS, 0, 'data/k')).toMatchObject(err('EINVAL'));
    ts.setPerms('/local/domain/1/data/k', ['n2']);
    expect(ts.getPerms('/local/domain/1/data/k')).toEqual(['n2']);
    expect(g1.call(XsType.READ, 0, 'data/k')).toMatchObject(err('EACCES'));
    expect(g2.call(XsType.READ, 0, '/local/domain/1/data/k').raw.subarray(16)).toEqual(bytesOf('w'));
    // Toolstack-only requests.
    expect(g1.call(XsType.INTRODUCE, 0, '3', '100', '1')).toMatchObject(err('EACCES'));
    expect(g1.call(XsType.RELEASE, 0, '2')).toMatchObject(err('EACCES'));
    expect(g1.call(XsType.RM, 0, '/')).toMatchObject(err('EACCES'));
  });

  it('transactions: isolation, commit, EAGAIN on conflict, abort', () => {
    const { g1, g2, ts } = setup();
    ts.setPerms('/local/domain/1/data', ['b1', 'b2']);
    const tx = Number(g1.call(XsType.TRANSACTION_START, 0, '').strings[0]);
    expect(tx).toBeGreaterThan(0);
    expect(g1.call(XsType.WRITE, tx, 'data/t', bytesOf('in-tx')).txId).toBe(tx);
    expect(g1.call(XsType.READ, 0, 'data/t')).toMatchObject(err('ENOENT')); // not visible outside
    expect(g1.call(XsType.READ, tx, 'data/t').raw.subarray(16)).toEqual(bytesOf('in-tx'));
    expect(g1.call(XsType.TRANSACTION_END, tx, 'T').strings).toEqual(['OK']);
    expect(g1.call(XsType.READ, 0, 'data/t').raw.subarray(16)).toEqual(bytesOf('in-tx'));
    // Conflict: domain 2 changes a node the transaction read.
    const tx2 = Number(g1.call(XsType.TRANSACTION_START, 0, '').strings[0]);
    g1.call(XsType.READ, tx2, 'data/t');
    g1.call(XsType.WRITE, tx2, 'data/u', bytesOf('1'));
    g2.call(XsType.WRITE, 0, '/local/domain/1/data/t', bytesOf('other'));
    expect(g1.call(XsType.TRANSACTION_END, tx2, 'T')).toMatchObject({ ...err('EAGAIN'), txId: tx2 });
    expect(g1.call(XsType.READ, 0, 'data/u')).toMatchObject(err('ENOENT'));
    expect(g1.call(XsType.TRANSACTION_END, tx2, 'T')).toMatchObject(err('ENOENT')); // gone
    // An unrelated write does not conflict.
    const tx3 = Number(g1.call(XsType.TRANSACTION_START, 0, '').strings[0]);
    g1.call(XsType.WRITE, tx3, 'data/t', bytesOf('3'));
    ts.write('/local/domain/2/elsewhere', 'x');
    expect(g1.call(XsType.TRANSACTION_END, tx3, 'T').strings).toEqual(['OK']);
    // Abort discards.
    const tx4 = Number(g1.call(XsType.TRANSACTION_START, 0, '').strings[0]);
    g1.call(XsType.RM, tx4, 'data/t');
    expect(g1.call(XsType.TRANSACTION_END, tx4, 'F').strings).toEqual(['OK']);
    expect(g1.call(XsType.READ, 0, 'data/t').raw.subarray(16)).toEqual(bytesOf('3'));
    // Misuse.
    expect(g1.call(XsType.TRANSACTION_START, 5, '')).toMatchObject(err('EBUSY'));
    expect(g1.call(XsType.TRANSACTION_END, 0, 'T')).toMatchObject(err('EINVAL'));
    const tx5 = Number(g1.call(XsType.TRANSACTION_START, 0, '').strings[0]);
    expect(g1.call(XsType.TRANSACTION_END, tx5, 'X')).toMatchObject(err('EINVAL'));
    expect(g2.call(XsType.TRANSACTION_END, tx5, 'T')).toMatchObject(err('ENOENT')); // not domain 2's
  });

  it('WATCH: OK, then the initial event; events for the path and descendants, relative paths stay relative', () => {
    const { g1, ts } = setup();
    const r = g1.send(XsType.WATCH, 0, 'data', 'tok');
    expect(r.map((x) => x.raw)).toEqual([
      encodeMessage(XsType.WATCH, 1, 0, nulJoin(['OK'])),
      encodeMessage(XsType.WATCH_EVENT, 0, 0, nulJoin(['data', 'tok'])),
    ]);
    // A change below: reply first, then the event (req_id = tx_id = 0).
    const w = g1.send(XsType.WRITE, 0, 'data/a/b', bytesOf('1'));
    expect(w.map((x) => x.raw)).toEqual([
      encodeMessage(XsType.WRITE, 2, 0, nulJoin(['OK'])),
      encodeMessage(XsType.WATCH_EVENT, 0, 0, nulJoin(['data/a/b', 'tok'])),
    ]);
    // Unrelated and sibling-prefix paths do not fire.
    ts.write('/local/domain/1/database', 'x');
    ts.write('/local/domain/1/name', 'y');
    expect(g1.take()).toEqual([]);
    // Absolute watch, toolstack change, removal of a parent fires with the watch path.
    g1.send(XsType.WATCH, 0, '/local/domain/1/data/a/b', 'abs');
    ts.rm('/local/domain/1/data/a');
    expect(g1.take().map((x) => x.strings)).toEqual([
      ['data/a', 'tok'],
      ['/local/domain/1/data/a/b', 'abs'],
    ]);
    expect(g1.call(XsType.WATCH, 0, 'data', 'tok')).toMatchObject(err('EEXIST'));
    expect(g1.call(XsType.UNWATCH, 0, 'data', 'tok').strings).toEqual(['OK']);
    expect(g1.call(XsType.UNWATCH, 0, 'data', 'tok')).toMatchObject(err('ENOENT'));
    ts.write('/local/domain/1/data/z', '1');
    expect(g1.take()).toEqual([]);
  });

  it('transaction changes fire only on commit; unreadable nodes are not reported', () => {
    const { g1, g2, ts } = setup();
    g2.send(XsType.WATCH, 0, '/local/domain/1', 'spy');
    g1.send(XsType.WATCH, 0, 'data', 't');
    const tx = Number(g1.call(XsType.TRANSACTION_START, 0, '').strings[0]);
    expect(g1.send(XsType.WRITE, tx, 'data/q', bytesOf('1')).length).toBe(1);
    expect(g1.send(XsType.TRANSACTION_END, tx, 'T').map((x) => x.strings)).toEqual([['OK'], ['data/q', 't']]);
    // Domain 2 got only its initial event: the home "n0 r1" and data "n1" are unreadable to it.
    expect(g2.take()).toEqual([]);
    ts.setPerms('/local/domain/1/data/q', ['n1', 'r2']);
    expect(g2.take().map((x) => x.strings)).toEqual([['/local/domain/1/data/q', 'spy']]);
  });

  it('special watches: @introduceDomain and @releaseDomain go to privileged watchers', () => {
    const { server, g1 } = setup();
    const local = server.openLocal();
    local.send(request(XsType.WATCH, 9, 0, '@releaseDomain', 'rel'));
    local.send(request(XsType.WATCH, 10, 0, '@introduceDomain', 'intro'));
    local.receive();
    g1.send(XsType.WATCH, 0, '@introduceDomain', 'g');
    const g3 = new GuestClient(server, 3);
    expect(local.receive()).toEqual(encodeMessage(XsType.WATCH_EVENT, 0, 0, nulJoin(['@introduceDomain', 'intro'])));
    expect(g1.take()).toEqual([]); // unprivileged: no domain events
    local.send(request(XsType.IS_DOMAIN_INTRODUCED, 11, 0, '3'));
    expect(local.receive()).toEqual(encodeMessage(XsType.IS_DOMAIN_INTRODUCED, 11, 0, nulJoin(['T'])));
    local.send(request(XsType.RELEASE, 12, 0, '3'));
    expect(local.receive()).toEqual(new Uint8Array([
      ...encodeMessage(XsType.RELEASE, 12, 0, nulJoin(['OK'])),
      ...encodeMessage(XsType.WATCH_EVENT, 0, 0, nulJoin(['@releaseDomain', 'rel'])),
    ]));
    expect(server.isIntroduced(3)).toBe(false);
    expect(g3.send(XsType.READ, 0, 'name')).toEqual([]); // no longer served
    local.send(request(XsType.RELEASE, 13, 0, '3'));
    expect(local.receive()).toEqual(encodeMessage(XsType.ERROR, 13, 0, nulJoin(['ENOENT'])));
    local.send(request(XsType.INTRODUCE, 14, 0, '4', '1234', '5'));
    expect(local.receive()).toEqual(encodeMessage(XsType.ERROR, 14, 0, nulJoin(['ENOSYS']))); // no ports given
  });

  it('INTRODUCE over the wire maps the page through DomainPorts', () => {
    const pages = new Map<number, GuestClient['mem']>();
    let notified = 0;
    const server = new XenStoreServer({
      ports: {
        mapInterface: (domid, mfn) => (mfn === 0x8123 ? (pages.get(domid) ?? null) : null),
        bindNotifier: (_d, port) => (port === 3 ? () => notified++ : null),
      },
    });
    const page = new (class extends GuestClient {
      constructor() {
        super(new XenStoreServer(), 99); // a throwaway server just to build the page helper
      }
    })();
    pages.set(5, page.mem);
    const local = server.openLocal();
    local.send(request(XsType.INTRODUCE, 1, 0, '5', String(0x8123), '3'));
    expect(local.receive()).toEqual(encodeMessage(XsType.INTRODUCE, 1, 0, nulJoin(['OK'])));
    local.send(request(XsType.INTRODUCE, 2, 0, '6', '1', '3'));
    expect(local.receive()).toEqual(encodeMessage(XsType.ERROR, 2, 0, nulJoin(['EINVAL'])));
    local.send(request(XsType.INTRODUCE, 3, 0, '0', String(0x8123), '3'));
    expect(local.receive()).toEqual(encodeMessage(XsType.ERROR, 3, 0, nulJoin(['EINVAL'])));
    expect(server.isIntroduced(5)).toBe(true);
    expect(server.connection(5)!.caller).toEqual({ domid: 5, privileged: false, conn: 'ring:5' });
    expect(notified).toBe(0);
  });

  it('quotas: value size, nodes, watches, transactions', () => {
    const server = new XenStoreServer({ limits: { maxNodesPerDomain: 4, maxWatchesPerDomain: 2, maxTransactionsPerDomain: 1, maxValueSize: 8 } });
    const ts = new XsToolstack(server);
    ts.createDomainHome(1, 'g');
    const g1 = new GuestClient(server, 1);
    expect(g1.call(XsType.WRITE, 0, 'data/v', new Uint8Array(9))).toMatchObject(err('ENOSPC'));
    expect(g1.call(XsType.WRITE, 0, 'data/v', new Uint8Array(8)).strings).toEqual(['OK']);
    expect(g1.call(XsType.WRITE, 0, 'data/a/b', bytesOf('x')).strings).toEqual(['OK']); // data, v, a, b: 4 nodes owned
    expect(g1.call(XsType.MKDIR, 0, 'data/c')).toMatchObject(err('ENOSPC'));
    expect(server.store.nodeCount(1)).toBe(4);
    g1.send(XsType.WATCH, 0, 'data', 'a');
    g1.send(XsType.WATCH, 0, 'data', 'b');
    expect(g1.call(XsType.WATCH, 0, 'data', 'c')).toMatchObject(err('E2BIG'));
    g1.call(XsType.TRANSACTION_START, 0, '');
    expect(g1.call(XsType.TRANSACTION_START, 0, '')).toMatchObject(err('ENOSPC'));
    expect(g1.call(XsType.RESET_WATCHES, 0, '').strings).toEqual(['OK']);
    expect(server.watches.count(server.connection(1)!)).toBe(0);
    // A reply longer than XENSTORE_PAYLOAD_MAX is refused.
    for (let i = 0; i < 80; i++) ts.write(`/local/domain/1/data/${'n'.repeat(50)}${i}`, '');
    expect(g1.call(XsType.DIRECTORY, 0, 'data')).toMatchObject(err('E2BIG'));
  });
});

describe('XenStore server: hostile rings', () => {
  it('a len over XENSTORE_PAYLOAD_MAX kills only that connection and sets error = PROTO', () => {
    const { g1, g2, server } = setup();
    const h = encodeMessage(XsType.READ, 1, 0, new Uint8Array(0));
    new DataView(h.buffer).setUint32(12, 4097, true);
    g1.put(h);
    server.kick(1);
    expect(server.connection(1)!.dead).toBe('payload-too-long');
    expect(g1.mem.bytes[XS_RING_ERROR]).toBe(XenstoreRingError.PROTO);
    expect(g1.mem.bytes[XS_RING_SERVER_FEATURES]).toBe(2);
    expect(g1.send(XsType.READ, 0, 'name')).toEqual([]);
    expect(g2.call(XsType.READ, 0, 'name').raw.subarray(16)).toEqual(bytesOf('guest2'));
  });

  it('req_prod beyond the ring size sets error = RINGIDX; a partial header waits', () => {
    const { g1, g2, server } = setup();
    g1.put(new Uint8Array(10)); // 10 of 16 header bytes
    server.kick(1);
    expect(server.connection(1)!.dead).toBe(null);
    expect(ringIndices(g1.mem).reqCons).toBe(10);
    g1.put(new Uint8Array(6)); // completes a header of type 0 (DEBUG), len 0
    server.kick(1);
    expect(g1.take()).toMatchObject([{ ...err('ENOSYS'), reqId: 0 }]);
    g1.mem.bytes.set([0xff, 0xff, 0, 0], 0x804); // req_prod = 0xffff
    server.kick(1);
    expect(server.connection(1)!.dead).toBe('ring-index');
    expect(g1.mem.bytes[XS_RING_ERROR]).toBe(XenstoreRingError.RINGIDX);
    expect(g2.call(XsType.READ, 0, 'name').raw.subarray(16)).toEqual(bytesOf('guest2'));
  });

  it('a guest that never consumes replies stops being served, without unbounded queueing', () => {
    const server = new XenStoreServer({ limits: { maxPendingOutput: 8192 } });
    const ts = new XsToolstack(server);
    ts.createDomainHome(1, 'g');
    const g1 = new GuestClient(server, 1);
    ts.write('/local/domain/1/big', 'x'.repeat(900));
    const req = request(XsType.READ, 1, 0, 'big');
    for (let i = 0; i < 40; i++) {
      if ((ringIndices(g1.mem).reqProd - ringIndices(g1.mem).reqCons) + req.length <= 1024) g1.put(req);
      server.kick(1);
    }
    const conn = server.connection(1)!;
    expect(conn.pendingOutput).toBeLessThanOrEqual(8192);
    expect(conn.dead).toBe(null);
    // Consuming lets it continue.
    const before = conn.stats.requests;
    g1.take();
    server.kick(1);
    expect(conn.stats.requests).toBeGreaterThan(before);
  });
});
