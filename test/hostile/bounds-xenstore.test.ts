/**
 * XenStore bounds that a hostile DomU reaches with ordinary requests (docs/bounds.md):
 *   - nodes accessed per transaction (C xenstored's quota transaction-nodes = 1024, XSA-326):
 *     before it, a DomU could read a million distinct paths in one transaction and the store
 *     kept one entry for each until the transaction ended;
 *   - changes a transaction reports: one per path (C xenstored fires one watch per accessed
 *     node at commit); before, rewriting one node N times kept N entries until the commit;
 *   - permission entries per node (quota permissions = 5), which no test covered.
 */
import { describe, expect, it } from 'vitest';
import type { Caller } from '../../host/xen/xenstore/path';
import { DEFAULT_LIMITS, XenStore } from '../../host/xen/xenstore/store';
import { bytesOf, XsError } from '../../host/xen/xenstore/wire';

const dom0: Caller = { domid: 0, privileged: true, conn: 't' };
const d1: Caller = { domid: 1, privileged: false, conn: 'ring:1' };
const LIMIT = DEFAULT_LIMITS.maxNodesPerTransaction;

function errno(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof XsError) return e.errno;
    throw e;
  }
  return 'none';
}

/** A store where d1 may read LIMIT + 10 nodes /data/k0.. (owned by Dom0, readable by d1). */
function storeWithData(): XenStore {
  const s = new XenStore();
  for (let i = 0; i < LIMIT + 10; i++) {
    s.write(dom0, 0, `/data/k${i}`, bytesOf(String(i)));
    s.setPerms(dom0, 0, `/data/k${i}`, ['n0', 'r1']);
  }
  return s;
}

describe('XenStore: nodes accessed per transaction', () => {
  it(`the default is C xenstored's: ${LIMIT}`, () => {
    expect(LIMIT).toBe(1024);
  });

  it(`a DomU's transaction reads ${LIMIT} distinct nodes; the next distinct one is ENOSPC, and the commit is then ENOMEM`, () => {
    const s = storeWithData();
    const tx = s.startTransaction(d1);
    for (let i = 0; i < LIMIT; i++) expect(s.read(d1, tx, `/data/k${i}`)).toEqual(bytesOf(String(i)));
    expect(errno(() => s.read(d1, tx, `/data/k${LIMIT}`))).toBe('ENOSPC');
    expect(errno(() => s.write(d1, tx, `/data/k${LIMIT + 1}`, bytesOf('x')))).toBe('ENOSPC'); // before any permission check
    // Nodes it already accessed are still served: the bound is on distinct nodes.
    expect(s.read(d1, tx, '/data/k0')).toEqual(bytesOf('0'));
    expect(s.snapshot().txns[0].seen).toHaveLength(LIMIT);
    expect(errno(() => s.endTransaction(d1, tx, true))).toBe('ENOMEM');
    expect(s.transactionCount(1)).toBe(0); // it is gone either way
    // Outside a transaction, and in a new one, nothing is held against the domain.
    expect(s.read(d1, 0, `/data/k${LIMIT}`)).toEqual(bytesOf(String(LIMIT)));
    const again = s.startTransaction(d1);
    expect(s.read(d1, again, `/data/k${LIMIT}`)).toEqual(bytesOf(String(LIMIT)));
    expect(errno(() => s.endTransaction(d1, again, true))).toBe('none');
  });

  it('missing nodes count too (each is remembered for the commit check); discarding a doomed transaction is fine', () => {
    const s = new XenStore();
    s.write(dom0, 0, '/local/domain/1', bytesOf(''));
    s.setPerms(dom0, 0, '/local/domain/1', ['n1']);
    const tx = s.startTransaction(d1);
    let ok = 0;
    let err = 'none';
    for (let i = 0; i < 4096 && (err === 'none' || err === 'ENOENT'); i++) {
      err = errno(() => s.read(d1, tx, `/local/domain/1/missing${i}`));
      if (err === 'ENOENT') ok++;
    }
    expect(err).toBe('ENOSPC');
    // The first read also recorded the parent; each later read one new path.
    expect(ok).toBe(LIMIT - 1);
    expect(errno(() => s.endTransaction(d1, tx, false))).toBe('none');
  });

  it('Dom0 (privileged) is not bounded, as in xenstored', () => {
    const s = storeWithData();
    const tx = s.startTransaction(dom0);
    for (let i = 0; i < LIMIT + 10; i++) s.read(dom0, tx, `/data/k${i}`);
    expect(errno(() => s.endTransaction(dom0, tx, true))).toBe('none');
  });

  it('rewriting one node 100,000 times in a transaction keeps one change, reported once at the commit', () => {
    const s = new XenStore();
    s.write(dom0, 0, '/local/domain/1/k', bytesOf(''));
    s.setPerms(dom0, 0, '/local/domain/1/k', ['n1']);
    const reported: string[] = [];
    s.onChange = (ch) => reported.push(...ch.map((c) => c.path));
    const tx = s.startTransaction(d1);
    for (let i = 0; i < 100_000; i++) s.write(d1, tx, '/local/domain/1/k', bytesOf(String(i)));
    expect(s.snapshot().txns[0].changes).toEqual([{ path: '/local/domain/1/k', perms: ['n1'] }]);
    s.endTransaction(d1, tx, true);
    expect(reported).toEqual(['/local/domain/1/k']);
    expect(s.read(d1, 0, '/local/domain/1/k')).toEqual(bytesOf('99999'));
  });

  it('a write and a removal of one path in a transaction: one change, carrying the removed nodes', () => {
    const s = new XenStore();
    s.write(dom0, 0, '/local/domain/1/a/b', bytesOf(''));
    s.setPerms(dom0, 0, '/local/domain/1/a', ['n1']);
    s.setPerms(dom0, 0, '/local/domain/1/a/b', ['n1']);
    const tx = s.startTransaction(d1);
    s.write(d1, tx, '/local/domain/1/a', bytesOf('v'));
    s.rm(d1, tx, '/local/domain/1/a');
    expect(s.snapshot().txns[0].changes).toEqual([
      { path: '/local/domain/1/a', perms: ['n1'], removed: [['/local/domain/1/a', ['n1']], ['/local/domain/1/a/b', ['n1']]] },
    ]);
  });
});

describe('XenStore: permissions per node', () => {
  it(`a DomU sets at most ${DEFAULT_LIMITS.maxPermsPerNode} entries (ENOSPC past it); Dom0 is not bounded`, () => {
    const s = new XenStore();
    s.write(dom0, 0, '/local/domain/1/p', bytesOf(''));
    s.setPerms(dom0, 0, '/local/domain/1/p', ['n1']);
    const perms = (n: number) => ['n1', ...Array.from({ length: n - 1 }, (_, i) => `r${i + 2}`)];
    expect(errno(() => s.setPerms(d1, 0, '/local/domain/1/p', perms(5)))).toBe('none');
    expect(errno(() => s.setPerms(d1, 0, '/local/domain/1/p', perms(6)))).toBe('ENOSPC');
    expect(s.getPerms(d1, 0, '/local/domain/1/p')).toEqual(perms(5));
    expect(errno(() => s.setPerms(dom0, 0, '/local/domain/1/p', perms(40)))).toBe('none');
  });
});
