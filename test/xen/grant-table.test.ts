import { beforeEach, describe, expect, it } from 'vitest';
import { XEN_EFAULT, XEN_EINVAL, XEN_ENOSYS, XEN_ESRCH } from '../../host/xen/errno';
import { GrantTables, type GrantMapping } from '../../host/xen/grant-table';
import * as H from '../../host/xen/hypercall-abi';
import { getEntry, putEntry, RAM_GFN, TestMemory } from './memory';

const { GTF_permit_access: PERMIT, GTF_readonly: RO, GTF_reading: READING, GTF_writing: WRITING } = H;
const TABLE = [RAM_GFN + 28n, RAM_GFN + 29n, RAM_GFN + 30n, RAM_GFN + 31n];
const SI = RAM_GFN + 27n;
const DATA = Number(RAM_GFN + 5n); // a frame d1 grants
const DATA2 = Number(RAM_GFN + 6n);

let gt: GrantTables;
let m1: TestMemory;
let m2: TestMemory;

function mapping(r: { status: number; mapping?: GrantMapping }): GrantMapping {
  expect(r.status).toBe(H.GNTST_okay);
  return r.mapping!;
}

beforeEach(() => {
  gt = new GrantTables();
  m1 = new TestMemory(1, 32);
  m2 = new TestMemory(2, 32);
  m1.poke(TABLE[0], 0, [0xaa, 0xbb]); // the toolstack zeroes the table at creation
  gt.addDomain(1, { memory: m1, frames: TABLE, reservedFrames: [SI], maxMappings: 4 });
  gt.addDomain(2, { memory: m2, frames: TABLE.slice(0, 2) });
});

