/**
 * Isolation: hostile guests (test/vmm/hostile.ts, seeded) that probe the whole guest-physical
 * space, issue wild hypercalls and run on VS-stage tables pointing everywhere. The host must not
 * throw or hang; every exit must be the one the model predicts; every hypercall must return the
 * SBI error the spec gives; the G-stage must map nothing but the VM's own guest RAM frames; and
 * no byte of host RAM outside the VM's frames may change. A second VM in the same process runs
 * alongside and must not notice.
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { FRAME_SIZE } from '../../host/vmm/frames';
import { HGATP_MODE_SV48X4 } from '../../host/vmm/gstage';
import { KVM_HEDELEG, KVM_HIDELEG } from '../../host/vmm/vcpu';
import { Vm } from '../../host/vmm/vm';
import * as E from '../diff/encode';
import { Asm } from './asm';
import { damagedCanary, plantCanary, poolProblems, walkGStage } from './audit';
import { buildHostile, COUNTS, expectHostile, HOSTILE_MEM, HOSTILE_MSG, RAM_BASE, RAM_END, RESULTS, type SbiEvent } from './hostile';

const reasons = (vm: Vm) => Object.fromEntries(vm.exits.rows().map((r) => [r.reason, r.count]));

function populatedPages(vm: Vm): Set<bigint> {
  const s = new Set<bigint>();
  for (let p = RAM_BASE; p < RAM_END; p += FRAME_SIZE) if (vm.isPopulated(p)) s.add(p);
  return s;
}

async function hostileVm(seed: bigint, gstageMode?: bigint) {
  const guest = buildHostile(seed);
  const out: number[] = [];
  const vm = await Vm.create({
    memSize: HOSTILE_MEM,
    kernel: parseImage(guest.image, `hostile-${seed}.bin`, 0x80200000n),
    deterministic: true,
    onConsoleOutput: (b) => out.push(...b),
    ...(gstageMode !== undefined ? { gstageMode } : {}),
  });
  const expected = expectHostile(guest.events, populatedPages(vm));
  const canary = plantCanary(vm);
  return { guest, vm, expected, canary, output: () => Buffer.from(out).toString('latin1') };
}

/** Everything the isolation tests assert about a hostile VM after its run. */
function auditHostile(h: Awaited<ReturnType<typeof hostileVm>>) {
  const { vm, expected, guest } = h;
  // Exits: exactly the predicted kinds and counts (no fatal stop, no surprise).
  expect(reasons(vm)).toEqual(expected.exits);
  // What the guest's own handler counted, per scause.
  const counts = vm.readGuest(COUNTS, 32 * 8)!;
  const dv = new DataView(counts.buffer);
  expect(Array.from({ length: 32 }, (_, i) => Number(dv.getBigUint64(i * 8, true)))).toEqual(expected.traps);
  // Every hypercall of phase 2 returned the SBI error (or value) the spec gives.
  const calls = guest.events.filter((e): e is SbiEvent => e.kind === 'sbi' && e.slot !== undefined);
  const res = vm.readGuest(RESULTS, calls.length * 16)!;
  const rv = new DataView(res.buffer);
  const got = calls.map((c) => ({ name: c.name, a7: c.a7, a0: BigInt.asIntN(64, rv.getBigUint64(c.slot! * 16, true)), ...(c.a1 !== undefined ? { a1: rv.getBigUint64(c.slot! * 16 + 8, true) } : {}) }));
  expect(got).toEqual(calls.map((c) => ({ name: c.name, a7: c.a7, a0: BigInt.asIntN(64, c.a0), ...(c.a1 !== undefined ? { a1: c.a1 } : {}) })));
  // Guest RAM populated: exactly the pages the model touched.
  expect(populatedPages(vm)).toEqual(expected.populated);

  // The G-stage maps only this VM's own frames, one per populated guest page, never a table.
  const g = walkGStage(vm);
  expect(g.oddities).toEqual([]);
  expect(new Set(g.leaves.keys())).toEqual(expected.populated);
  const leafFrames = [...g.leaves.values()];
  expect(new Set(leafFrames).size).toBe(leafFrames.length);
  for (const f of [...leafFrames, ...g.tables]) expect(vm.frames.owns(f), `frame 0x${f.toString(16)}`).toBe(true);
  for (const f of leafFrames) expect(g.tables.has(f), `guest page on table frame 0x${f.toString(16)}`).toBe(false);
  // In use besides: the zeroed frames waiting in the in-core populate pool.
  expect(poolProblems(vm, g)).toEqual([]);
  expect(vm.frames.counters().inUse).toBe(g.tables.size + g.leaves.size + vm.pop.pooled);
  for (const [gpa, pte] of g.leafPtes) expect(pte & 0x3ffn, `G-stage leaf for 0x${gpa.toString(16)}`).toBe(0xdfn); // V R W X U A D
  // The root and the tables the VMM built are unchanged in where they live; controls intact.
  expect(vm.vmcs.hgatp).toBe(vm.gstage.hgatp);
  expect(vm.vmcs.hedeleg).toBe(KVM_HEDELEG);
  expect(vm.vmcs.hideleg).toBe(KVM_HIDELEG);
  // No byte of host RAM outside the VM's frames changed.
  expect(damagedCanary(vm, h.canary)).toEqual([]);
}

