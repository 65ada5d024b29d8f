/**
 * The core's two-dimensional page walker (assembly/walk.ts) against the reference walker
 * written separately from the spec (host/vmm/walk.ts), on randomized VS-stage and G-stage
 * tables (privileged spec §4.3.2, §8.5).
 *
 * Each run builds, from a fast-check scenario, a RAM image holding a G-stage table (Bare,
 * Sv39x4 or Sv48x4), a VS-stage table (Bare, Sv39 or Sv48) whose pages sit at guest-physical
 * addresses that the G-stage may or may not map, and the path of one guest virtual address
 * through both: valid and invalid PTEs, random permissions, superpages (aligned and not),
 * missing A/D bits, U bits, reserved bits, pointers outside RAM, GPAs beyond the x4 width.
 * The core translates by executing one HLV.D or HSV.D from M-mode (hstatus.SPVP picks VS or
 * VU); the reference translates on a copy of the same memory. They must agree on:
 *   - success: the loaded value (read where the reference says the access lands) or, for a
 *     store, the whole RAM afterwards; both also set the same A/D bits;
 *   - failure: mcause, mtval (the GVA), mtval2 (htval = GPA >> 2) and mtinst (htinst: the
 *     pseudo-instruction for implicit PTE accesses, the transformed HLV/HSV for explicit ones),
 *     mstatus.GVA = 1, and the RAM (A/D bits set before the fault).
 * WALK2D_RUNS sets the number of runs (default 500); a failure prints the scenario.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as A from '../../assembly/abi';
import { walk2d, type Walk2dResult } from '../../host/vmm/walk';
import { CODE, Harness, MTVEC, poison } from '../isa/harness';
import { fcSeed } from '../fc-seed';

const RAM_SIZE = 2 << 20; // 2 MiB: one whole 2 MiB superpage at RAM_BASE
const RAM_BASE = BigInt(A.RAM_BASE);
const RAM_END = RAM_BASE + BigInt(RAM_SIZE);
const G_ROOT = 0x80020000n; // 16 KiB aligned (the x4 roots)
const G_POOL = 0x80024000n; // lower G-stage tables
const HOST_POOL = 0x80100000n; // host pages of 4 KiB G-stage leaves (VS tables and data)
const NOT_RAM_PAGE = 0x1n; // host page 0x1000: not RAM

const V = 1n, R = 2n, W = 4n, X = 8n, U = 16n, AB = 64n, DB = 128n;
const RSVD = 1n << 54n;
const pte = (ppn: bigint, flags: bigint) => (ppn << 10n) | flags;

const HLV_D = (0x6c004073 | (6 << 15) | (5 << 7)) >>> 0; // hlv.d x5, (x6)
const HSV_D = (0x6e004073 | (7 << 20) | (6 << 15)) >>> 0; // hsv.d x7, (x6)
/** The transformed instructions (§8.6.3): rs1 (the address) zeroed. */
const HLV_D_T = BigInt((0x6c004073 | (5 << 7)) >>> 0);
const HSV_D_T = BigInt((0x6e004073 | (7 << 20)) >>> 0);
const STORE_VALUE = 0x5701570257035704n;

// ---- scenarios ----

/** One VS-stage PTE on the path. */
interface VsPte { kind: 'ptr' | 'leaf' | 'invalid' | 'garbage'; flags: number; userOk: boolean; rsvd: boolean; misalign: boolean; raw: bigint }
/** How one guest-physical page is mapped by the G-stage. */
interface GMap { mapped: boolean; flags: number; ptrFlags: number; misalign: boolean; outOfRam: boolean; rsvd: boolean }
/** Everything one run depends on. */
interface Scenario {
  vsMode: number; gMode: number;
  /** The level of every G-stage leaf (0: 4 KiB, 1: 2 MiB, 2: 1 GiB): the guest pages share upper G-stage slots. */
  gLeafLevel: number;
  idx: number[]; off: number; nonCanonical: boolean;
  vs: VsPte[]; tablePick: number[]; dataPick: number;
  gTables: GMap[]; gData: GMap;
  write: boolean; spvp: boolean; sum: boolean; mxr: boolean; vmxr: boolean;
}