describe('setup_table / query_size', () => {
  it('starts with one zeroed frame of four; grows (zeroing) and never shrinks', () => {
    expect(m1.peek(TABLE[0], 0, 2)).toEqual(Uint8Array.of(0, 0));
    expect(gt.querySize(1, H.DOMID_SELF)).toEqual({ status: 0, nrFrames: 1, maxNrFrames: 4 });
    m1.poke(TABLE[2], 0, [1]);
    m1.poke(TABLE[3], 0, [1]);
    expect(gt.setupTable(1, H.DOMID_SELF, 3)).toEqual({ status: 0, frames: TABLE.slice(0, 3) });
    expect(m1.peek(TABLE[2], 0, 1)[0]).toBe(0);
    expect(m1.peek(TABLE[3], 0, 1)[0]).toBe(1); // not activated: untouched
    expect(gt.setupTable(1, 1, 1)).toEqual({ status: 0, frames: TABLE.slice(0, 1) });
    expect(gt.querySize(1, 1)).toEqual({ status: 0, nrFrames: 3, maxNrFrames: 4 });
  });

  it('errors: bad domain, permission denied, more frames than reserved', () => {
    expect(gt.setupTable(1, 9, 1).status).toBe(H.GNTST_bad_domain);
    expect(gt.setupTable(1, 2, 1).status).toBe(H.GNTST_permission_denied);
    expect(gt.setupTable(1, H.DOMID_SELF, 5)).toEqual({ status: H.GNTST_general_error, frames: [] });
    expect(gt.querySize(1, 9).status).toBe(H.GNTST_bad_domain);
    expect(gt.querySize(2, 1)).toEqual({ status: H.GNTST_permission_denied, nrFrames: 0, maxNrFrames: 0 });
    expect(gt.querySize(0, 1).status).toBe(0); // the host toolstack may
    expect(gt.setupTable(0, 1, 2).status).toBe(0);
  });

  it('addDomain rejects bad configurations', () => {
    expect(() => gt.addDomain(1, { memory: m1, frames: TABLE })).toThrow(/already exists/);
    expect(() => gt.addDomain(3, { memory: m1, frames: [] })).toThrow(RangeError);
    expect(() => gt.addDomain(3, { memory: m1, frames: [TABLE[0], TABLE[0]] })).toThrow(/twice/);
    expect(() => gt.addDomain(3, { memory: m1, frames: [RAM_GFN + 100n] })).toThrow(/not the domain's RAM/);
    expect(() => gt.addDomain(3, { memory: m1, frames: TABLE, initialFrames: 5 })).toThrow(RangeError);
  });
});

describe('map / unmap', () => {
  it('read-only map: GTF_reading while mapped, reads the granted frame only, cleared on unmap', () => {
    putEntry(m1, TABLE, 3, PERMIT | RO, 0, DATA);
    m1.poke(BigInt(DATA), 100, [1, 2, 3]);
    const mp = mapping(gt.map(1, 3, true));
    expect(getEntry(m1, TABLE, 3)).toEqual([PERMIT | RO | READING, 0, DATA]);
    expect([...m1.peek(TABLE[0], 24, 8)]).toEqual([0x0d, 0, 0, 0, 0x05, 0, 0x08, 0]);
    expect(mp.granter).toBe(1);
    expect(mp.ref).toBe(3);
    expect(mp.readonly).toBe(true);
    expect([...mp.read(100, 3)]).toEqual([1, 2, 3]);
    expect(() => mp.write(0, Uint8Array.of(1))).toThrow(/read-only/);
    expect(gt.activeMappings(1)).toBe(1);
    expect(gt.unmap(mp)).toBe(H.GNTST_okay);
    expect(getEntry(m1, TABLE, 3)).toEqual([PERMIT | RO, 0, DATA]);
    expect(gt.activeMappings(1)).toBe(0);
    expect(mp.live).toBe(false);
    expect(() => mp.read(0, 1)).toThrow(/after unmap/);
    expect(gt.unmap(mp.handle)).toBe(H.GNTST_bad_handle);
  });

  it('writable map: GTF_reading|GTF_writing, writes land in the granted frame', () => {
    putEntry(m1, TABLE, 0, PERMIT, 0, DATA);
    const mp = mapping(gt.map(1, 0, false));
    expect(getEntry(m1, TABLE, 0)).toEqual([PERMIT | READING | WRITING, 0, DATA]);
    mp.write(4090, Uint8Array.of(9, 8, 7, 6, 5, 4));
    expect([...m1.peek(BigInt(DATA), 4090, 6)]).toEqual([9, 8, 7, 6, 5, 4]);
    expect(() => mp.write(4091, new Uint8Array(6))).toThrow(RangeError);
    expect(() => mp.read(-1, 1)).toThrow(RangeError);
    expect(() => mp.read(0, 4097)).toThrow(RangeError);
    expect(mp.read(0, 4096)).toHaveLength(4096);
    expect(gt.unmap(mp.handle)).toBe(0);
    expect(getEntry(m1, TABLE, 0)).toEqual([PERMIT, 0, DATA]);
  });

  it('errors, each with its exact status, leaving the entry untouched', () => {
    const cases: [number, number, number, boolean, number][] = [
      // flags, domid, frame, readonly, expected
      [H.GTF_invalid, 0, DATA, true, H.GNTST_general_error],
      [H.GTF_accept_transfer, 0, DATA, true, H.GNTST_general_error],
      [H.GTF_transitive, 0, DATA, true, H.GNTST_general_error],
      [PERMIT, 2, DATA, true, H.GNTST_general_error], // granted to d2, not the host
      [PERMIT | RO, 0, DATA, false, H.GNTST_general_error], // write map of a read-only grant
      [PERMIT, 0, 0x1234, true, H.GNTST_bad_page], // not RAM
      [PERMIT, 0, Number(TABLE[0]), true, H.GNTST_bad_page], // its own grant table
      [PERMIT, 0, Number(TABLE[3]), true, H.GNTST_bad_page], // a reserved, not yet active table frame
      [PERMIT, 0, Number(SI), true, H.GNTST_bad_page], // the shared-info page
    ];
    for (const [flags, domid, frame, ro, want] of cases) {
      putEntry(m1, TABLE, 7, flags, domid, frame);
      expect(gt.map(1, 7, ro)).toEqual({ status: want });
      expect(getEntry(m1, TABLE, 7)).toEqual([flags, domid, frame]);
    }
    expect(gt.map(9, 0, true)).toEqual({ status: H.GNTST_bad_domain });
    expect(gt.map(1, 512, true)).toEqual({ status: H.GNTST_bad_gntref });
    expect(gt.map(1, -1, true)).toEqual({ status: H.GNTST_bad_gntref });
    expect(gt.map(1, 0.5, true)).toEqual({ status: H.GNTST_bad_gntref });
    expect(gt.activeMappings(1)).toBe(0);
  });

  it('refs in later frames work once setup_table activated them', () => {
    putEntry(m1, TABLE, 600, PERMIT, 0, DATA);
    expect(gt.map(1, 600, true).status).toBe(H.GNTST_bad_gntref);
    gt.setupTable(1, H.DOMID_SELF, 2);
    putEntry(m1, TABLE, 600, PERMIT, 0, DATA);
    const mp = mapping(gt.map(1, 600, true));
    expect(getEntry(m1, TABLE, 600)).toEqual([PERMIT | READING, 0, DATA]);
    gt.unmap(mp);
  });

  it('a table frame that is no longer RAM gives general_error', () => {
    putEntry(m1, TABLE, 1, PERMIT, 0, DATA);
    m1.drop(TABLE[0]);
    expect(gt.map(1, 1, true).status).toBe(H.GNTST_general_error);
  });

  it('maps of another grantee go through the grantee argument', () => {
    putEntry(m1, TABLE, 2, PERMIT, 2, DATA);
    expect(gt.map(1, 2, true).status).toBe(H.GNTST_general_error);
    const mp = mapping(gt.map(1, 2, true, 2));
    gt.unmap(mp);
  });

  it('caps live mappings per granter (GNTST_no_space) and globally', () => {
    putEntry(m1, TABLE, 0, PERMIT, 0, DATA);
    const maps = [0, 1, 2, 3].map(() => mapping(gt.map(1, 0, true)));
    expect(gt.map(1, 0, true)).toEqual({ status: H.GNTST_no_space });
    gt.unmap(maps[0]);
    mapping(gt.map(1, 0, true));
    const small = new GrantTables({ maxHandles: 1 });
    small.addDomain(1, { memory: m1, frames: TABLE });
    putEntry(m1, TABLE, 0, PERMIT, 0, DATA);
    mapping(small.map(1, 0, true));
    expect(small.map(1, 0, true).status).toBe(H.GNTST_no_space);
  });
});

describe('pins and revocation', () => {
  it('flags stay set until the last mapping of each kind goes', () => {
    putEntry(m1, TABLE, 4, PERMIT, 0, DATA);
    const r1 = mapping(gt.map(1, 4, true));
    const w1 = mapping(gt.map(1, 4, false));
    const r2 = mapping(gt.map(1, 4, true));
    expect(getEntry(m1, TABLE, 4)[0]).toBe(PERMIT | READING | WRITING);
    gt.unmap(w1);
    expect(getEntry(m1, TABLE, 4)[0]).toBe(PERMIT | READING);
    gt.unmap(r1);
    expect(getEntry(m1, TABLE, 4)[0]).toBe(PERMIT | READING);
    gt.unmap(r2);
    expect(getEntry(m1, TABLE, 4)[0]).toBe(PERMIT);
  });

  it('a grant revoked under a live mapping: the mapping keeps its frame; new read maps reuse it; write upgrade is refused', () => {
    putEntry(m1, TABLE, 4, PERMIT, 0, DATA);
    const r1 = mapping(gt.map(1, 4, true));
    putEntry(m1, TABLE, 4, H.GTF_invalid, 0, DATA2); // hostile guest rewrites the entry
    m1.poke(BigInt(DATA), 0, [42]);
    expect(r1.read(0, 1)[0]).toBe(42);
    const r2 = mapping(gt.map(1, 4, true)); // already pinned read-only: no re-read (Xen)
    expect(r2.read(0, 1)[0]).toBe(42);
    expect(gt.map(1, 4, false).status).toBe(H.GNTST_general_error);
    gt.unmap(r1);
    gt.unmap(r2);
    expect(getEntry(m1, TABLE, 4)).toEqual([H.GTF_invalid, 0, DATA2]); // only our bits cleared
    expect(gt.map(1, 4, true).status).toBe(H.GNTST_general_error);
  });

  it('upgrading a read pin to a write pin re-validates the entry, frame included', () => {
    putEntry(m1, TABLE, 4, PERMIT, 0, DATA);
    const r = mapping(gt.map(1, 4, true));
    putEntry(m1, TABLE, 4, PERMIT | READING, 0, DATA2); // still a valid grant, of another frame
    expect(gt.map(1, 4, false).status).toBe(H.GNTST_general_error);
    putEntry(m1, TABLE, 4, PERMIT | READING, 1, DATA); // the right frame, another grantee
    expect(gt.map(1, 4, false).status).toBe(H.GNTST_general_error);
    putEntry(m1, TABLE, 4, PERMIT | READING, 0, DATA);
    const w = mapping(gt.map(1, 4, false));
    expect(getEntry(m1, TABLE, 4)[0]).toBe(PERMIT | READING | WRITING);
    gt.unmap(w);
    gt.unmap(r);
    expect(getEntry(m1, TABLE, 4)[0]).toBe(PERMIT);
  });

  it('unmap clears only GTF_reading/GTF_writing, keeping bits the guest set meanwhile', () => {
    putEntry(m1, TABLE, 4, PERMIT, 0, DATA);
    const w = mapping(gt.map(1, 4, false));
    putEntry(m1, TABLE, 4, PERMIT | RO | READING | WRITING | H.GTF_PAT, 0, DATA);
    gt.unmap(w);
    expect(getEntry(m1, TABLE, 4)[0]).toBe(PERMIT | RO | H.GTF_PAT);
  });
});

describe('copy', () => {
  it('local -> gref, gref -> local, gref -> gref; flags unchanged afterwards', () => {
    putEntry(m1, TABLE, 1, PERMIT, 0, DATA);
    putEntry(m1, TABLE, 2, PERMIT | RO, 0, DATA2);
    putEntry(m2, TABLE, 0, PERMIT, 0, Number(RAM_GFN + 1n));
    m1.poke(BigInt(DATA2), 10, [5, 6, 7]);
    const buf = Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7);
    const out = new Uint8Array(8);
    const st = gt.copy([
      { source: { kind: 'local', buffer: buf, offset: 2 }, dest: { kind: 'gref', domid: 1, ref: 1, offset: 4094 }, len: 2 },
      { source: { kind: 'gref', domid: 1, ref: 2, offset: 10 }, dest: { kind: 'local', buffer: out, offset: 5 }, len: 3 },
      { source: { kind: 'gref', domid: 1, ref: 2, offset: 10 }, dest: { kind: 'gref', domid: 2, ref: 0, offset: 0 }, len: 3 },
      { source: { kind: 'local', buffer: buf, offset: 0 }, dest: { kind: 'local', buffer: out, offset: 0 }, len: 0 },
    ]);
    expect(st).toEqual([0, 0, 0, 0]);
    expect([...m1.peek(BigInt(DATA), 4094, 2)]).toEqual([2, 3]);
    expect([...out]).toEqual([0, 0, 0, 0, 0, 5, 6, 7]);
    expect([...m2.peek(RAM_GFN + 1n, 0, 3)]).toEqual([5, 6, 7]);
    expect(getEntry(m1, TABLE, 1)[0]).toBe(PERMIT);
    expect(getEntry(m1, TABLE, 2)[0]).toBe(PERMIT | RO);
    expect(getEntry(m2, TABLE, 0)[0]).toBe(PERMIT);
  });

  it('per-operation statuses, nothing copied on failure', () => {
    putEntry(m1, TABLE, 1, PERMIT, 0, DATA);
    putEntry(m1, TABLE, 2, PERMIT | RO, 0, DATA2);
    const buf = new Uint8Array(16).fill(0xcc);
    const L = (offset = 0) => ({ kind: 'local' as const, buffer: buf, offset });
    const G = (ref: number, offset = 0, domid = 1) => ({ kind: 'gref' as const, domid, ref, offset });
    const st = gt.copy([
      { source: L(), dest: G(1, 0, 9), len: 1 }, // no such domain
      { source: G(1, 0, 9), dest: L(), len: 1 },
      { source: L(), dest: G(512), len: 1 }, // beyond the table
      { source: L(), dest: G(2), len: 1 }, // read-only grant as destination
      { source: L(), dest: G(3), len: 1 }, // invalid entry
      { source: L(), dest: G(1, 4095), len: 2 }, // crosses the page
      { source: G(1, 4000), dest: L(), len: 100 }, // crosses the local buffer
      { source: L(17), dest: G(1), len: 0 }, // offset beyond the buffer
      { source: L(), dest: G(1, -1), len: 1 },
      { source: L(), dest: { kind: 'gmfn', gmfn: RAM_GFN, offset: 0 }, len: 1 }, // the host has no frames
    ]);
    expect(st).toEqual([
      H.GNTST_bad_domain, H.GNTST_bad_domain, H.GNTST_bad_gntref, H.GNTST_general_error, H.GNTST_general_error,
      H.GNTST_bad_copy_arg, H.GNTST_bad_copy_arg, H.GNTST_bad_copy_arg, H.GNTST_bad_copy_arg, H.GNTST_bad_page,
    ]);
    expect(m1.peek(BigInt(DATA), 0, 4096).every((b) => b === 0)).toBe(true);
    expect(buf.every((b) => b === 0xcc)).toBe(true);
    expect(getEntry(m1, TABLE, 1)[0]).toBe(PERMIT);
    expect(getEntry(m1, TABLE, 2)[0]).toBe(PERMIT | RO);
  });

  it('a copy through an entry that is also mapped leaves the mapping\'s flags', () => {
    putEntry(m1, TABLE, 1, PERMIT, 0, DATA);
    const mp = mapping(gt.map(1, 1, true));
    expect(gt.copy([{ source: { kind: 'local', buffer: new Uint8Array(1), offset: 0 }, dest: { kind: 'gref', domid: 1, ref: 1, offset: 0 }, len: 1 }])).toEqual([0]);
    expect(getEntry(m1, TABLE, 1)[0]).toBe(PERMIT | READING);
    gt.unmap(mp);
    expect(getEntry(m1, TABLE, 1)[0]).toBe(PERMIT);
  });
});

