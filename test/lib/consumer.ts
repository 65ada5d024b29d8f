/**
 * What the library tests share: the package as `npm pack` makes it (built once per test file),
 * unpacked into a throw-away consumer project (node_modules/wasmvisor), as `npm install
 * wasmvisor-0.1.0.tgz` would put it, without the network.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Run a command; its output, or an Error with its stderr. */
export function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `npm pack` of the repository into a new temp dir; the tarball's path. */
export function packTarball(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-pack-'));
  // --ignore-scripts: the tree is built already (the tests run after the build); prepare would rebuild.
  const r = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], root);
  if (r.status !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack wrote no tarball in ${dir}`);
  return join(dir, tgz);
}

/** A consumer project with the tarball unpacked as node_modules/wasmvisor and `files` written. */
export function consumerProject(tgz: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-consumer-'));
  const pkg = join(dir, 'node_modules/wasmvisor');
  mkdirSync(pkg, { recursive: true });
  const r = sh('tar', ['xzf', tgz, '-C', pkg, '--strip-components=1'], dir);
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
