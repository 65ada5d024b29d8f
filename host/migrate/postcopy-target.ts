/**
 * The target's side of post-copy after the switch (docs/migration.md "Post-copy"): the guest runs
 * here while the pages it lacks arrive. They are left out where the hart can only reach them by a
 * slow path, so the check costs nothing per access:
 *
 *   - a VM (--virt hw): the page is not mapped in the G-stage; the guest's first touch is a
 *     guest-page fault, which reaches Vm.populate (as a first touch of RAM does), and so does any
 *     access of the VMM's (an SBI call reading guest memory): populate throws PageNotHere before
 *     anything changed, and the vCPU's run loop awaits fetch() and re-enters;
 *   - a bare machine: the page's bit in the core's ABSENT_MAP (assembly/phys.ts) is consulted on
 *     TLB fills, slow paths and PTE reads only; the access stops with EXIT_ABSENT before it
 *     happens, and Machine.run awaits fetch() and re-enters. Host accesses (Ram) check too;
 *   - a virtio device: the guest's access to it waits for every page (all()), since the work it
 *     starts may DMA anywhere (missing-pages.ts startsDma).
 *
 * fetch() sends a FETCH for the page (once) and resolves when it is in. Pages come in PAGES
 * messages, each at most once, until END; then the hooks come off, COMPLETE goes back and the
 * migration is over. If the stream breaks or is corrupt before END, the VM is lost, as KVM
 * documents for post-copy: its state is here but part of its memory is not, so it is stopped at
 * once, never run with a page missing, and the process exits 69 (EXIT_VM_LOST).
 */
import * as A from '../../assembly/abi';
import { Machine } from '../machine/machine';
import type { MissingPages } from '../machine/missing-pages';
import { Vm } from '../vmm/vm';
import { guestRam, PAGE, type GuestRam } from './pages';
import { frame, In, MSG, Out, StreamError, type MessageReader } from './stream';
import type { Transport } from './transport';

const RAM_PFN = Number(BigInt(A.RAM_BASE) >> 12n);
const ZERO = new Uint8Array(PAGE);
/** The guest's run loop yields to the event loop this often (ms) while pages come (as the source's pre-copy). */
const PAGES_YIELD_MS = 1;

/**
 * A set of RAM page indices, one byte per page: the absent pages (16,384 for 64 MiB), built
 * with the guest stopped at the switch, where a Set of them cost tens of ms.
 */
export class PageFlags {
  private readonly flags: Uint8Array;
  size = 0;
  /** `flags`: one byte per page already (1: in the set; taken, not copied), or built from `pages`. */
  constructor(pageCount: number, pages: ArrayLike<number>, flags?: Uint8Array) {
    if (flags !== undefined && flags.length === pageCount) {
      this.flags = flags;
      this.size = pages.length; // (the caller's flags are those of `pages`, distinct)
      return;
    }
    this.flags = new Uint8Array(pageCount);
    for (let k = 0; k < pages.length; k++) {
      if (this.flags[pages[k]] === 0) this.size++;
      this.flags[pages[k]] = 1;
    }
  }
  has(i: number): boolean {
    return this.flags[i] === 1; // (undefined outside)
  }
  delete(i: number): boolean {
    if (this.flags[i] !== 1) return false;
    this.flags[i] = 0;
    this.size--;
    return true;
  }
}

/** A bare machine's ABSENT_MAP (`map`): one bit per page, set for the pages of `absent`. */
function absentBits(map: Uint8Array, absent: Uint32Array): void {
  map.fill(0);
  for (let k = 0; k < absent.length; k++) map[absent[k] >> 3] |= 1 << (absent[k] & 7);
}

/**
 * Run the switch's loops over `absent` (every page, say) before the switch, on scratch arrays, so
 * that at the switch they run compiled (incoming.ts rehearse; as the source's switchLists).
 */
