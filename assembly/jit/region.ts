// Region formation for tier 2: which decoded blocks one compiled function holds, and the
// shape of their loops. A region is a hot block (its root) and the blocks reachable from it by
// branches, jumps, falling through and an indirect call's linked targets that stay inside the
// root's 4 KiB page, at most S_JIT_MAX_BLOCKS blocks and REGION_MAX_INSNS instructions. The
// emitter (emit.ts) turns the region formed last into a module.
//
// Loops: a block that branches to itself (branchesToItself), or to a block that only jumps back
// to it (loopPartner), is emitted as a Wasm loop; loopEnd bounds the part of it the loop runs.

import {
  RAM_BASE, R_OP, R_RD, R_PCOFF, R_IMM, R_SIZE, B_PADDR, B_COUNT, B_BYTES, B_HDR, PAGE_SIZE,
  B_CHAIN_PC, B_CHAIN_BLK, B_CHAIN2_PC, B_CHAIN2_BLK, BT_ARENA,
} from '../abi';
import * as O from '../gen/isa';
import { blockAt, SCRATCH_BLOCK } from '../bt';

/** Most blocks in a region (the host may lower it: S_JIT_MAX_BLOCKS). */
export const REGION_MAX: u32 = 64;
/** Most instructions in a region: keeps a module well under the buffer. */
const REGION_MAX_INSNS: u32 = 2048;
export const regionBlk = new StaticArray<usize>(REGION_MAX);
/** Offset of each block's first instruction from the root page's base (0..4095). */
export const regionOff = new StaticArray<u32>(REGION_MAX);
/** Most records in a block emitted inside another's loop. */
const PARTNER_MAX_INSNS: u32 = 32;
/** Blocks that follow a call (jal/jalr with a link register): where returns come back to. */
export const returnPoint = new StaticArray<bool>(REGION_MAX);
/** Blocks an indirect jump of the region was seen to reach (linkedTarget). */
export const jumpTarget = new StaticArray<bool>(REGION_MAX);
let regionCount: u32 = 0;

/** Region index of the block at page offset `off`, or -1. */
export function indexOf(off: u32): i32 {
  for (let i: u32 = 0; i < regionCount; i++) if (unchecked(regionOff[i]) == off) return <i32>i;
  return -1;
}

/**
 * The region's blocks: `root` first, then blocks reachable inside its page, breadth first (by
 * branches, jal, falling through, and an indirect call's linked targets).
 */
export function formRegion(root: usize, maxBlocks: u32): void {
  regionCount = 1;
  unchecked(regionBlk[0] = root);
  const rootOff = <u32>(load<u64>(root, B_PADDR) & 0xfff);
  unchecked(regionOff[0] = rootOff);
  unchecked(returnPoint[0] = false);
  unchecked(jumpTarget[0] = false);
  const pageOff = <u32>((load<u64>(root, B_PADDR) - RAM_BASE) & ~(<u64>0xfff));
  let insns = load<u32>(root, B_COUNT);
  if (maxBlocks > REGION_MAX) maxBlocks = REGION_MAX;
  for (let q: u32 = 0; q < regionCount; q++) {
    const blk = unchecked(regionBlk[q]);
    const off = unchecked(regionOff[q]);
    const n = load<u32>(blk, B_COUNT);
    for (let i: u32 = 0; i <= n; i++) {
      // Successor offsets: branch and jal targets, and falling off the block's end.
      let t: i64;
      let ret = false;
      if (i == n) {
        // Falling off the end; after a call (a jump that links), where its return comes back.
        const last = blk + <usize>B_HDR + <usize>(n - 1) * <usize>R_SIZE;
        const lop = <u32>load<u16>(last, R_OP);
        ret = (lop == O.OP_JAL || lop == O.OP_JALR) && load<u8>(last, R_RD) != 32;
        // (A BT inline site ends its block but not the code path: its successor may join the region.)
        if ((O.opFlags(lop) & O.F_END) != 0 && !ret && lop != O.OP_BT_INLINE) continue;
        t = <i64>off + <i64>load<u32>(blk, B_BYTES);
      } else {
        const r = blk + <usize>B_HDR + <usize>i * <usize>R_SIZE;
        const op = <u32>load<u16>(r, R_OP);
        if (op != O.OP_JAL && (O.opFlags(op) & O.F_BRANCH) == 0) continue;
        t = <i64>off + <i64>load<u16>(r, R_PCOFF) + <i64>load<i32>(r, R_IMM);
      }
      insns = addSuccessor(t, ret, pageOff, maxBlocks, insns);
    }
    // An indirect call (jalr with a link register): the targets the dispatcher linked it to
    // while it ran interpreted (bt.ts link: its last two successors) join the region as jump
    // targets, which the jalr compares its target with before leaving (dhry's call through a
    // function pointer; the callee's return comes back to the return point after it). A link
    // is only a hint, of any epoch (every trap and xRET starts a new one, so under interrupts
    // the current epoch's links are rare): the block at that page offset is looked up or
    // decoded afresh (blockAt), and entered only when the target is exactly its pc.
    const last = blk + <usize>B_HDR + <usize>(n - 1) * <usize>R_SIZE;
    if (n != 0 && <u32>load<u16>(last, R_OP) == O.OP_JALR && load<u8>(last, R_RD) != 32) {
      insns = linkedTarget(load<u64>(blk, B_CHAIN_PC), <usize>load<u32>(blk, B_CHAIN_BLK), pageOff, maxBlocks, insns);
      insns = linkedTarget(load<u64>(blk, B_CHAIN2_PC), <usize>load<u32>(blk, B_CHAIN2_BLK), pageOff, maxBlocks, insns);
    }
  }
}

