/**
 * A page-table walker in TypeScript over guest memory, for the demo's "last page walk" view.
 *
 * It follows the algorithm of the privileged spec 1.12, section 4.3.2 "Virtual Address
 * Translation Process", for Sv39 (4.4) and Sv48 (4.5), and records every step so a page can
 * draw it. It reads guest memory only (no A/D updates, no TLB): looking must not change the
 * guest. Until the core exports the walk it really did last, the worker calls this for the
 * guest's current pc.
 *
 *   Sv39 virtual address            Sv48 adds VPN[3] (bits 47:39) above VPN[2]
 *   63      39 38    30 29    21 20    12 11        0
 *   | sign    | VPN[2] | VPN[1] | VPN[0] | page offset|
 *
 *   PTE: 63..54 reserved (N, PBMT) | 53..10 PPN | 9..8 RSW | D A G U X W R V
 */

/** One level of a walk: the PTE read at that level and what it meant. */
export interface WalkLevel {
  /** Level i of the spec (LEVELS-1 at the root, 0 for 4 KiB leaves). */
  level: number;
  /** VPN[i]: the index into this level's table. */
  vpn: number;
  /** Physical address of the table (a in the spec). */
  table: bigint;
  /** Physical address of the PTE: table + vpn * 8. */
  pteAddr: bigint;
  /** The PTE, when it could be read (undefined: its address is outside RAM). */
  pte?: bigint;
  /** "DAGUXWRV" flags with '-' for clear bits. */
  flags: string;
  /** True when this PTE is a leaf (R or X set). */
  leaf: boolean;
}

/** A whole walk: the address, every level, and the physical page or the reason it failed. */
export interface PageWalk {
  /** 'bare' when no translation applies (M-mode, or satp.MODE = Bare). */
  mode: 'bare' | 'sv39' | 'sv48';
  va: bigint;
  satp: bigint;
  /** Privilege the address was used at (0 U, 1 S, 3 M). */
  priv: number;
  asid: number;
  levels: WalkLevel[];
  /** The physical address, when the walk succeeded. */
  pa?: bigint;
  /** Size of the mapping in bytes (4 KiB, 2 MiB, 1 GiB, 512 GiB). */
  pageSize?: number;
  /** Why the walk failed (as the hart would fault), when it did. */
  fault?: string;
}

/** Reads 8 bytes of guest-physical memory; undefined when the address is not RAM. */
export type ReadPhys64 = (paddr: bigint) => bigint | undefined;

const SATP_MODE_BARE = 0n;
const SATP_MODE_SV39 = 8n;
const SATP_MODE_SV48 = 9n;
const PTE_V = 1n;
const PTE_R = 2n;
const PTE_W = 4n;
const PTE_X = 8n;
const PPN_MASK = (1n << 44n) - 1n;

/** "DAGUXWRV" with '-' for each clear bit, D first as in the spec's PTE figure. */
export function pteFlags(pte: bigint): string {
  const names = 'VRWXUGAD';
  let s = '';
  for (let b = 7; b >= 0; b--) s += (pte >> BigInt(b)) & 1n ? names[b] : '-';
  return s;
}

/**
 * Walk `va` as the hart would at privilege `priv` with `satp`. M-mode fetches are never
 * translated (MPRV applies to loads and stores only), so they are 'bare'.
 */
export function walkPageTables(satp: bigint, va: bigint, priv: number, read: ReadPhys64): PageWalk {
  const mode = satp >> 60n;
  const asid = Number((satp >> 44n) & 0xffffn);
  const base: PageWalk = { mode: 'bare', va, satp, priv, asid, levels: [] };
  if (priv === 3 || mode === SATP_MODE_BARE) return { ...base, pa: va, pageSize: 4096 };
  if (mode !== SATP_MODE_SV39 && mode !== SATP_MODE_SV48) {
    return { ...base, fault: `satp.MODE ${mode} is not Sv39 or Sv48` };
  }
  const LEVELS = mode === SATP_MODE_SV39 ? 3 : 4;
  const walk: PageWalk = { ...base, mode: LEVELS === 3 ? 'sv39' : 'sv48' };
  // 4.4.1 / 4.5.1: bits above the VA width must equal its top bit.
  const vaBits = BigInt(12 + 9 * LEVELS);
  const upper = va >> (vaBits - 1n);
  if (upper !== 0n && upper !== (1n << (64n - vaBits + 1n)) - 1n) {
    return { ...walk, fault: `page fault: VA not sign-extended from bit ${vaBits - 1n}` };
  }
  // Step 1: a = satp.ppn * PAGESIZE, i = LEVELS - 1.
  let a = (satp & PPN_MASK) << 12n;
  for (let i = LEVELS - 1; i >= 0; i--) {
    const vpn = Number((va >> BigInt(12 + 9 * i)) & 0x1ffn);
    const pteAddr = a + BigInt(vpn * 8);
    // Step 2: read the PTE (an address outside RAM is an access fault).
    const pte = read(pteAddr);
    const lvl: WalkLevel = { level: i, vpn, table: a, pteAddr, pte, flags: '', leaf: false };
    walk.levels.push(lvl);
    if (pte === undefined) return { ...walk, fault: `access fault: PTE at 0x${pteAddr.toString(16)} is not in RAM` };
    lvl.flags = pteFlags(pte);
    // Step 3: invalid, or W without R, or reserved bits 63:54 set.
    if ((pte & PTE_V) === 0n) return { ...walk, fault: 'page fault: PTE.V = 0' };
    if ((pte & PTE_R) === 0n && (pte & PTE_W) !== 0n) return { ...walk, fault: 'page fault: PTE has W without R' };
    if (pte >> 54n !== 0n) return { ...walk, fault: 'page fault: reserved PTE bits 63:54 set' };
    const ppn = (pte >> 10n) & PPN_MASK;
    // Step 4: R or X means a leaf; otherwise descend.
    if ((pte & (PTE_R | PTE_X)) === 0n) {
      a = ppn << 12n;
      continue;
    }
    lvl.leaf = true;
    // Step 6: a superpage's low PPN fields must be zero.
    const lowBits = BigInt(9 * i);
    if ((ppn & ((1n << lowBits) - 1n)) !== 0n) return { ...walk, fault: `page fault: misaligned superpage at level ${i}` };
    // Step 8: the page offset and, for superpages, the low VPNs come from the VA.
    const pageBits = 12n + lowBits;
    const pa = ((ppn << 12n) & ~((1n << pageBits) - 1n)) | (va & ((1n << pageBits) - 1n));
    return { ...walk, pa, pageSize: 2 ** Number(pageBits) };
  }
  return { ...walk, fault: 'page fault: no leaf PTE at level 0' };
}
