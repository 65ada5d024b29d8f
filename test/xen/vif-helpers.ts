/**
 * Helpers of the vif save/restore/migrate tests (vif-save.test.ts, vif-migrate.test.ts): the
 * pingloop DomUs (guests/xen/pingloop.c) in Dom0 processes of the built CLI, with stdin kept
 * open (typed bytes go to the first domain of `up`: the pinger), and free UDP ports for uplinks.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, type Proc } from './save-helpers';

export const PINGLOOP = join(ROOT, 'guests/bin/xen/pingloop.elf');

/** A Proc whose stdin stays open: type() writes to it. */
export interface TypedProc extends Proc {
  type(s: string): void;
}

const started: TypedProc[] = [];

/** Kill what a test left running (afterEach). */
export function killTyped(): void {
  for (const p of started.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

/** Start `wasmvisor ARGS` in `cwd` with runtime directory `rt`, stdin open. */
export function startTyped(cwd: string, rt: string, args: string[]): TypedProc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, WASMVISOR_DEBUG: '', WASMVISOR_DOM0: '', XDG_RUNTIME_DIR: rt },
  });
  const p: TypedProc = {
    child, out: '', err: '', exited: new Promise((res) => child.on('close', (status, signal) => res({ status, signal }))),
    type: (s) => void child.stdin!.write(s),
  };
  child.stdout!.setEncoding('latin1').on('data', (s: string) => (p.out += s));
  child.stderr!.setEncoding('latin1').on('data', (s: string) => (p.err += s));
  started.push(p);
  return p;
}

/** A private directory (mode 0700, usable as XDG_RUNTIME_DIR) under a new temporary one. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  return d;
}

/** A Dom0's directory `dir/name` with its runtime directory and HOST.cfg of the given domains and uplinks. */
export function dom0Dir(dir: string, name: string, domains: { name: string; cmdline: string; mac: string; ip: string; kernel?: string }[], uplinks: string[] = []): { dir: string; rt: string; host: string } {
  const d = join(dir, name);
  const rt = join(d, 'rt');
  mkdirSync(rt, { recursive: true, mode: 0o700 });
  for (const x of domains) {
    const vif = x.mac === '' ? '' : `vif = [ 'mac=${x.mac}, ip=${x.ip}' ]\n`;
    writeFileSync(join(d, `${x.name}.cfg`), `name = '${x.name}'\nkernel = '${x.kernel ?? PINGLOOP}'\nmemory = 16\n${x.cmdline === '' ? '' : `cmdline = '${x.cmdline}'\n`}${vif}`);
  }
  const host = join(d, 'host.cfg');
  writeFileSync(host, (domains.length ? `domains = [ ${domains.map((x) => `'${x.name}.cfg'`).join(', ')} ]\n` : '') + (uplinks.length ? `uplinks = [ ${uplinks.map((u) => `'${u}'`).join(', ')} ]\n` : ''));
  return { dir: d, rt, host };
}

/** Two UDP ports free on 127.0.0.1 now (bound, then closed). */
export async function freeUdpPorts(): Promise<[number, number]> {
  const one = () => new Promise<number>((res) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => res(port));
    });
  });
  const a = await one();
  let b = await one();
  while (b === a) b = await one();
  return [a, b];
}

/** One domain's console lines of `up`'s stdout ("NAME | " prefix and CRs dropped). */
export function domainLines(out: string, name: string): string[] {
  const re = new RegExp(`^${name} *\\| `);
  return out.replace(/\r/g, '').split('\n').filter((l) => re.test(l)).map((l) => l.replace(re, ''));
}

/** The pinger's reply count in its last progress line, or 0. */
export function replies(out: string): number {
  const m = [...out.matchAll(/pingloop: (\d+) replies, \d+ lost/g)];
  return m.length === 0 ? 0 : Number(m[m.length - 1][1]);
}
