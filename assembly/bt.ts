// The BT cache, tier 1: guest code decoded once per basic block into records (abi.ts R_*),
// keyed by the physical address of the block's first instruction.
//
//   BT_HASH: direct-mapped, index = (paddr - RAM_BASE) >> 1; entry = u32 key (offset + 1), u32 block
//   BT_ARENA: blocks, bump-allocated; when it is full everything is dropped at once.
//   block = header (B_*) + up to BT_MAX_INSNS records
//
// A block never crosses a 4 KiB page, so it depends on exactly one physical page. Each RAM page
// has a generation in PAGE_INFO; a block records it when decoded and is valid while the page's
// generation is unchanged. A store to a code page bumps the generation (mmu.ts), which
// invalidates exactly the blocks of that page, at O(1) cost.
//
// Blocks are chained: each remembers its two most recent successors (pc -> block) made in the
// current epoch, so a loop does not look up the hash table on every iteration. The epoch is
// bumped by anything that could make a link stale: a change of translation (satp, privilege,
// sfence.vma), a store into a code page, or a flush of the cache.

import {
  BT_HASH, BT_HASH_ENTRIES, BT_ARENA, BT_ARENA_SIZE, BT_MAX_INSNS, RAM_BASE, RAM_OFFSET,
  R_SIZE, R_OP, R_PCOFF, B_PADDR, B_BYTES, B_PAGE, B_GEN, B_COUNT, B_MEMOPS, B_CHAIN_PC, B_CHAIN_BLK, B_CHAIN2_PC, B_CHAIN2_BLK,
  B_CHAIN_EPOCH, B_HDR, B_JIT, B_HOT, JIT_NEVER, S_STAT_BLOCK_HIT, S_STAT_BLOCK_MISS, S_STAT_BLOCK_CHAIN,
  S_STAT_BT_FLUSH, S_STAT_JIT_IJC_HITS,
} from './abi';
import { decode16, decode32, opFlags, OP_ILLEGAL, F_END, F_LOAD, F_STORE } from './gen/isa';
import { pc, epoch, rd64, wr64, bumpEpoch } from './state';
import { fetchHost, markCodePage, translateFetch } from './mmu';
import { pageInfo, hostPage, CODE_BIT } from './phys';
import { dropCompiled, evictAll } from './jit/jit';
import { REGION_MAX } from './jit/region';
import { btKey, btTranslate } from './btvirt';

const ARENA_END: usize = <usize>BT_ARENA + <usize>BT_ARENA_SIZE;
const BLOCK_MAX_BYTES: usize = <usize>B_HDR + <usize>BT_MAX_INSNS * <usize>R_SIZE;
/** A block for an instruction that straddles two pages: decoded each time, never cached. */
const SCRATCH_BLOCK: usize = ARENA_END - BLOCK_MAX_BYTES;

let arenaTop: usize = <usize>BT_ARENA;
// Hot counters live in globals while run() executes; flushStats() adds them to STATE.
let statChain: u64 = 0;
let statBlockHit: u64 = 0;
let statBlockMiss: u64 = 0;
let statIjcHits: u64 = 0;

// The indirect-jump cache (QEMU's tb_jmp_cache): virtual pc -> block, valid within one epoch.
// It serves what the two chain links miss: returns and computed jumps with many targets.
//   entry = u64 pc, u32 epoch, u32 block
const IJC_ENTRIES: u32 = 4096;
const IJC: usize = memory.data(<i32>(IJC_ENTRIES * 16), 16);
@inline function ijcEntry(va: u64): usize {
  return IJC + (<usize>((<u32>va >> 1) & (IJC_ENTRIES - 1)) << 4);
}

/** Add the block counters gathered in globals to the STATE statistics. */
export function flushBlockStats(): void {
  wr64(S_STAT_BLOCK_CHAIN, rd64(S_STAT_BLOCK_CHAIN) + statChain);
  wr64(S_STAT_BLOCK_HIT, rd64(S_STAT_BLOCK_HIT) + statBlockHit);
  wr64(S_STAT_BLOCK_MISS, rd64(S_STAT_BLOCK_MISS) + statBlockMiss);
  wr64(S_STAT_JIT_IJC_HITS, rd64(S_STAT_JIT_IJC_HITS) + statIjcHits);
  statIjcHits = 0;
  statChain = 0;
  statBlockHit = 0;
  statBlockMiss = 0;
}
// ---- debugger breakpoints (host/debug/gate.ts) ----
const BP_MAX: u32 = 64;
/** Breakpoint addresses (virtual pcs of the current privilege); bpCount of them are live. */
const bpAddrs = new StaticArray<u64>(BP_MAX);
export let bpCount: u32 = 0;

/**
 * The debugger's breakpoints: setBreakpoint(i, pc) for i < n, then setBreakpointCount(n) (at
 * most 64). While any exist, blocks end before a breakpoint (so each starts one), tier 2 is off,
 * and run() checks pc at every block start, stopping with EXIT_DEBUG before executing an
 * instruction at one (assembly/index.ts). Setting them drops the decoded blocks. With none,
 * nothing is checked: the test sits in the decoder and in run()'s event path.
 */
