/**
 * The shadow pager (host/vmm/paging/shadow.ts) against hand-built guest Sv39 tables: lazy fills,
 * A/D kept in step, write protection of guest page tables and the zap on an emulated write,
 * the virtual S/U views with SUM and MXR, the per-satp cache, Bare guests, and guest PTEs that
 * point outside guest RAM.
 */
import { describe, expect, it } from 'vitest';
import { FLOOD_WRITES, ShadowPager, type ShadowView } from '../../../host/vmm/paging/shadow';
import { FakeShadowHost, GPA_BASE, PTE, pte, sv39 } from './shadow-host';

const page = (i: number) => GPA_BASE + BigInt(i) * 4096n;
const ROOT = page(0), L1 = page(1), L0 = page(2);
const USER: ShadowView = { user: true, sum: false, mxr: false };
const KERNEL: ShadowView = { user: false, sum: false, mxr: false };
const { V, R, W, X, U, A, D } = PTE;

/** Guest tables: root[0] -> L1, L1[0] -> L0; L0[n] maps VA n * 4 KiB. */
function setup(leaves: Record<number, bigint>, pages = 16) {
  const host = new FakeShadowHost(pages);
  host.writeGuest64(ROOT, pte(L1, V));
  host.writeGuest64(L1, pte(L0, V));
  for (const [n, e] of Object.entries(leaves)) host.writeGuest64(L0 + BigInt(n) * 8n, e);
  const pager = new ShadowPager(host);
  return { host, pager };
}

/** The shadow leaf for `va` in the current shadows (the only one, in these tests). */
function leafAt(pager: ShadowPager, va: bigint) {
  const all = [...pager.leaves()].filter((l) => l.va === va);
  expect(all.length).toBeLessThanOrEqual(1);
  return all[0];
}
const perms = (e: bigint) => e & (V | R | W | X | U | A | D);

describe('shadow fills', () => {
  it('a read fills a read-only leaf (D = 0) and sets the guest A; the first write sets D and grants W', () => {
    const { host, pager } = setup({ 1: pte(page(3), V | R | W | U) });
    pager.activate(sv39(ROOT, 5n), USER);
    expect(pager.fault(0x1234n, 'read')).toEqual({ kind: 'filled' });
    expect(host.readGuest64(L0 + 8n)).toBe(pte(page(3), V | R | W | U | A));
    let l = leafAt(pager, 0x1000n);
    expect(l.hpa).toBe(host.guestFrames[3]);
    expect(perms(l.pte)).toBe(V | R | U | A | D);
    expect(pager.fault(0x1238n, 'write')).toEqual({ kind: 'filled' });
    expect(host.readGuest64(L0 + 8n)).toBe(pte(page(3), V | R | W | U | A | D));
    l = leafAt(pager, 0x1000n);
    expect(perms(l.pte)).toBe(V | R | W | U | A | D);
    expect(pager.counters.fills).toBe(2);
  });

  it('a guest superpage is shadowed 4 KiB at a time, from the right frame', () => {
    const host = new FakeShadowHost(1024);
    const pager = new ShadowPager(host);
    host.writeGuest64(ROOT, pte(L1, V));
    host.writeGuest64(L1 + 8n, pte(page(512), V | R | W | X | U | A | D)); // 2 MiB at VA 0x200000
    pager.activate(sv39(ROOT), USER);
    expect(pager.fault(0x203456n, 'write')).toEqual({ kind: 'filled' });
    expect(leafAt(pager, 0x203000n).hpa).toBe(host.guestFrames[515]);
  });

  it('the guest own faults are page faults for the guest: no leaf is made', () => {
    const { pager } = setup({ 1: pte(page(3), V | R | U), 2: pte(page(4), R | W | U), 3: pte(page(5), V | W | U) });
    pager.activate(sv39(ROOT), USER);
    expect(pager.fault(0x1000n, 'write')).toEqual({ kind: 'guest-fault', cause: 15 }); // read-only
    expect(pager.fault(0x1000n, 'fetch')).toEqual({ kind: 'guest-fault', cause: 12 }); // not executable
    expect(pager.fault(0x2000n, 'read')).toEqual({ kind: 'guest-fault', cause: 13 }); // V = 0
    expect(pager.fault(0x3000n, 'read')).toEqual({ kind: 'guest-fault', cause: 13 }); // W without R
    expect(pager.fault(0x4000_0000_0000n, 'read')).toEqual({ kind: 'guest-fault', cause: 13 }); // not canonical
    expect([...pager.leaves()]).toEqual([]);
  });
});

