// In-core population of a VM's guest RAM (abi.ts POP; the host's side is host/vmm/populate.ts).
//
// A VM's guest pages are backed on first touch: the G-stage walk of a guest physical address in
// guest RAM finds an empty leaf PTE. Without help that is a guest-page fault to the VMM (an exit
// to TypeScript, some microseconds each, once per page the guest ever touches). Instead, as KVM's
// fault handler maps a page from its per-vCPU memory cache (kvm_mmu_memory_cache, topped up
// before the fault is handled), the walker here takes a zeroed host frame from a pool the VMM
// filled, writes the leaf, logs (guest page, frame) for the VMM and finishes the walk: the guest
// never leaves the core. The VMM keeps its own map of guest pages up to date from the log.
//
// Only the last level: a walk that finds no leaf table (a new 2 MiB region), a non-zero invalid
// leaf, a page outside [POP_BASE, POP_END), an empty pool or a full log faults to the VMM as
// before. The VMM empties the range while some guest pages must not be populated here
// (post-copy's pages still on the source, ballooned-out pages). A G-stage leaf is RWX with U, A
// and D set, as the VMM writes it (host/vmm/gstage.ts; priv spec §8.5.1: every G-stage access
// is a U access, and the VMM sets A and D itself).

import { POP, POP_BASE, POP_END, POP_FREE, POP_LOGGED, POP_COUNTED, POP_POOL, POP_LOG, POP_MAX, VMCS, VM_SBI_COUNTS_TOTAL } from './abi';
import { hostPage, markDirty } from './phys';

/** V R W X U A D: a G-stage leaf for guest RAM. */
const LEAF_FLAGS: u64 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x40 | 0x80;

/**
 * Back guest page `gpa` (its G-stage leaf, at host address `slot`, is zero) with a frame from the
 * pool. Returns the new leaf PTE, or 0 when the VMM must handle the fault (see above).
 * `implicit`: the access is a VS-stage PTE read (counted apart, as the VMM counts its exits).
 */
export function populateInCore(gpa: u64, slot: usize, implicit: bool): u64 {
  const page = gpa >> 12;
  if (page < load<u64>(POP + POP_BASE) || page >= load<u64>(POP + POP_END)) return 0;
  const free = load<u32>(POP + POP_FREE);
  const logged = load<u32>(POP + POP_LOGGED);
  if (free == 0 || logged >= POP_MAX) return 0;
  // (free <= POP_MAX: the host never fills more; logged < POP_MAX checked above.)
  const hpa = load<u64>(POP + POP_POOL + (<usize>(free - 1) << 3));
  store<u32>(POP + POP_FREE, free - 1);
  const pte = ((hpa >> 12) << 10) | LEAF_FLAGS;
  store<u64>(slot, pte);
  markDirty(hostPage(slot)); // as the VMM's own write of a table (Ram.write64)
  const log = POP + POP_LOG + (<usize>logged << 4);
  store<u64>(log, page);
  store<u64>(log, hpa, 8);
  store<u32>(POP + POP_LOGGED, logged + 1);
  const counted = POP + POP_COUNTED + (implicit ? 4 : 0);
  store<u32>(counted, load<u32>(counted) + 1);
  store<u32>(VMCS + VM_SBI_COUNTS_TOTAL, load<u32>(VMCS + VM_SBI_COUNTS_TOTAL) + 1);
  return pte;
}
