// The page walkers: single-stage Sv39/Sv48 (privileged spec §4.3.2, §4.4) and, with V = 1,
// the two-dimensional walk of the H extension (§8.5): a VS-stage walk over vsatp in which
// every VS-stage PTE address is itself a guest-physical address translated by the G-stage
// (hgatp, Sv39x4/Sv48x4), then the G-stage translation of the final guest-physical address.
//
//  Sv39 virtual address:  | 63..39 = sign of bit 38 | VPN[2] 9 | VPN[1] 9 | VPN[0] 9 | offset 12 |
//  Sv39x4 guest physical: | 63..41 = 0 | VPN[2] 11 | VPN[1] 9 | VPN[0] 9 | offset 12 |  (16 KiB root)
//  PTE:  | N PBMT rsvd 63..54 | PPN 53..10 | RSW 9..8 | D A G U X W R V |
//
// A walk reports a failure through the fault globals below: the cause (page fault 12/13/15,
// guest-page fault 20/21/23, access fault 1/5/7), htval (guest physical address >> 2 for
// guest-page faults) and htinst (the pseudo-instruction for a fault on an implicit VS-stage
// PTE access, §8.6.3). A/D bits are set by hardware, as QEMU's virt machine does.

import {
  STATE, S_WALK_LOG_ON, S_WALK_LOG, WALK_LOG_MAX_STEPS,
  S_MSTATUS, S_SATP, S_VSATP, S_VSSTATUS, S_HGATP, S_STAT_WALKS, S_STAT_WALK_REFS,
  S_STAT_WALKS_2D, S_STAT_WALK_REFS_2D, S_STAT_PWC_HITS, PWC, PWC_ENTRIES,
} from './abi';
import {
  rd64, wr64, PRV_U, MSTATUS_SUM, MSTATUS_MXR,
  CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_PAGE_FAULT,
  CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT, CAUSE_FETCH_GUEST_PAGE_FAULT,
  CAUSE_LOAD_GUEST_PAGE_FAULT, CAUSE_STORE_GUEST_PAGE_FAULT,
} from './state';
import { ramHost, hostPage, markDirty, absentOn, isAbsent, noteAbsent } from './phys';
import { populateInCore } from './populate';


export const ACC_READ: u32 = 0;
export const ACC_WRITE: u32 = 1;
export const ACC_FETCH: u32 = 2;

/** walkCause of a walk that reached a PTE on a page marked absent (post-copy, phys.ts): no trap, an exit. */
export const CAUSE_ABSENT: u64 = 0xffffffffffffffff;

const PTE_V: u64 = 1;
const PTE_R: u64 = 2;
const PTE_W: u64 = 4;
const PTE_X: u64 = 8;
const PTE_U: u64 = 16;
const PTE_A: u64 = 64;
const PTE_D: u64 = 128;
const PPN_MASK: u64 = 0xfffffffffff;

/** Pseudo-instructions written to htinst for faults on implicit VS-stage PTE accesses (§8.6.3). */
export const HTINST_PTE_READ64: u64 = 0x00003000;
export const HTINST_PTE_WRITE64: u64 = 0x00003020;

// ---- the outcome of the last walk ----
/** Cause of the last failed translation, 0 when it succeeded. */
export let walkCause: u64 = 0;
/** htval of the last failure: the guest physical address >> 2 (guest-page faults), else 0. */
export let walkHtval: u64 = 0;
/** htinst of the last failure: a pseudo-instruction for implicit PTE accesses, else 0. */
export let walkHtinst: u64 = 0;
/** True when the last failure was a guest-page fault on the final GPA (an explicit access). */
export let walkExplicitGuestFault: bool = false;

@inline function pageFault(acc: u32): u64 {
  return acc == ACC_FETCH ? CAUSE_FETCH_PAGE_FAULT : acc == ACC_WRITE ? CAUSE_STORE_PAGE_FAULT : CAUSE_LOAD_PAGE_FAULT;
}
@inline function guestPageFault(acc: u32): u64 {
  return acc == ACC_FETCH ? CAUSE_FETCH_GUEST_PAGE_FAULT : acc == ACC_WRITE ? CAUSE_STORE_GUEST_PAGE_FAULT : CAUSE_LOAD_GUEST_PAGE_FAULT;
}
@inline function accessFault(acc: u32): u64 {
  return acc == ACC_FETCH ? CAUSE_FETCH_ACCESS : acc == ACC_WRITE ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS;
}

