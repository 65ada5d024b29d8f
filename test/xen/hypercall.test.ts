/**
 * Every hypercall from a real DomU: small assembled guests (guest-asm.ts) run in VS-mode under
 * the VMM, make hypercalls through the vendor SBI extension, and the test checks each a0 and
 * every byte the hypervisor wrote back, success and error paths.
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { Vm } from '../../host/vmm/vm';
import { XEN_SBI_EID } from '../../host/xen/ops-abi';
import * as E from '../diff/encode';
import { BASE, buildGuest, DATA, hc, peek, RESULTS, runSteps, struct, type Step } from './guest-asm';

const EINVAL = -22, EFAULT = -14, ENOSYS = -38, EPERM = -1, ESRCH = -3;
const SELF = 0x7ff0;
const T0 = 5, T1 = 6;
const enc = (s: string) => new TextEncoder().encode(s);
const at = (off: number) => DATA + BigInt(off);
const u32 = (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const u64 = (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);
/** csrs sie, t0 with t0 = SEIE (bit 9): enables the upcall (hie.VSEIE). */
const enableSeie: Step = { insns: [E.aluI('addi', T0, 0, 0x200), 0x1042a073] };
/** Store byte `v` at guest-physical `addr` (t0, t1 clobbered). */
const storeByte = (addr: bigint, v: number): Step => ({
  asm: (a) => a.li64(T0, addr).emit(E.aluI('addi', T1, 0, v), E.store('sb', T1, T0, 0)),
});
/** 16 MiB of RAM: the shared-info page is the last frame. */
const SHARED_INFO = 0x80fff000n;

describe('the hypercall entry', () => {
  it('probe_extension finds the Xen EID in a DomU, not in a plain VM, where a hypercall is SBI NOT_SUPPORTED', async () => {
    const probe: Step = {
      asm: (a) => a.li64(10, BigInt(XEN_SBI_EID)).emit(E.aluI('addi', 16, 0, 3), E.aluI('addi', 17, 0, 0x10), 0x73).li64(T0, 0x80300100n).emit(E.store('sd', 11, T0, 0)),
    };
    const r = await runSteps([probe, hc(17, 0)]);
    expect(u64(peek(r.d, 0x80300100n, 8))).toBe(1n);
    expect(r.results).toEqual([0x40013]);
    expect(r.d.vm.exits.rows().map((x) => x.reason)).toContain('SBI ecall (XEN xen_version)');
    const plain = await Vm.create({ memSize: 16 << 20, kernel: parseImage(buildGuest([probe, hc(17, 0)]), 'plain.bin', BASE), deterministic: true });
    const pr = await plain.run({ maxInstructions: 100_000n });
    expect(pr).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(u64(plain.readGuest(0x80300100n, 8)!)).toBe(0n);
    expect(BigInt.asIntN(64, u64(plain.readGuest(RESULTS, 8)!))).toBe(-2n); // SBI_ERR_NOT_SUPPORTED
  });

  it('unknown hypercall numbers are -ENOSYS, a0 only is written', async () => {
    const r = await runSteps([hc(99), hc(0), hc(1), { nr: 0x10000000012 }, hc(63)]);
    expect(r.results).toEqual([ENOSYS, ENOSYS, ENOSYS, ENOSYS, ENOSYS]);
    expect(r.exitCode).toBe(0);
  });
});

describe('console_io', () => {
  it('CONSOLEIO_write copies the buffer out, each line prefixed "(d1) "; errors for bad count, pointer and cmd', async () => {
    const r = await runSteps([
      hc(18, 0, 6, at(0)), hc(18, 0, 2, at(0x100)), hc(18, 0, 3, at(0x110)), hc(18, 0, 0, 0),
      hc(18, 0, 16385, at(0)), hc(18, 0, 6, 0x1000), hc(18, 0, 8, 0x80fffffcn + 0x4n), hc(18, 1, 6, at(0)), hc(18, 7, 6, at(0)),
    ], [{ at: at(0), bytes: enc('hello\n') }, { at: at(0x100), bytes: enc('ab') }, { at: at(0x110), bytes: enc('c\nd') }]);
    expect(r.results).toEqual([0, 0, 0, 0, EINVAL, EFAULT, EFAULT, EPERM, ENOSYS]);
    expect(r.out).toBe('(d1) hello\r\n(d1) abc\r\n(d1) d');
  });
});

