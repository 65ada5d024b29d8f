/**
 * A REFERENCE two-dimensional page walker, written from the privileged spec (§4.3.2 "Virtual
 * Address Translation Process" and §8.5 "Two-Stage Address Translation") to check the core's
 * walker against in property-based tests, and used by the VMM to read guest instructions when
 * htinst is zero. Plain code, no caching, no speed tricks: every rule is a visible line.
 *
 * GVA --VS-stage (vsatp)--> GPA --G-stage (hgatp)--> HPA, and every VS-stage PTE address is
 * itself a GPA that goes through the G-stage:
 *
 *     vsatp.PPN ─G→ PTE[L-1] ─G→ PTE[L-2] ─G→ ... PTE[0] = leaf ─→ GPA ─G→ HPA
 *
 * Behaviour chosen where the spec leaves a choice (the same choices as the core, assembly/mmu.ts):
 *   - Hardware A/D updates (Svadu, as QEMU): when `write64` is given, missing A (and D for a
 *     store) bits are set in the VS-stage and G-stage leaves instead of faulting.
 *   - PTE bits 63:54 (N, PBMT, reserved) must be zero; non-leaf PTEs must have A = D = U = 0.
 *     Either violation is a page fault (§4.3.1, §4.3.2 step 3 in 1.12).
 *   - HS-level MXR (`mxr`) does not apply to the implicit reads of VS-stage PTEs: those need R
 *     in the G-stage leaf (MXR is about explicit loads).
 */

/** The kind of the original access. */
export type Access = 'read' | 'write' | 'fetch';

/** Inputs of one two-dimensional translation. */
export interface Walk2dInput {
  /** Guest virtual address. */
  gva: bigint;
  access: Access;
  /** vsatp: MODE (63:60) 0 Bare, 8 Sv39, 9 Sv48; ASID; PPN (43:0). */
  vsatp: bigint;
  /** hgatp: MODE (63:60) 0 Bare, 8 Sv39x4, 9 Sv48x4; VMID; PPN (43:0, low 2 bits ignored). */
  hgatp: bigint;
  /** Effective privilege of the access. */
  priv: 'VS' | 'VU';
  /** vsstatus.SUM: VS-mode may load/store U pages (never fetch from them). */
  sum: boolean;
  /** HS-level sstatus.MXR: executable pages readable by loads, in both stages. */
  mxr: boolean;
  /** vsstatus.MXR: executable pages readable by loads, in the VS-stage only. */
  vmxr: boolean;
  /** Read a u64 of host physical memory; undefined when `hpa` is not RAM (an access fault). */
  read64(hpa: bigint): bigint | undefined;
  /** Write a u64 of host physical memory (A/D updates). Without it, nothing is written. */
  write64?(hpa: bigint, value: bigint): void;
}

/** A successful translation. */
export interface Walk2dOk {
  ok: true;
  hpa: bigint;
  /** The guest physical address of the access. */
  gpa: bigint;
  /** PTE reads made (both stages). */
  refs: number;
}

/** A fault, with what the trap would write. */
export interface Walk2dFault {
  ok: false;
  /** 12/13/15 VS-stage page fault, 20/21/23 guest-page fault, 1/5/7 access fault. */
  cause: number;
  /** stval/mtval: the guest virtual address. */
  tval: bigint;
  /** htval: the faulting guest physical address >> 2 for guest-page faults, else 0. */
  htval: bigint;
  /**
   * htinst: for a G-stage fault on an implicit VS-stage PTE access, the pseudo-instruction
   * (§8.6.3) 0x00003000 (64-bit read) or 0x00003020 (64-bit write, an A/D update); 0 otherwise
   * (for an explicit access the transformed instruction comes from the instruction, which a
   * walker does not see).
   */
  htinst: number;
  refs: number;
}

export type Walk2dResult = Walk2dOk | Walk2dFault;

const PTE_V = 1n, PTE_R = 2n, PTE_W = 4n, PTE_X = 8n, PTE_U = 16n, PTE_A = 64n, PTE_D = 128n;
const PPN_MASK = (1n << 44n) - 1n;