function fail(cause: u64, htval: u64, htinst: u64): u64 {
  walkCause = cause;
  walkHtval = htval;
  walkHtinst = htinst;
  return 0;
}

/** The low byte (D A G U X W R V) of the leaf PTE of the last successful walk. */
let leafFlags: u64 = 0;
/** Host address of the zero last-level PTE a failed walk stopped at (valid right after gStage's walk). */
let emptyLeaf: usize = 0;
/** The G-stage walk in progress translates a VS-stage PTE address (gTranslatePte). */
let ptWalk: bool = false;

// Walk bookkeeping: 1D and 2D walks are counted apart, with their memory references.
let twoD: bool = false;

// ---- the walk log (abi.ts S_WALK_LOG): the steps of the last walk, for viewers ----
const KIND_SATP: u64 = 1;
const KIND_VS: u64 = 2;
const KIND_G_FOR_VS: u64 = 3;
const KIND_G_FINAL: u64 = 4;
let logOn: bool = false;
let logKind: u64 = KIND_SATP;
let logSteps: u32 = 0;

function logStart(va: u64, acc: u32): void {
  logOn = rd64(S_WALK_LOG_ON) != 0;
  if (!logOn) return;
  logSteps = 0;
  store<u64>(STATE + S_WALK_LOG, va);
  store<u64>(STATE + S_WALK_LOG + 8, <u64>acc);
  store<u64>(STATE + S_WALK_LOG + 24, 0);
}
@inline function logStep(level: i32, addr: u64, pte: u64): void {
  if (logOn && logSteps < WALK_LOG_MAX_STEPS) {
    const at = STATE + S_WALK_LOG + 32 + <usize>logSteps * 24;
    store<u64>(at, (logKind << 8) | <u64>level);
    store<u64>(at, addr, 8);
    store<u64>(at, pte, 16);
    logSteps++;
    store<u64>(STATE + S_WALK_LOG + 24, <u64>logSteps);
  }
}
function logEnd(pa: u64): void {
  if (logOn) store<u64>(STATE + S_WALK_LOG + 16, walkCause != 0 ? (<u64>1 << 63) | walkCause : pa);
}
// The counters live in globals while run() executes; flushWalkStats() adds them to STATE.
let statWalks1d: u64 = 0;
let statRefs1d: u64 = 0;
let statWalks2d: u64 = 0;
let statRefs2d: u64 = 0;
let statGCacheHits: u64 = 0;
@inline function countRef(): void {
  if (twoD) statRefs2d++;
  else statRefs1d++;
}

/** Add the walk counters gathered in globals to the STATE statistics. */
export function flushWalkStats(): void {
  wr64(S_STAT_WALKS, rd64(S_STAT_WALKS) + statWalks1d);
  wr64(S_STAT_WALK_REFS, rd64(S_STAT_WALK_REFS) + statRefs1d);
  wr64(S_STAT_WALKS_2D, rd64(S_STAT_WALKS_2D) + statWalks2d);
  wr64(S_STAT_WALK_REFS_2D, rd64(S_STAT_WALK_REFS_2D) + statRefs2d);
  wr64(S_STAT_PWC_HITS, rd64(S_STAT_PWC_HITS) + statGCacheHits);
  statWalks1d = 0;
  statRefs1d = 0;
  statWalks2d = 0;
  statRefs2d = 0;
  statGCacheHits = 0;
}

/**
 * The leaf permission check shared by both stages (§4.3.2 step 5). `user` says whether the
 * access is checked as U-mode (always for the G-stage). Returns false on a fault.
 */
@inline function leafAllows(pte: u64, acc: u32, user: bool, sum: bool, mxr: bool, hlvx: bool): bool {
  if (acc == ACC_FETCH) {
    if ((pte & PTE_X) == 0) return false;
  } else if (acc == ACC_READ) {
    if (hlvx) {
      if ((pte & PTE_X) == 0) return false;
    } else if ((pte & PTE_R) == 0 && !(mxr && (pte & PTE_X) != 0)) return false;
  } else if ((pte & PTE_W) == 0) return false;
  if (user) return (pte & PTE_U) != 0;
  // Supervisor: U pages only with SUM, and never for fetches.
  if ((pte & PTE_U) != 0 && (acc == ACC_FETCH || !sum)) return false;
  return true;
}

