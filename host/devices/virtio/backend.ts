/**
 * Where a block device keeps its bytes. The device model (virtio-blk today, Xen's blkback next)
 * talks to a `BlockBackend` only, so the same model runs over an image file in Node
 * (file-backend.ts) and over memory in the browser (`MemoryBackend`). Every call is synchronous:
 * when `write` returns the bytes are stored, so a request is acknowledged only after its data is
 * written (issue 6: "writes acknowledged only once stored").
 */

/** Storage behind a block device. Offsets and lengths are in bytes. */
export interface BlockBackend {
  /** Bytes of storage; the device exposes floor(size / 512) sectors. */
  readonly size: number;
  /** True when writes must be refused (the device then offers VIRTIO_BLK_F_RO). */
  readonly readOnly: boolean;
  /** Fill `dst` with the bytes at `offset`. Throws on an I/O error. */
  read(offset: number, dst: Uint8Array): void;
  /** Store `src` at `offset`; returns once the bytes are written. Throws on an I/O error. */
  write(offset: number, src: Uint8Array): void;
  /** Make every completed write durable (fsync for a file). Throws on an I/O error. */
  flush(): void;
}

/** A disk held in memory (the browser, tests). */
export class MemoryBackend implements BlockBackend {
  /** The disk contents; writes land here. */
  readonly bytes: Uint8Array;
  readonly readOnly: boolean;

  /** A disk of `contents` (used in place, not copied), or of `contents` zero bytes. */
  constructor(contents: Uint8Array | number, options: { readOnly?: boolean } = {}) {
    this.bytes = typeof contents === 'number' ? new Uint8Array(contents) : contents;
    this.readOnly = options.readOnly ?? false;
  }

  get size(): number {
    return this.bytes.length;
  }

  read(offset: number, dst: Uint8Array): void {
    checkRange(offset, dst.length, this.bytes.length);
    dst.set(this.bytes.subarray(offset, offset + dst.length));
  }

  write(offset: number, src: Uint8Array): void {
    if (this.readOnly) throw new Error('memory disk is read-only');
    checkRange(offset, src.length, this.bytes.length);
    this.bytes.set(src, offset);
  }

  flush(): void {
    // Memory is as durable as it gets.
  }
}

/** Throw when [offset, offset + length) is not inside a disk of `size` bytes. */
export function checkRange(offset: number, length: number, size: number): void {
  if (!(offset >= 0 && length >= 0 && offset + length <= size)) {
    throw new RangeError(`disk access at ${offset}+${length} is outside the ${size}-byte disk`);
  }
}
