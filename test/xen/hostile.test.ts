/**
 * A hostile DomU against the grant tables and event channels, by property: random grant
 * entries and random operation sequences (grants revoked or rewritten under live mappings,
 * foreign grantees, refs out of range, read-only grants written, table frames and the
 * shared-info page granted, wild hypercall arguments, a domain destroyed mid-mapping).
 *
 * The memories record every frame the hypervisor side touches. After every single operation
 * the test checks that each frame touched is one the operation may touch: the granter's
 * table frames, the frame a valid entry granted to the host right before the operation, the
 * frames of mappings live at that moment, and (for a guest's own hypercalls) that guest's
 * own frames; and that nothing threw. Cases: GRANT_RUNS + EVTCHN_RUNS >= 20,000.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventChannels } from '../../host/xen/event-channel';
import { GrantTables, type GrantCopySide, type GrantMapping } from '../../host/xen/grant-table';
import * as H from '../../host/xen/hypercall-abi';
import { SharedInfoPage } from '../../host/xen/shared-info';
import { RAM_GFN, TestMemory } from './memory';

const GRANT_RUNS = Number(process.env.GRANT_RUNS ?? 14_000);
const EVTCHN_RUNS = Number(process.env.EVTCHN_RUNS ?? 10_000);

const NFRAMES = 12;
const SI = RAM_GFN + 8n;
const TABLE = [RAM_GFN + 9n, RAM_GFN + 10n];
const GNTST = new Set([0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13]);

// ---- generators --------------------------------------------------------------------------

const ref = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 2, arbitrary: fc.constantFrom(510, 511, 512, 513, 1023, 1024, 0xffffffff, -1, 2 ** 40) },
);
const frameNo = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: NFRAMES + 1 }).map((i) => Number(RAM_GFN) + i) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 0xffffffff, Number(RAM_GFN) - 1) },
);
const flags = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(
    H.GTF_permit_access, H.GTF_permit_access | H.GTF_readonly, H.GTF_invalid, H.GTF_accept_transfer,
    H.GTF_transitive, H.GTF_permit_access | H.GTF_reading | H.GTF_writing, H.GTF_permit_access | H.GTF_sub_page) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);
const domid = fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constantFrom(1, 2, 3, H.DOMID_SELF) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) });
const granter = fc.constantFrom(1, 1, 1, 2, 3);
const offset = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 4096 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 4095, 4097, 65535, 0.5) });
const len = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) }, { weight: 1, arbitrary: fc.constantFrom(4096, 4097, 1, 0, -1) });
const side: fc.Arbitrary<GrantCopySide> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('gref' as const), domid: granter, ref, offset }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('local' as const), buffer: fc.integer({ min: 0, max: 80 }).map((n) => new Uint8Array(n)), offset }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('gmfn' as const), gmfn: fc.bigInt({ min: RAM_GFN - 1n, max: RAM_GFN + 13n }), offset }) },
);

type GrantOp =
  | { k: 'entry'; ref: number; flags: number; domid: number; frame: number }
  | { k: 'raw'; ref: number; bytes: Uint8Array }
  | { k: 'setup'; n: number }
  | { k: 'map'; dom: number; ref: number; ro: boolean }
  | { k: 'unmap'; i: number }
  | { k: 'access'; i: number; off: number; len: number; write: boolean }
  | { k: 'copy'; ops: { source: GrantCopySide; dest: GrantCopySide; len: number }[] }
  | { k: 'hcall'; cmd: number; frame: number; off: number; count: number; bytes: Uint8Array }
  | { k: 'destroy' };

const grantOp: fc.Arbitrary<GrantOp> = fc.oneof(
  { weight: 25, arbitrary: fc.record({ k: fc.constant('entry' as const), ref, flags, domid, frame: frameNo }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('raw' as const), ref, bytes: fc.uint8Array({ minLength: 8, maxLength: 8 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('setup' as const), n: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 30, arbitrary: fc.record({ k: fc.constant('map' as const), dom: granter, ref, ro: fc.boolean() }) },
  { weight: 15, arbitrary: fc.record({ k: fc.constant('unmap' as const), i: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 20, arbitrary: fc.record({ k: fc.constant('access' as const), i: fc.integer({ min: 0, max: 6 }), off: fc.integer({ min: 0, max: 4096 }), len: fc.integer({ min: 0, max: 4096 }), write: fc.boolean() }) },
  { weight: 15, arbitrary: fc.record({ k: fc.constant('copy' as const), ops: fc.array(fc.record({ source: side, dest: side, len }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 10, arbitrary: fc.record({
    k: fc.constant('hcall' as const), cmd: fc.constantFrom(H.GNTTABOP_setup_table, H.GNTTABOP_query_size, H.GNTTABOP_copy, H.GNTTABOP_map_grant_ref, 99),
    frame: fc.integer({ min: -1, max: NFRAMES }), off: fc.integer({ min: 0, max: 4095 }), count: fc.constantFrom(0, 1, 2, 3, 1025),
    bytes: fc.uint8Array({ minLength: 120, maxLength: 120 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'destroy' as const }) },
);

// ---- the world ---------------------------------------------------------------------------

function entryOf(mem: TestMemory, r: number): { flags: number; domid: number; frame: number } | undefined {
  if (!Number.isInteger(r) || r < 0 || r >= 1024) return undefined;
  const f = TABLE[Math.floor(r / 512)];
  if (!mem.hasFrame(f)) return undefined;
  const b = mem.peek(f, (r % 512) * 8, 8);
  const v = new DataView(b.buffer);
  return { flags: v.getUint16(0, true), domid: v.getUint16(2, true), frame: v.getUint32(4, true) };
}

function runGrantCase(ops: GrantOp[], withD2Grants: boolean): void {
  const mems = new Map<number, TestMemory>([[1, new TestMemory(1, NFRAMES)], [2, new TestMemory(2, NFRAMES)]]);
  const gt = new GrantTables();
  for (const [d, m] of mems) gt.addDomain(d, { memory: m, frames: TABLE, reservedFrames: [SI], maxMappings: 5 });
  const d2 = mems.get(2)!;
  if (withD2Grants) {
    // a well-behaved bystander: refs 0..2 granted to the host, ref 3 to d1
    [[0, 1, 0], [1, 5, 0], [2, 2 | 4, 0], [3, 1, 1]].forEach(([r, fl, dm]) => {
      d2.poke(TABLE[0], r * 8, [fl & 0xff, fl >> 8, dm, 0, Number(RAM_GFN) + r, 0, 8, 0]);
    });
  }
  const held: GrantMapping[] = [];
  const destroyed = new Set<number>();

  for (const op of ops) {
    // What the operation may touch, decided from state BEFORE it runs.
    const allowed = new Map<number, Set<bigint>>([[1, new Set(TABLE)], [2, new Set(TABLE)]]);
    const allow = (d: number, f: bigint) => allowed.get(d)?.add(f);
    for (const m of held) if (m.live) allow(m.granter, BigInt(readFrame(m)));
    const legit = (d: number, r: number, ro: boolean, grantee: number) => {
      const m = mems.get(d);
      const e = m && entryOf(m, r);
      if (!m || !e) return;
      if ((e.flags & 3) === H.GTF_permit_access && e.domid === grantee && (ro || !(e.flags & H.GTF_readonly))) {
        const f = BigInt(e.frame);
        if (f !== SI && !TABLE.includes(f) && m.hasFrame(f)) allow(d, f);
      }
    };
    let callerOwn = 0;
    switch (op.k) {
      case 'map': legit(op.dom, op.ref, op.ro, 0); break;
      case 'copy':
        for (const c of op.ops) {
          if (c.source.kind === 'gref') legit(c.source.domid, c.source.ref, true, 0);
          if (c.dest.kind === 'gref') legit(c.dest.domid, c.dest.ref, false, 0);
        }
        break;
      case 'hcall': {
        callerOwn = 1; // d1's own hypercall may touch d1's own frames; d2's grants to d1 only
        for (let r = 0; r < 1024; r += r < 8 ? 1 : 500) { legit(2, r, true, 1); legit(2, r, false, 1); }
        break;
      }
    }
    for (const m of mems.values()) m.touched.clear();

    let threw: unknown;
    try {
      applyGrantOp(gt, mems, held, destroyed, op);
    } catch (e) {
      threw = e;
    }
    if (threw) throw new Error(`op ${JSON.stringify(op, big)} threw: ${String(threw)}`);
    for (const [d, m] of mems) {
      if (d === callerOwn) continue;
      for (const f of m.touched) {
        if (!allowed.get(d)!.has(f)) throw new Error(`op ${JSON.stringify(op, big)} touched d${d} frame 0x${f.toString(16)}`);
      }
    }
  }
  // Unmapping everything leaves no pins and no counted mappings.
  for (const m of held) if (m.live) expect(gt.unmap(m)).toBe(0);
  expect(gt.activeMappings(1)).toBe(0);
  expect(gt.activeMappings(2)).toBe(0);
  expect(gt.snapshot().domains.every((d) => d.active.length === 0)).toBe(true);
}

/** The frame a live mapping reaches (from the snapshot, the test's side channel). */
const frameOfHandle = new WeakMap<GrantMapping, number>();
function readFrame(m: GrantMapping): number {
  return frameOfHandle.get(m)!;
}

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `u8[${v.length}]` : v;
}