/**
 * One radix-tree walk of `levels` levels from root physical address `root`, with `topBits`
 * index bits at the top level (9, or 11 for the x4 G-stage roots). `addrOf` gives the
 * host-physical address of a PTE at a (guest-)physical address: identity for single-stage and
 * G-stage walks, the G-stage translation for VS-stage walks (see vsWalk). Returns the
 * translated address, or 0 with walkCause set.
 */
function walkTree(
  va: u64, root: u64, levels: i32, topBits: i32, acc: u32, user: bool, sum: bool, mxr: bool, hlvx: bool,
  faultCause: u64, viaGStage: bool,
): u64 {
  let a = root;
  for (let i: i32 = levels - 1; i >= 0; i--) {
    const bits = i == levels - 1 ? topBits : 9;
    const pteGpa = a + (((va >> <u64>(12 + 9 * i)) & ((<u64>1 << <u64>bits) - 1)) << 3);
    let pteAddr = pteGpa;
    if (viaGStage) {
      if (i == 0 && vstcHit != 0) {
        pteAddr = vstcHit | (pteGpa & 0xfff); // (the leaf table's translation, cached: vsTableCache)
      } else {
        logKind = KIND_G_FOR_VS;
        pteAddr = gTranslatePte(pteGpa, ACC_READ, i);
        logKind = KIND_VS;
        if (walkCause != 0) return 0;
        if (i == 0) {
          // Reached the leaf table through valid pointers: walk2d may cache it.
          vstcTableGpa = a;
          vstcTableHpa = pteAddr & ~(<u64>0xfff);
        }
      }
    }
    const h = ramHost(pteAddr, 8);
    countRef();
    if (h == 0) return fail(accessFault(acc), 0, 0);
    if (absentOn && isAbsent(hostPage(h))) { noteAbsent(pteAddr); return fail(CAUSE_ABSENT, 0, 0); }
    let pte = load<u64>(h);
    logStep(i, pteAddr, pte);
    if ((pte & PTE_V) == 0) {
      if (pte == 0 && i == 0) emptyLeaf = h; // (gStage may populate it: populate.ts)
      break;
    }
    if (((pte & PTE_R) == 0 && (pte & PTE_W) != 0) || (pte >> 54) != 0) break;
    const ppn = (pte >> 10) & PPN_MASK;
    if ((pte & (PTE_R | PTE_X)) == 0) {
      // Pointer to the next level: A, D and U must be clear (§4.3.2 step 4).
      if ((pte & (PTE_A | PTE_D | PTE_U)) != 0) break;
      a = ppn << 12;
      continue;
    }
    if (!leafAllows(pte, acc, user, sum, mxr, hlvx)) break;
    // A misaligned superpage is a page fault (step 6).
    const lowMask: u64 = (<u64>1 << <u64>(9 * i)) - 1;
    if ((ppn & lowMask) != 0) break;
    // Hardware A/D update (step 7).
    const want = PTE_A | (acc == ACC_WRITE ? PTE_D : 0);
    if ((pte & want) != want) {
      if (viaGStage) {
        // Updating a VS-stage PTE is an implicit write through the G-stage.
        gTranslatePte(pteGpa, ACC_WRITE, i);
        if (walkCause != 0) return 0;
      }
      pte |= want;
      store<u64>(h, pte);
      markDirty(hostPage(h));
    }
    leafFlags = pte & 0xff;
    return ((ppn & ~lowMask) << 12) | (va & ((lowMask << 12) | 0xfff));
  }
  return fail(faultCause, 0, 0);
}

/**
 * Single-stage translation (V = 0) of va under satp for privilege `p`; returns the physical
 * address or 0 (walkCause set). Bare mode is the caller's business.
 */
