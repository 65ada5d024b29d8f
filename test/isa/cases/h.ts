/**
 * The hypervisor extension (privileged spec ch. 8), one instruction at a time: HLV/HLVX/HSV
 * (§8.2.8 / "Hypervisor Virtual-Machine Load and Store Instructions") with both translation
 * stages, the guest-page faults they raise (§8.5.1, htval/htinst of §8.6.3), HFENCE.VVMA/GVMA,
 * the H and VS CSRs and their aliasing while V = 1 (§8.2, §8.2.9), the virtual-instruction
 * exception (§8.6.1), trap routing between M, HS and VS (§8.6.4), and VM exits through
 * vmRun() with "HS is external" (the VMCS, assembly/abi.ts).
 *
 * Every test asserts exactly which STATE slots changed (the harness diff).
 */
import { expect } from 'vitest';
import * as A from '../../../assembly/abi';
import { Vmcs } from '../../../host/vmm/vmcs';
import { fp, cFldFsd } from '../../diff/fp-encode';
import { Cases, CODE, DATA, MTVEC, STVEC, VSTVEC, M, S, U, expectChanges, expectRetired, slotValue, type Harness, type Step } from '../harness';

export const cases = new Cases();

// ---- encodings ----
const r = (match: number, rd: number, rs1: number, rs2 = 0) => (match | (rs2 << 20) | (rs1 << 15) | (rd << 7)) >>> 0;
const HLV: Record<string, number> = {
  'hlv.b': 0x60004073, 'hlv.bu': 0x60104073, 'hlv.h': 0x64004073, 'hlv.hu': 0x64104073,
  'hlvx.hu': 0x64304073, 'hlv.w': 0x68004073, 'hlvx.wu': 0x68304073, 'hlv.wu': 0x68104073,
  'hlv.d': 0x6c004073,
};
const HSV: Record<string, number> = { 'hsv.b': 0x62004073, 'hsv.h': 0x66004073, 'hsv.w': 0x6a004073, 'hsv.d': 0x6e004073 };
const hlv = (name: string, rd = 5, rs1 = 6) => (HLV[name] | (rs1 << 15) | (rd << 7)) >>> 0;
const hsv = (name: string, rs2 = 7, rs1 = 6) => (HSV[name] | (rs2 << 20) | (rs1 << 15)) >>> 0;
const HFENCE_VVMA = 0x22000073;
const HFENCE_GVMA = 0x62000073;
const ECALL = 0x00000073;
const SRET = 0x10200073;
const MRET = 0x30200073;
const WFI = 0x10500073;
const NOP = 0x00000013;
const csr = (f3: number, rd: number, rs1: number, c: number) => ((c << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x73) >>> 0;
const csrw = (c: number) => csr(1, 5, 6, c); // csrrw x5, c, x6
const csrr = (c: number) => csr(2, 5, 0, c); // csrrs x5, c, x0

// ---- state bits ----
const SIE = 1n << 1n, MIE = 1n << 3n, SPIE = 1n << 5n, MPIE = 1n << 7n, SPP = 1n << 8n;
const MPP = 3n << 11n, SUM = 1n << 18n, MXR = 1n << 19n, TVM = 1n << 20n, TW = 1n << 21n;
const GVA_M = 1n << 38n, MPV = 1n << 39n;
const XL = 0xa00000000n; // mstatus UXL = SXL = 64
const H_GVA = 1n << 6n, SPV = 1n << 7n, SPVP = 1n << 8n, HU = 1n << 9n;
const VTVM = 1n << 20n, VTW = 1n << 21n, VTSR = 1n << 22n;
const VSXL = 2n << 32n;
const STCE = 1n << 63n;
const IRQ = 1n << 63n;

// ---- page tables ----
const V = 1n, R = 2n, W = 4n, X = 8n, PU = 16n, PA = 64n, PD = 128n;
const pte = (pa: bigint, flags: bigint) => ((pa >> 12n) << 10n) | flags;
/** The G-stage root (Sv39x4: 16 KiB, 16 KiB aligned) and the pool its lower tables come from. */
const G_ROOT = 0x80040000n;
/** The VS-stage root, at a guest-physical address that the G-stage maps to the same host address. */
const VS_ROOT = 0x80060000n;
const HGATP_SV39X4 = (8n << 60n) | (G_ROOT >> 12n);
const VSATP_SV39 = (8n << 60n) | (VS_ROOT >> 12n);

/** Where next-level tables come from. */
interface PagePool { page(): bigint }
/** A bump allocator of zeroed 4 KiB table pages in RAM. */
class Pool implements PagePool {
  constructor(private next: bigint) {}
  page(): bigint { const a = this.next; this.next += 0x1000n; return a; }
}

/**
 * Write the mapping va -> pa (a leaf at `leafLevel`, 0 = 4 KiB) into the three-level table at
 * host address `root`; the top level has `topBits` index bits (9 Sv39, 11 Sv39x4). Missing
 * next-level tables come from `pool`; table pointers are host addresses (the VS tables of these
 * tests sit at guest-physical addresses that the G-stage maps to themselves).
 */
function map(h: Harness, root: bigint, va: bigint, pa: bigint, flags: bigint, pool: PagePool, topBits = 9, leafLevel = 0): void {
  let table = root;
  for (let level = 2; level >= leafLevel; level--) {
    const bits = level === 2 ? BigInt(topBits) : 9n;
    const slot = table + ((va >> BigInt(12 + 9 * level)) & ((1n << bits) - 1n)) * 8n;
    if (level === leafLevel) { h.write64(slot, pte(pa, flags)); return; }
    let e = h.read64(slot);
    if ((e & V) === 0n) { e = pte(pool.page(), V); h.write64(slot, e); }
    table = ((e >> 10n) & ((1n << 44n) - 1n)) << 12n;
  }
}

/** A G-stage (Sv39x4 at G_ROOT) and a VS-stage (Sv39 at VS_ROOT) builder over one harness. */
class Stages {
  private readonly gPool = new Pool(G_ROOT + 0x4000n);
  private readonly vsPool = new Pool(VS_ROOT); // the first table is the root
  constructor(private readonly h: Harness) {}
  /** G-stage 4 KiB leaf gpa -> hpa. */
  g(gpa: bigint, hpa: bigint, flags = V | R | W | X | PU | PA | PD): void { map(this.h, G_ROOT, gpa, hpa, flags, this.gPool, 11); }
  /** A VS-stage table page, G-mapped to itself with `gflags` (or left unmapped when null). */
  vsTable(gflags: bigint | null = V | R | W | PU | PA | PD): bigint {
    const t = this.vsPool.page();
    if (gflags !== null) this.g(t, t, gflags);
    return t;
  }
  /** VS-stage 4 KiB leaf gva -> gpa in the Sv39 table at VS_ROOT. */
  vs(gva: bigint, gpa: bigint, flags: bigint): void { map(this.h, VS_ROOT, gva, gpa, flags, { page: () => this.vsTable() }); }
  /** Write a raw VS-stage PTE at guest-physical (= host) address `at`. */
  raw(at: bigint, value: bigint): void { this.h.write64(at, value); }
}

/** The slot index of a Sv39 level `level` entry for va. */
const vpn = (va: bigint, level: number) => (va >> BigInt(12 + 9 * level)) & 0x1ffn;

// ---- what a trap changes (§3.1.6.1, §4.1.1, §8.6.4) ----
interface TrapOpts { gva?: boolean; htval?: bigint; htinst?: bigint; epc?: bigint; extra?: Record<string, bigint> }

/**
 * Assert that step `s` trapped into `to` with `cause` and `tval`, and that exactly the trap
 * state changed: M: mcause/mepc/mtval/mtval2/mtinst, mstatus (MPP, MPIE, MIE, MPV <- V,
 * GVA), priv, V <- 0; HS: scause/sepc/stval/htval/htinst, sstatus (SPP, SPIE, SIE), hstatus
 * (SPV <- V, SPVP <- priv when V = 1, GVA), priv S, V <- 0; VS: vscause/vsepc/vstval, vsstatus
 * (SPP, SPIE, SIE), priv S, V stays 1.
 */
function expectHTrap(s: Step, to: 'M' | 'HS' | 'VS', cause: bigint, tval: bigint, o: TrapOpts = {}): void {
  expect(s.trapped, 'the step trapped to a vector').toBe(true);
  const b = (n: string) => slotValue(s.before, n);
  const p = b('priv'), v = b('v'), st = b('mstatus');
  const epc = o.epc ?? b('pc');
  const want: Record<string, bigint> = {};
  if (to === 'M') {
    Object.assign(want, { mcause: cause, mepc: epc, mtval: tval, mtval2: o.htval ?? 0n, mtinst: o.htinst ?? 0n, pc: MTVEC, priv: 3n, v: 0n });
    want.mstatus = (st & ~(MPP | MPIE | MIE | MPV | GVA_M)) | (p << 11n) | ((st & MIE) << 4n) | (v ? MPV : 0n) | (o.gva ? GVA_M : 0n);
  } else if (to === 'HS') {
    Object.assign(want, { scause: cause, sepc: epc, stval: tval, htval: o.htval ?? 0n, htinst: o.htinst ?? 0n, pc: STVEC, priv: 1n, v: 0n });
    want.mstatus = (st & ~(SPP | SPIE | SIE)) | (p === 1n ? SPP : 0n) | ((st & SIE) << 4n);
    let hs = b('hstatus') & ~(SPV | H_GVA);
    if (v) hs = (hs & ~SPVP) | SPV | (p === 1n ? SPVP : 0n);
    want.hstatus = hs | (o.gva ? H_GVA : 0n);
  } else {
    const vst = b('vsstatus');
    Object.assign(want, { vscause: cause, vsepc: epc, vstval: tval, pc: VSTVEC, priv: 1n });
    want.vsstatus = (vst & ~(SPP | SPIE | SIE)) | (p === 1n ? SPP : 0n) | ((vst & SIE) << 4n);
  }
  Object.assign(want, o.extra ?? {});
  for (const n of Object.keys(want)) if (want[n] === b(n)) delete want[n];
  expectChanges(s, want);
}

/** Put the hart in privilege p with V = v (and mstatus = XL | bits). */
const mode = (p: number, v: 0 | 1 = 0, bits = 0n) => (h: Harness) => { h.hart.priv = p; h.hart.v = v; h.hart.mstatus = XL | bits; };

// =====================================================================================
// HLV / HLVX / HSV
// =====================================================================================

/** The bytes at DATA + 8 for the loads: every width has its sign bit set. */
const MARK = 0x8182838485868788n;
const LOADED: Record<string, bigint> = {
  'hlv.b': 0xffffffffffffff88n, 'hlv.bu': 0x88n, 'hlv.h': 0xffffffffffff8788n, 'hlv.hu': 0x8788n,
  'hlvx.hu': 0x8788n, 'hlv.w': 0xffffffff85868788n, 'hlvx.wu': 0x85868788n, 'hlv.wu': 0x85868788n,
  'hlv.d': MARK,
};
const hyper = (spvp: boolean, extra = 0n) => (h: Harness) => { h.hart.hstatus = (spvp ? SPVP : 0n) | extra; };

for (const name of Object.keys(HLV)) {
  const want = LOADED[name];
  for (const [who, p] of [['M', M], ['HS', S]] as const) {
    for (const spvp of [true, false]) {
      cases.add(name, `from ${who}, SPVP = ${spvp ? 1 : 0}, vsatp = hgatp = Bare: reads GVA = GPA = PA, ${name.includes('x') || name.endsWith('u') || name.endsWith('d') ? 'zero' : 'sign'}-extended`, (h) => {
        const s = h.exec(hlv(name), (h) => {
          mode(p)(h);
          hyper(spvp)(h);
          h.write64(DATA + 8n, MARK);
          h.hart.setX(6, DATA + 8n);
        });
        expectRetired(s, 4, { x5: want });
      });
    }
  }
  cases.add(name, 'through a Sv39x4 G-stage page (GPA 0x1000 -> DATA, U = 1): reads the host page', (h) => {
    const s = h.exec(hlv(name), (h) => {
      const g = new Stages(h);
      g.g(0x1000n, DATA, V | R | X | PU | PA | PD);
      h.hart.hgatp = HGATP_SV39X4;
      h.write64(DATA + 8n, MARK);
      h.write64(0x80001008n, 0x1111111111111111n); // the identity page would read this
      h.hart.setX(6, 0x1008n);
    });
    expectRetired(s, 4, { x5: want });
  });
  const isX = name.startsWith('hlvx');
  cases.add(name, isX ? 'G-stage page execute-only: HLVX needs X, not R (§8.2.8): reads' : 'G-stage page execute-only: load guest-page fault 21 (needs R)', (h) => {
    const s = h.exec(hlv(name), (h) => {
      new Stages(h).g(0x2000n, DATA, V | X | PU | PA | PD);
      h.hart.hgatp = HGATP_SV39X4;
      h.write64(DATA + 8n, MARK);
      h.hart.setX(6, 0x2008n);
    });
    if (isX) expectRetired(s, 4, { x5: want });
    // From M: mtval = GVA, mtval2 = GPA >> 2, mtinst = the HLV with rs1 (address) zeroed, GVA = 1.
    else expectHTrap(s, 'M', 21n, 0x2008n, { gva: true, htval: 0x2008n >> 2n, htinst: BigInt(hlv(name, 5, 0)) });
  });
}

cases.add('hlvx.wu', 'G-stage page readable but not executable: load guest-page fault 21', (h) => {
  const s = h.exec(hlv('hlvx.wu'), (h) => {
    new Stages(h).g(0x2000n, DATA, V | R | W | PU | PA | PD);
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.setX(6, 0x2000n);
  });
  expectHTrap(s, 'M', 21n, 0x2000n, { gva: true, htval: 0x800n, htinst: BigInt(hlv('hlvx.wu', 5, 0)) });
});
cases.add('hlvx.hu', 'VS-stage page execute-only, SPVP = 1: HLVX reads it', (h) => {
  const s = h.exec(hlv('hlvx.hu'), (h) => {
    const g = new Stages(h);
    g.vsTable(); // the root, G-mapped to itself
    g.g(0x3000n, DATA);
    g.vs(0x40000000n, 0x3000n, V | X | PA);
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.vsatp = VSATP_SV39;
    hyper(true)(h);
    h.write64(DATA + 8n, MARK);
    h.hart.setX(6, 0x40000008n);
  });
  expectRetired(s, 4, { x5: 0x8788n });
});
cases.add('hlv.hu', 'VS-stage page execute-only: load page fault 13 (tval = GVA, GVA = 1, no htval)', (h) => {
  const s = h.exec(hlv('hlv.hu'), (h) => {
    const g = new Stages(h);
    g.vsTable();
    g.g(0x3000n, DATA);
    g.vs(0x40000000n, 0x3000n, V | X | PA);
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.vsatp = VSATP_SV39;
    hyper(true)(h);
    h.hart.setX(6, 0x40000008n);
  });
  expectHTrap(s, 'M', 13n, 0x40000008n, { gva: true });
});
cases.add('hlv.hu', 'VS-stage page execute-only with vsstatus.MXR: readable', (h) => {
  const s = h.exec(hlv('hlv.hu'), (h) => {
    const g = new Stages(h);
    g.vsTable();
    g.g(0x3000n, DATA);
    g.vs(0x40000000n, 0x3000n, V | X | PA);
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.vsatp = VSATP_SV39;
    h.hart.vsstatus = MXR;
    hyper(true)(h);
    h.write64(DATA + 8n, MARK);
    h.hart.setX(6, 0x40000008n);
  });
  expectRetired(s, 4, { x5: 0x8788n });
});

// SPVP selects the privilege of the VS-stage check: a U page needs SPVP = 0 (VU) or vsstatus.SUM.
function spvpCase(title: string, leafU: boolean, spvp: boolean, sum: boolean, ok: boolean): void {
  cases.add('hlv.d', title, (h) => {
    const s = h.exec(hlv('hlv.d'), (h) => {
      const g = new Stages(h);
      g.vsTable();
      g.g(0x3000n, DATA);
      g.vs(0x40000000n, 0x3000n, V | R | W | PA | PD | (leafU ? PU : 0n));
      h.hart.hgatp = HGATP_SV39X4;
      h.hart.vsatp = VSATP_SV39;
      if (sum) h.hart.vsstatus = SUM;
      hyper(spvp)(h);
      h.write64(DATA + 8n, MARK);
      h.hart.setX(6, 0x40000008n);
    });
    if (ok) expectRetired(s, 4, { x5: MARK });
    else expectHTrap(s, 'M', 13n, 0x40000008n, { gva: true });
  });
}
spvpCase('two stages, U page, SPVP = 0 (as VU): reads through VS and G stages', true, false, false, true);
spvpCase('two stages, U page, SPVP = 1 (as VS) without vsstatus.SUM: load page fault 13', true, true, false, false);
spvpCase('two stages, U page, SPVP = 1 with vsstatus.SUM: reads', true, true, true, true);
spvpCase('two stages, S page, SPVP = 1: reads', false, true, false, true);
spvpCase('two stages, S page, SPVP = 0 (as VU): load page fault 13', false, false, false, false);

cases.add('hlv.d', 'G-stage leaf without U: guest-page fault 21 (G-stage accesses are user accesses, §8.5.1)', (h) => {
  const s = h.exec(hlv('hlv.d'), (h) => {
    new Stages(h).g(0x1000n, DATA, V | R | W | X | PA | PD);
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.setX(6, 0x1010n);
  });
  expectHTrap(s, 'M', 21n, 0x1010n, { gva: true, htval: 0x404n, htinst: BigInt(hlv('hlv.d', 5, 0)) });
});
cases.add('hlv.d', 'GPA beyond Sv39x4 (bit 41 set, vsatp Bare): guest-page fault, htval = GPA >> 2', (h) => {
  const gpa = 1n << 41n;
  const s = h.exec(hlv('hlv.d'), (h) => { h.hart.hgatp = HGATP_SV39X4; h.hart.setX(6, gpa); });
  expectHTrap(s, 'M', 21n, gpa, { gva: true, htval: gpa >> 2n, htinst: BigInt(hlv('hlv.d', 5, 0)) });
});
cases.add('hlv.w', 'from HS, G-stage fault delegated by medeleg[21]: to HS with stval = GVA, htval, htinst, hstatus.GVA = 1', (h) => {
  const s = h.exec(hlv('hlv.w', 9, 6), (h) => {
    mode(S)(h);
    h.hart.medeleg = 1n << 21n;
    new Stages(h).g(0x1000n, DATA);
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.setX(6, 0x3004n); // not mapped
  });
  expectHTrap(s, 'HS', 21n, 0x3004n, { gva: true, htval: 0xc01n, htinst: BigInt(hlv('hlv.w', 9, 0)) });
});
cases.add('hlv.d', 'from M with medeleg[21]: stays in M (no delegation from M); MPV = 0, GVA = 1, mtval2, mtinst', (h) => {
  const s = h.exec(hlv('hlv.d'), (h) => {
    h.hart.medeleg = 1n << 21n;
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.setX(6, 0x5000n);
  });
  expectHTrap(s, 'M', 21n, 0x5000n, { gva: true, htval: 0x1400n, htinst: BigInt(hlv('hlv.d', 5, 0)) });
});
cases.add('hlv.d', 'implicit VS-stage PTE read through an unmapped G-stage page: 21, htval = PTE GPA >> 2, htinst = 0x00003000', (h) => {
  const gva = 0x40201008n;
  let l1 = 0n;
  const s = h.exec(hlv('hlv.d'), (h) => {
    const g = new Stages(h);
    g.vsTable();
    l1 = g.vsTable(null); // a level-1 table the G-stage does not map
    g.raw(VS_ROOT + vpn(gva, 2) * 8n, pte(l1, V));
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.vsatp = VSATP_SV39;
    h.hart.setX(6, gva);
  });
  expectHTrap(s, 'M', 21n, gva, { gva: true, htval: (l1 + vpn(gva, 1) * 8n) >> 2n, htinst: 0x3000n });
});
cases.add('hsv.d', 'implicit VS-stage PTE read for a store: store guest-page fault 23 with htinst = 0x00003000 (a read)', (h) => {
  const gva = 0x40201008n;
  let l1 = 0n;
  const s = h.exec(hsv('hsv.d'), (h) => {
    const g = new Stages(h);
    g.vsTable();
    l1 = g.vsTable(null);
    g.raw(VS_ROOT + vpn(gva, 2) * 8n, pte(l1, V));
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.vsatp = VSATP_SV39;
    h.hart.setX(6, gva);
  });
  expectHTrap(s, 'M', 23n, gva, { gva: true, htval: (l1 + vpn(gva, 1) * 8n) >> 2n, htinst: 0x3000n });
});
cases.add('hlv.d', 'VS-stage A update through a read-only G-stage page: 21, htinst = 0x00003020 (a write)', (h) => {
  const gva = 0x40000010n;
  let l0 = 0n;
  const s = h.exec(hlv('hlv.d'), (h) => {
    const g = new Stages(h);
    g.vsTable();
    const l1 = g.vsTable();
    l0 = g.vsTable(V | R | PU | PA | PD); // readable, not writable, in the G-stage
    g.raw(VS_ROOT + vpn(gva, 2) * 8n, pte(l1, V));
    g.raw(l1 + vpn(gva, 1) * 8n, pte(l0, V));
    g.raw(l0 + vpn(gva, 0) * 8n, pte(0x3000n, V | R | W)); // A = 0: the walk must set it
    g.g(0x3000n, DATA);
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.vsatp = VSATP_SV39;
    hyper(true)(h);
    h.hart.setX(6, gva);
  });
  expectHTrap(s, 'M', 21n, gva, { gva: true, htval: (l0 + vpn(gva, 0) * 8n) >> 2n, htinst: 0x3020n });
});
cases.add('hlv.d', 'two stages with A = 0 in both leaves: hardware sets VS leaf A and G leaf A', (h) => {
  const gva = 0x40000010n;
  let leaf = 0n;
  const s = h.exec(hlv('hlv.d'), (h) => {
    const g = new Stages(h);
    g.vsTable();
    g.g(0x3000n, DATA, V | R | PU);
    g.vs(gva, 0x3000n, V | R);
    leaf = VS_ROOT + 0x2000n + vpn(gva, 0) * 8n; // root, then level 1 and level 0 from the pool
    h.hart.hgatp = HGATP_SV39X4;
    h.hart.vsatp = VSATP_SV39;
    hyper(true)(h);
    h.write64(DATA + 0x10n, MARK);
    h.hart.setX(6, gva);
  });
  expectRetired(s, 4, { x5: MARK });
  expect(h.read64(leaf)).toBe(pte(0x3000n, V | R | PA));
});

// ---- who may execute them (§8.2.8, §8.6.1) ----
for (const name of [...Object.keys(HLV), ...Object.keys(HSV)]) {
  const word = name.startsWith('hsv') ? hsv(name) : hlv(name);
  cases.add(name, 'from VS (V = 1): virtual instruction 22, tval = the instruction, to M with MPV = 1', (h) => {
    expectHTrap(h.exec(word, mode(S, 1)), 'M', 22n, BigInt(word));
  });
  cases.add(name, 'from U with hstatus.HU = 0: illegal instruction', (h) => {
    expectHTrap(h.exec(word, mode(U)), 'M', 2n, BigInt(word));
  });
}
cases.add('hlv.d', 'from VU: virtual instruction 22', (h) => expectHTrap(h.exec(hlv('hlv.d'), mode(U, 1)), 'M', 22n, BigInt(hlv('hlv.d'))));
cases.add('hlv.d', 'from VS, virtual instruction delegated by medeleg[22]: to HS, SPV = 1, SPVP = 1, V <- 0', (h) => {
  const s = h.exec(hlv('hlv.d'), (h) => { mode(S, 1)(h); h.hart.medeleg = 1n << 22n; });
  expectHTrap(s, 'HS', 22n, BigInt(hlv('hlv.d')));
});
cases.add('hlv.bu', 'from U with hstatus.HU = 1: allowed (SPVP = 0)', (h) => {
  const s = h.exec(hlv('hlv.bu'), (h) => { mode(U)(h); hyper(false, HU)(h); h.write64(DATA + 8n, MARK); h.hart.setX(6, DATA + 8n); });
  expectRetired(s, 4, { x5: 0x88n });
});

const STORED: Record<string, [number, bigint]> = {
  'hsv.b': [1, 0xa1n], 'hsv.h': [2, 0xa2a1n], 'hsv.w': [4, 0xa4a3a2a1n], 'hsv.d': [8, 0xa8a7a6a5a4a3a2a1n],
};
for (const name of Object.keys(HSV)) {
  const [size, val] = STORED[name];
  const word = hsv(name);
  const expectStored = (h: Harness, at: bigint) => {
    const around = h.read64(at) ;
    const mask = size === 8 ? (1n << 64n) - 1n : (1n << BigInt(8 * size)) - 1n;
    expect(around).toBe((0x5555555555555555n & ~mask) | val);
  };
  for (const [who, p] of [['M', M], ['HS', S]] as const) {
    cases.add(name, `from ${who}, vsatp = hgatp = Bare: writes ${size} byte(s) of rs2, no register changes`, (h) => {
      const s = h.exec(word, (h) => {
        mode(p)(h);
        h.write64(DATA + 16n, 0x5555555555555555n);
        h.hart.setX(6, DATA + 16n);
        h.hart.setX(7, 0xa8a7a6a5a4a3a2a1n);
      });
      expectRetired(s, 4);
      expectStored(h, DATA + 16n);
    });
  }
  cases.add(name, 'through a G-stage page: writes the host page', (h) => {
    const s = h.exec(word, (h) => {
      new Stages(h).g(0x1000n, DATA);
      h.hart.hgatp = HGATP_SV39X4;
      h.write64(DATA + 16n, 0x5555555555555555n);
      h.hart.setX(6, 0x1010n);
      h.hart.setX(7, 0xa8a7a6a5a4a3a2a1n);
    });
    expectRetired(s, 4);
    expectStored(h, DATA + 16n);
  });
  cases.add(name, 'to a read-only G-stage page: store guest-page fault 23, mtinst = HSV with rs1 zeroed, memory unchanged', (h) => {
    const s = h.exec(word, (h) => {
      new Stages(h).g(0x1000n, DATA, V | R | PU | PA | PD);
      h.hart.hgatp = HGATP_SV39X4;
      h.write64(DATA + 16n, 0x5555555555555555n);
      h.hart.setX(6, 0x1010n);
    });
    expectHTrap(s, 'M', 23n, 0x1010n, { gva: true, htval: 0x404n, htinst: BigInt(hsv(name, 7, 0)) });
    expect(h.read64(DATA + 16n)).toBe(0x5555555555555555n);
  });
}

// ---- HFENCE.VVMA / HFENCE.GVMA (§8.3.2) ----
for (const [name, word] of [['hfence.vvma', HFENCE_VVMA], ['hfence.gvma', HFENCE_GVMA]] as const) {
  const w2 = r(word, 0, 6, 7);
  cases.add(name, 'x0, x0 in M-mode: retires, no architectural state changes', (h) => expectRetired(h.exec(word), 4));
  cases.add(name, 'rs1, rs2 in HS-mode: retires', (h) => expectRetired(h.exec(w2, (h) => { mode(S)(h); h.hart.setX(6, DATA); h.hart.setX(7, 1n); }), 4));
  cases.add(name, 'in U-mode: illegal instruction', (h) => expectHTrap(h.exec(word, mode(U)), 'M', 2n, BigInt(word)));
  cases.add(name, 'in VS-mode: virtual instruction', (h) => expectHTrap(h.exec(word, mode(S, 1)), 'M', 22n, BigInt(word)));
  cases.add(name, 'in VU-mode: virtual instruction', (h) => expectHTrap(h.exec(word, mode(U, 1)), 'M', 22n, BigInt(word)));
}
cases.add('hfence.gvma', 'in HS-mode with mstatus.TVM: illegal instruction', (h) => expectHTrap(h.exec(HFENCE_GVMA, mode(S, 0, TVM)), 'M', 2n, BigInt(HFENCE_GVMA)));
cases.add('hfence.vvma', 'in HS-mode with mstatus.TVM: allowed (TVM traps only GVMA)', (h) => expectRetired(h.exec(HFENCE_VVMA, mode(S, 0, TVM)), 4));
cases.add('hfence.gvma', 'drops cached G-stage translations of VS page tables: a VS root remapped in the G-stage is used by the next HLV', (h) => {
  // GVA 0x40003000 goes through a 1 GiB VS leaf in the root. The root's GPA (VS_ROOT) first maps
  // to the host page VS_ROOT (leaf -> GPA 0x3000 -> DATA), then to ALT (leaf -> GPA
  // 0x40003000 -> DATA + 0x1000). After hfence.gvma the second root must be read.
  const ALT = 0x80070000n;
  h.reset();
  h.put(hlv('hlv.d'));
  h.put(HFENCE_GVMA, CODE + 4n);
  h.put(hlv('hlv.d', 7, 6), CODE + 8n);
  const g = new Stages(h);
  g.vsTable();
  g.raw(VS_ROOT + 8n, pte(0n, V | R | PA));
  g.raw(ALT + 8n, pte(0x40000000n, V | R | PA));
  g.g(0x3000n, DATA, V | R | PU | PA);
  g.g(0x40003000n, DATA + 0x1000n, V | R | PU | PA);
  h.hart.hgatp = HGATP_SV39X4;
  h.hart.vsatp = VSATP_SV39;
  hyper(true)(h);
  h.write64(DATA, 1n);
  h.write64(DATA + 0x1000n, 2n);
  h.hart.setX(6, 0x40003000n);
  expectRetired(h.step(), 4, { x5: 1n });
  g.g(VS_ROOT, ALT, V | R | W | PU | PA | PD);
  expectRetired(h.step(), 4);
  expectRetired(h.step(), 4, { x7: 2n });
});

// ---- the VS-stage table cache (assembly/walk.ts vsTableCache): what must drop it ----
// Each case makes a first HLV walk fill the cache with the leaf table of a 2 MiB region, changes
// that table's translation (G-stage, VS-stage or vsatp), and checks that a second HLV in the
// same region sees the change. HLV fills no TLB entry, so each HLV is a whole 2D walk.
const R0 = 0x40000000n; // the region: GVA A = R0 + 0x1000, GVA B = R0 + 0x2000
const GVA_A = R0 + 0x1000n;
const GVA_B = R0 + 0x2000n;
/** VS tables root -> l1 -> l0 for R0 (each G-mapped to itself), A and B mapped, RAM primed. */
function twoPages(h: Harness): { g: Stages; l1: bigint; l0: bigint } {
  h.reset();
  h.put(hlv('hlv.d'));
  const g = new Stages(h);
  g.vsTable();
  g.vs(GVA_A, 0x3000n, V | R | PA);
  g.vs(GVA_B, 0x4000n, V | R | PA);
  const l1 = (h.read64(VS_ROOT + vpn(R0, 2) * 8n) >> 10n) << 12n;
  const l0 = (h.read64(l1 + vpn(R0, 1) * 8n) >> 10n) << 12n;
  g.g(0x3000n, DATA, V | R | PU | PA);
  g.g(0x4000n, DATA + 0x1000n, V | R | PU | PA);
  g.g(0x5000n, DATA + 0x2000n, V | R | PU | PA);
  h.hart.hgatp = HGATP_SV39X4;
  h.hart.vsatp = VSATP_SV39;
  hyper(true)(h);
  h.write64(DATA, 1n);
  h.write64(DATA + 0x1000n, 2n);
  h.write64(DATA + 0x2000n, 3n);
  h.hart.setX(6, GVA_A);
  expectRetired(h.step(), 4, { x5: 1n });
  return { g, l1, l0 };
}
/** Step the HLV at CODE + 8 (hlv.d x7, (x6)) with x6 = GVA_B. */
const secondHlv = (h: Harness) => { h.hart.setX(6, GVA_B); return h.step(); };
cases.add('hfence.gvma', 'drops the cached VS leaf table of a region: the table remapped in the G-stage is read by the next HLV', (h) => {
  const { g, l0 } = twoPages(h);
  h.put(HFENCE_GVMA, CODE + 4n);
  h.put(hlv('hlv.d', 7, 6), CODE + 8n);
  // The leaf table's GPA now maps to ALT, whose slot for B points at GPA 0x5000 (DATA + 0x2000).
  const ALT = 0x80070000n;
  g.raw(ALT + vpn(GVA_B, 0) * 8n, pte(0x5000n, V | R | PA));
  g.g(l0, ALT, V | R | W | PU | PA | PD);
  expectRetired(h.step(), 4);
  expectRetired(secondHlv(h), 4, { x7: 3n });
});
cases.add('hfence.gvma', 'after the cached VS leaf table loses its G-stage read permission: 21, tval = GVA, htval = PTE GPA >> 2, htinst = 0x00003000', (h) => {
  const { g, l0 } = twoPages(h);
  h.put(HFENCE_GVMA, CODE + 4n);
  h.put(hlv('hlv.d', 7, 6), CODE + 8n);
  g.g(l0, l0, V | X | PU | PA); // execute-only: the implicit PTE read faults
  expectRetired(h.step(), 4);
  expectHTrap(secondHlv(h), 'M', 21n, GVA_B, { gva: true, htval: (l0 + vpn(GVA_B, 0) * 8n) >> 2n, htinst: 0x3000n, epc: CODE + 8n });
});
cases.add('hfence.vvma', 'drops the cached VS leaf table of a region: a level-1 PTE pointed at another table is followed by the next HLV', (h) => {
  const { g, l1 } = twoPages(h);
  h.put(HFENCE_VVMA, CODE + 4n);
  h.put(hlv('hlv.d', 7, 6), CODE + 8n);
  const other = g.vsTable();
  g.raw(other + vpn(GVA_B, 0) * 8n, pte(0x5000n, V | R | PA));
  g.raw(l1 + vpn(R0, 1) * 8n, pte(other, V));
  expectRetired(h.step(), 4);
  expectRetired(secondHlv(h), 4, { x7: 3n });
});
cases.add('csrrw', 'vsatp: a new root is walked by the next HLV, without a fence (the VS leaf table cache is per vsatp)', (h) => {
  const { g } = twoPages(h);
  h.put(NOP, CODE + 4n);
  h.put(hlv('hlv.d', 7, 6), CODE + 8n);
  // A second tree, root -> l1 -> l0, mapping B to GPA 0x5000.
  const root = g.vsTable();
  const l1 = g.vsTable();
  const l0 = g.vsTable();
  g.raw(root + vpn(R0, 2) * 8n, pte(l1, V));
  g.raw(l1 + vpn(R0, 1) * 8n, pte(l0, V));
  g.raw(l0 + vpn(GVA_B, 0) * 8n, pte(0x5000n, V | R | PA));
  expectRetired(h.step(), 4);
  h.hart.vsatp = (8n << 60n) | (root >> 12n);
  expectRetired(secondHlv(h), 4, { x7: 3n });
});
cases.add('hlv.d', 'a second walk in a 2 MiB region whose leaf table is cached reads one VS-stage PTE (VS-stage table cache)', (h) => {
  twoPages(h);
  h.put(hlv('hlv.d', 7, 6), CODE + 4n);
  const refs = h.hart.statWalkRefs2d;
  expectRetired(secondHlv(h), 4, { x7: 2n });
  // B's leaf PTE, then the G-stage walk of GPA 0x4000 (root, level 1, leaf: its first
  // translation); without the cache, also the root's and l1's PTEs: 6.
  expect(h.hart.statWalkRefs2d - refs).toBe(4n);
});

// =====================================================================================
// CSRs (§8.2)
// =====================================================================================

/** csrrw x5, c, x6 with x6 = v: x5 = old (as read), slots as given. */
function write(title: string, c: number, v: bigint, old: bigint, slots: Record<string, bigint>, setup: (h: Harness) => void = () => {}): void {
  cases.add('csrrw', title, (h) => {
    const s = h.exec(csrw(c), (h) => { setup(h); h.hart.setX(6, v); });
    expectRetired(s, 4, { x5: old, ...slots });
  });
}
/** csrrs x5, c, x0: x5 = value, nothing else changes. */
function read(title: string, c: number, value: bigint, setup: (h: Harness) => void = () => {}): void {
  cases.add('csrrs', title, (h) => expectRetired(h.exec(csrr(c), setup), 4, { x5: value }));
}
const ALL = (1n << 64n) - 1n;

write('hstatus: GVA, SPV, SPVP, HU, VTVM, VTW, VTSR writable; VSXL reads 2 (RV64), read-only', 0x600, ALL, VSXL, { hstatus: 0x7003c0n });
read('hstatus: reads the slot with VSXL = 2', 0x600, VSXL | VTSR | SPV, (h) => { h.hart.hstatus = VTSR | SPV; });
write('hstatus: writing VSXL = 1 keeps it 2', 0x600, 1n << 32n, VSXL, {});
write('hedeleg: writable bits 0-8, 12, 13, 15 (0xb1ff, §8.2.2)', 0x602, ALL, 0n, { hedeleg: 0xb1ffn });
write('hideleg: only the VS interrupts VSSI, VSTI, VSEI (0x444)', 0x603, ALL, 0n, { hideleg: 0x444n });
write('hie: VSSIE, VSTIE, VSEIE (SGEIE read-only 0: GEILEN = 0)', 0x604, ALL, 0n, { hie: 0x444n });
write('hvip: VSSIP, VSTIP, VSEIP', 0x645, ALL, 0n, { hvip: 0x444n });
write('hip: only VSSIP is writable (it is hvip.VSSIP)', 0x644, ALL, 0n, { hvip: 0x4n });
read('hip: shows the injected VS interrupts of hvip', 0x644, 0x444n, (h) => { h.hart.hvip = 0x444n; });
read('mip: shows hvip VSSIP/VSTIP/VSEIP (aliases, §8.2.4)', 0x344, 0x80n | 0x444n, (h) => { h.hart.hvip = 0x444n; });
write('htimedelta: all 64 bits', 0x605, 0xfedcba9876543210n, 0n, { htimedelta: 0xfedcba9876543210n });
write('hcounteren: 32 bits', 0x606, ALL, 0n, { hcounteren: 0xffffffffn });
write('henvcfg: STCE read-only 0 while menvcfg.STCE = 0 (FIOM writable)', 0x60a, ALL, 0n, { henvcfg: 1n });
write('henvcfg: STCE writable with menvcfg.STCE', 0x60a, ALL, 0n, { henvcfg: STCE | 1n }, (h) => { h.hart.menvcfg = STCE; });
read('henvcfg: STCE reads 0 once menvcfg.STCE is cleared (Sstc: read-only zero)', 0x60a, 1n, (h) => { h.hart.henvcfg = STCE | 1n; });
write('htval: all 64 bits', 0x643, 0x123456789abcdefn, 0n, { htval: 0x123456789abcdefn });
write('htinst: all 64 bits', 0x64a, 0x2503n, 0n, { htinst: 0x2503n });
write('mtval2: all 64 bits', 0x34b, 0x40000002n, 0n, { mtval2: 0x40000002n });
write('mtinst: all 64 bits', 0x34a, 0x3020n, 0n, { mtinst: 0x3020n });
write('hgatp: Sv39x4 accepted; PPN bits 1:0 read 0; VMID 14 bits; bits 59:58 read 0', 0x680, (8n << 60n) | (3n << 58n) | (0x3fffn << 44n) | 0x80043n, 0n,
  { hgatp: (8n << 60n) | (0x3fffn << 44n) | 0x80040n });
write('hgatp: Sv48x4 accepted', 0x680, (9n << 60n) | (5n << 44n) | 0x80040n, 0n, { hgatp: (9n << 60n) | (5n << 44n) | 0x80040n });
write('hgatp: Bare accepted', 0x680, 0n, HGATP_SV39X4, { hgatp: 0n }, (h) => { h.hart.hgatp = HGATP_SV39X4; });
write('hgatp: MODE 7 is not supported: the write has no effect', 0x680, (7n << 60n) | 0x80040n, HGATP_SV39X4, {}, (h) => { h.hart.hgatp = HGATP_SV39X4; });
cases.add('csrrs', 'hgatp from HS with mstatus.TVM: illegal', (h) => expectHTrap(h.exec(csrr(0x680), mode(S, 0, TVM)), 'M', 2n, BigInt(csrr(0x680))));
read('hstatus from HS: allowed (H CSRs are supervisor-level, bits 9:8 = 2)', 0x600, VSXL, mode(S));
cases.add('csrrs', 'hstatus from U: illegal', (h) => expectHTrap(h.exec(csrr(0x600), mode(U)), 'M', 2n, BigInt(csrr(0x600))));

// ---- the VS CSRs, accessed directly (V = 0) ----
write('vsstatus: SIE, SPIE, SPP, SUM, MXR, FS writable (SD follows FS); reads UXL = 2', 0x200, ALL, VSXL, { vsstatus: 0xc6122n | (1n << 63n) });
write('vstvec: mode 2 is not written', 0x205, 0x80002002n, VSTVEC, {});
write('vstvec: vectored accepted', 0x205, 0x80002001n, VSTVEC, { vstvec: 0x80002001n });
write('vsscratch', 0x240, 0x1234n, 0n, { vsscratch: 0x1234n });
write('vsepc: bit 0 reads 0', 0x241, 0x80001235n, 0n, { vsepc: 0x80001234n });
write('vscause', 0x242, IRQ | 5n, 0n, { vscause: IRQ | 5n });
write('vstval', 0x243, 0xdeadbeefn, 0n, { vstval: 0xdeadbeefn });
write('vsatp: Sv39 accepted', 0x280, VSATP_SV39, 0n, { vsatp: VSATP_SV39 });
write('vsatp: MODE 1 not written', 0x280, (1n << 60n) | 1n, 0n, {});
write('vsie: hie bits shifted down by one, only where hideleg delegates', 0x204, ALL, 0n, { hie: 0x444n }, (h) => { h.hart.hideleg = 0x444n; });
write('vsie: with hideleg = VSTI only, only VSTIE is written', 0x204, ALL, 0n, { hie: 0x40n }, (h) => { h.hart.hideleg = 0x40n; });
read('vsie: reads hie >> 1 masked by hideleg', 0x204, 0x20n, (h) => { h.hart.hie = 0x444n; h.hart.hideleg = 0x40n; });
read('vsip: reads hip >> 1 masked by hideleg', 0x244, 0x220n, (h) => { h.hart.hvip = 0x444n; h.hart.hideleg = 0x440n; });
write('vsip: only SSIP (= hvip.VSSIP) writable, when delegated', 0x244, ALL, 0n, { hvip: 0x4n }, (h) => { h.hart.hideleg = 0x444n; });
write('vsip: SSIP not delegated: not writable', 0x244, ALL, 0n, {}, (h) => { h.hart.hideleg = 0x40n; });

// ---- V = 1: the supervisor CSR numbers name the VS CSRs (§8.2.9) ----
const vs = (extra: (h: Harness) => void = () => {}) => (h: Harness) => { mode(S, 1)(h); extra(h); };
write('V = 1: sstatus is vsstatus (mstatus unchanged)', 0x100, SIE | SUM, VSXL, { vsstatus: SIE | SUM }, vs());
write('V = 1: stvec is vstvec', 0x105, 0x80004000n, VSTVEC, { vstvec: 0x80004000n }, vs());
write('V = 1: sscratch is vsscratch', 0x140, 0x77n, 0n, { vsscratch: 0x77n }, vs());
write('V = 1: sepc is vsepc', 0x141, 0x80004444n, 0n, { vsepc: 0x80004444n }, vs());
write('V = 1: scause is vscause', 0x142, 9n, 0n, { vscause: 9n }, vs());
write('V = 1: stval is vstval', 0x143, 0x99n, 0n, { vstval: 0x99n }, vs());
write('V = 1: satp is vsatp', 0x180, VSATP_SV39, 0n, { vsatp: VSATP_SV39 }, vs());
write('V = 1: sie is vsie (hie shifted)', 0x104, ALL, 0n, { hie: 0x444n }, vs((h) => { h.hart.hideleg = 0x444n; }));
read('V = 1: sip is vsip', 0x144, 0x20n, vs((h) => { h.hart.hvip = 0x40n; h.hart.hideleg = 0x444n; }));
read('V = 1: sstatus reads vsstatus, not mstatus', 0x100, VSXL | SPP, vs((h) => { h.hart.vsstatus = SPP; h.hart.mstatus = XL | SIE | SUM; }));
cases.add('csrrs', 'V = 1: hstatus is a virtual instruction (22), tval = the instruction', (h) => expectHTrap(h.exec(csrr(0x600), vs()), 'M', 22n, BigInt(csrr(0x600))));
cases.add('csrrs', 'V = 1: hgatp is a virtual instruction', (h) => expectHTrap(h.exec(csrr(0x680), vs()), 'M', 22n, BigInt(csrr(0x680))));
cases.add('csrrs', 'V = 1: vsstatus by its own number is a virtual instruction', (h) => expectHTrap(h.exec(csrr(0x200), vs()), 'M', 22n, BigInt(csrr(0x200))));
cases.add('csrrs', 'V = 1: mstatus is illegal (2), MPV = 1, MPP = S', (h) => expectHTrap(h.exec(csrr(0x300), vs()), 'M', 2n, BigInt(csrr(0x300))));
cases.add('csrrs', 'VU: sstatus is a virtual instruction', (h) => expectHTrap(h.exec(csrr(0x100), mode(U, 1)), 'M', 22n, BigInt(csrr(0x100))));
cases.add('csrrs', 'V = 1: satp with hstatus.VTVM is a virtual instruction', (h) => expectHTrap(h.exec(csrr(0x180), vs((h) => { h.hart.hstatus = VTVM; })), 'M', 22n, BigInt(csrr(0x180))));
read('V = 1: satp with mstatus.TVM (not VTVM) is allowed: TVM does not apply to VS', 0x180, 0x12345n, vs((h) => { h.hart.mstatus = XL | TVM; h.hart.vsatp = 0x12345n; /* MODE Bare: the fetch is not translated */ }));
read('V = 1: time = mtime + htimedelta', 0xc01, 12n + 1000n, vs((h) => { h.hart.instret = 100n; h.hart.mcounteren = 2n; h.hart.hcounteren = 2n; h.hart.htimedelta = 1000n; }));
read('V = 0 (HS): time = mtime, htimedelta not added', 0xc01, 12n, (h) => { mode(S)(h); h.hart.instret = 100n; h.hart.mcounteren = 2n; h.hart.htimedelta = 1000n; });
cases.add('csrrs', 'V = 1: cycle with mcounteren.CY = 1, hcounteren.CY = 0: virtual instruction', (h) =>
  expectHTrap(h.exec(csrr(0xc00), vs((h) => { h.hart.mcounteren = 1n; })), 'M', 22n, BigInt(csrr(0xc00))));
cases.add('csrrs', 'V = 1: cycle with mcounteren.CY = 0: illegal', (h) =>
  expectHTrap(h.exec(csrr(0xc00), vs((h) => { h.hart.hcounteren = 1n; })), 'M', 2n, BigInt(csrr(0xc00))));
cases.add('csrrs', 'VU: cycle with mcounteren and hcounteren set, scounteren clear: virtual instruction', (h) =>
  expectHTrap(h.exec(csrr(0xc00), (h) => { mode(U, 1)(h); h.hart.mcounteren = 1n; h.hart.hcounteren = 1n; }), 'M', 22n, BigInt(csrr(0xc00))));
cases.add('csrrs', 'V = 1: an H CSR number that does not exist (0x6ff) is illegal, not virtual (§8.6.1: only if HS could access it)', (h) =>
  expectHTrap(h.exec(csrr(0x6ff), vs()), 'M', 2n, BigInt(csrr(0x6ff))));

// =====================================================================================
// Traps (§8.6.4)
// =====================================================================================
cases.add('ecall', 'from VS: cause 10 to M; MPP = S, MPV = 1, V <- 0', (h) => expectHTrap(h.exec(ECALL, mode(S, 1)), 'M', 10n, 0n));
cases.add('ecall', 'from VU: cause 8 (U code) to M with MPV = 1', (h) => expectHTrap(h.exec(ECALL, mode(U, 1)), 'M', 8n, 0n));
cases.add('ecall', 'from VS with medeleg[10]: to HS; hstatus.SPV = 1, SPVP = 1; sstatus.SPP = S; V <- 0', (h) => {
  expectHTrap(h.exec(ECALL, (h) => { mode(S, 1, SIE)(h); h.hart.medeleg = 1n << 10n; }), 'HS', 10n, 0n);
});
cases.add('ecall', 'from VU with medeleg[8], hedeleg[8] clear: to HS; SPV = 1, SPVP = 0', (h) => {
  expectHTrap(h.exec(ECALL, (h) => { mode(U, 1)(h); h.hart.medeleg = 1n << 8n; h.hart.hstatus = SPVP; }), 'HS', 8n, 0n);
});
cases.add('ecall', 'from VU with medeleg[8] and hedeleg[8]: to VS (vscause, vsepc, vsstatus.SPP = U, SPIE <- SIE), V stays 1', (h) => {
  expectHTrap(h.exec(ECALL, (h) => { mode(U, 1)(h); h.hart.medeleg = 1n << 8n; h.hart.hedeleg = 1n << 8n; h.hart.vsstatus = SIE; }), 'VS', 8n, 0n);
});
cases.add('ecall', 'from VU with hedeleg[8] but not medeleg[8]: to M (medeleg first)', (h) => {
  expectHTrap(h.exec(ECALL, (h) => { mode(U, 1)(h); h.hart.hedeleg = 1n << 8n; }), 'M', 8n, 0n);
});
cases.add('csrrs', 'illegal instruction in VS delegated by medeleg[2] and hedeleg[2]: to VS, vstval = the instruction, SPP = S', (h) => {
  const w = csrr(0x300);
  expectHTrap(h.exec(w, (h) => { mode(S, 1)(h); h.hart.medeleg = 4n; h.hart.hedeleg = 4n; }), 'VS', 2n, BigInt(w));
});
cases.add('ecall', 'from HS (V = 0) with medeleg[9]: to HS; SPV <- 0, SPVP unchanged, V stays 0', (h) => {
  expectHTrap(h.exec(ECALL, (h) => { mode(S)(h); h.hart.medeleg = 1n << 9n; h.hart.hstatus = SPV | SPVP; }), 'HS', 9n, 0n);
});

// ---- interrupts ----
const vsIrq = (h: Harness) => { h.reset(); h.put(NOP); };
cases.add('csrrs', 'hvip.VSTIP with hideleg[6], hie.VSTIE and vsstatus.SIE in VS: taken in VS as interrupt 5 (the S code)', (h) => {
  vsIrq(h);
  mode(S, 1)(h);
  Object.assign(h.hart, { hvip: 0x40n, hideleg: 0x40n, hie: 0x40n, vsstatus: SIE });
  expectHTrap(h.step(), 'VS', IRQ | 5n, 0n);
});
cases.add('csrrs', 'a VS interrupt in VS with vsstatus.SIE = 0: not taken', (h) => {
  vsIrq(h);
  mode(S, 1)(h);
  Object.assign(h.hart, { hvip: 0x40n, hideleg: 0x40n, hie: 0x40n });
  expectRetired(h.step(), 4);
});
cases.add('csrrs', 'a VS interrupt in VU is taken even with vsstatus.SIE = 0', (h) => {
  vsIrq(h);
  mode(U, 1)(h);
  Object.assign(h.hart, { hvip: 0x4n, hideleg: 0x4n, hie: 0x4n });
  expectHTrap(h.step(), 'VS', IRQ | 1n, 0n);
});
cases.add('csrrs', 'a delegated VS interrupt is not taken with V = 0 (HS with SIE)', (h) => {
  vsIrq(h);
  mode(S, 0, SIE)(h);
  Object.assign(h.hart, { hvip: 0x40n, hideleg: 0x40n, hie: 0x40n });
  expectRetired(h.step(), 4);
});
cases.add('csrrs', 'a VS interrupt not delegated by hideleg, V = 1: taken in HS as interrupt 6 (SPV = 1)', (h) => {
  vsIrq(h);
  mode(S, 1)(h);
  Object.assign(h.hart, { hvip: 0x40n, hie: 0x40n });
  expectHTrap(h.step(), 'HS', IRQ | 6n, 0n);
});
cases.add('csrrs', 'a VS interrupt not delegated by hideleg, HS with SIE: taken in HS as interrupt 6', (h) => {
  vsIrq(h);
  mode(S, 0, SIE)(h);
  Object.assign(h.hart, { hvip: 0x40n, hie: 0x40n });
  expectHTrap(h.step(), 'HS', IRQ | 6n, 0n);
});

// ---- returns ----
cases.add('sret', 'in VS: uses vsstatus and vsepc, stays V = 1 (SIE <- SPIE, SPIE <- 1, SPP <- U)', (h) => {
  const s = h.exec(SRET, (h) => { mode(S, 1)(h); h.hart.vsstatus = SPIE | SPP; h.hart.vsepc = DATA; h.hart.sepc = DATA + 4n; });
  expectChanges(s, { pc: DATA, instret: 1n, vsstatus: SIE | SPIE });
});
cases.add('sret', 'in VS to VU (vsstatus.SPP = 0)', (h) => {
  const s = h.exec(SRET, (h) => { mode(S, 1)(h); h.hart.vsepc = DATA; });
  expectChanges(s, { pc: DATA, instret: 1n, priv: 0n, vsstatus: SPIE });
});
cases.add('sret', 'in HS with hstatus.SPV = 1: returns to VS (V <- 1) and clears SPV', (h) => {
  const s = h.exec(SRET, (h) => { mode(S, 0, SPP)(h); h.hart.hstatus = SPV | SPVP; h.hart.sepc = DATA; });
  expectChanges(s, { pc: DATA, instret: 1n, mstatus: XL | SPIE, hstatus: SPVP, v: 1n });
});
cases.add('sret', 'in VS with hstatus.VTSR: virtual instruction', (h) => expectHTrap(h.exec(SRET, vs((h) => { h.hart.hstatus = VTSR; })), 'M', 22n, BigInt(SRET)));
cases.add('sret', 'in VU: virtual instruction', (h) => expectHTrap(h.exec(SRET, mode(U, 1)), 'M', 22n, BigInt(SRET)));
cases.add('mret', 'with MPV = 1, MPP = S: enters VS (V <- 1), MPV <- 0', (h) => {
  const s = h.exec(MRET, (h) => { mode(M, 0, MPV | (1n << 11n))(h); h.hart.mepc = DATA; });
  expectChanges(s, { pc: DATA, instret: 1n, priv: 1n, v: 1n, mstatus: XL | MPIE });
});
cases.add('mret', 'with MPV = 1, MPP = M: stays in M with V = 0', (h) => {
  const s = h.exec(MRET, (h) => { mode(M, 0, MPV | MPP)(h); h.hart.mepc = DATA; });
  expectChanges(s, { pc: DATA, instret: 1n, mstatus: XL | MPIE });
});
cases.add('mret', 'in VS: illegal instruction', (h) => expectHTrap(h.exec(MRET, vs()), 'M', 2n, BigInt(MRET)));
cases.add('wfi', 'in VU: virtual instruction', (h) => expectHTrap(h.exec(WFI, mode(U, 1)), 'M', 22n, BigInt(WFI)));
cases.add('wfi', 'in VS with hstatus.VTW: virtual instruction', (h) => expectHTrap(h.exec(WFI, vs((h) => { h.hart.hstatus = VTW; })), 'M', 22n, BigInt(WFI)));
cases.add('wfi', 'in VS with mstatus.TW: illegal instruction', (h) => expectHTrap(h.exec(WFI, mode(S, 1, TW)), 'M', 2n, BigInt(WFI)));
cases.add('wfi', 'in VS without VTW/TW: halts, retired', (h) => {
  const s = h.exec(WFI, vs());
  expect(s.exit).toBe(A.EXIT_HALT);
  expectRetired(s, 4);
});
cases.add('sfence.vma', 'in VS with hstatus.VTVM: virtual instruction', (h) => expectHTrap(h.exec(0x12000073, vs((h) => { h.hart.hstatus = VTVM; })), 'M', 22n, 0x12000073n));
cases.add('sfence.vma', 'in VU: virtual instruction', (h) => expectHTrap(h.exec(0x12000073, mode(U, 1)), 'M', 22n, 0x12000073n));
cases.add('sfence.vma', 'in VS with mstatus.TVM (not VTVM): allowed', (h) => expectRetired(h.exec(0x12000073, mode(S, 1, TVM)), 4));

// =====================================================================================
// VM exits: vmRun() with HS external (the VMCS of assembly/abi.ts)
// =====================================================================================

interface VmCore { vmRun(): number }
/** Reset, place the guest's code, fill the VMCS (VS-mode at CODE, budget 100), run one entry. */
function vmEntry(h: Harness, code: number[], setup: (v: Vmcs, h: Harness) => void = () => {}): Vmcs {
  h.reset();
  let at = CODE;
  for (const w of code) { h.put(w, at); at += (w & 3) === 3 ? 4n : 2n; }
  const v = new Vmcs(h.memory);
  v.clear();
  v.pc = CODE;
  v.priv = 1n;
  v.budget = 100n;
  setup(v, h);
  (h.core as unknown as VmCore).vmRun();
  return v;
}
/** A G-stage that maps the code page to itself (so the guest can run) and nothing else. */
const gCode = (v: Vmcs, h: Harness) => {
  new Stages(h).g(CODE, CODE, V | R | X | PU | PA);
  v.hgatp = HGATP_SV39X4;
};
/** The exit fields as one object (a failure prints all of them). */
const exitOf = (v: Vmcs) => ({
  reason: v.exitReason, cause: v.exitCause, tval: v.exitTval, htval: v.exitHtval, htinst: v.exitHtinst,
  insnLen: v.exitInsnLen, pc: v.pc,
});

cases.add('ecall', 'vmRun: ecall in VS exits (EXIT_VM_TRAP, cause 10, insn 0x73, length 4, pc at the ecall), registers written back', (h) => {
  const v = vmEntry(h, [0x02a00293 /* addi x5, x0, 42 */, ECALL]);
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 10n, tval: 0n, htval: 0n, htinst: 0n, insnLen: 4n, pc: CODE + 4n });
  expect(v.exitInsn).toBe(0x73n);
  expect(v.x(5)).toBe(42n);
  expect(v.exitInstructions).toBe(1n);
  expect([h.hart.v, h.hart.hsExternal]).toEqual([0, 0]);
});
cases.add('lw', 'vmRun: lw a0, 8(a1) from an unmapped GPA exits with 21, htval = GPA >> 2, tval = GVA, htinst = 0x00002503', (h) => {
  const v = vmEntry(h, [0x0085a503], (v, h) => { gCode(v, h); v.setX(11, 0x40000000n); v.setX(10, 7n); });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 21n, tval: 0x40000008n, htval: 0x10000002n, htinst: 0x2503n, insnLen: 4n, pc: CODE });
  expect(v.x(10)).toBe(7n);
});
cases.add('c.lw', 'vmRun: c.lw a0, 8(a1) from an unmapped GPA: htinst = 32-bit lw with bit 1 clear (0x00002501), length 2', (h) => {
  const v = vmEntry(h, [0x4588], (v, h) => { gCode(v, h); v.setX(11, 0x40000000n); });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 21n, tval: 0x40000008n, htval: 0x10000002n, htinst: 0x2501n, insnLen: 2n, pc: CODE });
});
cases.add('sw', 'vmRun: sw a0, 12(a1) to an unmapped GPA exits with 23, htinst = sw a0 with rs1 and offset zeroed (0x00a02023)', (h) => {
  const v = vmEntry(h, [0x00a5a623], (v, h) => { gCode(v, h); v.setX(11, 0x40000000n); });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 23n, tval: 0x4000000cn, htval: 0x10000003n, htinst: 0x00a02023n, insnLen: 4n, pc: CODE });
});
cases.add('c.sd', 'vmRun: c.sd a2, 8(a1) to an unmapped GPA: htinst = sd a2 (0x00c03023) with bit 1 clear, length 2', (h) => {
  // c.sd rs2' = a2 (4), rs1' = a1 (3), uimm 8: 111 001 011 00 100 00
  const v = vmEntry(h, [0xe590], (v, h) => { gCode(v, h); v.setX(11, 0x40000000n); });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 23n, tval: 0x40000008n, htval: 0x10000002n, htinst: 0x00c03021n, insnLen: 2n, pc: CODE });
});
cases.add('amoadd.w', 'vmRun: amoadd.w.aqrl a0, a2, (a1) to an unmapped GPA: 23, htinst keeps aq/rl (0x06c0252f, §8.6.3)', (h) => {
  const v = vmEntry(h, [0x06c5a52f], (v, h) => { gCode(v, h); v.setX(11, 0x40000000n); });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 23n, tval: 0x40000000n, htval: 0x10000000n, htinst: 0x06c0252fn, insnLen: 4n, pc: CODE });
});
cases.add('lr.d', 'vmRun: lr.d a0, (a1) from an unmapped GPA: 21, htinst = lr.d a0 with rs1 zeroed (0x1000352f)', (h) => {
  const v = vmEntry(h, [0x1005b52f], (v, h) => { gCode(v, h); v.setX(11, 0x40000000n); });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 21n, tval: 0x40000000n, htval: 0x10000000n, htinst: 0x1000352fn, insnLen: 4n, pc: CODE });
});

