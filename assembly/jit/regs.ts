// The guest registers of the region being emitted, in Wasm locals (emit.ts). They are cached
// per block: a block loads the ones it reads (before writing them) where it first reads them
// (a looping block: those its loop uses before the loop) and stores the ones it wrote whenever
// it is left, so nothing is live across the region's dispatch loop and
// the engine's register allocator sees short live ranges. (Issue 16 tried whole-region
// residency, every register loaded at entry and stored at every exit: 4-19 % slower, because
// each exit then keeps every register the region writes live across every loop; docs/jit.md.)
// Also the function's other locals (pb, icount, scratch, the sites' tags and addends).

import { STATE, S_X, R_RD, R_RS1, R_RS2, R_SIZE, B_COUNT, B_HDR } from '../abi';
import * as W from './wasm';
import { forgetShifts } from './idioms';

/** Local index of each guest register, -1 when the region does not use it. */
export const regLocal = new StaticArray<i32>(33);
/** Registers written so far in the block blockRegisters is looking at. */
export const regWritten = new StaticArray<bool>(33);
/** Registers whose local is newer than their STATE slot on the path being emitted. */
export const dirty = new StaticArray<bool>(33);
/** dirty, kept while goto() emits a jump's exit path. */
export const savedDirty = new StaticArray<bool>(33);
/** Registers the block blockRegisters is looking at reads before writing them. */
export const needLoad = new StaticArray<bool>(33);
export let L_VA: u32 = 0;
export let L_PB: u32 = 0;
export let L_T: u32 = 0;
export let L_IC: u32 = 0; // icount, kept in a local; the global is written before helper calls and at exits
export let L_E: u32 = 0;
export let L_NEXT: u32 = 0;
export let L_T2: u32 = 0; // scratch (mulh)
export let L_T3: u32 = 0;
/** Access sites of a loop (emit.ts siteProbe): SITES i64 tags, then SITES i32 addends, after L_NEXT. */
export const SITES: u32 = 8;
export let L_SITE_TAG: u32 = 0;
export let L_SITE_ADD: u32 = 0;

/** Push register r (x0 reads as 0). */
export function getReg(r: u32): void {
  if (r == 0) W.i64c(0);
  else W.localGet(<u32>unchecked(regLocal[r]));
}
/** Pop the value on the stack into rd (x32, the sink for x0, drops it). */
export function setReg(rd: u32): void {
  if (rd == 32) { W.op(W.DROP); return; }
  W.localSet(<u32>unchecked(regLocal[rd]));
  unchecked(dirty[rd] = true);
  forgetShifts(rd);
}
/** Store every dirty register (on a path that leaves the block). */
export function storeDirty(): void {
  for (let r: u32 = 1; r < 32; r++) {
    if (!unchecked(dirty[r])) continue;
    W.i32c(0);
    W.localGet(<u32>unchecked(regLocal[r]));
    W.mem(W.I64_STORE, 3, <u32>(STATE + S_X) + (r << 3));
  }
}
/** rd = sext32(rd), after an operation whose low word is the result. */
export function extendRd(rd: u32): void {
  W.localGet(<u32>unchecked(regLocal[rd]));
  W.op(W.I64_EXTEND32_S);
  W.localSet(<u32>unchecked(regLocal[rd]));
}

/**
 * Registers a looping block writes before reading them (temporaries of one iteration): they are
 * stored at the loop's back edge when dirty, so at the top of the loop they are clean and not
 * live across the back edge (the exits of the next iteration before they are rewritten find
 * them in STATE).
 */
export const loopTemp = new StaticArray<bool>(33);

/** Registers written in the records of a looping block up to its last back edge (blockRegisters). */
const loopWritten = new StaticArray<bool>(33);
/** Registers read or written there (or in its partner). */
const loopUsed = new StaticArray<bool>(33);
/**
 * Registers loaded where the block first reads them (loadBefore), not when it starts, so they
 * are not live before that (across the exits of the records before, around a loop): every
 * register of a block that does not loop, and those a looping block reads only after its last
 * back edge (the loop neither reads nor writes them, and STATE holds their value).
 */
const deferLoad = new StaticArray<bool>(33);

/**
 * Load the registers block `blk` reads before writing them. A block that loops on itself
 * (`loops`) also loads the registers it writes in its first `loopEnd` records (those up to its
 * last back edge: only they can have changed when an iteration starts again) and starts with
 * them dirty: a later iteration may leave before rewriting a register an earlier one changed.
 * (Those it writes there before reading them are loopTemp instead.) A register written only
 * after the last back edge is clean at the loop head, as in a block that does not loop.
 * `partner` (0 if none) is a block emitted inside blk's loop (emit.ts loopPartner): its
 * registers are loaded too, and the ones it writes start dirty.
 */
