/**
 * The data access an instruction is about to make, for watchpoints: decoded from its bits and
 * the registers before it runs (unprivileged spec §2.6 loads and stores, §9.2 LR/SC and AMOs,
 * §16.3 compressed loads and stores; F/D's flw/fld/fsw/fsd). Other instructions make none.
 */

/** An access: address (virtual), size in bytes, and whether it reads and/or writes. */
export interface MemAccess {
  addr: bigint;
  size: number;
  read: boolean;
  write: boolean;
}

const sext = (v: number, bits: number): bigint => BigInt.asIntN(bits, BigInt(v));
const bits = (w: number, hi: number, lo: number): number => (w >>> lo) & ((1 << (hi - lo + 1)) - 1);

/** The access of instruction `insn` (16 or 32 bits) given registers x, or undefined. */
export function memAccess(insn: number, x: (i: number) => bigint): MemAccess | undefined {
  const at = (base: number, off: bigint) => BigInt.asUintN(64, x(base) + off);
  if ((insn & 3) === 3) {
    const op = insn & 0x7f;
    const f3 = bits(insn, 14, 12);
    const rs1 = bits(insn, 19, 15);
    const loadImm = sext(insn >> 20, 12);
    const storeImm = sext((bits(insn, 31, 25) << 5) | bits(insn, 11, 7), 12);
    switch (op) {
      case 0x03: // lb lh lw ld lbu lhu lwu
        if (f3 === 7) return undefined;
        return { addr: at(rs1, loadImm), size: 1 << (f3 & 3), read: true, write: false };
      case 0x07: // flw fld
        if (f3 !== 2 && f3 !== 3) return undefined;
        return { addr: at(rs1, loadImm), size: f3 === 2 ? 4 : 8, read: true, write: false };
      case 0x23: // sb sh sw sd
        if (f3 > 3) return undefined;
        return { addr: at(rs1, storeImm), size: 1 << f3, read: false, write: true };
      case 0x27: // fsw fsd
        if (f3 !== 2 && f3 !== 3) return undefined;
        return { addr: at(rs1, storeImm), size: f3 === 2 ? 4 : 8, read: false, write: true };
      case 0x2f: { // LR, SC, AMOs
        if (f3 !== 2 && f3 !== 3) return undefined;
        const f5 = insn >>> 27;
        return { addr: at(rs1, 0n), size: f3 === 2 ? 4 : 8, read: f5 !== 3, write: f5 !== 2 };
      }
    }
    return undefined;
  }
  const q = insn & 3;
  const f3 = bits(insn, 15, 13);
  if (q === 0) {
    const rs1 = 8 + bits(insn, 9, 7);
    const off8 = BigInt((bits(insn, 12, 10) << 3) | (bits(insn, 6, 5) << 6)); // c.ld c.sd c.fld c.fsd
    const off4 = BigInt((bits(insn, 12, 10) << 3) | (bits(insn, 6, 6) << 2) | (bits(insn, 5, 5) << 6)); // c.lw c.sw
    switch (f3) {
      case 1: case 3: return { addr: at(rs1, off8), size: 8, read: true, write: false }; // c.fld c.ld
      case 2: return { addr: at(rs1, off4), size: 4, read: true, write: false }; // c.lw
      case 5: case 7: return { addr: at(rs1, off8), size: 8, read: false, write: true }; // c.fsd c.sd
      case 6: return { addr: at(rs1, off4), size: 4, read: false, write: true }; // c.sw
    }
    return undefined;
  }
  if (q === 2) {
    const sp = 2;
    switch (f3) {
      case 1: case 3: // c.fldsp c.ldsp
        return { addr: at(sp, BigInt((bits(insn, 12, 12) << 5) | (bits(insn, 6, 5) << 3) | (bits(insn, 4, 2) << 6))), size: 8, read: true, write: false };
      case 2: // c.lwsp
        if (bits(insn, 11, 7) === 0) return undefined;
        return { addr: at(sp, BigInt((bits(insn, 12, 12) << 5) | (bits(insn, 6, 4) << 2) | (bits(insn, 3, 2) << 6))), size: 4, read: true, write: false };
      case 5: case 7: // c.fsdsp c.sdsp
        return { addr: at(sp, BigInt((bits(insn, 12, 10) << 3) | (bits(insn, 9, 7) << 6))), size: 8, read: false, write: true };
      case 6: // c.swsp
        return { addr: at(sp, BigInt((bits(insn, 12, 9) << 2) | (bits(insn, 8, 7) << 6))), size: 4, read: false, write: true };
    }
  }
  return undefined;
}
