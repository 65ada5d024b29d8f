/**
 * A tiny two-pass assembler for the VM tests' raw S-mode guests, over the fuzzer's encoder
 * (test/diff/encode.ts): labels for branches and jumps, `la` (auipc + addi), and a literal pool
 * for 64-bit constants (`li64`: auipc + ld from a pool placed after the code). Everything is
 * 4-byte instructions, so `pc + 4` always skips one.
 *
 * The image is laid out as: code | pool (8-aligned) | zero padding up to `size`, with optional
 * bytes placed at fixed offsets (`place`) for data the test wants at known guest addresses.
 */
import * as E from '../diff/encode';

type Item = number | ((pc: bigint) => number);

/** Assembles code that will run at `base` (a guest virtual = guest-physical address). */
export class Asm {
  private readonly items: Item[] = [];
  private readonly labels = new Map<string, bigint>();
  private readonly pool: bigint[] = [];
  private readonly poolIndex = new Map<bigint, number>();
  private readonly placed: { at: bigint; bytes: Uint8Array }[] = [];
  private poolBase: bigint | undefined;

  constructor(readonly base: bigint) {}

  /** Address of the next instruction. */
  get pc(): bigint {
    return this.base + BigInt(this.items.length * 4);
  }

  /** Define `name` at the current address. */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`asm: label ${name} defined twice`);
    this.labels.set(name, this.pc);
    return this;
  }

  /** Address of a defined label (known once it is defined). */
  addr(name: string): bigint {
    const a = this.labels.get(name);
    if (a === undefined) throw new Error(`asm: label ${name} is not defined`);
    return a;
  }

  /** Append instruction words. */
  emit(...words: number[]): this {
    this.items.push(...words);
    return this;
  }

  /** rd = value (any 64-bit value): addi when it fits 12 bits, else a pool load. */
  li64(rd: number, value: bigint): this {
    const v = BigInt.asUintN(64, value);
    const s = BigInt.asIntN(64, v);
    if (s >= -2048n && s <= 2047n) return this.emit(E.aluI('addi', rd, 0, Number(s)));
    let i = this.poolIndex.get(v);
    if (i === undefined) {
      i = this.pool.length;
      this.pool.push(v);
      this.poolIndex.set(v, i);
    }
    const slot = i;
    this.pcrel(rd, () => this.poolAddr(slot), (lo) => E.load('ld', rd, rd, lo));
    return this;
  }

  /** rd = address of `label`. */
  la(rd: number, label: string): this {
    this.pcrel(rd, () => this.addr(label), (lo) => E.aluI('addi', rd, rd, lo));
    return this;
  }

  /** jal rd, label. */
  jal(rd: number, label: string): this {
    this.items.push((pc) => E.jal(rd, Number(this.addr(label) - pc)));
    return this;
  }

  /** A conditional branch to `label`. */
  branch(name: keyof typeof E.BRANCHES, rs1: number, rs2: number, label: string): this {
    this.items.push((pc) => E.branch(name, rs1, rs2, Number(this.addr(label) - pc)));
    return this;
  }

  /** Put `bytes` at absolute address `at` of the image (outside the code and pool). */
  place(at: bigint, bytes: Uint8Array): this {
    this.placed.push({ at, bytes });
    return this;
  }

  /** The image, `size` bytes (code, pool, placed data, zeros). */
  finish(size: number): Uint8Array {
    const codeBytes = this.items.length * 4;
    this.poolBase = this.base + BigInt((codeBytes + 7) & ~7);
    const poolEnd = Number(this.poolBase - this.base) + this.pool.length * 8;
    if (poolEnd > size) throw new Error(`asm: code and pool (${poolEnd} bytes) exceed the image size ${size}`);
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    this.items.forEach((it, i) => {
      const w = typeof it === 'number' ? it : it(this.base + BigInt(i * 4));
      dv.setUint32(i * 4, w >>> 0, true);
    });
    this.pool.forEach((v, i) => dv.setBigUint64(Number(this.poolBase! - this.base) + i * 8, v, true));
    for (const p of this.placed) {
      const off = Number(p.at - this.base);
      if (off < poolEnd || off + p.bytes.length > size) throw new Error(`asm: data at 0x${p.at.toString(16)} overlaps the code or leaves the image`);
      out.set(p.bytes, off);
    }
    return out;
  }

  /** End of code and pool (valid after finish). */
  get codeEnd(): bigint {
    if (this.poolBase === undefined) throw new Error('asm: codeEnd before finish');
    return this.poolBase + BigInt(this.pool.length * 8);
  }

  private poolAddr(i: number): bigint {
    if (this.poolBase === undefined) throw new Error('asm: pool address before finish');
    return this.poolBase + BigInt(i * 8);
  }

  /** auipc rd, hi; second(lo): a pc-relative pair reaching `target()`. */
  private pcrel(rd: number, target: () => bigint, second: (lo: number) => number): void {
    const at = this.items.length;
    const split = (pc: bigint) => {
      const off = Number(target() - pc);
      const hi = (off + 0x800) >> 12;
      return { hi: hi & 0xfffff, lo: off - hi * 4096 };
    };
    this.items.push((pc) => E.auipc(rd, split(pc).hi));
    this.items.push(() => second(split(this.base + BigInt(at * 4)).lo));
  }
}
