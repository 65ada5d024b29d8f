// The demo server: serves dist/web/ (the page, the API, the worker, the core) and the bundled
// guests (guests/bin/**/*.elf and the Linux guest's linux/Image, listed at /guests/index.json)
// on localhost, with the
// cross-origin isolation headers (COOP/COEP) that let the page share memory with its worker.
// A /guests/ path that is not under guests/bin is looked up in guests/ itself, for the Xen
// configurations (.cfg) and the images they name relative to themselves: /guests/xen/demo.cfg,
// and from there /guests/bin/xen/pvtest.elf ("../bin/xen/pvtest.elf").
//   node scripts/demo.mjs [--port N]     (npm run demo builds first; port 0 picks a free one)
import { createServer } from 'node:http';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.elf': 'application/octet-stream',
  '.cfg': 'text/plain; charset=utf-8',
};

/**
 * Every .elf under dir, as paths relative to it with '/' separators, sorted; then linux/Image
 * when it is there (the page boots it with linux/initramfs.cpio.gz).
 */
function listElfs(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.elf')) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  if (existsSync(dir)) walk(dir);
  out.sort();
  if (existsSync(join(dir, 'linux/Image')) && existsSync(join(dir, 'linux/initramfs.cpio.gz'))) out.push('linux/Image');
  return out;
}

/** Resolve a URL path inside base, or undefined when it escapes base or names no file. */
function fileUnder(base, urlPath) {
  const p = normalize(join(base, decodeURIComponent(urlPath)));
  if (p !== base && !p.startsWith(base + sep)) return undefined;
  return existsSync(p) && statSync(p).isFile() ? p : undefined;
}

/**
 * Start the demo server. Resolves with its URL and a close function.
 * @param {{ port?: number, host?: string }} [opts]
 */
export function serveDemo({ port = 8080, host = '127.0.0.1' } = {}) {
  const web = join(root, 'dist/web');
  const guests = join(root, 'guests/bin');
  const sources = join(root, 'guests');
  if (!existsSync(join(web, 'index.html'))) {
    throw new Error('demo: dist/web/index.html not found: run `npm run build` first');
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let file;
    let body;
    if (path === '/guests/index.json') body = JSON.stringify(listElfs(guests));
    else if (path.startsWith('/guests/')) {
      const rel = path.slice('/guests/'.length);
      file = fileUnder(guests, rel) ?? (/\.(cfg|elf)$/.test(rel) ? fileUnder(sources, rel) : undefined);
    }
    else file = fileUnder(web, path === '/' ? 'index.html' : path.slice(1));
    const headers = {
      // Cross-origin isolation: SharedArrayBuffer is available to the page and its worker.
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    if (body === undefined && file === undefined) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end(`not found: ${path}\n`);
      return;
    }
    const type = file ? TYPES[extname(file)] ?? 'application/octet-stream' : TYPES['.json'];
    if (file) {
      // Files may be kept and revalidated (a rebuild changes the tag): a repeat visit then gets a
      // 304 and Chromium's V8 code cache of the scripts and of the streamed core.wasm, which it
      // keeps with the HTTP cache entry (none under no-store).
      const st = statSync(file);
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const kept = { ...headers, 'Cache-Control': 'no-cache', ETag: etag };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, kept);
        res.end();
        return;
      }
      res.writeHead(200, { ...kept, 'Content-Type': type });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': type });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        url: `http://${host === '127.0.0.1' ? 'localhost' : host}:${addr.port}/`,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  try {
    const { url } = await serveDemo({ port });
    console.log(`wasmvisor demo: ${url}  (Ctrl-C stops the server)`);
  } catch (e) {
    console.error(e.code === 'EADDRINUSE' ? `demo: port ${port} is in use: try --port 0` : e.message);
    process.exit(2);
  }
}
