/**
 * A tiny ELF64 writer for loader tests, so that they need no cross compiler. It lays out:
 * ELF header, program headers, each segment's bytes (8-aligned), then, when symbols are
 * given, .symtab, .strtab and section headers [null, .symtab, .strtab]. Header fields can be
 * overridden to build broken files.
 */

/** One PT_LOAD segment to write. */
export interface TestSegment {
  paddr: bigint;
  /** Defaults to paddr. */
  vaddr?: bigint;
  data: Uint8Array;
  /** Defaults to data.length. */
  memSize?: number;
  /** p_flags; defaults to R|X (5). */
  flags?: number;
  /** p_type; defaults to PT_LOAD (1). */
  type?: number;
}

/** What to put in the file. */
export interface TestElf {
  entry: bigint;
  segments: TestSegment[];
  symbols?: Array<{ name: string; value: bigint; shndx?: number }>;
  /** e_ident[EI_CLASS], default 2 (ELF64). */
  cls?: number;
  /** e_ident[EI_DATA], default 1 (little-endian). */
  data?: number;
  /** e_machine, default 243 (RISC-V). */
  machine?: number;
  /** e_type, default 2 (ET_EXEC). */
  type?: number;
}

/** The file and where its parts landed (for tests that corrupt them). */
export interface BuiltElf {
  bytes: Uint8Array;
  phoff: number;
  /** File offset of each segment's data. */
  dataOffsets: number[];
  shoff: number;
}

const align8 = (n: number) => (n + 7) & ~7;

/** Build an ELF64 file from `spec`. */
export function buildElf(spec: TestElf): BuiltElf {
  const phoff = 64;
  let off = phoff + 56 * spec.segments.length;
  const dataOffsets = spec.segments.map((s) => {
    off = align8(off);
    const at = off;
    off += s.data.length;
    return at;
  });
  let symOff = 0;
  let strOff = 0;
  let shoff = 0;
  const strtab: number[] = [0];
  const syms = spec.symbols ?? [];
  const nameOffsets = syms.map((s) => {
    const at = strtab.length;
    strtab.push(...new TextEncoder().encode(s.name), 0);
    return at;
  });
  if (syms.length > 0) {
    symOff = align8(off);
    off = symOff + 24 * (syms.length + 1);
    strOff = off;
    off += strtab.length;
    shoff = align8(off);
    off = shoff + 64 * 3;
  }

  const bytes = new Uint8Array(off);
  const dv = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, spec.cls ?? 2, spec.data ?? 1, 1, 0]);
  dv.setUint16(16, spec.type ?? 2, true);
  dv.setUint16(18, spec.machine ?? 243, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, spec.entry, true);
  dv.setBigUint64(32, BigInt(phoff), true);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, spec.segments.length, true);
  dv.setUint16(58, 64, true);
  dv.setUint16(60, syms.length > 0 ? 3 : 0, true);

  spec.segments.forEach((s, i) => {
    const o = phoff + 56 * i;
    dv.setUint32(o, s.type ?? 1, true);
    dv.setUint32(o + 4, s.flags ?? 5, true);
    dv.setBigUint64(o + 8, BigInt(dataOffsets[i]), true);
    dv.setBigUint64(o + 16, s.vaddr ?? s.paddr, true);
    dv.setBigUint64(o + 24, s.paddr, true);
    dv.setBigUint64(o + 32, BigInt(s.data.length), true);
    dv.setBigUint64(o + 40, BigInt(s.memSize ?? s.data.length), true);
    dv.setBigUint64(o + 48, 8n, true);
    bytes.set(s.data, dataOffsets[i]);
  });

  if (syms.length > 0) {
    syms.forEach((s, i) => {
      const o = symOff + 24 * (i + 1);
      dv.setUint32(o, nameOffsets[i], true);
      bytes[o + 4] = 0x10; // STB_GLOBAL, STT_NOTYPE
      dv.setUint16(o + 6, s.shndx ?? 0xfff1, true); // SHN_ABS unless told
      dv.setBigUint64(o + 8, s.value, true);
    });
    bytes.set(strtab, strOff);
    // Section 1: .symtab (SHT_SYMTAB, link 2, entsize 24); section 2: .strtab (SHT_STRTAB).
    const sh = (i: number, type: number, offset: number, size: number, link: number, entsize: number) => {
      const o = shoff + 64 * i;
      dv.setUint32(o + 4, type, true);
      dv.setBigUint64(o + 24, BigInt(offset), true);
      dv.setBigUint64(o + 32, BigInt(size), true);
      dv.setUint32(o + 40, link, true);
      dv.setUint32(o + 44, type === 2 ? 1 : 0, true); // sh_info of .symtab: one local (null) symbol
      dv.setBigUint64(o + 56, BigInt(entsize), true);
    };
    sh(1, 2, symOff, 24 * (syms.length + 1), 2, 24);
    sh(2, 3, strOff, strtab.length, 0, 0);
  }
  return { bytes, phoff, dataOffsets, shoff };
}
