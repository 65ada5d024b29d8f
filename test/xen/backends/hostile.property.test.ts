/**
 * Hostile frontends against blkback and netback, by property: random and wild ring contents
 * and indices, random grant refs and entries, grants revoked or rewritten WHILE the backend
 * runs (a memory hook fires on the backend's own reads), ring slots rewritten after they were
 * copied, and event storms.
 *
 * A case is one random hostile op sequence against a freshly created hostile DomU 1 (new RAM,
 * grant table, event channels, ring and backend), which is destroyed afterwards. Dom0's tables
 * and the well-behaved DomU 2 with its device (and, for net, the bridge) live across cases, as
 * in a real host where guests come and go beside a long-running one.
 *
 * After every case:
 *   - nothing threw out of a backend, and no backend caught an internal error;
 *   - DomU 1's RAM was touched only at its ring pages, grant table, shared-info page and frames
 *     some entry ever granted to Dom0; written only where a writable grant ever existed;
 *   - the hostile device either answered every request it consumed (statuses from the ABI) or
 *     was stopped, with one onFatal, and nothing of DomU 1 left mapped;
 *   - once destroyed, nothing of DomU 1 is left (tables, mappings, bridge port) and DomU 2's
 *     device is still connected.
 * After every BATCH cases, at the end, and after any failure: DomU 2's device still works (a
 * write/read round trip of a new pattern for block, a frame out and a frame in for net), and
 * the host holds no port but DomU 2's.
 *
 * Count: HOSTILE_BLK_RUNS + HOSTILE_NET_RUNS cases, each rounded up to whole batches, default
 * 60,000 + 40,000 = 100,000 = 15,000 + 10,000 property runs x BATCH (4) sequences. About 10 s on
 * this 2-core machine under a load of 2 (at ~0.1 ms a case; it was 0.3 ms with two fresh domains per case).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../host/devices/virtio/backend';
import { Blkback } from '../../../host/xen/backends/blkback';
import {
  BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_REQ_SIZE, BLKIF_RSP_OKAY, BLKIF_RSP_SIZE, decodeBlkifResponse, encodeBlkifIndirectRequest,
  encodeBlkifRequest, encodeBlkifSegments,
} from '../../../host/xen/backends/blkif';
import { Bridge, type BridgePort, type EthFrame } from '../../../host/xen/backends/bridge';
import { encodeRxRequest, NETIF_RSP_OKAY } from '../../../host/xen/backends/netif';
import { SRING_REQ_PROD, SRING_RSP_PROD } from '../../../host/xen/backends/ring';
import * as H from '../../../host/xen/hypercall-abi';
import { FrontRing, NFRAMES, pattern, SI, TABLE, World, type Frontend } from './harness';
import { arp, NetFront, RX_PAGE, RX_RING, TX_RING } from './netfront';
import { fcSeed } from '../../fc-seed';

/** Hostile sequences per property run (each against its own fresh hostile domain). */
const BATCH = 4;
/** Cases, rounded up to whole batches. */
const BLK_CASES = Math.ceil(Number(process.env.HOSTILE_BLK_RUNS ?? 60_000) / BATCH) * BATCH;
const NET_CASES = Math.ceil(Number(process.env.HOSTILE_NET_RUNS ?? 40_000) / BATCH) * BATCH;
const SECTORS = 64;
/** Event channels of a hostile domain: it uses one (cheaper to create and destroy than 1024). */
const HOSTILE_PORTS = 64;

// ---- generators --------------------------------------------------------------------------

