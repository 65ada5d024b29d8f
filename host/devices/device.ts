/**
 * What a device model sees of the machine: its own register window, an interrupt line, and
 * (for DMA-capable devices, later) guest memory through GuestMemory. Never the core or the
 * raw WebAssembly.Memory.
 */

/** A memory-mapped device on the physical bus. Offsets are relative to the window base. */
export interface MmioDevice {
  /** Short name for traces and errors ("uart0", "plic"). */
  readonly name: string;
  /** Read `size` (1, 2, 4 or 8) bytes at `offset`. Unimplemented registers read as 0. */
  read(offset: number, size: number): bigint;
  /** Write the low `size` bytes of `value` at `offset`. Writes to read-only registers are ignored. */
  write(offset: number, size: number, value: bigint): void;
}

/** A level-triggered interrupt input (a PLIC source, or a hart's local interrupt pin). */
export interface IrqLine {
  set(level: boolean): void;
}

/** The hart-local timer and software-interrupt state that the CLINT drives. */
export interface HartTimer {
  /** Current mtime in 10 MHz ticks. */
  mtime(): bigint;
  getMtimecmp(): bigint;
  setMtimecmp(value: bigint): void;
  /** The machine software-interrupt pending bit (MIP.MSIP) driven by msip. */
  getMsip(): boolean;
  setMsip(level: boolean): void;
  /**
   * Set mtime (a guest store to the CLINT's mtime register; QEMU's ACLINT allows it). Optional:
   * a timer without it ignores such stores.
   */
  setMtime?(value: bigint): void;
}

/** Guest-physical memory as devices and loaders see it. */
export interface GuestMemory {
  /** Physical base and size of RAM. */
  readonly base: bigint;
  readonly size: number;
  /** Copy bytes into guest RAM at physical address `addr` (throws if outside RAM). */
  write(addr: bigint, bytes: Uint8Array): void;
  /** Copy `length` bytes out of guest RAM at physical address `addr`. */
  read(addr: bigint, length: number): Uint8Array;
  /** A little-endian u64 at `addr` (optional fast path: no copy; page tables use it). */
  read64?(addr: bigint): bigint;
  /** Store a little-endian u64 at `addr` (optional fast path, same rules as write). */
  write64?(addr: bigint, value: bigint): void;
  /**
   * Zero-copy access (optional fast path): call `use` with a live view of
   * [addr, addr + length), which must lie inside one 4 KiB page of RAM (throws otherwise). The
   * view is valid only while `use` runs. With `write`, what `use` stored is published
   * afterwards as a write would be (stale decoded code dropped).
   */
  access?(addr: bigint, length: number, write: boolean, use: (view: Uint8Array) => void): void;
}
