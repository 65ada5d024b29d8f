// The RSS section's child process (dist/rss-probe.mjs, bench/rss-probe.ts): one guest in a
// fresh process, one JSON line; an unknown case is an error naming the known ones.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../lib/consumer';

const PROBE = join(root, 'dist/rss-probe.mjs');
const probe = (...args: string[]) => spawnSync(process.execPath, [PROBE, ...args], { encoding: 'latin1', timeout: 60_000 });

describe('dist/rss-probe.mjs', () => {
  it('runs the DomU to its exit and reports its memory', () => {
    expect(existsSync(PROBE), 'dist/rss-probe.mjs: run `node scripts/build.mjs`').toBe(true);
    const r = probe('domu');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]) as Record<string, unknown>;
    expect([j.name, j.memSize, j.reason, j.exitCode]).toEqual(['domu', 64 << 20, 'exit', 0]);
    // the loader's image and the guest's own pages, whole 4 KiB pages, far below its 64 MiB
    expect(Number(j.touched) % 4096).toBe(0);
    expect(Number(j.touched)).toBeGreaterThan(0);
    expect(Number(j.touched)).toBeLessThan(4 << 20);
    // the peak is at least the resident size at the end, which holds the touched RAM
    expect(Number(j.hwm)).toBeGreaterThanOrEqual(Number(j.rss));
    expect(Number(j.linear)).toBeGreaterThanOrEqual(Number(j.touched));
  }, 60_000);

  it('an unknown case fails naming the known ones', () => {
    const r = probe('nosuch');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('rss-probe: --rss-probe: unknown case nosuch (known: minikernel-vm, touch64-vm, domu)\n');
  }, 60_000);
});
