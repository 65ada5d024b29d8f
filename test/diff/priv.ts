/**
 * Random privileged programs for differential testing against QEMU (`-cpu rv64,h=true`).
 *
 * A program is a raw binary loaded at 0x80000000 (M-mode start, `-bios none`). It runs a list
 * of independent cases; each case
 *   1. resets the privileged state to a known base (`reset`: trap vectors to our handlers, all
 *      delegation, translation, interrupt-enable/pending and status registers zero, TLBs flushed);
 *   2. applies a random configuration (delegation, mstatus/hstatus/vsstatus bits, page tables);
 *   3. enters a random privilege level (M, HS, U, VS, VU) through mret and runs a snippet of one
 *      to three instructions, then `ecall`;
 *   4. whatever traps is recorded by the handler it lands in (M, HS or VS; the HS and VS ones
 *      record and then ecall to M, which is never delegated for those causes), and the M handler
 *      resumes at the case's checkpoint, which records 36 CSRs.
 * The log (tagged records, see RECORDS) and a hash of every table and data page are printed on
 * the UART as hex lines; test/diff/priv-compare.ts decodes and compares them.
 *
 * No trap storm is possible by construction: the handlers' code and the log are mapped by fixed
 * PTEs in every tree (test/diff/priv-pt.ts), the handlers only read CSRs and store to the log,
 * the M handler never returns to a lower mode, and a snippet never changes a trap vector or a
 * live translation root except to values that keep the runtime mapped.
 */
import * as E from './encode';
import { Rng } from './fuzz';
import { Asm, csr, CSR_OPS, type CsrOp, ECALL, EBREAK, MRET, SRET, WFI, R, sfenceVma, hfenceVvma, hfenceGvma, hlv, hsv } from './priv-asm';
import { buildTree, DATA_BASE, DATA_PAGES, guestLeaf, Memory, physicalLeaf, PT_BASE, RAM, TEST_GPA, USER_ALIAS, type Tree } from './priv-pt';

export const VARS = 0x80400000; // +0 log pointer, +8 case index, +16 resume address
const LOG = 0x80401000;
const UART = 0x10000000;
const FINISHER = 0x100000;
const MTIMECMP = 0x2004000;

