/**
 * How much RAM a guest can have: what the 32-bit Wasm memory of one machine holds next to the
 * core's regions. Derived from assembly/abi.ts only, so it follows RAM_SIZE_MAX and RAM_OFFSET.
 * (machine.ts checkMemSize checks a size against it; the VMM and the xl.cfg reader derive their
 * own limits from it.)
 */
import * as A from '../../assembly/abi';
import { UserError } from '../errors';
import { createMemory } from './core';

/** Bytes a 32-bit WebAssembly memory can hold: 65536 pages of 64 KiB. */
const WASM32_BYTES = 65536 * 65536;

/**
 * The most RAM a machine can have: the core's window (assembly/abi.ts RAM_SIZE_MAX), and what
 * the 32-bit Wasm memory leaves above the core's regions (RAM_OFFSET), in whole 64 KiB pages.
 */
export function memSizeLimit(): number {
  return Math.min(Number(A.RAM_SIZE_MAX), Math.floor((WASM32_BYTES - Number(A.RAM_OFFSET)) / 65536) * 65536);
}

/** A size for messages: "2G", "2042M", "1028K" (the largest unit that divides it), else bytes. */
export function sizeText(bytes: number): string {
  for (const [unit, n] of [['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return String(bytes);
}

/**
 * The Wasm memory for a machine with `ramSize` bytes of (host) RAM, allocated now, so that a
 * guest that later touches all its RAM cannot fail for want of it. When the host cannot give
 * that much (address-space limits, ulimit -v), a one-line UserError naming `who` and the size.
 */
export function allocateMemory(ramSize: number, who: string): WebAssembly.Memory {
  try {
    return createMemory(ramSize);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new UserError(`wasmvisor: ${who}: cannot allocate ${sizeText(ramSize)} of host memory for its RAM (${e.message}); give it less memory (--mem)`);
  }
}
