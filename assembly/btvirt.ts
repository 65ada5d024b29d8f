// Binary translation of a deprivileged guest kernel (--virt bt, host/vmm/virt/bt.ts), as VMware
// translated x86 kernel code: the guest kernel runs in real U-mode under trapRun (index.ts), and
// when a block of its code (virtual S-mode) is decoded (bt.ts decodeBlock), each instruction is
// classed:
//
//   ident     everything else: runs as decoded (an M CSR, mret, an H instruction still traps
//             and the VMM gives the guest its own illegal-instruction trap, as under --virt trap)
//   inline    csrr/csrw of the virtual supervisor CSRs (sstatus, sie, sip, stvec, scounteren,
//             senvcfg, sscratch, sepc, scause, stval; reads of satp and stimecmp; reads of cycle,
//             time, instret): the record becomes OP_BT_INLINE and runs btCsr() against the
//             virtual CSR file, which is the VMCS (the fields --virt trap emulates against, so
//             the VMM, SBI and interrupt injection see one copy). No trap, no exit.
//   call-out  sret, wfi, sfence.vma, writes of satp and stimecmp: the record becomes
//             OP_BT_CALLOUT, which exits to the VMM (EXIT_VM_TRAP, cause CAUSE_BT_CALLOUT, the
//             instruction in VM_EXIT_INSN) without taking a trap; the VMM emulates it as
//             --virt trap does. Each changes what the VMM keeps outside the core (privilege,
//             the shadow table, the timer, the halt).
//
// Guest user code (virtual U) is not translated: its blocks are decoded as usual. Which of the
// two a block was decoded for is part of its key: btKey is XORed into the code generation the
// block records (B_GEN), so a block decoded for the other mode is stale, and changing btKey bumps
// the epoch (chains, the indirect-jump cache). Other modes keep btKey = 0: nothing changes for them.
//
// Every CSR instruction ends a block (the ISA table's F_END), so an inline site is always its
// block's last record (left = 1): a write that may enable a pending virtual interrupt (sstatus,
// sie, sip) sets irqCheck, and the run loop looks at interrupts before the next instruction, as
// it does after any trap-and-emulate entry. A write of sstatus.SUM or MXR changes which shadow
// table the guest needs (paging/shadow.ts keeps one per view): the core exits to the VMM after
// it (CAUSE_BT_RESYNC), which re-enters on the right one.
//
// Counting: the classes of each decoded block are added to S_STAT_BT_* when it is decoded
// (static); inline sites count each run (S_STAT_BT_INLINE_RUN), the VMM counts call-outs and
// the instructions a virtual-S entry retired (dynamic; host/vmm/virt/bt.ts).

import {
  VMCS, VM_VS, VM_CONTROLS, VM_SCOUNTEREN, VM_SENVCFG, VM_EXIT_CAUSE, VM_EXIT_TVAL, VM_EXIT_HTVAL,
  VM_EXIT_HTINST, VM_EXIT_INSN_LEN, VM_EXIT_INSN, S_VS_BLOCK, S_VSSTATUS, S_VSTVEC, S_VSSCRATCH,
  S_VSEPC, S_VSCAUSE, S_VSTVAL, S_VSATP, S_VSTIMECMP, S_H_BLOCK, S_HIE, S_HVIP, S_HTIMEDELTA,
  S_BT_ON, S_STAT_BT_IDENT, S_STAT_BT_INLINE, S_STAT_BT_CALLOUT, S_STAT_BT_INLINE_RUN,
  S_STAT_VM_EXITS, STATE, S_MSTATUS, R_OP, R_RS1, R_LEN, R_IMM, R_RAW, R_SIZE, B_HDR,
  CAUSE_BT_CALLOUT, CAUSE_BT_RESYNC, EXIT_VM_TRAP,
} from './abi';
import * as O from './gen/isa';
import { icount, addIcount, setIrqCheck, setExit, rd64, wr64, bumpEpoch, VS_INTERRUPTS, MSTATUS_FS } from './state';
import { withSD } from './fp/status';
import { mtime } from './timer';

