/**
 * An access to an address with no device (the host answers an MMIO exit with MMIO_FAULT) is an
 * access fault (§3.7, PMA violation) with tval = the virtual address. Taken from V = 1, that
 * tval is a guest virtual address, so the trap sets mstatus.GVA / hstatus.GVA (§8.4.1, §8.2.1:
 * "for any trap (breakpoint, address misaligned, access fault, page fault, or guest-page fault)
 * that writes a guest virtual address to mtval, GVA is set to 1"). Found by the privileged
 * differential fuzzer (test/diff/priv.test.ts): QEMU sets GVA there, wasmvisor did not.
 */
import { describe, expect, it } from 'vitest';
import * as A from '../../assembly/abi';
import { Harness, MTVEC } from './harness';

const GVA = 1n << 38n, MPV = 1n << 39n;
const XL = (2n << 32n) | (2n << 34n);
const SD_X5_X6 = 0x00533023; // sd x5, 0(x6)
const LD_X5_X6 = 0x00033283; // ld x5, 0(x6)
const NO_DEVICE = 0x1000n; // below RAM, no device: the host answers MMIO_FAULT

/** Run `word` in privilege `priv` with V = `v` at address NO_DEVICE; answer the MMIO exit with a fault. */
function faultAt(word: number, priv: number, v: 0 | 1): Harness {
  const h = new Harness().reset();
  h.put(word);
  h.hart.priv = priv;
  h.hart.v = v;
  h.hart.mstatus = XL;
  h.hart.setX(6, NO_DEVICE);
  expect(h.core.run(1n)).toBe(A.EXIT_MMIO);
  expect(h.hart.mmioAddr).toBe(NO_DEVICE);
  h.hart.mmioStatus = A.MMIO_FAULT;
  h.core.run(1n); // the access fault, then the M vector's sentinel exits again
  expect(h.hart.pc).toBe(MTVEC);
  return h;
}

describe('access fault on an MMIO address without a device', () => {
  it('from VS (V = 1): store access fault 7, tval = GVA, mstatus.GVA = 1, MPV = 1', () => {
    const h = faultAt(SD_X5_X6, 1, 1);
    expect([h.hart.mcause, h.hart.mtval, h.hart.mstatus & (GVA | MPV)]).toEqual([7n, NO_DEVICE, GVA | MPV]);
  });
  it('from VU (V = 1): load access fault 5, mstatus.GVA = 1', () => {
    const h = faultAt(LD_X5_X6, 0, 1);
    expect([h.hart.mcause, h.hart.mtval, h.hart.mstatus & (GVA | MPV)]).toEqual([5n, NO_DEVICE, GVA | MPV]);
  });
  it('from HS (V = 0): store access fault 7, mstatus.GVA = 0', () => {
    const h = faultAt(SD_X5_X6, 1, 0);
    expect([h.hart.mcause, h.hart.mtval, h.hart.mstatus & (GVA | MPV)]).toEqual([7n, NO_DEVICE, 0n]);
  });
});
