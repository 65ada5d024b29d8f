// Builds everything: the ISA decoder (generated from the table), the Wasm core, the host bundles.
//   node scripts/build.mjs            release build
//   node scripts/build.mjs --debug    core with assertions and debug info
import { main as asc } from 'assemblyscript/asc';
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
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
