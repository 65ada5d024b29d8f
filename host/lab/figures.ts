/**
 * What the lab measures of one run (one row of its table), and how it is read off a VM: the
 * VM's exit table (ExitStats, grouped into kinds), its guest instruction count and the hart's
 * walk counters, and the technique's own counters (technique.ts TechniqueCounters). No Node
 * API here: the web page builds the same rows from the worker's stats messages.
 */
import type { ExitRow, WalkCounters } from '../vmm/stats';
import { zeroCounters, type TechniqueCounters } from '../vmm/virt/technique';

/** The kinds the lab groups exit reasons into (columns of its table). */
export const EXIT_KINDS = ['sbi', 'mmio', 'pageFault', 'privInsn', 'interrupt', 'other'] as const;
export type ExitKind = (typeof EXIT_KINDS)[number];

/** Column headings of the exit kinds. */
export const EXIT_KIND_LABELS: Record<ExitKind, string> = {
  sbi: 'SBI/hcall',
  mmio: 'MMIO',
  pageFault: 'page flt',
  privInsn: 'priv insn',
  interrupt: 'irq',
  other: 'other',
};

/**
 * The kind of an exit reason, by the names the VMM gives them (vcpu.ts, virt/*.ts):
 *   sbi        "SBI ecall (...)", and hypercalls of any technique ("hypercall ...")
 *   mmio       "MMIO load/store (...)"
 *   pageFault  guest-page faults (nested), shadow fills, guest page-table writes, page faults
 *              passed to the guest
 *   privInsn   privileged instructions emulated after a trap ("csr ... (emulated)", sret, wfi,
 *              sfence.vma), illegal and virtual instructions
 *   interrupt  interrupts taken to the VMM
 *   other      the rest: time slices, vCPU halts, exceptions handed to the guest
 */
export function exitKind(reason: string): ExitKind {
  if (reason.startsWith('SBI ') || /hypercall/i.test(reason)) return 'sbi';
  if (reason.startsWith('MMIO ')) return 'mmio';
  if (/page fault|guest-page fault|shadow/i.test(reason)) return 'pageFault';
  if (/^interrupt|\birq\b/i.test(reason)) return 'interrupt';
  if (/\(emulated[,)]|illegal instruction|virtual instruction|call-out|callout/i.test(reason)) return 'privInsn';
  return 'other';
}

/** Exits whose host time is mostly waiting (a halted vCPU), left out of the mean cost per exit. */
export function isWaitExit(reason: string): boolean {
  return /\bwfi\b|vCPU halts/i.test(reason);
}

/** One row of the lab: one technique combination, one run. */
export interface LabFigures {
  /** Wall time of the run (Vm.run), ms. */
  wallMs: number;
  /** Guest instructions retired. */
  instructions: number;
  /** Exits (traps to the VMM) in all, and by kind. */
  exits: number;
  exitsByKind: Record<ExitKind, number>;
  /** The most frequent exit reasons (at most TOP_REASONS). */
  topExits: { reason: string; count: number }[];
  /** The technique's own counters (emulated instructions, BT classes, hypercalls, shadow figures). */
  technique: TechniqueCounters;
  /** TLB misses walked in one and in two dimensions. */
  walks1d: number;
  walks2d: number;
  /** Mean host time per exit in ns, over the timed exits, leaving out the ones that wait (WFI); NaN if none. */
  meanExitNs: number;
}

/** How many reasons topExits keeps. */
export const TOP_REASONS = 5;

/** The lab's figures from a VM's counters after a run. */
export function labFigures(a: {
  wallMs: number;
  instructions: bigint | number;
  exitRows: readonly ExitRow[];
  walks: WalkCounters;
  technique?: TechniqueCounters;
}): LabFigures {
  const exitsByKind = Object.fromEntries(EXIT_KINDS.map((k) => [k, 0])) as Record<ExitKind, number>;
  let exits = 0, timedNs = 0, timedCount = 0;
  for (const r of a.exitRows) {
    exits += r.count;
    exitsByKind[exitKind(r.reason)] += r.count;
    // ExitStats times a sample of each reason; its mean stands for all of that reason's exits.
    if (!Number.isNaN(r.meanNs) && !isWaitExit(r.reason)) {
      timedNs += r.meanNs * r.count;
      timedCount += r.count;
    }
  }
  return {
    wallMs: a.wallMs,
    instructions: Number(a.instructions),
    exits,
    exitsByKind,
    topExits: [...a.exitRows].sort((x, y) => y.count - x.count || x.reason.localeCompare(y.reason)).slice(0, TOP_REASONS).map((r) => ({ reason: r.reason, count: r.count })),
    technique: a.technique ?? zeroCounters(),
    walks1d: Number(a.walks.walks1d),
    walks2d: Number(a.walks.walks2d ?? 0n),
    meanExitNs: timedCount > 0 ? timedNs / timedCount : NaN,
  };
}
