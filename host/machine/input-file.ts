/**
 * Every file the user hands wasmvisor (an image, --bios, an xl.cfg or HOST.cfg, a cfg's kernel=,
 * a disk) is opened here, so that none of them can hang or bloat the host:
 *
 *   - it is opened with O_NONBLOCK, so a FIFO does not block the open waiting for a writer;
 *   - fstat on the open descriptor must say "regular file" (a disk may also be a block device):
 *     /dev/zero, a FIFO, a socket or a terminal would otherwise be read without end;
 *   - files read whole are checked against a size limit before the first byte is read.
 *
 * Every refusal is a one-line UserError naming the file and what it is.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { UserError } from '../errors';

/** How a file is opened and what is acceptable. */
export interface InputFileOptions {
  /** What the file is, for messages: "image file", "configuration file", "disk image". */
  what: string;
  /** Most bytes accepted (checked with fstat before reading); no limit when undefined. */
  maxBytes?: number;
  /** Open read-write (a writable disk). */
  write?: boolean;
  /** Accept a block device as well (a disk). */
  blockDevice?: boolean;
  /** The message for an open() that failed with `code` (default: "no such file", ...). */
  openError?: (code: string) => string;
}

/** An open input file: its descriptor (the caller closes it) and its size in bytes. */
export interface OpenInput {
  fd: number;
  size: number;
}

/** What kind of file `st` is, for messages ("a character device"). */
function kindOf(st: Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function defaultOpenError(path: string, what: string, code: string): string {
  if (code === 'ENOENT') return `${path}: no such file`;
  if (code === 'EACCES' || code === 'EPERM') return `${path}: permission denied`;
  if (code === 'EISDIR') return `${path}: is a directory, expected ${article(what)} ${what}`;
  return `${path}: cannot open ${what} (${code})`;
}

function article(what: string): string {
  return /^[aeiou]/i.test(what) ? 'an' : 'a';
}

/**
 * Open `path` for reading (or read-write) and check that it is a regular file (or, with
 * `blockDevice`, a block device) no larger than `maxBytes`. Throws a one-line UserError otherwise.
 */
export function openInputFile(path: string, opts: InputFileOptions): OpenInput {
  let fd: number;
  try {
    fd = openSync(path, (opts.write ? constants.O_RDWR : constants.O_RDONLY) | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UserError(opts.openError ? opts.openError(code) : defaultOpenError(path, opts.what, code));
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new UserError(opts.openError ? opts.openError('EISDIR') : defaultOpenError(path, opts.what, 'EISDIR'));
    if (!st.isFile() && !(opts.blockDevice && st.isBlockDevice())) {
      throw new UserError(`${path}: ${opts.what} is ${kindOf(st)}, expected a regular file${opts.blockDevice ? ' or a block device' : ''}`);
    }
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) {
      throw new UserError(`${path}: ${opts.what} is ${st.size} bytes, more than ${opts.maxBytes}`);
    }
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * Read a whole input file (see openInputFile; `maxBytes` is required). Reads at most the size
 * fstat gave, so a file that grows while it is read cannot make this run on.
 */
export function readInputFile(path: string, opts: InputFileOptions & { maxBytes: number }): Uint8Array {
  const { fd, size } = openInputFile(path, opts);
  try {
    const out = new Uint8Array(size);
    let done = 0;
    // Bounded: each pass moves at least one byte or ends the loop.
    while (done < size) {
      let n: number;
      try {
        n = readSync(fd, out, done, size - done, done);
      } catch (e) {
        throw new UserError(`${path}: cannot read ${opts.what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      if (n <= 0) break; // the file shrank while we read it: take what there is
      done += n;
    }
    return done === size ? out : out.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}
