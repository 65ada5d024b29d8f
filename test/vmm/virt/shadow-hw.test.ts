/**
 * `--virt hw --paging shadow` (host/vmm/virt/hw-shadow.ts): the H extension with hstatus.VTVM,
 * hgatp Bare and the VMM's shadow in vsatp. The guest's satp is virtual: its csrw/csrr satp and
 * sfence.vma exit as virtual instructions and are emulated, it reads back what it wrote while
 * the hart translates through a shadow; its stores to its tables fault and are emulated, as
 * under --virt trap; minikernel prints the same as under nested paging (and QEMU), through
 * two-dimensional walks of a Bare G-stage only. `--stats` prints the technique's counters.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile, parseImage } from '../../../host/machine/loader';
import { FLOOD_WRITES } from '../../../host/vmm/paging/shadow';
import type { HwShadowTechnique } from '../../../host/vmm/virt/hw-shadow';
import { Vm } from '../../../host/vmm/vm';
import * as E from '../../diff/encode';
import { csrrs, csrrw, li, shutdown } from '../guests';
import { A3, BASE, L0, leaf, liU, P0, P1_LEAF, ROOT, S2, S3, SATP, tableGuest, TEST_VA, withTables } from './pv-guest';

const ROOT_DIR = join(__dirname, '../../..');
const KERNEL = join(ROOT_DIR, 'guests/bin/minikernel/minikernel.elf');
const EXPECTED = readFileSync(join(ROOT_DIR, 'guests/expected/minikernel/minikernel.txt'), 'latin1');
const BIN = join(ROOT_DIR, 'bin/wasmvisor.mjs');
const S1 = 9;
const VTVM = 1n << 20n;
const SRET = 0x10200073;

describe('--virt hw --paging shadow: VTVM, vsatp = the shadow, hgatp Bare', () => {
  it('the guest satp is virtual (read back as written), the hart runs on a shadow; satp, sfence.vma and table stores are emulated', async () => {
    const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(tableGuest(false, 50), 'guest.bin', BASE), deterministic: true, virt: 'hw', paging: 'shadow' });
    const r = await vm.run({ maxInstructions: 200_000n, timeoutMs: 30_000 });
    expect([r.reason, r.exitCode, r.failure]).toEqual(['exit', 0, undefined]);
    const v = vm.vmcs;
    const tech = vm.vcpu.technique as HwShadowTechnique;
    expect([v.x(A3), tech.guestSatp]).toEqual([SATP, SATP]);
    expect(v.vsatp).not.toBe(SATP); // the shadow's root is a host frame, with the shadow's ASID
    expect(v.vsatp >> 60n).toBe(8n);
    expect([v.hgatp, v.hstatus & VTVM]).toEqual([0n, VTVM]);
    expect([v.x(S1), v.x(S2)]).toEqual([0x1111n, 0x2222n]);
    expect(vm.hostRam.read64(vm.gpaToHpa(L0) as bigint)).toBe(P1_LEAF);
    const reasons = Object.fromEntries(vm.exits.rows().map((row) => [row.reason, row.count]));
    expect(reasons['csr write satp (emulated, VTVM)']).toBe(1);
    expect(reasons['csr read satp (emulated, VTVM)']).toBe(1);
    expect(reasons['sfence.vma (emulated, VTVM)']).toBe(1);
    expect(reasons['page fault: guest page-table write (emulated)']).toBe(FLOOD_WRITES);
    expect(tech.counters()).toMatchObject({ emulated: 3, ptWriteFaults: FLOOD_WRITES, hypercalls: 0, mmuUpdates: 0, shadowsBuilt: 2 });
    // No G-stage: no first-touch guest-page faults, and every walk is a walk of the shadow alone
    // (the core's V=1 walker with hgatp Bare, reported as one-dimensional: Vm.walkCounters).
    expect(Object.keys(reasons).filter((k) => k.startsWith('guest-page fault'))).toEqual([]);
    const w = vm.walkCounters();
    expect([w.walks1d > 0n, w.walks2d]).toEqual([true, 0n]);
  });

  it('native leaves keep the guest U bit: a VS load of a U page faults into the guest until it sets SUM, as under nested paging and trap', async () => {
    // satp = the tables; stvec = handler; ld s1, U_VA (faults with SUM = 0); clear SUM, ld s7,
    // U_VA again: it must fault again although its shadow leaf exists now (the hart checks the
    // leaf's U bit against SUM). Handler: s6 += 1, s4 = scause, s5 = stval, set SUM, sret (retry).
    const U_VA = TEST_VA + 0x1000n;
    const SSTATUS = 0x100, STVEC = 0x105, SCAUSE = 0x142, STVAL = 0x143, SATP_CSR = 0x180;
    const S4 = 20, S5 = 21, S6 = 22, S7 = 23, T0 = 5, T1 = 6;
    const head = [...liU(S3, ROOT >> 12n), ...li(S4, 8), E.shiftI('slli', S4, S4, 60), E.aluR('or', S3, S3, S4), csrrw(0, SATP_CSR, S3), E.auipc(T0, 0)];
    const csrrc = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x73) >>> 0;
    const body = [E.aluI('addi', T1, T0, 0), csrrw(0, STVEC, T1), ...liU(S3, U_VA), E.load('ld', S1, S3, 0),
      E.lui(T1, 0x40), csrrc(0, SSTATUS, T1), E.load('ld', S7, S3, 0), ...shutdown()];
    const handler = [E.aluI('addi', S6, S6, 1), csrrs(S4, SCAUSE, 0), csrrs(S5, STVAL, 0), E.lui(T1, 0x40), csrrs(0, SSTATUS, T1), SRET];
    // auipc t0 gives the address of itself: the handler is (body + 1) words after it.
    body[0] = E.aluI('addi', T1, T0, (body.length + 1) * 4);
    const image = withTables([...head, ...body, ...handler], [], [{ ptr: L0 + 8n, val: leaf(P0, 0xd3n) /* V R U A D */ }]);
    const results = [];
    for (const [virt, paging] of [['hw', 'nested'], ['hw', 'shadow'], ['trap', 'shadow']] as const) {
      const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(image, 'guest.bin', BASE), deterministic: true, virt, paging });
      const r = await vm.run({ maxInstructions: 100_000n, timeoutMs: 30_000 });
      const v = vm.vmcs;
      results.push([virt, paging, r.reason, r.exitCode, r.failure, v.x(S6), v.x(S4), v.x(S5), v.x(S1), v.x(S7)]);
    }
    expect(results).toEqual([
      ['hw', 'nested', 'exit', 0, undefined, 2n, 13n, U_VA, 0x1111n, 0x1111n],
      ['hw', 'shadow', 'exit', 0, undefined, 2n, 13n, U_VA, 0x1111n, 0x1111n],
      ['trap', 'shadow', 'exit', 0, undefined, 2n, 13n, U_VA, 0x1111n, 0x1111n],
    ]);
  });

  it('minikernel prints what it prints under nested paging and on QEMU; shadows are cached per guest satp', async () => {
    const out: Uint8Array[] = [];
    const vm = await Vm.create({
      memSize: 128 << 20, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: true, virt: 'hw', paging: 'shadow',
      onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
    });
    const r = await vm.run({ timeoutMs: 120_000 });
    expect([Buffer.concat(out).toString('latin1'), r.reason, r.exitCode, r.failure]).toEqual([EXPECTED, 'exit', 0, undefined]);
    const c = (vm.vcpu.technique as HwShadowTechnique).counters();
    // Nine tasks with a satp each, plus the kernel's: one native shadow per satp (no views).
    expect(c.shadowsBuilt).toBeGreaterThanOrEqual(10);
    expect(c.shadowsReused).toBeGreaterThan(c.shadowsBuilt);
    expect(c.ptWriteFaults).toBeGreaterThan(0);
    const reasons = new Set(vm.exits.rows().map((row) => row.reason));
    for (const want of ['csr write satp (emulated, VTVM)', 'sfence.vma (emulated, VTVM)', 'page fault (redirected to the guest)', 'page fault: shadow fill (fetch)']) {
      expect(reasons, want).toContain(want);
    }
  }, 200_000);

  it('--stats prints the technique counters (hw + shadow, pv)', async () => {
    for (const [args, zeroPtFaults] of [[['--virt', 'hw', '--paging', 'shadow'], false], [['--virt', 'pv'], true]] as const) {
      const r = await cli([...args, '--stats', '--deterministic', KERNEL]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(EXPECTED);
      const mode = args[1];
      expect(r.stderr).toContain(`wasmvisor technique counters (--virt ${mode})\n`);
      expect(r.stderr).toMatch(/\n {2}hypercalls \/ mmu updates +[\d,]+ \/ [\d,]+\n/);
      expect(r.stderr).toMatch(/\n {2}shadows built \/ reused +[\d,]+ \/ [\d,]+\n/);
      if (zeroPtFaults) expect(r.stderr).toMatch(/\n {2}page-table write faults +0\n/);
      else expect(r.stderr).toMatch(/\n {2}page-table write faults +[1-9][\d,]*\n/);
    }
  }, 200_000);
});

function cli(args: string[]): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', ...args], { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
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
