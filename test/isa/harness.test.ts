/** The harness itself: slot names from abi.ts, diffs, the trap sentinel. */
import { describe, expect, it } from 'vitest';
import * as A from '../../assembly/abi';
import * as E from '../diff/encode';
import { CODE, Harness, MTVEC, diff, poison, slotValue } from './harness';

describe('ISA harness', () => {
  const h = new Harness();

  it('names slots after the S_* constants of abi.ts, arrays by index', () => {
    h.reset();
    const before = h.snapshot();
    h.hart.setX(31, 1n);
    h.hart.mscratch = 7n;
    const v = new BigUint64Array(h.memory.buffer, A.STATE, A.STATE_SIZE / 8);
    v[(A.S_PMPCFG + 8) / 8] = 1n;
    v[(A.S_PMPADDR + 63 * 8) / 8] = 1n;
    v[(A.S_X + 32 * 8) / 8] = 1n;
    v[(A.S_STAT_TRAPS) / 8] += 1n;
    v[0x638 / 8] = 1n; // no constant names this slot
    const after = h.snapshot();
    expect(diff(before, after)).toEqual(['x31', 'mscratch', 'pmpcfg2', 'pmpaddr63', 'state+0x638']);
    expect(diff(before, after, [])).toEqual(['x31', 'x32', 'mscratch', 'pmpcfg2', 'pmpaddr63', 'state+0x638', 'stat_traps']);
    expect(slotValue(after, 'x31')).toBe(1n);
    expect(() => slotValue(after, 'nonsense')).toThrow('no STATE slot named nonsense');
  });

  it('resets to the documented start state', () => {
    h.reset();
    expect([h.hart.pc, h.hart.priv, h.hart.instret, h.hart.x(0), h.hart.x(5), h.hart.mtvec]).toEqual([CODE, 3, 0n, 0n, poison(5), MTVEC]);
  });

  it('a step that retires reports exit BUDGET and is not a trap', () => {
    const s = h.exec(E.aluI('addi', 5, 0, 1));
    expect([s.exit, s.trapped, s.changed]).toEqual([A.EXIT_BUDGET, false, ['x5', 'pc', 'instret']]);
  });

  it('a trapping step stops at the vector with the sentinel not retired', () => {
    const s = h.exec(0xffffffff);
    expect([s.exit, s.trapped, h.hart.pc, h.hart.instret]).toEqual([A.EXIT_MMIO, true, MTVEC, 0n]);
    expect(s.changed).toEqual(['pc', 'mstatus', 'mepc', 'mcause', 'mtval']);
  });
});
