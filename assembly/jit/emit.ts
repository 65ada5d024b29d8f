// The tier-2 emitter: a hot region of decoded blocks (bt.ts) becomes one WebAssembly module
// with one function, `f: [] -> []`, which the host compiles and installs in the core's table.
//
// A region is the hot block (its root) and the blocks reachable from it by direct jumps and
// branches that stay inside the root's page, so loops and if/else chains in a page run inside
// one function. Within the function:
//
//   locals   the guest registers, cached per block: a block loads the ones it reads when it
//            starts and stores the ones it wrote whenever it is left, so nothing is live across
//            the dispatch loop; the page base `pb` = entry pc - root offset (every pc is pb + a
//            constant, so the code is right for any virtual alias of the physical page); icount,
//            eventAt and ctxData; scratch.
//   shape    block $exit
//              loop $dispatch
//                block $b(k-1) ... block $b0
//                  br_table $b0 .. $b(k-1) (local next)
//                end  code of b0   (a block whose branch returns to itself is also a `loop`)
//                ...
//                end  code of b(k-1)
//              end
//            end
//            icount back to its global; return
//   edges    a jump to a later region block is a br to the end of that block's Wasm block (where
//            its code starts); to an earlier one, through the br_table; to itself, its loop.
//            A jump to a region block checks the same events the interpreter checks between
//            blocks (icount >= eventAt; eventAt is 0 when irqCheck was set) and leaves with
//            pc = target if one is due;
//            A jalr compares its target with the region's return points and the targets its
//            block was linked to while interpreted (an indirect call's), and goes there alike;
//            any other jump leaves with pc = target (the dispatcher chains to what is next).
//   memory   the TLB hit path is inline (tag compare with alignment folded in, then an add).
//   the rest a TLB miss, MMIO, a code page, a misaligned access, and the instructions compiled
//            code does not translate (CSR, AMO, LR/SC, system, H) leave compiled code for this
//            pass: the interpreter finishes the block from that record (exec.ts jitRest) and
//            the function returns. Compiled code makes no other call, but for --virt bt's
//            sites (btvirt.ts): an inline CSR site calls btCsr and goes on, a call-out calls
//            btCallout and leaves.
//   files    this file: regions, control flow, memory accesses, the module; regs.ts: the
//            register cache and the function's locals; alu.ts: ALU and M instructions;
//            idioms.ts: guest idioms emitted as one operation (shifts and or -> rotl).
//
// Instruction counting, pc and exceptions follow exec.ts exactly: at every exit icount is what
// the interpreter's would be (it counts a block when it starts and takes back what a taken
// branch skips; compiled code counts up to each branch, and an exit to jitRest adds the rest),
// and a fault leaves pc, instret and every register as the interpreter would (tests compare the
// two tiers).
//
// Loops: a block that branches to itself is a Wasm loop with its registers in locals across
// it; so is a block with a "partner", a block it jumps to that only jumps back (loopPartner),
// whose code is emitted a second time inside the loop. Registers such a loop writes before
// reading are stored at its back edge instead of being kept live around it (regs.ts loopTemp).

import {
  STATE, S_X, TLB_READ, TLB_WRITE, RAM_BASE, R_OP, R_RD, R_RS1, R_RS2, R_LEN, R_PCOFF, R_IMM,
  R_SIZE, B_PADDR, B_COUNT, B_BYTES, B_HDR, PAGE_SIZE, B_CHAIN_PC, B_CHAIN_BLK, B_CHAIN2_PC,
  B_CHAIN2_BLK, BT_ARENA,
} from '../abi';
import * as O from '../gen/isa';
import * as W from './wasm';
import { blockAt, SCRATCH_BLOCK } from '../bt';
import { btInlineImm, btInlineIrq } from '../btvirt';
import { resetShifts, noteShift } from './idioms';
import {
  regLocal, dirty, savedDirty, getReg, setReg, storeDirty, extendRd, blockRegisters, numberLocals,
  storeLoopTemps, loadBefore,
  L_VA, L_PB, L_T, L_IC, L_EV, L_CTX, L_E, L_NEXT,
} from './regs';
import { binReg, binImm, word, rotate, cmpReg, mulHigh, divRem } from './alu';

