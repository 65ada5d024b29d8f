/**
 * The XenStore database: a tree of nodes (value + permissions + ordered children), the access
 * rules of docs/misc/xenstore.txt, per-domain quotas, and transactions.
 *
 * Nodes live in a map keyed by absolute path. A node object is never mutated once stored: every
 * change stores a new object with a new generation number, so a transaction's overlay can hold
 * nodes safely. A transaction sees the tree through its overlay (changed or deleted nodes) and
 * remembers the generation of every node it looked at; TRANSACTION_END with "T" fails with
 * EAGAIN if any of those nodes changed since (as xenstored does since Xen 4.9, so unrelated
 * writes do not abort it), otherwise the overlay is applied and the watch events it collected
 * fire then, never earlier.
 *
 * Access rules (checked against the caller, see path.ts accessFor):
 *   READ, DIRECTORY, GET_PERMS  read on the node; a missing node reads ENOENT if its nearest
 *                               existing ancestor is readable, EACCES otherwise (no probing)
 *   WRITE, MKDIR                write on the node; creating it needs write on the nearest
 *                               existing ancestor. New nodes inherit the parent's permissions,
 *                               but an unprivileged creator becomes their owner.
 *   RM                          write on the node; RM of a missing node whose parent exists is OK
 *   SET_PERMS                   write on the node; only privileged callers may change the owner
 */
import { accessFor, baseName, formatPerms, isValidAbsPath, parentOf, parsePerms, type Caller, type Perm } from './path';
import { XsError } from './wire';

/**
 * Quotas for unprivileged domains (C xenstored's defaults: -N 1000, -S 2048, -t 10, -A 5,
 * -W 128, and -Q transaction-nodes=1024; docs/bounds.md lists every bound).
 */
export interface XsLimits {
  /** Nodes one domain may own. */
  maxNodesPerDomain: number;
  /** Bytes of one value. */
  maxValueSize: number;
  /** Open transactions per domain. */
  maxTransactionsPerDomain: number;
  /** Permission entries per node. */
  maxPermsPerNode: number;
  /** Watches per domain. */
  maxWatchesPerDomain: number;
  /**
   * Distinct nodes one transaction may look at or change (C xenstored's quota_trans_nodes,
   * XSA-326: a transaction keeps every node it accessed until it ends). The access past it
   * fails with ENOSPC and dooms the transaction: its commit fails with ENOMEM, as
   * xenstored_transaction.c's access_node and do_transaction_end do.
   */
  maxNodesPerTransaction: number;
  /** Bytes of replies and events queued for one connection the guest has not consumed yet. */
  maxPendingOutput: number;
}

/** The defaults of XsLimits. */
export const DEFAULT_LIMITS: XsLimits = {
  maxNodesPerDomain: 1000,
  maxValueSize: 2048,
  maxTransactionsPerDomain: 10,
  maxPermsPerNode: 5,
  maxWatchesPerDomain: 128,
  maxNodesPerTransaction: 1024,
  maxPendingOutput: 64 * 1024,
};

/** One stored node. Never mutated after it is stored. */
interface XsNode {
  readonly value: Uint8Array;
  readonly perms: readonly Perm[];
  readonly children: readonly string[];
  /** Generation: the store's change counter when this version was stored. */
  readonly gen: number;
}

/** A modification that watches may match (xenstore.txt, WATCH). */
export interface StoreChange {
  /** The node written, created, re-permissioned or removed. */
  path: string;
  /** Its permissions (before removal, for RM): who may be told. */
  perms: readonly Perm[];
  /** For RM: every removed path with its permissions (watches below `path` fire too). */
  removed?: ReadonlyMap<string, readonly Perm[]>;
}

interface Txn {
  id: number;
  caller: Caller;
  overlay: Map<string, XsNode | null>;
  /** Generation of each base node looked at, -1 if it did not exist (every node the transaction accessed). */
  seen: Map<string, number>;
  /** What the commit reports to watches: one change per path (see emit). */
  changes: StoreChange[];
  /** An access went past maxNodesPerTransaction: the commit fails (ENOMEM). */
  failed: boolean;
  /** Change in nodes owned per domain, not yet applied. */
  delta: Map<number, number>;
}

