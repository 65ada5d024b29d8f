/**
 * Shadow page tables: the VMM's own gVA -> hPA tables, built from the guest's Sv39/Sv48 tables
 * (gVA -> gPA) and the VMM's guest memory map (gPA -> hPA), for a hart that translates in one
 * stage (trap-and-emulate: no H extension, no G-stage).
 *
 *            guest satp ──> guest tables (in guest RAM, write-protected) ──> gPA ──> hPA
 *                                   │ walked on a shadow miss                         ▲
 *   hart satp ──> shadow tables (host frames, 4 KiB leaves, U = 1) ───────────────────┘
 *
 * The classic design (Intel SDM "virtual TLB"; Xen's shadow2; KVM's shadow MMU):
 *   - Lazy fill: a shadow starts empty; a page fault on a missing or too weak shadow entry walks
 *     the guest's tables (priv spec §4.3.2) and installs one 4 KiB leaf (a guest superpage is
 *     shadowed page by page: its host frames are not contiguous).
 *   - Write protection: every guest page the walker read a PTE from is a page-table page; no
 *     shadow leaf maps it writable. A guest store to it faults, the VMM emulates the store and
 *     zaps the shadow entries derived from the PTE it changed (`ptWritten`).
 *   - A/D in step: a fill sets the guest PTE's A; a store sets D. A page whose guest PTE has
 *     D = 0 is shadowed read-only, so the first store faults and sets D.
 *   - Views: the guest kernel runs in real U-mode, so every shadow leaf has U = 1 and the guest's
 *     own U bit, SUM and MXR (§4.1.1.4, §4.3.1) are applied when the shadow is built: a shadow
 *     exists per (guest satp, view), view = virtual S or U, SUM, MXR. Guest user code therefore
 *     never sees a kernel (U = 0) page.
 *     A native pager (`native`, for --virt hw --paging shadow: the guest runs in real VS/VU mode
 *     and its shadow is the hart's vsatp) keeps the guest's own U, R, W, X in the shadow leaves
 *     and lets the hart apply SUM and MXR (vsstatus): one shadow per guest satp; the view of the
 *     faulting access is passed to fault() to tell the guest's own faults from shadow misses.
 *   - Paravirtual updates (--virt pv): `update` writes a guest PTE on the guest's behalf (Xen's
 *     mmu_update, validated by the caller) and zaps what it invalidates, with no write fault;
 *     `release` is Xen's MMUEXT_UNPIN_TABLE: the page is no longer a page table.
 *   - Cache: shadows are kept per guest satp (its PPN and ASID) and view, in a bounded LRU, so a
 *     context switch back to a known address space reuses its shadow; each cached shadow has its
 *     own hardware ASID, so switching needs no TLB flush either.
 *   - Isolation: a shadow leaf only ever points at the host frame of a guest RAM page (gpaToHpa);
 *     a guest PTE naming anything else is MMIO (no leaf) or an error for the guest.
 */

/** The VMM services a shadow pager needs. */
export interface ShadowHost {
  /** Host physical memory (the frames), by host physical address. */
  ram: { read64(hpa: bigint): bigint; write64(hpa: bigint, v: bigint): void };
  frames: { alloc(): bigint; release(hpa: bigint): void };
  /** Whether `gpa` is guest RAM. */
  isGuestRam(gpa: bigint): boolean;
  /** The host address of guest RAM byte `gpa` (backing its page on first use). */
  gpaToHpa(gpa: bigint): bigint | undefined;
  /** Drop every cached translation of the hart (its TLB). */
  flushTlb(): void;
}

export type ShadowAccess = 'read' | 'write' | 'fetch';

/** How the guest would access memory now: virtual U-mode or S-mode, and sstatus.SUM/MXR. */
export interface ShadowView {
  user: boolean;
  sum: boolean;
  mxr: boolean;
}

