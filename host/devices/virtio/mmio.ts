/**
 * The virtio-mmio transport, virtio 1.x "modern" only (§4.2.2, register layout Version 2), as
 * QEMU's `virt` board offers it with `virtio-mmio.force-legacy=false`. It owns the device
 * status, feature negotiation, the virtqueues and the interrupt status; a `VirtioDevice` (the
 * block device, later network, console, entropy) behind it sees only its config space, the
 * negotiated features and the queues it is told to serve (Firecracker's `virtio/mmio.rs` split).
 *
 * ```
 *  0x000 MagicValue        R  "virt"          0x044 QueueReady        RW
 *  0x004 Version           R  2               0x050 QueueNotify        W  queue index
 *  0x008 DeviceID          R                  0x060 InterruptStatus   R  bit0 used buffer, bit1 config
 *  0x00c VendorID          R  "QEMU"          0x064 InterruptACK       W
 *  0x010 DeviceFeatures    R  32 bits of      0x070 Status            RW  §2.1
 *  0x014 DeviceFeaturesSel W  ... this word   0x080/084 QueueDescLow/High      W
 *  0x020 DriverFeatures    W                  0x090/094 QueueDriverLow/High    W
 *  0x024 DriverFeaturesSel W                  0x0a0/0a4 QueueDeviceLow/High    W
 *  0x030 QueueSel          W                  0x0ac SHMSel, 0x0b0.. SHMLen/SHMBase (no regions)
 *  0x034 QueueNumMax       R                  0x0fc ConfigGeneration  R
 *  0x038 QueueNum          W                  0x100+ device configuration space
 * ```
 *
 * Registers below 0x100 are 32-bit (§4.2.2.2); a narrower or wider read sees the bytes of the
 * word, a write of another width is ignored. Guest data is validated here rule by rule: status
 * transitions (§3.1.1), the feature subset (§2.2.1), queue sizes and ring placement (§2.7);
 * violations are ignored or end in DEVICE_NEEDS_RESET, never in a host exception.
 */
import type { GuestMemory, IrqLine, MmioDevice } from '../device';
import { SplitQueue, type SplitQueueSnapshot } from './queue';
import type { SectionReader, SectionWriter } from '../../snapshot/format';
import { isSnapshotable, type Snapshotable } from '../../snapshot/snapshotable';

/** Register offsets (§4.2.2, table "MMIO Device Register Layout"). */
export const MAGIC_VALUE = 0x000;
export const VERSION = 0x004;
export const DEVICE_ID = 0x008;
export const VENDOR_ID = 0x00c;
export const DEVICE_FEATURES = 0x010;
export const DEVICE_FEATURES_SEL = 0x014;
export const DRIVER_FEATURES = 0x020;
export const DRIVER_FEATURES_SEL = 0x024;
export const QUEUE_SEL = 0x030;
export const QUEUE_NUM_MAX = 0x034;
export const QUEUE_NUM = 0x038;
export const QUEUE_READY = 0x044;
export const QUEUE_NOTIFY = 0x050;
export const INTERRUPT_STATUS = 0x060;
export const INTERRUPT_ACK = 0x064;
export const STATUS = 0x070;
export const QUEUE_DESC_LOW = 0x080;
export const QUEUE_DESC_HIGH = 0x084;
export const QUEUE_DRIVER_LOW = 0x090;
export const QUEUE_DRIVER_HIGH = 0x094;
export const QUEUE_DEVICE_LOW = 0x0a0;
export const QUEUE_DEVICE_HIGH = 0x0a4;
export const SHM_SEL = 0x0ac;
export const SHM_LEN_LOW = 0x0b0;
export const SHM_LEN_HIGH = 0x0b4;
export const SHM_BASE_LOW = 0x0b8;
export const SHM_BASE_HIGH = 0x0bc;
export const CONFIG_GENERATION = 0x0fc;
/** Start of the device-specific configuration space. */
export const CONFIG = 0x100;

/** "virt" in little-endian. */
export const MAGIC = 0x74726976;
/** "QEMU" in little-endian, QEMU's VendorID for its virtio-mmio devices. */
export const VENDOR_QEMU = 0x554d4551;

/** Device status bits (§2.1). */
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

/** InterruptStatus bits (§4.2.2): a used buffer, a configuration change. */
export const INT_VRING = 1;
export const INT_CONFIG = 2;

/** Reserved feature bit 32: the device conforms to virtio 1.x (§6). Required of the driver here. */
export const VIRTIO_F_VERSION_1 = 1n << 32n;

