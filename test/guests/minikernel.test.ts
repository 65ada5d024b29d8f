/**
 * minikernel, our S-mode kernel (guests/minikernel), behind OpenSBI on the bare machine:
 * `wasmvisor run --bare --bios fw_dynamic.bin minikernel.elf`, as a KVM-less board boots a
 * kernel. Its own output (what follows OpenSBI's banner) must be exactly the expected file,
 * which was written from QEMU's run; and when QEMU is installed, QEMU with the same OpenSBI
 * must print the same.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../host/machine/machine';
import { loadImageFile } from '../../host/machine/loader';
import { QEMU } from '../diff/qemu';
import { OPENSBI, oracle } from '../oracles';
import { Vm } from '../../host/vmm/vm';

const ROOT = join(__dirname, '../..');
const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const EXPECTED = readFileSync(join(ROOT, 'guests/expected/minikernel/minikernel.txt'), 'latin1');
const haveOpensbi = oracle('opensbi', 'test/guests/minikernel.test.ts');
const haveQemu = oracle('qemu', 'test/guests/minikernel.test.ts');
const FIRST_LINE = 'minikernel: S-mode on hart 0';

/** The kernel's own output: everything from its first line on. */
function kernelPart(console: string): string {
  const at = console.indexOf(FIRST_LINE);
  return at < 0 ? `(kernel never started) ${console.slice(-300)}` : console.slice(at);
}

describe.skipIf(!haveOpensbi)('minikernel behind OpenSBI on the bare machine', () => {
  it('prints the expected report and shuts down with SBI SRST (exit 0)', async () => {
    const out: Uint8Array[] = [];
    const m = await Machine.create({
      memSize: 128 << 20,
      bios: loadImageFile(OPENSBI, 0x80000000n),
      kernel: loadImageFile(KERNEL, 0x80200000n),
      deterministic: true,
      onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
    });
    const r = await m.run({ timeoutMs: 60_000 });
    const text = Buffer.concat(out).toString('latin1');
    expect(text).toContain('OpenSBI');
    expect(kernelPart(text)).toBe(EXPECTED);
    expect([r.reason, r.exitCode]).toEqual(['exit', 0]);
  }, 70_000);
});

describe('minikernel as a virtual machine (VS-mode, SBI from the VMM, no firmware)', () => {
  it('prints the same report as behind OpenSBI and on QEMU, and shuts down with exit 0', async () => {
    const out: Uint8Array[] = [];
    const vm = await Vm.create({
      memSize: 128 << 20,
      kernel: loadImageFile(KERNEL, 0x80200000n),
      deterministic: true,
      onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
    });
    const r = await vm.run({ timeoutMs: 60_000 });
    expect(Buffer.concat(out).toString('latin1')).toBe(EXPECTED);
    expect([r.reason, r.exitCode, r.failure]).toEqual(['exit', 0, undefined]);
    // It reached the VMM through SBI (console, timer, shutdown), first touches and WFI.
    const reasons = vm.exits.rows().map((row) => row.reason);
    for (const want of ['SBI ecall (TIME set_timer)', 'SBI ecall (SRST system_reset)', 'guest-page fault: first touch of RAM', 'WFI (vCPU halts)']) {
      expect(reasons).toContain(want);
    }
    // Every TLB miss of the guest was a two-dimensional walk.
    const w = vm.walkCounters();
    expect(w.walks2d).toBeGreaterThan(0n);
    expect(w.walks1d).toBe(0n);
  }, 70_000);
});

describe.skipIf(!haveOpensbi || !haveQemu)('minikernel on QEMU with the same OpenSBI', () => {
  it('prints the same report', async () => {
    const args = ['-M', 'virt', '-m', '128M', '-nographic', '-bios', OPENSBI, '-kernel', KERNEL];
    const text = await new Promise<string>((resolve, reject) => {
      const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stdout.on('data', (b: Buffer) => chunks.push(b));
      child.on('error', reject);
      child.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
    });
    expect(kernelPart(text)).toBe(EXPECTED);
  }, 70_000);
});
