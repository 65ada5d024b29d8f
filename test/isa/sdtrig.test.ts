/**
 * Sdtrig with no triggers (RISC-V debug spec 1.0, §5.1 enumeration, §5.7.1 tselect, §5.7.2
 * tdata1): tselect, tdata1, tdata2 and tdata3 (0x7a0..0x7a3) exist, read 0 and ignore writes, so
 * a debugger or test suite that probes them learns "no trigger at tselect 0" (tdata1.type = 0)
 * instead of taking an illegal instruction. They are M-mode CSRs (address bits 9:8 = 3): from
 * S, U and V = 1 the access is illegal (priv spec §2.1; an M CSR from V = 1 is illegal, not
 * virtual, §8.6.1). Each step is one instruction from its raw encoding, and the harness diff
 * checks that nothing but rd, pc and instret changed.
 */
import { describe, expect, it } from 'vitest';
import { Harness, CODE, M, S, U, expectRetired, slotValue } from './harness';

const TSELECT = 0x7a0, TDATA1 = 0x7a1, TDATA2 = 0x7a2, TDATA3 = 0x7a3;
/** csr | rs1 | funct3 | rd | SYSTEM. */
const csr = (f3: number, rd: number, rs1: number, c: number) => ((c << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x73) >>> 0;
const csrrw = (rd: number, c: number, rs1: number) => csr(1, rd, rs1, c);
const csrrs = (rd: number, c: number, rs1: number) => csr(2, rd, rs1, c);
const csrrwi = (rd: number, c: number, zimm: number) => csr(5, rd, zimm, c);
/** tdata1 as a debugger arms an execute breakpoint: type 2 (mcontrol), M = 1, EXECUTE = 1. */
const MCONTROL_EXEC_M = (2n << 60n) | (1n << 6n) | (1n << 2n);
const ALL_ONES = 0xffff_ffff_ffff_ffffn;

describe('Sdtrig, no triggers: tselect/tdata1/tdata2/tdata3', () => {
  const h = new Harness();

  for (const [name, c] of [['tselect', TSELECT], ['tdata1', TDATA1], ['tdata2', TDATA2], ['tdata3', TDATA3]] as const) {
    it(`${name} (0x${c.toString(16)}): csrrw reads 0 and the write changes nothing; a later read is 0`, () => {
      h.reset();
      h.put(csrrw(5, c, 6), CODE);
      h.put(csrrs(7, c, 0), CODE + 4n);
      h.hart.setX(6, ALL_ONES);
      expectRetired(h.step(), 4, { x5: 0n });
      expectRetired(h.step(), 4, { x7: 0n });
    });
  }

  it('the debug spec enumeration (§5.1): tselect = 1 reads back 0, so trigger 1 does not exist', () => {
    h.reset();
    h.put(csrrwi(0, TSELECT, 1), CODE);
    h.put(csrrs(5, TSELECT, 0), CODE + 4n);
    expectRetired(h.step(), 4);
    expectRetired(h.step(), 4, { x5: 0n });
  });

  it('arming an mcontrol execute breakpoint in tdata1 is ignored: tdata1 reads type 0, tdata2 0', () => {
    h.reset();
    h.put(csrrw(0, TDATA2, 6), CODE); // the address to break on
    h.put(csrrw(0, TDATA1, 7), CODE + 4n);
    h.put(csrrs(5, TDATA1, 0), CODE + 8n);
    h.put(csrrs(8, TDATA2, 0), CODE + 12n);
    h.hart.setX(6, CODE + 16n);
    h.hart.setX(7, MCONTROL_EXEC_M);
    expectRetired(h.step(), 4);
    expectRetired(h.step(), 4);
    expectRetired(h.step(), 4, { x5: 0n });
    expectRetired(h.step(), 4, { x8: 0n });
    // and no breakpoint fires at the address: the next instruction (a nop) simply retires
    h.put(0x00000013, CODE + 16n);
    expectRetired(h.step(), 4);
  });

  for (const [who, priv] of [['S', S], ['U', U]] as const) {
    it(`${who}-mode: csrr tselect raises illegal instruction (M-mode CSR), tval = the instruction bits`, () => {
      const word = csrrs(5, TSELECT, 0);
      const s = h.exec(word, (x) => { x.hart.priv = priv; });
      expect(s.trapped).toBe(true);
      expect([slotValue(s.after, 'mcause'), slotValue(s.after, 'mtval'), slotValue(s.after, 'mepc'), slotValue(s.after, 'priv')])
        .toEqual([2n, BigInt(word), CODE, BigInt(M)]);
      expect(s.changed).not.toContain('x5');
      expect(slotValue(s.after, 'instret')).toBe(slotValue(s.before, 'instret'));
    });
  }

  it('VS-mode (V = 1): csrw tdata1 raises illegal instruction (2), not virtual instruction (22)', () => {
    const word = csrrw(0, TDATA1, 6);
    const s = h.exec(word, (x) => { x.hart.priv = S; x.hart.v = 1; });
    expect(s.trapped).toBe(true);
    expect([slotValue(s.after, 'mcause'), slotValue(s.after, 'mtval'), slotValue(s.after, 'v')]).toEqual([2n, BigInt(word), 0n]);
  });

  it('the debug-mode CSRs next to them (dcsr 0x7b0) stay illegal outside debug mode', () => {
    const word = csrrs(5, 0x7b0, 0);
    const s = h.exec(word);
    expect([s.trapped, slotValue(s.after, 'mcause'), slotValue(s.after, 'mtval')]).toEqual([true, 2n, BigInt(word)]);
  });
});
