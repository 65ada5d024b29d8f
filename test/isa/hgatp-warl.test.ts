/**
 * hgatp written with an unsupported MODE (§8.2.10): "A write to hgatp with an unsupported MODE
 * value is not ignored as it is for satp. Instead, the fields of hgatp are WARL in the normal
 * way": MODE keeps a supported value (here its old one) and VMID and PPN take the written
 * values (PPN[1:0] read as zero, VMID 14 bits). Found by the privileged differential fuzzer.
 */
import { describe, expect, it } from 'vitest';
import { Harness, M } from './harness';

const CSRRW_X0_HGATP_X5 = 0x68029073; // csrrw x0, hgatp, x5
const VMID = 0x1234n << 44n;
const PPN = 0x80123n;

function writeHgatp(old: bigint, value: bigint): bigint {
  const h = new Harness();
  h.exec(CSRRW_X0_HGATP_X5, (h) => {
    h.hart.priv = M;
    h.hart.hgatp = old;
    h.hart.setX(5, value);
  });
  return h.hart.hgatp;
}

describe('hgatp WARL', () => {
  it('unsupported MODE 15 from Bare: MODE stays Bare, VMID and PPN are written', () => {
    expect(writeHgatp(0n, (15n << 60n) | VMID | PPN)).toBe(VMID | (PPN & ~3n));
  });
  it('unsupported MODE 1 from Sv48x4: MODE stays 9, VMID and PPN are written', () => {
    expect(writeHgatp((9n << 60n) | 0x400n, (1n << 60n) | VMID | PPN)).toBe((9n << 60n) | VMID | (PPN & ~3n));
  });
  it('supported MODE 8 (Sv39x4): written, PPN[1:0] read as zero, VMID bits 59:58 zero', () => {
    expect(writeHgatp(0n, (8n << 60n) | (3n << 58n) | VMID | PPN)).toBe((8n << 60n) | VMID | (PPN & ~3n));
  });
});
