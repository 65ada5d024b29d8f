/**
 * The two tiers of the BT cache side by side: every guest under guests/bin runs with the
 * interpreter only (--jit off) and with every block compiled on its first run (--jit always),
 * deterministically, and must leave the same console output and the same final architectural
 * state: registers, pc, instret, the trap CSRs, and a hash of guest RAM. Bare-machine images
 * run on Machine; the S-mode kernels run as VMs (V = 1, two-dimensional TLB). The long
 * benchmarks stop at an instruction budget: both tiers check the budget at the same block
 * boundaries, so even a stop in the middle of a run must leave identical state.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import type { HartState } from '../../host/machine/hart';
import { Vm } from '../../host/vmm/vm';

const ROOT = join(__dirname, '../..');
const BIN = join(ROOT, 'guests/bin');
/** Suites whose images are S-mode kernels: run as VMs. */
const VM_SUITES = ['minikernel', 'vmbench', 'vmboard'];
/**
 * Suites that need what this table does not give: a disk (virtio-blk), the Xen hypervisor and
 * its backends (xen: test/xen/ runs those, under whatever WASMVISOR_JIT says).
 */
const SKIP_SUITES = ['virtio-blk', 'xen'];
/** Guests driven by console input as they run (test/hostile/memory-rss.test.ts types to them). */
const SKIP_IMAGES = ['board/ramzero', 'vmboard/ramzero'];
/** Instruction budget of the long benchmarks (bench/): the comparison is at the stop. */
const BENCH_BUDGET = 40_000_000n;
const MEM = 64 << 20;

type Jit = 'off' | 'always';

/** Everything architectural a run leaves behind, as comparable strings. */
function hartState(h: HartState): Record<string, string> {
  const s: Record<string, string> = {};
  for (let i = 1; i < 32; i++) s[`x${i}`] = h.x(i).toString(16);
  for (const k of ['pc', 'instret', 'mstatus', 'mcause', 'mepc', 'mtval', 'scause', 'sepc', 'stval', 'satp', 'mscratch', 'sscratch'] as const) {
    s[k] = h[k].toString(16);
  }
  s.priv = String(h.priv);
  return s;
}

function ramHash(read: (addr: bigint, len: number) => Uint8Array | undefined, size: number): string {
  const h = createHash('sha256');
  for (let off = 0; off < size; off += 1 << 20) {
    const chunk = read(0x80000000n + BigInt(off), Math.min(1 << 20, size - off));
    if (chunk) h.update(chunk);
  }
  return h.digest('hex').slice(0, 16);
}

async function bare(image: string, jit: Jit, budget?: bigint) {
  const out: Uint8Array[] = [];
  const m = await Machine.create({
    memSize: MEM,
    kernel: loadImageFile(image, 0x80000000n),
    deterministic: true,
    jit,
    onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
  });
  // Interactive demos read their keys from guests/<suite>/<name>.in, as the boot table does.
  const input = image.replace('/bin/', '/').replace(/\.elf$/, '.in');
  if (existsSync(input)) m.consoleInput(readFileSync(input));
  const r = await m.run({ timeoutMs: 120_000, maxInstructions: budget });
  return {
    console: Buffer.concat(out).toString('latin1'),
    stop: [r.reason, r.exitCode, r.instructions.toString()],
    state: hartState(m.hart),
    ram: ramHash((a, l) => m.memory.read(a, l), MEM),
    compiled: m.stats().jit.instructions,
  };
}

async function vm(image: string, jit: Jit) {
  const out: Uint8Array[] = [];
  const v = await Vm.create({
    memSize: MEM,
    kernel: loadImageFile(image, 0x80200000n),
    deterministic: true,
    jit,
    onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
  });
  const r = await v.run({ timeoutMs: 120_000 });
  const vcpu: Record<string, string> = {};
  for (let i = 1; i < 32; i++) vcpu[`x${i}`] = v.vmcs.x(i).toString(16);
  for (const k of ['pc', 'priv', 'vsstatus', 'vsepc', 'vscause', 'vstval', 'vsatp', 'hstatus', 'hvip'] as const) vcpu[k] = v.vmcs[k].toString(16);
  return {
    console: Buffer.concat(out).toString('latin1'),
    stop: [r.reason, r.exitCode, r.instructions.toString(), r.failure ?? ''],
    state: vcpu,
    exits: v.exits.rows().map((row) => `${row.reason} ${row.count}`),
    ram: ramHash((a, l) => v.readGuest(a, l), MEM),
    compiled: v.stats().jit.instructions,
  };
}

