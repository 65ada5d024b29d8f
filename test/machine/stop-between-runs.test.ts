/**
 * stop() between two run() calls: a caller that runs the guest in slices (the migration's
 * source over a MessagePort, a monitor's commands) can ask for the stop while no run() is going
 * on. The next run() returns 'stopped' before it retires an instruction, and the one after it
 * runs on: the request is consumed once. A bare machine and a VM's vCPU alike.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { loadImageFile, parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { Vm } from '../../host/vmm/vm';

/** An endless loop: addi t0, t0, 1; j back. */
function loop(): Uint8Array {
  const words = [E.aluI('addi', 5, 5, 1), E.jal(0, -4)];
  const b = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(b.buffer).setUint32(i * 4, w >>> 0, true));
  return b;
}

describe('stop() between two run() calls', () => {
  it('bare machine: the next run() is stopped at once, the one after runs on', async () => {
    const m = await Machine.create({ memSize: 4 << 20, kernel: parseImage(loop(), 'loop.bin', 0x80000000n), deterministic: true });
    const a = await m.run({ maxInstructions: 1000n, timeoutMs: 5000 });
    expect([a.reason, a.instructions]).toEqual(['max-instructions', 1000n]);
    m.stop();
    const b = await m.run({ maxInstructions: 1000n, timeoutMs: 5000 });
    expect([b.reason, b.instructions]).toEqual(['stopped', 0n]);
    const c = await m.run({ maxInstructions: 1000n, timeoutMs: 5000 });
    expect([c.reason, c.instructions]).toEqual(['max-instructions', 1000n]);
    expect(m.hart.x(5)).toBe(1000n); // (t0 counts the loop's addi: half of 2,000 instructions)
  });

  it('VM (minikernel): the next run() is stopped at once, the one after runs on', async () => {
    const out: Uint8Array[] = [];
    const vm = await Vm.create({
      memSize: 128 << 20, kernel: loadImageFile(join(__dirname, '../../guests/bin/minikernel/minikernel.elf'), 0x80200000n),
      deterministic: true, onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
    });
    const a = await vm.run({ maxInstructions: 10_000n, timeoutMs: 5000 });
    expect(a.reason).toBe('max-instructions');
    vm.stop();
    const b = await vm.run({ maxInstructions: 10_000n, timeoutMs: 5000 });
    expect([b.reason, b.instructions]).toEqual(['stopped', 0n]);
    const c = await vm.run({ timeoutMs: 30_000 });
    expect([c.reason, c.exitCode]).toEqual(['exit', 0]);
    expect(Buffer.concat(out).toString('latin1')).toContain('minikernel: shutdown');
  });
});
