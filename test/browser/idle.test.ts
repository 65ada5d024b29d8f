/**
 * The demo page at rest costs next to nothing (docs/performance.md, "The demo page, fifth
 * round"): the terminal's cursor blinks by a class toggled twice a second
 * (host/web/demo/cursor-blink.ts), not by xterm.js's frame-rate CSS animation, and once the guest
 * has exited the page stops taking statistics samples that repeat the last one (host/web/api.ts,
 * repeatsIdle), after the one that shows the run's mean.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { haveChromium, openDemo, type DemoBrowser } from './chromium';

interface Handle {
  samples: number;
  vm: { state: string; exitCode?: number; until(pred: (s: string) => boolean): Promise<string> };
}
declare const window: { wasmvisorDemo?: Handle };

/** The cursor cell's colours and the terminal's blink class, now. */
const cursorNow = (page: Page): Promise<{ bg: string; fg: string; off: boolean; animation: string; focused: boolean }> => page.evaluate(() => {
  const c = document.querySelector('.xterm-cursor')!;
  const st = getComputedStyle(c);
  return {
    bg: st.backgroundColor, fg: st.color, off: document.querySelector('.xterm')!.classList.contains('cursor-off'),
    animation: st.animationName, focused: document.activeElement?.classList.contains('xterm-helper-textarea') === true,
  };
});

describe.skipIf(!haveChromium)('the demo page at rest', () => {
  let demo: DemoBrowser | undefined;
  let page: Page;

  beforeAll(async () => {
    demo = await openDemo();
    page = demo.page;
    await page.goto(`${demo.server.url}?guest=demo/hello.elf`);
    await page.waitForFunction(() => window.wasmvisorDemo !== undefined, null, { timeout: 30_000 });
    await page.evaluate(() => window.wasmvisorDemo!.vm.until((s) => s === 'exited' || s === 'error'));
  }, 60_000);

  afterAll(async () => {
    await demo?.close();
  });

  it('the focused terminal\'s cursor blinks: shown and hidden in turn, each about half a second, with no CSS animation', async () => {
    expect(await page.evaluate(() => window.wasmvisorDemo!.vm.exitCode)).toBe(0);
    const seen: Awaited<ReturnType<typeof cursorNow>>[] = [];
    for (let i = 0; i < 12; i++) {
      seen.push(await cursorNow(page));
      await page.waitForTimeout(125);
    }
    expect(seen.every((s) => s.focused)).toBe(true);
    expect(seen.every((s) => s.animation === 'none')).toBe(true);
    // Shown: xterm.js's block cursor (white cell, black character); hidden: the cell's own
    // background and the character in the cursor's colour, as xterm.js's own blink's off phase.
    const on = seen.filter((s) => !s.off);
    const off = seen.filter((s) => s.off);
    expect(on.length).toBeGreaterThan(0);
    expect(off.length).toBeGreaterThan(0);
    for (const s of on) expect([s.bg, s.fg]).toEqual(['rgb(255, 255, 255)', 'rgb(0, 0, 0)']);
    for (const s of off) expect([s.bg, s.fg]).toEqual(['rgba(0, 0, 0, 0)', 'rgb(255, 255, 255)']);
    // 12 looks 125 ms apart span 1.4 s, i.e. at least two changes of a 500 ms half period (a
    // loaded machine may delay a toggle, not skip all of them).
    const changes = seen.slice(1).filter((s, i) => s.off !== seen[i].off).length;
    expect(changes).toBeGreaterThanOrEqual(2);
  });

  it('output shows the cursor at once', async () => {
    await page.waitForFunction(() => document.querySelector('.xterm')!.classList.contains('cursor-off'), null, { timeout: 5000, polling: 20 });
    // (an xterm.js write, as the guest's output goes to the terminal)
    await page.evaluate(() => new Promise<void>((resolve) => {
      (window as unknown as { wasmvisorDemo: { term: { write(s: string, cb: () => void): void } } }).wasmvisorDemo.term.write('x', resolve);
    }));
    expect((await cursorNow(page)).off).toBe(false);
  });

  it('without focus the cursor is drawn steady (an outline) and the blink stops', async () => {
    await page.click('body', { position: { x: 1000, y: 740 } });
    const a = await cursorNow(page);
    await page.waitForTimeout(700);
    const b = await cursorNow(page);
    expect(a.focused).toBe(false);
    expect([a.off, b.off]).toEqual([false, false]);
    expect(await page.evaluate(() => document.querySelector('.xterm-cursor')!.classList.contains('xterm-cursor-outline'))).toBe(true);
  });

  it('after the exit, no statistics samples while nothing changes; the panel shows the run\'s mean', async () => {
    const before = await page.evaluate(() => window.wasmvisorDemo!.samples);
    await page.waitForTimeout(1000); // ten sample intervals
    const after = await page.evaluate(() => window.wasmvisorDemo!.samples);
    expect(after).toBe(before);
    expect(await page.evaluate(() => document.querySelector('#ips')!.textContent)).toMatch(/ mean$/);
  });
});
