// Physical memory of the machine: guest-physical RAM at RAM_BASE is backed by linear memory at
// RAM_OFFSET ("host frames"), and each RAM page has a PAGE_INFO word: bit 31 = the page holds
// decoded code, bits 30..0 = its code generation (bt.ts).

import { ABSENT_MAP, DIRTY_LOG, PAGE_INFO, RAM_BASE, RAM_DIRTY, RAM_OFFSET, S_RAM_SIZE } from './abi';
import { rd64 } from './state';

export const CODE_BIT: u32 = 0x80000000;

/** Host address of a physical RAM range [pa, pa + size), or 0 when it is not all RAM. */
@inline export function ramHost(pa: u64, size: u64): usize {
  const off = pa - <u64>RAM_BASE;
  if (off + size > rd64(S_RAM_SIZE) || pa < <u64>RAM_BASE) return 0;
  return <usize>(off + <u64>RAM_OFFSET);
}

/** RAM page index of a host address inside RAM. */
@inline export function hostPage(h: usize): usize {
  return (h - <usize>RAM_OFFSET) >> 12;
}

/** Host address of a RAM page index. */
@inline export function pageHost(page: usize): usize {
  return <usize>RAM_OFFSET + (page << 12);
}

/** Physical address of a host address in RAM. */
@inline export function hostToPhys(h: usize): u64 {
  return <u64>(h - <usize>RAM_OFFSET) + <u64>RAM_BASE;
}

@inline export function pageInfo(page: usize): u32 {
  return load<u32>(PAGE_INFO + (page << 2));
}
@inline export function setPageInfo(page: usize, v: u32): void {
  store<u32>(PAGE_INFO + (page << 2), v);
}

/** Dirty-page logging is on (dirty.ts): markDirty also sets the page's DIRTY_LOG bit. */
export let dirtyLogOn: bool = false;
export function setDirtyLogOn(on: bool): void {
  dirtyLogOn = on;
}

/**
 * Note that RAM page `page` has been written (a machine reset must zero it: index.ts zeroRam;
 * and, while logging, migration must send it again: dirty.ts). Called on slow paths only.
 */
@inline export function markDirty(page: usize): void {
  const bit = <u8>(<u32>1 << <u32>(page & 7));
  const a = RAM_DIRTY + (page >> 3);
  store<u8>(a, load<u8>(a) | bit);
  if (dirtyLogOn) {
    const l = DIRTY_LOG + (page >> 3);
    store<u8>(l, load<u8>(l) | bit);
  }
}

// ---- post-copy migration (abi.ts ABSENT_MAP, host/migrate/postcopy-target.ts) ----
// While a bare machine's RAM is still arriving, the pages not there yet are marked absent and
// absentOn is set. The checks sit where a RAM page is first reached without the TLB (a TLB fill
// or slow-path access in mmu.ts accessHost, a PTE read in walk.ts): an absent page never gets a
// TLB entry, so the hit paths of the interpreter and of compiled code never look. An access to an
// absent page stops before it happens (EXIT_ABSENT, as a watchpoint's EXIT_DEBUG: the instruction
// is not retired and pc stays at it); the host fetches the page, clears its bit and re-enters.

export let absentOn: bool = false;
/** The physical address of the access the last EXIT_ABSENT stopped at. */
export let absentAt: u64 = 0;

export function setAbsentOn(on: bool): void {
  absentOn = on;
}

/** Whether RAM page `page` is marked absent (call only when absentOn). */
@inline export function isAbsent(page: usize): bool {
  return (load<u8>(ABSENT_MAP + (page >> 3)) & <u8>(<u32>1 << <u32>(page & 7))) != 0;
}

export function noteAbsent(pa: u64): void {
  absentAt = pa;
}
