/**
 * The virtio entropy device (virtio 1.x §5.4): one queue (requestq, queue 0) of device-writable
 * buffers that the device fills with random bytes from the host's cryptographic generator
 * (Web Crypto's getRandomValues: node:crypto's in Node, the browser's in a page). No features
 * besides VIRTIO_F_VERSION_1, no config space. A buffer gets min(its length, 64 KiB) bytes, the
 * most one getRandomValues call returns; §5.4.6.2 lets the device use less than the whole buffer.
 */
import type { GuestMemory } from '../device';
import { VIRTIO_F_VERSION_1, type VirtioDevice } from './mmio';
import { DescriptorChain, type SplitQueue } from './queue';
import { writeChain } from './chain-io';
import type { SectionReader, SectionWriter } from '../../snapshot/format';

/** Device ID of an entropy source (§5). */
export const VIRTIO_ID_RNG = 4;
/** QueueNumMax of requestq. */
export const RNG_QUEUE_SIZE = 64;
/** Most bytes given to one buffer (getRandomValues' limit per call). */
export const RNG_CHAIN_LIMIT = 65536;

/** Fill `buf` with random bytes. */
export type EntropySource = (buf: Uint8Array) => void;

/** The host's cryptographic generator (globalThis.crypto: Node 19+, every browser). */
export const hostEntropy: EntropySource = (buf) => {
  globalThis.crypto.getRandomValues(buf);
};

/** Counters of one entropy device. */
export interface VirtioRngCounters {
  requests: number;
  bytes: number;
}

/** A virtio entropy device. */
export class VirtioRng implements VirtioDevice {
  readonly name: string;
  readonly deviceId = VIRTIO_ID_RNG;
  readonly deviceFeatures = VIRTIO_F_VERSION_1;
  readonly queueMaxSizes = [RNG_QUEUE_SIZE];
  readonly counters: VirtioRngCounters = { requests: 0, bytes: 0 };
  private readonly chain = new DescriptorChain(RNG_QUEUE_SIZE);

  constructor(private readonly entropy: EntropySource = hostEntropy, options: { name?: string } = {}) {
    this.name = options.name ?? 'virtio-rng';
  }

  readConfig(_offset: number, _size: number): number {
    return 0; // no config space (§5.4.4)
  }

  writeConfig(_offset: number, _size: number, _value: number): void {}

  activate(_features: bigint): void {}

  reset(): void {}

  processQueue(index: number, q: SplitQueue, mem: GuestMemory): boolean {
    if (index !== 0) return false;
    let used = false;
    const c = this.chain;
    for (let n = 0; n < q.size && q.pop(mem, c); n++) {
      const bytes = new Uint8Array(Math.min(c.writableBytes, RNG_CHAIN_LIMIT));
      if (bytes.length > 0) this.entropy(bytes);
      const written = writeChain(c, mem, bytes);
      this.counters.requests++;
      this.counters.bytes += written;
      q.pushUsed(mem, c.head, written);
      used = true;
    }
    return used;
  }

  snapshot(): unknown {
    return { counters: { ...this.counters } };
  }

  /**
   * Snapshots and migration: only the counters. Every request is answered when it is popped
   * (no request is ever held), and the entropy source has no state to carry: the restored side
   * draws from its own host's generator.
   */
  saveState(w: SectionWriter): void {
    w.json({ counters: this.counters });
  }
  loadState(r: SectionReader): void {
    Object.assign(this.counters, r.json<{ counters: VirtioRngCounters }>().counters);
  }
}