/** Pseudo-instructions for implicit VS-stage PTE accesses (priv spec §8.6.3, table 8.12). */
export const PSEUDO_READ64 = 0x00003000;
export const PSEUDO_WRITE64 = 0x00003020;
export const PSEUDO_READ32 = 0x00002000;
export const PSEUDO_WRITE32 = 0x00002020;

/** Causes (priv spec table 3.6 and §8.6.1). */
const PAGE_FAULT: Record<Access, number> = { fetch: 12, read: 13, write: 15 };
const GUEST_PAGE_FAULT: Record<Access, number> = { fetch: 20, read: 21, write: 23 };
const ACCESS_FAULT: Record<Access, number> = { fetch: 1, read: 5, write: 7 };

/** Translate a guest virtual address through both stages. */
export function walk2d(input: Walk2dInput): Walk2dResult {
  const w = new Walker(input);
  return w.run();
}

/** One translation in progress; `refs` counts PTE reads. */
class Walker {
  refs = 0;
  constructor(private readonly i: Walk2dInput) {}

  run(): Walk2dResult {
    const { gva, access, vsatp } = this.i;
    const mode = vsatp >> 60n;
    if (mode === 0n) return this.gstage(gva, access, undefined);
    if (mode !== 8n && mode !== 9n) throw new Error(`walk2d: unsupported vsatp mode ${mode}`);
    const levels = mode === 8n ? 3 : 4;
    // The virtual address must be canonical: bits 63..VAbits-1 all equal (§4.3.1, §4.4.1).
    const vaBits = BigInt(12 + 9 * levels);
    const top = BigInt.asIntN(64, gva) >> (vaBits - 1n);
    if (top !== 0n && top !== -1n) return this.pageFault();

    let a = (vsatp & PPN_MASK) << 12n;
    for (let level = levels - 1; level >= 0; level--) {
      const pteGpa = a + ((gva >> BigInt(12 + 9 * level)) & 0x1ffn) * 8n;
      // Step 2: the PTE address is a guest physical address, translated by the G-stage as an
      // implicit read; a fault there is reported for the original access type (§8.5.1).
      const g = this.gstage(pteGpa, access, 'read');
      if (!g.ok) return g;
      let pte = this.read(g.hpa);
      if (pte === undefined) return this.accessFault();
      // Step 3: invalid, or W without R, or reserved bits.
      if ((pte & PTE_V) === 0n || ((pte & PTE_R) === 0n && (pte & PTE_W) !== 0n) || pte >> 54n !== 0n) return this.pageFault();
      const ppn = (pte >> 10n) & PPN_MASK;
      if ((pte & (PTE_R | PTE_X)) === 0n) {
        // Step 4: a pointer to the next level; A, D and U are reserved in non-leaf PTEs.
        if ((pte & (PTE_A | PTE_D | PTE_U)) !== 0n) return this.pageFault();
        a = ppn << 12n;
        continue;
      }
      // Step 5: the leaf's permissions for the access, at VS or VU privilege.
      if (!this.permitted(pte, access, this.i.vmxr || this.i.mxr)) return this.pageFault();
      if (this.i.priv === 'VU') {
        if ((pte & PTE_U) === 0n) return this.pageFault();
      } else if ((pte & PTE_U) !== 0n && (access === 'fetch' || !this.i.sum)) {
        return this.pageFault();
      }
      // Step 6: a misaligned superpage.
      const lowMask = (1n << BigInt(9 * level)) - 1n;
      if ((ppn & lowMask) !== 0n) return this.pageFault();
      // Step 7: A/D. The update is an implicit write of the PTE: the G-stage must allow it.
      const want = PTE_A | (access === 'write' ? PTE_D : 0n);
      if ((pte & want) !== want) {
        const gw = this.gstage(pteGpa, access, 'write');
        if (!gw.ok) return gw;
        pte |= want;
        this.i.write64?.(gw.hpa, pte);
      }
      const gpa = ((ppn & ~lowMask) << 12n) | (gva & ((lowMask << 12n) | 0xfffn));
      return this.gstage(gpa, access, undefined);
    }
    return this.pageFault();
  }

