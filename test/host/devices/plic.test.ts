import { beforeEach, describe, expect, test } from 'vitest';
import { Plic } from '../../../host/devices/plic';

const PRIORITY = (src: number) => 4 * src;
const PENDING = (word: number) => 0x1000 + 4 * word;
const ENABLE = (ctx: number, word: number) => 0x2000 + 0x80 * ctx + 4 * word;
const THRESHOLD = (ctx: number) => 0x200000 + 0x1000 * ctx;
const CLAIM = (ctx: number) => 0x200004 + 0x1000 * ctx;

let plic: Plic;
let events: Array<[number, boolean]>;
let lines: boolean[];

const rd = (off: number) => Number(plic.read(off, 4));
const wr = (off: number, v: number) => plic.write(off, 4, BigInt(v >>> 0));
const enable = (ctx: number, ...srcs: number[]) => {
  const words = [0, 0, 0];
  for (const s of srcs) words[s >> 5] |= 1 << (s & 31);
  words.forEach((w, i) => wr(ENABLE(ctx, i), w));
};

beforeEach(() => {
  events = [];
  lines = [false, false];
  plic = new Plic((ctx, level) => {
    events.push([ctx, level]);
    lines[ctx] = level;
  });
});

describe('registers', () => {
  test('priorities keep 3 bits; source 0 is hardwired to 0', () => {
    wr(PRIORITY(0), 5);
    wr(PRIORITY(1), 5);
    wr(PRIORITY(95), 0xff);
    expect(rd(PRIORITY(0))).toBe(0);
    expect(rd(PRIORITY(1))).toBe(5);
    expect(rd(PRIORITY(95))).toBe(7);
    expect(rd(PRIORITY(96))).toBe(0); // past the last source
  });
  test('enable bit 0 (id 0) cannot be set; other bits are read back', () => {
    wr(ENABLE(1, 0), 0xffffffff);
    wr(ENABLE(1, 2), 0x80000001);
    expect(rd(ENABLE(1, 0))).toBe(0xfffffffe);
    expect(rd(ENABLE(1, 2))).toBe(0x80000001);
    expect(rd(ENABLE(0, 0))).toBe(0);
    expect(rd(ENABLE(2, 0))).toBe(0); // no context 2
  });
  test('threshold takes 0..7 and ignores larger values (as QEMU)', () => {
    wr(THRESHOLD(0), 3);
    wr(THRESHOLD(0), 8);
    expect(rd(THRESHOLD(0))).toBe(3);
  });
  test('pending bits reflect asserted sources and are read-only', () => {
    plic.source(1).set(true);
    plic.source(33).set(true);
    plic.source(95).set(true);
    expect(rd(PENDING(0))).toBe(0x2);
    expect(rd(PENDING(1))).toBe(0x2);
    expect(rd(PENDING(2))).toBe(0x80000000);
    wr(PENDING(0), 0);
    expect(rd(PENDING(0))).toBe(0x2);
  });
  test('byte access sees its part of the word; 8-byte access spans two words', () => {
    wr(PRIORITY(1), 6);
    wr(PRIORITY(2), 3);
    expect(Number(plic.read(PRIORITY(1), 1))).toBe(6);
    expect(plic.read(PRIORITY(1), 8)).toBe((3n << 32n) | 6n);
    plic.write(PRIORITY(1), 8, (1n << 32n) | 2n);
    expect([rd(PRIORITY(1)), rd(PRIORITY(2))]).toEqual([2, 1]);
  });
  test('source() rejects ids outside 1..95', () => {
    expect(() => plic.source(0)).toThrow('plic: source 0 does not exist (valid: 1..95)');
    expect(() => plic.source(96)).toThrow('plic: source 96 does not exist (valid: 1..95)');
  });
});