describe('isolation: a hostile guest', () => {
  for (const [seed, mode] of [[1n, undefined], [0x5eedn, undefined], [0xdecafbadn, undefined], [0x5eedn, HGATP_MODE_SV48X4]] as const) {
    it(`seed ${seed}${mode !== undefined ? ' (G-stage Sv48x4)' : ''}: probes, wild hypercalls and wild page tables get exactly the predicted exits; host RAM and G-stage intact`, async () => {
      const h = await hostileVm(seed, mode);
      if (mode !== undefined) expect(h.vm.gstage.levels).toBe(4);
      // Sanity of the model: it expects all the kinds it is meant to exercise.
      const kinds = Object.keys(h.expected.exits);
      for (const k of ['guest-page fault: first touch of RAM', 'guest-page fault: first touch of RAM (guest page table)', 'MMIO load (uart0)', 'MMIO store (uart0)',
        'MMIO load to no device (access fault to the guest)', 'MMIO store to no device (access fault to the guest)', 'illegal instruction (redirected to the guest)', 'SBI ecall (DBCN console_write)']) {
        expect(kinds).toContain(k);
      }
      for (const c of [5, 7, 12, 13, 15]) expect(h.expected.traps[c]).toBeGreaterThan(0);

      const r = await h.vm.run({ maxInstructions: 5_000_000n, timeoutMs: 30_000 });
      expect(r.failure).toBeUndefined();
      expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
      const out = h.output();
      expect(out.endsWith(HOSTILE_MSG)).toBe(true);
      expect(out).toContain(h.guest.sbiOutput);
      auditHostile(h);
    }, 60_000);
  }

  it('a hostile VM and a benign VM in one process: the benign one computes and prints exactly what it does alone', async () => {
    const benign = async () => {
      const out: number[] = [];
      const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(benignGuest(), 'benign.bin', 0x80200000n), deterministic: true, onConsoleOutput: (b) => out.push(...b) });
      return { vm, out };
    };
    const alone = await benign();
    const ra = await alone.vm.run({ maxInstructions: 20_000_000n, timeoutMs: 30_000 });
    expect(ra.failure).toBeUndefined();
    expect(ra).toMatchObject({ reason: 'exit', exitCode: BENIGN_EXIT });
    expect(String.fromCharCode(...alone.out)).toBe('benign ' + '.'.repeat(BENIGN_DOTS));

    const b = await benign();
    const h = await hostileVm(0x2badn);
    const [rh, rb] = await Promise.all([h.vm.run({ maxInstructions: 5_000_000n, timeoutMs: 30_000 }), b.vm.run({ maxInstructions: 20_000_000n, timeoutMs: 30_000 })]);
    expect(rh).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(rb).toMatchObject({ reason: 'exit', exitCode: BENIGN_EXIT, instructions: ra.instructions });
    expect(b.out).toEqual(alone.out);
    expect(reasons(b.vm)).toEqual(reasons(alone.vm));
    auditHostile(h);
  }, 60_000);
});

const BENIGN_N = 600_000;
const BENIGN_DOTS = Math.ceil(BENIGN_N / 65536);
/** The benign guest's exit code: from s = s * 31 + i over i < N (mod 2^64). */
const BENIGN_EXIT = (() => {
  let s = 0n;
  for (let i = 0n; i < BigInt(BENIGN_N); i++) s = BigInt.asUintN(64, s * 31n + i);
  return Number(s & 0xffn) | 1;
})();

/** A benign guest: "benign ", a dot every 65536 iterations of s = s * 31 + i, exit code from s (test finisher). */
function benignGuest(): Uint8Array {
  const S1 = 9, T0 = 5, T1 = 6, T2 = 7, A0 = 10, A7 = 17;
  const a = new Asm(0x80200000n);
  for (const c of 'benign ') a.emit(E.aluI('addi', A0, 0, c.charCodeAt(0)), E.aluI('addi', A7, 0, 1), 0x73);
  a.emit(E.aluI('addi', S1, 0, 0), E.aluI('addi', T0, 0, 0)).li64(T1, BigInt(BENIGN_N));
  a.label('loop').emit(E.shiftI('slli', T2, S1, 5), E.aluR('sub', S1, T2, S1), E.aluR('add', S1, S1, T0), E.shiftI('slli', T2, T0, 48));
  a.branch('bne', T2, 0, 'skip').emit(E.aluI('addi', A0, 0, 0x2e), E.aluI('addi', A7, 0, 1), 0x73);
  a.label('skip').emit(E.aluI('addi', T0, T0, 1)).branch('blt', T0, T1, 'loop');
  a.emit(E.aluI('andi', A0, S1, 0xff), E.aluI('ori', A0, A0, 1), E.shiftI('slli', A0, A0, 16)).li64(T2, 0x3333n);
  a.emit(E.aluR('or', A0, A0, T2)).li64(T0, 0x100000n).emit(E.store('sw', A0, T0, 0), E.jal(0, 0));
  return a.finish(4096);
}

