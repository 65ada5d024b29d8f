// Dirty-page logging for migration (host/migrate/dirty-log.ts), as KVM's dirty log: a bitmap
// with one bit per RAM page (abi.ts DIRTY_LOG), set by every path that writes RAM while logging
// is on (phys.ts markDirty: store TLB fills and slow paths, in the interpreter and for compiled
// code alike, page-walker A/D updates, and host writes, which are the devices' DMA). Like KVM's
// write protection, clearing the log empties the TLBs, so the first store to each page after it
// misses and is logged; later stores to the page use the fast path untouched. Off, it costs
// nothing: the fast path never looks at the log, and no TLB is ever flushed for it.

import { DIRTY_LOG, S_RAM_SIZE } from './abi';
import { flushTlbAll } from './mmu';
import { setDirtyLogOn } from './phys';
import { rd64 } from './state';

/** Start logging on a clear log, or stop (the bits stay until the next start). */
export function dirtyLogEnable(on: bool): void {
  setDirtyLogOn(on);
  if (on) dirtyLogClear();
}

/** Forget what was logged: the next store to any page is logged again (the TLBs are emptied). */
export function dirtyLogClear(): void {
  const pages = <usize>(rd64(S_RAM_SIZE) >> 12);
  memory.fill(DIRTY_LOG, 0, (pages + 7) >> 3);
  flushTlbAll();
}
