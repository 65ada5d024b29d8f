// The rule that tells an M-mode program from an S-mode kernel (host/cli/m-mode.ts), over every
// committed guest and over hand-made instruction streams.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mModeEvidence, MMODE_SCAN } from '../../host/cli/m-mode';
import { loadImageFile } from '../../host/machine/loader';
import type { LoadedImage } from '../../host/machine/types';
import { root } from '../lib/consumer';

/** A raw image of these 32-bit words (or 16-bit halves) at 0x80200000. */
function raw(halves: number[]): LoadedImage {
  const data = new Uint8Array(halves.length * 2);
  halves.forEach((h, i) => { data[2 * i] = h & 0xff; data[2 * i + 1] = h >>> 8; });
  return { name: 'raw', entry: 0x80200000n, segments: [{ paddr: 0x80200000n, data, memSize: data.length }] };
}
const w = (insn: number) => [insn & 0xffff, insn >>> 16];

describe('mModeEvidence', () => {
  it('finds every bare guest of guests/bin M-mode and every VM guest not', () => {
    const bin = join(root, 'guests/bin');
    const vmDirs = new Set(['minikernel', 'vmbench', 'vmboard', 'vmvirtio', 'xen', 'linux']);
    for (const d of readdirSync(bin)) {
      // kernels only: ELF files and Linux's Image (not its initramfs or VERSIONS)
      for (const f of readdirSync(join(bin, d)).filter((x) => x.endsWith('.elf') || x === 'Image')) {
        const ev = mModeEvidence(loadImageFile(join(bin, d, f), 0x80200000n));
        if (vmDirs.has(d)) expect(ev, `${d}/${f}`).toBeUndefined();
        else expect(ev, `${d}/${f}`).toMatch(/^an access to \w+ at 0x8000[0-9a-f]+$|^mret at /);
      }
    }
  });

  it('decodes compressed and 32-bit instructions; S-level CSRs and ecall are not evidence', () => {
    const csrrMhartid = 0xf1402573; // csrr a0, mhartid
    const csrwStvec = 0x10551073; // csrw stvec, a0
    const ecall = 0x00000073;
    expect(mModeEvidence(raw([0x4501, ...w(csrwStvec), ...w(ecall), 0x0001, ...w(csrrMhartid)]))).toBe('an access to mhartid at 0x8020000c');
    expect(mModeEvidence(raw([...w(csrwStvec), ...w(ecall)]))).toBeUndefined();
    expect(mModeEvidence(raw([...w(0x30200073)]))).toBe('mret at 0x80200000');
    expect(mModeEvidence(raw([...w(0x5c002573)]))).toBeUndefined(); // csrr a0, 0x5c0: bits 9:8 = 1, an S-level (custom) CSR
    expect(mModeEvidence(raw([...w(0x7c002573)]))).toBe('an access to CSR 0x7c0 at 0x80200000'); // bits 9:8 = 3: M-level custom
  });

  it(`looks at the first ${MMODE_SCAN} instructions only`, () => {
    const nops = Array(MMODE_SCAN * 2).fill(0).flatMap(() => w(0x00000013)).slice(0, MMODE_SCAN * 2);
    expect(mModeEvidence(raw([...nops.slice(0, (MMODE_SCAN - 1) * 2), ...w(0xf1402573)]))).toBe(`an access to mhartid at 0x${(0x80200000 + (MMODE_SCAN - 1) * 4).toString(16)}`);
    expect(mModeEvidence(raw([...nops, ...w(0xf1402573)]))).toBeUndefined();
  });
});
