/**
 * The virtual CSR file of a deprivileged guest kernel (trap-and-emulate, trap.ts): what a
 * csrrw/csrrs/csrrc(i) of the guest does when it traps as an illegal instruction. Each CSR
 * behaves as the hart's own does for S-mode (assembly/csr.ts, priv spec ch. 4 and Zicntr):
 *
 *   sstatus    SIE, SPIE, SPP, SUM, MXR writable; UXL reads 2 (RV64)        (§4.1.1)
 *              FS is the hart's own mstatus.FS (SD = FS is Dirty): the deprivileged kernel
 *              and its user programs run in real U-mode, where mstatus.FS decides whether
 *              an FP instruction traps and the hart sets it Dirty on an FP write (§3.1.6.6),
 *              which Linux reads back to decide whether to save the FP registers
 *   sie, sip   SSI, STI, SEI; only sip.SSIP is writable; STIP follows the
 *              guest's stimecmp (Sstc), SEIP its devices                     (§4.1.3)
 *   stvec      modes 0 and 1 (WARL: other writes are ignored)                (§4.1.2)
 *   sscratch, sepc (bit 0 clear), scause, stval                              (§4.1.6-9)
 *   scounteren 32 bits; senvcfg FIOM                                         (§4.1.5, §4.1.10)
 *   satp       modes Bare, Sv39, Sv48 (WARL: other modes are not written)    (§4.1.11)
 *   stimecmp   Sstc                                                           (Sstc §2)
 *   cycle, time, instret: readable in virtual S; in virtual U when the guest's scounteren
 *              allows (§3.1.11, §4.1.5); time is the guest's time base
 *
 * Storage: the VMCS fields the hw technique uses for the same state (technique.ts), plus
 * VM_SCOUNTEREN and VM_SENVCFG for scounteren and senvcfg. --virt bt's inline sites
 * (assembly/btvirt.ts btCsr) do the same against the same fields; keep the two in step.
 */
import type { Vmcs } from '../vmcs';

/** sstatus bits (§4.1.1). */
export const SSTATUS = {
  SIE: 1n << 1n, SPIE: 1n << 5n, SPP: 1n << 8n, SUM: 1n << 18n, MXR: 1n << 19n, UXL64: 2n << 32n,
  FS: 3n << 13n, SD: 1n << 63n,
} as const;

/** sstatus.FS and SD as the guest reads them, from the hart's mstatus (§3.1.6.6: SD summarizes FS). */
export function fsBits(mstatus: bigint): bigint {
  const fs = mstatus & SSTATUS.FS;
  return fs === SSTATUS.FS ? fs | SSTATUS.SD : fs;
}

/** The hart's mstatus with FS taken from a guest's sstatus write `nv` (SD recomputed). */
export function withGuestFs(mstatus: bigint, nv: bigint): bigint {
  return (mstatus & ~(SSTATUS.FS | SSTATUS.SD)) | fsBits(nv);
}
const SSTATUS_WRITABLE = SSTATUS.SIE | SSTATUS.SPIE | SSTATUS.SPP | SSTATUS.SUM | SSTATUS.MXR;
/** The virtual interrupts, in the VS positions of hie/hvip (VSSI 2, VSTI 6, VSEI 10; §8.2.4). */
export const VS_INTERRUPTS = (1n << 2n) | (1n << 6n) | (1n << 10n);
const VSSIP = 1n << 2n;
const VSTIP = 1n << 6n;

/** CSR names for the exit statistics. */
export const CSR_NAMES: Record<number, string> = {
  0x100: 'sstatus', 0x104: 'sie', 0x105: 'stvec', 0x106: 'scounteren', 0x10a: 'senvcfg', 0x140: 'sscratch',
  0x141: 'sepc', 0x142: 'scause', 0x143: 'stval', 0x144: 'sip', 0x14d: 'stimecmp', 0x180: 'satp',
  0xc00: 'cycle', 0xc01: 'time', 0xc02: 'instret',
};

/**
 * The virtual CSRs that have no VS CSR: VMCS fields of their own (VM_SCOUNTEREN, VM_SENVCFG), so
 * BT's inline sites in the core (assembly/btvirt.ts) read and write the same copy.
 */