describe('domain destruction', () => {
  it('with live mappings the domain is dying: no new access, old mappings work until unmapped', () => {
    putEntry(m1, TABLE, 1, PERMIT, 0, DATA);
    const mp = mapping(gt.map(1, 1, false));
    gt.removeDomain(1);
    expect(gt.hasDomain(1)).toBe(false);
    expect(gt.map(1, 1, false).status).toBe(H.GNTST_bad_domain);
    expect(gt.copy([{ source: { kind: 'gref', domid: 1, ref: 1, offset: 0 }, dest: { kind: 'local', buffer: new Uint8Array(1), offset: 0 }, len: 1 }])).toEqual([H.GNTST_bad_domain]);
    mp.write(0, Uint8Array.of(1));
    expect(gt.unmap(mp)).toBe(0);
    expect(getEntry(m1, TABLE, 1)[0]).toBe(PERMIT | READING | WRITING); // not written once dying
    expect(() => gt.addDomain(1, { memory: m1, frames: TABLE })).not.toThrow(); // fully gone now
  });
});

describe('hypercall (struct layouts)', () => {
  const ARG = RAM_GFN + 2n;
  const gpa = (gfn: bigint, off = 0) => (gfn << 12n) + BigInt(off);
  const le = (v: bigint, n: number) => Array.from({ length: n }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));

  it('setup_table: status at +8, frame_list written through the handle at +16', () => {
    m2.poke(ARG, 0, [0xf0, 0x7f, 0, 0, 2, 0, 0, 0, 0xee, 0xee, 0, 0, 0, 0, 0, 0, ...le(gpa(RAM_GFN + 3n, 8), 8)]);
    expect(gt.hypercall(2, H.GNTTABOP_setup_table, gpa(ARG), 1)).toBe(0);
    expect([...m2.peek(ARG, 8, 2)]).toEqual([0, 0]);
    expect([...m2.peek(RAM_GFN + 3n, 8, 16)]).toEqual([...le(TABLE[0], 8), ...le(TABLE[1], 8)]);
    // frame_list outside RAM: GNTST_bad_virt_addr
    m2.poke(ARG, 16, le(0x1000n, 8));
    expect(gt.hypercall(2, H.GNTTABOP_setup_table, gpa(ARG), 1)).toBe(0);
    expect([...m2.peek(ARG, 8, 2)]).toEqual(le(BigInt.asUintN(16, -5n), 2));
    // too many frames
    m2.poke(ARG, 4, [3, 0, 0, 0]);
    expect(gt.hypercall(2, H.GNTTABOP_setup_table, gpa(ARG), 1)).toBe(0);
    expect([...m2.peek(ARG, 8, 2)]).toEqual([0xff, 0xff]);
  });

  it('query_size: nr_frames +4, max +8, status +12', () => {
    m2.poke(ARG, 0, [0xf0, 0x7f, 0, 0, ...new Array(12).fill(0xee)]);
    expect(gt.hypercall(2, H.GNTTABOP_query_size, gpa(ARG), 1)).toBe(0);
    expect([...m2.peek(ARG, 0, 16)]).toEqual([0xf0, 0x7f, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0xee, 0xee]);
    m2.poke(ARG, 0, [1, 0]);
    expect(gt.hypercall(2, H.GNTTABOP_query_size, gpa(ARG), 1)).toBe(0);
    expect([...m2.peek(ARG, 12, 2)]).toEqual([0xf8, 0xff]); // permission_denied (-8)
  });

  it('copy: gref source into the caller\'s own frame; foreign gmfn is denied; batches', () => {
    putEntry(m1, TABLE, 6, PERMIT | RO, 2, DATA);
    m1.poke(BigInt(DATA), 0, [0xde, 0xad]);
    const op = (srcDom: number, flags: number, dstDom = H.DOMID_SELF) => [
      ...le(6n, 8), ...le(BigInt(srcDom), 2), 0, 0, 0, 0, 0, 0, // source
      ...le(RAM_GFN + 4n, 8), ...le(BigInt(dstDom), 2), 16, 0, 0, 0, 0, 0, // dest: offset 16
      2, 0, ...le(BigInt(flags), 2), 0x55, 0x55, 0, 0,
    ];
    m2.poke(ARG, 0, [...op(1, H.GNTCOPY_source_gref), ...op(1, H.GNTCOPY_source_gref, 1), ...op(1, 0)]);
    expect(gt.hypercall(2, H.GNTTABOP_copy, gpa(ARG), 3)).toBe(0);
    expect([...m2.peek(RAM_GFN + 4n, 16, 2)]).toEqual([0xde, 0xad]);
    expect([...m2.peek(ARG, 36, 2)]).toEqual([0, 0]);
    expect([...m2.peek(ARG, 40 + 36, 2)]).toEqual([0xf8, 0xff]); // dest gmfn of d1: permission_denied
    expect([...m2.peek(ARG, 80 + 36, 2)]).toEqual([0xf8, 0xff]); // source gmfn of d1: permission_denied
    expect(getEntry(m1, TABLE, 6)[0]).toBe(PERMIT | RO);
  });

  it('-EFAULT, -EINVAL, -ENOSYS, -ESRCH', () => {
    expect(gt.hypercall(2, H.GNTTABOP_copy, 0x1000n, 1)).toBe(-XEN_EFAULT);
    expect(gt.hypercall(2, H.GNTTABOP_copy, gpa(RAM_GFN + 31n, 4080), 1)).toBe(-XEN_EFAULT);
    expect(gt.hypercall(2, H.GNTTABOP_copy, gpa(ARG), 1025)).toBe(-XEN_EINVAL);
    expect(gt.hypercall(2, H.GNTTABOP_copy, gpa(ARG), -1)).toBe(-XEN_EINVAL);
    expect(gt.hypercall(2, H.GNTTABOP_map_grant_ref, gpa(ARG), 1)).toBe(-XEN_ENOSYS);
    expect(gt.hypercall(7, H.GNTTABOP_copy, gpa(ARG), 1)).toBe(-XEN_ESRCH);
    expect(gt.hypercall(2, H.GNTTABOP_copy, gpa(ARG), 0)).toBe(0);
  });
});