describe('views: virtual S and U, SUM, MXR (priv spec 4.3.1)', () => {
  const leaves = { 1: pte(page(3), V | R | W | U | A | D), 4: pte(page(6), V | R | W | X | A | D), 5: pte(page(7), V | X | U | A) };
  it('guest user code never reaches a kernel (U = 0) page', () => {
    const { pager } = setup(leaves);
    pager.activate(sv39(ROOT), USER);
    for (const acc of ['read', 'write', 'fetch'] as const) {
      expect(pager.fault(0x4000n, acc)).toEqual({ kind: 'guest-fault', cause: acc === 'fetch' ? 12 : acc === 'read' ? 13 : 15 });
    }
    expect(leafAt(pager, 0x4000n)).toBeUndefined();
  });
  it('the kernel view maps kernel pages with all their rights, and user pages only with SUM, never executable', () => {
    const { host, pager } = setup(leaves);
    pager.activate(sv39(ROOT), KERNEL);
    expect(pager.fault(0x4000n, 'fetch')).toEqual({ kind: 'filled' });
    expect(perms(leafAt(pager, 0x4000n).pte)).toBe(V | R | W | X | U | A | D); // U = 1: the kernel runs in real U-mode
    expect(pager.fault(0x1000n, 'read')).toEqual({ kind: 'guest-fault', cause: 13 });
    pager.activate(sv39(ROOT), { user: false, sum: true, mxr: false });
    expect(pager.fault(0x1000n, 'fetch')).toEqual({ kind: 'guest-fault', cause: 12 });
    expect(pager.fault(0x1000n, 'write')).toEqual({ kind: 'filled' });
    const l = [...pager.leaves()].find((e) => e.va === 0x1000n && e.view.sum);
    expect(l && perms(l.pte)).toBe(V | R | W | U | A | D);
    expect(l?.hpa).toBe(host.guestFrames[3]);
  });
  it('MXR makes an execute-only page readable', () => {
    const { pager } = setup(leaves);
    pager.activate(sv39(ROOT), USER);
    expect(pager.fault(0x5000n, 'read')).toEqual({ kind: 'guest-fault', cause: 13 });
    pager.activate(sv39(ROOT), { user: true, sum: false, mxr: true });
    expect(pager.fault(0x5000n, 'read')).toEqual({ kind: 'filled' });
    const l = [...pager.leaves()].find((e) => e.va === 0x5000n && e.view.mxr);
    expect(l && perms(l.pte)).toBe(V | R | X | U | A | D);
  });
});

