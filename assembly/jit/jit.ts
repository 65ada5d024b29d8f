// Tier 2 of the BT cache: which blocks get compiled, the table slots of compiled regions, and
// the dispatcher's entry into them.
//
//   hotness   each block counts its interpreted runs (B_HOT); at S_JIT_THRESHOLD (1 with
//             JIT_ALWAYS) the region rooted at it is emitted (emit.ts) and handed to the host,
//             which compiles the module and installs its function at table index
//             JIT_TABLE_BASE + slot: synchronously in Node (jitCompile returns COMPILED), or in
//             the background in browsers (PENDING; the host calls jitReady when it is done).
//   slots     JIT_SLOTS holds each slot's owner block, code bytes and a compile sequence number
//             (so a late browser compile never lands in a reused slot); free slots are a stack at
//             JIT_FREE. A block's B_JIT is slot + 1 once its code is installed.
//   validity  a compiled region covers blocks of one physical page, so it is valid exactly as
//             long as its root block: when the root is dropped (its page was written, the hash
//             slot was taken by another block, the BT arena was flushed) the slot is freed and
//             the host drops the function. Translation changes (sfence.vma, satp, hfence) do not
//             touch compiled code: a region is entered through a fresh fetch translation of its
//             root, and computes every pc from the entry pc.
//   limits    over S_JIT_CODE_LIMIT bytes of live Wasm, or out of slots, everything compiled is
//             evicted at once (as QEMU flushes its code buffer) and blocks heat up again.

import {
  JIT_BUF, JIT_SLOTS, JIT_FREE, JIT_MAX_SLOTS, JIT_TABLE_BASE, JIT_OFF, JIT_ALWAYS, JIT_NEVER,
  B_JIT, B_HOT, S_JIT_MODE, S_JIT_THRESHOLD, S_JIT_CODE_LIMIT, S_JIT_MAX_BLOCKS,
  S_STAT_JIT_COMPILES, S_STAT_JIT_FAILS, S_STAT_JIT_EVICTIONS, S_STAT_JIT_FUNCS, S_STAT_JIT_BYTES,
  S_STAT_JIT_CALLS, S_STAT_JIT_INSNS, S_STAT_JIT_BLOCKS, S_STAT_JIT_DEMOTED,
} from '../abi';
import { icount, restTaken, setRestTaken, rd64, wr64 } from '../state';
import { execBlock } from '../exec';
import { roomForRegion, SCRATCH_BLOCK } from '../bt';
import { emitRegion } from './emit';
import { formRegion, regionBlocks, regionBlock, REGION_MAX } from './region';
import { jitCompile, jitRelease } from '../host';

/** jitCompile's answers. */
const FAILED: u32 = 0;
const COMPILED: u32 = 1;
const PENDING: u32 = 2;
/** B_JIT of a block whose region is being compiled in the background: PENDING_BIT | slot + 1. */
const PENDING_BIT: u32 = 0x80000000;
/**
 * Interpreted runs of a block before its region is compiled. A compile costs V8 about as much
 * CPU as interpreting 150-300 K guest instructions, so code that runs a few thousand times (a
 * boot) is cheaper interpreted; 64 made OpenSBI + minikernel's boot take 2x the CPU of --jit
 * off, 16000 matched it and left the bench workloads' times unchanged; a Linux boot, whose
 * kernel code runs 16000 times often enough, needed 50000 to match --jit off (docs/jit.md).
 */
const DEFAULT_THRESHOLD: u32 = 50000;
const DEFAULT_CODE_LIMIT: u64 = 64 << 20;
/**
 * Blocks per region by default. Measured (bench/): regions of 6-8 blocks run fastest. Larger
 * ones keep every guest register of the region live across the dispatch loop, which the
 * engine's register allocator answers with spills on every transition; smaller ones leave
 * through the dispatcher more often.
 */
const DEFAULT_MAX_BLOCKS: u32 = 8;

