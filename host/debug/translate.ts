/**
 * The debugger's page walk: a virtual address to a physical one through a satp-format root
 * (satp for the bare machine, vsatp for a VM's guest), as GDB and the monitor see memory.
 *
 * It is not the hart's walker (assembly/walk.ts): it changes nothing (no A/D updates, no TLB
 * fill, no counters) and checks no permissions, only that the walk reaches a valid leaf, like
 * QEMU's cpu_get_phys_page_debug. Privileged spec §4.3.2 (Sv39), §4.4 (Sv48), §4.5 (Sv57):
 *
 *     VA  [ VPN[L-1] | ... | VPN[0] | offset(12) ]   each VPN 9 bits; bits above sign-extend
 *     PTE [ reserved(10) | PPN(44) | RSW | D A G U X W R V ]
 *
 * A leaf at level i > 0 is a superpage: its low VPNs come from the VA.
 */

/** satp.MODE values (§4.1.11). */
const MODE_BARE = 0n;
const LEVELS: Record<string, number> = { '8': 3, '9': 4, '10': 5 };

/** One step of a walk, for `info mem`-style explanations and the mmu trace. */
export interface WalkStep {
  level: number;
  /** Physical address of the PTE read. */
  pteAddr: bigint;
  pte: bigint;
}

/** The physical address of `va`, or undefined (no valid leaf, non-canonical, or unreadable PTE). */
export function translateVa(va: bigint, satp: bigint, read64: (pa: bigint) => bigint | undefined, steps?: WalkStep[]): bigint | undefined {
  const mode = satp >> 60n;
  if (mode === MODE_BARE) return va;
  const levels = LEVELS[mode.toString()];
  if (levels === undefined) return undefined;
  const vaBits = BigInt(12 + 9 * levels);
  // Bits 63..vaBits must all equal bit vaBits-1 (§4.3.1).
  const top = va >> (vaBits - 1n);
  if (top !== 0n && top !== (1n << (65n - vaBits)) - 1n) return undefined;
  let table = (satp & ((1n << 44n) - 1n)) << 12n;
  for (let level = levels - 1; level >= 0; level--) {
    const vpn = (va >> BigInt(12 + 9 * level)) & 0x1ffn;
    const pteAddr = table + vpn * 8n;
    const pte = read64(pteAddr);
    if (pte === undefined) return undefined;
    steps?.push({ level, pteAddr, pte });
    if ((pte & 1n) === 0n) return undefined; // V = 0
    const ppn = (pte >> 10n) & ((1n << 44n) - 1n);
    if ((pte & 0xan) !== 0n) {
      // A leaf (R or X set): the page, or a superpage whose low VPNs come from the VA.
      const pageBits = BigInt(12 + 9 * level);
      const base = (ppn << 12n) & ~((1n << pageBits) - 1n);
      return base | (va & ((1n << pageBits) - 1n));
    }
    table = ppn << 12n;
  }
  return undefined;
}

/**
 * The mappings of a satp root: [va, pa, size, pte flags], one per leaf, or (with `merge`)
 * contiguous leaves with the same flags merged into runs. For `info tlb` and `info mem`.
 */
export function listMappings(satp: bigint, read64: (pa: bigint) => bigint | undefined, max = 256, merge = true): { va: bigint; pa: bigint; size: bigint; flags: bigint }[] {
  const mode = satp >> 60n;
  const levels = LEVELS[mode.toString()];
  const out: { va: bigint; pa: bigint; size: bigint; flags: bigint }[] = [];
  if (levels === undefined) return out;
  const vaBits = BigInt(12 + 9 * levels);
  const visit = (table: bigint, level: number, vaBase: bigint): void => {
    for (let i = 0n; i < 512n && out.length < max; i++) {
      const pte = read64(table + i * 8n);
      if (pte === undefined || (pte & 1n) === 0n) continue;
      let va = vaBase | (i << BigInt(12 + 9 * level));
      if (level === levels - 1 && (va >> (vaBits - 1n)) !== 0n) va |= ~((1n << vaBits) - 1n) & ((1n << 64n) - 1n); // sign-extend
      const ppn = (pte >> 10n) & ((1n << 44n) - 1n);
      if ((pte & 0xan) === 0n) {
        if (level > 0) visit(ppn << 12n, level - 1, va);
        continue;
      }
      const size = 1n << BigInt(12 + 9 * level);
      const pa = ppn << 12n;
      const flags = pte & 0xffn;
      const last = out[out.length - 1];
      if (merge && last && last.va + last.size === va && last.pa + last.size === pa && last.flags === flags) last.size += size;
      else out.push({ va, pa, size, flags });
    }
  };
  visit((satp & ((1n << 44n) - 1n)) << 12n, levels - 1, 0n);
  return out;
}

/** PTE flag letters as QEMU's `info mem` prints them (r w x u g a d, '-' when clear). */
export function pteFlags(flags: bigint): string {
  return ['r', 'w', 'x', 'u', 'g', 'a', 'd'].map((c, i) => ((flags >> BigInt(i + 1)) & 1n) !== 0n ? c : '-').join('');
}
