/**
 * Guest RAM as live migration sees it: page indices from the RAM base (0x80000000), the
 * numbering of the snapshot's RAM section (host/snapshot/ram.ts).
 *
 *   all()       the pages a snapshot would save now (round 1, and the INDEX at the stop)
 *   read(i)     a copy of page i
 *   dirty()     the pages written since the last call (the dirty log, docs/migration.md)
 */
import * as A from '../../assembly/abi';
import { Machine } from '../machine/machine';
import { Vm } from '../vmm/vm';
import { DirtyLog } from './dirty-log';

export const PAGE = 4096;
const RAM_PFN = Number(BigInt(A.RAM_BASE) >> 12n);

export interface GuestRam {
  pageCount: number;
  all(): { index: number; populated: boolean }[];
  /** The same pages as all(), ascending, in a typed array (no object per page: post-copy's switch, 131,072 pages at 512 MiB). */
  allIndices(): { indices: Uint32Array; populated: boolean };
  read(index: number): Uint8Array;
  /** Copy page i into `dst` at `at` (no intermediate copy on a bare machine: stop-and-copy's path). */
  copyTo(index: number, dst: Uint8Array, at: number): void;
  /** Write page i (populated already, by a restore). */
  write(index: number, data: Uint8Array): void;
  startLog(): void;
  dirty(): number[];
  stopLog(): void;
}

export function guestRam(target: Machine | Vm): GuestRam {
  const log = new DirtyLog(target);
  const common = {
    startLog: () => log.enable(),
    stopLog: () => log.disable(),
  };
  if (target instanceof Vm) {
    const vm = target;
    return {
      ...common,
      pageCount: vm.cfg.memSize / PAGE,
      // A VM's populated pages, zero or not: the target backs the same ones (ram.ts).
      all: () => vm.populatedPfns().map((pfn) => ({ index: pfn - RAM_PFN, populated: true })),
      allIndices: () => ({ indices: Uint32Array.from(vm.populatedPfns(), (pfn) => pfn - RAM_PFN), populated: true }),
      read: (i) => vm.readGuest(BigInt(i + RAM_PFN) << 12n, PAGE) as Uint8Array,
      copyTo: (i, dst, at) => dst.set(vm.readGuest(BigInt(i + RAM_PFN) << 12n, PAGE) as Uint8Array, at),
      write: (i, data) => void vm.writeGuest(BigInt(i + RAM_PFN) << 12n, data),
      dirty: () => log.guestPages(log.collect()).map((pfn) => pfn - RAM_PFN),
    };
  }
  const m = target.snapshotInternals();
  const count = m.ram.size / PAGE;
  return {
    ...common,
    pageCount: count,
    // The core's "written since reset" bitmap (the pages a snapshot saves, ram.ts).
    all: () => {
      const bits = new Uint8Array(m.ram.memory.buffer, A.RAM_DIRTY, Math.ceil(count / 8));
      const out: { index: number; populated: boolean }[] = [];
      for (let i = 0; i < bits.length; i++) {
        if (bits[i] === 0) continue;
        for (let k = 0; k < 8; k++) if ((bits[i] & (1 << k)) !== 0 && i * 8 + k < count) out.push({ index: i * 8 + k, populated: false });
      }
      return out;
    },
    allIndices: () => {
      const bits = new Uint8Array(m.ram.memory.buffer, A.RAM_DIRTY, Math.ceil(count / 8));
      let n = 0;
      for (let i = 0; i < count; i++) if ((bits[i >> 3] & (1 << (i & 7))) !== 0) n++;
      const indices = new Uint32Array(n);
      for (let i = 0, k = 0; i < count; i++) if ((bits[i >> 3] & (1 << (i & 7))) !== 0) indices[k++] = i;
      return { indices, populated: false };
    },
    read: (i) => new Uint8Array(m.ram.memory.buffer, A.RAM_OFFSET + i * PAGE, PAGE).slice(),
    copyTo: (i, dst, at) => dst.set(new Uint8Array(m.ram.memory.buffer, A.RAM_OFFSET + i * PAGE, PAGE), at),
    write: (i, data) => m.ram.writePage(i, data),
    dirty: () => log.collect(),
  };
}

export function isZeroPage(b: Uint8Array): boolean {
  const w = new BigUint64Array(b.buffer, b.byteOffset, b.length >> 3);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0n) return false;
  return true;
}
