// The README's embedding snippet, as written, in a consumer project that installed the npm
// package (npm pack, unpacked): bundled by esbuild, built by Vite, and loaded through a plain
// import map, and served by Vite's dev server; each page must boot minikernel in Chromium and show its console. Missing worker
// and core files are errors naming the URL tried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';
import { CHROMIUM, haveChromium } from './chromium';
import { consumerProject, packTarball, root, sh } from '../lib/consumer';

/** The README's snippet: the ```js block that imports wasmvisor/web. */
function readmeSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /```js\n(import \{ createVm \} from 'wasmvisor\/web';[\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md: no ```js block importing wasmvisor/web');
  return m[1];
}

const page = (head: string, script: string) => `<!doctype html><html><head><meta charset="utf-8">${head}
<link rel="stylesheet" href="node_modules/@xterm/xterm/css/xterm.css"></head>
<body><div id="console"></div><script type="module"${script}></script></body></html>`;

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/** A static server over `dir`, as any web server (correct types for .js and .wasm). */
function serve(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'index.html') : path;
    if (!file.startsWith(dir) || !existsSync(file)) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address() as { port: number };
    resolve({ url: `http://127.0.0.1:${a.port}/`, server });
  }));
}

/**
 * Open `url` and wait for minikernel's last two lines in the xterm console (its visible rows:
 * the earlier lines have scrolled out of the DOM renderer's 24).
 */
async function bootsMinikernel(browser: Browser, url: string): Promise<string[]> {
  const p = await browser.newPage();
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(url);
  const tail = readFileSync(join(root, 'guests/expected/minikernel/minikernel.txt'), 'utf8').trim().split(/\r?\n/).slice(-2).join('');
  // A string, so that vitest's transform does not touch code run in the page.
  await p.waitForFunction(`(document.querySelector('#console .xterm-rows')?.textContent ?? '').replace(/\\u00a0/g, ' ').includes(${JSON.stringify(tail)})`,
    undefined, { timeout: 90_000 }).catch(async (e) => {
    const text = await p.evaluate(() => document.querySelector('#console')?.textContent ?? '(no #console)');
    throw new Error(`${(e as Error).message}; page errors: ${errors.join(' | ')}; console: ${text.slice(-300)}`);
  });
  await p.close();
  return errors;
}

describe.skipIf(!haveChromium)('the README embedding snippet in Chromium', () => {
  let browser: Browser;
  let tgz: string;
  const servers: Server[] = [];
  const snippet = readmeSnippet();

  /** A consumer with the package, @xterm/xterm (linked) and the snippet's guest at /guests/minikernel.elf. */
  function project(files: Record<string, string>, guestDir = 'guests'): string {
    const dir = consumerProject(tgz, { 'main.js': snippet, ...files });
    mkdirSync(join(dir, 'node_modules/@xterm'), { recursive: true });
    symlinkSync(join(root, 'node_modules/@xterm/xterm'), join(dir, 'node_modules/@xterm/xterm'));
    mkdirSync(join(dir, guestDir), { recursive: true });
    copyFileSync(join(dir, 'node_modules/wasmvisor/guests/bin/minikernel/minikernel.elf'), join(dir, guestDir, 'minikernel.elf'));
    return dir;
  }
  async function open(dir: string): Promise<string> {
    const s = await serve(dir);
    servers.push(s.server);
    return s.url;
  }

  beforeAll(async () => {
    tgz = packTarball();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) s.close();
  });

  it('with a plain import map', async () => {
    const map = JSON.stringify({ imports: {
      'wasmvisor/web': '/node_modules/wasmvisor/dist/web/wasmvisor.js',
      '@xterm/xterm': '/node_modules/@xterm/xterm/lib/xterm.mjs',
    } });
    const dir = project({ 'index.html': page(`<script type="importmap">${map}</script>`, ' src="main.js"') });
    expect(await bootsMinikernel(browser, await open(dir))).toEqual([]);
  }, 180_000);

  it('bundled by esbuild, with worker.js and core.wasm copied beside the bundle (as the README says)', async () => {
    const dir = project({ 'index.html': page('', ' src="app.js"') });
    const { buildSync } = await import('esbuild');
    const r = buildSync({ absWorkingDir: dir, entryPoints: ['main.js'], bundle: true, format: 'esm', outfile: join(dir, 'app.js'), logLevel: 'silent' });
    expect(r.errors).toEqual([]);
    for (const f of ['worker.js', 'core.wasm']) copyFileSync(join(dir, 'node_modules/wasmvisor/dist/web', f), join(dir, f));
    expect(await bootsMinikernel(browser, await open(dir))).toEqual([]);
  }, 180_000);

  it('built by Vite (it emits worker.js and core.wasm as assets)', async () => {
    const dir = project({ 'index.html': page('', ' src="/main.js"').replace('node_modules/@xterm/xterm/css/xterm.css', '/xterm.css') }, 'public/guests');
    const r = sh(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(await bootsMinikernel(browser, await open(join(dir, 'dist')))).toEqual([]);
  }, 180_000);

  it("served by Vite's dev server (no build: its dependency pre-bundling and module graph)", async () => {
    const dir = project({ 'index.html': page('', ' src="/main.js"').replace('node_modules/@xterm/xterm/css/xterm.css', '/xterm.css') }, 'public/guests');
    const dev = spawn(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), '--host', '127.0.0.1', '--port', '0', '--clearScreen', 'false'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    dev.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    dev.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      // Vite prints its address ("Local:   http://127.0.0.1:PORT/") once it listens.
      for (let i = 0; i < 600 && !/http:\/\/127\.0\.0\.1:\d+\//.test(out); i++) {
        if (dev.exitCode !== null) throw new Error(`vite exited (${dev.exitCode}): ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0];
      expect(url, out).toBeDefined();
      expect(await bootsMinikernel(browser, url!)).toEqual([]);
      // Vite's log has no errors (the bundles do not link the source maps the package leaves out).
      const errors = out.split('\n').filter((l) => /error|ENOENT/i.test(l));
      expect(errors, out).toEqual([]);
    } finally {
      dev.kill();
    }
  }, 180_000);

  it('a missing worker or core is an error naming the URL it tried', async () => {
    const map = JSON.stringify({ imports: { 'wasmvisor/web': '/node_modules/wasmvisor/dist/web/wasmvisor.js' } });
    const dir = project({ 'index.html': page(`<script type="importmap">${map}</script>`, '') });
    const url = await open(dir);
    const p = await browser.newPage();
    await p.goto(url);
    // A string, so that vitest does not rewrite the page's import().
    const messages = await p.evaluate(`(async () => {
      const { createVm } = await import('wasmvisor/web');
      const out = [];
      for (const o of [{ workerUrl: '/missing/worker.js' }, { core: '/missing/core.wasm' }]) {
        try { (await createVm(o)).terminate(); out.push('no error'); } catch (e) { out.push(e.message); }
      }
      return out;
    })()`) as string[];
    await p.close();
    expect(messages[0]).toBe(`wasmvisor worker: ${url}missing/worker.js: failed to load (missing file or not JavaScript?)`);
    expect(messages[1]).toBe(`wasmvisor core: ${url}missing/core.wasm: HTTP 404`);
  }, 120_000);
});
