/**
 * The xl commands as a user runs them: `node bin/wasmvisor.mjs up|xl ...` in a child process
 * (needs dist/cli.mjs: `node scripts/build.mjs`), and the pure pieces of host/cli/xl.ts
 * (argument parsing, the console escape, the line prefixer).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinePrefixer, parseXlArgs, XlMux } from '../../../host/cli/xl';
import { UserError } from '../../../host/errors';
import { vmMemSizeLimit } from '../../../host/vmm/vm';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const PVTEST = join(ROOT, 'guests/bin/xen/pvtest.elf');
/** The demo's DomUs boot minikernel, which runs pvtest's program under its own name. */
const MINIKERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-xl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function wasmvisor(args: string[], timeoutMs = 30_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input: '', encoding: 'latin1', timeout: timeoutMs, env: { ...process.env, WASMVISOR_DEBUG: '' } });
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function expectUsageError(r: SpawnSyncReturns<string>, message: string): void {
  expect(r.error).toBeUndefined();
  expect([r.stderr, r.stdout, r.status]).toEqual([message + '\n', '', 2]);
}

describe('wasmvisor up / xl (built CLI)', () => {
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist/cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `node scripts/build.mjs` first');
  });

  it.skipIf(!existsSync(MINIKERNEL))('up guests/xen/demo.cfg: both minikernel DomUs pass, power off, and the command exits 0', () => {
    const r = wasmvisor(['up', 'guests/xen/demo.cfg']);
    expect(r.error).toBeUndefined();
    expect(r.stderr).toMatch(/^wasmvisor: domu\d \(d\d\): poweroff, exit code 0: destroyed\nwasmvisor: domu\d \(d\d\): poweroff, exit code 0: destroyed\n$/);
    for (const n of [1, 2]) {
      const peer = 3 - n;
      const lines = r.stdout.split('\n').filter((l) => l.startsWith(`domu${n} | `)).map((l) => l.slice(`domu${n} | `.length));
      // The PV console from the first line on: minikernel prints no boot line or task report as a DomU.
      expect(lines[0]).toBe(`minikernel: domain ${n}, PV console on port 2`);
      expect(lines).toContain(`minikernel: disk ok (3 notifications, 0 waits)`);
      expect(lines).toContain(`minikernel: vif 0: mac 00:16:3e:00:00:0${n}, port 4, ip 10.0.0.${n}, peer 10.0.0.${peer}`);
      expect(lines.slice(-2)).toEqual([`minikernel: ping 10.0.0.${peer} ok`, 'minikernel: all tests passed; powering off']);
      expect(lines).toHaveLength(9);
    }
    const table = r.stdout.slice(r.stdout.indexOf('Name '));
    expect(table).toMatch(/^Name {40}ID {3}Mem VCPUs\tState\tTime\(s\)\nDomain-0 {37}0 {5}0 {5}1 {5}r----- {2} +\d+\.\d\ndomu1 {40}1 {4}32 {5}1 {5}---s-- {2} +\d+\.\d\ndomu2 {40}2 {4}32 {5}1 {5}---s-- {2} +\d+\.\d\n$/);
    expect(r.status).toBe(0);
  });

  it.skipIf(!existsSync(PVTEST))('a DomU that fails makes the command fail with one line naming it; --stats; deterministic runs repeat', () => {
    const solo = file('solo.cfg', `name = 'solo'\nkernel = '${PVTEST}'\nmemory = 32\n`); // no disk: pvtest fails
    const host = file('host.cfg', `domains = [ 'solo.cfg' ]\n`);
    const r = wasmvisor(['up', host, '--stats', '--deterministic']);
    expect(r.stdout).toContain('solo | FAIL: no disk (device/vbd is empty)\n');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('wasmvisor:'))).toEqual([
      'wasmvisor: solo (d1): crash, exit code 1: destroyed',
      'wasmvisor: solo (d1) did not power off cleanly: crash, exit code 1',
    ]);
    expect(r.stderr).toMatch(/^domain +instructions +host ms +slices +blocks +weight +cap +restarts\nsolo +\d+ /m);
    expect(r.status).toBe(1);
    const again = wasmvisor(['up', host, '--stats', '--deterministic']);
    const count = (s: string) => /\nsolo +(\d+)/.exec(s)![1];
    expect(count(again.stderr)).toBe(count(r.stderr));
    // xl create: the same domain in the foreground, no prefix, the guest's exit code.
    const c = wasmvisor(['xl', 'create', solo]);
    expect(c.stdout).toMatch(/^pvtest: domain 1, PV console on port 2\r?\nFAIL: no disk/);
    expect(c.status).toBe(1);
  });

  it('bad input: one line, exit 2', () => {
    expectUsageError(wasmvisor(['up']), 'wasmvisor: up: missing the configuration file (usage: wasmvisor up FILE.cfg)');
    expectUsageError(wasmvisor(['up', join(dir, 'none.cfg')]), `${join(dir, 'none.cfg')}: no such file`);
    expectUsageError(wasmvisor(['up', file('bad.cfg', "domains = [ 'x.cfg' ]\nfoo = 1\n")]), `${join(dir, 'bad.cfg')}:2: unknown key 'foo' (known: bridges, domains, uplinks)`);
    expectUsageError(wasmvisor(['up', file('h2.cfg', "domains = [ 'd.cfg' ]\n"), '--timeout', '0']), "wasmvisor: --timeout: bad value '0' (expected seconds > 0, e.g. 10 or 0.5)");
    file('d.cfg', "name = 'd'\nkernel = 'nothere.elf'\nmemory = 3\n");
    expectUsageError(wasmvisor(['up', join(dir, 'h2.cfg')]), `${join(dir, 'd.cfg')}:3: memory = 3: expected 4..${vmMemSizeLimit() / 2 ** 20} (MiB)`);
    file('d.cfg', "name = 'd'\nkernel = 'nothere.elf'\n");
    expectUsageError(wasmvisor(['xl', 'create', join(dir, 'd.cfg')]), `${join(dir, 'nothere.elf')}: no such file`);
    expectUsageError(wasmvisor(['xl']), 'wasmvisor: xl: missing subcommand (create, list, pause, unpause, destroy, rename, console, save, restore or migrate; see wasmvisor --help)');
    expectUsageError(wasmvisor(['xl', 'start']), "wasmvisor: xl: unknown subcommand 'start' (expected create, list, pause, unpause, destroy, rename, console, save, restore or migrate)");
    // The other xl commands: test/xen/toolstack/xl-remote.test.ts.
  }, 60_000);
});

