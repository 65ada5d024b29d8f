/**
 * The ways to virtualize a CPU (DESIGN.md, host/vmm/virt/): each is a Technique the vCPU asks
 * how to enter the guest and what an exit means; the vCPU keeps what they share (the run loop,
 * SBI, MMIO devices, waiting, reports).
 *
 *   hw    the H extension: the guest runs in VS/VU, nested paging (hw.ts)
 *   trap  trap-and-emulate: the guest kernel runs deprivileged in U-mode, its S-mode state is
 *         emulated, shadow paging (trap.ts)
 *   bt    trap plus binary translation: the guest kernel's CSR accesses run inline against the
 *         VMCS in the core, its sret/wfi/sfence.vma/satp writes are call-outs (bt.ts)
 *   pv    as trap, and the kernel asks the VMM by hypercall for CSR access, satp switches and
 *         batched page-table updates (pv.ts, pv-abi.ts)
 *   hw with --paging shadow: the H extension with hstatus.VTVM and the VMM's shadow in vsatp
 *         (hw-shadow.ts)
 *
 * All keep the guest's virtual supervisor state in the same VMCS fields (pc, x, priv, the VS
 * block: sstatus, stvec, sscratch, sepc, scause, stval, satp, stimecmp; hie/hvip: sie/sip), so
 * SBI, interrupt injection, suspend and the wait for interrupts serve both unchanged.
 */
import type { MmioAccess } from '../mmio';
import type { SbiCall } from '../sbi';
import type { Vm } from '../vm';

/** --virt: how the CPU is virtualized (bt and pv: issue 13, see docs/techniques.md). */
export type VirtMode = 'hw' | 'trap' | 'bt' | 'pv';
/** --paging: how guest memory is virtualized. */
export type PagingMode = 'nested' | 'shadow';

/** An exit reason, as an id of the VM's ExitStats. */
export type ReasonId = number;

/** What a technique may use of its vCPU (vcpu.ts). */
export interface VcpuPort {
  readonly vm: Vm;
  /** Stop the guest with one report line (names the guest, pc, cause); the reason id. */
  fail(what: string): ReasonId;
  /** Decode the SBI call of this exit (a0..a7). */
  decodeSbi(): SbiCall;
  /** Handle a decoded SBI call, step over the ecall; its reason id. */
  sbi(call: SbiCall): ReasonId;
  /** Emulate one load or store on the device at `gpa` and step over it; its reason id. */
  mmio(gpa: bigint, acc: MmioAccess): ReasonId;
  /** Wait for an interrupt before the next entry (WFI). */
  halt(): void;
  /** The instruction at guest virtual `pc` (read through the guest's tables), if readable. */
  fetchInsn(pc: bigint): number | undefined;
  /** The id of a reason by name (ExitStats.id; ids are stable, so callers keep them). */
  reason(name: string): ReasonId;
}

/** One way to virtualize the CPU. */
export interface Technique {
  readonly mode: VirtMode;
  /** After the vCPU's reset (VMCS cleared, pc, a0/a1, virtual S-mode): the technique's own setup. */
  reset(): void;
  /** Enter the guest and run until an exit; returns EXIT_*. */
  enter(): number;
  /** Whether the EXIT_VM_TRAP just taken is an SBI call (the vCPU's fast path). */
  isSbiCall(): boolean;
  /** Handle an EXIT_VM_TRAP. */
  handleTrap(): ReasonId;
  /** The VMM took guest RAM page `gpa` away (ballooning): forget every translation to its frame. */
  guestPageRemoved?(gpa: bigint): void;
  /** What this technique counted so far, for `wasmvisor lab` and --stats (zero where a field does not apply). */
  counters?(): TechniqueCounters;
}

/** Instruction counts by binary-translation class (VMware's ident / inline / call-out). */
export interface BtClassCounts {
  ident: number;
  inline: number;
  callout: number;
}

/**
 * The figures the lab compares across techniques (wasmvisor lab). Exits by kind, guest
 * instructions and 1D/2D walks come from the VM (ExitStats, the core's counters); these are
 * the technique's own.
 */
export interface TechniqueCounters {
  /** Privileged instructions emulated after a trap (trap-and-emulate, and BT's call-outs). */
  emulated: number;
  /** BT (--virt bt): guest-kernel instructions classed when their block was translated (static, summed over blocks). */
  btStatic: BtClassCounts;
  /** BT: the same, counted per execution (dynamic). */
  btDynamic: BtClassCounts;
  /** PV (--virt pv): hypercalls taken, and page-table updates they carried (batched as Xen's mmu_update). */
  hypercalls: number;
  mmuUpdates: number;
  /** Shadow paging: guest page-table writes that faulted, shadows built and reused, hart TLB flushes. */
  ptWriteFaults: number;
  shadowsBuilt: number;
  shadowsReused: number;
  tlbFlushes: number;
}

/** A TechniqueCounters of zeros. */
export function zeroCounters(): TechniqueCounters {
  return {
    emulated: 0,
    btStatic: { ident: 0, inline: 0, callout: 0 },
    btDynamic: { ident: 0, inline: 0, callout: 0 },
    hypercalls: 0,
    mmuUpdates: 0,
    ptWriteFaults: 0,
    shadowsBuilt: 0,
    shadowsReused: 0,
    tlbFlushes: 0,
  };
}

/** The technique's counters as --stats prints them (after the exit table). */
export function formatTechniqueCounters(mode: VirtMode, c: TechniqueCounters): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return `wasmvisor technique counters (--virt ${mode})\n` +
    `  emulated instructions        ${n(c.emulated)}\n` +
    `  hypercalls / mmu updates     ${n(c.hypercalls)} / ${n(c.mmuUpdates)}\n` +
    `  page-table write faults      ${n(c.ptWriteFaults)}\n` +
    `  shadows built / reused       ${n(c.shadowsBuilt)} / ${n(c.shadowsReused)}\n` +
    `  TLB flushes                  ${n(c.tlbFlushes)}\n`;
}
