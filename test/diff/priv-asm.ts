/**
 * A small assembler for the privileged differential fuzzer (test/diff/priv.ts): a code buffer
 * with labels, forward references and a 64-bit constant pool, plus the privileged encodings the
 * shared encoder (test/diff/encode.ts) does not have: Zicsr (Volume I ch. 9), the system
 * instructions of the privileged spec (ecall/ebreak/mret/sret/wfi/sfence.vma, §3.3, §4.2.1)
 * and the H extension's hfence/hlv/hsv (§8.3).
 */
import * as E from './encode';

/** ABI register numbers used by the fuzzer. */
export const R = {
  zero: 0, ra: 1, sp: 2, gp: 3, tp: 4, t0: 5, t1: 6, t2: 7, s0: 8, s1: 9,
  s2: 18, s3: 19, s4: 20, s5: 21, s6: 22, s7: 23, s8: 24,
  a0: 10, a1: 11, a2: 12, a3: 13, a4: 14, a5: 15, a6: 16, a7: 17, t3: 28, t4: 29, t5: 30, t6: 31,
} as const;

const SYSTEM = 0x73;
/** funct3 of the Zicsr instructions. */
export const CSR_OPS = { csrrw: 1, csrrs: 2, csrrc: 3, csrrwi: 5, csrrsi: 6, csrrci: 7 } as const;
export type CsrOp = keyof typeof CSR_OPS;

/** A Zicsr instruction: csr[11:0] | rs1 or uimm[4:0] | funct3 | rd | 1110011. */
export function csr(op: CsrOp, rd: number, num: number, rs1OrUimm: number): number {
  if (num < 0 || num > 0xfff || rs1OrUimm < 0 || rs1OrUimm > 31 || rd < 0 || rd > 31) {
    throw new Error(`priv-asm: bad csr operands ${op} x${rd}, 0x${num.toString(16)}, ${rs1OrUimm}`);
  }
  return ((num << 20) | (rs1OrUimm << 15) | (CSR_OPS[op] << 12) | (rd << 7) | SYSTEM) >>> 0;
}

/** Fixed system instructions (privileged spec table 9.x / chapter 3.3, 4.2, 8.3). */
export const ECALL = 0x00000073;
export const EBREAK = 0x00100073;
export const MRET = 0x30200073;
export const SRET = 0x10200073;
export const WFI = 0x10500073;
export const sfenceVma = (rs1: number, rs2: number) => E.rType(SYSTEM, 0, 0x09, 0, rs1, rs2);
export const hfenceVvma = (rs1: number, rs2: number) => E.rType(SYSTEM, 0, 0x11, 0, rs1, rs2);
export const hfenceGvma = (rs1: number, rs2: number) => E.rType(SYSTEM, 0, 0x31, 0, rs1, rs2);

/** Hypervisor virtual-machine loads (funct7, rs2 field) and stores (funct7), §8.3.2. */
export const HLV = {
  'hlv.b': [0x30, 0], 'hlv.bu': [0x30, 1], 'hlv.h': [0x32, 0], 'hlv.hu': [0x32, 1], 'hlvx.hu': [0x32, 3],
  'hlv.w': [0x34, 0], 'hlv.wu': [0x34, 1], 'hlvx.wu': [0x34, 3], 'hlv.d': [0x36, 0],
} as const;
export const HSV = { 'hsv.b': 0x31, 'hsv.h': 0x33, 'hsv.w': 0x35, 'hsv.d': 0x37 } as const;
export const hlv = (name: keyof typeof HLV, rd: number, rs1: number) => E.rType(SYSTEM, 4, HLV[name][0], rd, rs1, HLV[name][1]);
export const hsv = (name: keyof typeof HSV, rs2: number, rs1: number) => E.rType(SYSTEM, 4, HSV[name], 0, rs1, rs2);

type Fixup =
  | { at: number; kind: 'branch'; name: keyof typeof E.BRANCHES; rs1: number; rs2: number; label: string }
  | { at: number; kind: 'jal'; rd: number; label: string }
  | { at: number; kind: 'la'; rd: number; label: string }
  | { at: number; kind: 'pool'; rd: number; index: number };

