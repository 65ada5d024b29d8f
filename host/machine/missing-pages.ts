/** Post-copy migration's view from the VMM and the machine (docs/migration.md "Post-copy"). */
import { VirtioMmio } from '../devices/virtio/mmio';
import type { Bus } from './bus';

/**
 * Pages that are still arriving by post-copy migration (host/migrate/postcopy-target.ts), keyed
 * by page number: a guest page number (gpa >> 12) for a VM, a RAM page index for a bare machine.
 */
export interface MissingPages {
  has(page: number): boolean;
  /** Resolves once the page is in (or the migration is lost: the run loop then sees stop()). */
  fetch(page: number): Promise<void>;
  /** Resolves once every page is in (or the migration is lost): before a device may do DMA. */
  all(): Promise<void>;
}

/**
 * Whether an MMIO access at `addr` reaches a device that does DMA (a virtio transport with a
 * device behind it): during post-copy the access waits for every page first (MissingPages.all),
 * since the device's work, which the access may start, can touch any page.
 */
export function startsDma(bus: Bus, addr: bigint): boolean {
  return bus.find(addr, 1)?.device instanceof VirtioMmio;
}

/**
 * Thrown where the VMM or a device would populate or touch a page that has not arrived yet
 * (post-copy): the exit being handled has changed nothing yet, so the run loop fetches the page
 * and re-enters the guest, which repeats the access (Vcpu.run, Machine.run).
 */
export class PageNotHere extends Error {
  /** `page` undefined: every page is wanted (a device's DMA may follow). */
  constructor(readonly page: number | undefined) {
    super(page === undefined ? 'pages have not all arrived yet (post-copy)' : `page 0x${page.toString(16)} has not arrived yet (post-copy)`);
  }
}
