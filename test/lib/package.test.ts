// The npm package (`npm pack --dry-run --json`): what `wasmvisor` and the library need is in it,
// source maps and sources are not.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, sh } from './consumer';

describe('npm pack', () => {
  const r = sh('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], root);
  const pack = JSON.parse(r.stdout)[0] as { files: { path: string }[]; size: number };
  const files = pack.files.map((f) => f.path).sort();

  it('ships the commands, the library, its types, the core and the default guests', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const needed = [
      'package.json', 'README.md', 'bin/wasmvisor.mjs', 'build/core.wasm', 'build/core.shared.wasm',
      'dist/cli.mjs', 'dist/lib/wasmvisor.mjs',
      'dist/types/host/lib/index.d.ts', 'dist/types/host/web/api.d.ts', 'dist/types/host/web/xen-host.d.ts',
      'dist/types/assembly/abi.d.ts', 'dist/types/assembly/abi-types.d.ts',
      'dist/web/wasmvisor.js', 'dist/web/worker.js', 'dist/web/core.wasm',
      'guests/bin/minikernel/minikernel.elf', 'guests/bin/demo/hello.elf', 'guests/bin/vmbench/tlbstress.elf',
      'guests/bin/xen/domu.elf', 'guests/xen/demo.cfg',
    ];
    // Every file the exports map and bin name.
    for (const e of Object.values(pkg.exports) as (string | Record<string, string>)[]) {
      for (const p of typeof e === 'string' ? [e] : Object.values(e)) if (!p.includes('*')) needed.push(p.replace(/^\.\//, ''));
    }
    needed.push(...Object.values(pkg.bin as Record<string, string>));
    const missing = needed.filter((f) => !files.includes(f));
    expect(missing).toEqual([]);
    // Each xl.cfg's kernel is shipped too.
    for (const cfg of files.filter((f) => f.startsWith('guests/xen/') && f.endsWith('.cfg'))) {
      const kernel = /^kernel\s*=\s*['"]([^'"]+)['"]/m.exec(readFileSync(join(root, cfg), 'utf8'))?.[1];
      if (kernel) expect(files).toContain(join('guests/xen', kernel));
    }
  });

  it('leaves out source maps, sources, tests and the benchmark bundle', () => {
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /^(host|assembly|test|scripts|bench)\//.test(f) || f === 'dist/bench.mjs')).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });
});