/** Plain-data state of a XenStore (snapshot/restore). */
export interface StoreSnapshot {
  gen: number;
  nextTxId: number;
  nodes: { path: string; value: number[]; perms: string[]; gen: number }[];
  txns: {
    id: number;
    caller: Caller;
    overlay: { path: string; node: { value: number[]; perms: string[]; children: string[]; gen: number } | null }[];
    seen: [string, number][];
    changes: { path: string; perms: string[]; removed?: [string, string[]][] }[];
    delta: [number, number][];
    failed?: boolean;
  }[];
}

const ROOT_PERMS: Perm[] = [{ domid: 0, perm: 'n' }];

/** The XenStore tree with permissions, quotas and transactions. */
export class XenStore {
  private readonly nodes = new Map<string, XsNode>();
  private readonly owned = new Map<number, number>();
  private readonly txns = new Map<number, Txn>();
  private gen = 0;
  private nextTxId = 1;
  /** Called with the changes of each completed operation or committed transaction. */
  onChange: ((changes: StoreChange[]) => void) | null = null;
  readonly limits: XsLimits;

  constructor(limits: Partial<XsLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.setBase('/', { value: new Uint8Array(0), perms: ROOT_PERMS, children: [], gen: 0 });
  }

  // ---- public operations (paths are absolute; the server canonicalizes what guests send) ----

  /** READ: the value at `path`. */
  read(caller: Caller, txId: number, path: string): Uint8Array {
    return this.readable(this.txn(caller, txId), caller, path).value.slice();
  }

  /** DIRECTORY: the leaf names of the children of `path`, in creation order. */
  directory(caller: Caller, txId: number, path: string): string[] {
    return [...this.readable(this.txn(caller, txId), caller, path).children];
  }

  /** GET_PERMS: the permission strings of `path`, owner first. */
  getPerms(caller: Caller, txId: number, path: string): string[] {
    return formatPerms(this.readable(this.txn(caller, txId), caller, path).perms);
  }

  /** True if `path` exists and the caller may read it. */
  exists(caller: Caller, txId: number, path: string): boolean {
    try {
      this.readable(this.txn(caller, txId), caller, path);
      return true;
    } catch (e) {
      if (e instanceof XsError && e.errno === 'ENOENT') return false;
      throw e;
    }
  }

  /** WRITE: store `value` at `path`, creating missing parents with empty values. */
  write(caller: Caller, txId: number, path: string, value: Uint8Array): void {
    const tx = this.txn(caller, txId);
    checkPath(path);
    if (!caller.privileged && value.length > this.limits.maxValueSize) throw new XsError('ENOSPC', 'value too large');
    const node = this.look(tx, path);
    if (node) {
      if (!accessFor(caller, node.perms).write) throw new XsError('EACCES');
      this.put(tx, path, { ...node, value: value.slice() });
    } else {
      this.create(tx, caller, path, value.slice());
    }
    this.emit(tx, { path, perms: this.look(tx, path)!.perms });
  }

  /** MKDIR: make sure `path` exists (an existing node is left as it is). */
  mkdir(caller: Caller, txId: number, path: string): void {
    const tx = this.txn(caller, txId);
    checkPath(path);
    const node = this.look(tx, path);
    if (node) {
      if (!accessFor(caller, node.perms).write) throw new XsError('EACCES');
      return;
    }
    this.create(tx, caller, path, new Uint8Array(0));
    this.emit(tx, { path, perms: this.look(tx, path)!.perms });
  }