export function walk1d(va: u64, acc: u32, p: u32): u64 {
  walkCause = 0;
  twoD = false;
  const sa = rd64(S_SATP);
  const levels: i32 = (sa >> 60) == 9 ? 4 : 3;
  const top = <i64>va >> <i64>(12 + 9 * levels - 1);
  if (top != 0 && top != -1) return fail(pageFault(acc), 0, 0);
  statWalks1d++;
  const st = rd64(S_MSTATUS);
  logStart(va, acc);
  logKind = KIND_SATP;
  const pa = walkTree(va, (sa & PPN_MASK) << 12, levels, 9, acc, p == PRV_U,
    (st & MSTATUS_SUM) != 0, (st & MSTATUS_MXR) != 0, false, pageFault(acc), false);
  logEnd(pa);
  return pa;
}

/**
 * G-stage translation of a guest physical address (§8.5.1): the leaf must be a U page and is
 * checked as a user access; mstatus.MXR applies. Faults are guest-page faults with htval.
 */
export function gTranslate(gpa: u64, acc: u32, hlvx: bool): u64 {
  return gCached(gpa, acc, hlvx, (rd64(S_MSTATUS) & MSTATUS_MXR) != 0);
}

/**
 * The G-stage walk. `mxr` applies to explicit loads only: the implicit reads of VS-stage page
 * tables are not made readable by MXR (riscv-isa-manual clarification, as Spike does).
 */
function gStage(gpa: u64, acc: u32, hlvx: bool, mxr: bool): u64 {
  walkCause = 0;
  const hg = rd64(S_HGATP);
  const mode = hg >> 60;
  if (mode == 0) return gpa;
  const levels: i32 = mode == 9 ? 4 : 3;
  // Sv39x4 / Sv48x4 take 41 / 50 bits of guest physical address.
  if ((gpa >> <u64>(12 + 9 * levels + 2)) != 0) return fail(guestPageFault(acc), gpa >> 2, 0);
  emptyLeaf = 0;
  const pa = walkTree(gpa, (hg & PPN_MASK & ~(<u64>3)) << 12, levels, 11, acc, true, false,
    mxr, hlvx, guestPageFault(acc), false);
  if (walkCause == guestPageFault(acc) && emptyLeaf != 0) {
    // First touch of a guest page: map it from the VMM's pool if it may (populate.ts). The new
    // leaf is RWX, U, A, D: every access is allowed, nothing to update.
    const pte = populateInCore(gpa, emptyLeaf, ptWalk);
    if (pte != 0) {
      walkCause = 0;
      walkHtval = 0;
      walkHtinst = 0;
      leafFlags = pte & 0xff;
      return (((pte >> 10) & PPN_MASK) << 12) | (gpa & 0xfff);
    }
  }
  if (walkCause >= CAUSE_FETCH_GUEST_PAGE_FAULT) walkHtval = gpa >> 2;
  return pa;
}

// ---- the G-stage translation cache ----
// Guest physical page -> host page with the G-stage leaf's permission bits, tagged by VMID: it
// serves both the implicit reads of VS-stage page tables (the page-walk cache that keeps a 2D
// walk from costing up to 24 references) and the final translation of a walk's guest physical
// address. Only successful translations are cached, with the leaf's R/W/X and D bits, and each
// use checks them for its own access (a store needs W and D, so the first store still walks and
// sets D). hfence.gvma and hgatp writes drop it.
@inline function pwcSlot(gpaPage: u64): usize {
  return PWC + (<usize>((gpaPage ^ (gpaPage >> 8)) & (PWC_ENTRIES - 1)) << 4);
}

/** Drop every cached G-stage translation (hfence.gvma, hgatp writes, flushAll from the host). */
export function flushPwc(): void {
  // Only if an entry was stored since the last flush: a VM's first flushes (before it runs, and
  // on a new Memory, which is zero) leave the cache's 128 KB untouched (host RSS).
  if (pwcStored) memory.fill(PWC, 0, <usize>PWC_ENTRIES * 16);
  pwcStored = false;
  memory.fill(MRU, 0, 4 * 16);
}
/** An entry was stored in the PWC since its last flush. */
let pwcStored: bool = false;

/** Per VS-stage level, the last G-stage translation of a page-table page (key + 1, host page). */
const MRU: usize = memory.data(4 * 16, 16);

@inline function cachedAllows(f: u64, acc: u32, hlvx: bool, mxr: bool): bool {
  if (acc == ACC_FETCH) return (f & PTE_X) != 0;
  if (acc == ACC_WRITE) return (f & (PTE_W | PTE_D)) == (PTE_W | PTE_D);
  if (hlvx) return (f & PTE_X) != 0;
  return (f & PTE_R) != 0 || (mxr && (f & PTE_X) != 0);
}

