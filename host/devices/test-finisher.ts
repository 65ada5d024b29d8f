/**
 * The test finisher / syscon of the `virt` board (compatible "sifive,test1", "sifive,test0",
 * "syscon", at 0x0010_0000, size 0x1000). A guest ends the run by writing one word at offset 0:
 *
 *   bits 15:0   status: 0x5555 PASS, 0x3333 FAIL, 0x7777 RESET
 *   bits 31:16  exit code (FAIL only)
 *
 * PASS exits with code 0, FAIL with the code from bits 31:16 (as QEMU's sifive_test does, a
 * FAIL with code 0 also exits 0), RESET asks for a machine reset. Any other value, and any
 * other offset, is ignored, as in QEMU. Linux's syscon-poweroff / syscon-reboot drivers use
 * the same register (see the poweroff and reboot nodes of the device tree). Reads return 0.
 */

import type { MmioDevice } from './device';
import type { SectionReader, SectionWriter } from '../snapshot/format';

/** Status values of the finisher register (bits 15:0). */
export const FINISHER_FAIL = 0x3333;
export const FINISHER_PASS = 0x5555;
export const FINISHER_RESET = 0x7777;

/** What the machine does for the finisher. */
export interface TestFinisherHandlers {
  /** The guest asked to end the run with this exit code. */
  onExit(code: number): void;
  /** The guest asked for a reset. */
  onReset(): void;
}

/** The sifive,test0 finisher; stateless, so its snapshot section is empty. */
export class TestFinisher implements MmioDevice {
  readonly name: string;

  constructor(
    private readonly handlers: TestFinisherHandlers,
    name = 'test',
  ) {
    this.name = name;
  }

  read(_offset: number, _size: number): bigint {
    return 0n;
  }

  /** Snapshots (host/snapshot): nothing to save. */
  saveState(_w: SectionWriter): void {}
  loadState(_r: SectionReader): void {}

  write(offset: number, size: number, value: bigint): void {
    if (offset !== 0) return;
    const v = Number(value & (size >= 4 ? 0xffffffffn : (1n << BigInt(size * 8)) - 1n));
    const status = v & 0xffff;
    const code = v >>> 16;
    switch (status) {
      case FINISHER_PASS:
        this.handlers.onExit(0);
        break;
      case FINISHER_FAIL:
        this.handlers.onExit(code);
        break;
      case FINISHER_RESET:
        this.handlers.onReset();
        break;
      default:
        break;
    }
  }
}