describe('claim and complete', () => {
  beforeEach(() => {
    for (const s of [1, 5, 10, 40]) wr(PRIORITY(s), 1);
    enable(1, 1, 5, 10, 40);
  });

  test('claim order: highest priority first, lowest id among equals', () => {
    wr(PRIORITY(40), 3);
    wr(PRIORITY(5), 2);
    for (const s of [1, 5, 10, 40]) plic.source(s).set(true);
    expect([rd(CLAIM(1)), rd(CLAIM(1)), rd(CLAIM(1)), rd(CLAIM(1)), rd(CLAIM(1))]).toEqual([40, 5, 1, 10, 0]);
  });
  test('claim clears the pending bit; the source is not re-pended until completed', () => {
    const src = plic.source(10);
    src.set(true);
    expect(rd(CLAIM(1))).toBe(10);
    expect(rd(PENDING(0))).toBe(0);
    src.set(false);
    src.set(true); // a new assertion while in service is not forwarded
    expect(rd(PENDING(0))).toBe(0);
    expect(rd(CLAIM(1))).toBe(0);
    wr(CLAIM(1), 10);
    expect(rd(PENDING(0))).toBe(1 << 10); // level still high: pending again
    expect(rd(CLAIM(1))).toBe(10);
  });
  // docs/board.md "PLIC: completion does not re-pend a level by itself" (as QEMU's sifive_plic).
  test('a level held high with no new request is not pended again on completion', () => {
    const src = plic.source(10);
    src.set(true);
    expect(rd(CLAIM(1))).toBe(10);
    wr(CLAIM(1), 10);
    expect(rd(PENDING(0))).toBe(0);
    expect(lines[1]).toBe(false);
    src.set(true); // the device's next request
    expect(rd(PENDING(0))).toBe(1 << 10);
    expect(rd(CLAIM(1))).toBe(10);
  });
  test('a request made in service and then withdrawn is not forwarded on completion', () => {
    const src = plic.source(10);
    src.set(true);
    rd(CLAIM(1));
    src.set(true);
    src.set(false);
    wr(CLAIM(1), 10);
    expect(rd(PENDING(0))).toBe(0);
  });
  test('after completion with the level low, nothing is pending', () => {
    const src = plic.source(10);
    src.set(true);
    rd(CLAIM(1));
    src.set(false);
    wr(CLAIM(1), 10);
    expect(rd(PENDING(0))).toBe(0);
    expect(lines[1]).toBe(false);
  });
  test('a pending request stays when the device drops its level before the claim', () => {
    const src = plic.source(5);
    src.set(true);
    src.set(false);
    expect(rd(PENDING(0))).toBe(1 << 5);
    expect(rd(CLAIM(1))).toBe(5);
  });
  test('completing an id not enabled for the context is ignored', () => {
    const src = plic.source(10);
    src.set(true);
    rd(CLAIM(1));
    wr(CLAIM(0), 10); // context 0 does not enable source 10
    expect(plic.snapshot().inService).toEqual([10]);
    wr(CLAIM(1), 10);
    expect(plic.snapshot().inService).toEqual([]);
  });
  test('threshold masks sources at or below it, for the line and for claims', () => {
    wr(PRIORITY(10), 2);
    wr(THRESHOLD(1), 2);
    plic.source(10).set(true);
    expect(lines[1]).toBe(false);
    expect(rd(CLAIM(1))).toBe(0);
    expect(rd(PENDING(0))).toBe(1 << 10);
    wr(THRESHOLD(1), 1);
    expect(lines[1]).toBe(true);
    expect(rd(CLAIM(1))).toBe(10);
  });
  test('priority 0 never interrupts', () => {
    wr(PRIORITY(10), 0);
    plic.source(10).set(true);
    expect(lines[1]).toBe(false);
    expect(rd(CLAIM(1))).toBe(0);
  });
});

describe('context outputs', () => {
  test('each context line follows its own enables and changes only on edges', () => {
    wr(PRIORITY(10), 1);
    wr(PRIORITY(1), 1);
    enable(0, 1);
    enable(1, 10);
    plic.source(10).set(true);
    expect(events).toEqual([[1, true]]);
    plic.source(10).set(true); // no change
    plic.source(1).set(true);
    expect(events).toEqual([
      [1, true],
      [0, true],
    ]);
    expect(rd(CLAIM(1))).toBe(10);
    expect(events.at(-1)).toEqual([1, false]);
    expect(rd(CLAIM(0))).toBe(1);
    expect(events.at(-1)).toEqual([0, false]);
    expect(events.length).toBe(4);
  });
  test('enabling an already-pending source raises the line; disabling drops it', () => {
    wr(PRIORITY(7), 4);
    plic.source(7).set(true);
    expect(events).toEqual([]);
    enable(0, 7);
    expect(events).toEqual([[0, true]]);
    enable(0);
    expect(events).toEqual([
      [0, true],
      [0, false],
    ]);
  });
});

describe('snapshot', () => {
  test('restore reproduces the state and drives every context output', () => {
    wr(PRIORITY(3), 2);
    wr(PRIORITY(9), 5);
    enable(0, 3);
    enable(1, 9);
    wr(THRESHOLD(1), 1);
    plic.source(3).set(true);
    plic.source(9).set(true);
    expect(rd(CLAIM(1))).toBe(9);
    plic.source(9).set(true); // a new request while in service
    const snap = plic.snapshot();
    expect(snap.pending).toEqual([3]);
    expect(snap.inService).toEqual([9]);
    expect(snap.level).toEqual([3, 9]);
    expect(snap.requested).toEqual([9]);
    expect(snap.enable).toEqual([[3], [9]]);
    expect(snap.threshold).toEqual([0, 1]);
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);

    const got: Array<[number, boolean]> = [];
    const copy = new Plic((c, l) => got.push([c, l]));
    copy.restore(snap);
    expect(got).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(copy.snapshot()).toEqual(snap);
    copy.write(CLAIM(1), 4, 9n);
    expect(copy.read(CLAIM(1), 4)).toBe(9n); // the request made in service is forwarded on completion
  });
});
