/**
 * `wasmvisor xl list|pause|unpause|destroy|console` from another terminal: a Dom0 (`up` or
 * `xl create`, the built CLI in a child process) runs DomUs of conecho (guests/xen/conecho.c,
 * which echoes its PV console and answers each line), and the xl commands run as separate
 * processes against it, through its socket (host/cli/xl-control.ts). Each test has its own
 * XDG_RUNTIME_DIR, so the Dom0s of other test files are never seen. Needs dist/cli.mjs
 * (`npm run build`). Waits poll for a condition, with generous bounds.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseXlClientArgs } from '../../../host/cli/xl-client';
import { FirstLine, parseRequest } from '../../../host/cli/xl-protocol';
import { ConsoleHub, HISTORY_BYTES } from '../../../host/cli/console-hub';
import { UserError } from '../../../host/errors';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const CONECHO = join(ROOT, 'guests/bin/xen/conecho.elf');
const HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\n';
const DOM0_ROW = 'Domain-0                                     0     0     1     r-----  T\n';
/** An `xl list` row of a 16 MiB conecho domain, time left out. */
const row = (name: string, id: number, state: string) => `${name.padEnd(40)} ${String(id).padStart(5)}    16     1     ${state}  T\n`;
const banner = (id: number) => `conecho: domain ${id}, echoing the PV console\r\n`;

const haveScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

const top = mkdtempSync(join(tmpdir(), 'wasmvisor-xlr-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

/** A child process and what it wrote so far. */
interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
}

const started: Proc[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

/** Start `wasmvisor ARGS` with the test's runtime directory. */
function start(rt: string, args: string[], extraEnv: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, WASMVISOR_DEBUG: '', WASMVISOR_DOM0: '', XDG_RUNTIME_DIR: rt, ...extraEnv },
  });
  const p: Proc = {
    child, out: '', err: '',
    exited: new Promise((res) => child.on('close', (status, signal) => res({ status, signal }))),
  };
  child.stdout!.setEncoding('latin1').on('data', (s: string) => (p.out += s));
  child.stderr!.setEncoding('latin1').on('data', (s: string) => (p.err += s));
  started.push(p);
  return p;
}

/** Run `wasmvisor ARGS` to its end (stdin closed). */
async function run(rt: string, args: string[], extraEnv: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; status: number | null }> {
  const p = start(rt, args, extraEnv);
  p.child.stdin!.end();
  const { status } = await p.exited;
  return { stdout: p.out, stderr: p.err, status };
}