/** XORed into B_GEN of blocks decoded for a translated guest kernel (bit 30: generations stay below it). */
const BT_KEY: u32 = 0x40000000;

/** BT_KEY while trapRun runs a virtual-S guest with BT on, else 0 (bt.ts). */
export let btKey: u32 = 0;

/** At trapRun's entry: translate this run's blocks if BT is on and the guest is in virtual S. */
export function btEnter(virtualS: bool): void {
  const k: u32 = virtualS && rd64(S_BT_ON) != 0 ? BT_KEY : 0;
  if (k != btKey) {
    btKey = k;
    bumpEpoch();
  }
}

// ---- the virtual CSR file: VMCS fields (host/vmm/vmcs.ts, host/vmm/virt/trap-csr.ts) ----
@inline function vs(off: usize): usize { return VMCS + VM_VS + (off - S_VS_BLOCK); }
@inline function ct(off: usize): usize { return VMCS + VM_CONTROLS + (off - S_H_BLOCK); }

const SIE: u64 = 1 << 1;
const SSTATUS_WRITABLE: u64 = (1 << 1) | (1 << 5) | (1 << 8) | (1 << 18) | (1 << 19); // SIE SPIE SPP SUM MXR
const SUM_MXR: u64 = (1 << 18) | (1 << 19);
const UXL64: u64 = 2 << 32;
const VSSIP: u64 = 1 << 2;
const VSTIP: u64 = 1 << 6;

// R_IMM of an OP_BT_INLINE record: the CSR number in bits 11:0 (as decoded), the access from bit 16.
const M_KIND: u32 = 3; // 1 RW, 2 RS, 3 RC
const M_IMM: u32 = 4; // rs1 is a 5-bit immediate
const M_WRITES: u32 = 8; // it writes (RW, or RS/RC with a non-zero source: Zicsr §9.1)
const M_IRQ: u32 = 16; // a write that may enable a pending interrupt (sstatus, sie, sip)

const CLASS_IDENT: u32 = 0;
const CLASS_INLINE: u32 = 1;
const CLASS_CALLOUT: u32 = 2;

/** The class of the CSR access `csr` (writes: whether it writes). */
function csrClass(csr: u32, writes: bool): u32 {
  switch (csr) {
    case 0x100: case 0x104: case 0x105: case 0x106: case 0x10a:
    case 0x140: case 0x141: case 0x142: case 0x143: case 0x144:
      return CLASS_INLINE;
    // satp: a write switches the shadow table; stimecmp: a write moves the deadline the run
    // loop schedules by. Both are the VMM's; reading them is not.
    case 0x14d: case 0x180:
      return writes ? CLASS_CALLOUT : CLASS_INLINE;
    // Zicntr (docs/techniques.md, Popek-Goldberg): behaviour-sensitive reads, unprivileged
    // unless scounteren hides them; the guest kernel may read them, so they are inline. A write
    // is the guest's own illegal instruction: ident, it traps and the VMM delivers it.
    case 0xc00: case 0xc01: case 0xc02:
      return writes ? CLASS_IDENT : CLASS_INLINE;
  }
  return CLASS_IDENT;
}

/** Class the record at `rec` and rewrite it when it is inline or a call-out. */
function classify(rec: usize): u32 {
  const op = <u32>load<u16>(rec, R_OP);
  if (op == O.OP_SRET || op == O.OP_WFI || op == O.OP_SFENCE_VMA) {
    store<u16>(rec, <u16>O.OP_BT_CALLOUT, R_OP);
    return CLASS_CALLOUT;
  }
  if (op < O.OP_CSRRW || op > O.OP_CSRRCI) return CLASS_IDENT;
  const csr = <u32>load<i32>(rec, R_IMM) & 0xfff;
  const kind: u32 = op == O.OP_CSRRW || op == O.OP_CSRRWI ? 1 : op == O.OP_CSRRS || op == O.OP_CSRRSI ? 2 : 3;
  const writes = kind == 1 || load<u8>(rec, R_RS1) != 0;
  const c = csrClass(csr, writes);
  if (c == CLASS_INLINE) {
    let m = kind | (op >= O.OP_CSRRWI ? M_IMM : 0) | (writes ? M_WRITES : 0);
    if (writes && (csr == 0x100 || csr == 0x104 || csr == 0x144)) m |= M_IRQ;
    store<i32>(rec, <i32>(csr | (m << 16)), R_IMM);
    store<u16>(rec, <u16>O.OP_BT_INLINE, R_OP);
  } else if (c == CLASS_CALLOUT) {
    store<u16>(rec, <u16>O.OP_BT_CALLOUT, R_OP);
  }
  return c;
}