/** true 1 time in n (shrinks to false). */
const oneIn = (n: number) => fc.integer({ min: 0, max: n - 1 }).map((x) => x === n - 1);
/** PTE flag bytes: mostly ones that let the access through, some chosen to fail, some random. */
const flagsArb = (good: number[], bad: number[], goodWeight: number) => fc.oneof(
  { weight: goodWeight, arbitrary: fc.constantFrom(...good) },
  { weight: 2, arbitrary: fc.constantFrom(...bad) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
// VS leaves (U is set by the builder from `userOk`): VRWAD, VRWA, VRW (A/D by hardware), VRWXAD, VR;
// failing ones: X only, W without R, R without W (fails stores).
const VS_GOOD = [0xc7, 0x47, 0x07, 0xcf, 0x03];
const VS_BAD = [0x09, 0x05, 0x43];
// G leaves: VRWXUAD, VRWUAD, VRXUAD, VRWXUA, VRWXU; failing: no W, X only, no U, W without R.
const G_GOOD = [0xdf, 0xd7, 0xdb, 0x5f, 0x1f];
const G_BAD = [0x53, 0xd9, 0xcf, 0xc5];
const vsPteArb = (level0: boolean) => fc.record({
  kind: level0
    ? fc.oneof({ weight: 30, arbitrary: fc.constant('leaf' as const) }, { weight: 1, arbitrary: fc.constantFrom('ptr' as const, 'invalid' as const, 'garbage' as const) })
    : fc.oneof({ weight: 16, arbitrary: fc.constant('ptr' as const) }, { weight: 3, arbitrary: fc.constant('leaf' as const) }, { weight: 1, arbitrary: fc.constantFrom('invalid' as const, 'garbage' as const) }),
  flags: flagsArb(VS_GOOD, VS_BAD, 30),
  userOk: fc.integer({ min: 0, max: 15 }).map((x) => x !== 15),
  rsvd: oneIn(60),
  misalign: oneIn(16),
  raw: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
});
const gMapArb = fc.record({
  mapped: fc.integer({ min: 0, max: 59 }).map((x) => x !== 59),
  flags: flagsArb(G_GOOD, G_BAD, 40),
  ptrFlags: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(0x10, 0x40, 0x80) }),
  misalign: oneIn(12),
  outOfRam: oneIn(60),
  rsvd: oneIn(60),
});
/** Which high GPA bits a guest page gets (see gpaPage): mostly low GPAs. */
const gpaPickArb = fc.oneof({ weight: 16, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }) });
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  vsMode: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.constant(8) }, { weight: 2, arbitrary: fc.constant(9) }),
  gMode: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.constant(8) }, { weight: 2, arbitrary: fc.constant(9) }),
  gLeafLevel: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
  idx: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1, 2, 0x100, 0x1ff) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 511 }) }), { minLength: 4, maxLength: 4 }),
  off: fc.integer({ min: 0, max: 511 }).map((x) => x * 8),
  nonCanonical: oneIn(20),
  vs: fc.tuple(vsPteArb(true), vsPteArb(false), vsPteArb(false), vsPteArb(false)).map((t) => [...t]),
  tablePick: fc.array(gpaPickArb, { minLength: 4, maxLength: 4 }),
  dataPick: gpaPickArb,
  gTables: fc.array(gMapArb, { minLength: 4, maxLength: 4 }),
  gData: gMapArb,
  write: fc.boolean(),
  spvp: fc.boolean(),
  sum: fc.boolean(),
  mxr: oneIn(4),
  vmxr: oneIn(4),
});

// ---- building the memory image ----

/**
 * A guest-physical page number for a table (use 0..3, the VS level) or the data (use 4).
 * Its low 18 bits put it, under a 2 MiB or 1 GiB G-stage superpage at RAM_BASE, on a page of
 * RAM that is neither the code page nor the G-stage tables; the high bits vary from 0 to just
 * beyond what Sv39x4 can address (41 bits).
 */