  /** RM: remove `path` and everything below it. */
  rm(caller: Caller, txId: number, path: string): void {
    const tx = this.txn(caller, txId);
    checkPath(path);
    const node = this.look(tx, path);
    if (node && !accessFor(caller, node.perms).write) throw new XsError('EACCES');
    if (path === '/') throw new XsError('EINVAL', 'cannot remove /');
    if (!node) {
      // Removing a missing node is fine if its parent exists (and nothing hides it from us).
      const anc = this.ancestor(tx, path);
      if (!accessFor(caller, anc.node.perms).read) throw new XsError('EACCES');
      if (anc.path === parentOf(path)) return;
      throw new XsError('ENOENT');
    }
    if (!accessFor(caller, node.perms).write) throw new XsError('EACCES');
    const removed = new Map<string, readonly Perm[]>();
    const stack = [path];
    // Bounded: each path is visited once and the store holds finitely many nodes.
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.look(tx, p);
      if (!n) continue;
      removed.set(p, n.perms);
      for (const c of n.children) stack.push(p === '/' ? `/${c}` : `${p}/${c}`);
      this.put(tx, p, null);
    }
    const parentPath = parentOf(path);
    const parent = this.look(tx, parentPath)!;
    const leaf = baseName(path);
    this.put(tx, parentPath, { ...parent, children: parent.children.filter((c) => c !== leaf) });
    this.emit(tx, { path, perms: node.perms, removed });
  }

  /** SET_PERMS: replace the permissions of `path` (strings like "n0", "r1"). */
  setPerms(caller: Caller, txId: number, path: string, permStrings: readonly string[]): void {
    const tx = this.txn(caller, txId);
    checkPath(path);
    const perms = parsePerms(permStrings);
    if (!caller.privileged && perms.length > this.limits.maxPermsPerNode) throw new XsError('ENOSPC', 'too many permissions');
    const node = this.look(tx, path) ?? this.missing(tx, caller, path, 'read');
    if (!accessFor(caller, node.perms).write) throw new XsError('EACCES');
    if (!caller.privileged && perms[0].domid !== node.perms[0].domid) throw new XsError('EPERM', 'only Dom0 may change the owner');
    this.put(tx, path, { ...node, perms });
    this.emit(tx, { path, perms });
  }

  /** TRANSACTION_START: a new transaction id for `caller`. */
  startTransaction(caller: Caller): number {
    if (!caller.privileged) {
      let open = 0;
      for (const t of this.txns.values()) if (t.caller.domid === caller.domid) open++;
      if (open >= this.limits.maxTransactionsPerDomain) throw new XsError('ENOSPC', 'too many transactions');
    }
    let id = this.nextTxId;
    // At most txns.size + 1 probes find a free non-zero id.
    while (id === 0 || this.txns.has(id)) id = (id + 1) >>> 0;
    this.nextTxId = (id + 1) >>> 0;
    this.txns.set(id, { id, caller: { ...caller }, overlay: new Map(), seen: new Map(), changes: [], delta: new Map(), failed: false });
    return id;
  }

  /**
   * TRANSACTION_END: commit (`commit` true, "T") or discard ("F"). The transaction is gone
   * afterwards either way. EAGAIN when a node it used changed meanwhile.
   */
  endTransaction(caller: Caller, txId: number, commit: boolean): void {
    if (txId === 0) throw new XsError('EINVAL', 'no transaction');
    const tx = this.txn(caller, txId)!;
    this.txns.delete(txId);
    if (!commit) return;
    if (tx.failed) throw new XsError('ENOMEM', 'transaction accessed too many nodes');
    for (const [p, g] of tx.seen) {
      const cur = this.nodes.get(p);
      if ((cur ? cur.gen : -1) !== g) throw new XsError('EAGAIN');
    }
    if (!tx.caller.privileged) {
      for (const [d, n] of tx.delta) {
        if (n > 0 && (this.owned.get(d) ?? 0) + n > this.limits.maxNodesPerDomain) throw new XsError('ENOSPC', 'node quota');
      }
    }
    for (const [p, n] of tx.overlay) this.setBase(p, n ? { ...n, gen: ++this.gen } : null);
    if (tx.changes.length > 0) this.onChange?.(tx.changes);
  }

  /** Ends every transaction opened by connection `conn` (a connection closed or reset). */
  dropTransactions(conn: string): void {
    for (const [id, t] of this.txns) if (t.caller.conn === conn) this.txns.delete(id);
  }

  /** Open transactions of a domain. */
  transactionCount(domid: number): number {
    let n = 0;
    for (const t of this.txns.values()) if (t.caller.domid === domid) n++;
    return n;
  }

  /** Nodes owned by `domid`. */
  nodeCount(domid: number): number {
    return this.owned.get(domid) ?? 0;
  }

  /** Plain-data copy of the whole store, including open transactions. */
  snapshot(): StoreSnapshot {
    const nodes: StoreSnapshot['nodes'] = [];
    const stack = ['/'];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.nodes.get(p)!;
      nodes.push({ path: p, value: [...n.value], perms: formatPerms(n.perms), gen: n.gen });
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(p === '/' ? `/${n.children[i]}` : `${p}/${n.children[i]}`);
    }
    const txns = [...this.txns.values()].map((t) => ({
      id: t.id,
      caller: { ...t.caller },
      overlay: [...t.overlay].map(([path, n]) => ({
        path,
        node: n ? { value: [...n.value], perms: formatPerms(n.perms), children: [...n.children], gen: n.gen } : null,
      })),
      seen: [...t.seen],
      changes: t.changes.map((c) => ({
        path: c.path,
        perms: formatPerms(c.perms),
        ...(c.removed ? { removed: [...c.removed].map(([p, ps]) => [p, formatPerms(ps)] as [string, string[]]) } : {}),
      })),
      delta: [...t.delta],
      ...(t.failed ? { failed: true } : {}),
    }));
    return { gen: this.gen, nextTxId: this.nextTxId, nodes, txns };
  }

  /** Replaces the whole store with a snapshot (nodes listed parents first, children in order). */
  restore(s: StoreSnapshot): void {
    this.nodes.clear();
    this.owned.clear();
    this.txns.clear();
    for (const n of s.nodes) {
      const node: XsNode = { value: Uint8Array.from(n.value), perms: parsePerms(n.perms), children: [], gen: n.gen };
      if (n.path !== '/') {
        const parent = this.nodes.get(parentOf(n.path))!;
        this.nodes.set(parentOf(n.path), { ...parent, children: [...parent.children, baseName(n.path)] });
      }
      this.setBase(n.path, node);
    }
    for (const t of s.txns) {
      this.txns.set(t.id, {
        id: t.id,
        caller: { ...t.caller },
        overlay: new Map(t.overlay.map((o) => [o.path, o.node ? { value: Uint8Array.from(o.node.value), perms: parsePerms(o.node.perms), children: [...o.node.children], gen: o.node.gen } : null])),
        seen: new Map(t.seen),
        changes: t.changes.map((c) => ({ path: c.path, perms: parsePerms(c.perms), ...(c.removed ? { removed: new Map(c.removed.map(([p, ps]) => [p, parsePerms(ps)])) } : {}) })),
        delta: new Map(t.delta),
        failed: t.failed ?? false,
      });
    }
    this.gen = s.gen;
    this.nextTxId = s.nextTxId;
  }

  // ---- internals ----

  private txn(caller: Caller, txId: number): Txn | null {
    if (txId === 0) return null;
    const tx = this.txns.get(txId);
    if (!tx || tx.caller.domid !== caller.domid || tx.caller.conn !== caller.conn) throw new XsError('ENOENT', 'no such transaction');
    return tx;
  }

  /** The node at `path` as the transaction (or the live tree) sees it; records what was seen. */
  private look(tx: Txn | null, path: string): XsNode | undefined {
    if (!tx) return this.nodes.get(path);
    const o = tx.overlay.get(path);
    if (o !== undefined) return o ?? undefined;
    const n = this.nodes.get(path);
    if (!tx.seen.has(path)) {
      if (!tx.caller.privileged && tx.seen.size >= this.limits.maxNodesPerTransaction) {
        tx.failed = true;
        throw new XsError('ENOSPC', 'too many nodes in the transaction');
      }
      tx.seen.set(path, n ? n.gen : -1);
    }
    return n;
  }

  private put(tx: Txn | null, path: string, node: XsNode | null): void {
    if (!tx) {
      this.setBase(path, node ? { ...node, gen: ++this.gen } : null);
      return;
    }
    const old = this.look(tx, path);
    if (old) tx.delta.set(old.perms[0].domid, (tx.delta.get(old.perms[0].domid) ?? 0) - 1);
    if (node) tx.delta.set(node.perms[0].domid, (tx.delta.get(node.perms[0].domid) ?? 0) + 1);
    tx.overlay.set(path, node);
  }

  private setBase(path: string, node: XsNode | null): void {
    const old = this.nodes.get(path);
    if (old) this.owned.set(old.perms[0].domid, (this.owned.get(old.perms[0].domid) ?? 1) - 1);
    if (node) {
      this.nodes.set(path, node);
      this.owned.set(node.perms[0].domid, (this.owned.get(node.perms[0].domid) ?? 0) + 1);
    } else {
      this.nodes.delete(path);
    }
  }

  /**
   * Report a change: at once, or at the commit of `tx`. A transaction reports each path once
   * (as C xenstored fires one watch per accessed node at commit), with the permissions of its
   * first change and every node any of its removals took, so that rewriting one node a million
   * times in a transaction keeps one entry, not a million.
   */
  private emit(tx: Txn | null, change: StoreChange): void {
    if (!tx) {
      this.onChange?.([change]);
      return;
    }
    const i = tx.changes.findIndex((c) => c.path === change.path); // at most maxNodesPerTransaction paths
    if (i < 0) {
      tx.changes.push(change);
      return;
    }
    const was = tx.changes[i];
    if (change.removed) tx.changes[i] = { path: was.path, perms: was.perms, removed: new Map([...change.removed, ...(was.removed ?? [])]) };
  }

  /** The existing node at `path` the caller may read, or the right error. */
  private readable(tx: Txn | null, caller: Caller, path: string): XsNode {
    checkPath(path);
    const node = this.look(tx, path) ?? this.missing(tx, caller, path, 'read');
    if (!accessFor(caller, node.perms).read) throw new XsError('EACCES');
    return node;
  }

  /**
   * For a missing `path`: throws EACCES if the nearest existing ancestor denies `need` to the
   * caller, ENOENT otherwise (xenstored's errno_from_parents).
   */
  private missing(tx: Txn | null, caller: Caller, path: string, need: 'read' | 'write'): never {
    const anc = this.ancestor(tx, path);
    const a = accessFor(caller, anc.node.perms);
    if (!(need === 'read' ? a.read : a.write)) throw new XsError('EACCES');
    throw new XsError('ENOENT');
  }

  /** The nearest existing proper ancestor of `path` (the root always exists). */
  private ancestor(tx: Txn | null, path: string): { path: string; node: XsNode } {
    let p = path;
    // Bounded by the path's depth: each step removes one component; "/" always exists.
    for (;;) {
      p = parentOf(p);
      const n = this.look(tx, p);
      if (n) return { path: p, node: n };
    }
  }

  /** Creates `path` and its missing parents; needs write on the nearest existing ancestor. */
  private create(tx: Txn | null, caller: Caller, path: string, value: Uint8Array): void {
    const anc = this.ancestor(tx, path);
    if (!accessFor(caller, anc.node.perms).write) throw new XsError('EACCES');
    const rest = path.slice(anc.path === '/' ? 1 : anc.path.length + 1).split('/');
    if (!caller.privileged) {
      const have = (this.owned.get(caller.domid) ?? 0) + (tx?.delta.get(caller.domid) ?? 0);
      if (have + rest.length > this.limits.maxNodesPerDomain) throw new XsError('ENOSPC', 'node quota');
    }
    let parentPath = anc.path;
    let parent = anc.node;
    for (let i = 0; i < rest.length; i++) {
      const childPath = parentPath === '/' ? `/${rest[i]}` : `${parentPath}/${rest[i]}`;
      const perms: Perm[] = caller.privileged ? [...parent.perms] : [{ domid: caller.domid, perm: parent.perms[0].perm }, ...parent.perms.slice(1)];
      const child: XsNode = { value: i === rest.length - 1 ? value : new Uint8Array(0), perms, children: [], gen: 0 };
      this.put(tx, parentPath, { ...parent, children: [...parent.children, rest[i]] });
      this.put(tx, childPath, child);
      parentPath = childPath;
      parent = child;
    }
  }
}

function checkPath(path: string): void {
  if (!isValidAbsPath(path)) throw new XsError('EINVAL', 'bad path');
}
