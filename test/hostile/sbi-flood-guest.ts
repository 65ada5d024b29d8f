/**
 * The SBI-flood guest of issue 11: a raw S-mode image (loads at 0x80200000, runs in VS-mode as
 * a VM or as a Xen DomU) that makes SBI calls whose extension and function ids never repeat.
 * Each round i = 1, 2, ... makes three calls:
 *   1. a7 = 0x0A000000 + i, a6 = i      an unknown extension (below every known EID but the
 *                                       legacy ones and above XEN's 0x0958454E, so never a known one);
 *   2. a7 = BASE (0x10), a6 = 7 + i     a known extension, an undefined function;
 *   3. a7 = XEN (0x0958454E), a6 = 64 + i  the Xen hypercall extension, no such hypercall.
 * Calls 1 and 2 must answer SBI_ERR_NOT_SUPPORTED (-2) in a0 (SBI v2.0 §3: an unknown EID or
 * FID); otherwise the guest prints "X" and shuts down with SRST reason 1 (system failure, exit
 * code 1). Call 3 answers -2 in a VM and -ENOSYS (-38) in a DomU; the guest does not check it.
 * After every PROGRESS_EVERY rounds it prints "." (legacy console_putchar). With `rounds` > 0
 * it shuts down (SRST, exit code 0) after that many rounds; with 0 it runs until killed.
 */
import * as E from '../diff/encode';
import { Asm } from '../vmm/asm';
import { ECALL } from '../vmm/guests';

export const FLOOD_BASE = 0x80200000n;
/** Rounds between two progress dots (a power of two). */
export const PROGRESS_EVERY = 1 << 16;
export const FLOOD_EID_BASE = 0x0a000000n;

const T0 = 5, S1 = 9, A0 = 10, A1 = 11, A6 = 16, A7 = 17, S2 = 18, S3 = 19, S4 = 20, S5 = 21, S6 = 22, S7 = 23;

export function sbiFloodGuest(rounds: number): Uint8Array {
  const a = new Asm(FLOOD_BASE);
  a.li64(S1, 0n).li64(S2, FLOOD_EID_BASE).li64(S3, -2n & ((1n << 64n) - 1n)).li64(S4, BigInt(PROGRESS_EVERY - 1));
  a.li64(S5, 0x0958454en).li64(S6, 0x10n).li64(S7, BigInt(rounds));
  a.label('loop');
  a.emit(E.aluI('addi', S1, S1, 1));
  a.emit(E.aluR('add', A7, S2, S1), E.aluI('addi', A6, S1, 0), ECALL);
  a.branch('bne', A0, S3, 'bad');
  a.emit(E.aluI('addi', A7, S6, 0), E.aluI('addi', A6, S1, 7), ECALL);
  a.branch('bne', A0, S3, 'bad');
  a.emit(E.aluI('addi', A7, S5, 0), E.aluI('addi', A6, S1, 64), ECALL);
  a.emit(E.aluR('and', T0, S1, S4));
  a.branch('bne', T0, 0, 'next');
  a.emit(E.aluI('addi', A0, 0, 0x2e), E.aluI('addi', A7, 0, 1), ECALL); // '.'
  a.label('next');
  a.branch('bne', S1, S7, 'loop');
  a.emit(E.aluI('addi', A1, 0, 0)).jal(0, 'srst');
  a.label('bad');
  a.emit(E.aluI('addi', A0, 0, 0x58), E.aluI('addi', A7, 0, 1), ECALL); // 'X'
  a.emit(E.aluI('addi', A1, 0, 1));
  a.label('srst');
  a.emit(E.aluI('addi', A0, 0, 0), E.aluI('addi', A6, 0, 0)).li64(A7, 0x53525354n).emit(ECALL);
  a.label('hang');
  a.jal(0, 'hang');
  return a.finish(4096);
}
