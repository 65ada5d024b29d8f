// Address translation: the TLB (fast path), the Sv39/Sv48 page walker and the slow paths of
// loads, stores and fetches (TLB misses, MMIO, page-crossing accesses, code pages, tohost).
//
// TLB: three direct-mapped arrays (read, write, fetch) of TLB_ENTRIES entries:
//     +0  u64 tag    = virtual page (va & ~0xfff) | context id (12 bits)
//     +8  i64 addend = host address of the page - virtual page
// A hit is `((va & ~0xfff) | ctx) == tag`, and the host address is va + addend.
// The context id names everything the cached permission check depended on: translation mode,
// ASID, effective privilege, SUM and MXR (see ctxFor). Ids are allocated from CTX_TABLE; when
// it fills, every TLB is flushed and numbering starts again. An id is never 0xfff, so the
// all-ones tag of an empty entry never matches.
//
// Pages that hold decoded code, and the page of HTIF tohost, never get write entries: stores
// to them take the slow path, which invalidates the code or exits to the host.

import {
  STATE, TLB_READ, TLB_WRITE, TLB_FETCH, TLB_ENTRIES, CTX_TABLE, CTX_ENTRIES, PAGE_INFO,
  RAM_BASE, RAM_OFFSET, S_RAM_SIZE, S_TOHOST, S_MMIO_ADDR, S_MMIO_DATA, S_MMIO_SIZE,
  S_MMIO_WRITE, S_MMIO_RD, S_MMIO_SIGNED, S_MMIO_VADDR, S_MMIO_STATUS, S_HTIF_VALUE,
  S_STAT_TLB_MISS, S_STAT_WALKS, S_STAT_WALK_REFS, S_STAT_CODE_INVAL, S_MSTATUS, S_SATP,
  EXIT_MMIO, EXIT_HTIF, MMIO_PENDING, S_LR_ADDR,
} from './abi';
import {
  priv, rd64, wr64, setExit, bumpEpoch, PRV_M, PRV_S, PRV_U,
  MSTATUS_MPRV, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_SUM, MSTATUS_MXR,
  CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_PAGE_FAULT,
  CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT,
} from './state';
import { raiseException } from './trap';

export const ACC_READ: u32 = 0;
export const ACC_WRITE: u32 = 1;
export const ACC_FETCH: u32 = 2;

const PAGE_MASK: u64 = ~(<u64>0xfff);
const CODE_BIT: u32 = 0x80000000;
const EMPTY_TAG: u64 = 0xffffffffffffffff;

// ---- translation contexts ----
/** Context id of data accesses (loads and stores; honours MPRV) and of fetches. */
export let ctxData: u64 = 0;
export let ctxFetch: u64 = 0;
let ctxUsed: u32 = 0;

function ctxFor(mode: u64, asid: u64, effPriv: u32, sum: u64, mxr: u64): u64 {
  // Bare translation (M-mode, or satp.MODE = Bare) does not depend on ASID, SUM or MXR.
  const key = mode == 0
    ? (<u64>effPriv << 1) | 1
    : (mode << 4) | (asid << 8) | (<u64>effPriv << 24) | (sum << 26) | (mxr << 27) | 1;
  let i = <u32>((key * 0x9e3779b97f4a7c15) >> 52) % (CTX_ENTRIES - 1);
  for (let probes: u32 = 0; probes < CTX_ENTRIES; probes++) {
    const slot = CTX_TABLE + (<usize>i << 3);
    const k = load<u64>(slot);
    if (k == key) return <u64>i;
    if (k == 0) {
      if (ctxUsed >= (CTX_ENTRIES * 3) / 4) {
        flushTlbAll();
        return ctxFor(mode, asid, effPriv, sum, mxr);
      }
      store<u64>(slot, key);
      ctxUsed++;
      return <u64>i;
    }
    i = (i + 1) % (CTX_ENTRIES - 1);
  }
  flushTlbAll();
  return ctxFor(mode, asid, effPriv, sum, mxr);
}

/**
 * Recompute the context ids after a change of privilege, mstatus (MPRV, MPP, SUM, MXR) or satp.
 * Cheap when nothing changed: the table returns the id the key already has.
 */
