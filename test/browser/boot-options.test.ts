/**
 * The web API's boot options (issue 12, part 2): Vm.load(image, { append, initrd, dtb }) carries
 * them through the worker protocol to the same checks as the CLI's --append/--initrd/--dtb.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { haveChromium, useDemo } from './chromium';

interface LoadOpts { name?: string; mode?: string; append?: string; initrd?: Uint8Array | string; dtb?: Uint8Array | string; virtioConsole?: boolean; virtioRng?: boolean }
declare const window: { wasmvisorDemo: { vm: { state: string; load(image: string, o: LoadOpts): Promise<void>; until(p: (s: string) => boolean): Promise<string>; exitCode?: number }; terminalText(): string } };

describe.skipIf(!haveChromium)('web API boot options', () => {
  let page: Page;
  useDemo(async (demo) => {
    page = demo.page;
    await page.goto(demo.server.url);
    await page.waitForFunction(() => window.wasmvisorDemo?.vm.state === 'exited', null, { timeout: 60_000 });
  }, 90_000);

  /** The error message of a load with these options ('' when it loads); files of n zero (or fill) bytes, made in the page. */
  const loadError = (o: { append?: string; initrd?: number; dtb?: number; fill?: number }) =>
    page.evaluate(async (o) => {
      const bytes = (n: number | undefined) => (n === undefined ? undefined : new Uint8Array(n).fill(o.fill ?? 0));
      try {
        await window.wasmvisorDemo.vm.load('guests/demo/hello.elf', { append: o.append, initrd: bytes(o.initrd), dtb: bytes(o.dtb), mode: 'bare' });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    }, o);

  it('a DTB that is not one, an initrd that does not fit: the CLI\'s one line', async () => {
    expect(await loadError({ dtb: 64 })).toBe('dtb: not a device tree blob (magic 0x00000000, expected 0xd00dfeed)');
    expect(await loadError({ initrd: 127 << 20 })).toBe('initrd: initrd of 133169152 bytes at 0x84000000 does not fit in RAM 0x80000000-0x87ffffff; give the guest more memory (--mem)');
    expect(await loadError({ dtb: 64, append: 'x' })).toBe('dtb: not a device tree blob (magic 0x00000000, expected 0xd00dfeed)');
  }, 120_000);

  it('hello boots with append and initrd, and exits 0', async () => {
    expect(await loadError({ append: 'console=ttyS0', initrd: 4096, fill: 1 })).toBe('');
    const r = await page.evaluate(async () => {
      const vm = window.wasmvisorDemo.vm;
      await vm.until((s) => s === 'exited' || s === 'error');
      // The terminal writes what arrived asynchronously: give it a moment to show the guest's lines.
      for (let i = 0; i < 50 && !window.wasmvisorDemo.terminalText().includes('dtb magic:'); i++) await new Promise((r) => setTimeout(r, 100));
      return { exitCode: vm.exitCode, text: window.wasmvisorDemo.terminalText() };
    });
    expect(r.text).toContain('dtb magic: 0xd00dfeed (ok)');
    expect(r.exitCode).toBe(0);
  }, 120_000);

  // issue 12: the web API's virtio devices (the CLI's --virtio-console and --virtio-rng).
  it.each(['vm', 'bare'])('%s: virtioConsole and virtioRng are the two devices the virtio guest finds in the slots', async (mode) => {
    const r = await page.evaluate(async (mode) => {
      const vm = window.wasmvisorDemo.vm;
      const image = mode === 'vm' ? 'guests/vmvirtio/blk.elf' : 'guests/virtio-blk/blk.elf';
      await vm.load(image, { mode, virtioConsole: true, virtioRng: true });
      const state = await vm.until((s) => s === 'exited' || s === 'error');
      // The terminal writes what arrived asynchronously: give it a moment to show the last line.
      for (let i = 0; i < 50 && !window.wasmvisorDemo.terminalText().includes('no block device'); i++) await new Promise((r) => setTimeout(r, 100));
      return { state, exitCode: vm.exitCode, text: window.wasmvisorDemo.terminalText() };
    }, mode);
    expect(r.text.slice(-400)).toContain('virtio-blk: 8 slots probed: 0 block device(s), 2 other device(s)');
    expect([r.state, r.exitCode]).toEqual(['exited', 2]); // no block device
  }, 120_000);
});
