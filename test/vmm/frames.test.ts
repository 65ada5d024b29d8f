import { describe, expect, it } from 'vitest';
import { FrameAllocator } from '../../host/vmm/frames';
import { FakeRam } from './fakes';

describe('FrameAllocator', () => {
  it('hands out distinct zeroed frames from the top of RAM downward (not the identity)', () => {
    const ram = new FakeRam(64 * 4096);
    ram.bytes.fill(0xaa);
    const f = new FrameAllocator(ram);
    const seen = new Set<bigint>();
    for (let i = 0; i < 64; i++) {
      const hpa = f.alloc();
      expect(seen.has(hpa)).toBe(false);
      seen.add(hpa);
      expect(hpa % 4096n).toBe(0n);
      expect(ram.read(hpa, 4096).every((b) => b === 0)).toBe(true);
    }
    // First frame is the last one in RAM, so guest page 0 of RAM is never host page 0.
    expect([...seen][0]).toBe(0x80000000n + 63n * 4096n);
    expect(f.counters()).toEqual({ capacity: 64, inUse: 64, allocated: 64, freed: 0 });
    expect(() => f.alloc()).toThrow('guest: out of host memory (64 frames of 4 KiB in use); give the VM less --mem');
  });

  it('reuses released frames and never hands out a frame that is in use', () => {
    const ram = new FakeRam(16 * 4096);
    const f = new FrameAllocator(ram);
    const a = f.alloc();
    const b = f.alloc();
    f.release(a);
    expect(f.owns(a)).toBe(false);
    ram.write(a, Uint8Array.of(1, 2, 3));
    const c = f.alloc();
    expect(c).toBe(a);
    expect(ram.read(c, 3)).toEqual(Uint8Array.of(0, 0, 0)); // zeroed again
    expect(c).not.toBe(b);
    expect(() => f.release(0x80000000n)).toThrow('frames: 0x80000000 is not an allocated frame');
    expect(f.counters()).toEqual({ capacity: 16, inUse: 2, allocated: 3, freed: 1 });
  });

  it('allocates a 16 KiB-aligned run of 4 frames, keeping the skipped frames for later', () => {
    const ram = new FakeRam(16 * 4096);
    const f = new FrameAllocator(ram);
    const one = f.alloc(); // top frame: 0x8000f000
    expect(one).toBe(0x8000f000n);
    const root = f.allocContiguous(4, 4);
    expect(root).toBe(0x80008000n);
    expect(f.owns(root + 3n * 4096n + 17n)).toBe(true);
    // The three frames skipped for alignment come back before new ones.
    const again = [f.alloc(), f.alloc(), f.alloc()].sort();
    expect(again).toEqual([0x8000c000n, 0x8000d000n, 0x8000e000n]);
    expect(f.alloc()).toBe(0x80007000n);
  });
});

describe('FrameAllocator over zeroed RAM (the VMM: a new Memory)', () => {
  it('does not write frames the bump pointer reaches for the first time, and zeroes reused ones', () => {
    const ram = new FakeRam(8 * 4096);
    const writes: bigint[] = [];
    const write = ram.write.bind(ram);
    ram.write = (addr: bigint, bytes: Uint8Array) => { writes.push(addr); write(addr, bytes); };
    const f = new FrameAllocator(ram, 'guest', ram.base, true);
    const a = f.alloc();
    const root = f.allocContiguous(4, 4);
    expect(writes).toEqual([]); // first use: the host pays for these pages when the guest touches them
    write(a, Uint8Array.of(7));
    f.release(a);
    expect(f.alloc()).toBe(a);
    expect(writes).toEqual([a]);
    expect(ram.read(a, 1)).toEqual(Uint8Array.of(0));
    expect(root).toBe(0x80000000n);
  });
});
