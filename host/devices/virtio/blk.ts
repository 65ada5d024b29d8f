/**
 * The virtio block device (virtio 1.x §5.2) over a `BlockBackend`, as QEMU's
 * `virtio-blk-device` presents it: one request queue (QueueNumMax 1024), features
 * VIRTIO_F_VERSION_1, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_FLUSH and, for a read-only disk,
 * VIRTIO_BLK_F_RO.
 *
 * A request (§5.2.6) is one descriptor chain:
 * ```
 *  device-readable                                   device-writable
 *  +0 le32 type  +4 le32 reserved  +8 le64 sector  | data[] (IN, GET_ID) ... | u8 status
 *  data[] (OUT) follows the 16-byte header here   |
 * ```
 * The layout of the bytes over descriptors is free (VIRTIO_F_VERSION_1 implies any layout,
 * §2.7.4.4): the header is the first 16 readable bytes, the status the last writable byte.
 *
 * Rules, in order (each failure named where it is checked):
 * - no writable byte for the status: the request cannot be answered, the queue breaks
 *   (DEVICE_NEEDS_RESET, as QEMU does);
 * - header shorter than 16 bytes, data in the wrong direction (IN with readable data, OUT with
 *   writable data besides the status), data not a whole number of sectors, sectors past the
 *   capacity, OUT on a read-only disk (§5.2.6.2), a backend error: status IOERR;
 * - an unknown type: status UNSUPP.
 * Writes are acknowledged only after `backend.write` returned; without a negotiated FLUSH the
 * device is write-through (each OUT is flushed before it completes, §5.2.5.2).
 */
import type { GuestMemory } from '../device';
import { VIRTIO_F_VERSION_1, type VirtioDevice } from './mmio';
import type { BlockBackend } from './backend';
import { DescriptorChain, type SplitQueue } from './queue';
import type { SectionReader, SectionWriter } from '../../snapshot/format';
import { readConfigBytes } from './mmio';

/** Device ID of a block device (§5). */
export const VIRTIO_ID_BLOCK = 2;
/** Feature: seg_max in config says how many data segments a request may have. */
export const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
/** Feature: the disk is read-only. */
export const VIRTIO_BLK_F_RO = 1n << 5n;
/** Feature: VIRTIO_BLK_T_FLUSH is supported (a volatile write cache exists). */
export const VIRTIO_BLK_F_FLUSH = 1n << 9n;

/** Request types (§5.2.6). */
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;

/** Request status values (§5.2.6). */
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

/** The unit of `sector` and `capacity`, whatever the backend's block size (§5.2.6.2). */
export const SECTOR_SIZE = 512;
/** Length of the GET_ID device ID string. */
export const VIRTIO_BLK_ID_BYTES = 20;
/**
 * QueueNumMax of the request queue: QEMU's virtio-mmio reports VIRTQUEUE_MAX_SIZE (1024) for
 * every queue, whatever the device's own queue-size.
 */
export const BLK_QUEUE_SIZE = 1024;
/** seg_max in config: QEMU's default queue-size (256) minus the header and status descriptors. */
export const BLK_SEG_MAX = 256 - 2;

/** Config space layout (§5.2.4): capacity at 0x00 (le64), seg_max at 0x0c (le32). */
const CFG_CAPACITY = 0x00;
const CFG_SEG_MAX = 0x0c;
/** Bytes of struct virtio_blk_config up to the write-zeroes fields (what QEMU 7.2 exposes). */
const CONFIG_SIZE = 0x3c;
/** The request header: type, reserved, sector. */
const HEADER_SIZE = 16;
/** Largest piece copied between the backend and guest RAM at once. */
const CHUNK = 64 * 1024;

/**
 * Most data bytes one processQueue call moves (then it returns and the transport calls again
 * later): at memory speed a few milliseconds of host time.
 */
export const BLK_BATCH_BYTES = 8 << 20;
/** What a request costs against BLK_BATCH_BYTES besides its data (so empty requests are bounded too). */
export const BLK_REQUEST_COST = 4096;

/** The data movement of an IN or OUT request in flight. */
interface Transfer {
  toDisk: boolean;
  diskOffset: number;
  length: number;
  /** Data bytes moved so far. */
  done: number;
}

