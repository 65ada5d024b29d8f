/**
 * minikernel (guests/minikernel: paging with per-task ASIDs, six U-mode tasks, a timer tick,
 * forks, faults, a snoop on kernel memory) under trap-and-emulate with shadow paging
 * (`--virt trap`): the same console text and exit code as under the H extension (`--virt hw`)
 * and as the expected file from QEMU, through the Vm API and through the built CLI.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile } from '../../../host/machine/loader';
import type { TrapTechnique } from '../../../host/vmm/virt/trap';
import { Vm } from '../../../host/vmm/vm';

const ROOT = join(__dirname, '../../..');
const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const EXPECTED = readFileSync(join(ROOT, 'guests/expected/minikernel/minikernel.txt'), 'latin1');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');

async function boot(virt: 'hw' | 'trap', jit: 'off' | 'on' | 'always' = 'on') {
  const out: Uint8Array[] = [];
  const vm = await Vm.create({
    memSize: 128 << 20, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: true, virt, jit,
    onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
  });
  const r = await vm.run({ timeoutMs: 90_000 });
  return { vm, r, text: Buffer.concat(out).toString('latin1') };
}

/** `wasmvisor run ARGS`: stdout, stderr, exit status (async: the machine is shared, be patient). */
function cli(args: string[]): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const o: Buffer[] = [], e: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.stdout.on('data', (b: Buffer) => o.push(b));
    child.stderr.on('data', (b: Buffer) => e.push(b));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(o).toString('latin1'), stderr: Buffer.concat(e).toString('latin1'), status });
    });
  });
}

describe('minikernel under --virt trap (deprivileged kernel, shadow page tables)', () => {
  it('prints exactly what it prints under --virt hw (and on QEMU), and shuts down with exit 0', async () => {
    const trap = await boot('trap');
    expect(trap.r.failure).toBeUndefined();
    expect(trap.text).toBe(EXPECTED);
    expect([trap.r.reason, trap.r.exitCode]).toEqual(['exit', 0]);
    const hw = await boot('hw');
    expect(trap.text).toBe(hw.text);
    expect([hw.r.reason, hw.r.exitCode]).toEqual([trap.r.reason, trap.r.exitCode]);

    // It ran as trap-and-emulate: every translation one-dimensional through a shadow table,
    // its privileged instructions emulated, its page-table writes caught.
    const w = trap.vm.walkCounters();
    expect(w.walks2d).toBe(0n);
    expect(w.walks1d).toBeGreaterThan(0n);
    const reasons = new Set(trap.vm.exits.rows().map((row) => row.reason));
    for (const want of [
      'sret to virtual U (emulated)', 'csr write satp (emulated)', 'csr read time (emulated)', 'wfi (emulated)', 'sfence.vma (emulated)',
      'interrupt: virtual timer', 'ecall from virtual U (to the guest)', 'page fault (to the guest)', 'page fault: shadow fill (fetch)',
      'page fault: guest page-table write (emulated)', 'SBI ecall (TIME set_timer)', 'SBI ecall (SRST system_reset)',
    ]) expect(reasons, want).toContain(want);
    const c = (trap.vm.vcpu.technique as TrapTechnique).shadow.counters;
    // Nine tasks, each with its own satp: more shadows than tasks (a kernel and a user view
    // each), switched back to from the cache far more often than built.
    expect(c.built).toBeGreaterThanOrEqual(9);
    expect(c.reused).toBeGreaterThan(c.built);
    expect(c.ptWrites).toBeGreaterThan(0);
    expect(c.sfences).toBeGreaterThan(0);
  }, 200_000);

  it('the same with every block compiled (--jit always) and with the interpreter only (--jit off)', async () => {
    for (const jit of ['always', 'off'] as const) {
      const t = await boot('trap', jit);
      expect([jit, t.text, t.r.reason, t.r.exitCode, t.r.failure]).toEqual([jit, EXPECTED, 'exit', 0, undefined]);
    }
  }, 200_000);

  it('through the built CLI: the same stdout and exit status as --virt hw', async () => {
    const [trap, hw] = [await cli(['--virt', 'trap', KERNEL]), await cli(['--virt', 'hw', KERNEL])];
    expect(trap.stderr).toBe('');
    expect(trap.status).toBe(0);
    expect(trap.stdout).toContain('minikernel: shutdown');
    expect(trap.stdout).toBe(hw.stdout);
    expect(trap.status).toBe(hw.status);
    expect((await cli(['--virt', 'trap', '--paging', 'shadow', KERNEL])).stdout).toBe(hw.stdout);
  }, 240_000);

  it('--virt and --paging: the combinations that do not exist yet are one-line errors, exit 2', async () => {
    for (const [args, msg] of [
      [['--virt', 'pv', '--paging', 'nested', KERNEL], 'wasmvisor: --paging nested needs the H extension (--virt hw); --virt pv uses --paging shadow'],
      [['--virt', 'bt', '--paging', 'nested', KERNEL], 'wasmvisor: --paging nested needs the H extension (--virt hw); --virt bt uses --paging shadow'],
      [['--virt', 'vmx', KERNEL], "wasmvisor: --virt: unknown mode 'vmx' (expected hw, trap, bt or pv)"],
      [['--virt', 'trap', '--paging', 'nested', KERNEL], 'wasmvisor: --paging nested needs the H extension (--virt hw); --virt trap uses --paging shadow'],
      [['--virt', 'pv', '--paging', 'nested', KERNEL], 'wasmvisor: --paging nested needs the H extension (--virt hw); --virt pv uses --paging shadow'],
      [['--bare', '--virt', 'trap', KERNEL], 'wasmvisor: --virt applies to VM mode only (drop --bare)'],
    ] as const) {
      const r = await cli([...args]);
      expect([r.stderr, r.status, r.stdout]).toEqual([msg + '\n', 2, '']);
    }
  }, 240_000);
});