export class VirtualCsrs {
  constructor(private readonly vmcs: Vmcs) {}
  get scounteren(): bigint { return this.vmcs.scounteren; }
  set scounteren(v: bigint) { this.vmcs.scounteren = v; }
  get senvcfg(): bigint { return this.vmcs.senvcfg; }
  set senvcfg(v: bigint) { this.vmcs.senvcfg = v; }
  reset(): void {
    this.scounteren = 0n;
    this.senvcfg = 0n;
  }
}

/** What the CSR emulation reads of the vCPU besides the VMCS. */
export interface CsrHart {
  vmcs: Vmcs;
  /** The guest's time (mtime + its offset). */
  guestTime(): bigint;
  /** Instructions retired (the guest's cycle and instret). */
  instret(): bigint;
  /** The hart's mstatus: its FS is the guest's sstatus.FS (the guest runs in real U-mode). */
  mstatus: bigint;
}

const ALL = 0xffff_ffff_ffff_ffffn;

/**
 * Emulate one CSR instruction of the guest: `kind` 1 RW, 2 RS, 3 RC; `writes` false for RS/RC
 * with rs1 = x0 (or uimm 0), which do not write (Zicsr §9.1). Returns the old value, or
 * undefined when the access is an illegal instruction for the guest (unknown CSR, an M or H
 * CSR, an S CSR from virtual U, a write to a read-only CSR, a counter scounteren hides).
 */
export function csrAccess(f: VirtualCsrs, h: CsrHart, csr: number, virtualS: boolean, kind: number, src: bigint, writes: boolean): bigint | undefined {
  const v = h.vmcs;
  const level = (csr >> 8) & 3;
  const readOnly = csr >> 10 === 3;
  if (readOnly && writes) return undefined;
  if (level > 1 || (level === 1 && !virtualS)) return undefined;
  let old: bigint;
  switch (csr) {
    case 0xc00: case 0xc01: case 0xc02:
      if (!virtualS && ((f.scounteren >> BigInt(csr - 0xc00)) & 1n) === 0n) return undefined;
      return csr === 0xc01 ? h.guestTime() : h.instret();
    case 0x100: old = (v.vsstatus & SSTATUS_WRITABLE) | SSTATUS.UXL64 | fsBits(h.mstatus); break;
    case 0x104: old = (v.hie & VS_INTERRUPTS) >> 1n; break;
    case 0x105: old = v.vstvec; break;
    case 0x106: old = f.scounteren; break;
    case 0x10a: old = f.senvcfg; break;
    case 0x140: old = v.vsscratch; break;
    case 0x141: old = v.vsepc; break;
    case 0x142: old = v.vscause; break;
    case 0x143: old = v.vstval; break;
    case 0x144: {
      let p = v.hvip & VS_INTERRUPTS & ~VSTIP;
      if (h.guestTime() >= v.vstimecmp) p |= VSTIP;
      old = p >> 1n;
      break;
    }
    case 0x14d: old = v.vstimecmp; break;
    case 0x180: old = v.vsatp; break;
    default: return undefined;
  }
  if (!writes) return old;
  const nv = BigInt.asUintN(64, kind === 1 ? src : kind === 2 ? old | src : old & ~src) & ALL;
  switch (csr) {
    case 0x100:
      v.vsstatus = (v.vsstatus & ~SSTATUS_WRITABLE) | (nv & SSTATUS_WRITABLE);
      h.mstatus = withGuestFs(h.mstatus, nv);
      break;
    case 0x104: v.hie = (v.hie & ~VS_INTERRUPTS) | ((nv << 1n) & VS_INTERRUPTS); break;
    case 0x105: if ((nv & 3n) < 2n) v.vstvec = nv; break;
    case 0x106: f.scounteren = nv & 0xffff_ffffn; break;
    case 0x10a: f.senvcfg = nv & 1n; break;
    case 0x140: v.vsscratch = nv; break;
    case 0x141: v.vsepc = nv & ~1n; break;
    case 0x142: v.vscause = nv; break;
    case 0x143: v.vstval = nv; break;
    case 0x144: v.hvip = (v.hvip & ~VSSIP) | ((nv << 1n) & VSSIP); break;
    case 0x14d: v.vstimecmp = nv; break;
    case 0x180: {
      const mode = nv >> 60n;
      if (mode === 0n || mode === 8n || mode === 9n) v.vsatp = nv;
      break;
    }
  }
  return old;
}
