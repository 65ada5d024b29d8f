// The ISA table: every instruction the hart knows, once, with its extension, match and mask.
//
// Everything else derives from it (scripts/gen-isa.mjs runs at build time):
//   - assembly/gen/isa.ts: op ids, the decoder (decode32/decode16), per-op flags;
//   - the executor's dispatch switches on those op ids (assembly/exec.ts);
//   - the host disassembler (host/isa/disasm.ts) prints names and operands from it;
//   - the list of ISA tests (test/isa/) iterates over it.
//
// This file is plain data in TypeScript; it is not compiled into the Wasm core.
//
// A row: [name, extension, match, mask, operand format, flags, expands-to].
// An instruction word `w` is this row when (w & mask) === match; rows are tried in order, so
// a specific encoding (c.jr with rs2 = 0) stands before a general one (c.mv).
// Compressed rows (16-bit, extension 'C') expand to a base op: the record the decoder writes
// is that op's, with the compressed operands; the executor never sees a 16-bit format.
//
// Formats (operand layouts from the unprivileged spec, chapter 2.3 and 16.2 for RVC):
//   R I S B U J: the base formats.  SH6 / SH5: shift by a 6- or 5-bit shamt.
//   CSR / CSRI: csr in imm, rs1 or a 5-bit zimm in rs1.  AMO: rd, rs1, rs2 (aq/rl ignored:
//   one hart, accesses are sequentially consistent).  LR: rd, rs1.  NONE: no operands.
//   SFENCE: rs1, rs2.  F/D formats: see their rows.  The C* formats are named after what they extract (see assembly/decode.ts).

/** Flags of a row. */
export const F_END = 1; // ends a basic block (control transfer, or changes state the block assumed)
export const F_LOAD = 2; // reads data memory
export const F_STORE = 4; // writes data memory
export const F_PRIV = 8; // privileged / system instruction
/**
 * A conditional branch: a block goes on past it when it is not taken (a block may have several
 * exits, all at its branches, and one at its end), so if/else code decodes into long blocks.
 */
export const F_BRANCH = 16;

export type Row = [
  name: string,
  ext: string,
  match: number,
  mask: number,
  fmt: string,
  flags: number,
  expand?: string,
];

const E = F_END;
const L = F_LOAD;
const S = F_STORE;
const P = F_PRIV;
const BR = F_BRANCH;