describe('xen_version', () => {
  it('version, extraversion, get_features, pagesize; errors', async () => {
    const r = await runSteps([
      hc(17, 0), hc(17, 1, at(0)), hc(17, 1, 0), hc(17, 6, at(0x20)), hc(17, 6, at(0x30)), hc(17, 7), hc(17, 2), hc(17, 6, 0x1000),
    ], [{ at: at(0), bytes: new Uint8Array(16).fill(0xee) }, { at: at(0x30), bytes: struct(8, [[0, 4, 1], [4, 4, 0xdead]]) }]);
    expect(r.results).toEqual([0x40013, 0, EFAULT, 0, EINVAL, 4096, ENOSYS, EFAULT]);
    expect(peek(r.d, at(0), 16)).toEqual(new Uint8Array([...enc('.0-wasmvisor'), 0, 0, 0, 0]));
    expect([u32(peek(r.d, at(0x20), 8)), u32(peek(r.d, at(0x20), 8), 4)]).toEqual([0, 0x104]);
    expect(u32(peek(r.d, at(0x30), 8), 4)).toBe(0xdead); // a failed call writes nothing back
  });
});

describe('sched_op', () => {
  it('yield, poll and the error paths', async () => {
    // (timeout 1 ns: a poll of ports that are not pending would otherwise block; poll.test.ts)
    const poll = (ports: bigint, n: number) => struct(24, [[0, 8, ports], [8, 4, n], [16, 8, 1]]);
    const r = await runSteps([
      hc(29, 0), hc(29, 2, 0x1000), hc(29, 2, at(0)), hc(29, 2, at(8)), hc(29, 4, at(0)), hc(29, 5), hc(29, 99),
      hc(29, 3, at(0x40)), hc(29, 3, at(0x60)), hc(29, 3, at(0x80)), hc(29, 3, at(0xa0)), hc(29, 1),
    ], [
      { at: at(0), bytes: struct(4, [[0, 4, 2]]) }, { at: at(8), bytes: struct(4, [[0, 4, 9]]) },
      { at: at(0x40), bytes: poll(at(0x200), 2) }, { at: at(0x60), bytes: poll(at(0x200), 129) },
      { at: at(0x80), bytes: poll(0x10n, 1) }, { at: at(0xa0), bytes: poll(at(0x208), 1) },
      { at: at(0x200), bytes: struct(12, [[0, 4, 1], [4, 4, 2], [8, 4, 1024]]) },
    ]);
    // shutdown: bad pointer, SHUTDOWN_suspend (not offered), reason 9; remote_shutdown; unknown
    // cmds; poll ok, too many ports, bad array, port 1024 out of range; block with sie.SEIE clear.
    expect(r.results).toEqual([0, EFAULT, ENOSYS, EINVAL, EPERM, ENOSYS, ENOSYS, 0, EINVAL, EFAULT, EINVAL, EINVAL]);
    expect(r.d.shutdownReason).toBeUndefined();
  });

  it.each([
    [0, 'poweroff', 0], [1, 'reboot', 0], [3, 'crash', 1], [4, 'watchdog', 1],
  ])('SCHEDOP_shutdown reason %i ends the run: %s, exit code %i; nothing after it runs', async (reason, name, code) => {
    const r = await runSteps([hc(29, 2, at(0)), hc(18, 0, 2, at(8))], [{ at: at(0), bytes: struct(4, [[0, 4, reason]]) }, { at: at(8), bytes: enc('no') }]);
    expect(r).toMatchObject({ reason: 'exit', exitCode: code, out: '' });
    expect(r.d.shutdownReason).toBe(name);
  });

  it('SCHEDOP_block clears evtchn_upcall_mask, returns at once with an upcall pending, else waits for the timer', async () => {
    const r = await runSteps([
      hc(32, 1, at(0)), // bind_virq(VIRQ_TIMER, vcpu 0) -> port 3
      enableSeie,
      storeByte(SHARED_INFO + 1n, 1), // evtchn_upcall_mask = 1
      hc(15, 5_000_000), // set_timer_op(5 ms): deterministic time jumps there when the vCPU blocks
      hc(29, 1),
    ], [{ at: at(0), bytes: struct(12, [[0, 4, 0], [4, 4, 0]]) }]);
    expect(r.results).toEqual([0, 0, 0]);
    expect(u32(peek(r.d, at(0), 12), 8)).toBe(3);
    expect(r.d.sharedInfo.isPending(3)).toBe(true);
    expect(r.d.sharedInfo.upcallPending(0)).toBe(true);
    expect(r.d.sharedInfo.upcallMask(0)).toBe(false);
    expect(r.d.vm.vcpu.guestTime()).toBeGreaterThanOrEqual(50_000n);
    expect(r.d.vm.vmcs.hvip & (1n << 10n)).toBe(1n << 10n);
  });
});

describe('set_timer_op', () => {
  it('a past deadline fires at once; 0 cancels; the timer raises VIRQ_TIMER only when bound', async () => {
    const r = await runSteps([hc(15, 1), hc(32, 1, at(0)), hc(15, 10_000_000_000n), hc(15, 0), hc(15, 1)], [{ at: at(0), bytes: struct(12, []) }]);
    expect(r.results).toEqual([0, 0, 0, 0, 0]);
    expect(r.d.timerArmed).toBe(false);
    expect(r.d.sharedInfo.isPending(3)).toBe(true); // from the last call (the first had no port bound)
  });
});

