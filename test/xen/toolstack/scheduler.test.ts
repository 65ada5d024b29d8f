/**
 * The credit scheduler over real DomUs in deterministic mode: weights share instructions,
 * a cap limits a domain's share of the CPU, a blocked domain consumes nothing, pause.
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../../host/machine/loader';
import { XenHypervisor } from '../../../host/xen/hypervisor';
import { CreditScheduler, type SchedVcpu } from '../../../host/xen/toolstack/scheduler';
import { xenSchedVcpu } from '../../../host/xen/toolstack/xen-vcpu';
import { buildGuest, hc, type Step } from '../guest-asm';
import * as E from '../../diff/encode';
import { EIP_SOURCE_UPCALL } from '../../../host/vmm/vm';
import { HYPERVISOR_sched_op, HYPERVISOR_xen_version } from '../../../host/xen/hypercall-abi';
import { SCHEDOP_block } from '../../../host/xen/ops-abi';

const SPIN = new Uint8Array([0x6f, 0, 0, 0]); // j .
const SLICE = 10_000;
/** csrs sie, t0 with t0 = SEIE: lets SCHEDOP_block wait for the upcall. */
const enableSeie: Step = { insns: [E.aluI('addi', 5, 0, 0x200), 0x1042a073] };
/** A guest that blocks forever (nothing ever sends it an event). */
const BLOCKER = buildGuest([enableSeie, { asm: (a) => a.label('top') }, hc(HYPERVISOR_sched_op, SCHEDOP_block, 0), { asm: (a) => a.jal(0, 'top') }]);

async function domains(images: Uint8Array[]): Promise<{ hv: XenHypervisor; vcpus: SchedVcpu[] }> {
  const hv = new XenHypervisor();
  const vcpus: SchedVcpu[] = [];
  for (const [i, img] of images.entries()) {
    const d = await hv.createDomain({ name: `d${i + 1}`, memSize: 16 << 20, kernel: parseImage(img, `d${i + 1}.bin`, 0x80200000n), deterministic: true, jit: 'off' });
    vcpus.push(xenSchedVcpu(hv, d));
  }
  return { hv, vcpus };
}

async function steps(s: CreditScheduler, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await s.step();
}

