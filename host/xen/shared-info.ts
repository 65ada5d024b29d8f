/**
 * The shared-info page of a domain (xen.h, struct shared_info), 64-bit layout, and the 2-level
 * event-channel ABI that lives in it (Xen's event_2l.c semantics). The page is one 4 KiB frame
 * of the DomU's own RAM that the toolstack assigns (see docs/xen/events-and-grants.md); the
 * guest reads and writes it directly, so the hypervisor re-reads every field it uses.
 *
 *   0x000  vcpu_info[32], 64 bytes each:
 *            +0  u8  evtchn_upcall_pending   set by the hypervisor, cleared by the guest
 *            +1  u8  evtchn_upcall_mask      set by the guest to hold off upcalls
 *            +8  u64 evtchn_pending_sel      bit w: some port in evtchn_pending[w] is pending
 *           +16  arch_vcpu_info (16 bytes: cr2, pad on x86_64; unused here)
 *           +32  vcpu_time_info (32 bytes: version, pad0, tsc_timestamp, system_time,
 *                 tsc_to_system_mul, tsc_shift, flags, pad1[2])
 *   0x800  u64 evtchn_pending[64]           bit p = port p pending  (4096 ports)
 *   0xa00  u64 evtchn_mask[64]              bit p = port p masked
 *   0xc00  u32 wc_version                   odd while the wallclock is being updated
 *   0xc04  u32 wc_sec, 0xc08 u32 wc_nsec, 0xc0c u32 wc_sec_hi
 *   0xc10  arch_shared_info (unused here)
 *
 * The bitmaps are arrays of little-endian u64 words, so port p's bit is bit (p & 7) of byte
 * p >> 3 of the bitmap: single-byte read-modify-writes are exact. The guest runs on the same
 * host thread as this code (never concurrently), so a read-modify-write here is as atomic as
 * Xen's locked bit operations are for the guest.
 */
import { gpaOf, type DomainMemory } from './domain-memory';

/** Bytes of one struct vcpu_info. */
export const VCPU_INFO_SIZE = 64;
/** XEN_LEGACY_MAX_VCPUS: vcpu_info slots in the page. */
export const SHARED_INFO_MAX_VCPUS = 32;
/** vcpu_info.evtchn_upcall_pending (u8). */
export const VCPU_INFO_UPCALL_PENDING = 0;
/** vcpu_info.evtchn_upcall_mask (u8). */
export const VCPU_INFO_UPCALL_MASK = 1;
/** vcpu_info.evtchn_pending_sel (u64). */
export const VCPU_INFO_PENDING_SEL = 8;
/** vcpu_info.arch (16 bytes). */
export const VCPU_INFO_ARCH = 16;
/** vcpu_info.time (struct vcpu_time_info, 32 bytes). */
export const VCPU_INFO_TIME = 32;
/** shared_info.evtchn_pending[64] (u64 words). */
export const SHARED_INFO_EVTCHN_PENDING = SHARED_INFO_MAX_VCPUS * VCPU_INFO_SIZE; // 0x800
/** shared_info.evtchn_mask[64]. */
export const SHARED_INFO_EVTCHN_MASK = SHARED_INFO_EVTCHN_PENDING + 64 * 8; // 0xa00
/** shared_info.wc_version (u32). */
export const SHARED_INFO_WC_VERSION = SHARED_INFO_EVTCHN_MASK + 64 * 8; // 0xc00
/** shared_info.wc_sec (u32, low half of the seconds). */
export const SHARED_INFO_WC_SEC = SHARED_INFO_WC_VERSION + 4;
/** shared_info.wc_nsec (u32). */
export const SHARED_INFO_WC_NSEC = SHARED_INFO_WC_VERSION + 8;
/** shared_info.wc_sec_hi (u32, high half of the seconds; 64-bit guests only). */
export const SHARED_INFO_WC_SEC_HI = SHARED_INFO_WC_VERSION + 12;
/** shared_info.arch. */
export const SHARED_INFO_ARCH = SHARED_INFO_WC_VERSION + 16; // 0xc10
/** EVTCHN_2L_NR_CHANNELS on a 64-bit guest: 64 words of 64 bits. */
export const EVTCHN_2L_NR_CHANNELS = 64 * 64;
/** BITS_PER_EVTCHN_WORD on a 64-bit guest. */
export const BITS_PER_EVTCHN_WORD = 64;

