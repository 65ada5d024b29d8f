/**
 * The disassembler against objdump: every expected string below was produced by
 * `riscv64-unknown-elf-objdump -d -M no-aliases` (binutils, Debian) on the same encodings,
 * rewritten to our spacing (", " between operands, targets as 0x addresses).
 */
import { describe, expect, it } from 'vitest';
import { createMemory, instantiateCore } from '../../host/machine/core';
import { Disassembler, disassemble, findRow } from '../../host/isa/disasm';
import { ISA } from '../../assembly/isa/table';

/** [encoding, pc, text]. */
const OBJDUMP: [number, bigint, string][] = [
  [0x00150513, 0x80000000n, 'addi a0, a0, 1'],
  [0xffb00513, 0x80000004n, 'addi a0, zero, -5'],
  [0x00812583, 0x80000008n, 'lw a1, 8(sp)'],
  [0xff843583, 0x8000000cn, 'ld a1, -8(s0)'],
  [0x00b501a3, 0x80000010n, 'sb a1, 3(a0)'],
  [0xfe113823, 0x80000014n, 'sd ra, -16(sp)'],
  [0x00b50863, 0x80000018n, 'beq a0, a1, 0x80000028'],
  [0xfe051ce3, 0x8000001cn, 'bne a0, zero, 0x80000014'],
  [0x020000ef, 0x80000020n, 'jal ra, 0x80000040'],
  [0xffdff06f, 0x80000024n, 'jal zero, 0x80000020'],
  [0x000500e7, 0x80000028n, 'jalr ra, 0(a0)'],
  [0x00408067, 0x8000002cn, 'jalr zero, 4(ra)'],
  [0x12345537, 0x80000030n, 'lui a0, 0x12345'],
  [0xfffff537, 0x80000034n, 'lui a0, 0xfffff'],
  [0x00001297, 0x80000038n, 'auipc t0, 0x1'],
  [0x00351513, 0x8000003cn, 'slli a0, a0, 0x3'],
  [0x43f65593, 0x80000040n, 'srai a1, a2, 0x3f'],
  [0x01f5151b, 0x80000044n, 'slliw a0, a0, 0x1f'],
  [0x00c58533, 0x80000048n, 'add a0, a1, a2'],
  [0x41cd8fb3, 0x8000004cn, 'sub t6, s11, t3'],
  [0x02c58533, 0x80000050n, 'mul a0, a1, a2'],
  [0x02c5d53b, 0x80000054n, 'divuw a0, a1, a2'],
  [0x30059573, 0x80000058n, 'csrrw a0, mstatus, a1'],
  [0x3412a073, 0x8000005cn, 'csrrs zero, mepc, t0'],
  [0x7c002573, 0x80000060n, 'csrrs a0, 0x7c0, zero'],
  [0x3002d573, 0x80000064n, 'csrrwi a0, mstatus, 5'],
  [0x100ff573, 0x80000068n, 'csrrci a0, sstatus, 31'],
  [0x00b6252f, 0x8000006cn, 'amoadd.w a0, a1, (a2)'],
  [0x0eb6352f, 0x80000070n, 'amoswap.d.aqrl a0, a1, (a2)'],
  [0xe4b6252f, 0x80000074n, 'amomaxu.w.aq a0, a1, (a2)'],
  [0x1005a52f, 0x80000078n, 'lr.w a0, (a1)'],
  [0x1205b52f, 0x8000007cn, 'lr.d.rl a0, (a1)'],
  [0x18b6252f, 0x80000080n, 'sc.w a0, a1, (a2)'],
  [0x1cb6352f, 0x80000084n, 'sc.d.aq a0, a1, (a2)'],
  [0x0ff0000f, 0x80000088n, 'fence iorw,iorw'],
  [0x0210000f, 0x80000090n, 'fence r,w'],
  [0x8330000f, 0x80000094n, 'fence.tso'],
  [0x0000100f, 0x80000098n, 'fence.i'],
  [0x00000073, 0x8000009cn, 'ecall'],
  [0x00100073, 0x800000a0n, 'ebreak'],
  [0x10200073, 0x800000a4n, 'sret'],
  [0x30200073, 0x800000a8n, 'mret'],
  [0x10500073, 0x800000acn, 'wfi'],
  [0x12000073, 0x800000b0n, 'sfence.vma zero, zero'],
  [0x12050073, 0x800000b4n, 'sfence.vma a0, zero'],
  [0x12b50073, 0x800000b8n, 'sfence.vma a0, a1'],
  [0xfff5b513, 0x800000bcn, 'sltiu a0, a1, -1'],
  [0xfff5c513, 0x800000c0n, 'xori a0, a1, -1'],
  [0xfff5051b, 0x800000c4n, 'addiw a0, a0, -1'],
  [0x0505, 0x800000c8n, 'c.addi a0, 1'],
  [0x0808, 0x800000can, 'c.addi4spn a0, sp, 16'],
  [0x460c, 0x800000ccn, 'c.lw a1, 8(a2)'],
  [0x660c, 0x800000cen, 'c.ld a1, 8(a2)'],
  [0xde6c, 0x800000d0n, 'c.sw a1, 124(a2)'],
  [0xfe6c, 0x800000d2n, 'c.sd a1, 248(a2)'],
  [0x357d, 0x800000d4n, 'c.addiw a0, -1'],
  [0x5501, 0x800000d6n, 'c.li a0, -32'],
  [0x7139, 0x800000d8n, 'c.addi16sp sp, -64'],
  [0x6505, 0x800000dan, 'c.lui a0, 0x1'],
  [0x757d, 0x800000dcn, 'c.lui a0, 0xfffff'],
  [0x810d, 0x800000den, 'c.srli a0, 0x3'],
  [0x957d, 0x800000e0n, 'c.srai a0, 0x3f'],
  [0x997d, 0x800000e2n, 'c.andi a0, -1'],
  [0x8d0d, 0x800000e4n, 'c.sub a0, a1'],
  [0x8d2d, 0x800000e6n, 'c.xor a0, a1'],
  [0x8d4d, 0x800000e8n, 'c.or a0, a1'],
  [0x8d6d, 0x800000ean, 'c.and a0, a1'],
  [0x9d0d, 0x800000ecn, 'c.subw a0, a1'],
  [0x9d2d, 0x800000een, 'c.addw a0, a1'],
  [0xa801, 0x800000f0n, 'c.j 0x80000100'],
  [0xdd7d, 0x800000f2n, 'c.beqz a0, 0x800000f0'],
  [0xedfd, 0x800000f4n, 'c.bnez a1, 0x800001f2'],
  [0x0506, 0x800000f6n, 'c.slli a0, 0x1'],
  [0x4522, 0x800000f8n, 'c.lwsp a0, 8(sp)'],
  [0x757e, 0x800000fan, 'c.ldsp a0, 504(sp)'],
  [0x8082, 0x800000fcn, 'c.jr ra'],
  [0x852e, 0x800000fen, 'c.mv a0, a1'],
  [0x9002, 0x80000100n, 'c.ebreak'],
  [0x9502, 0x80000102n, 'c.jalr a0'],
  [0x952e, 0x80000104n, 'c.add a0, a1'],
  [0xdfaa, 0x80000106n, 'c.swsp a0, 252(sp)'],
  [0xffaa, 0x80000108n, 'c.sdsp a0, 504(sp)'],
  [0x0001, 0x8000010an, 'c.addi zero, 0'],
  // F and D (objdump -M no-aliases, -march=rv64gc): f registers by ABI name, rm unless dyn
  [0x00812507, 0x80000200n, 'flw fa0, 8(sp)'],
  [0xfe953827, 0x80000204n, 'fsd fs1, -16(a0)'],
  [0x00c59553, 0x80000208n, 'fadd.s fa0, fa1, fa2, rtz'],
  [0x03f0f053, 0x8000020cn, 'fadd.d ft0, ft1, ft11'],
  [0x6ac58543, 0x80000210n, 'fmadd.d fa0, fa1, fa2, fa3, rne'],
  [0xd949c94b, 0x80000214n, 'fnmsub.s fs2, fs3, fs4, fs11, rmm'],
  [0x5a0837d3, 0x80000218n, 'fsqrt.d fa5, fa6, rup'],
  [0x20b5a553, 0x8000021cn, 'fsgnjx.s fa0, fa1, fa1'],
  [0xa2b52553, 0x80000220n, 'feq.d a0, fa0, fa1'],
  [0xe00192d3, 0x80000224n, 'fclass.s t0, ft3'],
  [0xc0051553, 0x80000228n, 'fcvt.w.s a0, fa0, rtz'],
  [0xd235a553, 0x8000022cn, 'fcvt.d.lu fa0, a1, rdn'],
  [0x4015f553, 0x80000230n, 'fcvt.s.d fa0, fa1'],
  [0xe2050553, 0x80000234n, 'fmv.x.d a0, fa0'],
  [0xf0000053, 0x80000238n, 'fmv.w.x ft0, zero'],
  [0x2588, 0x8000023cn, 'c.fld fa0, 8(a1)'],
  [0xbfa2, 0x8000023en, 'c.fsdsp fs0, 504(sp)'],
  [0x2002, 0x80000240n, 'c.fldsp ft0, 0(sp)'],
  [0xbcfc, 0x80000242n, 'c.fsd fa5, 248(s1)'],
];

