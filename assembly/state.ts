// The hart's architectural state: registers and CSRs live in linear memory at STATE (layout in
// abi.ts, so the host sees the same bytes); the few values touched on every instruction live in
// Wasm globals while run() executes and are written back to STATE when it returns.

import {
  STATE, S_X, S_PC, S_PRIV, S_INSTRET, S_MSTATUS, S_SATP, S_V,
} from './abi';

// ---- privilege levels (privileged spec §1.2) ----
export const PRV_U: u32 = 0;
export const PRV_S: u32 = 1;
export const PRV_M: u32 = 3;

// ---- mstatus bits (privileged spec §3.1.6) ----
export const MSTATUS_SIE: u64 = 1 << 1;
export const MSTATUS_MIE: u64 = 1 << 3;
export const MSTATUS_SPIE: u64 = 1 << 5;
export const MSTATUS_MPIE: u64 = 1 << 7;
export const MSTATUS_SPP: u64 = 1 << 8;
export const MSTATUS_MPP_SHIFT: u64 = 11;
export const MSTATUS_MPP: u64 = 3 << 11;
export const MSTATUS_FS: u64 = 3 << 13;
export const MSTATUS_MPRV: u64 = 1 << 17;
export const MSTATUS_SUM: u64 = 1 << 18;
export const MSTATUS_MXR: u64 = 1 << 19;
export const MSTATUS_TVM: u64 = 1 << 20;
export const MSTATUS_TW: u64 = 1 << 21;
export const MSTATUS_TSR: u64 = 1 << 22;
export const MSTATUS_UXL: u64 = 3 << 32;
export const MSTATUS_SXL: u64 = 3 << 34;
export const MSTATUS_SD: u64 = 1 << 63;
export const MSTATUS_GVA: u64 = 1 << 38;
export const MSTATUS_MPV: u64 = 1 << 39;

// ---- hstatus bits (privileged spec §8.2.1) ----
export const HSTATUS_GVA: u64 = 1 << 6;
export const HSTATUS_SPV: u64 = 1 << 7;
export const HSTATUS_SPVP: u64 = 1 << 8;
export const HSTATUS_HU: u64 = 1 << 9;
export const HSTATUS_VTVM: u64 = 1 << 20;
export const HSTATUS_VTW: u64 = 1 << 21;
export const HSTATUS_VTSR: u64 = 1 << 22;

// ---- interrupt bits of mip/mie (privileged spec §3.1.9) ----
export const IRQ_SSI: u32 = 1;
export const IRQ_MSI: u32 = 3;
export const IRQ_STI: u32 = 5;
export const IRQ_MTI: u32 = 7;
export const IRQ_SEI: u32 = 9;
export const IRQ_MEI: u32 = 11;
export const MIP_SSIP: u64 = 1 << 1;
export const MIP_MSIP: u64 = 1 << 3;
export const MIP_STIP: u64 = 1 << 5;
export const MIP_MTIP: u64 = 1 << 7;
export const MIP_SEIP: u64 = 1 << 9;
export const MIP_MEIP: u64 = 1 << 11;
export const MIP_VSSIP: u64 = 1 << 2;
export const MIP_VSTIP: u64 = 1 << 6;
export const MIP_VSEIP: u64 = 1 << 10;
export const MIP_SGEIP: u64 = 1 << 12;
/** The VS-level interrupts (always delegated past M when H is present, §8.4.1). */
export const VS_INTERRUPTS: u64 = (1 << 2) | (1 << 6) | (1 << 10);
export const IRQ_VSSI: u32 = 2;
export const IRQ_VSTI: u32 = 6;
export const IRQ_VSEI: u32 = 10;
export const IRQ_SGEI: u32 = 12;