/** Guest VS-stage tables (Sv39) mapping the code page GVA CODE -> GPA CODE. */
function guestPaging(v: Vmcs, h: Harness): Stages {
  const g = new Stages(h);
  g.g(CODE, CODE, V | R | X | PU | PA);
  g.vsTable(); // root
  g.vs(CODE, CODE, V | R | X | PA);
  v.hgatp = HGATP_SV39X4;
  v.vsatp = VSATP_SV39;
  return g;
}
cases.add('ld', 'vmRun: a VS-stage PTE in an unmapped G-stage page: exit 21 with htinst = 0x00003000, htval = PTE GPA >> 2', (h) => {
  const gva = 0x40000008n;
  let l1 = 0n;
  const v = vmEntry(h, [0x0005b503 /* ld a0, 0(a1) */], (v, h) => {
    const g = guestPaging(v, h);
    l1 = g.vsTable(null);
    g.raw(VS_ROOT + vpn(gva, 2) * 8n, pte(l1, V));
    v.setX(11, gva);
  });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 21n, tval: gva, htval: (l1 + vpn(gva, 1) * 8n) >> 2n, htinst: 0x3000n, insnLen: 4n, pc: CODE });
});
cases.add('sd', 'vmRun: VS-stage A/D update in a read-only G-stage page: exit 23 with htinst = 0x00003020', (h) => {
  const gva = 0x40000008n;
  let l0 = 0n;
  const v = vmEntry(h, [0x00a5b023 /* sd a0, 0(a1) */], (v, h) => {
    const g = guestPaging(v, h);
    const l1 = g.vsTable();
    l0 = g.vsTable(V | R | PU | PA | PD);
    g.raw(VS_ROOT + vpn(gva, 2) * 8n, pte(l1, V));
    g.raw(l1 + vpn(gva, 1) * 8n, pte(l0, V));
    g.raw(l0 + vpn(gva, 0) * 8n, pte(0x3000n, V | R | W | PA)); // D = 0: a store must set it
    g.g(0x3000n, DATA);
    v.setX(11, gva);
  });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 23n, tval: gva, htval: (l0 + vpn(gva, 0) * 8n) >> 2n, htinst: 0x3020n, insnLen: 4n, pc: CODE });
});
cases.add('csrrs', 'vmRun: an exception delegated by hedeleg does not exit: it enters vstvec (here an ecall, which exits)', (h) => {
  const w = csrr(0x300); // illegal in VS
  const v = vmEntry(h, [w], (v, h) => {
    h.put(ECALL, CODE + 0x400n);
    v.vstvec = CODE + 0x400n;
    v.hedeleg = 4n;
    h.hart.medeleg = 4n | (1n << 10n);
  });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 10n, tval: 0n, htval: 0n, htinst: 0n, insnLen: 4n, pc: CODE + 0x400n });
  expect([v.vscause, v.vsepc, v.vstval, v.priv]).toEqual([2n, CODE, BigInt(w), 1n]);
});
cases.add('csrrs', 'vmRun: hstatus from VS exits with virtual instruction 22, tval and insn = the instruction', (h) => {
  const w = csrr(0x600);
  const v = vmEntry(h, [w]);
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 22n, tval: BigInt(w), htval: 0n, htinst: 0n, insnLen: 4n, pc: CODE });
  expect(v.exitInsn).toBe(BigInt(w));
});
cases.add('addi', 'vmRun: an interrupt injected through hvip.VSTIP (hideleg, vsstatus.SIE) is taken in VS, no exit', (h) => {
  const v = vmEntry(h, [NOP, NOP], (v, h) => {
    h.put(ECALL, CODE + 0x400n);
    v.vstvec = CODE + 0x400n;
    v.vsstatus = SIE;
    v.hvip = 0x40n;
    v.hideleg = 0x40n;
    v.hie = 0x40n;
  });
  expect(exitOf(v)).toEqual({ reason: BigInt(A.EXIT_VM_TRAP), cause: 10n, tval: 0n, htval: 0n, htinst: 0n, insnLen: 4n, pc: CODE + 0x400n });
  expect([v.vscause, v.vsepc, v.vsstatus]).toEqual([IRQ | 5n, CODE, SPP | SPIE]);
});
cases.add('addi', 'vmRun: the budget ends the entry (EXIT_BUDGET), pc and registers written back', (h) => {
  const words = Array.from({ length: 20 }, () => 0x00128293); // addi x5, x5, 1
  const v = vmEntry(h, words, (v) => { v.budget = 10n; });
  expect(v.exitReason).toBe(BigInt(A.EXIT_BUDGET));
  expect(v.x(5)).toBe(v.exitInstructions);
  expect(v.pc).toBe(CODE + 4n * v.exitInstructions);
});