function images(): { suite: string; name: string; path: string }[] {
  const out: { suite: string; name: string; path: string }[] = [];
  for (const suite of readdirSync(BIN).sort()) {
    if (SKIP_SUITES.includes(suite)) continue;
    for (const f of readdirSync(join(BIN, suite)).sort()) {
      if (f.endsWith('.elf') && !SKIP_IMAGES.includes(`${suite}/${f.replace(/\.elf$/, '')}`)) out.push({ suite, name: f.replace(/\.elf$/, ''), path: join(BIN, suite, f) });
    }
  }
  return out;
}

describe('the interpreter and compiled code leave the same state', () => {
  const all = images();
  it('finds the guests', () => {
    expect(all.length).toBeGreaterThan(20);
    expect(existsSync(join(BIN, 'minikernel/minikernel.elf'))).toBe(true);
  });
  for (const g of all) {
    const asVm = VM_SUITES.includes(g.suite);
    it(`${g.suite}/${g.name}${asVm ? ' (VM)' : ''}`, async () => {
      const budget = g.suite === 'bench' || g.suite === 'migrate' ? BENCH_BUDGET : undefined; // (migrate/dirty runs until stopped)
      const off = asVm ? await vm(g.path, 'off') : await bare(g.path, 'off', budget);
      const jit = asVm ? await vm(g.path, 'always') : await bare(g.path, 'always', budget);
      expect(off.compiled).toBe(0n);
      // Compiled code ran most of the guest, so the comparison says something.
      expect(Number(jit.compiled)).toBeGreaterThan(Number(off.stop[2]) / 2);
      expect(jit.console).toBe(off.console);
      expect(jit.stop).toEqual(off.stop);
      expect(jit.state).toEqual(off.state);
      expect(jit.ram).toBe(off.ram);
      if ('exits' in off && 'exits' in jit) expect(jit.exits).toEqual(off.exits);
    }, 240_000);
  }
});

describe('compiled code and translation changes', () => {
  it('minikernel switches address spaces (satp per task, sfence.vma) and keeps its compiled code', async () => {
    const out: Uint8Array[] = [];
    const v = await Vm.create({
      memSize: 128 << 20,
      kernel: loadImageFile(join(BIN, 'minikernel/minikernel.elf'), 0x80200000n),
      deterministic: true,
      jit: 'on',
      onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
    });
    const r = await v.run({ timeoutMs: 60_000 });
    expect([r.reason, r.exitCode]).toEqual(['exit', 0]);
    const text = Buffer.concat(out).toString('latin1');
    expect(text).toContain('minikernel: 6 tasks started');
    expect(text).toContain('primes: pid 2: 5133 primes below 50000');
    const s = v.stats();
    // Nothing was evicted, and no region was compiled twice: a region is recompiled only when
    // its block is decoded again, which translation changes never cause (only stores to the
    // code page do), so compiles cannot exceed the blocks ever decoded.
    expect(s.jit.evictions).toBe(0n);
    expect(s.jit.failures).toBe(0n);
    expect(s.jit.compiles).toBeGreaterThan(0n);
    expect(s.jit.compiles).toBeLessThanOrEqual(s.blockMisses);
    expect(s.btFlushes).toBe(1n); // the one at creation
    // The tasks ran mostly as compiled code, across many switches (each a trap into the kernel).
    expect(Number(s.jit.instructions)).toBeGreaterThan(Number(s.instructions) * 0.5);
    expect(s.traps).toBeGreaterThan(50n);
  }, 120_000);
});

describe('regions that gain nothing', () => {
  it('a pointer chase that misses the TLB on every hop is given back to the interpreter (--jit on), same result', async () => {
    const image = join(BIN, 'bench/tlbstress.elf');
    const off = await bare(image, 'off');
    const out: Uint8Array[] = [];
    const m = await Machine.create({
      memSize: MEM, kernel: loadImageFile(image, 0x80000000n), deterministic: true, jit: 'on',
      onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
    });
    const r = await m.run({ timeoutMs: 120_000 });
    expect(Buffer.concat(out).toString('latin1')).toBe(off.console);
    expect([r.reason, r.exitCode, r.instructions.toString()]).toEqual(off.stop);
    expect(hartState(m.hart)).toEqual(off.state);
    const s = m.stats();
    expect(s.jit.demoted).toBeGreaterThan(0n);
    expect(s.jit.compiles).toBeGreaterThan(s.jit.demoted);
  }, 240_000);
});