/**
 * A linked successor `succ` at pc `lpc` of an indirect jump, as a jump target of the region if
 * in its page (an unused second link has pc 1, which matches no block).
 */
function linkedTarget(lpc: u64, succ: usize, pageOff: u32, maxBlocks: u32, insns: u32): u32 {
  // (a link of an older epoch may name a block since dropped: any arena address reads safely)
  if (succ < BT_ARENA || succ >= SCRATCH_BLOCK) return insns;
  const pa = load<u64>(succ, B_PADDR);
  if ((pa & 0xfff) != (lpc & 0xfff)) return insns;
  if (pa < RAM_BASE || <u32>((pa - RAM_BASE) & ~(<u64>0xfff)) != pageOff) return insns;
  const t = <i64>(pa & 0xfff);
  insns = addSuccessor(t, false, pageOff, maxBlocks, insns);
  const k = indexOf(<u32>t);
  if (k >= 0) unchecked(jumpTarget[k] = true);
  return insns;
}

/** Add the block at page offset t to the region (if room), or mark it a return point. */
function addSuccessor(t: i64, ret: bool, pageOff: u32, maxBlocks: u32, insns: u32): u32 {
  if (t < 0 || t >= <i64>PAGE_SIZE || (t & 1) != 0) return insns;
  const known = indexOf(<u32>t);
  if (known >= 0) {
    if (ret) unchecked(returnPoint[known] = true);
    return insns;
  }
  if (regionCount >= maxBlocks) return insns;
  const b = blockAt(pageOff + <u32>t);
  if (b == 0) return insns;
  if (insns + load<u32>(b, B_COUNT) > REGION_MAX_INSNS) return insns;
  unchecked(regionBlk[regionCount] = b);
  unchecked(regionOff[regionCount] = <u32>t);
  unchecked(returnPoint[regionCount] = ret);
  unchecked(jumpTarget[regionCount] = false);
  regionCount++;
  return insns + load<u32>(b, B_COUNT);
}

/** Blocks in the region formed last. */
@inline export function regionBlocks(): u32 { return regionCount; }
/** Block i (< regionBlocks()) of the region formRegion formed; block 0 is its root. */
export function regionBlock(i: u32): usize { return unchecked(regionBlk[i]); }

/** Does block b branch or jump back to its own start (then its code is a Wasm loop)? */
export function branchesToItself(b: u32): bool {
  const blk = unchecked(regionBlk[b]);
  const off = unchecked(regionOff[b]);
  const n = load<u32>(blk, B_COUNT);
  let r = blk + <usize>B_HDR;
  for (let i: u32 = 0; i < n; i++, r += <usize>R_SIZE) {
    const op = <u32>load<u16>(r, R_OP);
    if (op != O.OP_JAL && (O.opFlags(op) & O.F_BRANCH) == 0) continue;
    if (<i64>off + <i64>load<u16>(r, R_PCOFF) + <i64>load<i32>(r, R_IMM) == <i64>off) return true;
  }
  return false;
}