/** What a shadow miss turned out to be. */
export type ShadowFault =
  /** A leaf was installed: run the instruction again. */
  | { kind: 'filled' }
  /** The guest's own tables forbid it: deliver this page fault (12, 13, 15) to the guest. */
  | { kind: 'guest-fault'; cause: number }
  /** A store to a write-protected guest page-table page: emulate it, then call ptWritten. */
  | { kind: 'pt-write'; gpa: bigint }
  /** The guest maps a guest-physical address that is not RAM: a device (or nothing). */
  | { kind: 'mmio'; gpa: bigint }
  /** Something the VMM cannot resolve (a guest page table outside RAM, code outside RAM). */
  | { kind: 'bad'; what: string };

/** Counters of the shadow MMU. */
export interface ShadowCounters {
  /** Shadows created (a new guest satp and view, or one evicted before). */
  built: number;
  /** Switches to a shadow that was in the cache (a context switch that rebuilt nothing). */
  reused: number;
  /** Shadow leaves installed on page faults. */
  fills: number;
  /** Guest stores to its own page tables, emulated by the VMM. */
  ptWrites: number;
  /** Guest pages no longer treated as page tables: written FLOOD_WRITES times with no walk through them. */
  unprotects: number;
  /** Shadow entries removed because the guest PTE they came from changed. */
  zaps: number;
  /** Shadow leaves made read-only because their page became a guest page table. */
  writeProtects: number;
  /** Flushes of the hart's TLB the shadow MMU made (zaps, evictions). */
  tlbFlushes: number;
  /** Guest sfence.vma instructions (emulated). */
  sfences: number;
  /** Shadows dropped to stay within the cache bounds. */
  evictions: number;
  /** Guest PTEs written by the VMM for the guest (paravirtual mmu_update). */
  pvUpdates: number;
  /** Page-table pages the guest gave back (paravirtual unpin). */
  released: number;
  /** Shadow tables (host frames) alive now. */
  frames: number;
}

const PTE_V = 1n, PTE_R = 2n, PTE_W = 4n, PTE_X = 8n, PTE_U = 16n, PTE_A = 64n, PTE_D = 128n;
const PPN_MASK = (1n << 44n) - 1n;
const PAGE = 4096n;
const PAGE_MASK = ~(PAGE - 1n);
const PTE_RESERVED = 0x3ffn << 54n; // N, PBMT, reserved: must be 0 (no Svnapot/Svpbmt here)

/**
 * Emulated writes to a guest page-table page, with no walk reading it in between, after which
 * it is taken for an ordinary page again (KVM's write-flooding detection): a freed page table
 * the guest reuses as data (zeroing it, say) would otherwise fault on every store. The shadow
 * entries that depend on it are dropped, so the next walk through it protects it again.
 */
export const FLOOD_WRITES = 8;
/** Most shadows cached at once (each with its own hardware ASID 1..MAX_SHADOWS). */
export const MAX_SHADOWS = 16;
/** Most shadow-table frames alive at once; past it, the least recently used shadows go. */
export const MAX_SHADOW_FRAMES = 1024;

/** Guest satp (mode 63:60, ASID 59:44, PPN 43:0). */
const satpMode = (satp: bigint): number => Number(satp >> 60n);

/** One shadow: the tables for one guest satp and view. */
class Shadow {
  alive = true;
  /** Every frame of its tables (the root first), freed together. */
  readonly frames: bigint[];
  constructor(readonly key: bigint, readonly gsatp: bigint, readonly view: ShadowView, readonly asid: number, readonly root: bigint) {
    this.frames = [root];
  }
  /** Levels of the shadow (and of the guest's tables): Sv39 3, Sv48 4; Bare guests get Sv39. */
  get levels(): number {
    return satpMode(this.gsatp) === 9 ? 4 : 3;
  }
  /** The hart's satp for it. */
  get hartSatp(): bigint {
    return (BigInt(this.levels === 4 ? 9 : 8) << 60n) | (BigInt(this.asid) << 44n) | (this.root >> 12n);
  }
}

