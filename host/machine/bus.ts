/** The physical bus: which device answers at which guest-physical address. */
import type { MmioDevice } from '../devices/device';

/** One device window on the bus. */
export interface BusWindow {
  base: bigint;
  size: bigint;
  device: MmioDevice;
}

/** Devices mapped at fixed physical windows (RAM is not on it: the core handles RAM itself). */
export class Bus {
  private readonly windows: BusWindow[] = [];
  /** The window of the last access: most exits hit the same device again (the UART). */
  private last: BusWindow | undefined;

  /** Map `device` at [base, base + size). Overlapping windows are a programming error. */
  map(base: bigint, size: bigint, device: MmioDevice): void {
    for (const w of this.windows) {
      if (base < w.base + w.size && w.base < base + size) {
        throw new Error(`bus: ${device.name} at 0x${base.toString(16)} overlaps ${w.device.name}`);
      }
    }
    this.windows.push({ base, size, device });
  }

  /** The window containing [addr, addr + size), or undefined (an access fault for the guest). */
  find(addr: bigint, size: number): BusWindow | undefined {
    // (No closure here: the bundle keeps function names, so a closure made per call is also a
    // __name() call per device access, ~20 % of a device-heavy guest's profile.)
    const end = addr + BigInt(size);
    const last = this.last;
    if (last !== undefined && addr >= last.base && end <= last.base + last.size) return last;
    for (const w of this.windows) {
      if (addr >= w.base && end <= w.base + w.size) {
        this.last = w;
        return w;
      }
    }
    return undefined;
  }

  /** Every mapped window, in mapping order. */
  list(): readonly BusWindow[] {
    return this.windows;
  }
}
