/**
 * Completing a two-dimensional walk log for a viewer.
 *
 * The core logs the PTE reads a walk really made (abi.ts S_WALK_LOG). In a VM most G-stage
 * translations make none: the core's G-stage translation cache (GPA page -> host page) serves
 * both the addresses of VS-stage PTEs and the walk's final guest-physical address, so a
 * typical logged 2D walk is three VS-stage reads and nothing else. To still show what each
 * cached translation stands for, this module reads the G-stage tables (host memory, without
 * side effects) and inserts the levels it finds as steps marked `cached`, where the log has
 * none: before each 'vs' step that no 'g-for-vs' steps precede, and as the 'g-final' walk when
 * the log ends without one.
 *
 * G-stage (privileged spec §8.5.1): Sv39x4/Sv48x4, a 16 KiB root indexed by the top 11 bits of
 * the guest-physical address, 9 bits per level below.
 */
import type { WalkStep } from '../machine/hart';

/** A walk step as the page draws it: from the log, or (cached) read from the tables for the view. */
export interface ViewStep extends WalkStep {
  /** True when the hart made no such read (the translation was cached) and the step was reconstructed. */
  cached?: boolean;
}

/** Reads a u64 of host memory; undefined outside RAM. */
export type ReadHost64 = (hpa: bigint) => bigint | undefined;

const PPN_MASK = (1n << 44n) - 1n;
const PTE_V = 1n;
const PTE_RX = 0xan;

/** The PPN of a PTE as an address. */
const ppnAddr = (pte: bigint): bigint => ((pte >> 10n) & PPN_MASK) << 12n;

/** The G-stage levels for `gpa` under `hgatp`, as steps of `kind` marked cached (empty for Bare). */
export function gStageSteps(gpa: bigint, hgatp: bigint, kind: 'g-for-vs' | 'g-final', read: ReadHost64): ViewStep[] {
  const mode = hgatp >> 60n;
  if (mode !== 8n && mode !== 9n) return [];
  const levels = mode === 8n ? 3 : 4;
  const steps: ViewStep[] = [];
  let table = (hgatp & PPN_MASK & ~3n) << 12n;
  for (let i = levels - 1; i >= 0; i--) {
    const mask = i === levels - 1 ? 0x7ffn : 0x1ffn;
    const pteAddress = table + (((gpa >> BigInt(12 + 9 * i)) & mask) << 3n);
    const pte = read(pteAddress);
    if (pte === undefined) break;
    steps.push({ kind, level: i, pteAddress, pte, cached: true });
    if ((pte & PTE_V) === 0n || (pte & PTE_RX) !== 0n) break;
    table = ppnAddr(pte);
  }
  return steps;
}

/**
 * The steps of a logged 2D walk of `va`, with the G-stage translations the cache served filled
 * in (see the module comment). `vsatp` and `hgatp` are the registers of the walk.
 */
export function fillCachedGStage(steps: WalkStep[], va: bigint, pa: bigint | undefined, vsatp: bigint, hgatp: bigint, read: ReadHost64): ViewStep[] {
  const out: ViewStep[] = [];
  // The guest-physical address of the next VS-stage table: vsatp's root, then each pointer PTE.
  let table: bigint | undefined = vsatp >> 60n !== 0n ? (vsatp & PPN_MASK) << 12n : undefined;
  let finalGpa: bigint | undefined = vsatp >> 60n === 0n ? va : undefined;
  let gSeen = false;
  let finalSeen = false;
  for (const s of steps) {
    if (s.kind === 'g-for-vs') gSeen = true;
    if (s.kind === 'g-final') finalSeen = true;
    if (s.kind === 'vs') {
      const gpa = table !== undefined ? table + (((va >> BigInt(12 + 9 * s.level)) & 0x1ffn) << 3n) : undefined;
      // A GPA whose page offset differs from the PTE's host address means vsatp changed since.
      if (!gSeen && gpa !== undefined && (gpa & 0xfffn) === (s.pteAddress & 0xfffn)) out.push(...gStageSteps(gpa, hgatp, 'g-for-vs', read));
      gSeen = false;
      table = ppnAddr(s.pte);
      if ((s.pte & PTE_RX) !== 0n) {
        const low = (1n << BigInt(12 + 9 * s.level)) - 1n;
        finalGpa = (ppnAddr(s.pte) & ~low) | (va & low);
      }
    }
    out.push(s);
  }
  if (!finalSeen && pa !== undefined && finalGpa !== undefined) out.push(...gStageSteps(finalGpa, hgatp, 'g-final', read));
  return out;
}
