/**
 * A small machine for shadow-pager tests: guest RAM of `pages` pages at gPA 0x8000_0000, each
 * backed by a host frame at a shuffled (never identity) host address, and a frame allocator
 * for the shadow tables in the same host memory.
 */
import type { ShadowHost } from '../../../host/vmm/paging/shadow';

export const GPA_BASE = 0x8000_0000n;
export const HPA_BASE = 0x1_0000_0000n;

export class FakeShadowHost implements ShadowHost {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Guest page i -> its host frame. */
  readonly guestFrames: bigint[] = [];
  flushes = 0;
  private readonly free: bigint[] = [];
  private readonly owned = new Set<bigint>();
  readonly ram: ShadowHost['ram'];
  readonly frames: ShadowHost['frames'];

  constructor(readonly pages: number, shadowFrames = 256, seed = 1) {
    const total = pages + shadowFrames;
    this.bytes = new Uint8Array(total * 4096);
    this.view = new DataView(this.bytes.buffer);
    const order = [...Array(total).keys()];
    let s = seed >>> 0;
    for (let i = order.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let i = 0; i < pages; i++) this.guestFrames.push(HPA_BASE + BigInt(order[i]) * 4096n);
    for (let i = pages; i < total; i++) this.free.push(HPA_BASE + BigInt(order[i]) * 4096n);
    const off = (hpa: bigint) => {
      const o = hpa - HPA_BASE;
      if (o < 0n || o + 8n > BigInt(this.bytes.length)) throw new RangeError(`host address 0x${hpa.toString(16)} outside host memory`);
      return Number(o);
    };
    this.ram = {
      read64: (hpa) => this.view.getBigUint64(off(hpa), true),
      write64: (hpa, v) => this.view.setBigUint64(off(hpa), BigInt.asUintN(64, v), true),
    };
    this.frames = {
      alloc: () => {
        const f = this.free.pop();
        if (f === undefined) throw new Error('out of frames');
        this.owned.add(f);
        this.bytes.fill(0, Number(f - HPA_BASE), Number(f - HPA_BASE) + 4096);
        return f;
      },
      release: (f) => {
        if (!this.owned.delete(f)) throw new Error(`frame 0x${f.toString(16)} released twice`);
        this.free.push(f);
      },
    };
  }

  isGuestRam(gpa: bigint): boolean {
    return gpa >= GPA_BASE && gpa < GPA_BASE + BigInt(this.pages) * 4096n;
  }
  gpaToHpa(gpa: bigint): bigint | undefined {
    if (!this.isGuestRam(gpa)) return undefined;
    return this.guestFrames[Number((gpa - GPA_BASE) >> 12n)] + (gpa & 0xfffn);
  }
  flushTlb(): void {
    this.flushes++;
  }
  /** Shadow frames in use. */
  get framesInUse(): number {
    return this.owned.size;
  }
  /** Guest-physical u64 access (the guest's own view of its memory). */
  readGuest64(gpa: bigint): bigint {
    return this.ram.read64(this.gpaToHpa(gpa) as bigint);
  }
  writeGuest64(gpa: bigint, v: bigint): void {
    this.ram.write64(this.gpaToHpa(gpa) as bigint, v);
  }
}

export const PTE = { V: 1n, R: 2n, W: 4n, X: 8n, U: 16n, G: 32n, A: 64n, D: 128n } as const;
/** A PTE pointing at guest-physical `gpa` with `flags`. */
export const pte = (gpa: bigint, flags: bigint) => ((gpa >> 12n) << 10n) | flags;
/** An Sv39 satp for a root table at `gpa` with `asid`. */
export const sv39 = (root: bigint, asid = 0n) => (8n << 60n) | (asid << 44n) | (root >> 12n);
