/**
 * The bench's picture: bench/results/latest.svg next to latest.json, one horizontal bar per
 * workload and engine (its minimum), a whisker from min to max of the runs and a tick at the
 * median, on a log-scale time axis in ms (engines differ by orders of magnitude).
 */
import type { Spread } from './timing';

/** One workload's measured engines: engine name -> spread (absent engines left out). */
export interface ChartRow {
  name: string;
  engines: { engine: string; spread: Spread }[];
}

const COLORS: Record<string, string> = { jit: '#2b6cb0', interp: '#90cdf4', qemu: '#dd6b20', native: '#38a169' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** An SVG document with a title, a legend, and a log-scale axis labelled "time per run (ms, log scale)". */
export function benchSvg(title: string, rows: ChartRow[]): string {
  const all = rows.flatMap((r) => r.engines.flatMap((e) => [e.spread.minMs, e.spread.maxMs])).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
  const left = 110, width = 560, bar = 12, top = 50;
  const x = (ms: number) => left + (width * (Math.log10(Math.max(ms, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const out: string[] = [];
  let y = top;
  for (const r of rows) {
    out.push(`<text x="${left - 8}" y="${y + bar * r.engines.length / 2 + 4}" text-anchor="end">${esc(r.name)}</text>`);
    for (const e of r.engines) {
      const c = COLORS[e.engine] ?? '#718096';
      const s = e.spread;
      out.push(`<rect x="${left}" y="${y}" width="${(x(s.minMs) - left).toFixed(1)}" height="${bar - 2}" fill="${c}"><title>${esc(r.name)} ${esc(e.engine)}: min ${s.minMs.toFixed(1)} ms, median ${s.medianMs.toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms</title></rect>`);
      out.push(`<line x1="${x(s.minMs).toFixed(1)}" x2="${x(s.maxMs).toFixed(1)}" y1="${y + bar / 2 - 1}" y2="${y + bar / 2 - 1}" stroke="#1a202c"/>`);
      out.push(`<line x1="${x(s.medianMs).toFixed(1)}" x2="${x(s.medianMs).toFixed(1)}" y1="${y}" y2="${y + bar - 2}" stroke="#1a202c"/>`);
      y += bar;
    }
    y += 8;
  }
  const axis: string[] = [`<line x1="${left}" x2="${left + width}" y1="${y}" y2="${y}" stroke="#1a202c"/>`];
  for (let v = lo; v <= hi; v *= 10) {
    axis.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${top - 4}" y2="${y + 4}" stroke="#e2e8f0"/><text x="${x(v)}" y="${y + 16}" text-anchor="middle">${v >= 1 ? v : v.toPrecision(1)}</text>`);
  }
  axis.push(`<text x="${left + width / 2}" y="${y + 32}" text-anchor="middle">time per run (ms, log scale); bar: min, whisker: min..max, tick: median</text>`);
  const engines = [...new Set(rows.flatMap((r) => r.engines.map((e) => e.engine)))];
  const legend = engines.map((e, i) => `<rect x="${left + i * 90}" y="26" width="10" height="10" fill="${COLORS[e] ?? '#718096'}"/><text x="${left + i * 90 + 14}" y="35">${esc(e)}</text>`);
  const h = y + 44;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 30}" height="${h}" viewBox="0 0 ${left + width + 30} ${h}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="16" font-size="13" font-weight="bold">${esc(title)}</text>
${legend.join('\n')}
${axis.join('\n')}
${out.join('\n')}
</svg>
`;
}
