/**
 * The hypercall dispatcher: what a DomU's `ecall` with a7 = XEN_SBI_EID reaches (through
 * Vm.sbiExtensions and host/vmm/sbi.ts). The register convention follows Xen on Arm, moved to
 * RISC-V registers:
 *
 *   a7 = XEN_SBI_EID (0x0958454e)   a6 = hypercall number (xen.h __HYPERVISOR_*)
 *   a0..a4 = arguments (guest-physical pointers for structures)
 *   a0 <- result: >= 0 on success, a negated errno.ts value on failure; nothing else changes
 *
 * Every guest pointer is checked frame by frame against the domain's RAM before one byte is
 * copied (rangeInDomain), each structure is copied in once, and every loop is bounded by the
 * domain's size or a fixed cap, so nothing a guest passes can make this throw, hang, or reach
 * memory that is not its own. docs/xen/hypercalls.md is the reference for each call.
 */
import { PageNotHere } from '../machine/missing-pages';
import { XEN_EFAULT, XEN_EINVAL, XEN_ENOSYS, XEN_EPERM, XEN_ESRCH } from './errno';
import * as H from './hypercall-abi';
import * as O from './ops-abi';
import { gpaOf, rangeInDomain, readGuest, writeGuest, FRAME_SHIFT } from './domain-memory';
import type { EventChannels } from './event-channel';
import type { GrantTables } from './grant-table';
import type { XenDomain } from './domain';
import { VCPU_INFO_UPCALL_MASK } from './shared-info';
import type { SbiOutcome, SbiVcpu } from '../vmm/sbi';
import { HVIP_VSEIP } from '../vmm/vm';

/** What the dispatcher needs of the hypervisor. */
export interface HypercallContext {
  readonly evtchn: EventChannels;
  readonly grants: GrantTables;
  /** Whether a domain with this id exists. */
  hasDomain(domid: number): boolean;
}

const CONTINUE: SbiOutcome = { kind: 'continue' };
/** Wait for an interrupt, then continue after the ecall with a0 as written (SCHEDOP_block). */
const BLOCK: SbiOutcome = { kind: 'suspend', retentive: true, resumeAddr: 0n, opaque: 0n };
const PAGE = 4096;
/** Register a0 (x10): the first argument and the result. */
const A0_REG = 10;

/** Argument register i (a0..a4) as a u64. */
const arg = (v: SbiVcpu, i: number): bigint => v.x(A0_REG + i);
/** The low 32 bits of argument i (an `unsigned int` or `int` argument). */
const arg32 = (v: SbiVcpu, i: number): number => v.xLow32(A0_REG + i);

/**
 * Handle hypercall `nr` of domain `d` with the registers of `v`: writes a0 and returns what
 * the vCPU does next (continue, shut down, or block until an upcall).
 */
export function xenHypercall(ctx: HypercallContext, d: XenDomain, v: SbiVcpu, nr: number): SbiOutcome {
  // Post-copy migration (host/migrate/domain-target.ts): while pages are still arriving, a
  // hypercall waits for every one before it runs (the vCPU repeats the ecall then), as a VM's
  // access to a virtio device does: a notification runs a Dom0 backend, which may read or write
  // any page the domain granted, and no hypercall is undone halfway through if a page is missing.
  if (d.vm.missingPages !== undefined) throw new PageNotHere(undefined);
  const key = O.HYPERCALL_NAMES.has(nr) ? nr : O.HYPERCALL_OTHER;
  d.hypercalls.set(key, (d.hypercalls.get(key) ?? 0) + 1);
  d.pollTimer();
  let rc: number;
  let outcome = CONTINUE;
  switch (nr) {
    case H.HYPERVISOR_console_io:
      rc = consoleIo(d, arg32(v, 0), arg32(v, 1), arg(v, 2));
      break;
    case H.HYPERVISOR_sched_op: {
      const r = schedOp(ctx, d, arg32(v, 0), arg(v, 1));
      rc = r.rc;
      outcome = r.outcome;
      break;
    }
    case H.HYPERVISOR_event_channel_op:
      rc = ctx.evtchn.hypercall(d.domid, arg32(v, 0), arg(v, 1));
      break;
    case H.HYPERVISOR_grant_table_op:
      rc = ctx.grants.hypercall(d.domid, arg32(v, 0), arg(v, 1), arg32(v, 2));
      break;
    case H.HYPERVISOR_memory_op:
      rc = memoryOp(ctx, d, arg(v, 0), arg(v, 1));
      break;
    case H.HYPERVISOR_set_timer_op:
      d.setTimer(arg(v, 0));
      rc = 0;
      break;
    case H.HYPERVISOR_xen_version:
      rc = xenVersion(d, arg32(v, 0), arg(v, 1));
      break;
    default:
      rc = -XEN_ENOSYS;
  }
  v.setXNumber(A0_REG, rc);
  // Re-evaluate the upcall line at every hypercall (domain.ts): this is how a guest that has
  // cleared evtchn_upcall_pending (or set the mask) drops it, and how clearing the mask raises it.
  d.updateUpcallLine();
  return outcome;
}