function applyGrantOp(gt: GrantTables, mems: Map<number, TestMemory>, held: GrantMapping[], destroyed: Set<number>, op: GrantOp): void {
  const m1 = mems.get(1)!;
  switch (op.k) {
    case 'entry':
    case 'raw': {
      if (!Number.isInteger(op.ref) || op.ref < 0 || op.ref >= 1024) return; // outside its table frames
      const b = op.k === 'raw' ? op.bytes : Uint8Array.of(op.flags & 0xff, op.flags >> 8, op.domid & 0xff, op.domid >> 8,
        op.frame & 0xff, (op.frame >>> 8) & 0xff, (op.frame >>> 16) & 0xff, op.frame >>> 24);
      m1.poke(TABLE[Math.floor(op.ref / 512)], (op.ref % 512) * 8, b);
      return;
    }
    case 'setup': {
      const r = gt.setupTable(1, H.DOMID_SELF, op.n);
      expect(r.status).toBe(destroyed.has(1) ? H.GNTST_bad_domain : op.n <= 2 ? 0 : H.GNTST_general_error);
      return;
    }
    case 'map': {
      // The test's own oracle, from the entry as it is now and the mappings the test holds:
      // `want` is the only frame a successful map may reach; undefined means it must fail.
      const mem = mems.get(op.dom);
      const e = mem && entryOf(mem, op.ref);
      const entryOk = (ro: boolean) => e !== undefined && (e.flags & 3) === H.GTF_permit_access && e.domid === 0 &&
        (ro || !(e.flags & H.GTF_readonly)) && mem!.hasFrame(BigInt(e.frame)) && BigInt(e.frame) !== SI && !TABLE.includes(BigInt(e.frame));
      const same = held.filter((h) => h.live && h.granter === op.dom && h.ref === op.ref);
      let want: number | undefined;
      if (same.length > 0) {
        const pinned = readFrame(same[0]);
        if (op.ro || same.some((h) => !h.readonly)) want = pinned; // already pinned that way: reused
        else if (entryOk(false) && e!.frame === pinned) want = pinned; // upgrade: entry re-validated
      } else if (entryOk(op.ro)) want = e!.frame;
      const room = held.filter((h) => h.live && h.granter === op.dom).length < 5;
      const inTable = gt.hasDomain(op.dom) && Number.isInteger(op.ref) && op.ref >= 0 && op.ref < gt.querySize(0, op.dom).nrFrames * 512;

      const r = gt.map(op.dom, op.ref, op.ro);
      assert(GNTST.has(r.status), `map status ${r.status}`);
      if (op.dom === 3 || destroyed.has(op.dom)) assert(r.status === H.GNTST_bad_domain, `map of a missing domain: ${r.status}`);
      if (r.mapping) {
        const snap = gt.snapshot().mappings.find((x) => x.handle === r.mapping!.handle)!;
        assert(want !== undefined && snap.frame === want, `map d${op.dom} ref ${op.ref} succeeded on frame 0x${snap.frame.toString(16)}, granted: ${want}`);
        frameOfHandle.set(r.mapping, snap.frame);
        held.push(r.mapping);
      } else {
        assert(!(want !== undefined && room && inTable), `map d${op.dom} ref ${op.ref} of a valid grant refused: ${r.status}`);
      }
      return;
    }
    case 'unmap': {
      const m = held[op.i];
      if (!m) { expect(gt.unmap(1000 + op.i)).toBe(H.GNTST_bad_handle); return; }
      const live = m.live;
      expect(gt.unmap(m)).toBe(live ? 0 : H.GNTST_bad_handle);
      return;
    }
    case 'access': {
      // A correct backend: validates offsets against the page before using a live mapping.
      const m = held[op.i];
      if (!m || !m.live || op.off + op.len > 4096) return;
      if (op.write && !m.readonly) m.write(op.off, new Uint8Array(op.len).fill(0x5a));
      else m.read(op.off, op.len);
      return;
    }
    case 'copy': {
      const st = gt.copy(op.ops);
      expect(st).toHaveLength(op.ops.length);
      for (const s of st) expect(GNTST.has(s)).toBe(true);
      return;
    }
    case 'hcall': {
      if (op.frame >= 0 && op.frame < NFRAMES) m1.poke(RAM_GFN + BigInt(op.frame), op.off, op.bytes.subarray(0, Math.min(120, 4096 - op.off)));
      const gpa = op.frame < 0 ? 0x1000n : ((RAM_GFN + BigInt(op.frame)) << 12n) + BigInt(op.off);
      const rc = gt.hypercall(1, op.cmd, gpa, op.count);
      expect([0, -14, -22, -38, -3]).toContain(rc);
      return;
    }
    case 'destroy':
      gt.removeDomain(1);
      destroyed.add(1);
      return;
  }
}

