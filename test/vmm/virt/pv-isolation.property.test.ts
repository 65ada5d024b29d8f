/**
 * Isolation under the paravirtual MMU (--virt pv) and under native shadows (--virt hw --paging
 * shadow), as a property (issue 13, part 6): a guest that sends mmu_update batches of random
 * requests (PTE pointers and PTEs naming its pages, its tables, addresses outside its RAM,
 * reserved bits, misaligned or unknown commands), unpins tables at random and touches memory
 * through random views can never make a shadow entry that points anywhere but at the host frame
 * of one of its own RAM pages, or that allows an access its tables (the reference walker,
 * host/vmm/walk.ts) forbid. Every request the validation (checkMmuUpdate) accepts names guest
 * RAM; every one it refuses leaves guest memory as it was.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShadowPager, type ShadowAccess } from '../../../host/vmm/paging/shadow';
import { checkMmuUpdate } from '../../../host/vmm/virt/pv';
import { walk2d } from '../../../host/vmm/walk';
import { FakeShadowHost, GPA_BASE, pte, sv39 } from './shadow-host';

const SEED = 0x13_0b0e;
const RUNS = 200;
const PAGES = 24;
const page = (i: number) => GPA_BASE + BigInt(i) * 4096n;
const WILD = [0n, 0x1000_0000n, page(PAGES), 0x7fff_f000n, 0x1_0000_0000n /* the fake host's frames */, 0xff_ffff_f000n] as const;

const pteArb = fc.record({
  target: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: PAGES - 1 }).map(page) },
    { weight: 2, arbitrary: fc.constantFrom(...WILD) },
  ),
  flags: fc.integer({ min: 0, max: 255 }).map(BigInt),
  high: fc.oneof({ weight: 12, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: fc.constantFrom(1n << 54n, 1n << 63n) }),
}).map((p) => pte(p.target, p.flags | 1n) | p.high);

const INDEX = [0, 1, 2, 3, 511] as const;
const request = fc.record({
  ptr: fc.oneof(
    { weight: 10, arbitrary: fc.tuple(fc.integer({ min: 0, max: 7 }), fc.constantFrom(...INDEX)).map(([p, i]) => page(p) + BigInt(i) * 8n) },
    { weight: 1, arbitrary: fc.constantFrom(...WILD, page(3) + 4n, page(3) + 1n, page(3) + 2n) },
  ),
  val: fc.oneof({ weight: 10, arbitrary: pteArb }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
});
const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('batch' as const), reqs: fc.array(request, { minLength: 1, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unpin' as const), page: fc.integer({ min: 0, max: 7 }) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('touch' as const),
      root: fc.constantFrom(0, 1),
      vpn: fc.tuple(fc.constantFrom(0n, 1n, 511n), fc.constantFrom(0n, 1n, 2n, 3n), fc.constantFrom(...INDEX.map(BigInt))),
      access: fc.constantFrom<ShadowAccess>('read', 'write', 'fetch'),
      user: fc.boolean(), sum: fc.boolean(), mxr: fc.boolean(),
    }),
  },
);

/** Two roots (pages 0, 1) sharing a level-1 table (page 2) over level-0 tables 3 and 4; leaves to pages 8.. */
function initialTables(host: FakeShadowHost): void {
  const { V, R, W, X, U, A, D } = { V: 1n, R: 2n, W: 4n, X: 8n, U: 16n, A: 64n, D: 128n };
  const set = (p: number, i: number, e: bigint) => host.writeGuest64(page(p) + BigInt(i) * 8n, e);
  for (const root of [0, 1]) { set(root, 0, pte(page(2), V)); set(root, 1, pte(page(2), V)); }
  set(2, 0, pte(page(3), V)); set(2, 1, pte(page(4), V)); set(2, 2, pte(page(0), V | R | W | X | A | D));
  set(3, 0, pte(page(8), V | R | W | X | U | A | D)); set(3, 1, pte(page(9), V | R | U | A)); set(3, 2, pte(page(10), V | R | W | A | D));
  set(4, 0, pte(page(2), V | R | W | U | A | D)); set(4, 1, pte(page(11), V | X | A));
}

/** Every leaf: a guest frame, and no permission the reference walk denies in the leaf's view. */
function checkLeaves(host: FakeShadowHost, pager: ShadowPager, native: boolean): void {
  const guestFrames = new Set(host.guestFrames);
  for (const l of pager.leaves()) {
    expect(guestFrames.has(l.hpa), `shadow leaf for 0x${l.va.toString(16)} -> 0x${l.hpa.toString(16)}, not a guest frame`).toBe(true);
    if ((l.gsatp >> 60n) === 0n) continue; // Bare: gVA = gPA, checked by the frame test
    // A native leaf is checked in the privilege its U bit gives (the hart applies SUM and MXR itself).
    const user = native ? (l.pte & 16n) !== 0n : l.view.user;
    for (const [bit, access] of [[2n, 'read'], [4n, 'write'], [8n, 'fetch']] as const) {
      if ((l.pte & bit) === 0n) continue;
      const r = walk2d({
        gva: l.va, access, vsatp: l.gsatp, hgatp: 0n, priv: user ? 'VU' : 'VS', sum: native ? false : l.view.sum, mxr: false, vmxr: native ? false : l.view.mxr,
        read64: (gpa) => (host.isGuestRam(gpa) ? host.readGuest64(gpa) : undefined),
      });
      expect(r.ok, `shadow allows ${access} at 0x${l.va.toString(16)} that the guest's tables forbid`).toBe(true);
      if (r.ok) expect(host.gpaToHpa(r.gpa & ~0xfffn)).toBe(l.hpa);
    }
  }
}

describe('paravirtual MMU isolation (property)', () => {
  for (const native of [false, true]) {
    it(`random mmu_update batches and unpins never yield a shadow entry outside the guest (${native ? 'native shadows, hw' : 'pv'}; seed ${SEED}, ${RUNS} runs)`, () => {
      fc.assert(
        fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
          const host = new FakeShadowHost(PAGES, 1024, 5);
          initialTables(host);
          const pager = new ShadowPager(host, native);
          const isRam = (gpa: bigint) => host.isGuestRam(gpa);
          for (const s of steps) {
            if (s.kind === 'batch') {
              // As pv.ts: requests in order until the first refusal.
              for (const r of s.reqs) {
                const err = checkMmuUpdate(r.ptr, r.val, isRam);
                if (err !== 0) {
                  expect([1, 22, 38]).toContain(err);
                  break;
                }
                if ((r.val & 1n) !== 0n) expect(host.isGuestRam(((r.val >> 10n) & ((1n << 44n) - 1n)) << 12n)).toBe(true);
                pager.update(r.ptr, r.val);
                expect(host.readGuest64(r.ptr)).toBe(r.val);
              }
            } else if (s.kind === 'unpin') {
              pager.release(page(s.page));
            } else {
              const view = { user: s.user, sum: s.sum, mxr: s.mxr };
              pager.activate(sv39(page(s.root), 1n), view);
              const va = BigInt.asUintN(64, BigInt.asIntN(39, (s.vpn[0] << 30n) | (s.vpn[1] << 21n) | (s.vpn[2] << 12n) | 0x18n));
              const r = pager.fault(va, s.access, native ? view : undefined);
              expect(['filled', 'guest-fault', 'pt-write', 'mmio', 'bad']).toContain(r.kind);
            }
            checkLeaves(host, pager, native);
          }
          expect(pager.counters.frames).toBe(host.framesInUse);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    }, 120_000);
  }
});