/** Counters of one block device, for statistics and benchmarks. */
export interface VirtioBlkCounters {
  requests: number;
  reads: number;
  writes: number;
  flushes: number;
  bytesRead: number;
  bytesWritten: number;
  /** Requests completed with IOERR or UNSUPP. */
  errors: number;
}

/** Plain-data state of the block device model. */
export interface VirtioBlkSnapshot {
  flushNegotiated: boolean;
  counters: VirtioBlkCounters;
}

/** A virtio block device. */
export class VirtioBlk implements VirtioDevice {
  readonly name: string;
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly deviceFeatures: bigint;
  readonly queueMaxSizes = [BLK_QUEUE_SIZE];
  /** Disk size in 512-byte sectors (a partial last sector is not exposed). */
  readonly capacity: number;
  readonly counters: VirtioBlkCounters = { requests: 0, reads: 0, writes: 0, flushes: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };

  private readonly config = new Uint8Array(CONFIG_SIZE);
  private readonly id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
  private readonly idLength: number;
  private flushNegotiated = false;
  // Reused for every request: no allocation per request beyond GuestMemory's copies.
  private readonly chain = new DescriptorChain(BLK_QUEUE_SIZE);
  private readonly header = new Uint8Array(HEADER_SIZE);
  private readonly headerView = new DataView(this.header.buffer);
  private readonly chunk = new Uint8Array(CHUNK);
  private readonly statusByte = new Uint8Array(1);
  /** The request being served (its chain is `chain`), with where its status goes and its used length. */
  private inflight: Transfer | undefined;
  private statusAddr = 0n;
  private written = 0;