/** A place a shadow depends on a guest page-table page: the table at `level` covering `vaBase`. */
interface PtUse {
  sh: Shadow;
  level: number;
  vaBase: bigint;
}

/** A shadow leaf that maps a guest page (reverse map, for write protection). */
interface Rmap {
  sh: Shadow;
  pteHpa: bigint;
}

/** A successful guest walk. */
interface GuestLeaf {
  gpa: bigint;
  pte: bigint;
}

/** The shadow MMU of one vCPU. */
export class ShadowPager {
  readonly counters: ShadowCounters = {
    built: 0, reused: 0, fills: 0, ptWrites: 0, unprotects: 0, zaps: 0, writeProtects: 0, tlbFlushes: 0, sfences: 0, evictions: 0, frames: 0,
    pvUpdates: 0, released: 0,
  };
  /** Cached shadows, least recently used first (Map keeps insertion order). */
  private readonly cache = new Map<bigint, Shadow>();
  private current: Shadow | undefined;
  /** Guest page-table pages (gPA >> 12) and the shadow tables that depend on each. */
  private readonly ptUses = new Map<bigint, PtUse[]>();
  /** Emulated writes to each guest page-table page since a walk last read it (write flooding). */
  private readonly floods = new Map<bigint, number>();
  /** The page-table pages the last walk read. */
  private walked: bigint[] = [];
  /** Guest pages (gPA >> 12) -> the shadow leaves that map them. */
  private readonly rmap = new Map<bigint, Rmap[]>();
  private readonly freeAsids: number[] = [];

  /**
   * `native`: shadow leaves keep the guest's U/R/W/X and the hart checks privilege, SUM and MXR
   * (the guest runs in VS/VU, the shadow is in vsatp); otherwise leaves are U = 1 with a view's
   * permissions (the guest runs in real U-mode).
   */
  constructor(private readonly host: ShadowHost, private readonly native = false) {
    for (let a = MAX_SHADOWS; a >= 1; a--) this.freeAsids.push(a);
  }

  /**
   * The hart's satp for guest satp `gsatp` seen through `view`: the cached shadow, or a new
   * empty one. A guest with satp = Bare gets an identity-like shadow (gVA = gPA -> hPA), the
   * same for every view since Bare has no permission checks (§4.1.11).
   */
  activate(gsatp: bigint, view: ShadowView): bigint {
    const bare = satpMode(gsatp) === 0;
    // Native Bare shadows differ by privilege only (U = 1 leaves for VU code, U = 0 for VS).
    const key = this.native ? (bare ? (view.user ? 1n : 0n) : gsatp << 3n)
      : bare ? 0n : (gsatp << 3n) | (view.user ? 1n : 0n) | (view.sum ? 2n : 0n) | (view.mxr ? 4n : 0n);
    const cur = this.current;
    if (cur !== undefined && cur.alive && cur.key === key) return cur.hartSatp;
    let sh = this.cache.get(key);
    if (sh !== undefined) {
      this.cache.delete(key); // most recently used goes last
      this.cache.set(key, sh);
      this.counters.reused++;
    } else {
      while (this.cache.size >= MAX_SHADOWS) this.drop(this.cache.values().next().value as Shadow);
      const asid = this.freeAsids.pop() as number;
      sh = new Shadow(key, bare ? 0n : gsatp, { ...view }, asid, this.allocFrame());
      this.cache.set(key, sh);
      this.counters.built++;
    }
    this.current = sh;
    return sh.hartSatp;
  }

  /** The guest executed sfence.vma: the shadows are kept exact by write protection, so it only counts. */
  sfence(): void {
    this.counters.sfences++;
  }

  /** Whether the guest page holding `gpa` is one of its page tables (write-protected). */
  isPageTable(gpa: bigint): boolean {
    return this.ptUses.has(gpa >> 12n);
  }

