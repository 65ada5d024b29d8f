/**
 * The target's side of the stop (host/migrate/incoming.ts, postcopy-target.ts): post-copy's
 * ABSENT list read into a list and one byte per page (rehearsed before OK), the absent set taken
 * from those bytes, and the page write by page number (Ram.writePage, no BigInts) doing what
 * Ram.write does: the bytes, and the page's "written since reset" bit (what a snapshot saves).
 */
import { describe, expect, it } from 'vitest';
import { Asm } from '../vmm/asm';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { PageNotHere } from '../../host/machine/missing-pages';
import { readAbsent } from '../../host/migrate/incoming';
import { guestRam } from '../../host/migrate/pages';
import { PageFlags } from '../../host/migrate/postcopy-target';

const PAGE = 4096;

function absentPayload(pages: number[], count = pages.length): Uint8Array {
  const p = new Uint8Array(4 + pages.length * 4);
  const v = new DataView(p.buffer);
  v.setUint32(0, count, true);
  pages.forEach((i, k) => v.setUint32(4 + k * 4, i, true));
  return p;
}

describe('post-copy ABSENT on the target', () => {
  const pageCount = 64;
  const listed = new Uint8Array(pageCount);
  for (const i of [1, 2, 5, 9, 40, 63]) listed[i] = 1;
  const received = new Uint8Array(pageCount);
  received[1] = received[9] = 1; // (sent in a round: may be absent again, or not)

  it('gives the list ascending and a byte per page, equal to a set built from the list', () => {
    const got = readAbsent(absentPayload([63, 2, 5, 40, 1]), received, listed);
    if (typeof got === 'string') throw new Error(got);
    expect(Array.from(got.absent)).toEqual([1, 2, 5, 40, 63]);
    expect(Array.from(got.flags.keys()).filter((i) => got.flags[i] === 1)).toEqual([1, 2, 5, 40, 63]);
    const taken = new PageFlags(pageCount, got.absent, got.flags);
    const built = new PageFlags(pageCount, [1, 2, 5, 40, 63]);
    expect(taken.size).toBe(5);
    for (let i = 0; i < pageCount + 2; i++) expect(taken.has(i)).toBe(built.has(i));
    expect(taken.delete(40)).toBe(true);
    expect(taken.delete(40)).toBe(false);
    expect(taken.size).toBe(4);
  });

  it('refuses a bad list with its line', () => {
    expect(readAbsent(absentPayload([2, 5], 3), received, listed)).toBe('the ABSENT list is 12 bytes for 3 entries (corrupt stream)');
    expect(readAbsent(absentPayload([2, 3]), received, listed)).toBe('ABSENT names page 3, not in the RAM index or twice (corrupt stream)');
    expect(readAbsent(absentPayload([2, 5, 2]), received, listed)).toBe('ABSENT names page 2, not in the RAM index or twice (corrupt stream)');
    expect(readAbsent(absentPayload([64]), received, listed)).toBe('ABSENT names page 64, not in the RAM index or twice (corrupt stream)');
    // page 40 is listed, never received, and not to come
    expect(readAbsent(absentPayload([2, 5, 63]), received, listed)).toBe('page 40 was never sent (corrupt stream)');
  });
});

describe('Ram.writePage', () => {
  it('writes the page and marks it written, as Ram.write does; refuses a page outside RAM or missing', async () => {
    const a = new Asm(0x8000_0000n);
    a.label('spin').jal(0, 'spin');
    const image = parseImage(a.finish(4096), 'loop.bin', 0x8000_0000n);
    const byWrite = await Machine.create({ memSize: 16 << 20, kernel: image, deterministic: true });
    const byPage = await Machine.create({ memSize: 16 << 20, kernel: image, deterministic: true });
    const data = new Uint8Array(PAGE).map((_, i) => (i * 7 + 3) & 0xff);
    for (const page of [5, 4095]) {
      byWrite.snapshotInternals().ram.write(0x8000_0000n + BigInt(page * PAGE), data);
      byPage.snapshotInternals().ram.writePage(page, data);
    }
    const ram = byPage.snapshotInternals().ram;
    expect(ram.read(0x8000_0000n + 5n * 4096n, PAGE)).toEqual(data);
    expect(ram.read(0x8000_0000n + 4095n * 4096n, PAGE)).toEqual(data);
    const written = guestRam(byPage).all().map((p) => p.index);
    expect(written).toEqual(guestRam(byWrite).all().map((p) => p.index));
    expect(written).toContain(5);
    expect(written).toContain(4095);
    expect(written).not.toContain(6);
    expect(() => ram.writePage(4096, data)).toThrow('guest RAM: page 4096 (4096 bytes) is outside RAM or not a page');
    expect(() => ram.writePage(3, data.subarray(1))).toThrow('guest RAM: page 3 (4095 bytes) is outside RAM or not a page');
    ram.missing = { has: (p) => p === 7, fetch: async () => undefined, all: async () => undefined };
    expect(() => ram.writePage(7, data)).toThrow(PageNotHere);
    ram.writePage(8, data);
    ram.missing = undefined;
  });
});
