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
//            constant, so the code is right for any virtual alias of the physical page); icount;
//            the page each access site of a loop hit last (siteProbe); scratch. eventAt and
//            ctxData go to STATE slots at entry (S_JIT_EVENT_AT, S_JIT_CTX), read from memory,
//            so they take no machine register in the loops.
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
//   files    this file: control flow, counting, memory accesses, the function's body;
//            region.ts: which blocks a region holds and the shape of its loops; module.ts: the
//            module's types and imports; regs.ts: the register cache and the function's locals; alu.ts: ALU and M instructions;
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
  STATE, S_X, S_JIT_EVENT_AT, S_JIT_CTX, TLB_READ, TLB_WRITE, R_OP, R_RD, R_RS1, R_RS2, R_LEN, R_PCOFF, R_IMM, R_SIZE,
  B_COUNT, B_BYTES, B_HDR, PAGE_SIZE,
} from '../abi';
import * as O from '../gen/isa';
import * as W from './wasm';
import {
  REGION_MAX, regionBlk, regionOff, returnPoint, jumpTarget, regionBlocks, indexOf,
  branchesToItself, loopEnd, loopPartner,
} from './region';
import {
  F_REST, F_BTCSR, F_BTCALLOUT, G_PC, G_ICOUNT, G_IRQ, G_EVENT, G_CTX, header, regionImports,
} from './module';
import { btInlineImm, btInlineIrq } from '../btvirt';
import { resetShifts, noteShift } from './idioms';
import {
  regLocal, dirty, savedDirty, getReg, setReg, storeDirty, extendRd, blockRegisters, numberLocals,
  storeLoopTemps, loadBefore,
  L_VA, L_PB, L_T, L_IC, L_E, L_NEXT, L_T2, L_SITE_TAG, L_SITE_ADD, SITES,
} from './regs';
import { binReg, binImm, word, rotate, cmpReg, mulHigh, divRem } from './alu';

const PAGE_MASK: i64 = ~(<i64>0xfff);

// ---- the region being emitted (region.ts formed it) ----
/** Blocks emitted as a Wasm loop (a self loop, or a loop with a partner). */
const selfLoop = new StaticArray<bool>(REGION_MAX);
/** For each block, the region block emitted inside its loop (loopPartner), or -1. */
const partner = new StaticArray<i32>(REGION_MAX);
/** Most return points a jalr compares its target with before leaving the region. */
const MAX_RETURN_COMPARES: u32 = 8;

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
  W.i32c(0);
  W.mem(W.I64_LOAD, 3, <u32>(STATE + S_JIT_EVENT_AT));
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
  const saveIndex = siteIndex, saveEnd = siteEnd;
  siteEnd = load<u32>(blk, B_COUNT); // (all of it is inside the loop)
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
  siteIndex = saveIndex;
  siteEnd = saveEnd;
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
    siteIndex = i;
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
/** Push ctxData (constant while the function runs). */
function ctxGet(): void {
  W.i32c(0);
  W.mem(W.I64_LOAD, 3, <u32>(STATE + S_JIT_CTX));
}
/** va = rs1 + imm: pushed, and kept in L_VA. */
function vaTee(r: usize): void {
  getReg(<u32>load<u8>(r, R_RS1));
  const imm = <i64>load<i32>(r, R_IMM);
  if (imm != 0) { W.i64c(imm); W.op(W.I64_ADD); }
  W.localTee(L_VA);
}
/** The va on the stack -> (va & (PAGE_MASK | (size - 1))) | ctxData: the TLB's tag form, alignment folded in. */
function tagKey(size: u32): void {
  W.i64c(PAGE_MASK | <i64>(size - 1));
  W.op(W.I64_AND);
  ctxGet();
  W.op(W.I64_OR);
}
/** The va on the stack -> its entry in `tlb`: tlb + ((va >> 12) & (TLB_ENTRIES - 1)) * 16 = tlb + ((va >> 8) & 0xfff0). */
function tlbEntry(tlb: usize): void {
  W.i64c(8);
  W.op(W.I64_SHR_U);
  W.op(W.I32_WRAP_I64);
  W.i32c(0xfff0);
  W.op(W.I32_AND);
  W.i32c(<i32>tlb);
  W.op(W.I32_ADD);
}
/** va = rs1 + imm into L_VA; L_E = the TLB entry of va in `tlb`; pushes the hit condition. */
function tlbProbe(r: usize, tlb: usize, size: u32): void {
  vaTee(r);
  tlbEntry(tlb);
  W.localSet(L_E);
  // hit = ((va & (PAGE_MASK | (size - 1))) | ctxData) == tag
  W.localGet(L_VA);
  tagKey(size);
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
  const s = takeSite();
  if (s >= 0) {
    siteProbe(r, <usize>TLB_READ, size, s);
    W.mem(wop, lg, 0);
  } else {
    tlbProbe(r, <usize>TLB_READ, size);
    W.structured(W.IF, W.T_I64);
    nest++;
    hostAddr();
    W.mem(wop, lg, 0);
    W.op(W.ELSE);
    finishInInterpreter(r);
    nest--;
    W.op(W.END);
  }
  setReg(<u32>load<u8>(r, R_RD));
}

