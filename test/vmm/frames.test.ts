import { describe, expect, it } from 'vitest';
import type { GuestMemory } from '../../host/devices/device';
import { UserError } from '../../host/errors';
import { memSizeLimit } from '../../host/machine/mem-size';
import { FrameAllocator } from '../../host/vmm/frames';
import { GStage, HGATP_MODE_SV39X4, HGATP_MODE_SV48X4 } from '../../host/vmm/gstage';
import { checkVmMemSize, hostRamSize, vmMemSizeLimit } from '../../host/vmm/vm';
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

// ---- issue 11: a VM near 2 GiB that touched all its RAM failed mid-run "out of host memory" ----

/** Host RAM that holds only the pages written with something other than zeros (a sparse fake). */
class SparseRam implements GuestMemory {
  readonly base = 0x80000000n;
  readonly pages = new Map<bigint, Uint8Array>();
  constructor(readonly size: number) {}
  private page(addr: bigint, len: number, create: boolean): Uint8Array | undefined {
    if (addr < this.base || addr + BigInt(len) > this.base + BigInt(this.size) || ((addr & 0xfffn) + BigInt(len)) > 0x1000n) {
      throw new RangeError(`sparse RAM: 0x${addr.toString(16)}+${len}`);
    }
    const key = addr >> 12n;
    let p = this.pages.get(key);
    if (p === undefined && create) this.pages.set(key, (p = new Uint8Array(4096)));
    return p;
  }
  /** A page of zeros seen before (the allocator zeroes every frame with the same array). */
  private zeros: Uint8Array | undefined;
  write(addr: bigint, data: Uint8Array): void {
    if (data === this.zeros && !this.pages.has(addr >> 12n)) return;
    const zero = data.every((b) => b === 0);
    if (zero && data.length === 4096) this.zeros = data;
    const p = this.page(addr, data.length, !zero);
    p?.set(data, Number(addr & 0xfffn));
  }
  read(addr: bigint, length: number): Uint8Array {
    const p = this.page(addr, length, false);
    const o = Number(addr & 0xfffn);
    return p ? p.slice(o, o + length) : new Uint8Array(length);
  }
  read64(addr: bigint): bigint {
    const p = this.page(addr, 8, false);
    return p ? new DataView(p.buffer).getBigUint64(Number(addr & 0xfffn), true) : 0n;
  }
  write64(addr: bigint, v: bigint): void {
    const p = this.page(addr, 8, v !== 0n);
    p && new DataView(p.buffer).setBigUint64(Number(addr & 0xfffn), v, true);
  }
}

describe('admission: the host RAM of the largest VM holds every frame it can need', () => {
  for (const [mode, name] of [[HGATP_MODE_SV39X4, 'Sv39x4'], [HGATP_MODE_SV48X4, 'Sv48x4']] as const) {
    it(`vmMemSizeLimit() (${vmMemSizeLimit() / 2 ** 20} MiB) with ${name}: every guest page gets a frame, with every table a full map needs`, () => {
      const mem = vmMemSizeLimit();
      const hostSize = hostRamSize(mem);
      expect(hostSize).toBeLessThanOrEqual(memSizeLimit());
      const ram = new SparseRam(hostSize);
      const frames = new FrameAllocator(ram, 'big.elf');
      const g = new GStage(ram, frames, mode, 1n);
      // Touch all of guest RAM, as a guest that fills its memory does (vm.ts populate: a frame,
      // then its mapping). Mapping one page per 2 MiB builds every table a full map needs.
      for (let gpa = 0x80000000n; gpa < 0x80000000n + BigInt(mem); gpa += 4096n) {
        const hpa = frames.alloc();
        if ((gpa & 0x1fffffn) === 0n) g.map(gpa, hpa);
      }
      const c = frames.counters();
      expect(g.counters().pages).toBe(Math.ceil(mem / (2 << 20)));
      expect(c.inUse).toBe(mem / 4096 + g.counters().tables + 3); // + the root's 3 frames past the first
      expect(c.inUse).toBeLessThanOrEqual(c.capacity);
    }, 60_000);
  }

  it('a VM larger than the limit is refused when it is created, in one line', () => {
    expect(() => checkVmMemSize(vmMemSizeLimit() + 2 ** 20, 'big.elf: memory')).toThrow(
      new UserError(`wasmvisor: big.elf: memory: bad size ${vmMemSizeLimit() + 2 ** 20} (a VM needs a multiple of 4 KiB from 1M to ${vmMemSizeLimit() / 2 ** 20}M)`),
    );
    expect(() => checkVmMemSize(vmMemSizeLimit())).not.toThrow();
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
