/**
 * The virtio network device (virtio 1.x §5.1) over a `NetBackend`, as QEMU's
 * `virtio-net-device` with only the features a simple NIC needs: VIRTIO_F_VERSION_1,
 * VIRTIO_NET_F_MAC (the address in config space) and VIRTIO_NET_F_STATUS (link always up, as
 * QEMU reports it whatever its backend does). No checksum or segmentation offload, no
 * mergeable receive buffers, no control queue: queue 0 is receiveq1, queue 1 transmitq1.
 *
 * Every packet is preceded by a struct virtio_net_hdr (§5.1.6):
 * ```
 *  +0 u8 flags  +1 u8 gso_type  +2 le16 hdr_len  +4 le16 gso_size
 *  +6 le16 csum_start  +8 le16 csum_offset  +10 le16 num_buffers
 * ```
 * 12 bytes when VIRTIO_F_VERSION_1 is negotiated (Linux's virtio_net then uses
 * virtio_net_hdr_mrg_rxbuf whether or not MRG_RXBUF is), 10 bytes for a driver without it
 * (§5.1.6.1, the legacy size; the transport accepts such drivers as QEMU does).
 *
 * Transmit: the header is the first bytes of the device-readable part and is ignored (no
 * offload was offered, so flags and gso_type must be 0, §5.1.6.2); the rest is the frame.
 * Receive: a frame waits in a bounded queue until the driver offers a buffer; it is written
 * after a zero header with num_buffers = 1 (§5.1.6.4: required without MRG_RXBUF). A frame
 * larger than the buffer offered is dropped and the buffer kept for the next one.
 */
import type { GuestMemory } from '../device';
import { VIRTIO_F_VERSION_1, type VirtioDevice } from './mmio';
import { DescriptorChain, type SplitQueue } from './queue';
import { readChain, writeChain } from './chain-io';
import { DEFAULT_MAC, type NetBackend } from './net-backend';
import { SnapshotError, type SectionReader, type SectionWriter } from '../../snapshot/format';
import { readConfigBytes } from './mmio';

/** Device ID of a network card (§5). */
export const VIRTIO_ID_NET = 1;
/** Feature: the device has a MAC address in config space. */
export const VIRTIO_NET_F_MAC = 1n << 5n;
/** Feature: config space has a status field (link up). */
export const VIRTIO_NET_F_STATUS = 1n << 16n;
/** Config status bit: the link is up. */
export const VIRTIO_NET_S_LINK_UP = 1;
/** Queue indices: receiveq1 and transmitq1 (§5.1.2). */
export const NET_RX_QUEUE = 0;
export const NET_TX_QUEUE = 1;
/** QueueNumMax of both queues (QEMU's virtio-net default rx/tx_queue_size). */
export const NET_QUEUE_SIZE = 256;
/** The header with VIRTIO_F_VERSION_1, and without it. */
export const NET_HDR_SIZE = 12;
export const NET_HDR_SIZE_LEGACY = 10;
/** Largest frame taken from a transmit chain (an Ethernet frame without GSO is 1518 bytes). */
export const NET_MAX_FRAME = 65535;
/** Frames waiting for a receive buffer before new ones are dropped. */
export const NET_RX_BACKLOG = 256;

/** Config space (§5.1.4): mac[6] at 0, le16 status at 6. */
const CONFIG_SIZE = 8;

/** Counters of one network device. */
export interface VirtioNetCounters {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames dropped because NET_RX_BACKLOG frames were already waiting. */
  rxDropped: number;
  /** Frames dropped because the receive buffer offered was too small. */
  rxTooLong: number;
}