function emitStore(r: usize, size: u32, wop: u8, lg: u32): void {
  const s = takeSite();
  if (s >= 0) {
    siteProbe(r, <usize>TLB_WRITE, size, s);
    getReg(<u32>load<u8>(r, R_RS2));
    W.mem(wop, lg, 0);
    return;
  }
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

// ---- the page of a loop's access site, kept in locals ----
// Inside a Wasm loop, each load or store record (a "site") keeps the TLB tag and addend of the
// page it last hit in two locals, and compares with that tag first: a loop that walks an array
// or reads a table hits it on every iteration but the first of each page, with no TLB entry
// address to compute and no addend to load (that load was on the critical path of crc32's table
// lookup). The TLB does not change while compiled code runs: only the slow paths fill or flush
// it (a TLB miss, a CSR write, sfence.vma, a dirty-log clear by the host), and they all leave the
// function (jitRest, the run loop); btCsr, the one call that goes on, forgets every site. So a
// tag equal to the site's is a hit on the same entry, and a write site is filled only from a hit
// in TLB_WRITE, as the plain probe would. A loop's head sets its sites to EMPTY (the TLB's empty
// tag, which no access matches: misaligned bits and ctx never make all ones).
// (SITES, regs.ts: sites per loop; the locals are shared by every loop of a region, each loop's
// head resets them.)
const EMPTY_TAG: i64 = -1;
/** Records of the block being emitted that may take a site: index < siteEnd (the loop's part). */
let siteEnd: u32 = 0;
let siteIndex: u32 = 0;
let nextSite: u32 = 0;

/** A site for the access being emitted, or -1 (not in a loop, or the loop has used them all). */
function takeSite(): i32 {
  if (siteIndex >= siteEnd || nextSite >= SITES) return -1;
  const s = nextSite;
  nextSite++;
  return <i32>s;
}
/** Every site empty: at a loop's head, and after a call that may change the TLB. */
function resetSites(): void {
  for (let s: u32 = 0; s < SITES; s++) { W.i64c(EMPTY_TAG); W.localSet(L_SITE_TAG + s); }
}

/**
 * va = rs1 + imm into L_VA; pushes the host address of the access when its page's tag is site s's
 * or hits the TLB (then it becomes site s's); otherwise finishes in the interpreter.
 */
function siteProbe(r: usize, tlb: usize, size: u32, s: i32): void {
  const tag = L_SITE_TAG + <u32>s;
  const add = L_SITE_ADD + <u32>s;
  vaTee(r);
  // key = (va & (PAGE_MASK | (size - 1))) | ctxData, as the TLB's tag (alignment folded in)
  tagKey(size);
  W.localTee(L_T2);
  W.localGet(tag);
  W.op(W.I64_NE);
  // Not the site's page: probe the TLB (entry = tlb + ((va >> 12) & (TLB_ENTRIES - 1)) * 16);
  // a hit makes it the site's page, a miss finishes in the interpreter. (The hit path is
  // straight: V8 keeps the tag and addend where they are and moves them only on this path.)
  W.structured(W.IF, W.T_VOID);
  nest++;
  W.localGet(L_VA);
  tlbEntry(tlb);
  W.localTee(L_E);
  W.mem(W.I64_LOAD, 3, 0);
  W.localGet(L_T2);
  W.op(W.I64_NE);
  W.structured(W.IF, W.T_VOID);
  nest++;
  finishInInterpreter(r);
  nest--;
  W.op(W.END);
  W.localGet(L_T2);
  W.localSet(tag);
  W.localGet(L_E);
  W.mem(W.I32_LOAD, 2, 8);
  W.localSet(add);
  nest--;
  W.op(W.END);
  W.localGet(L_VA);
  W.op(W.I32_WRAP_I64);
  W.localGet(add);
  W.op(W.I32_ADD);
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
      for (let k: u32 = 0; k < regionBlocks() && compares < MAX_RETURN_COMPARES; k++) {
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
 * block's last record: after a write that may enable a pending interrupt, eventAt's slot
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
  if (siteEnd != 0) resetSites(); // (btCsr may change translation: the sites forget their pages)
  if (btInlineIrq(r)) {
    W.i32c(0);
    W.i64c(0);
    W.mem(W.I64_STORE, 3, <u32>(STATE + S_JIT_EVENT_AT));
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


function markRegs(): void {
  for (let i = 0; i < 33; i++) unchecked(regLocal[i] = -1);
  for (let b: u32 = 0; b < regionBlocks(); b++) {
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
  // locals: the registers and L_VA .. L_T3 as i64; L_E, L_NEXT as i32; the sites' tags (i64)
  // and addends (i32)
  W.u32leb(4);
  W.u32leb(L_E);
  W.byte(W.T_I64);
  W.u32leb(2);
  W.byte(W.T_I32);
  W.u32leb(SITES);
  W.byte(W.T_I64);
  W.u32leb(SITES);
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
  W.i32c(0);
  W.globalGet(G_IRQ);
  W.structured(W.IF, W.T_I64);
  W.i64c(0);
  W.op(W.ELSE);
  W.globalGet(G_EVENT);
  W.op(W.END);
  W.mem(W.I64_STORE, 3, <u32>(STATE + S_JIT_EVENT_AT));
  // ctxData, the same way (constant while the function runs: it changes only in slow paths).
  W.i32c(0);
  W.globalGet(G_CTX);
  W.mem(W.I64_STORE, 3, <u32>(STATE + S_JIT_CTX));
  W.structured(W.BLOCK, W.T_VOID); // $exit
  W.structured(W.LOOP, W.T_VOID); // $dispatch
  const k = regionBlocks();
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
    nextSite = 0;
    siteEnd = 0;
    if (unchecked(selfLoop[b])) {
      resetSites();
      siteEnd = end;
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