/** G-stage translation through the cache; a miss walks and fills. */
function gCached(gpa: u64, acc: u32, hlvx: bool, mxr: bool): u64 {
  const hg = rd64(S_HGATP);
  if ((hg >> 60) == 0) {
    walkCause = 0;
    return gpa;
  }
  const page = gpa >> 12;
  const key = ((page << 14) | ((hg >> 44) & 0x3fff)) + 1;
  const slot = pwcSlot(page);
  if (load<u64>(slot) == key) {
    const v = load<u64>(slot, 8);
    if (cachedAllows(v & 0xff, acc, hlvx, mxr)) {
      statGCacheHits++;
      walkCause = 0;
      return (v & ~(<u64>0xfff)) | (gpa & 0xfff);
    }
  }
  const hpa = gStage(gpa, acc, hlvx, mxr);
  if (walkCause != 0) return 0;
  pwcStored = true;
  store<u64>(slot, key);
  store<u64>(slot, (hpa & ~(<u64>0xfff)) | leafFlags, 8);
  return hpa;
}

/**
 * G-stage translation of the address of a VS-stage PTE (an implicit access, no MXR), through
 * the cache; a fault becomes a guest-page fault of the original access type with htinst = the
 * PTE pseudo-instruction.
 */
function gTranslatePte(gpa: u64, acc: u32, level: i32): u64 {
  // Most walks read the same root and upper-level table pages as the walk before: one
  // most-recently-used translation per level answers them with a compare.
  const key = ((gpa >> 12) << 14) | ((rd64(S_HGATP) >> 44) & 0x3fff);
  const mru = MRU + (<usize>level << 4);
  if (acc == ACC_READ && load<u64>(mru) == key + 1) {
    statGCacheHits++;
    walkCause = 0;
    return load<u64>(mru, 8) | (gpa & 0xfff);
  }
  ptWalk = true;
  const hpa = gCached(gpa, acc, false, false);
  ptWalk = false;
  if (walkCause == 0 && acc == ACC_READ) {
    store<u64>(mru, key + 1);
    store<u64>(mru, hpa & ~(<u64>0xfff), 8);
  }
  if (walkCause == CAUSE_ABSENT) return 0; // (a G-stage PTE on an absent page: an exit, not a fault)
  if (walkCause != 0) {
    // Report as a guest-page fault of the original access (the caller's type is in vsAcc).
    if (walkCause >= CAUSE_FETCH_GUEST_PAGE_FAULT) {
      walkCause = guestPageFault(vsAcc);
      walkHtval = gpa >> 2;
      walkHtinst = acc == ACC_WRITE ? HTINST_PTE_WRITE64 : HTINST_PTE_READ64;
    } else {
      walkCause = accessFault(vsAcc);
    }
    return 0;
  }
  return hpa;
}
let vsAcc: u32 = ACC_READ;

// ---- the VS-stage table cache (two-dimensional walks only) ----
// A guest virtual 2 MiB region -> the VS-stage leaf table (level 0) that maps it: the table's
// guest physical address and the host physical address the G-stage gave it. A hit starts the
// walk at level 0, without reading the upper levels' PTEs or translating any table address: one
// memory reference instead of a level's three PTE reads and their G-stage lookups. It is the
// paging-structure cache of hardware's nested walks (the privileged spec lets an implementation
// cache non-leaf PTEs, §4.3.2 and the SFENCE.VMA rules of §4.2.1; §8.5 for the G-stage), kept
// stricter than the spec asks:
//   - only walks that reached level 0 through valid pointers fill it (a megapage leaf, a fault
//     above level 0 or on the leaf table's G-stage translation leave it alone);
//   - every fence drops it all: sfence.vma (any form, also with a page), hfence.vvma,
//     hfence.gvma, and the host's flushes (mmu.ts flushTlbAll, flushTlbPage, flushTlbAsid call
//     flushVsTableCache);
//   - a vsatp or hgatp different from the one it was filled under drops it all (no fence needed);
//   - with the walk log on (viewers) it is not used.
// Entry (32 B): u64 va >> 21, u64 generation, u64 table GPA, u64 table HPA.
const VSTC_ENTRIES: u32 = 256;
const VSTC: usize = memory.data(<i32>(VSTC_ENTRIES * 32), 16);
/** Entries stamped with another generation are empty. */
let vstcGen: u64 = 1;
/** What the current generation was made under: vsatp and hgatp. */
let vstcVsatp: u64 = 0;
let vstcHgatp: u64 = 0;
/** Set by walkTree when a 2D walk reached level 0: the leaf table's GPA (0: not reached) and HPA. */
let vstcTableGpa: u64 = 0;
let vstcTableHpa: u64 = 0;
/** While walk2d starts at a cached leaf table: its HPA (0 otherwise). */
let vstcHit: u64 = 0;
/** The hit entry of the last vstcEntry that returned 0. */
let e0: usize = 0;