export function setBreakpoint(i: u32, addr: u64): void {
  if (i < BP_MAX) unchecked(bpAddrs[i] = addr); // i < BP_MAX
}
export function setBreakpointCount(n: u32): void {
  bpCount = n < BP_MAX ? n : BP_MAX;
  flushBlocks();
}
export function atBreakpoint(addr: u64): bool {
  for (let i: u32 = 0; i < bpCount; i++) if (unchecked(bpAddrs[i]) == addr) return true; // i < bpCount <= BP_MAX
  return false;
}

/** Most instructions per block: BT_MAX_INSNS, or 1 when single-stepping. */
let blockLimit: u32 = BT_MAX_INSNS;

/**
 * Single-step mode (tests, and later a debugger): every block is one instruction, so run(1)
 * executes exactly one instruction. Switching drops the decoded blocks.
 */
export function setSingleStep(on: bool): void {
  blockLimit = on ? 1 : BT_MAX_INSNS;
  flushBlocks();
}

/** True in single-step mode (tier 2 is then off: a compiled region runs many instructions). */
export function singleStepping(): bool { return blockLimit == 1; }

/** Drop every decoded block (arena full, or host reset). */
export function flushBlocks(clearHash: bool = true): void {
  evictAll(false);
  if (clearHash) memory.fill(<usize>BT_HASH, 0, <usize>BT_HASH_ENTRIES * 8); // (false: it is zero, index.ts init)
  arenaTop = <usize>BT_ARENA;
  bumpEpoch();
  wr64(S_STAT_BT_FLUSH, rd64(S_STAT_BT_FLUSH) + 1);
}

@inline function hashSlot(off: u32): usize {
  return <usize>BT_HASH + (<usize>((off >> 1) & (BT_HASH_ENTRIES - 1)) << 3);
}

/** Valid: its page's code is unchanged, and it was decoded for this translation (btvirt.ts btKey). */
@inline function blockValid(blk: usize): bool {
  return load<u32>(blk, B_GEN) == ((pageInfo(<usize>load<u32>(blk, B_PAGE)) & ~CODE_BIT) ^ btKey);
}

/** Decode a block starting at host address h (physical offset off into RAM). */
function decodeBlock(h: usize, off: u32): usize {
  if (arenaTop + BLOCK_MAX_BYTES > SCRATCH_BLOCK) flushBlocks();
  const blk = arenaTop;
  const pageEnd = (h & ~(<usize>0xfff)) + 0x1000;
  let rec = blk + <usize>B_HDR;
  let n: u32 = 0;
  let memops: u32 = 0;
  const start = h;
  while (n < blockLimit) {
    if (h + 2 > pageEnd) break;
    // A debugger's breakpoint starts a block, where run() checks it (cold: only with some set).
    if (bpCount != 0 && n != 0 && atBreakpoint(pc + <u64>(h - start))) break;
    const lo = <u32>load<u16>(h);
    store<u16>(rec, <u16>(h - start), R_PCOFF);
    if ((lo & 3) == 3) {
      if (h + 4 > pageEnd) break; // straddles the page: it starts the next block
      decode32(load<u32>(h), rec);
      h += 4;
    } else {
      decode16(lo, rec);
      h += 2;
    }
    n++;
    const op = <u32>load<u16>(rec, R_OP);
    const fl = opFlags(op);
    if ((fl & (F_LOAD | F_STORE)) != 0) memops++;
    rec += <usize>R_SIZE;
    if ((fl & F_END) != 0 || op == OP_ILLEGAL) break;
  }
  if (n == 0) return 0;
  // A guest kernel under --virt bt: class its instructions (ident, inline, call-out).
  if (btKey != 0) btTranslate(blk, n);
  const page = hostPage(h - 1);
  markCodePage(page);
  store<u64>(blk, <u64>off + <u64>RAM_BASE, B_PADDR);
  store<u32>(blk, <u32>page, B_PAGE);
  store<u32>(blk, (pageInfo(page) & ~CODE_BIT) ^ btKey, B_GEN);
  store<u32>(blk, n, B_COUNT);
  store<u32>(blk, memops, B_MEMOPS);
  store<u32>(blk, <u32>(h - start), B_BYTES);
  store<u32>(blk, 0, B_CHAIN_EPOCH);
  store<u64>(blk, 1, B_CHAIN_PC);
  store<u32>(blk, 0, B_JIT);
  store<u32>(blk, 0, B_HOT);
  arenaTop = rec;
  const slot = hashSlot(off);
  // The block this slot held (stale, or another page's) is dropped: so is its compiled code.
  if (load<u32>(slot) != 0) dropCompiled(<usize>load<u32>(slot, 4));
  store<u32>(slot, off + 1);
  store<u32>(slot, <u32>blk, 4);
  return blk;
}

/**
 * Decode the single instruction at pc whose second half lies on the next page, fetching that
 * half through its own translation (it may fault: tval is then the second page's address).
 */
