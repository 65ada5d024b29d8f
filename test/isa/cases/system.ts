/**
 * The privileged instructions and environment calls (privileged spec ch. 3.3, 4.2.1):
 * ecall from each privilege (causes 8, 9, 11) and delegated to S, ebreak, mret and sret with
 * the mstatus stack of §3.1.6.1, wfi (a no-op when an interrupt is pending in mie & mip, a
 * halt exit otherwise), sfence.vma, and the privilege checks that make each illegal.
 */
import { expect } from 'vitest';
import { EXIT_BUDGET, EXIT_HALT } from '../../../assembly/abi';
import { Cases, CODE, DATA, MTVEC, M, S, U, expectChanges, expectIllegal, expectRetired, expectTrap, type Harness } from '../harness';

export const cases = new Cases();

const ECALL = 0x00000073;
const EBREAK = 0x00100073;
const SRET = 0x10200073;
const MRET = 0x30200073;
const WFI = 0x10500073;
const sfence = (rs1: number, rs2: number) => (0x12000073 | (rs2 << 20) | (rs1 << 15)) >>> 0;

// mstatus bits (privileged spec §3.1.6)
const SIE = 1n << 1n, MIE = 1n << 3n, SPIE = 1n << 5n, MPIE = 1n << 7n, SPP = 1n << 8n;
const mpp = (p: number) => BigInt(p) << 11n;
const MPRV = 1n << 17n, TVM = 1n << 20n, TW = 1n << 21n, TSR = 1n << 22n;
const XL = 0xa00000000n; // UXL = SXL = 64, read-only

const at = (priv: number, mstatus = XL) => (h: Harness) => { h.hart.priv = priv; h.hart.mstatus = mstatus; };

// ---- ecall / ebreak ----
cases.add('ecall', 'from M: cause 11, mepc = pc, mtval = 0, pc = mtvec', (h) => expectTrap(h.exec(ECALL), 11n, 0n));
cases.add('ecall', 'from M with MIE: MPIE <- 1, MIE <- 0, MPP <- M', (h) => {
  const s = h.exec(ECALL, at(M, XL | MIE));
  expectTrap(s, 11n, 0n);
  expect(h.hart.mstatus).toBe(XL | MPIE | mpp(M));
});
cases.add('ecall', 'from S: cause 9, MPP <- S, priv <- M', (h) => {
  const s = h.exec(ECALL, at(S));
  expectTrap(s, 9n, 0n);
  expect([h.hart.priv, h.hart.mstatus]).toEqual([M, XL | mpp(S)]);
});
cases.add('ecall', 'from U: cause 8, MPP <- U', (h) => {
  const s = h.exec(ECALL, at(U, XL | mpp(M)));
  expectTrap(s, 8n, 0n);
  expect([h.hart.priv, h.hart.mstatus]).toEqual([M, XL]);
});
cases.add('ecall', 'from U, delegated by medeleg[8]: to S, SPP <- U, SPIE <- SIE, SIE <- 0', (h) => {
  const s = h.exec(ECALL, (h) => { at(U, XL | SIE)(h); h.hart.medeleg = 1n << 8n; });
  expectTrap(s, 8n, 0n, 'S');
  expect([h.hart.priv, h.hart.mstatus]).toEqual([S, XL | SPIE]);
});
cases.add('ecall', 'from S, delegated by medeleg[9]: to S, SPP <- S', (h) => {
  const s = h.exec(ECALL, (h) => { at(S)(h); h.hart.medeleg = 1n << 9n; });
  expectTrap(s, 9n, 0n, 'S');
  expect(h.hart.mstatus).toBe(XL | SPP);
});
cases.add('ecall', 'from M, medeleg[11] set: still to M (no delegation from M)', (h) => {
  expectTrap(h.exec(ECALL, (h) => { h.hart.medeleg = 1n << 11n; }), 11n, 0n);
});
cases.add('ebreak', 'breakpoint: cause 3, mepc = pc, mtval = 0', (h) => expectTrap(h.exec(EBREAK), 3n, 0n));
cases.add('ebreak', 'from U: cause 3, MPP <- U', (h) => expectTrap(h.exec(EBREAK, at(U)), 3n, 0n));

