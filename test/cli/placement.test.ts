import { describe, expect, it } from 'vitest';
import { checkPlacement } from '../../host/cli/placement';
import type { LoadedImage } from '../../host/machine/types';

const img = (name: string, ...segs: [bigint, number, number][]): LoadedImage => ({
  name,
  entry: 0x80000000n,
  segments: segs.map(([paddr, len, memSize]) => ({ paddr, data: new Uint8Array(len), memSize })),
});

function message(f: () => void): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('checkPlacement', () => {
  it('accepts segments inside RAM, up to the last byte', () => {
    expect(message(() => checkPlacement(img('a', [0x80000000n, 16, 16], [0x87fff000n, 0, 0x1000]), 128 << 20))).toBe('no error');
  });
  it('names the image and the segment when a segment is outside RAM', () => {
    expect(message(() => checkPlacement(img('k.elf', [0x88000000n, 4, 4]), 128 << 20))).toBe(
      'k.elf: segment at 0x88000000 (size 0x4) is outside RAM 0x80000000-0x87ffffff',
    );
    expect(message(() => checkPlacement(img('low.elf', [0x1000n, 4, 4]), 1 << 30))).toBe(
      'low.elf: segment at 0x1000 (size 0x4) is outside RAM 0x80000000-0xbfffffff',
    );
  });
  it('rejects a payload overlapping the firmware', () => {
    const fw = img('fw.bin', [0x80000000n, 0x40000, 0x40000]);
    expect(message(() => checkPlacement(img('k', [0x80200000n, 8, 8]), 128 << 20, fw))).toBe('no error');
    expect(message(() => checkPlacement(img('k', [0x8003f000n, 8, 8]), 128 << 20, fw))).toBe(
      'k: segment 0x8003f000-0x8003f007 overlaps the firmware fw.bin at 0x80000000-0x8003ffff',
    );
  });
});
