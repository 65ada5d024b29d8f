// bench/jit-check.ts: which workloads and boots the bench flags as slower with the JIT.
import { describe, expect, it } from 'vitest';
import { formatJitCheck, jitSlowerThanInterpreter } from '../../bench/jit-check';

describe('jitSlowerThanInterpreter', () => {
  const pairs = [
    { name: 'crc32', jitMs: 500, interpMs: 2700 },
    { name: 'boot: minikernel as a VM', jitMs: 361, interpMs: 163 },
    { name: 'within slack', jitMs: 104, interpMs: 100 },
    { name: 'not measured', jitMs: NaN, interpMs: 100 },
  ];
  it('flags only the pairs where --jit on took longer than --jit off beyond the slack', () => {
    expect(jitSlowerThanInterpreter(pairs)).toEqual(['boot: minikernel as a VM: --jit on 361.0 ms, --jit off 163.0 ms (2.21x)']);
    expect(jitSlowerThanInterpreter(pairs, 1)).toHaveLength(2);
  });
  it('prints one line per offender, or one line saying there is none', () => {
    expect(formatJitCheck(pairs).split('\n').slice(2)).toEqual(['!!!! JIT SLOWER: boot: minikernel as a VM: --jit on 361.0 ms, --jit off 163.0 ms (2.21x)']);
    expect(formatJitCheck(pairs.slice(0, 1))).toMatch(/\nthe JIT is nowhere slower than the interpreter$/);
  });
});
