/**
 * A restored guest continues exactly (issue 14): under --deterministic, minikernel is saved at
 * 20 points (10 instruction counts spread evenly over its run, 10 just before console output
 * it prints at 10 places spread over its output); each snapshot is restored into a new machine built
 * from the same configuration, and what that machine prints until the guest shuts down must be
 * byte for byte the rest of an uninterrupted run's output, with the same exit. The source keeps
 * running after each save, so its whole output must also equal the uninterrupted run's (saving
 * perturbs nothing). VM mode (--virt hw, and trap) and bare mode (behind OpenSBI), JIT on and off.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { Vm } from '../../host/vmm/vm';
import { restoreSnapshot, saveSnapshot } from '../../host/snapshot/snapshot';
import { OPENSBI, oracle } from '../oracles';

const ROOT = join(__dirname, '../..');
const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const POINTS = 20;
const haveOpensbi = oracle('opensbi', 'test/snapshot/exactness.test.ts');

type Target = Machine | Vm;
type Make = (out: Uint8Array[], onOutput?: () => void) => Promise<Target>;

const text = (out: Uint8Array[]) => Buffer.concat(out).toString('latin1');

function vmMaker(jit: 'on' | 'off', virt: 'hw' | 'trap' = 'hw'): Make {
  return (out, onOutput) => Vm.create({
    memSize: 128 << 20, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: true, jit, virt,
    onConsoleOutput: (b) => { onOutput?.(); out.push(Uint8Array.from(b)); },
  });
}

function bareMaker(jit: 'on' | 'off'): Make {
  return (out, onOutput) => Machine.create({
    memSize: 128 << 20, bios: loadImageFile(OPENSBI, 0x80000000n), kernel: loadImageFile(KERNEL, 0x80200000n),
    deterministic: true, jit, onConsoleOutput: (b) => { onOutput?.(); out.push(Uint8Array.from(b)); },
  });
}

/**
 * `storesEmulated`: --virt trap emulates the guest's stores to its write-protected page tables in
 * the VMM, which the hart does not count as retired; a restore drops the shadows and their write
 * protection (rebuilt on demand), so a few such stores run natively and count: the output is the
 * same, the instruction total may be a little higher.
 */
async function exactness(make: Make, storesEmulated = false): Promise<void> {
  // The uninterrupted run.
  const fullOut: Uint8Array[] = [];
  const marks: bigint[] = []; // instret when each console byte came out
  const holder: { t?: Target } = {};
  const full = holder.t = await make(fullOut, () => marks.push(holder.t!.hart.instret));
  const r = await full.run({ timeoutMs: 60_000 });
  expect([r.reason, r.exitCode]).toEqual(['exit', 0]);
  const expected = text(fullOut);
  const total = r.instructions;
  expect(expected).toContain('minikernel: S-mode on hart 0');

  // The source: run to each point, save, run on.
  const srcOut: Uint8Array[] = [];
  const src = await make(srcOut);
  const saves: { bytes: Uint8Array; printed: number; at: bigint }[] = [];
  const points = new Set<bigint>();
  for (let i = 0; i < POINTS / 2; i++) {
    // Spread over the run, off round numbers (7919 is prime); and just before an output byte.
    points.add((total * BigInt(2 * i + 1)) / BigInt(POINTS) + BigInt(i * 7919));
    points.add(marks[Math.floor((marks.length * (2 * i + 1)) / POINTS)] - BigInt(1 + i * 13));
  }
  let done = 0n;
  for (const [i, at] of [...points].sort((a, b) => (a < b ? -1 : 1)).entries()) {
    if (at <= done) continue; // (a run may retire up to one block past its limit)
    const s = await src.run({ maxInstructions: at - done, timeoutMs: 60_000 });
    expect({ i, at, done, reason: s.reason }).toEqual({ i, at, done, reason: 'max-instructions' });
    const bytes = saveSnapshot(src);
    // (A bare machine's save completes the MMIO access it stopped on: that store retires now.)
    done = src.hart.instret;
    saves.push({ bytes, printed: text(srcOut).length, at: done });
  }
  const last = await src.run({ timeoutMs: 60_000 });
  expect([last.reason, last.exitCode]).toEqual(['exit', 0]);
  expect(text(srcOut)).toBe(expected);
  // Points really are spread over the output, not all before the kernel speaks.
  expect(saves.length).toBeGreaterThanOrEqual(POINTS - 2);
  expect(new Set(saves.map((s) => s.printed)).size).toBeGreaterThanOrEqual(8);

  // Each snapshot, restored into a new machine, prints exactly the rest.
  for (const s of saves) {
    const out: Uint8Array[] = [];
    const m = await make(out);
    restoreSnapshot(m, s.bytes);
    const rr = await m.run({ timeoutMs: 60_000 });
    expect({ at: s.at, reason: rr.reason, code: rr.exitCode, rest: text(out) })
      .toEqual({ at: s.at, reason: 'exit', code: 0, rest: expected.slice(s.printed) });
    const extra = Number(s.at + rr.instructions - total);
    if (!storesEmulated) expect(extra).toBe(0);
    else expect(extra >= 0 && extra < 1000).toBe(true);
  }
}

describe('a restored minikernel continues exactly (--deterministic)', () => {
  it('VM mode, JIT on: 20 save points', async () => exactness(vmMaker('on')), 180_000);
  it('VM mode, JIT off: 20 save points', async () => exactness(vmMaker('off')), 180_000);
  it('VM mode --virt trap (shadow tables dropped and rebuilt), JIT on: 20 save points', async () => exactness(vmMaker('on', 'trap'), true), 180_000);
  it.skipIf(!haveOpensbi)('bare mode behind OpenSBI, JIT on: 20 save points', async () => exactness(bareMaker('on')), 180_000);
  it.skipIf(!haveOpensbi)('bare mode behind OpenSBI, JIT off: 20 save points', async () => exactness(bareMaker('off')), 180_000);
});
