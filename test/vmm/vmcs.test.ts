import { describe, expect, it } from 'vitest';
import * as A from '../../assembly/abi';
import { Vmcs, VMCS_FIELDS, type VmcsField } from '../../host/vmm/vmcs';

/** Where each named field must live (abi.ts offsets from the VMCS base). */
const OFFSETS: Record<VmcsField, number> = {
  pc: A.VM_PC, priv: A.VM_PRIV,
  vsstatus: A.VM_VS + 0x00, vstvec: A.VM_VS + 0x08, vsscratch: A.VM_VS + 0x10, vsepc: A.VM_VS + 0x18,
  vscause: A.VM_VS + 0x20, vstval: A.VM_VS + 0x28, vsatp: A.VM_VS + 0x30, vstimecmp: A.VM_VS + 0x38,
  hstatus: A.VM_CONTROLS + 0x00, hedeleg: A.VM_CONTROLS + 0x08, hideleg: A.VM_CONTROLS + 0x10, hie: A.VM_CONTROLS + 0x18,
  hvip: A.VM_CONTROLS + 0x20, hcounteren: A.VM_CONTROLS + 0x28, htimedelta: A.VM_CONTROLS + 0x30,
  hgatp: A.VM_CONTROLS + 0x38, henvcfg: A.VM_CONTROLS + 0x40,
  scounteren: A.VM_SCOUNTEREN, senvcfg: A.VM_SENVCFG,
  budget: A.VM_BUDGET,
  exitReason: A.VM_EXIT_REASON, exitCause: A.VM_EXIT_CAUSE, exitTval: A.VM_EXIT_TVAL, exitHtval: A.VM_EXIT_HTVAL,
  exitHtinst: A.VM_EXIT_HTINST, exitInsnLen: A.VM_EXIT_INSN_LEN, exitInsn: A.VM_EXIT_INSN,
  exitInstructions: A.VM_EXIT_INSTRUCTIONS,
};

function setup() {
  const memory = new WebAssembly.Memory({ initial: 32 });
  const vmcs = new Vmcs(memory);
  const raw = new DataView(memory.buffer);
  return { vmcs, raw, at: (off: number) => raw.getBigUint64(A.VMCS + off, true) };
}

describe('Vmcs', () => {
  it('has a setter for every field, at the abi.ts offset, touching nothing else', () => {
    for (const f of VMCS_FIELDS) {
      const { vmcs, at } = setup();
      const value = 0x1234_5678_9abc_def0n ^ BigInt(OFFSETS[f]);
      vmcs.setField(f, value);
      expect(vmcs.field(f)).toBe(value);
      expect(at(OFFSETS[f])).toBe(value);
      // Every other u64 of the VMCS is still zero.
      for (let off = 0; off < A.VMCS_SIZE; off += 8) if (off !== OFFSETS[f]) expect(at(off), `${f} touched +0x${off.toString(16)}`).toBe(0n);
    }
  });

  it('mirrors the hart blocks in the order of S_VS_BLOCK and S_H_BLOCK', () => {
    expect(A.VM_VS_END - A.VM_VS).toBe(A.S_VS_BLOCK_END - A.S_VS_BLOCK);
    expect(A.VM_CONTROLS_END - A.VM_CONTROLS).toBe(A.S_H_BLOCK_END - A.S_H_BLOCK);
    expect(OFFSETS.vstimecmp - A.VM_VS).toBe(A.S_VSTIMECMP - A.S_VS_BLOCK);
    expect(OFFSETS.henvcfg - A.VM_CONTROLS).toBe(A.S_HENVCFG - A.S_H_BLOCK);
  });

  it('round-trips x1..x31, reads x0 as 0 and drops writes to it', () => {
    const { vmcs, at } = setup();
    for (let i = 0; i < 32; i++) vmcs.setX(i, BigInt(i) * 0x1_0000_0001n);
    expect(vmcs.x(0)).toBe(0n);
    expect(at(A.VM_X)).toBe(0n);
    for (let i = 1; i < 32; i++) {
      expect(vmcs.x(i)).toBe(BigInt(i) * 0x1_0000_0001n);
      expect(at(A.VM_X + i * 8)).toBe(BigInt(i) * 0x1_0000_0001n);
    }
  });

  it('number views of x[i]: exact small values, >= 2^32 for wide ones, low word, sign-extending writes', () => {
    const { vmcs } = setup();
    vmcs.setX(17, 0x54494d45n);
    vmcs.setX(16, 0x1_0000_0000n);
    vmcs.setX(10, 0xffff_ffff_ffff_fff0n);
    expect(vmcs.xNumber(17)).toBe(0x54494d45);
    expect(vmcs.xNumber(16)).toBe(2 ** 32);
    expect(vmcs.xNumber(10)).toBeGreaterThanOrEqual(2 ** 64 - 16);
    expect(vmcs.xLow32(10)).toBe(0xffff_fff0);
    expect(vmcs.xLow32(16)).toBe(0);
    vmcs.setXNumber(10, -2);
    expect(vmcs.x(10)).toBe(0xffff_ffff_ffff_fffen);
    vmcs.setXNumber(11, 0xffff_ffff);
    expect(vmcs.x(11)).toBe(0xffff_ffffn);
    vmcs.setXNumber(0, 5);
    expect(vmcs.x(0)).toBe(0n);
    expect(vmcs.xNumber(0)).toBe(0);
  });

  it('advancePc carries into the high word', () => {
    const { vmcs } = setup();
    vmcs.pc = 0xffff_fffen;
    vmcs.advancePc(4);
    expect(vmcs.pc).toBe(0x1_0000_0002n);
  });

  it('wraps values to 64 bits', () => {
    const { vmcs } = setup();
    vmcs.pc = -4n;
    expect(vmcs.pc).toBe(0xffff_ffff_ffff_fffcn);
    vmcs.htimedelta = 1n << 64n;
    expect(vmcs.htimedelta).toBe(0n);
  });

  it('exitGpa: htval << 2 plus tval[1:0] for explicit accesses, htval << 2 alone for implicit PTE accesses', () => {
    const { vmcs } = setup();
    vmcs.exitHtval = 0x10000000n >> 2n;
    vmcs.exitTval = 0xffff_ffc0_0000_0003n;
    vmcs.exitHtinst = 0x00050503n; // lb a0, 0(a0) transformed
    expect(vmcs.exitGpa).toBe(0x10000003n);
    vmcs.exitHtinst = 0x00003000n; // pseudo: 64-bit read
    expect(vmcs.exitGpa).toBe(0x10000000n);
    vmcs.exitHtinst = 0n;
    expect(vmcs.exitGpa).toBe(0x10000003n);
  });

  it('clear() zeroes every field', () => {
    const { vmcs } = setup();
    for (const f of VMCS_FIELDS) vmcs.setField(f, 7n);
    vmcs.setX(5, 9n);
    vmcs.clear();
    for (const f of VMCS_FIELDS) expect(vmcs.field(f)).toBe(0n);
    expect(vmcs.x(5)).toBe(0n);
  });
});
