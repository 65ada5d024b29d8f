import { beforeEach, describe, expect, test } from 'vitest';
import { Clint } from '../../../host/devices/clint';
import type { HartTimer } from '../../../host/devices/device';

/** A HartTimer that records what the CLINT does to it. */
class FakeTimer implements HartTimer {
  now = 0x1122_3344_5566_7788n;
  cmp = 0xffff_ffff_ffff_ffffn;
  msip = false;
  setMtime?: (v: bigint) => void = (v) => {
    this.now = v;
  };
  mtime() {
    return this.now;
  }
  getMtimecmp() {
    return this.cmp;
  }
  setMtimecmp(v: bigint) {
    this.cmp = v;
  }
  getMsip() {
    return this.msip;
  }
  setMsip(l: boolean) {
    this.msip = l;
  }
}

let t: FakeTimer;
let clint: Clint;
beforeEach(() => {
  t = new FakeTimer();
  clint = new Clint(t);
});

describe('msip', () => {
  test('bit 0 drives MSIP; other bits read 0', () => {
    clint.write(0x0, 4, 0xffff_ffffn);
    expect(t.msip).toBe(true);
    expect(clint.read(0x0, 4)).toBe(1n);
    clint.write(0x0, 4, 0x2n);
    expect(t.msip).toBe(false);
    expect(clint.read(0x0, 4)).toBe(0n);
  });
  test('msip of a second hart does not exist', () => {
    clint.write(0x4, 4, 1n);
    expect(t.msip).toBe(false);
    expect(clint.read(0x4, 4)).toBe(0n);
  });
});

describe('mtimecmp', () => {
  test('64-bit read and write', () => {
    clint.write(0x4000, 8, 0x0000_0001_0000_0002n);
    expect(t.cmp).toBe(0x0000_0001_0000_0002n);
    expect(clint.read(0x4000, 8)).toBe(0x0000_0001_0000_0002n);
  });
  test('32-bit halves: each write changes only its half', () => {
    t.cmp = 0x1111_1111_2222_2222n;
    clint.write(0x4000, 4, 0xaaaa_aaaan);
    expect(t.cmp).toBe(0x1111_1111_aaaa_aaaan);
    clint.write(0x4004, 4, 0xbbbb_bbbbn);
    expect(t.cmp).toBe(0xbbbb_bbbb_aaaa_aaaan);
    expect(clint.read(0x4000, 4)).toBe(0xaaaa_aaaan);
    expect(clint.read(0x4004, 4)).toBe(0xbbbb_bbbbn);
  });
  test('the RV32 idiom: high all-ones, low, then high', () => {
    clint.write(0x4004, 4, 0xffff_ffffn);
    clint.write(0x4000, 4, 0x0000_1000n);
    clint.write(0x4004, 4, 0x0000_0002n);
    expect(t.cmp).toBe(0x0000_0002_0000_1000n);
  });
  test('byte access', () => {
    t.cmp = 0n;
    clint.write(0x4003, 1, 0x1ffn);
    expect(t.cmp).toBe(0xff00_0000n);
    expect(clint.read(0x4003, 1)).toBe(0xffn);
  });
  test('an access straddling two registers is ignored', () => {
    t.cmp = 5n;
    clint.write(0x3ffc, 8, 0n);
    expect(t.cmp).toBe(5n);
    expect(clint.read(0x3ffc, 8)).toBe(0n);
  });
});

describe('mtime', () => {
  test('reads the timer as 64 bits and as halves', () => {
    expect(clint.read(0xbff8, 8)).toBe(0x1122_3344_5566_7788n);
    expect(clint.read(0xbff8, 4)).toBe(0x5566_7788n);
    expect(clint.read(0xbffc, 4)).toBe(0x1122_3344n);
  });
  test('writes go to setMtime, half by half', () => {
    clint.write(0xbff8, 8, 42n);
    expect(t.now).toBe(42n);
    clint.write(0xbffc, 4, 1n);
    expect(t.now).toBe((1n << 32n) | 42n);
  });
  test('writes are ignored by a timer without setMtime', () => {
    t.setMtime = undefined;
    clint.write(0xbff8, 8, 42n);
    expect(t.now).toBe(0x1122_3344_5566_7788n);
  });
  test('other offsets read 0', () => {
    expect(clint.read(0x8000, 4)).toBe(0n);
    expect(clint.read(0xfff0, 8)).toBe(0n);
  });
});