  /**
   * A page fault of the current shadow at `gva`: fill the shadow from the guest's tables, or say
   * what else it is. The caller has activated the shadow for the guest's current satp and view;
   * a native pager takes the view of the faulting access (privilege, SUM, MXR) in `view`.
   */
  fault(gva: bigint, access: ShadowAccess, view?: ShadowView): ShadowFault {
    const sh = this.current;
    if (sh === undefined) return { kind: 'bad', what: 'page fault with no shadow active' };
    let leaf: GuestLeaf;
    if (satpMode(sh.gsatp) === 0) {
      leaf = { gpa: gva, pte: PTE_R | PTE_W | PTE_X | (sh.view.user ? PTE_U : 0n) | PTE_A | PTE_D };
    } else {
      const w = this.walk(sh, gva, access, view ?? sh.view);
      if (typeof w === 'number') return { kind: 'guest-fault', cause: w };
      if ('kind' in w) return w;
      leaf = w;
    }
    const gpa = leaf.gpa;
    if (!this.host.isGuestRam(gpa)) {
      if (access === 'fetch') return { kind: 'bad', what: `instruction fetch from guest-physical 0x${gpa.toString(16)}, which is not RAM` };
      return { kind: 'mmio', gpa };
    }
    const pt = this.isPageTable(gpa);
    this.install(sh, gva, gpa, leaf.pte, pt);
    if (access === 'write' && pt) return { kind: 'pt-write', gpa };
    // A walk for anything but the emulated store itself shows the tables it read are in use.
    for (const p of this.walked) this.floods.delete(p);
    this.counters.fills++;
    return { kind: 'filled' };
  }

  /**
   * The VMM wrote `len` bytes at guest-physical `gpa` of a guest page table (an emulated guest
   * store): remove every shadow entry derived from the PTEs it touched, in every shadow.
   */
  ptWritten(gpa: bigint, len: number): void {
    this.counters.ptWrites++;
    const page = gpa >> 12n;
    const uses = this.ptUses.get(page);
    if (uses === undefined) return;
    const n = (this.floods.get(page) ?? 0) + 1;
    this.floods.set(page, n);
    if (n >= FLOOD_WRITES) {
      this.unprotect(page, uses);
      return;
    }
    this.zapWritten(uses, gpa, len);
  }

  /**
   * Write guest PTE `val` at guest-physical `gpa` (8-aligned, guest RAM: the caller validated
   * both, and the PTE) for the guest, and zap the shadow entries derived from the old one: a
   * paravirtual mmu_update, which needs no write fault and counts no flooding.
   */
  update(gpa: bigint, val: bigint): void {
    this.counters.pvUpdates++;
    this.host.ram.write64(this.host.gpaToHpa(gpa) as bigint, val);
    const uses = this.ptUses.get(gpa >> 12n);
    if (uses !== undefined) this.zapWritten(uses, gpa, 8);
  }

  /** The guest no longer uses the page at `gpa` as a page table (Xen's MMUEXT_UNPIN_TABLE): stop protecting it. */
  release(gpa: bigint): void {
    const page = gpa >> 12n;
    const uses = this.ptUses.get(page);
    this.counters.released++;
    if (uses !== undefined) this.unprotect(page, uses);
  }

  /** Zap, in every shadow that read the page, the entries derived from the PTEs of [gpa, gpa + len). */
  private zapWritten(uses: PtUse[], gpa: bigint, len: number): void {
    const first = Number((gpa & 0xfffn) >> 3n);
    const last = Number(((gpa + BigInt(len) - 1n) & 0xfffn) >> 3n);
    let zapped = false;
    for (const u of uses) {
      if (!u.sh.alive) continue;
      for (let idx = first; idx <= last; idx++) {
        if (this.zap(u.sh, u.level, u.vaBase + (BigInt(idx) << BigInt(12 + 9 * u.level)))) zapped = true;
      }
    }
    if (zapped) this.flush();
  }