/** Class the `n` records of a block being decoded for a translated kernel (bt.ts); adds the static counts. */
export function btTranslate(blk: usize, n: u32): void {
  let inl: u64 = 0, out: u64 = 0;
  let rec = blk + <usize>B_HDR;
  for (let i: u32 = 0; i < n; i++, rec += <usize>R_SIZE) {
    const c = classify(rec);
    if (c == CLASS_INLINE) inl++;
    else if (c == CLASS_CALLOUT) out++;
  }
  wr64(S_STAT_BT_IDENT, rd64(S_STAT_BT_IDENT) + <u64>n - inl - out);
  wr64(S_STAT_BT_INLINE, rd64(S_STAT_BT_INLINE) + inl);
  wr64(S_STAT_BT_CALLOUT, rd64(S_STAT_BT_CALLOUT) + out);
}

/** True when an inline site's write may enable an interrupt (the JIT then ends its region pass). */
export function btInlineIrq(rec: usize): bool {
  return ((<u32>load<i32>(rec, R_IMM) >> 16) & M_IRQ) != 0;
}
/** True when an inline site takes its source from the rs1 field as an immediate. */
export function btInlineImm(rec: usize): bool {
  return ((<u32>load<i32>(rec, R_IMM) >> 16) & M_IMM) != 0;
}

/** The guest's time: mtime + its offset (htimedelta). */
function guestTime(): u64 {
  return mtime() + load<u64>(ct(S_HTIMEDELTA));
}

/**
 * Run the inline site `rec` (the last record of its block: icount already counts it) with
 * source value `src` (rs1's value, or the immediate); returns the CSR's old value for rd. What
 * each CSR does is trap-csr.ts's csrAccess for virtual S, field for field.
 */
