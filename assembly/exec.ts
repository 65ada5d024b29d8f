// The interpreter: executes one decoded block (bt.ts), dispatching on the op ids generated
// from the ISA table. Semantics follow the unprivileged spec (RV64I ch. 2 and 5, M ch. 13,
// A ch. 14, Zicsr ch. 9; F and D in fp/exec.ts) and the privileged spec for the system instructions.
//
// Fast and slow paths: loads and stores first try the TLB inline (a tag compare and an add);
// a miss, MMIO, a code page or a page-crossing access goes to mmu.ts.
//
// Instruction counting: the whole block is counted when it starts; an instruction that traps
// (or exits for MMIO) is not retired, so the count is corrected by what did not run.
//
// Compiled code (jit/) follows the same rules, and hands everything but its fast paths back to
// this interpreter in the middle of a block (jitRest), so both tiers leave the same state.

import {
  TLB_READ, TLB_WRITE, TLB_ENTRIES, R_OP, R_RD, R_RS1, R_RS2, R_LEN, R_IMM, R_RAW, R_SIZE, R_PCOFF,
  B_COUNT, B_MEMOPS, B_HDR, B_BYTES, S_STAT_TLB_ACCESS, S_LR_ADDR, S_MMIO_LEN, EXIT_MMIO,
  EXIT_HALT, EXIT_HTIF,
} from './abi';
import * as O from './gen/isa';
import {
  pc, priv, virt, icount, stop, exitReason, epoch, setRestTaken, setPc, setCurRec, addIcount, setExit, getX, setX,
  rd64, wr64, PRV_M, PRV_S, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_BREAKPOINT, CAUSE_USER_ECALL,
  CAUSE_VS_ECALL, CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE,
} from './state';
import {
  ctxData, loadSlow, storeSlow, translateAtomic, flushTlbAll, flushGStage, flushTlbPage, flushTlbAsid,
  hyperLoad, hyperStore, ACC_READ, ACC_WRITE,
} from './mmu';
import { raiseException, doMret, doSret, mipValue, mieValue } from './trap';
import {
  csrAccess, csrFault, CSR_RW, CSR_RS, CSR_RC, wfiFault, sretFault, sfenceFault,
  hyperAccessFault, hfenceFault,
} from './csr';
import { fpExec } from './fp/exec';
import { btCsr, btCallout, btInlineImm } from './btvirt';

const PAGE_MASK: u64 = ~(<u64>0xfff);
/** Loads and stores in the blocks run (the TLB statistics' denominator); see flushExecStats. */
let statMemops: u64 = 0;

/** Add the counters gathered in globals to the STATE statistics. */
export function flushExecStats(): void {
  wr64(S_STAT_TLB_ACCESS, rd64(S_STAT_TLB_ACCESS) + statMemops);
  statMemops = 0;
}

// ---- record fields ----
@inline function fRd(r: usize): u32 { return <u32>load<u8>(r, R_RD); }
@inline function fRs1(r: usize): u32 { return <u32>load<u8>(r, R_RS1); }
@inline function fRs2(r: usize): u32 { return <u32>load<u8>(r, R_RS2); }
@inline function fImm(r: usize): i64 { return <i64>load<i32>(r, R_IMM); }
@inline function fLen(r: usize): u64 { return <u64>load<u8>(r, R_LEN); }
@inline function x1(r: usize): u64 { return getX(fRs1(r)); }
@inline function x2(r: usize): u64 { return getX(fRs2(r)); }
@inline function sext32(v: u64): u64 { return <u64><i64><i32>v; }
/** The pc of record r in a block entered at `base` (pc is kept in the record, not counted). */
@inline function here(base: u64, r: usize): u64 { return base + <u64>load<u16>(r, R_PCOFF); }
/** Before a slow path or a trap: make pc and the current record those of record r. */
@inline function at(base: u64, r: usize): void { setPc(here(base, r)); setCurRec(r); }

// ---- the TLB fast path ----
/**
 * Host address for an aligned load of `size` bytes at va, or 0 on a TLB miss or a misaligned
 * address (the low bits of va join the tag compare; see mmu.ts).
 */
