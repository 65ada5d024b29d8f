/**
 * The demo page's "Linux (busybox)" guest in chromium: guests/bin/linux/Image with its
 * initramfs as a VM, to busybox's prompt in the xterm.js terminal; a command typed on the page's
 * keyboard runs and prints its answer, and `poweroff` ends the VM with code 0.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { haveChromium, root, shots, useDemo } from './chromium';

interface Handle {
  terminalText(): string;
  select(path: string, mode?: string): Promise<void>;
  vm: { state: string; exitCode?: number; mode: string; error?: string };
}
declare const window: { wasmvisorDemo: Handle };

const haveLinux = existsSync(join(root, 'guests/bin/linux/Image'));

describe.skipIf(!haveChromium || !haveLinux)('demo page: Linux (busybox)', () => {
  let page: Page;
  const demo = useDemo((d) => void (page = d.page));

  it('is in the picker, boots to the shell prompt, runs a typed command and powers off', async () => {
    await page.goto(`${demo.server.url}?guest=linux/Image`);
    await page.waitForFunction(() => document.querySelectorAll('#guest option').length > 0, null, { timeout: 30_000 });
    const picker = await page.evaluate(() =>
      [...document.querySelectorAll('#guest option')].map((o) => [(o as HTMLOptionElement).value, o.textContent]),
    );
    expect(picker).toContainEqual(['linux/Image', 'Linux (busybox)  [VM]']);
    // The prompt "/ # " ends the terminal's text (its lines are trimmed on the right).
    await page.waitForFunction(() => window.wasmvisorDemo?.terminalText().trimEnd().endsWith('\n/ #'), null, { timeout: 240_000 });
    const boot = await page.evaluate(() => window.wasmvisorDemo.terminalText());
    expect(boot).toContain('wasmvisor Linux (busybox)');
    await page.click('#terminal');
    await page.keyboard.type('echo $((6 * 7)) $(uname -m)');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.wasmvisorDemo.terminalText().includes('\n42 riscv64'), null, { timeout: 60_000 });
    await page.screenshot({ path: join(shots, 'linux.png') });
    await page.keyboard.type('poweroff');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.wasmvisorDemo.vm.state === 'exited', null, { timeout: 60_000 });
    const r = await page.evaluate(() => ({ exitCode: window.wasmvisorDemo.vm.exitCode, mode: window.wasmvisorDemo.vm.mode, error: window.wasmvisorDemo.vm.error }));
    expect(r).toEqual({ exitCode: 0, mode: 'vm', error: undefined });
    expect(demo.pageErrors).toEqual([]);
  }, 420_000);
});