/** A wallclock value as the page holds it. */
export interface Wallclock {
  version: number;
  /** Seconds since the Unix epoch (wc_sec_hi:wc_sec). */
  sec: bigint;
  nsec: number;
}

/**
 * One domain's shared-info page. Every accessor goes to guest memory; if the frame is not (or
 * no longer) the domain's RAM, reads return 0 and writes are dropped (an event for a domain
 * that gave its page away is lost, never a host fault).
 */
export class SharedInfoPage {
  /**
   * @param memory the domain's memory
   * @param gfn the guest frame holding the page
   * @param vcpus vCPUs with a vcpu_info slot (1..32)
   */
  constructor(readonly memory: DomainMemory, readonly gfn: bigint, readonly vcpus = 1) {
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > SHARED_INFO_MAX_VCPUS) {
      throw new RangeError(`shared-info d${memory.domid}: ${vcpus} vCPUs, expected 1..${SHARED_INFO_MAX_VCPUS}`);
    }
  }

  /** Whether the page is reachable (the frame is the domain's RAM). */
  get present(): boolean {
    return this.memory.hasFrame(this.gfn);
  }

  /** Zero the whole page (the toolstack does this when it builds the domain). */
  clear(): void {
    if (this.present) this.memory.write(gpaOf(this.gfn, 0), new Uint8Array(4096));
  }

  private byte(off: number): number {
    return this.present ? this.memory.read(gpaOf(this.gfn, off), 1)[0] : 0;
  }

  private setByte(off: number, v: number): void {
    if (this.present) this.memory.write(gpaOf(this.gfn, off), Uint8Array.of(v & 0xff));
  }

  /** Test bit `bit` of the bitmap at `base`. */
  private testBit(base: number, bit: number): boolean {
    return ((this.byte(base + (bit >>> 3)) >>> (bit & 7)) & 1) !== 0;
  }

  /** Set bit `bit` of the bitmap at `base`; returns its old value. */
  private testAndSetBit(base: number, bit: number): boolean {
    const off = base + (bit >>> 3);
    const b = this.byte(off);
    const m = 1 << (bit & 7);
    if ((b & m) === 0) this.setByte(off, b | m);
    return (b & m) !== 0;
  }

  /** Clear bit `bit` of the bitmap at `base`; returns its old value. */
  private testAndClearBit(base: number, bit: number): boolean {
    const off = base + (bit >>> 3);
    const b = this.byte(off);
    const m = 1 << (bit & 7);
    if ((b & m) !== 0) this.setByte(off, b & ~m);
    return (b & m) !== 0;
  }

  private vcpuBase(vcpu: number): number {
    return vcpu * VCPU_INFO_SIZE;
  }

  /** evtchn_pending bit of `port`. */
  isPending(port: number): boolean {
    return this.testBit(SHARED_INFO_EVTCHN_PENDING, port);
  }

  /** evtchn_mask bit of `port`. */
  isMasked(port: number): boolean {
    return this.testBit(SHARED_INFO_EVTCHN_MASK, port);
  }

  /** Set or clear the mask bit of `port` as the guest would (toolstack and tests). */
  setMasked(port: number, masked: boolean): void {
    if (masked) this.testAndSetBit(SHARED_INFO_EVTCHN_MASK, port);
    else this.testAndClearBit(SHARED_INFO_EVTCHN_MASK, port);
  }

  /** vcpu_info[vcpu].evtchn_upcall_pending. */
  upcallPending(vcpu: number): boolean {
    return this.byte(this.vcpuBase(vcpu) + VCPU_INFO_UPCALL_PENDING) !== 0;
  }

  /** vcpu_info[vcpu].evtchn_upcall_mask (the VMM holds off the interrupt while it is set). */
  upcallMask(vcpu: number): boolean {
    return this.byte(this.vcpuBase(vcpu) + VCPU_INFO_UPCALL_MASK) !== 0;
  }

  /** vcpu_info[vcpu].evtchn_pending_sel. */
  pendingSel(vcpu: number): bigint {
    if (!this.present) return 0n;
    const b = this.memory.read(gpaOf(this.gfn, this.vcpuBase(vcpu) + VCPU_INFO_PENDING_SEL), 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }

  /**
   * Mark `port` pending for `vcpu` (evtchn_2l_set_pending): set its pending bit; if it was not
   * already pending and is not masked, set the selector bit of its word; if that bit was clear,
   * set evtchn_upcall_pending. Returns true when upcall_pending went from 0 to 1, i.e. when
   * the vCPU must be sent an upcall (vcpu_mark_events_pending).
   */
  setPending(port: number, vcpu: number): boolean {
    if (!this.present) return false;
    if (this.testAndSetBit(SHARED_INFO_EVTCHN_PENDING, port)) return false;
    return this.raiseIfUnmasked(port, vcpu);
  }

  /** Clear the pending bit of `port` (a closed port leaves no stale event: evtchn_2l_clear_pending). */
  clearPending(port: number): void {
    this.testAndClearBit(SHARED_INFO_EVTCHN_PENDING, port);
  }

  /**
   * Unmask `port` (evtchn_2l_unmask): clear its mask bit; if it was masked and is pending,
   * re-raise it through the selector as setPending does. Returns true when an upcall is due.
   */
  unmask(port: number, vcpu: number): boolean {
    if (!this.present) return false;
    if (!this.testAndClearBit(SHARED_INFO_EVTCHN_MASK, port)) return false;
    if (!this.isPending(port)) return false;
    return this.raiseIfUnmasked(port, vcpu);
  }

  private raiseIfUnmasked(port: number, vcpu: number): boolean {
    if (this.isMasked(port)) return false;
    const base = this.vcpuBase(vcpu);
    const word = Math.floor(port / BITS_PER_EVTCHN_WORD);
    if (this.testAndSetBit(base + VCPU_INFO_PENDING_SEL, word)) return false;
    return !this.testAndSetBit(base + VCPU_INFO_UPCALL_PENDING, 0);
  }

  /**
   * Publish the wallclock (the time of day at system time 0), with the version protocol of
   * xen.h: wc_version becomes odd, the fields are written, wc_version becomes even again.
   */
  setWallclock(sec: bigint, nsec: number): void {
    if (!this.present) return;
    const v = this.readU32(SHARED_INFO_WC_VERSION);
    this.writeU32(SHARED_INFO_WC_VERSION, (v | 1) >>> 0);
    this.writeU32(SHARED_INFO_WC_SEC, Number(sec & 0xffffffffn));
    this.writeU32(SHARED_INFO_WC_NSEC, nsec >>> 0);
    this.writeU32(SHARED_INFO_WC_SEC_HI, Number((sec >> 32n) & 0xffffffffn));
    this.writeU32(SHARED_INFO_WC_VERSION, ((v | 1) + 1) >>> 0);
  }

  /** The wallclock fields as the page holds them now. */
  wallclock(): Wallclock {
    return {
      version: this.readU32(SHARED_INFO_WC_VERSION),
      sec: (BigInt(this.readU32(SHARED_INFO_WC_SEC_HI)) << 32n) | BigInt(this.readU32(SHARED_INFO_WC_SEC)),
      nsec: this.readU32(SHARED_INFO_WC_NSEC),
    };
  }

  private readU32(off: number): number {
    if (!this.present) return 0;
    const b = this.memory.read(gpaOf(this.gfn, off), 4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  private writeU32(off: number, v: number): void {
    this.memory.write(gpaOf(this.gfn, off), Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff));
  }
}
