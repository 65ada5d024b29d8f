/**
 * The demo page's layout from a phone to a wide monitor (issue 15, item 5): at 360, 400, 1024, 1400
 * and 2560 px the page has no horizontal overflow, the terminal and every panel are on screen
 * with a size, and no two of them overlap; the charts over time (uPlot) have their axes and
 * units. Screenshots go to test/browser/screenshots/layout-WIDTH.png (and layout-xen-WIDTH.png)
 * for a person to look at.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { haveChromium, shots, useDemo } from './chromium';

declare const window: { wasmvisorDemo: { samples: number; vm: { state: string }; mode: string; xen?: { domains: { life: string }[] } } };

interface Box { id: string; x: number; y: number; w: number; h: number }

/** Overflow and the boxes of the terminal and the visible panels, measured in the page. */
async function measure(page: Page): Promise<{ scrollWidth: number; innerWidth: number; boxes: Box[] }> {
  return page.evaluate(() => {
    const els = [document.querySelector('#terminal .xterm-screen'), ...document.querySelectorAll('main .panels:not([hidden]) > .panel, body > .panel:not([hidden])')];
    const boxes = els.filter((e): e is Element => e !== null).map((e, i) => {
      const r = e.getBoundingClientRect();
      return { id: i === 0 ? 'terminal' : e.id || (e.querySelector('h2')?.textContent ?? `#${i}`).trim().slice(0, 30), x: r.x + scrollX, y: r.y + scrollY, w: r.width, h: r.height };
    });
    return { scrollWidth: document.scrollingElement!.scrollWidth, innerWidth, boxes };
  });
}

function overlap(a: Box, b: Box): boolean {
  return a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5;
}

function checkLayout(m: { scrollWidth: number; innerWidth: number; boxes: Box[] }, width: number): void {
  expect(m.innerWidth).toBe(width);
  expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth);
  expect(m.boxes[0].id).toBe('terminal');
  expect(m.boxes.length).toBeGreaterThanOrEqual(3);
  for (const b of m.boxes) {
    expect(b.w, `${b.id} width`).toBeGreaterThan(100);
    expect(b.h, `${b.id} height`).toBeGreaterThan(20);
    expect(b.x, `${b.id} left`).toBeGreaterThanOrEqual(0);
    expect(b.x + b.w, `${b.id} right`).toBeLessThanOrEqual(width + 0.5);
  }
  for (let i = 0; i < m.boxes.length; i++) {
    for (let j = i + 1; j < m.boxes.length; j++) {
      expect(overlap(m.boxes[i], m.boxes[j]), `${m.boxes[i].id} overlaps ${m.boxes[j].id}`).toBe(false);
    }
  }
}

describe.skipIf(!haveChromium)('demo page layout', () => {
  const demo = useDemo();

  for (const width of [360, 400, 1024, 1400, 2560]) {
    it(`at ${width} px: no horizontal overflow, terminal and panels visible and apart, charts with axes`, async () => {
      const page = demo.page;
      demo.pageErrors.length = 0;
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${demo.server.url}?guest=vmbench/tlbstress.elf`);
      // tlbstress runs long enough for several samples (rates between them) before it exits.
      await page.waitForFunction(() => window.wasmvisorDemo?.samples > 8, null, { timeout: 60_000 });
      await page.waitForTimeout(300);
      const m = await measure(page);
      await page.screenshot({ path: join(shots, `layout-${width}.png`), fullPage: true });
      checkLayout(m, width);
      // The terminal: 80 columns when there is room, fewer (not a scrolled page) on a phone.
      const cols = await page.evaluate(() => (window as unknown as { wasmvisorDemo: { term: { cols: number } } }).wasmvisorDemo.term.cols);
      if (width >= 1024) expect(cols).toBe(80); else expect(cols).toBeLessThan(80);
      // Each chart over time is a uPlot with the x axis labelled in seconds and the y axis with its unit.
      type Chart = { axisLabels: string[]; length: number; series: string[] };
      const charts = await page.evaluate(() => {
        const c = (window as unknown as { wasmvisorDemo: { charts: Record<'ips' | 'exits' | 'tlb', Chart> } }).wasmvisorDemo.charts;
        return [c.ips, c.exits, c.tlb].map((x) => ({ axes: x.axisLabels, points: x.length, series: [...x.series] }));
      });
      expect(charts.map((c) => c.axes)).toEqual([
        ['guest run time (s)', 'instructions/s'],
        ['guest run time (s)', 'exits/s'],
        ['guest run time (s)', 'per second'],
      ]);
      // A rate per sample since the first; the VM's exits by reason include its first-touch faults.
      for (const c of charts) expect(c.points).toBeGreaterThanOrEqual(5);
      expect(charts[0].series).toEqual(['instructions/s']);
      expect(charts[1].series).toContain('guest-page fault: first touch of RAM');
      expect(charts[2].series).toEqual(['TLB misses/s', '1D walks/s', '2D walks/s']);
      const widest = await page.evaluate(() => Math.max(...[...document.querySelectorAll('.chart canvas')].map((c) => c.getBoundingClientRect().right)));
      expect(widest).toBeLessThanOrEqual(width);
      expect(demo.pageErrors).toEqual([]);
    }, 120_000);
  }

  for (const width of [360, 400, 1400]) {
    it(`Xen view at ${width} px: no horizontal overflow, terminal and domain panels apart`, async () => {
      const page = demo.page;
      demo.pageErrors.length = 0;
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${demo.server.url}?xen=xen/demo.cfg`);
      await page.waitForFunction(() => window.wasmvisorDemo?.mode === 'xen' && (window.wasmvisorDemo.xen?.domains.length ?? 0) >= 2, null, { timeout: 60_000 });
      await page.waitForTimeout(500);
      const m = await measure(page);
      await page.screenshot({ path: join(shots, `layout-xen-${width}.png`), fullPage: true });
      checkLayout(m, width);
      expect(demo.pageErrors).toEqual([]);
    }, 120_000);
  }
});
