/**
 * The demo page's bootstrap (host/web/demo/boot.ts, inlined into index.html): the Worker runs
 * the address's guest before demo.js has loaded, and the page, once it has, shows that run as
 * if it had loaded the guest itself (Vm.adopt). demo.js is held back by the test (a playwright
 * route) until the worker has reported the guest's exit to the bootstrap.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page, Route } from 'playwright-core';
import { haveChromium, root, useDemo } from './chromium';

interface Handle {
  terminalText(): string;
  samples: number;
  last?: { counters: Record<string, number> };
  select(path: string, mode?: string): Promise<void>;
  vm: {
    state: string; exitCode?: number; mode: string; stateTimes: Record<string, number>; workerStateTimes: Record<string, number>;
    lastLoad?: { name: string; bytes: ArrayBuffer; mode: string };
  };
}
interface Boot { started: { received: { type: string; state?: string }[]; load?: { name: string; bytes: string; mode: string } } }
declare const window: { wasmvisorDemo?: Handle; wasmvisorBoot?: Boot };

const expected = (name: string): string => readFileSync(join(root, 'guests/expected/demo', name), 'utf8');

describe.skipIf(!haveChromium)('the demo page bootstrap', () => {
  let page: Page;
  const demo = useDemo((d) => void (page = d.page));

  /** Load `query` with demo.js held until `until` holds in the page, then let it load. */
  async function holdDemoJs(query: string, until: () => boolean): Promise<{ seenBeforeDemo: unknown }> {
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    await page.route('**/demo.js', async (route: Route) => { await released; await route.continue(); });
    try {
      await page.goto(`${demo.server.url}${query}`, { waitUntil: 'commit' });
      await page.waitForFunction(until, null, { timeout: 30_000 });
      const seenBeforeDemo = await page.evaluate(() => ({
        demo: window.wasmvisorDemo !== undefined,
        states: window.wasmvisorBoot!.started.received.filter((m) => m.type === 'state').map((m) => m.state),
        load: window.wasmvisorBoot!.started.load && { name: window.wasmvisorBoot!.started.load.name, mode: window.wasmvisorBoot!.started.load.mode, url: window.wasmvisorBoot!.started.load.bytes },
      }));
      release();
      // (the route is removed once demo.js went through it: removed earlier, playwright had
      // already let the request go on its own when the held handler continued it)
      await page.waitForFunction(() => window.wasmvisorDemo !== undefined, null, { timeout: 30_000 });
      return { seenBeforeDemo };
    } finally {
      release();
      await page.unroute('**/demo.js');
    }
  }

  it('runs ?guest= in the Worker before demo.js loads; the page then shows the whole run', async () => {
    const exited = (): boolean => window.wasmvisorBoot?.started.received.some((m) => m.type === 'state' && m.state === 'exited') === true;
    const { seenBeforeDemo } = await holdDemoJs('?guest=demo/hello.elf', exited);
    // The guest ran to its end with no demo.js: the bootstrap loaded it by URL, on the bare board.
    expect(seenBeforeDemo).toEqual({
      demo: false,
      states: ['loading', 'running', 'exited'],
      load: { name: 'demo/hello.elf', mode: 'bare', url: `${demo.server.url}guests/demo/hello.elf` },
    });
    await page.waitForFunction(() => window.wasmvisorDemo?.terminalText().includes('[guest exited with code 0]'), null, { timeout: 30_000 });
    const r = await page.evaluate(() => {
      const h = window.wasmvisorDemo!;
      return {
        text: h.terminalText(), state: document.querySelector('#state')?.textContent, exitCode: h.vm.exitCode, mode: h.vm.mode,
        picker: (document.querySelector('#guest') as HTMLSelectElement).value, url: location.search,
        // The worker's exit (its own clock) came before the page could show it (demo.js held).
        order: h.vm.workerStateTimes.running < h.vm.workerStateTimes.exited && h.vm.workerStateTimes.exited < h.vm.stateTimes.exited,
        lastLoad: h.vm.lastLoad && { name: h.vm.lastLoad.name, mode: h.vm.lastLoad.mode, size: h.vm.lastLoad.bytes.byteLength },
      };
    });
    // Every line the guest printed, once, then the exit note, as when the page loads the guest.
    const lines = r.text.split('\n').map((l) => l.trimEnd());
    const want = expected('hello.txt').trimEnd().split('\n').map((l) => l.trimEnd());
    expect(lines.slice(0, want.length)).toEqual(want);
    expect(lines[want.length]).toBe('[guest exited with code 0]');
    expect(r).toMatchObject({ state: 'exited (0)', exitCode: 0, mode: 'bare', picker: 'demo/hello.elf', url: '?guest=demo%2Fhello.elf', order: true });
    // The page keeps the image of the load it adopted (migration and restore load it again).
    expect(r.lastLoad).toEqual({ name: 'demo/hello.elf', mode: 'bare', size: readFileSync(join(root, 'guests/bin/demo/hello.elf')).byteLength });
    // The panels got the final counters.
    await page.waitForFunction(() => (window.wasmvisorDemo!.last?.counters.instructions ?? 0) > 100_000);
    expect(await page.evaluate(() => document.querySelector('#instructions')?.textContent)).toMatch(/^[\d,]+ instructions retired in \d+\.\d\d s$/);
    // A guest picked afterwards loads as before.
    await page.evaluate(() => window.wasmvisorDemo!.select('demo/hello.elf'));
    await page.waitForFunction(() => window.wasmvisorDemo!.vm.state === 'exited', null, { timeout: 30_000 });
    const again = await page.evaluate(() => window.wasmvisorDemo!.terminalText().split('\n').map((l) => l.trimEnd()));
    expect(again.slice(0, want.length + 1)).toEqual([...want, '[guest exited with code 0]']);
  }, 90_000);

  it('an address whose guest is missing shows the page\'s own one-line error, not the worker\'s', async () => {
    await page.goto(`${demo.server.url}?guest=no/such.elf`);
    await page.waitForFunction(() => window.wasmvisorDemo?.terminalText().includes('HTTP 404'), null, { timeout: 30_000 });
    const text = await page.evaluate(() => window.wasmvisorDemo!.terminalText().trim());
    expect(text).toBe('wasmvisor: guests/no/such.elf: HTTP 404 Not Found');
  }, 60_000);

  it('a Linux or Xen address starts no guest in the bootstrap (the page loads those itself)', async () => {
    for (const q of ['?xen=xen/demo.cfg', '?guest=linux/Image']) {
      const { seenBeforeDemo } = await holdDemoJs(q, () => window.wasmvisorBoot !== undefined);
      expect(seenBeforeDemo).toEqual({ demo: false, states: [] });
      await page.goto('about:blank');
    }
  }, 60_000);
});
