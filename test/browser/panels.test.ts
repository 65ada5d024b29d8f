/**
 * The demo's panels draw at most once a frame and only while on screen (host/web/demo/panels.ts;
 * docs/performance.md, "The demo page, sixth round"): a panel below the fold is not drawn during
 * the run, and shows the run's exact final figures as soon as it is scrolled into view.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { haveChromium, openDemo, type DemoBrowser } from './chromium';

interface Stats {
  counters: { instructions: number; wallMs: number; vmExits: number };
  exits: { reason: string; count: number }[];
  walk?: { steps: unknown[] };
  combo?: string;
}
interface Handle {
  samples: number;
  readonly last?: Stats;
  panels: { draws: number };
  vm: { state: string; exitCode?: number; until(pred: (s: string) => boolean): Promise<string> };
}
declare const window: { wasmvisorDemo?: Handle };

/** A frame or two: IntersectionObserver reports, then the panels draw in the next frame. */
const frames = (page: Page): Promise<void> => page.evaluate(() => new Promise<void>((resolve) => {
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 50)));
}));

describe.skipIf(!haveChromium)('the demo page\'s panels', () => {
  let demo: DemoBrowser | undefined;
  let page: Page;

  beforeAll(async () => {
    demo = await openDemo();
    page = demo.page;
    await page.goto(`${demo.server.url}?guest=minikernel/minikernel.elf`);
    await page.waitForFunction(() => window.wasmvisorDemo !== undefined, null, { timeout: 30_000 });
    await page.evaluate(() => window.wasmvisorDemo!.vm.until((s) => s === 'exited' || s === 'error'));
    await frames(page);
  }, 60_000);

  afterAll(async () => {
    await demo?.close();
  });

  it('a panel below the fold is not drawn during the run; scrolled into view it shows the final walk and lab row', async () => {
    expect(await page.evaluate(() => window.wasmvisorDemo!.vm.exitCode)).toBe(0);
    // (handle.last would draw every panel: the page's state is read without it first)
    const before = await page.evaluate(() => ({
      walkTop: document.getElementById('walk-panel')!.getBoundingClientRect().top,
      labTop: document.getElementById('lab-panel')!.getBoundingClientRect().top,
      walk: [...document.querySelectorAll('#walk text')].map((t) => t.textContent ?? ''),
      labRows: document.querySelectorAll('#lab-table tbody tr').length,
      ips: document.getElementById('ips')!.textContent,
      samples: window.wasmvisorDemo!.samples,
    }));
    expect(before.walkTop).toBeGreaterThan(760);
    expect(before.labTop).toBeGreaterThan(760);
    // Only the reset's picture: no sample's walk, no lab row, while the guest ran ten samples a
    // second and the panels on screen followed them (the mean after the exit).
    expect(before.walk[0]).toBe('no page walk yet');
    expect(before.labRows).toBe(0);
    expect(before.samples).toBeGreaterThan(1);
    expect(before.ips).toMatch(/ mean$/);

    await page.evaluate(() => document.getElementById('walk-panel')!.scrollIntoView());
    await frames(page);
    await page.evaluate(() => document.getElementById('lab-panel')!.scrollIntoView());
    await frames(page);
    const draws = await page.evaluate(() => window.wasmvisorDemo!.panels.draws);
    const after = await page.evaluate(() => ({
      walk: [...document.querySelectorAll('#walk text')].map((t) => t.textContent ?? ''),
      lab: [...document.querySelectorAll('#lab-table tbody tr')].map((tr) => (tr as HTMLTableRowElement).dataset.combo),
      labCells: [...document.querySelectorAll('#lab-table tbody td')].map((td) => td.textContent ?? ''),
    }));
    // Reading last now draws nothing more: the panels already show it.
    const last = await page.evaluate(() => {
      const s = window.wasmvisorDemo!.last!;
      return { combo: s.combo, steps: s.walk?.steps.length ?? 0, instructions: s.counters.instructions, wallMs: s.counters.wallMs };
    });
    expect(await page.evaluate(() => window.wasmvisorDemo!.panels.draws)).toBe(draws);
    expect(last.steps).toBeGreaterThan(0);
    expect(after.walk[0]).not.toBe('no page walk yet');
    expect(after.lab).toEqual([last.combo]);
    expect(after.labCells[0]).toBe(last.combo);
    // The panels on screen throughout show the final sample exactly.
    const shown = await page.evaluate(() => ({
      instructions: document.getElementById('instructions')!.textContent,
      ips: document.getElementById('ips')!.textContent,
    }));
    expect(shown.instructions).toBe(`${last.instructions.toLocaleString('en')} instructions retired in ${(last.wallMs / 1000).toFixed(2)} s`);
    expect(shown.ips).toMatch(/ mean$/);
  });

  it('the walk drawn on scrolling is the final sample\'s (its GVA and HPA), and stays while off screen', async () => {
    const drawn = await page.evaluate(() => [...document.querySelectorAll('#walk text')].map((t) => t.textContent ?? ''));
    const w = await page.evaluate(() => {
      const walk = window.wasmvisorDemo!.last!.walk as unknown as { va: bigint; pa?: bigint };
      return { va: walk.va.toString(16), pa: walk.pa?.toString(16) };
    });
    expect(w.pa).toBeDefined();
    expect(drawn[0]).toMatch(new RegExp(`GVA 0x0*${w.va} -> HPA 0x0*${w.pa}$`));
    await page.evaluate(() => document.documentElement.scrollTo(0, 0));
    await frames(page);
    expect(await page.evaluate(() => [...document.querySelectorAll('#walk text')].map((t) => t.textContent ?? ''))).toEqual(drawn);
  });

  it('a bare-board guest never builds the hidden exits-over-time chart; a VM guest picked next builds and fills it', async () => {
    await page.goto(`${demo!.server.url}?guest=demo/hello.elf`);
    await page.waitForFunction(() => window.wasmvisorDemo !== undefined, null, { timeout: 30_000 });
    await page.evaluate(() => window.wasmvisorDemo!.vm.until((s) => s === 'exited' || s === 'error'));
    type Charts = { exits: { built: boolean; axisLabels: string[]; length: number }; ips: { built: boolean; length: number } };
    const chartsNow = () => page.evaluate(() => {
      const d = window.wasmvisorDemo as unknown as { last?: unknown; charts: Charts };
      void d.last; // (draws every panel up to the last sample)
      return {
        hidden: document.getElementById('exits-time')!.hidden,
        exitsBuilt: d.charts.exits.built, exitsAxes: d.charts.exits.axisLabels, exitsPoints: d.charts.exits.length,
        canvases: document.querySelectorAll('#exits-time canvas').length,
        ipsBuilt: d.charts.ips.built,
      };
    });
    const bare = await chartsNow();
    expect(bare).toEqual({ hidden: true, exitsBuilt: false, exitsAxes: [], exitsPoints: 0, canvases: 0, ipsBuilt: true });
    await page.evaluate(() => (window.wasmvisorDemo as unknown as { select(p: string): Promise<void> }).select('minikernel/minikernel.elf'));
    await page.evaluate(() => window.wasmvisorDemo!.vm.until((s) => s === 'exited' || s === 'error'));
    await page.evaluate(() => document.getElementById('exits-time')!.scrollIntoView());
    await frames(page);
    const vm = await chartsNow();
    expect(vm.hidden).toBe(false);
    expect(vm.exitsBuilt).toBe(true);
    expect(vm.exitsAxes).toEqual(['guest run time (s)', 'exits/s']);
    expect(vm.canvases).toBeGreaterThan(0);
    expect(vm.exitsPoints).toBeGreaterThan(0);
  });
});