// ---- the module's imports (the host passes the core's exports as module "c") ----
const F_REST: u32 = 0; // jitRest(block, record, block pc): the interpreter finishes the block
// --virt bt (btvirt.ts), imported only by a region that has such sites (other modules are as before):
/** btCsr(record, source) -> old value: a BT inline site. */
let F_BTCSR: u32 = 0;
/** btCallout(record): a BT call-out's exit to the VMM. */
let F_BTCALLOUT: u32 = 0;
/** Imported functions (jitRest, then btCsr and btCallout when used); the region's function comes next. */
let funcImports: u32 = 1;
const G_PC: u32 = 0;
const G_ICOUNT: u32 = 1;
const G_IRQ: u32 = 2;
const G_EVENT: u32 = 3;
const G_CTX: u32 = 4;
const TY_REGION: u32 = 0;
const TY_REST: u32 = 1;
let TY_BTCSR: u32 = 0;
let TY_BTCALLOUT: u32 = 0;

const PAGE_MASK: i64 = ~(<i64>0xfff);

// ---- the region being emitted ----
/** Most blocks in a region (the host may lower it: S_JIT_MAX_BLOCKS). */
export const REGION_MAX: u32 = 64;
/** Most instructions in a region: keeps a module well under the buffer. */
const REGION_MAX_INSNS: u32 = 2048;
const regionBlk = new StaticArray<usize>(REGION_MAX);
/** Offset of each block's first instruction from the root page's base (0..4095). */
const regionOff = new StaticArray<u32>(REGION_MAX);
const selfLoop = new StaticArray<bool>(REGION_MAX);
/** For each block, the region block emitted inside its loop (loopPartner), or -1. */
const partner = new StaticArray<i32>(REGION_MAX);
/** Most records in a block emitted inside another's loop. */
const PARTNER_MAX_INSNS: u32 = 32;
/** Blocks that follow a call (jal/jalr with a link register): where returns come back to. */
const returnPoint = new StaticArray<bool>(REGION_MAX);
/** Most return points a jalr compares its target with before leaving the region. */
const MAX_RETURN_COMPARES: u32 = 8;
/** Blocks an indirect jump of the region was seen to reach (linkedTarget). */
const jumpTarget = new StaticArray<bool>(REGION_MAX);
let regionCount: u32 = 0;

// Label depths while emitting the code of block j: `nest` labels opened inside that code
// (its self loop and the `if`s around the current instruction), `outer` = blocks between it
// and $dispatch.
let nest: u32 = 0;
let outer: u32 = 0;
let selfAt: u32 = 0;
let curBlock: u32 = 0;
/** The decoded block being emitted, and its page offset (for jitRest). */
let curBlk: usize = 0;
let curBoff: u32 = 0;
/**
 * Instructions of the block being emitted, and how many of them icount holds on the path being
 * emitted. Counting is lazy: a block adds its instructions up to its first branch when it starts
 * and the next run up to the next branch after each branch not taken, so a taken branch has
 * nothing to take back (a loop closed by a branch in the middle of its block adds once per
 * iteration, not twice). An exit to the interpreter adds the rest first: jitRest, like the
 * interpreter, expects the whole block counted.
 */
let curN: u32 = 0;
let counted: u32 = 0;
/** Emitting the current block's partner inside its loop (no partner of the partner). */
let inPartner = false;

@inline function toExit(): u32 { return nest + outer + 1; }
@inline function toDispatch(): u32 { return nest + outer; }

