/**
 * `--virt pv` (host/vmm/virt/pv.ts): the paravirtual MMU and CPU. A hand-built guest with its
 * own tables (pv-guest.ts) counts exactly what a batch costs: one hypercall for n PTE updates
 * and no page-table write fault, where the same updates as stores under --virt trap fault until
 * the page is taken for data; the shadow follows each update. minikernel, which finds the PV
 * extension by a probe, prints byte for byte the same under hw + nested, hw + shadow, trap and
 * pv (and QEMU's expected file), and under pv its CSR accesses, satp switches and PTE writes
 * are hypercalls, never traps.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadImageFile, parseImage } from '../../../host/machine/loader';
import { FLOOD_WRITES } from '../../../host/vmm/paging/shadow';
import type { PagingMode, VirtMode } from '../../../host/vmm/virt/technique';
import { Vm } from '../../../host/vmm/vm';
import { BASE, DONE, L0, leaf, P1_LEAF, S2, tableGuest, updates } from './pv-guest';

const ROOT_DIR = join(__dirname, '../../..');
const KERNEL = join(ROOT_DIR, 'guests/bin/minikernel/minikernel.elf');
const EXPECTED = readFileSync(join(ROOT_DIR, 'guests/expected/minikernel/minikernel.txt'), 'latin1');
const S1 = 9;

async function runImage(image: Uint8Array, virt: VirtMode, paging?: PagingMode) {
  const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(image, 'guest.bin', BASE), deterministic: true, virt, paging });
  const r = await vm.run({ maxInstructions: 200_000n, timeoutMs: 30_000 });
  const reasons = Object.fromEntries(vm.exits.rows().map((row) => [row.reason, row.count]));
  return { vm, r, reasons, c: vm.vcpu.technique.counters?.() };
}

const read64 = (vm: Vm, gpa: bigint) => vm.hostRam.read64(vm.gpaToHpa(gpa) as bigint);

describe('--virt pv: a batch of mmu_updates, counted exactly', () => {
  it('n = 100 updates: 2 hypercalls (NEW_BASEPTR, mmu_update), 100 updates, 0 page-table write faults, nothing emulated; the shadow follows', async () => {
    const { vm, r, c, reasons } = await runImage(tableGuest(true, 100), 'pv');
    expect([r.reason, r.exitCode, r.failure]).toEqual(['exit', 0, undefined]);
    expect(c).toMatchObject({ hypercalls: 2, mmuUpdates: 100, ptWriteFaults: 0, emulated: 0, shadowsBuilt: 2, shadowsReused: 0 });
    expect(reasons['SBI ecall (PV mmu_update)']).toBe(1);
    expect(reasons['SBI ecall (PV mmuext_op)']).toBe(1);
    const v = vm.vmcs;
    // a0 = 0, a1 = 100 done, and the count stored where a2 said; the first load read P0, the second P1.
    expect([v.x(S1), v.x(S2)]).toEqual([0x1111n, 0x2222n]);
    expect(read64(vm, DONE)).toBe(100n);
    for (const u of updates(100)) expect(read64(vm, u.ptr)).toBe(u.val);
    // The PV guest's shadow zapped the leaf the update replaced: one zap, and the refill.
    const pager = (vm.vcpu.technique as unknown as { shadow: { counters: { zaps: number; pvUpdates: number; ptWrites: number } } }).shadow;
    expect(pager.counters).toMatchObject({ zaps: 1, pvUpdates: 100, ptWrites: 0 });
  });

  it('the same updates as stores under --virt trap: FLOOD_WRITES write faults, then the page is unprotected; the guest sees the same', async () => {
    const { vm, r, c } = await runImage(tableGuest(false, 50), 'trap');
    expect([r.reason, r.exitCode, r.failure]).toEqual(['exit', 0, undefined]);
    expect(c).toMatchObject({ hypercalls: 0, mmuUpdates: 0, ptWriteFaults: FLOOD_WRITES, emulated: 3 /* csrw satp, csrr satp, sfence.vma */ });
    expect([vm.vmcs.x(S1), vm.vmcs.x(S2)]).toEqual([0x1111n, 0x2222n]);
    expect(read64(vm, L0)).toBe(P1_LEAF);
  });

  it('the native program under hw + nested and hw + shadow reads the same values', async () => {
    for (const paging of ['nested', 'shadow'] as const) {
      const { vm, r } = await runImage(tableGuest(false, 50), 'hw', paging);
      expect([paging, r.reason, r.exitCode, r.failure, vm.vmcs.x(S1), vm.vmcs.x(S2)]).toEqual([paging, 'exit', 0, undefined, 0x1111n, 0x2222n]);
    }
  });

  it('a batch ends at its first bad request: a0 = -EPERM, a1 = requests done, later ones not applied', async () => {
    const reqs = updates(4);
    reqs[2] = { ptr: L0 + 16n, val: leaf(0x1_0000_0000n, 0xc6n) }; // R W A D on a page outside guest RAM
    const { vm, r, c } = await runImage(tableGuest(true, 4, reqs), 'pv');
    expect([r.reason, r.exitCode, r.failure]).toEqual(['exit', 0, undefined]);
    expect(c).toMatchObject({ hypercalls: 2, mmuUpdates: 2, ptWriteFaults: 0 });
    // shutdown() set a0/a1 afterwards: the count done is in memory.
    expect(read64(vm, DONE)).toBe(2n);
    expect(read64(vm, L0 + 16n)).toBe(0n);
    expect(read64(vm, L0 + 24n)).toBe(0n);
    expect(vm.vmcs.x(S2)).toBe(0x2222n); // request 0 was applied
  });
});