  /** Every leaf of every live shadow (for tests and the isolation check). */
  *leaves(): Generator<{ gsatp: bigint; view: ShadowView; va: bigint; pte: bigint; hpa: bigint }> {
    for (const sh of this.cache.values()) {
      const levels = sh.levels;
      const visit = function* (this: ShadowPager, table: bigint, level: number, va: bigint): Generator<{ gsatp: bigint; view: ShadowView; va: bigint; pte: bigint; hpa: bigint }> {
        for (let i = 0n; i < 512n; i++) {
          const pte = this.host.ram.read64(table + i * 8n);
          if ((pte & PTE_V) === 0n) continue;
          const a = va | (i << BigInt(12 + 9 * level));
          if (level === 0) {
            // Sign-extend from the top bit of the shadow's VA width (canonical addresses).
            const bits = BigInt(12 + 9 * levels);
            const sva = BigInt.asUintN(64, BigInt.asIntN(Number(bits), a));
            yield { gsatp: sh.gsatp, view: sh.view, va: sva, pte, hpa: ((pte >> 10n) & PPN_MASK) << 12n };
          } else {
            yield* visit.call(this, ((pte >> 10n) & PPN_MASK) << 12n, level - 1, a);
          }
        }
      };
      yield* visit.call(this, sh.root, levels - 1, 0n);
    }
  }

  /** Drop every shadow and forget every guest page table (a reset: guest RAM is given back). */
  clear(): void {
    for (const sh of [...this.cache.values()]) this.drop(sh);
    this.ptUses.clear();
    this.floods.clear();
    this.rmap.clear();
  }

  // ---- the guest walk ----

  /**
   * Walk the guest's tables for `gva` (priv spec §4.3.2), as the core's walker does (Svadu: A and
   * D are set, not faulted on; bits 63:54 must be 0; non-leaf PTEs must have A = D = U = 0),
   * recording every page-table page it reads. Returns the leaf, a page-fault cause, or 'bad'.
   */
  private walk(sh: Shadow, gva: bigint, access: ShadowAccess, view: ShadowView): GuestLeaf | number | ShadowFault {
    const pf = access === 'fetch' ? 12 : access === 'read' ? 13 : 15;
    const levels = sh.levels;
    const vaBits = BigInt(12 + 9 * levels);
    if (BigInt.asUintN(64, BigInt.asIntN(Number(vaBits), gva)) !== gva) return pf; // not canonical
    this.walked.length = 0;
    let table = (sh.gsatp & PPN_MASK) << 12n;
    for (let level = levels - 1; level >= 0; level--) {
      const shift = BigInt(12 + 9 * level);
      const pteGpa = table + ((gva >> shift) & 511n) * 8n;
      const pteHpa = this.host.isGuestRam(pteGpa) ? this.host.gpaToHpa(pteGpa) : undefined;
      if (pteHpa === undefined) return { kind: 'bad', what: `guest page table at guest-physical 0x${pteGpa.toString(16)}, which is not RAM` };
      this.usePageTable(sh, table, level, gva & ~((1n << (shift + 9n)) - 1n));
      let pte = this.host.ram.read64(pteHpa);
      if ((pte & PTE_V) === 0n || ((pte & PTE_R) === 0n && (pte & PTE_W) !== 0n) || (pte & PTE_RESERVED) !== 0n) return pf;
      const ppn = (pte >> 10n) & PPN_MASK;
      if ((pte & (PTE_R | PTE_X)) === 0n) {
        if ((pte & (PTE_A | PTE_D | PTE_U)) !== 0n) return pf;
        table = ppn << 12n;
        continue;
      }
      // A leaf (§4.3.2 steps 5-8).
      if (!allowed(pte, view, access)) return pf;
      if (level > 0 && (ppn & ((1n << BigInt(9 * level)) - 1n)) !== 0n) return pf; // misaligned superpage
      const want = PTE_A | (access === 'write' ? PTE_D : 0n);
      if ((pte & want) !== want) {
        pte |= want;
        this.host.ram.write64(pteHpa, pte);
      }
      const low = (1n << shift) - 1n;
      return { gpa: ((ppn << 12n) & ~low) | (gva & low), pte };
    }
    return pf;
  }

