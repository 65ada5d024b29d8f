/**
 * The demo page's live migration (docs/migration.md "In the browser"): the Migrate button moves
 * the running guest to a new Worker (Vm.migrate: host/migrate's pre-copy over a MessageChannel)
 * and the panel shows the rounds as they happen (round, pages sent, dirty rate, estimated
 * downtime) in a table and a uPlot chart (pages per round as bars, the dirty rate as a line),
 * then the summary (total time, downtime, pages per round, bytes). The terminal
 * needs nothing: the Vm handle's console goes on from the target once it runs the guest.
 */
import uPlot from 'uplot';
import type { MigrationRound, MigrationSummary, Vm } from '../api';
import { si } from './charts';

const n = (v: number): string => Math.round(v).toLocaleString('en-US');
const ms = (v: number): string => (v < 10 ? v.toFixed(2) : v.toFixed(0));

export class MigrateView {
  /** Rounds shown so far (the live ones, then the stop-and-copy). */
  readonly rounds: MigrationRound[] = [];
  summary: MigrationSummary | undefined;
  error: string | undefined;
  /** Which worker runs the guest: 1 for the page's first, +1 for each migration. */
  worker = 1;
  busy = false;

  constructor(
    private readonly vm: Vm,
    private readonly el: { button: HTMLButtonElement; table: HTMLTableElement; note: HTMLElement; worker: HTMLElement; chart: HTMLElement },
  ) {
    vm.addEventListener('migration', (ev) => this.addRound((ev as CustomEvent<{ round: MigrationRound }>).detail.round));
    el.button.onclick = () => void this.migrate();
  }

  /** Migrate the guest now; resolves when it runs in the new worker (or the migration failed). */
  async migrate(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.update();
    this.rounds.length = 0;
    this.summary = this.error = undefined;
    this.plot?.destroy();
    this.plot = undefined;
    this.el.note.textContent = `starting worker ${this.worker + 1} and loading the guest into it…`;
    this.draw();
    try {
      this.summary = await this.vm.migrate();
      this.worker++;
      this.el.worker.textContent = `guest in worker ${this.worker}`;
      const last = this.summary.rounds[this.summary.rounds.length - 1];
      if (last?.stopAndCopy) this.rounds.push(last);
      const per = this.summary.rounds.map((r) => (r.stopAndCopy ? `stop-and-copy ${n(r.pages)}` : n(r.pages))).join(', ');
      this.el.note.textContent = `migrated to worker ${this.worker}: total ${ms(this.summary.totalMs)} ms, downtime ${ms(this.summary.downtimeMs)} ms, ` +
        `${this.summary.rounds.length} rounds (pages ${per}), ${n(this.summary.bytes)} bytes sent`;
      this.el.note.className = 'small migrate-done';
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
      this.el.note.textContent = this.error;
      this.el.note.className = 'small migrate-error';
    } finally {
      this.busy = false;
      this.draw();
      this.update();
    }
  }

  /** Enable the button when there is a guest to move (the page calls this on state changes). */
  update(): void {
    this.el.button.disabled = this.busy || !(this.vm.state === 'running' || this.vm.state === 'paused');
  }

  private addRound(r: MigrationRound): void {
    this.rounds.push(r);
    this.el.note.textContent = `pre-copy to worker ${this.worker + 1}: round ${r.round}, the guest keeps running…`;
    this.el.note.className = 'small';
    this.draw();
  }

  private draw(): void {
    const head = '<tr><th>round</th><th>pages</th><th title="different pages sent in all rounds so far">distinct sent</th><th>dirty pages/s</th><th>est. downtime</th><th>ms</th></tr>';
    const rows = this.rounds.map((r) => r.stopAndCopy
      ? `<tr class="stop-and-copy"><td>stop-and-copy</td><td>${n(r.pages)}</td><td></td><td></td><td>${ms(r.ms)} ms (actual)</td><td>${ms(r.ms)}</td></tr>`
      : `<tr class="round"><td>${r.round}</td><td>${n(r.pages)}</td><td>${n(r.pagesSent ?? 0)}</td><td>${n(r.dirtyRate)}</td><td>${ms(r.estDowntimeMs)} ms</td><td>${ms(r.ms)}</td></tr>`);
    this.el.table.innerHTML = head + rows.join('');
    this.drawChart();
  }

  private plot: uPlot | undefined;

  /** Bars: pages sent per round (the stop-and-copy last); line: dirty pages per second (right axis). */
  private drawChart(): void {
    const el = this.el.chart;
    el.hidden = this.rounds.length === 0;
    if (this.rounds.length === 0) return;
    const data: uPlot.AlignedData = [
      this.rounds.map((_, i) => i + 1),
      this.rounds.map((r) => r.pages),
      this.rounds.map((r) => (r.stopAndCopy ? null : r.dirtyRate)),
    ];
    if (this.plot) return this.plot.setData(data);
    const axis = { stroke: '#7b8594', grid: { stroke: '#2a313b', width: 1 }, ticks: { stroke: '#2a313b', width: 1 } };
    this.plot = new uPlot({
      width: Math.max(200, Math.floor(el.clientWidth)),
      height: 130,
      scales: { x: { time: false }, rate: {} },
      legend: { live: false },
      cursor: { show: false },
      axes: [
        { ...axis, label: 'round', labelSize: 18, values: (_u, v) => v.map((x) => (Number.isInteger(x) ? `${x}` : '')) },
        { ...axis, label: 'pages', labelSize: 20, size: 50, values: (_u, v) => v.map((x) => si(x)) },
        { ...axis, scale: 'rate', side: 1, grid: { show: false }, label: 'dirty/s', labelSize: 20, size: 50, values: (_u, v) => v.map((x) => si(x)) },
      ],
      series: [
        { label: 'round' },
        { label: 'pages sent', stroke: '#88c0d0', fill: 'rgba(136,192,208,0.35)', paths: uPlot.paths.bars!({ size: [0.6, 40] }), points: { show: false } },
        { label: 'dirty pages/s', stroke: '#d08770', width: 2, scale: 'rate', points: { show: true, size: 5 } },
      ],
    }, data, el);
  }

  /** The chart's points (for tests): rounds, pages, dirty rates. */
  get chartData(): (number | null | undefined)[][] {
    return (this.plot?.data ?? []).map((d) => [...d]);
  }
}