@inline export function readHost(va: u64, size: u64): usize {
  const e = TLB_READ + (<usize>((va >> 12) & (TLB_ENTRIES - 1)) << 4);
  if (((va & (PAGE_MASK | (size - 1))) | ctxData) == load<u64>(e)) return <usize>(va + load<u64>(e, 8));
  return 0;
}
/** Host address for an aligned store of `size` bytes at va, or 0 (miss, misaligned). */
@inline export function writeHost(va: u64, size: u64): usize {
  const e = TLB_WRITE + (<usize>((va >> 12) & (TLB_ENTRIES - 1)) << 4);
  if (((va & (PAGE_MASK | (size - 1))) | ctxData) == load<u64>(e)) return <usize>(va + load<u64>(e, 8));
  return 0;
}

/** Instructions from record r to the end of the block (r included). */
@inline function left(r: usize, end: usize): u64 {
  return <u64>((end - r) / <usize>R_SIZE);
}

// ---- M extension helpers (§13.1-13.2) ----
function mulhu(a: u64, b: u64): u64 {
  const a0 = a & 0xffffffff, a1 = a >> 32, b0 = b & 0xffffffff, b1 = b >> 32;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}
function mulh(a: u64, b: u64): u64 {
  let h = mulhu(a, b);
  if (<i64>a < 0) h -= b;
  if (<i64>b < 0) h -= a;
  return h;
}
function mulhsu(a: u64, b: u64): u64 {
  let h = mulhu(a, b);
  if (<i64>a < 0) h -= b;
  return h;
}
function div64(a: u64, b: u64): u64 {
  if (b == 0) return 0xffffffffffffffff;
  if (a == 0x8000000000000000 && b == 0xffffffffffffffff) return a;
  return <u64>(<i64>a / <i64>b);
}
function rem64(a: u64, b: u64): u64 {
  if (b == 0) return a;
  if (a == 0x8000000000000000 && b == 0xffffffffffffffff) return 0;
  return <u64>(<i64>a % <i64>b);
}
function div32(a: u64, b: u64): u64 {
  const x = <i32>a, y = <i32>b;
  if (y == 0) return 0xffffffffffffffff;
  if (x == i32.MIN_VALUE && y == -1) return sext32(<u64><u32>x);
  return <u64><i64>(x / y);
}
function rem32(a: u64, b: u64): u64 {
  const x = <i32>a, y = <i32>b;
  if (y == 0) return <u64><i64>x;
  if (x == i32.MIN_VALUE && y == -1) return 0;
  return <u64><i64>(x % y);
}
function divu32(a: u64, b: u64): u64 {
  const x = <u32>a, y = <u32>b;
  if (y == 0) return 0xffffffffffffffff;
  return sext32(<u64>(x / y));
}
function remu32(a: u64, b: u64): u64 {
  const x = <u32>a, y = <u32>b;
  if (y == 0) return sext32(<u64>x);
  return sext32(<u64>(x % y));
}

