/**
 * `--virt hw`: hardware-assisted virtualization with the H extension, as KVM does it. The guest
 * kernel runs in VS-mode and its programs in VU-mode; the hart translates through the guest's
 * tables and the G-stage (nested paging, paging/nested.ts); only what hedeleg/hideleg keep for
 * HS exits to the VMM:
 *
 *   cause 10 (ecall from VS)      -> SBI (sbi.ts), pc += 4
 *   cause 20/21/23, GPA in RAM    -> populate the page (first touch), retry; most first touches
 *                                    never exit: the core maps them from a pool (populate.ts)
 *   cause 21/23, GPA not RAM      -> MMIO: decode (mmio.ts), emulate, pc += len
 *   cause 2/4/6 (not delegated)   -> redirected into the guest, as KVM does
 *   anything else                 -> the guest is stopped with a one-line report
 */
import { decodeHtinst, decodeRaw, type MmioAccess } from '../mmio';
import { PageNotHere, startsDma } from '../../machine/missing-pages';
import { CAUSE_NAMES, causeText } from '../stats';
import { zeroCounters, type ReasonId, type Technique, type TechniqueCounters, type VcpuPort } from './technique';

const C = { ILLEGAL: 2, LOAD_MISALIGNED: 4, STORE_MISALIGNED: 6, ECALL_VS: 10, FETCH_GUEST_PAGE: 20, LOAD_GUEST_PAGE: 21, STORE_GUEST_PAGE: 23 } as const;

const hx = (v: bigint) => '0x' + v.toString(16);

/** The exit reasons of a first touch of guest RAM: by an explicit access, and by a VS-stage page-table read (the core counts its own under them too: vcpu.ts). */
export const FIRST_TOUCH = 'guest-page fault: first touch of RAM';
export const FIRST_TOUCH_PT = 'guest-page fault: first touch of RAM (guest page table)';

/** The H-extension technique. */
export class HwTechnique implements Technique {
  readonly mode = 'hw' as const;
  private readonly firstTouch: ReasonId;
  private readonly firstTouchPt: ReasonId;

  constructor(private readonly cpu: VcpuPort, private readonly redirect: (cause: bigint, tval: bigint) => void) {
    this.firstTouch = cpu.reason(FIRST_TOUCH);
    this.firstTouchPt = cpu.reason(FIRST_TOUCH_PT);
  }

  reset(): void {}

  enter(): number {
    return this.cpu.vm.core.vmRun();
  }

  /** Nested paging emulates nothing and has no shadows: the lab's zeros (its exits are in ExitStats). */
  counters(): TechniqueCounters {
    return zeroCounters();
  }

  isSbiCall(): boolean {
    const v = this.cpu.vm.vmcs;
    return v.exitCauseCode === C.ECALL_VS && !v.exitIsInterrupt;
  }

  handleTrap(): ReasonId {
    const cpu = this.cpu;
    const v = cpu.vm.vmcs;
    if (v.exitIsInterrupt) return cpu.fail(`unexpected interrupt ${causeText(v.exitCause)} taken to HS`);
    const code = v.exitCauseCode;
    switch (code) {
      case C.ECALL_VS: // (the vCPU's fast path takes these, to the same handling)
        return cpu.sbi(cpu.decodeSbi());
      case C.FETCH_GUEST_PAGE:
      case C.LOAD_GUEST_PAGE:
      case C.STORE_GUEST_PAGE:
        return this.guestPageFault(code);
      case C.ILLEGAL:
      case C.LOAD_MISALIGNED:
      case C.STORE_MISALIGNED:
        // KVM hands these back to the guest (kvm_riscv_vcpu_trap_redirect).
        this.redirect(BigInt(code), v.exitTval);
        return cpu.reason(`${CAUSE_NAMES[code]} (redirected to the guest)`);
    }
    return cpu.fail(`${CAUSE_NAMES[code] ?? 'unknown cause'} taken to HS`);
  }

  /** A guest-page fault: first touch of RAM, an MMIO access, or something the VMM cannot resolve. */
  private guestPageFault(cause: number): ReasonId {
    const cpu = this.cpu;
    const vm = cpu.vm;
    const v = vm.vmcs;
    const gpa = v.exitGpa;
    const htinst = Number(v.exitHtinst & 0xffff_ffffn);
    const implicit = htinst !== 0 && (htinst & 3) === 0;
    if (vm.isGuestRam(gpa)) {
      if (vm.isPopulated(gpa)) return cpu.fail(`${CAUSE_NAMES[cause]} on guest RAM that is mapped (GPA ${hx(gpa)})`);
      // No flush: the hart never caches a failed translation, so a new mapping is seen at once.
      vm.populate(gpa);
      return implicit ? this.firstTouchPt : this.firstTouch;
    }
    // An implicit VS-stage PTE access keeps the cause of the access that walked (20 for a fetch;
    // priv spec §8.6.3), so it is told apart by htinst before the cause is looked at.
    if (implicit) return cpu.fail(`guest page table at guest-physical ${hx(gpa)}, which is not RAM`);
    if (cause === C.FETCH_GUEST_PAGE) return cpu.fail(`instruction fetch from guest-physical ${hx(gpa)}, which is not RAM`);
    // MMIO: decode from htinst, or read the instruction when the hart gave none.
    let acc: MmioAccess | undefined = decodeHtinst(htinst);
    if (acc === undefined && htinst === 0) {
      const raw = cpu.fetchInsn(v.pc);
      if (raw !== undefined) acc = decodeRaw(raw);
    }
    if (acc === undefined || acc.write !== (cause === C.STORE_GUEST_PAGE)) {
      return cpu.fail(`MMIO access at guest-physical ${hx(gpa)} by an instruction the VMM cannot emulate (htinst ${hx(BigInt(htinst))})`);
    }
    // Post-copy: an access to a virtio device may start DMA anywhere; the guest repeats it once
    // every page is in (Vcpu.run), so the device never reads a page that has not arrived.
    if (vm.missingPages !== undefined && startsDma(vm.bus, gpa)) throw new PageNotHere(undefined);
    return cpu.mmio(gpa, acc);
  }
}