// ---- mret (§3.3.2): priv <- MPP, MIE <- MPIE, MPIE <- 1, MPP <- U, MPRV <- 0 unless MPP = M ----
function xret(insn: 'mret' | 'sret', title: string, from: number, before: bigint, after: bigint, priv: number, epc: bigint): void {
  cases.add(insn, title, (h) => {
    const s = h.exec(insn === 'mret' ? MRET : SRET, (h) => {
      at(from, before)(h);
      if (insn === 'mret') h.hart.mepc = epc; else h.hart.sepc = epc;
    });
    expect(s.trapped).toBe(false);
    const want: Record<string, bigint> = { pc: epc, instret: 1n };
    if (after !== before) want.mstatus = after;
    if (priv !== from) want.priv = BigInt(priv);
    expectChanges(s, want);
  });
}
xret('mret', 'to S: MIE <- MPIE (1), MPIE <- 1, MPP <- U', M, XL | mpp(S) | MPIE, XL | MIE | MPIE, S, DATA);
xret('mret', 'to U with MPIE = 0: MIE <- 0, MPIE <- 1', M, XL | mpp(U) | MIE, XL | MPIE, U, DATA + 4n);
xret('mret', 'to U clears MPRV', M, XL | mpp(U) | MPRV | MPIE, XL | MIE | MPIE, U, DATA);
xret('mret', 'to M keeps MPRV and stays in M', M, XL | mpp(M) | MPRV, XL | MPRV | MPIE, M, DATA + 8n);
cases.add('mret', 'illegal in S-mode', (h) => expectIllegal(h, MRET, at(S)));
cases.add('mret', 'illegal in U-mode', (h) => expectIllegal(h, MRET, at(U)));

// ---- sret (§3.3.2): priv <- SPP, SIE <- SPIE, SPIE <- 1, SPP <- U, MPRV <- 0 ----
xret('sret', 'from S to U: SIE <- SPIE (1), SPIE <- 1', S, XL | SPIE, XL | SIE | SPIE, U, DATA);
xret('sret', 'from S to S (SPP = S): SPP <- U, SIE <- 0', S, XL | SPP | SIE, XL | SPIE, S, DATA + 4n);
xret('sret', 'from M (allowed) to U, clears MPRV', M, XL | MPRV | SPIE | mpp(M), XL | SIE | SPIE | mpp(M), U, DATA);
xret('sret', 'in M-mode, TSR does not apply', M, XL | TSR | SPP, XL | TSR | SPIE, S, DATA);
cases.add('sret', 'illegal in U-mode', (h) => expectIllegal(h, SRET, at(U)));
cases.add('sret', 'illegal in S-mode with mstatus.TSR', (h) => expectIllegal(h, SRET, at(S, XL | TSR)));

// ---- wfi ----
cases.add('wfi', 'nothing pending in mie & mip: halts the hart (exit to the host), retired', (h) => {
  const s = h.exec(WFI);
  expect(s.exit).toBe(EXIT_HALT);
  expectRetired(s, 4);
});
cases.add('wfi', 'an interrupt pending in mie & mip (even with MIE = 0): a no-op', (h) => {
  // MTIP is pending after reset (mtimecmp = 0); mstatus.MIE = 0 keeps it from being taken.
  const s = h.exec(WFI, (h) => { h.hart.mie = 1n << 7n; });
  expect(s.exit).toBe(EXIT_BUDGET);
  expectRetired(s, 4);
});
cases.add('wfi', 'pending in mip but not enabled in mie: halts', (h) => {
  const s = h.exec(WFI, (h) => { h.hart.mip = 1n << 1n; h.hart.mie = 1n << 9n; });
  expect(s.exit).toBe(EXIT_HALT);
  expectRetired(s, 4);
});
cases.add('wfi', 'allowed in S-mode without TW', (h) => {
  const s = h.exec(WFI, at(S));
  expect(s.exit).toBe(EXIT_HALT);
  expectRetired(s, 4);
});
cases.add('wfi', 'in M-mode, TW does not apply', (h) => {
  const s = h.exec(WFI, at(M, XL | TW));
  expect(s.exit).toBe(EXIT_HALT);
  expectRetired(s, 4);
});
cases.add('wfi', 'illegal in U-mode', (h) => expectIllegal(h, WFI, at(U)));
cases.add('wfi', 'illegal in S-mode with mstatus.TW', (h) => expectIllegal(h, WFI, at(S, XL | TW)));

