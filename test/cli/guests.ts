/**
 * Tiny raw guest binaries for the CLI tests, assembled with the fuzzer's encoder so that the
 * tests need no cross compiler. Raw binaries are loaded at 0x80000000 (0x80200000 with --bios).
 */
import * as E from '../diff/encode';

/** Little-endian bytes of 32-bit instruction words, then optional data. */
function bytesOf(words: number[], data: Uint8Array = new Uint8Array()): Uint8Array {
  const out = new Uint8Array(words.length * 4 + data.length);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(i * 4, w, true));
  out.set(data, words.length * 4);
  return out;
}

/** `j .`: spins forever (for --timeout and --max-instructions). */
export function spinGuest(): Uint8Array {
  return bytesOf([E.jal(0, 0)]);
}

/** Writes `value` to the test finisher at 0x100000 and spins. */
export function finisherGuest(value: number): Uint8Array {
  const lo = ((value & 0xfff) << 20) >> 20;
  const hi = ((value - lo) >>> 12) & 0xfffff;
  return bytesOf([
    E.lui(5, 0x100), // t0 = 0x100000
    E.lui(6, hi),
    E.aluI('addiw', 6, 6, lo), // t1 = value
    E.store('sw', 6, 5, 0),
    E.jal(0, 0),
  ]);
}

/** The word the finisher takes for "fail with exit code `code`". */
export const finisherFail = (code: number) => ((code << 16) | 0x3333) >>> 0;

/**
 * An S-mode payload for OpenSBI: prints `text` with the legacy SBI console_putchar (extension
 * 0x01) and powers off with SBI SRST (extension 0x53525354, function 0, type 0 shutdown).
 */
export function sbiHelloPayload(text: string): Uint8Array {
  const S1 = 9, A0 = 10, A1 = 11, A6 = 16, A7 = 17;
  const words = [
    E.auipc(S1, 0),
    E.aluI('addi', S1, S1, 0), // patched: s1 = address of the text
    E.load('lbu', A0, S1, 0), // loop:
    E.branch('beq', A0, 0, 20), // -> done
    E.aluI('addi', A7, 0, 1),
    0x00000073, // ecall
    E.aluI('addi', S1, S1, 1),
    E.jal(0, -20), // -> loop
    E.lui(A7, 0x53525), // done: a7 = 0x53525354 ("SRST")
    E.aluI('addiw', A7, A7, 0x354),
    E.aluI('addi', A6, 0, 0),
    E.aluI('addi', A0, 0, 0),
    E.aluI('addi', A1, 0, 0),
    0x00000073, // ecall
    E.jal(0, 0),
  ];
  words[1] = E.aluI('addi', S1, S1, words.length * 4);
  return bytesOf(words, new TextEncoder().encode(text + '\0'));
}
