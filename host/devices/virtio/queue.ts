/**
 * The split virtqueue (virtio 1.x §2.7), device side: where the three rings live, how a
 * descriptor chain is fetched and validated, and how a used buffer is returned.
 *
 * ```
 *  Descriptor Table (16 bytes each, §2.7.5)     Available Ring (§2.7.6)     Used Ring (§2.7.8)
 *  +0  le64 addr   guest-physical buffer        +0 le16 flags              +0 le16 flags
 *  +8  le32 len    bytes                        +2 le16 idx                +2 le16 idx
 *  +12 le16 flags  NEXT=1 WRITE=2 INDIRECT=4    +4 le16 ring[size]         +4 {le32 id; le32 len}[size]
 *  +14 le16 next   index of the next desc       .. le16 used_event         .. le16 avail_event
 * ```
 *
 * Everything in these rings is written by the guest and may be hostile. A chain is walked at
 * most `size` steps (§2.7.5.3.1: a chain longer than the queue is a loop), every index is checked
 * against `size`, every buffer against guest RAM, and device-readable descriptors must come
 * before device-writable ones (§2.7.4.2). Any violation breaks the queue: `error` says why, the
 * queue serves nothing more until the driver resets the device, and the transport reports
 * DEVICE_NEEDS_RESET (§2.1.2). Nothing here throws or loops on guest data.
 */
import type { GuestMemory } from '../device';

/** Descriptor flag: the chain continues at `next` (§2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
/** Descriptor flag: the buffer is device-writable (otherwise device-readable). */
export const VIRTQ_DESC_F_WRITE = 2;
/** Descriptor flag: the buffer holds an indirect table (§2.7.5.3; VIRTIO_F_INDIRECT_DESC, not offered). */
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Available-ring flag: the driver asks for no used-buffer notification (§2.7.7). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

/** Bytes of one descriptor, and ring header/element sizes (§2.7). */
const DESC_SIZE = 16;
const RING_HEADER = 4;
const USED_ELEM_SIZE = 8;

/**
 * One fetched descriptor chain, split into its device-readable part (first) and its
 * device-writable part. Preallocated per queue with room for `size` descriptors, and reused
 * for every request.
 */
export class DescriptorChain {
  /** Head descriptor index: the id returned in the used ring. */
  head = 0;
  /** Number of descriptors in the chain. */
  count = 0;
  /** How many of the first descriptors are device-readable; the rest are device-writable. */
  readableCount = 0;
  /** Total bytes of the device-readable descriptors. */
  readableBytes = 0;
  /** Total bytes of the device-writable descriptors. */
  writableBytes = 0;
  /** Guest-physical buffer address of descriptor i of the chain. */
  readonly addr: bigint[];
  /** Length of descriptor i of the chain. */
  readonly len: Uint32Array;

  constructor(capacity: number) {
    this.addr = new Array<bigint>(capacity).fill(0n);
    this.len = new Uint32Array(capacity);
  }
}

/** Plain-data state of one queue (for snapshots and migration). */
export interface SplitQueueSnapshot {
  size: number;
  ready: boolean;
  descAddr: string;
  driverAddr: string;
  deviceAddr: string;
  nextAvail: number;
  nextUsed: number;
  error?: string;
}

/** The device side of one split virtqueue. */
export class SplitQueue {
  /** Queue size the driver chose (QueueNum); QueueNumMax until then. A power of 2. */
  size: number;
  /** QueueReady: the driver set the queue up and the device may use it. */
  ready = false;
  /** Guest-physical address of the Descriptor Table (QueueDesc). */
  descAddr = 0n;
  /** Guest-physical address of the Available Ring, the "driver area" (QueueDriver). */
  driverAddr = 0n;
  /** Guest-physical address of the Used Ring, the "device area" (QueueDevice). */
  deviceAddr = 0n;
  /** Free-running index of the next available-ring entry to consume (mod 2^16). */
  nextAvail = 0;
  /** Free-running index of the next used-ring entry to fill (mod 2^16). */
  nextUsed = 0;
  /** Why the queue stopped (a driver error, §2.1.2); undefined while healthy. */
  error: string | undefined;

