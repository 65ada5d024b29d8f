/**
 * emulatePtWrite (host/vmm/paging/pt-write.ts): the VMM's emulation of a guest store, AMO or
 * SC to a write-protected page-table page (shadow paging). Exact memory and rd for each kind.
 */
import { describe, expect, it } from 'vitest';
import { emulatePtWrite, type PtWriteHost } from '../../../host/vmm/paging/pt-write';

const GPA = 0x8090_0008n;
function host(mem: bigint, regs: Record<number, bigint>) {
  const st = { mem, regs: { ...regs }, writes: [] as [bigint, number, bigint][] };
  const h: PtWriteHost = {
    x: (r) => (r === 0 ? 0n : st.regs[r] ?? 0n),
    setX: (r, v) => { st.regs[r] = v; },
    read: (gpa, size) => { expect(gpa).toBe(GPA); return size === 4 ? st.mem & 0xffff_ffffn : st.mem; },
    write: (gpa, size, v) => { st.writes.push([gpa, size, v]); st.mem = size === 4 ? (st.mem & ~0xffff_ffffn) | v : v; },
  };
  return { st, h };
}
// amo<op>.<w|d> rd=a3(13), rs1=a0(10), rs2=a5(15), aq rl
const amo = (f5: number, f3: number) => (((f5 << 27) | (3 << 25) | (15 << 20) | (10 << 15) | (f3 << 12) | (13 << 7) | 0x2f) >>> 0);

describe('emulatePtWrite', () => {
  it('amoswap.d (Linux ptep_get_and_clear): rd gets the old PTE, memory the new one', () => {
    const { st, h } = host(0x2000_4c01n, { 15: 0n });
    expect(emulatePtWrite(amo(0x01, 3), GPA, h)).toEqual({ len: 4, size: 8 });
    expect([st.mem, st.regs[13], st.writes]).toEqual([0n, 0x2000_4c01n, [[GPA, 8, 0n]]]);
  });
  it('amoor.d, amoand.d, amoadd.w (sign-extended rd), amomin.w and amomaxu.d', () => {
    let t = host(0x0fn, { 15: 0xc0n });
    emulatePtWrite(amo(0x08, 3), GPA, t.h);
    expect([t.st.mem, t.st.regs[13]]).toEqual([0xcfn, 0x0fn]);
    t = host(0xffn, { 15: 0x3cn });
    emulatePtWrite(amo(0x0c, 3), GPA, t.h);
    expect([t.st.mem, t.st.regs[13]]).toEqual([0x3cn, 0xffn]);
    t = host(0x1_8000_0000n, { 15: 1n });
    expect(emulatePtWrite(amo(0x00, 2), GPA, t.h)).toEqual({ len: 4, size: 4 });
    expect([t.st.mem, t.st.regs[13]]).toEqual([0x1_8000_0001n, 0xffff_ffff_8000_0000n]);
    t = host(5n, { 15: 0xffff_ffffn }); // min(5, -1) = -1 (32-bit signed)
    emulatePtWrite(amo(0x10, 2), GPA, t.h);
    expect(t.st.mem).toBe(0xffff_ffffn);
    t = host(5n, { 15: 0xffff_ffff_ffff_ffffn });
    emulatePtWrite(amo(0x1c, 3), GPA, t.h);
    expect(t.st.mem).toBe(0xffff_ffff_ffff_ffffn);
  });
  it('sc.d stores rs2 and reports success (rd = 0); lr.d and non-A opcodes are not writes', () => {
    const t = host(7n, { 13: 99n, 15: 0x1234n });
    expect(emulatePtWrite(amo(0x03, 3), GPA, t.h)).toEqual({ len: 4, size: 8 });
    expect([t.st.mem, t.st.regs[13]]).toEqual([0x1234n, 0n]);
    expect(emulatePtWrite(amo(0x02, 3), GPA, t.h)).toBeUndefined();
    expect(emulatePtWrite(0x0005_3503, GPA, t.h)).toBeUndefined(); // ld a0, 0(a0)
  });
  it('plain stores: sd and c.sd', () => {
    let t = host(0n, { 15: 0xabcdn });
    expect(emulatePtWrite(0x00f5_3023, GPA, t.h)).toEqual({ len: 4, size: 8 }); // sd a5, 0(a0)
    expect(t.st.mem).toBe(0xabcdn);
    t = host(0n, { 9: 0x77n });
    expect(emulatePtWrite(0xe104, GPA, t.h)).toEqual({ len: 2, size: 8 }); // c.sd s1, 0(a0)
    expect(t.st.mem).toBe(0x77n);
  });
});