export function btCsr(rec: usize, src: u64): u64 {
  const csr = <u32>load<i32>(rec, R_IMM) & 0xfff;
  const m = <u32>load<i32>(rec, R_IMM) >> 16;
  wr64(S_STAT_BT_INLINE_RUN, rd64(S_STAT_BT_INLINE_RUN) + 1);
  // Counters and time as the instruction sees them: it has not retired (trap mode reads them
  // after the trap, with the same count).
  addIcount(-1);
  let old: u64 = 0;
  switch (csr) {
    case 0xc00: case 0xc02: old = icount; break;
    case 0xc01: old = guestTime(); break;
    case 0x100: old = (load<u64>(vs(S_VSSTATUS)) & SSTATUS_WRITABLE) | UXL64 | withSD(rd64(S_MSTATUS) & MSTATUS_FS); break;
    case 0x104: old = (load<u64>(ct(S_HIE)) & VS_INTERRUPTS) >> 1; break;
    case 0x105: old = load<u64>(vs(S_VSTVEC)); break;
    case 0x106: old = load<u64>(VMCS + VM_SCOUNTEREN); break;
    case 0x10a: old = load<u64>(VMCS + VM_SENVCFG); break;
    case 0x140: old = load<u64>(vs(S_VSSCRATCH)); break;
    case 0x141: old = load<u64>(vs(S_VSEPC)); break;
    case 0x142: old = load<u64>(vs(S_VSCAUSE)); break;
    case 0x143: old = load<u64>(vs(S_VSTVAL)); break;
    case 0x144: {
      let p = load<u64>(ct(S_HVIP)) & VS_INTERRUPTS & ~VSTIP;
      if (guestTime() >= load<u64>(vs(S_VSTIMECMP))) p |= VSTIP;
      old = p >> 1;
      break;
    }
    case 0x14d: old = load<u64>(vs(S_VSTIMECMP)); break;
    case 0x180: old = load<u64>(vs(S_VSATP)); break;
  }
  addIcount(1);
  if ((m & M_WRITES) == 0) return old;
  const kind = m & M_KIND;
  const nv: u64 = kind == 1 ? src : kind == 2 ? old | src : old & ~src;
  switch (csr) {
    case 0x100: {
      const before = load<u64>(vs(S_VSSTATUS));
      const st = (before & ~SSTATUS_WRITABLE) | (nv & SSTATUS_WRITABLE);
      store<u64>(vs(S_VSSTATUS), st);
      store<u64>(STATE + S_VSSTATUS, st);
      // FS is the hart's own (trap-csr.ts): the kernel runs in real U-mode under mstatus.FS.
      wr64(S_MSTATUS, withSD((rd64(S_MSTATUS) & ~MSTATUS_FS) | (nv & MSTATUS_FS)));
      if (((st ^ before) & SUM_MXR) != 0) resync();
      break;
    }
    case 0x104: store<u64>(ct(S_HIE), (load<u64>(ct(S_HIE)) & ~VS_INTERRUPTS) | ((nv << 1) & VS_INTERRUPTS)); break;
    case 0x105: if ((nv & 3) < 2) store<u64>(vs(S_VSTVEC), nv); break;
    case 0x106: store<u64>(VMCS + VM_SCOUNTEREN, nv & 0xffffffff); break;
    case 0x10a: store<u64>(VMCS + VM_SENVCFG, nv & 1); break;
    case 0x140: store<u64>(vs(S_VSSCRATCH), nv); break;
    case 0x141: store<u64>(vs(S_VSEPC), nv & ~(<u64>1)); break;
    case 0x142: store<u64>(vs(S_VSCAUSE), nv); break;
    case 0x143: store<u64>(vs(S_VSTVAL), nv); break;
    case 0x144: store<u64>(ct(S_HVIP), (load<u64>(ct(S_HVIP)) & ~VSSIP) | ((nv << 1) & VSSIP)); break;
  }
  if ((m & M_IRQ) != 0) {
    // The hart's interrupt inputs as trapRun sets them: the guest's sie counts in virtual S
    // only while sstatus.SIE is set (index.ts trapRun). The run loop looks before the next
    // instruction: an interrupt that is now deliverable exits to the VMM, which injects it.
    const on = (load<u64>(vs(S_VSSTATUS)) & SIE) != 0;
    wr64(S_HIE, on ? load<u64>(ct(S_HIE)) : 0);
    wr64(S_HVIP, load<u64>(ct(S_HVIP)));
    setIrqCheck(true);
  }
  return old;
}

/** Write a VM exit of `cause` with the instruction of `rec` (0 and 0 for none). */
function btExit(cause: u64, len: u64, insn: u64): void {
  store<u64>(VMCS + VM_EXIT_CAUSE, cause);
  store<u64>(VMCS + VM_EXIT_TVAL, 0);
  store<u64>(VMCS + VM_EXIT_HTVAL, 0);
  store<u64>(VMCS + VM_EXIT_HTINST, 0);
  store<u64>(VMCS + VM_EXIT_INSN_LEN, len);
  store<u64>(VMCS + VM_EXIT_INSN, insn);
  wr64(S_STAT_VM_EXITS, rd64(S_STAT_VM_EXITS) + 1);
  setExit(EXIT_VM_TRAP);
}

/** The shadow view changed (sstatus.SUM or MXR): exit after the instruction, which has retired. */
function resync(): void {
  btExit(CAUSE_BT_RESYNC, 0, 0);
}

/**
 * A call-out: exit to the VMM with the instruction (pc = its address, not retired), which
 * emulates it. The caller has uncounted it (it is its block's last record).
 */
export function btCallout(rec: usize): void {
  btExit(CAUSE_BT_CALLOUT, <u64>load<u8>(rec, R_LEN), <u64>load<u32>(rec, R_RAW));
}