/** Poll `cond` every 50 ms until it holds (at most `ms`); `seen` says what there was instead. */
async function until(what: string, cond: () => boolean | Promise<boolean>, seen: () => string = () => '', ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(seen())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `xl list` with each CPU time replaced by T. */
async function list(rt: string, extraEnv: Record<string, string> = {}): Promise<string> {
  const r = await run(rt, ['xl', 'list'], extraEnv);
  expect([r.stderr, r.status]).toEqual(['', 0]);
  return r.stdout.replace(/ {2} *\d+\.\d$/gm, '  T');
}

/** A fresh private runtime directory, and a cfg for conecho domain `name`. */
function setup(test: string): { rt: string; cfg: (name: string) => string; sockDir: string } {
  const dir = mkdtempSync(join(top, `${test}-`)); // mode 0700, as a runtime directory is
  const cfg = (name: string) => {
    const p = join(dir, `${name}.cfg`);
    writeFileSync(p, `name = '${name}'\nkernel = '${CONECHO}'\nmemory = 16\n`);
    return p;
  };
  return { rt: dir, cfg, sockDir: join(dir, 'wasmvisor') };
}

const sockOf = (sockDir: string, p: Proc) => join(sockDir, `dom0-${p.child.pid}.sock`);

/** One request line on a Dom0's socket, as a client that may be hostile sends it. */
function raw(path: string, bytes: string): Promise<string> {
  return new Promise((res) => {
    const s = connect(path);
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('error', () => {}); // the Dom0 hung up on us: 'close' follows
    s.on('close', () => res(got));
    s.write(bytes);
  });
}

describe('xl commands against a running Dom0 (built CLI)', () => {
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist/cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `npm run build` first');
  });

  it.skipIf(!existsSync(CONECHO))('list, pause, console, unpause, destroy; the console follows the domain through a restart to its end; the socket goes with the Dom0', async () => {
    const { rt, cfg, sockDir } = setup('up');
    cfg('echo1');
    cfg('echo2');
    const host = join(rt, 'host.cfg');
    writeFileSync(host, `domains = [ 'echo1.cfg', 'echo2.cfg' ]\n`);
    const dom0 = start(rt, ['up', host, '--timeout', '300']);
    dom0.child.stdin!.end();
    const sock = sockOf(sockDir, dom0);
    await until('the Dom0 socket', () => existsSync(sock));

    // Both domains print their line, then wait for input (blocked).
    const both = HEADER + DOM0_ROW + row('echo1', 1, '-b----') + row('echo2', 2, '-b----');
    let last = '';
    await until('both domains blocked', async () => (last = await list(rt)) === both, () => last);
    expect(await list(rt)).toBe(both);

    // xl rename (xl's main_rename, libxl_domain_rename): prints nothing; xl list and the other
    // commands know it by its new name at once. An unknown domain, a name another domain has,
    // Domain-0 and a missing argument: one line each, the domain unchanged.
    expect(await run(rt, ['xl', 'rename', 'echo1', 'web'])).toEqual({ stdout: '', stderr: '', status: 0 });
    expect(await list(rt)).toBe(HEADER + DOM0_ROW + row('web', 1, '-b----') + row('echo2', 2, '-b----'));
    expect(await run(rt, ['xl', 'rename', 'echo1', 'x'])).toEqual({ stdout: '', stderr: "wasmvisor: xl rename: no domain 'echo1' (see wasmvisor xl list)\n", status: 1 });
    expect(await run(rt, ['xl', 'rename', 'web', 'echo2'])).toEqual({ stdout: '', stderr: "wasmvisor: xl rename: cannot rename web (d1): a domain named 'echo2' already exists\n", status: 1 });
    expect(await run(rt, ['xl', 'rename', '0', 'x'])).toEqual({ stdout: '', stderr: 'wasmvisor: xl rename: Domain-0 cannot be renamed\n', status: 1 });
    expect(await run(rt, ['xl', 'rename', 'web'])).toEqual({ stdout: '', stderr: 'wasmvisor: xl rename: missing arguments (usage: wasmvisor xl rename DOM NEWNAME)\n', status: 2 });
    expect(await run(rt, ['xl', 'rename', '1', 'echo1'])).toEqual({ stdout: '', stderr: '', status: 0 });
    expect(await list(rt)).toBe(both);

    // pause prints nothing; list shows p.
    expect(await run(rt, ['xl', 'pause', 'echo1'])).toEqual({ stdout: '', stderr: '', status: 0 });
    expect(await list(rt)).toBe(HEADER + DOM0_ROW + row('echo1', 1, '--p---') + row('echo2', 2, '-b----'));

    // xl console (by id): the output so far, then input typed while the domain is paused is
    // answered once it is unpaused. Ctrl-] detaches and leaves the domain running.
    const con = start(rt, ['xl', 'console', '1']);
    await until('the console history', () => con.out === banner(1), () => con.out + con.err);
    con.child.stdin!.write('hi\n');
    expect(await run(rt, ['xl', 'unpause', 'echo1'])).toEqual({ stdout: '', stderr: '', status: 0 });
    const hi = "hi\r\nconecho: got 'hi'\r\n";
    await until('the echo', () => con.out === banner(1) + hi, () => con.out + con.err);
    con.child.stdin!.write('typed\x1dnot sent\n');
    expect(await con.exited).toEqual({ status: 0, signal: null });
    // Nothing is shown after Ctrl-]; what was typed before it arrived (the next console's history
    // holds its echo), what came after did not (the domain has no line to answer).
    expect([con.out, con.err]).toEqual([banner(1) + hi, '']);
    await until('echo1 blocked again', async () => (await list(rt)) === both);

    // destroy prints nothing; the domain is gone from the list at once.
    expect(await run(rt, ['xl', 'destroy', 'echo2'])).toEqual({ stdout: '', stderr: '', status: 0 });
    expect(await list(rt)).toBe(HEADER + DOM0_ROW + row('echo1', 1, '-b----'));
    expect(await run(rt, ['xl', 'pause', 'echo2'])).toEqual({ stdout: '', stderr: "wasmvisor: xl pause: no domain 'echo2' (see wasmvisor xl list)\n", status: 1 });

    // A console stays through a restart (on_reboot = restart) and ends with its domain:
    // "poweroff" ends echo1, and with it the Dom0.
    const last1 = start(rt, ['xl', 'console', 'echo1']);
    await until('the second console', () => last1.out === banner(1) + hi + 'typed', () => last1.out + last1.err);
    last1.child.stdin!.write('\x7f\x7f\x7f\x7f\x7freboot\n');
    const rebooted = banner(1) + hi + 'typed' + '\b \b'.repeat(5) + "reboot\r\nconecho: got 'reboot'\r\n" + banner(1);
    await until('the restarted domain', () => last1.out === rebooted, () => last1.out + last1.err);
    last1.child.stdin!.write('poweroff\n');
    expect(await last1.exited).toEqual({ status: 0, signal: null });
    expect(last1.out).toBe(rebooted + "poweroff\r\nconecho: got 'poweroff'\r\n");

    expect((await dom0.exited).status).toBe(1);
    expect(dom0.err).toBe([
      'wasmvisor: echo2 (d2): destroyed',
      'wasmvisor: echo1 (d1): reboot, exit code 0: restarted as d1 (restart 1 of at most 8)',
      'wasmvisor: echo1 (d1): poweroff, exit code 0: destroyed',
      'wasmvisor: echo2 (d2) did not power off cleanly: destroyed',
      '',
    ].join('\n'));
    const lines = dom0.out.split('\n');
    expect(lines.filter((l) => l.startsWith('echo1 | '))).toEqual([
      'echo1 | conecho: domain 1, echoing the PV console', 'echo1 | hi', "echo1 | conecho: got 'hi'",
      'echo1 | typed\b \b\b \b\b \b\b \b\b \breboot', "echo1 | conecho: got 'reboot'",
      'echo1 | conecho: domain 1, echoing the PV console', 'echo1 | poweroff', "echo1 | conecho: got 'poweroff'",
    ]);
    expect(dom0.out.slice(dom0.out.indexOf('Name ')).replace(/ {2} *\d+\.\d$/gm, '  T')).toBe(HEADER + DOM0_ROW + row('echo1', 1, '---s--') + row('echo2', 2, '-----d'));
    expect(existsSync(sock)).toBe(false);
    expect(await run(rt, ['xl', 'list'])).toEqual({ stdout: '', stderr: "wasmvisor: xl list: no Dom0 is running (start one with 'wasmvisor up HOST.cfg')\n", status: 1 });
  }, 240_000);

  it.skipIf(!existsSync(CONECHO))('errors: unknown domains and Domain-0 (exit 1), usage (exit 2); hostile clients lose their connection, the Dom0 carries on', async () => {
    const { rt, cfg, sockDir } = setup('err');
    const dom0 = start(rt, ['xl', 'create', cfg('solo'), '--timeout', '300']);
    const sock = sockOf(sockDir, dom0);
    await until('the Dom0 socket', () => existsSync(sock));
    const pid = dom0.child.pid;
    const fails: [string[], string, number][] = [
      [['xl', 'pause', 'nosuch'], "wasmvisor: xl pause: no domain 'nosuch' (see wasmvisor xl list)", 1],
      [['xl', 'console', '7'], "wasmvisor: xl console: no domain '7' (see wasmvisor xl list)", 1],
      [['xl', 'list', 'solo', 'x'], "wasmvisor: xl list: no domain 'x' (see wasmvisor xl list)", 1],
      [['xl', 'destroy', '0'], `wasmvisor: xl destroy: Domain-0 cannot be destroyed (end this Dom0 process, pid ${pid}, instead)`, 1],
      [['xl', 'pause', 'Domain-0'], 'wasmvisor: xl pause: Domain-0 cannot be paused', 1],
      [['xl', 'console', '0'], `wasmvisor: xl console: Domain-0 has no console here (its output is that of the Dom0 process, pid ${pid})`, 1],
      [['xl', 'destroy'], 'wasmvisor: xl destroy: missing the domain (usage: wasmvisor xl destroy DOM, a name or id)', 2],
      [['xl', 'pause', 'a', 'b'], "wasmvisor: xl pause: unexpected argument 'b' (one domain only)", 2],
      [['xl', 'list', '-l'], "wasmvisor: xl list: unknown option '-l' (see wasmvisor --help)", 2],
      [['xl', 'start'], "wasmvisor: xl: unknown subcommand 'start' (expected create, list, pause, unpause, destroy, rename, console, save, restore or migrate)", 2],
    ];
    for (const [args, message, status] of fails) expect(await run(rt, args)).toEqual({ stdout: '', stderr: message + '\n', status });
    expect(await run(rt, ['xl', 'list'], { WASMVISOR_DOM0: 'me' })).toEqual({ stdout: '', stderr: "wasmvisor: xl list: WASMVISOR_DOM0='me' is not a process id\n", status: 2 });

    // Straight to the socket: bad requests are answered and closed; an endless line is cut off.
    expect(await raw(sock, 'not json\n')).toBe('{"ok":false,"error":"bad request: not JSON"}\n');
    expect(await raw(sock, '{"cmd":"list","doms":[1]}\n')).toBe('{"ok":false,"error":"bad request: doms"}\n');
    expect(await raw(sock, '{"cmd":"reboot","dom":"solo"}\n')).toBe('{"ok":false,"error":"bad request: unknown cmd"}\n');
    expect(await raw(sock, '[]\n')).toBe('{"ok":false,"error":"bad request: not an object"}\n');
    expect(await raw(sock, 'x'.repeat(100_000))).toBe('');
    expect(await raw(sock, '{"cmd":"list"}\n')).toMatch(/^\{"ok":true,"rows":\[\{"name":"Domain-0".*\{"name":"solo","domid":1,/);
    // The list of one domain, and the Dom0 still runs.
    await until('solo blocked', async () => (await list(rt)) === HEADER + DOM0_ROW + row('solo', 1, '-b----'));
    const one = await run(rt, ['xl', 'list', 'solo']);
    expect([one.stdout.replace(/ {2} *\d+\.\d$/gm, '  T'), one.stderr, one.status]).toEqual([HEADER + row('solo', 1, '-b----'), '', 0]);
    expect(dom0.child.exitCode).toBe(null);
    dom0.child.kill('SIGTERM');
    expect(await dom0.exited).toEqual({ status: 143, signal: null });
    expect(existsSync(sock)).toBe(false);
  }, 240_000);

  it.skipIf(!existsSync(CONECHO))('several Dom0s: the command names them and WASMVISOR_DOM0 picks one; sockets go at SIGTERM and --timeout; one left by SIGKILL is cleared', async () => {
    const { rt, cfg, sockDir } = setup('many');
    const a = start(rt, ['xl', 'create', cfg('a1'), '--timeout', '300']);
    const b = start(rt, ['xl', 'create', cfg('b1'), '--timeout', '20']);
    await until('both sockets', () => existsSync(sockOf(sockDir, a)) && existsSync(sockOf(sockDir, b)));
    const pids = [a.child.pid!, b.child.pid!].sort((x, y) => x - y);
    expect(await run(rt, ['xl', 'list'])).toEqual({
      stdout: '', status: 1,
      stderr: `wasmvisor: xl list: 2 Dom0 processes are running (pids ${pids.join(', ')}); choose one with WASMVISOR_DOM0=PID\n`,
    });
    await until('a1 blocked', async () => (await list(rt, { WASMVISOR_DOM0: String(a.child.pid) })) === HEADER + DOM0_ROW + row('a1', 1, '-b----'));
    expect(await run(rt, ['xl', 'pause', 'a1'], { WASMVISOR_DOM0: '1' })).toEqual({
      stdout: '', status: 1, stderr: `wasmvisor: xl pause: WASMVISOR_DOM0=1: no Dom0 with that pid is running (running: ${pids.join(', ')})\n`,
    });

    a.child.kill('SIGTERM');
    expect(await a.exited).toEqual({ status: 143, signal: null });
    expect(existsSync(sockOf(sockDir, a))).toBe(false);
    // b1 alone now: no choice needed.
    await until('b1 blocked', async () => (await list(rt)) === HEADER + DOM0_ROW + row('b1', 1, '-b----'));
    expect(await b.exited).toEqual({ status: 124, signal: null });
    expect(b.err).toBe(`wasmvisor: b1 (d1): destroyed\nwasmvisor: ${join(rt, 'b1.cfg')}: timeout after 20 s (b1 still running)\n`);
    expect(existsSync(sockOf(sockDir, b))).toBe(false);

    const c = start(rt, ['xl', 'create', cfg('c1'), '--timeout', '300']);
    await until('the socket of c', () => existsSync(sockOf(sockDir, c)));
    c.child.kill('SIGKILL');
    expect(await c.exited).toEqual({ status: null, signal: 'SIGKILL' });
    expect(existsSync(sockOf(sockDir, c))).toBe(true);
    expect(await run(rt, ['xl', 'list'])).toEqual({ stdout: '', stderr: "wasmvisor: xl list: no Dom0 is running (start one with 'wasmvisor up HOST.cfg')\n", status: 1 });
    expect(readdirSync(sockDir)).toEqual([]);
  }, 240_000);

  it.skipIf(!existsSync(CONECHO) || !haveScript)('xl console on a terminal: raw mode (Enter is CR), a notice, Ctrl-] detaches and restores the terminal', async () => {
    const { rt, cfg, sockDir } = setup('tty');
    const dom0 = start(rt, ['xl', 'create', cfg('solo'), '--timeout', '300']);
    await until('the Dom0 socket', () => existsSync(sockOf(sockDir, dom0)));
    // util-linux script(1) gives the command a pseudo-terminal; we type into it step by step.
    const cmd = `node bin/wasmvisor.mjs xl console solo; echo "EXIT=$?"; stty -a | grep -o -- '-\\?icanon'`;
    const tty = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: rt, WASMVISOR_DOM0: '' } });
    started.push({ child: tty, out: '', err: '', exited: Promise.resolve({ status: null, signal: null }) });
    // The pseudo-terminal turns each LF into CR LF (ONLCR; raw mode keeps output processing).
    let out = '';
    tty.stdout.on('data', (b: Buffer) => (out += b.toString('latin1').replace(/\r+\n/g, '\n')));
    const closed = new Promise<number | null>((res) => tty.on('close', res));
    await until('the notice and the history', () => out.includes('wasmvisor: console of solo (d1); Ctrl-] detaches\nconecho: domain 1, echoing the PV console\n'), () => out);
    tty.stdin.write('hi\r');
    await until('the answer', () => out.includes("hi\nconecho: got 'hi'\n"), () => out);
    tty.stdin.write('\x1d');
    await until('the exit status', () => out.includes('EXIT=0'), () => out);
    await until('stty', () => /icanon/.test(out), () => out);
    tty.stdin.end();
    expect(await closed).toBe(0);
    expect(out).toMatch(/EXIT=0\n(?!-)icanon/); // canonical mode again, not -icanon
    expect(dom0.child.exitCode).toBe(null);
    dom0.child.stdin!.write('poweroff\n');
    expect((await dom0.exited).status).toBe(0);
  }, 120_000);

  it.skipIf(!existsSync(CONECHO))('a socket directory open to others is refused: the Dom0 runs without the xl commands, which say why', async () => {
    const { rt, cfg, sockDir } = setup('open');
    mkdirSync(sockDir);
    chmodSync(sockDir, 0o755);
    const dom0 = start(rt, ['xl', 'create', cfg('solo'), '--timeout', '300']);
    dom0.child.stdin!.write('poweroff\n');
    expect((await dom0.exited).status).toBe(0);
    const why = `${sockDir} is open to others (mode 755; expected 700)`;
    expect(dom0.err).toBe(`wasmvisor: xl commands from other terminals are unavailable: ${why}\nwasmvisor: solo (d1): poweroff, exit code 0: destroyed\n`);
    expect(dom0.out).toMatch(/^conecho: domain 1, echoing the PV console\r\npoweroff\r\nconecho: got 'poweroff'\r\nName /);
    expect(await run(rt, ['xl', 'list'])).toEqual({ stdout: '', stderr: `wasmvisor: xl list: ${why}\n`, status: 1 });
    expect(readdirSync(sockDir)).toEqual([]);
  }, 120_000);
});