/** What a device behind the transport provides (Firecracker's `VirtioDevice` trait). */
export interface VirtioDevice {
  /** Short name for traces and errors ("virtio-blk"). */
  readonly name: string;
  /** Virtio device ID (§5: 2 = block). */
  readonly deviceId: number;
  /** The features the device offers, VIRTIO_F_VERSION_1 included (64 bits). */
  readonly deviceFeatures: bigint;
  /** QueueNumMax of each of its virtqueues; the length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Read `size` bytes of config space at `offset`, little-endian; past the end reads 0. */
  readConfig(offset: number, size: number): number;
  /** A driver write to config space (most fields are read-only: ignore those). */
  writeConfig(offset: number, size: number, value: number): void;
  /** DRIVER_OK: the driver accepted `features` and set up its queues. */
  activate(features: bigint): void;
  /**
   * The driver notified queue `index`: serve what is available through `queue.pop`/`pushUsed`.
   * Returns true when at least one buffer was used. A malformed chain ends in `queue.fail`.
   */
  processQueue(index: number, queue: SplitQueue, mem: GuestMemory): boolean;
  /**
   * Whether processQueue stopped at its work bound with work left on queue `index`; the
   * transport then calls processQueue again after the host's event loop has had a turn.
   */
  pending?(index: number): boolean;
  /**
   * Called once by the transport with `kick`: a device with input of its own (a frame from the
   * network, typed console input) calls it to have queue `index` served outside a QueueNotify;
   * the transport does so only while the queue is live (§2.7.13: the device may use buffers at
   * any time), and signals what was used as for a notify.
   */
  attach?(kick: (index: number) => void): void;
  /** Device reset (status 0): forget the negotiated state. */
  reset(): void;
  /** Plain-data state of the device model (not of the transport). */
  snapshot(): unknown;
}

/** Plain-data state of the transport (for snapshots and migration). */
export interface VirtioMmioSnapshot {
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  driverFeatures: string;
  queueSel: number;
  interruptStatus: number;
  queues: SplitQueueSnapshot[];
  device: unknown;
}

/** Counters of one transport, for statistics and benchmarks. */
export interface VirtioMmioCounters {
  /** Register reads and writes (each one a guest MMIO exit). */
  registerAccesses: number;
  /** QueueNotify writes that reached a live queue. */
  notifies: number;
  /** Used-buffer interrupts raised. */
  interrupts: number;
}

/** A virtio-mmio slot with a device behind it. */
export class VirtioMmio implements MmioDevice {
  readonly name: string;
  /** The virtqueues, indexed as QueueSel selects them. */
  readonly queues: SplitQueue[];
  readonly counters: VirtioMmioCounters = { registerAccesses: 0, notifies: 0, interrupts: 0 };
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private queueSel = 0;
  private interruptStatus = 0;

  /** Queues whose left-over work is scheduled (VirtioDevice.pending). */
  private readonly scheduled = new Set<number>();
  /** Bumped by reset(): continuations scheduled before it do nothing. */
  private generation = 0;

  /**
   * @param defer runs a continuation of a device's bounded work after the host's event loop has
   *   had a turn (default: setImmediate, a 0 ms timer where there is none), so timers, input,
   *   --timeout and Ctrl-A X are served between two batches of one QueueNotify.
   */
  constructor(
    readonly device: VirtioDevice,
    private readonly mem: GuestMemory,
    private readonly irq: IrqLine,
    name?: string,
    private readonly defer: (f: () => void) => void = deferToHost,
  ) {
    this.name = name ?? device.name;
    this.queues = device.queueMaxSizes.map((max) => new SplitQueue(max));
    device.attach?.((index) => this.kick(index));
  }

  /**
   * Called after the device served a queue on its own (VirtioDevice.attach), e.g. to wake a
   * halted hart that the interrupt is for. Set by the board.
   */
  onDeviceEvent: (() => void) | undefined;

  /** The device has input for queue `index`: serve it now if the queue is live (no notify counted). */
  kick(index: number): void {
    const q = this.queues[index];
    if (q === undefined || !q.ready || q.error !== undefined) return;
    if ((this.status & STATUS_DRIVER_OK) === 0 || (this.status & STATUS_DEVICE_NEEDS_RESET) !== 0) return;
    this.serve(index, q);
    this.onDeviceEvent?.();
  }

  /** The queue QueueSel names, or undefined past the last one. */
  private get selected(): SplitQueue | undefined {
    return this.queues[this.queueSel];
  }

