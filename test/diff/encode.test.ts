import { describe, expect, it } from 'vitest';
import {
  aluI, aluR, amo, auipc, branch, cAdd, cAddi, cAddi16sp, cAddi4spn, cAddiw, cArith, cBranch, cJ, cLi,
  cLoadStore, cLui, cMv, cShiftAndi, cSlli, jal, jalr, load, lui, shiftI, store,
} from './encode';

// Expected words from GNU as 2.40 (riscv64-unknown-elf-as -march=rv64imac, .option norvc for
// base instructions), linked at 0x80000000 and read back with objdump: an independent encoder.
const TABLE: [string, number, number][] = [
  ['add x1, x2, x3', aluR('add', 1, 2, 3), 0x003100b3],
  ['sub x31, x0, x8', aluR('sub', 31, 0, 8), 0x40800fb3],
  ['sra x5, x6, x7', aluR('sra', 5, 6, 7), 0x407352b3],
  ['mulhsu x10, x11, x12', aluR('mulhsu', 10, 11, 12), 0x02c5a533],
  ['remu x13, x14, x15', aluR('remu', 13, 14, 15), 0x02f776b3],
  ['sraw x16, x17, x18', aluR('sraw', 16, 17, 18), 0x4128d83b],
  ['divuw x19, x20, x21', aluR('divuw', 19, 20, 21), 0x035a59bb],
  ['addi x1, x2, -2048', aluI('addi', 1, 2, -2048), 0x80010093],
  ['sltiu x3, x4, 2047', aluI('sltiu', 3, 4, 2047), 0x7ff23193],
  ['addiw x5, x6, -1', aluI('addiw', 5, 6, -1), 0xfff3029b],
  ['slli x7, x8, 63', shiftI('slli', 7, 8, 63), 0x03f41393],
  ['srai x9, x10, 33', shiftI('srai', 9, 10, 33), 0x42155493],
  ['sraiw x11, x12, 31', shiftI('sraiw', 11, 12, 31), 0x41f6559b],
  ['srliw x11, x12, 1', shiftI('srliw', 11, 12, 1), 0x0016559b],
  ['lui x13, 0xfffff', lui(13, 0xfffff), 0xfffff6b7],
  ['auipc x14, 0x12345', auipc(14, 0x12345), 0x12345717],
  ['lwu x15, -1024(x8)', load('lwu', 15, 8, -1024), 0xc0046783],
  ['ld x16, 1016(x8)', load('ld', 16, 8, 1016), 0x3f843803],
  ['sh x17, -2(x8)', store('sh', 17, 8, -2), 0xff141f23],
  ['sd x18, 2040(x8)', store('sd', 18, 8, 2040), 0x7f243c23],
  ['bgeu x19, x20, .+4094', branch('bgeu', 19, 20, 4094), 0x7f49ffe3],
  ['blt x21, x22, .-4096', branch('blt', 21, 22, -4096), 0x816ac063],
  ['beq x0, x1, .+2050', branch('beq', 0, 1, 2050), 0x001001e3],
  ['jal x1, .+1048574', jal(1, 1048574), 0x7ffff0ef],
  ['jal x0, .-2', jal(0, -2), 0xfffff06f],
  ['jalr x5, -7(x6)', jalr(5, 6, -7), 0xff9302e7],
  ['lr.d x1, (x2)', amo('lr', 'd', 1, 2, 0), 0x100130af],
  ['sc.w x3, x4, (x5)', amo('sc', 'w', 3, 5, 4), 0x1842a1af],
  ['amomaxu.d x6, x7, (x9)', amo('amomaxu', 'd', 6, 9, 7), 0xe074b32f],
  ['amoor.w.aqrl x6, x7, (x9)', amo('amoor', 'w', 6, 9, 7, true, true), 0x4674a32f],
  ['c.addi x1, -32', cAddi(1, -32), 0x1081],
  ['c.addiw x31, 31', cAddiw(31, 31), 0x2ffd],
  ['c.li x5, -1', cLi(5, -1), 0x52fd],
  ['c.lui x6, 0xfffe0', cLui(6, -32), 0x7301],
  ['c.lui x7, 31', cLui(7, 31), 0x63fd],
  ['c.addi16sp sp, -512', cAddi16sp(-512), 0x7101],
  ['c.addi16sp sp, 496', cAddi16sp(496), 0x617d],
  ['c.addi4spn x9, sp, 1020', cAddi4spn(9, 1020), 0x1fe4],
  ['c.addi4spn x15, sp, 4', cAddi4spn(15, 4), 0x005c],
  ['c.slli x3, 63', cSlli(3, 63), 0x11fe],
  ['c.srli x9, 32', cShiftAndi('c.srli', 9, 32), 0x9081],
  ['c.srai x10, 1', cShiftAndi('c.srai', 10, 1), 0x8505],
  ['c.andi x11, -17', cShiftAndi('c.andi', 11, -17), 0x99bd],
  ['c.sub x12, x13', cArith('c.sub', 12, 13), 0x8e15],
  ['c.xor x8, x15', cArith('c.xor', 8, 15), 0x8c3d],
  ['c.or x9, x9', cArith('c.or', 9, 9), 0x8cc5],
  ['c.and x10, x11', cArith('c.and', 10, 11), 0x8d6d],
  ['c.subw x14, x15', cArith('c.subw', 14, 15), 0x9f1d],
  ['c.addw x15, x8', cArith('c.addw', 15, 8), 0x9fa1],
  ['c.mv x1, x31', cMv(1, 31), 0x80fe],
  ['c.add x31, x1', cAdd(31, 1), 0x9f86],
  ['c.lw x9, 124(x8)', cLoadStore('c.lw', 9, 8, 124), 0x5c64],
  ['c.lw x9, 68(x8)', cLoadStore('c.lw', 9, 8, 68), 0x4064],
  ['c.ld x10, 248(x8)', cLoadStore('c.ld', 10, 8, 248), 0x7c68],
  ['c.ld x10, 136(x8)', cLoadStore('c.ld', 10, 8, 136), 0x6448],
  ['c.sw x11, 4(x8)', cLoadStore('c.sw', 11, 8, 4), 0xc04c],
  ['c.sd x12, 192(x8)', cLoadStore('c.sd', 12, 8, 192), 0xe070],
  ['c.j .+2046', cJ(2046), 0xaffd],
  ['c.j .-2048', cJ(-2048), 0xb001],
  ['c.j .+682', cJ(682), 0xa46d],
  ['c.beqz x9, .+254', cBranch('c.beqz', 9, 254), 0xccfd],
  ['c.bnez x15, .-256', cBranch('c.bnez', 15, -256), 0xf381],
  ['c.bnez x10, .+42', cBranch('c.bnez', 10, 42), 0xe50d],
];

describe('encode (against GNU as)', () => {
  it.each(TABLE)('%s', (_asm, got, want) => {
    expect(got.toString(16).padStart(want > 0xffff ? 8 : 4, '0')).toBe(want.toString(16).padStart(want > 0xffff ? 8 : 4, '0'));
  });
  it('rejects out-of-range operands instead of encoding something else', () => {
    expect(() => aluI('addi', 1, 2, 2048)).toThrow('encode: imm = 2048 out of range [-2048, 2047]');
    expect(() => branch('beq', 1, 2, 3)).toThrow('encode: branch offset = 3 out of range');
    expect(() => cLoadStore('c.ld', 7, 8, 0)).toThrow('encode: rd/rs2 = 7 out of range [8, 15]');
    expect(() => cAddi(1, 0)).toThrow('encode: c.addi imm 0');
    expect(() => shiftI('slliw', 1, 2, 32)).toThrow('encode: shamt = 32 out of range [0, 31]');
  });
});
