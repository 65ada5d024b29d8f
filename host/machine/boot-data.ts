/**
 * Boot data as QEMU's `virt` hands it to a kernel (issue 12, part 2): `-append` (/chosen
 * bootargs), `-initrd` (loaded into RAM, /chosen linux,initrd-start/end) and `-dtb` (the user's
 * tree instead of the generated one). Shared by the bare machine (machine.ts) and the VMM (vm.ts).
 *
 * Placement, as QEMU 7.2 (hw/riscv/boot.c riscv_load_initrd): the initrd starts at
 * kernel entry + min(RAM size / 2, 128 MiB), so an uncompressing kernel does not clobber it;
 * the DTB goes 2 MiB-aligned near the top of RAM (fdtLoadAddress). Checked against
 * `qemu-system-riscv64 -M virt,dumpdtb=`: 128M gives initrd-start 0x84200000 for a kernel at
 * 0x80200000, 512M gives 0x88200000; QEMU writes both properties as one 32-bit cell.
 *
 * A user DTB is used as given, except that, as QEMU does, --append and --initrd set /chosen
 * bootargs and linux,initrd-start/end in it (fdt-patch.ts).
 */
import { UserError } from '../errors';
import type { Fdt } from './fdt';
import { patchChosen, type FdtProp } from './fdt-patch';
import type { LoadedImage } from './types';

/** A file handed to the boot: its name (for messages) and its bytes. */
export interface BootFile {
  name: string;
  data: Uint8Array;
}

/** The boot options of both modes (CLI --append/--initrd/--dtb, xl.cfg, the web API). */
export interface BootOptions {
  /** Kernel command line: /chosen bootargs. */
  append?: string;
  /** Initial ramdisk, loaded into RAM; /chosen linux,initrd-start and linux,initrd-end. */
  initrd?: BootFile;
  /** A device tree blob used instead of the generated tree. */
  dtb?: BootFile;
}

const FDT_MAGIC = 0xd00dfeed;
const FDT_HEADER_SIZE = 40;
const MiB = 1n << 20n;

/**
 * Check a user DTB's header (devicetree spec 0.4, 5.2): magic 0xd00dfeed, totalsize no larger
 * than the file, version 16 or later (the layout this header describes). Throws a one-line UserError.
 */
export function checkDtb(file: BootFile): Uint8Array {
  const { name, data } = file;
  if (data.length < FDT_HEADER_SIZE) throw new UserError(`${name}: not a device tree blob (${data.length} bytes, shorter than the 40-byte FDT header)`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = v.getUint32(0);
  if (magic !== FDT_MAGIC) throw new UserError(`${name}: not a device tree blob (magic 0x${magic.toString(16).padStart(8, '0')}, expected 0xd00dfeed)`);
  const total = v.getUint32(4);
  if (total > data.length) throw new UserError(`${name}: truncated device tree blob (totalsize ${total} bytes, file has ${data.length})`);
  if (total < FDT_HEADER_SIZE) throw new UserError(`${name}: bad device tree blob (totalsize ${total} is smaller than the header)`);
  const version = v.getUint32(20);
  if (version < 16) throw new UserError(`${name}: device tree blob version ${version} is too old (need 16 or later)`);
  return data.subarray(0, total);
}

/**
 * The user's DTB (checked), with /chosen bootargs and the initrd properties set from --append
 * and --initrd as QEMU sets them in a `-dtb`.
 */
export function userDtb(dtb: BootFile, boot: BootOptions, initrd: InitrdPlacement | undefined): Uint8Array {
  const blob = checkDtb(dtb);
  const props: FdtProp[] = [];
  if (boot.append !== undefined) props.push({ name: 'bootargs', value: new TextEncoder().encode(boot.append + '\0') });
  if (initrd) {
    props.push({ name: 'linux,initrd-start', value: cellBytes(initrd.start) });
    props.push({ name: 'linux,initrd-end', value: cellBytes(initrd.end) });
  }
  return props.length > 0 ? patchChosen(dtb.name, blob, props) : blob;
}

function cellBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(value <= 0xffffffffn ? 4 : 8);
  const v = new DataView(out.buffer);
  if (out.length === 4) v.setUint32(0, Number(value));
  else v.setBigUint64(0, value);
  return out;
}

/** Where QEMU 7.2 loads the initrd: kernel entry + min(RAM size / 2, 128 MiB). */
export function initrdAddress(kernelEntry: bigint, memSize: number): bigint {
  const half = BigInt(memSize) / 2n;
  return kernelEntry + (half < 128n * MiB ? half : 128n * MiB);
}

/** A property value as QEMU writes it: one 32-bit cell, or two when the value needs 64 bits. */
function cellValue(fdtNode: ReturnType<Fdt['node']>, name: string, value: bigint): void {
  if (value <= 0xffffffffn) fdtNode.u32(name, Number(value));
  else fdtNode.u64(name, value);
}

/** The initrd's place in RAM, when there is one. */
export interface InitrdPlacement {
  start: bigint;
  end: bigint;
  data: Uint8Array;
}

/** Where the initrd goes for `kernel` in a RAM of `memSize` bytes at `ramBase`; checked to fit. */
export function placeInitrd(boot: BootOptions | undefined, kernel: LoadedImage, ramBase: bigint, memSize: number): InitrdPlacement | undefined {
  const initrd = boot?.initrd;
  if (!initrd) return undefined;
  const start = initrdAddress(kernel.entry, memSize);
  const end = start + BigInt(initrd.data.length);
  const ramEnd = ramBase + BigInt(memSize);
  if (start < ramBase || end > ramEnd) {
    throw new UserError(`${initrd.name}: initrd of ${initrd.data.length} bytes at 0x${start.toString(16)} does not fit in RAM 0x${ramBase.toString(16)}-0x${(ramEnd - 1n).toString(16)}; give the guest more memory (--mem)`);
  }
  for (const s of kernel.segments) {
    const size = BigInt(Math.max(s.memSize, s.data.length));
    if (size !== 0n && s.paddr < end && start < s.paddr + size) {
      throw new UserError(`${initrd.name}: initrd at 0x${start.toString(16)}-0x${(end - 1n).toString(16)} overlaps ${kernel.name}'s segment at 0x${s.paddr.toString(16)} (size 0x${size.toString(16)})`);
    }
  }
  return { start, end, data: initrd.data };
}

/** Refuse an initrd that the DTB region (the DTB, with --bios also fw_dynamic_info) would overwrite. */
export function checkInitrdClear(boot: BootOptions | undefined, initrd: InitrdPlacement | undefined, region: { start: bigint; end: bigint; what: string }): void {
  if (!initrd || !boot?.initrd) return;
  if (initrd.start < region.end && region.start < initrd.end) {
    throw new UserError(`${boot.initrd.name}: initrd at 0x${initrd.start.toString(16)}-0x${(initrd.end - 1n).toString(16)} overlaps ${region.what} at 0x${region.start.toString(16)}; give the guest more memory (--mem)`);
  }
}

/** The /chosen properties of --append and --initrd, as an `extra` hook for virtBoardFdt. */
export function chosenExtra(boot: BootOptions | undefined, initrd: InitrdPlacement | undefined, extra?: (fdt: Fdt) => void): (fdt: Fdt) => void {
  return (fdt) => {
    const chosen = fdt.node('/chosen');
    if (boot?.append !== undefined) chosen.str('bootargs', boot.append);
    if (initrd) {
      cellValue(chosen, 'linux,initrd-start', initrd.start);
      cellValue(chosen, 'linux,initrd-end', initrd.end);
    }
    extra?.(fdt);
  };
}