// ---- event channels ----------------------------------------------------------------------

type EvOp =
  | { k: 'alloc'; dom: number; remote: number }
  | { k: 'bind'; remote: number; port: number }
  | { k: 'virq'; virq: number; vcpu: number }
  | { k: 'close' | 'send' | 'unmask'; port: number }
  | { k: 'status'; dom: number; port: number }
  | { k: 'poke'; off: number; byte: number }
  | { k: 'hcall'; cmd: number; frame: number; off: number; bytes: Uint8Array }
  | { k: 'raise'; virq: number; vcpu: number }
  | { k: 'hostNotify'; port: number };

const port = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 63, 64, 1023, 1024, 4095, 4096, 2 ** 32 - 1, 0.5) });
const evDom = fc.constantFrom(0, 1, 2, 3, H.DOMID_SELF, 0xffff);
const evOp: fc.Arbitrary<EvOp> = fc.oneof(
  fc.record({ k: fc.constant('alloc' as const), dom: evDom, remote: evDom }),
  fc.record({ k: fc.constant('bind' as const), remote: evDom, port }),
  fc.record({ k: fc.constant('virq' as const), virq: fc.integer({ min: -1, max: 25 }), vcpu: fc.integer({ min: -1, max: 3 }) }),
  fc.record({ k: fc.constantFrom('close' as const, 'send' as const, 'unmask' as const), port }),
  fc.record({ k: fc.constant('status' as const), dom: evDom, port }),
  fc.record({ k: fc.constant('poke' as const), off: fc.integer({ min: 0, max: 4095 }), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('hcall' as const), cmd: fc.integer({ min: 0, max: 14 }), frame: fc.integer({ min: -1, max: 3 }), off: fc.integer({ min: 0, max: 4095 }), bytes: fc.uint8Array({ minLength: 24, maxLength: 24 }) }),
  fc.record({ k: fc.constant('raise' as const), virq: fc.integer({ min: -1, max: 25 }), vcpu: fc.integer({ min: -1, max: 3 }) }),
  fc.record({ k: fc.constant('hostNotify' as const), port }),
);