const frameIdx = fc.integer({ min: 1, max: 12 });
const ref = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 8, max: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 2047, 2048, 0xffffffff, 65535) },
);
const u32 = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.nat().map((n) => n >>> 0) }, { weight: 1, arbitrary: fc.constantFrom(0xffffffff, 0x80000000) });
const entry = fc.record({
  ref,
  flags: fc.oneof(fc.constantFrom(H.GTF_permit_access, H.GTF_permit_access | H.GTF_readonly, 0), fc.integer({ min: 0, max: 0xffff })),
  domid: fc.constantFrom(0, 0, 0, 2, 5),
  frame: fc.oneof({ weight: 5, arbitrary: frameIdx }, { weight: 1, arbitrary: fc.constantFrom(0, 43, 44, 47, 48, 200) }),
});
/** Something the guest does between the backend's reads (fired by a read hook). */
const midRun = fc.oneof(
  fc.record({ k: fc.constant('revoke' as const), ref }),
  fc.record({ k: fc.constant('entry' as const), e: entry }),
  fc.record({ k: fc.constant('slot' as const), slot: fc.integer({ min: 0, max: 31 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }), at: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ k: fc.constant('prod' as const), value: u32 }),
);
const seg = fc.record({ gref: ref, firstSect: fc.oneof(fc.integer({ min: 0, max: 7 }), fc.constantFrom(8, 255)), lastSect: fc.oneof(fc.integer({ min: 0, max: 7 }), fc.constantFrom(8, 255)) });
const blkReq = fc.record({
  operation: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 3) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
  nrSegments: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
  handle: fc.constant(0),
  id: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  sector: fc.oneof({ weight: 5, arbitrary: fc.bigInt({ min: 0n, max: BigInt(SECTORS) }) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  seg: fc.array(seg, { minLength: 0, maxLength: 3 }),
});
const commonOps = [
  fc.record({ k: fc.constant('raw' as const), slot: fc.integer({ min: 0, max: 300 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 112 }), bump: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ k: fc.constant('prod' as const), value: u32 }),
  fc.record({ k: fc.constant('entry' as const), e: entry }),
  fc.record({ k: fc.constant('revoke' as const), ref }),
  fc.record({ k: fc.constant('storm' as const), n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ k: fc.constant('hook' as const), after: fc.integer({ min: 0, max: 12 }), act: midRun }),
];

// ---- the hostile domain's bookkeeping ------------------------------------------------------

/** Frames of `fe` that Dom0 may legitimately touch, kept up to date with every entry written. */
class Allowed {
  readonly any = new Set<bigint>();
  readonly writable = new Set<bigint>();
  constructor(readonly fe: Frontend, ringFrames: number[]) {
    for (const f of [...TABLE, SI]) { this.any.add(f); this.writable.add(f); }
    for (const i of ringFrames) { this.any.add(fe.gfn(i)); this.writable.add(fe.gfn(i)); }
  }
  entry(e: { ref: number; flags: number; domid: number; frame: number }): void {
    if (e.ref < 0 || e.ref >= 2048) return; // outside the table: the test cannot write it
    const frame = e.frame >= 1 && e.frame < 200 ? Number(this.fe.gfn(0)) + e.frame : e.frame;
    this.fe.entry(e.ref, e.flags, e.domid, frame);
    if (e.domid === 0) {
      this.any.add(BigInt(frame));
      if (!(e.flags & H.GTF_readonly)) this.writable.add(BigInt(frame));
    }
  }
  check(): void {
    for (const g of this.fe.mem.touched) if (!this.any.has(g)) throw new Error(`frame 0x${g.toString(16)} touched without a grant`);
    for (const [g] of this.fe.mem.writes) if (!this.writable.has(g)) throw new Error(`frame 0x${g.toString(16)} written without a writable grant`);
  }
}

/** Apply a mid-run action (from inside a read hook). */
function midAction(fe: Frontend, allowed: Allowed, ringFrame: number, act: { k: string; [x: string]: unknown }): void {
  if (act.k === 'revoke') { const r = act.ref as number; if (r < 2048) fe.revoke(r); }
  else if (act.k === 'entry') allowed.entry(act.e as { ref: number; flags: number; domid: number; frame: number });
  else if (act.k === 'slot') fe.poke(ringFrame, 64 + ((act.slot as number) % 32) * 112 + Math.min(act.at as number, 112 - (act.bytes as Uint8Array).length), act.bytes as Uint8Array);
  else if (act.k === 'prod') fe.poke(ringFrame, SRING_REQ_PROD, le(act.value as number));
}

/** A failed invariant (plain throw: vitest's expect is too slow for 100,000 cases). */
function ok(cond: boolean, what: string): void {
  if (!cond) throw new Error(`invariant broken: ${what}`);
}

function le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Install a hook that fires `act` after the backend's `after`-th read of DomU memory. */
function arm(fe: Frontend, after: number, fire: () => void): void {
  let n = 0;
  fe.mem.onRead = () => {
    if (n++ === after) { fe.mem.onRead = null; fire(); }
  };
}

/** What outlives the cases: Dom0's tables and the well-behaved DomU 2 with its backend. */
interface Env {
  readonly world: World;
  /** DomU 2's device is up and does I/O end to end (throws otherwise). */
  checkGood(): void;
}

/** The host holds exactly DomU 2's port: every hostile backend's port was closed. */
function checkHostPorts(world: World): void {
  const host = world.events.snapshot().domains.find((d) => d.domid === 0)!;
  ok(host.ports.length === 1 && host.ports[0].remoteDom === 2, `host ports: ${host.ports.length}`);
}

/**
 * Run `nCases` hostile cases, BATCH per property run. A case is one random op sequence against
 * a freshly created hostile DomU 1 (`runCase` builds it, runs the ops, checks the invariants and
 * destroys it); each run gets an array of BATCH sequences, so the count is
 * ceil(nCases / BATCH) runs x BATCH cases, counted as they pass. The well-behaved domain is
 * checked (checkGood) after every BATCH cases, i.e. at the end of each run and so at the end of
 * all, and after any failure, whose message then says whether it survived. A failed run leaves
 * its env to be rebuilt, so fast-check's shrinking starts each attempt from a clean hypervisor.
 * Returns the cases run.
 */
function runHostile<Op, E extends Env>(nCases: number, ops: fc.Arbitrary<Op>, makeEnv: () => E, runCase: (env: E, ops: Op[]) => void): number {
  const seq = fc.array(ops, { minLength: 1, maxLength: 5 });
  let env: E | null = null;
  let cases = 0;
  fc.assert(fc.property(fc.array(seq, { minLength: BATCH, maxLength: BATCH }), (batch) => {
    const e = env ?? makeEnv();
    env = null; // stays null (rebuild) unless the whole run passes
    try {
      for (const s of batch) {
        runCase(e, s);
        cases++;
      }
      e.checkGood();
      checkHostPorts(e.world);
    } catch (err) {
      let good = 'the well-behaved domain still works';
      try { e.checkGood(); } catch (g) { good = `the well-behaved domain failed too: ${(g as Error).message}`; }
      throw new Error(`${(err as Error).message} (${good})`);
    }
    env = e;
  }), { numRuns: Math.ceil(nCases / BATCH), seed: fcSeed(0xbac) });
  return cases;
}

// ---- block ---------------------------------------------------------------------------------

/** A blkfront ring in frame 0 of `fe`, connected to a new Blkback over `disk`. */
function blkDevice(world: World, fe: Frontend, disk: MemoryBackend, onFatal: (r: string) => void) {
  const ring = new FrontRing(fe, 0, BLKIF_REQ_SIZE, BLKIF_RSP_SIZE);
  const port = fe.allocPort();
  const be = new Blkback({ grants: world.grants, events: world.events, frontendDomid: fe.domid, disk, onFatal });
  ok(be.connectRing(fe.grant(0), port) === null, 'connect');
  return { ring, port, be };
}

/** What outlives the cases on the block side: Dom0's tables and the well-behaved DomU 2 with its blkback. */
class BlkEnv implements Env {
  readonly world = new World();
  readonly good = this.world.addDomain(2);
  readonly goodFatal: string[] = [];
  readonly G = blkDevice(this.world, this.good, new MemoryBackend(SECTORS * 512), (r) => this.goodFatal.push(r));
  /** The hostile domains' disk (zeroed for each). */
  readonly badDisk = new MemoryBackend(SECTORS * 512);
  private checks = 0;

  /** Cheap, after every case: DomU 2's device is still up and nothing of DomU 1 is left. */
  checkTornDown(): void {
    ok(this.goodFatal.length === 0 && this.G.be.channel.connected && this.G.be.stats.internalErrors === 0 && this.world.grants.activeMappings(2) === 1, `good domain stopped: ${this.goodFatal}`);
    ok(!this.world.grants.hasDomain(1) && !this.world.events.hasDomain(1) && this.world.grants.activeMappings(1) === 0, 'hostile domain torn down');
  }

  /** DomU 2 writes a pattern (new each time) to the disk and reads it back into a cleared frame. */
  checkGood(): void {
    const good = this.good;
    ok(this.goodFatal.length === 0 && this.G.be.channel.connected && this.G.be.stats.internalErrors === 0, `good domain stopped: ${this.goodFatal}`);
    const data = pattern(1024, ++this.checks);
    const sector = BigInt(10 + (this.checks % 50));
    good.poke(3, 0, data);
    good.poke(4, 1024, new Uint8Array(1024));
    this.G.ring.put(encodeBlkifRequest({ operation: BLKIF_OP_WRITE, nrSegments: 1, handle: 0, id: 1n, sector, seg: [{ gref: good.grant(3, true, 30), firstSect: 0, lastSect: 1 }] }));
    this.G.ring.put(encodeBlkifRequest({ operation: BLKIF_OP_READ, nrSegments: 1, handle: 0, id: 2n, sector, seg: [{ gref: good.grant(4, false, 31), firstSect: 2, lastSect: 3 }] }));
    if (this.G.ring.push()) good.notify(this.G.port);
    const rs = this.G.ring.responses().map((b) => decodeBlkifResponse(b));
    ok(rs.length === 2 && rs[0].id === 1n && rs[0].status === BLKIF_RSP_OKAY && rs[1].id === 2n && rs[1].status === BLKIF_RSP_OKAY, 'good domain I/O');
    ok(Buffer.from(good.peek(4, 1024, 1024)).equals(data), 'good domain data');
    good.mem.writes = []; // DomU 2's accesses are not under test; keep the log short
  }
}

/**
 * An indirect request (BLKIF_OP_INDIRECT): wild indirect_op, nr_segments (0, within the
 * backend's 256, past it, past 8 pages of 512), indirect grefs, and descriptors written into
 * frame `frame` (which some of the grefs may grant, or not).
 */
const blkIndirect = fc.record({
  k: fc.constant('ind' as const),
  op: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(BLKIF_OP_READ, BLKIF_OP_WRITE) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
  nr: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 20 }) }, { weight: 1, arbitrary: fc.constantFrom(255, 256, 257, 512, 4097, 65535) }),
  sector: fc.oneof({ weight: 5, arbitrary: fc.bigInt({ min: 0n, max: BigInt(SECTORS) }) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  grefs: fc.array(ref, { minLength: 1, maxLength: 8 }),
  frame: frameIdx,
  seg: fc.array(seg, { minLength: 0, maxLength: 24 }),
});

