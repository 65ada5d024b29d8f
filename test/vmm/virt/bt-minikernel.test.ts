/**
 * minikernel (paging with per-task ASIDs, six U-mode tasks, a timer tick, forks, faults) under
 * binary translation (`--virt bt`): the same console text and exit code as under --virt hw and
 * --virt trap (and QEMU's expected file), with the JIT off and on; none of its kernel's sensitive
 * instructions takes an illegal-instruction trap; call-outs are counted; and --stats prints the
 * class counts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile } from '../../../host/machine/loader';
import type { BtTechnique } from '../../../host/vmm/virt/bt';
import { Vm } from '../../../host/vmm/vm';

const ROOT = join(__dirname, '../../..');
const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const EXPECTED = readFileSync(join(ROOT, 'guests/expected/minikernel/minikernel.txt'), 'latin1');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');

async function boot(virt: 'hw' | 'trap' | 'bt', jit: 'off' | 'on') {
  const out: Uint8Array[] = [];
  const vm = await Vm.create({
    memSize: 128 << 20, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: true, virt, jit,
    onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
  });
  const r = await vm.run({ timeoutMs: 90_000 });
  const rows = vm.exits.rows();
  const reasons: Record<string, number> = Object.fromEntries(rows.map((row) => [row.reason, row.count]));
  const exits = rows.reduce((n, row) => n + row.count, 0);
  return { vm, r, text: Buffer.concat(out).toString('latin1'), reasons, exits };
}

/** Reasons of privileged instructions emulated after an illegal-instruction trap (trap.ts). */
const trapEmulated = (reasons: Record<string, number>) =>
  Object.keys(reasons).filter((k) => /^(csr |sret|wfi|sfence).*\(emulated\)$/.test(k));

describe('minikernel under --virt bt (binary translation of the kernel, shadow page tables)', () => {
  it('prints what it prints under --virt hw and --virt trap, JIT off and on; no trap for a sensitive kernel instruction', async () => {
    const trap = await boot('trap', 'on');
    expect(trap.text).toBe(EXPECTED);
    for (const jit of ['off', 'on'] as const) {
      const bt = await boot('bt', jit);
      expect([jit, bt.r.failure, bt.r.reason, bt.r.exitCode]).toEqual([jit, undefined, 'exit', 0]);
      expect(bt.text).toBe(trap.text);
      expect(trapEmulated(bt.reasons)).toEqual([]);
      const c = (bt.vm.vcpu.technique as BtTechnique).counters();
      // Every call-out is one exit, and the exit table names it.
      const calloutExits = Object.entries(bt.reasons).filter(([k]) => k.startsWith('BT call-out: ')).reduce((n, [, v]) => n + v, 0);
      expect(c.btDynamic.callout).toBe(calloutExits);
      expect(bt.reasons['BT call-out: sret to virtual U']).toBeGreaterThan(0);
      expect(bt.reasons['BT call-out: csr write satp']).toBeGreaterThan(0);
      expect(c.btDynamic.inline).toBeGreaterThan(1000);
      expect(c.btStatic.inline).toBeGreaterThan(0);
      expect(c.btStatic.callout).toBeGreaterThan(0);
      expect(c.btDynamic.ident).toBeGreaterThan(c.btDynamic.inline);
      // The inline sites are exactly the exits trap-and-emulate takes and BT does not (both runs
      // are deterministic, and take the same timer ticks, faults and call-outs).
      expect(trap.exits - bt.exits).toBe(c.btDynamic.inline);
      // BT takes about half the exits of trap-and-emulate (the rest: shadow fills, SBI, timer ticks, call-outs).
      expect(bt.exits).toBeLessThan(trap.exits * 0.55);
      if (jit === 'on') expect(bt.vm.hart.jitStats().failures).toBe(0n);
    }
    const hw = await boot('hw', 'on');
    expect(hw.text).toBe(trap.text);
  }, 240_000);

  it('through the built CLI: the same stdout, and --stats prints the class counts', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', '--virt', 'bt', '--stats', KERNEL], { cwd: ROOT, encoding: 'latin1', timeout: 100_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(EXPECTED);
    expect(r.stderr).toMatch(/wasmvisor binary translation \(--virt bt\)\n {2}classed at translation +[\d,]+ ident, [\d,]+ inline, [\d,]+ call-out\n {2}executed +[\d,]+ ident, [\d,]+ inline, [\d,]+ call-out\n/);
    expect(r.stderr).toMatch(/BT call-out: sret to virtual U/);
  }, 120_000);
});