/** True while run() may use compiled code (mode on, not single-stepping). */
export let jitActive: bool = false;
let threshold: u32 = DEFAULT_THRESHOLD;
let codeLimit: u64 = DEFAULT_CODE_LIMIT;
let maxBlocks: u32 = DEFAULT_MAX_BLOCKS;
/** Give regions that gain nothing back to the interpreter (JIT_ON; JIT_ALWAYS keeps them, for tests). */
let demote: bool = true;
let freeTop: u32 = 0;
let seq: u32 = 0;
/**
 * Slots whose region is being compiled in the background (at most PENDING_MAX), and the other
 * blocks of each such region. While its region is pending, such a block is marked COVERED: it
 * is interpreted without counting, so it does not become the root of a copy of the same code.
 * The blocks of a hot loop reach the threshold within a few iterations of each other, and
 * before this each became the root of its own copy of the loop while the first compile was
 * under way (a Linux boot compiled 21 regions, 5 of them for one loop of sha256sum, and V8
 * compiles each twice, Liftoff then TurboFan: docs/jit.md, "Boots are not slower"). When the
 * region is installed its blocks count again from 0: the loop now runs inside the region, and
 * a block only gets hot again if it is entered from elsewhere often. With the list full, blocks
 * that reach the threshold ask again RETRY_RUNS runs later.
 */
const PENDING_MAX: u32 = 8;
const RETRY_RUNS: u32 = 1024;
/** B_JIT of a block inside a pending region (above every PENDING_BIT | slot + 1, below JIT_NEVER). */
const COVERED: u32 = JIT_NEVER - 1;
const pendingSlots = new StaticArray<u32>(PENDING_MAX);
const pendingCovered = new StaticArray<u32>(PENDING_MAX * REGION_MAX); // REGION_MAX per pending slot
const pendingCoveredCount = new StaticArray<u32>(PENDING_MAX);
let pendingCount: u32 = 0;
let liveBytes: u64 = 0;
let liveFuncs: u64 = 0;
let statCalls: u64 = 0;
let statInsns: u64 = 0;

@inline function slotOwner(s: u32): usize { return <usize>load<u32>(JIT_SLOTS + (<usize>s << 4)); }
@inline function slotBytes(s: u32): u32 { return load<u32>(JIT_SLOTS + (<usize>s << 4), 4); }
@inline function slotSeq(s: u32): u32 { return load<u32>(JIT_SLOTS + (<usize>s << 4), 8); }

/**
 * Forget every slot (a new machine: the host's table is empty). `fresh`: the first init of a new
 * Memory, whose slot table (128 KiB) is zero already; filling it would only make the operating
 * system back its 32 pages (as init's other fills, index.ts).
 */
export function jitReset(fresh: bool): void {
  if (!fresh) memory.fill(JIT_SLOTS, 0, <usize>JIT_MAX_SLOTS << 4);
  // Slot 0 on top of the stack, so slots are handed out in order.
  for (let i: u32 = 0; i < JIT_MAX_SLOTS; i++) store<u32>(JIT_FREE + (<usize>i << 2), JIT_MAX_SLOTS - 1 - i);
  freeTop = JIT_MAX_SLOTS;
  pendingCount = 0;
  liveBytes = 0;
  liveFuncs = 0;
}

/** Read the host's configuration at the start of run(). */
export function jitBegin(singleStep: bool): void {
  const mode = <u32>rd64(S_JIT_MODE);
  jitActive = mode != JIT_OFF && !singleStep;
  demote = mode != JIT_ALWAYS;
  const t = <u32>rd64(S_JIT_THRESHOLD);
  threshold = mode == JIT_ALWAYS ? 1 : t != 0 ? t : DEFAULT_THRESHOLD;
  const lim = rd64(S_JIT_CODE_LIMIT);
  codeLimit = lim != 0 ? lim : DEFAULT_CODE_LIMIT;
  const mb = <u32>rd64(S_JIT_MAX_BLOCKS);
  maxBlocks = mb == 0 ? DEFAULT_MAX_BLOCKS : mb < REGION_MAX ? mb : REGION_MAX;
}

/** Add the counters gathered in globals to STATE (end of run()). */
export function flushJitStats(): void {
  wr64(S_STAT_JIT_CALLS, rd64(S_STAT_JIT_CALLS) + statCalls);
  wr64(S_STAT_JIT_INSNS, rd64(S_STAT_JIT_INSNS) + statInsns);
  wr64(S_STAT_JIT_FUNCS, liveFuncs);
  wr64(S_STAT_JIT_BYTES, liveBytes);
  statCalls = 0;
  statInsns = 0;
}