function decodeStraddling(h: usize): usize {
  const blk = SCRATCH_BLOCK;
  const lo = <u32>load<u16>(h);
  const h2 = translateFetch(pc + 2);
  if (h2 == 0) return 0;
  const w = lo | (<u32>load<u16>(h2) << 16);
  decode32(w, blk + <usize>B_HDR);
  if (btKey != 0) btTranslate(blk, 1);
  store<u16>(blk + <usize>B_HDR, 0, R_PCOFF);
  store<u32>(blk, 4, B_BYTES);
  store<u32>(blk, 0xffffffff, B_PAGE);
  store<u32>(blk, 1, B_COUNT);
  store<u32>(blk, JIT_NEVER, B_JIT);
  store<u32>(blk, <u32>((opFlags(<u32>load<u16>(blk + <usize>B_HDR, R_OP)) & (F_LOAD | F_STORE)) != 0), B_MEMOPS);
  store<u32>(blk, 0, B_CHAIN_EPOCH);
  return blk;
}

/**
 * The successor of `prev` linked in this epoch for the current pc, or 0. The epoch changes
 * whenever a link could go stale (translation change, code invalidation, cache flush), so the
 * pc compare is enough. Inlined into the run loop: it is the common path between blocks.
 */
@inline export function chained(prev: usize): usize {
  if (load<u32>(prev, B_CHAIN_EPOCH) == epoch) {
    if (load<u64>(prev, B_CHAIN_PC) == pc) {
      statChain++;
      return <usize>load<u32>(prev, B_CHAIN_BLK);
    }
    if (load<u64>(prev, B_CHAIN2_PC) == pc) {
      statChain++;
      return <usize>load<u32>(prev, B_CHAIN2_BLK);
    }
  }
  return 0;
}

/**
 * The block that starts at pc, looked up by physical address (decoded on a miss), and linked
 * as a successor of `prev`. Returns 0 when the fetch raised an exception (pc is the handler).
 */
export function findBlock(prev: usize): usize {
  const ij = ijcEntry(pc);
  if (load<u64>(ij) == pc && load<u32>(ij, 8) == epoch) {
    const b = <usize>load<u32>(ij, 12);
    statIjcHits++;
    if (prev != 0 && prev != SCRATCH_BLOCK) link(prev, b);
    return b;
  }
  const h = fetchHost(pc);
  if (h == 0) return 0;
  const off = <u32>(h - <usize>RAM_OFFSET);
  const slot = hashSlot(off);
  let blk: usize = 0;
  if (load<u32>(slot) == off + 1 && blockValid(<usize>load<u32>(slot, 4))) {
    blk = <usize>load<u32>(slot, 4);
    statBlockHit++;
  } else {
    statBlockMiss++;
    blk = decodeBlock(h, off);
    if (blk == 0) return decodeStraddling(h);
  }
  store<u64>(ij, pc);
  store<u32>(ij, epoch, 8);
  store<u32>(ij, <u32>blk, 12);
  if (prev != 0 && prev != SCRATCH_BLOCK) link(prev, blk);
  return blk;
}

/** True when the arena has room for a whole region's blocks (the JIT never flushes it). */
export function roomForRegion(): bool {
  return arenaTop + <usize>REGION_MAX * BLOCK_MAX_BYTES <= SCRATCH_BLOCK;
}

/**
 * The valid block at RAM offset `off` (decoded if needed) for the JIT's region former, or 0
 * when it cannot be decoded without flushing the arena, or its first instruction straddles
 * the page.
 */
export function blockAt(off: u32): usize {
  const slot = hashSlot(off);
  if (load<u32>(slot) == off + 1 && blockValid(<usize>load<u32>(slot, 4))) return <usize>load<u32>(slot, 4);
  if (arenaTop + BLOCK_MAX_BYTES > SCRATCH_BLOCK) return 0;
  return decodeBlock(<usize>RAM_OFFSET + <usize>off, off);
}

/** Remember blk as prev's successor at pc; the older of the two links moves to the second slot. */
function link(prev: usize, blk: usize): void {
  if (load<u32>(prev, B_CHAIN_EPOCH) == epoch) {
    store<u64>(prev, load<u64>(prev, B_CHAIN_PC), B_CHAIN2_PC);
    store<u32>(prev, load<u32>(prev, B_CHAIN_BLK), B_CHAIN2_BLK);
  } else {
    store<u64>(prev, 1, B_CHAIN2_PC); // an odd pc never matches
    store<u32>(prev, epoch, B_CHAIN_EPOCH);
  }
  store<u64>(prev, pc, B_CHAIN_PC);
  store<u32>(prev, <u32>blk, B_CHAIN_BLK);
}

/** Decode one instruction word into a scratch record (used by the host's disassembler). */
export function decodeInto(w: u32, rec: usize): void {
  if ((w & 3) == 3) decode32(w, rec);
  else decode16(w & 0xffff, rec);
}

export { SCRATCH_BLOCK };
