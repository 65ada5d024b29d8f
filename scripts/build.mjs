// Builds everything: the ISA decoder (generated from the table), the Wasm core, the host bundles.
//   node scripts/build.mjs            release build
//   node scripts/build.mjs --debug    core with assertions and debug info
import { main as asc } from 'assemblyscript/asc';
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { genIsa } from './gen-isa.mjs';
import { buildWeb } from './build-web.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const debug = process.argv.includes('--debug');

await genIsa(root);
mkdirSync(join(root, 'build'), { recursive: true });
const args = [
  join(root, 'assembly/index.ts'),
  '--outFile', join(root, 'build/core.wasm'),
  '--textFile', join(root, 'build/core.wat'),
  '--runtime', 'stub',
  '--importMemory',
  '--importTable',
  '--initialMemory', '64',
  '--maximumMemory', '65536',
  '--noExportMemory',
  '--disableWarning', '201', // usize/u32 mixing: the core is wasm32 only
];
if (debug) args.push('--debug', '--sourceMap');
else args.push('-O3', '--noAssert', '--converge');
const { error, stderr } = await asc(args, { stdout: process.stdout, stderr: process.stderr });
if (error) {
  console.error(`build: AssemblyScript compile failed: ${error.message}`);
  process.exit(1);
}

const entries = [
  ['host/cli/main.ts', 'dist/cli.mjs'],
  ['bench/run.ts', 'dist/bench.mjs'],
  ['host/lib/index.ts', 'dist/lib/wasmvisor.mjs'],
];
for (const [src, out] of entries) {
  if (!existsSync(join(root, src))) continue;
  await build({
    entryPoints: [join(root, src)],
    outfile: join(root, out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
}

await buildWeb(root);
await buildTypes(root);

/**
 * The published declarations (package.json "types" of "." and "./web"): tsc over
 * tsconfig.types.json into dist/types/ (incremental: a rebuild without changes takes seconds).
 * assembly/abi.ts is typed with AssemblyScript's number names; its .d.ts gets them from a copy
 * of host/abi-types.d.ts.
 */
async function buildTypes(root) {
  if (!existsSync(join(root, 'host/lib/index.ts'))) return;
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  // tsc's build info says what it emitted; without dist/types it would not emit again.
  const info = join(root, 'build/types.tsbuildinfo');
  if (!existsSync(join(root, 'dist/types/host/lib/index.d.ts')) && existsSync(info)) rmSync(info);
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.types.json')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('build: tsc (declarations, tsconfig.types.json) failed');
    process.exit(1);
  }
  const abi = join(root, 'dist/types/assembly/abi.d.ts');
  copyFileSync(join(root, 'host/abi-types.d.ts'), join(root, 'dist/types/assembly/abi-types.d.ts'));
  const text = readFileSync(abi, 'utf8');
  const ref = '/// <reference path="./abi-types.d.ts" />\n';
  if (!text.startsWith(ref)) writeFileSync(abi, ref + text);
}