type BlkOp = typeof blkOp extends fc.Arbitrary<infer T> ? T : never;
const blkOp = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('reqs' as const), reqs: fc.array(blkReq, { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: blkIndirect },
  ...commonOps.map((arbitrary) => ({ weight: 1, arbitrary })),
);

/** One case: a fresh hostile DomU 1 and its blkback run `ops`, are checked, then destroyed. */
function blkCase(env: BlkEnv, ops: BlkOp[]): void {
  const world = env.world;
  const bad = world.addDomain(1, NFRAMES, HOSTILE_PORTS);
  const fatal: string[] = [];
  const allowed = new Allowed(bad, [0]);
  for (let i = 1; i <= 8; i++) allowed.entry({ ref: 8 + i, flags: H.GTF_permit_access | (i > 5 ? H.GTF_readonly : 0), domid: 0, frame: i });
  env.badDisk.bytes.fill(0);
  const B = blkDevice(world, bad, env.badDisk, (r) => fatal.push(r));
  for (const op of ops) {
    switch (op.k) {
      case 'reqs':
        for (const q of op.reqs) B.ring.put(encodeBlkifRequest(q));
        B.ring.push();
        bad.notify(B.port);
        break;
      case 'ind':
        bad.poke(op.frame, 0, encodeBlkifSegments(op.seg));
        B.ring.put(encodeBlkifIndirectRequest(op.op, op.nr, 7n, op.sector, op.grefs));
        B.ring.push();
        bad.notify(B.port);
        break;
      case 'raw':
        bad.poke(0, 64 + (op.slot % 32) * 112, op.bytes.subarray(0, 112));
        B.ring.reqProdPvt = (B.ring.reqProdPvt + op.bump) >>> 0;
        B.ring.push();
        bad.notify(B.port);
        break;
      case 'prod':
        B.ring.setField(SRING_REQ_PROD, op.value);
        bad.notify(B.port);
        break;
      case 'entry': allowed.entry(op.e); break;
      case 'revoke': if (op.ref < 2048) bad.revoke(op.ref); break;
      case 'storm': for (let i = 0; i < op.n; i++) bad.notify(B.port); break;
      case 'hook':
        arm(bad, op.after, () => midAction(bad, allowed, 0, op.act as { k: string }));
        B.ring.put(encodeBlkifRequest({ operation: BLKIF_OP_WRITE, nrSegments: 2, handle: 0, id: 5n, sector: 3n, seg: [{ gref: 9, firstSect: 0, lastSect: 7 }, { gref: 14, firstSect: 0, lastSect: 1 }] }));
        B.ring.push();
        bad.notify(B.port);
        bad.mem.onRead = null;
        break;
    }
  }
  allowed.check();
  ok(B.be.stats.internalErrors === 0, 'internal error');
  if (fatal.length > 0) {
    ok(fatal.length === 1 && !B.be.channel.connected && world.grants.activeMappings(1) === 0, `stopped cleanly: ${fatal}`);
  } else {
    // Every request consumed was answered and published (the guest may scribble over the
    // responses themselves, so the statuses are checked through the counters).
    const snap = B.be.ring!.snapshot();
    const st = B.be.stats;
    ok(snap.rspProdPvt === snap.reqCons && B.ring.field(SRING_RSP_PROD) === snap.rspProdPvt, 'all answered');
    ok(st.okay + st.errors + st.unsupported === st.requests, 'statuses');
    ok(world.grants.activeMappings(1) === 1, 'only the ring stays mapped');
  }
  // Tear DomU 1 down (xl destroy: the backend lets go, then the domain goes).
  B.be.disconnect();
  world.removeDomain(1);
  env.checkTornDown();
}

