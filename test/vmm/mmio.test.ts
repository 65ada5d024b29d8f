import { describe, expect, it } from 'vitest';
import { decodeHtinst, decodeRaw, extendLoad } from '../../host/vmm/mmio';
import * as E from '../diff/encode';

/** The transformation of priv spec §8.6.3 for a load/store: rs1 (address offset) and the immediate cleared. */
function transform(insn: number): number {
  const op = insn & 0x7f;
  if (op === 0x03) return (insn & 0x000fffff & ~(31 << 15)) >>> 0; // keep rd, funct3, opcode
  return (insn & ((31 << 20) | (7 << 12) | 0x7f)) >>> 0; // store: rs2, funct3, opcode
}

describe('decodeHtinst', () => {
  const loads: [keyof typeof E.LOADS, number, boolean][] = [
    ['lb', 1, true], ['lh', 2, true], ['lw', 4, true], ['ld', 8, true], ['lbu', 1, false], ['lhu', 2, false], ['lwu', 4, false],
  ];
  it.each(loads)('%s: width %i, signed %s, rd, length 4', (name, size, signed) => {
    const t = transform(E.load(name, 13, 10, -8));
    expect(decodeHtinst(t)).toEqual({ write: false, size, signed, reg: 13, len: 4 });
  });
  const stores: [keyof typeof E.STORES, number][] = [['sb', 1], ['sh', 2], ['sw', 4], ['sd', 8]];
  it.each(stores)('%s: width %i, rs2, length 4', (name, size) => {
    const t = transform(E.store(name, 7, 10, 100));
    expect(decodeHtinst(t)).toEqual({ write: true, size, signed: false, reg: 7, len: 4 });
  });
  it('compressed loads and stores: the expanded form with bit 1 cleared means length 2', () => {
    // c.lw a1, 4(a2) expands to lw a1, 4(a2); c.sd s0, 8(a0) to sd s0, 8(a0); c.ldsp ra, 0(sp) to ld ra, 0(sp).
    expect(decodeHtinst(transform(E.load('lw', 11, 12, 4)) & ~2)).toEqual({ write: false, size: 4, signed: true, reg: 11, len: 2 });
    expect(decodeHtinst(transform(E.store('sd', 8, 10, 8)) & ~2)).toEqual({ write: true, size: 8, signed: false, reg: 8, len: 2 });
    expect(decodeHtinst(transform(E.load('ld', 1, 2, 0)) & ~2)).toEqual({ write: false, size: 8, signed: true, reg: 1, len: 2 });
    expect(decodeHtinst(transform(E.store('sw', 9, 2, 12)) & ~2)).toEqual({ write: true, size: 4, signed: false, reg: 9, len: 2 });
  });
  it('refuses zero, pseudo-instructions, invalid widths and non-memory instructions', () => {
    expect(decodeHtinst(0)).toBeUndefined();
    expect(decodeHtinst(0x00003000)).toBeUndefined();
    expect(decodeHtinst(0x00003020)).toBeUndefined();
    expect(decodeHtinst(0x00007003)).toBeUndefined(); // LOAD funct3 7 is reserved
    expect(decodeHtinst(0x00004023)).toBeUndefined(); // STORE funct3 4 (no such width here)
    expect(decodeHtinst(transform(E.amo('amoadd', 'w', 5, 10, 6)))).toBeUndefined();
  });
});

describe('decodeRaw', () => {
  it('decodes 32-bit loads and stores from their raw bits', () => {
    expect(decodeRaw(E.load('lhu', 5, 6, 2))).toEqual({ write: false, size: 2, signed: false, reg: 5, len: 4 });
    expect(decodeRaw(E.store('sb', 31, 1, -1))).toEqual({ write: true, size: 1, signed: false, reg: 31, len: 4 });
  });
  it('decodes c.lw, c.ld, c.sw, c.sd (rd\'/rs2\' = x8..x15)', () => {
    expect(decodeRaw(E.cLoadStore('c.lw', 9, 10, 4))).toEqual({ write: false, size: 4, signed: true, reg: 9, len: 2 });
    expect(decodeRaw(E.cLoadStore('c.ld', 15, 8, 8))).toEqual({ write: false, size: 8, signed: true, reg: 15, len: 2 });
    expect(decodeRaw(E.cLoadStore('c.sw', 12, 10, 0))).toEqual({ write: true, size: 4, signed: false, reg: 12, len: 2 });
    expect(decodeRaw(E.cLoadStore('c.sd', 8, 11, 16))).toEqual({ write: true, size: 8, signed: false, reg: 8, len: 2 });
  });
  it('decodes c.lwsp, c.ldsp, c.swsp, c.sdsp', () => {
    // c.lwsp a0, 4(sp) = 010 0 01010 00100 10 ; c.ldsp ra, 8(sp) = 011 0 00001 01000 10... built by hand:
    const cLwsp = (rd: number) => (2 << 13) | (rd << 7) | (1 << 4) | 2; // offset 4: bits 6:4 = 001 -> uimm[4:2]
    const cLdsp = (rd: number) => (3 << 13) | (rd << 7) | (1 << 5) | 2; // offset 8
    const cSwsp = (rs2: number) => (6 << 13) | (1 << 9) | (rs2 << 2) | 2; // offset 4
    const cSdsp = (rs2: number) => (7 << 13) | (1 << 10) | (rs2 << 2) | 2; // offset 8
    expect(decodeRaw(cLwsp(10))).toEqual({ write: false, size: 4, signed: true, reg: 10, len: 2 });
    expect(decodeRaw(cLdsp(1))).toEqual({ write: false, size: 8, signed: true, reg: 1, len: 2 });
    expect(decodeRaw(cSwsp(17))).toEqual({ write: true, size: 4, signed: false, reg: 17, len: 2 });
    expect(decodeRaw(cSdsp(0))).toEqual({ write: true, size: 8, signed: false, reg: 0, len: 2 });
    expect(decodeRaw(cLwsp(0))).toBeUndefined(); // rd = 0 is reserved
  });
  it('refuses other instructions', () => {
    expect(decodeRaw(E.aluI('addi', 1, 1, 1))).toBeUndefined();
    expect(decodeRaw(E.cAddi(1, 1))).toBeUndefined();
    expect(decodeRaw(0)).toBeUndefined(); // the illegal all-zero parcel
  });
});

describe('extendLoad', () => {
  it('sign- or zero-extends to 64 bits', () => {
    expect(extendLoad(0x80n, 1, true)).toBe(0xffff_ffff_ffff_ff80n);
    expect(extendLoad(0x180n, 1, false)).toBe(0x80n);
    expect(extendLoad(0x8000n, 2, true)).toBe(0xffff_ffff_ffff_8000n);
    expect(extendLoad(0x8000_0000n, 4, true)).toBe(0xffff_ffff_8000_0000n);
    expect(extendLoad(0x8000_0000n, 4, false)).toBe(0x8000_0000n);
    expect(extendLoad(0x8000_0000_0000_0000n, 8, true)).toBe(0x8000_0000_0000_0000n);
  });
});
