/**
 * The lab's table (text) and its JSON form. One row per technique combination; the columns are
 * listed once in COLUMNS, so the text table, the web page's table and docs/techniques.md's
 * explanation of them cannot drift apart.
 */
import { EXIT_KIND_LABELS, EXIT_KINDS, type LabFigures } from './figures';

/** A row of the lab: which combination, and what it measured. */
export interface LabRow {
  /** Combination id (combos.ts), e.g. "trap+shadow". */
  combo: string;
  figures: LabFigures;
}

/** One column: heading, and the cell of a row. */
export interface LabColumn {
  head: string;
  /** What it measures (docs, the web page's tooltips). */
  what: string;
  cell(f: LabFigures): string;
}

const n = (x: number) => (Number.isFinite(x) ? Math.round(x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',') : 'n/a');
const bt = (c: { ident: number; inline: number; callout: number }) => `${n(c.ident)}/${n(c.inline)}/${n(c.callout)}`;

/** The columns after the technique's name, in order. */
export const COLUMNS: readonly LabColumn[] = [
  { head: 'wall ms', what: 'wall time of the run (Vm.run), best of --runs', cell: (f) => f.wallMs.toFixed(1) },
  { head: 'guest insns', what: 'guest instructions retired', cell: (f) => n(f.instructions) },
  { head: 'exits', what: 'exits (traps to the VMM), all kinds', cell: (f) => n(f.exits) },
  ...EXIT_KINDS.map((k) => ({ head: EXIT_KIND_LABELS[k], what: `exits of kind ${k} (figures.ts exitKind)`, cell: (f: LabFigures) => n(f.exitsByKind[k]) })),
  { head: 'emulated', what: 'privileged instructions emulated by the VMM after a trap', cell: (f) => n(f.technique.emulated) },
  { head: 'BT id/inl/call', what: 'binary translation: instructions executed by class ident / inline / call-out (dynamic)', cell: (f) => bt(f.technique.btDynamic) },
  { head: 'hcall/mmu_upd', what: 'paravirtual: hypercalls, and the page-table updates they carried', cell: (f) => `${n(f.technique.hypercalls)}/${n(f.technique.mmuUpdates)}` },
  { head: 'PT wr flt', what: 'guest page-table writes that faulted (write-protected for the shadows)', cell: (f) => n(f.technique.ptWriteFaults) },
  { head: 'shadow blt/reu', what: 'shadow tables built / reused on a context switch', cell: (f) => `${n(f.technique.shadowsBuilt)}/${n(f.technique.shadowsReused)}` },
  { head: 'TLB flush', what: "flushes of the hart's TLB made by the VMM", cell: (f) => n(f.technique.tlbFlushes) },
  { head: '1D walks', what: 'TLB misses walked in one dimension (one stage of tables)', cell: (f) => n(f.walks1d) },
  { head: '2D walks', what: 'TLB misses walked in two dimensions (guest tables through the G-stage)', cell: (f) => n(f.walks2d) },
  { head: 'ns/exit', what: 'mean host time per exit (sampled, WFI waits left out)', cell: (f) => n(f.meanExitNs) },
];

/** The table as text, one line per row, ending in "\n". */
export function formatLabTable(rows: readonly LabRow[]): string {
  const head = ['technique', ...COLUMNS.map((c) => c.head)];
  const body = rows.map((r) => [r.combo, ...COLUMNS.map((c) => c.cell(r.figures))]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd() + '\n';
  return line(head) + body.map(line).join('');
}

/** What `--json` writes. */
export interface LabReport {
  /** The image's name as given. */
  image: string;
  /** Options every run had (the VM options given, and the lab's). */
  options: { runs: number; jit: string; deterministic: boolean; memSize: number; timeoutS: number };
  /** Combinations this build runs (one row each) and the ones it does not. */
  supported: string[];
  unsupported: string[];
  /** Combinations this build runs that do not apply to this kernel, and why (pv for Linux). */
  notApplicable: Record<string, string>;
  /** Whether every combination printed the same console output and ended the same way. */
  identical: boolean;
  /** How each run ended ("exit 0", "timeout", ...), by combination. */
  outcomes: Record<string, string>;
  rows: LabRow[];
}

/** The report as JSON text (NaN, which JSON lacks, as null), ending in "\n". */
export function labJson(report: LabReport): string {
  return JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