/** A virtio network device. */
export class VirtioNet implements VirtioDevice {
  readonly name: string;
  readonly deviceId = VIRTIO_ID_NET;
  readonly deviceFeatures = VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS;
  readonly queueMaxSizes = [NET_QUEUE_SIZE, NET_QUEUE_SIZE];
  readonly counters: VirtioNetCounters = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, rxDropped: 0, rxTooLong: 0 };
  /** The MAC address in config space. */
  readonly mac: Uint8Array;

  private readonly config = new Uint8Array(CONFIG_SIZE);
  private hdrSize = NET_HDR_SIZE;
  private readonly chain = new DescriptorChain(NET_QUEUE_SIZE);
  /** Frames from the backend not yet in guest buffers, oldest first. */
  private backlog: Uint8Array[] = [];
  private kick: ((index: number) => void) | undefined;

  constructor(readonly backend: NetBackend, options: { mac?: Uint8Array; name?: string } = {}) {
    this.name = options.name ?? 'virtio-net';
    this.mac = (options.mac ?? DEFAULT_MAC).slice();
    this.config.set(this.mac, 0);
    this.config[6] = VIRTIO_NET_S_LINK_UP;
    backend.onReceive = (frame) => this.receive(frame);
  }

  attach(kick: (index: number) => void): void {
    this.kick = kick;
  }

  /** A frame from the backend: queue it and have the receive queue served. */
  receive(frame: Uint8Array): void {
    if (this.backlog.length >= NET_RX_BACKLOG) {
      this.counters.rxDropped++;
      return;
    }
    this.backlog.push(frame);
    this.kick?.(NET_RX_QUEUE);
  }

  /** Frames waiting for receive buffers. */
  get backlogFrames(): number {
    return this.backlog.length;
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(_offset: number, _size: number, _value: number): void {
    // mac is driver-writable only in legacy devices (§5.1.4.2: read-only here); status is read-only.
  }

  activate(features: bigint): void {
    this.hdrSize = (features & VIRTIO_F_VERSION_1) !== 0n ? NET_HDR_SIZE : NET_HDR_SIZE_LEGACY;
  }

  reset(): void {
    this.hdrSize = NET_HDR_SIZE;
    this.backlog = []; // frames for a driver that is gone (QEMU purges its queue on reset too)
  }

  processQueue(index: number, q: SplitQueue, mem: GuestMemory): boolean {
    return index === NET_TX_QUEUE ? this.transmit(q, mem) : index === NET_RX_QUEUE ? this.fillReceive(q, mem) : false;
  }

  /** Send every available transmit chain's frame to the backend (at most `size` chains a call). */
  private transmit(q: SplitQueue, mem: GuestMemory): boolean {
    let used = false;
    for (let n = 0; n < q.size && q.pop(mem, this.chain); n++) {
      const c = this.chain;
      const frame = readChain(c, mem, this.hdrSize, NET_MAX_FRAME);
      if (c.readableBytes > this.hdrSize) {
        this.counters.txFrames++;
        this.counters.txBytes += frame.length;
        this.backend.send(frame);
      }
      q.pushUsed(mem, c.head, 0); // §2.7.8: len is what the device wrote, nothing for transmit
      used = true;
    }
    return used;
  }

  /** Move waiting frames into available receive buffers, one buffer per frame. */
  private fillReceive(q: SplitQueue, mem: GuestMemory): boolean {
    let used = false;
    let holding = false; // a popped buffer that was too small for the frame before: reuse it
    const hdr = new Uint8Array(this.hdrSize);
    if (this.hdrSize === NET_HDR_SIZE) hdr[10] = 1; // num_buffers = 1 (le16)
    while (this.backlog.length > 0) {
      if (!holding && !q.pop(mem, this.chain)) break;
      holding = true;
      const frame = this.backlog.shift() as Uint8Array;
      const c = this.chain;
      if (c.writableBytes < this.hdrSize + frame.length) {
        this.counters.rxTooLong++;
        continue;
      }
      const packet = new Uint8Array(this.hdrSize + frame.length);
      packet.set(hdr, 0);
      packet.set(frame, this.hdrSize);
      q.pushUsed(mem, c.head, writeChain(c, mem, packet));
      holding = false;
      used = true;
      this.counters.rxFrames++;
      this.counters.rxBytes += frame.length;
    }
    if (holding) q.unpop(); // the buffer stays available for the next frame
    return used;
  }

  snapshot(): unknown {
    return { hdrSize: this.hdrSize, counters: { ...this.counters }, backlog: this.backlog.length };
  }

  /**
   * Snapshots and migration (docs/snapshot.md "virtio-net"): the MAC in config space, the
   * negotiated header size, the counters and the frames received but not yet in guest buffers
   * (QEMU's vmstate_virtio_net carries the MAC too). The backend is not saved: the restoring
   * process is given its own --net on its command line and the saved MAC wins over its mac=,
   * since the guest's driver read the MAC at probe and keeps using it.
   */
  saveState(w: SectionWriter): void {
    w.json({ hdrSize: this.hdrSize, counters: this.counters });
    w.bytes(this.mac);
    w.u32(this.backlog.length);
    for (const f of this.backlog) w.blob(f);
  }
  loadState(r: SectionReader): void {
    const s = r.json<{ hdrSize: number; counters: VirtioNetCounters }>();
    if (s.hdrSize !== NET_HDR_SIZE && s.hdrSize !== NET_HDR_SIZE_LEGACY) throw new SnapshotError(r.file, `section ${r.section}: virtio-net header size ${s.hdrSize}`);
    const mac = r.bytes(6);
    const n = r.u32();
    if (n > NET_RX_BACKLOG) throw new SnapshotError(r.file, `section ${r.section}: ${n} frames waiting, at most ${NET_RX_BACKLOG}`);
    const backlog: Uint8Array[] = [];
    for (let i = 0; i < n; i++) backlog.push(r.blob().slice());
    this.hdrSize = s.hdrSize;
    Object.assign(this.counters, s.counters);
    this.mac.set(mac);
    this.config.set(mac, 0);
    // Frames wait only while the driver offers no receive buffer: they go in at its next
    // QueueNotify of receiveq1, as on the saved side.
    this.backlog = backlog;
  }
}
