/**
 * A XenDomain's vCPU as the credit scheduler drives it (SchedVcpu): slices are
 * `XenHypervisor.run(domid, limits)`, and blocking is seen in two ways:
 *
 *   - SCHEDOP_block and SCHEDOP_poll: the domain's hypercall entry (its vendor SBI extension) is
 *     wrapped; when a hypercall's outcome is to suspend the vCPU, the slice is ended at once
 *     (Vm.stop), so the host thread goes to another domain instead of sleeping in this one's
 *     run loop.
 *   - WFI: the run loop sleeps until the slice's limit; a slice that ended on its time limit
 *     after a halt exit, with no interrupt pending, counts as blocked.
 *
 *   - Post-copy migration (host/migrate/domain-target.ts): an exit that needs pages still on
 *     the source (a hypercall waits for all of them, a G-stage miss for its page) ends the
 *     slice instead of waiting in it (Vcpu.onPageWait); the vCPU is blocked until they are in,
 *     then repeats the exit. Only the migrating domain waits: the scheduler runs the others
 *     meanwhile, as Xen deschedules a vCPU waiting for a paged-out gfn (p2m_mem_paging).
 *
 * A blocked vCPU is wakeable when an interrupt it takes is pending: hvip's VSSIP/VSEIP (the
 * upcall line), or its Sstc timer due, under hie (the same test the run loop makes before
 * resuming; priv spec §8.2.4), or UART input is waiting, or, blocked in SCHEDOP_poll, when the
 * poll is over (a port it waits for, a kick, its timeout: XenDomain.beginPoll). Xen's one-shot
 * timer is polled first (XenDomain.pollTimer), so a due timer raises VIRQ_TIMER and with it the
 * upcall. A poll's timeout counts as a timer (hasTimer), so deterministic idle time jumps to it.
 */
import type { RunLimits } from '../../machine/types';
import type { SuspendWake } from '../../vmm/sbi';
import { XEN_SBI_EID } from '../ops-abi';
import type { XenDomain } from '../domain';
import type { XenHypervisor } from '../hypervisor';
import type { SchedVcpu, SliceResult } from './scheduler';

const VSSIP = 1n << 2n;
const VSTIP = 1n << 6n;
const VSEIP = 1n << 10n;
/** henvcfg.STCE: vstimecmp is live (Sstc). */
const STCE = 1n << 63n;
const NEVER = 0xffff_ffff_ffff_ffffn;

/** Make the SchedVcpu of domain `d` (call once per domain, after createDomain). */
export function xenSchedVcpu(hv: XenHypervisor, d: XenDomain): SchedVcpu {
  const vm = d.vm;
  let blockedInSlice = false;
  /** The SCHEDOP_poll the vCPU last blocked in (until it blocks another way). */
  let pollWake: SuspendWake | undefined;
  const inner = vm.sbiExtensions.get(XEN_SBI_EID);
  if (inner === undefined) throw new Error(`toolstack: d${d.domid} has no Xen hypercall entry`);
  vm.sbiExtensions.set(XEN_SBI_EID, {
    handle: (v, fid) => {
      const outcome = inner.handle(v, fid);
      if (outcome.kind === 'suspend') {
        blockedInSlice = true;
        pollWake = outcome.wake; // undefined for SCHEDOP_block
        vm.stop(); // the run loop returns 'stopped' right after this exit
      }
      return outcome;
    },
  });

  /** Post-copy: the pages an exit waits for ('waiting'), in since ('arrived'), or no wait. */
  let pages: 'none' | 'waiting' | 'arrived' = 'none';
  vm.vcpu.onPageWait = (wait) => {
    pages = 'waiting';
    // (a lost migration settles it too: the vCPU then runs into the stop the loss makes)
    void wait.then(() => (pages = 'arrived'), () => (pages = 'arrived'));
  };

  const interruptPending = (): boolean => {
    const v = vm.vmcs;
    let pending = v.hvip & (VSSIP | VSEIP);
    if ((v.henvcfg & STCE) !== 0n && vm.vcpu.guestTime() >= v.vstimecmp) pending |= VSTIP;
    return (pending & v.hie) !== 0n;
  };

  return {
    async runSlice(limits: RunLimits): Promise<SliceResult> {
      blockedInSlice = false;
      pages = 'none';
      const halts = vm.vcpu.haltExits;
      const result = await hv.run(d.domid, limits);
      // Waiting for post-copy pages: blocked until they are in (wakeable), not on an interrupt.
      if (pages !== 'none') return { result, blocked: true };
      // After SCHEDOP_block the result is 'stopped' (our own Vm.stop), with blocked set.
      let blocked = blockedInSlice;
      if (!blocked && result.reason === 'timeout' && vm.vcpu.haltExits > halts && !interruptPending()) {
        blocked = true; // WFI
        pollWake = undefined;
      } else if (!blocked && result.reason === 'timeout' && !interruptPending()) {
        // Still in a SCHEDOP_block/poll it was saved in (xl restore): blocked, not runnable.
        const s = vm.vcpu.suspendedOn();
        if (s !== undefined) {
          blocked = true;
          pollWake = s.wake;
        }
      }
      return { result, blocked };
    },
    wakeable(): boolean {
      if (pages !== 'none') return pages === 'arrived';
      d.pollTimer();
      return interruptPending() || vm.uart.pendingInput() > 0 || (pollWake?.ready() ?? false);
    },
    pollable: () => pages !== 'waiting',
    hasTimer(): boolean {
      if (pages === 'waiting') return false; // (deterministic time does not jump for a page)
      const v = vm.vmcs;
      return d.timerArmed || ((v.henvcfg & STCE) !== 0n && (v.hie & VSTIP) !== 0n && v.vstimecmp !== NEVER) ||
        (pollWake !== undefined && pollWake.due() !== NEVER);
    },
  };
}