// ---- sfence.vma ----
cases.add('sfence.vma', 'x0, x0 in M-mode: no architectural state changes', (h) => expectRetired(h.exec(sfence(0, 0)), 4));
cases.add('sfence.vma', 'rs1, rs2 in S-mode', (h) => {
  expectRetired(h.exec(sfence(6, 7), (h) => { at(S)(h); h.hart.setX(6, DATA); h.hart.setX(7, 1n); }), 4);
});
cases.add('sfence.vma', 'in M-mode, TVM does not apply', (h) => expectRetired(h.exec(sfence(0, 0), at(M, XL | TVM)), 4));
cases.add('sfence.vma', 'illegal in U-mode', (h) => expectIllegal(h, sfence(0, 0), at(U)));
cases.add('sfence.vma', 'illegal in S-mode with mstatus.TVM', (h) => expectIllegal(h, sfence(0, 0), at(S, XL | TVM)));


// ---- interrupts are taken between instructions ----
cases.add('csrrsi', 'setting mstatus.MIE with MTIP pending and enabled: retires; the interrupt is taken before the next instruction', (h) => {
  h.reset();
  h.put(0x30046073); // csrrsi zero, mstatus, 8
  h.put(0x00000013, CODE + 4n); // addi zero, zero, 0
  h.hart.mie = 1n << 7n;
  const s = h.step();
  expectRetired(s, 4, { mstatus: XL | MIE });
  // mcause = interrupt | 7 (machine timer), mepc = the instruction not yet executed, mtval = 0.
  expectTrap(h.step(), (1n << 63n) | 7n, 0n);
  expect([h.hart.mepc, h.hart.mstatus, h.hart.instret]).toEqual([CODE + 4n, XL | MPIE | mpp(M), 1n]);
});
cases.add('csrrs', 'interrupt priority (§3.1.9): MEI before MSI before MTI', (h) => {
  h.reset();
  h.put(0x00000013);
  h.hart.mstatus = XL | MIE;
  h.hart.mie = (1n << 11n) | (1n << 7n) | (1n << 3n);
  h.hart.irqLines = (1n << 11n) | (1n << 3n); // MEIP, MSIP; MTIP from mtimecmp = 0
  expectTrap(h.step(), (1n << 63n) | 11n, 0n);
});
cases.add('csrrs', 'a delegated S interrupt is taken in U-mode into S (SPP <- U)', (h) => {
  h.reset();
  h.put(0x00000013);
  h.hart.priv = U;
  h.hart.mideleg = 1n << 1n;
  h.hart.mie = 1n << 1n;
  h.hart.mip = 1n << 1n; // SSIP
  expectTrap(h.step(), (1n << 63n) | 1n, 0n, 'S');
});
cases.add('csrrs', 'a delegated S interrupt is not taken in M-mode', (h) => {
  h.reset();
  h.put(0x00000013);
  h.hart.mstatus = XL | MIE | SIE;
  h.hart.mideleg = 1n << 1n;
  h.hart.mie = 1n << 1n;
  h.hart.mip = 1n << 1n;
  expectRetired(h.step(), 4);
});
cases.add('csrrs', 'vectored mtvec: an interrupt enters at base + 4 x cause', (h) => {
  h.reset();
  h.put(0x00000013);
  h.hart.mstatus = XL | MIE;
  h.hart.mie = 1n << 7n;
  h.hart.mtvec = (MTVEC - 28n) | 1n; // base + 4 * 7 = MTVEC, where the sentinel is
  expectTrap(h.step(), (1n << 63n) | 7n, 0n);
});