function gpaPage(pick: number, use: number, gMode: number): bigint {
  const lo = BigInt(0x80 + use * 0x10 + pick);
  if (gMode === 0) return pick < 4 ? (RAM_BASE >> 12n) + lo : ([0x1n, 0x3ffn][pick - 4] << 18n) | lo; // Bare: GPA = HPA
  return ([0n, 1n, 2n, 0x3ffn, 0x7ffn, 0x800n][pick] << 18n) | lo;
}

/** The RAM image of one scenario: G-stage tables, VS-stage tables and markers. */
class Image {
  private gNext = G_POOL;
  private hostNext = HOST_POOL;
  constructor(private readonly h: Harness, private readonly sc: Scenario) {}

  /** Write a u64 unless it would land on the code page (the instruction and trap vectors). */
  put(pa: bigint, v: bigint): void {
    if (pa < RAM_BASE + 0x1000n || pa + 8n > RAM_END) return;
    this.h.write64(pa, v);
  }

  /** Map guest page `gp` by the G-stage as `m` says; returns the host address of the page or null. */
  gmap(gp: bigint, m: GMap): bigint | null {
    const { gMode } = this.sc;
    if (gMode === 0) {
      const pa = gp << 12n;
      return pa >= RAM_BASE && pa < RAM_END ? pa : null;
    }
    if (!m.mapped) return null;
    const levels = gMode === 8 ? 3 : 4;
    const leafLevel = Math.min(this.sc.gLeafLevel, levels - 1);
    let table = G_ROOT;
    for (let level = levels - 1; level > leafLevel; level--) {
      const width = level === levels - 1 ? 0x7ffn : 0x1ffn;
      const slot = table + ((gp >> BigInt(9 * level)) & width) * 8n;
      let e = this.h.read64(slot);
      if ((e & V) === 0n || (e & (R | W | X)) !== 0n) {
        const t = this.gNext;
        this.gNext += 0x1000n;
        e = pte(t >> 12n, V | BigInt(m.ptrFlags));
        this.put(slot, e);
      }
      table = ((e >> 10n) & ((1n << 44n) - 1n)) << 12n;
      if (table < G_ROOT || table >= HOST_POOL) return null; // a pointer into something else
    }
    const width = leafLevel === levels - 1 ? 0x7ffn : 0x1ffn;
    const slot = table + ((gp >> BigInt(9 * leafLevel)) & width) * 8n;
    let ppn: bigint;
    let host: bigint | null;
    if (leafLevel === 0) {
      const hp = this.hostNext;
      this.hostNext += 0x1000n;
      ppn = m.outOfRam ? NOT_RAM_PAGE : hp >> 12n;
      host = m.outOfRam ? null : hp;
    } else {
      const span = BigInt(9 * leafLevel);
      const base = m.outOfRam ? (leafLevel === 1 ? 0x200n : 0x40000n) : RAM_BASE >> 12n;
      ppn = m.misalign ? base + 1n : base;
      const pa = (base << 12n) + ((gp & ((1n << span) - 1n)) << 12n);
      host = m.outOfRam || m.misalign || pa >= RAM_END ? null : pa;
    }
    this.put(slot, pte(ppn, BigInt(m.flags) | (m.rsvd ? RSVD : 0n)));
    return host;
  }

  /** The guest virtual address of the scenario. */
  gva(): bigint {
    const { vsMode, idx, off, nonCanonical } = this.sc;
    let va = (BigInt(idx[3]) << 39n) | (BigInt(idx[2]) << 30n) | (BigInt(idx[1]) << 21n) | (BigInt(idx[0]) << 12n) | BigInt(off);
    if (vsMode === 8) va = BigInt.asUintN(64, BigInt.asIntN(39, va));
    else if (vsMode === 9) va = BigInt.asUintN(64, BigInt.asIntN(48, va));
    if (nonCanonical) va ^= 1n << 60n;
    return va;
  }

