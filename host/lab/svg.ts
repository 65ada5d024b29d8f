/**
 * The lab's SVG bar chart (`wasmvisor lab --svg FILE`): two panels, wall time (ms) and exits,
 * each with one horizontal bar per technique combination, an x axis with ticks and its unit.
 * Hand-written SVG 1.1, no script, no external resource: it opens in any browser or viewer.
 * Every bar is a <rect class="bar" data-combo=".." data-value=".."> so tests can read it back.
 */
import type { LabRow } from './table';

/** One panel: a title, its unit, and the value of a row. */
interface Panel {
  title: string;
  unit: string;
  id: string;
  value(r: LabRow): number;
}

const PANELS: readonly Panel[] = [
  { id: 'wall', title: 'wall time', unit: 'ms', value: (r) => r.figures.wallMs },
  { id: 'exits', title: 'exits to the VMM', unit: 'exits', value: (r) => r.figures.exits },
];

const LABEL_W = 110, PLOT_W = 300, BAR_H = 18, GAP = 6, TOP = 40, AXIS_H = 34, PANEL_GAP = 30;
const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2'];

/** XML-escape text for element content and attribute values. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" axis maximum >= max (1, 2 or 5 times a power of ten) and its tick step. */
export function niceAxis(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return { top: m * p, step: (m * p) / (m === 1 || m === 10 ? 5 : m === 2 ? 4 : 5) };
  return { top: 10 * p, step: 2 * p };
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(Math.round(v * 100) / 100));

/** The chart as an SVG document. */
export function labSvg(rows: readonly LabRow[], title: string): string {
  const plotH = rows.length * (BAR_H + GAP) + GAP;
  const panelW = LABEL_W + PLOT_W + 40;
  const width = PANELS.length * panelW + (PANELS.length - 1) * PANEL_GAP;
  const height = TOP + plotH + AXIS_H;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="4" y="14" font-size="13" font-weight="bold">${esc(title)}</text>`);
  PANELS.forEach((p, pi) => {
    const x0 = pi * (panelW + PANEL_GAP) + LABEL_W;
    const { top, step } = niceAxis(Math.max(0, ...rows.map((r) => p.value(r)).filter(Number.isFinite)));
    const sx = (v: number) => x0 + (Math.max(0, v) / top) * PLOT_W;
    out.push(`<g class="panel" id="${p.id}">`);
    out.push(`<text x="${x0}" y="${TOP - 8}" font-weight="bold">${esc(p.title)} (${esc(p.unit)})</text>`);
    rows.forEach((r, i) => {
      const y = TOP + GAP + i * (BAR_H + GAP);
      const v = p.value(r);
      const w = Number.isFinite(v) ? sx(v) - x0 : 0;
      out.push(`<text x="${x0 - 6}" y="${y + BAR_H * 0.7}" text-anchor="end">${esc(r.combo)}</text>`);
      out.push(`<rect class="bar" data-combo="${esc(r.combo)}" data-value="${Number.isFinite(v) ? v : 0}" x="${x0}" y="${y}" width="${w.toFixed(2)}" height="${BAR_H}" fill="${COLOURS[i % COLOURS.length]}"/>`);
      out.push(`<text x="${(x0 + w + 4).toFixed(2)}" y="${y + BAR_H * 0.7}">${esc(Number.isFinite(v) ? fmt(v) : 'n/a')}</text>`);
    });
    const yAxis = TOP + plotH;
    out.push(`<line class="axis" x1="${x0}" y1="${TOP}" x2="${x0}" y2="${yAxis}" stroke="#000"/>`);
    out.push(`<line class="axis" x1="${x0}" y1="${yAxis}" x2="${x0 + PLOT_W}" y2="${yAxis}" stroke="#000"/>`);
    for (let t = 0; t <= top + step / 2; t += step) {
      const x = sx(t).toFixed(2);
      out.push(`<line x1="${x}" y1="${yAxis}" x2="${x}" y2="${yAxis + 4}" stroke="#000"/>`);
      out.push(`<text class="tick" x="${x}" y="${yAxis + 15}" text-anchor="middle">${esc(fmt(t))}</text>`);
    }
    out.push(`<text x="${x0 + PLOT_W / 2}" y="${yAxis + 29}" text-anchor="middle">${esc(p.unit)}</text>`);
    out.push(`</g>`);
  });
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}