// ---- FP loads and stores in V = 1: guest-page faults report the transformed FP access (§8.6.3) ----
const fsOn = (h: Harness) => {
  mode(S, 1, 1n << 13n)(h);
  h.hart.vsstatus = 1n << 13n;
  new Stages(h).g(CODE, CODE); // the code page, GPA = HPA
  h.hart.hgatp = HGATP_SV39X4;
};
cases.add('fld', 'V = 1, GPA beyond Sv39x4: guest-page fault 21, htinst = fld f5 with its offset and rs1 zeroed', (h) => {
  const gpa = 1n << 41n;
  const s = h.exec(fp('fld', { rd: 5, rs1: 6, imm: 8 }), (h) => { fsOn(h); h.hart.setX(6, gpa); });
  expectHTrap(s, 'M', 21n, gpa + 8n, { gva: true, htval: (gpa + 8n) >> 2n, htinst: BigInt(fp('fld', { rd: 5 })) });
});
cases.add('c.fsd', 'V = 1, c.fsd to an unmapped GPA: store guest-page fault 23, htinst = the 32-bit fsd with bit 1 cleared', (h) => {
  const gpa = 1n << 41n;
  const s = h.exec(cFldFsd('c.fsd', 9, 10, 16), (h) => { fsOn(h); h.hart.setX(10, gpa); });
  expectHTrap(s, 'M', 23n, gpa + 16n, { gva: true, htval: (gpa + 16n) >> 2n, htinst: BigInt((fp('fsd', { rs2: 9 }) & ~2) >>> 0), epc: CODE });
});
