/**
 * Encoders for the F and D instructions, from the ISA table's rows (assembly/isa/table.ts):
 * an instruction is its row's match bits with the operand fields of its format filled in, so
 * the tests and the table cannot disagree about an opcode. Operand layouts: unprivileged spec
 * ch. 20-21 (R4 for the fused ops: rs3 in bits 31:27) and ch. 16 for the compressed forms.
 */
import { ISA, type Row } from '../../assembly/isa/table';

const ROWS = new Map<string, Row>(ISA.map((r) => [r[0], r]));

/** Rounding-mode field values (unpriv spec §20.2); 7 = dyn (use frm). */
export const RM = { rne: 0, rtz: 1, rdn: 2, rup: 3, rmm: 4, dyn: 7 } as const;

/** The row of F/D instruction `name`. */
export function fpRow(name: string): Row {
  const r = ROWS.get(name);
  if (!r || (r[1] !== 'F' && r[1] !== 'D' && !name.startsWith('c.f'))) throw new Error(`fp-encode: ${name} is not an F/D row`);
  return r;
}

/** True when the row leaves bits 14:12 open: the instruction has an rm field. */
export function hasRm(name: string): boolean {
  return (fpRow(name)[3] & 0x7000) === 0;
}

/** Operands: register numbers (f or x as the format says), rm, and a memory offset. */
export interface FpOperands {
  rd?: number;
  rs1?: number;
  rs2?: number;
  rs3?: number;
  rm?: number;
  imm?: number;
}

/** A 32-bit F/D instruction. rm defaults to dyn (7) where the row has the field. */
export function fp(name: string, o: FpOperands = {}): number {
  const [, , match, , fmt] = fpRow(name);
  const rd = o.rd ?? 0, rs1 = o.rs1 ?? 0, rs2 = o.rs2 ?? 0, rs3 = o.rs3 ?? 0, imm = o.imm ?? 0;
  let w = match >>> 0;
  switch (fmt) {
    case 'FL':
      w |= (rd << 7) | (rs1 << 15) | ((imm & 0xfff) << 20);
      break;
    case 'FS':
      w |= ((imm & 0x1f) << 7) | (rs1 << 15) | (rs2 << 20) | (((imm >> 5) & 0x7f) << 25);
      break;
    case 'FR4':
      w |= (rd << 7) | (rs1 << 15) | (rs2 << 20) | (rs3 << 27);
      break;
    case 'FR': case 'FCMP':
      w |= (rd << 7) | (rs1 << 15) | (rs2 << 20);
      break;
    case 'FR1': case 'FX': case 'XF':
      w |= (rd << 7) | (rs1 << 15);
      break;
    default:
      throw new Error(`fp-encode: format ${fmt} of ${name}`);
  }
  if (hasRm(name)) w |= (o.rm ?? RM.dyn) << 12;
  return w >>> 0;
}

/** c.fld / c.fsd f(rd' or rs2'), uimm(x rs1'): registers 8..15, uimm a multiple of 8 below 256. */
export function cFldFsd(name: 'c.fld' | 'c.fsd', f: number, rs1: number, uimm: number): number {
  if (f < 8 || f > 15 || rs1 < 8 || rs1 > 15 || uimm % 8 !== 0 || uimm < 0 || uimm > 248) throw new Error(`fp-encode: ${name} operands`);
  const base = name === 'c.fld' ? 0x2000 : 0xa000;
  return base | (((uimm >> 3) & 7) << 10) | (((uimm >> 6) & 3) << 5) | ((rs1 - 8) << 7) | ((f - 8) << 2);
}

/** c.fldsp f rd, uimm(x2): uimm a multiple of 8 below 512. */
export function cFldsp(rd: number, uimm: number): number {
  if (uimm % 8 !== 0 || uimm < 0 || uimm > 504) throw new Error('fp-encode: c.fldsp offset');
  return 0x2002 | (((uimm >> 5) & 1) << 12) | (rd << 7) | (((uimm >> 3) & 3) << 5) | (((uimm >> 6) & 7) << 2);
}

/** c.fsdsp f rs2, uimm(x2): uimm a multiple of 8 below 512. */
export function cFsdsp(rs2: number, uimm: number): number {
  if (uimm % 8 !== 0 || uimm < 0 || uimm > 504) throw new Error('fp-encode: c.fsdsp offset');
  return 0xa002 | (((uimm >> 3) & 7) << 10) | (((uimm >> 6) & 7) << 7) | (rs2 << 2);
}

/** csrrw/csrrs/csrrc (funct3 1..3) and the immediate forms (5..7) on CSR `csr`. */
export function csr(funct3: number, rd: number, csrNum: number, rs1OrZimm: number): number {
  return ((csrNum << 20) | (rs1OrZimm << 15) | (funct3 << 12) | (rd << 7) | 0x73) >>> 0;
}
export const CSR_FFLAGS = 0x001;
export const CSR_FRM = 0x002;
export const CSR_FCSR = 0x003;