describe('event_channel_op', () => {
  it('alloc_unbound, bind_interdomain, send, status to itself; errors', async () => {
    const r = await runSteps([
      hc(32, 6, at(0)), hc(32, 0, at(0x10)), hc(32, 4, at(0x20)), hc(32, 5, at(0x30)), hc(32, 5, at(0x50)),
      hc(32, 3, at(0x70)), hc(32, 6, 0x1000), hc(32, 77, at(0)),
    ], [
      { at: at(0), bytes: struct(8, [[0, 2, SELF], [2, 2, SELF]]) },
      { at: at(0x10), bytes: struct(12, [[0, 2, SELF], [4, 4, 3]]) },
      { at: at(0x20), bytes: struct(4, [[0, 4, 4]]) },
      { at: at(0x30), bytes: struct(24, [[0, 2, SELF], [4, 4, 4]]) },
      { at: at(0x50), bytes: struct(24, [[0, 2, SELF], [4, 4, 1]]) },
      { at: at(0x70), bytes: struct(4, [[0, 4, 999999]]) },
    ]);
    expect(r.results).toEqual([0, 0, 0, 0, 0, EINVAL, EFAULT, ENOSYS]);
    expect(u32(peek(r.d, at(0), 8), 4)).toBe(3);
    expect(u32(peek(r.d, at(0x10), 12), 8)).toBe(4);
    const st = peek(r.d, at(0x30), 24);
    expect([u32(st, 8), u32(st, 12), st[16] | (st[17] << 8), u32(st, 20)]).toEqual([2, 0, 1, 3]); // interdomain with d1 port 3
    const xs = peek(r.d, at(0x50), 24);
    expect([u32(xs, 8), xs[16] | (xs[17] << 8)]).toEqual([2, 0]); // port 1: XenStore, bound to Dom0
    expect([3, 4].map((p) => r.d.sharedInfo.isPending(p))).toEqual([true, true]);
  });
});

describe('the upcall line (hvip.VSEIP)', () => {
  const loopback: Step[] = [hc(32, 6, at(0)), hc(32, 0, at(0x10))]; // port 4 pending at once
  const data = [{ at: at(0), bytes: struct(8, [[0, 2, SELF], [2, 2, SELF]]) }, { at: at(0x10), bytes: struct(12, [[0, 2, SELF], [4, 4, 3]]) }];
  const vseip = (r: { d: { vm: Vm } }) => (r.d.vm.vmcs.hvip >> 10n) & 1n;
  it('is raised by an event', async () => {
    expect(vseip(await runSteps(loopback, data))).toBe(1n);
  });
  it('drops at the next hypercall once the guest clears evtchn_upcall_pending', async () => {
    expect(vseip(await runSteps([...loopback, storeByte(SHARED_INFO, 0), hc(17, 0)], data))).toBe(0n);
    // Clearing it without a hypercall leaves the line up (the guest must make one).
    expect(vseip(await runSteps([...loopback, storeByte(SHARED_INFO, 0)], data))).toBe(1n);
  });
  it('is held off while evtchn_upcall_mask is set, and comes back when it is cleared', async () => {
    expect(vseip(await runSteps([...loopback, storeByte(SHARED_INFO + 1n, 1), hc(17, 0)], data))).toBe(0n);
    expect(vseip(await runSteps([...loopback, storeByte(SHARED_INFO + 1n, 1), hc(17, 0), storeByte(SHARED_INFO + 1n, 0), hc(17, 0)], data))).toBe(1n);
  });
});

describe('grant_table_op', () => {
  it('query_size, setup_table; errors', async () => {
    const r = await runSteps([
      hc(20, 6, at(0), 1), hc(20, 2, at(0x20), 1), hc(20, 2, at(0x40), 1), hc(20, 6, at(0x60), 1),
      hc(20, 6, at(0), 1025), hc(20, 6, 0x1000, 1), hc(20, 0, at(0), 1),
    ], [
      { at: at(0), bytes: struct(16, [[0, 2, SELF]]) },
      { at: at(0x20), bytes: struct(24, [[0, 2, SELF], [4, 4, 2], [16, 8, at(0x100)]]) },
      { at: at(0x40), bytes: struct(24, [[0, 2, SELF], [4, 4, 5], [16, 8, at(0x100)]]) },
      { at: at(0x60), bytes: struct(16, [[0, 2, 5]]) },
    ]);
    expect(r.results).toEqual([0, 0, 0, 0, EINVAL, EFAULT, ENOSYS]);
    const q = peek(r.d, at(0), 16);
    expect([u32(q, 4), u32(q, 8), q[12] | (q[13] << 8)]).toEqual([1, 4, 0]);
    expect(peek(r.d, at(0x28), 2)).toEqual(new Uint8Array([0, 0])); // status okay
    expect([u64(peek(r.d, at(0x100), 8)), u64(peek(r.d, at(0x108), 8))]).toEqual(r.d.layout.grantGfns.slice(0, 2));
    expect(new Int16Array(peek(r.d, at(0x48), 2).buffer)[0]).toBe(-1); // GNTST_general_error: 5 > 4 frames
    expect(new Int16Array(peek(r.d, at(0x6c), 2).buffer)[0]).toBe(-2); // GNTST_bad_domain
  });
});

