import { describe, expect, it } from 'vitest';
import { formatStats, groupDigits } from '../../host/cli/stats-table';

describe('formatStats', () => {
  it('prints every counter with rates and means', () => {
    const text = formatStats({
      instructions: 12345678n, wallMs: 1234.5, mips: 10.0003,
      tlbAccesses: 1000n, tlbMisses: 10n, pageWalks: 4n, pageWalkRefs: 13n,
      blockHits: 999n, blockMisses: 1n, blockChains: 500n, btFlushes: 2n, codeInvalidations: 3n,
      traps: 7n, interrupts: 8n, mmioExits: 1234n, haltExits: 0n,
    });
    expect(text).toBe(
      'wasmvisor statistics\n' +
        '  instructions retired  12,345,678\n' +
        '  wall time             1.234 s\n' +
        '  MIPS                  10.00\n' +
        '  block cache hit rate  99.90 % (999 hits, 1 misses)\n' +
        '  blocks chained        500\n' +
        '  TLB hit rate          99.00 % (1,000 accesses, 10 misses)\n' +
        '  page walks            4 (mean 3.25 refs per walk)\n' +
        '  traps                 7\n' +
        '  interrupts            8\n' +
        '  MMIO exits            1,234\n' +
        '  halt exits            0\n',
    );
  });
  it('says n/a for rates with nothing counted', () => {
    const zero = 0n;
    const text = formatStats({
      instructions: zero, wallMs: 0, mips: 0, tlbAccesses: zero, tlbMisses: zero, pageWalks: zero,
      pageWalkRefs: zero, blockHits: zero, blockMisses: zero, blockChains: zero, btFlushes: zero,
      codeInvalidations: zero, traps: zero, interrupts: zero, mmioExits: zero, haltExits: zero,
    });
    expect(text).toContain('  block cache hit rate  n/a (0 hits, 0 misses)\n');
    expect(text).toContain('  TLB hit rate          n/a (0 accesses, 0 misses)\n');
    expect(text).toContain('  page walks            0 (mean n/a refs per walk)\n');
  });
  it('groups digits', () => {
    expect(groupDigits(0n)).toBe('0');
    expect(groupDigits(999)).toBe('999');
    expect(groupDigits(1000n)).toBe('1,000');
    expect(groupDigits(1234567890n)).toBe('1,234,567,890');
  });
});
