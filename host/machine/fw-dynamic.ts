/**
 * The boot-information block OpenSBI's FW_DYNAMIC firmware expects from the stage before it.
 *
 * fw_dynamic reads `a2` as the address of a `struct fw_dynamic_info` (OpenSBI,
 * include/sbi/fw_dynamic.h; docs/firmware/fw_dynamic.md). The struct is packed and made of
 * `unsigned long` fields, so on RV64 it is six little-endian u64 words:
 *
 * ```
 *   offset  field      meaning
 *   0x00    magic      FW_DYNAMIC_INFO_MAGIC_VALUE = 0x4942534f ("OSBI")
 *   0x08    version    2 (FW_DYNAMIC_INFO_VERSION_MAX); boot_hart exists from version 2 on
 *   0x10    next_addr  entry of the next stage (the kernel payload)
 *   0x18    next_mode  privilege of the next stage: 0 U, 1 S, 3 M
 *   0x20    options    OpenSBI library options (bit 0: no boot prints, ...); we pass 0
 *   0x28    boot_hart  preferred boot hart id; -1 (all ones) asks for the relocation lottery
 * ```
 *
 * QEMU writes this block into its reset-vector ROM; wasmvisor has no ROM, so the machine puts
 * it in RAM just below the device tree blob (see `fwDynamicInfoAddress`).
 */

/** 'OSBI' in ASCII, read as a little-endian word. */
export const FW_DYNAMIC_INFO_MAGIC = 0x4942534fn;
/** The struct version we write: version 2 adds `boot_hart`. */
export const FW_DYNAMIC_INFO_VERSION = 2n;
/** Size of the RV64 struct in bytes: six u64 fields. */
export const FW_DYNAMIC_INFO_SIZE = 6 * 8;

/** Privilege mode of the stage after OpenSBI (`next_mode`). */
export const enum NextMode {
  User = 0,
  Supervisor = 1,
  Machine = 3,
}

/** The fields of `struct fw_dynamic_info` a caller chooses. */
export interface FwDynamicInfo {
  /** Entry address of the payload (0x80200000 on the virt board). */
  nextAddr: bigint;
  /** Privilege the payload starts in; default Supervisor. */
  nextMode?: NextMode;
  /** OpenSBI options word; default 0. */
  options?: bigint;
  /** Preferred boot hart; default 0 (our only hart). */
  bootHart?: bigint;
}

/** Encode `struct fw_dynamic_info` (version 2) as the 48 bytes OpenSBI reads through `a2`. */
export function buildFwDynamicInfo(info: FwDynamicInfo): Uint8Array {
  const bytes = new Uint8Array(FW_DYNAMIC_INFO_SIZE);
  const view = new DataView(bytes.buffer);
  const mask = (1n << 64n) - 1n; // boot_hart = -1n becomes all ones, as (unsigned long)-1
  const words = [
    FW_DYNAMIC_INFO_MAGIC,
    FW_DYNAMIC_INFO_VERSION,
    info.nextAddr,
    BigInt(info.nextMode ?? NextMode.Supervisor),
    info.options ?? 0n,
    info.bootHart ?? 0n,
  ];
  words.forEach((w, i) => view.setBigUint64(i * 8, w & mask, true));
  return bytes;
}

/**
 * Where the block goes: just below the DTB, rounded down to 64 bytes (the struct is packed,
 * but OpenSBI loads it with ld, so 8-byte alignment matters on harts that trap on misaligned
 * loads; 64 keeps it on its own cache line).
 */
export function fwDynamicInfoAddress(dtbAddr: bigint): bigint {
  return (dtbAddr - BigInt(FW_DYNAMIC_INFO_SIZE)) & ~63n;
}
