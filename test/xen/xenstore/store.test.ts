/** The XenStore tree, permission rules, transactions and snapshots, called directly. */
import { describe, expect, it } from 'vitest';
import { XenStore } from '../../../host/xen/xenstore/store';
import { accessFor, canonicalize, isChildOf, parsePerms, type Caller } from '../../../host/xen/xenstore/path';
import { bytesOf, XsError } from '../../../host/xen/xenstore/wire';

const dom0: Caller = { domid: 0, privileged: true, conn: 't' };
const d1: Caller = { domid: 1, privileged: false, conn: 'ring:1' };
const d2: Caller = { domid: 2, privileged: false, conn: 'ring:2' };

function errno(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof XsError) return e.errno;
    throw e;
  }
  return 'none';
}

describe('paths and permissions', () => {
  it('canonicalizes relative paths against /local/domain/<domid> and rejects bad ones', () => {
    expect(canonicalize('device/vbd', 3)).toBe('/local/domain/3/device/vbd');
    expect(canonicalize('/', 3)).toBe('/');
    expect(canonicalize('@releaseDomain', 3, true)).toBe('@releaseDomain');
    for (const bad of ['', '//', '/a//b', '/a/', 'a b', '/a.b']) expect(errno(() => canonicalize(bad, 3))).toBe('EINVAL');
    expect(isChildOf('/a/b', '/a')).toBe(true);
    expect(isChildOf('/a', '/a')).toBe(true);
    expect(isChildOf('/ab', '/a')).toBe(false);
    expect(isChildOf('/x', '/')).toBe(true);
    expect(isChildOf('@releaseDomain', '/')).toBe(false);
  });

  it('accessFor: Dom0 all, owner all, a listed domain its letter, others the first letter', () => {
    const p = parsePerms(['r1', 'w2', 'n3']);
    expect(accessFor(dom0, p)).toEqual({ read: true, write: true });
    expect(accessFor({ domid: 1, privileged: false }, p)).toEqual({ read: true, write: true }); // owner
    expect(accessFor({ domid: 2, privileged: false }, p)).toEqual({ read: false, write: true });
    expect(accessFor({ domid: 3, privileged: false }, p)).toEqual({ read: false, write: false });
    expect(accessFor({ domid: 4, privileged: false }, p)).toEqual({ read: true, write: false }); // "r" for others
    expect(accessFor({ domid: 4, privileged: false }, parsePerms(['b1']))).toEqual({ read: true, write: true });
    expect(errno(() => parsePerms(['q1']))).toBe('EINVAL');
    expect(errno(() => parsePerms(['r65536']))).toBe('EINVAL');
    expect(errno(() => parsePerms([]))).toBe('EINVAL');
  });
});

