/**
 * Isolation of shadow paging (issue 13, part 6), as a property: a guest that writes its page
 * tables at random (valid and wild PTEs, PTEs naming addresses outside its RAM, reserved bits,
 * superpages, tables that point at themselves) and touches memory at random through every view
 * (virtual U or S, SUM, MXR) and two address spaces can never make a shadow entry that
 *   - points anywhere but at the host frame of one of its own RAM pages, or
 *   - differs from what the reference walker (host/vmm/walk.ts: gVA -> gPA from the spec, then
 *     gPA -> hPA) says for the guest's tables as they are now, or allows an access they forbid,
 *     or is writable while it maps a guest page table.
 * Guest stores to its page tables go through the VMM's emulation path (ptWritten), as they do
 * when the write-protection fault is emulated; stores to other pages change no shadow input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShadowPager, type ShadowAccess } from '../../../host/vmm/paging/shadow';
import { walk2d } from '../../../host/vmm/walk';
import { FakeShadowHost, GPA_BASE, pte, sv39 } from './shadow-host';

const SEED = 0x13_5ead;
const RUNS = 300;
const PAGES = 24;
const page = (i: number) => GPA_BASE + BigInt(i) * 4096n;

/** A PTE the guest might write: to one of its pages (often a table page), or to wild addresses. */
const pteArb = fc.record({
  target: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: PAGES - 1 }).map(page) },
    { weight: 1, arbitrary: fc.constantFrom(0n, 0x1000_0000n, page(PAGES), 0x7fff_f000n, 0xff_ffff_f000n, 0x3f_ffff_ffff_f000n) },
  ),
  flags: fc.integer({ min: 0, max: 255 }).map(BigInt),
  valid: fc.oneof({ weight: 5, arbitrary: fc.constant(1n) }, { weight: 1, arbitrary: fc.constant(0n) }),
  high: fc.oneof({ weight: 12, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: fc.constantFrom(1n << 54n, 1n << 63n) }),
}).map((p) => pte(p.target, p.flags | p.valid) | p.high);

const INDEX = [0, 1, 2, 3, 511] as const;
const step = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('store' as const),
      page: fc.integer({ min: 0, max: 7 }), // the pages that start as (or may become) tables
      index: fc.constantFrom(...INDEX),
      value: fc.oneof({ weight: 10, arbitrary: pteArb }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('flip' as const), page: fc.integer({ min: 0, max: 7 }), index: fc.constantFrom(...INDEX), bit: fc.integer({ min: 0, max: 9 }) }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('touch' as const),
      root: fc.constantFrom(0, 1),
      asid: fc.constantFrom(1n, 2n),
      vpn: fc.tuple(fc.constantFrom(0n, 1n, 511n), fc.constantFrom(0n, 1n, 2n, 3n), fc.constantFrom(...INDEX.map(BigInt))),
      access: fc.constantFrom<ShadowAccess>('read', 'write', 'fetch'),
      user: fc.boolean(), sum: fc.boolean(), mxr: fc.boolean(),
    }),
  },
);

/**
 * The guest's starting tables: roots at pages 0 and 1 (two address spaces) share the level-1
 * table at page 2 (VA 0 and 1 GiB); it points at level-0 tables 3 and 4 and holds a 2 MiB
 * superpage over the start of RAM; the leaves cover user and kernel pages, read-only, execute-only,
 * no-A, and mappings of the tables themselves.
 */