  /**
   * G-stage translation of `gpa` (§8.5.1): like Sv39/Sv48 with a 2-bit wider root index, every
   * access checked as user-level (the leaf needs U), guest-page faults instead of page faults.
   * `implicit` is set for VS-stage PTE accesses: their permission is that of a load (or a store
   * for A/D updates), and their fault carries a pseudo-instruction.
   */
  private gstage(gpa: bigint, access: Access, implicit: 'read' | 'write' | undefined): Walk2dResult {
    const { hgatp } = this.i;
    const mode = hgatp >> 60n;
    if (mode === 0n) return { ok: true, hpa: gpa, gpa, refs: this.refs };
    if (mode !== 8n && mode !== 9n) throw new Error(`walk2d: unsupported hgatp mode ${mode}`);
    const levels = mode === 8n ? 3 : 4;
    const fault = (): Walk2dFault => ({
      ok: false,
      cause: GUEST_PAGE_FAULT[access],
      tval: this.i.gva,
      htval: gpa >> 2n,
      htinst: implicit === undefined ? 0 : implicit === 'write' ? PSEUDO_WRITE64 : PSEUDO_READ64,
      refs: this.refs,
    });
    // A GPA is 41 (Sv39x4) or 50 (Sv48x4) bits; higher bits must be zero (§8.5.1).
    if (gpa >> BigInt(12 + 9 * levels + 2) !== 0n) return fault();
    const eff: Access = implicit ?? access;
    let a = ((hgatp & PPN_MASK) & ~3n) << 12n; // the 16 KiB root: PPN's low 2 bits read as 0
    for (let level = levels - 1; level >= 0; level--) {
      const width = level === levels - 1 ? 0x7ffn : 0x1ffn;
      const slot = a + ((gpa >> BigInt(12 + 9 * level)) & width) * 8n;
      let pte = this.read(slot);
      if (pte === undefined) return this.accessFault();
      if ((pte & PTE_V) === 0n || ((pte & PTE_R) === 0n && (pte & PTE_W) !== 0n) || pte >> 54n !== 0n) return fault();
      const ppn = (pte >> 10n) & PPN_MASK;
      if ((pte & (PTE_R | PTE_X)) === 0n) {
        if ((pte & (PTE_A | PTE_D | PTE_U)) !== 0n) return fault();
        a = ppn << 12n;
        continue;
      }
      // HS-level MXR applies to explicit loads only (see the file comment).
      if (!this.permitted(pte, eff, implicit === undefined && this.i.mxr)) return fault();
      if ((pte & PTE_U) === 0n) return fault();
      const lowMask = (1n << BigInt(9 * level)) - 1n;
      if ((ppn & lowMask) !== 0n) return fault();
      const want = PTE_A | (eff === 'write' ? PTE_D : 0n);
      if ((pte & want) !== want) {
        pte |= want;
        this.i.write64?.(slot, pte);
      }
      const hpa = ((ppn & ~lowMask) << 12n) | (gpa & ((lowMask << 12n) | 0xfffn));
      return { ok: true, hpa, gpa, refs: this.refs };
    }
    return fault();
  }

  private permitted(pte: bigint, access: Access, mxr: boolean): boolean {
    if (access === 'fetch') return (pte & PTE_X) !== 0n;
    if (access === 'read') return (pte & PTE_R) !== 0n || (mxr && (pte & PTE_X) !== 0n);
    return (pte & PTE_W) !== 0n;
  }

  private read(hpa: bigint): bigint | undefined {
    this.refs++;
    return this.i.read64(hpa);
  }

  private pageFault(): Walk2dFault {
    return { ok: false, cause: PAGE_FAULT[this.i.access], tval: this.i.gva, htval: 0n, htinst: 0, refs: this.refs };
  }

  private accessFault(): Walk2dFault {
    return { ok: false, cause: ACCESS_FAULT[this.i.access], tval: this.i.gva, htval: 0n, htinst: 0, refs: this.refs };
  }
}
