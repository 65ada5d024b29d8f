/**
 * A Xen host in the demo page, in Debian's chromium (headless, playwright-core): Dom0 in the
 * worker (host/web/xen-dom0.ts) runs guests/xen/demo.cfg as `wasmvisor up` does, two DomUs with
 * a memory disk, a vif on xenbr0 and a PV console each. Checks each DomU's PV console text (the
 * lines test/xen/toolstack/cli.test.ts asserts for `up demo.cfg`, here all nine), both
 * shutdowns, the `xl list` table and switching the terminal between the domains (`xl console`);
 * then that keystrokes typed into the terminal land in the shown domain's PV console `in` ring
 * (no demo guest reads its console input, so this is asserted at the backend: the ring's
 * indices and unread bytes), xl pause / unpause / destroy from the page, and a failing domain;
 * then the embedding API (createXenHost) and its one-line errors.
 *
 * The DomUs run whatever kernel guests/xen/domu1.cfg and domu2.cfg name: the program prints
 * under its own name (pvtest, or minikernel running pvtest's program), taken from the kernel.
 *
 * Needs /usr/bin/chromium and a build (`npm run build`).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { haveChromium, shots, useDemo } from './chromium';


/** The page's test handle (host/web/demo/main.ts, DemoHandle), as seen from page.evaluate. */
interface Handle {
  mode: string;
  shown?: string;
  terminalText(): string;
  startXen(path?: string, opts?: { autostart?: boolean; deterministic?: boolean; slow?: number }): Promise<void>;
  vm: { state: string };
  xen?: {
    state: string;
    exitCode?: number;
    error?: string;
    notices: string[];
    domains: {
      name: string; domid: number; life: string; paused: boolean; succeeded: boolean; kernel: string; end?: { reason: string; exitCode: number; text: string };
      instructions: number; hostMs: number; slices: number; exits: number; topExit?: { reason: string; count: number };
    }[];
    output(d: string | number): Uint8Array;
    xlList(): string;
    consoleRing(d: string | number): Promise<{ inCons: number; inProd: number; outCons: number; outProd: number; unread: Uint8Array; stats: Record<string, number> }>;
  };
}
declare const window: { wasmvisorDemo: Handle };