describe('XenStore tree', () => {
  it('root is "n0": domains cannot create top-level nodes; Dom0 can', () => {
    const s = new XenStore();
    expect(s.getPerms(dom0, 0, '/')).toEqual(['n0']);
    expect(errno(() => s.write(d1, 0, '/x', bytesOf('1')))).toBe('EACCES');
    expect(errno(() => s.read(d1, 0, '/x'))).toBe('EACCES');
    s.write(dom0, 0, '/x/y', bytesOf('1'));
    expect(s.directory(dom0, 0, '/')).toEqual(['x']);
    expect(s.getPerms(dom0, 0, '/x/y')).toEqual(['n0']); // inherited
    expect(errno(() => s.rm(dom0, 0, '/'))).toBe('EINVAL');
  });

  it('an unprivileged creator owns new nodes and its parents, inheriting the rest of the list', () => {
    const s = new XenStore();
    s.mkdir(dom0, 0, '/shared');
    s.setPerms(dom0, 0, '/shared', ['r0', 'w1', 'b2']);
    s.write(d1, 0, '/shared/a/b', bytesOf('v'));
    expect(s.getPerms(dom0, 0, '/shared/a')).toEqual(['r1', 'w1', 'b2']);
    expect(s.getPerms(dom0, 0, '/shared/a/b')).toEqual(['r1', 'w1', 'b2']);
    expect(s.nodeCount(1)).toBe(2);
    expect(s.read(d2, 0, '/shared/a/b')).toEqual(bytesOf('v'));
    s.rm(d2, 0, '/shared/a');
    expect(s.nodeCount(1)).toBe(0);
  });

  it('a transaction sees its own writes; commit applies them and reports the changes once', () => {
    const s = new XenStore();
    const seen: string[] = [];
    s.onChange = (ch) => seen.push(...ch.map((c) => c.path));
    const tx = s.startTransaction(dom0);
    s.write(dom0, tx, '/a', bytesOf('1'));
    s.rm(dom0, tx, '/a');
    s.write(dom0, tx, '/b/c', bytesOf('2'));
    expect(s.exists(dom0, 0, '/b')).toBe(false);
    expect(s.read(dom0, tx, '/b/c')).toEqual(bytesOf('2'));
    expect(seen).toEqual([]);
    s.endTransaction(dom0, tx, true);
    expect(seen).toEqual(['/a', '/b/c']); // one change per path, as C xenstored fires one watch per accessed node
    expect(s.exists(dom0, 0, '/a')).toBe(false);
    expect(s.read(dom0, 0, '/b/c')).toEqual(bytesOf('2'));
  });

  it('EAGAIN when a node the transaction used was changed, created or removed meanwhile', () => {
    const s = new XenStore();
    s.write(dom0, 0, '/k', bytesOf('0'));
    const cases: [string, () => void, (tx: number) => void][] = [
      ['changed', () => s.write(dom0, 0, '/k', bytesOf('x')), (tx) => s.read(dom0, tx, '/k')],
      ['created', () => s.write(dom0, 0, '/new', bytesOf('x')), (tx) => expect(s.exists(dom0, tx, '/new')).toBe(false)],
      ['removed', () => s.rm(dom0, 0, '/k'), (tx) => s.directory(dom0, tx, '/k')],
      ['sibling added under a dir the tx writes', () => s.write(dom0, 0, '/d/other', bytesOf('x')), (tx) => s.write(dom0, tx, '/d/mine', bytesOf('y'))],
    ];
    for (const [name, interfere, use] of cases) {
      s.write(dom0, 0, '/k', bytesOf('0'));
      s.mkdir(dom0, 0, '/d');
      const tx = s.startTransaction(dom0);
      use(tx);
      interfere();
      expect([name, errno(() => s.endTransaction(dom0, tx, true))]).toEqual([name, 'EAGAIN']);
      s.rm(dom0, 0, '/new');
      s.rm(dom0, 0, '/d');
    }
  });

  it('snapshot/restore round-trips nodes, order, permissions and open transactions', () => {
    const s = new XenStore();
    s.write(dom0, 0, '/z', bytesOf('last'));
    s.write(dom0, 0, '/a/b', Uint8Array.of(0, 255, 7));
    s.setPerms(dom0, 0, '/a', ['n1', 'r2']);
    const tx = s.startTransaction(d1);
    s.write(d1, tx, '/a/t', bytesOf('tx'));
    const snap = JSON.parse(JSON.stringify(s.snapshot()));
    const r = new XenStore();
    r.restore(snap);
    expect(r.directory(dom0, 0, '/')).toEqual(['z', 'a']);
    expect(r.read(dom0, 0, '/a/b')).toEqual(Uint8Array.of(0, 255, 7));
    expect(r.getPerms(dom0, 0, '/a')).toEqual(['n1', 'r2']);
    expect(r.nodeCount(1)).toBe(s.nodeCount(1));
    expect(r.read(d1, tx, '/a/t')).toEqual(bytesOf('tx'));
    r.endTransaction(d1, tx, true);
    expect(r.read(dom0, 0, '/a/t')).toEqual(bytesOf('tx'));
    expect(r.snapshot().nodes.length).toBe(s.snapshot().nodes.length + 1);
  });
});