// ---- A extension (§14): the reservation is the virtual address, as QEMU keeps it ----
function amo(op: u32, r: usize, end: usize, isD: bool): bool {
  const va = x1(r);
  const size: u64 = isD ? 8 : 4;
  if ((va & (size - 1)) != 0) {
    raiseException(op == O.OP_LR_W || op == O.OP_LR_D ? CAUSE_MISALIGNED_LOAD : CAUSE_MISALIGNED_STORE, va);
    return false;
  }
  if (op == O.OP_LR_W || op == O.OP_LR_D) {
    let h = readHost(va, size);
    if (h == 0) { h = translateAtomic(va, size, ACC_READ); if (h == 0) return false; }
    setX(fRd(r), isD ? load<u64>(h) : sext32(<u64>load<u32>(h)));
    wr64(S_LR_ADDR, va);
    return true;
  }
  if (op == O.OP_SC_W || op == O.OP_SC_D) {
    if (rd64(S_LR_ADDR) != va) {
      wr64(S_LR_ADDR, 0xffffffffffffffff);
      setX(fRd(r), 1);
      return true;
    }
    let h = writeHost(va, size);
    if (h == 0) { h = translateAtomic(va, size, ACC_WRITE); if (h == 0) return false; }
    if (isD) store<u64>(h, x2(r)); else store<u32>(h, <u32>x2(r));
    wr64(S_LR_ADDR, 0xffffffffffffffff);
    setX(fRd(r), 0);
    return true;
  }
  let h = writeHost(va, size);
  if (h == 0) { h = translateAtomic(va, size, ACC_WRITE); if (h == 0) return false; }
  const old: u64 = isD ? load<u64>(h) : sext32(<u64>load<u32>(h));
  const src = x2(r);
  let nv: u64 = 0;
  if (op == O.OP_AMOSWAP_W || op == O.OP_AMOSWAP_D) nv = src;
  else if (op == O.OP_AMOADD_W || op == O.OP_AMOADD_D) nv = old + src;
  else if (op == O.OP_AMOXOR_W || op == O.OP_AMOXOR_D) nv = old ^ src;
  else if (op == O.OP_AMOAND_W || op == O.OP_AMOAND_D) nv = old & src;
  else if (op == O.OP_AMOOR_W || op == O.OP_AMOOR_D) nv = old | src;
  else if (isD) {
    if (op == O.OP_AMOMIN_D) nv = <i64>old < <i64>src ? old : src;
    else if (op == O.OP_AMOMAX_D) nv = <i64>old > <i64>src ? old : src;
    else if (op == O.OP_AMOMINU_D) nv = old < src ? old : src;
    else nv = old > src ? old : src;
  } else {
    const a = <i32>old, b = <i32>src;
    if (op == O.OP_AMOMIN_W) nv = <u64><i64>(a < b ? a : b);
    else if (op == O.OP_AMOMAX_W) nv = <u64><i64>(a > b ? a : b);
    else if (op == O.OP_AMOMINU_W) nv = <u64><i64><i32>(<u32>a < <u32>b ? <u32>a : <u32>b);
    else nv = <u64><i64><i32>(<u32>a > <u32>b ? <u32>a : <u32>b);
  }
  if (isD) store<u64>(h, nv); else store<u32>(h, <u32>nv);
  setX(fRd(r), old);
  return true;
}

/** Execute a decoded block from its first record. pc is the block's start address. */
export function execBlock(blk: usize): void {
  const n = <u64>load<u32>(blk, B_COUNT);
  addIcount(n);
  statMemops += <u64>load<u32>(blk, B_MEMOPS);
  execRecords(blk, blk + <usize>B_HDR, pc);
}

/**
 * Compiled code's way out for whatever it does not do itself (jit/emit.ts): run block `blk`
 * from record r to its end as execBlock would have, the block having started at pc `base` and
 * been counted already. The registers are in STATE; pc is set as the block leaves it.
 */
export function jitRest(blk: usize, r: usize, base: u64): void {
  setRestTaken(true);
  execRecords(blk, r, base);
}