/** Forget slot s as pending (its compile finished, or the slot is freed); its blocks count again. */
function unpend(s: u32): void {
  for (let i: u32 = 0; i < pendingCount; i++) {
    // (i < pendingCount <= PENDING_MAX; the covered lists hold at most REGION_MAX each)
    if (unchecked(pendingSlots[i]) != s) continue;
    const base = i * REGION_MAX;
    const n = unchecked(pendingCoveredCount[i]);
    for (let k: u32 = 0; k < n; k++) {
      const b = <usize>unchecked(pendingCovered[base + k]);
      // (a block dropped meanwhile may have been reused: only a COVERED mark is ours to clear)
      if (load<u32>(b, B_JIT) == COVERED) {
        store<u32>(b, 0, B_JIT);
        store<u32>(b, 0, B_HOT);
      }
    }
    pendingCount--;
    if (i != pendingCount) {
      const last = pendingCount * REGION_MAX;
      const m = unchecked(pendingCoveredCount[pendingCount]);
      for (let k: u32 = 0; k < m; k++) unchecked(pendingCovered[base + k] = pendingCovered[last + k]);
      unchecked(pendingCoveredCount[i] = m);
      unchecked(pendingSlots[i] = pendingSlots[pendingCount]);
    }
    return;
  }
}

/** Slot s is now pending: mark the blocks of its region (formRegion's, other than the root). */
function pend(s: u32): void {
  const i = pendingCount++;
  unchecked(pendingSlots[i] = s); // (reachedThreshold checked pendingCount < PENDING_MAX)
  const base = i * REGION_MAX;
  let n: u32 = 0;
  const count = regionBlocks();
  for (let k: u32 = 1; k < count; k++) {
    const b = regionBlock(k);
    if (load<u32>(b, B_JIT) != 0) continue; // compiled, pending, covered or never: leave it
    store<u32>(b, COVERED, B_JIT);
    unchecked(pendingCovered[base + n] = <u32>b); // (n < count <= REGION_MAX)
    n++;
  }
  unchecked(pendingCoveredCount[i] = n);
}

function releaseSlot(s: u32): void {
  const e = JIT_SLOTS + (<usize>s << 4);
  const blk = <usize>load<u32>(e);
  if (blk == 0) return;
  if ((load<u32>(blk, B_JIT) & PENDING_BIT) == 0) {
    liveBytes -= <u64>load<u32>(e, 4);
    liveFuncs--;
  } else {
    unpend(s);
  }
  store<u32>(e, 0);
  store<u32>(JIT_FREE + (<usize>freeTop << 2), s);
  freeTop++;
  jitRelease(s);
}

/** The block `blk` is being dropped from the cache (stale, or its hash slot is reused). */
export function dropCompiled(blk: usize): void {
  const j = load<u32>(blk, B_JIT);
  if (j == 0 || j >= COVERED) return; // (a covered block is unmarked by unpend)
  const s = (j & ~PENDING_BIT) - 1;
  if (s < JIT_MAX_SLOTS && slotOwner(s) == blk) releaseSlot(s);
  store<u32>(blk, 0, B_JIT);
}

/**
 * Evict every compiled region. `blocksAlive`: the owner blocks are still in the BT arena, so
 * their B_JIT and hotness are reset (false when the arena itself is being flushed).
 */
export function evictAll(blocksAlive: bool): void {
  let any = false;
  for (let s: u32 = 0; s < JIT_MAX_SLOTS; s++) {
    const blk = slotOwner(s);
    if (blk == 0) continue;
    any = true;
    releaseSlot(s);
    if (blocksAlive) {
      store<u32>(blk, 0, B_JIT);
      store<u32>(blk, 0, B_HOT);
    }
  }
  if (any) wr64(S_STAT_JIT_EVICTIONS, rd64(S_STAT_JIT_EVICTIONS) + 1);
}

/** Compile the region rooted at blk; returns its slot when its code is ready to run, else -1. */
function compile(blk: usize): i32 {
  if (blk == SCRATCH_BLOCK || !roomForRegion()) return -1;
  formRegion(blk, maxBlocks);
  const len = emitRegion();
  if (len == 0) {
    store<u32>(blk, JIT_NEVER, B_JIT);
    wr64(S_STAT_JIT_FAILS, rd64(S_STAT_JIT_FAILS) + 1);
    return -1;
  }
  if (liveBytes + <u64>len > codeLimit || freeTop == 0) evictAll(true);
  freeTop--;
  const s = load<u32>(JIT_FREE + (<usize>freeTop << 2));
  seq++;
  const e = JIT_SLOTS + (<usize>s << 4);
  store<u32>(e, <u32>blk);
  store<u32>(e, len, 4);
  store<u32>(e, seq, 8);
  store<u32>(blk, PENDING_BIT | (s + 1), B_JIT);
  const res = jitCompile(<usize>JIT_BUF, len, s, seq);
  wr64(S_STAT_JIT_BLOCKS, rd64(S_STAT_JIT_BLOCKS) + <u64>regionBlocks());
  if (res == COMPILED) {
    installed(blk, s, len);
    return <i32>s;
  }
  if (res == PENDING) {
    pend(s);
    return -1;
  }
  releaseSlot(s);
  store<u32>(blk, JIT_NEVER, B_JIT);
  wr64(S_STAT_JIT_FAILS, rd64(S_STAT_JIT_FAILS) + 1);
  return -1;
}