describe('snapshot / restore', () => {
  it('mappings, pins and table sizes survive; mapping(handle) recovers the object', () => {
    gt.setupTable(1, H.DOMID_SELF, 2);
    putEntry(m1, TABLE, 600, PERMIT, 0, DATA);
    const w = mapping(gt.map(1, 600, false));
    const r = mapping(gt.map(1, 600, true));
    const snap = JSON.parse(JSON.stringify(gt.snapshot()));
    const gt2 = new GrantTables();
    gt2.addDomain(1, { memory: m1, frames: TABLE, initialFrames: 0, reservedFrames: [SI], maxMappings: 4 });
    gt2.addDomain(2, { memory: m2, frames: TABLE.slice(0, 2), initialFrames: 0 });
    gt2.restore(snap);
    expect(gt2.snapshot()).toEqual(snap);
    expect(gt2.querySize(1, 1).nrFrames).toBe(2);
    expect(gt2.activeMappings(1)).toBe(2);
    const w2 = gt2.mapping(w.handle)!;
    w2.write(0, Uint8Array.of(77));
    expect(m1.peek(BigInt(DATA), 0, 1)[0]).toBe(77);
    expect(gt2.unmap(w.handle)).toBe(0);
    expect(getEntry(m1, TABLE, 600)[0]).toBe(PERMIT | READING);
    expect(gt2.unmap(r.handle)).toBe(0);
    expect(getEntry(m1, TABLE, 600)[0]).toBe(PERMIT);
    expect(gt2.mapping(12345)).toBeUndefined();
  });

  it('refuses a snapshot for domains that were not added', () => {
    const gt2 = new GrantTables();
    expect(() => gt2.restore(gt.snapshot())).toThrow(/not added/);
  });
});