  constructor(readonly maxSize: number) {
    this.size = maxSize;
  }

  /** Back to the reset state (§2.1.1 / §4.2.2: QueueReady 0, addresses 0). */
  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.descAddr = this.driverAddr = this.deviceAddr = 0n;
    this.nextAvail = this.nextUsed = 0;
    this.error = undefined;
  }

  /** Accept a QueueNum write: 1..maxSize and a power of 2 (§2.7); other values are ignored. */
  setSize(n: number): boolean {
    if (n < 1 || n > this.maxSize || (n & (n - 1)) !== 0) return false;
    this.size = n;
    return true;
  }

  /**
   * Check the rings the driver placed before the queue goes live: alignment (§2.7, table
   * "Virtqueue Part Alignment": descriptors 16, available ring 2, used ring 4) and every byte of
   * every part inside guest RAM. Returns the reason, or undefined if the layout is valid.
   */
  checkLayout(mem: GuestMemory): string | undefined {
    const n = BigInt(this.size);
    const parts: [string, bigint, bigint, bigint][] = [
      ['descriptor table', this.descAddr, 16n, n * BigInt(DESC_SIZE)],
      ['available ring', this.driverAddr, 2n, BigInt(RING_HEADER) + 2n * n + 2n],
      ['used ring', this.deviceAddr, 4n, BigInt(RING_HEADER) + BigInt(USED_ELEM_SIZE) * n + 2n],
    ];
    for (const [what, addr, align, len] of parts) {
      if (addr % align !== 0n) return `${what} at 0x${addr.toString(16)} is not ${align}-byte aligned`;
      if (!inRam(mem, addr, len)) return `${what} at 0x${addr.toString(16)} (+0x${len.toString(16)}) is outside RAM`;
    }
    return undefined;
  }

  /** Stop the queue for a driver error (first reason wins). */
  fail(reason: string): void {
    this.error ??= reason;
  }

  /** True when the driver suppressed used-buffer notifications (§2.7.7, no EVENT_IDX). */
  notificationsSuppressed(mem: GuestMemory): boolean {
    return (read16(mem, this.driverAddr) & VIRTQ_AVAIL_F_NO_INTERRUPT) !== 0;
  }

  /**
   * Take the next available chain into `chain`. Returns false when there is none, or when the
   * queue is (or just became) broken: then `error` is set. The walk is bounded by `size`.
   */
  pop(mem: GuestMemory, chain: DescriptorChain): boolean {
    if (!this.ready || this.error !== undefined) return false;
    const size = this.size;
    const availIdx = read16(mem, this.driverAddr + 2n);
    const pending = (availIdx - this.nextAvail) & 0xffff;
    if (pending === 0) return false;
    // §2.7.13.3: the driver adds at most `size` buffers beyond what the device consumed.
    if (pending > size) {
      this.fail(`available idx ${availIdx} is ${pending} ahead of the device's ${this.nextAvail} (queue size ${size})`);
      return false;
    }
    const slot = this.nextAvail % size;
    const head = read16(mem, this.driverAddr + BigInt(RING_HEADER + 2 * slot));
    if (head >= size) {
      this.fail(`available ring entry ${slot} names descriptor ${head}, beyond queue size ${size}`);
      return false;
    }
    chain.head = head;
    chain.count = 0;
    chain.readableCount = 0;
    chain.readableBytes = 0;
    chain.writableBytes = 0;
    let index = head;
    for (;;) {
      // §2.7.5.3.1: a chain has at most `size` descriptors; more means it loops.
      if (chain.count === size) {
        this.fail(`descriptor chain from ${head} is longer than queue size ${size} (a loop)`);
        return false;
      }
      const d = this.descAddr + BigInt(index * DESC_SIZE);
      const addr = read64(mem, d);
      // len, flags and next in one 64-bit load (the table is 16-byte aligned).
      const tail = read64(mem, d + 8n);
      const len = Number(tail & 0xffff_ffffn);
      const flags = Number((tail >> 32n) & 0xffffn);
      const next = Number(tail >> 48n);
      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
        this.fail(`descriptor ${index} is INDIRECT, but VIRTIO_F_INDIRECT_DESC was not offered`);
        return false;
      }
      if (!inRam(mem, addr, BigInt(len))) {
        this.fail(`descriptor ${index} buffer 0x${addr.toString(16)} (+0x${len.toString(16)}) is outside RAM`);
        return false;
      }
      const i = chain.count++;
      chain.addr[i] = addr;
      chain.len[i] = len;
      if ((flags & VIRTQ_DESC_F_WRITE) !== 0) {
        chain.writableBytes += len;
      } else {
        // §2.7.4.2: device-readable descriptors come before device-writable ones.
        if (chain.readableCount !== i) {
          this.fail(`descriptor ${index} is device-readable but follows a device-writable one`);
          return false;
        }
        chain.readableCount++;
        chain.readableBytes += len;
      }
      if ((flags & VIRTQ_DESC_F_NEXT) === 0) break;
      if (next >= size) {
        this.fail(`descriptor ${index} has next ${next}, beyond queue size ${size}`);
        return false;
      }
      index = next;
    }
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    return true;
  }

  /**
   * Give back the chain the last pop() took without using it: it is taken again by the next
   * pop(). Sound because the driver may not change an available entry before it is used (§2.7.13).
   */
  unpop(): void {
    this.nextAvail = (this.nextAvail - 1) & 0xffff;
  }

  /**
   * Return chain `head` to the driver with `written` bytes written into its device-writable
   * buffers (§2.7.8): fill the used element, then publish it by advancing used.idx.
   */
  pushUsed(mem: GuestMemory, head: number, written: number): void {
    const slot = this.nextUsed % this.size;
    const elem = this.deviceAddr + BigInt(RING_HEADER + USED_ELEM_SIZE * slot);
    write32(mem, elem, head);
    write32(mem, elem + 4n, written);
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
    write16(mem, this.deviceAddr + 2n, this.nextUsed);
  }

  /** Plain-data state. */
  snapshot(): SplitQueueSnapshot {
    const s: SplitQueueSnapshot = {
      size: this.size, ready: this.ready,
      descAddr: this.descAddr.toString(), driverAddr: this.driverAddr.toString(), deviceAddr: this.deviceAddr.toString(),
      nextAvail: this.nextAvail, nextUsed: this.nextUsed,
    };
    if (this.error !== undefined) s.error = this.error;
    return s;
  }

  /** Restore what snapshot() returned. */
  restore(s: SplitQueueSnapshot): void {
    this.size = s.size;
    this.ready = s.ready;
    this.descAddr = BigInt(s.descAddr);
    this.driverAddr = BigInt(s.driverAddr);
    this.deviceAddr = BigInt(s.deviceAddr);
    this.nextAvail = s.nextAvail;
    this.nextUsed = s.nextUsed;
    this.error = s.error;
  }
}