describe('disassembler', () => {
  const memory = createMemory(0);
  const dis = new Disassembler(instantiateCore(memory), memory);

  it.each(OBJDUMP)('%s at %s is "%s"', (word, pc, text) => {
    expect(dis.disassemble(word, pc)).toBe(text);
  });

  it('prints targets relative to the instruction without a pc', () => {
    expect(dis.disassemble(0x00b50863)).toBe('beq a0, a1, pc + 16');
    expect(dis.disassemble(0xfe051ce3)).toBe('bne a0, zero, pc - 8');
    expect(dis.disassemble(0xdd7d)).toBe('c.beqz a0, pc - 2');
  });

  it('wraps targets around the 64-bit address space', () => {
    expect(dis.disassemble(0xffdff06f, 0n)).toBe('jal zero, 0xfffffffffffffffc');
  });

  it('prints illegal and reserved encodings with their own length', () => {
    expect(dis.disassemble(0x00000000)).toBe('illegal 0x0000'); // c.addi4spn with nzuimm = 0
    expect(dis.disassemble(0xffffffff)).toBe('illegal 0xffffffff');
    expect(dis.disassemble(0x6001)).toBe('illegal 0x6001'); // c.lui with nzimm = 0
    expect(dis.disassemble(0x4002)).toBe('illegal 0x4002'); // c.lwsp with rd = 0
    expect(dis.disassemble(0x8002)).toBe('illegal 0x8002'); // c.jr with rs1 = 0
    expect(dis.disassemble(0x04b5f533)).toBe('illegal 0x04b5f533'); // and with funct7 = 2
  });

  it('the compressed word is the low half; the upper half is the next instruction', () => {
    expect(dis.disassemble(0x12340505)).toBe('c.addi a0, 1');
  });

  it('has a shared instance behind disassemble()', () => {
    expect(disassemble(0x30059573)).toBe('csrrw a0, mstatus, a1');
  });

  it('prints every row of the ISA table, selected by its match bits plus operand bits', () => {
    for (const row of ISA) {
      const width = row[1] === 'C' ? 0xffff : 0xffffffff;
      // Fill the operand bits (outside the mask) until the word selects this row and is not reserved.
      const fills = [0, 0x2a52a2a4, 0x55555554, 0x0f0f0f0c, 0x7ffffffc].map((f) => ((row[2] | (f & ~row[3])) & width) >>> 0);
      const word = fills.find((w) => findRow(w) === row && !dis.disassemble(w).startsWith('illegal '));
      expect(word, `no operand bits make ${row[0]} decode`).toBeDefined();
      const text = dis.disassemble(word!, 0x80000000n);
      expect(text === row[0] || text.startsWith(`${row[0]} `) || text.startsWith(`${row[0]}.`), `${row[0]}: ${text}`).toBe(true);
    }
  });

  it('finds rows in table order (c.jr before c.mv, c.ebreak before c.jalr)', () => {
    expect(findRow(0x8082)?.[0]).toBe('c.jr');
    expect(findRow(0x852e)?.[0]).toBe('c.mv');
    expect(findRow(0x9002)?.[0]).toBe('c.ebreak');
    expect(findRow(0x9502)?.[0]).toBe('c.jalr');
    expect(findRow(0x0000007f)).toBeUndefined();
  });
});
