/** Post-copy migration's view from the VMM and the machine (docs/migration.md "Post-copy"). */

/**
 * Pages that are still arriving by post-copy migration (host/migrate/postcopy-target.ts), keyed
 * by page number: a guest page number (gpa >> 12) for a VM, a RAM page index for a bare machine.
 */
export interface MissingPages {
  has(page: number): boolean;
  /** Resolves once the page is in (or the migration is lost: the run loop then sees stop()). */
  fetch(page: number): Promise<void>;
}

/**
 * Thrown where the VMM or a device would populate or touch a page that has not arrived yet
 * (post-copy): the exit being handled has changed nothing yet, so the run loop fetches the page
 * and re-enters the guest, which repeats the access (Vcpu.run, Machine.run).
 */
export class PageNotHere extends Error {
  constructor(readonly page: number) {
    super(`page 0x${page.toString(16)} has not arrived yet (post-copy)`);
  }
}