/** Execute the records of `blk` from `first` on (the block started at pc `base`). */
@inline function execRecords(blk: usize, first: usize, base: u64): void {
  let r = first;
  const end = blk + <usize>B_HDR + <usize>load<u32>(blk, B_COUNT) * <usize>R_SIZE;
  while (true) {
    const op = <u32>load<u16>(r, R_OP);
    switch (op) {
      // ---- RV64I: upper immediates and jumps ----
      case O.OP_LUI: setX(fRd(r), <u64>fImm(r)); break;
      case O.OP_AUIPC: setX(fRd(r), here(base, r) + <u64>fImm(r)); break;
      case O.OP_JAL: {
        const p = here(base, r);
        setX(fRd(r), p + fLen(r));
        setPc(p + <u64>fImm(r));
        return;
      }
      case O.OP_JALR: {
        const t = (x1(r) + <u64>fImm(r)) & ~(<u64>1);
        setX(fRd(r), here(base, r) + fLen(r));
        setPc(t);
        return;
      }
      // ---- branches: taken leaves the block here; not taken goes on with the next record ----
      case O.OP_BEQ: if (x1(r) == x2(r)) { taken(base, r, end); return; } break;
      case O.OP_BNE: if (x1(r) != x2(r)) { taken(base, r, end); return; } break;
      case O.OP_BLT: if (<i64>x1(r) < <i64>x2(r)) { taken(base, r, end); return; } break;
      case O.OP_BGE: if (<i64>x1(r) >= <i64>x2(r)) { taken(base, r, end); return; } break;
      case O.OP_BLTU: if (x1(r) < x2(r)) { taken(base, r, end); return; } break;
      case O.OP_BGEU: if (x1(r) >= x2(r)) { taken(base, r, end); return; } break;
      // ---- loads ----
      case O.OP_LB: {
        const va = x1(r) + <u64>fImm(r);
        const h = readHost(va, 1);
        let v: u64;
        if (h != 0) v = <u64><i64>load<i8>(h);
        else { v = slowLoad(va, 1, true, here(base, r), r, <u32>left(r, end)); if (stop) return; }
        setX(fRd(r), v);
        break;
      }
      case O.OP_LH: {
        const va = x1(r) + <u64>fImm(r);
        const h = readHost(va, 2);
        let v: u64;
        if (h != 0) v = <u64><i64>load<i16>(h);
        else { v = slowLoad(va, 2, true, here(base, r), r, <u32>left(r, end)); if (stop) return; }
        setX(fRd(r), v);
        break;
      }
      case O.OP_LW: {
        const va = x1(r) + <u64>fImm(r);
        const h = readHost(va, 4);
        let v: u64;
        if (h != 0) v = <u64><i64>load<i32>(h);
        else { v = slowLoad(va, 4, true, here(base, r), r, <u32>left(r, end)); if (stop) return; }
        setX(fRd(r), v);
        break;
      }
      case O.OP_LD: {
        const va = x1(r) + <u64>fImm(r);
        const h = readHost(va, 8);
        let v: u64;
        if (h != 0) v = load<u64>(h);
        else { v = slowLoad(va, 8, false, here(base, r), r, <u32>left(r, end)); if (stop) return; }
        setX(fRd(r), v);
        break;
      }
      case O.OP_LBU: {
        const va = x1(r) + <u64>fImm(r);
        const h = readHost(va, 1);
        let v: u64;
        if (h != 0) v = <u64>load<u8>(h);
        else { v = slowLoad(va, 1, false, here(base, r), r, <u32>left(r, end)); if (stop) return; }
        setX(fRd(r), v);
        break;
      }
      case O.OP_LHU: {
        const va = x1(r) + <u64>fImm(r);
        const h = readHost(va, 2);
        let v: u64;
        if (h != 0) v = <u64>load<u16>(h);
        else { v = slowLoad(va, 2, false, here(base, r), r, <u32>left(r, end)); if (stop) return; }
        setX(fRd(r), v);
        break;
      }
      case O.OP_LWU: {
        const va = x1(r) + <u64>fImm(r);
        const h = readHost(va, 4);
        let v: u64;
        if (h != 0) v = <u64>load<u32>(h);
        else { v = slowLoad(va, 4, false, here(base, r), r, <u32>left(r, end)); if (stop) return; }
        setX(fRd(r), v);
        break;
      }
      // ---- stores ----
      case O.OP_SB: {
        const va = x1(r) + <u64>fImm(r);
        const h = writeHost(va, 1);
        if (h != 0) store<u8>(h, <u8>x2(r));
        else if (slowStore(va, 1, x2(r), here(base, r), r, <u32>left(r, end))) return;
        break;
      }
      case O.OP_SH: {
        const va = x1(r) + <u64>fImm(r);
        const h = writeHost(va, 2);
        if (h != 0) store<u16>(h, <u16>x2(r));
        else if (slowStore(va, 2, x2(r), here(base, r), r, <u32>left(r, end))) return;
        break;
      }
      case O.OP_SW: {
        const va = x1(r) + <u64>fImm(r);
        const h = writeHost(va, 4);
        if (h != 0) store<u32>(h, <u32>x2(r));
        else if (slowStore(va, 4, x2(r), here(base, r), r, <u32>left(r, end))) return;
        break;
      }
      case O.OP_SD: {
        const va = x1(r) + <u64>fImm(r);
        const h = writeHost(va, 8);
        if (h != 0) store<u64>(h, x2(r));
        else if (slowStore(va, 8, x2(r), here(base, r), r, <u32>left(r, end))) return;
        break;
      }
      // ---- integer register-immediate ----
      case O.OP_ADDI: setX(fRd(r), x1(r) + <u64>fImm(r)); break;
      case O.OP_SLTI: setX(fRd(r), <u64>(<i64>x1(r) < fImm(r))); break;
      case O.OP_SLTIU: setX(fRd(r), <u64>(x1(r) < <u64>fImm(r))); break;
      case O.OP_XORI: setX(fRd(r), x1(r) ^ <u64>fImm(r)); break;
      case O.OP_ORI: setX(fRd(r), x1(r) | <u64>fImm(r)); break;
      case O.OP_ANDI: setX(fRd(r), x1(r) & <u64>fImm(r)); break;
      case O.OP_SLLI: setX(fRd(r), x1(r) << <u64>fImm(r)); break;
      case O.OP_SRLI: setX(fRd(r), x1(r) >> <u64>fImm(r)); break;
      case O.OP_SRAI: setX(fRd(r), <u64>(<i64>x1(r) >> fImm(r))); break;
      // ---- integer register-register ----
      case O.OP_ADD: setX(fRd(r), x1(r) + x2(r)); break;
      case O.OP_SUB: setX(fRd(r), x1(r) - x2(r)); break;
      case O.OP_SLL: setX(fRd(r), x1(r) << (x2(r) & 63)); break;
      case O.OP_SLT: setX(fRd(r), <u64>(<i64>x1(r) < <i64>x2(r))); break;
      case O.OP_SLTU: setX(fRd(r), <u64>(x1(r) < x2(r))); break;
      case O.OP_XOR: setX(fRd(r), x1(r) ^ x2(r)); break;
      case O.OP_SRL: setX(fRd(r), x1(r) >> (x2(r) & 63)); break;
      case O.OP_SRA: setX(fRd(r), <u64>(<i64>x1(r) >> <i64>(x2(r) & 63))); break;
      case O.OP_OR: setX(fRd(r), x1(r) | x2(r)); break;
      case O.OP_AND: setX(fRd(r), x1(r) & x2(r)); break;
      // ---- RV64I word ops: 32-bit result sign-extended (§5.2) ----
      case O.OP_ADDIW: setX(fRd(r), sext32(x1(r) + <u64>fImm(r))); break;
      case O.OP_SLLIW: setX(fRd(r), sext32(<u64>(<u32>x1(r) << <u32>fImm(r)))); break;
      case O.OP_SRLIW: setX(fRd(r), sext32(<u64>(<u32>x1(r) >> <u32>fImm(r)))); break;
      case O.OP_SRAIW: setX(fRd(r), <u64><i64>(<i32>x1(r) >> <i32>fImm(r))); break;
      case O.OP_ADDW: setX(fRd(r), sext32(x1(r) + x2(r))); break;
      case O.OP_SUBW: setX(fRd(r), sext32(x1(r) - x2(r))); break;
      case O.OP_SLLW: setX(fRd(r), sext32(<u64>(<u32>x1(r) << (<u32>x2(r) & 31)))); break;
      case O.OP_SRLW: setX(fRd(r), sext32(<u64>(<u32>x1(r) >> (<u32>x2(r) & 31)))); break;
      case O.OP_SRAW: setX(fRd(r), <u64><i64>(<i32>x1(r) >> (<i32>x2(r) & 31))); break;
      // ---- M ----
      case O.OP_MUL: setX(fRd(r), x1(r) * x2(r)); break;
      case O.OP_MULH: setX(fRd(r), mulh(x1(r), x2(r))); break;
      case O.OP_MULHSU: setX(fRd(r), mulhsu(x1(r), x2(r))); break;
      case O.OP_MULHU: setX(fRd(r), mulhu(x1(r), x2(r))); break;
      case O.OP_DIV: setX(fRd(r), div64(x1(r), x2(r))); break;
      case O.OP_DIVU: { const b = x2(r); setX(fRd(r), b == 0 ? 0xffffffffffffffff : x1(r) / b); break; }
      case O.OP_REM: setX(fRd(r), rem64(x1(r), x2(r))); break;
      case O.OP_REMU: { const b = x2(r); setX(fRd(r), b == 0 ? x1(r) : x1(r) % b); break; }
      case O.OP_MULW: setX(fRd(r), sext32(x1(r) * x2(r))); break;
      case O.OP_DIVW: setX(fRd(r), div32(x1(r), x2(r))); break;
      case O.OP_DIVUW: setX(fRd(r), divu32(x1(r), x2(r))); break;
      case O.OP_REMW: setX(fRd(r), rem32(x1(r), x2(r))); break;
      case O.OP_REMUW: setX(fRd(r), remu32(x1(r), x2(r))); break;
      // ---- A ----
      case O.OP_LR_W: case O.OP_SC_W: case O.OP_AMOSWAP_W: case O.OP_AMOADD_W: case O.OP_AMOXOR_W:
      case O.OP_AMOAND_W: case O.OP_AMOOR_W: case O.OP_AMOMIN_W: case O.OP_AMOMAX_W:
      case O.OP_AMOMINU_W: case O.OP_AMOMAXU_W: {
        at(base, r);
        const ep = epoch;
        if (!amo(op, r, end, false)) { addIcount(-left(r, end)); return; }
        if (epoch != ep) { codeChanged(base, r, end); return; }
        break;
      }
      case O.OP_LR_D: case O.OP_SC_D: case O.OP_AMOSWAP_D: case O.OP_AMOADD_D: case O.OP_AMOXOR_D:
      case O.OP_AMOAND_D: case O.OP_AMOOR_D: case O.OP_AMOMIN_D: case O.OP_AMOMAX_D:
      case O.OP_AMOMINU_D: case O.OP_AMOMAXU_D: {
        at(base, r);
        const ep = epoch;
        if (!amo(op, r, end, true)) { addIcount(-left(r, end)); return; }
        if (epoch != ep) { codeChanged(base, r, end); return; }
        break;
      }
      // ---- fences: one hart, and stores already invalidate decoded code (bt.ts) ----
      case O.OP_FENCE: break;
      case O.OP_FENCE_I: break;
      // ---- system ----
      case O.OP_CSRRW: case O.OP_CSRRS: case O.OP_CSRRC:
      case O.OP_CSRRWI: case O.OP_CSRRSI: case O.OP_CSRRCI: {
        at(base, r);
        const csr = <u32>fImm(r) & 0xfff;
        const kind = op == O.OP_CSRRW || op == O.OP_CSRRWI ? CSR_RW : op == O.OP_CSRRS || op == O.OP_CSRRSI ? CSR_RS : CSR_RC;
        const imm = op >= O.OP_CSRRWI;
        const src: u64 = imm ? <u64>fRs1(r) : x1(r);
        // csrrs/csrrc with rs1 = x0 (or zimm = 0) read without writing (§9.1).
        const writes = kind == CSR_RW || fRs1(r) != 0;
        const old = csrAccess(csr, kind, src, writes);
        if (csrFault != 0) { insnFault(r, end, csrFault); return; }
        setX(fRd(r), old);
        break;
      }
      case O.OP_ECALL: {
        at(base, r);
        addIcount(-left(r, end));
        // ecall from U 8, S 9, M 11; from VS 10 (VU stays 8).
        raiseException(virt && priv == PRV_S ? CAUSE_VS_ECALL : CAUSE_USER_ECALL + <u64>priv, 0);
        return;
      }
      case O.OP_EBREAK: {
        at(base, r);
        addIcount(-left(r, end));
        raiseException(CAUSE_BREAKPOINT, 0); // tval 0, as QEMU (the spec allows 0 or the pc)
        return;
      }
      case O.OP_MRET: {
        at(base, r);
        if (priv != PRV_M) { illegal(r, end); return; }
        doMret();
        return;
      }
      case O.OP_SRET: {
        at(base, r);
        const f = sretFault();
        if (f != 0) { insnFault(r, end, f); return; }
        doSret();
        return;
      }
      case O.OP_WFI: {
        at(base, r);
        const f = wfiFault();
        if (f != 0) { insnFault(r, end, f); return; }
        setPc(pc + fLen(r));
        // Nothing pending and enabled in mie: the hart sleeps until the host has an event.
        if ((mipValue() & mieValue()) == 0) setExit(EXIT_HALT);
        return;
      }
      case O.OP_SFENCE_VMA: {
        at(base, r);
        const f = sfenceFault();
        if (f != 0) { insnFault(r, end, f); return; }
        // With V = 1 this fences the guest's VS-stage translations (hfence.vvma semantics):
        // the TLB does not tell those apart, so V = 1 flushes by page or everything.
        if (fRs1(r) != 0) flushTlbPage(x1(r));
        else if (fRs2(r) != 0 && !virt) flushTlbAsid(x2(r) & 0xffff);
        else flushTlbAll();
        break;
      }
      // ---- binary translation of a guest kernel (--virt bt, btvirt.ts): only in its blocks ----
      case O.OP_BT_INLINE: {
        // A CSR access of the virtual CSR file: the last record of its block (CSR ops end blocks).
        setX(fRd(r), btCsr(r, btInlineImm(r) ? <u64>fRs1(r) : x1(r)));
        break;
      }
      case O.OP_BT_CALLOUT: {
        at(base, r);
        addIcount(-left(r, end));
        btCallout(r);
        return;
      }
      // ---- H: hypervisor loads and stores (§8.2.8) and fences (§8.2.9) ----
      case O.OP_HLV_B: case O.OP_HLV_BU: case O.OP_HLV_H: case O.OP_HLV_HU: case O.OP_HLVX_HU:
      case O.OP_HLV_W: case O.OP_HLVX_WU: case O.OP_HLV_WU: case O.OP_HLV_D: {
        at(base, r);
        const f = hyperAccessFault();
        if (f != 0) { insnFault(r, end, f); return; }
        const size: u64 = op <= O.OP_HLV_BU ? 1 : op <= O.OP_HLVX_HU ? 2 : op <= O.OP_HLV_WU ? 4 : 8;
        const x = op == O.OP_HLVX_HU || op == O.OP_HLVX_WU;
        let v = hyperLoad(x1(r), size, x);
        if (stop) { addIcount(-left(r, end)); return; }
        if (op == O.OP_HLV_B) v = <u64><i64><i8>v;
        else if (op == O.OP_HLV_H) v = <u64><i64><i16>v;
        else if (op == O.OP_HLV_W) v = sext32(v);
        setX(fRd(r), v);
        break;
      }
      case O.OP_HSV_B: case O.OP_HSV_H: case O.OP_HSV_W: case O.OP_HSV_D: {
        at(base, r);
        const f = hyperAccessFault();
        if (f != 0) { insnFault(r, end, f); return; }
        const size: u64 = op == O.OP_HSV_B ? 1 : op == O.OP_HSV_H ? 2 : op == O.OP_HSV_W ? 4 : 8;
        hyperStore(x1(r), size, x2(r));
        if (stop) { addIcount(-left(r, end)); return; }
        break;
      }
      case O.OP_HFENCE_VVMA: case O.OP_HFENCE_GVMA: {
        at(base, r);
        const f = hfenceFault(op == O.OP_HFENCE_GVMA);
        if (f != 0) { insnFault(r, end, f); return; }
        // Guest translations are tagged by VMID and V in the TLB contexts; flushing all of them
        // is what hfence.vvma needs at most; hfence.gvma also drops the G-stage cache.
        if (op == O.OP_HFENCE_GVMA) flushGStage(); else flushTlbAll();
        break;
      }
      default: {
        at(base, r);
        // F and D (the last ops of the table): fp/exec.ts. Out of the switch's way, so the
        // integer instructions pay nothing for them.
        if (op >= O.OP_FLW && op <= O.OP_FMV_D_X) {
          if (fpExec(op, r, left(r, end))) break;
          return;
        }
        illegal(r, end);
        return;
      }
    }
    r += <usize>R_SIZE;
    if (r >= end) {
      setPc(base + <u64>load<u32>(blk, B_BYTES));
      return;
    }
  }
}

