// Address translation as loads, stores and fetches see it: the TLB (fast path), translation
// contexts, and the slow paths (TLB misses, MMIO, page-crossing accesses, code pages, tohost,
// hypervisor loads/stores). The walkers themselves are in walk.ts.
//
// TLB: three direct-mapped arrays (read, write, fetch) of TLB_ENTRIES entries:
//     +0  u64 tag    = virtual page (va & ~0xfff) | context id << 3 (bits 11..3; bits 2..0 zero)
//     +8  i64 addend = host address of the page - virtual page
// A hit is `((va & (~0xfff | (size - 1))) | ctx) == tag`: the low address bits of a misaligned
// access make the compare fail (as QEMU folds alignment into its TLB compare), so a hit is
// aligned and within the page, and the host address is va + addend. A hit costs the same with
// V = 1 (two-dimensional translation) as on the bare machine; misaligned accesses take the
// slow path, which performs them.
// The context id names everything the cached translation and permission check depended on:
// V, translation modes, ASID, VMID, effective privilege, SUM and MXR (see contextKey). Ids are
// allocated from CTX_TABLE; when it fills, every TLB is flushed and numbering starts again. A
// tag's bits 2..0 are zero, so the all-ones tag of an empty entry never matches.
//
// Pages that hold decoded code, and the page of HTIF tohost, never get write entries: stores
// to them take the slow path, which invalidates the code or exits to the host.

import {
  TLB_READ, TLB_WRITE, TLB_FETCH, TLB_ENTRIES, CTX_TABLE, CTX_ENTRIES, RAM_BASE, RAM_OFFSET,
  S_TOHOST, S_MMIO_ADDR, S_MMIO_DATA, S_MMIO_SIZE, S_MMIO_WRITE, S_MMIO_RD, S_MMIO_SIGNED,
  S_MMIO_VADDR, S_MMIO_STATUS, S_HTIF_VALUE, S_STAT_TLB_MISS, S_STAT_CODE_INVAL, S_MSTATUS,
  S_SATP, S_VSATP, S_VSSTATUS, S_HGATP, S_HSTATUS, EXIT_MMIO, EXIT_HTIF, EXIT_DEBUG, EXIT_ABSENT, MMIO_PENDING,
  R_OP, R_RD, R_RS2, R_LEN, R_RAW,
} from './abi';
import {
  priv, virt, curRec, rd64, wr64, setExit, bumpEpoch, PRV_M, PRV_U,
  MSTATUS_MPRV, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPV, HSTATUS_SPVP,
  CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
} from './state';
import { raiseFault } from './trap';
import { ramHost, hostPage, pageInfo, setPageInfo, markDirty, CODE_BIT, absentOn, isAbsent, noteAbsent } from './phys';
import {
  ACC_READ, ACC_WRITE, ACC_FETCH, walk1d, walk2d, walkCause, walkHtval, walkHtinst, CAUSE_ABSENT,
  walkExplicitGuestFault, flushPwc, flushVsTableCache,
} from './walk';
import { opMatch, opFlags, F_LOAD, F_STORE } from './gen/isa';

export { ACC_READ, ACC_WRITE, ACC_FETCH };

const PAGE_MASK: u64 = ~(<u64>0xfff);
const EMPTY_TAG: u64 = 0xffffffffffffffff;

// ---- translation contexts ----
/** Context id of data accesses (loads and stores; honours MPRV/MPV) and of fetches. */
export let ctxData: u64 = 0;
export let ctxFetch: u64 = 0;
let ctxUsed: u32 = 0;

/**
 * The key of a translation context: what a cached translation and its permission check
 * depended on. Bit 0 is always set (0 marks a free CTX_TABLE slot).
 *   bit 1..2 priv | 3 V | 4..7 satp/vsatp mode | 8..23 ASID | 24 SUM | 25 MXR | 26 vsstatus.MXR
 *   27..30 hgatp mode | 31..44 VMID
 */
function contextKey(p: u32, v: bool): u64 {
  if (p == PRV_M) return (<u64>PRV_M << 1) | 1;
  const st = rd64(S_MSTATUS);
  let key: u64 = (<u64>p << 1) | 1;
  if (!v) {
    const sa = rd64(S_SATP);
    const mode = sa >> 60;
    if (mode == 0) return key;
    return key | (mode << 4) | (((sa >> 44) & 0xffff) << 8) | (((st >> 18) & 3) << 24);
  }
  const vs = rd64(S_VSATP);
  const hg = rd64(S_HGATP);
  const vst = rd64(S_VSSTATUS);
  return key | 8 | ((vs >> 60) << 4) | (((vs >> 44) & 0xffff) << 8) | (((vst >> 18) & 1) << 24) |
    (((st >> 19) & 1) << 25) | (((vst >> 19) & 1) << 26) | ((hg >> 60) << 27) | (((hg >> 44) & 0x3fff) << 31);
}

