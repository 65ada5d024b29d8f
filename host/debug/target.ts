/**
 * What the GDB stub and the monitor see of a hart: its registers, CSRs and memory, through
 * HartState and the VMCS (never raw offsets). Two views:
 *
 *   machine  the bare machine's hart: M/S/U, satp translation (M-mode sees physical memory),
 *            every CSR including the H extension's;
 *   vm       a VM's guest, as the guest sees itself: pc and x from the VMCS, V = 1 privilege
 *            (VS = S, VU = U), the VS CSRs under their S names (sstatus is vsstatus...), and
 *            memory through vsatp to guest-physical addresses (the G-stage is the VMM's; the
 *            VMM's page tables are not the guest's business).
 */
import type { CoreExports } from '../machine/core';
import type { HartState } from '../machine/hart';
import type { Machine } from '../machine/machine';
import type { Vm } from '../vmm/vm';
import { translateVa, type WalkStep } from './translate';

/** misa: RV64 (MXL = 2) with A, C, D, F, H, I, M, S, U (as assembly/csr.ts MISA_VALUE). */
export const MISA = (2n << 62n) | (1n << 0n) | (1n << 2n) | (1n << 3n) | (1n << 5n) | (1n << 7n) | (1n << 8n) | (1n << 12n) | (1n << 18n) | (1n << 20n);
/** sstatus's view of mstatus (priv spec §4.1.1): SIE SPIE UBE SPP VS FS XS SUM MXR UXL SD. */
const SSTATUS_MASK = 0x8000_0003_000d_e762n;

/** A CSR the debugger shows: number, name, how to read it and (if writable) write it. */
export interface CsrView {
  num: number;
  name: string;
  get(): bigint;
  set?(v: bigint): void;
}

/** The debugger's view of one hart. */
export interface DebugTarget {
  /** 'machine' (bare) or 'vm' (a guest's view). */
  readonly kind: 'machine' | 'vm';
  readonly core: CoreExports;
  readonly hart: HartState;
  x(i: number): bigint;
  setX(i: number, v: bigint): void;
  pc: bigint;
  f(i: number): bigint;
  setF(i: number, v: bigint): void;
  /** Current privilege as the target sees it: 0 U, 1 S, 3 M. */
  readonly priv: number;
  /** The CSRs shown, by number. */
  readonly csrs: Map<number, CsrView>;
  /** The satp in force for data accesses (bare in M-mode). */
  dataSatp(): bigint;
  /** Physical (guest-physical for a VM) memory; undefined outside RAM (devices are not read). */
  readPhys(pa: bigint, len: number): Uint8Array | undefined;
  writePhys(pa: bigint, bytes: Uint8Array): boolean;
  /** End a WFI wait so the run loop reaches the debugger's gate soon. */
  kick(): void;
}

/** Translate through the target's current satp; steps are filled for explanations. */
export function translate(t: DebugTarget, va: bigint, steps?: WalkStep[]): bigint | undefined {
  return translateVa(va, t.dataSatp(), (pa) => read64(t, pa), steps);
}

/** A little-endian u64 of physical memory, or undefined outside RAM. */
export function read64(t: DebugTarget, pa: bigint): bigint | undefined {
  const b = t.readPhys(pa, 8);
  if (!b) return undefined;
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}

/** Read `len` bytes at `addr`, virtual (through the current translation) or physical; undefined on a fault. */
export function readMemory(t: DebugTarget, addr: bigint, len: number, physical: boolean): Uint8Array | undefined {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const a = BigInt.asUintN(64, addr + BigInt(done));
    const n = Math.min(len - done, 4096 - Number(a & 0xfffn));
    const pa = physical ? a : translate(t, a);
    if (pa === undefined) return undefined;
    const b = t.readPhys(pa, n);
    if (!b) return undefined;
    out.set(b, done);
    done += n;
  }
  return out;
}

/** Write bytes at `addr` (virtual or physical); false on a fault (nothing is written then). */
export function writeMemory(t: DebugTarget, addr: bigint, bytes: Uint8Array, physical: boolean): boolean {
  const pieces: { pa: bigint; from: number; n: number }[] = [];
  let done = 0;
  while (done < bytes.length) {
    const a = BigInt.asUintN(64, addr + BigInt(done));
    const n = Math.min(bytes.length - done, 4096 - Number(a & 0xfffn));
    const pa = physical ? a : translate(t, a);
    if (pa === undefined || !t.readPhys(pa, n)) return false;
    pieces.push({ pa, from: done, n });
    done += n;
  }
  for (const p of pieces) t.writePhys(p.pa, bytes.subarray(p.from, p.from + p.n));
  return true;
}

