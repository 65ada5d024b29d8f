// Incremental build (issue 16): each step of scripts/build.mjs records a digest of everything
// it read (file contents, tool versions, options) in build/stamps/<step>.json, and is skipped
// when the same digest comes out again and its outputs are all present. Contents are hashed,
// not mtimes, so a checkout or a touch that changes nothing rebuilds nothing, and an edit that
// keeps the mtime (a fast editor, a copy with -p) still rebuilds.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * The digest of a step: its `key` (options, tool versions) and the path and content of every
 * input file. A missing input hashes as missing, so deleting a file changes the digest.
 */
export function digest(root, key, inputs) {
  const h = createHash('sha256');
  h.update(JSON.stringify(key));
  for (const p of [...new Set(inputs)].sort()) {
    const abs = join(root, p);
    h.update('\0' + p + '\0');
    h.update(existsSync(abs) ? readFileSync(abs) : '\u0001missing');
  }
  return h.digest('hex');
}

/** Every file under `dir` (relative to root) whose name ends in one of `exts`, sorted. */
export function filesUnder(root, dir, exts) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
    }
  };
  if (existsSync(join(root, dir))) walk(dir);
  return out.sort();
}

/** The version field of an installed package (part of a step's key). */
export function packageVersion(root, name) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'absent';
  }
}

const stampPath = (root, step) => join(root, 'build/stamps', step + '.json');

/** The stamp a step left last time: { digest, inputs } or undefined. */
export function readStamp(root, step) {
  try {
    return JSON.parse(readFileSync(stampPath(root, step), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Whether `step` must run: no stamp, an output missing, or a digest of (key, the inputs the
 * stamp lists plus `inputs`) that differs from the stamp's. The stamp's own list matters for
 * steps whose inputs are only known after a run (an esbuild bundle's metafile).
 */
export function isStale(root, step, key, inputs, outputs) {
  const stamp = readStamp(root, step);
  if (!stamp) return true;
  if (outputs.some((o) => !existsSync(join(root, o)))) return true;
  const all = [...new Set([...stamp.inputs, ...inputs])];
  return digest(root, key, all) !== stamp.digest;
}

/** Record that `step` ran over `key` and `inputs` (after it succeeded). */
export function writeStamp(root, step, key, inputs) {
  const all = [...new Set(inputs)].sort();
  mkdirSync(dirname(stampPath(root, step)), { recursive: true });
  writeFileSync(stampPath(root, step), JSON.stringify({ digest: digest(root, key, all), inputs: all }) + '\n');
}

/** The input files of an esbuild metafile, relative to root, packages' files included (a
 *  dependency updated in node_modules rebuilds the bundles that use it); plugin namespaces
 *  (`node-stub:...`) are not files and are left out. */
export function metafileInputs(root, metafile, cwd = root) {
  return Object.keys(metafile.inputs)
    .filter((p) => !p.includes(':'))
    .map((p) => relative(root, join(cwd, p)));
}
