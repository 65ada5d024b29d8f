/**
 * Guest image loading: ELF64 little-endian RISC-V executables (System V gABI, "ELF-64 Object
 * File Format"; RISC-V psABI), or raw binaries placed at a given address.
 *
 * As QEMU's `-kernel` (hw/core/loader.c load_elf) does, PT_LOAD segments load at their
 * physical address p_paddr, and the entry point is moved by (p_paddr - p_vaddr) when it lies
 * in an executable segment whose two addresses differ. The HTIF symbols `tohost`/`fromhost`
 * come from .symtab (translated the same way) when present.
 *
 * Every error is a UserError of one line that names the image and the offending value.
 */

import { UserError } from '../errors';
import { readInputFile } from './input-file';
import { memSizeLimit } from './mem-size';
import type { LoadedImage, Segment } from './types';

// e_ident (gABI "ELF Identification").
const EI_CLASS = 4;
const EI_DATA = 5;
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;

const ET_EXEC = 2;
const ET_DYN = 3;
const EM_RISCV = 243;

const PT_LOAD = 1;
const PF_X = 1;
const SHT_SYMTAB = 2;

/** Sizes of the ELF64 header, program header and section header, and of one Elf64_Sym. */
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

/** Names of e_machine values a person is likely to hand us by mistake. */
const MACHINE_NAMES: Record<number, string> = {
  0: 'none',
  2: 'SPARC',
  3: 'x86',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'S/390',
  40: 'ARM',
  43: 'SPARC V9',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};

const TYPE_NAMES: Record<number, string> = { 0: 'ET_NONE', 1: 'ET_REL', 2: 'ET_EXEC', 3: 'ET_DYN', 4: 'ET_CORE' };

/** "0x1f" for messages. */
function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}

/**
 * Read an image file; see parseImage. A file that is not ELF is a raw binary at rawBase. Only a
 * regular file no larger than the largest RAM (`maxBytes`) is read (input-file.ts).
 */
export function loadImageFile(path: string, rawBase: bigint, maxBytes = memSizeLimit()): LoadedImage {
  const bytes = readInputFile(path, { what: 'image file', maxBytes });
  return parseImage(bytes, path, rawBase);
}

/**
 * Parse an image: an ELF64 little-endian RISC-V executable (ET_EXEC or ET_DYN, loaded without
 * relocation), or, when the bytes do not start with "\x7fELF", a raw binary loaded at
 * `rawBase` and entered there. `name` is used in every error message.
 */
export function parseImage(bytes: Uint8Array, name: string, rawBase: bigint): LoadedImage {
  if (bytes.length === 0) throw new UserError(`${name}: empty file`);
  const isElf = bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  if (!isElf) {
    return { name, entry: rawBase, segments: [{ paddr: rawBase, data: bytes, memSize: bytes.length }] };
  }
  return parseElf(bytes, name);
}

/**
 * Check that every segment lies inside RAM [ramBase, ramBase + memSize); throws a UserError
 * naming the first one that does not.
 */
export function checkSegmentsFit(image: LoadedImage, ramBase: bigint, memSize: number): void {
  const ramEnd = ramBase + BigInt(memSize);
  for (const s of image.segments) {
    if (s.memSize === 0) continue;
    const end = s.paddr + BigInt(s.memSize);
    if (s.paddr < ramBase || end > ramEnd) {
      throw new UserError(
        `${image.name}: segment at ${hex(s.paddr)} (size ${hex(s.memSize)}) is outside RAM ` +
          `${hex(ramBase)}-${hex(ramEnd - 1n)}`,
      );
    }
  }
}

/**
 * Check that no segment of `image` overlaps `region`, data the host itself writes into RAM when
 * it starts the guest (the device tree, placed near the top of RAM as QEMU does, which in a
 * small guest can fall on the image). `guest` names the kind of guest for the hint ("VM",
 * "machine"); the same check serves the bare machine and the VMM.
 */