// ---- console_io ----

function consoleIo(d: XenDomain, cmd: number, count: number, buffer: bigint): number {
  if (cmd === O.CONSOLEIO_read) return -XEN_EPERM; // Dom0's; a DomU reads its PV console ring
  if (cmd !== O.CONSOLEIO_write) return -XEN_ENOSYS;
  if (count > O.CONSOLEIO_WRITE_MAX) return -XEN_EINVAL;
  if (!rangeInDomain(d.memory, buffer, count)) return -XEN_EFAULT;
  if (count > 0) d.consoleWrite(readGuest(d.memory, buffer, count));
  return 0;
}

// ---- sched_op ----

function schedOp(ctx: HypercallContext, d: XenDomain, cmd: number, argp: bigint): { rc: number; outcome: SbiOutcome } {
  const done = (rc: number) => ({ rc, outcome: CONTINUE });
  switch (cmd) {
    case O.SCHEDOP_yield:
      return done(0);
    case O.SCHEDOP_block:
      return block(d);
    case O.SCHEDOP_shutdown: {
      if (!rangeInDomain(d.memory, argp, O.SCHED_SHUTDOWN_SIZE)) return done(-XEN_EFAULT);
      const b = readGuest(d.memory, argp, O.SCHED_SHUTDOWN_SIZE);
      const reason = new DataView(b.buffer).getUint32(0, true);
      const how = SHUTDOWNS.get(reason);
      if (how === undefined) return done(reason === O.SHUTDOWN_suspend || reason === O.SHUTDOWN_soft_reset ? -XEN_ENOSYS : -XEN_EINVAL);
      d.shutdownReason = how.reason;
      d.cancelTimer();
      return { rc: 0, outcome: { kind: 'shutdown', code: how.code } };
    }
    case O.SCHEDOP_poll:
      return poll(ctx, d, argp);
    case O.SCHEDOP_remote_shutdown:
      return done(-XEN_EPERM);
  }
  return done(-XEN_ENOSYS);
}

/** Shutdown reasons we accept and the exit code each gives the run. */
const SHUTDOWNS = new Map<number, { reason: 'poweroff' | 'reboot' | 'crash' | 'watchdog'; code: number }>([
  [O.SHUTDOWN_poweroff, { reason: 'poweroff', code: 0 }],
  [O.SHUTDOWN_reboot, { reason: 'reboot', code: 0 }],
  [O.SHUTDOWN_crash, { reason: 'crash', code: 1 }],
  [O.SHUTDOWN_watchdog, { reason: 'watchdog', code: 1 }],
]);

/**
 * SCHEDOP_block: enable event delivery (clear evtchn_upcall_mask, as Xen's
 * local_event_delivery_enable), return at once if an upcall is pending, else halt the vCPU
 * until one is (the vCPU wakes on hvip & hie, so the guest must have sie.SEIE set: without it
 * the block could never end, and the call fails with -EINVAL instead).
 */
