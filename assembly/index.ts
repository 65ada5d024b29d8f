// The core's entry points: what the host calls. Like ioctl(KVM_RUN), run() executes guest
// instructions until something needs the host (MMIO, WFI with nothing pending, tohost, the
// end of the budget) and returns the exit reason; details are in the STATE exit fields.
//
// The core imports only the memory (env.memory) and env.abort, which assertions call
// (stripped in release builds); see assembly/host.ts.

import {
  STATE, STATE_SIZE, TLB_READ, TLB_ENTRIES, CTX_TABLE, CTX_ENTRIES, PAGE_INFO, RAM_BASE,
  S_RAM_SIZE, S_MSTATUS, S_MMIO_STATUS, S_MMIO_WRITE, S_MMIO_RD, S_MMIO_SIZE, S_MMIO_SIGNED,
  S_MMIO_DATA, S_MMIO_VADDR, S_MMIO_LEN, S_TIME_SHIFT, S_LR_ADDR, S_MTIMECMP, S_STIMECMP,
  S_X, S_PRIV, S_PC, S_V, S_HS_EXTERNAL, S_VS_BLOCK, S_VS_BLOCK_END, S_H_BLOCK, S_H_BLOCK_END,
  VMCS, VM_X, VM_PC, VM_PRIV, VM_VS, VM_CONTROLS, VM_BUDGET, VM_EXIT_REASON, VM_EXIT_CAUSE,
  VM_EXIT_INSTRUCTIONS, S_INSTRET, S_MENVCFG, S_U_EXTERNAL, S_HIDELEG, S_HIE, S_VSSTATUS,
  S_STAT_TRAPS, S_STAT_INTERRUPTS,
  EXIT_BUDGET, EXIT_MMIO, EXIT_DEBUG, MMIO_FAULT, MMIO_PENDING, PAGE_SIZE, RAM_SIZE_MAX, RAM_OFFSET, RAM_DIRTY, DIRTY_LOG,
} from './abi';
import { S_F, S_FCSR } from './abi';
import {
  pc, virt, icount, irqCheck, exitReason, eventAt, loadHot, saveHot, clearExit, setStop, setIrqCheck, setExit,
  setPc, setCurRec, addIcount, setX, rd64, wr64, bumpEpoch, setEventAt, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
} from './state';
import { updateContexts, flushTlbAll, flushGStage, invalidateCodePage, flushMmuStats } from './mmu';
import {
  flushBlocks, findBlock, chained, flushBlockStats, decodeInto as decodeRecord, setSingleStep, singleStepping,
  bpCount, atBreakpoint,
} from './bt';
export { setSingleStep };
export { setBreakpoint, setBreakpointCount } from './bt';
export { setWatchpoint, setWatchpointCount, takeWatchHit } from './mmu';
import { execBlock, flushExecStats } from './exec';
import { jitActive, jitBegin, jitReset, execute, flushJitStats } from './jit/jit';

// ---- what compiled code (jit/emit.ts) imports from the core as module "c" ----
export { jitReady } from './jit/jit';
export { sharedMemory as jitSharedMemory } from './jit/module';
export { jitRest } from './exec';
export { pc, icount, irqCheck, eventAt } from './state';
export { ctxData } from './mmu';
export { btCsr, btCallout } from './btvirt';
import { btEnter } from './btvirt';
import { checkInterrupts, raiseFault } from './trap';
import { nextTimerIcount, mtime } from './timer';
import { markDirty, dirtyLogOn } from './phys';
export { dirtyLogEnable, dirtyLogClear } from './dirty';
export { setAbsentOn } from './phys';
import { absentAt } from './phys';
/** The physical address the last EXIT_ABSENT stopped at (post-copy, phys.ts). */
export function absentAddress(): u64 {
  return absentAt;
}
import { flushWalkStats } from './walk';
import './host';

