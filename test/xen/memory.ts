/** Test doubles for the Xen layer: a domain's RAM as a map of 4 KiB frames, instrumented. */
import type { DomainMemory } from '../../host/xen/domain-memory';

/** Guest RAM base frame used by the tests (gpa 0x8000_0000, as on the virt board). */
export const RAM_GFN = 0x80000n;

/**
 * A DomainMemory over `nframes` frames starting at RAM_GFN. Every read and write through the
 * DomainMemory interface is recorded by frame in `touched` (and must stay inside one frame that
 * exists: anything else throws, which the hostile suite counts as a failure). `peek`/`poke` are
 * the test's own, unrecorded access.
 */
export class TestMemory implements DomainMemory {
  readonly frames = new Map<bigint, Uint8Array>();
  /** Frames accessed through read/write/access, in order of first touch. */
  readonly touched = new Set<bigint>();
  /** Every access, for tests that want order: [kind, gfn]. */
  log: ['r' | 'w', bigint][] = [];
  logging = false;

  constructor(readonly domid: number, nframes: number, readonly base = RAM_GFN) {
    for (let i = 0n; i < BigInt(nframes); i++) this.frames.set(base + i, new Uint8Array(4096));
  }

  hasFrame(gfn: bigint): boolean {
    return this.frames.has(gfn);
  }

  private at(gpa: bigint, len: number): [Uint8Array, number, bigint] {
    const gfn = gpa >> 12n;
    const f = this.frames.get(gfn);
    const off = Number(gpa & 0xfffn);
    if (!f) throw new RangeError(`d${this.domid}: access to missing frame 0x${gfn.toString(16)}`);
    if (off + len > 4096) throw new RangeError(`d${this.domid}: access crosses frame 0x${gfn.toString(16)} (${off}+${len})`);
    return [f, off, gfn];
  }

  read(gpa: bigint, length: number): Uint8Array {
    const [f, off, gfn] = this.at(gpa, length);
    this.touched.add(gfn);
    if (this.logging) this.log.push(['r', gfn]);
    return f.slice(off, off + length);
  }

  write(gpa: bigint, bytes: Uint8Array): void {
    const [f, off, gfn] = this.at(gpa, bytes.length);
    this.touched.add(gfn);
    if (this.logging) this.log.push(['w', gfn]);
    f.set(bytes, off);
  }

  /** Zero-copy access (DomainMemory.access), recorded like read/write; the view dies after `use`. */
  access(gpa: bigint, length: number, write: boolean, use: (view: Uint8Array) => void): void {
    const [f, off, gfn] = this.at(gpa, length);
    this.touched.add(gfn);
    if (this.logging) this.log.push([write ? 'w' : 'r', gfn]);
    use(f.subarray(off, off + length));
  }

  /** Unrecorded read of `len` bytes at frame `gfn` + `off`. */
  peek(gfn: bigint, off: number, len: number): Uint8Array {
    return this.frames.get(gfn)!.slice(off, off + len);
  }

  /** Unrecorded write. */
  poke(gfn: bigint, off: number, bytes: ArrayLike<number>): void {
    this.frames.get(gfn)!.set(bytes, off);
  }

  /** Remove a frame (ballooned out). */
  drop(gfn: bigint): void {
    this.frames.delete(gfn);
  }
}

/** Write grant entry `ref` (v1) into a table whose frames are `tableFrames`. */
export function putEntry(mem: TestMemory, tableFrames: bigint[], ref: number, flags: number, domid: number, frame: number): void {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint16(0, flags, true);
  v.setUint16(2, domid, true);
  v.setUint32(4, frame >>> 0, true);
  mem.poke(tableFrames[Math.floor(ref / 512)], (ref % 512) * 8, b);
}

/** Read grant entry `ref` back as [flags, domid, frame]. */
export function getEntry(mem: TestMemory, tableFrames: bigint[], ref: number): [number, number, number] {
  const b = mem.peek(tableFrames[Math.floor(ref / 512)], (ref % 512) * 8, 8);
  const v = new DataView(b.buffer);
  return [v.getUint16(0, true), v.getUint16(2, true), v.getUint32(4, true)];
}