describe('hostile blkfront', () => {
  it(`${BLK_CASES} cases: no host exception, no ungranted frame touched, the other domain keeps working`, () => {
    expect(runHostile(BLK_CASES, blkOp, () => new BlkEnv(), blkCase)).toBe(BLK_CASES);
  }, 120_000);
});

// ---- net -----------------------------------------------------------------------------------

const MAC1 = '00:16:3e:00:00:01';
const MAC2 = '00:16:3e:00:00:02';
const txReq = fc.record({
  gref: ref,
  offset: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(4000, 4095, 65535)),
  flags: fc.oneof(fc.constantFrom(0, 0, 4, 8, 1), fc.integer({ min: 0, max: 0xffff })),
  id: fc.integer({ min: 0, max: 0xffff }),
  size: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.constantFrom(4096, 4097, 65535)),
});
type NetOp = typeof netOp extends fc.Arbitrary<infer T> ? T : never;
const netOp = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('tx' as const), reqs: fc.array(txReq, { minLength: 1, maxLength: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('rx' as const), refs: fc.array(ref, { minLength: 0, maxLength: 3 }), prod: fc.option(u32) }) },
  ...commonOps.map((arbitrary) => ({ weight: 1, arbitrary })),
);

/** The bridge's third port: frames out of the vifs land here; frames in are injected from it. */
class Probe implements BridgePort {
  readonly name = 'probe';
  got: Uint8Array[] = [];
  deliver(f: EthFrame): void { this.got.push(f.data); }
  flush(): void {}
}