const NEVER: u64 = 0xffffffffffffffff;
/**
 * A run(budget) also ends after TRAP_FLOOR + (budget >> TRAP_SHIFT) traps and interrupts: a trap
 * retires nothing, so a guest whose handler traps again (a trap storm) would otherwise never use
 * up its budget, and run() would never return. A trap costs the host about as much as a few
 * dozen instructions, so a storm's run takes about as long as an ordinary one. A guest that
 * traps less than that never sees a difference (and nothing guest-visible depends on where a
 * run ends). The floor keeps short runs as they were: run(1) still follows a trap into its
 * handler (the ISA harness's step relies on that).
 */
const TRAP_SHIFT: u64 = 5;
const TRAP_FLOOR: u64 = 64;
/** True between an EXIT_MMIO and the run() that completes it. */
let mmioOutstanding: bool = false;

/** Prepare a machine with `ramSize` bytes of RAM (whole state cleared). */
export function init(ramSize: u64): void {
  // The first init of a new Memory (no RAM size yet) finds every region zero, so it skips the
  // zero fills: each would make the operating system back pages (page info, the G-stage cache,
  // the block hash: 0.8 MB, about 200 pages, 2-5 ms of a start) that the guest may never need (host
  // RSS, issue 16 goal 8; docs/performance.md "Start-up").
  const fresh = rd64(S_RAM_SIZE) == 0;
  if (!fresh) memory.fill(STATE, 0, STATE_SIZE);
  wr64(S_RAM_SIZE, ramSize);
  if (!fresh) memory.fill(PAGE_INFO, 0, <usize>(ramSize / <u64>PAGE_SIZE) * 4);
  jitReset(fresh);
  if (fresh) flushTlbAll(); // (the TLB's empty tag is not zero)
  else flushGStage();
  flushBlocks(!fresh);
  mmioOutstanding = false;
}

/**
 * Zero guest RAM for a machine reset: only the pages written since the last one (RAM_DIRTY), so
 * the host never touches, and never pays for, pages the guest did not use. Creation needs none of
 * this: a new Memory is zero.
 */
export function zeroRam(): void {
  const pages = <usize>(rd64(S_RAM_SIZE) >> 12);
  for (let byte: usize = 0; byte < (pages + 7) >> 3; byte++) {
    const bits = load<u8>(RAM_DIRTY + byte);
    if (bits == 0) continue;
    if (dirtyLogOn) store<u8>(DIRTY_LOG + byte, load<u8>(DIRTY_LOG + byte) | bits); // zeroed pages changed too
    for (let b: usize = 0; b < 8; b++) {
      if ((<u32>bits & (<u32>1 << <u32>b)) != 0) memory.fill(RAM_OFFSET + ((byte << 3) + b) * PAGE_SIZE, 0, PAGE_SIZE);
    }
    store<u8>(RAM_DIRTY + byte, 0);
  }
}

/** Reset the hart: M-mode at `entry` with a0..a2 as given (hartid, DTB, firmware info). */
export function reset(entry: u64, a0: u64, a1: u64, a2: u64): void {
  for (let i: u32 = 0; i < 33; i++) setX(i, 0);
  setX(10, a0);
  setX(11, a1);
  setX(12, a2);
  wr64(S_MSTATUS, (<u64>2 << 32) | (<u64>2 << 34)); // UXL = SXL = 64, FS = Off
  memory.fill(STATE + S_F, 0, 32 * 8); // f0..f31 (unspecified at reset) and fcsr: zero, as on a fresh QEMU hart
  wr64(S_FCSR, 0);
  wr64(S_LR_ADDR, NEVER);
  wr64(S_MTIMECMP, 0); // as QEMU: the timer is pending until software sets mtimecmp
  wr64(S_STIMECMP, NEVER);
  if (rd64(S_TIME_SHIFT) == 0) wr64(S_TIME_SHIFT, 3);
  loadHot();
  setPc(entry);
  wr64(S_PRIV, 3); // M-mode
  wr64(S_V, 0);
  saveHot();
  wr64(S_PRIV, 3);
  wr64(S_V, 0);
  loadHot();
  mmioOutstanding = false;
  updateContexts();
}

