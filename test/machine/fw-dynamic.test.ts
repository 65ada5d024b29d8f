import { describe, expect, it } from 'vitest';
import {
  buildFwDynamicInfo,
  fwDynamicInfoAddress,
  FW_DYNAMIC_INFO_SIZE,
  NextMode,
} from '../../host/machine/fw-dynamic';

function words(bytes: Uint8Array): bigint[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, i) => v.getBigUint64(i * 8, true));
}

describe('fw_dynamic_info', () => {
  it('encodes the six RV64 words of OpenSBI include/sbi/fw_dynamic.h, version 2', () => {
    const b = buildFwDynamicInfo({ nextAddr: 0x80200000n });
    expect(b.length).toBe(48);
    expect(FW_DYNAMIC_INFO_SIZE).toBe(48);
    expect(words(b)).toEqual([0x4942534fn, 2n, 0x80200000n, 1n, 0n, 0n]);
    // magic is "OSBI" in memory order
    expect(String.fromCharCode(...b.subarray(0, 4))).toBe('OSBI');
  });

  it('writes the chosen mode, options and boot hart; -1 becomes all ones', () => {
    const b = buildFwDynamicInfo({
      nextAddr: 0x80400000n,
      nextMode: NextMode.Machine,
      options: 1n,
      bootHart: -1n,
    });
    expect(words(b)).toEqual([0x4942534fn, 2n, 0x80400000n, 3n, 1n, 0xffffffffffffffffn]);
  });

  it('sits below the DTB, 64-byte aligned, without overlapping it', () => {
    expect(fwDynamicInfoAddress(0x87e00000n)).toBe(0x87dfffc0n);
    const a = fwDynamicInfoAddress(0x87e00038n);
    expect(a).toBe(0x87e00000n);
    expect(a + 48n <= 0x87e00038n).toBe(true);
    expect(fwDynamicInfoAddress(0x87e00070n)).toBe(0x87e00040n);
  });
});
