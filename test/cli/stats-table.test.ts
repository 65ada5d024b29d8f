import { describe, expect, it } from 'vitest';
import { formatStats, groupDigits } from '../../host/cli/stats-table';
import type { JitStats } from '../../host/machine/types';

const NO_JIT: JitStats = {
  compiles: 0n, failures: 0n, evictions: 0n, liveRegions: 0n, liveBytes: 0n, calls: 0n,
  instructions: 0n, blocksCompiled: 0n, jumpCacheHits: 0n, demoted: 0n,
};

describe('formatStats', () => {
  it('prints every counter with rates and means', () => {
    const text = formatStats({
      instructions: 12345678n, wallMs: 1234.5, mips: 10.0003,
      tlbAccesses: 1000n, tlbMisses: 10n, pageWalks: 4n, pageWalkRefs: 13n,
      blockHits: 999n, blockMisses: 1n, blockChains: 500n, btFlushes: 2n, codeInvalidations: 3n,
      traps: 7n, interrupts: 8n, mmioExits: 1234n, haltExits: 0n, jit: { ...NO_JIT, jumpCacheHits: 42n },
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
        '  jump cache hits       42\n' +
        '  compiled code         0.00 % of instructions (0 entries)\n' +
        '  compiled regions      0 (0 blocks), 0 alive in 0 KiB\n' +
        '  JIT evictions         0 (0 regions not compiled, 0 given back to the interpreter)\n' +
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
      codeInvalidations: zero, traps: zero, interrupts: zero, mmioExits: zero, haltExits: zero, jit: NO_JIT,
    });
    expect(text).toContain('  block cache hit rate  n/a (0 hits, 0 misses)\n');
    expect(text).toContain('  TLB hit rate          n/a (0 accesses, 0 misses)\n');
    expect(text).toContain('  page walks            0 (mean n/a refs per walk)\n');
  });
  it('reports compiled code, and TLB misses only when compiled code ran (it does not count hits)', () => {
    const text = formatStats({
      instructions: 1000n, wallMs: 1, mips: 1, tlbAccesses: 100n, tlbMisses: 5n, pageWalks: 0n,
      pageWalkRefs: 0n, blockHits: 0n, blockMisses: 0n, blockChains: 0n, btFlushes: 0n,
      codeInvalidations: 0n, traps: 0n, interrupts: 0n, mmioExits: 0n, haltExits: 0n,
      jit: { compiles: 3n, failures: 1n, evictions: 2n, liveRegions: 2n, liveBytes: 2049n, calls: 17n, instructions: 750n, blocksCompiled: 9n, jumpCacheHits: 4n, demoted: 3n },
    });
    expect(text).toContain('  TLB misses            5 (hit rate not measured in compiled code)\n');
    expect(text).toContain('  compiled code         75.00 % of instructions (17 entries)\n');
    expect(text).toContain('  compiled regions      3 (9 blocks), 2 alive in 3 KiB\n');
    expect(text).toContain('  JIT evictions         2 (1 regions not compiled, 3 given back to the interpreter)\n');
  });
  it('groups digits', () => {
    expect(groupDigits(0n)).toBe('0');
    expect(groupDigits(999)).toBe('999');
    expect(groupDigits(1000n)).toBe('1,000');
    expect(groupDigits(1234567890n)).toBe('1,234,567,890');
  });
});
