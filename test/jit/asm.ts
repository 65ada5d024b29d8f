/**
 * A tiny RV64 assembler for the JIT tests (mechanisms.test.ts, dispatch.test.ts): words and
 * labels, an item may be a function of (its pc, the labels); programs load at BASE and end by
 * writing the test finisher at FINISHER.
 */
import * as E from '../diff/encode';

export const BASE = 0x80000000n;
/** The test finisher (sifive_test): 0x5555 there ends the run with code 0. */
export const FINISHER = 0x100000;

/** A tiny assembler: words and labels; an item may be a function of (its pc, the labels). */
export class Asm {
  private items: Array<number | ((pc: number, l: Record<string, number>) => number)> = [];
  private labels: Record<string, number> = {};
  label(name: string): this { this.labels[name] = this.items.length * 4; return this; }
  w(...ws: Array<number | ((pc: number, l: Record<string, number>) => number)>): this { this.items.push(...ws); return this; }
  /** rd = a 32-bit constant, sign-extended (lui + addiw). */
  li(rd: number, v: number): this {
    const lo = ((v & 0xfff) ^ 0x800) - 0x800;
    const hi = ((v - lo) >>> 12) & 0xfffff;
    return this.w(E.lui(rd, hi), E.aluI('addiw', rd, rd, lo));
  }
  /** rd = the address of a label (auipc + addi). */
  la(rd: number, name: string): this {
    const lo = (off: number) => ((off & 0xfff) ^ 0x800) - 0x800;
    this.w((pc, l) => E.auipc(rd, ((l[name] - pc - lo(l[name] - pc)) >>> 12) & 0xfffff),
      (pc, l) => E.aluI('addi', rd, rd, lo(l[name] - (pc - 4))));
    return this;
  }
  /** A branch or jal to a label. */
  br(name: keyof typeof E.BRANCHES, rs1: number, rs2: number, to: string): this {
    return this.w((pc, l) => E.branch(name, rs1, rs2, l[to] - pc));
  }
  j(to: string, rd = 0): this { return this.w((pc, l) => E.jal(rd, l[to] - pc)); }
  /** Zero words up to byte offset `to` (data in a page of its own). */
  pad(to: number): this { while (this.items.length * 4 < to) this.items.push(0); return this; }
  /** A doubleword: the address of a label, or a constant. */
  dword(v: string | bigint): this {
    if (typeof v === 'bigint') return this.w(Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
    return this.w((pc, l) => Number((BASE + BigInt(l[v])) & 0xffffffffn), 0);
  }
  /** Write 0x5555 to the test finisher: the machine exits with code 0. */
  pass(): this { return this.li(31, FINISHER).li(30, 0x5555).w(E.store('sw', 30, 31, 0)); }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.items.length * 4);
    const v = new DataView(out.buffer);
    this.items.forEach((it, i) => v.setUint32(i * 4, (typeof it === 'number' ? it : it(i * 4, this.labels)) >>> 0, true));
    return out;
  }
  at(name: string): bigint { return BASE + BigInt(this.labels[name]); }
}
