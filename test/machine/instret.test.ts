/**
 * Instruction counting across blocks with several exits: a conditional branch does not end a
 * decoded block (F_BRANCH), so a taken branch leaves in the middle of one and the records after
 * it, counted when the block started, must be taken back. The count must be exact.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';

const T0 = 5, T1 = 6, T2 = 7, T3 = 28;

function program(n: number): Uint8Array {
  const words = [
    E.aluI('addi', T0, 0, n), //                      1
    E.aluI('addi', T0, T0, -1), // loop:             n
    E.bType(1, T0, 0, -4), //      bne t0, x0, loop   n (taken n - 1 times, mid-block)
    E.aluI('addi', T1, 0, 1), //                      1
    E.aluI('addi', T1, T1, 1), //                     1
    E.lui(T2, 0x100), //                              1
    E.lui(T3, 0x5), //                                1
    E.aluI('addiw', T3, T3, 0x555), //                1  (t3 = 0x5555: finisher PASS)
    E.store('sw', T3, T2, 0), //   exits; not retired before the host completes it
    E.jal(0, 0),
  ];
  const b = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(b.buffer).setUint32(i * 4, w >>> 0, true));
  return b;
}

describe('instret with taken branches inside blocks', () => {
  for (const n of [1, 2, 10, 1000]) {
    it(`a ${n}-iteration loop retires exactly 1 + 2n + 5 instructions before the finisher store`, async () => {
      const m = await Machine.create({ memSize: 4 << 20, kernel: parseImage(program(n), 'loop.bin', 0x80000000n), deterministic: true });
      const r = await m.run({ timeoutMs: 5000 });
      expect([r.reason, r.exitCode]).toEqual(['exit', 0]);
      expect(r.instructions).toBe(BigInt(1 + 2 * n + 5));
      expect(m.hart.x(T1)).toBe(2n);
      expect(m.hart.x(T0)).toBe(0n);
    });
  }
});