export const ISA: Row[] = [
  // ---- RV64I (unprivileged spec ch. 2 and 5) ----
  ['lui', 'I', 0x00000037, 0x0000007f, 'U', 0],
  ['auipc', 'I', 0x00000017, 0x0000007f, 'U', 0],
  ['jal', 'I', 0x0000006f, 0x0000007f, 'J', E],
  ['jalr', 'I', 0x00000067, 0x0000707f, 'I', E],
  ['beq', 'I', 0x00000063, 0x0000707f, 'B', BR],
  ['bne', 'I', 0x00001063, 0x0000707f, 'B', BR],
  ['blt', 'I', 0x00004063, 0x0000707f, 'B', BR],
  ['bge', 'I', 0x00005063, 0x0000707f, 'B', BR],
  ['bltu', 'I', 0x00006063, 0x0000707f, 'B', BR],
  ['bgeu', 'I', 0x00007063, 0x0000707f, 'B', BR],
  ['lb', 'I', 0x00000003, 0x0000707f, 'I', L],
  ['lh', 'I', 0x00001003, 0x0000707f, 'I', L],
  ['lw', 'I', 0x00002003, 0x0000707f, 'I', L],
  ['ld', 'I', 0x00003003, 0x0000707f, 'I', L],
  ['lbu', 'I', 0x00004003, 0x0000707f, 'I', L],
  ['lhu', 'I', 0x00005003, 0x0000707f, 'I', L],
  ['lwu', 'I', 0x00006003, 0x0000707f, 'I', L],
  ['sb', 'I', 0x00000023, 0x0000707f, 'S', S],
  ['sh', 'I', 0x00001023, 0x0000707f, 'S', S],
  ['sw', 'I', 0x00002023, 0x0000707f, 'S', S],
  ['sd', 'I', 0x00003023, 0x0000707f, 'S', S],
  ['addi', 'I', 0x00000013, 0x0000707f, 'I', 0],
  ['slti', 'I', 0x00002013, 0x0000707f, 'I', 0],
  ['sltiu', 'I', 0x00003013, 0x0000707f, 'I', 0],
  ['xori', 'I', 0x00004013, 0x0000707f, 'I', 0],
  ['ori', 'I', 0x00006013, 0x0000707f, 'I', 0],
  ['andi', 'I', 0x00007013, 0x0000707f, 'I', 0],
  ['slli', 'I', 0x00001013, 0xfc00707f, 'SH6', 0],
  ['srli', 'I', 0x00005013, 0xfc00707f, 'SH6', 0],
  ['srai', 'I', 0x40005013, 0xfc00707f, 'SH6', 0],
  ['add', 'I', 0x00000033, 0xfe00707f, 'R', 0],
  ['sub', 'I', 0x40000033, 0xfe00707f, 'R', 0],
  ['sll', 'I', 0x00001033, 0xfe00707f, 'R', 0],
  ['slt', 'I', 0x00002033, 0xfe00707f, 'R', 0],
  ['sltu', 'I', 0x00003033, 0xfe00707f, 'R', 0],
  ['xor', 'I', 0x00004033, 0xfe00707f, 'R', 0],
  ['srl', 'I', 0x00005033, 0xfe00707f, 'R', 0],
  ['sra', 'I', 0x40005033, 0xfe00707f, 'R', 0],
  ['or', 'I', 0x00006033, 0xfe00707f, 'R', 0],
  ['and', 'I', 0x00007033, 0xfe00707f, 'R', 0],
  ['addiw', 'I', 0x0000001b, 0x0000707f, 'I', 0],
  ['slliw', 'I', 0x0000101b, 0xfe00707f, 'SH5', 0],
  ['srliw', 'I', 0x0000501b, 0xfe00707f, 'SH5', 0],
  ['sraiw', 'I', 0x4000501b, 0xfe00707f, 'SH5', 0],
  ['addw', 'I', 0x0000003b, 0xfe00707f, 'R', 0],
  ['subw', 'I', 0x4000003b, 0xfe00707f, 'R', 0],
  ['sllw', 'I', 0x0000103b, 0xfe00707f, 'R', 0],
  ['srlw', 'I', 0x0000503b, 0xfe00707f, 'R', 0],
  ['sraw', 'I', 0x4000503b, 0xfe00707f, 'R', 0],
  // FENCE with any fm/pred/succ (fence.tso and pause are encodings of it): a no-op on one hart.
  ['fence', 'I', 0x0000000f, 0x0000707f, 'NONE', 0],
  ['ecall', 'I', 0x00000073, 0xffffffff, 'NONE', E | P],
  ['ebreak', 'I', 0x00100073, 0xffffffff, 'NONE', E | P],
  // ---- Zifencei ----
  ['fence.i', 'Zifencei', 0x0000100f, 0x0000707f, 'NONE', E],
  // ---- Zicsr (ch. 7); CSR accesses end the block: they may change translation or interrupts ----
  ['csrrw', 'Zicsr', 0x00001073, 0x0000707f, 'CSR', E | P],
  ['csrrs', 'Zicsr', 0x00002073, 0x0000707f, 'CSR', E | P],
  ['csrrc', 'Zicsr', 0x00003073, 0x0000707f, 'CSR', E | P],
  ['csrrwi', 'Zicsr', 0x00005073, 0x0000707f, 'CSRI', E | P],
  ['csrrsi', 'Zicsr', 0x00006073, 0x0000707f, 'CSRI', E | P],
  ['csrrci', 'Zicsr', 0x00007073, 0x0000707f, 'CSRI', E | P],
  // ---- privileged (privileged spec ch. 3.3 and 4.2.1) ----
  ['sret', 'S', 0x10200073, 0xffffffff, 'NONE', E | P],
  ['mret', 'M', 0x30200073, 0xffffffff, 'NONE', E | P],
  ['wfi', 'M', 0x10500073, 0xffffffff, 'NONE', E | P],
  ['sfence.vma', 'S', 0x12000073, 0xfe007fff, 'SFENCE', E | P],
  // ---- H (privileged spec ch. 8.2): hypervisor loads/stores and fences ----
  // HLV/HLVX read rd from rs1 with V=1 translation at hstatus.SPVP; HSV writes rs2.
  ['hlv.b', 'H', 0x60004073, 0xfff0707f, 'R', L | E | P],
  ['hlv.bu', 'H', 0x60104073, 0xfff0707f, 'R', L | E | P],
  ['hlv.h', 'H', 0x64004073, 0xfff0707f, 'R', L | E | P],
  ['hlv.hu', 'H', 0x64104073, 0xfff0707f, 'R', L | E | P],
  ['hlvx.hu', 'H', 0x64304073, 0xfff0707f, 'R', L | E | P],
  ['hlv.w', 'H', 0x68004073, 0xfff0707f, 'R', L | E | P],
  ['hlvx.wu', 'H', 0x68304073, 0xfff0707f, 'R', L | E | P],
  ['hlv.wu', 'H', 0x68104073, 0xfff0707f, 'R', L | E | P],
  ['hlv.d', 'H', 0x6c004073, 0xfff0707f, 'R', L | E | P],
  ['hsv.b', 'H', 0x62004073, 0xfe007fff, 'R', S | E | P],
  ['hsv.h', 'H', 0x66004073, 0xfe007fff, 'R', S | E | P],
  ['hsv.w', 'H', 0x6a004073, 0xfe007fff, 'R', S | E | P],
  ['hsv.d', 'H', 0x6e004073, 0xfe007fff, 'R', S | E | P],
  ['hfence.vvma', 'H', 0x22000073, 0xfe007fff, 'SFENCE', E | P],
  ['hfence.gvma', 'H', 0x62000073, 0xfe007fff, 'SFENCE', E | P],
  // ---- M (ch. 13) ----
  ['mul', 'M', 0x02000033, 0xfe00707f, 'R', 0],
  ['mulh', 'M', 0x02001033, 0xfe00707f, 'R', 0],
  ['mulhsu', 'M', 0x02002033, 0xfe00707f, 'R', 0],
  ['mulhu', 'M', 0x02003033, 0xfe00707f, 'R', 0],
  ['div', 'M', 0x02004033, 0xfe00707f, 'R', 0],
  ['divu', 'M', 0x02005033, 0xfe00707f, 'R', 0],
  ['rem', 'M', 0x02006033, 0xfe00707f, 'R', 0],
  ['remu', 'M', 0x02007033, 0xfe00707f, 'R', 0],
  ['mulw', 'M', 0x0200003b, 0xfe00707f, 'R', 0],
  ['divw', 'M', 0x0200403b, 0xfe00707f, 'R', 0],
  ['divuw', 'M', 0x0200503b, 0xfe00707f, 'R', 0],
  ['remw', 'M', 0x0200603b, 0xfe00707f, 'R', 0],
  ['remuw', 'M', 0x0200703b, 0xfe00707f, 'R', 0],
  // ---- A (ch. 14): LR needs rs2 = 0; aq/rl (bits 26:25) are accepted and ignored ----
  ['lr.w', 'A', 0x1000202f, 0xf9f0707f, 'LR', L],
  ['sc.w', 'A', 0x1800202f, 0xf800707f, 'AMO', S],
  ['amoswap.w', 'A', 0x0800202f, 0xf800707f, 'AMO', L | S],
  ['amoadd.w', 'A', 0x0000202f, 0xf800707f, 'AMO', L | S],
  ['amoxor.w', 'A', 0x2000202f, 0xf800707f, 'AMO', L | S],
  ['amoand.w', 'A', 0x6000202f, 0xf800707f, 'AMO', L | S],
  ['amoor.w', 'A', 0x4000202f, 0xf800707f, 'AMO', L | S],
  ['amomin.w', 'A', 0x8000202f, 0xf800707f, 'AMO', L | S],
  ['amomax.w', 'A', 0xa000202f, 0xf800707f, 'AMO', L | S],
  ['amominu.w', 'A', 0xc000202f, 0xf800707f, 'AMO', L | S],
  ['amomaxu.w', 'A', 0xe000202f, 0xf800707f, 'AMO', L | S],
  ['lr.d', 'A', 0x1000302f, 0xf9f0707f, 'LR', L],
  ['sc.d', 'A', 0x1800302f, 0xf800707f, 'AMO', S],
  ['amoswap.d', 'A', 0x0800302f, 0xf800707f, 'AMO', L | S],
  ['amoadd.d', 'A', 0x0000302f, 0xf800707f, 'AMO', L | S],
  ['amoxor.d', 'A', 0x2000302f, 0xf800707f, 'AMO', L | S],
  ['amoand.d', 'A', 0x6000302f, 0xf800707f, 'AMO', L | S],
  ['amoor.d', 'A', 0x4000302f, 0xf800707f, 'AMO', L | S],
  ['amomin.d', 'A', 0x8000302f, 0xf800707f, 'AMO', L | S],
  ['amomax.d', 'A', 0xa000302f, 0xf800707f, 'AMO', L | S],
  ['amominu.d', 'A', 0xc000302f, 0xf800707f, 'AMO', L | S],
  ['amomaxu.d', 'A', 0xe000302f, 0xf800707f, 'AMO', L | S],

  // F and D stand together and last among the base rows: the interpreter hands the op ids
  // OP_FLW..OP_FMV_D_X to fp/exec.ts. Formats: FL/FS f-register loads/stores; FR rd, rs1, rs2
  // and FR4 (+ rs3 = bits 31:27) all f; FR1 rd, rs1 f; FCMP x rd, f rs1, rs2; FX x rd, f rs1;
  // XF f rd, x rs1. A row whose mask leaves bits 14:12 open has a rounding-mode field (rm).
  // ---- F (unprivileged spec ch. 20) ----
  ['flw', 'F', 0x00002007, 0x0000707f, 'FL', L],
  ['fsw', 'F', 0x00002027, 0x0000707f, 'FS', S],
  ['fmadd.s', 'F', 0x00000043, 0x0600007f, 'FR4', 0],
  ['fmsub.s', 'F', 0x00000047, 0x0600007f, 'FR4', 0],
  ['fnmsub.s', 'F', 0x0000004b, 0x0600007f, 'FR4', 0],
  ['fnmadd.s', 'F', 0x0000004f, 0x0600007f, 'FR4', 0],
  ['fadd.s', 'F', 0x00000053, 0xfe00007f, 'FR', 0],
  ['fsub.s', 'F', 0x08000053, 0xfe00007f, 'FR', 0],
  ['fmul.s', 'F', 0x10000053, 0xfe00007f, 'FR', 0],
  ['fdiv.s', 'F', 0x18000053, 0xfe00007f, 'FR', 0],
  ['fsqrt.s', 'F', 0x58000053, 0xfff0007f, 'FR1', 0],
  ['fsgnj.s', 'F', 0x20000053, 0xfe00707f, 'FR', 0],
  ['fsgnjn.s', 'F', 0x20001053, 0xfe00707f, 'FR', 0],
  ['fsgnjx.s', 'F', 0x20002053, 0xfe00707f, 'FR', 0],
  ['fmin.s', 'F', 0x28000053, 0xfe00707f, 'FR', 0],
  ['fmax.s', 'F', 0x28001053, 0xfe00707f, 'FR', 0],
  ['feq.s', 'F', 0xa0002053, 0xfe00707f, 'FCMP', 0],
  ['flt.s', 'F', 0xa0001053, 0xfe00707f, 'FCMP', 0],
  ['fle.s', 'F', 0xa0000053, 0xfe00707f, 'FCMP', 0],
  ['fclass.s', 'F', 0xe0001053, 0xfff0707f, 'FX', 0],
  ['fcvt.w.s', 'F', 0xc0000053, 0xfff0007f, 'FX', 0],
  ['fcvt.wu.s', 'F', 0xc0100053, 0xfff0007f, 'FX', 0],
  ['fcvt.l.s', 'F', 0xc0200053, 0xfff0007f, 'FX', 0],
  ['fcvt.lu.s', 'F', 0xc0300053, 0xfff0007f, 'FX', 0],
  ['fcvt.s.w', 'F', 0xd0000053, 0xfff0007f, 'XF', 0],
  ['fcvt.s.wu', 'F', 0xd0100053, 0xfff0007f, 'XF', 0],
  ['fcvt.s.l', 'F', 0xd0200053, 0xfff0007f, 'XF', 0],
  ['fcvt.s.lu', 'F', 0xd0300053, 0xfff0007f, 'XF', 0],
  ['fmv.x.w', 'F', 0xe0000053, 0xfff0707f, 'FX', 0],
  ['fmv.w.x', 'F', 0xf0000053, 0xfff0707f, 'XF', 0],
  // ---- D (unprivileged spec ch. 21) ----
  ['fld', 'D', 0x00003007, 0x0000707f, 'FL', L],
  ['fsd', 'D', 0x00003027, 0x0000707f, 'FS', S],
  ['fmadd.d', 'D', 0x02000043, 0x0600007f, 'FR4', 0],
  ['fmsub.d', 'D', 0x02000047, 0x0600007f, 'FR4', 0],
  ['fnmsub.d', 'D', 0x0200004b, 0x0600007f, 'FR4', 0],
  ['fnmadd.d', 'D', 0x0200004f, 0x0600007f, 'FR4', 0],
  ['fadd.d', 'D', 0x02000053, 0xfe00007f, 'FR', 0],
  ['fsub.d', 'D', 0x0a000053, 0xfe00007f, 'FR', 0],
  ['fmul.d', 'D', 0x12000053, 0xfe00007f, 'FR', 0],
  ['fdiv.d', 'D', 0x1a000053, 0xfe00007f, 'FR', 0],
  ['fsqrt.d', 'D', 0x5a000053, 0xfff0007f, 'FR1', 0],
  ['fsgnj.d', 'D', 0x22000053, 0xfe00707f, 'FR', 0],
  ['fsgnjn.d', 'D', 0x22001053, 0xfe00707f, 'FR', 0],
  ['fsgnjx.d', 'D', 0x22002053, 0xfe00707f, 'FR', 0],
  ['fmin.d', 'D', 0x2a000053, 0xfe00707f, 'FR', 0],
  ['fmax.d', 'D', 0x2a001053, 0xfe00707f, 'FR', 0],
  ['fcvt.s.d', 'D', 0x40100053, 0xfff0007f, 'FR1', 0],
  ['fcvt.d.s', 'D', 0x42000053, 0xfff0007f, 'FR1', 0],
  ['feq.d', 'D', 0xa2002053, 0xfe00707f, 'FCMP', 0],
  ['flt.d', 'D', 0xa2001053, 0xfe00707f, 'FCMP', 0],
  ['fle.d', 'D', 0xa2000053, 0xfe00707f, 'FCMP', 0],
  ['fclass.d', 'D', 0xe2001053, 0xfff0707f, 'FX', 0],
  ['fcvt.w.d', 'D', 0xc2000053, 0xfff0007f, 'FX', 0],
  ['fcvt.wu.d', 'D', 0xc2100053, 0xfff0007f, 'FX', 0],
  ['fcvt.l.d', 'D', 0xc2200053, 0xfff0007f, 'FX', 0],
  ['fcvt.lu.d', 'D', 0xc2300053, 0xfff0007f, 'FX', 0],
  ['fcvt.d.w', 'D', 0xd2000053, 0xfff0007f, 'XF', 0],
  ['fcvt.d.wu', 'D', 0xd2100053, 0xfff0007f, 'XF', 0],
  ['fcvt.d.l', 'D', 0xd2200053, 0xfff0007f, 'XF', 0],
  ['fcvt.d.lu', 'D', 0xd2300053, 0xfff0007f, 'XF', 0],
  ['fmv.x.d', 'D', 0xe2000053, 0xfff0707f, 'FX', 0],
  ['fmv.d.x', 'D', 0xf2000053, 0xfff0707f, 'XF', 0],


  // ---- C (ch. 16), RV64 encodings; quadrant 0 ----
  // c.addi4spn with nzuimm = 0 (this includes the all-zero halfword) is illegal: the
  // format's extractor reports it.
  ['c.addi4spn', 'C', 0x0000, 0xe003, 'CIW', 0, 'addi'],
  ['c.lw', 'C', 0x4000, 0xe003, 'CLW', L, 'lw'],
  ['c.fld', 'C', 0x2000, 0xe003, 'CFLD', L, 'fld'],
  ['c.ld', 'C', 0x6000, 0xe003, 'CLD', L, 'ld'],
  ['c.sw', 'C', 0xc000, 0xe003, 'CSW', S, 'sw'],
  ['c.fsd', 'C', 0xa000, 0xe003, 'CFSD', S, 'fsd'],
  ['c.sd', 'C', 0xe000, 0xe003, 'CSD', S, 'sd'],
  // quadrant 1
  ['c.addi', 'C', 0x0001, 0xe003, 'CI', 0, 'addi'],
  ['c.addiw', 'C', 0x2001, 0xe003, 'CADDIW', 0, 'addiw'], // rd = 0 reserved
  ['c.li', 'C', 0x4001, 0xe003, 'CLI', 0, 'addi'],
  ['c.addi16sp', 'C', 0x6101, 0xef83, 'CADDI16SP', 0, 'addi'], // nzimm = 0 reserved
  ['c.lui', 'C', 0x6001, 0xe003, 'CLUI', 0, 'lui'], // nzimm = 0 reserved
  ['c.srli', 'C', 0x8001, 0xec03, 'CBSH', 0, 'srli'],
  ['c.srai', 'C', 0x8401, 0xec03, 'CBSH', 0, 'srai'],
  ['c.andi', 'C', 0x8801, 0xec03, 'CBI', 0, 'andi'],
  ['c.sub', 'C', 0x8c01, 0xfc63, 'CA', 0, 'sub'],
  ['c.xor', 'C', 0x8c21, 0xfc63, 'CA', 0, 'xor'],
  ['c.or', 'C', 0x8c41, 0xfc63, 'CA', 0, 'or'],
  ['c.and', 'C', 0x8c61, 0xfc63, 'CA', 0, 'and'],
  ['c.subw', 'C', 0x9c01, 0xfc63, 'CA', 0, 'subw'],
  ['c.addw', 'C', 0x9c21, 0xfc63, 'CA', 0, 'addw'],
  ['c.j', 'C', 0xa001, 0xe003, 'CJ', E, 'jal'],
  ['c.beqz', 'C', 0xc001, 0xe003, 'CB', BR, 'beq'],
  ['c.bnez', 'C', 0xe001, 0xe003, 'CB', BR, 'bne'],
  // quadrant 2
  ['c.slli', 'C', 0x0002, 0xe003, 'CSLLI', 0, 'slli'],
  ['c.lwsp', 'C', 0x4002, 0xe003, 'CLWSP', L, 'lw'], // rd = 0 reserved
  ['c.fldsp', 'C', 0x2002, 0xe003, 'CFLDSP', L, 'fld'], // any rd: f0 is a register
  ['c.ldsp', 'C', 0x6002, 0xe003, 'CLDSP', L, 'ld'], // rd = 0 reserved
  ['c.jr', 'C', 0x8002, 0xf07f, 'CJR', E, 'jalr'], // rs1 = 0 reserved
  ['c.mv', 'C', 0x8002, 0xf003, 'CMV', 0, 'add'],
  ['c.ebreak', 'C', 0x9002, 0xffff, 'NONE', E | P, 'ebreak'],
  ['c.jalr', 'C', 0x9002, 0xf07f, 'CJALR', E, 'jalr'],
  ['c.add', 'C', 0x9002, 0xf003, 'CADD', 0, 'add'],
  ['c.swsp', 'C', 0xc002, 0xe003, 'CSWSP', S, 'sw'],
  ['c.fsdsp', 'C', 0xa002, 0xe003, 'CFSDSP', S, 'fsd'],
  ['c.sdsp', 'C', 0xe002, 0xe003, 'CSDSP', S, 'sd'],
];

