/**
 * The demo page's techniques lab: a picker of the technique combination a VM guest runs under
 * (--virt and --paging, the lab's registry as the worker reports it, host/lab/combos.ts), and
 * the lab's table (host/lab/table.ts COLUMNS) filled live: the row of the running combination
 * follows the worker's stats messages; the rows of combinations run before stay, so a guest
 * run under each in turn (by hand, or with "Run all") compares them side by side.
 */
import type { ComboInfo, VmStats } from '../api';
import { labFigures, type LabFigures } from '../../lab/figures';
import { COLUMNS } from '../../lab/table';

/** The lab's figures from one statistics sample of a VM. */
export function figuresFromStats(s: VmStats): LabFigures {
  const c = s.counters;
  const big = (x: number) => BigInt(Math.round(x));
  return labFigures({
    wallMs: c.wallMs,
    instructions: c.instructions,
    exitRows: s.exits,
    walks: { walks1d: big(c.pageWalks), refs1d: big(c.pageWalkRefs), walks2d: big(c.walks2d), refs2d: big(c.walkRefs2d) },
    technique: s.technique,
  });
}

export class LabView {
  /** Figures by combination id, in the order the combinations were first run. */
  readonly rows = new Map<string, LabFigures>();

  constructor(private readonly table: HTMLTableElement, private readonly picker: HTMLSelectElement) {
    const head = table.createTHead().insertRow();
    for (const [text, title] of [['technique', 'virt+paging'], ...COLUMNS.map((c) => [c.head, c.what])]) {
      const th = document.createElement('th');
      th.textContent = text;
      th.title = title;
      head.append(th);
    }
    table.createTBody();
  }

  /** Fill the picker: every combination, the ones this build lacks disabled. */
  setCombos(combos: readonly ComboInfo[], current: string): void {
    this.picker.replaceChildren(...combos.map((c) => {
      const o = new Option(c.supported ? c.id : `${c.id} (not in this build)`, c.id, false, c.id === current);
      o.disabled = !c.supported;
      o.title = c.title;
      return o;
    }));
  }

  /** The latest sample of each combination (figured at render: a sample is kept, not drawn). */
  private readonly samples = new Map<string, VmStats>();
  /** Samples recorded since the table was last rendered. */
  private dirty = false;

  /**
   * A sample of a VM: its combination's row follows it at the next draw() (the page's Panels:
   * once a frame, while the table is on screen). Every sample is kept, so the row of a
   * combination whose run ended between two draws still shows its last.
   */
  update(s: VmStats): void {
    if (s.mode !== 'vm' || s.combo === undefined) return;
    this.samples.set(s.combo, s);
    this.dirty = true;
  }

  /** Render the rows recorded since the last draw (nothing when there are none). */
  draw(): void {
    if (!this.dirty) return;
    this.dirty = false;
    for (const [combo, s] of this.samples) this.rows.set(combo, figuresFromStats(s));
    this.samples.clear();
    this.render();
  }

  /** Forget every row (a new guest: its rows would not compare with the old guest's). */
  clear(): void {
    this.rows.clear();
    this.samples.clear();
    this.dirty = false;
    this.render();
  }

  private render(): void {
    const body = this.table.tBodies[0];
    body.replaceChildren(...[...this.rows].map(([combo, f]) => {
      const tr = document.createElement('tr');
      tr.dataset.combo = combo;
      for (const text of [combo, ...COLUMNS.map((c) => c.cell(f))]) tr.insertCell().textContent = text;
      return tr;
    }));
  }
}