  /** Build both stages for the scenario's GVA; returns vsatp and hgatp. */
  build(): { vsatp: bigint; hgatp: bigint; gva: bigint } {
    const sc = this.sc;
    const gva = this.gva();
    // Markers: the 8 bytes the access would touch on every page of RAM but the code page
    // (their bits 63:54 make them invalid PTEs should a walk read one).
    for (let pa = RAM_BASE + 0x1000n; pa < RAM_END; pa += 0x1000n) this.put(pa + BigInt(sc.off), 0xd000000000000000n | pa);
    const hgatp = sc.gMode === 0 ? 0n : (BigInt(sc.gMode) << 60n) | (0x1234n << 44n) | (G_ROOT >> 12n);
    if (sc.vsMode === 0) {
      this.gmap(gva >> 12n, sc.gData);
      return { vsatp: 0n, hgatp, gva };
    }
    const levels = sc.vsMode === 8 ? 3 : 4;
    const tableGp = (level: number) => gpaPage(sc.tablePick[level], level, sc.gMode);
    const vsatp = (BigInt(sc.vsMode) << 60n) | (0x55n << 44n) | tableGp(levels - 1);
    for (let level = levels - 1; level >= 0; level--) {
      const host = this.gmap(tableGp(level), sc.gTables[level]);
      const d = sc.vs[level];
      const flags = BigInt(d.flags) | (d.rsvd ? RSVD : 0n);
      let e: bigint;
      let done = true;
      if (d.kind === 'ptr') {
        // A pointer; with `misalign` it also carries the leaf-only U/A/D bits of `flags` (a fault, §4.3.2 step 4).
        e = pte(level > 0 ? tableGp(level - 1) : gpaPage(sc.dataPick, 4, sc.gMode), V | (d.misalign ? flags & (U | AB | DB) : 0n) | (flags & RSVD));
        done = level === 0;
      } else if (d.kind === 'leaf') {
        // U: what the access's privilege needs (VU: U = 1; VS: U = 0), or the opposite.
        const wantU = !sc.spvp;
        const uBit = (d.userOk ? wantU : !wantU) ? U : 0n;
        const span = BigInt(9 * level);
        const dataGp = gpaPage(sc.dataPick, 4, sc.gMode);
        const ppn = ((dataGp >> span) << span) + (d.misalign && level > 0 ? 1n : 0n);
        e = pte(ppn, (flags & ~U) | uBit);
        // The final guest page: the superpage base plus the GVA's lower VPNs.
        const finalGp = ((dataGp >> span) << span) | ((gva >> 12n) & ((1n << span) - 1n));
        this.gmap(finalGp, sc.gData);
      } else if (d.kind === 'invalid') {
        e = flags & ~V;
      } else {
        e = d.raw;
      }
      if (host !== null) this.put(host + ((gva >> BigInt(12 + 9 * level)) & 0x1ffn) * 8n, e);
      if (done) break;
    }
    return { vsatp, hgatp, gva };
  }
}

// ---- running both walkers ----

const hex = (v: bigint) => '0x' + v.toString(16);
/** A scenario and both outcomes as readable text (the failure message). */
function describeRun(sc: Scenario, io: { vsatp: bigint; hgatp: bigint; gva: bigint }, ref: Walk2dResult, core: unknown): string {
  const j = (o: unknown) => JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? hex(v) : v));
  return `scenario ${j(sc)}\nvsatp ${hex(io.vsatp)} hgatp ${hex(io.hgatp)} gva ${hex(io.gva)}\nreference ${j(ref)}\ncore ${j(core)}`;
}

interface Tally { ok: number; causes: Map<number, number>; implicit: number }