/** Drop every entry of the VS-stage table cache (any TLB flush). */
@inline export function flushVsTableCache(): void {
  vstcGen++;
}

/**
 * The cache entry for va under vsatp `vs`: 0 when it holds va's region (left in e0), else the
 * entry to fill after the walk.
 */
@inline function vstcEntry(va: u64, vs: u64): usize {
  const hg = rd64(S_HGATP);
  if (vs != vstcVsatp || hg != vstcHgatp) {
    vstcGen++;
    vstcVsatp = vs;
    vstcHgatp = hg;
  }
  const tag = va >> 21;
  const e = VSTC + (<usize>(tag & (VSTC_ENTRIES - 1)) << 5);
  if (load<u64>(e) == tag && load<u64>(e, 8) == vstcGen) {
    e0 = e;
    return 0;
  }
  return e;
}

/**
 * Two-dimensional translation (V = 1) of a guest virtual address at guest privilege `p`
 * (PRV_S for VS, PRV_U for VU). Returns the host physical address, or 0 with the fault globals
 * set; walkExplicitGuestFault tells a G-stage fault on the final address from one on a PTE.
 */
export function walk2d(va: u64, acc: u32, p: u32, hlvx: bool): u64 {
  walkCause = 0;
  walkHtval = 0;
  walkHtinst = 0;
  walkExplicitGuestFault = false;
  twoD = true;
  vsAcc = acc;
  statWalks2d++;
  logStart(va, acc);
  logKind = KIND_VS;
  const vs = rd64(S_VSATP);
  const mode = vs >> 60;
  let gpa = va;
  if (mode != 0) {
    const levels: i32 = mode == 9 ? 4 : 3;
    const top = <i64>va >> <i64>(12 + 9 * levels - 1);
    if (top != 0 && top != -1) return fail(pageFault(acc), 0, 0);
    const vst = rd64(S_VSSTATUS);
    const mxr = ((rd64(S_MSTATUS) | vst) & MSTATUS_MXR) != 0;
    const user = p == PRV_U;
    const sum = (vst & MSTATUS_SUM) != 0;
    if (logOn) {
      // A viewer wants every step of the walk: no shortcut.
      gpa = walkTree(va, (vs & PPN_MASK) << 12, levels, 9, acc, user, sum, mxr, hlvx, pageFault(acc), true);
    } else {
      const e = vstcEntry(va, vs);
      if (e == 0) {
        // The leaf table of va's 2 MiB region is known: one level, from it.
        vstcHit = load<u64>(e0, 24);
        gpa = walkTree(va, load<u64>(e0, 16), 1, 9, acc, user, sum, mxr, hlvx, pageFault(acc), true);
        vstcHit = 0;
      } else {
        vstcTableGpa = 0;
        gpa = walkTree(va, (vs & PPN_MASK) << 12, levels, 9, acc, user, sum, mxr, hlvx, pageFault(acc), true);
        if (vstcTableGpa != 0) {
          store<u64>(e, va >> 21);
          store<u64>(e, vstcGen, 8);
          store<u64>(e, vstcTableGpa, 16);
          store<u64>(e, vstcTableHpa, 24);
        }
      }
    }
    if (walkCause != 0) { logEnd(0); return 0; }
  }
  logKind = KIND_G_FINAL;
  const hpa = gTranslate(gpa, acc, hlvx);
  logEnd(hpa);
  if (walkCause != 0) {
    walkExplicitGuestFault = walkCause >= CAUSE_FETCH_GUEST_PAGE_FAULT;
    return 0;
  }
  return hpa;
}