describe('xl client and protocol pieces', () => {
  it('parseXlClientArgs and parseRequest agree on the requests', () => {
    expect(parseXlClientArgs('list', [])).toEqual({ cmd: 'list', doms: [] });
    expect(parseXlClientArgs('console', ['domu1'])).toEqual({ cmd: 'console', dom: 'domu1' });
    expect(parseXlClientArgs('rename', ['domu1', 'web'])).toEqual({ cmd: 'rename', dom: 'domu1', name: 'web' });
    for (const r of [{ cmd: 'list', doms: ['a', '2'] }, { cmd: 'destroy', dom: '3' }, { cmd: 'rename', dom: '3', name: 'web' }]) expect(parseRequest(JSON.stringify(r))).toEqual(r);
    expect(parseRequest('{"cmd":"list"}')).toEqual({ cmd: 'list', doms: [] });
    expect(() => parseXlClientArgs('unpause', [])).toThrow(new UserError('wasmvisor: xl unpause: missing the domain (usage: wasmvisor xl unpause DOM, a name or id)'));
    const bad: [string, string][] = [
      ['{"cmd":"pause"}', 'bad request: dom'],
      ['{"cmd":"pause","dom":""}', 'bad request: dom'],
      [`{"cmd":"pause","dom":"${'a'.repeat(65)}"}`, 'bad request: dom'],
      ['{"cmd":"list","doms":"a"}', 'bad request: doms'],
      ['{"cmd":"rename","dom":"a"}', 'bad request: rename'],
      ['null', 'bad request: not an object'],
      ['{"cmd":"__proto__"}', 'bad request: unknown cmd'],
      ['{', 'bad request: not JSON'],
    ];
    for (const [line, message] of bad) expect(() => parseRequest(line)).toThrow(new Error(message));
  });

  it('FirstLine: the first line across chunks, the bytes after it, and a limit', () => {
    const f = new FirstLine(8);
    expect(f.feed(Buffer.from('{"a'))).toBeUndefined();
    const got = f.feed(Buffer.from('":1}\nraw'))!;
    expect([got.line, got.rest.toString()]).toEqual(['{"a":1}', 'raw']);
    expect(() => new FirstLine(8).feed(Buffer.from('123456789'))).toThrow('line longer than 8 bytes');
    const g = new FirstLine(8);
    g.feed(Buffer.from('12345'));
    expect(() => g.feed(Buffer.from('6789\n'))).toThrow('line longer than 8 bytes');
    expect(new FirstLine(8).feed(Buffer.from('12345678\n'))!.line).toBe('12345678');
  });

  it('ConsoleHub: listeners get later output; the history keeps the last lines whole', () => {
    const hub = new ConsoleHub<string>();
    hub.write('a', new TextEncoder().encode('one\r\ntwo'));
    const seen: string[] = [];
    const detach = hub.attach('a', (b) => seen.push(Buffer.from(b).toString()));
    hub.write('a', new TextEncoder().encode('\r\n'));
    hub.write('b', new TextEncoder().encode('other'));
    detach();
    hub.write('a', new TextEncoder().encode('three'));
    expect(seen).toEqual(['\r\n']);
    expect(Buffer.from(hub.history('a')).toString()).toBe('one\r\ntwo\r\nthree');
    expect(hub.history('none')).toEqual(new Uint8Array(0));
    // Past HISTORY_BYTES: the tail, from the first line end on.
    const line = 'x'.repeat(99) + '\n';
    for (let i = 0; i < 200; i++) hub.write('c', new TextEncoder().encode(line));
    const h = Buffer.from(hub.history('c')).toString();
    expect(h).toBe(line.repeat(Math.floor(HISTORY_BYTES / 100)));
  });
});
