/**
 * Migration progress and summary (docs/migration.md "Progress"): on a terminal one stderr line,
 * rewritten with \r after each round (round, pages sent, dirty rate, estimated downtime); at the
 * end a summary (total time, downtime, pages per round, pages fetched on demand, bytes); and
 * --plot FILE.svg, a small hand-written SVG of the pages per round and the dirty rate.
 */
import { writeFileSync } from 'node:fs';
import type { MigrateOptions } from './options';

export interface RoundStats {
  round: number;
  /** Pages sent in the round. */
  pages: number;
  bytes: number;
  ms: number;
  /** Pages dirtied per second while the round was sent. */
  dirtyRate: number;
  estDowntimeMs: number;
  stopAndCopy?: boolean;
  /** Post-copy: the pages sent after the switch (pushed and fetched); estDowntimeMs is the downtime. */
  postCopy?: boolean;
}

export interface Summary {
  totalMs: number;
  downtimeMs: number;
  bytes: number;
  rounds: RoundStats[];
  fetchedOnDemand: number;
}

const n = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(0));

export class Progress {
  private shown = false;
  constructor(private readonly io: { stderr(t: string): void; isTTY: boolean }) {}

  round(rounds: RoundStats[], pagesSent: number): void {
    if (!this.io.isTTY) return;
    const r = rounds[rounds.length - 1];
    const line = `migrating: round ${r.round}, ${n(pagesSent)} pages sent (${n(r.pages)} this round), dirty ${n(r.dirtyRate)} pages/s, est. downtime ${ms(r.estDowntimeMs)} ms`;
    this.io.stderr(`\r${line}\x1b[K`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.io.stderr('\r\x1b[K');
    this.shown = false;
  }

  summary(opts: MigrateOptions, s: Summary, to = opts.to!.text): void {
    this.clear();
    this.io.stderr(`wasmvisor: migrated to ${to} (${opts.mode}): ${summaryText(s)}\n`);
    if (opts.plot) writeFileSync(opts.plot, plotSvg(s));
  }
}

/** "total 460 ms, downtime 114 ms, 5 rounds (pages 664, …, stop-and-copy 42), 0 pages fetched on demand, 4,585,493 bytes sent" (also xl migrate's answer). */
export function summaryText(s: Summary): string {
  const per = s.rounds.map((r) => (r.stopAndCopy ? `stop-and-copy ${n(r.pages)}` : r.postCopy ? `post-copy ${n(r.pages)}` : n(r.pages))).join(', ');
  return `total ${ms(s.totalMs)} ms, downtime ${ms(s.downtimeMs)} ms, ${s.rounds.length} rounds (pages ${per}), ${n(s.fetchedOnDemand)} pages fetched on demand, ${n(s.bytes)} bytes sent`;
}

/** Bars: pages sent per round (left axis); line: dirty rate in pages/s (right axis). */
export function plotSvg(s: Summary): string {
  const W = 640, H = 320, L = 60, R = 70, T = 30, B = 40;
  const w = W - L - R, h = H - T - B;
  const rounds = s.rounds;
  const maxPages = Math.max(1, ...rounds.map((r) => r.pages));
  const maxRate = Math.max(1, ...rounds.map((r) => r.dirtyRate));
  const bw = w / Math.max(1, rounds.length);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="18" font-size="13">Migration: pages per round (bars), dirty rate (line); downtime ${ms(s.downtimeMs)} ms, total ${ms(s.totalMs)} ms</text>`);
  out.push(`<line x1="${L}" y1="${T + h}" x2="${L + w}" y2="${T + h}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${T + h}" stroke="black"/><line x1="${L + w}" y1="${T}" x2="${L + w}" y2="${T + h}" stroke="black"/>`);
  out.push(`<text x="${L - 6}" y="${T + 4}" text-anchor="end">${n(maxPages)}</text><text x="${L - 6}" y="${T + h}" text-anchor="end">0</text>`);
  out.push(`<text x="${L + w + 6}" y="${T + 4}">${n(maxRate)}/s</text><text x="${L + w + 6}" y="${T + h}">0</text>`);
  const pts: string[] = [];
  rounds.forEach((r, i) => {
    const bh = (r.pages / maxPages) * h;
    const x = L + i * bw;
    out.push(`<rect x="${(x + bw * 0.15).toFixed(1)}" y="${(T + h - bh).toFixed(1)}" width="${(bw * 0.7).toFixed(1)}" height="${bh.toFixed(1)}" fill="${r.stopAndCopy ? '#d62728' : r.postCopy ? '#2ca02c' : '#1f77b4'}"><title>round ${r.round}: ${r.pages} pages</title></rect>`);
    out.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${T + h + 14}" text-anchor="middle">${r.stopAndCopy ? 'S&amp;C' : r.postCopy ? 'post' : r.round}</text>`);
    if (!r.stopAndCopy && !r.postCopy) pts.push(`${(x + bw / 2).toFixed(1)},${(T + h - (r.dirtyRate / maxRate) * h).toFixed(1)}`);
  });
  if (pts.length) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="#ff7f0e" stroke-width="2"/>`);
  out.push(`<text x="${L + w / 2}" y="${H - 8}" text-anchor="middle">round</text>`);
  out.push('</svg>\n');
  return out.join('\n');
}
