/**
 * HTIF (Spike's host-target interface): an ELF that defines `tohost` reports through it.
 * tohost = device << 56 | command << 48 | payload; device 1 command 1 prints a byte, device 0
 * command 0 with payload bit 0 set exits with code payload >> 1 (riscv-tests' convention).
 * QEMU's virt machine has no HTIF, so this is checked against the protocol, not against QEMU.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { buildElf } from '../host/elf-writer';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';

const T0 = 5;
const T1 = 6;

/** t1 = (dev << 56) | (cmd << 48) | payload (payload < 2048); sd t1, 0(t0). */
function send(dev: number, cmd: number, payload: number): number[] {
  return [
    E.aluI('addi', T1, 0, (dev << 8) | cmd),
    E.shiftI('slli', T1, T1, 48),
    E.aluI('addi', T1, T1, payload),
    E.store('sd', T1, T0, 0),
  ];
}

function htifElf(exitCode: number): Uint8Array {
  const words = [
    E.uType(0x17, T0, 1), // auipc t0, 1: t0 = 0x80001000 = &tohost
    ...send(1, 1, 'H'.charCodeAt(0)),
    ...send(1, 1, 'i'.charCodeAt(0)),
    ...send(0, 0, (exitCode << 1) | 1),
    E.jal(0, 0), // spin (never reached)
  ];
  const code = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(code.buffer).setUint32(i * 4, w, true));
  return buildElf({
    entry: 0x80000000n,
    segments: [
      { paddr: 0x80000000n, data: code },
      { paddr: 0x80001000n, data: new Uint8Array(16), flags: 6 },
    ],
    symbols: [
      { name: 'tohost', value: 0x80001000n, shndx: 2 },
      { name: 'fromhost', value: 0x80001008n, shndx: 2 },
    ],
  }).bytes;
}

describe('HTIF tohost', () => {
  for (const code of [0, 3]) {
    it(`prints through device 1 and exits with code ${code} through device 0`, async () => {
      const out: number[] = [];
      const m = await Machine.create({
        memSize: 16 << 20,
        kernel: parseImage(htifElf(code), 'htif.elf', 0x80000000n),
        deterministic: true,
        onConsoleOutput: (b) => out.push(...b),
      });
      const r = await m.run({ timeoutMs: 5000 });
      expect(r.reason).toBe('exit');
      expect(r.exitCode).toBe(code);
      expect(String.fromCharCode(...out)).toBe('Hi');
      // Each request was taken, then cleared by the host as Spike's front end does.
      expect([...m.memory.read(0x80001000n, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      // 1 auipc + 3 x 4 instructions retired, the last store included.
      expect(r.instructions).toBe(13n);
    });
  }
});