function runEvCase(ops: EvOp[]): void {
  const upcalls: [number, number][] = [];
  const ev = new EventChannels((d, v) => upcalls.push([d, v]));
  const m1 = new TestMemory(1, 4);
  const m2 = new TestMemory(2, 4);
  const si1 = new SharedInfoPage(m1, RAM_GFN + 3n, 2);
  const si2 = new SharedInfoPage(m2, RAM_GFN + 3n, 2);
  ev.addDomain({ domid: 1, sharedInfo: si1, maxPorts: 64 });
  ev.addDomain({ domid: 2, sharedInfo: si2, maxPorts: 64 });
  // d2 and d1 share one legitimate channel; the host serves d1 on another.
  const p1 = ev.allocUnbound(1, H.DOMID_SELF, 2);
  const p2 = ev.bindInterdomain(2, 1, p1);
  const hostCalls: number[] = [];
  const g = ev.allocUnbound(1, H.DOMID_SELF, 0);
  const hp = ev.hostBindInterdomain(1, g, (p) => hostCalls.push(p));
  // Ports waiting for someone else: d1 must never get hold of them.
  ev.allocUnbound(2, H.DOMID_SELF, 0);
  ev.hostAllocUnbound(2, (p) => hostCalls.push(p));
  si2.clearPending(p2);
  m2.poke(RAM_GFN + 3n, 0, new Uint8Array(16)); // d2 consumed the bind notification
  let sends = 0;
  for (const op of ops) {
    m2.touched.clear();
    const before = hostCalls.length;
    try {
      switch (op.k) {
        case 'alloc': check(ev.allocUnbound(1, op.dom, op.remote)); break;
        case 'bind': check(ev.bindInterdomain(1, op.remote, op.port)); break;
        case 'virq': check(ev.bindVirq(1, op.virq, op.vcpu)); break;
        case 'close': check(ev.close(1, op.port)); break;
        case 'send': check(ev.send(1, op.port)); sends++; break;
        case 'unmask': check(ev.unmask(1, op.port)); break;
        case 'status': check(ev.status(1, op.dom, op.port).rc); break;
        case 'poke': m1.poke(RAM_GFN + 3n, op.off, [op.byte]); break;
        case 'hcall': {
          if (op.frame >= 0) m1.poke(RAM_GFN + BigInt(op.frame), op.off, op.bytes.subarray(0, Math.min(24, 4096 - op.off)));
          const gpa = op.frame < 0 ? 0n : ((RAM_GFN + BigInt(op.frame)) << 12n) + BigInt(op.off);
          const rc = ev.hypercall(1, op.cmd, gpa);
          check(rc);
          if (op.cmd === H.EVTCHNOP_send) sends++;
          break;
        }
        case 'raise': ev.raiseVirq(1, op.virq, op.vcpu); break;
        case 'hostNotify': check(ev.hostNotify(op.port)); break;
      }
    } catch (e) {
      throw new Error(`op ${JSON.stringify(op, big)} threw: ${String(e)}`);
    }
    // d2's memory: only its shared-info page, and only when d1 sent.
    for (const f of m2.touched) assert(f === RAM_GFN + 3n, `op ${JSON.stringify(op, big)} touched d2 frame 0x${f.toString(16)}`);
    assert(hostCalls.length - before <= 1, `op ${JSON.stringify(op, big)} notified the host ${hostCalls.length - before} times`);
  }
  for (const [d, v] of upcalls) assert((d === 1 || d === 2) && (v === 0 || v === 1), `upcall to d${d} vcpu ${v}`);
  // d2 can only ever have been signalled on p2 (d1 may rebind d2's port only if d2 allocated it for d1).
  const pend = m2.peek(RAM_GFN + 3n, 0x800, 512);
  pend.forEach((b, i) => assert((i === p2 >> 3 ? b & ~(1 << (p2 & 7)) : b) === 0, `d2 pending byte ${i} = ${b}`));
  assert(hostCalls.length <= sends + 1, `host notified ${hostCalls.length} times for ${sends} sends`);
  assert(hostCalls.every((p) => p === hp), 'host handler called for another port');
}

function assert(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

function check(rc: number): void {
  if (!(rc >= 0 || [-1, -2, -3, -14, -17, -22, -28, -38].includes(rc))) throw new Error(`unexpected rc ${rc}`);
}

describe('hostile DomU', () => {
  it(`grant tables: ${GRANT_RUNS} random op sequences never throw or touch an ungranted frame`, () => {
    fc.assert(fc.property(fc.array(grantOp, { minLength: 1, maxLength: 14 }), fc.boolean(), (ops, d2) => runGrantCase(ops, d2)), { numRuns: GRANT_RUNS, seed: 0x6e7 });
  }, 60_000);

  it(`event channels: ${EVTCHN_RUNS} random op sequences never throw or signal a port not bound to the sender`, () => {
    fc.assert(fc.property(fc.array(evOp, { minLength: 1, maxLength: 16 }), runEvCase), { numRuns: EVTCHN_RUNS, seed: 0xe7c });
  }, 60_000);
});