/** Build a CSR table from [number, name, object, property] rows (setter used when the property has one). */
function csrTable(rows: [number, string, object, string][], extra: CsrView[] = []): Map<number, CsrView> {
  const m = new Map<number, CsrView>();
  for (const [num, name, obj, prop] of rows) {
    let proto = Object.getPrototypeOf(obj) as object | null;
    let desc: PropertyDescriptor | undefined;
    while (proto && !desc) { desc = Object.getOwnPropertyDescriptor(proto, prop); proto = Object.getPrototypeOf(proto) as object | null; }
    if (!desc?.get) throw new Error(`debug target: no property ${prop} for CSR ${name}`);
    const get = desc.get;
    const set = desc.set;
    m.set(num, { num, name, get: () => get.call(obj) as bigint, set: set ? (v) => set.call(obj, v) : undefined });
  }
  for (const c of extra) m.set(c.num, c);
  return m;
}

/** fflags, frm, fcsr (views of the one fcsr register). */
function fpCsrs(h: HartState): CsrView[] {
  return [
    { num: 0x001, name: 'fflags', get: () => h.fcsr & 0x1fn, set: (v) => { h.fcsr = (h.fcsr & ~0x1fn) | (v & 0x1fn); } },
    { num: 0x002, name: 'frm', get: () => (h.fcsr >> 5n) & 7n, set: (v) => { h.fcsr = (h.fcsr & 0x1fn) | ((v & 7n) << 5n); } },
    { num: 0x003, name: 'fcsr', get: () => h.fcsr & 0xffn, set: (v) => { h.fcsr = v & 0xffn; } },
  ];
}

/** The bare machine's hart. */
export function machineTarget(m: Machine): DebugTarget {
  const h = m.hart;
  const ram = m.memory;
  const inRam = (pa: bigint, len: number) => pa >= ram.base && pa + BigInt(len) <= ram.base + BigInt(ram.size);
  const csrs = csrTable([
    [0x105, 'stvec', h, 'stvec'], [0x106, 'scounteren', h, 'scounteren'],
    [0x140, 'sscratch', h, 'sscratch'], [0x141, 'sepc', h, 'sepc'], [0x142, 'scause', h, 'scause'],
    [0x143, 'stval', h, 'stval'], [0x14d, 'stimecmp', h, 'stimecmp'], [0x180, 'satp', h, 'satp'],
    [0x200, 'vsstatus', h, 'vsstatus'], [0x205, 'vstvec', h, 'vstvec'], [0x240, 'vsscratch', h, 'vsscratch'],
    [0x241, 'vsepc', h, 'vsepc'], [0x242, 'vscause', h, 'vscause'], [0x243, 'vstval', h, 'vstval'],
    [0x24d, 'vstimecmp', h, 'vstimecmp'], [0x280, 'vsatp', h, 'vsatp'],
    [0x300, 'mstatus', h, 'mstatus'], [0x302, 'medeleg', h, 'medeleg'], [0x303, 'mideleg', h, 'mideleg'],
    [0x304, 'mie', h, 'mie'], [0x305, 'mtvec', h, 'mtvec'], [0x306, 'mcounteren', h, 'mcounteren'],
    [0x30a, 'menvcfg', h, 'menvcfg'], [0x340, 'mscratch', h, 'mscratch'], [0x341, 'mepc', h, 'mepc'],
    [0x342, 'mcause', h, 'mcause'], [0x343, 'mtval', h, 'mtval'], [0x344, 'mip', h, 'mip'],
    [0x34a, 'mtinst', h, 'mtinst'], [0x34b, 'mtval2', h, 'mtval2'],
    [0x600, 'hstatus', h, 'hstatus'], [0x602, 'hedeleg', h, 'hedeleg'], [0x603, 'hideleg', h, 'hideleg'],
    [0x604, 'hie', h, 'hie'], [0x605, 'htimedelta', h, 'htimedelta'], [0x606, 'hcounteren', h, 'hcounteren'],
    [0x60a, 'henvcfg', h, 'henvcfg'], [0x643, 'htval', h, 'htval'], [0x645, 'hvip', h, 'hvip'],
    [0x64a, 'htinst', h, 'htinst'], [0x680, 'hgatp', h, 'hgatp'],
    [0xb02, 'minstret', h, 'instret'],
  ], [
    ...fpCsrs(h),
    // sstatus is a view of mstatus: only its bits are shown and written.
    { num: 0x100, name: 'sstatus', get: () => h.mstatus & SSTATUS_MASK, set: (v) => { h.mstatus = (h.mstatus & ~SSTATUS_MASK) | (v & SSTATUS_MASK); } },
    { num: 0x104, name: 'sie', get: () => h.mie & h.mideleg },
    { num: 0x144, name: 'sip', get: () => (h.mip | h.irqLines) & h.mideleg },
    { num: 0x301, name: 'misa', get: () => MISA },
    { num: 0xc02, name: 'instret', get: () => h.instret },
    { num: 0xf14, name: 'mhartid', get: () => 0n },
  ]);
  return {
    kind: 'machine',
    core: m.core,
    hart: h,
    x: (i) => h.x(i),
    setX: (i, v) => h.setX(i, v),
    get pc() { return h.pc; },
    set pc(v: bigint) { h.pc = v; },
    f: (i) => h.f(i),
    setF: (i, v) => h.setF(i, v),
    get priv() { return h.priv; },
    csrs,
    dataSatp: () => (h.priv === 3 ? 0n : h.satp),
    readPhys: (pa, len) => (inRam(pa, len) ? ram.read(pa, len) : undefined),
    writePhys: (pa, bytes) => {
      if (!inRam(pa, bytes.length)) return false;
      ram.write(pa, bytes); // (Ram.write drops decoded code of the pages it touches)
      return true;
    },
    kick: () => m.wake(),
  };
}