function initialTables(host: FakeShadowHost): void {
  const { V, R, W, X, U, A, D } = { V: 1n, R: 2n, W: 4n, X: 8n, U: 16n, A: 64n, D: 128n };
  const set = (p: number, i: number, e: bigint) => host.writeGuest64(page(p) + BigInt(i) * 8n, e);
  for (const root of [0, 1]) { set(root, 0, pte(page(2), V)); set(root, 1, pte(page(2), V)); set(root, 511, pte(page(5), V)); }
  set(2, 0, pte(page(3), V)); set(2, 1, pte(page(4), V)); set(2, 2, pte(page(0), V | R | W | X | A | D)); set(2, 3, pte(page(3), V));
  set(3, 0, pte(page(8), V | R | W | X | U | A | D)); set(3, 1, pte(page(9), V | R | U)); set(3, 2, pte(page(10), V | R | W | A | D));
  set(3, 3, pte(page(11), V | X | U | A)); set(3, 511, pte(page(3), V | R | W | U | A | D));
  set(4, 0, pte(page(2), V | R | W | U | A | D)); set(4, 1, pte(page(0), V | R | W | A)); set(4, 2, pte(page(12), V | R | W | U | A));
  set(4, 3, pte(0x1000_0000n, V | R | W | U | A | D)); set(4, 511, pte(page(4), V | R | W | A | D));
  set(5, 0, pte(page(6), V)); set(6, 0, pte(page(13), V | R | W | X | U | A | D));
}

/** Check every shadow leaf against the reference and the guest's memory. */
function checkLeaves(host: FakeShadowHost, pager: ShadowPager): void {
  const guestFrames = new Set(host.guestFrames);
  for (const l of pager.leaves()) {
    expect(guestFrames.has(l.hpa), `shadow leaf for 0x${l.va.toString(16)} -> 0x${l.hpa.toString(16)}, not a guest frame`).toBe(true);
    const perm: [bigint, 'read' | 'write' | 'fetch'][] = [[2n, 'read'], [4n, 'write'], [8n, 'fetch']];
    for (const [bit, access] of perm) {
      if ((l.pte & bit) === 0n) continue;
      const r = walk2d({
        gva: l.va, access, vsatp: l.gsatp, hgatp: 0n, priv: l.view.user ? 'VU' : 'VS', sum: l.view.sum, mxr: false, vmxr: l.view.mxr,
        read64: (gpa) => (host.isGuestRam(gpa) ? host.readGuest64(gpa) : undefined),
      });
      expect(r.ok, `shadow allows ${access} at 0x${l.va.toString(16)} (${JSON.stringify(l.view)}) that the guest's tables forbid`).toBe(true);
      if (!r.ok) continue;
      expect(host.gpaToHpa(r.gpa & ~0xfffn)).toBe(l.hpa);
      if (access === 'write') expect(pager.isPageTable(r.gpa), `writable shadow leaf over a guest page table at 0x${r.gpa.toString(16)}`).toBe(false);
    }
  }
}

describe('shadow paging isolation (property)', () => {
  it(`random guest page-table writes never yield a shadow entry outside the guest or unlike the reference (seed ${SEED}, ${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const host = new FakeShadowHost(PAGES, 1024, 7);
        initialTables(host);
        const pager = new ShadowPager(host);
        for (const s of steps) {
          if (s.kind !== 'touch') {
            const gpa = page(s.page) + BigInt(s.index) * 8n;
            host.writeGuest64(gpa, s.kind === 'store' ? s.value : host.readGuest64(gpa) ^ (1n << BigInt(s.bit)));
            if (pager.isPageTable(gpa)) pager.ptWritten(gpa, 8);
          } else {
            pager.activate(sv39(page(s.root), s.asid), { user: s.user, sum: s.sum, mxr: s.mxr });
            const va = BigInt.asUintN(64, BigInt.asIntN(39, (s.vpn[0] << 30n) | (s.vpn[1] << 21n) | (s.vpn[2] << 12n) | 0x18n));
            const r = pager.fault(va, s.access);
            expect(['filled', 'guest-fault', 'pt-write', 'mmio', 'bad']).toContain(r.kind);
          }
          checkLeaves(host, pager);
        }
        // Every shadow frame is accounted for: what the pager holds is what the host lent it.
        expect(pager.counters.frames).toBe(host.framesInUse);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);
});
