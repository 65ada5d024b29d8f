/** `xl list` layout, byte for byte as xl's list_domains prints it. */
import { describe, expect, it } from 'vitest';
import { formatXlList, stateLetters, XL_LIST_HEADER } from '../../../host/xen/toolstack/list-format';

describe('formatXlList', () => {
  it('pads as "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f"', () => {
    expect(formatXlList([
      { name: 'Domain-0', domid: 0, memMiB: 0, vcpus: 1, state: { running: true }, timeS: 12.345 },
      { name: 'domu1', domid: 1, memMiB: 32, vcpus: 1, state: { blocked: true, paused: true }, timeS: 0.04 },
      { name: 'x'.repeat(45), domid: 32751, memMiB: 2048, vcpus: 1, state: { shutdown: true, crashed: true, dying: true }, timeS: 123456.78 },
    ])).toBe(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)\n' +
      'Domain-0                                     0     0     1     r-----      12.3\n' +
      'domu1                                        1    32     1     -bp---       0.0\n' +
      'x'.repeat(45) + ' 32751  2048     1     ---scd  123456.8\n');
    expect(formatXlList([])).toBe(XL_LIST_HEADER + '\n');
  });

  it('one letter per flag, in xl order', () => {
    expect(['running', 'blocked', 'paused', 'shutdown', 'crashed', 'dying'].map((f) => stateLetters({ [f]: true }))).toEqual(['r-----', '-b----', '--p---', '---s--', '----c-', '-----d']);
    expect(stateLetters({})).toBe('------');
  });
});
