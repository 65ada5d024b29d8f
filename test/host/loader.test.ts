import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { UserError } from '../../host/errors';
import { checkSegmentsClear, checkSegmentsFit, checkTohostFits, loadImageFile, parseImage } from '../../host/machine/loader';
import { buildElf, type TestElf } from './elf-writer';

const RAM = 0x8000_0000n;
const code = new Uint8Array([0x13, 0x05, 0x10, 0x00, 0x6f, 0x00, 0x00, 0x00]); // li a0,1; j .
const data = new Uint8Array([1, 2, 3, 4]);

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The UserError message thrown by `f` (fails the test if it throws anything else or nothing). */
function userError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

const simple = (over: Partial<TestElf> = {}): TestElf => ({
  entry: RAM,
  segments: [
    { paddr: RAM, data: code },
    { paddr: RAM + 0x1000n, data, memSize: 0x100, flags: 6 },
  ],
  ...over,
});

describe('ELF64 RISC-V', () => {
  test('PT_LOAD segments at p_paddr with their memory sizes, and the entry', () => {
    const img = parseImage(buildElf(simple({ entry: RAM + 4n })).bytes, 'k.elf', 0n);
    expect(img.name).toBe('k.elf');
    expect(img.entry).toBe(RAM + 4n);
    expect(img.segments.map((s) => [s.paddr, [...s.data], s.memSize])).toEqual([
      [RAM, [...code], 8],
      [RAM + 0x1000n, [...data], 0x100],
    ]);
    expect(img.tohost).toBeUndefined();
    expect(img.fromhost).toBeUndefined();
  });

  test('tohost and fromhost come from .symtab', () => {
    const elf = simple({
      symbols: [
        { name: 'tohostx', value: 0x1n },
        { name: 'tohost', value: RAM + 0x1000n },
        { name: 'fromhost', value: RAM + 0x1040n },
      ],
    });
    const img = parseImage(buildElf(elf).bytes, 'k.elf', 0n);
    expect(img.tohost).toBe(RAM + 0x1000n);
    expect(img.fromhost).toBe(RAM + 0x1040n);
  });

  test('an undefined tohost symbol (st_shndx 0) is ignored', () => {
    const img = parseImage(buildElf(simple({ symbols: [{ name: 'tohost', value: 0n, shndx: 0 }] })).bytes, 'k', 0n);
    expect(img.tohost).toBeUndefined();
  });

  test('p_vaddr != p_paddr: load at p_paddr; entry and symbols move with their segment (as QEMU)', () => {
    const V = 0xffff_ffff_8000_0000n;
    const img = parseImage(
      buildElf({
        entry: V + 4n,
        segments: [{ vaddr: V, paddr: RAM + 0x20_0000n, data: code, memSize: 0x2000 }],
        symbols: [{ name: 'tohost', value: V + 0x1000n }],
      }).bytes,
      'vmlinux',
      0n,
    );
    expect(img.segments[0].paddr).toBe(RAM + 0x20_0000n);
    expect(img.entry).toBe(RAM + 0x20_0004n);
    expect(img.tohost).toBe(RAM + 0x20_1000n);
  });

  test('ET_DYN is accepted; non-PT_LOAD headers are skipped', () => {
    const img = parseImage(
      buildElf({
        type: 3,
        entry: RAM,
        segments: [
          { type: 6, paddr: 0n, data: new Uint8Array(0) }, // PT_PHDR
          { paddr: RAM, data: code },
        ],
      }).bytes,
      'pie.elf',
      0n,
    );
    expect(img.segments.length).toBe(1);
  });
});

describe('raw binaries', () => {
  test('no ELF magic: one segment at rawBase, entered there', () => {
    const bytes = new Uint8Array([0x7f, 0x45, 0x4c, 0x47, 9, 9]);
    const img = parseImage(bytes, 'fw.bin', 0x8000_0000n);
    expect(img).toEqual({
      name: 'fw.bin',
      entry: 0x8000_0000n,
      segments: [{ paddr: 0x8000_0000n, data: bytes, memSize: 6 }],
    });
  });
  test('a file shorter than the magic is raw too', () => {
    expect(parseImage(new Uint8Array([0x7f]), 'x', 0x8020_0000n).entry).toBe(0x8020_0000n);
  });
});

