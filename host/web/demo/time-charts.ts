/**
 * The demo's charts over time, drawn with uPlot: instructions per second, VM exits per second
 * by reason, and TLB misses and page walks per second. The x axis is the guest's run time in
 * seconds (the worker's wallMs: paused time is not on it); every point is a rate between two
 * statistics samples of the worker, so the charts show what the counters did, not a smoothing.
 */
import uPlot from 'uplot';
import type { VmStats } from '../api';
import { si } from './charts';

/** Colours of the exit reasons' lines, in order of appearance. */
const PALETTE = ['#88c0d0', '#a3be8c', '#ebcb8b', '#b48ead', '#d08770', '#bf616a', '#5e81ac', '#8fbcbb', '#e5e9f0', '#81a1c1'];

/** Points kept per chart (at ten samples a second: the last minute). */
const KEEP = 600;

const AXIS = { stroke: '#7b8594', grid: { stroke: '#2a313b', width: 1 }, ticks: { stroke: '#2a313b', width: 1 } };

/** One uPlot chart that fills its container's width, with a y-axis label naming the unit. */
class TimeChart {
  private plot: uPlot | undefined;
  private readonly data: number[][];
  private readonly labels: string[];
  private readonly colors: string[];
  /** Points pushed since the plot last drew them (draw() shows them). */
  private dirty = false;

  constructor(private readonly el: HTMLElement, private readonly unit: string, series: { label: string; color: string }[], private readonly height = 150) {
    this.labels = series.map((s) => s.label);
    this.colors = series.map((s) => s.color);
    this.data = [[], ...series.map(() => [])];
    // A hidden chart (the exits over time of a bare-board guest) is built at its first draw, if
    // ever: uPlot draws an empty plot at once, and the page would lay it out to hide it.
    if (!el.hidden) this.build();
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: this.height })).observe(el);
  }

  private width(): number {
    return Math.max(200, Math.floor(this.el.clientWidth));
  }

  /** (Re)create the plot with the current series (uPlot's own addSeries/delSeries trip over its legend.) */
  private build(): void {
    const colors = this.colors;
    this.plot?.destroy();
    this.plot = new uPlot({
      width: this.width(),
      height: this.height,
      scales: { x: { time: false } },
      legend: { live: false },
      cursor: { show: true, points: { show: false } },
      axes: [
        { ...AXIS, label: 'guest run time (s)', labelSize: 18, values: (_u, v) => v.map((x) => `${x}`) },
        { ...AXIS, label: this.unit, labelSize: 20, size: 62, values: (_u, v) => v.map((x) => si(x)) },
      ],
      series: [
        { label: 't (s)', value: (_u, v) => (v == null ? '–' : v.toFixed(1)) },
        ...this.labels.map((label, i) => ({ label, stroke: colors[i], width: 1.5, points: { show: false }, value: (_u: uPlot, v: number | null) => (v == null ? '–' : si(v)) })),
      ],
    }, this.data as uPlot.AlignedData, this.el);
  }

  /** The series' labels, in order. */
  get series(): readonly string[] { return this.labels; }

  /** Add a series (a new exit reason): earlier points of it are 0. */
  addSeries(label: string, color: string): void {
    this.labels.push(label);
    this.colors.push(color);
    this.data.push(this.data[0].map(() => 0));
    if (this.plot) {
      this.build();
      this.dirty = false;
    }
  }

  /**
   * Append a point: x in seconds, one value per series (in the order of `series`). The plot shows
   * it at the next draw() (the page's Panels: once a frame, while the chart is on screen).
   */
  push(x: number, ys: number[]): void {
    this.data[0].push(x);
    ys.forEach((y, i) => this.data[i + 1].push(y));
    if (this.data[0].length > KEEP) for (const d of this.data) d.shift();
    this.dirty = true;
  }

  /** Draw the points pushed since the last draw (nothing when there are none; a hidden chart not built stays so). */
  draw(): void {
    if (!this.plot) {
      if (this.el.hidden) return;
      this.build();
      this.dirty = false;
      return;
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.plot.setData(this.data as uPlot.AlignedData);
  }

  /** Points the plot has drawn (uPlot's own copy of the x values; for tests). */
  get drawnLength(): number { return this.plot?.data[0]?.length ?? 0; }

  /** Forget all points (a new guest); extra series beyond the first `keep` go. */
  clear(keep = this.labels.length): void {
    for (const d of this.data) d.length = 0;
    this.dirty = false;
    if (this.labels.length > keep) {
      this.labels.length = this.colors.length = keep;
      this.data.length = keep + 1;
      if (this.plot) this.build();
    } else {
      this.plot?.setData(this.data as uPlot.AlignedData);
    }
  }

  /** The axes' labels, x then y (uPlot draws them on its canvas; none while the plot is unbuilt). */
  get axisLabels(): string[] { return (this.plot?.axes ?? []).map((a) => String(a.label ?? '')); }

  /** Has the plot been built (a hidden chart's is built at its first draw)? */
  get built(): boolean { return this.plot !== undefined; }

  /** Points held (for tests). */
  get length(): number { return this.data[0].length; }
}

/** The three charts, fed with the page's stats samples. */
export class TimeCharts {
  readonly ips: TimeChart;
  readonly exits: TimeChart;
  readonly tlb: TimeChart;
  private prev: { wallMs: number; instructions: number; tlbMisses: number; walks1d: number; walks2d: number; exits: Map<string, number> } | undefined;

  constructor(ips: HTMLElement, exits: HTMLElement, tlb: HTMLElement) {
    this.ips = new TimeChart(ips, 'instructions/s', [{ label: 'instructions/s', color: '#88c0d0' }]);
    this.exits = new TimeChart(exits, 'exits/s', []);
    this.tlb = new TimeChart(tlb, 'per second', [
      { label: 'TLB misses/s', color: '#ebcb8b' }, { label: '1D walks/s', color: '#a3be8c' }, { label: '2D walks/s', color: '#b48ead' },
    ]);
  }

  /** A new guest: no points, no exit reasons. */
  clear(): void {
    this.prev = undefined;
    this.ips.clear();
    this.exits.clear(0);
    this.tlb.clear();
  }

  /** Add the rates since the previous sample (none when the guest did not run in between). */
  push(s: VmStats): void {
    const c = s.counters;
    const exits = new Map(s.mode === 'vm' ? s.exits.map((r) => [r.reason, r.count]) : []);
    const p = this.prev;
    if (p && c.wallMs < p.wallMs) this.clear(); // reset: the counters started again
    const q = this.prev;
    if (!q || c.wallMs > q.wallMs) {
      this.prev = { wallMs: c.wallMs, instructions: c.instructions, tlbMisses: c.tlbMisses, walks1d: c.pageWalks, walks2d: c.walks2d, exits };
    }
    if (!q || c.wallMs <= q.wallMs) return;
    const dt = (c.wallMs - q.wallMs) / 1000;
    const x = c.wallMs / 1000;
    const rate = (now: number, before: number): number => Math.max(0, (now - before) / dt);
    this.ips.push(x, [rate(c.instructions, q.instructions)]);
    this.tlb.push(x, [rate(c.tlbMisses, q.tlbMisses), rate(c.pageWalks, q.walks1d), rate(c.walks2d, q.walks2d)]);
    if (s.mode === 'vm') {
      for (const reason of exits.keys()) if (!this.exits.series.includes(reason)) this.exits.addSeries(reason, PALETTE[this.exits.series.length % PALETTE.length]);
      this.exits.push(x, this.exits.series.map((r) => rate(exits.get(r) ?? 0, q.exits.get(r) ?? exits.get(r) ?? 0)));
    }
  }
}
