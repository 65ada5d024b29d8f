/**
 * Decoding the load or store behind an MMIO exit (a guest-page fault on a GPA that is no RAM).
 *
 * Normally the hart hands the instruction over in htinst, transformed as priv spec §8.6.3 says:
 * the trapping instruction with its address-offset field (rs1 for loads/stores) cleared and,
 * for a compressed instruction, first expanded to its 32-bit equivalent and then bit 1 cleared.
 * So the opcode (bits 6:2), funct3 (width and sign) and rd/rs2 are all there, and bit 1 tells
 * the instruction's length (1: 4 bytes, 0: 2 bytes).
 *
 * When htinst is zero the VMM reads the instruction itself (through the guest's two-stage
 * translation) and decodes it with `decodeRaw`, which knows the 32-bit loads/stores and the
 * compressed ones (c.lw, c.ld, c.sw, c.sd, c.lwsp, c.ldsp, c.swsp, c.sdsp).
 */

/** One emulated access. */
export interface MmioAccess {
  write: boolean;
  /** Bytes: 1, 2, 4 or 8. */
  size: number;
  /** Loads: sign-extend the value to 64 bits. */
  signed: boolean;
  /** Loads: the destination register; stores: the source register. */
  reg: number;
  /** Length of the instruction (to step over it): 2 or 4. */
  len: number;
}

const OP_LOAD = 0x00; // bits 6:2 of LOAD (0000011)
const OP_STORE = 0x08; // bits 6:2 of STORE (0100011)

/** funct3 of loads -> size and sign (unprivileged spec §2.6, RV64I §5.3). */
const LOAD_F3: Record<number, [number, boolean]> = {
  0: [1, true], 1: [2, true], 2: [4, true], 3: [8, true], 4: [1, false], 5: [2, false], 6: [4, false],
};
const STORE_F3: Record<number, number> = { 0: 1, 1: 2, 2: 4, 3: 8 };

/**
 * Decode a 32-bit load/store encoding's opcode, funct3 and register (bits 1:0 ignored); the
 * immediate and rs1 do not matter (the address is known from the fault).
 */
function decode32(insn: number, len: number): MmioAccess | undefined {
  const op = (insn >>> 2) & 0x1f;
  const f3 = (insn >>> 12) & 7;
  if (op === OP_LOAD) {
    const e = LOAD_F3[f3];
    if (!e) return undefined;
    return { write: false, size: e[0], signed: e[1], reg: (insn >>> 7) & 31, len };
  }
  if (op === OP_STORE) {
    const size = STORE_F3[f3];
    if (size === undefined) return undefined;
    return { write: true, size, signed: false, reg: (insn >>> 20) & 31, len };
  }
  return undefined;
}

/**
 * The access described by a transformed instruction from htinst, or undefined when htinst is
 * zero, a pseudo-instruction (bits 1:0 = 00), or not a load/store (e.g. an AMO, which MMIO does
 * not support).
 */
export function decodeHtinst(htinst: number): MmioAccess | undefined {
  if ((htinst & 1) === 0) return undefined; // 0 or a pseudo-instruction
  return decode32(htinst, (htinst & 2) !== 0 ? 4 : 2);
}

/**
 * Decode raw instruction bits (the low 16 bits alone when compressed) as a load or store.
 * Compressed forms (C extension, RV64, unprivileged spec §16.3-16.4):
 *   quadrant 0: c.lw (010), c.ld (011), c.sw (110), c.sd (111): rd'/rs2' = bits 4:2 + 8
 *   quadrant 2: c.lwsp (010), c.ldsp (011): rd = bits 11:7 (not 0); c.swsp (110), c.sdsp (111):
 *               rs2 = bits 6:2
 */
export function decodeRaw(insn: number): MmioAccess | undefined {
  if ((insn & 3) === 3) return decode32(insn >>> 0, 4);
  const q = insn & 3;
  const f3 = (insn >>> 13) & 7;
  if (q === 0) {
    const r = ((insn >>> 2) & 7) + 8;
    switch (f3) {
      case 2: return { write: false, size: 4, signed: true, reg: r, len: 2 };
      case 3: return { write: false, size: 8, signed: true, reg: r, len: 2 };
      case 6: return { write: true, size: 4, signed: false, reg: r, len: 2 };
      case 7: return { write: true, size: 8, signed: false, reg: r, len: 2 };
    }
    return undefined;
  }
  if (q === 2) {
    const rd = (insn >>> 7) & 31;
    switch (f3) {
      case 2: return rd === 0 ? undefined : { write: false, size: 4, signed: true, reg: rd, len: 2 };
      case 3: return rd === 0 ? undefined : { write: false, size: 8, signed: true, reg: rd, len: 2 };
      case 6: return { write: true, size: 4, signed: false, reg: (insn >>> 2) & 31, len: 2 };
      case 7: return { write: true, size: 8, signed: false, reg: (insn >>> 2) & 31, len: 2 };
    }
  }
  return undefined;
}

/** A load's value as the register receives it: `size` bytes, sign- or zero-extended to 64 bits. */
export function extendLoad(value: bigint, size: number, signed: boolean): bigint {
  const bits = BigInt(size * 8);
  const v = BigInt.asUintN(Number(bits), value);
  return signed ? BigInt.asUintN(64, BigInt.asIntN(Number(bits), v)) : v;
}
