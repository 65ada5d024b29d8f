import { describe, expect, test } from 'vitest';
import { TestFinisher } from '../../../host/devices/test-finisher';

function finisher() {
  const calls: string[] = [];
  const dev = new TestFinisher({ onExit: (c) => calls.push(`exit ${c}`), onReset: () => calls.push('reset') });
  return { dev, calls };
}

describe('sifive,test0 finisher', () => {
  test('0x5555 passes with exit 0', () => {
    const { dev, calls } = finisher();
    dev.write(0, 4, 0x5555n);
    expect(calls).toEqual(['exit 0']);
  });
  test('(code << 16) | 0x3333 fails with the code', () => {
    const { dev, calls } = finisher();
    dev.write(0, 4, (3n << 16n) | 0x3333n);
    dev.write(0, 4, (0xffffn << 16n) | 0x3333n);
    expect(calls).toEqual(['exit 3', 'exit 65535']);
  });
  test('0x7777 requests a reset', () => {
    const { dev, calls } = finisher();
    dev.write(0, 4, 0x7777n);
    expect(calls).toEqual(['reset']);
  });
  test('other values, other offsets and reads do nothing', () => {
    const { dev, calls } = finisher();
    dev.write(0, 4, 0x1234n);
    dev.write(0, 4, 0x5554n);
    dev.write(4, 4, 0x5555n);
    dev.write(0, 8, 0x1_0000_0000n); // bits above 31 are not part of the register
    expect(dev.read(0, 4)).toBe(0n);
    expect(calls).toEqual([]);
  });
  test('a 16-bit write of PASS works (sw and sh both appear in guests)', () => {
    const { dev, calls } = finisher();
    dev.write(0, 2, 0x5555n);
    expect(calls).toEqual(['exit 0']);
  });
});
