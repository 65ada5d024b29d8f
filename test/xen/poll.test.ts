/**
 * SCHEDOP_poll (sched_op 29, cmd 3) as Xen's do_poll does it: small assembled DomUs
 * (guest-asm.ts) poll event-channel ports while the test plays Dom0 (host backends' sends), a
 * second domain, the credit scheduler and the toolstack. Checked: the immediate returns (a
 * pending port, a deliverable upcall, a past timeout), the exact errno of every error and the
 * order Xen checks them in, what wakes a blocked poll and what does not, the timeout in both
 * time modes, that a blocked vCPU runs nothing and keeps the host thread idle, and destroy and
 * pause of a polling domain.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import type { XenDomain } from '../../host/xen/domain';
import { XenHypervisor, type XenDomainConfig } from '../../host/xen/hypervisor';
import type { DomainCfg } from '../../host/xen/toolstack/cfg';
import { CreditScheduler } from '../../host/xen/toolstack/scheduler';
import { xenSchedVcpu } from '../../host/xen/toolstack/xen-vcpu';
import { Toolstack, type AttachedDevice, type DeviceOps } from '../../host/xen/toolstack/xl';
import * as E from '../diff/encode';
import { BASE, buildGuest, DATA, hc, RESULTS, runSteps, struct, type Step } from './guest-asm';

const EINVAL = -22, EFAULT = -14;
const SELF = 0x7ff0;
const T0 = 5, T1 = 6, T2 = 7;
/** 16 MiB of RAM: the shared-info page is the last frame (docs/xen/hypercalls.md). */
const SI = 0x80fff000n;
const UPCALL_PENDING = SI, UPCALL_MASK = SI + 1n, PENDING_SEL = SI + 8n;
/** evtchn_pending[0] and evtchn_mask[0]: byte 0 holds ports 0..7. */
const PENDING = SI + 0x800n, MASK = SI + 0xa00n;
/**
 * The last 4 bytes of RAM (in the shared-info page's unused arch area): a port array of two
 * that starts there has a readable first port and an unreadable second.
 */
const LAST_WORD = 0x80fffffcn;
/** Where rdtime steps store the guest's `time` CSR (10 MHz ticks), slot by slot. */
const TIMES = RESULTS + 0x100n;
const at = (off: number) => DATA + BigInt(off);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SCHEDOP_poll with its struct at DATA + `argAt`. */
const poll = (argAt: number): Step => hc(29, 3, at(argAt));
/** struct sched_poll { u64 ports; u32 nr_ports; u64 timeout } at `argAt`, its port array at `portsAt`. */
function pollArgs(argAt: number, portsAt: number | bigint, ports: number[], timeout: bigint | number = 0, nr = ports.length) {
  const list = typeof portsAt === 'bigint' ? portsAt : at(portsAt);
  const out = [{ at: at(argAt), bytes: struct(24, [[0, 8, list], [8, 4, nr], [16, 8, BigInt(timeout)]]) }];
  if (typeof portsAt === 'number' && ports.length > 0) out.push({ at: list, bytes: struct(ports.length * 4, ports.map((p, i) => [i * 4, 4, p] as [number, 4, number])) });
  return out;
}
/** EVTCHNOP_alloc_unbound(DOMID_SELF, remote) with its struct at `argAt` (the port comes back at +4). */
const allocUnbound = (argAt: number, remote: number) => ({
  step: hc(32, 6, at(argAt)), data: { at: at(argAt), bytes: struct(8, [[0, 2, SELF], [2, 2, remote]]) },
});
/** Store byte `v` at guest-physical `addr` (t0, t1 clobbered). */
const storeByte = (addr: bigint, v: number): Step => ({
  asm: (a) => a.li64(T0, addr).emit(E.aluI('addi', T1, 0, v), E.store('sb', T1, T0, 0)),
});
/** Store the u32 `v` at guest-physical `addr` (t0, t1 clobbered). */
const storeWord = (addr: bigint, v: number): Step => ({
  asm: (a) => a.li64(T0, addr).li64(T1, BigInt(v)).emit(E.store('sw', T1, T0, 0)),
});
/** csrr t1, time; store it in TIMES slot `slot`. */
const rdtime = (slot: number): Step => ({
  asm: (a) => a.emit(0xc0102373).li64(T0, TIMES + BigInt(slot * 8)).emit(E.store('sd', T1, T0, 0)),
});
/** Write `time CSR * 100 + ns` (system time `ns` from now) to the u64 at `addr`. */
const timeoutFromNow = (addr: bigint, ns: number): Step => ({
  asm: (a) => a.emit(0xc0102373).li64(T2, 100n).emit(E.aluR('mul', T1, T1, T2)).li64(T2, BigInt(ns))
    .emit(E.aluR('add', T1, T1, T2)).li64(T0, addr).emit(E.store('sd', T1, T0, 0)),
});

