/**
 * The reference two-dimensional walker on hand-built tables: a G-stage built by GStage in fake
 * host RAM, and Sv39 VS-stage tables written into guest-physical pages through it.
 */
import { describe, expect, it } from 'vitest';
import { FrameAllocator } from '../../host/vmm/frames';
import { GStage, PTE_R, PTE_W, PTE_X, PTE_RWX } from '../../host/vmm/gstage';
import { walk2d, type Walk2dInput } from '../../host/vmm/walk';
import { FakeRam } from './fakes';

const V = 1n, R = 2n, W = 4n, X = 8n, U = 16n, A = 64n, D = 128n;
const pte = (pa: bigint, flags: bigint) => ((pa >> 12n) << 10n) | flags;

/** A VM-shaped setup: VS root at GPA 0x80001000, L1 at 0x80002000, L0 at 0x80003000. */
function setup() {
  const ram = new FakeRam(512 * 4096);
  const frames = new FrameAllocator(ram);
  const g = new GStage(ram, frames);
  const back = (gpa: bigint, perms = PTE_RWX) => {
    const hpa = frames.alloc();
    g.map(gpa, hpa, perms);
    return hpa;
  };
  const root = 0x80001000n, l1 = 0x80002000n, l0 = 0x80003000n;
  for (const t of [root, l1, l0]) back(t);
  /** Write a VS PTE at a guest-physical address. */
  const setVs = (gpa: bigint, v: bigint) => ram.write64(g.lookup(gpa)!.hpa, v);
  const getVs = (gpa: bigint) => ram.read64(g.lookup(gpa)!.hpa)!;
  // GVA 0x40_0000_0000 is not canonical for Sv39; use GVA 0x1000_5000: VPN2 0, VPN1 0x80, VPN0 5.
  const gva = 0x1000_5123n;
  setVs(root + 0n * 8n, pte(l1, V));
  setVs(l1 + 0x80n * 8n, pte(l0, V));
  const vsatp = (8n << 60n) | (root >> 12n);
  const input = (over: Partial<Walk2dInput> = {}): Walk2dInput => ({
    gva, access: 'read', vsatp, hgatp: g.hgatp, priv: 'VS', sum: false, mxr: false, vmxr: false,
    read64: ram.load64, write64: ram.write64, ...over,
  });
  return { ram, frames, g, back, setVs, getVs, root, l1, l0, gva, vsatp, input };
}

describe('walk2d: G-stage only (vsatp Bare)', () => {
  it('translates GPA = GVA through the G-stage with 3 references', () => {
    const s = setup();
    const hpa = s.back(0x80400000n);
    expect(walk2d(s.input({ gva: 0x80400abcn, vsatp: 0n }))).toEqual({ ok: true, hpa: hpa + 0xabcn, gpa: 0x80400abcn, refs: 3 });
  });
  it('an unmapped GPA is a guest-page fault of the access type: tval = GVA, htval = GPA >> 2, htinst 0', () => {
    const s = setup();
    for (const [access, cause] of [['read', 21], ['write', 23], ['fetch', 20]] as const) {
      expect(walk2d(s.input({ gva: 0x10000005n, vsatp: 0n, access }))).toEqual({
        ok: false, cause, tval: 0x10000005n, htval: 0x10000005n >> 2n, htinst: 0, refs: 1,
      });
    }
  });
  it('a GPA beyond 41 bits faults without a reference', () => {
    const s = setup();
    expect(walk2d(s.input({ gva: 1n << 41n, vsatp: 0n }))).toEqual({ ok: false, cause: 21, tval: 1n << 41n, htval: 1n << 39n, htinst: 0, refs: 0 });
  });
  it('G-stage leaves need U; permissions as U-mode; HS-level MXR makes X-only pages loadable', () => {
    const s = setup();
    const hpa = s.back(0x80400000n, PTE_X);
    expect(walk2d(s.input({ gva: 0x80400000n, vsatp: 0n, access: 'fetch' })).ok).toBe(true);
    expect(walk2d(s.input({ gva: 0x80400000n, vsatp: 0n })).ok).toBe(false);
    expect(walk2d(s.input({ gva: 0x80400000n, vsatp: 0n, vmxr: true }))).toMatchObject({ ok: false, cause: 21 });
    expect(walk2d(s.input({ gva: 0x80400000n, vsatp: 0n, mxr: true }))).toMatchObject({ ok: true, hpa });
    // Clear U in the leaf by hand.
    const l1 = (s.ram.read64(s.g.root + 2n * 8n)! >> 10n) << 12n;
    const l0 = (s.ram.read64(l1 + 2n * 8n)! >> 10n) << 12n;
    s.ram.write64(l0, s.ram.read64(l0)! & ~U);
    expect(walk2d(s.input({ gva: 0x80400000n, vsatp: 0n, access: 'fetch' }))).toMatchObject({ ok: false, cause: 20, htval: 0x80400000n >> 2n });
  });
});