export function updateContexts(): void {
  const st = rd64(S_MSTATUS);
  const sa = rd64(S_SATP);
  const mode = sa >> 60;
  const asid = (sa >> 44) & 0xffff;
  const sum = (st >> 18) & 1;
  const mxr = (st >> 19) & 1;
  let dp = priv;
  if (priv == PRV_M && (st & MSTATUS_MPRV) != 0) dp = <u32>((st & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  ctxData = ctxFor(dp == PRV_M ? 0 : mode, asid, dp, sum, mxr);
  ctxFetch = ctxFor(priv == PRV_M ? 0 : mode, asid, priv, 0, 0);
}

/** Invalidate every TLB entry and every context id (sfence.vma x0, x0; context table full). */
export function flushTlbAll(): void {
  memory.fill(TLB_READ, 0xff, <usize>TLB_ENTRIES * 16 * 3);
  memory.fill(CTX_TABLE, 0, <usize>CTX_ENTRIES * 8);
  ctxUsed = 0;
  bumpEpoch();
}

/** sfence.vma with rs1 = va: drop that page from all three arrays, for every context. */
export function flushTlbPage(va: u64): void {
  const idx = <usize>((va >> 12) & (TLB_ENTRIES - 1)) << 4;
  store<u64>(TLB_READ + idx, EMPTY_TAG);
  store<u64>(TLB_WRITE + idx, EMPTY_TAG);
  store<u64>(TLB_FETCH + idx, EMPTY_TAG);
  bumpEpoch();
}

/**
 * sfence.vma with rs2 = asid: retire the context ids of that ASID (their entries can then never
 * match again), keeping the rest of the TLB. Retired slots hold a tombstone until the next full
 * flush so their ids are not reused.
 */
export function flushTlbAsid(asid: u64): void {
  for (let i: u32 = 0; i < CTX_ENTRIES; i++) {
    const slot = CTX_TABLE + (<usize>i << 3);
    const k = load<u64>(slot);
    if (k != 0 && (k & 0xf0) != 0 && ((k >> 8) & 0xffff) == asid) store<u64>(slot, 0xfffffffffffffff0);
  }
  bumpEpoch();
}

// ---- physical memory ----

/** Host address of a guest-physical RAM address, or 0 when it is not RAM. */
@inline export function ramHost(pa: u64, size: u64): usize {
  const off = pa - <u64>RAM_BASE;
  if (off + size > rd64(S_RAM_SIZE) || pa < <u64>RAM_BASE) return 0;
  return <usize>(off + <u64>RAM_OFFSET);
}

/** RAM page index of a host address inside RAM. */
@inline function hostPage(h: usize): usize {
  return (h - <usize>RAM_OFFSET) >> 12;
}

@inline export function pageInfo(page: usize): u32 {
  return load<u32>(PAGE_INFO + (page << 2));
}

/**
 * A page starts holding decoded code: from now on stores to it take the slow path.
 * Write-TLB entries that point at it are dropped (scanning one array is rare: once per page
 * each time it becomes code).
 */
export function markCodePage(page: usize): void {
  const info = pageInfo(page);
  if ((info & CODE_BIT) != 0) return;
  store<u32>(PAGE_INFO + (page << 2), info | CODE_BIT);
  const host = <u64>(<usize>RAM_OFFSET + (page << 12));
  for (let i: usize = 0; i < <usize>TLB_ENTRIES; i++) {
    const e = TLB_WRITE + (i << 4);
    const tag = load<u64>(e);
    if (tag != EMPTY_TAG && (tag & PAGE_MASK) + load<u64>(e, 8) == host) store<u64>(e, EMPTY_TAG);
  }
}

/** A store hit a code page: every block decoded from it becomes stale (generation bump). */
export function invalidateCodePage(page: usize): void {
  const info = pageInfo(page);
  if ((info & CODE_BIT) == 0) return;
  store<u32>(PAGE_INFO + (page << 2), ((info + 1) & ~CODE_BIT));
  wr64(S_STAT_CODE_INVAL, rd64(S_STAT_CODE_INVAL) + 1);
  bumpEpoch(); // block links into this page are stale now
}

// ---- the page walker (privileged spec §4.3.2, §4.4 for Sv48) ----
//
//  Sv39 virtual address:  | 63..39 = sign of bit 38 | VPN[2] 9 | VPN[1] 9 | VPN[0] 9 | offset 12 |
//  PTE:  | N PBMT rsvd 63..54 | PPN 53..10 | RSW 9..8 | D A G U X W R V |
//
/** Cause of the last failed translation (0 when it succeeded). */
export let xlateCause: u64 = 0;

const PTE_V: u64 = 1;
const PTE_R: u64 = 2;
const PTE_W: u64 = 4;
const PTE_X: u64 = 8;
const PTE_U: u64 = 16;
const PTE_A: u64 = 64;
const PTE_D: u64 = 128;

@inline function faultCause(acc: u32): u64 {
  return acc == ACC_FETCH ? CAUSE_FETCH_PAGE_FAULT : acc == ACC_WRITE ? CAUSE_STORE_PAGE_FAULT : CAUSE_LOAD_PAGE_FAULT;
}
@inline function accessCause(acc: u32): u64 {
  return acc == ACC_FETCH ? CAUSE_FETCH_ACCESS : acc == ACC_WRITE ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS;
}

/** The privilege a data (or fetch) access is checked at: MPRV makes M-mode loads/stores use MPP. */
@inline function effectivePriv(acc: u32): u32 {
  if (acc != ACC_FETCH && priv == PRV_M) {
    const st = rd64(S_MSTATUS);
    if ((st & MSTATUS_MPRV) != 0) return <u32>((st & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  }
  return priv;
}

/**
 * Translate va for an access; returns the physical address, or sets xlateCause and returns 0.
 * Sets hardware A and D bits as QEMU's virt machine does (Svadu behaviour).
 */
export function translate(va: u64, acc: u32): u64 {
  xlateCause = 0;
  const ep = effectivePriv(acc);
  const sa = rd64(S_SATP);
  const mode = sa >> 60;
  if (ep == PRV_M || mode == 0) return va;
  const levels: i32 = mode == 9 ? 4 : 3;
  // The address must be canonical: bits 63..VA bits all equal to the top bit.
  const vabits: u64 = <u64>(12 + 9 * levels);
  const top = <i64>va >> <i64>(vabits - 1);
  if (top != 0 && top != -1) { xlateCause = faultCause(acc); return 0; }
  wr64(S_STAT_WALKS, rd64(S_STAT_WALKS) + 1);
  let a = (sa & 0xfffffffffff) << 12;
  const st = rd64(S_MSTATUS);
  for (let i: i32 = levels - 1; i >= 0; i--) {
    const pteAddr = a + (((va >> <u64>(12 + 9 * i)) & 0x1ff) << 3);
    const h = ramHost(pteAddr, 8);
    wr64(S_STAT_WALK_REFS, rd64(S_STAT_WALK_REFS) + 1);
    if (h == 0) { xlateCause = accessCause(acc); return 0; }
    let pte = load<u64>(h);
    if ((pte & PTE_V) == 0 || ((pte & PTE_R) == 0 && (pte & PTE_W) != 0) || (pte >> 54) != 0) break;
    const ppn = (pte >> 10) & 0xfffffffffff;
    if ((pte & (PTE_R | PTE_X)) == 0) {
      // Pointer to the next level; A, D and U must be clear in non-leaf PTEs (§4.3.2 step 4).
      if ((pte & (PTE_A | PTE_D | PTE_U)) != 0) break;
      a = ppn << 12;
      continue;
    }
    // Leaf: permission checks (§4.3.2 step 5).
    if (acc == ACC_FETCH) {
      if ((pte & PTE_X) == 0) break;
    } else if (acc == ACC_READ) {
      if ((pte & PTE_R) == 0 && !((st & MSTATUS_MXR) != 0 && (pte & PTE_X) != 0)) break;
    } else {
      if ((pte & PTE_W) == 0) break;
    }
    if (ep == PRV_U) {
      if ((pte & PTE_U) == 0) break;
    } else if ((pte & PTE_U) != 0) {
      // S-mode may touch U pages only with SUM, and never execute them.
      if (acc == ACC_FETCH || (st & MSTATUS_SUM) == 0) break;
    }
    // A misaligned superpage is a page fault (§4.3.2 step 6).
    const lowMask: u64 = (<u64>1 << <u64>(9 * i)) - 1;
    if ((ppn & lowMask) != 0) break;
    // Hardware A/D update (step 7), as QEMU 7.2 does.
    const want = PTE_A | (acc == ACC_WRITE ? PTE_D : 0);
    if ((pte & want) != want) {
      pte |= want;
      store<u64>(h, pte);
    }
    const pa = ((ppn & ~lowMask) << 12) | (va & ((lowMask << 12) | 0xfff));
    return pa;
  }
  xlateCause = faultCause(acc);
  return 0;
}

// ---- TLB fill ----

@inline function tlbEntry(base: usize, va: u64): usize {
  return base + (<usize>((va >> 12) & (TLB_ENTRIES - 1)) << 4);
}

function fill(base: usize, va: u64, ctx: u64, host: usize): void {
  const e = tlbEntry(base, va);
  const vpage = va & PAGE_MASK;
  store<u64>(e, vpage | ctx);
  store<u64>(e, <u64>(host & ~0xfff) - vpage, 8);
}

// ---- the slow paths ----

/** Report a translation failure or an access outside RAM as the right exception. */
function fault(va: u64, acc: u32, cause: u64): void {
  raiseException(cause, va);
}

/**
 * Translate one access that stays within a page; fill the TLB when it is plain RAM.
 * Returns the host address, 0 on a fault (exception raised), or 1 when the access is MMIO
 * (the physical address is then in mmioPa).
 */
let mmioPa: u64 = 0;
function translateForAccess(va: u64, size: u64, acc: u32): usize {
  wr64(S_STAT_TLB_MISS, rd64(S_STAT_TLB_MISS) + 1);
  const pa = translate(va, acc);
  if (xlateCause != 0) { fault(va, acc, xlateCause); return 0; }
  const h = ramHost(pa, size);
  if (h == 0) { mmioPa = pa; return 1; }
  if (acc == ACC_READ) {
    fill(TLB_READ, va, ctxData, h);
  } else if (acc == ACC_WRITE) {
    const page = hostPage(h);
    const tohost = rd64(S_TOHOST);
    const onTohostPage = tohost != 0 && ((pa ^ tohost) & PAGE_MASK) == 0;
    if ((pageInfo(page) & CODE_BIT) == 0 && !onTohostPage) fill(TLB_WRITE, va, ctxData, h);
  }
  return h;
}

/** Record an MMIO exit: the host performs the access and calls run() again. */
function mmioExit(pa: u64, va: u64, size: u64, write: bool, data: u64, rd: u32, signed: bool): void {
  wr64(S_MMIO_ADDR, pa);
  wr64(S_MMIO_VADDR, va);
  wr64(S_MMIO_SIZE, size);
  wr64(S_MMIO_WRITE, write ? 1 : 0);
  wr64(S_MMIO_DATA, data);
  wr64(S_MMIO_RD, <u64>rd);
  wr64(S_MMIO_SIGNED, signed ? 1 : 0);
  wr64(S_MMIO_STATUS, MMIO_PENDING);
  setExit(EXIT_MMIO);
}

@inline function loadHost(h: usize, size: u64): u64 {
  if (size == 8) return load<u64>(h);
  if (size == 4) return <u64>load<u32>(h);
  if (size == 2) return <u64>load<u16>(h);
  return <u64>load<u8>(h);
}
@inline function storeHost(h: usize, size: u64, v: u64): void {
  if (size == 8) store<u64>(h, v);
  else if (size == 4) store<u32>(h, <u32>v);
  else if (size == 2) store<u16>(h, <u16>v);
  else store<u8>(h, <u8>v);
}

/**
 * Load slow path: TLB miss, MMIO, or an access crossing a page. Returns the zero-extended
 * value; on an exception or an MMIO exit the `stop` flag is set and the value is meaningless.
 * `rd` and `signed` are what the MMIO completion needs.
 */
export function loadSlow(va: u64, size: u64, rd: u32, signed: bool): u64 {
  if ((va & 0xfff) + size > 0x1000) {
    // Misaligned across a page: both pages translated first, then bytes (no MMIO here).
    let v: u64 = 0;
    for (let i: u64 = 0; i < size; i++) {
      const h = translateForAccess(va + i, 1, ACC_READ);
      if (h == 0) return 0;
      if (h == 1) { fault(va, ACC_READ, CAUSE_LOAD_ACCESS); return 0; }
      v |= <u64>load<u8>(h) << (i << 3);
    }
    return v;
  }
  const h = translateForAccess(va, size, ACC_READ);
  if (h == 0) return 0;
  if (h == 1) { mmioExit(mmioPa, va, size, false, 0, rd, signed); return 0; }
  return loadHost(h, size);
}

/** Store slow path: TLB miss, MMIO, code pages, tohost, page-crossing. */
export function storeSlow(va: u64, size: u64, v: u64): void {
  if ((va & 0xfff) + size > 0x1000) {
    // Translate every byte before writing any, so a fault leaves memory unchanged.
    const h0 = translateForAccess(va, 1, ACC_WRITE);
    if (h0 == 0) return;
    const h1 = translateForAccess((va | 0xfff) + 1, 1, ACC_WRITE);
    if (h1 == 0) return;
    if (h0 == 1 || h1 == 1) { fault(va, ACC_WRITE, CAUSE_STORE_ACCESS); return; }
    for (let i: u64 = 0; i < size; i++) {
      const h = translateForAccess(va + i, 1, ACC_WRITE);
      invalidateCodePage(hostPage(h));
      store<u8>(h, <u8>(v >> (i << 3)));
    }
    clearReservationOn(va);
    return;
  }
  const h = translateForAccess(va, size, ACC_WRITE);
  if (h == 0) return;
  if (h == 1) { mmioExit(mmioPa, va, size, true, v, 0, false); return; }
  invalidateCodePage(hostPage(h));
  storeHost(h, size, v);
  const tohost = rd64(S_TOHOST);
  if (tohost != 0) {
    const pa = <u64>(h - <usize>RAM_OFFSET) + <u64>RAM_BASE;
    if (pa == tohost && v != 0) {
      wr64(S_HTIF_VALUE, v);
      setExit(EXIT_HTIF);
    }
  }
}

/** Stores by this hart to the reserved address do not break its own reservation; nothing to do. */
@inline function clearReservationOn(va: u64): void {}

/**
 * Translate a data address for an atomic (LR/SC/AMO): returns the host address or 0 with the
 * exception raised. AMOs to MMIO are access faults (the devices are not atomic-capable).
 */
export function translateAtomic(va: u64, size: u64, acc: u32): usize {
  const h = translateForAccess(va, size, acc);
  if (h == 1) { fault(va, acc, acc == ACC_READ ? CAUSE_LOAD_ACCESS : CAUSE_STORE_ACCESS); return 0; }
  if (h != 0 && acc == ACC_WRITE) invalidateCodePage(hostPage(h));
  return h;
}

/** Physical address of a host address in RAM (for LR/SC reservations). */
@inline export function hostToPhys(h: usize): u64 {
  return <u64>(h - <usize>RAM_OFFSET) + <u64>RAM_BASE;
}

/**
 * Translate a fetch address. Returns the host address of the instruction's first byte,
 * or 0 with the exception raised.
 */
export function translateFetch(va: u64): usize {
  const h = translateForAccess(va, 2, ACC_FETCH);
  if (h == 0) return 0;
  if (h == 1) { fault(va, ACC_FETCH, CAUSE_FETCH_ACCESS); return 0; }
  fill(TLB_FETCH, va, ctxFetch, h);
  return h;
}

/** The fetch TLB's fast path. */
@inline export function fetchHost(va: u64): usize {
  const e = tlbEntry(TLB_FETCH, va);
  if (((va & PAGE_MASK) | ctxFetch) == load<u64>(e)) return <usize>(va + load<u64>(e, 8));
  return translateFetch(va);
}

/** Host address of a RAM page index. */
@inline export function pageHost(page: usize): usize {
  return <usize>RAM_OFFSET + (page << 12);
}
export { hostPage };
