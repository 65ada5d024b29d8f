/**
 * `node:path` for the browser bundles (scripts/build-web.mjs aliases the module to this file):
 * the POSIX path arithmetic the toolstack's configuration parsers use (host/xen/toolstack/cfg.ts
 * and host-cfg.ts resolve a kernel or a DomU file against the directory of the file that names
 * it). In a page those paths are the path parts of URLs ("/guests/xen/domu1.cfg"); there is no
 * working directory, so a relative path resolves against "/".
 *
 * Semantics follow Node's path.posix for the cases the parsers produce: "." and ".." segments,
 * repeated and trailing slashes.
 */

/**
 * `path` with "." and ".." segments and repeated slashes removed; a trailing slash stays, an
 * empty result is ".".
 */
export function normalize(path: string): string {
  const absolute = path.startsWith('/');
  const trailing = path.endsWith('/');
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const body = out.join('/');
  if (absolute) return body === '' ? '/' : `/${body}${trailing ? '/' : ''}`;
  if (body === '') return trailing ? './' : '.';
  return trailing ? `${body}/` : body;
}

/** The absolute path of `parts` joined right to left until one is absolute (the root otherwise), without a trailing slash. */
export function resolve(...parts: string[]): string {
  let path = '';
  for (let i = parts.length - 1; i >= 0 && !path.startsWith('/'); i--) {
    if (parts[i] === '') continue;
    path = path === '' ? parts[i] : `${parts[i]}/${path}`;
  }
  const n = normalize(path.startsWith('/') ? path : `/${path}`);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** `parts` (empty ones skipped) joined with "/" and normalized. */
export function join(...parts: string[]): string {
  return normalize(parts.filter((p) => p !== '').join('/'));
}

/** Everything before the last segment: "/a/b" -> "/a", "/a" -> "/", "a" -> ".", "/a//b" -> "/a/". */
export function dirname(path: string): string {
  const p = path.length > 1 ? path.replace(/\/+$/, '') || '/' : path;
  const i = p.lastIndexOf('/');
  if (i < 0) return '.';
  return i === 0 ? '/' : p.slice(0, i);
}