describe('memory_op', () => {
  it('current/maximum_reservation, decrease_reservation and populate_physmap (ballooning); errors', async () => {
    const resv = (extents: bigint, nr: number, order = 0, domid = SELF) => struct(32, [[0, 8, extents], [8, 8, nr], [16, 4, order], [24, 2, domid]]);
    const r = await runSteps([
      hc(12, 3, at(0)), hc(12, 4, at(0)), hc(12, 1, at(0x10)), hc(12, 3, at(0)), hc(12, 1, at(0x10)),
      hc(12, 1, at(0x30)), hc(12, 6, at(0x10)), hc(12, 3, at(0)), hc(12, 6, at(0x10)),
      hc(12, 1, at(0x50)), hc(12, 1, at(0x70)), hc(12, 1, at(0x90)), hc(12, 3, 0x1000), hc(12, 99, at(0)),
      hc(12, 1, at(0xb0)), hc(12, 1, at(0xd0)), hc(12, 3, at(2)), hc(12, 3, at(4)),
      hc(12, 1 | (1 << 6), at(0x10)), hc(12, 3, at(0)),
    ], [
      { at: at(0), bytes: struct(6, [[0, 2, SELF], [2, 2, 5], [4, 2, 0]]) },
      { at: at(0x10), bytes: resv(at(0x100), 2) },
      { at: at(0x30), bytes: resv(at(0x120), 1) }, // the shared-info frame
      { at: at(0x50), bytes: resv(at(0x100), 2, 0, 5) }, // no domain 5
      { at: at(0x70), bytes: resv(at(0x100), 2, 0, 0) }, // Dom0: not ours
      { at: at(0x90), bytes: resv(at(0x100), 2, 1) }, // order 1
      { at: at(0xb0), bytes: resv(0x1000n, 1) }, // extent array not in RAM
      { at: at(0xd0), bytes: resv(at(0x128), 1) }, // gfn beyond RAM
      { at: at(0x100), bytes: struct(16, [[0, 8, 0x80400], [8, 8, 0x80401]]) },
      { at: at(0x120), bytes: struct(16, [[0, 8, 0x80fff], [8, 8, 0x90000]]) },
    ]);
    expect(r.results).toEqual([
      4096, 4096, 2, 4094, 0,
      0, 2, 4096, 0,
      ESRCH, EPERM, 0, EFAULT, ENOSYS,
      0, 0, ESRCH, EPERM,
      2, 4095,
    ]);
    // The continuation (start extent 1) ballooned out 0x80401 only: unmapped, its frame freed.
    const vm = r.d.vm;
    expect([vm.isBallooned(0x80400000n), vm.isBallooned(0x80401000n), vm.balloonedPages]).toEqual([false, true, 1]);
    expect(vm.gstage.lookup(0x80401000n)).toBeUndefined();
    expect(vm.isGuestRam(0x80401000n)).toBe(false);
    expect(vm.frames.counters().freed).toBe(1); // 0x80400/1 were never touched before the first decrease
  });

  it('a guest that touches a ballooned-out page gets an access fault, like a hole in its map', async () => {
    const r = await runSteps([
      hc(12, 1, at(0x10)),
      { asm: (a) => a.li64(T0, 0x80400000n).emit(E.load('ld', T1, T0, 0)) }, // must not populate the page
    ], [{ at: at(0x10), bytes: struct(32, [[0, 8, at(0x100)], [8, 8, 1], [24, 2, SELF]]) }, { at: at(0x100), bytes: struct(8, [[0, 8, 0x80400]]) }]);
    expect(r.results).toEqual([1]);
    // The load access fault (cause 5) went to the guest's vector (0: this guest has none, so
    // its next fetch stops the VM, a failure of that domain only).
    expect([r.d.vm.vmcs.vscause, r.d.vm.vmcs.vstval]).toEqual([5n, 0x80400000n]);
    expect(r.failure).toMatch(/instruction fetch from guest-physical 0x0, which is not RAM/);
    expect(r.d.vm.isPopulated(0x80400000n)).toBe(false);
    expect(r.d.vm.isBallooned(0x80400000n)).toBe(true);
  });
});