  read(offset: number, size: number): bigint {
    this.counters.registerAccesses++;
    if (offset >= CONFIG) {
      if (size === 8) {
        const lo = this.device.readConfig(offset - CONFIG, 4);
        const hi = this.device.readConfig(offset - CONFIG + 4, 4);
        return BigInt(lo >>> 0) | (BigInt(hi >>> 0) << 32n);
      }
      return BigInt(this.device.readConfig(offset - CONFIG, size) >>> 0);
    }
    const word = BigInt(this.readRegister(offset & ~3) >>> 0);
    const bits = BigInt(Math.min(size, 4) * 8);
    return (word >> BigInt((offset & 3) * 8)) & ((1n << bits) - 1n);
  }

  write(offset: number, size: number, value: bigint): void {
    this.counters.registerAccesses++;
    if (offset >= CONFIG) {
      if (size <= 4) this.device.writeConfig(offset - CONFIG, size, Number(value & 0xffff_ffffn));
      return;
    }
    if (size !== 4 || (offset & 3) !== 0) return; // §4.2.2.2: 32-bit aligned accesses only
    this.writeRegister(offset, Number(value & 0xffff_ffffn));
  }

  private readRegister(offset: number): number {
    const q = this.selected;
    switch (offset) {
      case MAGIC_VALUE: return MAGIC;
      case VERSION: return 2;
      case DEVICE_ID: return this.device.deviceId;
      case VENDOR_ID: return VENDOR_QEMU;
      case DEVICE_FEATURES:
        // Words past the second are all zero (no feature bits above 63).
        return this.deviceFeaturesSel > 1 ? 0 : Number((this.device.deviceFeatures >> BigInt(32 * this.deviceFeaturesSel)) & 0xffff_ffffn);
      case QUEUE_NUM_MAX: return q ? q.maxSize : 0; // 0: the queue is not available
      case QUEUE_READY: return q?.ready ? 1 : 0;
      case INTERRUPT_STATUS: return this.interruptStatus;
      case STATUS: return this.status;
      // §4.2.2: no shared memory regions; a non-existent region has length -1.
      case SHM_LEN_LOW: case SHM_LEN_HIGH: case SHM_BASE_LOW: case SHM_BASE_HIGH: return 0xffff_ffff;
      case CONFIG_GENERATION: return 0; // the config space never changes
      default: return 0; // write-only and reserved registers
    }
  }

  private writeRegister(offset: number, v: number): void {
    const q = this.selected;
    // Queue registers may only change while the selected queue is not live (§4.2.2.3).
    const queueWritable = q !== undefined && !q.ready;
    switch (offset) {
      case DEVICE_FEATURES_SEL: this.deviceFeaturesSel = v; break;
      case DRIVER_FEATURES_SEL: this.driverFeaturesSel = v; break;
      case DRIVER_FEATURES:
        // Features are fixed once FEATURES_OK is set (§3.1.1), and only words 0 and 1 exist.
        if (this.status !== (STATUS_ACKNOWLEDGE | STATUS_DRIVER) || this.driverFeaturesSel > 1) break;
        {
          const shift = BigInt(32 * this.driverFeaturesSel);
          this.driverFeatures = (this.driverFeatures & ~(0xffff_ffffn << shift)) | (BigInt(v) << shift);
        }
        break;
      case QUEUE_SEL: this.queueSel = v; break;
      case QUEUE_NUM: if (queueWritable) q.setSize(v); break;
      case QUEUE_DESC_LOW: if (queueWritable) q.descAddr = low(q.descAddr, v); break;
      case QUEUE_DESC_HIGH: if (queueWritable) q.descAddr = high(q.descAddr, v); break;
      case QUEUE_DRIVER_LOW: if (queueWritable) q.driverAddr = low(q.driverAddr, v); break;
      case QUEUE_DRIVER_HIGH: if (queueWritable) q.driverAddr = high(q.driverAddr, v); break;
      case QUEUE_DEVICE_LOW: if (queueWritable) q.deviceAddr = low(q.deviceAddr, v); break;
      case QUEUE_DEVICE_HIGH: if (queueWritable) q.deviceAddr = high(q.deviceAddr, v); break;
      case QUEUE_READY: this.setQueueReady(q, v); break;
      case QUEUE_NOTIFY: this.notify(v); break;
      case INTERRUPT_ACK:
        this.interruptStatus &= ~v;
        this.updateIrq();
        break;
      case STATUS: this.setStatus(v); break;
      default: break; // read-only and reserved registers
    }
  }

