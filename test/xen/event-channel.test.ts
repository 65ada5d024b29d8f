import { beforeEach, describe, expect, it } from 'vitest';
import { XEN_EEXIST, XEN_EFAULT, XEN_EINVAL, XEN_ENOENT, XEN_ENOSPC, XEN_ENOSYS, XEN_EPERM, XEN_ESRCH } from '../../host/xen/errno';
import { EventChannels } from '../../host/xen/event-channel';
import * as H from '../../host/xen/hypercall-abi';
import { SharedInfoPage } from '../../host/xen/shared-info';
import { RAM_GFN, TestMemory } from './memory';

const SI = RAM_GFN + 7n;
const ARG = 0x80001000n; // a scratch frame for hypercall arguments

interface Dom { mem: TestMemory; si: SharedInfoPage }

let upcalls: [number, number][];
let ev: EventChannels;
let d1: Dom;
let d2: Dom;

function dom(domid: number, opts: { maxPorts?: number; vcpus?: number; privileged?: boolean } = {}): Dom {
  const mem = new TestMemory(domid, 8);
  const si = new SharedInfoPage(mem, SI, opts.vcpus ?? 2);
  ev.addDomain({ domid, sharedInfo: si, maxPorts: opts.maxPorts, privileged: opts.privileged });
  return { mem, si };
}

beforeEach(() => {
  upcalls = [];
  ev = new EventChannels((d, v) => upcalls.push([d, v]));
  d1 = dom(1);
  d2 = dom(2);
});

/** Connect d1:a <-> d2:b (d1 allocates for d2, d2 binds). */
function connect(): [number, number] {
  const a = ev.allocUnbound(1, H.DOMID_SELF, 2);
  const b = ev.bindInterdomain(2, 1, a);
  return [a, b];
}

describe('alloc_unbound', () => {
  it('allocates the lowest free port, waiting for the named domain', () => {
    expect(ev.allocUnbound(1, H.DOMID_SELF, 2)).toBe(1);
    expect(ev.allocUnbound(1, 1, H.DOMID_SELF)).toBe(2);
    expect(ev.status(1, H.DOMID_SELF, 1)).toEqual({ rc: 0, status: H.EVTCHNSTAT_unbound, vcpu: 0, dom: 2, port: 0, virq: 0 });
    expect(ev.status(1, H.DOMID_SELF, 2).dom).toBe(1); // DOMID_SELF as remote = the caller
  });

  it('errors: no such domain, another domain unprivileged, table full', () => {
    expect(ev.allocUnbound(1, 9, 2)).toBe(-XEN_ESRCH);
    expect(ev.allocUnbound(9, H.DOMID_SELF, 2)).toBe(-XEN_ESRCH);
    expect(ev.allocUnbound(1, 2, 1)).toBe(-XEN_EPERM);
    dom(3, { maxPorts: 3 });
    expect(ev.allocUnbound(3, H.DOMID_SELF, 0)).toBe(1);
    expect(ev.allocUnbound(3, H.DOMID_SELF, 0)).toBe(2);
    expect(ev.allocUnbound(3, H.DOMID_SELF, 0)).toBe(-XEN_ENOSPC);
  });

  it('the host (privileged) may allocate in a DomU, for itself', () => {
    expect(ev.allocUnbound(0, 1, 0)).toBe(1);
    expect(ev.status(1, H.DOMID_SELF, 1)).toMatchObject({ rc: 0, status: H.EVTCHNSTAT_unbound, dom: 0 });
  });
});

