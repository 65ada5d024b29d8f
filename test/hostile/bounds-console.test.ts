/**
 * Console bounds of the CLI that no other test hit (docs/bounds.md): `up`'s line prefixer holds
 * at most 4096 bytes of an unfinished line (a guest printing without newlines does not grow it),
 * and the console history that `xl console` replays stays HISTORY_BYTES whatever is printed.
 */
import { describe, expect, it } from 'vitest';
import { ConsoleHub, HISTORY_BYTES } from '../../host/cli/console-hub';
import { LinePrefixer } from '../../host/cli/xl';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('LinePrefixer (up)', () => {
  it('holds an unfinished line up to 4096 bytes; past that it is printed as a line of its own', () => {
    const out: string[] = [];
    const p = new LinePrefixer('d1 | ', (t) => out.push(t));
    p.write(bytes('a'.repeat(4096)));
    expect(out).toEqual([]);
    p.write(bytes('b'));
    expect(out).toEqual([`d1 | ${'a'.repeat(4096)}b\n`]);
    p.write(bytes('x\r\n'));
    expect(out[1]).toBe('d1 | x\n');
    // A guest that never prints a newline: the partial line is flushed as soon as it passes
    // 4096 bytes (here after five 1000-byte chunks), so it never holds more than 4096 + a chunk.
    for (let i = 0; i < 1000; i++) p.write(bytes('z'.repeat(1000)));
    expect(out.length).toBe(2 + 1_000_000 / 5000);
    expect(out.slice(2).every((l) => l === `d1 | ${'z'.repeat(5000)}\n`)).toBe(true);
    p.end();
    expect(out.slice(2).join('').replace(/d1 \| |\n/g, '')).toBe('z'.repeat(1_000_000));
  });
});

describe('ConsoleHub history (xl console)', () => {
  it(`keeps at most HISTORY_BYTES (${HISTORY_BYTES}) of a domain's output, starting at a line`, () => {
    const hub = new ConsoleHub<string>();
    for (let i = 0; i < 20_000; i++) hub.write('d', bytes(`line ${i}\n`));
    const h = new TextDecoder().decode(hub.history('d'));
    expect(h.length).toBeLessThanOrEqual(HISTORY_BYTES);
    expect(h.length).toBeGreaterThan(HISTORY_BYTES - 20);
    expect(h.endsWith('line 19999\n')).toBe(true);
    expect(h.startsWith('line ')).toBe(true);
  });
});
