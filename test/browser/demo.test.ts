/**
 * The demo page in a real browser: Debian's chromium, headless, driven by playwright-core.
 * Serves dist/web with scripts/demo.mjs, boots the default guest and the echo guest, types
 * into the xterm.js terminal, waits for the guest's answer, checks that the panels update and
 * that the page stays responsive, and saves screenshots to test/browser/screenshots/.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it) and a build
 * (`npm run build`, which `npm test` and `npm run test:browser` run first).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = '/usr/bin/chromium';
const shots = join(root, 'test/browser/screenshots');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`test/browser: skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);
}

/** The page's test handle (host/web/demo/main.ts, DemoHandle), as seen from page.evaluate. */
interface Handle {
  samples: number;
  last?: { instructionsPerSecond: number; tlbHitRate: number; counters: Record<string, number>; walk?: { mode: string; pa?: bigint; levels: unknown[] } };
  terminalText(): string;
  select(path: string): Promise<void>;
  vm: { state: string; exitCode?: number; shared: boolean };
}
declare const window: { wasmvisorDemo: Handle };

const expected = (name: string): string => readFileSync(join(root, 'guests/expected/demo', name), 'utf8');

describe.skipIf(!haveChromium)('demo page in chromium', () => {
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  let page: Page;
  const pageErrors: string[] = [];
  let helloInstructions = 0;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    // @ts-expect-error: a plain .mjs module without types
    const { serveDemo } = await import('../../scripts/demo.mjs');
    server = await serveDemo({ port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1240, height: 760 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
    mkdirSync(shots, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('boots the default guest: its console in the terminal, exit code 0, panels filled', async () => {
    await page.goto(server.url);
    await page.waitForFunction(() => window.wasmvisorDemo?.vm.state === 'exited', null, { timeout: 30_000 });
    const r = await page.evaluate(() => ({
      text: window.wasmvisorDemo.terminalText(),
      exitCode: window.wasmvisorDemo.vm.exitCode,
      shared: window.wasmvisorDemo.vm.shared,
      picker: [...document.querySelectorAll('#guest option')].map((o) => (o as HTMLOptionElement).value),
      selected: (document.querySelector('#guest') as HTMLSelectElement).value,
      state: document.querySelector('#state')?.textContent,
    }));
    // Every line the guest printed, as QEMU prints it (guests/expected), in the terminal.
    const lines = r.text.split('\n').map((l) => l.trimEnd());
    for (const want of expected('hello.txt').trimEnd().split('\n')) expect(lines).toContain(want.trimEnd());
    expect(lines).toContain('[guest exited with code 0]');
    expect(r.exitCode).toBe(0);
    expect(r.state).toBe('exited (0)');
    // The server sends COOP/COEP, so the page is cross-origin isolated and shares memory.
    expect(r.shared).toBe(true);
    expect(r.picker).toContain('demo/hello.elf');
    expect(r.picker).toContain('demo/echo.elf');
    expect(r.picker).toContain('priv/paging_sv39.elf');
    expect(r.selected).toBe('demo/hello.elf');
    // The panels show the final counters: hello retires ~235k instructions and makes an MMIO
    // exit per UART access.
    await page.waitForFunction(() => (window.wasmvisorDemo.last?.counters.instructions ?? 0) > 100_000);
    const panels = await page.evaluate(() => ({
      instructions: document.querySelector('#instructions')?.textContent ?? '',
      tlb: document.querySelector('#tlb-hit')?.textContent ?? '',
      bt: document.querySelector('#bt-hit')?.textContent ?? '',
      bars: [...document.querySelectorAll('#exits-chart text')].map((t) => t.textContent),
      mmio: window.wasmvisorDemo.last!.counters.mmioExits,
    }));
    expect(panels.instructions).toMatch(/^[\d,]+ instructions retired in \d+\.\d\d s$/);
    expect(panels.tlb).toMatch(/^\d+\.\d\d %$/);
    expect(panels.bt).toMatch(/^\d+\.\d\d %$/);
    expect(panels.bars[0]).toBe('MMIO');
    expect(panels.mmio).toBeGreaterThan(1000);
    helloInstructions = await page.evaluate(() => window.wasmvisorDemo.last!.counters.instructions);
    await page.screenshot({ path: join(shots, 'hello.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('runs the echo guest: keys typed into the terminal reach the guest, the answer comes back', async () => {
    await page.selectOption('#guest', 'demo/echo.elf');
    await page.waitForFunction(() => window.wasmvisorDemo.terminalText().includes('type a line'), null, { timeout: 30_000 });
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.state)).toBe('running');
    await page.click('#terminal');
    await page.keyboard.type('hello wasmvisor');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.wasmvisorDemo.terminalText().includes('HELLO WASMVISOR'), null, { timeout: 10_000 });
    const lines = (await page.evaluate(() => window.wasmvisorDemo.terminalText())).split('\n').map((l) => l.trimEnd());
    expect(lines.slice(0, 3)).toEqual(['wasmvisor echo: type a line, "quit" to stop', '> hello wasmvisor', 'HELLO WASMVISOR']);

    // The guest polls the UART forever: the panels must keep moving while the page stays
    // responsive (the guest runs in the worker; the main thread only draws).
    const before = await page.evaluate(() => ({ samples: window.wasmvisorDemo.samples, n: window.wasmvisorDemo.last!.counters.instructions }));
    const frames = await page.evaluate(() => new Promise<number>((resolve) => {
      let n = 0;
      const t0 = performance.now();
      const tick = (): void => { n++; if (performance.now() - t0 < 1000) requestAnimationFrame(tick); else resolve(n); };
      requestAnimationFrame(tick);
    }));
    const after = await page.evaluate(() => ({
      samples: window.wasmvisorDemo.samples,
      n: window.wasmvisorDemo.last!.counters.instructions,
      ips: window.wasmvisorDemo.last!.instructionsPerSecond,
      ipsText: document.querySelector('#ips')?.textContent ?? '',
    }));
    expect(frames).toBeGreaterThan(20);
    expect(after.samples - before.samples).toBeGreaterThanOrEqual(5); // ~10 a second
    expect(after.n).toBeGreaterThan(before.n);
    expect(after.ips).toBeGreaterThan(1e6);
    expect(after.ipsText).toMatch(/^\d+(\.\d+)? [MG]$/);
    await page.screenshot({ path: join(shots, 'echo.png'), fullPage: true });

    await page.keyboard.type('quit');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.wasmvisorDemo.vm.state === 'exited', null, { timeout: 10_000 });
    expect(await page.evaluate(() => window.wasmvisorDemo.terminalText())).toContain('bye\n[guest exited with code 0]');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('pause stops the instruction count, resume continues it, reset starts over', async () => {
    await page.evaluate(() => window.wasmvisorDemo.select('demo/echo.elf'));
    await page.waitForFunction(() => window.wasmvisorDemo.terminalText().includes('type a line'));
    await page.click('#pause');
    await page.waitForFunction(() => window.wasmvisorDemo.vm.state === 'paused');
    expect(await page.textContent('#pause')).toBe('Resume');
    const n0 = await page.evaluate(() => window.wasmvisorDemo.last!.counters.instructions);
    await page.waitForTimeout(400);
    const n1 = await page.evaluate(() => window.wasmvisorDemo.last!.counters.instructions);
    expect(n1).toBe(n0);
    await page.click('#pause');
    await page.waitForFunction((n) => window.wasmvisorDemo.last!.counters.instructions > n, n1);
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.state)).toBe('running');

    // Reset: a fresh machine with the same image; the console starts over, so do the counters.
    await page.click('#terminal'); // the keys go to the terminal, not the button just clicked
    await page.keyboard.type('abc');
    await page.waitForFunction(() => window.wasmvisorDemo.terminalText().includes('> abc'));
    const n2 = await page.evaluate(() => window.wasmvisorDemo.last!.counters.instructions);
    await page.click('#reset');
    await page.waitForFunction(() => window.wasmvisorDemo.terminalText().startsWith('wasmvisor echo: type a line'));
    expect(await page.evaluate(() => window.wasmvisorDemo.terminalText())).not.toContain('> abc');
    await page.waitForFunction((n) => window.wasmvisorDemo.last!.counters.instructions < n, n2);
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.state)).toBe('running');
  }, 30_000);

  it('falls back to messages for the statistics: same guest, same counts', async () => {
    await page.goto(`${server.url}?guest=demo/hello.elf&stats=messages`);
    await page.waitForFunction(() => window.wasmvisorDemo?.vm.state === 'exited', null, { timeout: 30_000 });
    await page.waitForFunction(() => (window.wasmvisorDemo.last?.counters.instructions ?? 0) > 0);
    const r = await page.evaluate(() => ({
      shared: window.wasmvisorDemo.vm.shared,
      mode: document.querySelector('#mode')?.textContent,
      instructions: window.wasmvisorDemo.last!.counters.instructions,
      text: window.wasmvisorDemo.terminalText(),
    }));
    expect(r.shared).toBe(false);
    expect(r.mode).toBe('stats: messages');
    // hello.elf reads no clock: it retires the same number of instructions on every run.
    expect(helloInstructions).toBeGreaterThan(100_000);
    expect(r.instructions).toBe(helloInstructions);
    expect(r.text).toContain('first 20 primes: 2 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59 61 67 71');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('the embedding API (dist/web/wasmvisor.js) as the README shows it, and its errors', async () => {
    await page.goto(server.url);
    const r = await page.evaluate(async () => {
      // (through Function: vitest would rewrite a literal import() in this page-side code)
      const { createVm } = await (new Function('u', 'return import(u)') as (u: string) => Promise<any>)(new URL('/wasmvisor.js', location.href).href);
      const vm = await createVm({ image: '/guests/demo/echo.elf' });
      let text = '';
      const decoder = new TextDecoder();
      void vm.console.readable.pipeTo(new WritableStream({ write: (b: Uint8Array) => { text += decoder.decode(b); } }));
      const waitFor = async (s: string) => {
        for (let i = 0; !text.includes(s); i++) {
          if (i === 500) throw new Error(`no ${JSON.stringify(s)} in ${JSON.stringify(text)} (state ${vm.state})`);
          await new Promise((f) => setTimeout(f, 20));
        }
      };
      await waitFor('"quit" to stop\r\n> ');
      vm.console.write('abc 123 xyz!\rquit\r');
      const state = await vm.until((s: string) => s === 'exited');
      const exitCode = vm.exitCode;
      await waitFor('bye\r\n');
      // An image that is not RISC-V: load() rejects with the loader's one-line message.
      const bad = new Uint8Array(64);
      bad.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
      bad[16] = 2;
      bad[18] = 62; // EM_X86_64
      const error = await vm.load(bad, { name: 'x86.elf' }).then(() => '', (e: Error) => e.message);
      vm.terminate();
      return { text, state, exitCode, error, after: vm.state };
    });
    // The guest's console driver sends CR LF for each newline.
    expect(r.text).toBe('wasmvisor echo: type a line, "quit" to stop\r\n> abc 123 xyz!\r\nABC 123 XYZ!\r\n> quit\r\nbye\r\n');
    expect(r.state).toBe('exited');
    expect(r.exitCode).toBe(0);
    expect(r.error).toBe('x86.elf: ELF machine is x86-64 (62), expected RISC-V (243)');
    expect(r.after).toBe('error');
  }, 60_000);

  it('draws an Sv39 walk for a paging guest', async () => {
    await page.evaluate(() => window.wasmvisorDemo.select('bench/tlbstress.elf'));
    await page.waitForFunction(() => window.wasmvisorDemo.last?.walk?.mode === 'sv39', null, { timeout: 30_000 });
    const walk = await page.evaluate(() => {
      const w = window.wasmvisorDemo.last!.walk! as unknown as { va: bigint; pa: bigint; pageSize: number; levels: { leaf: boolean }[] };
      return {
        identity: w.pa === w.va,
        pageSize: w.pageSize,
        leaves: w.levels.map((l) => l.leaf),
        text: [...document.querySelectorAll('#walk text')].map((t) => t.textContent ?? ''),
      };
    });
    // tlbstress identity-maps RAM: 4 KiB pages in the arena's 2 MiB regions, megapages elsewhere.
    expect(walk.identity).toBe(true);
    expect(walk.leaves).toEqual(walk.pageSize === 4096 ? [false, false, true] : [false, true]);
    expect(walk.text[0]).toMatch(/^SV39 pc 0x8[0-9a-f]{7} {2}S-mode {2}ASID 0$/);
    expect(walk.text.filter((t) => /^PA 0x8[0-9a-f]{7} {2}\((4 KiB|2 MiB) page\)$/.test(t))).toHaveLength(1);
    await page.screenshot({ path: join(shots, 'walk.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
