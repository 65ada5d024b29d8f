/**
 * Hostile guests for the trap-storm tests: raw images whose trap handler's first instruction
 * traps again, so the hart takes trap after trap and retires nothing. Assembled here (over the
 * fuzzer's encoder, test/vmm/asm.ts), so the tests need no cross compiler.
 *
 * Each prints STORM_MARK on the 16550 (0x10000000, emulated in bare and VM mode alike) first, so
 * a test knows the storm has begun before it signals or types.
 *
 *   M-mode (bare, raw at 0x80000000):  mtvec at an ebreak; mtvec at an illegal instruction
 *   VS-mode (VM, raw at 0x80200000):   stvec at an ebreak (breakpoint, delegated to VS: the storm
 *       stays in the core); stvec at an unmapped page under Sv39 (instruction page fault,
 *       delegated); stvec at an illegal instruction (not delegated: every trap is a VM exit that
 *       the VMM reflects into the guest, a host <-> guest ping-pong)
 */
import * as E from '../diff/encode';
import { Asm } from '../vmm/asm';
import { Prng } from '../vmm/prng';

/** What every storm guest prints before its storm. */
export const STORM_MARK = 'storm\n';
export const BARE_BASE = 0x80000000n;
export const VM_BASE = 0x80200000n;

const T0 = 5, T1 = 6;
const EBREAK = 0x00100073;
const ILLEGAL = 0x00000000; // all zeros: defined illegal (unprivileged spec §1.5)
const SFENCE_VMA = 0x12000073;
const MTVEC = 0x305, STVEC = 0x105, SATP = 0x180;
/** csrrw x0, csr, rs. */
const csrw = (csr: number, rs: number) => E.iType(0x73, 1, 0, rs, csr);

/** Store `text` to the UART's transmit register, byte by byte. */
function print(a: Asm, text: string): void {
  a.emit(E.lui(T0, 0x10000));
  for (const ch of text) a.emit(E.aluI('addi', T1, 0, ch.charCodeAt(0)), E.store('sb', T1, T0, 0));
}

/** Print the mark, point the trap vector (CSR `vector`) at `word`, and run into it. */
function vectorAt(base: bigint, vector: number, word: number): Uint8Array {
  const a = new Asm(base);
  print(a, STORM_MARK);
  a.la(T0, 'handler').emit(csrw(vector, T0));
  a.label('handler').emit(word);
  return a.finish(4096);
}

/** M-mode: mtvec at an ebreak. */
export const mtvecEbreak = (): Uint8Array => vectorAt(BARE_BASE, MTVEC, EBREAK);
/** M-mode: mtvec at an illegal instruction. */
export const mtvecIllegal = (): Uint8Array => vectorAt(BARE_BASE, MTVEC, ILLEGAL);
/** VS-mode: stvec (vstvec) at an ebreak. */
export const stvecEbreak = (): Uint8Array => vectorAt(VM_BASE, STVEC, EBREAK);
/** VS-mode: stvec at an illegal instruction (each trap a VM exit the VMM reflects). */
export const stvecIllegal = (): Uint8Array => vectorAt(VM_BASE, STVEC, ILLEGAL);

/**
 * VS-mode with Sv39 on (vsatp): one gigapage maps 0x80000000.. to itself (RWX, A, D), nothing
 * else is mapped. stvec = 0x40000000 (unmapped), then an ebreak: the breakpoint goes to stvec,
 * whose fetch page-faults (cause 12, delegated to VS by hedeleg) to stvec again, and so on.
 */
export function stvecUnmapped(): Uint8Array {
  const root = VM_BASE + 0x1000n; // 4 KiB aligned
  const pte = ((0x80000000n >> 12n) << 10n) | 0xcfn; // V R W X A D
  const table = new Uint8Array(4096);
  new DataView(table.buffer).setBigUint64(2 * 8, pte, true); // VPN[2] = 2: 0x80000000..0xbfffffff
  const a = new Asm(VM_BASE);
  print(a, STORM_MARK);
  a.li64(T0, 0x40000000n).emit(csrw(STVEC, T0));
  a.li64(T1, (8n << 60n) | (root >> 12n)).emit(csrw(SATP, T1), SFENCE_VMA);
  a.emit(EBREAK);
  a.place(root, table);
  return a.finish(0x2000);
}

/**
 * VS-mode, well behaved but busy: `iterations` turns of a two-instruction loop, then "done" on
 * the UART and SBI SRST shutdown (a Xen DomU beside a storm must still get its share).
 */
export function busyThenDone(iterations: bigint): Uint8Array {
  const A0 = 10, A1 = 11, A6 = 16, A7 = 17;
  const a = new Asm(VM_BASE);
  a.li64(T0, iterations).label('loop').emit(E.aluI('addi', T0, T0, -1)).branch('bne', T0, 0, 'loop');
  print(a, 'done\n');
  a.li64(A0, 0n).li64(A1, 0n).li64(A7, 0x53525354n).li64(A6, 0n).emit(0x00000073, E.jal(0, 0));
  return a.finish(4096);
}

/** `size` bytes from a fixed seed: a raw image of noise. */
export function randomBytes(seed: bigint, size: number): Uint8Array {
  const rng = new Prng(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.below(256);
  return out;
}