const u64At = (d: XenDomain, gpa: bigint) => new DataView(d.vm.readGuest(gpa, 8)!.buffer).getBigUint64(0, true);
const results = (d: XenDomain, n: number) => Array.from({ length: n }, (_, i) => Number(BigInt.asIntN(64, u64At(d, RESULTS + BigInt(i * 8)))));
const time = (d: XenDomain, slot: number) => u64At(d, TIMES + BigInt(slot * 8));
const polls = (d: XenDomain) => d.hypercalls.get(29) ?? 0;

/** Build a DomU running `steps` (deterministic time unless `cfg` says otherwise). */
async function boot(hv: XenHypervisor, name: string, steps: Step[], data: { at: bigint; bytes: Uint8Array }[], cfg: Partial<XenDomainConfig> = {}): Promise<XenDomain> {
  return hv.createDomain({ name, memSize: 16 << 20, kernel: parseImage(buildGuest(steps, data), `${name}.bin`, BASE), deterministic: true, jit: 'off', ...cfg });
}

/** Wait (on the host's event loop) until `cond` holds; fail after 20 s (a loaded machine is slow, a hang is forever). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > 20_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/**
 * For `ms`: the domain stays blocked in its poll and retires no instruction. From 100 ms on, the
 * host thread is also seen idle: event-loop utilisation over 20 ms windows, which a busy loop
 * drives to 1 in every window; the quietest window must be mostly idle (one window may hold a
 * garbage collection of an earlier test's VMs).
 */
async function staysBlocked(d: XenDomain, ms: number): Promise<void> {
  const i0 = d.vm.vcpu.instructions;
  const busy: number[] = [];
  for (let t = 0; t < ms; t += 20) {
    const elu0 = performance.eventLoopUtilization();
    await sleep(20);
    busy.push(performance.eventLoopUtilization(elu0).utilization);
  }
  expect(d.polling).toBe(true);
  expect(d.vm.vcpu.instructions).toBe(i0);
  if (ms >= 100) expect(Math.min(...busy)).toBeLessThan(0.3);
}