function runOne(h: Harness, sc: Scenario, tally: Tally): void {
  h.reset();
  h.put(sc.write ? HSV_D : HLV_D, CODE);
  const img = new Image(h, sc);
  const io = img.build();
  h.hart.hgatp = io.hgatp;
  h.hart.vsatp = io.vsatp;
  h.hart.hstatus = sc.spvp ? 1n << 8n : 0n;
  h.hart.vsstatus = (sc.sum ? 1n << 18n : 0n) | (sc.vmxr ? 1n << 19n : 0n);
  h.hart.mstatus |= sc.mxr ? 1n << 19n : 0n;
  h.hart.setX(6, io.gva);
  h.hart.setX(7, STORE_VALUE);

  // The reference works on a copy of RAM taken before the core runs.
  const refRam = h.bytes(RAM_BASE, RAM_SIZE);
  const view = new DataView(refRam.buffer);
  const inRam = (pa: bigint) => pa >= RAM_BASE && pa + 8n <= RAM_END;
  const ref = walk2d({
    gva: io.gva, access: sc.write ? 'write' : 'read', vsatp: io.vsatp, hgatp: io.hgatp,
    priv: sc.spvp ? 'VS' : 'VU', sum: sc.sum, mxr: sc.mxr, vmxr: sc.vmxr,
    read64: (pa) => (inRam(pa) ? view.getBigUint64(Number(pa - RAM_BASE), true) : undefined),
    write64: (pa, v) => { if (inRam(pa)) view.setBigUint64(Number(pa - RAM_BASE), v, true); },
  });

  const s = h.step();
  const hart = h.hart;
  const core = s.trapped
    ? { trapped: true, mcause: hart.mcause, mtval: hart.mtval, mtval2: hart.mtval2, mtinst: hart.mtinst, gva: (hart.mstatus >> 38n) & 1n }
    : { trapped: false, x5: hart.x(5), pc: hart.pc };

  let want: unknown;
  if (ref.ok && inRam(ref.hpa)) {
    if (sc.write) {
      view.setBigUint64(Number(ref.hpa - RAM_BASE), STORE_VALUE, true);
      want = { trapped: false, x5: poison(5), pc: CODE + 4n }; // HSV writes no register
    } else {
      want = { trapped: false, x5: view.getBigUint64(Number(ref.hpa - RAM_BASE), true), pc: CODE + 4n };
    }
    tally.ok++;
  } else {
    // Success outside RAM is an access fault of the load or store (§3.7: no device answers an HLV).
    const f = ref.ok ? { cause: sc.write ? 7 : 5, tval: io.gva, htval: 0n, htinst: 0 } : ref;
    const guest = f.cause === 21 || f.cause === 23;
    const mtinst = f.htinst !== 0 ? BigInt(f.htinst) : guest ? (sc.write ? HSV_D_T : HLV_D_T) : 0n;
    want = { trapped: true, mcause: BigInt(f.cause), mtval: f.tval, mtval2: f.htval, mtinst, gva: 1n };
    tally.causes.set(f.cause, (tally.causes.get(f.cause) ?? 0) + 1);
    if (f.htinst !== 0) tally.implicit++;
  }
  const msg = describeRun(sc, io, ref, core);
  expect(core, msg).toEqual(want);
  if (s.trapped) expect(hart.pc).toBe(MTVEC);
  // Same memory afterwards: the same A/D updates (and the store).
  const coreRam = h.bytes(RAM_BASE, RAM_SIZE);
  if (Buffer.compare(Buffer.from(coreRam), Buffer.from(refRam)) !== 0) {
    const a = new BigUint64Array(coreRam.buffer), b = new BigUint64Array(refRam.buffer);
    const diffs: string[] = [];
    for (let i = 0; i < a.length && diffs.length < 8; i++) if (a[i] !== b[i]) diffs.push(`${hex(RAM_BASE + BigInt(i * 8))}: core ${hex(a[i])} reference ${hex(b[i])}`);
    expect.fail(`RAM differs after the access:\n${diffs.join('\n')}\n${msg}`);
  }
}

describe('two-dimensional walker: core vs reference (host/vmm/walk.ts)', () => {
  const runs = Number(process.env.WALK2D_RUNS ?? 500);
  it(`agrees on ${runs} random VS-stage/G-stage tables (translation, fault, tval, htval, htinst, A/D)`, () => {
    const h = new Harness(RAM_SIZE);
    const tally: Tally = { ok: 0, causes: new Map(), implicit: 0 };
    fc.assert(fc.property(scenarioArb, (sc) => runOne(h, sc, tally)), { numRuns: runs, seed: fcSeed(0x2d) });
    // The generator must reach every outcome, or the agreement above says little.
    expect(tally.ok).toBeGreaterThan(runs / 10);
    for (const c of [5, 13, 15, 21, 23]) expect(tally.causes.get(c) ?? 0, `runs with cause ${c}`).toBeGreaterThan(0);
    expect(tally.implicit, 'runs faulting on an implicit PTE access').toBeGreaterThan(0);
  }, 120_000);
});
