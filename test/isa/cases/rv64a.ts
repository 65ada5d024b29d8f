/**
 * A extension (unprivileged spec ch. 14): LR/SC with and without a reservation, every AMO in
 * both widths (the .w forms sign-extend the loaded word into rd), min/max signed and unsigned,
 * aq/rl accepted, misaligned addresses trapping. x5 = rd, x6 = address, x7 = source.
 * The reservation is the lr_addr slot (all ones when there is none).
 */
import { expect } from 'vitest';
import * as E from '../../diff/encode';
import { Cases, CODE, DATA, MTVEC, expectChanges, expectRetired, expectTrap, slotValue, u64, type Harness } from '../harness';

export const cases = new Cases();

const NONE = 0xffffffffffffffffn;

/** Memory at DATA: `old` in the first word/doubleword, a guard pattern after it. */
function prime(h: Harness, d: boolean, old: bigint, src: bigint): void {
  h.write64(DATA, d ? old : 0xa5a5a5a500000000n | BigInt.asUintN(32, old));
  h.write64(DATA + 8n, 0xa5a5a5a5a5a5a5a5n);
  h.hart.setX(6, DATA);
  h.hart.setX(7, src);
}

type Amo = Exclude<keyof typeof E.AMOS, 'lr' | 'sc'>;
/** One AMO: rd = old (sign-extended for .w), memory = new, upper word and next bytes untouched. */
function amo(name: Amo, d: boolean, old: bigint, src: bigint, want: bigint): void {
  const insn = `${name}.${d ? 'd' : 'w'}`;
  cases.add(insn, `old 0x${old.toString(16)}, rs2 0x${src.toString(16)}: memory 0x${want.toString(16)}`, (h) => {
    const s = h.exec(E.amo(name, d ? 'd' : 'w', 5, 6, 7), (h) => prime(h, d, old, src));
    const rd = d ? old : u64(BigInt.asIntN(32, old));
    expectRetired(s, 4, { x5: rd });
    expect(h.read64(DATA)).toBe(d ? want : 0xa5a5a5a500000000n | want);
    expect(h.read64(DATA + 8n)).toBe(0xa5a5a5a5a5a5a5a5n);
  });
}