/** rx buffers DomU 2 keeps posted; their refs are GOOD_RX_REF + id (outside its cycled refs). */
const GOOD_RX = 4;
const GOOD_RX_REF = 200;

/** What outlives the cases on the net side: Dom0's tables, the bridge, the probe and DomU 2's vif. */
class NetEnv implements Env {
  readonly world = new World();
  readonly bridge = new Bridge();
  readonly probe = new Probe();
  readonly probePort = this.bridge.attach(this.probe);
  readonly good = new NetFront(this.world, this.world.addDomain(2), this.bridge, MAC2, { post: GOOD_RX });
  /** rx buffer ids posted and not yet answered (the constructor posted 0..GOOD_RX-1). */
  private readonly posted = new Set(Array.from({ length: GOOD_RX }, (_, i) => i));

  constructor() {
    // Its tx grants (one per frame sent) are done with once send() returns: recycle them.
    this.good.fe.cycleRefs(256, 2048);
  }

  /** Cheap, after every case: DomU 2's vif is still up and nothing of DomU 1 is left. */
  checkTornDown(): void {
    ok(this.good.fatal.length === 0 && this.good.be.stats.internalErrors === 0 && this.world.grants.activeMappings(2) === 2, `good vif stopped: ${this.good.fatal}`);
    ok(!this.world.grants.hasDomain(1) && !this.world.events.hasDomain(1) && this.world.grants.activeMappings(1) === 0 && this.bridge.portCount === 2, 'hostile domain torn down');
  }

