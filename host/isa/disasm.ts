/**
 * The disassembler for traces and error messages: objdump-like text (`-M no-aliases` style,
 * with ", " between operands) for one instruction.
 *
 * Nothing about encodings is repeated here. The row (name, format, flags) comes from the ISA
 * table (assembly/isa/table.ts), found by match/mask in table order exactly as the generated
 * decoder does; the operands come from the core's own decoder (decodeInto writes a record at
 * STATE + S_SCRATCH_REC, read at the R_* offsets of assembly/abi.ts). Only what the record
 * does not carry is read from the raw bits: fence's predecessor/successor sets and the aq/rl
 * bits of atomics, which the core ignores.
 */
import { STATE, S_SCRATCH_REC, R_OP, R_RD, R_RS1, R_RS2, R_LEN, R_IMM, R_RAW } from '../../assembly/abi';
import { ISA, CSR_NAMES, F_LOAD, type Row } from '../../assembly/isa/table';
import { createMemory, instantiateCore, type CoreExports } from '../machine/core';

/** ABI names of x0..x31 (unprivileged spec ch. 25, table 25.1). */
export const ABI_NAMES: readonly string[] = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1',
  'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7',
  's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
];

/** ABI names of f0..f31 (unprivileged spec ch. 25, table 25.1). */
export const FP_ABI_NAMES: readonly string[] = [
  'ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1',
  'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5', 'fa6', 'fa7',
  'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11',
];
/** Rounding-mode field names (unprivileged spec §20.2); 5 and 6 are reserved. */
const RM_NAMES: readonly string[] = ['rne', 'rtz', 'rdn', 'rup', 'rmm', 'rm5', 'rm6', 'dyn'];

/** The record's rd is 32 (the core's sink) when the instruction writes x0. */
const X_SINK = 32;

/** Op id of each base row: 1 + its index among the non-'C' rows (as scripts/gen-isa.mjs). */
const OP_OF = new Map<string, number>(ISA.filter((r) => r[1] !== 'C').map((r, i) => [r[0], i + 1]));

/** The decoded operands of one instruction, as the core recorded them. */
interface Rec {
  op: number;
  rd: number;
  rs1: number;
  rs2: number;
  len: number;
  imm: number;
  raw: number;
}

const hex = (n: number | bigint): string => '0x' + n.toString(16);

/** Register name; the sink register 32 is x0. */
function reg(r: number): string {
  return ABI_NAMES[r === X_SINK ? 0 : r] ?? `x${r}`;
}

/** The table row of an instruction: first match in table order among rows of its length. */
export function findRow(word: number): Row | undefined {
  const compressed = (word & 3) !== 3;
  const w = compressed ? word & 0xffff : word >>> 0;
  return ISA.find((r) => (r[1] === 'C') === compressed && ((w & r[3]) >>> 0) === r[2] >>> 0);
}

/** A branch or jump target: absolute when pc is known, else relative to the instruction. */
function target(imm: number, pc: bigint | undefined): string {
  if (pc === undefined) return imm < 0 ? `pc - ${-imm}` : `pc + ${imm}`;
  return hex(BigInt.asUintN(64, pc + BigInt(imm)));
}

/** fence's pred/succ sets (bits 27:24 and 23:20, each I O R W), as objdump prints them. */
function fenceSet(bits: number): string {
  let s = '';
  if (bits & 8) s += 'i';
  if (bits & 4) s += 'o';
  if (bits & 2) s += 'r';
  if (bits & 1) s += 'w';
  return s || '0';
}

/** Name with objdump's suffixes: .aq/.rl/.aqrl of atomics (bits 26:25); fence.tso. */
function mnemonic(row: Row, rec: Rec): string {
  const [name, , , , fmt] = row;
  if (fmt === 'AMO' || fmt === 'LR') {
    const aq = (rec.raw >>> 26) & 1, rl = (rec.raw >>> 25) & 1;
    return name + (aq && rl ? '.aqrl' : aq ? '.aq' : rl ? '.rl' : '');
  }
  // FENCE with fm = 1000 and pred = succ = RW is FENCE.TSO (unprivileged spec §2.7).
  if (name === 'fence' && (rec.raw >>> 20) === 0x833) return 'fence.tso';
  return name;
}

/** f register name. */
function freg(r: number): string {
  return FP_ABI_NAMES[r] ?? `f${r}`;
}

/** ", rm" for a row with a rounding-mode field (its mask leaves bits 14:12 open), unless dyn (objdump). */
function rmSuffix(row: Row, rec: Rec): string {
  if ((row[3] & 0x7000) !== 0) return '';
  const rm = (rec.raw >>> 12) & 7;
  return rm === 7 ? '' : `, ${RM_NAMES[rm]}`;
}

