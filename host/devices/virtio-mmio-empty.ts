/**
 * An empty virtio-mmio slot of the `virt` board (0x1000_1000 + i * 0x1000, i = 0..7): the
 * transport with no device behind it. Virtio 1.x §4.2.2 and §4.2.3.1.1: a driver reads
 * MagicValue and Version, then DeviceID, and "MUST ignore a device with DeviceID 0x0" — so
 * the guest sees the slot and leaves it alone. VendorID is QEMU's ("QEMU" in little-endian),
 * as QEMU reports for its empty slots. Everything else reads 0; writes are ignored.
 */

import type { MmioDevice } from './device';
import type { SectionReader, SectionWriter } from '../snapshot/format';

/** Register offsets of the virtio-mmio header (§4.2.2). */
export const VIRTIO_MMIO_MAGIC_VALUE = 0x000;
export const VIRTIO_MMIO_VERSION = 0x004;
export const VIRTIO_MMIO_DEVICE_ID = 0x008;
export const VIRTIO_MMIO_VENDOR_ID = 0x00c;

/** "virt" in little-endian. */
export const VIRTIO_MMIO_MAGIC = 0x74726976;
/** The non-legacy interface (virtio 1.x). */
export const VIRTIO_MMIO_VERSION_2 = 2;
/** "QEMU" in little-endian. */
export const VIRTIO_MMIO_VENDOR_QEMU = 0x554d4551;

/** A virtio-mmio slot with no device (DeviceID 0). */
export class VirtioMmioEmpty implements MmioDevice {
  readonly name: string;

  constructor(name = 'virtio-mmio') {
    this.name = name;
  }

  /** Snapshots (host/snapshot): an empty slot has no state. */
  saveState(_w: SectionWriter): void {}
  loadState(_r: SectionReader): void {}

  read(offset: number, size: number): bigint {
    // The registers are 32-bit; a narrower read sees its bytes of the word.
    const word = BigInt(this.readWord(offset & ~3));
    const bits = BigInt(Math.min(size, 4) * 8);
    return (word >> BigInt((offset & 3) * 8)) & ((1n << bits) - 1n);
  }

  write(_offset: number, _size: number, _value: bigint): void {
    // No device: nothing to configure.
  }

  private readWord(offset: number): number {
    switch (offset) {
      case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
      case VIRTIO_MMIO_VERSION:
        return VIRTIO_MMIO_VERSION_2;
      case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR_QEMU;
      default:
        return 0; // DeviceID 0 = no device; all other registers 0
    }
  }
}