export function checkSegmentsClear(
  image: LoadedImage,
  region: { start: bigint; end: bigint; what: string },
  guest: { kind: string; memSize: number },
): void {
  for (const s of image.segments) {
    const size = Math.max(s.memSize, s.data.length);
    if (size === 0) continue; // an empty segment occupies nothing
    if (s.paddr < region.end && region.start < s.paddr + BigInt(size)) {
      const mem = guest.memSize % 2 ** 20 === 0 ? `${guest.memSize / 2 ** 20} MiB` : `${guest.memSize / 1024} KiB`;
      throw new UserError(
        `${image.name}: segment at ${hex(s.paddr)} (size ${hex(size)}) overlaps ${region.what} at ${hex(region.start)} ` +
          `in a ${mem} ${guest.kind}; give the ${guest.kind} more memory (--mem)`,
      );
    }
  }
}

/**
 * Check that the HTIF `tohost` doubleword of `image` (when it has one) lies wholly inside RAM
 * [ramBase, ramBase + memSize): the host reads and clears all 8 bytes of it.
 */
export function checkTohostFits(image: LoadedImage, ramBase: bigint, memSize: number): void {
  const t = image.tohost;
  if (t === undefined || t === 0n) return;
  const ramEnd = ramBase + BigInt(memSize);
  if (t < ramBase || t + 8n > ramEnd) {
    throw new UserError(`${image.name}: tohost at ${hex(t)} (8 bytes) is outside RAM ${hex(ramBase)}-${hex(ramEnd - 1n)}`);
  }
}

/** A program header as far as loading needs it. */
interface Phdr {
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
}