/**
 * Ops no encoding decodes to: binary translation (--virt bt, assembly/btvirt.ts) rewrites the
 * records of a guest kernel's sensitive instructions into them when it decodes a block. They
 * get op ids after the table's (gen/isa.ts) and these flags; R_RAW keeps the instruction bits.
 *   bt.inline   a CSR access emulated inline against the virtual CSR file (the VMCS)
 *   bt.callout  an instruction the VMM emulates: the core exits to it (no trap is taken)
 */
export const PSEUDO_OPS: [name: string, flags: number][] = [
  ['bt.inline', E | P],
  ['bt.callout', E | P],
];

/** CSR names for the disassembler and error messages (privileged spec ch. 2.2, table 2.2-2.5). */
export const CSR_NAMES: Record<number, string> = {
  0x001: 'fflags', 0x002: 'frm', 0x003: 'fcsr',
  0xc00: 'cycle', 0xc01: 'time', 0xc02: 'instret',
  0x100: 'sstatus', 0x104: 'sie', 0x105: 'stvec', 0x106: 'scounteren', 0x10a: 'senvcfg',
  0x140: 'sscratch', 0x141: 'sepc', 0x142: 'scause', 0x143: 'stval', 0x144: 'sip',
  0x14d: 'stimecmp', 0x180: 'satp',
  0x200: 'vsstatus', 0x204: 'vsie', 0x205: 'vstvec', 0x240: 'vsscratch', 0x241: 'vsepc',
  0x242: 'vscause', 0x243: 'vstval', 0x244: 'vsip', 0x24d: 'vstimecmp', 0x280: 'vsatp',
  0x600: 'hstatus', 0x602: 'hedeleg', 0x603: 'hideleg', 0x604: 'hie', 0x605: 'htimedelta',
  0x606: 'hcounteren', 0x607: 'hgeie', 0x60a: 'henvcfg', 0x643: 'htval', 0x644: 'hip',
  0x645: 'hvip', 0x64a: 'htinst', 0x680: 'hgatp', 0xe12: 'hgeip', 0x34a: 'mtinst', 0x34b: 'mtval2',
  0x300: 'mstatus', 0x301: 'misa', 0x302: 'medeleg', 0x303: 'mideleg', 0x304: 'mie',
  0x305: 'mtvec', 0x306: 'mcounteren', 0x30a: 'menvcfg', 0x320: 'mcountinhibit',
  0x340: 'mscratch', 0x341: 'mepc', 0x342: 'mcause', 0x343: 'mtval', 0x344: 'mip',
  0xb00: 'mcycle', 0xb02: 'minstret',
  0xf11: 'mvendorid', 0xf12: 'marchid', 0xf13: 'mimpid', 0xf14: 'mhartid', 0xf15: 'mconfigptr',
};
