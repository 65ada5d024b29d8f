/**
 * The list of ISA tests comes from the ISA table: every row (every mnemonic, compressed ones
 * included) must have at least one unit test in the case lists that the other files of this
 * directory run, and every case must name a row (or be one of the `illegal` encodings).
 */
import { describe, expect, it } from 'vitest';
import { ISA } from '../../assembly/isa/table';
import type { Cases } from './harness';
import { cases as rv64i } from './cases/rv64i';
import { cases as rv64m } from './cases/rv64m';
import { cases as rv64a } from './cases/rv64a';
import { cases as rvc } from './cases/rvc';
import { cases as zicsr } from './cases/zicsr';
import { cases as system } from './cases/system';
import { cases as h } from './cases/h';
import { cases as rv64f } from './cases/rv64f';
import { cases as rv64d } from './cases/rv64d';

const LISTS: Record<string, Cases> = { rv64i, rv64m, rv64a, rvc, zicsr, system, h, rv64f, rv64d };

describe('ISA test coverage', () => {
  const covered = new Set<string>();
  for (const list of Object.values(LISTS)) for (const name of list.covered()) covered.add(name);

  it('every row of the ISA table has a unit test', () => {
    const missing = ISA.map((r) => r[0]).filter((name) => !covered.has(name));
    expect(missing, `ISA rows without a unit test: ${missing.join(', ')}`).toEqual([]);
  });

  it('every case names a row of the ISA table', () => {
    const names = new Set(ISA.map((r) => r[0]));
    const unknown = [...covered].filter((n) => n !== 'illegal' && !names.has(n));
    expect(unknown, `cases naming no ISA row: ${unknown.join(', ')}`).toEqual([]);
  });

  it('the table has the rows the case files were written for', () => {
    // A guard against an empty import or a truncated table making the checks above vacuous.
    expect(ISA.length).toBeGreaterThan(100);
    expect(covered.size).toBeGreaterThanOrEqual(ISA.length);
  });
});
