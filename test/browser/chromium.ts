/**
 * What the browser tests share: Debian's chromium (headless, through playwright-core) on the
 * demo server (scripts/demo.mjs, a free port), one page, and the page's errors collected.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

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