/** Finish the MMIO access of the previous exit with the host's answer. */
function completeMmio(): void {
  mmioOutstanding = false;
  const write = rd64(S_MMIO_WRITE) != 0;
  if (rd64(S_MMIO_STATUS) == MMIO_FAULT) {
    // No device there: an access fault (privileged spec §3.7, PMA violation), tval = va; from
    // V = 1 that is a guest virtual address, so GVA is set (§8.4.1, §8.2.1).
    raiseFault(write ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS, rd64(S_MMIO_VADDR), virt, 0, 0);
    return;
  }
  if (!write) {
    const size = rd64(S_MMIO_SIZE);
    let v = rd64(S_MMIO_DATA);
    if (size < 8) {
      const sh = 64 - size * 8;
      v = rd64(S_MMIO_SIGNED) != 0 ? <u64>((<i64>(v << sh)) >> <i64>sh) : (v << sh) >> sh;
    }
    const rd = <u32>rd64(S_MMIO_RD);
    // flw from a device (rd >= 34 names f[rd - 34], fp/exec.ts): the single is NaN-boxed.
    if (rd >= 34 && size == 4) v |= 0xffffffff00000000;
    setX(rd, v);
  }
  setPc(pc + rd64(S_MMIO_LEN));
  addIcount(1);
}

/** Traps and interrupts taken so far (both bump their counter in takeTrap). */
@inline function trapsTaken(): u64 {
  return rd64(S_STAT_TRAPS) + rd64(S_STAT_INTERRUPTS);
}

/**
 * Run until an exit; at most about `budget` instructions (checked between blocks, so a
 * run may retire up to one block more) and at most TRAP_FLOOR + (budget >> TRAP_SHIFT) traps
 * (see TRAP_SHIFT; a trap always sets irqCheck, so it is counted at the next event check and
 * costs the hot path nothing). Returns an EXIT_* reason.
 */
export function run(budget: u64): u32 {
  loadHot();
  clearExit();
  setCurRec(0);
  updateContexts();
  if (mmioOutstanding) completeMmio();
  setIrqCheck(true);
  const stopAt = icount + budget;
  const trapsAt = trapsTaken() + TRAP_FLOOR + (budget >> TRAP_SHIFT);
  let timerAt = NEVER;
  setEventAt(0);
  jitBegin(singleStepping() || bpCount != 0); // (a compiled region would run past a breakpoint)
  const tier2 = jitActive;
  let prev: usize = 0;
  while (true) {
    if (icount >= eventAt || irqCheck) {
      setCurRec(0); // an interrupt is taken between instructions
      if (icount >= stopAt || trapsTaken() >= trapsAt) { setExit(EXIT_BUDGET); break; }
      // Re-derive the timer deadline: a timer that is due now is handled as a pending
      // interrupt, and the deadline moves on when mtimecmp/stimecmp are rewritten.
      timerAt = nextTimerIcount();
      if (timerAt <= icount) timerAt = NEVER;
      setIrqCheck(false);
      if (checkInterrupts()) {
        prev = 0;
        if (exitReason != 0) break; // the interrupt exited to the host (HS or U external)
      }
      setEventAt(timerAt < stopAt ? timerAt : stopAt);
      if (bpCount != 0) {
        // A debugger's breakpoints (bt.ts): each starts a block, and with any set the event
        // check runs before every block (eventAt = icount), where pc is compared.
        if (atBreakpoint(pc)) { setExit(EXIT_DEBUG); break; }
        setEventAt(icount);
      }
    }
    setStop(false);
    let blk: usize = prev != 0 ? chained(prev) : 0;
    if (blk == 0) {
      setCurRec(0); // a fetch fault belongs to no decoded instruction
      blk = findBlock(prev);
      if (blk == 0) {
        // The fetch trapped: to the guest's handler, or out to the host (a VM exit).
        prev = 0;
        if (exitReason != 0) break;
        continue;
      }
    }
    if (tier2) execute(blk); else execBlock(blk);
    prev = blk;
    if (exitReason != 0) break;
  }
  if (exitReason == EXIT_MMIO) mmioOutstanding = true;
  flushExecStats();
  flushBlockStats();
  flushWalkStats();
  flushMmuStats();
  flushJitStats();
  saveHot();
  return exitReason;
}

