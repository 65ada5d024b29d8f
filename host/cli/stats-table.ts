/** The table `wasmvisor run --stats` prints to stderr at exit. */
import type { MachineStats } from '../machine/types';

/** Group digits in threes: 1234567n -> "1,234,567". */
export function groupDigits(n: bigint | number): string {
  return BigInt(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A percentage of hits, or "n/a" when nothing was counted. */
function rate(hits: bigint, total: bigint): string {
  if (total <= 0n) return 'n/a';
  return `${((Number(hits) / Number(total)) * 100).toFixed(2)} %`;
}

/** Format MachineStats as an aligned two-column table, one counter per line, ending in "\n". */
export function formatStats(s: MachineStats): string {
  const blockLookups = s.blockHits + s.blockMisses;
  const tlbHits = s.tlbAccesses - s.tlbMisses;
  const meanRefs = s.pageWalks > 0n ? (Number(s.pageWalkRefs) / Number(s.pageWalks)).toFixed(2) : 'n/a';
  const rows: [string, string][] = [
    ['instructions retired', groupDigits(s.instructions)],
    ['wall time', `${(s.wallMs / 1000).toFixed(3)} s`],
    ['MIPS', s.mips.toFixed(2)],
    ['block cache hit rate', `${rate(s.blockHits, blockLookups)} (${groupDigits(s.blockHits)} hits, ${groupDigits(s.blockMisses)} misses)`],
    ['blocks chained', groupDigits(s.blockChains)],
    s.jit.instructions > 0n
      // Compiled code does not count its TLB hits (it would cost a counter update per block).
      ? ['TLB misses', `${groupDigits(s.tlbMisses)} (hit rate not measured in compiled code)`]
      : ['TLB hit rate', `${rate(tlbHits, s.tlbAccesses)} (${groupDigits(s.tlbAccesses)} accesses, ${groupDigits(s.tlbMisses)} misses)`],
    ['page walks', `${groupDigits(s.pageWalks)} (mean ${meanRefs} refs per walk)`],
    ['jump cache hits', groupDigits(s.jit.jumpCacheHits)],
    ['compiled code', `${rate(s.jit.instructions, s.instructions)} of instructions (${groupDigits(s.jit.calls)} entries)`],
    ['compiled regions', `${groupDigits(s.jit.compiles)} (${groupDigits(s.jit.blocksCompiled)} blocks), ${groupDigits(s.jit.liveRegions)} alive in ${groupDigits((s.jit.liveBytes + 1023n) / 1024n)} KiB`],
    ['JIT evictions', `${groupDigits(s.jit.evictions)} (${groupDigits(s.jit.failures)} regions not compiled, ${groupDigits(s.jit.demoted)} given back to the interpreter)`],
    ['traps', groupDigits(s.traps)],
    ['interrupts', groupDigits(s.interrupts)],
    ['MMIO exits', groupDigits(s.mmioExits)],
    ['halt exits', groupDigits(s.haltExits)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return 'wasmvisor statistics\n' + rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}\n`).join('');
}
