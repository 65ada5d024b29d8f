/**
 * The techniques lab in the benchmark (`--only lab`, and at the end of every full run): the
 * table of `wasmvisor lab` (host/lab/) for minikernel (guests/minikernel: context switches,
 * page-table updates, timer ticks: the exits of a small OS) and for the VM TLB stress
 * (guests/vmbench/tlbstress.elf: a pointer chase whose every hop misses the TLB: the cost of a
 * walk, 2D under nested paging, 1D over a shadow table). Each combination this build supports
 * runs the guest in its own VM, best of --runs by wall time, --deterministic; the console
 * outputs must be identical across combinations.
 */
import { join } from 'node:path';
import { COMBOS, supportedCombos } from '../host/lab/combos';
import { labRuns, parseLabArgs } from '../host/lab/run';
import { formatLabTable, type LabRow } from '../host/lab/table';
import { loadImageFile } from '../host/machine/loader';
import { KERNEL_RAW_BASE } from '../host/vmm/vm';

/** The guests of the lab section. */
export const LAB_GUESTS = [
  { name: 'minikernel', image: 'guests/bin/minikernel/minikernel.elf' },
  { name: 'vmbench tlbstress', image: 'guests/bin/vmbench/tlbstress.elf' },
] as const;

/** The lab section of the report. */
export interface LabBench {
  supported: string[];
  unsupported: string[];
  guests: { name: string; rows: LabRow[]; outcomes: Record<string, string>; mismatches: string[] }[];
}

export async function labBenchmarks(root: string, runs: number, timeoutMs: number, log: (s: string) => void): Promise<LabBench> {
  const combos = supportedCombos();
  const out: LabBench = { supported: combos.map((c) => c.id), unsupported: COMBOS.filter((c) => !combos.includes(c)).map((c) => c.id), guests: [] };
  for (const g of LAB_GUESTS) {
    const path = join(root, g.image);
    const o = parseLabArgs([path, '--runs', String(runs), '--timeout', String(Math.ceil(timeoutMs / 1000))])!;
    const kernel = loadImageFile(path, KERNEL_RAW_BASE);
    const { runs: best, mismatches } = await labRuns(kernel, combos, o, (r) =>
      log(`bench: lab: ${g.name} under ${r.combo.id}: ${r.figures.wallMs.toFixed(1)} ms, ${r.figures.exits} exits, ${r.outcome}`));
    for (const m of mismatches) log(`bench: ${m}`);
    out.guests.push({
      name: g.name,
      rows: best.map((r) => ({ combo: r.combo.id, figures: r.figures })),
      outcomes: Object.fromEntries(best.map((r) => [r.combo.id, r.outcome])),
      mismatches,
    });
  }
  return out;
}

/** The section as text: one lab table per guest. */
export function formatLabBench(b: LabBench): string {
  const parts = ['Techniques lab (wasmvisor lab; --deterministic; docs/techniques.md, "The lab")' +
    (b.unsupported.length > 0 ? `; not in this build: ${b.unsupported.join(', ')}` : '')];
  for (const g of b.guests) {
    const same = g.mismatches.length === 0 ? 'identical console output' : `OUTPUT DIFFERS (${g.mismatches.length})`;
    parts.push(`\n${g.name}: ${same}, ended: ${[...new Set(Object.values(g.outcomes))].join(' / ')}\n` + formatLabTable(g.rows).trimEnd());
  }
  return parts.join('\n');
}