describe('errors', () => {
  test('empty and missing files', () => {
    expect(userError(() => parseImage(new Uint8Array(0), 'x.elf', RAM))).toBe('x.elf: empty file');
    const missing = join(dir, 'nope.elf');
    expect(userError(() => loadImageFile(missing, RAM))).toBe(`${missing}: no such file`);
    expect(userError(() => loadImageFile(dir, RAM))).toBe(`${dir}: is a directory, expected an image file`);
  });

  test('ELF32 (an RV32 image)', () => {
    expect(userError(() => parseImage(buildElf(simple({ cls: 1 })).bytes, 'x.elf', RAM))).toBe(
      'x.elf: ELF class is ELF32 (1), expected ELF64 (2)',
    );
  });

  test('big-endian', () => {
    expect(userError(() => parseImage(buildElf(simple({ data: 2 })).bytes, 'x.elf', RAM))).toBe(
      'x.elf: ELF data encoding is big-endian (2), expected little-endian (1)',
    );
  });

  test('wrong machine, named when known', () => {
    expect(userError(() => parseImage(buildElf(simple({ machine: 62 })).bytes, 'x.elf', RAM))).toBe(
      'x.elf: ELF machine is x86-64 (62), expected RISC-V (243)',
    );
    expect(userError(() => parseImage(buildElf(simple({ machine: 999 })).bytes, 'x.elf', RAM))).toBe(
      'x.elf: ELF machine is unknown (999), expected RISC-V (243)',
    );
  });

  test.skipIf(!existsSync('/bin/true'))("the host's /bin/true is rejected for its machine", () => {
    const bytes = readFileSync('/bin/true');
    const machine = bytes.readUInt16LE(18);
    const names: Record<number, string> = { 62: 'x86-64', 183: 'AArch64' };
    expect(userError(() => loadImageFile('/bin/true', RAM))).toBe(
      `/bin/true: ELF machine is ${names[machine]} (${machine}), expected RISC-V (243)`,
    );
  });

  test('not an executable', () => {
    expect(userError(() => parseImage(buildElf(simple({ type: 1 })).bytes, 'x.o', RAM))).toBe(
      'x.o: ELF type is ET_REL (1), expected ET_EXEC (2) or ET_DYN (3)',
    );
    expect(userError(() => parseImage(buildElf(simple({ type: 4 })).bytes, 'core', RAM))).toBe(
      'core: ELF type is ET_CORE (4), expected ET_EXEC (2) or ET_DYN (3)',
    );
  });

  test('truncated ELF header', () => {
    expect(userError(() => parseImage(buildElf(simple()).bytes.subarray(0, 40), 'x.elf', RAM))).toBe(
      'x.elf: truncated ELF header (file is 40 bytes, header needs 64)',
    );
  });

  test('truncated program headers', () => {
    const { bytes } = buildElf(simple());
    // Header + first program header only: the second (at 64 + 56 = 0x78) is cut off.
    expect(userError(() => parseImage(bytes.subarray(0, 64 + 56 + 10), 'x.elf', RAM))).toBe(
      'x.elf: truncated: program header 1 at offset 0x78 (size 0x38) extends past the end of the file (0x82)',
    );
  });

  test('truncated segment data', () => {
    const { bytes, dataOffsets } = buildElf(simple());
    const cut = bytes.subarray(0, dataOffsets[1] + 2);
    expect(userError(() => parseImage(cut, 'x.elf', RAM))).toBe(
      `x.elf: truncated: segment 1 data at offset 0x${dataOffsets[1].toString(16)} (size 0x4) ` +
        `extends past the end of the file (0x${(dataOffsets[1] + 2).toString(16)})`,
    );
  });

  test('p_filesz larger than p_memsz', () => {
    const { bytes, phoff } = buildElf(simple());
    new DataView(bytes.buffer).setBigUint64(phoff + 40, 2n, true); // segment 0 memsz = 2 < filesz 8
    expect(userError(() => parseImage(bytes, 'x.elf', RAM))).toBe(
      'x.elf: segment 0 file size 0x8 is larger than its memory size 0x2',
    );
  });

  test('no loadable segment', () => {
    const elf = buildElf({ entry: RAM, segments: [{ type: 4, paddr: 0n, data }] }); // PT_NOTE only
    expect(userError(() => parseImage(elf.bytes, 'x.elf', RAM))).toBe(
      'x.elf: ELF has no PT_LOAD segment, nothing to load',
    );
  });

  test('truncated section headers', () => {
    const { bytes, shoff } = buildElf(simple({ symbols: [{ name: 'tohost', value: RAM }] }));
    expect(userError(() => parseImage(bytes.subarray(0, shoff + 100), 'x.elf', RAM))).toBe(
      `x.elf: truncated: section headers at offset 0x${shoff.toString(16)} (size 0xc0) ` +
        `extend past the end of the file (0x${(shoff + 100).toString(16)})`,
    );
  });
});

describe('loadImageFile', () => {
  test('reads an ELF from disk, named by its path', () => {
    const path = join(dir, 'k.elf');
    writeFileSync(path, buildElf(simple({ symbols: [{ name: 'tohost', value: RAM + 0x1000n }] })).bytes);
    const img = loadImageFile(path, 0n);
    expect(img.name).toBe(path);
    expect(img.entry).toBe(RAM);
    expect(img.tohost).toBe(RAM + 0x1000n);
  });
});