for (const d of [false, true]) {
  const W = d ? 'd' : 'w';
  const ones = d ? 0xffffffffffffffffn : 0xffffffffn;
  const top = d ? 0x8000000000000000n : 0x80000000n;
  amo('amoswap', d, top | 5n, 0x1234n, 0x1234n);
  amo('amoadd', d, top - 1n, 1n, top); amo('amoadd', d, ones, 2n, 1n);
  amo('amoxor', d, 0xff00n, 0x0ff0n, 0xf0f0n);
  amo('amoand', d, ones, 0x0ff0n, 0x0ff0n);
  amo('amoor', d, top, 1n, top | 1n);
  // -1 against 1: signed min keeps -1, unsigned min takes 1; the reverse for max.
  amo('amomin', d, ones, 1n, ones); amo('amomin', d, 1n, ones, ones);
  amo('amomax', d, ones, 1n, 1n); amo('amomax', d, top, top - 1n, top - 1n);
  amo('amominu', d, ones, 1n, 1n); amo('amominu', d, 1n, ones, 1n);
  amo('amomaxu', d, ones, 1n, ones); amo('amomaxu', d, top - 1n, top, top);
  if (!d) {
    // The .w forms read only rs2's low word.
    amo('amoadd', false, 1n, 0xffffffff00000002n, 3n);
    amo('amomin', false, 5n, 0x00000000ffffffffn, 0xffffffffn);
  }

  cases.add(`amoswap.${W}`, 'aq and rl are accepted', (h) => {
    const s = h.exec(E.amo('amoswap', W, 5, 6, 7, true, true), (h) => prime(h, d, 9n, 4n));
    expectRetired(s, 4, { x5: 9n });
    expect(h.read64(DATA) & ones).toBe(4n);
  });
  cases.add(`amoadd.${W}`, 'rd = x0: memory still updated', (h) => {
    const s = h.exec(E.amo('amoadd', W, 0, 6, 7), (h) => prime(h, d, 9n, 4n));
    expectRetired(s, 4);
    expect(h.read64(DATA) & ones).toBe(13n);
  });
  cases.add(`amoadd.${W}`, 'misaligned: store/AMO address misaligned (cause 6), mtval = address', (h) => {
    const s = h.exec(E.amo('amoadd', W, 5, 6, 7), (h) => { prime(h, d, 9n, 4n); h.hart.setX(6, DATA + 2n); });
    expect(s.trapped).toBe(true);
    expectChanges(s, { mcause: 6n, mepc: CODE, mtval: DATA + 2n, mstatus: slotValue(s.before, 'mstatus') | 0x1800n, pc: MTVEC });
    expect(h.read64(DATA) & ones).toBe(9n);
  });

  // ---- LR / SC ----
  cases.add(`lr.${W}`, `loads${d ? '' : ' sign-extended'} and reserves the address`, (h) => {
    const s = h.exec(E.amo('lr', W, 5, 6, 0), (h) => prime(h, d, top | 7n, 0n));
    expectRetired(s, 4, { x5: d ? top | 7n : 0xffffffff80000007n, lr_addr: DATA });
  });
  cases.add(`lr.${W}`, 'misaligned: load address misaligned (cause 4)', (h) => {
    const s = h.exec(E.amo('lr', W, 5, 6, 0), (h) => { prime(h, d, 1n, 0n); h.hart.setX(6, DATA + 4n + (d ? 0n : 1n)); });
    expect(s.trapped).toBe(true);
    expectChanges(s, { mcause: 4n, mepc: CODE, mtval: DATA + 4n + (d ? 0n : 1n), mstatus: slotValue(s.before, 'mstatus') | 0x1800n, pc: MTVEC });
  });
  cases.add(`sc.${W}`, 'with the reservation: stores, rd = 0, reservation released', (h) => {
    const s = h.exec(E.amo('sc', W, 5, 6, 7), (h) => { prime(h, d, 1n, 0x1122334455667788n); h.hart.lrAddr = DATA; });
    expectRetired(s, 4, { x5: 0n, lr_addr: NONE });
    expect(h.read64(DATA)).toBe(d ? 0x1122334455667788n : 0xa5a5a5a555667788n);
    expect(h.read64(DATA + 8n)).toBe(0xa5a5a5a5a5a5a5a5n);
  });
  cases.add(`sc.${W}`, 'without a reservation: rd = 1, memory unchanged', (h) => {
    const s = h.exec(E.amo('sc', W, 5, 6, 7), (h) => prime(h, d, 1n, 0x1122334455667788n));
    expectRetired(s, 4, { x5: 1n });
    expect(h.read64(DATA)).toBe(d ? 1n : 0xa5a5a5a500000001n);
  });
  cases.add(`sc.${W}`, 'reservation on another address: fails, memory unchanged, reservation released', (h) => {
    const s = h.exec(E.amo('sc', W, 5, 6, 7), (h) => { prime(h, d, 1n, 2n); h.hart.lrAddr = DATA + 64n; });
    expectRetired(s, 4, { x5: 1n, lr_addr: NONE });
    expect(h.read64(DATA) & ones).toBe(1n);
  });
  cases.add(`sc.${W}`, 'after lr to the same address: succeeds; a second sc fails', (h) => {
    h.reset();
    h.put(E.amo('lr', W, 5, 6, 0));
    h.put(E.amo('sc', W, 28, 6, 7), CODE + 4n);
    h.put(E.amo('sc', W, 29, 6, 7), CODE + 8n);
    prime(h, d, 3n, 4n);
    expectRetired(h.step(), 4, { x5: 3n, lr_addr: DATA });
    expectRetired(h.step(), 4, { x28: 0n, lr_addr: NONE });
    expectRetired(h.step(), 4, { x29: 1n });
    expect(h.read64(DATA) & ones).toBe(4n);
  });
}

cases.add('lr.w', 'the core releases the reservation on a trap (allowed, not required by §14.2)', (h) => {
  const s = h.exec(0x00000073 /* ecall */, (h) => { h.hart.lrAddr = DATA; });
  expect(s.trapped).toBe(true);
  expect(s.changed).toContain('lr_addr');
  expect(h.hart.lrAddr).toBe(NONE);
});

// ---- misaligned SC and atomics outside RAM (§14.4: AMOs to regions without them fault) ----
cases.add('sc.w', 'misaligned: store/AMO address misaligned (cause 6) even without a reservation', (h) => {
  const s = h.exec(E.amo('sc', 'w', 5, 6, 7), (h) => { h.hart.setX(6, DATA + 2n); h.hart.setX(7, 1n); });
  expectTrap(s, 6n, DATA + 2n);
});
cases.add('amoadd.w', 'to a non-RAM address: store/AMO access fault (cause 7), mtval = address', (h) => {
  const s = h.exec(E.amo('amoadd', 'w', 5, 6, 7), (h) => { h.hart.setX(6, 0x1000n); h.hart.setX(7, 1n); });
  expectTrap(s, 7n, 0x1000n);
});
cases.add('lr.d', 'to a non-RAM address: load access fault (cause 5), mtval = address', (h) => {
  const s = h.exec(E.amo('lr', 'd', 5, 6, 0), (h) => { h.hart.setX(6, 0x1000n); });
  expectTrap(s, 5n, 0x1000n);
});