describe('SCHEDOP_poll returns at once', () => {
  // Port 3 unbound for SELF, bind_interdomain to it: the new port 4 is pending at once.
  const loopback = [allocUnbound(0, SELF), { step: hc(32, 0, at(0x10)), data: { at: at(0x10), bytes: struct(12, [[0, 2, SELF], [4, 4, 3]]) } }];

  it('when a listed port is pending, masked or not (evtchn_upcall_mask set: no upcall is deliverable)', async () => {
    const r = await runSteps([
      ...loopback.map((x) => x.step), storeByte(UPCALL_MASK, 1),
      poll(0x40), storeByte(MASK, 0x10), poll(0x40), poll(0x80),
    ], [...loopback.map((x) => x.data), ...pollArgs(0x40, 0x60, [4]), ...pollArgs(0x80, 0xa0, [3, 4])]);
    expect(r.results).toEqual([0, 0, 0, 0, 0]);
    expect(r.exitCode).toBe(0);
    expect(r.d.vm.vcpu.haltExits).toBe(0n); // it never blocked
    expect(r.d.sharedInfo.isPending(4)).toBe(true); // poll does not consume the event
  });

  it('when an upcall is deliverable, before any port is looked at (local_events_need_delivery)', async () => {
    const r = await runSteps([
      ...loopback.map((x) => x.step), // port 4 pending and unmasked: evtchn_upcall_pending = 1
      poll(0x40), storeByte(UPCALL_MASK, 1), poll(0x40),
    ], [...loopback.map((x) => x.data), ...pollArgs(0x40, 0x60, [5000])]);
    expect(r.results).toEqual([0, 0, 0, EINVAL]);
    expect(r.d.vm.vcpu.haltExits).toBe(0n);
  });

  it('when the timeout is already past (also one that is negative as a signed s_time_t)', async () => {
    const r = await runSteps([
      allocUnbound(0, 0).step, poll(0x40), poll(0x80), poll(0xc0),
    ], [allocUnbound(0, 0).data, ...pollArgs(0x40, 0x60, [3], 1), ...pollArgs(0x80, 0xa0, [3], 1n << 63n), ...pollArgs(0xc0, 0xe0, [], 100)]);
    expect(r.results).toEqual([0, 0, 0, 0]);
    expect(r.d.vm.vcpu.haltExits).toBe(0n);
  });
});

describe('SCHEDOP_poll errors', () => {
  it('give Xen\'s errno, checked in do_poll\'s order: struct, nr_ports, then port by port', async () => {
    const r = await runSteps([
      allocUnbound(0, 0).step, // port 3, not pending
      storeByte(UPCALL_MASK, 1),
      storeWord(LAST_WORD, 3),
      hc(29, 3, 0x1000), // struct not in RAM
      hc(29, 3, 0x80fffff0n), // struct runs off the end of RAM
      poll(0x20), // nr_ports 129 (its wild array is never looked at)
      poll(0x40), // array not in RAM
      poll(0x60), // port 1024 = the table size
      poll(0x80), // port 0 (reserved)
      poll(0xa0), // port 100 (free)
      poll(0xc0), // port 0xffffffff
      poll(0xe0), // [3 (not pending), port read faults] -> -EFAULT
      poll(0x100), // [100 (free), 3] -> -EINVAL before port 3
    ], [
      allocUnbound(0, 0).data,
      ...pollArgs(0x20, 0x10n, [], 0, 129), ...pollArgs(0x40, 0x10n, [], 0, 1),
      ...pollArgs(0x60, 0x300, [1024]), ...pollArgs(0x80, 0x310, [0]), ...pollArgs(0xa0, 0x320, [100]),
      ...pollArgs(0xc0, 0x330, [0xffffffff]), ...pollArgs(0xe0, LAST_WORD, [], 0, 2), ...pollArgs(0x100, 0x340, [100, 3]),
    ]);
    expect(r.results).toEqual([0, EFAULT, EFAULT, EINVAL, EFAULT, EINVAL, EINVAL, EINVAL, EINVAL, EFAULT, EINVAL]);
    expect(r.d.vm.vcpu.haltExits).toBe(0n);
  });

  it('a pending port ahead of a bad one wins: the poll returns 0 before reaching it', async () => {
    const r = await runSteps([
      allocUnbound(0, SELF).step, hc(32, 0, at(0x10)), storeByte(UPCALL_MASK, 1), storeWord(LAST_WORD, 4),
      poll(0x40), poll(0x80),
    ], [
      allocUnbound(0, SELF).data, { at: at(0x10), bytes: struct(12, [[0, 2, SELF], [4, 4, 3]]) },
      ...pollArgs(0x40, 0x60, [4, 5000]), ...pollArgs(0x80, LAST_WORD, [], 0, 2), // [4 (pending), unreadable]
    ]);
    expect(r.results).toEqual([0, 0, 0, 0]);
  });
});

