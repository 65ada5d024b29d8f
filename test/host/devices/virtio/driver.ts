/**
 * The driver side of a virtio-mmio device, for tests: guest RAM as a plain byte array, an IRQ
 * line that remembers its level, and a driver that negotiates, lays out one split queue and
 * builds descriptor chains field by field, so a test can start from a valid request and change
 * exactly one field.
 */
import type { GuestMemory, IrqLine } from '../../../../host/devices/device';
import * as M from '../../../../host/devices/virtio/mmio';

/** Guest RAM at 0x8000_0000; accesses outside it throw, as the machine's RAM does. */
export class TestMemory implements GuestMemory {
  readonly base = 0x8000_0000n;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(readonly size = 256 * 1024) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  off(addr: bigint, len: number): number {
    const o = addr - this.base;
    if (o < 0n || o + BigInt(len) > BigInt(this.size)) throw new RangeError(`outside RAM: 0x${addr.toString(16)}+${len}`);
    return Number(o);
  }
  write(addr: bigint, data: Uint8Array): void {
    this.bytes.set(data, this.off(addr, data.length));
  }
  read(addr: bigint, length: number): Uint8Array {
    const o = this.off(addr, length);
    return this.bytes.slice(o, o + length);
  }
  u8(addr: bigint): number { return this.bytes[this.off(addr, 1)]; }
  u16(addr: bigint): number { return this.view.getUint16(this.off(addr, 2), true); }
  u32(addr: bigint): number { return this.view.getUint32(this.off(addr, 4), true); }
  setU8(addr: bigint, v: number): void { this.bytes[this.off(addr, 1)] = v; }
  setU16(addr: bigint, v: number): void { this.view.setUint16(this.off(addr, 2), v, true); }
  setU32(addr: bigint, v: number): void { this.view.setUint32(this.off(addr, 4), v, true); }
  setU64(addr: bigint, v: bigint): void { this.view.setBigUint64(this.off(addr, 8), BigInt.asUintN(64, v), true); }
}

/** An interrupt line that records its level and how often it rose. */
export class TestIrq implements IrqLine {
  level = false;
  rises = 0;
  set(level: boolean): void {
    if (level && !this.level) this.rises++;
    this.level = level;
  }
}

/** One descriptor as the driver writes it. */
export interface Desc {
  addr: bigint;
  len: number;
  /** Device-writable. */
  write?: boolean;
  /** Raw flags to use instead of the computed NEXT/WRITE (for hostile tests). */
  flags?: number;
  /** Raw next index instead of the following descriptor. */
  next?: number;
}

/** Addresses of the test layout (queue 0). */
export const RAM = 0x8000_0000n;
export const DESC = RAM + 0x1000n;
export const AVAIL = RAM + 0x2000n;
export const USED = RAM + 0x3000n;
/** A free area for request buffers. */
export const DATA = RAM + 0x8000n;

/** Where one queue's rings are. */
export interface QueueLayout {
  desc: bigint;
  avail: bigint;
  used: bigint;
}

/** The rings of queue `index` for a device with several queues: 0 at DESC/AVAIL/USED, then 0x10000 apart. */
export function queueLayout(index: number): QueueLayout {
  const off = BigInt(index) * 0x10000n;
  return { desc: DESC + off, avail: AVAIL + off, used: USED + off };
}

/**
 * A virtio driver over a transport, with queue `queue` (default 0) of `qsize` entries at
 * `rings` (default DESC/AVAIL/USED). A device with several queues gets one Driver per queue.
 */
export class Driver {
  availIdx = 0;
  readonly rings: QueueLayout;
  constructor(readonly dev: M.VirtioMmio, readonly mem: TestMemory, readonly qsize = 8, readonly queue = 0) {
    this.rings = queueLayout(queue);
  }

  reg(off: number): number {
    return Number(this.dev.read(off, 4));
  }
  set(off: number, v: number): void {
    this.dev.write(off, 4, BigInt(v >>> 0));
  }

