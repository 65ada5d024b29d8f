/**
 * The demo page's techniques lab (issue 13, part 5): the technique picker lists the lab's
 * registry (host/lab/combos.ts) with the combinations this build lacks disabled; picking one
 * reloads the VM guest under it; "Run all techniques" runs minikernel under every supported
 * combination in turn, each to its exit, and the table gets one row per combination, filled
 * from the worker's stats messages (?stats=messages) with the figures each technique is about.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { COMBOS, isSupported } from '../../host/lab/combos';
import { COLUMNS } from '../../host/lab/table';
import { haveChromium, shots, useDemo } from './chromium';
import { join } from 'node:path';

interface Handle {
  vm: { state: string; exitCode?: number; combo: string; mode: string };
  last?: { combo?: string; exits: { count: number }[]; counters: Record<string, number> };
  terminalText(): string;
  runLab(): Promise<void>;
}
declare const window: { wasmvisorDemo: Handle };
declare const document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null; disabled?: boolean; value?: string; title?: string; dataset?: Record<string, string> }>; getElementById(id: string): { textContent: string | null; disabled?: boolean } | null };

const supported = COMBOS.filter(isSupported).map((c) => c.id);

/**
 * Scroll the lab's panel into view, as its reader does: the panels draw only while on screen
 * (host/web/demo/panels.ts), then the latest sample within a frame.
 */
async function showLab(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((resolve) => {
    (document as unknown as { getElementById(id: string): { scrollIntoView(): void } }).getElementById('lab-panel').scrollIntoView();
    requestAnimationFrame(() => requestAnimationFrame(() => resolve()));
  }));
}

/** The lab table as { combo: { heading: cell } } (scrolled into view). */
async function labTable(page: Page): Promise<Record<string, Record<string, string>>> {
  await showLab(page);
  return page.evaluate(() => {
    const heads = Array.from(document.querySelectorAll('#lab-table thead th')).map((th) => th.textContent ?? '');
    const rows: Record<string, Record<string, string>> = {};
    for (const tr of Array.from(document.querySelectorAll('#lab-table tbody tr'))) {
      const cells = Array.from((tr as unknown as { cells: ArrayLike<{ textContent: string | null }> }).cells).map((td) => td.textContent ?? '');
      rows[cells[0]] = Object.fromEntries(heads.map((h, i) => [h, cells[i]]));
    }
    return rows;
  });
}
const num = (s: string) => Number(s.replace(/,/g, ''));

describe.skipIf(!haveChromium)('demo page: the techniques lab', () => {
  let page: Page;
  const demo = useDemo(async (d) => {
    page = d.page;
    await page.goto(`${d.server.url}?stats=messages`);
    await page.waitForFunction(() => window.wasmvisorDemo?.vm.state === 'exited', null, { timeout: 60_000 });
  }, 90_000);

  it('the technique picker lists every combination of the registry, the ones this build lacks disabled, hw+nested chosen', async () => {
    const opts = await page.evaluate(() => Array.from(document.querySelectorAll('#technique option')).map((o) => ({ value: o.value, disabled: o.disabled, title: o.title })));
    expect(opts.map((o) => o.value)).toEqual(COMBOS.map((c) => c.id));
    expect(opts.map((o) => o.disabled)).toEqual(COMBOS.map((c) => !isSupported(c)));
    expect(opts.map((o) => o.title)).toEqual(COMBOS.map((c) => c.title));
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.combo)).toBe('hw+nested');
    // The default run already has its row.
    expect(Object.keys(await labTable(page))).toEqual(['hw+nested']);
  });

  it('picking trap+shadow reloads minikernel under it: same console text, and a second row', async () => {
    const before = await page.evaluate(() => window.wasmvisorDemo.terminalText());
    await page.selectOption('#technique', 'trap+shadow');
    await page.waitForFunction(() => window.wasmvisorDemo.vm.combo === 'trap+shadow' && window.wasmvisorDemo.vm.state === 'exited', null, { timeout: 60_000 });
    await page.waitForFunction(() => window.wasmvisorDemo.terminalText().includes('[guest exited with code 0]'));
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.exitCode)).toBe(0);
    expect(await page.evaluate(() => window.wasmvisorDemo.terminalText())).toBe(before);
    await showLab(page);
    await page.waitForFunction(() => document.querySelectorAll('#lab-table tbody tr').length === 2);
    expect(Object.keys(await labTable(page))).toEqual(['hw+nested', 'trap+shadow']);
    expect(await page.evaluate(() => document.getElementById('vm-mode')?.textContent)).toBe('VM: trap-and-emulate, shadow page tables');
  }, 90_000);

  it('Run all techniques: one row per supported combination, each with the figures of its technique, the last one equal to the last stats sample', async () => {
    await page.click('#lab-run');
    await page.waitForFunction(() => document.getElementById('lab-run')?.disabled === true);
    await page.waitForFunction(() => document.getElementById('lab-run')?.disabled === false, null, { timeout: 240_000 });
    await page.waitForFunction(() => window.wasmvisorDemo.last?.combo === window.wasmvisorDemo.vm.combo);
    const t = await labTable(page);
    expect(Object.keys(t).sort()).toEqual([...supported].sort());
    for (const id of supported) {
      expect(Object.keys(t[id])).toEqual(['technique', ...COLUMNS.map((c) => c.head)]);
      expect(num(t[id].exits), id).toBeGreaterThan(0);
      expect(num(t[id]['guest insns']), id).toBeGreaterThan(1_000_000);
      // The kinds add up to the exits.
      expect(['SBI/hcall', 'MMIO', 'page flt', 'priv insn', 'irq', 'other'].reduce((a, h) => a + num(t[id][h]), 0), id).toBe(num(t[id].exits));
    }
    // Nested paging: 2D walks, nothing emulated, no shadows. Trap-and-emulate: every privileged
    // instruction exit emulated, shadows built and reused, 1D walks only.
    expect(num(t['hw+nested']['2D walks'])).toBeGreaterThan(0);
    expect(num(t['hw+nested'].emulated)).toBe(0);
    expect(t['hw+nested']['shadow blt/reu']).toBe('0/0');
    expect(num(t['trap+shadow'].emulated)).toBeGreaterThan(0);
    expect(num(t['trap+shadow'].emulated)).toBe(num(t['trap+shadow']['priv insn']));
    expect(t['trap+shadow']['shadow blt/reu']).toMatch(/^[1-9][\d,]*\/[1-9][\d,]*$/);
    expect(num(t['trap+shadow']['2D walks'])).toBe(0);
    expect(num(t['trap+shadow']['1D walks'])).toBeGreaterThan(0);
    // The last combination's row is the page's last sample.
    const last = await page.evaluate(() => ({ combo: window.wasmvisorDemo.vm.combo, exits: window.wasmvisorDemo.last!.exits.reduce((a, r) => a + r.count, 0), insns: window.wasmvisorDemo.last!.counters.instructions }));
    expect(last.combo).toBe(supported[supported.length - 1]);
    expect(num(t[last.combo].exits)).toBe(last.exits);
    expect(num(t[last.combo]['guest insns'])).toBe(last.insns);
    expect(await page.evaluate(() => document.getElementById('lab-note')?.textContent)).toBe('minikernel/minikernel.elf under every technique of this build');
    await page.locator('#lab-panel').screenshot({ path: join(shots, 'lab.png') });
    expect(demo.pageErrors).toEqual([]);
  }, 300_000);
});