describe('SCHEDOP_poll blocks', () => {
  it('until Dom0 (a host backend) notifies the port: no instruction runs and the host idles meanwhile', async () => {
    const hv = new XenHypervisor();
    const a = allocUnbound(0, 0);
    const d = await boot(hv, 'p', [a.step, poll(0x40), rdtime(0)], [a.data, ...pollArgs(0x40, 0x60, [3])]);
    const run = hv.run(d.domid, { timeoutMs: 10_000 });
    await until(() => d.polling, 'the poll');
    expect(d.snapshot().poll).toEqual({ port: 3, deadline: null });
    await staysBlocked(d, 150);
    const host = hv.evtchn.hostBindInterdomain(d.domid, 3, () => {});
    await staysBlocked(d, 20); // binding marks Dom0's end pending, not the DomU's
    expect(hv.evtchn.hostNotify(host)).toBe(0);
    expect(await run).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(results(d, 2)).toEqual([0, 0]);
    expect([d.polling, d.sharedInfo.isPending(3), d.vm.vcpu.haltExits]).toEqual([false, true, 1n]);
  });

  it('until another domain sends on the port, under the credit scheduler', async () => {
    const hv = new XenHypervisor();
    const a = allocUnbound(0, 2); // d1 port 3, for d2
    const poller = await boot(hv, 'poller', [a.step, poll(0x40)], [a.data, ...pollArgs(0x40, 0x60, [3])]);
    const sender = await boot(hv, 'sender', [hc(32, 0, at(0)), hc(32, 4, at(0x10))], [
      { at: at(0), bytes: struct(12, [[0, 2, 1], [4, 4, 3]]) }, // bind_interdomain(d1, port 3) -> d2 port 3
      { at: at(0x10), bytes: struct(4, [[0, 4, 3]]) }, // send(3)
    ]);
    const s = new CreditScheduler({ deterministic: true, sliceInstructions: 10_000 });
    s.add(1, xenSchedVcpu(hv, poller), { weight: 256, cap: 0 });
    s.add(2, xenSchedVcpu(hv, sender), { weight: 256, cap: 0 });
    expect(await s.step()).toMatchObject({ kind: 'ran', domid: 1, slice: { blocked: true, result: { reason: 'stopped' } } });
    expect([s.account(1).state, poller.polling]).toEqual(['blocked', true]);
    expect(await s.step()).toMatchObject({ kind: 'ran', domid: 2, slice: { result: { reason: 'exit', exitCode: 0 } } });
    expect(results(sender, 2)).toEqual([0, 0]);
    expect(poller.polling).toBe(false);
    expect(await s.step()).toMatchObject({ kind: 'ran', domid: 1, slice: { blocked: false, result: { reason: 'exit', exitCode: 0 } } });
    expect(results(poller, 2)).toEqual([0, 0]);
    expect([s.account(1).blocks, s.account(1).slices]).toEqual([1, 2]);
  });

  it('but an event on another port does not end a one-port poll unless it kicks the vCPU (Xen\'s wake-ups)', async () => {
    const hv = new XenHypervisor();
    const al = [allocUnbound(0, 0), allocUnbound(8, 0), allocUnbound(0x10, 0)]; // ports 3, 4, 5 for Dom0
    const d = await boot(hv, 'p', [
      ...al.map((x) => x.step),
      storeByte(MASK, 0x10), // port 4 masked
      storeByte(UPCALL_MASK, 1), storeByte(UPCALL_PENDING, 1), // an upcall already pending (and held off)
      poll(0x40), // A: [3]
      storeByte(UPCALL_PENDING, 0), storeByte(PENDING_SEL, 0), storeByte(PENDING, 0),
      poll(0x40), // B: [3], nothing pending
      storeByte(PENDING, 0),
      poll(0x80), // C: [3, 4]
    ], [...al.map((x) => x.data), ...pollArgs(0x40, 0x60, [3]), ...pollArgs(0x80, 0xa0, [3, 4])]);
    const run = hv.run(d.domid, { timeoutMs: 10_000 });
    await until(() => d.polling && polls(d) === 1, 'poll A');
    const host = [3, 4, 5].map((p) => hv.evtchn.hostBindInterdomain(d.domid, p, () => {}));
    const send = (port: number) => expect(hv.evtchn.hostNotify(host[port - 3])).toBe(0);
    // A: masked port 4, and unmasked port 5 while evtchn_upcall_pending is already 1: no wake-up.
    send(4);
    await staysBlocked(d, 30);
    send(5);
    await staysBlocked(d, 30);
    expect([4, 5].map((p) => d.sharedInfo.isPending(p))).toEqual([true, true]);
    send(3);
    // B: an unmasked port raising evtchn_upcall_pending (0 -> 1) kicks the vCPU, which ends the
    // poll although port 3 is still not pending (vcpu_mark_events_pending -> vcpu_unblock).
    await until(() => d.polling && polls(d) === 2, 'poll B');
    await staysBlocked(d, 20);
    send(5);
    await until(() => !d.polling, 'the end of poll B');
    expect([d.sharedInfo.isPending(3), d.sharedInfo.upcallPending(0)]).toEqual([false, true]);
    // C: a poll of several ports ends on an event on any port (Xen's poll_evtchn = -1), here
    // port 5 with evtchn_upcall_pending already set, so without a kick.
    await until(() => d.polling && polls(d) === 3, 'poll C');
    await staysBlocked(d, 20);
    send(5);
    expect(await run).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(results(d, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    expect([3, 4, 5].map((p) => d.sharedInfo.isPending(p))).toEqual([false, false, true]);
  });
});

describe('SCHEDOP_poll and interrupts', () => {
  it('an enabled interrupt (the guest\'s Sstc timer) ends it, as a vGIC injection kicks a Xen/Arm vCPU', async () => {
    const a = allocUnbound(0, 0);
    const r = await runSteps([
      a.step,
      // stimecmp = 50,000 ticks (5 ms); sie.STIE; sstatus.SIE stays clear, so nothing is taken
      { asm: (x) => x.li64(T1, 50_000n).emit(0x14d31073).li64(T0, 0x20n).emit(0x1042a073) },
      poll(0x40), rdtime(0),
    ], [a.data, ...pollArgs(0x40, 0x60, [3])]);
    expect(r.results).toEqual([0, 0]);
    expect(time(r.d, 0)).toBeGreaterThanOrEqual(50_000n);
    expect([r.d.polling, r.d.snapshot().poll, r.d.sharedInfo.isPending(3), r.d.vm.vcpu.haltExits]).toEqual([false, null, false, 1n]);
  });
});

describe('SCHEDOP_poll timeout', () => {
  // Port 3 (never pending), VIRQ_TIMER on port 4, set_timer_op at 2 ms, poll [3] until 5 ms.
  const guest = (maskVirq: boolean) => {
    const a = allocUnbound(0, 0);
    return runSteps([
      a.step, hc(32, 1, at(0x10)), ...(maskVirq ? [storeByte(MASK, 0x10)] : []), hc(15, 2_000_000), rdtime(0), poll(0x40), rdtime(1),
    ], [a.data, { at: at(0x10), bytes: struct(12, [[0, 4, 0], [4, 4, 0]]) }, ...pollArgs(0x40, 0x60, [3], 5_000_000)]);
  };

  it('ends the poll: guest time is at least the timeout (deterministic time jumps there)', async () => {
    const r = await guest(true);
    expect(r.results).toEqual([0, 0, 0, 0]);
    expect(time(r.d, 0) * 100n).toBeLessThan(2_000_000n);
    expect(time(r.d, 1) * 100n).toBeGreaterThanOrEqual(5_000_000n);
    // VIRQ_TIMER fired on the way (masked: no kick, and not a polled port).
    expect([r.d.sharedInfo.isPending(4), r.d.sharedInfo.upcallPending(0), r.d.vm.vcpu.haltExits]).toEqual([true, false, 1n]);
  });

  it('set_timer_op\'s VIRQ_TIMER on an unmasked port ends it earlier, by the upcall kick', async () => {
    const r = await guest(false);
    expect(r.results).toEqual([0, 0, 0, 0]);
    const t = time(r.d, 1) * 100n;
    expect(t >= 2_000_000n && t < 5_000_000n).toBe(true);
    expect([r.d.sharedInfo.isPending(4), r.d.sharedInfo.upcallPending(0)]).toEqual([true, true]);
  });

  it('with real time: the vCPU sleeps until the timeout and then sees time >= it', async () => {
    const hv = new XenHypervisor();
    const a = allocUnbound(0, 0);
    const d = await boot(hv, 'p', [a.step, timeoutFromNow(at(0x40 + 16), 300_000_000), poll(0x40), rdtime(0)], [a.data, ...pollArgs(0x40, 0x60, [3])], { deterministic: false });
    const run = hv.run(d.domid, { timeoutMs: 10_000 });
    await until(() => d.polling, 'the poll');
    const timeout = u64At(d, at(0x40 + 16));
    expect(d.snapshot().poll).toEqual({ port: 3, deadline: ((timeout + 99n) / 100n).toString() });
    await staysBlocked(d, 100);
    expect(await run).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(results(d, 2)).toEqual([0, 0]);
    expect(time(d, 0) * 100n).toBeGreaterThanOrEqual(timeout);
    expect(d.vm.vcpu.haltExits).toBe(1n);
  });

  it('with real time under the scheduler: it wakes at its timeout while another domain keeps the CPU busy', async () => {
    const hv = new XenHypervisor();
    const a = allocUnbound(0, 0);
    const poller = await boot(hv, 'p', [a.step, timeoutFromNow(at(0x40 + 16), 30_000_000), poll(0x40), rdtime(0)], [a.data, ...pollArgs(0x40, 0x60, [3])], { deterministic: false });
    const spinner = await hv.createDomain({ name: 'spin', memSize: 16 << 20, kernel: parseImage(new Uint8Array([0x6f, 0, 0, 0]), 'spin.bin', BASE), jit: 'off' });
    const s = new CreditScheduler({ deterministic: false, sliceMs: 2 });
    s.add(1, xenSchedVcpu(hv, poller), { weight: 256, cap: 0 });
    s.add(2, xenSchedVcpu(hv, spinner), { weight: 256, cap: 0 });
    const t0 = performance.now();
    while (poller.vm.exitCode === undefined && performance.now() - t0 < 20_000) await s.step();
    // The host timer fired although every step ran the spinner (the scheduler lets the event
    // loop in every YIELD_MS): 30 ms of timeout, well under the 20 s a starved timer would take
    // (a generous bound, for a loaded machine).
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(poller.vm.exitCode).toBe(0);
    expect(results(poller, 2)).toEqual([0, 0]);
    expect(time(poller, 0) * 100n).toBeGreaterThanOrEqual(u64At(poller, at(0x40 + 16)));
    expect([s.account(1).blocks, s.account(2).state]).toEqual([1, 'runnable']);
    expect(s.account(2).instructions).toBeGreaterThan(0n);
  });

  it('with deterministic time under the scheduler: an idle CPU lets the poller\'s time jump to its timeout', async () => {
    const hv = new XenHypervisor();
    const a = allocUnbound(0, 0);
    const d = await boot(hv, 'p', [a.step, poll(0x40), rdtime(0)], [a.data, ...pollArgs(0x40, 0x60, [3], 7_000_000)]);
    const s = new CreditScheduler({ deterministic: true, sliceInstructions: 10_000 });
    s.add(1, xenSchedVcpu(hv, d), { weight: 256, cap: 0 });
    expect(await s.step()).toMatchObject({ kind: 'ran', domid: 1, slice: { blocked: true } });
    expect(await s.step()).toMatchObject({ kind: 'ran', domid: 1, slice: { result: { reason: 'exit', exitCode: 0 } } });
    expect(time(d, 0) * 100n).toBeGreaterThanOrEqual(7_000_000n);
  });
});

describe('a polling domain', () => {
  /** Polls port 3 (for Dom0) forever, then powers off. */
  const pollForever = () => {
    const a = allocUnbound(0, 0);
    return buildGuest([a.step, poll(0x40)], [a.data, ...pollArgs(0x40, 0x60, [3])]);
  };

  it('is destroyed at once: its run returns \'stopped\'', async () => {
    const hv = new XenHypervisor();
    const d = await hv.createDomain({ name: 'p', memSize: 16 << 20, kernel: parseImage(pollForever(), 'p.bin', BASE), deterministic: true });
    const run = hv.run(d.domid, { timeoutMs: 60_000 });
    await until(() => d.polling, 'the poll');
    const t0 = performance.now();
    hv.destroyDomain(d.domid);
    expect(await run).toMatchObject({ reason: 'stopped' });
    // at once: a run that only ended at its timeout would take 60 s (the bound is generous for a loaded machine)
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect([d.polling, hv.domain(1)]).toEqual([false, undefined]);
  });

  it('stays blocked while paused, wakes when unpaused after an event; xl list shows it blocked; xl destroy', async () => {
    const hv = new XenHypervisor();
    const images: Record<string, Uint8Array> = { poll: pollForever() };
    const devices: DeviceOps = {
      attachDisk: () => { throw new Error('no disks'); },
      attachVif: () => { throw new Error('no vifs'); },
      attachConsole: () => ({ kind: 'console', devid: 0, close: () => {}, stats: () => ({}), input: () => {} } as AttachedDevice & { input(b: Uint8Array): void }),
    };
    const notices: string[] = [];
    const xl = new Toolstack(hv, {
      devices, deterministic: true, jit: 'off', scheduler: { sliceInstructions: 10_000 },
      loadKernel: (p) => parseImage(images[p], p, BASE), onNotice: (l) => notices.push(l),
    });
    const cfg = (name: string): DomainCfg => ({
      file: `${name}.cfg`, name, kernel: 'poll', memoryMiB: 16, vcpus: 1, disks: [], vifs: [],
      onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'destroy', weight: 256, cap: 0,
    });
    await xl.create(cfg('a'));
    await xl.create(cfg('b'));
    const [a, b] = [hv.domain(1)!, hv.domain(2)!];
    // Both reach their poll within a few 50 ms rounds (one is enough on an idle machine; a loaded
    // one may give the scheduler fewer slices per round).
    for (let i = 0; i < 40 && !(a.polling && b.polling); i++) expect(await xl.run({ timeoutMs: 50 })).toBe('timeout');
    expect([a.polling, b.polling]).toEqual([true, true]);
    expect(xl.list().slice(1).map((r) => r.state)).toEqual([
      { running: false, blocked: true, paused: false }, { running: false, blocked: true, paused: false },
    ]);
    // Paused, a's poll ends (Dom0 notifies its port) but it does not run until unpaused.
    xl.pause(1);
    const host = hv.evtchn.hostBindInterdomain(1, 3, () => {});
    hv.evtchn.hostNotify(host);
    expect(a.polling).toBe(false);
    const i0 = a.vm.vcpu.instructions;
    expect(await xl.run({ timeoutMs: 30 })).toBe('timeout');
    expect(a.vm.vcpu.instructions).toBe(i0);
    xl.unpause(1);
    xl.defer(() => xl.destroy(2)); // b, still polling, is destroyed between two slices
    expect(await xl.run({ timeoutMs: 5000 })).toBe('done');
    expect(notices).toEqual(['b (d2): destroyed', 'a (d1): poweroff, exit code 0: destroyed']);
    expect(xl.records()[0].end).toEqual({ reason: 'poweroff', exitCode: 0 });
    expect([hv.list(), a.polling, b.polling]).toEqual([[], false, false]);
  });
});