function block(d: XenDomain): { rc: number; outcome: SbiOutcome } {
  const si = d.sharedInfo;
  if (si.present) d.memory.write(gpaOf(si.gfn, VCPU_INFO_UPCALL_MASK), Uint8Array.of(0));
  d.updateUpcallLine();
  if (d.upcallLine) return { rc: 0, outcome: CONTINUE };
  if ((d.vm.vmcs.hie & HVIP_VSEIP) === 0n) return { rc: -XEN_EINVAL, outcome: CONTINUE };
  if (d.vm.cfg.deterministic && d.skipToTimer()) {
    d.updateUpcallLine();
    if (d.upcallLine) return { rc: 0, outcome: CONTINUE };
  }
  return { rc: 0, outcome: BLOCK };
}

/**
 * SCHEDOP_poll(struct sched_poll *): Xen's do_poll (common/sched/core.c), check by check:
 *   1. the structure cannot be read: -EFAULT; nr_ports > 128: -EINVAL;
 *   2. an upcall is deliverable (local_events_need_delivery: the upcall line): 0 at once,
 *      before any port is looked at;
 *   3. each port in turn (guest_handle_okay is always true on Arm and RISC-V, so a bad array
 *      faults at the first port it cannot read): unreadable -EFAULT; out of the table, free or
 *      reserved -EINVAL (evtchn_port_poll); pending, masked or not: 0 at once;
 *   4. a timeout already past (or negative as Xen's signed s_time_t) ends the poll at once: 0;
 *   5. else the vCPU blocks (XenDomain.beginPoll says what ends it) and the call returns 0.
 * A poll with no ports and no timeout ends only when an event kicks the vCPU.
 */
function poll(ctx: HypercallContext, d: XenDomain, argp: bigint): { rc: number; outcome: SbiOutcome } {
  const done = (rc: number) => ({ rc, outcome: CONTINUE });
  if (!rangeInDomain(d.memory, argp, O.SCHED_POLL_SIZE)) return done(-XEN_EFAULT);
  const dv = new DataView(readGuest(d.memory, argp, O.SCHED_POLL_SIZE).buffer);
  const ports = dv.getBigUint64(O.SCHED_POLL_PORTS, true);
  const n = dv.getUint32(O.SCHED_POLL_NR_PORTS, true);
  const timeout = dv.getBigUint64(O.SCHED_POLL_TIMEOUT, true);
  if (n > O.SCHED_POLL_MAX_PORTS) return done(-XEN_EINVAL);
  if (d.upcallLine) return done(0);
  let port = 0;
  for (let i = 0; i < n; i++) {
    const at = ports + BigInt(i * 4);
    if (!rangeInDomain(d.memory, at, 4)) return done(-XEN_EFAULT);
    port = new DataView(readGuest(d.memory, at, 4).buffer).getUint32(0, true);
    const rc = ctx.evtchn.portPoll(d.domid, port);
    if (rc !== 0) return done(rc < 0 ? rc : 0);
  }
  if (timeout !== 0n && BigInt.asIntN(64, timeout) <= d.systemTimeNs()) return done(0);
  const wake = d.beginPoll(n === 1 ? port : -1, timeout);
  return { rc: 0, outcome: { kind: 'suspend', retentive: true, resumeAddr: 0n, opaque: 0n, wake } };
}

// ---- memory_op ----

/** memory_op's cmd: the operation in the low bits, a continuation's start extent above them. */
const MEMOP_EXTENT_SHIFT = 6n;
const MEMOP_CMD_MASK = (1n << MEMOP_EXTENT_SHIFT) - 1n;

function memoryOp(ctx: HypercallContext, d: XenDomain, cmd: bigint, argp: bigint): number {
  const op = Number(cmd & MEMOP_CMD_MASK);
  const start = cmd >> MEMOP_EXTENT_SHIFT;
  switch (op) {
    case O.XENMEM_current_reservation:
    case O.XENMEM_maximum_reservation: {
      if (!rangeInDomain(d.memory, argp, 2)) return -XEN_EFAULT;
      const b = readGuest(d.memory, argp, 2);
      const who = resolveDomain(ctx, d, b[0] | (b[1] << 8));
      if (who !== 0) return who;
      const total = d.vm.cfg.memSize / PAGE;
      return op === O.XENMEM_maximum_reservation ? total : total - d.vm.balloonedPages;
    }
    case O.XENMEM_decrease_reservation:
    case O.XENMEM_populate_physmap:
      return reservation(ctx, d, op, start, argp);
  }
  return -XEN_ENOSYS;
}