describe('bind_interdomain', () => {
  it('joins both ends and marks the new local port pending (upcall to its vCPU 0)', () => {
    const [a, b] = connect();
    expect([a, b]).toEqual([1, 1]);
    expect(ev.status(1, H.DOMID_SELF, a)).toEqual({ rc: 0, status: H.EVTCHNSTAT_interdomain, vcpu: 0, dom: 2, port: b, virq: 0 });
    expect(ev.status(2, H.DOMID_SELF, b)).toEqual({ rc: 0, status: H.EVTCHNSTAT_interdomain, vcpu: 0, dom: 1, port: a, virq: 0 });
    expect(d2.si.isPending(b)).toBe(true);
    expect(d1.si.isPending(a)).toBe(false);
    expect(upcalls).toEqual([[2, 0]]);
  });

  it('errors: no such domain, port out of range, not unbound, unbound for someone else, full', () => {
    expect(ev.bindInterdomain(2, 7, 1)).toBe(-XEN_ESRCH);
    expect(ev.bindInterdomain(7, 1, 1)).toBe(-XEN_ESRCH);
    expect(ev.bindInterdomain(2, 1, 1024)).toBe(-XEN_EINVAL);
    expect(ev.bindInterdomain(2, 1, -1)).toBe(-XEN_EINVAL);
    expect(ev.bindInterdomain(2, 1, 5)).toBe(-XEN_EINVAL); // free
    expect(ev.bindInterdomain(2, 1, 0)).toBe(-XEN_EINVAL); // reserved
    const p = ev.allocUnbound(1, H.DOMID_SELF, 3);
    expect(ev.bindInterdomain(2, 1, p)).toBe(-XEN_EINVAL); // waits for d3
    const [a] = connect();
    expect(ev.bindInterdomain(2, 1, a)).toBe(-XEN_EINVAL); // already bound
    dom(4, { maxPorts: 2 });
    ev.allocUnbound(4, H.DOMID_SELF, 1);
    const q = ev.allocUnbound(1, H.DOMID_SELF, 4);
    expect(ev.bindInterdomain(4, 1, q)).toBe(-XEN_ENOSPC);
    // failed binds leave no trace
    expect(ev.status(2, H.DOMID_SELF, 2).status).toBe(H.EVTCHNSTAT_closed);
  });
});

describe('send', () => {
  it('interdomain: remote pending, selector, upcall_pending; onUpcall once per edge', () => {
    const [a, b] = connect();
    upcalls = [];
    d2.mem.poke(SI, 0, [0]); // guest handled the bind notification
    d2.mem.poke(SI, 8, [0]);
    d2.si.clearPending(b);
    expect(ev.send(1, a)).toBe(0);
    expect(d2.si.isPending(b)).toBe(true);
    expect(d2.si.pendingSel(0)).toBe(1n);
    expect(d2.si.upcallPending(0)).toBe(true);
    expect(upcalls).toEqual([[2, 0]]);
    expect(ev.send(1, a)).toBe(0);
    expect(upcalls).toHaveLength(1);
    expect(ev.send(2, b)).toBe(0);
    expect(d1.si.isPending(a)).toBe(true);
    expect(upcalls).toEqual([[2, 0], [1, 0]]);
  });

  it('masked remote port: pending without upcall', () => {
    const a = ev.allocUnbound(1, H.DOMID_SELF, 2);
    d2.si.setMasked(1, true);
    const b = ev.bindInterdomain(2, 1, a);
    expect(upcalls).toEqual([]);
    expect(ev.send(1, a)).toBe(0);
    expect(d2.si.isPending(b)).toBe(true);
    expect(d2.si.upcallPending(0)).toBe(false);
    expect(upcalls).toEqual([]);
  });

  it('unbound: dropped silently; free, reserved, virq or out of range: -EINVAL', () => {
    const p = ev.allocUnbound(1, H.DOMID_SELF, 2);
    expect(ev.send(1, p)).toBe(0);
    expect(d1.si.isPending(p)).toBe(false);
    expect(d2.mem.peek(SI, 0x800, 512).every((x) => x === 0)).toBe(true);
    expect(ev.send(1, 9)).toBe(-XEN_EINVAL);
    expect(ev.send(1, 0)).toBe(-XEN_EINVAL);
    expect(ev.send(1, 1024)).toBe(-XEN_EINVAL);
    expect(ev.send(1, 1.5)).toBe(-XEN_EINVAL);
    const v = ev.bindVirq(1, H.VIRQ_TIMER, 0);
    expect(ev.send(1, v)).toBe(-XEN_EINVAL);
    expect(ev.send(9, 1)).toBe(-XEN_ESRCH);
    expect(upcalls).toEqual([]);
  });
});