function ctxId(key: u64): u64 {
  let i = <u32>((key * 0x9e3779b97f4a7c15) >> 52) % (CTX_ENTRIES - 1);
  for (let probes: u32 = 0; probes < CTX_ENTRIES; probes++) {
    const slot = CTX_TABLE + (<usize>i << 3);
    const k = load<u64>(slot);
    if (k == key) return <u64>i << 3;
    if (k == 0) {
      if (ctxUsed >= (CTX_ENTRIES * 3) / 4) {
        flushTlbAll();
        return ctxId(key);
      }
      store<u64>(slot, key);
      ctxUsed++;
      return <u64>i << 3;
    }
    i = (i + 1) % (CTX_ENTRIES - 1);
  }
  flushTlbAll();
  return ctxId(key);
}

/** Privilege and V of data accesses: MPRV makes M-mode loads/stores use MPP (and MPV). */
@inline function dataPriv(): u32 {
  if (priv == PRV_M) {
    const st = rd64(S_MSTATUS);
    if ((st & MSTATUS_MPRV) != 0) return <u32>((st & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  }
  return priv;
}
@inline function dataVirt(): bool {
  if (priv == PRV_M) {
    const st = rd64(S_MSTATUS);
    if ((st & MSTATUS_MPRV) != 0 && ((st & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) != PRV_M) return (st & MSTATUS_MPV) != 0;
  }
  return virt;
}

/**
 * Recompute the context ids after a change of privilege, V, mstatus (MPRV, MPP, MPV, SUM, MXR),
 * satp, vsatp, vsstatus or hgatp. Cheap when nothing changed: the table returns the same id.
 */
export function updateContexts(): void {
  // Every trap and every VM entry/exit lands here, mostly with the keys unchanged: the last
  // keys are remembered so the hash probe runs only on a change (the exit path, issue 16).
  const kd = contextKey(dataPriv(), dataVirt());
  if (kd != lastKeyData) {
    ctxData = ctxId(kd);
    lastKeyData = kd;
  }
  const kf = contextKey(priv, virt);
  if (kf != lastKeyFetch) {
    ctxFetch = ctxId(kf);
    lastKeyFetch = kf;
    // That probe found the table full and flushed it: ctxData's id is free again; take it anew.
    if (lastKeyData == 0) {
      ctxData = ctxId(kd);
      lastKeyData = kd;
    }
  }
}
/** The keys ctxData and ctxFetch were made for (0, never a key: none yet or ids renumbered). */
let lastKeyData: u64 = 0;
let lastKeyFetch: u64 = 0;

/**
 * Invalidate every TLB entry and context id (sfence.vma x0, x0; a full context table). The
 * G-stage translation cache stays: only hfence.gvma and hgatp changes touch it (flushGStage).
 */
export function flushTlbAll(): void {
  memory.fill(TLB_READ, 0xff, <usize>TLB_ENTRIES * 16 * 3);
  memory.fill(CTX_TABLE, 0, <usize>CTX_ENTRIES * 8);
  ctxUsed = 0;
  lastKeyData = lastKeyFetch = 0;
  flushVsTableCache();
  bumpEpoch();
}

/** hfence.gvma / hgatp writes / the host changed G-stage tables: drop all cached translations. */
export function flushGStage(): void {
  flushTlbAll();
  flushPwc();
}

/** sfence.vma / hfence.vvma with rs1 = va: drop that page from all three arrays. */
export function flushTlbPage(va: u64): void {
  const idx = <usize>((va >> 12) & (TLB_ENTRIES - 1)) << 4;
  store<u64>(TLB_READ + idx, EMPTY_TAG);
  store<u64>(TLB_WRITE + idx, EMPTY_TAG);
  store<u64>(TLB_FETCH + idx, EMPTY_TAG);
  flushVsTableCache();
  bumpEpoch();
}

/**
 * sfence.vma with rs2 = asid (V = 0): retire the context ids of that ASID (their entries can
 * never match again), keeping the rest of the TLB. Retired slots hold a tombstone until the
 * next full flush so their ids are not reused.
 */
export function flushTlbAsid(asid: u64): void {
  for (let i: u32 = 0; i < CTX_ENTRIES; i++) {
    const slot = CTX_TABLE + (<usize>i << 3);
    const k = load<u64>(slot);
    if (k != 0 && (k & 8) == 0 && (k & 0xf0) != 0 && ((k >> 8) & 0xffff) == asid) store<u64>(slot, 0xfffffffffffffff0);
  }
  lastKeyData = lastKeyFetch = 0; // a retired id must not be reused through the memo
  flushVsTableCache();
  bumpEpoch();
}

// ---- code pages ----

/**
 * A page starts holding decoded code: from now on stores to it take the slow path.
 * Write-TLB entries that point at it are dropped (scanning one array is rare: once per page
 * each time it becomes code).
 */
export function markCodePage(page: usize): void {
  const info = pageInfo(page);
  if ((info & CODE_BIT) != 0) return;
  setPageInfo(page, info | CODE_BIT);
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
  setPageInfo(page, (info + 1) & ~CODE_BIT);
  wr64(S_STAT_CODE_INVAL, rd64(S_STAT_CODE_INVAL) + 1);
  bumpEpoch(); // block links into this page are stale now
}

// ---- translation with fault reporting ----

/**
 * The transformed instruction of the executing load/store/AMO for htinst (§8.6.3): the
 * instruction with its address fields (rs1, offset) zeroed; for a compressed instruction, the
 * 32-bit equivalent with bit 1 cleared.
 */
function transformedInsn(): u64 {
  const r = curRec;
  if (r == 0) return 0;
  const op = <u32>load<u16>(r, R_OP);
  if ((opFlags(op) & (F_LOAD | F_STORE)) == 0) return 0;
  let w: u32;
  if (load<u8>(r, R_LEN) == 4) {
    w = load<u32>(r, R_RAW); // keeps funct fields and AMO aq/rl
  } else {
    // A compressed access: its 32-bit equivalent, then bit 1 cleared below.
    let rd = <u32>load<u8>(r, R_RD);
    if (rd == 32) rd = 0;
    w = opMatch(op) | (rd << 7) | (<u32>load<u8>(r, R_RS2) << 20);
  }
  if ((w & 0x7b) == 0x03) w &= 0x000fffff; // loads (0x03, FP 0x07): imm[11:0] is the offset
  else if ((w & 0x7b) == 0x23) w &= 0x01fff07f; // stores (0x23, FP 0x27): offset fields zeroed
  w &= ~(<u32>31 << 15); // rs1: the address offset, 0 for accesses within a page
  if (load<u8>(r, R_LEN) == 2) w &= ~(<u32>2);
  return <u64>w;
}

/**
 * Set by translateOrFault when it raised an exception. A flag, not a sentinel address: with no
 * translation every 64-bit value is a valid physical address, 0xffff_ffff_ffff_ffff included
 * (an access there is an access fault, from the bus, like any address outside RAM and devices).
 */
let translateFailed: bool = false;

/**
 * Translate va for an access at privilege p (V = v); returns the physical address, or sets
 * translateFailed after raising the exception (page fault, guest-page fault with htval/htinst).
 */
function translateOrFault(va: u64, acc: u32, p: u32, v: bool, hlvx: bool): u64 {
  let pa: u64 = va;
  translateFailed = false;
  if (v) {
    pa = walk2d(va, acc, p, hlvx);
  } else if (p != PRV_M && (rd64(S_SATP) >> 60) != 0) {
    pa = walk1d(va, acc, p);
  } else {
    return va;
  }
  if (walkCause != 0) {
    if (walkCause == CAUSE_ABSENT) { setExit(EXIT_ABSENT); translateFailed = true; return 0; } // a PTE on an absent page
    const htinst = walkExplicitGuestFault ? transformedInsn() : walkHtinst;
    raiseFault(walkCause, va, v, walkHtval, htinst);
    translateFailed = true;
    return 0;
  }
  return pa;
}

/** Translate a data or fetch access as the current mode does it. */
export function translate(va: u64, acc: u32): u64 {
  if (acc == ACC_FETCH) return translateOrFault(va, acc, priv, virt, false);
  return translateOrFault(va, acc, dataPriv(), dataVirt(), false);
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

/** TLB misses, counted in a global while run() executes; flushMmuStats() adds them to STATE. */
let statTlbMiss: u64 = 0;

/** Add the TLB-miss count gathered in a global to the STATE statistics. */
export function flushMmuStats(): void {
  wr64(S_STAT_TLB_MISS, rd64(S_STAT_TLB_MISS) + statTlbMiss);
  statTlbMiss = 0;
}

/** The physical address of the last MMIO access found by accessHost. */
let mmioPa: u64 = 0;
/** Set by a hypervisor load/store (HLV/HSV): translate as V = 1 at hstatus.SPVP, no TLB fill. */
let hyperAccess: bool = false;
let hyperX: bool = false;

const NOT_RAM: usize = 1;

/**
 * Translate one access that stays within a page; fill the TLB when it is plain RAM.
 * Returns the host address, 0 on a fault (exception raised), or NOT_RAM when the physical
 * address is not RAM (then in mmioPa).
 */
function accessHost(va: u64, size: u64, acc: u32): usize {
  statTlbMiss++;
  let pa: u64;
  if (hyperAccess) {
    pa = translateOrFault(va, acc, (rd64(S_HSTATUS) & HSTATUS_SPVP) != 0 ? 1 : PRV_U, true, hyperX);
  } else {
    pa = translate(va, acc);
  }
  if (translateFailed) return 0;
  if (wpCount != 0 && watchCheck(va, size, acc)) return 0; // EXIT_DEBUG, before the access
  const h = ramHost(pa, size);
  if (h == 0) { mmioPa = pa; return NOT_RAM; }
  // Post-copy (phys.ts): a page not arrived yet stops the access before it, with no TLB entry.
  if (absentOn && isAbsent(hostPage(h))) { noteAbsent(pa); setExit(EXIT_ABSENT); return 0; }
  // Every store to RAM comes here first (its TLB fill, or its slow path): a reset zeroes the page.
  if (acc == ACC_WRITE) markDirty(hostPage(h));
  if (hyperAccess || (wpCount != 0 && watchedPage(va))) return h; // (a watched page stays on the slow path)
  if (acc == ACC_READ) {
    fill(TLB_READ, va, ctxData, h);
  } else if (acc == ACC_WRITE) {
    const tohost = rd64(S_TOHOST);
    const onTohostPage = tohost != 0 && ((pa ^ tohost) & PAGE_MASK) == 0;
    if ((pageInfo(hostPage(h)) & CODE_BIT) == 0 && !onTohostPage) fill(TLB_WRITE, va, ctxData, h);
  }
  return h;
}

// ---- debugger watchpoints (host/debug/gate.ts) ----
// While any exist, no TLB entry is made for a page that holds one, so every access to such a
// page (from the interpreter or from compiled code, which share the TLB) takes this slow path,
// where it is compared. Other pages keep their fast path; with none, this costs one branch on a
// TLB miss. A hit stops before the access, as a trigger with timing = before (debug spec 0.13
// §5.2.9): the load or store is not retired and pc stays at it (exec.ts slowLoad/slowStore).
const WP_MAX: u32 = 16;
const wpLo = new StaticArray<u64>(WP_MAX);
const wpHi = new StaticArray<u64>(WP_MAX);
/** Bit 0: reads hit, bit 1: writes hit. */
const wpKind = new StaticArray<u32>(WP_MAX);
let wpCount: u32 = 0;
/** The watchpoint the last EXIT_DEBUG hit (-1: it was a breakpoint). */
let wpHit: i32 = -1;

/** Watchpoint i: [addr, addr + len) (virtual), kind 1 write, 2 read, 3 access. */
export function setWatchpoint(i: u32, addr: u64, len: u64, kind: u32): void {
  if (i >= WP_MAX) return;
  unchecked(wpLo[i] = addr); // i < WP_MAX
  unchecked(wpHi[i] = addr + len);
  unchecked(wpKind[i] = kind == 1 ? 2 : kind == 2 ? 1 : 3);
}
/** How many watchpoints are live; the host flushes the TLB after adding some (flushTlb). */
export function setWatchpointCount(n: u32): void {
  wpCount = n < WP_MAX ? n : WP_MAX;
}
/** Which watchpoint the last EXIT_DEBUG hit (-1 for a breakpoint); reading clears it. */
export function takeWatchHit(): i32 {
  const w = wpHit;
  wpHit = -1;
  return w;
}

function watchCheck(va: u64, size: u64, acc: u32): bool {
  if (acc == ACC_FETCH) return false;
  const bit: u32 = acc == ACC_WRITE ? 2 : 1;
  for (let i: u32 = 0; i < wpCount; i++) {
    // i < wpCount <= WP_MAX
    if ((unchecked(wpKind[i]) & bit) != 0 && va < unchecked(wpHi[i]) && unchecked(wpLo[i]) < va + size) {
      wpHit = <i32>i;
      setExit(EXIT_DEBUG);
      return true;
    }
  }
  return false;
}

function watchedPage(va: u64): bool {
  const page = va & PAGE_MASK;
  for (let i: u32 = 0; i < wpCount; i++) {
    if (page <= ((unchecked(wpHi[i]) - 1) & PAGE_MASK) && (unchecked(wpLo[i]) & PAGE_MASK) <= page) return true; // i < wpCount
  }
  return false;
}

@inline function accessFaultCause(acc: u32): u64 {
  return acc == ACC_FETCH ? CAUSE_FETCH_ACCESS : acc == ACC_WRITE ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS;
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
    // Misaligned across a page: every byte translated, then read (no MMIO here).
    let v: u64 = 0;
    for (let i: u64 = 0; i < size; i++) {
      const h = accessHost(va + i, 1, ACC_READ);
      if (h == 0) return 0;
      if (h == NOT_RAM) { raiseFault(CAUSE_LOAD_ACCESS, va, virt, 0, 0); return 0; }
      v |= <u64>load<u8>(h) << (i << 3);
    }
    return v;
  }
  const h = accessHost(va, size, ACC_READ);
  if (h == 0) return 0;
  if (h == NOT_RAM) {
    if (hyperAccess) { raiseFault(CAUSE_LOAD_ACCESS, va, true, 0, 0); return 0; }
    mmioExit(mmioPa, va, size, false, 0, rd, signed);
    return 0;
  }
  return loadHost(h, size);
}

/** Store slow path: TLB miss, MMIO, code pages, tohost, page-crossing. */
export function storeSlow(va: u64, size: u64, v: u64): void {
  if ((va & 0xfff) + size > 0x1000) {
    // Translate both pages before writing any byte, so a fault leaves memory unchanged.
    const h0 = accessHost(va, 1, ACC_WRITE);
    if (h0 == 0) return;
    const h1 = accessHost((va | 0xfff) + 1, 1, ACC_WRITE);
    if (h1 == 0) return;
    if (h0 == NOT_RAM || h1 == NOT_RAM) { raiseFault(CAUSE_STORE_ACCESS, va, virt, 0, 0); return; }
    for (let i: u64 = 0; i < size; i++) {
      const h = accessHost(va + i, 1, ACC_WRITE);
      invalidateCodePage(hostPage(h));
      store<u8>(h, <u8>(v >> (i << 3)));
    }
    return;
  }
  const h = accessHost(va, size, ACC_WRITE);
  if (h == 0) return;
  if (h == NOT_RAM) {
    if (hyperAccess) { raiseFault(CAUSE_STORE_ACCESS, va, true, 0, 0); return; }
    mmioExit(mmioPa, va, size, true, v, 0, false);
    return;
  }
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

/** HLV/HLVX (§8.2.8): a load translated as V = 1 at privilege hstatus.SPVP. */
export function hyperLoad(va: u64, size: u64, x: bool): u64 {
  hyperAccess = true;
  hyperX = x;
  const v = loadSlow(va, size, 0, false);
  hyperAccess = false;
  hyperX = false;
  return v;
}

/** HSV (§8.2.8): a store translated as V = 1 at privilege hstatus.SPVP. */
export function hyperStore(va: u64, size: u64, v: u64): void {
  hyperAccess = true;
  storeSlow(va, size, v);
  hyperAccess = false;
}

/**
 * Translate a data address for an atomic (LR/SC/AMO): returns the host address or 0 with the
 * exception raised. AMOs to MMIO are access faults (the devices are not atomic-capable).
 */
export function translateAtomic(va: u64, size: u64, acc: u32): usize {
  const h = accessHost(va, size, acc);
  if (h == NOT_RAM) { raiseFault(accessFaultCause(acc), va, virt, 0, 0); return 0; }
  if (h != 0 && acc == ACC_WRITE) invalidateCodePage(hostPage(h));
  return h;
}

/**
 * Translate a fetch address. Returns the host address of the instruction's first byte,
 * or 0 with the exception raised.
 */
export function translateFetch(va: u64): usize {
  const h = accessHost(va, 2, ACC_FETCH);
  if (h == 0) return 0;
  if (h == NOT_RAM) { raiseFault(CAUSE_FETCH_ACCESS, va, virt, 0, 0); return 0; }
  fill(TLB_FETCH, va, ctxFetch, h);
  return h;
}

/** The fetch TLB's fast path. */
@inline export function fetchHost(va: u64): usize {
  const e = tlbEntry(TLB_FETCH, va);
  if (((va & PAGE_MASK) | ctxFetch) == load<u64>(e)) return <usize>(va + load<u64>(e, 8));
  return translateFetch(va);
}