function parseElf(bytes: Uint8Array, name: string): LoadedImage {
  const size = BigInt(bytes.length);
  if (bytes.length < EI_DATA + 1) {
    throw new UserError(`${name}: truncated ELF header (file is ${bytes.length} bytes, header needs ${EHDR_SIZE})`);
  }
  const cls = bytes[EI_CLASS];
  if (cls !== ELFCLASS64) {
    const what = cls === ELFCLASS32 ? 'ELF32' : 'invalid';
    throw new UserError(`${name}: ELF class is ${what} (${cls}), expected ELF64 (${ELFCLASS64})`);
  }
  const data = bytes[EI_DATA];
  if (data !== ELFDATA2LSB) {
    const what = data === ELFDATA2MSB ? 'big-endian' : 'invalid';
    throw new UserError(`${name}: ELF data encoding is ${what} (${data}), expected little-endian (${ELFDATA2LSB})`);
  }
  if (bytes.length < EHDR_SIZE) {
    throw new UserError(`${name}: truncated ELF header (file is ${bytes.length} bytes, header needs ${EHDR_SIZE})`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_RISCV) {
    const what = MACHINE_NAMES[machine] ?? 'unknown';
    throw new UserError(`${name}: ELF machine is ${what} (${machine}), expected RISC-V (${EM_RISCV})`);
  }
  const type = dv.getUint16(16, true);
  if (type !== ET_EXEC && type !== ET_DYN) {
    const what = TYPE_NAMES[type] ?? 'unknown';
    throw new UserError(`${name}: ELF type is ${what} (${type}), expected ET_EXEC (${ET_EXEC}) or ET_DYN (${ET_DYN})`);
  }

  let entry = dv.getBigUint64(24, true);
  const phoff = dv.getBigUint64(32, true);
  const shoff = dv.getBigUint64(40, true);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  const shentsize = dv.getUint16(58, true);
  const shnum = dv.getUint16(60, true);

  if (phnum === 0) throw new UserError(`${name}: ELF has no program headers (e_phnum is 0), nothing to load`);
  if (phentsize !== PHDR_SIZE) {
    throw new UserError(`${name}: ELF program header size is ${phentsize}, expected ${PHDR_SIZE}`);
  }
  const phdrs: Phdr[] = [];
  for (let i = 0; i < phnum; i++) {
    const off = phoff + BigInt(i * PHDR_SIZE);
    if (off + BigInt(PHDR_SIZE) > size) {
      throw new UserError(
        `${name}: truncated: program header ${i} at offset ${hex(off)} (size ${hex(PHDR_SIZE)}) ` +
          `extends past the end of the file (${hex(size)})`,
      );
    }
    const o = Number(off);
    phdrs.push({
      type: dv.getUint32(o, true),
      flags: dv.getUint32(o + 4, true),
      offset: dv.getBigUint64(o + 8, true),
      vaddr: dv.getBigUint64(o + 16, true),
      paddr: dv.getBigUint64(o + 24, true),
      filesz: dv.getBigUint64(o + 32, true),
      memsz: dv.getBigUint64(o + 40, true),
    });
  }

  const loads = phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) throw new UserError(`${name}: ELF has no PT_LOAD segment, nothing to load`);
  const segments: Segment[] = [];
  for (const p of loads) {
    const index = phdrs.indexOf(p);
    if (p.filesz > p.memsz) {
      throw new UserError(
        `${name}: segment ${index} file size ${hex(p.filesz)} is larger than its memory size ${hex(p.memsz)}`,
      );
    }
    if (p.offset + p.filesz > size) {
      throw new UserError(
        `${name}: truncated: segment ${index} data at offset ${hex(p.offset)} (size ${hex(p.filesz)}) ` +
          `extends past the end of the file (${hex(size)})`,
      );
    }
    if (p.memsz > 0xffffffffn) {
      throw new UserError(`${name}: segment ${index} at ${hex(p.paddr)} is too large (size ${hex(p.memsz)})`);
    }
    const start = Number(p.offset);
    segments.push({
      paddr: p.paddr,
      data: bytes.subarray(start, start + Number(p.filesz)),
      memSize: Number(p.memsz),
    });
  }

  checkNoOverlap(loads, phdrs, name);

  // The entry is virtual; move it like its executable segment (as QEMU's load_elf does).
  for (const p of loads) {
    if (p.flags & PF_X && p.vaddr !== p.paddr && entry >= p.vaddr && entry < p.vaddr + p.filesz) {
      entry = entry - p.vaddr + p.paddr;
      break;
    }
  }

  const image: LoadedImage = { name, entry, segments };
  const syms = readSymbols(bytes, dv, name, shoff, shentsize, shnum, ['tohost', 'fromhost']);
  const toPhys = (v: bigint): bigint => {
    const p = loads.find((l) => v >= l.vaddr && v < l.vaddr + l.memsz);
    return p ? v - p.vaddr + p.paddr : v;
  };
  if (syms.has('tohost')) image.tohost = toPhys(syms.get('tohost') as bigint);
  if (syms.has('fromhost')) image.fromhost = toPhys(syms.get('fromhost') as bigint);
  return image;
}

/**
 * Refuse PT_LOAD segments whose physical ranges [p_paddr, p_paddr + p_memsz) overlap: which one
 * would win is undefined, and QEMU refuses them too (its ROM blobs may not overlap: "rom:
 * requested regions overlap"). Empty segments occupy nothing and are skipped, as QEMU does.
 */
function checkNoOverlap(loads: Phdr[], phdrs: Phdr[], name: string): void {
  const sorted = loads.filter((p) => p.memsz > 0n).sort((a, b) => (a.paddr < b.paddr ? -1 : a.paddr > b.paddr ? 1 : 0));
  // Sorted by start, a segment overlaps some earlier one iff it starts below the furthest end so far.
  let reach: Phdr | undefined;
  for (const p of sorted) {
    if (reach !== undefined && p.paddr < reach.paddr + reach.memsz) {
      const [a, b] = [reach, p].sort((x, y) => phdrs.indexOf(x) - phdrs.indexOf(y));
      const range = (q: Phdr) => `segment ${phdrs.indexOf(q)} (${hex(q.paddr)}-${hex(q.paddr + q.memsz - 1n)})`;
      throw new UserError(`${name}: ${range(a)} and ${range(b)} overlap`);
    }
    if (reach === undefined || p.paddr + p.memsz > reach.paddr + reach.memsz) reach = p;
  }
}