describe('close', () => {
  it('interdomain: the peer goes back to unbound waiting for the closer; pending bit cleared', () => {
    const [a, b] = connect();
    expect(ev.send(2, b)).toBe(0);
    expect(d1.si.isPending(a)).toBe(true);
    expect(ev.close(1, a)).toBe(0);
    expect(d1.si.isPending(a)).toBe(false);
    expect(ev.status(1, H.DOMID_SELF, a).status).toBe(H.EVTCHNSTAT_closed);
    expect(ev.status(2, H.DOMID_SELF, b)).toMatchObject({ status: H.EVTCHNSTAT_unbound, dom: 1, port: 0 });
    expect(ev.send(2, b)).toBe(0); // dropped now
    // d1 may bind to it again
    expect(ev.bindInterdomain(1, 2, b)).toBe(a);
  });

  it('errors: free, reserved, out of range', () => {
    expect(ev.close(1, 3)).toBe(-XEN_EINVAL);
    expect(ev.close(1, 0)).toBe(-XEN_EINVAL);
    expect(ev.close(1, 4096)).toBe(-XEN_EINVAL);
    expect(ev.close(9, 1)).toBe(-XEN_ESRCH);
  });

  it('virq: frees the binding so it can be bound again', () => {
    const p = ev.bindVirq(1, H.VIRQ_CONSOLE, 0);
    expect(ev.close(1, p)).toBe(0);
    expect(ev.raiseVirq(1, H.VIRQ_CONSOLE)).toBe(false);
    expect(ev.bindVirq(1, H.VIRQ_CONSOLE, 0)).toBe(p);
  });
});

describe('bind_virq and raiseVirq', () => {
  it('binds per-vCPU and global virqs; raising marks the port pending on its vCPU', () => {
    const t1 = ev.bindVirq(1, H.VIRQ_TIMER, 1);
    const t0 = ev.bindVirq(1, H.VIRQ_TIMER, 0);
    const c = ev.bindVirq(1, H.VIRQ_CONSOLE, 0);
    expect([t1, t0, c]).toEqual([1, 2, 3]);
    expect(ev.status(1, H.DOMID_SELF, t1)).toEqual({ rc: 0, status: H.EVTCHNSTAT_virq, vcpu: 1, dom: 0, port: 0, virq: H.VIRQ_TIMER });
    expect(ev.raiseVirq(1, H.VIRQ_TIMER, 1)).toBe(true);
    expect(d1.si.isPending(t1)).toBe(true);
    expect(d1.si.isPending(t0)).toBe(false);
    expect(upcalls).toEqual([[1, 1]]);
    expect(ev.raiseVirq(1, H.VIRQ_CONSOLE, 1)).toBe(true); // global: always vCPU 0
    expect(d1.si.isPending(c)).toBe(true);
    expect(upcalls).toEqual([[1, 1], [1, 0]]);
    expect(ev.raiseVirq(1, H.VIRQ_DEBUG, 0)).toBe(false);
    expect(ev.raiseVirq(1, 99, 0)).toBe(false);
    expect(ev.raiseVirq(1, H.VIRQ_TIMER, 5)).toBe(false);
    expect(ev.raiseVirq(9, H.VIRQ_TIMER, 0)).toBe(false);
  });

  it('errors: bad virq, global virq on vCPU 1, no such vCPU, already bound, full', () => {
    expect(ev.bindVirq(1, H.NR_VIRQS, 0)).toBe(-XEN_EINVAL);
    expect(ev.bindVirq(1, -1, 0)).toBe(-XEN_EINVAL);
    expect(ev.bindVirq(1, H.VIRQ_DOM_EXC, 1)).toBe(-XEN_EINVAL);
    expect(ev.bindVirq(1, H.VIRQ_TIMER, 2)).toBe(-XEN_ENOENT);
    expect(ev.bindVirq(1, H.VIRQ_TIMER, -1)).toBe(-XEN_ENOENT);
    expect(ev.bindVirq(1, H.VIRQ_TIMER, 0)).toBe(1);
    expect(ev.bindVirq(1, H.VIRQ_TIMER, 0)).toBe(-XEN_EEXIST);
    dom(5, { maxPorts: 2 });
    expect(ev.bindVirq(5, H.VIRQ_TIMER, 0)).toBe(1);
    expect(ev.bindVirq(5, H.VIRQ_DEBUG, 0)).toBe(-XEN_ENOSPC);
  });
});