function installed(blk: usize, s: u32, len: u32): void {
  store<u32>(blk, s + 1, B_JIT);
  store<u32>(blk, 0, B_HOT); // from now on: consecutive short entries (see callCompiled)
  liveBytes += <u64>len;
  liveFuncs++;
  wr64(S_STAT_JIT_COMPILES, rd64(S_STAT_JIT_COMPILES) + 1);
}

/**
 * The host finished a background compile of slot s (sequence number sq). Returns true when the
 * region is still wanted: the host then installs the function in the table; false when the
 * slot was freed or reused meanwhile (the host drops the function).
 */
export function jitReady(s: u32, sq: u32, ok: bool): bool {
  if (s >= JIT_MAX_SLOTS) return false;
  const blk = slotOwner(s);
  if (blk == 0 || slotSeq(s) != sq || load<u32>(blk, B_JIT) != (PENDING_BIT | (s + 1))) return false;
  unpend(s);
  if (!ok) {
    releaseSlot(s);
    store<u32>(blk, JIT_NEVER, B_JIT);
    wr64(S_STAT_JIT_FAILS, rd64(S_STAT_JIT_FAILS) + 1);
    return false;
  }
  installed(blk, s, slotBytes(s));
  return true;
}

/**
 * An entry into compiled code that retired fewer instructions than this before handing its
 * block to the interpreter (a TLB miss, MMIO, an untranslated instruction) gained nothing;
 * after DEMOTE_AFTER such entries in a row the region is given back to the interpreter: a
 * pointer chase that misses the TLB on every hop runs faster interpreted. (Not with
 * JIT_ALWAYS, whose point is to run everything compiled.)
 */
const SHORT_ENTRY: u64 = 64;
const DEMOTE_AFTER: u32 = 32;

@inline function callCompiled(s: u32, blk: usize): void {
  const before = icount;
  statCalls++;
  setRestTaken(false);
  call_indirect<void>(JIT_TABLE_BASE + s);
  const ran = icount - before;
  statInsns += ran;
  if (restTaken && ran < SHORT_ENTRY && demote) {
    const short = load<u32>(blk, B_HOT) + 1;
    store<u32>(blk, short, B_HOT);
    if (short >= DEMOTE_AFTER) {
      dropCompiled(blk);
      store<u32>(blk, JIT_NEVER, B_JIT);
      wr64(S_STAT_JIT_DEMOTED, rd64(S_STAT_JIT_DEMOTED) + 1);
    }
  } else if (load<u32>(blk, B_HOT) != 0) {
    store<u32>(blk, 0, B_HOT);
  }
}

/**
 * Run the block at pc: its compiled region if there is one, else the interpreter. Inlined into
 * run()'s loop, so a block that is only counted costs a load, an add and a store more than with
 * --jit off, and no call: a Linux boot dispatches ~8 M blocks, and the extra call cost 2-4 %.
 */
@inline export function execute(blk: usize): void {
  const j = load<u32>(blk, B_JIT);
  if (j == 0) {
    const hot = load<u32>(blk, B_HOT) + 1;
    store<u32>(blk, hot, B_HOT);
    if (hot < threshold) execBlock(blk);
    else reachedThreshold(blk, hot);
  } else if (j - 1 < JIT_MAX_SLOTS) {
    callCompiled(j - 1, blk);
  } else {
    execBlock(blk); // compile pending, or never
  }
}

/** blk's count reached the threshold: compile its region (or start counting again), and run it. */
function reachedThreshold(blk: usize, hot: u32): void {
  if (pendingCount >= PENDING_MAX) {
    store<u32>(blk, hot - RETRY_RUNS < hot ? hot - RETRY_RUNS : 0, B_HOT);
    execBlock(blk);
    return;
  }
  const s = compile(blk);
  if (s >= 0) callCompiled(<u32>s, blk);
  else execBlock(blk);
}