  /**
   * QueueReady 1 makes the selected queue live once features are negotiated and the rings sit
   * aligned inside RAM; a bad layout is a driver error (DEVICE_NEEDS_RESET). QueueReady 0 takes
   * it down again.
   */
  private setQueueReady(q: SplitQueue | undefined, v: number): void {
    if (q === undefined) return;
    if (v === 0) {
      q.ready = false;
      return;
    }
    if (v !== 1 || q.ready || (this.status & STATUS_FEATURES_OK) === 0 || (this.status & STATUS_FAILED) !== 0) return;
    const bad = q.checkLayout(this.mem);
    if (bad !== undefined) {
      q.fail(bad);
      this.needsReset();
      return;
    }
    q.ready = true;
  }

  /**
   * The Status register (§2.1, §3.1.1). 0 resets the device. Otherwise the driver may only add
   * bits in the order of §3.1.1 (ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK) or add FAILED;
   * other writes are ignored. FEATURES_OK is kept only for a subset of the offered features;
   * as QEMU's virtio-mmio, a subset without VIRTIO_F_VERSION_1 is accepted too (drivers that
   * write only feature word 0 exist: docs/board.md). DEVICE_NEEDS_RESET is the device's to set.
   */
  private setStatus(v: number): void {
    if (v === 0) {
      this.reset();
      return;
    }
    const cur = this.status & ~STATUS_DEVICE_NEEDS_RESET;
    const want = v & ~STATUS_DEVICE_NEEDS_RESET & 0xff;
    const keep = this.status & STATUS_DEVICE_NEEDS_RESET;
    if (want === cur) return;
    if ((want & cur) !== cur) return; // a driver never clears a bit (§2.1.1)
    const added = want & ~cur;
    if ((added & STATUS_FAILED) !== 0) {
      this.status = cur | STATUS_FAILED | keep; // the driver gave up (§2.1); nothing else changes
      return;
    }
    const A = STATUS_ACKNOWLEDGE, D = STATUS_DRIVER, F = STATUS_FEATURES_OK, OK = STATUS_DRIVER_OK;
    if ((cur & STATUS_FAILED) !== 0) return;
    if (cur === 0 && added === A) this.status = A;
    else if (cur === A && added === D) this.status = A | D;
    else if (cur === (A | D) && added === F) {
      if (this.featuresAcceptable()) this.status = A | D | F | keep;
    } else if (cur === (A | D | F) && added === OK) {
      this.status = A | D | F | OK | keep;
      this.device.activate(this.driverFeatures);
    }
  }

  /**
   * §2.2.1: the driver accepted only offered features. §6.1 lets a modern-only device refuse a
   * driver that did not accept VIRTIO_F_VERSION_1; QEMU's virtio-mmio (version 2) does not
   * (virtio_set_status validates features only when VERSION_1 was negotiated), and guests rely
   * on it, so neither do we (docs/board.md, "Virtio feature negotiation").
   */
  private featuresAcceptable(): boolean {
    return (this.driverFeatures & ~this.device.deviceFeatures) === 0n;
  }

  /** QueueNotify: serve the queue, then signal used buffers or a broken queue. */
  private notify(index: number): void {
    const q = this.queues[index];
    if (q === undefined || !q.ready || q.error !== undefined) return;
    if ((this.status & STATUS_DRIVER_OK) === 0 || (this.status & STATUS_DEVICE_NEEDS_RESET) !== 0) return;
    this.counters.notifies++;
    this.serve(index, q);
  }

  /** Let the device serve queue `index`, signal what it used, and schedule what it left. */
  private serve(index: number, q: SplitQueue): void {
    const used = this.device.processQueue(index, q, this.mem);
    if (q.error !== undefined) this.needsReset();
    if (used && !q.notificationsSuppressed(this.mem)) {
      this.counters.interrupts++;
      this.interruptStatus |= INT_VRING;
      this.updateIrq();
    }
    if (q.error === undefined && this.device.pending?.(index) && !this.scheduled.has(index)) {
      this.scheduled.add(index);
      const generation = this.generation;
      this.defer(() => {
        if (generation !== this.generation) return; // the device was reset meanwhile
        this.scheduled.delete(index);
        if (!q.ready || q.error !== undefined) return;
        if ((this.status & STATUS_DRIVER_OK) === 0 || (this.status & STATUS_DEVICE_NEEDS_RESET) !== 0) return;
        this.serve(index, q);
      });
    }
  }

