/**
 * The G-stage page table of one VM (priv spec §8.5: Sv39x4 / Sv48x4), built by the VMM in host
 * frames. It maps guest-physical 4 KiB pages to host frames; the hart walks it on every TLB
 * miss with V = 1 (and for every VS-stage PTE address).
 *
 * Sv39x4 guest physical address (41 bits) and the table levels:
 *
 *    40          30 29      21 20      12 11          0
 *   +--------------+----------+----------+-------------+
 *   | VPN[2] 11 b  | VPN[1] 9 | VPN[0] 9 |   offset    |
 *   +--------------+----------+----------+-------------+
 *     root: 2048 PTEs = 16 KiB, 16 KiB aligned (hgatp.PPN's low 2 bits read as zero)
 *
 * Sv48x4 adds VPN[3] (11 bits at 49:39) above three 9-bit levels. G-stage PTEs have the Sv39
 * format; every leaf needs U = 1 (§8.5.1: G-stage accesses are user-level), and the VMM sets
 * A and D itself so the hart never has to update them.
 */
import type { GuestMemory } from '../devices/device';
import type { FrameAllocator } from './frames';

export const PTE_V = 1n;
export const PTE_R = 2n;
export const PTE_W = 4n;
export const PTE_X = 8n;
export const PTE_U = 16n;
export const PTE_G = 32n;
export const PTE_A = 64n;
export const PTE_D = 128n;
/** Read, write and execute: how guest RAM is mapped. */
export const PTE_RWX = PTE_R | PTE_W | PTE_X;

/** hgatp.MODE values (priv spec §8.2.10). */
export const HGATP_MODE_BARE = 0n;
export const HGATP_MODE_SV39X4 = 8n;
export const HGATP_MODE_SV48X4 = 9n;

const PPN_MASK = (1n << 44n) - 1n;

/** Read and write one u64 of host RAM (little-endian). */
export function read64(ram: GuestMemory, hpa: bigint): bigint {
  if (ram.read64) return ram.read64(hpa);
  const b = ram.read(hpa, 8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}
export function write64(ram: GuestMemory, hpa: bigint, v: bigint): void {
  if (ram.write64) return ram.write64(hpa, v);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  ram.write(hpa, b);
}

/** A G-stage mapping as `lookup` reports it. */
export interface GMapping {
  /** Host physical address of the byte at the looked-up GPA. */
  hpa: bigint;
  /** The leaf's R, W, X bits. */
  perms: bigint;
}

/** The G-stage table of one VM; 4 KiB pages only. */
export class GStage {
  /** Host physical address of the 16 KiB root. */
  readonly root: bigint;
  /** Number of levels: 3 for Sv39x4, 4 for Sv48x4. */
  readonly levels: number;
  private mapped = 0;
  private tables = 1;

  /**
   * @param ram host RAM that holds the tables
   * @param frames where table frames come from
   * @param mode HGATP_MODE_SV39X4 or HGATP_MODE_SV48X4
   * @param vmid the VM's VMID (hgatp bits 57:44)
   */
  constructor(
    private readonly ram: GuestMemory,
    private readonly frames: FrameAllocator,
    readonly mode: bigint = HGATP_MODE_SV39X4,
    readonly vmid = 1n,
  ) {
    if (mode !== HGATP_MODE_SV39X4 && mode !== HGATP_MODE_SV48X4) throw new Error(`gstage: unsupported hgatp mode ${mode}`);
    this.levels = mode === HGATP_MODE_SV39X4 ? 3 : 4;
    this.root = frames.allocContiguous(4, 4);
  }

  /** The hgatp value that selects this table: MODE | VMID | PPN of the root. */
  get hgatp(): bigint {
    return (this.mode << 60n) | ((this.vmid & 0x3fffn) << 44n) | (this.root >> 12n);
  }

  /** Guest-physical address bits: 41 (Sv39x4) or 50 (Sv48x4). */
  get gpaBits(): number {
    return 12 + 9 * this.levels + 2;
  }

  /** Pages mapped, and table frames (root counted as one). */
  counters(): { pages: number; tables: number } {
    return { pages: this.mapped, tables: this.tables };
  }

  /** Map the 4 KiB page at `gpa` to the host frame `hpa` (both page-aligned), replacing any mapping. */
  map(gpa: bigint, hpa: bigint, perms: bigint = PTE_RWX): void {
    if ((gpa & 0xfffn) !== 0n || (hpa & 0xfffn) !== 0n) throw new Error(`gstage: map 0x${gpa.toString(16)} -> 0x${hpa.toString(16)} is not page-aligned`);
    const slot = this.leafSlot(gpa, true) as bigint;
    if ((read64(this.ram, slot) & PTE_V) === 0n) this.mapped++;
    write64(this.ram, slot, ((hpa >> 12n) << 10n) | (perms & PTE_RWX) | PTE_U | PTE_A | PTE_D | PTE_V);
  }

  /** Count `n` leaves the core wrote itself (in-core population, host/vmm/populate.ts). */
  countMapped(n: number): void {
    this.mapped += n;
  }

  /** Remove the mapping of the page at `gpa`; returns the host frame it had, if any. */
  unmap(gpa: bigint): bigint | undefined {
    const slot = this.leafSlot(gpa, false);
    if (slot === undefined) return undefined;
    const pte = read64(this.ram, slot);
    if ((pte & PTE_V) === 0n) return undefined;
    write64(this.ram, slot, 0n);
    this.mapped--;
    return ((pte >> 10n) & PPN_MASK) << 12n;
  }

  /** The host address `gpa` maps to, or undefined when its page is not mapped. */
  lookup(gpa: bigint): GMapping | undefined {
    const slot = this.leafSlot(gpa, false);
    if (slot === undefined) return undefined;
    const pte = read64(this.ram, slot);
    if ((pte & PTE_V) === 0n) return undefined;
    return { hpa: (((pte >> 10n) & PPN_MASK) << 12n) | (gpa & 0xfffn), perms: pte & PTE_RWX };
  }

  /** Address of the leaf PTE for `gpa`, creating intermediate tables when `create`. */
  private leafSlot(gpa: bigint, create: boolean): bigint | undefined {
    if (gpa < 0n || gpa >> BigInt(this.gpaBits) !== 0n) throw new Error(`gstage: GPA 0x${gpa.toString(16)} is beyond ${this.gpaBits} bits`);
    let table = this.root;
    for (let level = this.levels - 1; level > 0; level--) {
      const slot = table + this.index(gpa, level) * 8n;
      const pte = read64(this.ram, slot);
      if ((pte & PTE_V) === 0n) {
        if (!create) return undefined;
        const next = this.frames.alloc();
        this.tables++;
        // A non-leaf PTE: V only (R = W = X = 0; A, D, U clear as §4.3.1 requires).
        write64(this.ram, slot, ((next >> 12n) << 10n) | PTE_V);
        table = next;
      } else {
        table = ((pte >> 10n) & PPN_MASK) << 12n;
      }
    }
    return table + this.index(gpa, 0) * 8n;
  }

  /** VPN[level] of `gpa`: 9 bits, 11 at the root. */
  private index(gpa: bigint, level: number): bigint {
    const width = level === this.levels - 1 ? 0x7ffn : 0x1ffn;
    return (gpa >> BigInt(12 + 9 * level)) & width;
  }
}
