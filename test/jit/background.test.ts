// Compiles off the run loop (issue 16): with --jit on and no --deterministic, hot regions are
// compiled in the background and installed at the run loop's yields (host/machine/jit.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile } from '../../host/machine/loader';
import { jitInBackground } from '../../host/machine/jit';
import { Vm } from '../../host/vmm/vm';

const BIN = join(__dirname, '../../guests/bin');

describe('jitInBackground', () => {
  it('is the default with --jit on, and never with --jit always, off or --deterministic', () => {
    expect(jitInBackground({ jit: 'on' })).toBe(true);
    expect(jitInBackground({ jit: 'on', deterministic: true })).toBe(false);
    expect(jitInBackground({ jit: 'always' })).toBe(false);
    expect(jitInBackground({ jit: 'off' })).toBe(false);
  });
  it('follows an explicit jitBackground', () => {
    expect(jitInBackground({ jit: 'on', jitBackground: false })).toBe(false);
    expect(jitInBackground({ jit: 'on', deterministic: true, jitBackground: true })).toBe(true);
  });
});

describe('background compiles', () => {
  it('minikernel as a VM: the same work done, and regions compiled in the background run', async () => {
    const out: Uint8Array[] = [];
    const v = await Vm.create({
      memSize: 128 << 20,
      kernel: loadImageFile(join(BIN, 'minikernel/minikernel.elf'), 0x80200000n),
      jit: 'on',
      onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
    });
    const r = await v.run({ timeoutMs: 60_000 });
    expect([r.reason, r.exitCode]).toEqual(['exit', 0]);
    const text = Buffer.concat(out).toString('latin1');
    expect(text).toContain('minikernel: 6 tasks started');
    expect(text).toContain('primes: pid 2: 5133 primes below 50000');
    const s = v.stats();
    expect(s.jit.failures).toBe(0n);
    expect(s.jit.compiles).toBeGreaterThan(0n);
    expect(s.jit.calls).toBeGreaterThan(0n);
    expect(s.jit.instructions).toBeGreaterThan(0n);
  }, 120_000);
});