describe('host/cli/xl.ts pieces', () => {
  it('parseXlArgs: options anywhere, each mistake one line', () => {
    expect(parseXlArgs('up', ['--stats', 'h.cfg', '--timeout=2.5', '--deterministic', '--jit', 'off'])).toEqual({ file: 'h.cfg', stats: true, timeout: '2.5', deterministic: true, jit: 'off' });
    const bad: [string[], string][] = [
      [[], 'wasmvisor: up: missing the configuration file (usage: wasmvisor up FILE.cfg)'],
      [['a', 'b'], "wasmvisor: up: unexpected argument 'b' (one configuration file only)"],
      [['a', '--fast'], "wasmvisor: up: unknown option '--fast' (see wasmvisor --help)"],
      [['a', '--timeout'], 'wasmvisor: up: --timeout needs a value'],
      [['a', '--jit=fast'], "wasmvisor: --jit: unknown mode 'fast' (expected off, on or always)"],
      [['a', '--stats=1'], "wasmvisor: option '--stats' takes no value"],
    ];
    for (const [args, message] of bad) expect(() => parseXlArgs('up', args)).toThrow(new UserError(message));
  });

  it('XlMux: Ctrl-A escapes across chunks; everything else goes to the console', () => {
    const log: string[] = [];
    const mux = new XlMux({ guest: (b) => log.push(`g:${String.fromCharCode(...b)}`), command: (k) => log.push(`c:${k}`) });
    mux.feed(new TextEncoder().encode('ab\x01lcd\x01'));
    mux.feed(new TextEncoder().encode('2\x01\x01e\x01P'));
    expect(log).toEqual(['g:ab', 'c:l', 'g:cd', 'c:2', 'g:\x01', 'g:e', 'c:p']);
  });

  it('LinePrefixer: whole lines, CR LF and CR dropped, the rest at end()', () => {
    const out: string[] = [];
    const p = new LinePrefixer('d1 | ', (s) => out.push(s));
    p.write(new TextEncoder().encode('one\r'));
    p.write(new TextEncoder().encode('\ntwo\nthr'));
    p.write(new TextEncoder().encode('ee'));
    p.end();
    p.end();
    expect(out).toEqual(['d1 | one\nd1 | two\n', 'd1 | three\n']);
    p.write(new Uint8Array(5000).fill(0x61));
    expect(out.at(-1)).toBe('d1 | ' + 'a'.repeat(5000) + '\n');
  });
});