/** pvtest's disk pattern for a domain: u32 word i = i * 2654435761 ^ domid << 24 (128 KiB), and its FNV-1a. */
function patternSum(domid: number): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < (128 * 1024) / 4; i++) {
    const w = (Math.imul(i, 2654435761) ^ (domid << 24)) >>> 0;
    for (let k = 0; k < 4; k++) h = Math.imul(h ^ ((w >>> (8 * k)) & 0xff), 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Every line a demo DomU prints, as the test program in it names itself. */
function demoLines(prog: string, n: number): string[] {
  const peer = 3 - n;
  const sum = patternSum(n);
  return [
    `${prog}: domain ${n}, PV console on port 2`,
    `${prog}: vbd 51712: 2048 sectors, read-write, flush yes, ring-ref 8, port 3`,
    `${prog}: wrote 131072 bytes at sector 64 in 4 requests (34 segments)`,
    `${prog}: read back in 4 requests, fnv1a 0x${sum} (written 0x${sum})`,
    `${prog}: flush ok`,
    `${prog}: disk ok (3 notifications, 0 waits)`,
    `${prog}: vif 0: mac 00:16:3e:00:00:0${n}, port 4, ip 10.0.0.${n}, peer 10.0.0.${peer}`,
    `${prog}: ping 10.0.0.${peer} ok`,
    `${prog}: all tests passed; powering off`,
  ];
}

/** The program's name: the kernel's file name without .elf ("/guests/bin/xen/pvtest.elf" -> pvtest). */
const progOf = (kernel: string): string => kernel.slice(kernel.lastIndexOf('/') + 1).replace(/\.elf$/, '');

const lines = (text: string): string[] => text.split('\n').map((l) => l.trimEnd());
/** The terminal's lines up to the last non-empty one. */
const termLines = (text: string): string[] => {
  const l = lines(text);
  while (l.length > 0 && l[l.length - 1] === '') l.pop();
  return l;
};

/** The terminal's lines once `last` is among them (xterm.js parses writes asynchronously). */
async function terminalUpTo(page: Page, last: string): Promise<string[]> {
  await page.waitForFunction((want) => window.wasmvisorDemo.terminalText().split('\n').some((l) => l.trimEnd() === want), last);
  return termLines(await page.evaluate(() => window.wasmvisorDemo.terminalText()));
}

/** The rows of the page's domain table, cell by cell (time as a pattern check, then dropped). */
async function tableRows(page: Page): Promise<string[][]> {
  const rows = await page.$$eval('#xen-domains tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  for (const r of rows) expect(r[5]).toMatch(/^\d+\.\d$/);
  return rows.map((r) => [...r.slice(0, 5), r[6]]);
}

describe.skipIf(!haveChromium)('Xen host in the demo page (chromium)', () => {
  let server: { url: string; close(): Promise<void> };
  let page: Page;
  let pageErrors: string[] = [];
  useDemo((demo) => void ({ server, page, pageErrors } = demo));

  it('the Xen demo button: two DomUs pass their disk and ping tests on their PV consoles, power off, and xl list shows it', async () => {
    await page.goto(`${server.url}?guest=demo/hello.elf`);
    await page.waitForFunction(() => window.wasmvisorDemo?.vm.state === 'exited', null, { timeout: 30_000 });
    await page.click('#xen-demo');
    await page.waitForFunction(() => window.wasmvisorDemo.xen?.state === 'exited', null, { timeout: 30_000 });
    const r = await page.evaluate(() => {
      const h = window.wasmvisorDemo;
      const x = h.xen!;
      const text = (d: string) => new TextDecoder('latin1').decode(x.output(d));
      return {
        mode: h.mode, shown: h.shown, exitCode: x.exitCode, error: x.error, notices: x.notices, domains: x.domains,
        out1: text('domu1'), out2: text('domu2'), list: x.xlList(), url: location.search,
        state: document.querySelector('#state')?.textContent, panelsHidden: (document.querySelector('#vm-panels') as HTMLElement).hidden,
        noticesPanel: document.querySelector('#xen-notices')?.textContent,
      };
    });
    expect([r.mode, r.shown, r.exitCode, r.error, r.state, r.url, r.panelsHidden]).toEqual(['xen', 'domu1', 0, undefined, 'exited (0)', '?xen=xen%2Fdemo.cfg', true]);
    // The kernel comes from the DomU files; both run the same one.
    expect(r.domains.map((d) => d.kernel)).toEqual([r.domains[0].kernel, r.domains[0].kernel]);
    expect(r.domains[0].kernel).toMatch(/^\/guests\/bin\/.+\.elf$/);
    const prog = progOf(r.domains[0].kernel);
    // Each PV console, whole: the program's lines from its first (CR LF: the guest's console driver).
    expect(r.out1).toBe(demoLines(prog, 1).map((l) => l + '\r\n').join(''));
    expect(r.out2).toBe(demoLines(prog, 2).map((l) => l + '\r\n').join(''));
    // Both powered off with exit code 0 and were destroyed (on_poweroff = 'destroy').
    expect(r.domains.map((d) => [d.name, d.domid, d.life, d.succeeded, d.end])).toEqual([
      ['domu1', 1, 'gone', true, { reason: 'poweroff', exitCode: 0, text: 'poweroff, exit code 0' }],
      ['domu2', 2, 'gone', true, { reason: 'poweroff', exitCode: 0, text: 'poweroff, exit code 0' }],
    ]);
    expect([...r.notices].sort()).toEqual(['domu1 (d1): poweroff, exit code 0: destroyed', 'domu2 (d2): poweroff, exit code 0: destroyed']);
    expect(r.noticesPanel).toMatch(/^(domu[12] \(d[12]\): poweroff, exit code 0: destroyed\n){2}host: exit status 0\n$/);
    // xl list as `wasmvisor up` prints it at exit, and the page's table.
    expect(r.list).toMatch(/^Name {40}ID {3}Mem VCPUs\tState\tTime\(s\)\nDomain-0 {37}0 {5}0 {5}1 {5}r----- {2} +\d+\.\d\ndomu1 {40}1 {4}32 {5}1 {5}---s-- {2} +\d+\.\d\ndomu2 {40}2 {4}32 {5}1 {5}---s-- {2} +\d+\.\d\n$/);
    expect(await tableRows(page)).toEqual([
      ['Domain-0', '0', '0', '1', 'r-----', 'toolstack, backends'],
      ['domu1', '1', '32', '1', '---s--', 'poweroff, exit code 0: destroyed'],
      ['domu2', '2', '32', '1', '---s--', 'poweroff, exit code 0: destroyed'],
    ]);
    expect(await page.$$eval('#xen-domains tr.shown', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.domain))).toEqual(['domu1']);

    // The terminal is domu1's console, then (xl console) domu2's: its output, then the notice.
    const end1 = '[domu1 (d1): poweroff, exit code 0: destroyed]';
    const end2 = '[domu2 (d2): poweroff, exit code 0: destroyed]';
    expect(await terminalUpTo(page, end1)).toEqual([...demoLines(prog, 1), end1]);
    await page.selectOption('#xen-console', 'domu2');
    expect(await terminalUpTo(page, end2)).toEqual([...demoLines(prog, 2), end2]);
    // A click on a row does the same.
    await page.click('#xen-domains tr[data-domain="domu1"]');
    expect(await page.evaluate(() => window.wasmvisorDemo.shown)).toBe('domu1');
    expect(await terminalUpTo(page, end1)).toEqual([...demoLines(prog, 1), end1]);
    await page.screenshot({ path: join(shots, 'xen-demo.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('keys typed into the terminal reach the shown domain\'s PV console ring; xl pause, unpause, destroy; a DomU whose peer is gone fails', async () => {
    await page.evaluate(() => window.wasmvisorDemo.startXen('xen/demo.cfg', { autostart: false, deterministic: true }));
    await page.waitForFunction(() => window.wasmvisorDemo.xen?.state === 'paused');
    expect(await page.textContent('#state')).toBe('paused');
    expect(await page.$eval('#pause', (b) => [(b as HTMLButtonElement).textContent, (b as HTMLButtonElement).disabled])).toEqual(['Start', false]);
    // Built, not started: both are runnable, nothing printed yet.
    expect((await tableRows(page)).slice(1)).toEqual([
      ['domu1', '1', '32', '1', 'r-----', 'running'],
      ['domu2', '2', '32', '1', 'r-----', 'running'],
    ]);

    // xl console domu2, then type: the bytes go into domu2's in ring, none into domu1's.
    await page.selectOption('#xen-console', 'domu2');
    await page.click('#terminal');
    await page.keyboard.type('hello domu2');
    await page.keyboard.press('Enter');
    const rings = await page.evaluate(async () => {
      const x = window.wasmvisorDemo.xen!;
      for (let i = 0; (await x.consoleRing('domu2')).inProd < 12; i++) {
        if (i === 200) throw new Error('the typed keys did not reach domu2\'s console ring');
        await new Promise((f) => setTimeout(f, 20));
      }
      const show = (r: Awaited<ReturnType<typeof x.consoleRing>>) => ({
        inCons: r.inCons, inProd: r.inProd, outCons: r.outCons, outProd: r.outProd,
        unread: new TextDecoder().decode(r.unread), inBytes: r.stats.inBytes, dropped: r.stats.inputDropped,
      });
      return [show(await x.consoleRing('domu1')), show(await x.consoleRing('domu2'))];
    });
    expect(rings).toEqual([
      { inCons: 0, inProd: 0, outCons: 0, outProd: 0, unread: '', inBytes: 0, dropped: 0 },
      { inCons: 0, inProd: 12, outCons: 0, outProd: 0, unread: 'hello domu2\r', inBytes: 12, dropped: 0 },
    ]);

    // xl pause / unpause of the shown domain.
    await page.click('#xen-pause');
    await page.waitForFunction(() => window.wasmvisorDemo.xen!.domains[1].paused);
    expect((await tableRows(page))[2]).toEqual(['domu2', '2', '32', '1', '--p---', 'paused']);
    expect(await page.textContent('#xen-pause')).toBe('xl unpause');
    await page.click('#xen-pause');
    await page.waitForFunction(() => !window.wasmvisorDemo.xen!.domains[1].paused);
    expect((await tableRows(page))[2]).toEqual(['domu2', '2', '32', '1', 'r-----', 'running']);

    // xl destroy: domu2 goes at once (flag d), its console says so, its ring is no more.
    await page.click('#xen-destroy');
    await page.waitForFunction(() => window.wasmvisorDemo.xen!.domains[1].life === 'gone');
    expect((await tableRows(page))[2]).toEqual(['domu2', '2', '32', '1', '-----d', 'destroyed']);
    expect(await terminalUpTo(page, '[domu2 (d2): destroyed]')).toEqual(['[domu2 (d2): destroyed]']);
    expect(await page.evaluate(() => window.wasmvisorDemo.xen!.consoleRing('domu2').then(() => '', (e: Error) => e.message))).toBe("xl: no domain 'domu2' (it is gone)");
    expect(await page.$eval('#xen-destroy', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    await page.click('#terminal');
    await page.keyboard.type('nobody reads this'); // typing into a gone domain's console goes nowhere

    // Start: domu1 passes its disk test, then pings a peer that is not there and crashes;
    // the host exits 1 naming it, as `wasmvisor up` does.
    await page.click('#pause');
    await page.waitForFunction(() => window.wasmvisorDemo.xen?.state === 'exited', null, { timeout: 30_000 });
    const r = await page.evaluate(() => {
      const x = window.wasmvisorDemo.xen!;
      return { exitCode: x.exitCode, error: x.error, out: new TextDecoder().decode(x.output('domu1')), d1: x.domains[0], notices: x.notices };
    });
    const prog = progOf(r.d1.kernel);
    expect(r.exitCode).toBe(1);
    expect(r.error).toBe('domu1 (d1) did not power off cleanly: crash, exit code 1');
    expect(lines(r.out)).toEqual([...demoLines(prog, 1).slice(0, 7), 'FAIL: ping 10.0.0.2: 6001 ARP requests, 0 echo requests, 0 replies', '']);
    expect([r.d1.life, r.d1.succeeded, r.d1.end]).toEqual(['gone', false, { reason: 'crash', exitCode: 1, text: 'crash, exit code 1' }]);
    expect(r.notices).toEqual(['domu2 (d2): destroyed', 'domu1 (d1): crash, exit code 1: destroyed']);
    expect(await page.textContent('#state')).toBe('exited (1)');
    expect((await tableRows(page)).slice(1)).toEqual([
      ['domu1', '1', '32', '1', '----c-', 'crash, exit code 1: destroyed'],
      ['domu2', '2', '32', '1', '-----d', 'destroyed'],
    ]);
    await page.screenshot({ path: join(shots, 'xen-destroy.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('"slow": the domains live long enough to pause one with the button while it runs; the per-domain figures are its own', async () => {
    // Started by the page itself (the checkbox, as a person would), not deterministic: wall-clock time.
    await page.goto(`${server.url}?xen=xen/demo.cfg&slow=1`);
    await page.waitForFunction(() => window.wasmvisorDemo?.xen?.state === 'running', null, { timeout: 60_000 });
    expect(await page.isChecked('#xen-slow')).toBe(true);
    // Running for a while: domu1 (shown) has retired instructions and is still alive.
    await page.waitForFunction(() => (window.wasmvisorDemo.xen?.domains[0]?.instructions ?? 0) > 100_000, null, { timeout: 30_000 });
    expect(await page.evaluate(() => window.wasmvisorDemo.xen!.domains[0].life)).toBe('running');
    expect(await page.isEnabled('#xen-pause')).toBe(true);
    await page.click('#xen-pause');
    await page.waitForFunction(() => window.wasmvisorDemo.xen!.domains[0].paused, null, { timeout: 30_000 });
    expect((await tableRows(page))[1].slice(4)).toEqual(['--p---', 'paused']);
    // Paused: its own counters stand still while the other domain's go on (or it finished).
    const a = await page.evaluate(() => window.wasmvisorDemo.xen!.domains.map((d) => ({ n: d.instructions, life: d.life })));
    await page.waitForTimeout(1500);
    const b = await page.evaluate(() => window.wasmvisorDemo.xen!.domains.map((d) => ({ n: d.instructions, life: d.life })));
    expect(b[0].n).toBe(a[0].n);
    if (a[1].life === 'running') expect(b[1].n).toBeGreaterThan(a[1].n);
    // The figures table: one row per DomU, its instructions as the host counted them.
    const figures = await page.$$eval('#xen-figures tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    const doms = await page.evaluate(() => window.wasmvisorDemo.xen!.domains);
    expect(figures.map((r) => r[0])).toEqual(['domu1', 'domu2']);
    expect(figures[0][1]).toBe(doms[0].instructions.toLocaleString('en'));
    expect(figures[0][3]).toBe(String(doms[0].slices));
    expect(figures[0][4]).toBe(doms[0].exits.toLocaleString('en'));
    expect(doms[0].exits).toBeGreaterThan(0);
    expect(figures[0][5]).toBe(`${doms[0].topExit!.reason} (${doms[0].topExit!.count.toLocaleString('en')})`);
    await page.screenshot({ path: join(shots, 'xen-slow-paused.png'), fullPage: true });
    // The figures fit the page (their panel scrolls if it must): no horizontal overflow.
    expect(await page.evaluate(() => document.scrollingElement!.scrollWidth <= innerWidth)).toBe(true);
    // Unpaused, it runs on to its end.
    await page.click('#xen-pause');
    await page.waitForFunction(() => window.wasmvisorDemo.xen!.state === 'exited', null, { timeout: 120_000 });
    expect(await page.evaluate(() => window.wasmvisorDemo.xen!.domains.map((d) => d.succeeded))).toEqual([true, true]);
  }, 180_000);

  it('the embedding API: createXenHost, a console stream, and one-line errors', async () => {
    await page.goto(server.url);
    const r = await page.evaluate(async () => {
      // (through Function: vitest would rewrite a literal import() in this page-side code)
      const api = await (new Function('u', 'return import(u)') as (u: string) => Promise<any>)(new URL('/wasmvisor.js', location.href).href);
      const host = await api.createXenHost({ config: '/guests/xen/demo.cfg' });
      let text = '';
      const decoder = new TextDecoder();
      void host.console('domu2').readable.pipeTo(new WritableStream({ write: (b: Uint8Array) => { text += decoder.decode(b); } }));
      const state = await host.until((s: string) => s === 'exited' || s === 'error');
      await new Promise((f) => setTimeout(f, 50));
      const ok = { state, exitCode: host.exitCode, text, kernel: host.domain('domu2').kernel, byId: host.domain(2) };
      host.terminate();
      const error = (options: object) => api.createXenHost(options).then((h: { terminate(): void }) => { h.terminate(); return ''; }, (e: Error) => e.message);
      return {
        ok,
        missing: await error({ config: '/guests/xen/nope.cfg' }),
        syntax: await error({ config: '/x/host.cfg', files: { '/x/host.cfg': "domains = [ 'd.cfg' ]\n", '/x/d.cfg': "name = 'd'\nkernel = 'k.elf'\nmemory = 'lots'\n" } }),
        imageDisk: await error({ config: '/x/host.cfg', files: { '/x/host.cfg': "domains = [ 'd.cfg' ]\n", '/x/d.cfg': "name = 'd'\nkernel = 'k.elf'\ndisk = [ 'vdev=xvda, target=../disk.img' ]\n" } }),
        noKernel: await error({ config: '/x/host.cfg', files: { '/x/host.cfg': "domains = [ 'd.cfg' ]\n", '/x/d.cfg': "name = 'd'\nkernel = 'none.elf'\n" } }),
        badKernel: await error({ config: '/x/host.cfg', files: { '/x/host.cfg': "domains = [ 'd.cfg' ]\n", '/x/d.cfg': "name = 'd'\nkernel = 'k.elf'\n", '/x/k.elf': new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]) } }),
      };
    });
    const prog = progOf(r.ok.kernel);
    expect([r.ok.state, r.ok.exitCode]).toEqual(['exited', 0]);
    expect(r.ok.text).toBe(demoLines(prog, 2).map((l) => l + '\r\n').join(''));
    expect(r.ok.byId).toBeUndefined(); // id 2 is gone: only names reach a domain after its end
    expect(r.missing).toBe('/guests/xen/nope.cfg: HTTP 404 Not Found');
    expect(r.syntax).toBe("/x/d.cfg:3: memory = 'lots': expected a number (MiB)");
    expect(r.imageDisk).toBe('/x/d.cfg: disk xvda: target /disk.img is an image file, which a page cannot open (use target=mem:SIZE)');
    expect(r.noKernel).toBe('/x/none.elf: HTTP 404 Not Found');
    expect(r.badKernel).toBe('/x/k.elf: ELF class is ELF32 (1), expected ELF64 (2)');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
