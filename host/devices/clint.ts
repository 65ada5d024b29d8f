/**
 * The CLINT of the `virt` board (compatible "sifive,clint0", at 0x0200_0000, size 0x10000),
 * laid out as the SiFive CLINT / RISC-V ACLINT (MSWI + MTIMER) for one hart:
 *
 *   +0x0000  msip[0]       32-bit; bit 0 drives MIP.MSIP of hart 0, bits 31:1 read 0
 *   +0x4000  mtimecmp[0]   64-bit; also as two 32-bit halves (+0x4000 low, +0x4004 high)
 *   +0xbff8  mtime         64-bit; writable, as in QEMU's ACLINT (when the timer allows it)
 *
 * The CLINT keeps no state of its own: every register lives in the HartTimer, which also
 * decides MIP.MTIP from mtime >= mtimecmp. So snapshots of the timer cover the CLINT.
 * Accesses of any size are served byte-exactly from the 64-bit (or 32-bit) register they
 * fall in; registers of harts that do not exist read 0 and ignore writes.
 */

import type { HartTimer, MmioDevice } from './device';
import type { SectionReader, SectionWriter } from '../snapshot/format';

/** Offset of hart 0's msip register. */
export const CLINT_MSIP = 0x0;
/** Offset of hart 0's mtimecmp register. */
export const CLINT_MTIMECMP = 0x4000;
/** Offset of the mtime register. */
export const CLINT_MTIME = 0xbff8;
/** Size of the CLINT window on `virt`. */
export const CLINT_SIZE = 0x10000;

const MASK64 = 0xffff_ffff_ffff_ffffn;

/** Bytes `value` occupies when written at byte `shift` of a register, size `size`. */
function fieldMask(shift: number, size: number): bigint {
  return ((1n << BigInt(size * 8)) - 1n) << BigInt(shift * 8);
}

/** The CLINT model over one hart's timer. */
export class Clint implements MmioDevice {
  readonly name: string;

  constructor(
    private readonly timer: HartTimer,
    name = 'clint',
  ) {
    this.name = name;
  }

  /** Snapshots (host/snapshot): nothing of its own (msip, mtimecmp and mtime are the hart's). */
  saveState(_w: SectionWriter): void {}
  loadState(_r: SectionReader): void {}

  read(offset: number, size: number): bigint {
    const reg = this.locate(offset, size);
    if (!reg) return 0n;
    return (this.get(reg.base) >> BigInt(reg.shift * 8)) & ((1n << BigInt(size * 8)) - 1n);
  }

  write(offset: number, size: number, value: bigint): void {
    const reg = this.locate(offset, size);
    if (!reg) return;
    const mask = fieldMask(reg.shift, size);
    const merged = (this.get(reg.base) & ~mask) | ((value << BigInt(reg.shift * 8)) & mask);
    switch (reg.base) {
      case CLINT_MSIP:
        this.timer.setMsip((merged & 1n) !== 0n);
        break;
      case CLINT_MTIMECMP:
        this.timer.setMtimecmp(merged & MASK64);
        break;
      case CLINT_MTIME:
        this.timer.setMtime?.(merged & MASK64);
        break;
    }
  }

  /** The register an access falls in, or undefined if it is not entirely inside one. */
  private locate(offset: number, size: number): { base: number; shift: number } | undefined {
    for (const [base, width] of [
      [CLINT_MSIP, 4],
      [CLINT_MTIMECMP, 8],
      [CLINT_MTIME, 8],
    ]) {
      if (offset >= base && offset + size <= base + width) return { base, shift: offset - base };
    }
    return undefined;
  }

  private get(base: number): bigint {
    switch (base) {
      case CLINT_MSIP:
        return this.timer.getMsip() ? 1n : 0n;
      case CLINT_MTIMECMP:
        return this.timer.getMtimecmp() & MASK64;
      default:
        return this.timer.mtime() & MASK64;
    }
  }
}
