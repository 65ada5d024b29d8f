/**
 * Moving bytes between a fetched descriptor chain and the host, for the devices whose requests
 * are plain byte streams (network, console, entropy). A chain's device-readable descriptors are
 * taken as one buffer and its device-writable ones as another, whatever their split over
 * descriptors (VIRTIO_F_VERSION_1 implies any layout, virtio 1.x §2.7.4.4). Lengths are bounded
 * by the caller, so a hostile chain never makes the host copy more than it asked for.
 */
import type { GuestMemory } from '../device';
import type { DescriptorChain } from './queue';

/** Copy at most `max` device-readable bytes of the chain, from byte `skip` on. */
export function readChain(c: DescriptorChain, mem: GuestMemory, skip: number, max: number): Uint8Array {
  const n = Math.max(0, Math.min(c.readableBytes - skip, max));
  const out = new Uint8Array(n);
  let pos = 0;
  for (let i = 0; i < c.readableCount && pos < n; i++) {
    const len = c.len[i];
    if (skip >= len) {
      skip -= len;
      continue;
    }
    const k = Math.min(len - skip, n - pos);
    out.set(mem.read(c.addr[i] + BigInt(skip), k), pos);
    pos += k;
    skip = 0;
  }
  return out;
}

/**
 * Write `data` into the chain's device-writable buffers from their first byte; returns the bytes
 * written (fewer than data.length when the buffers are shorter).
 */
export function writeChain(c: DescriptorChain, mem: GuestMemory, data: Uint8Array): number {
  let pos = 0;
  for (let i = c.readableCount; i < c.count && pos < data.length; i++) {
    const k = Math.min(c.len[i], data.length - pos);
    if (k > 0) mem.write(c.addr[i], data.subarray(pos, pos + k));
    pos += k;
  }
  return pos;
}