/** A code buffer of 32-bit words at a fixed base address. */
export class Asm {
  readonly words: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];
  private readonly pool: bigint[] = [];
  private readonly poolIndex = new Map<bigint, number>();

  constructor(readonly base: number) {}

  /** Current address. */
  get pc(): number {
    return this.base + this.words.length * 4;
  }
  emit(...ws: number[]): void {
    for (const w of ws) this.words.push(w >>> 0);
  }
  label(name: string): void {
    if (this.labels.has(name)) throw new Error(`priv-asm: label ${name} defined twice`);
    this.labels.set(name, this.pc);
  }
  addr(name: string): number {
    const a = this.labels.get(name);
    if (a === undefined) throw new Error(`priv-asm: undefined label ${name}`);
    return a;
  }
  branch(name: keyof typeof E.BRANCHES, rs1: number, rs2: number, label: string): void {
    this.fixups.push({ at: this.words.length, kind: 'branch', name, rs1, rs2, label });
    this.emit(0);
  }
  jal(rd: number, label: string): void {
    this.fixups.push({ at: this.words.length, kind: 'jal', rd, label });
    this.emit(0);
  }
  /** rd = address of label (auipc + addi). */
  la(rd: number, label: string): void {
    this.fixups.push({ at: this.words.length, kind: 'la', rd, label });
    this.emit(0, 0);
  }
  /** rd = any 64-bit value: addi for small ones, else auipc + ld from the constant pool. */
  li(rd: number, value: bigint | number): void {
    const v = BigInt.asIntN(64, BigInt(value));
    if (v >= -2048n && v <= 2047n) {
      this.emit(E.aluI('addi', rd, 0, Number(v)));
      return;
    }
    let index = this.poolIndex.get(v);
    if (index === undefined) {
      index = this.pool.length;
      this.pool.push(v);
      this.poolIndex.set(v, index);
    }
    this.fixups.push({ at: this.words.length, kind: 'pool', rd, index });
    this.emit(0, 0);
  }
  /** csrw num, value (through scratch register `tmp`). */
  csrWrite(num: number, value: bigint | number, tmp: number = R.t0): void {
    this.li(tmp, value);
    this.emit(csr('csrrw', 0, num, tmp));
  }
  /** sd rs2, off(rs1) and ld. */
  /** Pad with a nop to an 8-byte boundary (for 64-bit data in the code). */
  align8(): void {
    if (this.words.length % 2) this.emit(E.aluI('addi', 0, 0, 0));
  }
  sd(rs2: number, rs1: number, off: number): void {
    this.emit(E.store('sd', rs2, rs1, off));
  }
  ld(rd: number, rs1: number, off: number): void {
    this.emit(E.load('ld', rd, rs1, off));
  }

  /** Resolve every reference; the constant pool follows the code (8-byte aligned). Returns the bytes. */
  link(): Uint8Array {
    if (this.words.length % 2) this.emit(E.aluI('addi', 0, 0, 0));
    const poolAt = this.pc;
    const pcRel = (at: number, target: number) => {
      const off = target - (this.base + at * 4);
      const hi = (off + 0x800) >> 12;
      return { hi: hi & 0xfffff, lo: off - (hi << 12) };
    };
    for (const f of this.fixups) {
      const here = this.base + f.at * 4;
      if (f.kind === 'branch') this.words[f.at] = E.branch(f.name, f.rs1, f.rs2, this.addr(f.label) - here);
      else if (f.kind === 'jal') this.words[f.at] = E.jal(f.rd, this.addr(f.label) - here);
      else {
        const target = f.kind === 'la' ? this.addr(f.label) : poolAt + 8 * f.index;
        const { hi, lo } = pcRel(f.at, target);
        this.words[f.at] = E.auipc(f.rd, hi);
        this.words[f.at + 1] = f.kind === 'la' ? E.aluI('addi', f.rd, f.rd, lo) : E.load('ld', f.rd, f.rd, lo);
      }
    }
    const out = new Uint8Array(this.words.length * 4 + this.pool.length * 8);
    const view = new DataView(out.buffer);
    this.words.forEach((w, i) => view.setUint32(i * 4, w, true));
    this.pool.forEach((v, i) => view.setBigUint64(this.words.length * 4 + i * 8, BigInt.asUintN(64, v), true));
    return out;
  }
}
