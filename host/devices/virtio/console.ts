/**
 * The virtio console (virtio 1.x §5.3) with a single port, as QEMU's `virtconsole` on a
 * `virtio-serial-device` without VIRTIO_CONSOLE_F_MULTIPORT: queue 0 is receiveq0 (host to
 * guest), queue 1 transmitq0 (guest to host). No feature besides VIRTIO_F_VERSION_1 is offered
 * (no F_SIZE, no MULTIPORT, no EMERG_WRITE), so Linux's virtio_console makes port 0 a console
 * port at probe: /dev/hvc0.
 *
 * Transmit: the device-readable bytes of each chain go to `output` in order. Receive: typed
 * input waits in a bounded buffer (VIRTIO_CONSOLE_INPUT_LIMIT; more is dropped and counted)
 * until the driver offers buffers, and fills each buffer as far as it goes (§5.3.6.1).
 */
import type { GuestMemory } from '../device';
import { VIRTIO_F_VERSION_1, type VirtioDevice } from './mmio';
import { DescriptorChain, type SplitQueue } from './queue';
import { readChain, writeChain } from './chain-io';
import { SnapshotError, type SectionReader, type SectionWriter } from '../../snapshot/format';
import { readConfigBytes } from './mmio';

/** Device ID of a console (§5). */
export const VIRTIO_ID_CONSOLE = 3;
/** Queue indices (§5.3.2, port 0 without MULTIPORT). */
export const CONSOLE_RX_QUEUE = 0;
export const CONSOLE_TX_QUEUE = 1;
/** QueueNumMax of both queues (QEMU's virtio-serial queue size). */
export const CONSOLE_QUEUE_SIZE = 128;
/** Typed bytes held for the guest before more are dropped. */
export const VIRTIO_CONSOLE_INPUT_LIMIT = 64 * 1024;
/** Most bytes taken from one transmit chain (Linux sends at most a page at a time). */
const TX_CHAIN_LIMIT = 64 * 1024;

/**
 * Config space (§5.3.4): le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr. cols and rows
 * are valid only with F_SIZE and max_nr_ports only with MULTIPORT (neither offered): they read 0
 * and 1, as QEMU's fields do for one port.
 */
const CONFIG_SIZE = 12;

/** Counters of one console device. */
export interface VirtioConsoleCounters {
  outBytes: number;
  inBytes: number;
  /** Typed bytes dropped because VIRTIO_CONSOLE_INPUT_LIMIT bytes were waiting. */
  inputDropped: number;
}

/** A virtio console with one port. */
export class VirtioConsole implements VirtioDevice {
  readonly name: string;
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly deviceFeatures = VIRTIO_F_VERSION_1;
  readonly queueMaxSizes = [CONSOLE_QUEUE_SIZE, CONSOLE_QUEUE_SIZE];
  readonly counters: VirtioConsoleCounters = { outBytes: 0, inBytes: 0, inputDropped: 0 };

  private readonly config = new Uint8Array(CONFIG_SIZE);
  private readonly chain = new DescriptorChain(CONSOLE_QUEUE_SIZE);
  /** Typed input not yet in guest buffers. */
  private input: number[] = [];
  private kick: ((index: number) => void) | undefined;

  /** @param output called with the bytes the guest writes to the port */
  constructor(private readonly output: (bytes: Uint8Array) => void, options: { name?: string } = {}) {
    this.name = options.name ?? 'virtio-console';
    this.config[4] = 1; // max_nr_ports = 1
  }

  attach(kick: (index: number) => void): void {
    this.kick = kick;
  }

  /** Typed input for the port: held, and given to the guest as it offers buffers. */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (this.input.length >= VIRTIO_CONSOLE_INPUT_LIMIT) this.counters.inputDropped++;
      else this.input.push(b);
    }
    this.kick?.(CONSOLE_RX_QUEUE);
  }

  /** Typed bytes waiting for the guest. */
  pendingInput(): number {
    return this.input.length;
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(_offset: number, _size: number, _value: number): void {
    // emerg_wr is writable only with VIRTIO_CONSOLE_F_EMERG_WRITE (not offered); the rest is read-only.
  }

  activate(_features: bigint): void {
    // Nothing to set up: no feature changes how the port works.
  }

  reset(): void {
    // Typed input stays: it was meant for whoever reads the console next.
  }

  processQueue(index: number, q: SplitQueue, mem: GuestMemory): boolean {
    let used = false;
    const c = this.chain;
    if (index === CONSOLE_TX_QUEUE) {
      for (let n = 0; n < q.size && q.pop(mem, c); n++) {
        const bytes = readChain(c, mem, 0, TX_CHAIN_LIMIT);
        if (bytes.length > 0) {
          this.counters.outBytes += bytes.length;
          this.output(bytes);
        }
        q.pushUsed(mem, c.head, 0);
        used = true;
      }
    } else if (index === CONSOLE_RX_QUEUE) {
      for (let n = 0; n < q.size && this.input.length > 0 && q.pop(mem, c); n++) {
        const k = Math.min(c.writableBytes, this.input.length);
        if (k === 0) {
          q.unpop(); // a buffer with no room (a driver error we tolerate): leave it
          break;
        }
        const written = writeChain(c, mem, Uint8Array.from(this.input.slice(0, k)));
        this.input.splice(0, written);
        this.counters.inBytes += written;
        q.pushUsed(mem, c.head, written);
        used = true;
      }
    }
    return used;
  }

  snapshot(): unknown {
    return { counters: { ...this.counters }, input: this.input.length };
  }

  /**
   * Snapshots and migration (docs/snapshot.md): the counters and the typed input the guest has
   * not read yet (it reaches the guest on the restored side). Output is never held: each
   * transmit chain went to `output` when it was served.
   */
  saveState(w: SectionWriter): void {
    w.json({ counters: this.counters });
    w.blob(Uint8Array.from(this.input));
  }
  loadState(r: SectionReader): void {
    const s = r.json<{ counters: VirtioConsoleCounters }>();
    const input = r.blob();
    if (input.length > VIRTIO_CONSOLE_INPUT_LIMIT) throw new SnapshotError(r.file, `section ${r.section}: ${input.length} bytes of console input, at most ${VIRTIO_CONSOLE_INPUT_LIMIT}`);
    Object.assign(this.counters, s.counters);
    this.input = Array.from(input); // waits, as on the saved side, for the driver's next receive buffer
  }
}