/** Values of the wanted symbols of an ELF64 file (tests and tools: where a function landed). */
export function elfSymbols(bytes: Uint8Array, wanted: string[], name = 'ELF'): Map<string, bigint> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return readSymbols(bytes, dv, name, dv.getBigUint64(40, true), dv.getUint16(58, true), dv.getUint16(60, true), wanted);
}

/** Values of the wanted symbols found in the first SHT_SYMTAB section (none if it is absent). */
function readSymbols(
  bytes: Uint8Array,
  dv: DataView,
  name: string,
  shoff: bigint,
  shentsize: number,
  shnum: number,
  wanted: string[],
): Map<string, bigint> {
  const found = new Map<string, bigint>();
  if (shoff === 0n || shnum === 0) return found; // stripped of section headers: no symbols
  const size = BigInt(bytes.length);
  if (shentsize !== SHDR_SIZE) {
    throw new UserError(`${name}: ELF section header size is ${shentsize}, expected ${SHDR_SIZE}`);
  }
  if (shoff + BigInt(shnum * SHDR_SIZE) > size) {
    throw new UserError(
      `${name}: truncated: section headers at offset ${hex(shoff)} (size ${hex(shnum * SHDR_SIZE)}) ` +
        `extend past the end of the file (${hex(size)})`,
    );
  }
  const section = (i: number) => {
    const o = Number(shoff) + i * SHDR_SIZE;
    return {
      type: dv.getUint32(o + 4, true),
      offset: dv.getBigUint64(o + 24, true),
      size: dv.getBigUint64(o + 32, true),
      link: dv.getUint32(o + 40, true),
    };
  };
  let symtab: ReturnType<typeof section> | undefined;
  let symIndex = -1;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type === SHT_SYMTAB) {
      symtab = s;
      symIndex = i;
      break;
    }
  }
  if (!symtab) return found;
  if (symtab.link >= shnum) {
    throw new UserError(`${name}: .symtab (section ${symIndex}) links to string table ${symtab.link}, which does not exist`);
  }
  const strtab = section(symtab.link);
  for (const [what, s] of [
    ['.symtab', symtab],
    ['its string table', strtab],
  ] as const) {
    if (s.offset + s.size > size) {
      throw new UserError(
        `${name}: truncated: ${what} at offset ${hex(s.offset)} (size ${hex(s.size)}) ` +
          `extends past the end of the file (${hex(size)})`,
      );
    }
  }
  const strStart = Number(strtab.offset);
  const strEnd = strStart + Number(strtab.size);
  const enc = new TextEncoder();
  const targets = wanted.map((w) => ({ name: w, bytes: enc.encode(w + '\0') }));
  const count = Number(symtab.size / BigInt(SYM_SIZE));
  for (let i = 1; i < count && found.size < targets.length; i++) {
    const o = Number(symtab.offset) + i * SYM_SIZE;
    const nameAt = strStart + dv.getUint32(o, true);
    const shndx = dv.getUint16(o + 6, true);
    if (shndx === 0) continue; // undefined symbol
    for (const t of targets) {
      if (!found.has(t.name) && bytesAt(bytes, nameAt, strEnd, t.bytes)) {
        found.set(t.name, dv.getBigUint64(o + 8, true));
      }
    }
  }
  return found;
}

/** Whether `want` occurs at `start` without running past `end`. */
function bytesAt(bytes: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (start + want.length > end) return false;
  for (let k = 0; k < want.length; k++) if (bytes[start + k] !== want[k]) return false;
  return true;
}