describe('status', () => {
  it('closed, reserved and errors', () => {
    expect(ev.status(1, H.DOMID_SELF, 0)).toEqual({ rc: 0, status: H.EVTCHNSTAT_closed, vcpu: 0, dom: 0, port: 0, virq: 0 });
    expect(ev.status(1, H.DOMID_SELF, 1023).status).toBe(H.EVTCHNSTAT_closed);
    expect(ev.status(1, H.DOMID_SELF, 1024).rc).toBe(-XEN_EINVAL);
    expect(ev.status(1, 2, 1).rc).toBe(-XEN_EPERM);
    expect(ev.status(1, 8, 1).rc).toBe(-XEN_ESRCH);
    expect(ev.status(0, 2, 1).rc).toBe(0); // the host is privileged
  });
});

describe('unmask', () => {
  it('delivers a pending masked port to the port\'s vCPU', () => {
    const t = ev.bindVirq(1, H.VIRQ_TIMER, 1);
    d1.si.setMasked(t, true);
    ev.raiseVirq(1, H.VIRQ_TIMER, 1);
    expect(upcalls).toEqual([]);
    expect(ev.unmask(1, t)).toBe(0);
    expect(upcalls).toEqual([[1, 1]]);
    expect(d1.si.pendingSel(1)).toBe(1n);
    expect(ev.unmask(1, t)).toBe(0);
    expect(upcalls).toHaveLength(1);
  });

  it('errors: out of range', () => {
    expect(ev.unmask(1, 1024)).toBe(-XEN_EINVAL);
    expect(ev.unmask(9, 1)).toBe(-XEN_ESRCH);
    expect(ev.unmask(1, 5)).toBe(0); // a free port: Xen only needs it in range
  });
});

describe('host (Dom0 backend) ports', () => {
  it('binds to a DomU\'s unbound port, gets its notifications and notifies it', () => {
    const calls: number[] = [];
    const guestPort = ev.allocUnbound(1, H.DOMID_SELF, 0);
    const hp = ev.hostBindInterdomain(1, guestPort, (p) => calls.push(p));
    expect(hp).toBe(1);
    expect(calls).toEqual([1]); // the bind's own notification, as Xen does
    expect(ev.send(1, guestPort)).toBe(0);
    expect(calls).toEqual([1, 1]);
    expect(ev.hostNotify(hp)).toBe(0);
    expect(d1.si.isPending(guestPort)).toBe(true);
    expect(upcalls).toEqual([[1, 0]]);
    expect(ev.status(1, H.DOMID_SELF, guestPort)).toMatchObject({ status: H.EVTCHNSTAT_interdomain, dom: 0, port: hp });
    expect(ev.hostClose(hp)).toBe(0);
    expect(ev.status(1, H.DOMID_SELF, guestPort)).toMatchObject({ status: H.EVTCHNSTAT_unbound, dom: 0 });
    expect(ev.send(1, guestPort)).toBe(0);
    expect(calls).toHaveLength(2);
    expect(ev.hostNotify(hp)).toBe(-XEN_EINVAL);
    expect(ev.hostClose(hp)).toBe(-XEN_EINVAL);
  });

  it('a failed bind registers nothing', () => {
    const calls: number[] = [];
    const p = ev.allocUnbound(1, H.DOMID_SELF, 2); // for d2, not the host
    expect(ev.hostBindInterdomain(1, p, (x) => calls.push(x))).toBe(-XEN_EINVAL);
    expect(ev.hostBindInterdomain(9, 1, (x) => calls.push(x))).toBe(-XEN_ESRCH);
    const q = ev.allocUnbound(1, H.DOMID_SELF, 0);
    expect(ev.hostBindInterdomain(1, q, (x) => calls.push(x))).toBe(1);
    expect(calls).toEqual([1]);
  });

  it('allocates an unbound host port a DomU binds to', () => {
    const calls: number[] = [];
    const hp = ev.hostAllocUnbound(2, (p) => calls.push(p));
    expect(hp).toBe(1);
    const gp = ev.bindInterdomain(2, 0, hp);
    expect(gp).toBe(1);
    expect(d2.si.isPending(gp)).toBe(true);
    expect(ev.send(2, gp)).toBe(0);
    expect(calls).toEqual([hp]);
    expect(ev.hostAllocUnbound(77, () => {})).toBe(2); // Xen does not check the remote at alloc time
  });

  it('setHostHandler replaces the handler; -EINVAL on a free port', () => {
    const calls: string[] = [];
    const hp = ev.hostAllocUnbound(2, () => calls.push('old'));
    expect(ev.setHostHandler(hp, () => calls.push('new'))).toBe(0);
    const gp = ev.bindInterdomain(2, 0, hp);
    ev.send(2, gp);
    expect(calls).toEqual(['new']);
    expect(ev.setHostHandler(50, () => {})).toBe(-XEN_EINVAL);
    expect(ev.setHostHandler(0, () => {})).toBe(-XEN_EINVAL);
  });
});

