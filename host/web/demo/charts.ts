/**
 * The demo's exit bars, drawn with our own code: horizontal bars of exit counts by reason in
 * SVG (the charts over time are uPlot's: time-charts.ts).
 */

import { formatNs } from '../../vmm/stats';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Create an SVG element with attributes (and text content for <text>). */
export function svgEl(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** 1234567 -> "1.23 M" (SI prefixes, three significant digits). */
export function si(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['', ' k', ' M', ' G', ' T'];
  let u = 0;
  while (Math.abs(n) >= 1000 && u < units.length - 1) { n /= 1000; u++; }
  return (u === 0 ? Math.round(n).toString() : n.toPrecision(3)) + units[u];
}

/** One bar of the exits chart: an exit reason with its numbers. */
export interface Bar {
  label: string;
  total: number;
  /** Per second since the previous sample. */
  rate: number;
  /** Share of all exits in percent (NaN: not shown). */
  share: number;
  /** Mean host time per exit in ns (NaN: not measured, as on the bare machine). */
  meanNs: number;
  color: string;
}

/** The colours of the exit reasons, by the kind of exit. */
export function exitColor(reason: string): string {
  if (reason.startsWith('SBI')) return '#a3be8c';
  if (reason.startsWith('MMIO')) return '#88c0d0';
  if (reason.startsWith('guest-page fault')) return '#ebcb8b';
  if (reason.startsWith('WFI')) return '#b48ead';
  if (reason.startsWith('fatal')) return '#bf616a';
  return '#d08770';
}

const ROW_H = 30;

/**
 * Horizontal bars, one row per reason (the reason, then a bar with count, share, mean host time
 * and rate). Lengths are on a log scale: counts differ by orders of magnitude (a guest makes
 * thousands of first-touch faults and a handful of shutdown calls).
 */
/** What each exits chart shows now (drawBars' key). */
const drawnBars = new WeakMap<SVGSVGElement, string>();

export function drawBars(svg: SVGSVGElement, bars: Bar[]): void {
  // As wide as the panel leaves (the page is laid out from 360 px to 2560 px).
  const inner = svg.parentElement ? svg.parentElement.clientWidth - 28 : 0;
  const width = inner > 0 ? inner : Number(svg.getAttribute('width'));
  svg.setAttribute('width', String(width));
  const numW = 230;
  const barMax = Math.max(60, width - numW - 6);
  const max = Math.max(10, ...bars.map((b) => b.total));
  const rows = bars.map((b) => {
    const len = b.total > 0 ? Math.max(2, (Math.log10(b.total + 1) / Math.log10(max + 1)) * barMax) : 0;
    const nums = [b.total.toLocaleString('en')];
    if (Number.isFinite(b.share)) nums.push(`${b.share.toFixed(1)} %`);
    if (Number.isFinite(b.meanNs)) nums.push(formatNs(b.meanNs));
    nums.push(`${si(b.rate)}/s`);
    return { b, len, nums };
  });
  // The same picture as drawn last (a guest that makes no exits between two samples): keep it
  // (ten samples a second rebuilt the SVG and laid the page out again).
  const key = JSON.stringify([width, rows.map((r) => [r.b.label, r.b.color, r.len, r.nums])]);
  if (drawnBars.get(svg) === key) return;
  drawnBars.set(svg, key);
  svg.replaceChildren();
  rows.forEach(({ b, len, nums }, i) => {
    const y = i * ROW_H;
    const row = svgEl('g', { class: 'exit-row', 'data-reason': b.label });
    row.append(
      svgEl('text', { x: 0, y: y + 11 }, b.label.length > 62 ? b.label.slice(0, 61) + '…' : b.label),
      svgEl('rect', { x: 0, y: y + 15, width: barMax, height: 10, fill: '#232a33', rx: 2 }),
      svgEl('rect', { x: 0, y: y + 15, width: len, height: 10, fill: b.color, rx: 2 }),
      svgEl('text', { x: barMax + 6, y: y + 24, class: 'dim' }, nums.join('  ')),
    );
    svg.append(row);
  });
  svg.setAttribute('height', String(Math.max(ROW_H, bars.length * ROW_H)));
}