describe('CreditScheduler (deterministic)', () => {
  it('equal weights alternate slices; a cap of 25 gives exactly a quarter of every period', async () => {
    const { vcpus } = await domains([SPIN, SPIN]);
    const s = new CreditScheduler({ deterministic: true, sliceInstructions: SLICE });
    s.add(1, vcpus[0], { weight: 256, cap: 25 });
    s.add(2, vcpus[1], { weight: 256, cap: 0 });
    const order: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await s.step();
      if (r.kind === 'ran') order.push(r.domid);
    }
    // per period of 30,000: d1 7,500 (then parked), d2 10,000 + 10,000 + 2,500 (cut at the period's end)
    expect(order.slice(0, 8)).toEqual([1, 2, 2, 2, 1, 2, 2, 2]);
    expect([s.account(1).instructions, s.account(2).instructions]).toEqual([75_000n, 225_000n]);
    expect(s.account(1).parkedPeriods).toBe(10);
  });

  it('a capped domain alone leaves the CPU idle for the rest of the period', async () => {
    const { vcpus } = await domains([SPIN]);
    const s = new CreditScheduler({ deterministic: true, sliceInstructions: SLICE });
    s.add(1, vcpus[0], { weight: 256, cap: 50 });
    const kinds: string[] = [];
    for (let i = 0; i < 6; i++) kinds.push((await s.step()).kind);
    expect(kinds).toEqual(['ran', 'ran', 'idle', 'ran', 'ran', 'idle']);
    expect([s.account(1).instructions, s.idleUnits]).toEqual([30_000n, 30_000]);
  });

  it('a blocked domain consumes nothing until an interrupt is pending; pause and unpause', async () => {
    const { hv, vcpus } = await domains([SPIN, BLOCKER]);
    const s = new CreditScheduler({ deterministic: true, sliceInstructions: SLICE });
    s.add(1, vcpus[0], { weight: 256, cap: 0 });
    s.add(2, vcpus[1], { weight: 256, cap: 0 });
    await steps(s, 20);
    const b = s.account(2);
    expect([b.state, b.blocks, b.slices]).toEqual(['blocked', 1, 1]);
    expect(b.instructions).toBeLessThan(100n); // its boot up to the first SCHEDOP_block
    expect(s.account(1).instructions + b.instructions).toBe(BigInt(19 * SLICE)); // d1 had every other slice
    // An upcall wakes it: one slice, and it blocks again.
    hv.domain(2)!.vm.setExternalInterrupt(EIP_SOURCE_UPCALL, true);
    await steps(s, 2);
    expect([s.account(2).blocks, s.account(2).slices]).toEqual([2, 2]);
    s.pause(1);
    expect(s.account(1).state).toBe('paused');
    const before = s.account(1).instructions;
    await steps(s, 3);
    expect(s.account(1).instructions).toBe(before);
    s.pause(2);
    expect((await s.step()).kind).toBe('empty');
    s.unpause(1);
    expect(await s.step()).toMatchObject({ kind: 'ran', domid: 1 });
  });

  it('post-copy: a vCPU whose hypercall waits for pages is blocked until they are in, the other runs meanwhile', async () => {
    // d1 loops on xen_version; its pages are "still arriving" (host/migrate/postcopy-target.ts).
    const LOOP = buildGuest([{ asm: (a) => a.label('top') }, hc(HYPERVISOR_xen_version, 0, 0), { asm: (a) => a.jal(0, 'top') }]);
    const { hv, vcpus } = await domains([LOOP, SPIN]);
    const d1 = hv.domain(1)!;
    let release!: () => void;
    const arrived = new Promise<void>((r) => (release = r));
    let waits = 0;
    d1.vm.missingPages = { has: () => false, fetch: () => arrived, all: () => (waits++, arrived) };
    const s = new CreditScheduler({ deterministic: true, sliceInstructions: SLICE });
    s.add(1, vcpus[0], { weight: 256, cap: 0 });
    s.add(2, vcpus[1], { weight: 256, cap: 0 });
    const ran = async (n: number) => {
      const order: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = await s.step();
        order.push(r.kind === 'ran' ? r.domid : 0);
      }
      return order;
    };
    // d1's first slice ends at its first hypercall (nothing of it ran); then d2 has every slice.
    expect(await ran(6)).toEqual([1, 2, 2, 2, 2, 2]);
    expect([s.account(1).state, s.account(1).blocks, waits]).toEqual(['blocked', 1, 1]);
    expect(d1.hypercalls.get(HYPERVISOR_xen_version)).toBeUndefined();
    expect(s.account(1).instructions).toBeLessThan(20n); // (its boot up to the hypercall)
    expect(s.account(1).instructions + s.account(2).instructions).toBe(BigInt(5 * SLICE)); // (the periods' ends cut d2's slices)
    // The pages are in: d1 runs again and repeats the hypercall, which runs now.
    d1.vm.missingPages = undefined;
    release();
    await arrived;
    expect(await ran(2)).toEqual([1, 2]);
    expect(d1.hypercalls.get(HYPERVISOR_xen_version)).toBeGreaterThan(0);
    expect(s.account(1).state).toBe('runnable');
  });

  it('refuses bad weights and caps, and unknown domains', async () => {
    const { vcpus } = await domains([SPIN]);
    const s = new CreditScheduler({ deterministic: true });
    expect(() => s.add(1, vcpus[0], { weight: 0, cap: 0 })).toThrow('scheduler: weight 0, expected 1..65535');
    expect(() => s.add(1, vcpus[0], { weight: 1, cap: 101 })).toThrow('scheduler: cap 101, expected 0..100');
    expect(() => s.pause(7)).toThrow('scheduler: no domain 7');
  });

  it('weights 256 and 512 split the instructions 1:2 exactly over whole periods', async () => {
    const { vcpus } = await domains([SPIN, SPIN]);
    const s = new CreditScheduler({ deterministic: true, sliceInstructions: SLICE });
    s.add(1, vcpus[0], { weight: 256, cap: 0 });
    s.add(2, vcpus[1], { weight: 512, cap: 0 });
    await steps(s, 30); // 10 periods of 3 slices
    const a = s.account(1), b = s.account(2);
    expect(a.instructions + b.instructions).toBe(BigInt(30 * SLICE));
    expect(Number(b.instructions) / Number(a.instructions)).toBe(2);
    expect([a.instructions, b.instructions, s.periods]).toEqual([BigInt(10 * SLICE), BigInt(20 * SLICE), 9]);
  });
});

describe('CreditScheduler (wall-clock time)', () => {
  it('charges host time to domains that ran; polls of a blocked vCPU are idle time', async () => {
    const { vcpus } = await domains([BLOCKER]);
    const s = new CreditScheduler({ deterministic: false, sliceMs: 2 });
    s.add(1, vcpus[0], { weight: 256, cap: 0 });
    expect(await s.step()).toMatchObject({ kind: 'ran', domid: 1, slice: { blocked: true } });
    const a = s.account(1);
    expect([a.slices, a.blocks, a.state]).toEqual([1, 1, 'blocked']);
    for (let i = 0; i < 3; i++) {
      const r = await s.step(); // nothing runnable: a 1 ms poll of the blocked vCPU
      expect(r).toMatchObject({ kind: 'ran', domid: 1 });
      expect(r.kind === 'ran' && r.slice.result.instructions).toBe(0n);
    }
    expect([s.account(1).slices, s.account(1).hostMs]).toEqual([1, a.hostMs]);
    expect(s.idleMs).toBeGreaterThanOrEqual(2);
  });
});