/** The handler and checkpoint records: tag byte (bits 63:56 of the tag word) and fields. */
export const CHECKPOINT_CSRS: [string, number][] = [
  ['mstatus', 0x300], ['medeleg', 0x302], ['mideleg', 0x303], ['mie', 0x304], ['mcounteren', 0x306],
  ['menvcfg', 0x30a], ['mscratch', 0x340], ['mepc', 0x341], ['mip', 0x344], ['mtval2', 0x34b],
  ['stvec', 0x105], ['scounteren', 0x106], ['senvcfg', 0x10a], ['sscratch', 0x140], ['sepc', 0x141],
  ['scause', 0x142], ['stval', 0x143], ['satp', 0x180], ['hstatus', 0x600], ['hedeleg', 0x602],
  ['hideleg', 0x603], ['hcounteren', 0x606], ['henvcfg', 0x60a], ['htval', 0x643], ['hvip', 0x645],
  ['htinst', 0x64a], ['hgatp', 0x680], ['vsstatus', 0x200], ['vsie', 0x204], ['vstvec', 0x205],
  ['vsscratch', 0x240], ['vsepc', 0x241], ['vscause', 0x242], ['vstval', 0x243], ['vsip', 0x244],
  ['vsatp', 0x280],
];
export const RECORDS: Record<string, { tag: number; fields: string[] }> = {
  M: { tag: 0x4d, fields: ['mcause', 'mepc', 'mtval', 'mtval2', 'mtinst', 'mstatus', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5'] },
  S: { tag: 0x53, fields: ['scause', 'sepc', 'stval', 'htval', 'htinst', 'sstatus', 'hstatus'] },
  V: { tag: 0x56, fields: ['vscause', 'vsepc', 'vstval', 'vsstatus'] },
  C: { tag: 0x43, fields: CHECKPOINT_CSRS.map(([n]) => n) },
};

export type Mode = 'M' | 'HS' | 'U' | 'VS' | 'VU';
const MPP: Record<Mode, bigint> = { M: 3n << 11n, HS: 1n << 11n, U: 0n, VS: (1n << 11n) | (1n << 39n), VU: 1n << 39n };

/** One generated case, for reports and for the comparison's masks. */
export interface Case {
  index: number;
  kind: 'csr' | 'trap' | 'paging' | 'irq';
  mode: Mode;
  /** The CSR a csr case accesses (a2 = its old value, a3 = its read-back). */
  csr?: number;
  /** The instruction a trap or paging case tests. */
  op?: string;
  /** QEMU 7.2 raises illegal instruction where the spec says virtual instruction (see priv-compare.ts). */
  vuVirtual?: boolean;
  /** QEMU 7.2 reports guest-page faults of the implicit VS-stage walk as load faults (21). */
  implicitGpf?: boolean;
  /** WFI in VU with mstatus.TW: QEMU 7.2 raises virtual instead of illegal instruction. */
  wfiTw?: boolean;
  /** QEMU 7.2 reports AMO access faults outside RAM as load access faults (see priv-compare.ts). */
  amoFault?: boolean;
  text: string[];
}

/** A generated program. */
export interface PrivProgram {
  seed: number;
  image: Uint8Array;
  cases: Case[];
  /** Pages hashed at the end, in print order (table pages then data pages). */
  hashedPages: number[];
}

// CSRs the csr cases access. Timers and counters are left out: their values depend on time.
const M_CSRS = [0x300, 0x301, 0x302, 0x303, 0x304, 0x305, 0x306, 0x30a, 0x340, 0x341, 0x342, 0x343, 0x344, 0x34a, 0x34b, 0xf11, 0xf14];
const S_CSRS = [0x100, 0x104, 0x105, 0x106, 0x10a, 0x140, 0x141, 0x142, 0x143, 0x144, 0x180];
const H_CSRS = [0x600, 0x602, 0x603, 0x604, 0x606, 0x607, 0x60a, 0x643, 0x644, 0x645, 0x64a, 0x680, 0xe12];
const VS_CSRS = [0x200, 0x204, 0x205, 0x240, 0x241, 0x242, 0x243, 0x244, 0x280];
/** Not implemented by either (custom/reserved numbers) or no F extension: always illegal. */
const OTHER_CSRS = [0x003, 0x7c0, 0x5c0, 0x9c0];
const ALL_CSRS = [...M_CSRS, ...S_CSRS, ...H_CSRS, ...VS_CSRS, ...OTHER_CSRS];
/** Never pre-set from M with a random value: the vectors and live translation/status roots. */
const NO_PRESET = new Set([0x305, 0x105, 0x205, 0x180, 0x280, 0x680, 0x300, 0x600, 0x200, 0x100, ...[0x344, 0x144, 0x645, 0x244, 0x644]]);
/** Interrupt-pending CSRs: written with one bit at most (one pending interrupt, as in irq cases). */
const PENDING = new Set([0x344, 0x144, 0x645, 0x244, 0x644]);
/** satp-like CSRs: MODE 10/11 (Sv57/Sv64) are not written (QEMU 7.2 implements Sv57, we do not; WARL). */
const ATP = new Set([0x180, 0x280, 0x680]);

/** A CSR value biased to edge cases and single fields. */
function csrValue(r: Rng): bigint {
  const roll = r.u32() / 2 ** 32;
  if (roll < 0.15) return r.pick([0n, -1n, 1n, 0xffffffffn, 1n << 63n, (1n << 63n) - 1n]);
  if (roll < 0.45) return 1n << BigInt(r.int(0, 63));
  if (roll < 0.6) return BigInt(r.int(0, 0xffff));
  return r.value64();
}

/** A satp/vsatp/hgatp value that keeps the runtime mapped when written from S/VS: bare or an unsupported MODE (write ignored, §4.1.11). */
function safeAtp(r: Rng): bigint {
  if (r.chance(0.3)) return 0n;
  const mode = BigInt(r.pick([1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]));
  return (mode << 60n) | BigInt.asUintN(60, r.value64());
}
function anyAtp(r: Rng): bigint {
  const mode = BigInt(r.pick([0, 8, 9, 8, 9, 1, 7, 15]));
  return (mode << 60n) | BigInt.asUintN(60, r.value64());
}

/** Bits set with probability p each. */
function someBits(r: Rng, bits: number[], p = 0.3): bigint {
  let v = 0n;
  for (const b of bits) if (r.chance(p)) v |= 1n << BigInt(b);
  return v;
}

class Generator {
  readonly a: Asm;
  readonly mem = new Memory();
  readonly cases: Case[] = [];
  /** medeleg as the last config() wrote it. */
  private medeleg = 0n;
  private hedeleg = 0n;
  constructor(readonly r: Rng) {
    this.a = new Asm(RAM);
  }

  /** The random part of every case's configuration (after reset). Returns the mstatus to enter with. */
  private config(c: Case): bigint {
    const { r, a } = this;
    // never delegated: ecall from HS (9) and VS (10), the runtime's way back to M; 11 cannot be
    const medeleg = r.chance(0.5) ? 0n : BigInt(r.u32() & 0xf0b1ff) & ~(3n << 9n);
    const hedeleg = r.chance(0.5) ? 0n : BigInt(r.u32() & 0xb1ff);
    this.medeleg = medeleg;
    this.hedeleg = hedeleg;
    const mideleg = someBits(r, [1, 5, 9], 0.5);
    const hideleg = someBits(r, [2, 6, 10], 0.5);
    const mstatus = someBits(r, [1, 5, 7, 8, 18, 19], 0.3) | someBits(r, [20, 21, 22], 0.2);
    const vsstatus = someBits(r, [1, 5, 8, 18, 19], 0.3);
    const hstatus = someBits(r, [7, 8, 9, 20, 21, 22], 0.2);
    const counteren = r.chance(0.5) ? 0n : BigInt(r.int(0, 7));
    const writes: [number, bigint, string][] = [
      [0x302, medeleg, 'medeleg'], [0x602, hedeleg, 'hedeleg'], [0x303, mideleg, 'mideleg'], [0x603, hideleg, 'hideleg'],
      [0x200, vsstatus, 'vsstatus'], [0x600, hstatus, 'hstatus'], [0x306, counteren, 'mcounteren'],
    ];
    for (const [num, v, name] of writes) {
      if (v === 0n) continue;
      a.csrWrite(num, v);
      c.text.push(`${name}=0x${v.toString(16)}`);
    }
    c.text.push(`mstatus=0x${mstatus.toString(16)}`);
    return mstatus;
  }

  /**
   * §8.6.1: in VU-mode, SRET, SFENCE.VMA, HFENCE, HLV/HSV and supervisor CSR accesses raise a
   * virtual-instruction exception; QEMU 7.2 raises illegal instruction. Both causes stay with M
   * (medeleg bits 2 and 22 clear), so the runs do not part, and the comparison expects 22 where
   * QEMU says 2.
   */
  private vuVirtual(c: Case): void {
    c.vuVirtual = true;
    this.a.csrWrite(0x302, this.medeleg & ~((1n << 2n) | (1n << 22n)));
  }

  /** Keep `causes` with M (clear them in medeleg and hedeleg) for a case with a known QEMU deviation. */
  private keepInM(causes: number[]): void {
    const bits = causes.reduce((m, k) => m | (1n << BigInt(k)), 0n);
    this.a.csrWrite(0x302, this.medeleg & ~bits);
    this.a.csrWrite(0x602, this.hedeleg & ~bits);
  }

  /** Enter `mode` at `snippet` (a label) with the given mstatus; M runs the snippet inline. */
  private enter(c: Case, mstatus: bigint, alias: boolean): void {
    const { a } = this;
    const k = c.index;
    if (c.mode === 'M') {
      a.csrWrite(0x300, mstatus);
      return;
    }
    a.csrWrite(0x300, mstatus | MPP[c.mode]);
    a.la(R.t0, `snip${k}`);
    if (alias) {
      a.li(R.t1, RAM - USER_ALIAS);
      a.emit(E.aluR('sub', R.t0, R.t0, R.t1));
    }
    a.emit(csr('csrrw', 0, 0x341, R.t0), MRET);
  }

  private begin(kind: Case['kind'], mode: Mode): Case {
    const c: Case = { index: this.cases.length, kind, mode, text: [] };
    this.cases.push(c);
    const { a } = this;
    a.label(`case${c.index}`);
    a.jal(R.ra, 'reset');
    a.li(R.t0, c.index);
    a.sd(R.t0, R.s2, 8);
    a.la(R.t0, `resume${c.index}`);
    a.sd(R.t0, R.s2, 16);
    for (let x = R.a0; x <= R.a5; x++) a.emit(E.aluI('addi', x, 0, 0)); // nothing carries over
    return c;
  }
  /** The snippet's final ecall, then `pads` (reached only by mret/sret), then the checkpoint. */
  private end(c: Case, pads?: () => void): void {
    const { a } = this;
    a.emit(ECALL);
    pads?.();
    a.label(`resume${c.index}`);
    a.jal(R.ra, 'checkpoint');
  }

  csrCase(): void {
    const { r, a } = this;
    const mode = r.pick(['M', 'HS', 'HS', 'U', 'VS', 'VS', 'VU'] as Mode[]);
    const num = r.pick(ALL_CSRS);
    const c = this.begin('csr', mode);
    c.csr = num;
    let mstatus = this.config(c);
    if (!NO_PRESET.has(num) && !OTHER_CSRS.includes(num) && num >> 10 !== 3) {
      let pre = csrValue(r);
      if (num === 0x302) pre &= ~(3n << 9n); // the runtime's ecalls from HS and VS stay with M
      if (num === 0x30a || num === 0x60a) pre &= ~(1n << 63n); // no Sstc timer (see ENVCFG_NO_STCE)
      if (num === 0x204 || num === 0x244) pre &= ~0x444n; // vsie/vsip bits 2/6/10: see below
      a.csrWrite(num, pre);
      c.text.push(`preset 0x${num.toString(16)}=0x${pre.toString(16)}`);
    }
    if (mode === 'VU' && (num >> 8 & 3) === 1 && !OTHER_CSRS.includes(num)) this.vuVirtual(c);
    if (mode === 'HS' && num === 0x680) {
      // §8.2.10: with mstatus.TVM = 1, hgatp in HS-mode is an illegal instruction; QEMU 7.2 does not
      // check TVM for hgatp (test/isa/cases/h.ts checks ours), so TVM is cleared here
      a.li(R.t0, 1n << 20n);
      a.emit(csr('csrrc', 0, 0x300, R.t0));
      mstatus &= ~(1n << 20n);
    }
    if (mode === 'VS' && num === 0x180) {
      // §8.2.1: with hstatus.VTVM = 1 a VS-mode satp access is a virtual-instruction trap; QEMU 7.2
      // ignores VTVM for CSR accesses, and applies mstatus.TVM (HS-mode only, §8.2) in VS-mode
      // instead (test/isa/cases/h.ts checks ours). Both are cleared here.
      a.li(R.t0, 1n << 20n);
      a.emit(csr('csrrc', 0, 0x600, R.t0));
      mstatus &= ~(1n << 20n);
    }
    const op = r.pick(Object.keys(CSR_OPS) as CsrOp[]);
    let value = csrValue(r);
    if (num === 0x30a || num === 0x60a) value &= ~(1n << 63n); // ENVCFG_NO_STCE: STIP would follow time
    if (PENDING.has(num)) value = r.chance(0.2) ? 0n : 1n << BigInt(r.int(0, 12));
    if (num === 0x300 || num === 0x100 || num === 0x200) {
      // UXL is WARL: QEMU 7.2 implements a 32-bit U/VU-mode (UXL = 1), wasmvisor does not. Only
      // the value both hold (2) is written, and a set/clear never makes it 1 or 3.
      value = (value & ~(3n << 32n)) | (op === 'csrrw' ? 2n << 32n : 0n);
    }
    // vsie/vsip bits 2/6/10 do not exist (§8.2.12); QEMU 7.2 passes them through to hie/hvip unshifted
    const vsie = num === 0x204 || num === 0x244 || ((num === 0x104 || num === 0x144) && (mode === 'VS' || mode === 'VU'));
    if (vsie) value &= ~0x444n;
    if (ATP.has(num)) value = mode === 'M' || (mode === 'HS' && num !== 0x180) ? anyAtp(r) : safeAtp(r);
    const imm = op.endsWith('i');
    let src = !imm ? R.a1 : PENDING.has(num) ? r.pick([0, 1, 2, 4, 8, 16]) : r.chance(0.3) ? 0 : r.int(0, 31);
    if (imm && vsie) src &= ~4;
    // from S/VS, a set/clear of an atp with a non-zero mask could build an unsafe value: use csrrw
    const useOp: CsrOp = ATP.has(num) && !(mode === 'M' || (mode === 'HS' && num !== 0x180)) ? 'csrrw' : op;
    a.li(R.a1, value);
    a.li(R.a2, 0);
    a.li(R.a3, 0);
    this.enter(c, mstatus, false);
    a.label(`snip${c.index}`);
    a.emit(csr(useOp, R.a2, num, useOp === 'csrrw' ? R.a1 : src), csr('csrrs', R.a3, num, 0));
    if (num === 0x305 && mode === 'M') a.emit(csr('csrrw', 0, 0x305, R.s1)); // mtvec back before the ecall
    c.text.push(`${mode}: ${useOp} a2, 0x${num.toString(16)}, ${useOp.endsWith('i') ? src : `a1=0x${value.toString(16)}`}; csrr a3`);
    this.end(c);
  }

  trapCase(): void {
    const { r, a } = this;
    const mode = r.pick(['M', 'HS', 'U', 'VS', 'VU'] as Mode[]);
    const c = this.begin('trap', mode);
    let mstatus = this.config(c);
    const ops = ['ecall', 'ebreak', 'illegal0', 'illegal1', 'mret', 'sret', 'wfi', 'sfence', 'hfence.vvma', 'hfence.gvma', 'hlv', 'hsv'];
    let op = r.pick(ops);
    const tw = (mstatus >> 21n) & 1n;
    if (op === 'wfi' && (mode === 'M' || (mode === 'HS' && !tw))) op = 'ecall'; // a WFI that may wait for ever
    c.op = op;
    if (mode === 'VS' && (op === 'sret' || op === 'sfence')) {
      // §8.2 (mstatus): TSR and TVM affect HS-mode only. QEMU 7.2 applies them in VS-mode too.
      mstatus &= ~((1n << 20n) | (1n << 22n));
      c.text.push('mstatus.TVM=TSR=0');
    }
    if (mode === 'VU' && ['sret', 'sfence', 'hfence.vvma', 'hfence.gvma', 'hlv', 'hsv'].includes(op)) this.vuVirtual(c);
    if (op === 'wfi' && mode === 'VU' && tw) {
      // §3.1.6.5 and §8.6.1: with mstatus.TW = 1, WFI below M is an illegal instruction, VU included
      // (virtual instruction only when TW = 0). QEMU 7.2 raises virtual instruction in VU.
      c.wfiTw = true;
      this.keepInM([2, 22]);
    }
    if (op === 'wfi' && mode === 'VS' && !tw) {
      a.csrWrite(0x600, 1n << 21n); // hstatus.VTW: WFI in VS traps (virtual instruction, §8.6.1)
      c.text.push('hstatus.VTW=1');
    }
    // mret/sret land on an ecall; their target mode follows MPP/MPV, SPP/SPV or vsstatus.SPP
    if (op === 'mret' && mode === 'M') {
      const target = r.pick([0n, 1n, 2n, 3n]);
      const mpv = r.chance(0.4) ? 1n << 39n : 0n;
      mstatus = (mstatus & ~(3n << 11n)) | (target << 11n) | mpv | (r.chance(0.5) ? 1n << 17n : 0n);
      c.text.push(`mret to MPP=${target} MPV=${mpv ? 1 : 0}`);
    }
    a.la(R.t0, `land${c.index}`);
    a.emit(csr('csrrw', 0, 0x341, R.t0), csr('csrrw', 0, 0x141, R.t0), csr('csrrw', 0, 0x241, R.t0));
    a.li(R.a0, DATA_BASE + 8 * r.int(0, 511));
    a.li(R.a1, r.value64());
    this.enter(c, mstatus, false);
    a.label(`snip${c.index}`);
    const w = { ecall: ECALL, ebreak: EBREAK, illegal0: 0, illegal1: 0xffffffff, mret: MRET, sret: SRET, wfi: WFI,
      sfence: sfenceVma(R.a0, 0), 'hfence.vvma': hfenceVvma(0, 0), 'hfence.gvma': hfenceGvma(R.a0, 0),
      hlv: hlv('hlv.d', R.a2, R.a0), hsv: hsv('hsv.d', R.a1, R.a0) }[op]!;
    a.emit(w);
    c.text.push(`${mode}: ${op}`);
    this.end(c, () => {
      a.label(`land${c.index}`);
      a.emit(ECALL);
    });
  }

  /** A load/store/AMO/fetch through random single-stage or two-stage tables. */
  pagingCase(): boolean {
    const { r, a, mem } = this;
    if (mem.free < 16) return false;
    const twoStage = r.chance(0.5);
    // Not generated (QEMU 7.2 deviates, see priv-compare.ts): M with MPRV and MPV = 1, and HLV/HSV
    // through two stages from HS-mode. test/isa/cases/h.ts covers both.
    const mode: Mode = twoStage ? r.pick(['VS', 'VU'] as Mode[]) : r.pick(['HS', 'U', 'M'] as Mode[]);
    const c = this.begin('paging', mode);
    let mstatus = this.config(c);
    let addr: number;
    let alias = false;
    if (!twoStage) {
      const t = buildTree(mem, r, false, r.pick([8, 9] as const), physicalLeaf);
      const satp = (BigInt(t.mode) << 60n) | (BigInt(r.int(0, 255)) << 44n) | BigInt(t.root);
      a.csrWrite(0x180, satp);
      c.text.push(`satp=0x${satp.toString(16)}`, ...t.notes);
      addr = t.testAddr;
      alias = mode === 'U';
    } else {
      const g = buildTree(mem, r, true, r.pick([8, 9] as const), physicalLeaf);
      const hgatpBare = r.chance(0.1);
      const hgatp = hgatpBare ? 0n : (BigInt(g.mode) << 60n) | (BigInt(r.int(0, 255)) << 44n) | BigInt(g.root);
      a.csrWrite(0x680, hgatp);
      c.text.push(`hgatp=0x${hgatp.toString(16)}`, ...g.notes.map((n) => 'G ' + n));
      const window = (g.testAddr - TEST_GPA) / 4096;
      // §8.5 (MXR): vsstatus.MXR overrides VS-stage protection only. QEMU 7.2 applies it to the
      // G-stage too (it keeps vsstatus in mstatus while V = 1), so vsstatus.MXR follows mstatus.MXR.
      const mxr = 1n << 19n;
      a.li(R.t0, mxr);
      a.emit(csr(mstatus & mxr ? 'csrrs' : 'csrrc', 0, 0x200, R.t0));
      if (r.chance(0.2)) {
        addr = g.testAddr; // vsatp bare: the VA is the GPA
      } else {
        // with hgatp Bare, a VS table pointer outside RAM would meet QEMU 7.2's page-fault-for-access-fault
        const t: Tree = buildTree(mem, r, false, r.pick([8, 9] as const), (rr) => guestLeaf(rr, window), !hgatpBare);
        const vsatp = (BigInt(t.mode) << 60n) | (BigInt(r.int(0, 255)) << 44n) | BigInt(t.root);
        a.csrWrite(0x280, vsatp);
        c.text.push(`vsatp=0x${vsatp.toString(16)}`, ...t.notes.map((n) => 'VS ' + n));
        c.implicitGpf = t.notes.some((n) => n.includes('unmapped GPA'));
        addr = t.testAddr;
        alias = mode === 'VU';
      }
    }
    if (mode === 'M' && !twoStage) mstatus |= (1n << 17n) | (BigInt(r.int(0, 1)) << 11n); // MPRV, MPP = U or S
    const ops = ['ld', 'lw', 'lbu', 'sd', 'sw', 'sb', 'amoadd.d', 'amoswap.w', 'lr.d', 'fetch'];
    let op = r.pick(ops);
    if (op === 'fetch' && mode === 'M') op = 'ld'; // MPRV does not translate fetches
    const size = /\.d|^ld|^sd/.test(op) ? 8 : /\.w|lw|sw|wu/.test(op) ? 4 : /hu/.test(op) ? 2 : 1;
    const off = op === 'fetch' ? 0 : r.int(0, 4096 / size - 1) * size;
    a.li(R.a0, addr + off);
    a.li(R.a1, r.value64());
    a.li(R.a2, 0);
    c.op = op;
    if (op.startsWith('amo')) {
      c.amoFault = true;
      this.keepInM([5, 7]);
    }
    if (c.implicitGpf) this.keepInM([20, 21, 23]);
    this.enter(c, mstatus, alias);
    a.label(`snip${c.index}`);
    const [A0, A1, A2] = [R.a0, R.a1, R.a2];
    const insn: Record<string, number> = {
      ld: E.load('ld', A2, A0, 0), lw: E.load('lw', A2, A0, 0), lbu: E.load('lbu', A2, A0, 0),
      sd: E.store('sd', A1, A0, 0), sw: E.store('sw', A1, A0, 0), sb: E.store('sb', A1, A0, 0),
      'amoadd.d': E.amo('amoadd', 'd', A2, A0, A1), 'amoswap.w': E.amo('amoswap', 'w', A2, A0, A1),
      'lr.d': E.amo('lr', 'd', A2, A0, 0), fetch: E.jalr(R.ra, A0, 0),
      'hlv.d': hlv('hlv.d', A2, A0), 'hlv.wu': hlv('hlv.wu', A2, A0), 'hlv.b': hlv('hlv.b', A2, A0),
      'hlvx.wu': hlvx('hlvx.wu', A2, A0), 'hlvx.hu': hlvx('hlvx.hu', A2, A0),
      'hsv.d': hsv('hsv.d', A1, A0), 'hsv.w': hsv('hsv.w', A1, A0), 'hsv.b': hsv('hsv.b', A1, A0),
    };
    a.emit(insn[op]);
    c.text.push(`${mode}: ${op} at 0x${(addr + off).toString(16)}`);
    this.end(c);
    return true;
  }

  /** Software-injected interrupts (mip, hvip writes) taken at deterministic points. */
  irqCase(): void {
    const { r, a } = this;
    const mode = r.pick(['M', 'HS', 'U', 'VS', 'VU'] as Mode[]);
    const c = this.begin('irq', mode);
    let mstatus = this.config(c);
    const mie = someBits(r, [1, 2, 5, 6, 9, 10], 0.5);
    // one pending interrupt at most: QEMU 7.2 without AIA takes the lowest-numbered pending one
    // instead of following the priority order of §3.1.9 (see priv-compare.ts)
    const pending = r.int(0, 6);
    const mip = pending < 3 ? 1n << BigInt([1, 5, 9][pending]) : 0n;
    const hvip = pending >= 3 && pending < 6 ? 1n << BigInt([2, 6, 10][pending - 3]) : 0n;
    if (mode !== 'M') mstatus |= someBits(r, [3], 0.5); // MIE: only matters in M
    a.csrWrite(0x304, mie);
    a.csrWrite(0x344, mip);
    a.csrWrite(0x645, hvip);
    c.text.push(`mie=0x${mie.toString(16)} mip=0x${mip.toString(16)} hvip=0x${hvip.toString(16)}`);
    if (mode === 'VU') this.vuVirtual(c); // the csrrsi on sstatus
    this.enter(c, mstatus, false);
    a.label(`snip${c.index}`);
    // enabling at a known instruction: SIE (sstatus is vsstatus in V = 1), or MIE in M
    a.emit(E.aluI('addi', R.a2, 0, 1), csr('csrrsi', R.a3, mode === 'M' ? 0x300 : 0x100, mode === 'M' ? 8 : 2));
    a.emit(E.aluI('addi', R.a4, 0, 2));
    c.text.push(`${mode}: set ${mode === 'M' ? 'MIE' : 'SIE'}`);
    this.end(c);
  }

  /** The fixed runtime: start, reset, handlers, checkpoint, final dump. */
  runtime(): void {
    const { a } = this;
    a.label('start');
    // QEMU runs with two harts (see PRIV_QEMU_ARGS): hart 1 parks in WFI for good
    a.emit(csr('csrrs', R.t0, 0xf14, 0));
    a.branch('beq', R.t0, 0, 'hart0');
    a.jal(0, 'park');
    a.label('hart0');
    a.la(R.s1, 'mtrap');
    a.emit(csr('csrrw', 0, 0x305, R.s1));
    a.csrWrite(0x3b0, 0x3fffffffffffffn); // pmpaddr0: all of memory (NAPOT) ...
    a.csrWrite(0x3a0, 0x1f); // ... pmpcfg0: RWX, NAPOT: S/U accesses need a matching entry (§3.7.1)
    a.li(R.t0, MTIMECMP);
    a.li(R.t1, -1);
    a.sd(R.t1, R.t0, 0); // no timer interrupt, ever
    a.li(R.s2, VARS);
    a.li(R.t0, LOG);
    a.sd(R.t0, R.s2, 0);
    a.jal(0, 'case0');

    a.label('reset');
    for (const n of [0x300, 0x304, 0x344, 0x645, 0x302, 0x303, 0x602, 0x603, 0x600, 0x200, 0x180, 0x280, 0x680,
      0x306, 0x106, 0x606, 0x30a, 0x10a, 0x60a, 0x340, 0x140, 0x240, 0x141, 0x241, 0x142, 0x242, 0x143, 0x243,
      0x643, 0x64a, 0x34b, 0x34a]) a.emit(csr('csrrw', 0, n, 0));
    a.la(R.t0, 'strap');
    a.emit(csr('csrrw', 0, 0x105, R.t0));
    a.la(R.t0, 'vstrap');
    a.emit(csr('csrrw', 0, 0x205, R.t0));
    a.emit(sfenceVma(0, 0), hfenceVvma(0, 0), hfenceGvma(0, 0));
    a.emit(E.jalr(0, R.ra, 0));

    // record(tag, csrs...): t3 = log pointer, t4 = case index; uses t5; assumes t2 = VARS
    const record = (kind: keyof typeof RECORDS, values: (() => void)[]) => {
      a.li(R.t2, VARS); // pc-relative through the pool: VA = PA for the runtime in every mode
      a.ld(R.t3, R.t2, 0);
      a.ld(R.t4, R.t2, 8);
      a.li(R.t5, BigInt(RECORDS[kind].tag) << 56n);
      a.emit(E.aluR('or', R.t5, R.t5, R.t4));
      a.sd(R.t5, R.t3, 0);
      values.forEach((v, i) => {
        v();
        a.sd(R.t5, R.t3, 8 + 8 * i);
      });
      a.emit(E.aluI('addi', R.t3, R.t3, 8 + 8 * values.length));
      a.sd(R.t3, R.t2, 0);
    };
    const rd = (n: number) => () => a.emit(csr('csrrs', R.t5, n, 0));
    const reg = (x: number) => () => a.emit(E.aluI('addi', R.t5, x, 0));

    a.label('mtrap');
    a.emit(csr('csrrs', R.t0, 0x300, 0)); // mstatus as the trap left it
    a.li(R.t1, 1 << 17);
    a.emit(csr('csrrc', 0, 0x300, R.t1)); // MPRV off before the handler's own stores
    record('M', [rd(0x342), rd(0x341), rd(0x343), rd(0x34b), rd(0x34a), reg(R.t0),
      reg(R.a0), reg(R.a1), reg(R.a2), reg(R.a3), reg(R.a4), reg(R.a5)]);
    a.ld(R.t5, R.t2, 16);
    a.emit(E.jalr(0, R.t5, 0));

    a.label('strap');
    record('S', [rd(0x142), rd(0x141), rd(0x143), rd(0x643), rd(0x64a), rd(0x100), rd(0x600)]);
    a.emit(ECALL);
    a.label('vstrap');
    record('V', [rd(0x142), rd(0x141), rd(0x143), rd(0x100)]);
    a.emit(ECALL);

    a.label('checkpoint');
    record('C', CHECKPOINT_CSRS.map(([, n]) => rd(n)));
    a.emit(E.jalr(0, R.ra, 0));
  }

  /** After the last case: print the log and the page hashes, then pass through the finisher. */
  finish(): number[] {
    const { a, mem } = this;
    a.label('finish');
    // log: count, then the words
    a.ld(R.s3, R.s2, 0);
    a.li(R.s4, LOG);
    a.emit(E.aluR('sub', R.t0, R.s3, R.s4), E.shiftI('srli', R.t0, R.t0, 3));
    a.jal(R.ra, 'hex');
    a.label('logloop');
    a.branch('bgeu', R.s4, R.s3, 'logdone');
    a.ld(R.t0, R.s4, 0);
    a.jal(R.ra, 'hex');
    a.emit(E.aluI('addi', R.s4, R.s4, 8));
    a.jal(0, 'logloop');
    a.label('logdone');
    const pages = [...mem.tablePages, ...Array.from({ length: DATA_PAGES }, (_, k) => DATA_BASE + k * 4096)];
    // hash every page: h = rotl(h, 5) ^ dword
    a.la(R.s5, 'pagelist');
    a.li(R.s6, pages.length);
    a.label('pageloop');
    a.branch('beq', R.s6, 0, 'pagesdone');
    a.ld(R.s7, R.s5, 0);
    a.emit(E.aluI('addi', R.t0, 0, 0));
    a.li(R.s8, 4096);
    a.emit(E.aluR('add', R.s8, R.s8, R.s7));
    a.label('hashloop');
    a.ld(R.t1, R.s7, 0);
    a.emit(E.shiftI('slli', R.t2, R.t0, 5), E.shiftI('srli', R.t3, R.t0, 59), E.aluR('or', R.t0, R.t2, R.t3));
    a.emit(E.aluR('xor', R.t0, R.t0, R.t1), E.aluI('addi', R.s7, R.s7, 8));
    a.branch('bltu', R.s7, R.s8, 'hashloop');
    a.jal(R.ra, 'hex');
    a.emit(E.aluI('addi', R.s5, R.s5, 8), E.aluI('addi', R.s6, R.s6, -1));
    a.jal(0, 'pageloop');
    a.label('pagesdone');
    // drain the UART (LSR.TEMT), then PASS through the finisher
    a.li(R.t1, UART);
    a.label('drain');
    a.emit(E.load('lbu', R.t2, R.t1, 5), E.aluI('andi', R.t2, R.t2, 0x40));
    a.branch('beq', R.t2, 0, 'drain');
    a.li(R.t1, FINISHER);
    a.li(R.t2, 0x5555);
    a.emit(E.store('sw', R.t2, R.t1, 0));
    a.label('spin');
    a.jal(0, 'spin');
    a.label('park');
    a.emit(WFI);
    a.jal(0, 'park');

    // hex: print t0 in hex (1 to 16 digits) and a newline; uses t1..t4; returns through ra
    a.label('hex');
    a.li(R.t1, 60);
    a.li(R.t4, UART);
    // no leading zeros: every byte is an MMIO exit on wasmvisor, so the dump is kept short
    a.label('skip0');
    a.branch('beq', R.t1, 0, 'digit');
    a.emit(E.aluR('srl', R.t2, R.t0, R.t1));
    a.branch('bne', R.t2, 0, 'digit');
    a.emit(E.aluI('addi', R.t1, R.t1, -4));
    a.jal(0, 'skip0');
    a.label('digit');
    a.emit(E.aluR('srl', R.t2, R.t0, R.t1), E.aluI('andi', R.t2, R.t2, 15), E.aluI('addi', R.t3, R.t2, -10));
    a.branch('blt', R.t3, 0, 'dec');
    a.emit(E.aluI('addi', R.t2, R.t2, 39));
    a.label('dec');
    a.emit(E.aluI('addi', R.t2, R.t2, 48));
    a.jal(R.gp, 'putc');
    a.emit(E.aluI('addi', R.t1, R.t1, -4));
    a.branch('bge', R.t1, 0, 'digit');
    a.emit(E.aluI('addi', R.t2, 0, 10));
    a.jal(R.gp, 'putc');
    a.emit(E.jalr(0, R.ra, 0));
    // putc: wait for LSR.THRE (QEMU drops bytes written while one is in flight), write t2
    a.label('putc');
    a.emit(E.load('lbu', R.t3, R.t4, 5), E.aluI('andi', R.t3, R.t3, 0x20));
    a.branch('beq', R.t3, 0, 'putc');
    a.emit(E.store('sb', R.t2, R.t4, 0), E.jalr(0, R.gp, 0));
    a.align8();
    a.label('pagelist');
    for (const p of pages) a.emit(p >>> 0, 0);
    return pages;
  }
}

const hlvx = (name: 'hlvx.wu' | 'hlvx.hu', rd: number, rs1: number) => hlv(name, rd, rs1);

/** Build the program for one seed: `n` cases. The same seed always gives the same bytes. */
export function buildPrivProgram(seed: number, n = 40): PrivProgram {
  const r = new Rng(seed);
  const g = new Generator(r);
  g.runtime();
  for (let i = 0; i < n; i++) {
    const roll = r.u32() / 2 ** 32;
    if (roll < 0.35) g.csrCase();
    else if (roll < 0.55) g.trapCase();
    else if (roll < 0.85 && g.pagingCase()) continue;
    else g.irqCase();
  }
  g.a.label(`case${n}`);
  g.a.jal(0, 'finish');
  const hashedPages = g.finish();
  const code = g.a.link();
  if (code.length > PT_BASE - RAM) throw new Error(`priv: program for seed ${seed} too large (${code.length} bytes)`);
  g.mem.bytes.set(code, 0);
  // data pages: an ecall at offset 0 (what a successful fetch runs), then random bytes
  for (let k = 0; k < DATA_PAGES; k++) {
    const p = DATA_BASE + k * 4096;
    for (let o = 8; o < 4096; o += 8) g.mem.write64(p + o, r.value64());
    g.mem.write64(p, BigInt(ECALL) | (BigInt(ECALL) << 32n));
  }
  return { seed, image: g.mem.bytes, cases: g.cases, hashedPages };
}