export function blockRegisters(blk: usize, loops: bool, partner: usize, loopEnd: u32): void {
  for (let i = 0; i < 33; i++) {
    unchecked(needLoad[i] = false); unchecked(regWritten[i] = false); unchecked(dirty[i] = false);
    unchecked(loopTemp[i] = false); unchecked(loopWritten[i] = false);
    unchecked(loopUsed[i] = false); unchecked(deferLoad[i] = false);
  }
  const n = load<u32>(blk, B_COUNT);
  let r = blk + <usize>B_HDR;
  for (let i: u32 = 0; i < n; i++, r += <usize>R_SIZE) {
    const rs1 = <u32>load<u8>(r, R_RS1);
    const rs2 = <u32>load<u8>(r, R_RS2);
    const rd = <u32>load<u8>(r, R_RD);
    if (!unchecked(regWritten[rs1])) unchecked(needLoad[rs1] = true);
    if (!unchecked(regWritten[rs2])) unchecked(needLoad[rs2] = true);
    unchecked(regWritten[rd] = true);
    if (i < loopEnd) {
      unchecked(loopWritten[rd] = true);
      unchecked(loopUsed[rd] = true); unchecked(loopUsed[rs1] = true); unchecked(loopUsed[rs2] = true);
    }
  }
  // (Within the first loopEnd records, "read before written" is needLoad's own answer.)
  if (loops) for (let i = 1; i < 32; i++) unchecked(loopTemp[i] = loopWritten[i] && !needLoad[i]);
  if (partner != 0) {
    const m = load<u32>(partner, B_COUNT);
    r = partner + <usize>B_HDR;
    for (let i: u32 = 0; i < m; i++, r += <usize>R_SIZE) {
      const rs1 = <u32>load<u8>(r, R_RS1);
      const rs2 = <u32>load<u8>(r, R_RS2);
      const rd = <u32>load<u8>(r, R_RD);
      unchecked(needLoad[rs1] = true);
      unchecked(needLoad[rs2] = true);
      unchecked(loopWritten[rd] = true);
      unchecked(loopUsed[rd] = true); unchecked(loopUsed[rs1] = true); unchecked(loopUsed[rs2] = true);
      unchecked(loopTemp[rs1] = false);
      unchecked(loopTemp[rs2] = false);
      unchecked(loopTemp[rd] = false);
    }
  }
  for (let i: u32 = 1; i < 32; i++) {
    if (loops && unchecked(loopWritten[i]) && !unchecked(loopTemp[i])) { unchecked(needLoad[i] = true); unchecked(dirty[i] = true); }
    if (!unchecked(needLoad[i])) continue;
    if (!loops || !unchecked(loopUsed[i])) { unchecked(deferLoad[i] = true); continue; }
    loadReg(i);
  }
}

/**
 * Before the code of a record of the block blockRegisters looked at (at the block's top level,
 * not in a branch's path): load its sources not loaded yet.
 */
export function loadBefore(r: usize): void {
  const rs1 = <u32>load<u8>(r, R_RS1);
  const rs2 = <u32>load<u8>(r, R_RS2);
  if (unchecked(deferLoad[rs1])) { unchecked(deferLoad[rs1] = false); loadReg(rs1); }
  if (unchecked(deferLoad[rs2])) { unchecked(deferLoad[rs2] = false); loadReg(rs2); }
}

function loadReg(i: u32): void {
  W.i32c(0);
  W.mem(W.I64_LOAD, 3, <u32>(STATE + S_X) + (i << 3));
  W.localSet(<u32>unchecked(regLocal[i]));
}

/** At a loop's back edge: store the dirty loopTemp registers (see loopTemp). */
export function storeLoopTemps(): void {
  for (let r: u32 = 1; r < 32; r++) {
    if (!unchecked(loopTemp[r]) || !unchecked(dirty[r])) continue;
    W.i32c(0);
    W.localGet(<u32>unchecked(regLocal[r]));
    W.mem(W.I64_STORE, 3, <u32>(STATE + S_X) + (r << 3));
  }
}

/** Number the locals: the registers marked in regLocal (0) first, then pb, icount, ... */
export function numberLocals(): void {
  unchecked(regLocal[0] = -1);
  unchecked(regLocal[32] = -1);
  let next: i32 = 0;
  for (let i = 1; i < 32; i++) if (unchecked(regLocal[i]) == 0) unchecked(regLocal[i] = next++);
  L_VA = <u32>next;
  L_PB = L_VA + 1;
  L_T = L_VA + 2;
  L_IC = L_VA + 3;
  L_T2 = L_VA + 4;
  L_T3 = L_VA + 5;
  L_E = L_VA + 6; // the i32 locals follow the i64 ones
  L_NEXT = L_VA + 7;
  L_SITE_TAG = L_VA + 8;
  L_SITE_ADD = L_SITE_TAG + SITES;
}