  /** §2.1.2: enter the error state; with DRIVER_OK set, tell the driver by a config interrupt. */
  private needsReset(): void {
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    if ((this.status & STATUS_DRIVER_OK) !== 0) {
      this.interruptStatus |= INT_CONFIG;
      this.updateIrq();
    }
  }

  /** Why the device needs a reset (the first broken queue's reason), or undefined. */
  errorReason(): string | undefined {
    for (const q of this.queues) if (q.error !== undefined) return q.error;
    return undefined;
  }

  private updateIrq(): void {
    this.irq.set(this.interruptStatus !== 0);
  }

  /** Device reset (Status 0, or a machine reset): everything back to its initial value. */
  reset(): void {
    this.generation++;
    this.scheduled.clear();
    this.status = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = 0;
    this.driverFeatures = 0n;
    this.queueSel = 0;
    this.interruptStatus = 0;
    for (const q of this.queues) q.reset();
    this.device.reset();
    this.updateIrq();
  }

  /** Plain-data state of the transport and its device. */
  snapshot(): VirtioMmioSnapshot {
    return {
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: this.driverFeatures.toString(),
      queueSel: this.queueSel,
      interruptStatus: this.interruptStatus,
      queues: this.queues.map((q) => q.snapshot()),
      device: this.device.snapshot(),
    };
  }

  // ---- snapshots (host/snapshot, docs/snapshot.md) ----

  /** A transport can be saved when its device model can (virtio-blk can; a model without saveState cannot). */
  snapshotBlocker(): string | undefined {
    return isSnapshotable(this.device) ? undefined : `its device model ${this.device.name} does not support snapshots`;
  }

  /**
   * Serve the work a device left for a later turn (a virtio-blk request cut at its byte budget)
   * now, so no request is in flight when the state is saved (as QEMU drains block I/O first).
   */
  quiesceState(): void {
    for (let guard = 0; this.scheduled.size > 0 && guard < 1 << 20; guard++) {
      const index = this.scheduled.values().next().value as number;
      this.scheduled.delete(index);
      const q = this.queues[index];
      if (!q.ready || q.error !== undefined) continue;
      if ((this.status & STATUS_DRIVER_OK) === 0 || (this.status & STATUS_DEVICE_NEEDS_RESET) !== 0) continue;
      this.serve(index, q); // may schedule it again (and defer a continuation that will find nothing to do)
    }
  }

  /** The transport (registers, queues) as JSON, then the device model's own state. */
  saveState(w: SectionWriter): void {
    const { device: _device, ...transport } = this.snapshot();
    w.json(transport);
    (this.device as unknown as Snapshotable).saveState(w);
  }

  loadState(r: SectionReader, version: number): void {
    this.restore({ ...r.json<Omit<VirtioMmioSnapshot, 'device'>>(), device: undefined });
    (this.device as unknown as Snapshotable).loadState(r, version);
  }

  /** Restore the transport's state (the device model restores its own `device` part). */
  restore(s: VirtioMmioSnapshot): void {
    this.status = s.status;
    this.deviceFeaturesSel = s.deviceFeaturesSel;
    this.driverFeaturesSel = s.driverFeaturesSel;
    this.driverFeatures = BigInt(s.driverFeatures);
    this.queueSel = s.queueSel;
    this.interruptStatus = s.interruptStatus;
    s.queues.forEach((qs, i) => this.queues[i]?.restore(qs));
    this.updateIrq();
  }
}

/** Run `f` after the host's event loop has had a turn: setImmediate, or a 0 ms timer in browsers. */
function deferToHost(f: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(f);
  else setTimeout(f, 0);
}

/** Replace the low 32 bits of a 64-bit ring address. */
function low(addr: bigint, v: number): bigint {
  return (addr & ~0xffff_ffffn) | BigInt(v >>> 0);
}

/** Replace the high 32 bits of a 64-bit ring address. */
function high(addr: bigint, v: number): bigint {
  return (addr & 0xffff_ffffn) | (BigInt(v >>> 0) << 32n);
}

/**
 * A device-specific configuration read (virtio 1.x §4.2.2.2: little-endian, 1-4 bytes): the
 * bytes of `config` at [offset, offset + size), 0 past its end.
 */
export function readConfigBytes(config: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let i = Math.min(size, 4) - 1; i >= 0; i--) {
    const at = offset + i;
    v = (v << 8) | (at >= 0 && at < config.length ? config[at] : 0);
  }
  return v >>> 0;
}