/** 0 when `domid` is the caller (or DOMID_SELF); -ESRCH for no such domain; -EPERM for another. */
function resolveDomain(ctx: HypercallContext, d: XenDomain, domid: number): number {
  if (domid === H.DOMID_SELF || domid === d.domid) return 0;
  return ctx.hasDomain(domid) ? -XEN_EPERM : -XEN_ESRCH;
}

/**
 * decrease_reservation / populate_physmap on struct xen_memory_reservation at `argp`: one
 * extent (order 0: one 4 KiB frame) at a time, from `start`; returns how many are done in all,
 * stopping at the first that cannot be (Xen's rule, so the guest sees exactly which). The loop
 * ends within (frames of the domain + 1) steps: every success changes one frame's state one
 * way, and anything else stops it.
 */
function reservation(ctx: HypercallContext, d: XenDomain, op: number, start: bigint, argp: bigint): number {
  if (!rangeInDomain(d.memory, argp, O.XEN_MEMORY_RESERVATION_SIZE)) return -XEN_EFAULT;
  const b = readGuest(d.memory, argp, O.XEN_MEMORY_RESERVATION_SIZE);
  const dv = new DataView(b.buffer);
  const who = resolveDomain(ctx, d, dv.getUint16(O.XEN_MEMORY_RESERVATION_DOMID, true));
  if (who !== 0) return who;
  const extents = dv.getBigUint64(O.XEN_MEMORY_RESERVATION_EXTENT_START, true);
  const nr = dv.getBigUint64(O.XEN_MEMORY_RESERVATION_NR_EXTENTS, true);
  const order = dv.getUint32(O.XEN_MEMORY_RESERVATION_EXTENT_ORDER, true);
  const frames = BigInt(d.vm.cfg.memSize / PAGE);
  // Xen returns start_extent when there is nothing to do or the order is too large (ours is 0).
  if (start >= nr || order !== 0 || start > frames) return Number(start);
  let i = start;
  for (; i < nr && i <= start + frames; i++) {
    const at = extents + i * 8n;
    if (!rangeInDomain(d.memory, at, 8)) break;
    const e = readGuest(d.memory, at, 8);
    const gfn = new DataView(e.buffer).getBigUint64(0, true);
    if (gfn > (1n << 52n)) break;
    if (op === O.XENMEM_decrease_reservation) {
      if (d.isHypervisorFrame(gfn) || !d.vm.balloonOut(gfn << FRAME_SHIFT)) break;
    } else {
      try {
        if (!d.vm.balloonIn(gfn << FRAME_SHIFT)) break;
      } catch {
        break; // no host frame left (UserError): the extents done so far stand
      }
      // For a translated guest the array is IN and OUT: the gfn stays as given.
      writeGuest(d.memory, at, e);
    }
  }
  return Number(i);
}

// ---- xen_version ----

function xenVersion(d: XenDomain, cmd: number, argp: bigint): number {
  switch (cmd) {
    case O.XENVER_version:
      return (O.XEN_VERSION_MAJOR << 16) | O.XEN_VERSION_MINOR;
    case O.XENVER_extraversion: {
      if (!rangeInDomain(d.memory, argp, 16)) return -XEN_EFAULT;
      const s = new Uint8Array(16);
      s.set(new TextEncoder().encode(O.XEN_EXTRAVERSION));
      writeGuest(d.memory, argp, s);
      return 0;
    }
    case O.XENVER_get_features: {
      if (!rangeInDomain(d.memory, argp, O.XEN_FEATURE_INFO_SIZE)) return -XEN_EFAULT;
      const b = readGuest(d.memory, argp, O.XEN_FEATURE_INFO_SIZE);
      const dv = new DataView(b.buffer);
      if (dv.getUint32(O.XEN_FEATURE_INFO_SUBMAP_IDX, true) !== 0) return -XEN_EINVAL; // XENFEAT_NR_SUBMAPS = 1
      dv.setUint32(O.XEN_FEATURE_INFO_SUBMAP, O.XEN_FEATURES_SUBMAP0, true);
      writeGuest(d.memory, argp, b);
      return 0;
    }
    case O.XENVER_pagesize:
      return PAGE;
  }
  return -XEN_ENOSYS;
}