describe('isolation: guests the VMM must stop', () => {
  // A VS-stage table whose L1 pointer leads outside RAM: the walk of a load reads a "PTE" at that
  // GPA. The VMM must stop the guest with a report (as KVM does) -- never emulate a device read
  // for it (the finisher!), never throw -- and host RAM stays untouched.
  for (const gpa of [0x10000000n, 0x2000000n, 0x100000n, 0xc000000n, 1n << 41n, ((1n << 44n) - 1n) << 12n]) {
    it(`a page-table pointer to guest-physical 0x${gpa.toString(16)} stops the VM with one report line`, async () => {
      const T0 = 5, T1 = 6;
      const a = new Asm(0x80200000n);
      const ROOT = 0x80201000n;
      const root = new Uint8Array(4096);
      const dv = new DataView(root.buffer);
      dv.setBigUint64(2 * 8, ((0x80000000n >> 12n) << 10n) | 0xcfn, true); // own code: 1 GiB identity, V R W X A D
      dv.setBigUint64(0, ((gpa >> 12n) << 10n) | 1n, true); // [0] -> "L1" at gpa
      a.li64(T0, (8n << 60n) | (ROOT >> 12n)).emit(((0x180 << 20) | (T0 << 15) | (1 << 12) | 0x73) >>> 0, 0x12000073);
      a.li64(T0, 0x1000n).label('load').emit(E.load('ld', T1, T0, 0), E.jal(0, 0));
      a.place(ROOT, root);
      const image = a.finish(0x2000);
      const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(image, 'guest.bin', 0x80200000n), deterministic: true });
      const canary = plantCanary(vm);
      const r = await vm.run({ maxInstructions: 100_000n, timeoutMs: 10_000 });
      const what = `guest page table at guest-physical 0x${gpa.toString(16)}, which is not RAM`;
      expect(r).toMatchObject({ reason: 'exit', exitCode: 1 });
      expect(r.failure).toBe(`guest.bin: VM stopped: ${what}; pc 0x${a.addr('load').toString(16)}, cause 21, tval 0x1000, htval 0x${(gpa >> 2n).toString(16)} (GPA 0x${gpa.toString(16)}): ld t1, 0(t0)`);
      expect(reasons(vm)).toEqual({ [`fatal: ${what}`]: 1 });
      expect(vm.exitCode).toBeUndefined(); // the finisher was not "read"
      expect(damagedCanary(vm, canary)).toEqual([]);
      expect(walkGStage(vm).oddities).toEqual([]);
    });
  }
});

describe('isolation: the VM image', () => {
  it('a 4 MiB VM whose device tree would fall on a raw kernel at 0x80200000 is refused with one line', async () => {
    const code = benignGuest();
    await expect(Vm.create({ memSize: 4 << 20, kernel: parseImage(code, 'small.bin', 0x80200000n), deterministic: true }))
      .rejects.toThrow(/^small\.bin: segment at 0x80200000 \(size 0x[0-9a-f]+\) overlaps the device tree at 0x80200000 in a 4 MiB VM; give the VM more memory \(--mem\)$/);
  });
});

describe('isolation: resources', () => {
  it('a guest that touches every page of its RAM gets every page, from its own frames, and the host has room for it', async () => {
    const T0 = 5, T1 = 6;
    const a = new Asm(0x80200000n);
    a.li64(T0, RAM_BASE).li64(T1, RAM_END);
    a.label('loop').emit(E.store('sd', T1, T0, 8), E.aluI('addi', T0, T0, 2047), E.aluI('addi', T0, T0, 2047), E.aluI('addi', T0, T0, 2)).branch('bltu', T0, T1, 'loop');
    a.li64(T0, 0x100000n).li64(T1, 0x5555n).emit(E.store('sw', T1, T0, 0), E.jal(0, 0));
    const vm = await Vm.create({ memSize: HOSTILE_MEM, kernel: parseImage(a.finish(4096), 'toucher.bin', 0x80200000n), deterministic: true });
    const canary = plantCanary(vm);
    const r = await vm.run({ maxInstructions: 1_000_000n, timeoutMs: 30_000 });
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(vm.populatedPages).toBe(HOSTILE_MEM / 4096);
    const g = walkGStage(vm);
    expect(g.oddities).toEqual([]);
    expect(g.leaves.size).toBe(HOSTILE_MEM / 4096);
    expect(poolProblems(vm, g)).toEqual([]);
    expect(vm.frames.counters().inUse).toBe(g.leaves.size + g.tables.size + vm.pop.pooled);
    for (const f of g.leaves.values()) expect(g.tables.has(f)).toBe(false);
    expect(damagedCanary(vm, canary)).toEqual([]);
    // Every page holds what the guest stored there (its own RAM end address at +8), in its own frame.
    for (const [gpa, hpa] of g.leaves) {
      if (gpa >= 0x80200000n && gpa < 0x80201000n) continue; // the code page
      expect(new DataView(vm.hostRam.read(hpa + 8n, 8).buffer).getBigUint64(0, true)).toBe(RAM_END);
    }
  }, 60_000);
});

