/** Test doubles for the VMM tests: host RAM over a plain byte array. */
import type { GuestMemory } from '../../host/devices/device';

/** Host RAM at 0x80000000 of `size` bytes, with read64/write64 helpers for walkers. */
export class FakeRam implements GuestMemory {
  readonly base = 0x80000000n;
  readonly bytes: Uint8Array;
  writes = 0;
  constructor(readonly size: number) {
    this.bytes = new Uint8Array(size);
  }
  private off(addr: bigint, len: number): number {
    const o = addr - this.base;
    if (o < 0n || o + BigInt(len) > BigInt(this.size)) throw new RangeError(`fake RAM: 0x${addr.toString(16)}+${len}`);
    return Number(o);
  }
  write(addr: bigint, data: Uint8Array): void {
    this.bytes.set(data, this.off(addr, data.length));
    this.writes++;
  }
  read(addr: bigint, length: number): Uint8Array {
    const o = this.off(addr, length);
    return this.bytes.slice(o, o + length);
  }
  /** A u64 (GuestMemory.read64: throws outside RAM). */
  read64 = (hpa: bigint): bigint => {
    const v = this.load64(hpa);
    if (v === undefined) throw new RangeError(`fake RAM: read64 at 0x${hpa.toString(16)} is outside RAM`);
    return v;
  };
  /** A u64, or undefined outside RAM (what walk2d's read64 wants). */
  load64 = (hpa: bigint): bigint | undefined => {
    if (hpa < this.base || hpa + 8n > this.base + BigInt(this.size)) return undefined;
    return new DataView(this.bytes.buffer).getBigUint64(Number(hpa - this.base), true);
  };
  write64 = (hpa: bigint, v: bigint): void => {
    new DataView(this.bytes.buffer).setBigUint64(Number(hpa - this.base), v, true);
  };
}