/** A VM's guest, as it sees itself (V = 1: VS-mode is its S-mode). */
export function vmTarget(vm: Vm): DebugTarget {
  const v = vm.vmcs;
  const h = vm.hart;
  const csrs = csrTable([
    [0x100, 'sstatus', v, 'vsstatus'], [0x105, 'stvec', v, 'vstvec'], [0x140, 'sscratch', v, 'vsscratch'],
    [0x141, 'sepc', v, 'vsepc'], [0x142, 'scause', v, 'vscause'], [0x143, 'stval', v, 'vstval'],
    [0x14d, 'stimecmp', v, 'vstimecmp'], [0x180, 'satp', v, 'vsatp'],
  ], [
    ...fpCsrs(h),
    // sie/sip of the guest: the VS-level bits of hie/hvip, shifted down (priv spec §8.2.12).
    { num: 0x104, name: 'sie', get: () => (v.hie & v.hideleg) >> 1n },
    { num: 0x144, name: 'sip', get: () => (v.hvip & v.hideleg) >> 1n },
    { num: 0xc02, name: 'instret', get: () => h.instret },
  ]);
  return {
    kind: 'vm',
    core: vm.core,
    hart: h,
    x: (i) => (i === 0 ? 0n : v.x(i)),
    setX: (i, val) => { if (i !== 0) v.setX(i, val); },
    get pc() { return v.pc; },
    set pc(val: bigint) { v.pc = val; },
    f: (i) => h.f(i),
    setF: (i, val) => h.setF(i, val),
    get priv() { return Number(v.priv & 1n); },
    csrs,
    dataSatp: () => v.vsatp,
    readPhys: (pa, len) => vm.readGuest(pa, len),
    writePhys: (pa, bytes) => vm.writeGuest(pa, bytes),
    kick: () => vm.vcpu.wake(),
  };
}

/** A VM's H state (its VMCS execution controls), for the monitor's `info registers`. */
export function vmcsHState(vm: Vm): string {
  const v = vm.vmcs;
  const rows: [string, bigint][] = [
    ['hstatus', v.hstatus], ['hedeleg', v.hedeleg], ['hideleg', v.hideleg], ['hie', v.hie],
    ['hvip', v.hvip], ['hcounteren', v.hcounteren], ['htimedelta', v.htimedelta], ['henvcfg', v.henvcfg],
    ['hgatp', v.hgatp], ['vstimecmp', v.vstimecmp],
  ];
  let s = 'H state (VMCS controls; the VMM is the guest\'s HS-mode):\n';
  rows.forEach(([n, val], i) => { s += `${n.padEnd(10)} ${val.toString(16).padStart(16, '0')}${i % 3 === 2 ? '\n' : '  '}`; });
  return s.endsWith('\n') ? s : s + '\n';
}
