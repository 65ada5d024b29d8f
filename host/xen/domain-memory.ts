/**
 * How the Xen layer (event channels, grant tables) reaches a domain's guest-physical memory:
 * by guest frame, through this interface only. The VMM adapts a VM's RAM (GuestMemory over the
 * G-stage); tests use a plain byte array. Nothing here ever holds a raw WebAssembly.Memory.
 *
 * Contract: callers check `hasFrame` for every frame an access touches before they call
 * `read`/`write`, and a single call never crosses a frame boundary (readGuest/writeGuest split
 * longer ranges). Implementations may throw for addresses outside the domain (that is a bug in
 * the caller, never guest input).
 */
import type { GuestMemory } from '../devices/device';

/** Bytes per guest frame. */
export const FRAME_BYTES = 4096;
/** log2(FRAME_BYTES): gpa = gfn << FRAME_SHIFT. */
export const FRAME_SHIFT = 12n;

/** One domain's guest-physical memory as the hypervisor side sees it. */
export interface DomainMemory {
  /** The domain this memory belongs to. */
  readonly domid: number;
  /** True when guest frame `gfn` is RAM of this domain (populated or populatable). */
  hasFrame(gfn: bigint): boolean;
  /** Copy `length` bytes out of guest-physical address `gpa`. */
  read(gpa: bigint, length: number): Uint8Array;
  /** Copy `bytes` into guest-physical address `gpa`. */
  write(gpa: bigint, bytes: Uint8Array): void;
  /**
   * Zero-copy access (optional; GuestMemory.access): `use` gets a live view of
   * [gpa, gpa + length) inside one frame, valid only while it runs; with `write`, what it
   * stored is published afterwards. Without it, callers copy (grantAccess below).
   */
  access?(gpa: bigint, length: number, write: boolean, use: (view: Uint8Array) => void): void;
}

/**
 * A DomainMemory over a GuestMemory (a VM's RAM as devices see it): every frame inside
 * [base, base + size) is the domain's. Frames the VMM has ballooned out or reserved must be
 * excluded by the caller through `excluded` (e.g. a set the VMM keeps up to date).
 */
export function domainMemoryOf(domid: number, mem: GuestMemory, excluded?: (gfn: bigint) => boolean): DomainMemory {
  const first = (mem.base + BigInt(FRAME_BYTES) - 1n) >> FRAME_SHIFT;
  const end = (mem.base + BigInt(mem.size)) >> FRAME_SHIFT; // exclusive
  const access = mem.access;
  return {
    domid,
    hasFrame: (gfn) => gfn >= first && gfn < end && !(excluded?.(gfn) ?? false),
    read: (gpa, length) => mem.read(gpa, length),
    write: (gpa, bytes) => mem.write(gpa, bytes),
    ...(access ? { access: access.bind(mem) } : {}),
  };
}

/**
 * DomainMemory.access where the memory offers it, else the same through a copy: read the
 * range, let `use` see (and, with `write`, change) the copy, write it back.
 */
export function accessFrame(mem: DomainMemory, gpa: bigint, length: number, write: boolean, use: (view: Uint8Array) => void): void {
  if (mem.access) {
    mem.access(gpa, length, write, use);
    return;
  }
  const copy = mem.read(gpa, length);
  use(copy);
  if (write) mem.write(gpa, copy);
}

/** The guest-physical address of byte `offset` of frame `gfn`. */
export function gpaOf(gfn: bigint, offset: number): bigint {
  return (gfn << FRAME_SHIFT) + BigInt(offset);
}

/**
 * Whether every frame of [gpa, gpa + length) is the domain's RAM (a guest pointer given to a
 * hypercall). Bounded: an argument longer than `maxLength` is refused outright.
 */
export function rangeInDomain(mem: DomainMemory, gpa: bigint, length: number, maxLength = 1 << 20): boolean {
  if (gpa < 0n || length < 0 || length > maxLength) return false;
  if (length === 0) return true;
  const last = (gpa + BigInt(length) - 1n) >> FRAME_SHIFT;
  for (let f = gpa >> FRAME_SHIFT; f <= last; f++) if (!mem.hasFrame(f)) return false;
  return true;
}

/**
 * Copy [gpa, gpa + length) out of the domain frame by frame (a hypercall argument may straddle
 * two frames, which need not be contiguous in the host). The caller has checked the range with
 * rangeInDomain.
 */
export function readGuest(mem: DomainMemory, gpa: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const at = gpa + BigInt(done);
    const n = Math.min(length - done, FRAME_BYTES - Number(at & BigInt(FRAME_BYTES - 1)));
    out.set(mem.read(at, n), done);
    done += n;
  }
  return out;
}

/** Copy `bytes` into the domain at `gpa`, frame by frame (see readGuest). */
export function writeGuest(mem: DomainMemory, gpa: bigint, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    const at = gpa + BigInt(done);
    const n = Math.min(bytes.length - done, FRAME_BYTES - Number(at & BigInt(FRAME_BYTES - 1)));
    mem.write(at, bytes.subarray(done, done + n));
    done += n;
  }
}
