#!/usr/bin/env node
// The `wasmvisor` command: a shim over the bundle that `npm run build` writes (host/cli/main.ts).
// CommonJS on purpose: an ES-module entry makes Node set up its ESM loader first, 10-30 ms of
// CPU at every start on this project's machine (docs/performance.md); bin/wasmvisor.mjs runs this file.
//
// Start-up (issue 16, docs/jit.md "Start-up"):
// - V8 compiles the core on its compiler threads while this thread loads the bundle; the CLI
//   then uses that module instead of compiling its own;
// - the bundle (dist/cli.cjs, the CommonJS twin of dist/cli.mjs, written as its own module
//   wrapper: a function expression) is compiled through vm.Script with V8's code cache, kept next to it in dist/cli.cjs.cache: the first run writes it, later
//   runs skip parsing and compiling what the first one compiled. The cache file starts with the
//   Node version and the bundle's size, mtime and inode, so a rebuilt bundle or another Node
//   never uses a stale cache (V8's own check compares only the source's length; hashing the
//   text would cost more than the cache saves). Node 20 has no code cache for ES modules
//   (module.enableCompileCache is Node 22).
// - V8 refuses a cache made under other V8 flags (its header holds a hash of them). A run with
//   node options (`node --cpu-prof bin/wasmvisor.cjs`, NODE_OPTIONS) keeps its own cache file,
//   named by a hash of those options, so that it neither refuses nor overwrites the plain runs'
//   one. At most OPTION_CACHES of those are kept: writing one removes the others of a stale
//   bundle and the oldest beyond that (pruneOptionCaches). The bundle changes a V8 flag while it runs (host/vmm/compile-tasks.ts): it puts it
//   back before the cache is written, or every run would refuse the cache the last one wrote
//   (it did, until issue 16's start-up round: 25 ms of compiling at every start). The header
//   also names the flags' hash at writing (v8.cachedDataVersionTag()): a refused cache that the
//   run would write again the same is left alone.
'use strict';
const { closeSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

/** Bytes before V8's data in the cache file: the bundle's key, then the flags' hash. */
const HEADER = 160;
/** Cache files of runs with node options kept in dist/ at most (the plain runs' one aside). */
const OPTION_CACHES = 4;
/** A temporary cache file this old is a dead run's (a live one renames its own within a second). */
const STALE_TMP_MS = 60_000;

/**
 * Bound the cache files of runs with node options, when `written` (one of them) is written:
 * every option set has its own file (`--cpu-prof-dir=X` with each X, say), so they would pile
 * up in dist/. Removed: those of another bundle or Node (their key is not `key`), the oldest
 * beyond OPTION_CACHES, and temporary files that a killed run left. Runs only when a cache is
 * written, never on a start that reads one.
 */
function pruneOptionCaches(dir, key, written) {
  const now = Date.now();
  const kept = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      if (/^cli\.cjs\..*\.tmp$/.test(name)) {
        if (now - statSync(path).mtimeMs > STALE_TMP_MS) unlinkSync(path);
        continue;
      }
      if (!/^cli\.cjs\.[0-9a-f]{8}\.cache$/.test(name) || path === written) continue;
      const head = Buffer.alloc(key.length);
      const fd = openSync(path, 'r');
      try {
        readSync(fd, head, 0, head.length, 0);
      } finally {
        closeSync(fd);
      }
      if (!head.equals(key)) unlinkSync(path);
      else kept.push({ path, mtime: statSync(path).mtimeMs });
    } catch {
      // gone meanwhile (another run pruned it), or not ours to remove
    }
  }
  kept.sort((a, b) => b.mtime - a.mtime);
  for (const { path } of kept.slice(OPTION_CACHES - 1)) {
    try {
      unlinkSync(path);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * '' for a plain `node bin/wasmvisor.cjs`, else '.' and a hash (FNV-1a, 32 bits) of the node
 * options of this process: the name of its own cache file.
 */
function optionsSuffix() {
  const opts = `${process.execArgv.join('\0')}\0${process.env.NODE_OPTIONS ?? ''}`;
  if (opts === '\0') return '';
  let h = 0x811c9dc5;
  for (let i = 0; i < opts.length; i++) h = Math.imul(h ^ opts.charCodeAt(i), 0x01000193);
  return `.${(h >>> 0).toString(16).padStart(8, '0')}`;
}

async function start() {
  let core;
  // The core importing a shared memory (scripts/shared-core.mjs, host/machine/shared-memory.ts).
  const coreShared = typeof SharedArrayBuffer !== 'undefined';
  try {
    const bytes = readFileSync(join(__dirname, '../build', coreShared ? 'core.shared.wasm' : 'core.wasm'));
    core = WebAssembly.compile(bytes).catch(() => undefined);
  } catch {
    core = undefined; // not built: the bundle's own check says so
  }

  const bundle = join(__dirname, '../dist/cli.cjs');
  let source;
  let key;
  try {
    const st = statSync(bundle);
    source = readFileSync(bundle, 'utf8');
    key = Buffer.from(`wasmvisor ${process.version} ${process.arch} ${st.size} ${st.mtimeMs} ${st.ino}\n`.padEnd(128));
  } catch {
    process.stderr.write('wasmvisor: not built: run `npm run build`\n');
    process.exit(2);
  }
  const cacheFile = `${bundle}${optionsSuffix()}.cache`;
  let cachedData;
  let tagRead = '';
  try {
    const c = readFileSync(cacheFile);
    if (c.length > HEADER && key.equals(c.subarray(0, key.length))) {
      cachedData = c.subarray(HEADER);
      tagRead = c.subarray(key.length, HEADER).toString('latin1').trim();
    }
  } catch {
    // no cache yet
  }
  // (the bundle is a function expression already: scripts/build.mjs writes the module wrapper)
  const script = new vm.Script(source, { filename: bundle, cachedData });
  const cli = { exports: {} };
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit the cache also holds the functions this run compiled. Written to a temporary file
    // and renamed, so concurrent runs never read half a cache; a read-only install just goes without.
    process.once('exit', () => {
      try {
        cli.exports.restoreV8Flags?.();
        const tag = String(require('node:v8').cachedDataVersionTag()).padEnd(HEADER - key.length - 1) + '\n';
        if (cachedData !== undefined && tag.trim() === tagRead) return; // V8 would refuse it again
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, Buffer.concat([key, Buffer.from(tag), script.createCachedData()]));
        renameSync(tmp, cacheFile);
        if (cacheFile !== `${bundle}.cache`) pruneOptionCaches(dirname(bundle), key, cacheFile);
      } catch {
        // not writable
      }
    });
  }
  // The bundle requires only Node's built-ins, which this file's require serves as well: node:module
  // (for createRequire) would load Node's ES module loader, 2-5 ms (docs/performance.md).
  let own;
  const bundleRequire = (id) => (id.startsWith('node:') ? require(id) : (own ??= require('node:module').createRequire(bundle))(id));
  script.runInThisContext()(cli.exports, bundleRequire, cli, bundle, dirname(bundle));
  const module = await core;
  if (module) cli.exports.setCoreModule(module, coreShared);
  await cli.exports.main(process.argv.slice(2));
}

start();
