// Builds everything: the ISA decoder (generated from the table), the Wasm core, the host bundles.
//   node scripts/build.mjs            release build
//   node scripts/build.mjs --debug    core with assertions and debug info
//   node scripts/build.mjs --force    rebuild every step, even those whose inputs did not change
// Each step (the core, each bundle) is skipped when nothing it read changed since its last run
// (scripts/build-cache.mjs: content digests in build/stamps/).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { genIsa } from './gen-isa.mjs';
import { sharedCore } from './shared-core.mjs';
import { buildWeb } from './build-web.mjs';
import { filesUnder, isStale, metafileInputs, packageVersion, writeStamp } from './build-cache.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const debug = process.argv.includes('--debug');
const force = process.argv.includes('--force');

/** Run `run` unless step `name` is up to date; `run` may return more inputs (found while running). */
async function step(name, key, inputs, outputs, run) {
  if (!force && !isStale(root, name, key, inputs, outputs)) return;
  const found = (await run()) ?? [];
  writeStamp(root, name, key, [...inputs, ...found]);
}

// The bundles' key: esbuild's version, the options, and the names of the source files (a new
// file can change how an import resolves without any recorded input changing).
const sourceNames = ['host', 'bench', 'assembly'].flatMap((d) => filesUnder(root, d, ['.ts', '.mjs', '.js', '.json']));
const esbuildVersion = packageVersion(root, 'esbuild');
/** esbuild with a stamp per output file: its inputs are the metafile's. */
async function bundle(opts) {
  const out = relative(root, opts.outfile);
  const { plugins, ...rest } = opts;
  const key = { esbuildVersion, opts: rest, plugins: (plugins ?? []).map((p) => p.name), sourceNames };
  // (this script is an input: a plugin's code is not in the key)
  await step('bundle-' + out.replace(/[/\\]/g, '_'), key, ['scripts/build.mjs'], [out], async () => {
    const r = await build({ ...opts, absWorkingDir: root, metafile: true });
    return metafileInputs(root, r.metafile);
  });
}

// The decoder generated from the ISA table (genIsa writes it only when its text changes).
await step('isa', {}, [...filesUnder(root, 'assembly/isa', ['.ts']), 'scripts/gen-isa.mjs'], ['assembly/gen/isa.ts'], async () => { await genIsa(root); });
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
// The core's inputs: every source under assembly/ (with the generated decoder), the options,
// AssemblyScript's version (its standard library is part of the output) and this script.
const coreKey = { args: args.map((a) => relative(root, a) || a), asc: packageVersion(root, 'assemblyscript') };
// build/core.shared.wasm beside it: the same core importing a shared memory, which Node loads
// (scripts/shared-core.mjs says why); browsers get build/core.wasm.
await step('core', coreKey, [...filesUnder(root, 'assembly', ['.ts']), 'scripts/build.mjs', 'scripts/shared-core.mjs'],
  ['build/core.wasm', 'build/core.wat', 'build/core.shared.wasm'], async () => {
    const { main: asc } = await import('assemblyscript/asc'); // (1.5 s to load: only when needed)
    const { error } = await asc(args, { stdout: process.stdout, stderr: process.stderr });
    if (error) {
      console.error(`build: AssemblyScript compile failed: ${error.message}`);
      process.exit(1);
    }
    writeFileSync(join(root, 'build/core.shared.wasm'), sharedCore(readFileSync(join(root, 'build/core.wasm'))));
  });

const entries = [
  ['host/cli/main.ts', 'dist/cli.mjs'],
  ['bench/run.ts', 'dist/bench.mjs'],
  ['bench/rss-probe.ts', 'dist/rss-probe.mjs'], // the RSS section's child: the library and one guest, not the bench
  ['host/lib/index.ts', 'dist/lib/wasmvisor.mjs'],
];
for (const [src, out] of entries) {
  if (!existsSync(join(root, src))) continue;
  await bundle({
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
// The CLI again as CommonJS, for bin/wasmvisor.cjs, which compiles it with V8's code cache
// (vm.Script; Node 20 has none for ES modules). import.meta.url becomes the file's URL, computed
// on first use (node:url's pathToFileURL at load cost 3 ms of every start).
// Minified (names kept, source map beside it): half the bytes to read and deserialize at every
// start, 10-30 ms of CPU on this project's machine (docs/performance.md).
if (existsSync(join(root, 'host/cli/main.ts'))) {
  await bundle({
    entryPoints: [join(root, 'host/cli/main.ts')],
    outfile: join(root, 'dist/cli.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    minify: true,
    keepNames: true,
    define: { 'import.meta.url': '__wasmvisorMeta.url' },
    // The file is CommonJS's module wrapper already, a function expression that the shim compiles
    // and calls: wrapping it there would copy its 440 KB once more at every start.
    banner: { js: "(function (exports, require, module, __filename, __dirname) {\nconst __wasmvisorMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" },
    footer: { js: '})' },
    plugins: [lazyBuiltins({ 'node:net': ['connect', 'createConnection', 'createServer'], 'node:os': ['tmpdir'], 'node:v8': ['setFlagsFromString'] })],
    logLevel: 'warning',
  });
}

/**
 * Node built-in modules that only some commands use, loaded on first use instead of when the
 * bundle is evaluated (node:net alone is 5 ms of every start: docs/performance.md "Start-up";
 * node:v8, with the stream modules it loads 11.5 M instructions, serves only a VM's creation and
 * the JIT's first compile, so a bare machine that compiles nothing never loads it).
 * `names`: the functions the sources import from each; importing any other name fails the build.
 */
function lazyBuiltins(names) {
  return {
    name: 'lazy-builtins',
    setup(b) {
      const filter = new RegExp(`^(${Object.keys(names).join('|')})$`);
      // (the require in the generated module itself is left to esbuild: the real built-in)
      b.onResolve({ filter }, (a) => (a.namespace === 'lazy-builtin' ? undefined : { path: a.path, namespace: 'lazy-builtin' }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({
        loader: 'js',
        contents: `let m;\nconst load = () => m ??= require(${JSON.stringify(a.path)});\n` +
          names[a.path].map((n) => `export function ${n}(...args) { return load().${n}(...args); }\n`).join(''),
      }));
    },
  };
}

await buildWeb(root, bundle);
// The declarations: tsc is slow to start (seconds), so it runs only when a source, the
// tsconfig or TypeScript itself changed (the same stamps as the other steps).
await step('types', { tsc: packageVersion(root, 'typescript') },
  [...filesUnder(root, 'host', ['.ts']), ...filesUnder(root, 'assembly', ['.ts']), 'tsconfig.types.json', 'scripts/build.mjs'],
  ['dist/types/host/lib/index.d.ts'], async () => { await buildTypes(root); });

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
