/**
 * The demo page's live migration (issue 14, item 5; host/web/demo/migrate-view.ts): the ticker
 * guest (guests/demo/ticker.c: a line per round while it rewrites a moving window of its 8 MiB)
 * runs in the page's Worker; a click on Migrate mid-run moves it to a second Worker with
 * pre-copy over a MessageChannel. The panel shows at least one live round as it happens, then
 * the summary and a chart of the rounds; the guest runs on in the new worker to its end, and the terminal's text is the
 * unmigrated run's (guests/expected/demo/ticker.txt, QEMU's output) line for line, with its
 * final checksum: no line lost, doubled or garbled at the switch.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { haveChromium, root, shots, useDemo } from './chromium';

interface Round { round: number; pages: number; stopAndCopy?: boolean }
declare const window: {
  wasmvisorDemo: {
    terminalText(): string;
    vm: { state: string; exitCode?: number; load(image: string, opts: { name?: string; mode?: string; autostart?: boolean }): Promise<void>; resume(): void };
    select(path: string): Promise<void>;
    last?: { counters: { wallMs: number; instructions: number } };
    migration: { rounds: Round[]; summary?: { rounds: Round[]; totalMs: number; downtimeMs: number }; error?: string; busy: boolean };
  };
};

const waitText = (page: Page, s: string): Promise<unknown> =>
  page.waitForFunction((t) => window.wasmvisorDemo?.terminalText().includes(t) ?? false, s, { timeout: 60_000 });
const migrated = async (page: Page, worker: number): Promise<void> => {
  await page.waitForFunction((w) => !window.wasmvisorDemo.migration.busy && document.querySelector('#migrate-worker')?.textContent === `guest in worker ${w}`, worker, { timeout: 60_000 });
};
const text = (page: Page): Promise<string> => page.evaluate(() => window.wasmvisorDemo.terminalText());
const lines = async (page: Page): Promise<string[]> => (await text(page)).split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

describe.skipIf(!haveChromium)('demo page: live migration between two Workers', () => {
  const demo = useDemo();

  it('migrates the ticker guest mid-run: rounds live, a summary, and the unmigrated run\'s output', async () => {
    const page = demo.page;
    const want = readFileSync(join(root, 'guests/expected/demo/ticker.txt'), 'utf8').split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
    expect(want[want.length - 1]).toMatch(/^ticker: done, 240 rounds, checksum 0x[0-9a-f]{16}$/);
    await page.goto(`${demo.server.url}?guest=demo/ticker.elf`);
    expect(await page.locator('#migrate-worker').textContent()).toBe('guest in worker 1');
    expect(await page.locator('#migrate-table tr').count()).toBe(0);
    await page.waitForFunction(() => window.wasmvisorDemo?.terminalText().includes('ticker: round 2/240'), null, { timeout: 60_000 });

    // The rounds are on the page while the guest still runs in the first worker.
    const before = await page.evaluate(() => window.wasmvisorDemo.last!.counters);
    await page.click('#migrate');
    await page.waitForFunction(() => document.querySelectorAll('#migrate-table tr.round').length >= 1, null, { timeout: 60_000 });
    const live = await page.evaluate(() => ({ busy: window.wasmvisorDemo.migration.busy, text: window.wasmvisorDemo.terminalText() }));
    expect(live.busy).toBe(true);
    expect(live.text).not.toContain('ticker: done');
    const first = await page.locator('#migrate-table tr.round').first().locator('td').allTextContents();
    expect(first[0]).toBe('1');
    expect(Number(first[1].replaceAll(',', ''))).toBeGreaterThan(0);
    expect(first[4]).toMatch(/^[\d.]+ ms$/);

    // The summary, with the stop-and-copy round last; the guest had not finished.
    await page.waitForFunction(() => !window.wasmvisorDemo.migration.busy, null, { timeout: 60_000 });
    const m = await page.evaluate(() => ({ ...window.wasmvisorDemo.migration, text: window.wasmvisorDemo.terminalText() }));
    expect(m.error).toBeUndefined();
    expect(m.text).not.toContain('ticker: done');
    const note = await page.locator('#migrate-note').textContent();
    expect(note).toMatch(/^migrated to worker 2: total [\d.]+ ms, downtime [\d.]+ ms, \d+ rounds \(pages [\d,]+(, [\d,]+)*, stop-and-copy [\d,]+\), [\d,]+ bytes sent$/);
    const rounds = m.summary!.rounds;
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    expect(rounds.map((r) => r.round)).toEqual(rounds.map((_, i) => i + 1));
    expect(rounds.map((r) => r.stopAndCopy === true)).toEqual(rounds.map((_, i) => i === rounds.length - 1));
    expect(m.summary!.downtimeMs).toBeLessThanOrEqual(m.summary!.totalMs);
    expect(await page.locator('#migrate-table tr').count()).toBe(1 + rounds.length); // heading, rounds, stop-and-copy
    expect(await page.locator('#migrate-worker').textContent()).toBe('guest in worker 2');
    // The chart: a bar per round (pages), the dirty rate as a line (none for the stop-and-copy).
    const chart = await page.evaluate(() => (window.wasmvisorDemo.migration as unknown as { chartData: (number | null)[][] }).chartData);
    expect(chart[0]).toEqual(rounds.map((_, i) => i + 1));
    expect(chart[1]).toEqual(rounds.map((r) => r.pages));
    expect(chart[2].map((v) => v === null)).toEqual(rounds.map((r) => r.stopAndCopy === true));
    expect(await page.locator('#migrate-chart canvas').count()).toBe(1);
    await page.screenshot({ path: join(shots, 'migrate.png') });
    // The new worker's counters go on from the old one's: run time and instructions do not go back.
    await page.waitForFunction((b) => (window.wasmvisorDemo.last?.counters.instructions ?? 0) > b, before.instructions);
    const after = await page.evaluate(() => window.wasmvisorDemo.last!.counters);
    expect(after.wallMs).toBeGreaterThan(before.wallMs);

    // The guest goes on in the second worker to its end; the terminal is the unmigrated run's.
    await page.waitForFunction(() => window.wasmvisorDemo.terminalText().includes('[guest exited with code'), null, { timeout: 120_000 });
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.exitCode)).toBe(0);
    expect(await lines(page)).toEqual([...want, '[guest exited with code 0]']);
    expect(demo.pageErrors).toEqual([]);
  }, 240_000);

  it('echo: a half-typed line moves with the guest, and keys go to the new worker', async () => {
    const page = demo.page;
    await page.goto(`${demo.server.url}?guest=demo/echo.elf`);
    await waitText(page, 'type a line');
    await page.click('#terminal');
    await page.keyboard.type('hello');
    await page.keyboard.press('Enter');
    await waitText(page, 'HELLO');
    await page.keyboard.type('ab');
    await waitText(page, '> ab');
    await page.click('#migrate');
    await migrated(page, 2);
    expect(await page.evaluate(() => window.wasmvisorDemo.migration.error)).toBeUndefined();
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.state)).toBe('running');
    await page.click('#terminal'); // (the button took the focus)
    await page.keyboard.type('c');
    await page.keyboard.press('Enter');
    await waitText(page, 'ABC');
    // And once more: worker 2 to worker 3.
    await page.click('#migrate');
    await migrated(page, 3);
    await page.click('#terminal');
    await page.keyboard.type('quit');
    await page.keyboard.press('Enter');
    await waitText(page, '[guest exited with code 0]');
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.exitCode)).toBe(0);
    const l = await lines(page);
    expect(l.slice(l.indexOf('> hello'))).toEqual(['> hello', 'HELLO', '> abc', 'ABC', '> quit', 'bye', '[guest exited with code 0]']);
    expect(demo.pageErrors).toEqual([]);
  }, 120_000);

  it('VM mode: minikernel migrated while paused stays paused in the new worker, and resumed runs to the unmigrated output', async () => {
    const page = demo.page;
    await page.goto(`${demo.server.url}?guest=minikernel/minikernel.elf`);
    await waitText(page, '[guest exited with code 0]');
    const want = await lines(page);
    expect(want.slice(-2)).toEqual(['minikernel: shutdown', '[guest exited with code 0]']);
    // The same guest loaded, not started: the migration's stop-and-copy runs with no run loop to stop.
    await page.evaluate(async () => {
      await window.wasmvisorDemo.vm.load('guests/minikernel/minikernel.elf', { name: 'minikernel/minikernel.elf', mode: 'vm', autostart: false });
    });
    // (the terminal still shows the first run)
    await page.evaluate(() => (window as unknown as { wasmvisorDemo: { term: { reset(): void } } }).wasmvisorDemo.term.reset());
    await page.waitForFunction(() => window.wasmvisorDemo.vm.state === 'paused');
    await page.click('#migrate');
    await migrated(page, 2);
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.state)).toBe('paused');
    expect((await text(page)).trim()).toBe('');
    const rounds = await page.evaluate(() => window.wasmvisorDemo.migration.summary!.rounds);
    // Nothing runs: round 1 sends the guest's pages, round 2 finds none dirty and stops.
    expect(rounds.map((r) => r.stopAndCopy === true)).toEqual([false, true]);
    expect(rounds[0].pages).toBeGreaterThan(0);
    await page.click('#pause'); // (Resume)
    await waitText(page, '[guest exited with code 0]');
    expect(await lines(page)).toEqual(want);
    expect(demo.pageErrors).toEqual([]);
  }, 120_000);

  it('a guest that has exited cannot be migrated: the button is off and the API says why in one line', async () => {
    const page = demo.page;
    await page.goto(`${demo.server.url}?guest=demo/hello.elf`);
    await waitText(page, '[guest exited with code 0]');
    expect(await page.locator('#migrate').isDisabled()).toBe(true);
    const error = await page.evaluate(() => (window.wasmvisorDemo.vm as unknown as { migrate(): Promise<unknown> }).migrate().then(() => 'migrated', (e: Error) => e.message));
    expect(error).toBe('wasmvisor: cannot migrate: the guest is exited');
    expect(await page.locator('#migrate-worker').textContent()).toBe('guest in worker 1');
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.state)).toBe('exited');
    expect(demo.pageErrors).toEqual([]);
  }, 60_000);
});