  /** Note that `sh` read the guest table at `table` (level `level`, covering vaBase); write-protect it if new. */
  private usePageTable(sh: Shadow, table: bigint, level: number, vaBase: bigint): void {
    const page = table >> 12n;
    this.walked.push(page);
    let uses = this.ptUses.get(page);
    if (uses === undefined) {
      this.ptUses.set(page, (uses = []));
      this.writeProtect(page);
    }
    for (const u of uses) if (u.sh === sh && u.level === level && u.vaBase === vaBase) return;
    if (uses.length > 64) this.ptUses.set(page, (uses = uses.filter((u) => u.sh.alive)));
    uses.push({ sh, level, vaBase });
  }

  /**
   * Stop treating `page` as a page table: remove every shadow entry that came through it (the
   * parent entry that points at it; a whole shadow when it is a root), so no shadow depends on
   * its contents any more, and let stores to it run (its leaves get W back on their next fault).
   */
  private unprotect(page: bigint, uses: PtUse[]): void {
    this.counters.unprotects++;
    this.ptUses.delete(page);
    this.floods.delete(page);
    for (const u of uses) {
      if (!u.sh.alive) continue;
      if (u.level === u.sh.levels - 1) this.drop(u.sh);
      else this.zap(u.sh, u.level + 1, u.vaBase);
    }
    this.flush();
  }

  /** A guest page just became a page table: no shadow leaf may map it writable any more. */
  private writeProtect(page: bigint): void {
    const maps = this.rmap.get(page);
    if (maps === undefined) return;
    const hpa = this.host.gpaToHpa(page << 12n) as bigint;
    let changed = false;
    for (const m of maps) {
      if (!m.sh.alive) continue;
      const pte = this.host.ram.read64(m.pteHpa);
      if ((pte & (PTE_V | PTE_W)) === (PTE_V | PTE_W) && ((pte >> 10n) & PPN_MASK) << 12n === hpa) {
        this.host.ram.write64(m.pteHpa, pte & ~PTE_W);
        this.counters.writeProtects++;
        changed = true;
      }
    }
    if (changed) this.flush();
  }

  // ---- the shadow tables ----