  /** Take DomU 2's rx responses (freeing their buffers); returns the frames. */
  private receive(): Uint8Array[] {
    const got = this.good.receive();
    for (const r of got.raw) this.posted.delete(r.id);
    return got.frames;
  }

  /** DomU 2 sends a frame out to the probe and receives one from it. */
  checkGood(): void {
    const { good, probe } = this;
    ok(good.fatal.length === 0 && good.be.stats.internalErrors === 0, `good vif stopped: ${good.fatal}`);
    this.receive(); // whatever the hostile vifs flooded in
    good.txResponses(); // and the answers to its own sends during the cases
    for (let id = 0; this.posted.size < GOOD_RX; id++) {
      if (this.posted.has(id)) continue;
      good.rx.put(encodeRxRequest({ id, gref: good.fe.grant(RX_PAGE + id, false, GOOD_RX_REF + id) }));
      this.posted.add(id);
    }
    if (good.rx.push()) good.fe.notify(good.port);
    probe.got = [];
    const out = arp(1, MAC2, [10, 0, 0, 2], '00:00:00:00:00:00', [10, 0, 0, 9]);
    good.send(out);
    const txr = good.txResponses();
    ok(txr.length === 1 && txr[0].status === NETIF_RSP_OKAY, 'good tx');
    ok(probe.got.length === 1 && Buffer.from(probe.got[0]).equals(out), 'good frame out');
    const back = arp(2, '00:16:3e:00:00:09', [10, 0, 0, 9], MAC2, [10, 0, 0, 2]);
    this.bridge.input(this.probePort, [{ data: back }]);
    const inGood = this.receive();
    ok(inGood.length === 1 && Buffer.from(inGood[0]).equals(back), 'good frame in');
    good.fe.mem.writes = []; // DomU 2's accesses are not under test; keep the log short
  }
}