describe('checkSegmentsFit', () => {
  const SIZE = 128 << 20;
  test('segments inside RAM pass, including one ending exactly at its end', () => {
    const img = parseImage(new Uint8Array(16), 'a.bin', RAM + BigInt(SIZE) - 16n);
    expect(() => checkSegmentsFit(img, RAM, SIZE)).not.toThrow();
  });
  test('a segment past the end of RAM (its bss counts)', () => {
    const img = parseImage(
      buildElf({ entry: RAM, segments: [{ paddr: 0x87ff_f000n, data: code, memSize: 0x2000 }] }).bytes,
      'x.elf',
      0n,
    );
    expect(userError(() => checkSegmentsFit(img, RAM, SIZE))).toBe(
      'x.elf: segment at 0x87fff000 (size 0x2000) is outside RAM 0x80000000-0x87ffffff',
    );
  });
  test('a segment below RAM', () => {
    const img = parseImage(new Uint8Array(4), 'low.bin', 0x1000n);
    expect(userError(() => checkSegmentsFit(img, RAM, SIZE))).toBe(
      'low.bin: segment at 0x1000 (size 0x4) is outside RAM 0x80000000-0x87ffffff',
    );
  });
});

// ---- issue 11 (hardening): overlapping segments, tohost, boot data over the image ----

describe('overlapping PT_LOAD segments (refused, as QEMU refuses overlapping ROM blobs)', () => {
  test('two segments whose memory ranges overlap: both named, in header order', () => {
    const elf = buildElf({
      entry: RAM,
      segments: [
        { paddr: RAM + 0x1000n, data, memSize: 0x2000, flags: 6 },
        { paddr: RAM, data: code, memSize: 0x1800 },
      ],
    }).bytes;
    expect(userError(() => parseImage(elf, 'ov.elf', RAM))).toBe(
      'ov.elf: segment 0 (0x80001000-0x80002fff) and segment 1 (0x80000000-0x800017ff) overlap',
    );
  });
  test('a segment inside a larger earlier one (not adjacent in address order) is caught', () => {
    const elf = buildElf({
      entry: RAM,
      segments: [
        { paddr: RAM, data: code, memSize: 0x10000 },
        { paddr: RAM + 0x2000n, data, memSize: 0x100, flags: 6 },
        { paddr: RAM + 0x8000n, data, memSize: 0x100, flags: 6 },
      ],
    }).bytes;
    expect(userError(() => parseImage(elf, 'in.elf', RAM))).toBe(
      'in.elf: segment 0 (0x80000000-0x8000ffff) and segment 1 (0x80002000-0x800020ff) overlap',
    );
  });
  test('touching segments and empty segments are fine', () => {
    const elf = buildElf({
      entry: RAM,
      segments: [
        { paddr: RAM, data: code, memSize: 0x1000 },
        { paddr: RAM + 0x1000n, data, memSize: 0x100, flags: 6 },
        { paddr: RAM + 0x800n, data: new Uint8Array(0), memSize: 0, flags: 6 },
      ],
    }).bytes;
    expect(parseImage(elf, 'ok.elf', RAM).segments.map((s) => s.paddr)).toEqual([RAM, RAM + 0x1000n, RAM + 0x800n]);
  });
});

describe('checkTohostFits', () => {
  const SIZE = 4 << 20;
  const withTohost = (t: bigint) => parseImage(buildElf(simple({ symbols: [{ name: 'tohost', value: t }] })).bytes, 't.elf', RAM);
  test('a tohost in the last 8 bytes of RAM fits', () => {
    expect(() => checkTohostFits(withTohost(RAM + BigInt(SIZE) - 8n), RAM, SIZE)).not.toThrow();
  });
  test('a tohost whose 8 bytes cross the end of RAM, or lie outside it, is refused', () => {
    expect(userError(() => checkTohostFits(withTohost(RAM + BigInt(SIZE) - 4n), RAM, SIZE))).toBe(
      't.elf: tohost at 0x803ffffc (8 bytes) is outside RAM 0x80000000-0x803fffff',
    );
    expect(userError(() => checkTohostFits(withTohost(0x1000n), RAM, SIZE))).toBe(
      't.elf: tohost at 0x1000 (8 bytes) is outside RAM 0x80000000-0x803fffff',
    );
  });
  test('no tohost: nothing to check', () => {
    expect(() => checkTohostFits(parseImage(code, 'raw.bin', RAM), RAM, SIZE)).not.toThrow();
  });
});

describe('checkSegmentsClear', () => {
  const img = parseImage(new Uint8Array(0x3000), 'big.bin', RAM);
  const dtb = { start: RAM + 0x2000n, end: RAM + 0x2800n, what: 'the device tree' };
  test('a segment under the region is named with the guest and its memory', () => {
    expect(userError(() => checkSegmentsClear(img, dtb, { kind: 'machine', memSize: 1 << 20 }))).toBe(
      'big.bin: segment at 0x80000000 (size 0x3000) overlaps the device tree at 0x80002000 in a 1 MiB machine; give the machine more memory (--mem)',
    );
    expect(userError(() => checkSegmentsClear(img, dtb, { kind: 'VM', memSize: 2 ** 31 }))).toBe(
      'big.bin: segment at 0x80000000 (size 0x3000) overlaps the device tree at 0x80002000 in a 2048 MiB VM; give the VM more memory (--mem)',
    );
  });
  test('a segment ending where the region starts does not overlap', () => {
    expect(() => checkSegmentsClear(img, { ...dtb, start: RAM + 0x3000n, end: RAM + 0x4000n }, { kind: 'VM', memSize: 1 << 20 })).not.toThrow();
  });
});