  /**
   * A block device over `backend`. `serial` (ASCII, at most 20 bytes used) is the GET_ID string;
   * QEMU's default is empty.
   */
  constructor(readonly backend: BlockBackend, options: { serial?: string; name?: string } = {}) {
    this.name = options.name ?? 'virtio-blk';
    this.capacity = Math.floor(backend.size / SECTOR_SIZE);
    this.deviceFeatures = VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_FLUSH | (backend.readOnly ? VIRTIO_BLK_F_RO : 0n);
    const cfg = new DataView(this.config.buffer);
    cfg.setBigUint64(CFG_CAPACITY, BigInt(this.capacity), true);
    cfg.setUint32(CFG_SEG_MAX, BLK_SEG_MAX, true);
    const serial = options.serial ?? '';
    // Like QEMU: NUL-terminated only when shorter than the 20 bytes.
    const n = Math.min(serial.length, VIRTIO_BLK_ID_BYTES);
    for (let i = 0; i < n; i++) this.id[i] = serial.charCodeAt(i) & 0xff;
    this.idLength = Math.min(n + 1, VIRTIO_BLK_ID_BYTES);
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(_offset: number, _size: number, _value: number): void {
    // Every field we expose is read-only (writeback needs VIRTIO_BLK_F_CONFIG_WCE, not offered).
  }

  activate(features: bigint): void {
    this.flushNegotiated = (features & VIRTIO_BLK_F_FLUSH) !== 0n;
  }

  reset(): void {
    this.flushNegotiated = false;
    this.inflight = undefined; // a reset drops requests in flight (§2.1: the driver resubmits)
  }

  /**
   * Serve available requests until the queue is empty or this call has moved BLK_BATCH_BYTES
   * (a request costs its data bytes plus BLK_REQUEST_COST). A request larger than what is left
   * of the budget is served in part and stays in flight: its used element is pushed only when
   * all its data has moved, on a later call (the transport calls again while `pending()`; the
   * device may use buffers at any time, virtio 1.x §2.7.13, and need not use them in one go).
   * So one QueueNotify never holds the host for more than one batch, whatever the guest queued.
   */
  processQueue(_index: number, q: SplitQueue, mem: GuestMemory): boolean {
    let used = false;
    let budget = BLK_BATCH_BYTES;
    if (this.inflight !== undefined) {
      budget -= this.advance(mem, budget);
      if (this.inflight !== undefined) return false;
      this.complete(q, mem);
      used = true;
    }
    // Bounded: each pop consumes one of at most `size` pending entries, and costs budget.
    for (let n = 0; n < q.size && budget > 0 && q.pop(mem, this.chain); n++) {
      const c = this.chain;
      const statusAddr = lastWritableByte(c);
      if (statusAddr === undefined) {
        q.fail(`virtio-blk request at descriptor ${c.head} has no device-writable status byte`);
        break;
      }
      this.counters.requests++;
      this.statusAddr = statusAddr;
      this.written = this.serve(c, mem);
      budget -= BLK_REQUEST_COST;
      if (this.inflight !== undefined) {
        budget -= this.advance(mem, Math.max(budget, 0));
        if (this.inflight !== undefined) break; // out of budget in the middle of this request
      }
      this.complete(q, mem);
      used = true;
    }
    return used;
  }

  /** Whether a request is still in flight (processQueue stopped at its budget). */
  pending(_index: number): boolean {
    return this.inflight !== undefined;
  }

  /** Answer the current request: its status byte, then its used element. */
  private complete(q: SplitQueue, mem: GuestMemory): void {
    if (this.statusByte[0] !== VIRTIO_BLK_S_OK) this.counters.errors++;
    mem.write(this.statusAddr, this.statusByte);
    q.pushUsed(mem, this.chain.head, this.written + 1);
  }

  /**
   * Move up to `budget` more data bytes of the request in flight; when its last byte has moved,
   * finish it (status OK, or IOERR after a backend error) and clear `inflight`. Returns the bytes
   * moved.
   */
  private advance(mem: GuestMemory, budget: number): number {
    const t = this.inflight as Transfer;
    const n = Math.min(t.length - t.done, budget);
    try {
      this.transfer(this.chain, mem, t.toDisk, t.diskOffset + t.done, t.done, n);
      t.done += n;
      if (t.done < t.length) return n;
      if (t.toDisk) {
        if (!this.flushNegotiated) this.backend.flush();
        this.counters.writes++;
        this.counters.bytesWritten += t.length;
        this.written = 0;
      } else {
        this.counters.reads++;
        this.counters.bytesRead += t.length;
        this.written = t.length;
      }
      this.statusByte[0] = VIRTIO_BLK_S_OK;
    } catch {
      // A backend I/O error (or a closed image) fails this request only.
      this.statusByte[0] = VIRTIO_BLK_S_IOERR;
      this.written = 0;
    }
    this.inflight = undefined;
    return n;
  }

  /**
   * Start one request: sets statusByte and returns the data bytes written to the guest, or, for
   * IN and OUT, checks it and leaves it in `inflight` for advance() to move its data.
   */
  private serve(c: DescriptorChain, mem: GuestMemory): number {
    const status = this.statusByte;
    status[0] = VIRTIO_BLK_S_IOERR;
    if (c.readableBytes < HEADER_SIZE) return 0;
    this.gather(c, mem, 0, this.header);
    const type = this.headerView.getUint32(0, true);
    const sector = this.headerView.getBigUint64(8, true);
    try {
      switch (type) {
        case VIRTIO_BLK_T_IN: {
          const length = c.writableBytes - 1;
          if (c.readableBytes !== HEADER_SIZE || !this.inRange(sector, length)) return 0;
          this.inflight = { toDisk: false, diskOffset: Number(sector) * SECTOR_SIZE, length, done: 0 };
          return 0;
        }
        case VIRTIO_BLK_T_OUT: {
          const length = c.readableBytes - HEADER_SIZE;
          if (c.writableBytes !== 1 || this.backend.readOnly || !this.inRange(sector, length)) return 0;
          this.inflight = { toDisk: true, diskOffset: Number(sector) * SECTOR_SIZE, length, done: 0 };
          return 0;
        }
        case VIRTIO_BLK_T_FLUSH:
          this.backend.flush();
          this.counters.flushes++;
          status[0] = VIRTIO_BLK_S_OK;
          return 0;
        case VIRTIO_BLK_T_GET_ID: {
          const n = Math.min(this.idLength, c.writableBytes - 1);
          this.scatterFromBuffer(c, mem, this.id, n);
          status[0] = VIRTIO_BLK_S_OK;
          return n;
        }
        default:
          status[0] = VIRTIO_BLK_S_UNSUPP;
          return 0;
      }
    } catch {
      // A backend I/O error (or a closed image) fails this request only.
      status[0] = VIRTIO_BLK_S_IOERR;
      return 0;
    }
  }

  /** Whole sectors, all below capacity (§5.2.6.2). */
  private inRange(sector: bigint, length: number): boolean {
    if (length % SECTOR_SIZE !== 0 || sector > BigInt(this.capacity)) return false;
    return Number(sector) + length / SECTOR_SIZE <= this.capacity;
  }

  /** Copy the readable bytes [skip, skip + dst.length) of the chain into `dst`. */
  private gather(c: DescriptorChain, mem: GuestMemory, skip: number, dst: Uint8Array): void {
    eachRun(c, 0, c.readableCount, skip, dst.length, (addr, n, pos) => dst.set(mem.read(addr, n), pos));
  }

  /** Write the first `n` bytes of `src` to the chain's writable part. */
  private scatterFromBuffer(c: DescriptorChain, mem: GuestMemory, src: Uint8Array, n: number): void {
    eachRun(c, c.readableCount, c.count, 0, n, (addr, k, pos) => mem.write(addr, src.subarray(pos, pos + k)));
  }

  /**
   * Move `length` data bytes between the disk at `diskOffset` and the chain, starting `skip`
   * bytes into the request's data: for OUT (`toDisk`) the readable bytes after the header, for
   * IN the writable bytes before the status. At most CHUNK bytes are copied at once.
   */
  private transfer(c: DescriptorChain, mem: GuestMemory, toDisk: boolean, diskOffset: number, skip: number, length: number): void {
    const first = toDisk ? 0 : c.readableCount;
    const end = toDisk ? c.readableCount : c.count;
    eachRun(c, first, end, (toDisk ? HEADER_SIZE : 0) + skip, length, (addr, len, done) => {
      for (let at = 0; at < len; at += CHUNK) {
        const n = Math.min(len - at, CHUNK);
        const a = addr + BigInt(at);
        if (toDisk) {
          this.backend.write(diskOffset + done + at, mem.read(a, n));
        } else {
          const buf = n === CHUNK ? this.chunk : this.chunk.subarray(0, n);
          this.backend.read(diskOffset + done + at, buf);
          mem.write(a, buf);
        }
      }
    });
  }

  snapshot(): VirtioBlkSnapshot {
    return { flushNegotiated: this.flushNegotiated, counters: { ...this.counters } };
  }

  /**
   * Snapshots (host/snapshot): the negotiated state and counters. The transport quiesces first
   * (VirtioMmio.quiesceState), so no request is in flight; the disk's contents are the backend's
   * (the same image file must be given to the restore, as with QEMU's shared storage).
   */
  saveState(w: SectionWriter): void {
    if (this.inflight !== undefined) throw new Error(`${this.name}: saveState with a request in flight`);
    w.json(this.snapshot());
  }
  loadState(r: SectionReader): void {
    this.restore(r.json<VirtioBlkSnapshot>());
  }

  /** Restore what snapshot() returned. */
  restore(s: VirtioBlkSnapshot): void {
    this.flushNegotiated = s.flushNegotiated;
    Object.assign(this.counters, s.counters);
  }
}

/** Guest address of the last byte of the chain's writable part, or undefined if it has none. */
function lastWritableByte(c: DescriptorChain): bigint | undefined {
  for (let i = c.count - 1; i >= c.readableCount; i--) {
    if (c.len[i] > 0) return c.addr[i] + BigInt(c.len[i] - 1);
  }
  return undefined;
}

/**
 * Call `f(addr, n, pos)` for each run of guest memory that holds bytes [skip, skip + limit) of
 * descriptors first..end-1 of the chain taken as one buffer, in order; `pos` counts the bytes
 * of the runs before (so it is where the run starts in [0, limit)).
 */
function eachRun(c: DescriptorChain, first: number, end: number, skip: number, limit: number, f: (addr: bigint, n: number, pos: number) => void): void {
  let pos = 0;
  for (let i = first; i < end && pos < limit; i++) {
    const len = c.len[i];
    if (skip >= len) {
      skip -= len;
      continue;
    }
    const n = Math.min(len - skip, limit - pos);
    f(skip === 0 ? c.addr[i] : c.addr[i] + BigInt(skip), n, pos);
    pos += n;
    skip = 0;
  }
}
