/**
 * What the browser tests share: Debian's chromium (headless, through playwright-core) on the
 * demo server (scripts/demo.mjs, a free port), one page, and the page's errors collected.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
import { CHROMIUM, oracle } from '../oracles';

export { CHROMIUM };
/** Where the tests save screenshots. */
export const shots = join(root, 'test/browser/screenshots');
export const haveChromium = oracle('chromium', 'test/browser');

/** A browser with one page on the demo server. */
export interface DemoBrowser {
  browser: Browser;
  server: { url: string; close(): Promise<void> };
  page: Page;
  /** Uncaught exceptions and console errors of the page, in order. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Start the demo server and chromium, and open a page (1240x760). */
export async function openDemo(): Promise<DemoBrowser> {
  const { chromium } = await import('playwright-core');
  // @ts-expect-error: a plain .mjs module without types
  const { serveDemo } = await import('../../scripts/demo.mjs');
  const server = await serveDemo({ port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      // (as bench/browser.ts: Chromium's own omnibox popup renderer, 1-2 s of CPU per new context)
      '--disable-features=PreloadTopChromeWebUI,WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup'],
  });
  const page = await browser.newPage({ viewport: { width: 1240, height: 760 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  mkdirSync(shots, { recursive: true });
  return {
    browser, server, page, pageErrors,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * The demo for the tests of one describe block: beforeAll opens it (openDemo, then `ready`, for
 * what the block wants done first: its variables set, a first page loaded), afterAll closes it.
 * The fields of what it returns are those of the open demo, to read in the tests.
 */
export function useDemo(ready?: (demo: DemoBrowser) => Promise<void> | void, timeoutMs = 60_000): DemoBrowser {
  let demo: DemoBrowser | undefined;
  beforeAll(async () => {
    demo = await openDemo();
    await ready?.(demo);
  }, timeoutMs);
  afterAll(async () => {
    await demo?.close();
  });
  const open = (): DemoBrowser => {
    if (demo === undefined) throw new Error('the demo is not open (its beforeAll failed)');
    return demo;
  };
  return {
    get browser() { return open().browser; },
    get server() { return open().server; },
    get page() { return open().page; },
    get pageErrors() { return open().pageErrors; },
    close: () => open().close(),
  };
}
