/**
 * The VMM's side of in-core population (assembly/populate.ts, abi.ts POP): the pool of zeroed
 * host frames from which the G-stage walker backs a guest page on its first touch without an
 * exit, and the log of what it mapped, which the VMM reads into its own map of guest pages.
 *
 * As KVM tops up its per-vCPU memory cache before it handles a fault, the VMM tops the pool up
 * after the entries in which the core used it and on each first-touch exit (an empty pool or a
 * full log ends up there). Frames come from the allocator (frames.ts): fresh ones are zero
 * without being written, so a frame waiting in the pool costs the host no memory. The pool never
 * takes the allocator's last RESERVE frames, which are left for G-stage tables; the VMM takes its
 * own first-touch frames from the pool first (take), so the split never strands a frame.
 *
 * The range [POP_BASE, POP_END) of guest pages the core may populate is guest RAM while that is
 * safe, and empty while some page of it must fault to the VMM: post-copy's pages still on the
 * source, ballooned-out pages (vm.ts).
 */
import * as A from '../../assembly/abi';
import type { FrameAllocator } from './frames';

/** Frames the pool leaves in the allocator (G-stage tables: at most 3 per first touch). */
const RESERVE = 64;

/** The pool, the log and the range of one VM (its one vCPU). */
export class CorePopulate {
  private readonly u64: BigUint64Array;
  private readonly u32: Uint32Array;

  /**
   * @param memory the VM's memory (the core's POP region)
   * @param frames where the pool's frames come from
   */
  constructor(memory: WebAssembly.Memory, private readonly frames: FrameAllocator) {
    this.u64 = new BigUint64Array(memory.buffer, A.POP, A.POP_SIZE / 8);
    this.u32 = new Uint32Array(memory.buffer, A.POP, A.POP_SIZE / 4);
  }

  /** Let the core populate guest pages [firstPfn, endPfn), or nothing (both 0). */
  setRange(firstPfn: number, endPfn: number): void {
    this.u64[A.POP_BASE >> 3] = BigInt(firstPfn);
    this.u64[A.POP_END >> 3] = BigInt(endPfn);
  }

  /** Whether the core may populate some page now. */
  get enabled(): boolean {
    return this.u64[A.POP_END >> 3] > this.u64[A.POP_BASE >> 3];
  }

  /** Frames in the pool. */
  get pooled(): number {
    return this.u32[A.POP_FREE >> 2];
  }

  /** The pool's frames (tests: each is owned, zero and mapped nowhere). */
  poolFrames(): bigint[] {
    return Array.from(this.u64.subarray(A.POP_POOL >> 3, (A.POP_POOL >> 3) + this.pooled));
  }

  /** Log entries the host has not read yet. */
  get logged(): number {
    return this.u32[A.POP_LOGGED >> 2];
  }

  /** Hand each logged (guest page number, host frame) to `f` and empty the log; returns how many. */
  drain(f: (pfn: number, hpa: bigint) => void): number {
    const n = this.logged;
    const at = A.POP_LOG >> 3;
    for (let i = 0; i < n; i++) f(Number(this.u64[at + 2 * i]), this.u64[at + 2 * i + 1]);
    this.u32[A.POP_LOGGED >> 2] = 0;
    return n;
  }

  /** Pages the core populated since the last call, for explicit accesses and for VS-stage PTE reads; clears them. */
  takeCounts(): [number, number] {
    const i = A.POP_COUNTED >> 2;
    const c: [number, number] = [this.u32[i], this.u32[i + 1]];
    this.u32[i] = 0;
    this.u32[i + 1] = 0;
    return c;
  }

  /** A frame from the pool for the VMM's own first touch, or undefined when it is empty. */
  take(): bigint | undefined {
    const n = this.pooled;
    if (n === 0) return undefined;
    this.u32[A.POP_FREE >> 2] = n - 1;
    return this.u64[(A.POP_POOL >> 3) + n - 1];
  }

  /** Fill the pool up (while the core may use it), leaving RESERVE frames in the allocator. */
  refill(): void {
    if (!this.enabled) return;
    let n = this.pooled;
    if (n === A.POP_MAX) return;
    const room = Math.min(A.POP_MAX - n, this.frames.available() - RESERVE);
    for (let i = 0; i < room; i++) this.u64[(A.POP_POOL >> 3) + n++] = this.frames.alloc();
    this.u32[A.POP_FREE >> 2] = n;
  }
}