describe('domains', () => {
  it('removeDomain closes its ports: peers become unbound waiting for it', () => {
    const [, b] = connect();
    ev.removeDomain(1);
    expect(ev.hasDomain(1)).toBe(false);
    expect(ev.status(2, H.DOMID_SELF, b)).toMatchObject({ status: H.EVTCHNSTAT_unbound, dom: 1 });
    expect(ev.send(2, b)).toBe(0);
    ev.removeDomain(0); // the host stays
    expect(ev.hasDomain(0)).toBe(true);
  });

  it('addDomain refuses duplicates and bad sizes', () => {
    expect(() => dom(1)).toThrow(/already exists/);
    expect(() => dom(6, { maxPorts: 4097 })).toThrow(RangeError);
    expect(() => dom(6, { maxPorts: 1 })).toThrow(RangeError);
    expect(() => dom(0x7ff0)).toThrow(RangeError);
  });
});

describe('hypercall (struct layouts)', () => {
  const put = (d: Dom, bytes: number[]) => d.mem.poke(RAM_GFN + 1n, 0, bytes);
  const get = (d: Dom, n: number) => [...d.mem.peek(RAM_GFN + 1n, 0, n)];

  it('alloc_unbound writes port at +4', () => {
    put(d1, [0xf0, 0x7f, 2, 0, 0xee, 0xee, 0xee, 0xee]);
    expect(ev.hypercall(1, H.EVTCHNOP_alloc_unbound, ARG)).toBe(0);
    expect(get(d1, 8)).toEqual([0xf0, 0x7f, 2, 0, 1, 0, 0, 0]);
  });

  it('bind_interdomain writes local_port at +8; errors leave the struct alone', () => {
    ev.allocUnbound(1, H.DOMID_SELF, 2);
    put(d2, [1, 0, 0, 0, 1, 0, 0, 0, 0xee, 0xee, 0xee, 0xee]);
    expect(ev.hypercall(2, H.EVTCHNOP_bind_interdomain, ARG)).toBe(0);
    expect(get(d2, 12)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    put(d2, [1, 0, 0, 0, 9, 0, 0, 0, 0xee, 0xee, 0xee, 0xee]);
    expect(ev.hypercall(2, H.EVTCHNOP_bind_interdomain, ARG)).toBe(-XEN_EINVAL);
    expect(get(d2, 12)).toEqual([1, 0, 0, 0, 9, 0, 0, 0, 0xee, 0xee, 0xee, 0xee]);
  });

  it('bind_virq, send, unmask, close', () => {
    put(d1, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(ev.hypercall(1, H.EVTCHNOP_bind_virq, ARG)).toBe(0);
    expect(get(d1, 12)).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    put(d1, [1, 0, 0, 0]);
    expect(ev.hypercall(1, H.EVTCHNOP_send, ARG)).toBe(-XEN_EINVAL);
    expect(ev.hypercall(1, H.EVTCHNOP_unmask, ARG)).toBe(0);
    expect(ev.hypercall(1, H.EVTCHNOP_close, ARG)).toBe(0);
    expect(ev.hypercall(1, H.EVTCHNOP_close, ARG)).toBe(-XEN_EINVAL);
  });

  it('status fills status, vcpu and the union', () => {
    const [a, b] = connect();
    put(d1, [0xf0, 0x7f, 0, 0, a, 0, 0, 0, ...new Array(16).fill(0xee)]);
    expect(ev.hypercall(1, H.EVTCHNOP_status, ARG)).toBe(0);
    expect(get(d1, 24)).toEqual([0xf0, 0x7f, 0, 0, a, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b, 0, 0, 0]);
    ev.bindVirq(1, H.VIRQ_CONSOLE, 0); // port 2
    put(d1, [0xf0, 0x7f, 0, 0, 2, 0, 0, 0, ...new Array(16).fill(0xee)]);
    expect(ev.hypercall(1, H.EVTCHNOP_status, ARG)).toBe(0);
    expect(get(d1, 24)).toEqual([0xf0, 0x7f, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    put(d1, [2, 0, 0, 0, 1, 0, 0, 0]);
    expect(ev.hypercall(1, H.EVTCHNOP_status, ARG)).toBe(-XEN_EPERM);
  });

  it('-EFAULT outside RAM or across into a missing frame; -ENOSYS for other ops', () => {
    expect(ev.hypercall(1, H.EVTCHNOP_send, 0x1000n)).toBe(-XEN_EFAULT);
    expect(ev.hypercall(1, H.EVTCHNOP_status, 0x80007ff0n)).toBe(-XEN_EFAULT); // runs off the last frame
    expect(ev.hypercall(1, H.EVTCHNOP_bind_ipi, ARG)).toBe(-XEN_ENOSYS);
    expect(ev.hypercall(1, 99, ARG)).toBe(-XEN_ENOSYS);
    expect(ev.hypercall(0, H.EVTCHNOP_send, ARG)).toBe(-XEN_ESRCH); // the host makes no hypercalls
  });
});

describe('snapshot / restore', () => {
  it('round-trips every port state; host handlers are re-attached', () => {
    const [a, b] = connect();
    const v = ev.bindVirq(2, H.VIRQ_TIMER, 1);
    const u = ev.allocUnbound(1, H.DOMID_SELF, 2);
    const gp = ev.allocUnbound(1, H.DOMID_SELF, 0);
    const hp = ev.hostBindInterdomain(1, gp, () => {});
    const snap = JSON.parse(JSON.stringify(ev.snapshot()));

    const ev2 = new EventChannels((d, c) => upcalls.push([d, c]));
    ev2.addDomain({ domid: 1, sharedInfo: d1.si });
    ev2.addDomain({ domid: 2, sharedInfo: d2.si });
    ev2.restore(snap);
    expect(ev2.snapshot()).toEqual(snap);
    for (const [d, p] of [[1, a], [2, b], [2, v], [1, u], [1, gp]]) expect(ev2.status(0, d, p)).toEqual(ev.status(0, d, p));
    expect(ev2.bindVirq(2, H.VIRQ_TIMER, 1)).toBe(-XEN_EEXIST);
    const calls: number[] = [];
    expect(ev2.setHostHandler(hp, (p) => calls.push(p))).toBe(0);
    ev2.send(1, gp);
    expect(calls).toEqual([hp]);
  });

  it('refuses a snapshot for domains that were not added', () => {
    connect();
    const ev2 = new EventChannels(() => {});
    expect(() => ev2.restore(ev.snapshot())).toThrow(/not added/);
  });
});
