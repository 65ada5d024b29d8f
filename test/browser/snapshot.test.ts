/**
 * The demo page's files (host/web/demo/own-guest.ts): "Save state" downloads a snapshot of the
 * running guest and "Restore" loads it into a fresh page, where the guest goes on from where it
 * was (issue 14, item 5); a guest of one's own boots from the file picker or a URL, and a file
 * that cannot be booted is one line under the form (issue 15, item 5).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { haveChromium, root, useDemo } from './chromium';

declare const window: { wasmvisorDemo: { terminalText(): string; vm: { state: string; exitCode?: number }; last?: { counters: { instructions: number } } } };

const text = (page: Page): Promise<string> => page.evaluate(() => window.wasmvisorDemo.terminalText());
const waitText = (page: Page, s: string): Promise<unknown> =>
  page.waitForFunction((t) => window.wasmvisorDemo?.terminalText().includes(t) ?? false, s, { timeout: 30_000 });
/** The terminal's non-empty lines, trimmed. */
const lines = async (page: Page): Promise<string[]> => (await text(page)).split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

describe.skipIf(!haveChromium)('demo page: save/restore and your own guest', () => {
  const demo = useDemo();

  it('saves the echo guest mid-line, restores it into a fresh page, and the line goes on there', async () => {
    const page = demo.page;
    await page.goto(`${demo.server.url}?guest=demo/echo.elf`);
    await waitText(page, 'type a line');
    await page.click('#terminal');
    await page.keyboard.type('hello');
    await page.keyboard.press('Enter');
    await waitText(page, 'HELLO');
    // Half a line in the guest's buffer when the state is saved.
    await page.keyboard.type('ab');
    await waitText(page, '> ab');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    expect(download.suggestedFilename()).toBe('demo_echo.elf.wvsnap');
    const snap = readFileSync((await download.path())!);
    expect(snap.subarray(0, 8).toString('latin1')).toBe('WVSNAP\r\n');
    // The saved page's guest runs on after the save.
    await page.waitForFunction(() => window.wasmvisorDemo?.vm.state === 'running');
    await page.click('#terminal'); // (the button took the focus)
    await page.keyboard.type('x');
    await page.keyboard.press('Enter');
    await waitText(page, 'ABX');

    // A fresh page: the same guest boots from its start, then the snapshot replaces it.
    const fresh = await demo.browser.newPage({ viewport: { width: 1240, height: 760 } });
    const errors: string[] = [];
    fresh.on('pageerror', (e) => errors.push(e.message));
    await fresh.goto(`${demo.server.url}?guest=demo/echo.elf`);
    await waitText(fresh, 'type a line');
    await fresh.setInputFiles('#restore-file', { name: 'echo.wvsnap', mimeType: 'application/octet-stream', buffer: snap });
    await fresh.waitForFunction(() => window.wasmvisorDemo?.vm.state === 'running' && window.wasmvisorDemo.terminalText().trim() === '');
    await fresh.click('#terminal');
    await fresh.keyboard.type('c');
    await fresh.keyboard.press('Enter');
    await waitText(fresh, 'ABC');
    await fresh.keyboard.type('quit');
    await fresh.keyboard.press('Enter');
    await fresh.waitForFunction(() => window.wasmvisorDemo?.vm.state === 'exited', null, { timeout: 30_000 });
    // No banner: the guest was not booted again; "ab" typed before the save is in its line.
    expect((await lines(fresh)).slice(0, 4)).toEqual(['c', 'ABC', '> quit', 'bye']);
    expect(await fresh.evaluate(() => window.wasmvisorDemo.vm.exitCode)).toBe(0);
    expect(await fresh.locator('#own-error').isHidden()).toBe(true);

    // A snapshot of another guest: one line, naming the file and the mismatch.
    await fresh.goto(`${demo.server.url}?guest=demo/hello.elf`);
    await fresh.waitForFunction(() => window.wasmvisorDemo?.vm.state === 'exited', null, { timeout: 30_000 });
    await fresh.setInputFiles('#restore-file', { name: 'echo.wvsnap', mimeType: 'application/octet-stream', buffer: snap });
    await fresh.waitForFunction(() => document.querySelector('#own-error')?.textContent !== '');
    expect(await fresh.locator('#own-error').textContent()).toMatch(/^echo\.wvsnap: snapshot does not match the command line: a different image \(checksum [0-9a-f]+, this one's is [0-9a-f]+\)$/);
    expect(errors).toEqual([]);
    await fresh.close();
  }, 120_000);

  it('boots a guest of your own from the file picker and from a URL; a bad file is one line', async () => {
    const page = demo.page;
    await page.goto(`${demo.server.url}?guest=demo/echo.elf`);
    await waitText(page, 'type a line');
    const hello = readFileSync(join(root, 'guests/bin/demo/hello.elf'));
    const want = readFileSync(join(root, 'guests/expected/demo/hello.txt'), 'utf8').split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

    await page.selectOption('#own-mode', 'bare');
    await page.setInputFiles('#own-file', { name: 'my-hello.elf', mimeType: 'application/octet-stream', buffer: hello });
    await waitText(page, '[guest exited with code 0]');
    expect(await page.evaluate(() => window.wasmvisorDemo.vm.exitCode)).toBe(0);
    expect((await lines(page)).slice(0, want.length)).toEqual(want);
    expect(await page.locator('#vm-mode').textContent()).toBe('my-hello.elf: bare board, M-mode');

    await page.fill('#own-url', `${demo.server.url}guests/demo/hello.elf`);
    await page.click('#own-boot-url');
    await page.waitForFunction(() => document.querySelector('#vm-mode')?.textContent === 'hello.elf: bare board, M-mode');
    await waitText(page, '[guest exited with code 0]');
    expect((await lines(page)).slice(0, want.length)).toEqual(want);

    // Dropped onto the page (a drop event with the file, as a file manager sends it).
    await page.evaluate(async (bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'dropped.elf'));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, [...hello]);
    await page.waitForFunction(() => document.querySelector('#vm-mode')?.textContent === 'dropped.elf: bare board, M-mode');
    await waitText(page, '[guest exited with code 0]');
    expect((await lines(page)).slice(0, want.length)).toEqual(want);

    // The boot options go to the worker's checks (the CLI's): a dtb that is not one is its one line.
    await page.setInputFiles('#own-dtb', { name: 'zero.dtb', mimeType: 'application/octet-stream', buffer: Buffer.alloc(64) });
    await page.setInputFiles('#own-file', { name: 'my-hello.elf', mimeType: 'application/octet-stream', buffer: hello });
    await page.waitForFunction(() => document.querySelector('#own-error')?.textContent !== '');
    expect(await page.locator('#own-error').textContent()).toBe('dtb: not a device tree blob (magic 0x00000000, expected 0xd00dfeed)');
    await page.setInputFiles('#own-dtb', []);

    // Not an ELF (nor a Linux Image): refused in the page, one line with its first bytes.
    await page.setInputFiles('#own-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello there\n') });
    await page.waitForFunction(() => document.querySelector('#own-error')?.textContent !== '');
    expect(await page.locator('#own-error').textContent()).toBe('notes.txt: not an ELF file nor a RISC-V Linux Image (starts with 68 65 6c 6c)');
    // Too big for the guest RAM chosen.
    await page.selectOption('#own-mem', '64');
    const big = Buffer.alloc(65 << 20);
    big.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    const bigPath = join(mkdtempSync(join(tmpdir(), 'wv-demo-')), 'big.elf');
    writeFileSync(bigPath, big);
    await page.setInputFiles('#own-file', bigPath);
    await page.waitForFunction(() => document.querySelector('#own-error')?.textContent?.startsWith('big.elf'));
    expect(await page.locator('#own-error').textContent()).toBe('big.elf: 65 MiB does not fit in 64 MiB of guest RAM (raise mem)');
    // A URL that is not there.
    await page.fill('#own-url', `${demo.server.url}guests/no/such.elf`);
    await page.click('#own-boot-url');
    await page.waitForFunction(() => document.querySelector('#own-error')?.textContent?.includes('such.elf'));
    expect(await page.locator('#own-error').textContent()).toBe(`${demo.server.url}guests/no/such.elf: HTTP 404`);
  }, 120_000);
});
