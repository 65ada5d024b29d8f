// `npm run bench`'s output: the header (machine, node, QEMU, commit), progress lines, the
// min/median/max of the runs, the SVG next to the JSON, and no internal goals.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spreadOf } from '../../bench/timing';
import { qemuVersion } from '../../bench/qemu';
import { root } from '../lib/consumer';

describe('bench spread', () => {
  it('min, median (mean of the middle two for an even count) and max', () => {
    expect(spreadOf([3, 1, 2])).toEqual({ minMs: 1, medianMs: 2, maxMs: 3 });
    expect(spreadOf([4, 1, 3, 2])).toEqual({ minMs: 1, medianMs: 2.5, maxMs: 4 });
    expect(spreadOf([7])).toEqual({ minMs: 7, medianMs: 7, maxMs: 7 });
  });
});

describe('npm run bench (dist/bench.mjs --only crc32)', () => {
  it('prints the header, progress and the spread, and writes the JSON and the SVG', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'wasmvisor-bench-')), 'r.json');
    const qemu = qemuVersion();
    const engines = qemu ? ['jit', 'interp', 'qemu'] : ['jit', 'interp'];
    const r = spawnSync(process.execPath, [join(root, 'dist/bench.mjs'), '--only', 'crc32', '--runs', '3', '--no-native', '--no-make', '--out', out],
      { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(r.status).toBe(0);
    const commit = spawnSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^machine: .+, \d+ cores, \d+ GiB, linux /);
    expect(lines.slice(1, 5)).toEqual([`node:    ${process.version}`, `qemu:    ${qemu ?? 'not found'}`, `commit:  ${commit}`, 'runs:    3 per measurement (tables: the minimum)']);
    const steps = r.stderr.split('\n').filter((l) => /^\[\d+\/\d+\] /.test(l));
    expect(steps).toEqual(engines.map((e, i) => `[${i + 1}/${engines.length}] crc32 ${e}`));
    const at = lines.indexOf('Spread of the 3 runs (ms): min / median / max');
    expect(at).toBeGreaterThan(0);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const w = report.workloads[0];
    for (const [i, [engine, key]] of [['jit', 'wasmvisor'], ['interp', 'interpreter'], ['qemu', 'qemu']].slice(0, engines.length).entries()) {
      const s = w[key].spread;
      expect(s.minMs).toBeLessThanOrEqual(s.medianMs);
      expect(s.medianMs).toBeLessThanOrEqual(s.maxMs);
      expect(w[key].wallMs).toBe(s.minMs);
      expect(lines[at + 1 + i]).toBe(`  crc32      ${engine.padEnd(7)} ${s.minMs.toFixed(1).padStart(9)} / ${s.medianMs.toFixed(1).padStart(9)} / ${s.maxMs.toFixed(1).padStart(9)}`);
    }
    const svgPath = out.replace(/\.json$/, '.svg');
    expect(existsSync(svgPath)).toBe(true);
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('time per run (ms, log scale)');
    for (const e of engines) expect(svg).toContain(`<title>crc32 ${e}: min `);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/goal/i);
  }, 300_000);
});
