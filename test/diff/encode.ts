/**
 * A small RISC-V instruction encoder for the differential fuzzer, written from the base formats
 * of the unprivileged ISA (Volume I, chapter 2.2-2.3: R, I, S, B, U, J) and the compressed
 * formats (chapter 16.2, "C" extension: CR, CI, CSS, CIW, CL, CS, CA, CB, CJ).
 *
 * Every function returns the instruction bits (a 32-bit number for base instructions, a 16-bit
 * number for compressed ones). Arguments are checked: an out-of-range immediate throws, so a
 * fuzzer bug cannot silently produce a different instruction.
 */

/** Throw unless `v` is an integer in [lo, hi] and a multiple of `align`. */
function check(name: string, v: number, lo: number, hi: number, align = 1): void {
  if (!Number.isInteger(v) || v < lo || v > hi || v % align !== 0) {
    throw new Error(`encode: ${name} = ${v} out of range [${lo}, ${hi}] (multiple of ${align})`);
  }
}
const reg = (name: string, r: number) => check(name, r, 0, 31);
/** Bits [hi:lo] of v. */
const bits = (v: number, hi: number, lo: number) => (v >>> lo) & ((1 << (hi - lo + 1)) - 1);

// ---- base formats (Volume I, figure 2.3) ----

/** R-type: funct7 | rs2 | rs1 | funct3 | rd | opcode. */
export function rType(opcode: number, funct3: number, funct7: number, rd: number, rs1: number, rs2: number): number {
  reg('rd', rd); reg('rs1', rs1); reg('rs2', rs2);
  return ((funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode) >>> 0;
}

/** I-type: imm[11:0] | rs1 | funct3 | rd | opcode (imm signed 12 bits). */
export function iType(opcode: number, funct3: number, rd: number, rs1: number, imm: number): number {
  reg('rd', rd); reg('rs1', rs1); check('imm', imm, -2048, 2047);
  return (((imm & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode) >>> 0;
}

/** S-type: imm[11:5] | rs2 | rs1 | funct3 | imm[4:0] | opcode. */
export function sType(opcode: number, funct3: number, rs1: number, rs2: number, imm: number): number {
  reg('rs1', rs1); reg('rs2', rs2); check('imm', imm, -2048, 2047);
  return ((bits(imm, 11, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (bits(imm, 4, 0) << 7) | opcode) >>> 0;
}

/** B-type: imm[12|10:5] | rs2 | rs1 | funct3 | imm[4:1|11] | opcode (even offset, +-4 KiB). */
export function bType(funct3: number, rs1: number, rs2: number, offset: number): number {
  reg('rs1', rs1); reg('rs2', rs2); check('branch offset', offset, -4096, 4094, 2);
  return (
    ((bits(offset, 12, 12) << 31) | (bits(offset, 10, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) |
      (bits(offset, 4, 1) << 8) | (bits(offset, 11, 11) << 7) | 0x63) >>> 0
  );
}

/** U-type: imm[31:12] | rd | opcode; `imm20` is the 20-bit upper immediate (0..0xfffff). */
export function uType(opcode: number, rd: number, imm20: number): number {
  reg('rd', rd); check('imm20', imm20, 0, 0xfffff);
  return ((imm20 << 12) | (rd << 7) | opcode) >>> 0;
}

/** J-type (jal): imm[20|10:1|11|19:12] | rd | 1101111 (even offset, +-1 MiB). */
export function jal(rd: number, offset: number): number {
  reg('rd', rd); check('jump offset', offset, -(1 << 20), (1 << 20) - 2, 2);
  return (
    ((bits(offset, 20, 20) << 31) | (bits(offset, 10, 1) << 21) | (bits(offset, 11, 11) << 20) |
      (bits(offset, 19, 12) << 12) | (rd << 7) | 0x6f) >>> 0
  );
}

/** Major opcodes (Volume I, table 24.1). */
export const OPC = {
  LOAD: 0x03, OP_IMM: 0x13, AUIPC: 0x17, OP_IMM_32: 0x1b, STORE: 0x23, AMO: 0x2f, OP: 0x33,
  LUI: 0x37, OP_32: 0x3b, BRANCH: 0x63, JALR: 0x67, JAL: 0x6f,
} as const;

/** R-type ALU operations on OP / OP-32: [funct3, funct7]. M extension has funct7 = 1. */
export const ALU_R: Record<string, [number, number, number]> = {
  add: [OPC.OP, 0, 0], sub: [OPC.OP, 0, 0x20], sll: [OPC.OP, 1, 0], slt: [OPC.OP, 2, 0],
  sltu: [OPC.OP, 3, 0], xor: [OPC.OP, 4, 0], srl: [OPC.OP, 5, 0], sra: [OPC.OP, 5, 0x20],
  or: [OPC.OP, 6, 0], and: [OPC.OP, 7, 0],
  mul: [OPC.OP, 0, 1], mulh: [OPC.OP, 1, 1], mulhsu: [OPC.OP, 2, 1], mulhu: [OPC.OP, 3, 1],
  div: [OPC.OP, 4, 1], divu: [OPC.OP, 5, 1], rem: [OPC.OP, 6, 1], remu: [OPC.OP, 7, 1],
  addw: [OPC.OP_32, 0, 0], subw: [OPC.OP_32, 0, 0x20], sllw: [OPC.OP_32, 1, 0],
  srlw: [OPC.OP_32, 5, 0], sraw: [OPC.OP_32, 5, 0x20],
  mulw: [OPC.OP_32, 0, 1], divw: [OPC.OP_32, 4, 1], divuw: [OPC.OP_32, 5, 1],
  remw: [OPC.OP_32, 6, 1], remuw: [OPC.OP_32, 7, 1],
};

/** An R-type ALU instruction by name (see ALU_R). */
export function aluR(name: string, rd: number, rs1: number, rs2: number): number {
  const e = ALU_R[name];
  if (!e) throw new Error(`encode: unknown R-type op ${name}`);
  return rType(e[0], e[1], e[2], rd, rs1, rs2);
}

/** Register-immediate operations with a 12-bit signed immediate: [opcode, funct3]. */
export const ALU_I: Record<string, [number, number]> = {
  addi: [OPC.OP_IMM, 0], slti: [OPC.OP_IMM, 2], sltiu: [OPC.OP_IMM, 3], xori: [OPC.OP_IMM, 4],
  ori: [OPC.OP_IMM, 6], andi: [OPC.OP_IMM, 7], addiw: [OPC.OP_IMM_32, 0],
};

/** An I-type ALU instruction by name (see ALU_I). */
export function aluI(name: string, rd: number, rs1: number, imm: number): number {
  const e = ALU_I[name];
  if (!e) throw new Error(`encode: unknown I-type op ${name}`);
  return iType(e[0], e[1], rd, rs1, imm);
}

/** Shifts by immediate: slli/srli/srai take 6-bit shamt (RV64), the W forms 5-bit. */
export function shiftI(name: 'slli' | 'srli' | 'srai' | 'slliw' | 'srliw' | 'sraiw', rd: number, rs1: number, shamt: number): number {
  const word = name.endsWith('w');
  check('shamt', shamt, 0, word ? 31 : 63);
  const funct3 = name.startsWith('sll') ? 1 : 5;
  const arith = name.startsWith('sra') ? 0x400 : 0; // imm[10] selects arithmetic right shift
  return iType(word ? OPC.OP_IMM_32 : OPC.OP_IMM, funct3, rd, rs1, arith | shamt);
}

/** lui rd, imm20 / auipc rd, imm20. */
export const lui = (rd: number, imm20: number) => uType(OPC.LUI, rd, imm20);
export const auipc = (rd: number, imm20: number) => uType(OPC.AUIPC, rd, imm20);

/** Load funct3 by name. */
export const LOADS = { lb: 0, lh: 1, lw: 2, ld: 3, lbu: 4, lhu: 5, lwu: 6 } as const;
/** Store funct3 by name. */
export const STORES = { sb: 0, sh: 1, sw: 2, sd: 3 } as const;

/** A load: rd = mem[rs1 + imm]. */
export const load = (name: keyof typeof LOADS, rd: number, rs1: number, imm: number) =>
  iType(OPC.LOAD, LOADS[name], rd, rs1, imm);
/** A store: mem[rs1 + imm] = rs2. */
export const store = (name: keyof typeof STORES, rs2: number, rs1: number, imm: number) =>
  sType(OPC.STORE, STORES[name], rs1, rs2, imm);

/** Branch funct3 by name. */
export const BRANCHES = { beq: 0, bne: 1, blt: 4, bge: 5, bltu: 6, bgeu: 7 } as const;
/** A conditional branch to pc + offset. */
export const branch = (name: keyof typeof BRANCHES, rs1: number, rs2: number, offset: number) =>
  bType(BRANCHES[name], rs1, rs2, offset);

/** jalr rd, imm(rs1). */
export const jalr = (rd: number, rs1: number, imm: number) => iType(OPC.JALR, 0, rd, rs1, imm);

/** AMO funct5 by name (Volume I, chapter 8, table of the A extension). */
export const AMOS = {
  lr: 0x02, sc: 0x03, amoswap: 0x01, amoadd: 0x00, amoxor: 0x04, amoand: 0x0c, amoor: 0x08,
  amomin: 0x10, amomax: 0x14, amominu: 0x18, amomaxu: 0x1c,
} as const;

/** An A-extension instruction: funct5 | aq | rl | rs2 | rs1 | width | rd | 0101111. lr takes rs2 = 0. */
export function amo(name: keyof typeof AMOS, width: 'w' | 'd', rd: number, rs1: number, rs2: number, aq = false, rl = false): number {
  const funct7 = (AMOS[name] << 2) | (aq ? 2 : 0) | (rl ? 1 : 0);
  return rType(OPC.AMO, width === 'w' ? 2 : 3, funct7, rd, rs1, rs2);
}

// ---- compressed formats (Volume I, chapter 16) ----

/** Register number x8..x15 as the 3-bit field of CIW/CL/CS/CA/CB formats. */
function creg(name: string, r: number): number {
  check(name, r, 8, 15);
  return r - 8;
}

/** CI format: funct3 | imm[5] | rd | imm[4:0] | op, for c.addi, c.addiw, c.li (6-bit signed imm). */
function ci(funct3: number, op: number, rd: number, imm6: number): number {
  return (funct3 << 13) | (bits(imm6, 5, 5) << 12) | (rd << 7) | (bits(imm6, 4, 0) << 2) | op;
}

/** c.addi rd, nzimm (rd != 0, imm != 0). */
export function cAddi(rd: number, imm: number): number {
  check('rd', rd, 1, 31); check('imm', imm, -32, 31); if (imm === 0) throw new Error('encode: c.addi imm 0');
  return ci(0, 1, rd, imm);
}
/** c.addiw rd, imm (RV64; rd != 0). */
export function cAddiw(rd: number, imm: number): number {
  check('rd', rd, 1, 31); check('imm', imm, -32, 31);
  return ci(1, 1, rd, imm);
}
/** c.li rd, imm (rd != 0). */
export function cLi(rd: number, imm: number): number {
  check('rd', rd, 1, 31); check('imm', imm, -32, 31);
  return ci(2, 1, rd, imm);
}
/** c.lui rd, nzimm: `imm6` is the signed value of bits [17:12] (rd != 0, 2; imm6 != 0). */
export function cLui(rd: number, imm6: number): number {
  check('rd', rd, 1, 31); if (rd === 2) throw new Error('encode: c.lui rd = sp');
  check('imm6', imm6, -32, 31); if (imm6 === 0) throw new Error('encode: c.lui imm 0');
  return ci(3, 1, rd, imm6);
}
/** c.addi16sp nzimm (multiple of 16, -512..496, not 0). */
export function cAddi16sp(imm: number): number {
  check('imm', imm, -512, 496, 16); if (imm === 0) throw new Error('encode: c.addi16sp imm 0');
  return (3 << 13) | (bits(imm, 9, 9) << 12) | (2 << 7) | (bits(imm, 4, 4) << 6) | (bits(imm, 6, 6) << 5) |
    (bits(imm, 8, 7) << 3) | (bits(imm, 5, 5) << 2) | 1;
}
/** c.addi4spn rd', nzuimm (multiple of 4, 4..1020): rd' = sp + nzuimm. */
export function cAddi4spn(rd: number, imm: number): number {
  const r = creg('rd', rd); check('imm', imm, 4, 1020, 4);
  return (bits(imm, 5, 4) << 11) | (bits(imm, 9, 6) << 7) | (bits(imm, 2, 2) << 6) | (bits(imm, 3, 3) << 5) | (r << 2);
}
/** c.slli rd, shamt (rd != 0, shamt 1..63). */
export function cSlli(rd: number, shamt: number): number {
  check('rd', rd, 1, 31); check('shamt', shamt, 1, 63);
  return (bits(shamt, 5, 5) << 12) | (rd << 7) | (bits(shamt, 4, 0) << 2) | 2;
}
/** c.srli / c.srai / c.andi on rd' (CB format with funct2 in [11:10]). */
export function cShiftAndi(name: 'c.srli' | 'c.srai' | 'c.andi', rd: number, imm: number): number {
  const r = creg('rd', rd);
  if (name === 'c.andi') check('imm', imm, -32, 31);
  else check('shamt', imm, 1, 63);
  const funct2 = { 'c.srli': 0, 'c.srai': 1, 'c.andi': 2 }[name];
  return (4 << 13) | (bits(imm, 5, 5) << 12) | (funct2 << 10) | (r << 7) | (bits(imm, 4, 0) << 2) | 1;
}
/** CA format: c.sub, c.xor, c.or, c.and, c.subw, c.addw (rd' = rd' op rs2'). */
export function cArith(name: 'c.sub' | 'c.xor' | 'c.or' | 'c.and' | 'c.subw' | 'c.addw', rd: number, rs2: number): number {
  const r = creg('rd', rd), s = creg('rs2', rs2);
  const [b12, f2] = { 'c.sub': [0, 0], 'c.xor': [0, 1], 'c.or': [0, 2], 'c.and': [0, 3], 'c.subw': [1, 0], 'c.addw': [1, 1] }[name];
  return (4 << 13) | (b12 << 12) | (3 << 10) | (r << 7) | (f2 << 5) | (s << 2) | 1;
}
/** c.mv rd, rs2 (both != 0). */
export function cMv(rd: number, rs2: number): number {
  check('rd', rd, 1, 31); check('rs2', rs2, 1, 31);
  return (4 << 13) | (rd << 7) | (rs2 << 2) | 2;
}
/** c.add rd, rs2 (both != 0). */
export function cAdd(rd: number, rs2: number): number {
  check('rd', rd, 1, 31); check('rs2', rs2, 1, 31);
  return (4 << 13) | (1 << 12) | (rd << 7) | (rs2 << 2) | 2;
}
/** c.lw / c.ld / c.sw / c.sd: register rd' (or rs2'), base rs1', scaled unsigned offset. */
export function cLoadStore(name: 'c.lw' | 'c.ld' | 'c.sw' | 'c.sd', r: number, rs1: number, offset: number): number {
  const a = creg('rd/rs2', r), b = creg('rs1', rs1);
  const word = name === 'c.lw' || name === 'c.sw';
  check('offset', offset, 0, word ? 124 : 248, word ? 4 : 8);
  const funct3 = { 'c.lw': 2, 'c.ld': 3, 'c.sw': 6, 'c.sd': 7 }[name];
  const low = word ? (bits(offset, 2, 2) << 1) | bits(offset, 6, 6) : bits(offset, 7, 6);
  return (funct3 << 13) | (bits(offset, 5, 3) << 10) | (b << 7) | (low << 5) | (a << 2);
}
/** c.j offset (even, +-2 KiB). */
export function cJ(offset: number): number {
  check('offset', offset, -2048, 2046, 2);
  return (5 << 13) | (bits(offset, 11, 11) << 12) | (bits(offset, 4, 4) << 11) | (bits(offset, 9, 8) << 9) |
    (bits(offset, 10, 10) << 8) | (bits(offset, 6, 6) << 7) | (bits(offset, 7, 7) << 6) | (bits(offset, 3, 1) << 3) |
    (bits(offset, 5, 5) << 2) | 1;
}
/** c.beqz / c.bnez rs1', offset (even, +-256 B). */
export function cBranch(name: 'c.beqz' | 'c.bnez', rs1: number, offset: number): number {
  const r = creg('rs1', rs1); check('offset', offset, -256, 254, 2);
  return ((name === 'c.beqz' ? 6 : 7) << 13) | (bits(offset, 8, 8) << 12) | (bits(offset, 4, 3) << 10) | (r << 7) |
    (bits(offset, 7, 6) << 5) | (bits(offset, 2, 1) << 3) | (bits(offset, 5, 5) << 2) | 1;
}

// ---- system, CSR, H-extension and the stack-pointer compressed forms ----

const SYSTEM_OPC = 0x73;

/** csrrw/csrrs/csrrc (funct3 1..3) rd, csr, rs1 and csrrwi/csrrsi/csrrci (funct3 5..7) rd, csr, uimm (Zicsr, chapter 9). */
export function csr(funct3: number, rd: number, rs1OrUimm: number, csrNum: number): number {
  check('funct3', funct3, 1, 7); if (funct3 === 4) throw new Error('encode: csr funct3 4');
  reg('rd', rd); reg('rs1/uimm', rs1OrUimm); check('csr', csrNum, 0, 0xfff);
  return ((csrNum << 20) | (rs1OrUimm << 15) | (funct3 << 12) | (rd << 7) | SYSTEM_OPC) >>> 0;
}
/** Instructions without operands (ecall, ebreak, fence.i; fence with pred = succ = iorw). */
export const SYSTEM = { ecall: 0x00000073, ebreak: 0x00100073, 'fence.i': 0x0000100f, fence: 0x0ff0000f } as const;
/** sfence.vma rs1, rs2 (privileged spec 4.2.1), hfence.vvma / hfence.gvma rs1, rs2 (8.3.2). */
export function fenceVma(name: 'sfence.vma' | 'hfence.vvma' | 'hfence.gvma', rs1: number, rs2: number): number {
  reg('rs1', rs1); reg('rs2', rs2);
  const funct7 = { 'sfence.vma': 0x09, 'hfence.vvma': 0x11, 'hfence.gvma': 0x31 }[name];
  return rType(SYSTEM_OPC, 0, funct7, 0, rs1, rs2);
}
/** Hypervisor virtual-machine loads (privileged spec 8.3.1): funct7 and rs2 of each. */
export const HLV = {
  'hlv.b': [0x30, 0], 'hlv.bu': [0x30, 1], 'hlv.h': [0x32, 0], 'hlv.hu': [0x32, 1], 'hlvx.hu': [0x32, 3],
  'hlv.w': [0x34, 0], 'hlv.wu': [0x34, 1], 'hlvx.wu': [0x34, 3], 'hlv.d': [0x36, 0],
} as const;
/** Hypervisor virtual-machine stores: funct7 (rd = 0, rs2 = the value). */
export const HSV = { 'hsv.b': 0x31, 'hsv.h': 0x33, 'hsv.w': 0x35, 'hsv.d': 0x37 } as const;
export function hlv(name: keyof typeof HLV, rd: number, rs1: number): number {
  const [f7, sel] = HLV[name];
  return rType(SYSTEM_OPC, 4, f7, rd, rs1, sel);
}
export function hsv(name: keyof typeof HSV, rs2: number, rs1: number): number {
  return rType(SYSTEM_OPC, 4, HSV[name], 0, rs1, rs2);
}
/** c.lwsp / c.ldsp rd, offset(sp) (rd != 0; offset scaled unsigned: 0..252 by 4, 0..504 by 8). */
export function cLoadSp(name: 'c.lwsp' | 'c.ldsp', rd: number, offset: number): number {
  check('rd', rd, 1, 31);
  if (name === 'c.lwsp') {
    check('offset', offset, 0, 252, 4);
    return (2 << 13) | (bits(offset, 5, 5) << 12) | (rd << 7) | (bits(offset, 4, 2) << 4) | (bits(offset, 7, 6) << 2) | 2;
  }
  check('offset', offset, 0, 504, 8);
  return (3 << 13) | (bits(offset, 5, 5) << 12) | (rd << 7) | (bits(offset, 4, 3) << 5) | (bits(offset, 8, 6) << 2) | 2;
}
/** c.swsp / c.sdsp rs2, offset(sp). */
export function cStoreSp(name: 'c.swsp' | 'c.sdsp', rs2: number, offset: number): number {
  reg('rs2', rs2);
  if (name === 'c.swsp') {
    check('offset', offset, 0, 252, 4);
    return (6 << 13) | (bits(offset, 5, 2) << 9) | (bits(offset, 7, 6) << 7) | (rs2 << 2) | 2;
  }
  check('offset', offset, 0, 504, 8);
  return (7 << 13) | (bits(offset, 5, 3) << 10) | (bits(offset, 8, 6) << 7) | (rs2 << 2) | 2;
}
/** c.jr rs1 / c.jalr rs1 (rs1 != 0); c.ebreak. */
export function cJr(name: 'c.jr' | 'c.jalr', rs1: number): number {
  check('rs1', rs1, 1, 31);
  return (4 << 13) | ((name === 'c.jalr' ? 1 : 0) << 12) | (rs1 << 7) | 2;
}
export const C_EBREAK = 0x9002;
