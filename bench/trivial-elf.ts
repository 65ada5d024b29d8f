/**
 * A minimal RV64 ELF image that ends the run at once, used to measure how
 * long an emulator takes to start up and shut down with no guest work.
 */

/**
 * Load address and entry: the start of RAM on virt. The code must sit right
 * there, because QEMU's `-bios none` reset vector jumps to the start of RAM
 * whatever the ELF entry says.
 */
const LOAD_ADDR = 0x80000000n;
/** ELF64 header (64 bytes) + one program header (56 bytes), code after them. */
const CODE_OFFSET = 128;

/**
 * The program, five RV64I instructions:
 *   lui  t0, 0x100        t0 = 0x100000 (the sifive,test0 finisher)
 *   lui  t1, 0x5
 *   addi t1, t1, 0x555    t1 = 0x5555 (FINISHER_PASS: exit 0)
 *   sw   t1, 0(t0)
 *   j    .                (not reached once the finisher acts)
 */
const CODE = [0x001002b7, 0x00005337, 0x55530313, 0x0062a023, 0x0000006f];

/**
 * Builds the image: one PT_LOAD segment holding just the code, loaded and
 * entered at 0x80000000. Layouts per the ELF-64
 * Object File Format and the RISC-V psABI (e_machine 243).
 */
export function trivialElf(): Uint8Array {
  const size = CODE_OFFSET + CODE.length * 4;
  const buf = new ArrayBuffer(size);
  const v = new DataView(buf);
  const b = new Uint8Array(buf);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, SYSV
  v.setUint16(16, 2, true); // e_type ET_EXEC
  v.setUint16(18, 243, true); // e_machine EM_RISCV
  v.setUint32(20, 1, true); // e_version
  v.setBigUint64(24, LOAD_ADDR, true); // e_entry
  v.setBigUint64(32, 64n, true); // e_phoff
  v.setBigUint64(40, 0n, true); // e_shoff: no sections
  v.setUint32(48, 0, true); // e_flags (soft-float ABI, no RVC needed)
  v.setUint16(52, 64, true); // e_ehsize
  v.setUint16(54, 56, true); // e_phentsize
  v.setUint16(56, 1, true); // e_phnum
  v.setUint16(58, 64, true); // e_shentsize
  v.setUint16(60, 0, true); // e_shnum
  v.setUint16(62, 0, true); // e_shstrndx
  const ph = 64;
  v.setUint32(ph + 0, 1, true); // p_type PT_LOAD
  v.setUint32(ph + 4, 5, true); // p_flags R+X
  v.setBigUint64(ph + 8, BigInt(CODE_OFFSET), true); // p_offset
  v.setBigUint64(ph + 16, LOAD_ADDR, true); // p_vaddr
  v.setBigUint64(ph + 24, LOAD_ADDR, true); // p_paddr
  v.setBigUint64(ph + 32, BigInt(CODE.length * 4), true); // p_filesz
  v.setBigUint64(ph + 40, BigInt(CODE.length * 4), true); // p_memsz
  v.setBigUint64(ph + 48, 16n, true); // p_align (p_offset and p_vaddr agree modulo it)
  CODE.forEach((insn, i) => v.setUint32(CODE_OFFSET + i * 4, insn, true));
  return b;
}