/** Region index of the block at page offset `off`, or -1. */
function indexOf(off: u32): i32 {
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
export function regionBlocks(): u32 { return regionCount; }
/** Block i (< regionBlocks()) of the region formRegion formed; block 0 is its root. */
export function regionBlock(i: u32): usize { return unchecked(regionBlk[i]); }

/** Push the pc at page offset `off` (may lie outside the page: a jump's target). */
function pcAt(off: i64): void {
  W.localGet(L_PB);
  if (off != 0) { W.i64c(off); W.op(W.I64_ADD); }
}

// ---- control ----
/** Leave the function with pc = the value on the stack (dirty registers stored first). */
function leaveDynamic(): void {
  storeDirty();
  W.globalSet(G_PC);
  W.br(toExit());
}
/** Leave with pc at page offset `off`. */
function leaveTo(off: i64): void {
  pcAt(off);
  leaveDynamic();
}

/** Go to page offset `t`: a region block (after the interpreter's event check) or out. */
function goto(t: i64): void {
  const idx = t >= 0 && t < <i64>PAGE_SIZE ? indexOf(<u32>t) : -1;
  if (idx < 0) { leaveTo(t); return; }
  const self = <u32>idx == curBlock && unchecked(selfLoop[curBlock]);
  const inline = !inPartner && idx == unchecked(partner[curBlock]);
  // Another block: this one's registers go back to STATE first (the next loads what it reads).
  // The block's own loop keeps them in locals.
  if (!self && !inline) {
    storeDirty();
    for (let r = 0; r < 33; r++) { unchecked(savedDirty[r] = dirty[r]); unchecked(dirty[r] = false); }
  }
  // The run loop's check between blocks: the budget, a timer deadline, or an irq to look at.
  W.localGet(L_IC);
  W.localGet(L_EV);
  W.op(W.I64_GE_U);
  W.structured(W.IF, W.T_VOID);
  nest++;
  leaveTo(t);
  nest--;
  W.op(W.END);
  if (self) {
    storeLoopTemps();
    W.br(nest - 1 - selfAt);
  } else if (inline) {
    emitPartner(<u32>idx);
  } else if (<u32>idx > curBlock) {
    // A block emitted later: its code starts right after the end of its Wasm block, which
    // encloses this one, so a plain br reaches it (no br_table).
    W.br(nest + (<u32>idx - curBlock - 1));
    for (let r = 0; r < 33; r++) unchecked(dirty[r] = savedDirty[r]);
  } else {
    W.i32c(idx);
    W.localSet(L_NEXT);
    W.br(toDispatch());
    for (let r = 0; r < 33; r++) unchecked(dirty[r] = savedDirty[r]);
  }
}

/**
 * The loop of two blocks: block c, which only jumps back to the current block, emitted where the
 * current block jumps to it, inside the current block's loop, so the registers of both stay in
 * locals around the loop (the loop's exits store them, as a self loop's do). Counting, exits
 * and the interpreter's finishing of c (jitRest on c's own records) are as in c's own code.
 */
function emitPartner(c: u32): void {
  const blk = unchecked(regionBlk[c]);
  const boff = unchecked(regionOff[c]);
  const saveBlk = curBlk, saveBoff = curBoff, saveN = curN, saveCounted = counted;
  curBlk = blk;
  curBoff = boff;
  inPartner = true;
  resetShifts();
  emitBlockBody(blk, boff, false); // (its registers were loaded with the block it loops with)
  inPartner = false;
  curBlk = saveBlk;
  curBoff = saveBoff;
  curN = saveN;
  counted = saveCounted;
  resetShifts(); // (conservative: the shifts noted before the jump are forgotten)
}

/**
 * The code of one decoded block at page offset boff: its count (startCount), each record,
 * and, when the last record does not branch away, the jump to the block that follows it.
 */
function emitBlockBody(blk: usize, boff: u32, lazy: bool): void {
  const n = load<u32>(blk, B_COUNT);
  startCount(blk, n);
  let r = blk + <usize>B_HDR;
  let done = false;
  for (let i: u32 = 0; i < n && !done; i++, r += <usize>R_SIZE) {
    if (lazy) loadBefore(r);
    done = emitInsn(r, boff + <u32>load<u16>(r, R_PCOFF), i, n);
  }
  if (!done) goto(<i64>boff + <i64>load<u32>(blk, B_BYTES));
}

/** 1 + the index of the first branch at or after record i of blk (of n), or n. */
function segmentEnd(blk: usize, i: u32, n: u32): u32 {
  let r = blk + <usize>B_HDR + <usize>i * <usize>R_SIZE;
  for (; i < n; i++, r += <usize>R_SIZE) {
    if ((O.opFlags(<u32>load<u16>(r, R_OP)) & O.F_BRANCH) != 0) return i + 1;
  }
  return n;
}
/** A block's code starts: count its instructions up to its first branch (see counted). */
function startCount(blk: usize, n: u32): void {
  curN = n;
  counted = segmentEnd(blk, 0, n);
  addIcount(<i64>counted);
}
/** Push icount with the whole block counted (for jitRest and the core's calls). */
function icountWhole(): void {
  W.localGet(L_IC);
  if (curN != counted) { W.i64c(<i64>(curN - counted)); W.op(W.I64_ADD); }
}

/** icount += d (d may be negative). */
function addIcount(d: i64): void {
  if (d == 0) return;
  W.localGet(L_IC);
  W.i64c(d);
  W.op(W.I64_ADD);
  W.localSet(L_IC);
}

/**
 * Everything the fast path does not do (a TLB miss, MMIO, a store to a code page, a misaligned
 * access, CSR, AMO, system and H instructions) ends the compiled code for this pass: the dirty
 * registers go to STATE, and the interpreter runs the block from record r to its end exactly
 * as it would have (exec.ts jitRest), so block boundaries, and with them every event check,
 * stay where the interpreter has them. Then the function returns. No guest register is live
 * across the call, so the engine keeps them in machine registers on the fast paths.
 */
function finishInInterpreter(r: usize): void {
  storeDirty();
  icountWhole();
  W.globalSet(G_ICOUNT);
  W.i32c(<i32>curBlk);
  W.i32c(<i32>r);
  pcAt(<i64>curBoff);
  W.call(F_REST);
  W.globalGet(G_ICOUNT);
  W.localSet(L_IC);
  W.br(toExit());
}

// ---- memory accesses ----
/** va = rs1 + imm into L_VA; L_E = the TLB entry of va in `tlb`; pushes the hit condition. */
function tlbProbe(r: usize, tlb: usize, size: u32): void {
  getReg(<u32>load<u8>(r, R_RS1));
  const imm = <i64>load<i32>(r, R_IMM);
  if (imm != 0) { W.i64c(imm); W.op(W.I64_ADD); }
  W.localTee(L_VA);
  // entry = tlb + ((va >> 12) & (TLB_ENTRIES - 1)) * 16 = tlb + ((va >> 8) & 0xfff0)
  W.i64c(8);
  W.op(W.I64_SHR_U);
  W.op(W.I32_WRAP_I64);
  W.i32c(0xfff0);
  W.op(W.I32_AND);
  W.i32c(<i32>tlb);
  W.op(W.I32_ADD);
  W.localSet(L_E);
  // hit = ((va & (PAGE_MASK | (size - 1))) | ctxData) == tag
  W.localGet(L_VA);
  W.i64c(PAGE_MASK | <i64>(size - 1));
  W.op(W.I64_AND);
  W.localGet(L_CTX);
  W.op(W.I64_OR);
  W.localGet(L_E);
  W.mem(W.I64_LOAD, 3, 0);
  W.op(W.I64_EQ);
}
/** Push the host address of a TLB hit: (u32)va + the low half of the entry's addend. */
function hostAddr(): void {
  W.localGet(L_VA);
  W.op(W.I32_WRAP_I64);
  W.localGet(L_E);
  W.mem(W.I32_LOAD, 2, 8);
  W.op(W.I32_ADD);
}

function emitLoad(r: usize, size: u32, signed: bool, wop: u8, lg: u32): void {
  tlbProbe(r, <usize>TLB_READ, size);
  W.structured(W.IF, W.T_I64);
  nest++;
  hostAddr();
  W.mem(wop, lg, 0);
  W.op(W.ELSE);
  finishInInterpreter(r);
  nest--;
  W.op(W.END);
  setReg(<u32>load<u8>(r, R_RD));
}

function emitStore(r: usize, size: u32, wop: u8, lg: u32): void {
  tlbProbe(r, <usize>TLB_WRITE, size);
  W.structured(W.IF, W.T_VOID);
  nest++;
  hostAddr();
  getReg(<u32>load<u8>(r, R_RS2));
  W.mem(wop, lg, 0);
  W.op(W.ELSE);
  finishInInterpreter(r);
  nest--;
  W.op(W.END);
}



/** A branch: taken leaves the block for its target, with the records after it uncounted. */
function emitBranch(r: usize, off: u32, i: u32, n: u32, o: u8): void {
  getReg(<u32>load<u8>(r, R_RS1));
  getReg(<u32>load<u8>(r, R_RS2));
  W.op(o);
  W.structured(W.IF, W.T_VOID);
  nest++;
  // Taken: icount holds exactly records 0..i (counted == i + 1).
  goto(<i64>off + <i64>load<i32>(r, R_IMM));
  nest--;
  W.op(W.END);
  // Not taken: count the run up to the next branch.
  const e = segmentEnd(curBlk, i + 1, n);
  addIcount(<i64>(e - counted));
  counted = e;
}

/**
 * Emit one record. Returns true when it ends the block's control flow (every path left).
 * `off` is the record's page offset, i its index in a block of n.
 */
function emitInsn(r: usize, off: u32, i: u32, n: u32): bool {
  const op = <u32>load<u16>(r, R_OP);
  const len = <i64>load<u8>(r, R_LEN);
  const rd = <u32>load<u8>(r, R_RD);
  switch (op) {
    case O.OP_LUI: if (rd != 32) { W.i64c(<i64>load<i32>(r, R_IMM)); setReg(rd); } return false;
    case O.OP_AUIPC: if (rd != 32) { pcAt(<i64>off + <i64>load<i32>(r, R_IMM)); setReg(rd); } return false;
    case O.OP_JAL: {
      if (rd != 32) { pcAt(<i64>off + len); setReg(rd); }
      goto(<i64>off + <i64>load<i32>(r, R_IMM));
      return true;
    }
    case O.OP_JALR: {
      // The target first: rd may be rs1.
      getReg(<u32>load<u8>(r, R_RS1));
      W.i64c(<i64>load<i32>(r, R_IMM));
      W.op(W.I64_ADD);
      W.i64c(-2);
      W.op(W.I64_AND);
      W.localSet(L_T);
      if (rd != 32) { pcAt(<i64>off + len); setReg(rd); }
      // A return to a call site in this region stays in it (an inline indirect-jump cache of
      // the region's return points), and so does an indirect call to a target it was linked to
      // before the region was formed (its jump targets); any other target leaves through the
      // dispatcher.
      let compares: u32 = 0;
      for (let k: u32 = 0; k < regionCount && compares < MAX_RETURN_COMPARES; k++) {
        if (!unchecked(returnPoint[k]) && !unchecked(jumpTarget[k])) continue;
        if (compares == 0) { W.localGet(L_T); W.localGet(L_PB); W.op(W.I64_SUB); W.localSet(L_VA); }
        compares++;
        W.localGet(L_VA);
        W.i64c(<i64>unchecked(regionOff[k]));
        W.op(W.I64_EQ);
        W.structured(W.IF, W.T_VOID);
        nest++;
        goto(<i64>unchecked(regionOff[k]));
        nest--;
        W.op(W.END);
      }
      W.localGet(L_T);
      leaveDynamic();
      return true;
    }
    case O.OP_BEQ: emitBranch(r, off, i, n, W.I64_EQ); return false;
    case O.OP_BNE: emitBranch(r, off, i, n, W.I64_NE); return false;
    case O.OP_BLT: emitBranch(r, off, i, n, W.I64_LT_S); return false;
    case O.OP_BGE: emitBranch(r, off, i, n, W.I64_GE_S); return false;
    case O.OP_BLTU: emitBranch(r, off, i, n, W.I64_LT_U); return false;
    case O.OP_BGEU: emitBranch(r, off, i, n, W.I64_GE_U); return false;
    case O.OP_LB: emitLoad(r, 1, true, W.I64_LOAD8_S, 0); return false;
    case O.OP_LH: emitLoad(r, 2, true, W.I64_LOAD16_S, 1); return false;
    case O.OP_LW: emitLoad(r, 4, true, W.I64_LOAD32_S, 2); return false;
    case O.OP_LD: emitLoad(r, 8, false, W.I64_LOAD, 3); return false;
    case O.OP_LBU: emitLoad(r, 1, false, W.I64_LOAD8_U, 0); return false;
    case O.OP_LHU: emitLoad(r, 2, false, W.I64_LOAD16_U, 1); return false;
    case O.OP_LWU: emitLoad(r, 4, false, W.I64_LOAD32_U, 2); return false;
    case O.OP_SB: emitStore(r, 1, W.I64_STORE8, 0); return false;
    case O.OP_SH: emitStore(r, 2, W.I64_STORE16, 1); return false;
    case O.OP_SW: emitStore(r, 4, W.I64_STORE32, 2); return false;
    case O.OP_SD: emitStore(r, 8, W.I64_STORE, 3); return false;
    case O.OP_ADDI: binImm(r, W.I64_ADD); return false;
    case O.OP_SLTI: cmpReg(r, W.I64_LT_S, true); return false;
    case O.OP_SLTIU: cmpReg(r, W.I64_LT_U, true); return false;
    case O.OP_XORI: binImm(r, W.I64_XOR); return false;
    case O.OP_ORI: binImm(r, W.I64_OR); return false;
    case O.OP_ANDI: binImm(r, W.I64_AND); return false;
    case O.OP_SLLI: binImm(r, W.I64_SHL); noteShift(r, true, false); return false;
    case O.OP_SRLI: binImm(r, W.I64_SHR_U); noteShift(r, false, false); return false;
    case O.OP_SRAI: binImm(r, W.I64_SHR_S); return false;
    // Wasm shifts take the count modulo 64 (and 32 for i32), as RISC-V does (§2.4.2).
    case O.OP_ADD: binReg(r, W.I64_ADD); return false;
    case O.OP_SUB: binReg(r, W.I64_SUB); return false;
    case O.OP_SLL: binReg(r, W.I64_SHL); return false;
    case O.OP_SLT: cmpReg(r, W.I64_LT_S, false); return false;
    case O.OP_SLTU: cmpReg(r, W.I64_LT_U, false); return false;
    case O.OP_XOR: binReg(r, W.I64_XOR); return false;
    case O.OP_SRL: binReg(r, W.I64_SHR_U); return false;
    case O.OP_SRA: binReg(r, W.I64_SHR_S); return false;
    case O.OP_OR: if (!rotate(r)) binReg(r, W.I64_OR); return false;
    case O.OP_AND: binReg(r, W.I64_AND); return false;
    case O.OP_ADDIW: {
      if (rd == 32) return false;
      getReg(<u32>load<u8>(r, R_RS1));
      W.i64c(<i64>load<i32>(r, R_IMM));
      W.op(W.I64_ADD);
      W.op(W.I64_EXTEND32_S);
      setReg(rd);
      return false;
    }
    case O.OP_SLLIW: word(r, W.I32_SHL, true); noteShift(r, true, true); return false;
    case O.OP_SRLIW: word(r, W.I32_SHR_U, true); noteShift(r, false, true); return false;
    case O.OP_SRAIW: word(r, W.I32_SHR_S, true); return false;
    case O.OP_ADDW: binReg(r, W.I64_ADD); if (rd != 32) extendRd(rd); return false;
    case O.OP_SUBW: binReg(r, W.I64_SUB); if (rd != 32) extendRd(rd); return false;
    case O.OP_SLLW: word(r, W.I32_SHL, false); return false;
    case O.OP_SRLW: word(r, W.I32_SHR_U, false); return false;
    case O.OP_SRAW: word(r, W.I32_SHR_S, false); return false;
    case O.OP_MUL: binReg(r, W.I64_MUL); return false;
    case O.OP_MULW: binReg(r, W.I64_MUL); if (rd != 32) extendRd(rd); return false;
    case O.OP_MULH: mulHigh(r, true, true); return false;
    case O.OP_MULHSU: mulHigh(r, true, false); return false;
    case O.OP_MULHU: mulHigh(r, false, false); return false;
    case O.OP_DIV: divRem(r, false, true, false); return false;
    case O.OP_DIVU: divRem(r, false, false, false); return false;
    case O.OP_REM: divRem(r, true, true, false); return false;
    case O.OP_REMU: divRem(r, true, false, false); return false;
    case O.OP_DIVW: divRem(r, false, true, true); return false;
    case O.OP_DIVUW: divRem(r, false, false, true); return false;
    case O.OP_REMW: divRem(r, true, true, true); return false;
    case O.OP_REMUW: divRem(r, true, false, true); return false;
    case O.OP_FENCE: return false; // one hart (exec.ts)
    case O.OP_BT_INLINE: emitBtInline(r); return false;
    case O.OP_BT_CALLOUT: emitBtCallout(r, off); return true;
    default: {
      // Anything else: the interpreter runs the rest of the block.
      finishInInterpreter(r);
      return true;
    }
  }
}

/**
 * A BT inline site (--virt bt, btvirt.ts): rd = btCsr(record, rs1 or zimm), a call into the core
 * with no exit; icount goes to its global first (counters and time read it). The site is its
 * block's last record: after a write that may enable a pending interrupt, eventAt's local
 * becomes 0, so the jump that follows leaves the function and the run loop looks at interrupts
 * (as the interpreter does: btCsr sets irqCheck).
 */
function emitBtInline(r: usize): void {
  icountWhole();
  W.globalSet(G_ICOUNT);
  W.i32c(<i32>r);
  if (btInlineImm(r)) W.i64c(<i64>load<u8>(r, R_RS1));
  else getReg(<u32>load<u8>(r, R_RS1));
  W.call(F_BTCSR);
  setReg(<u32>load<u8>(r, R_RD));
  if (btInlineIrq(r)) {
    W.i64c(0);
    W.localSet(L_EV);
  }
}

/**
 * A BT call-out (its block's last record, counted at the block's start but not retired): pc =
 * its address, the registers to STATE, and btCallout writes the exit for the VMM; then leave.
 * (Not through jitRest: a region whose entries end in a call-out is not short of work.)
 */
function emitBtCallout(r: usize, off: u32): void {
  storeDirty();
  addIcount(<i64>(curN - counted) - 1);
  pcAt(<i64>off);
  W.globalSet(G_PC);
  W.i32c(<i32>r);
  W.call(F_BTCALLOUT);
  W.br(toExit());
}


// ---- the module ----

function importFunc(n: string, ty: u32): void {
  W.name('c');
  W.name(n);
  W.byte(W.KIND_FUNC);
  W.u32leb(ty);
}
function importGlobal(n: string, t: u8): void {
  W.name('c');
  W.name(n);
  W.byte(W.KIND_GLOBAL);
  W.byte(t);
  W.byte(1); // mutable
}
function funcType(params: StaticArray<u8>, result: u8): void {
  W.byte(W.T_FUNC);
  W.u32leb(<u32>params.length);
  for (let i = 0; i < params.length; i++) W.byte(unchecked(params[i]));
  if (result == 0) W.u32leb(0);
  else { W.u32leb(1); W.byte(result); }
}

const P_NONE: StaticArray<u8> = [];
const P_REST: StaticArray<u8> = [W.T_I32, W.T_I32, W.T_I64];
const P_BTCSR: StaticArray<u8> = [W.T_I32, W.T_I64];
const P_BTCALLOUT: StaticArray<u8> = [W.T_I32];

function header(): void {
  // magic and version (§5.5.16)
  W.byte(0); W.byte(0x61); W.byte(0x73); W.byte(0x6d);
  W.byte(1); W.byte(0); W.byte(0); W.byte(0);
  let s: usize;
  W.byte(W.SEC_TYPE);
  s = W.beginSized();
  W.u32leb(1 + funcImports);
  funcType(P_NONE, 0); // TY_REGION
  funcType(P_REST, 0); // TY_REST
  if (F_BTCSR != 0) funcType(P_BTCSR, W.T_I64); // TY_BTCSR
  if (F_BTCALLOUT != 0) funcType(P_BTCALLOUT, 0); // TY_BTCALLOUT
  W.endSized(s);
  W.byte(W.SEC_IMPORT);
  s = W.beginSized();
  W.u32leb(funcImports + 1 + 5);
  importFunc('jitRest', TY_REST);
  if (F_BTCSR != 0) importFunc('btCsr', TY_BTCSR);
  if (F_BTCALLOUT != 0) importFunc('btCallout', TY_BTCALLOUT);
  W.name('env');
  W.name('memory');
  W.byte(W.KIND_MEMORY);
  W.byte(0); // limits: min only
  W.u32leb(0);
  importGlobal('pc', W.T_I64);
  importGlobal('icount', W.T_I64);
  importGlobal('irqCheck', W.T_I32);
  importGlobal('eventAt', W.T_I64);
  importGlobal('ctxData', W.T_I64);
  W.endSized(s);
  W.byte(W.SEC_FUNCTION);
  s = W.beginSized();
  W.u32leb(1);
  W.u32leb(TY_REGION);
  W.endSized(s);
  W.byte(W.SEC_EXPORT);
  s = W.beginSized();
  W.u32leb(1);
  W.name('f');
  W.byte(W.KIND_FUNC);
  W.u32leb(funcImports);
  W.endSized(s);
}

function markRegs(): void {
  for (let i = 0; i < 33; i++) unchecked(regLocal[i] = -1);
  for (let b: u32 = 0; b < regionCount; b++) {
    const blk = unchecked(regionBlk[b]);
    const n = load<u32>(blk, B_COUNT);
    let r = blk + <usize>B_HDR;
    for (let i: u32 = 0; i < n; i++, r += <usize>R_SIZE) {
      const rd = <u32>load<u8>(r, R_RD);
      unchecked(regLocal[<u32>load<u8>(r, R_RS1)] = 0);
      unchecked(regLocal[<u32>load<u8>(r, R_RS2)] = 0);
      unchecked(regLocal[rd] = 0);
    }
  }
  numberLocals();
}

/**
 * The imports of the region's module: btCsr if it holds a BT inline site, btCallout if it holds a
 * call-out (each is its block's last record: both kinds end blocks), with a type each.
 */
function regionImports(): void {
  let inline = false, callout = false;
  for (let b: u32 = 0; b < regionCount; b++) {
    const blk = unchecked(regionBlk[b]);
    const n = load<u32>(blk, B_COUNT);
    const op = <u32>load<u16>(blk + <usize>B_HDR + <usize>(n - 1) * <usize>R_SIZE, R_OP);
    if (op == O.OP_BT_INLINE) inline = true;
    else if (op == O.OP_BT_CALLOUT) callout = true;
  }
  funcImports = 1;
  F_BTCSR = F_BTCALLOUT = 0;
  if (inline) { F_BTCSR = funcImports; TY_BTCSR = 1 + funcImports; funcImports++; }
  if (callout) { F_BTCALLOUT = funcImports; TY_BTCALLOUT = 1 + funcImports; funcImports++; }
}

/** Does block b branch or jump back to its own start (then its code is a Wasm loop)? */
function branchesToItself(b: u32): bool {
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
function loopEnd(b: u32, p: i32): u32 {
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
function loopPartner(b: u32): i32 {
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

/**
 * Emit the module for the region formed last. Returns its length in bytes at JIT_BUF, or 0
 * when it would not fit the buffer.
 */
export function emitRegion(): u32 {
  W.resetBuf();
  regionImports();
  header();
  markRegs();
  W.byte(W.SEC_CODE);
  const sec = W.beginSized();
  W.u32leb(1);
  const body = W.beginSized();
  // locals: the registers and L_VA .. L_T3 as i64; L_E, L_NEXT as i32
  W.u32leb(2);
  W.u32leb(L_E);
  W.byte(W.T_I64);
  W.u32leb(2);
  W.byte(W.T_I32);
  // prologue: page base, the hot globals (registers are loaded by each block)
  W.globalGet(G_PC);
  W.i64c(<i64>unchecked(regionOff[0]));
  W.op(W.I64_SUB);
  W.localSet(L_PB);
  W.globalGet(G_ICOUNT);
  W.localSet(L_IC);
  // eventAt, or 0 when irqCheck is set: nothing in compiled code changes either (everything
  // that could runs in the interpreter after the function has been left).
  // (An if, not a select: V8 recomputed the select from its spilled inputs at every loop
  // back-edge.)
  W.globalGet(G_IRQ);
  W.structured(W.IF, W.T_I64);
  W.i64c(0);
  W.op(W.ELSE);
  W.globalGet(G_EVENT);
  W.op(W.END);
  W.localSet(L_EV);
  W.globalGet(G_CTX);
  W.localSet(L_CTX);
  W.structured(W.BLOCK, W.T_VOID); // $exit
  W.structured(W.LOOP, W.T_VOID); // $dispatch
  const k = regionCount;
  for (let b: u32 = 0; b < k; b++) W.structured(W.BLOCK, W.T_VOID);
  W.localGet(L_NEXT);
  W.byte(W.BR_TABLE);
  W.u32leb(k - 1);
  for (let b: u32 = 0; b < k; b++) W.u32leb(b);
  W.op(W.END);
  for (let b: u32 = 0; b < k; b++) {
    if (W.nearlyFull()) return 0;
    curBlock = b;
    outer = k - 1 - b;
    nest = 0;
    const blk = unchecked(regionBlk[b]);
    const boff = unchecked(regionOff[b]);
    curBlk = blk;
    curBoff = boff;
    const p = loopPartner(b);
    unchecked(partner[b] = p);
    unchecked(selfLoop[b] = p >= 0 || branchesToItself(b));
    const end = loopEnd(b, p);
    blockRegisters(blk, unchecked(selfLoop[b]), p >= 0 ? unchecked(regionBlk[p]) : 0, end);
    resetShifts();
    if (unchecked(selfLoop[b])) {
      W.structured(W.LOOP, W.T_VOID);
      selfAt = nest;
      nest++;
    }
    emitBlockBody(blk, boff, true);
    if (unchecked(selfLoop[b])) { nest--; W.op(W.END); }
    W.byte(0x00); // unreachable: every path above branched
    if (b + 1 < k) W.op(W.END); // closes $b(b+1)
  }
  W.op(W.END); // $dispatch
  W.op(W.END); // $exit
  W.localGet(L_IC);
  W.globalSet(G_ICOUNT);
  W.op(W.END);
  W.endSized(body);
  W.endSized(sec);
  if (!W.fits()) return 0;
  return W.length();
}