  /** Device features as a 64-bit value (two selector words). */
  deviceFeatures(): bigint {
    this.set(M.DEVICE_FEATURES_SEL, 0);
    const lo = BigInt(this.reg(M.DEVICE_FEATURES));
    this.set(M.DEVICE_FEATURES_SEL, 1);
    return lo | (BigInt(this.reg(M.DEVICE_FEATURES)) << 32n);
  }

  /** Write the 64-bit driver features. */
  driverFeatures(f: bigint): void {
    this.set(M.DRIVER_FEATURES_SEL, 0);
    this.set(M.DRIVER_FEATURES, Number(f & 0xffff_ffffn));
    this.set(M.DRIVER_FEATURES_SEL, 1);
    this.set(M.DRIVER_FEATURES, Number(f >> 32n));
  }

  /** ACKNOWLEDGE, DRIVER, features, FEATURES_OK (§3.1.1 steps 1-6). */
  negotiate(features: bigint): void {
    this.set(M.STATUS, 0);
    this.set(M.STATUS, M.STATUS_ACKNOWLEDGE);
    this.set(M.STATUS, M.STATUS_ACKNOWLEDGE | M.STATUS_DRIVER);
    this.driverFeatures(features);
    this.set(M.STATUS, M.STATUS_ACKNOWLEDGE | M.STATUS_DRIVER | M.STATUS_FEATURES_OK);
  }

  /** This driver's queue at its layout (§4.2.3.2). */
  setupQueue(layout: { desc?: bigint; avail?: bigint; used?: bigint; num?: number } = {}): void {
    this.set(M.QUEUE_SEL, this.queue);
    this.set(M.QUEUE_NUM, layout.num ?? this.qsize);
    const put = (lo: number, a: bigint) => {
      this.set(lo, Number(a & 0xffff_ffffn));
      this.set(lo + 4, Number(a >> 32n));
    };
    put(M.QUEUE_DESC_LOW, layout.desc ?? this.rings.desc);
    put(M.QUEUE_DRIVER_LOW, layout.avail ?? this.rings.avail);
    put(M.QUEUE_DEVICE_LOW, layout.used ?? this.rings.used);
    this.set(M.QUEUE_READY, 1);
  }

  /** Full initialisation up to DRIVER_OK. */
  init(features: bigint = this.deviceFeatures()): void {
    this.negotiate(features);
    this.setupQueue();
    this.set(M.STATUS, this.reg(M.STATUS) | M.STATUS_DRIVER_OK);
  }

  /** Write descriptor `i`. */
  writeDesc(i: number, addr: bigint, len: number, flags: number, next: number): void {
    const d = this.rings.desc + BigInt(16 * i);
    this.mem.setU64(d, addr);
    this.mem.setU32(d + 8n, len);
    this.mem.setU16(d + 12n, flags);
    this.mem.setU16(d + 14n, next);
  }

  /** Write `descs` as descriptors first, first+1, ... chained in that order. Returns the head. */
  chain(descs: Desc[], first = 0): number {
    descs.forEach((d, k) => {
      const last = k === descs.length - 1;
      const flags = d.flags ?? ((last ? 0 : 1) | (d.write ? 2 : 0));
      this.writeDesc(first + k, d.addr, d.len, flags, d.next ?? (last ? 0 : first + k + 1));
    });
    return first;
  }

  /** Put `head` in the available ring and publish it (avail.idx++). */
  offer(head: number): void {
    this.mem.setU16(this.rings.avail + BigInt(4 + 2 * (this.availIdx % this.qsize)), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.setU16(this.rings.avail + 2n, this.availIdx);
  }

  notify(queue = this.queue): void {
    this.set(M.QUEUE_NOTIFY, queue);
  }

  usedIdx(): number {
    return this.mem.u16(this.rings.used + 2n);
  }

  /** Used element `slot`: the chain head and the bytes written. */
  used(slot: number): { id: number; len: number } {
    const e = this.rings.used + BigInt(4 + 8 * (slot % this.qsize));
    return { id: this.mem.u32(e), len: this.mem.u32(e + 4n) };
  }
}
