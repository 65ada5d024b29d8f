/**
 * Is an image an M-mode program (for `wasmvisor run --bare`) rather than an S-mode kernel?
 * `run` without --bare enters the image in VS-mode, where an M-mode program's first CSR access
 * traps and the VM stops with a message that does not say why; this check lets the error line
 * suggest --bare instead.
 *
 * The rule: among the first MMODE_SCAN instructions at the entry point (straight-line decoding,
 * 16-bit compressed and 32-bit forms), one is a Zicsr instruction whose CSR number has bits
 * [9:8] = 3, the M-level CSRs (privileged spec, section 2.1 "CSR Address Mapping Conventions"),
 * or is MRET. An S-mode kernel never does either: both are illegal below M-mode. Only the first
 * instructions are read, where start-up code sets mtvec, reads mhartid, or drops to S-mode with mret.
 */
import type { LoadedImage } from '../machine/types';

/** How many instructions after the entry are looked at. */
export const MMODE_SCAN = 32;

const CSR_NAMES: Record<number, string> = {
  0x300: 'mstatus', 0x301: 'misa', 0x302: 'medeleg', 0x303: 'mideleg', 0x304: 'mie', 0x305: 'mtvec',
  0x340: 'mscratch', 0x341: 'mepc', 0x342: 'mcause', 0x343: 'mtval', 0x344: 'mip',
  0xf11: 'mvendorid', 0xf12: 'marchid', 0xf13: 'mimpid', 0xf14: 'mhartid',
};

/** The entry's bytes, from the segment holding it. */
function entryBytes(image: LoadedImage): { bytes: Uint8Array; at: number } | undefined {
  for (const s of image.segments) {
    if (image.entry >= s.paddr && image.entry < s.paddr + BigInt(s.data.length)) return { bytes: s.data, at: Number(image.entry - s.paddr) };
  }
  return undefined;
}

/**
 * Why `image` looks like an M-mode program ("csrr mhartid at 0x80000000"), or undefined when its
 * first instructions use no M-mode CSR and no MRET.
 */
export function mModeEvidence(image: LoadedImage): string | undefined {
  const e = entryBytes(image);
  if (!e) return undefined;
  let off = e.at;
  for (let n = 0; n < MMODE_SCAN && off + 2 <= e.bytes.length; n++) {
    const lo = e.bytes[off] | (e.bytes[off + 1] << 8);
    if ((lo & 3) !== 3) { off += 2; continue; } // compressed: no CSR access among them
    if (off + 4 > e.bytes.length) break;
    const insn = (lo | (e.bytes[off + 2] << 16) | (e.bytes[off + 3] << 24)) >>> 0;
    const pc = '0x' + (image.entry + BigInt(off - e.at)).toString(16);
    if (insn === 0x30200073) return `mret at ${pc}`;
    const funct3 = (insn >>> 12) & 7;
    if ((insn & 0x7f) === 0x73 && funct3 !== 0 && funct3 !== 4) {
      const csr = insn >>> 20;
      if (((csr >>> 8) & 3) === 3) return `an access to ${CSR_NAMES[csr] ?? `CSR 0x${csr.toString(16)}`} at ${pc}`;
    }
    off += 4;
  }
  return undefined;
}