/** One case: a fresh hostile DomU 1 and its vif run `ops`, are checked, then destroyed. */
function netCase(env: NetEnv, ops: NetOp[]): void {
  const { world, bridge, good } = env;
  const badFe = world.addDomain(1, NFRAMES, HOSTILE_PORTS);
  const bad = new NetFront(world, badFe, bridge, MAC1, { post: 4, sg: true });
  const allowed = new Allowed(badFe, [TX_RING, RX_RING]);
  for (let i = 0; i < 4; i++) allowed.any.add(badFe.gfn(10 + i)), allowed.writable.add(badFe.gfn(10 + i)); // posted rx buffers
  for (let i = 1; i <= 8; i++) allowed.entry({ ref: 20 + i, flags: H.GTF_permit_access | (i > 5 ? H.GTF_readonly : 0), domid: 0, frame: i });
  badFe.poke(2, 0, arp(1, MAC1, [10, 0, 0, 1], '00:00:00:00:00:00', [10, 0, 0, 2]));
  for (const op of ops) {
    switch (op.k) {
      case 'tx':
        for (const q of op.reqs) bad.putTx(q);
        bad.tx.push();
        badFe.notify(bad.port);
        break;
      case 'rx':
        for (const r of op.refs) bad.rx.put(Uint8Array.from([1, 0, 0, 0, ...le(r)]));
        bad.rx.push();
        if (op.prod !== null) bad.rx.setField(SRING_REQ_PROD, op.prod);
        good.send(arp(1, MAC2, [10, 0, 0, 2], '00:00:00:00:00:00', [10, 0, 0, 1])); // floods into bad's rx
        break;
      case 'raw':
        badFe.poke(op.slot % 2 === 0 ? TX_RING : RX_RING, 64 + (op.slot % 256) * (op.slot % 2 === 0 ? 12 : 8), op.bytes.subarray(0, 8));
        bad.tx.reqProdPvt = (bad.tx.reqProdPvt + op.bump) >>> 0;
        bad.tx.push();
        badFe.notify(bad.port);
        break;
      case 'prod':
        bad.tx.setField(SRING_REQ_PROD, op.value);
        badFe.notify(bad.port);
        break;
      case 'entry': allowed.entry(op.e); break;
      case 'revoke': if (op.ref < 2048) badFe.revoke(op.ref); break;
      case 'storm': for (let i = 0; i < op.n; i++) badFe.notify(bad.port); break;
      case 'hook':
        arm(badFe, op.after, () => midAction(badFe, allowed, TX_RING, op.act as { k: string }));
        bad.putTx({ gref: 21, offset: 0, flags: 4, id: 1, size: 100 });
        bad.putTx({ gref: 22, offset: 0, flags: 0, id: 2, size: 58 });
        bad.tx.push();
        badFe.notify(bad.port);
        good.send(arp(1, MAC2, [10, 0, 0, 2], '00:00:00:00:00:00', [10, 0, 0, 1]));
        badFe.mem.onRead = null;
        break;
    }
  }
  allowed.check();
  ok(bad.be.stats.internalErrors === 0, 'internal error');
  if (bad.fatal.length > 0) {
    ok(bad.fatal.length === 1 && world.grants.activeMappings(1) === 0, `stopped cleanly: ${bad.fatal}`);
  } else {
    const snap = bad.be.tx!.snapshot();
    ok(snap.rspProdPvt === snap.reqCons && world.grants.activeMappings(1) === 2, 'all answered, rings mapped');
  }
  // Tear DomU 1 down: its vif leaves the bridge (and the MACs learned on it), then the domain goes.
  bad.be.detach();
  world.removeDomain(1);
  env.checkTornDown();
}

describe('hostile netfront', () => {
  it(`${NET_CASES} cases: no host exception, no ungranted frame touched, the other vif keeps working`, () => {
    expect(runHostile(NET_CASES, netOp, () => new NetEnv(), netCase)).toBe(NET_CASES);
  }, 120_000);
});
