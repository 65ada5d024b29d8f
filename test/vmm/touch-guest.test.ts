// bench/rss.ts's touchGuest: the "guest RAM touched" of the RSS bench is Vm.populatedPages,
// so the image must back exactly one more guest page per 4 KiB it is asked to touch, and shut
// down cleanly (SBI SRST, exit code 0).
import { describe, expect, it } from 'vitest';
import { touchGuest } from '../../bench/rss';
import { parseImage } from '../../host/machine/loader';
import { Vm, KERNEL_RAW_BASE } from '../../host/vmm/vm';

async function touched(bytes: number): Promise<number> {
  const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(touchGuest(bytes), 'touch.bin', KERNEL_RAW_BASE), deterministic: true });
  const r = await vm.run({ timeoutMs: 60_000 });
  expect(r.reason).toBe('exit');
  expect(r.exitCode).toBe(0);
  return vm.populatedPages;
}

describe('bench/rss.ts touchGuest', () => {
  it('backs one guest page per 4 KiB touched', async () => {
    const a = await touched(4 << 20);
    const b = await touched(8 << 20);
    expect(b - a).toBe(1024);
    expect(a).toBeGreaterThanOrEqual(1024);
  }, 60_000);
});
