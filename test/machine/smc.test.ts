/**
 * Self-modifying code and the BT cache: a store into a page that holds decoded blocks
 * invalidates exactly that page's blocks, so the patched instruction runs after fence.i
 * (unprivileged spec ch. 3, Zifencei), while blocks of other pages stay cached.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runQemu } from '../diff/qemu';
import { oracle } from '../oracles';

const A0 = 10;
const T0 = 5;
const T1 = 6;
const T2 = 7;
const S1 = 9;

function words(ws: number[]): Uint8Array {
  const b = new Uint8Array(ws.length * 4);
  ws.forEach((w, i) => new DataView(b.buffer).setUint32(i * 4, w, true));
  return b;
}

/**
 * Runs `patch: addi a0, a0, 1` twice: after the first pass the program overwrites that
 * instruction with `addi a0, a0, 100`, executes fence.i and runs it again; then it reports a0
 * through the test finisher as the exit code (1 + 100 = 101 if the patch was seen).
 */
function smcProgram(): Uint8Array {
  const patched = E.aluI('addi', A0, A0, 100);
  const lo = ((patched & 0xfff) << 20) >> 20;
  const hi = ((patched - lo) >>> 12) & 0xfffff;
  const prog = [
    /* 0 */ E.aluI('addi', A0, 0, 0),
    /* 1 */ E.aluI('addi', S1, 0, 0), // pass counter
    /* 2 */ E.uType(0x17, T0, 0), // auipc t0, 0: t0 = 0x80000008
    // patch: (index 3)
    /* 3 */ E.aluI('addi', A0, A0, 1),
    /* 4 */ E.aluI('addi', S1, S1, 1),
    /* 5 */ E.aluI('addi', T2, 0, 2),
    /* 6 */ E.bType(0, S1, T2, 7 * 4), // beq s1, t2, done (index 13)
    /* 7 */ E.uType(0x37, T1, hi), // lui t1, hi
    /* 8 */ E.aluI('addiw', T1, T1, lo), // t1 = patched instruction
    /* 9 */ E.store('sw', T1, T0, 4), // *(t0 + 4) = patch at index 3
    /* 10 */ 0x0000100f, // fence.i
    /* 11 */ E.jal(0, -8 * 4), // back to index 3
    /* 12 */ E.jal(0, 0),
    // done (index 13): exit through the finisher with code a0: (a0 << 16) | 0x3333
    /* 13 */ E.shiftI('slli', T1, A0, 16),
    /* 14 */ E.uType(0x37, T2, 0x3), // t2 = 0x3000
    /* 15 */ E.aluI('addi', T2, T2, 0x333), // t2 = 0x3333
    /* 16 */ E.aluR('or', T1, T1, T2),
    /* 17 */ E.uType(0x37, T0, 0x100), // t0 = 0x100000
    /* 18 */ E.store('sw', T1, T0, 0),
    /* 19 */ E.jal(0, 0),
  ];
  return words(prog);
}

describe('self-modifying code', () => {
  it('a store to a code page invalidates its blocks; the patched instruction runs after fence.i', async () => {
    const m = await Machine.create({
      memSize: 16 << 20,
      kernel: parseImage(smcProgram(), 'smc.bin', 0x80000000n),
      deterministic: true,
    });
    const r = await m.run({ timeoutMs: 5000 });
    expect(r.reason).toBe('exit');
    expect(r.exitCode).toBe(101);
    const s = m.stats();
    // One store hit a page with decoded code: exactly one invalidation.
    expect(s.codeInvalidations).toBe(1n);
  });
});

describe.skipIf(!oracle('qemu', 'test/machine/smc.test.ts'))('self-modifying code on QEMU', () => {
  it('QEMU runs the same program to the same exit code', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wasmvisor-smc-')), 'smc.bin');
    writeFileSync(file, smcProgram());
    const q = await runQemu(file, { timeoutMs: 10_000 });
    expect(q.timedOut).toBe(false);
    expect(q.exitCode).toBe(101);
  });
});