// ---- exception causes (privileged spec table 3.6) ----
export const CAUSE_MISALIGNED_FETCH: u64 = 0;
export const CAUSE_FETCH_ACCESS: u64 = 1;
export const CAUSE_ILLEGAL_INSTRUCTION: u64 = 2;
export const CAUSE_BREAKPOINT: u64 = 3;
export const CAUSE_MISALIGNED_LOAD: u64 = 4;
export const CAUSE_LOAD_ACCESS: u64 = 5;
export const CAUSE_MISALIGNED_STORE: u64 = 6;
export const CAUSE_STORE_ACCESS: u64 = 7;
export const CAUSE_USER_ECALL: u64 = 8;
export const CAUSE_SUPERVISOR_ECALL: u64 = 9;
export const CAUSE_VS_ECALL: u64 = 10;
export const CAUSE_MACHINE_ECALL: u64 = 11;
export const CAUSE_FETCH_PAGE_FAULT: u64 = 12;
export const CAUSE_LOAD_PAGE_FAULT: u64 = 13;
export const CAUSE_STORE_PAGE_FAULT: u64 = 15;
export const CAUSE_FETCH_GUEST_PAGE_FAULT: u64 = 20;
export const CAUSE_LOAD_GUEST_PAGE_FAULT: u64 = 21;
export const CAUSE_VIRTUAL_INSTRUCTION: u64 = 22;
export const CAUSE_STORE_GUEST_PAGE_FAULT: u64 = 23;
export const CAUSE_INTERRUPT: u64 = 1 << 63;

// ---- the hot state, in Wasm globals while run() executes ----
/** Program counter of the instruction being executed (or of the next one between blocks). */
export let pc: u64 = 0;
/** Current privilege level (PRV_U, PRV_S, PRV_M). */
export let priv: u32 = PRV_M;
/** Virtualization mode (H extension): true in VS and VU. */
export let virt: bool = false;
/** The decoded record of the instruction being executed, 0 between instructions (htinst, exit info). */
export let curRec: usize = 0;
/** Instructions retired since reset; drives minstret, mcycle and mtime. */
export let icount: u64 = 0;
/** Set when the executing block must stop: a trap was taken or the hart must exit to the host. */
export let stop: bool = false;
/** Nonzero when run() must return this exit reason to the host. */
export let exitReason: u32 = 0;
/** Set when something that can make an interrupt deliverable changed (checked between blocks). */
export let irqCheck: bool = true;
/** Bumped whenever the fetch translation may have changed; block links are valid within one epoch. */
export let epoch: u32 = 1;
/** Set by exec.ts jitRest: compiled code handed the rest of a block to the interpreter. */
export let restTaken: bool = false;
@inline export function setRestTaken(v: bool): void { restTaken = v; }
/** icount at which run() must look at events again: the budget's end or the next timer deadline. */
export let eventAt: u64 = 0;

@inline export function setPc(v: u64): void { pc = v; }
@inline export function setPriv(p: u32): void { priv = p; }
@inline export function setVirt(v: bool): void { virt = v; }
@inline export function setCurRec(r: usize): void { curRec = r; }
@inline export function addIcount(n: u64): void { icount += n; }
@inline export function setIcount(n: u64): void { icount = n; }
@inline export function setStop(v: bool): void { stop = v; }
@inline export function setExit(reason: u32): void { exitReason = reason; stop = true; }
@inline export function clearExit(): void { exitReason = 0; stop = false; }
@inline export function setIrqCheck(v: bool): void { irqCheck = v; }
@inline export function bumpEpoch(): void { epoch++; }
@inline export function setEventAt(v: u64): void { eventAt = v; }

// ---- registers and CSR slots in linear memory ----
/** x[r] (r in 0..32; x32 is the sink written by instructions whose rd is x0). */
@inline export function getX(r: u32): u64 {
  return load<u64>(STATE + S_X + (<usize>r << 3));
}
@inline export function setX(r: u32, v: u64): void {
  store<u64>(STATE + S_X + (<usize>r << 3), v);
}
/** A u64 state slot at a constant offset from STATE. */
@inline export function rd64(off: usize): u64 {
  return load<u64>(STATE + off);
}
@inline export function wr64(off: usize, v: u64): void {
  store<u64>(STATE + off, v);
}
@inline export function mstatus(): u64 {
  return load<u64>(STATE + S_MSTATUS);
}
@inline export function satp(): u64 {
  return load<u64>(STATE + S_SATP);
}

/** Copy the hot globals in from linear memory (the host may have changed them). */
export function loadHot(): void {
  pc = load<u64>(STATE + S_PC);
  priv = <u32>load<u64>(STATE + S_PRIV);
  virt = load<u64>(STATE + S_V) != 0;
  icount = load<u64>(STATE + S_INSTRET);
}
/** Write the hot globals back to linear memory. */
export function saveHot(): void {
  store<u64>(STATE + S_PC, pc);
  store<u64>(STATE + S_PRIV, <u64>priv);
  store<u64>(STATE + S_V, virt ? 1 : 0);
  store<u64>(STATE + S_INSTRET, icount);
}