/**
 * The number of records of block b up to and including its last back edge: the last record
 * whose code can reach b's Wasm loop head (a branch or jal to b's start or to its partner p, a
 * jalr when b is one of the region's return points), or all of them when b falls off its end
 * into p. Registers written only after it are not carried around the loop (blockRegisters).
 */
export function loopEnd(b: u32, p: i32): u32 {
  const blk = unchecked(regionBlk[b]);
  const off = unchecked(regionOff[b]);
  const n = load<u32>(blk, B_COUNT);
  const poff: i64 = p >= 0 ? <i64>unchecked(regionOff[p]) : -1;
  if (poff == <i64>off + <i64>load<u32>(blk, B_BYTES)) return n;
  let end: u32 = 0;
  let r = blk + <usize>B_HDR;
  for (let i: u32 = 0; i < n; i++, r += <usize>R_SIZE) {
    const op = <u32>load<u16>(r, R_OP);
    if (op == O.OP_JALR) {
      if (unchecked(returnPoint[b])) end = i + 1;
      continue;
    }
    if (op != O.OP_JAL && (O.opFlags(op) & O.F_BRANCH) == 0) continue;
    const t = <i64>off + <i64>load<u16>(r, R_PCOFF) + <i64>load<i32>(r, R_IMM);
    if (t == <i64>off || t == poff) end = i + 1;
  }
  return end;
}

/**
 * A region block, other than b, that b jumps to (by a branch, a jal or falling off its end) and
 * whose only way on is back to b's start (no branch, jump or call but a final jal to b, or
 * falling off its end into b): a loop of two blocks, as compilers make of `while` and `for`
 * loops. Its code is emitted inside b's loop too (emitPartner). -1 if there is none.
 */
export function loopPartner(b: u32): i32 {
  const blk = unchecked(regionBlk[b]);
  const off = unchecked(regionOff[b]);
  const n = load<u32>(blk, B_COUNT);
  let r = blk + <usize>B_HDR;
  for (let i: u32 = 0; i <= n; i++, r += <usize>R_SIZE) {
    let t: i64;
    if (i == n) {
      const lop = <u32>load<u16>(r - <usize>R_SIZE, R_OP);
      if ((O.opFlags(lop) & O.F_END) != 0) continue;
      t = <i64>off + <i64>load<u32>(blk, B_BYTES);
    } else {
      const op = <u32>load<u16>(r, R_OP);
      if (op != O.OP_JAL && (O.opFlags(op) & O.F_BRANCH) == 0) continue;
      t = <i64>off + <i64>load<u16>(r, R_PCOFF) + <i64>load<i32>(r, R_IMM);
    }
    if (t < 0 || t >= <i64>PAGE_SIZE) continue;
    const c = indexOf(<u32>t);
    if (c >= 0 && <u32>c != b && onlyBackTo(<u32>c, off)) return c;
  }
  return -1;
}

/** Does block c go on only to page offset `to` (see loopPartner)? */
function onlyBackTo(c: u32, to: u32): bool {
  const blk = unchecked(regionBlk[c]);
  const off = unchecked(regionOff[c]);
  const n = load<u32>(blk, B_COUNT);
  if (n > PARTNER_MAX_INSNS) return false;
  let r = blk + <usize>B_HDR;
  for (let i: u32 = 0; i < n; i++, r += <usize>R_SIZE) {
    const op = <u32>load<u16>(r, R_OP);
    if (op == O.OP_JAL && i == n - 1) {
      return <i64>off + <i64>load<u16>(r, R_PCOFF) + <i64>load<i32>(r, R_IMM) == <i64>to;
    }
    if ((O.opFlags(op) & (O.F_END | O.F_BRANCH)) != 0 || op == O.OP_JAL || op == O.OP_JALR) return false;
    if (op == O.OP_BT_INLINE || op == O.OP_BT_CALLOUT) return false;
  }
  return off + load<u32>(blk, B_BYTES) == to;
}
