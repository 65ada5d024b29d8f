/**
 * One program on both tiers (test/jit's programs): the interpreter (--jit off) and the JIT at a
 * low threshold, deterministic; both must end the same way (reason, exit code, instructions) with
 * the same registers, pc, instret and the named CSRs, and the JIT must have compiled without a
 * failure.
 */
import { expect } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import type { HartState } from '../../host/machine/hart';
import { BASE } from './asm';

type Csr = 'pc' | 'instret' | 'mstatus' | 'mcause' | 'mepc' | 'mtval' | 'satp';

/** x1..x31 and `csrs`, in hex. */
export function hartState(h: HartState, csrs: readonly Csr[]): Record<string, string> {
  const s: Record<string, string> = {};
  for (let i = 1; i < 32; i++) s[`x${i}`] = h.x(i).toString(16);
  for (const k of csrs) s[k] = h[k].toString(16);
  return s;
}

export async function bothTiers(image: Uint8Array, o: { name: string; threshold: number; csrs: readonly Csr[]; maxInstructions?: bigint }) {
  const runs = [];
  for (const jit of ['off', 'on'] as const) {
    const m = await Machine.create({
      memSize: 4 << 20, kernel: parseImage(image, o.name, BASE), deterministic: true, jit, jitThreshold: o.threshold,
    });
    const r = await m.run({ maxInstructions: o.maxInstructions ?? 1_000_000n, timeoutMs: 30_000 });
    runs.push({ m, r: [r.reason, r.exitCode, r.instructions.toString()], s: hartState(m.hart, o.csrs) });
  }
  expect(runs[1].r).toEqual(runs[0].r);
  expect(runs[1].s).toEqual(runs[0].s);
  const jit = runs[1].m.stats().jit;
  expect(jit.failures).toBe(0n);
  return { interpreted: runs[0].m, compiled: runs[1].m, r: runs[0].r, jit };
}