/**
 * A taken branch in the middle of a block (F_BRANCH): pc = the target, and the records after it
 * were counted at the block's start but do not run.
 */
@inline function taken(base: u64, r: usize, end: usize): void {
  addIcount(-(left(r, end) - 1));
  setPc(here(base, r) + <u64>fImm(r));
}

/**
 * A store or AMO at r changed decoded code or translations (the epoch moved): the block ends
 * after it, and execution goes on at the next instruction with freshly decoded code.
 */
function codeChanged(base: u64, r: usize, end: usize): void {
  addIcount(-(left(r, end) - 1));
  setPc(here(base, r) + fLen(r));
}

/** Raise illegal instruction for the record at r (tval = the instruction bits, as QEMU). */
function illegal(r: usize, end: usize): void {
  insnFault(r, end, CAUSE_ILLEGAL_INSTRUCTION);
}

/** Raise an instruction exception (illegal 2, virtual 22) with tval = the instruction bits. */
function insnFault(r: usize, end: usize, cause: u64): void {
  addIcount(-left(r, end));
  const raw = load<u32>(r, R_RAW);
  raiseException(cause, <u64>(fLen(r) == 2 ? raw & 0xffff : raw));
}

// ---- the memory slow paths ----

/**
 * A load that missed the TLB fast path, for the record r at pc `pcv` with `left` records to
 * the end of its block (r included). Returns the loaded value, sign-extended when `signed`.
 * On an exception or an MMIO exit `stop` is set: the load is not retired, so the records from r
 * on are uncounted; an MMIO exit keeps pc at the load, and run() completes it on resume.
 */