  /** Install the 4 KiB shadow leaf for `gva` -> the frame of `gpa`, with the permissions of the guest PTE in this view. */
  private install(sh: Shadow, gva: bigint, gpa: bigint, pte: bigint, pageTable: boolean): void {
    const hpa = (this.host.gpaToHpa(gpa) as bigint) & PAGE_MASK;
    const v = sh.view;
    const bare = satpMode(sh.gsatp) === 0;
    let perm = 0n;
    let u = PTE_U;
    if (this.native) {
      // The guest's own bits: the hart checks VS/VU against U, and SUM and MXR (§8.5, §4.3.1).
      perm = pte & (PTE_R | PTE_X);
      if ((pte & (PTE_W | PTE_D)) === (PTE_W | PTE_D) && !pageTable) perm |= PTE_W;
      u = pte & PTE_U;
    } else {
      if (bare || allowed(pte, v, 'read')) perm |= PTE_R;
      if ((bare || (allowed(pte, v, 'write') && (pte & PTE_D) !== 0n)) && !pageTable) perm |= PTE_W;
      if (bare || allowed(pte, v, 'fetch')) perm |= PTE_X;
    }
    let table = sh.root;
    for (let level = sh.levels - 1; level > 0; level--) {
      const slot = table + ((gva >> BigInt(12 + 9 * level)) & 511n) * 8n;
      const e = this.host.ram.read64(slot);
      if ((e & PTE_V) !== 0n) {
        table = ((e >> 10n) & PPN_MASK) << 12n;
        continue;
      }
      const next = this.allocFrame();
      if (!sh.alive) {
        // The frame budget evicted this very shadow: give the frame back; the next entry
        // activates a new shadow and the fault comes again.
        this.host.frames.release(next);
        this.counters.frames--;
        return;
      }
      sh.frames.push(next);
      this.host.ram.write64(slot, ((next >> 12n) << 10n) | PTE_V);
      table = next;
    }
    const slot = table + ((gva >> 12n) & 511n) * 8n;
    const old = this.host.ram.read64(slot);
    const leaf = ((hpa >> 12n) << 10n) | perm | PTE_V | u | PTE_A | PTE_D;
    this.host.ram.write64(slot, leaf);
    // A leaf that gets weaker (or moves) may be cached by the hart: flush. A new or stronger one needs nothing.
    if ((old & PTE_V) !== 0n && (((old >> 10n) & PPN_MASK) << 12n !== hpa || (old & ~leaf & (PTE_R | PTE_W | PTE_X)) !== 0n)) this.flush();
    const page = gpa >> 12n;
    let maps = this.rmap.get(page);
    if (maps === undefined) this.rmap.set(page, (maps = []));
    else if (maps.length > 64) this.rmap.set(page, (maps = maps.filter((m) => m.sh.alive)));
    maps.push({ sh, pteHpa: slot });
  }

  /** Clear the entry of shadow `sh` at `level` for `va` (its subtree stays owned by sh until it is dropped). */
  private zap(sh: Shadow, level: number, va: bigint): boolean {
    let table = sh.root;
    for (let l = sh.levels - 1; l >= level; l--) {
      const slot = table + ((va >> BigInt(12 + 9 * l)) & 511n) * 8n;
      const e = this.host.ram.read64(slot);
      if ((e & PTE_V) === 0n) return false;
      if (l === level) {
        this.host.ram.write64(slot, 0n);
        this.counters.zaps++;
        return true;
      }
      table = ((e >> 10n) & PPN_MASK) << 12n;
    }
    return false;
  }

  /** A zeroed host frame for a shadow table, within the frame budget. */
  private allocFrame(): bigint {
    if (this.counters.frames >= MAX_SHADOW_FRAMES) {
      // Over budget: drop shadows, least recently used first (the current one last).
      for (const sh of [...this.cache.values()]) {
        if (sh === this.current && this.cache.size > 1) continue;
        this.drop(sh);
        if (this.counters.frames < MAX_SHADOW_FRAMES / 2) break;
      }
    }
    this.counters.frames++;
    return this.host.frames.alloc();
  }

  /** Free a shadow's tables and its ASID. */
  private drop(sh: Shadow): void {
    if (!sh.alive) return;
    sh.alive = false;
    this.cache.delete(sh.key);
    for (const f of sh.frames) this.host.frames.release(f);
    this.counters.frames -= sh.frames.length;
    this.freeAsids.push(sh.asid);
    this.counters.evictions++;
    if (this.current === sh) this.current = undefined;
    this.flush();
  }

  private flush(): void {
    this.counters.tlbFlushes++;
    this.host.flushTlb();
  }
}

/** Whether a guest leaf PTE allows `access` in `view` (priv spec §4.3.1 U bit, SUM, MXR). */
function allowed(pte: bigint, view: ShadowView, access: ShadowAccess): boolean {
  const u = (pte & PTE_U) !== 0n;
  if (view.user ? !u : u && (access === 'fetch' || !view.sum)) return false;
  if (access === 'fetch') return (pte & PTE_X) !== 0n;
  if (access === 'write') return (pte & PTE_W) !== 0n;
  return (pte & PTE_R) !== 0n || (view.mxr && (pte & PTE_X) !== 0n);
}