/** The operand text of a row's format, from the decoded record. */
function operands(row: Row, rec: Rec, pc: bigint | undefined): string {
  const [name, , , , fmt, flags] = row;
  const { rd, rs1, rs2, imm } = rec;
  const mem = (r: number) => `${imm}(${reg(r)})`;
  const csr = () => CSR_NAMES[imm & 0xfff] ?? hex(imm & 0xfff);
  switch (fmt) {
    case 'R': return `${reg(rd)}, ${reg(rs1)}, ${reg(rs2)}`;
    case 'I':
      if ((flags & F_LOAD) !== 0 || name === 'jalr') return `${reg(rd)}, ${mem(rs1)}`;
      return `${reg(rd)}, ${reg(rs1)}, ${imm}`;
    case 'S': return `${reg(rs2)}, ${mem(rs1)}`;
    case 'B': return `${reg(rs1)}, ${reg(rs2)}, ${target(imm, pc)}`;
    case 'U': return `${reg(rd)}, ${hex((imm >>> 12) & 0xfffff)}`;
    case 'J': return `${reg(rd)}, ${target(imm, pc)}`;
    case 'SH6': case 'SH5': return `${reg(rd)}, ${reg(rs1)}, ${hex(imm)}`;
    case 'CSR': return `${reg(rd)}, ${csr()}, ${reg(rs1)}`;
    case 'CSRI': return `${reg(rd)}, ${csr()}, ${rs1}`;
    case 'AMO': return `${reg(rd)}, ${reg(rs2)}, (${reg(rs1)})`;
    case 'LR': return `${reg(rd)}, (${reg(rs1)})`;
    case 'SFENCE': return `${reg(rs1)}, ${reg(rs2)}`;
    case 'NONE':
      if (name === 'fence' && (rec.raw >>> 20) !== 0x833) {
        return `${fenceSet((rec.raw >>> 24) & 15)},${fenceSet((rec.raw >>> 20) & 15)}`;
      }
      return '';
    // ---- F and D: f registers by their ABI names, then the rounding mode ----
    case 'FL': return `${freg(rd)}, ${mem(rs1)}`;
    case 'FS': return `${freg(rs2)}, ${mem(rs1)}`;
    case 'FR': return `${freg(rd)}, ${freg(rs1)}, ${freg(rs2)}${rmSuffix(row, rec)}`;
    case 'FR4': return `${freg(rd)}, ${freg(rs1)}, ${freg(rs2)}, ${freg(rec.raw >>> 27)}${rmSuffix(row, rec)}`;
    case 'FR1': return `${freg(rd)}, ${freg(rs1)}${rmSuffix(row, rec)}`;
    case 'FCMP': return `${reg(rd)}, ${freg(rs1)}, ${freg(rs2)}`;
    case 'FX': return `${reg(rd)}, ${freg(rs1)}${rmSuffix(row, rec)}`;
    case 'XF': return `${freg(rd)}, ${reg(rs1)}${rmSuffix(row, rec)}`;
    case 'CFLD': case 'CFLDSP': return `${freg(rd)}, ${mem(rs1)}`;
    case 'CFSD': case 'CFSDSP': return `${freg(rs2)}, ${mem(rs1)}`;
    // ---- compressed: operands as the compressed instruction names them (objdump) ----
    case 'CIW': return `${reg(rd)}, sp, ${imm}`;
    case 'CLW': case 'CLD': case 'CLWSP': case 'CLDSP': return `${reg(rd)}, ${mem(rs1)}`;
    case 'CSW': case 'CSD': case 'CSWSP': case 'CSDSP': return `${reg(rs2)}, ${mem(rs1)}`;
    case 'CI': case 'CADDIW': case 'CLI': case 'CBI': return `${reg(rd)}, ${imm}`;
    case 'CADDI16SP': return `sp, ${imm}`;
    case 'CLUI': return `${reg(rd)}, ${hex((imm >>> 12) & 0xfffff)}`;
    case 'CBSH': case 'CSLLI': return `${reg(rd)}, ${hex(imm)}`;
    case 'CJ': return target(imm, pc);
    case 'CB': return `${reg(rs1)}, ${target(imm, pc)}`;
    case 'CJR': case 'CJALR': return reg(rs1);
    case 'CA': case 'CMV': case 'CADD': return `${reg(rd)}, ${reg(rs2)}`;
    default: throw new Error(`disassembler: ISA table format ${fmt} (row ${name}) has no printer`);
  }
}

/** Disassembles through one core instance's decoder. */
export class Disassembler {
  private readonly rec = STATE + S_SCRATCH_REC;

  constructor(
    private readonly core: CoreExports,
    private readonly memory: WebAssembly.Memory,
  ) {}

  /** Decode `word` with the core; the record's fields. */
  decode(word: number): Rec {
    this.core.decodeInto(word >>> 0, this.rec);
    const v = new DataView(this.memory.buffer, this.rec);
    return {
      op: v.getUint16(R_OP, true),
      rd: v.getUint8(R_RD),
      rs1: v.getUint8(R_RS1),
      rs2: v.getUint8(R_RS2),
      len: v.getUint8(R_LEN),
      imm: v.getInt32(R_IMM, true),
      raw: v.getUint32(R_RAW, true),
    };
  }

  /**
   * One instruction as text, e.g. "addi a0, a0, 1", "c.lw a1, 8(a2)", "illegal 0x0000".
   * A compressed instruction is the low 16 bits of `word` (its low two bits are not 11).
   * With `pc`, branch and jump targets are absolute addresses.
   */
  disassemble(word: number, pc?: bigint): string {
    const rec = this.decode(word);
    if (rec.op === 0) return `illegal 0x${rec.raw.toString(16).padStart(rec.len * 2, '0')}`;
    const row = findRow(word);
    const op = row && OP_OF.get(row[1] === 'C' ? row[6] ?? '' : row[0]);
    if (!row || op !== rec.op) {
      // The table and the core's generated decoder disagree: the core is stale or broken.
      throw new Error(`disassembler: ${hex(word >>> 0)} decodes to op ${rec.op} but the ISA table says ${row?.[0] ?? 'nothing'} (rebuild the core)`);
    }
    const ops = operands(row, rec, pc);
    const name = mnemonic(row, rec);
    return ops ? `${name} ${ops}` : name;
  }
}

let shared: Disassembler | undefined;

/**
 * Disassemble one instruction with a private core instance (created on first use). Code that
 * already has a core should use `new Disassembler(core, memory)` instead.
 */
export function disassemble(word: number, pc?: bigint): string {
  if (!shared) {
    const memory = createMemory(0);
    shared = new Disassembler(instantiateCore(memory), memory);
  }
  return shared.disassemble(word, pc);
}