/** The host wrote guest RAM (loader, DMA): drop decoded code of the pages it touched. */
export function invalidateRam(paddr: u64, len: u64): void {
  if (len == 0) return;
  const first = (paddr - <u64>RAM_BASE) >> 12;
  const last = (paddr + len - 1 - <u64>RAM_BASE) >> 12;
  for (let p = first; p <= last; p++) {
    invalidateCodePage(<usize>p);
    markDirty(<usize>p);
  }
}

/**
 * invalidateRam of whole RAM pages [first, first + count) by page number: no 64-bit arguments,
 * so the host passes numbers, not BigInts (migration writes pages one by one: host/migrate).
 */
export function invalidateRamPages(first: u32, count: u32): void {
  for (let p: u32 = 0; p < count; p++) {
    invalidateCodePage(<usize>(first + p));
    markDirty(<usize>(first + p));
  }
}

/**
 * Drop every cached translation: TLB entries, context ids, G-stage page-walk cache (what an
 * hfence.gvma with rs1 = rs2 = x0 does). Decoded code is kept: it is keyed by host physical
 * address. The VMM calls this after changing or removing G-stage mappings; adding a mapping
 * needs nothing, since no failed translation is ever cached.
 */
export function flushTlb(): void {
  flushGStage();
}

/** Drop every TLB entry and decoded block (snapshot restore, debugging). */
export function flushAll(): void {
  flushGStage();
  flushBlocks();
}

/** mtime now, in 10 MHz ticks. */
export function mtimeNow(): u64 {
  loadHot();
  return mtime();
}

/** Decode one instruction word into the record at `rec` (for the host's disassembler). */
export function decodeInto(w: u32, rec: usize): void {
  decodeRecord(w, rec);
}

/**
 * Enter the guest described by the VMCS (at VMCS) and run it until a VM exit, like
 * ioctl(KVM_RUN): guest registers, pc, privilege (VS or VU), the VS CSRs and the execution
 * controls (hstatus, hedeleg, hideleg, hie, hvip, hcounteren, htimedelta, hgatp, henvcfg) are
 * loaded into the hart, V = 1 and HS is external. At most VM_BUDGET instructions run. On return
 * the guest state is written back to the VMCS with the exit reason (and, for EXIT_VM_TRAP, the
 * trap's cause, tval, htval, htinst, instruction length and bits, written by the trap code).
 */
export function vmRun(): u32 {
  memory.copy(STATE + S_X, VMCS + VM_X, 32 * 8);
  store<u64>(STATE + S_X, 0);
  store<u64>(STATE + S_PC, load<u64>(VMCS + VM_PC));
  store<u64>(STATE + S_PRIV, load<u64>(VMCS + VM_PRIV) & 1);
  memory.copy(STATE + S_VS_BLOCK, VMCS + VM_VS, S_VS_BLOCK_END - S_VS_BLOCK);
  memory.copy(STATE + S_H_BLOCK, VMCS + VM_CONTROLS, S_H_BLOCK_END - S_H_BLOCK);
  store<u64>(STATE + S_V, 1);
  store<u64>(STATE + S_HS_EXTERNAL, 1);
  // The host plays M-mode too: it lets its guests use Sstc (vstimecmp, with henvcfg.STCE).
  store<u64>(STATE + S_MENVCFG, load<u64>(STATE + S_MENVCFG) | (<u64>1 << 63));
  // The host's HS-level mstatus.FS must not be Off for the guest to use F/D (priv spec §8.2.11:
  // with V = 1 both FS fields apply); the guest's own switch is vsstatus.FS. f0..f31 and fcsr
  // stay in the hart: one vCPU per core instance (fp/exec.ts).
  if ((load<u64>(STATE + S_MSTATUS) & (<u64>3 << 13)) == 0) store<u64>(STATE + S_MSTATUS, load<u64>(STATE + S_MSTATUS) | (<u64>1 << 13));
  store<u64>(VMCS + VM_EXIT_CAUSE, 0);
  const before = load<u64>(STATE + S_INSTRET);
  const reason = run(load<u64>(VMCS + VM_BUDGET));
  memory.copy(VMCS + VM_X, STATE + S_X, 32 * 8);
  store<u64>(VMCS + VM_X, 0);
  store<u64>(VMCS + VM_PC, load<u64>(STATE + S_PC));
  store<u64>(VMCS + VM_PRIV, load<u64>(STATE + S_PRIV));
  memory.copy(VMCS + VM_VS, STATE + S_VS_BLOCK, S_VS_BLOCK_END - S_VS_BLOCK);
  memory.copy(VMCS + VM_CONTROLS, STATE + S_H_BLOCK, S_H_BLOCK_END - S_H_BLOCK);
  store<u64>(VMCS + VM_EXIT_REASON, <u64>reason);
  store<u64>(VMCS + VM_EXIT_INSTRUCTIONS, load<u64>(STATE + S_INSTRET) - before);
  store<u64>(STATE + S_V, 0);
  store<u64>(STATE + S_HS_EXTERNAL, 0);
  return reason;
}