/** True when [addr, addr + len) lies inside guest RAM (a zero-length buffer must start inside it). */
export function inRam(mem: GuestMemory, addr: bigint, len: bigint): boolean {
  const end = mem.base + BigInt(mem.size);
  return addr >= mem.base && addr < end && addr + len <= end;
}

// Little-endian ring accesses. Callers have checked the range (checkLayout, inRam).
function read16(mem: GuestMemory, addr: bigint): number {
  const b = mem.read(addr, 2);
  return b[0] | (b[1] << 8);
}
function read32(mem: GuestMemory, addr: bigint): number {
  const b = mem.read(addr, 4);
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}
function read64(mem: GuestMemory, addr: bigint): bigint {
  return mem.read64 ? mem.read64(addr) : BigInt(read32(mem, addr)) | (BigInt(read32(mem, addr + 4n)) << 32n);
}
const scratch16 = new Uint8Array(2);
const scratch32 = new Uint8Array(4);
function write16(mem: GuestMemory, addr: bigint, v: number): void {
  scratch16[0] = v;
  scratch16[1] = v >>> 8;
  mem.write(addr, scratch16);
}
function write32(mem: GuestMemory, addr: bigint, v: number): void {
  scratch32[0] = v;
  scratch32[1] = v >>> 8;
  scratch32[2] = v >>> 16;
  scratch32[3] = v >>> 24;
  mem.write(addr, scratch32);
}
