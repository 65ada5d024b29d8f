/**
 * The RAM section, sparse (RAM is lazy: a page the guest never touched costs nothing, and a
 * snapshot should not either):
 *
 *   u32 page size (4096), u32 pages of RAM, u32 entries, then per entry:
 *   u32 page index from the RAM base, u8 kind (0: populated and zero, no data; 1: 4096 bytes follow)
 *
 * Bare machine: the pages the core's RAM_DIRTY bitmap marks as written since creation, minus the
 * ones that are zero again. VM: the guest pages backed by host frames (populated), zero ones as
 * kind 0 so the restored VM backs the same pages. A restore first returns RAM to its new state
 * (bare: core.zeroRam(); VM: every frame released) and then writes the entries.
 */
import * as A from '../../assembly/abi';
import type { CoreExports } from '../machine/core';
import type { Ram } from '../machine/machine';
import { SectionReader, SectionWriter, SnapshotError } from './format';

export const RAM_VERSION = 1;
const PAGE = 4096;

/** RAM as the section sees it. */
export interface RamPages {
  pageCount: number;
  /** The pages to save, ascending; `populated` pages that are zero are kept as kind 0 (VM). */
  saved(): Iterable<{ index: number; data: Uint8Array; populated: boolean }>;
  /** Back to the state of a new machine (all zero, nothing populated). */
  clear(): void;
  /** Page `index` is populated, with `data` (undefined: zero). */
  put(index: number, data: Uint8Array | undefined): void;
}

function isZero(b: Uint8Array): boolean {
  const w = new BigUint64Array(b.buffer, b.byteOffset, b.length >> 3);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0n) return false;
  return true;
}

/** Bare-machine RAM: the written pages of the core's RAM_DIRTY bitmap (abi.ts). */
export function bareRamPages(ram: Ram, core: CoreExports): RamPages {
  const pageCount = ram.size / PAGE;
  return {
    pageCount,
    *saved() {
      const bits = new Uint8Array(ram.memory.buffer, A.RAM_DIRTY, Math.ceil(pageCount / 8));
      const bytes = new Uint8Array(ram.memory.buffer, A.RAM_OFFSET, ram.size);
      for (let byte = 0; byte < bits.length; byte++) {
        if (bits[byte] === 0) continue;
        for (let b = 0; b < 8; b++) {
          const index = byte * 8 + b;
          if ((bits[byte] & (1 << b)) !== 0 && index < pageCount) yield { index, data: bytes.subarray(index * PAGE, (index + 1) * PAGE), populated: false };
        }
      }
    },
    clear: () => core.zeroRam(),
    put: (index, data) => {
      if (data) ram.write(ram.base + BigInt(index * PAGE), data);
    },
  };
}

export function saveRam(w: SectionWriter, ram: RamPages): void {
  w.u32(PAGE);
  w.u32(ram.pageCount);
  const entries: { index: number; data: Uint8Array | undefined }[] = [];
  for (const p of ram.saved()) {
    const zero = isZero(p.data);
    if (zero && !p.populated) continue;
    entries.push({ index: p.index, data: zero ? undefined : p.data });
  }
  w.u32(entries.length);
  for (const e of entries) {
    w.u32(e.index);
    w.u8(e.data ? 1 : 0);
    if (e.data) w.bytes(e.data);
  }
}

/** Check the whole section first, then clear RAM and write it. */
export function loadRam(r: SectionReader, ram: RamPages): void {
  const bad = (what: string) => new SnapshotError(r.file, `RAM section: ${what}`);
  const page = r.u32();
  const count = r.u32();
  if (page !== PAGE) throw bad(`page size ${page}, expected ${PAGE}`);
  if (count !== ram.pageCount) throw bad(`${count} pages, this machine has ${ram.pageCount}`);
  const n = r.u32();
  const entries: { index: number; data: Uint8Array | undefined }[] = [];
  let last = -1;
  for (let i = 0; i < n; i++) {
    const index = r.u32();
    const kind = r.u8();
    if (index >= count || index <= last) throw bad(`page index ${index} out of order or past the end (corrupt snapshot)`);
    if (kind > 1) throw bad(`page ${index} has kind ${kind} (corrupt snapshot)`);
    last = index;
    entries.push({ index, data: kind === 1 ? r.bytes(PAGE) : undefined });
  }
  r.end();
  ram.clear();
  for (const e of entries) ram.put(e.index, e.data);
}