/**
 * Enter a deprivileged guest kernel (trap-and-emulate, host/vmm/virt/trap.ts) and run it until
 * it traps: the hart runs in U-mode with V = 0 and the satp the host set (a shadow table), and
 * "U is external", so every trap (illegal instruction for each privileged one, page faults,
 * ecall, interrupts) is an EXIT_VM_TRAP with cause, tval and instruction bits in the VMCS. The
 * guest registers and pc come from and go back to the VMCS, as in vmRun. The VMCS VS block and
 * controls are loaded only for the guest's interrupts: its timer (vstimecmp, htimedelta,
 * henvcfg.STCE) and hvip raise VS interrupts that, with hideleg = 0, are HS-level and so exit;
 * hie (the guest's sie) counts only when the guest could take them now (virtual U-mode, or
 * virtual S-mode with sstatus.SIE: VM_PRIV and vsstatus hold the virtual state).
 * Under --virt bt the guest kernel's inline CSR sites write the VMCS fields directly (btvirt.ts),
 * which the VMM reads after the exit as it reads what it emulated itself.
 */
export function trapRun(): u32 {
  memory.copy(STATE + S_X, VMCS + VM_X, 32 * 8);
  store<u64>(STATE + S_X, 0);
  store<u64>(STATE + S_PC, load<u64>(VMCS + VM_PC));
  store<u64>(STATE + S_PRIV, 0);
  memory.copy(STATE + S_VS_BLOCK, VMCS + VM_VS, S_VS_BLOCK_END - S_VS_BLOCK);
  memory.copy(STATE + S_H_BLOCK, VMCS + VM_CONTROLS, S_H_BLOCK_END - S_H_BLOCK);
  store<u64>(STATE + S_HIDELEG, 0);
  const virtualS = (load<u64>(VMCS + VM_PRIV) & 1) != 0;
  if (virtualS && (load<u64>(STATE + S_VSSTATUS) & 2) == 0) store<u64>(STATE + S_HIE, 0);
  // --virt bt (S_BT_ON): the guest kernel's blocks are translated (btvirt.ts); its user code is not.
  btEnter(virtualS);
  store<u64>(STATE + S_V, 0);
  store<u64>(STATE + S_U_EXTERNAL, 1);
  store<u64>(STATE + S_MENVCFG, load<u64>(STATE + S_MENVCFG) | (<u64>1 << 63));
  store<u64>(VMCS + VM_EXIT_CAUSE, 0);
  const before = load<u64>(STATE + S_INSTRET);
  const reason = run(load<u64>(VMCS + VM_BUDGET));
  memory.copy(VMCS + VM_X, STATE + S_X, 32 * 8);
  store<u64>(VMCS + VM_X, 0);
  store<u64>(VMCS + VM_PC, load<u64>(STATE + S_PC));
  store<u64>(VMCS + VM_EXIT_REASON, <u64>reason);
  store<u64>(VMCS + VM_EXIT_INSTRUCTIONS, load<u64>(STATE + S_INSTRET) - before);
  store<u64>(STATE + S_U_EXTERNAL, 0);
  return reason;
}
