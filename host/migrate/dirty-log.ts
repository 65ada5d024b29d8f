/**
 * Dirty-page logging, the groundwork of pre-copy migration (issue 14): which RAM pages were
 * written since the last look. The core keeps the bitmap (assembly/dirty.ts, abi.ts DIRTY_LOG)
 * and sets it on every path that writes RAM: the interpreter's and compiled code's store TLB
 * fills and slow paths, page-walker A/D updates, and the host's writes (loaders, device DMA
 * through GuestMemory). A clear also empties the TLBs, so a page's first store afterwards is
 * logged again, as KVM's dirty log write-protects pages; off, nothing is added anywhere.
 *
 *   const log = new DirtyLog(target);  log.enable();
 *   ... run ...;  const pages = log.collect();   // written since enable(), and clear
 *
 * The pages are RAM page indices of the machine (from 0x80000000); for a VM, guestPages()
 * translates the host frames back to guest page numbers.
 */
import * as A from '../../assembly/abi';
import type { CoreExports } from '../machine/core';
import type { Machine } from '../machine/machine';
import { Vm } from '../vmm/vm';

/** A machine's or VM's dirty log. */
export class DirtyLog {
  private readonly core: CoreExports;
  private readonly memory: WebAssembly.Memory;
  /** RAM pages of the machine (a VM's host RAM). */
  readonly pages: number;
  private on = false;

  constructor(private readonly target: Machine | Vm) {
    if (target instanceof Vm) {
      this.core = target.core;
      this.memory = target.memory;
      this.pages = target.hostRam.size / 4096;
    } else {
      const m = target.snapshotInternals();
      this.core = m.core;
      this.memory = m.ram.memory;
      this.pages = m.ram.size / 4096;
    }
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Start logging, from a clear log. */
  enable(): void {
    this.core.dirtyLogEnable(true);
    this.on = true;
  }

  /** Stop logging (nothing is logged or flushed any more). */
  disable(): void {
    this.core.dirtyLogEnable(false);
    this.on = false;
  }

  /** RAM page indices written since enable() or the last collect(), ascending; clears the log. */
  collect(): number[] {
    const out = this.peek();
    if (this.on) this.core.dirtyLogClear();
    return out;
  }

  /** What collect() would return, without clearing. */
  peek(): number[] {
    const bits = new Uint8Array(this.memory.buffer, A.DIRTY_LOG, Math.ceil(this.pages / 8));
    const out: number[] = [];
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i];
      if (b === 0) continue;
      for (let k = 0; k < 8; k++) if ((b & (1 << k)) !== 0 && i * 8 + k < this.pages) out.push(i * 8 + k);
    }
    return out;
  }

  /**
   * A VM's guest pages (gpa >> 12) among `hostPages` (from collect()): the populated guest pages
   * whose host frame was written. Frames that back no guest page (G-stage tables) are left out.
   */
  guestPages(hostPages: number[]): number[] {
    const vm = this.target;
    if (!(vm instanceof Vm)) throw new Error('DirtyLog.guestPages: not a VM');
    // One pass over the guest's frames with a bitmap of the written ones: no address translation
    // per page (stop-and-copy runs this with the guest stopped).
    const written = new Uint8Array(this.pages);
    for (const p of hostPages) written[p] = 1;
    const base = Number(BigInt(A.RAM_BASE) >> 12n);
    const out: number[] = [];
    for (const [pfn, hpa] of vm.populatedFrames()) {
      const i = Number(hpa >> 12n) - base;
      if (i >= 0 && i < this.pages && written[i] === 1) out.push(pfn);
    }
    return out.sort((a, b) => a - b);
  }
}