describe('write protection of guest page tables', () => {
  it('a store to a page table is handed back for emulation; the write zaps the shadow entry it changed', () => {
    // VA 0x2000 maps the L0 table itself (a guest that edits its tables through a mapping).
    const { host, pager } = setup({ 1: pte(page(3), V | R | W | U | A | D), 2: pte(L0, V | R | W | U | A | D) });
    pager.activate(sv39(ROOT), USER);
    expect(pager.fault(0x1000n, 'read')).toEqual({ kind: 'filled' });
    expect(pager.fault(0x2008n, 'write')).toEqual({ kind: 'pt-write', gpa: L0 + 8n });
    expect(perms(leafAt(pager, 0x2000n).pte)).toBe(V | R | U | A | D); // mapped, but read-only
    const flushes = host.flushes;
    host.writeGuest64(L0 + 8n, pte(page(4), V | R | W | U | A | D)); // the VMM emulates the store...
    pager.ptWritten(L0 + 8n, 8); // ...and tells the pager
    expect(leafAt(pager, 0x1000n)).toBeUndefined();
    expect(host.flushes).toBe(flushes + 1);
    expect(pager.counters).toMatchObject({ ptWrites: 1, zaps: 1 });
    expect(pager.fault(0x1000n, 'read')).toEqual({ kind: 'filled' });
    expect(leafAt(pager, 0x1000n).hpa).toBe(host.guestFrames[4]);
  });

  it('a writable leaf loses W when its page becomes a page table', () => {
    const { host, pager } = setup({ 3: pte(page(5), V | R | W | U | A | D) });
    pager.activate(sv39(ROOT), USER);
    expect(pager.fault(0x3000n, 'write')).toEqual({ kind: 'filled' });
    expect(perms(leafAt(pager, 0x3000n).pte) & W).toBe(W);
    // L1[1] -> page 5 as the L0 table of VA 0x200000 (the VMM emulated that store to L1).
    host.writeGuest64(L1 + 8n, pte(page(5), V));
    pager.ptWritten(L1 + 8n, 8);
    host.writeGuest64(page(5), pte(page(6), V | R | U | A));
    expect(pager.fault(0x200000n, 'read')).toEqual({ kind: 'filled' });
    expect(perms(leafAt(pager, 0x3000n).pte) & W).toBe(0n);
    expect(pager.counters.writeProtects).toBe(1);
    expect(pager.fault(0x3010n, 'write')).toEqual({ kind: 'pt-write', gpa: page(5) + 0x10n });
  });

  it(`${FLOOD_WRITES} writes with no walk through the table in between: it is an ordinary page again`, () => {
    // L1[1] -> page 9, the L0 table of VA 0x200000; VA 0x2000 maps page 9 for the guest to edit it.
    const { host, pager } = setup({ 2: pte(page(9), V | R | W | U | A | D) });
    host.writeGuest64(L1 + 8n, pte(page(9), V));
    host.writeGuest64(page(9), pte(page(3), V | R | U | A));
    pager.activate(sv39(ROOT), USER);
    expect(pager.fault(0x200000n, 'read')).toEqual({ kind: 'filled' });
    for (let i = 0; i < FLOOD_WRITES; i++) {
      const gpa = page(9) + 0x100n + BigInt(i) * 8n;
      expect(pager.fault(0x2100n + BigInt(i) * 8n, 'write')).toEqual({ kind: 'pt-write', gpa });
      pager.ptWritten(gpa, 8);
    }
    expect(pager.counters.unprotects).toBe(1);
    expect(pager.isPageTable(page(9))).toBe(false);
    expect(leafAt(pager, 0x200000n)).toBeUndefined(); // what came through it is gone
    expect(pager.fault(0x2000n, 'write')).toEqual({ kind: 'filled' });
    expect(perms(leafAt(pager, 0x2000n).pte) & W).toBe(W);
    // A walk through it makes it a page table again.
    expect(pager.fault(0x200000n, 'read')).toEqual({ kind: 'filled' });
    expect(perms(leafAt(pager, 0x2000n).pte) & W).toBe(0n);
  });
});

describe('the shadow cache', () => {
  it('a switch back to a known satp reuses its shadow, with its own hardware ASID', () => {
    const { host, pager } = setup({ 1: pte(page(3), V | R | U | A) });
    host.writeGuest64(page(8), pte(L1, V)); // a second root sharing the lower tables
    const a = pager.activate(sv39(ROOT, 1n), USER);
    pager.fault(0x1000n, 'read');
    const b = pager.activate(sv39(page(8), 2n), USER);
    expect(pager.activate(sv39(ROOT, 1n), USER)).toBe(a);
    expect(pager.fault(0x1000n, 'read')).toEqual({ kind: 'filled' }); // (a's own entry is still there:)
    expect(pager.counters).toMatchObject({ built: 2, reused: 1 });
    expect((a >> 44n) & 0xffffn).not.toBe((b >> 44n) & 0xffffn);
    expect(a >> 60n).toBe(8n);
  });
});

describe('Bare and out-of-RAM targets', () => {
  it('a Bare guest gets gVA = gPA -> hPA; a non-RAM address is MMIO, never a leaf', () => {
    const { host, pager } = setup({});
    pager.activate(0n, KERNEL);
    expect(pager.fault(page(3) + 0x10n, 'fetch')).toEqual({ kind: 'filled' });
    expect(leafAt(pager, page(3)).hpa).toBe(host.guestFrames[3]);
    expect(pager.fault(0x1000_0000n, 'write')).toEqual({ kind: 'mmio', gpa: 0x1000_0000n });
    expect(pager.fault(0x1000_0000n, 'fetch').kind).toBe('bad');
    expect(leafAt(pager, 0x1000_0000n)).toBeUndefined();
  });
  it('a guest PTE naming a non-RAM address is MMIO; a table outside RAM is an error', () => {
    const { host, pager } = setup({ 1: pte(0x1000_0000n, V | R | W | U | A | D) });
    host.writeGuest64(L1 + 8n, pte(0x2000_0000n, V));
    pager.activate(sv39(ROOT), USER);
    expect(pager.fault(0x1004n, 'read')).toEqual({ kind: 'mmio', gpa: 0x1000_0004n });
    expect(pager.fault(0x200000n, 'read')).toEqual({ kind: 'bad', what: 'guest page table at guest-physical 0x20000000, which is not RAM' });
    expect([...pager.leaves()]).toEqual([]);
  });
});