export function rehearseAbsent(pageCount: number, absent: Uint32Array, flags: Uint8Array): void {
  const set = new PageFlags(pageCount, absent, flags);
  absentBits(new Uint8Array(Math.ceil(pageCount / 8)), absent);
  for (let k = 0; k < absent.length; k++) set.delete(absent[k]);
}

export class PostcopyTarget {
  private readonly absent: PageFlags;
  private readonly total: number;
  private readonly waiters = new Map<number, (() => void)[]>();
  private readonly requested = new Set<number>();
  private readonly ram: GuestRam;
  private state: 'running' | 'complete' | 'lost' = 'running';
  private settled!: () => void;
  private readonly finished = new Promise<void>((r) => (this.settled = r));
  private readonly allWaiters: (() => void)[] = [];
  /** Accesses to a virtio device that waited for every page (its DMA could reach any). */
  deviceWaits = 0;
  /** Pages the guest (or the VMM) touched before they had arrived: each one FETCHed. */
  fetched = 0;
  /** The time the last page came in, from start(). */
  private t0 = 0;

  constructor(
    private readonly target: Machine | Vm,
    absent: Uint32Array,
    private readonly socket: Transport,
    private readonly reader: MessageReader,
    private readonly what: string,
    private readonly io: { stderr(t: string): void },
    /** One byte per page, 1 for each page of `absent` (distinct): taken as the set, not copied. */
    absentFlags?: Uint8Array,
  ) {
    this.ram = guestRam(target);
    this.absent = new PageFlags(this.ram.pageCount, absent, absentFlags);
    this.total = absent.length;
    this.install(absent);
  }

  /** A bare machine's ABSENT_MAP (the core's memory), cleared bit by bit as pages arrive. */
  private absentMap: Uint8Array | undefined;
  /** The run loop's own yield interval, while pages come (PAGES_YIELD_MS). */
  private savedYield: number | undefined;

  /** Leave the absent pages out (see the header), and hook fetch() in. */
  private install(absent: Uint32Array): void {
    const t = this.target;
    // The guest's run loop lets the socket in every PAGES_YIELD_MS while pages come, not every
    // 20 ms: the pushed pages wait in the kernel's buffer between two turns, and the push with them.
    const loop = t instanceof Vm ? t.vcpu : t;
    this.savedYield = loop.yieldMs;
    if (absent.length > 0) loop.yieldMs = Math.min(loop.yieldMs, PAGES_YIELD_MS);
    if (t instanceof Vm) {
      // A page sent in a pre-copy round and dirtied since has a stale copy mapped: unmap it.
      for (const i of absent) t.unpopulate(BigInt(i + RAM_PFN) << 12n);
      const pages: MissingPages = { has: (pfn) => this.absent.has(pfn - RAM_PFN), fetch: (pfn) => this.fetch(pfn - RAM_PFN), all: () => this.all() };
      t.missingPages = pages;
      return;
    }
    const m = t.snapshotInternals();
    const map = (this.absentMap = new Uint8Array(m.ram.memory.buffer, A.ABSENT_MAP, A.ABSENT_MAP_SIZE));
    absentBits(map, absent);
    m.ram.missing = { has: (i) => this.absent.has(i), fetch: (i) => this.fetch(i), all: () => this.all() };
    m.core.setAbsentOn(absent.length > 0);
    m.core.flushTlb(); // (no entry may name an absent page; a restore has flushed already)
  }

  private uninstall(): void {
    const t = this.target;
    if (this.savedYield !== undefined) (t instanceof Vm ? t.vcpu : t).yieldMs = this.savedYield;
    if (t instanceof Vm) {
      t.missingPages = undefined;
      return;
    }
    const m = t.snapshotInternals();
    m.core.setAbsentOn(false);
    m.ram.missing = undefined;
  }

