/**
 * The host-frame allocator: hands out 4 KiB frames of the machine's physical RAM (the "host
 * frames" that back guest-physical memory and hold the G-stage tables).
 *
 * Deliberately not the identity: frames come from the top of RAM downward, so guest page
 * 0x80000000 lands near the end of host RAM and the two-dimensional walk is always exercised
 * with GPA != HPA (DESIGN.md, Memory). Freed frames are reused (last freed, first reused).
 * Every frame is zero when it is handed out, so no guest ever sees another's data: a frame that
 * was used before is zeroed then. With `zeroed` (the VMM: RAM is a new Memory, which nothing but
 * this allocator's users writes, and only in frames handed out), a frame the bump pointer
 * reaches for the first time is zero already and is not written, so the host pays for a frame
 * only when the guest touches it.
 */
import { UserError } from '../errors';
import type { GuestMemory } from '../devices/device';

/** Bytes in a frame. */
export const FRAME_SIZE = 4096n;
const ZERO = new Uint8Array(Number(FRAME_SIZE));

/** Counters for --stats and tests. */
export interface FrameCounters {
  /** Frames the RAM holds in all. */
  capacity: number;
  /** Frames handed out and not freed. */
  inUse: number;
  /** Frames handed out since creation (including reused ones). */
  allocated: number;
  /** Frames given back. */
  freed: number;
}

/** Allocates zeroed 4 KiB host frames from the top of `ram` downward. */
export class FrameAllocator {
  /** Lowest frame handed out so far by the bump pointer (frames below it are untouched). */
  private next: bigint;
  private readonly free: bigint[] = [];
  private readonly owned = new Set<bigint>();
  private counts = { allocated: 0, freed: 0 };

  /**
   * @param ram the machine's physical RAM (written to zero frames)
   * @param name the guest name, for the out-of-memory error
   * @param floor lowest host physical address that may be handed out (default: RAM base)
   * @param zeroed RAM below the bump pointer is zero and untouched (see the file comment)
   */
  constructor(private readonly ram: GuestMemory, private readonly name = 'guest', private readonly floor = ram.base, private zeroed = false) {
    this.next = ram.base + (BigInt(ram.size) & ~(FRAME_SIZE - 1n));
  }

  /** One zeroed frame; its host physical address. Throws UserError when RAM is exhausted. */
  alloc(): bigint {
    const reused = this.free.pop();
    return reused !== undefined ? this.handOut(reused) : this.handOut(this.bump(1n, 1n), !this.zeroed);
  }

  /**
   * `count` physically contiguous zeroed frames aligned to `align` frames (the 16 KiB G-stage
   * root: 4 frames aligned to 4). Returns the address of the first.
   */
  allocContiguous(count: number, align: number): bigint {
    const base = this.bump(BigInt(count), BigInt(align));
    for (let i = 0n; i < BigInt(count); i++) this.handOut(base + i * FRAME_SIZE, !this.zeroed);
    return base;
  }

  /** Frames alloc() can still hand out (freed ones and those below the bump pointer). */
  available(): number {
    return this.free.length + Number((this.next - this.floor) / FRAME_SIZE);
  }

  /**
   * From now on, zero every frame when it is handed out, fresh ones too: for a caller that wrote
   * RAM outside the frames handed out (the isolation audits fill it with a canary), which breaks
   * what `zeroed` relies on.
   */
  zeroFreshFrames(): void {
    this.zeroed = false;
  }

  /** Give a frame back. Freeing a frame that is not in use is a programming error. */
  release(hpa: bigint): void {
    if (!this.owned.delete(hpa)) throw new Error(`frames: 0x${hpa.toString(16)} is not an allocated frame`);
    this.free.push(hpa);
    this.counts.freed++;
  }

  /** Whether `hpa` (any address inside a frame) is in a frame this allocator handed out. */
  owns(hpa: bigint): boolean {
    return this.owned.has(hpa & ~(FRAME_SIZE - 1n));
  }

  /** Current counters. */
  counters(): FrameCounters {
    return {
      capacity: Number((this.ram.base + BigInt(this.ram.size) - this.floor) / FRAME_SIZE),
      inUse: this.owned.size,
      allocated: this.counts.allocated,
      freed: this.counts.freed,
    };
  }

  private bump(count: bigint, align: bigint): bigint {
    const alignBytes = align * FRAME_SIZE;
    let base = this.next - count * FRAME_SIZE;
    const misalign = (base - this.ram.base) % alignBytes;
    // Frames skipped to reach the alignment go to the free list, not to waste.
    for (let f = base - misalign + count * FRAME_SIZE; f < base + count * FRAME_SIZE && misalign !== 0n; f += FRAME_SIZE) {
      if (f >= this.floor && f < this.next) this.free.push(f);
    }
    base -= misalign;
    if (base < this.floor) {
      throw new UserError(`${this.name}: out of host memory (${this.counters().capacity} frames of 4 KiB in use); give the VM less --mem`, 1);
    }
    this.next = base;
    return base;
  }

  /** `dirty`: the frame was handed out before and must be zeroed. */
  private handOut(hpa: bigint, dirty = true): bigint {
    if (dirty) this.ram.write(hpa, ZERO);
    this.owned.add(hpa);
    this.counts.allocated++;
    return hpa;
  }
}
