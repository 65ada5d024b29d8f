/**
 * A block backend over a raw disk image file (Node only: node:fs, synchronous calls). Reads and
 * writes go straight to the file with pread/pwrite semantics, so a write request completes only
 * after the kernel holds its bytes; `flush` (VIRTIO_BLK_T_FLUSH) is fdatasync.
 */
import { closeSync, fdatasyncSync, readSync, writeSync } from 'node:fs';
import { openInputFile } from '../../machine/input-file';
import { checkRange, type BlockBackend } from './backend';

/** A disk image file opened for a block device. */
export class FileBackend implements BlockBackend {
  readonly size: number;
  private fd: number | undefined;

  private constructor(readonly path: string, fd: number, size: number, readonly readOnly: boolean) {
    this.fd = fd;
    this.size = size;
  }

  /**
   * Open `path` read-write (or read-only). Throws a one-line UserError naming the file when it
   * cannot be opened or is not a regular file or block device.
   */
  static open(path: string, options: { readOnly?: boolean } = {}): FileBackend {
    const readOnly = options.readOnly ?? false;
    const { fd, size } = openInputFile(path, {
      what: 'disk image',
      write: !readOnly,
      blockDevice: true,
      openError: (code) => {
        const hint = code === 'EACCES' || code === 'EROFS' || code === 'EPERM' ? ' (add ,ro to attach it read-only)' : '';
        return `${path}: cannot open disk image: ${code}${hint}`;
      },
    });
    return new FileBackend(path, fd, size, readOnly);
  }

  private get handle(): number {
    if (this.fd === undefined) throw new Error(`${this.path}: disk image is closed`);
    return this.fd;
  }

  read(offset: number, dst: Uint8Array): void {
    checkRange(offset, dst.length, this.size);
    let done = 0;
    // Bounded: each pass moves at least one byte or throws.
    while (done < dst.length) {
      const n = readSync(this.handle, dst, done, dst.length - done, offset + done);
      if (n <= 0) throw new Error(`${this.path}: short read at ${offset + done}`);
      done += n;
    }
  }

  write(offset: number, src: Uint8Array): void {
    if (this.readOnly) throw new Error(`${this.path}: disk image is read-only`);
    checkRange(offset, src.length, this.size);
    let done = 0;
    while (done < src.length) {
      const n = writeSync(this.handle, src, done, src.length - done, offset + done);
      if (n <= 0) throw new Error(`${this.path}: short write at ${offset + done}`);
      done += n;
    }
  }

  flush(): void {
    if (!this.readOnly) fdatasyncSync(this.handle);
  }

  /** Close the file; later calls throw (and the device answers IOERR). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
