// The browser bundles (called by build.mjs; `node scripts/build-web.mjs` alone rebuilds just
// them over an existing build/core.wasm).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The browser embedding (host/web): the API for embedders, the Worker that runs a VM or a Xen
// host, the demo page, and the files they fetch, all in dist/web/. Node-only imports become
// stubs there: node:fs and node:url (reading build/core.wasm or an image from disk; in a browser
// the worker compiles the core from a URL and hands it over with setCoreModule(), and fetches
// images) throw if called, and a disk backed by an image file (FileBackend, which the Xen
// toolstack imports) cannot be opened; node:net (live migration's TCP transport: a page migrates
// over a MessagePort, host/migrate/port-transport.ts) cannot connect or listen; node:v8 (host/vmm/compile-tasks.ts) sets
// no flag. node:path becomes host/web/node-path.ts: the POSIX path
// arithmetic the xl.cfg parsers use, over the path parts of URLs.
const nodeStubs = (root) => ({
  name: 'node-stubs',
  setup(b) {
    b.onResolve({ filter: /^node:path$/ }, () => ({ path: join(root, 'host/web/node-path.ts') }));
    b.onResolve({ filter: /^node:(fs|url|net|v8)$/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (a) => ({
      contents: `const no = () => { throw new Error(${JSON.stringify(a.path + ' is not available in a browser')}); };
        export const readFileSync = no, existsSync = () => false, fileURLToPath = no,
          openSync = no, closeSync = no, fstatSync = no, readSync = no, writeSync = no, fdatasyncSync = no, constants = {},
          writeFileSync = no, connect = no, createServer = no, setFlagsFromString = no;`,
      loader: 'js',
    }));
  },
});
const webEntries = [
  ['host/web/api.ts', 'dist/web/wasmvisor.js'],
  ['host/web/worker.ts', 'dist/web/worker.js'],
  ['host/web/demo/main.ts', 'dist/web/demo.js'],
];
/**
 * Bundle host/web into dist/web/ (skipped when host/web is absent). Needs build/core.wasm.
 * `bundle`: esbuild's build, or build.mjs's wrapper that skips an up-to-date bundle.
 */
export async function buildWeb(root, bundle = build) {
  if (!existsSync(join(root, 'host/web/api.ts'))) return;
  mkdirSync(join(root, 'dist/web'), { recursive: true });
  for (const [src, out] of webEntries) {
    await bundle({
      entryPoints: [join(root, src)],
      outfile: join(root, out),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      // Maps are written beside the bundles but not linked from them: the npm package leaves
      // *.map out, and a dangling sourceMappingURL made bundlers' dev servers (Vite) log errors.
      sourcemap: 'external',
      minify: true,
      keepNames: true,
      plugins: [nodeStubs(root)],
      logLevel: 'warning',
    });
  }
  const copies = [
    ['build/core.wasm', 'dist/web/core.wasm'],
    ['host/web/demo/demo.css', 'dist/web/demo.css'],
    ['node_modules/@xterm/xterm/css/xterm.css', 'dist/web/xterm.css'],
    ['node_modules/uplot/dist/uPlot.min.css', 'dist/web/uPlot.min.css'],
  ];
  for (const [src, out] of copies) copyFileSync(join(root, src), join(root, out));
  // The page's bootstrap (host/web/demo/boot.ts), inlined at its place in index.html: it runs as
  // the document starts to parse, with no fetch before it.
  const boot = await build({
    entryPoints: [join(root, 'host/web/demo/boot.ts')],
    bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2022', minify: true, logLevel: 'warning',
  });
  const html = readFileSync(join(root, 'host/web/demo/index.html'), 'utf8');
  const marker = '<script>/* demo/boot.ts */</script>';
  if (!html.includes(marker)) throw new Error(`host/web/demo/index.html: no ${marker}`);
  writeFileSync(join(root, 'dist/web/index.html'), html.replace(marker, () => `<script>${boot.outputFiles[0].text.trim()}</script>`));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildWeb(join(dirname(fileURLToPath(import.meta.url)), '..'));
}
