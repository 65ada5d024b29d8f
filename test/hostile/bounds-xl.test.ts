/**
 * The per-client bounds of a Dom0's xl socket (host/cli/xl-control.ts, docs/bounds.md), hit
 * through the built CLI (`up`, needs dist/cli.mjs): a console client that never reads loses
 * its connection once MAX_CONSOLE_BACKLOG bytes wait for it, and connections past
 * MAX_CONNECTIONS are closed at once; either way the Dom0 and its domain go on, and `xl list`
 * works again. The domain is a raw guest printing 4 KiB lines through the SBI DBCN console forever.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Asm } from '../vmm/asm';
import { ECALL } from '../vmm/guests';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-bounds-xl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** host/cli/xl-control.ts's bounds (not exported for the second one). */
const MAX_CONSOLE_BACKLOG = 1 << 20;
const MAX_CONNECTIONS = 64;

/** A raw S-mode guest printing 4 KiB lines ('y' x 4095, LF) with SBI DBCN console_write forever. */
function spewGuest(): Uint8Array {
  const a = new Asm(0x80200000n);
  const line = 0x80201000n;
  a.label('loop').li64(10, 4096n).li64(11, line).li64(12, 0n).li64(16, 0n).li64(17, 0x4442434en).emit(ECALL).jal(0, 'loop');
  a.place(line, new TextEncoder().encode('y'.repeat(4095) + '\n'));
  return a.finish(8192);
}

let dom0: ChildProcess | undefined;
afterEach(() => {
  dom0?.kill('SIGKILL');
  dom0 = undefined;
});

async function until<T>(what: string, f: () => T | undefined, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Start `up` with one spewing domain; resolves to its socket path. */
async function startDom0(): Promise<string> {
  writeFileSync(join(dir, 'spew.bin'), spewGuest());
  writeFileSync(join(dir, 'spew.cfg'), `name = 'spew'\nkernel = 'spew.bin'\nmemory = 16\n`);
  writeFileSync(join(dir, 'host.cfg'), `domains = [ 'spew.cfg' ]\n`);
  const rt = mkdtempSync(join(dir, 'rt-'));
  const child = spawn(process.execPath, [BIN, 'up', join(dir, 'host.cfg'), '--timeout', '50'], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WASMVISOR_DEBUG: '', WASMVISOR_DOM0: '', XDG_RUNTIME_DIR: rt },
  });
  dom0 = child;
  const sock = join(rt, 'wasmvisor', `dom0-${child.pid}.sock`);
  await until('the Dom0 socket', () => (existsSync(sock) ? true : undefined));
  return sock;
}

/** One request, the whole answer (the Dom0 hangs up after it). */
function request(sock: string, line: string): Promise<string> {
  return new Promise((res) => {
    const s = connect(sock);
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('error', () => {});
    s.on('close', () => res(got));
    s.write(line + '\n');
  });
}

const listsSpew = async (sock: string) => {
  const r = JSON.parse(await request(sock, '{"cmd":"list","doms":["spew"]}'));
  expect(r).toMatchObject({ ok: true, rows: [{ name: 'spew', domid: 1 }] });
};

describe('xl socket bounds (built CLI)', () => {
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist/cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `node scripts/build.mjs` first');
  });

  it(`a console client that never reads is disconnected past ${MAX_CONSOLE_BACKLOG} unsent bytes; the Dom0 goes on`, async () => {
    const sock = await startDom0();
    const s: Socket = connect(sock);
    let closed = false;
    s.on('error', () => {});
    s.on('close', () => (closed = true));
    s.pause(); // read nothing: the Dom0's queue for us grows until the bound
    s.write('{"cmd":"console","dom":"spew"}\n');
    // A paused socket does not notice that it was closed: wait while the guest prints many
    // MiB (4 KiB per exit), then read what the Dom0 sent before it gave up on us.
    await new Promise((r) => setTimeout(r, 5000));
    s.on('data', () => {});
    s.resume();
    await until('the end of the dropped console connection', () => (closed ? true : undefined), 40_000);
    // The OK line, the history, and what the Dom0 and the kernel had queued: bounded.
    expect(s.bytesRead).toBeGreaterThan(16 * 1024);
    expect(s.bytesRead).toBeLessThan(MAX_CONSOLE_BACKLOG + 2 * 1024 * 1024);
    await listsSpew(sock);
    expect(dom0!.exitCode).toBe(null);
  }, 60_000);

  it(`connections past ${MAX_CONNECTIONS} are closed at once; when the idle ones go, xl list works again`, async () => {
    const sock = await startDom0();
    const idle: Socket[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const s = connect(sock);
      s.on('error', () => {});
      await new Promise<void>((r) => s.once('connect', () => r()));
      idle.push(s);
    }
    // The server counts a connection once it accepted it; give it time to accept all.
    await new Promise((r) => setTimeout(r, 500));
    const extra = await request(sock, '{"cmd":"list","doms":[]}');
    expect(extra).toBe(''); // closed without an answer
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 500)); // the Dom0 sees them close
    await listsSpew(sock);
    expect(dom0!.exitCode).toBe(null);
  }, 60_000);
});