describe('minikernel under every technique', () => {
  async function boot(virt: VirtMode, paging?: PagingMode, jit: 'on' | 'off' | 'always' = 'on') {
    const out: Uint8Array[] = [];
    const vm = await Vm.create({
      memSize: 128 << 20, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: true, virt, paging, jit,
      onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
    });
    const r = await vm.run({ timeoutMs: 120_000 });
    return { vm, r, text: Buffer.concat(out).toString('latin1'), reasons: new Set(vm.exits.rows().map((row) => row.reason)) };
  }

  it('prints the same under hw + nested, hw + shadow, trap and pv (and QEMU); under pv its MMU and CSR work is hypercalls', async () => {
    const runs = [await boot('hw'), await boot('hw', 'shadow'), await boot('trap'), await boot('pv')];
    for (const k of runs) expect([k.text, k.r.reason, k.r.exitCode, k.r.failure]).toEqual([EXPECTED, 'exit', 0, undefined]);
    const pv = runs[3];
    const c = pv.vm.vcpu.technique.counters?.();
    expect(c?.ptWriteFaults).toBe(0);
    // Left to emulate: boot's stvec, sscratch and sie writes (before the probe) and the idle wfi.
    expect(c?.emulated).toBeLessThan(20);
    expect(c?.mmuUpdates).toBeGreaterThan(100);
    expect(c?.hypercalls).toBeGreaterThan(0);
    for (const want of ['SBI ecall (PV csr)', 'SBI ecall (PV mmu_update)', 'SBI ecall (PV mmuext_op)']) expect(pv.reasons, want).toContain(want);
    for (const want of ['SBI ecall (PV set_callback)', 'SBI ecall (PV iret)']) expect(pv.reasons, want).toContain(want);
    // What PV replaces never traps: satp, sip, time accesses, sfence.vma, PTE stores, and the
    // trap path (the VMM saves the frame and writes sepc/scause/stval; iret replaces sret).
    for (const gone of ['csr write satp (emulated)', 'csr read satp (emulated)', 'csr read time (emulated)', 'csr read sepc (emulated)',
      'csr read scause (emulated)', 'csr read stval (emulated)', 'sfence.vma (emulated)', 'page fault: guest page-table write (emulated)',
      'sret to virtual U (emulated)', 'csr read/write sscratch (emulated)', 'csr read/write sstatus (emulated)', 'csr write sepc (emulated)']) {
      expect(pv.reasons, gone).not.toContain(gone);
    }
    // Under trap the same kernel traps on each of them.
    const trap = runs[2];
    for (const want of ['csr write satp (emulated)', 'csr read time (emulated)', 'sfence.vma (emulated)', 'page fault: guest page-table write (emulated)']) {
      expect(trap.reasons, want).toContain(want);
    }
    expect(trap.vm.vcpu.technique.counters?.().ptWriteFaults).toBeGreaterThan(0);
  }, 400_000);

  it('pv and hw + shadow print the same with every block compiled (--jit always) and with the interpreter only (--jit off)', async () => {
    for (const jit of ['always', 'off'] as const) {
      for (const [virt, paging] of [['pv', undefined], ['hw', 'shadow']] as const) {
        const k = await boot(virt, paging, jit);
        expect([jit, virt, k.text, k.r.reason, k.r.exitCode, k.r.failure]).toEqual([jit, virt, EXPECTED, 'exit', 0, undefined]);
      }
    }
  }, 400_000);
});
