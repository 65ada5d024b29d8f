/**
 * Tiny raw S-mode guests for VM-mode tests, assembled with the fuzzer's encoder (no cross
 * compiler needed). Raw images load at 0x80200000 and run in VS-mode with a0 = 0, a1 = DTB.
 */
import * as E from '../diff/encode';

export const T0 = 5, T1 = 6, T2 = 7, S1 = 9, A0 = 10, A1 = 11, A2 = 12, A6 = 16, A7 = 17;
export const ECALL = 0x00000073;
export const WFI = 0x10500073;

/** csrrw/csrrs rd, csr, rs1. */
export const csrrw = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (1 << 12) | (rd << 7) | 0x73) >>> 0;
export const csrrs = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (2 << 12) | (rd << 7) | 0x73) >>> 0;

/** Little-endian bytes of instruction words (compressed ones given as 16-bit numbers < 0x10000 with `half`). */
export function assemble(words: (number | { half: number })[], data: Uint8Array = new Uint8Array()): Uint8Array {
  const parts: number[] = [];
  for (const w of words) {
    if (typeof w === 'number') parts.push(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff);
    else parts.push(w.half & 0xff, (w.half >>> 8) & 0xff);
  }
  const out = new Uint8Array(parts.length + data.length);
  out.set(parts);
  out.set(data, parts.length);
  return out;
}

/** li rd, value for a 32-bit signed value (lui + addiw). */
export function li(rd: number, value: number): number[] {
  const lo = (value << 20) >> 20;
  const hi = ((value - lo) >>> 12) & 0xfffff;
  return hi === 0 ? [E.aluI('addi', rd, 0, lo)] : [E.lui(rd, hi), E.aluI('addiw', rd, rd, lo)];
}

/** SBI call: a7 = eid, a6 = fid, then ecall (a0.. set by the caller). */
export function sbi(eid: number, fid: number): number[] {
  return [...li(A7, eid), ...li(A6, fid), ECALL];
}

/** SBI SRST shutdown with reason `reason` (0 none, 1 system failure). */
export function shutdown(reason = 0): number[] {
  return [E.aluI('addi', A0, 0, 0), E.aluI('addi', A1, 0, reason), ...sbi(0x53525354, 0), E.jal(0, 0)];
}

/** Print one character with the legacy console_putchar. */
export function putchar(c: string): number[] {
  return [E.aluI('addi', A0, 0, c.charCodeAt(0)), ...li(A7, 1), ECALL];
}