  /** The page (a RAM page index) is needed now: resolves once it is in, or the VM is lost. */
  fetch(index: number): Promise<void> {
    if (!this.absent.has(index) || this.state === 'lost') return Promise.resolve();
    if (!this.requested.has(index)) {
      this.requested.add(index);
      this.fetched++;
      const o = new Out();
      o.u32(1);
      o.u32(index);
      this.socket.write(frame(MSG.FETCH, o.result()));
    }
    return new Promise((resolve) => {
      const list = this.waiters.get(index);
      if (list) list.push(resolve);
      else this.waiters.set(index, [resolve]);
    });
  }

  /** Every page is wanted (a virtio device is about to be reached): resolves when all are in, or lost. */
  all(): Promise<void> {
    if (this.absent.size === 0 || this.state === 'lost') return Promise.resolve();
    this.deviceWaits++;
    return new Promise((resolve) => this.allWaiters.push(resolve));
  }

  start(): void {
    this.t0 = performance.now();
    void this.receive();
  }

  /** Wait for the migration's end: true once every page is in, false if the VM was lost. */
  async settle(): Promise<boolean> {
    await this.finished;
    return this.state === 'complete';
  }

  private async receive(): Promise<void> {
    const pageCount = this.ram.pageCount;
    try {
      for (;;) {
        const m = await this.reader.expect(MSG.PAGES, MSG.END);
        if (m.type === MSG.END) {
          if (this.absent.size > 0) throw new StreamError(`${this.what}: END with ${this.absent.size} pages not sent (corrupt stream)`);
          new In(m.payload, this.what).end();
          break;
        }
        const r = new In(m.payload, this.what);
        r.u32(); // round
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          const index = r.u32();
          const kind = r.u8();
          if (index >= pageCount || kind > 1) throw new StreamError(`${this.what}: page ${index} of kind ${kind} in message ${this.reader.count} (corrupt stream)`);
          if (!this.absent.has(index)) throw new StreamError(`${this.what}: page ${index} was not missing or came twice (corrupt stream)`);
          this.arrive(index, kind === 1 ? r.bytes(PAGE) : ZERO);
        }
        r.end();
        this.reader.recycle(m);
      }
    } catch (e) {
      if (!(e instanceof StreamError)) throw e;
      this.lose(e.message);
      return;
    }
    this.uninstall(); // (already, unless there was nothing to send)
    this.state = 'complete';
    this.socket.end(frame(MSG.COMPLETE, new Uint8Array(0)));
    this.io.stderr(`wasmvisor: post-copy complete: ${this.total} pages in ${(performance.now() - this.t0).toFixed(0)} ms, ${this.fetched} fetched on demand, ${this.deviceWaits} device accesses waited for every page\n`);
    this.settled();
  }

  /** Page `index` is in: write it (its check passes now) and let whoever waits for it go on. */
  private arrive(index: number, data: Uint8Array): void {
    this.absent.delete(index);
    const t = this.target;
    const map = this.absentMap;
    if (map) map[index >> 3] &= ~(1 << (index & 7));
    this.ram.write(index, data);
    const list = this.waiters.get(index);
    if (list) {
      this.waiters.delete(index);
      for (const w of list) w();
    }
    if (this.absent.size === 0) {
      // Every page is in: the checks come off now (END only confirms), so nothing waits again.
      this.uninstall();
      for (const w of this.allWaiters.splice(0)) w();
    }
  }

  /**
   * The stream broke after the switch: the VM cannot go on (as QEMU/KVM document for post-copy,
   * a failure after the switch loses the guest). Stop it at once; it never runs again here.
   */
  private lose(why: string): void {
    this.state = 'lost';
    this.socket.destroy();
    const reason = why.startsWith(this.what) ? why.slice(this.what.length + 2) : why;
    this.io.stderr(`${this.what}: ${reason} during post-copy; the VM is lost: ${this.absent.size} of its pages never arrived, and it cannot run without them\n`);
    this.target.stop();
    for (const list of this.waiters.values()) for (const w of list) w();
    this.waiters.clear();
    for (const w of this.allWaiters.splice(0)) w();
    this.settled();
  }
}