describe('walk2d: two dimensions (Sv39 over Sv39x4)', () => {
  it('translates with 3 x (3 + 1) + 3 = 15 references and sets A (and D on a store)', () => {
    const s = setup();
    const data = s.back(0x80100000n);
    s.setVs(s.l0 + 5n * 8n, pte(0x80100000n, V | R | W));
    // Setting A translates the PTE's GPA again, for a write: 3 more G-stage references.
    expect(walk2d(s.input())).toEqual({ ok: true, hpa: data + 0x123n, gpa: 0x80100123n, refs: 18 });
    expect(s.getVs(s.l0 + 5n * 8n)).toBe(pte(0x80100000n, V | R | W | A));
    expect(walk2d(s.input())).toEqual({ ok: true, hpa: data + 0x123n, gpa: 0x80100123n, refs: 15 });
    expect(walk2d(s.input({ access: 'write' }))).toMatchObject({ ok: true, hpa: data + 0x123n, refs: 18 });
    expect(s.getVs(s.l0 + 5n * 8n)).toBe(pte(0x80100000n, V | R | W | A | D));
    expect(walk2d(s.input({ access: 'write' }))).toMatchObject({ ok: true, refs: 15 });
  });

  it('a VS page table page without a G-stage mapping: guest-page fault of the ORIGINAL type with the read pseudo-instruction', () => {
    const s = setup();
    s.setVs(s.l1 + 0x80n * 8n, pte(0x80200000n, V)); // L0 table at an unbacked GPA
    for (const [access, cause] of [['read', 21], ['write', 23], ['fetch', 20]] as const) {
      expect(walk2d(s.input({ access }))).toEqual({
        ok: false, cause, tval: s.gva, htval: (0x80200000n + 5n * 8n) >> 2n, htinst: 0x3000, refs: 10, // 2 x 4, then 2 G-stage refs to an invalid PTE
      });
    }
  });

  it('the A/D update needs G-stage write permission on the table page: fault with the write pseudo-instruction', () => {
    const s = setup();
    s.back(0x80100000n);
    s.g.map(s.l0, s.g.lookup(s.l0)!.hpa, PTE_R); // L0 table page read-only in the G-stage
    s.setVs(s.l0 + 5n * 8n, pte(0x80100000n, V | R | W));
    const pteGpa = s.l0 + 5n * 8n;
    expect(walk2d(s.input())).toMatchObject({ ok: false, cause: 21, tval: s.gva, htval: pteGpa >> 2n, htinst: 0x3020 });
    expect(walk2d(s.input({ access: 'write' }))).toMatchObject({ ok: false, cause: 23, htval: pteGpa >> 2n, htinst: 0x3020 });
    // With A and D already set, nothing is written and the walk succeeds.
    s.setVs(pteGpa, pte(0x80100000n, V | R | W | A | D));
    expect(walk2d(s.input({ access: 'write' })).ok).toBe(true);
  });

  it('a G-stage fault on the final GPA carries htval of the data address and htinst 0', () => {
    const s = setup();
    s.setVs(s.l0 + 5n * 8n, pte(0x10000000n, V | R | W | A | D)); // the UART page
    expect(walk2d(s.input({ access: 'write' }))).toEqual({ ok: false, cause: 23, tval: s.gva, htval: 0x10000123n >> 2n, htinst: 0, refs: 13 }); // G root slot 0 is invalid
  });

  it('VS-stage faults are page faults 12/13/15 with htval 0', () => {
    const s = setup();
    // invalid leaf
    expect(walk2d(s.input())).toEqual({ ok: false, cause: 13, tval: s.gva, htval: 0n, htinst: 0, refs: 12 });
    expect(walk2d(s.input({ access: 'fetch' }))).toMatchObject({ ok: false, cause: 12 });
    // W without R is reserved
    s.setVs(s.l0 + 5n * 8n, pte(0x80100000n, V | W));
    expect(walk2d(s.input({ access: 'write' }))).toMatchObject({ ok: false, cause: 15, htval: 0n });
    // reserved bit 54
    s.setVs(s.l0 + 5n * 8n, pte(0x80100000n, V | R | A) | (1n << 54n));
    expect(walk2d(s.input())).toMatchObject({ ok: false, cause: 13 });
    // non-leaf with A set
    s.setVs(s.l1 + 0x80n * 8n, pte(s.l0, V | A));
    expect(walk2d(s.input())).toMatchObject({ ok: false, cause: 13, refs: 8 });
  });

  it('U pages: VU needs U; VS needs SUM to load/store and may never fetch', () => {
    const s = setup();
    s.back(0x80100000n);
    const slot = s.l0 + 5n * 8n;
    s.setVs(slot, pte(0x80100000n, V | R | W | X | A | D));
    expect(walk2d(s.input({ priv: 'VU' }))).toMatchObject({ ok: false, cause: 13 });
    expect(walk2d(s.input({ priv: 'VS' })).ok).toBe(true);
    s.setVs(slot, pte(0x80100000n, V | R | W | X | U | A | D));
    expect(walk2d(s.input({ priv: 'VU' })).ok).toBe(true);
    expect(walk2d(s.input({ priv: 'VS' }))).toMatchObject({ ok: false, cause: 13 });
    expect(walk2d(s.input({ priv: 'VS', sum: true })).ok).toBe(true);
    expect(walk2d(s.input({ priv: 'VS', sum: true, access: 'fetch' }))).toMatchObject({ ok: false, cause: 12 });
  });

  it('vsstatus.MXR makes X-only VS pages loadable but does not override the G-stage', () => {
    const s = setup();
    s.back(0x80100000n);
    s.setVs(s.l0 + 5n * 8n, pte(0x80100000n, V | X | A));
    expect(walk2d(s.input())).toMatchObject({ ok: false, cause: 13 });
    expect(walk2d(s.input({ vmxr: true })).ok).toBe(true);
    s.g.map(0x80100000n, s.g.lookup(0x80100000n)!.hpa, PTE_X);
    expect(walk2d(s.input({ vmxr: true }))).toMatchObject({ ok: false, cause: 21, htinst: 0 });
    expect(walk2d(s.input({ mxr: true })).ok).toBe(true);
  });

  it('superpages: a 2 MiB leaf maps GVA bits 20:0; a misaligned one is a page fault', () => {
    const s = setup();
    const data = s.back(0x80200000n + 0x5000n);
    s.setVs(s.l1 + 0x80n * 8n, pte(0x80200000n, V | R | A));
    expect(walk2d(s.input())).toMatchObject({ ok: true, gpa: 0x80205123n, hpa: data + 0x123n, refs: 11 });
    s.setVs(s.l1 + 0x80n * 8n, pte(0x80201000n, V | R | A));
    expect(walk2d(s.input())).toMatchObject({ ok: false, cause: 13 });
  });

  it('a non-canonical GVA is a page fault with no reference', () => {
    const s = setup();
    expect(walk2d(s.input({ gva: 1n << 40n }))).toEqual({ ok: false, cause: 13, tval: 1n << 40n, htval: 0n, htinst: 0, refs: 0 });
    expect(walk2d(s.input({ gva: 0xffff_ffc0_0000_0000n, access: 'write' }))).toMatchObject({ ok: false, cause: 15, refs: 4 }); // canonical; VS root slot 0x100 invalid
  });

  it('a PTE outside host RAM is an access fault', () => {
    const s = setup();
    expect(walk2d(s.input({ hgatp: 8n << 60n }))).toEqual({ ok: false, cause: 5, tval: s.gva, htval: 0n, htinst: 0, refs: 1 });
  });

  it('does not write without write64', () => {
    const s = setup();
    s.back(0x80100000n);
    s.setVs(s.l0 + 5n * 8n, pte(0x80100000n, V | R));
    expect(walk2d(s.input({ write64: undefined })).ok).toBe(true);
    expect(s.getVs(s.l0 + 5n * 8n)).toBe(pte(0x80100000n, V | R));
  });
});