export function slowLoad(va: u64, size: u32, signed: bool, pcv: u64, r: usize, left: u32): u64 {
  setPc(pcv);
  setCurRec(r);
  const v = loadSlow(va, <u64>size, fRd(r), signed);
  if (stop) {
    addIcount(-<u64>left);
    if (exitReason == EXIT_MMIO) wr64(S_MMIO_LEN, fLen(r));
    return 0;
  }
  if (!signed || size == 8) return v;
  const sh = <u64>(64 - (size << 3));
  return <u64>(<i64>(v << sh) >> <i64>sh);
}

/**
 * A store that missed the TLB fast path (record r at pc `pcv`, `left` records to its block's
 * end). Returns true when the block must end here:
 *   - an exception or an MMIO exit (not retired: pc stays at the store, or is the handler);
 *   - a store to tohost (retired, then the HTIF exit);
 *   - a store that invalidated decoded code or changed translations (the epoch moved): the
 *     store is retired and execution goes on at the next instruction with freshly decoded
 *     code, so a program that rewrites the rest of its own block runs the new instructions.
 */
export function slowStore(va: u64, size: u32, v: u64, pcv: u64, r: usize, left: u32): bool {
  setPc(pcv);
  setCurRec(r);
  const ep = epoch;
  storeSlow(va, <u64>size, v);
  if (stop) {
    if (exitReason == EXIT_HTIF) {
      addIcount(-(<u64>left - 1));
      setPc(pcv + fLen(r));
      return true;
    }
    addIcount(-<u64>left);
    if (exitReason == EXIT_MMIO) wr64(S_MMIO_LEN, fLen(r));
    return true;
  }
  if (epoch != ep) {
    addIcount(-(<u64>left - 1));
    setPc(pcv + fLen(r));
    return true;
  }
  return false;
}

