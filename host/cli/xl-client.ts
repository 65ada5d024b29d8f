/**
 * `wasmvisor xl list [DOM...]`, `xl pause DOM`, `xl unpause DOM`, `xl destroy DOM` and
 * `xl console DOM`: the xl commands that act on a running Dom0 (`wasmvisor up` or
 * `wasmvisor xl create`) from another terminal, through its socket (host/cli/dom0-sockets.ts,
 * protocol in host/cli/xl-protocol.ts, Dom0 side in host/cli/xl-control.ts).
 *
 * The Dom0: the only one running, or with several, the one WASMVISOR_DOM0=PID names.
 * Like xl, pause, unpause and destroy print nothing when they succeed. `xl console` copies
 * the domain's recent output and then its output as it comes to stdout, and stdin (raw mode
 * on a terminal) to the domain's console input; Ctrl-] detaches, as in xl console. It also
 * ends when the domain or the Dom0 ends. End of stdin stops the typing, not the output.
 *
 * `xl save DOM FILE` (the domain is saved, then destroyed), `xl restore FILE` (under a new domid)
 * and `xl migrate DOM HOST[:PORT]` (to a Dom0 started with --incoming; host/cli/xl-migrate.ts)
 * print one line on stderr when they succeed; a save file the Dom0 refuses exits 2.
 *
 * Exit status: 0 on success; 1 when there is no Dom0 (or several), the domain does not exist
 * or the command fails; 2 for bad usage; 141 when stdout's reader goes away during a console.
 */
import { connect, type Socket } from 'node:net';
import { UserError } from '../errors';
import { formatXlList } from '../xen/toolstack/list-format';
import { dom0Dir, findDom0s, type Dom0Socket } from './dom0-sockets';
import { FirstLine, MAX_RESPONSE_LINE, type XlRequest, type XlResponse } from './xl-protocol';
import { readTyped } from './stdin';
import { resolve } from 'node:path';
import { parseMigrateTarget } from './xl-migrate';
import { checkXlMigrateOptions, XL_MIGRATE_FLAGS } from './xl-save';
import { defaultMigrateOptions, EXIT_VM_LOST, parseMigrateOption } from '../migrate/options';

/** The subcommands this file runs. */
export const XL_CLIENT_COMMANDS = ['list', 'pause', 'unpause', 'destroy', 'rename', 'console', 'save', 'restore', 'migrate'];

/** How long save, restore and migrate wait for the Dom0's answer (they copy the domain's RAM). */
export const SAVE_ANSWER_TIMEOUT_MS = 180_000;

/** Detaches `xl console` (Ctrl-], as xl console's escape character). */
export const DETACH = 0x1d;

/**
 * How long a command waits for the Dom0's answer. It comes between two slices, and a slice is
 * bounded whatever its guest does (a trap storm included), so a Dom0 that has not answered in
 * this long is stuck or gone: the command says so in one line (exit 1) rather than wait on.
 */
export const ANSWER_TIMEOUT_MS = 10_000;

/** Exit status when stdout's reader goes away (as main.ts's EXIT_BROKEN_PIPE). */
const EXIT_BROKEN_PIPE = 141;

/** Where the command writes and reads. */
export interface XlClientIo {
  stdout(bytes: Uint8Array | string): void;
  stderr(text: string): void;
  stdin: NodeJS.ReadStream;
  onStdoutClosed?(handler: () => void): void;
}

/** Parse `xl SUB ARGS` into a request (UserError, exit 2, for bad usage). */
export function parseXlClientArgs(sub: string, args: string[]): XlRequest {
  if (sub === 'migrate') return parseMigrateArgs(args);
  const bad = args.find((a, i) => a.startsWith('-') && !(sub === 'restore' && i === 0 && a === '-p'));
  if (bad !== undefined) throw new UserError(`wasmvisor: xl ${sub}: unknown option '${bad}' (see wasmvisor --help)`);
  if (sub === 'list') return { cmd: 'list', doms: args };
  if (sub === 'save' || sub === 'restore' || sub === 'migrate') return parseSaveArgs(sub, args);
  if (sub === 'rename') {
    // xl rename DOM NEWNAME (xl's main_rename), printing nothing when it succeeds
    if (args.length < 2) throw new UserError(`wasmvisor: xl rename: missing arguments (usage: wasmvisor xl rename DOM NEWNAME)`);
    if (args.length > 2) throw new UserError(`wasmvisor: xl rename: unexpected argument '${args[2]}' (usage: wasmvisor xl rename DOM NEWNAME)`);
    return { cmd: 'rename', dom: args[0], name: args[1] };
  }
  if (!XL_CLIENT_COMMANDS.includes(sub)) throw new UserError(`wasmvisor: xl: unknown subcommand '${sub}'`);
  if (args.length === 0) throw new UserError(`wasmvisor: xl ${sub}: missing the domain (usage: wasmvisor xl ${sub} DOM, a name or id)`);
  if (args.length > 1) throw new UserError(`wasmvisor: xl ${sub}: unexpected argument '${args[1]}' (one domain only)`);
  return { cmd: sub as 'pause', dom: args[0] };
}

/** xl save DOM FILE, xl restore [-p] FILE, xl migrate DOM HOST[:PORT]. */
function parseSaveArgs(sub: 'save' | 'restore' | 'migrate', args: string[]): XlRequest {
  const usage = sub === 'save' ? 'DOM FILE' : sub === 'restore' ? '[-p] FILE' : 'DOM HOST[:PORT]';
  // xl restore -p: the domain stays paused after the restore (as Xen's xl).
  const paused = sub === 'restore' && args[0] === '-p';
  if (paused) args = args.slice(1);
  const n = sub === 'restore' ? 1 : 2;
  if (args.length < n) throw new UserError(`wasmvisor: xl ${sub}: missing arguments (usage: wasmvisor xl ${sub} ${usage})`);
  if (args.length > n) throw new UserError(`wasmvisor: xl ${sub}: unexpected argument '${args[n]}' (usage: wasmvisor xl ${sub} ${usage})`);
  if (sub === 'restore') return { cmd: 'restore', file: resolve(args[0]), ...(paused ? { paused: true } : {}) };
  if (sub === 'save') return { cmd: 'save', dom: args[0], file: resolve(args[1]) };
  const t = parseMigrateTarget(args[1]);
  return { cmd: 'migrate', dom: args[0], host: t.host, port: t.port };
}

/**
 * xl migrate [--migrate-mode precopy|postcopy|hybrid] [--migrate-precopy-rounds N]
 * [--migrate-max-rounds N] [--migrate-downtime MS] [--migrate-bandwidth MBPS] [--plot FILE.svg]
 * DOM HOST[:PORT]: run's migration flags (host/migrate/options.ts), checked here and by the Dom0.
 */
function parseMigrateArgs(args: string[]): XlRequest {
  const flags: Record<string, string> = {};
  const opts = defaultMigrateOptions();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-')) {
      rest.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!XL_MIGRATE_FLAGS.includes(name)) throw new UserError(`wasmvisor: xl migrate: unknown option '${a}' (see wasmvisor --help)`);
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new UserError(`wasmvisor: xl migrate: ${name} needs a value`);
    try {
      parseMigrateOption(opts, name, value);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`wasmvisor: xl migrate: ${e.message.replace(/^wasmvisor: /, '')}`);
      throw e;
    }
    flags[name] = name === '--plot' ? resolve(value) : value;
  }
  checkXlMigrateOptions(opts);
  const req = parseSaveArgs('migrate', rest);
  return Object.keys(flags).length > 0 ? { ...req, flags } as XlRequest : req;
}

/** The line a successful xl save, restore or migrate prints (here and in a Dom0's monitor). */
export function xlSaveDone(req: Extract<XlRequest, { cmd: 'save' | 'restore' | 'migrate' }>, res: Extract<XlResponse, { ok: true }>): string {
  if (req.cmd === 'save') return `xl save: ${res.name} (d${res.domid}) saved to ${req.file} (${res.bytes} bytes) and destroyed`;
  if (req.cmd === 'restore') return `xl restore: ${res.name} restored from ${req.file} as d${res.domid}${req.paused ? ' (paused)' : ''}`;
  return `xl migrate: ${res.name} (d${res.domid}) migrated to ${req.host}:${req.port} (${res.mode}: ${res.summary})`;
}

/** Run `xl SUB ARGS` against the running Dom0. */
export async function runXlClient(sub: string, args: string[], io: XlClientIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const req = parseXlClientArgs(sub, args);
  const what = `wasmvisor: xl ${sub}`;
  const dom0 = await chooseDom0(what, env);
  const s = connect(dom0.path);
  const slow = req.cmd === 'save' || req.cmd === 'restore' || req.cmd === 'migrate';
  const first = await exchange(s, req, dom0, what, slow ? SAVE_ANSWER_TIMEOUT_MS : ANSWER_TIMEOUT_MS);
  const res = first.res;
  if (!res.ok) {
    s.destroy();
    throw new UserError(`${what}: ${res.error}`, res.code === 2 || res.code === EXIT_VM_LOST ? res.code : 1);
  }
  if (req.cmd === 'list') io.stdout(formatXlList(res.rows ?? []));
  if (req.cmd === 'save' || req.cmd === 'restore' || req.cmd === 'migrate') io.stderr(`wasmvisor: ${xlSaveDone(req, res)}\n`);
  if (req.cmd !== 'console') {
    s.destroy();
    return 0;
  }
  return attach(s, first.rest, res, io);
}

/** The Dom0 to talk to (see the file comment). */
async function chooseDom0(what: string, env: NodeJS.ProcessEnv): Promise<Dom0Socket> {
  let all: Dom0Socket[];
  try {
    all = await findDom0s(dom0Dir(env));
  } catch (e) {
    throw new UserError(`${what}: ${(e as Error).message}`, 1);
  }
  const pids = all.map((d) => d.pid).join(', ');
  const chosen = env.WASMVISOR_DOM0;
  if (chosen !== undefined && chosen !== '') {
    if (!/^[1-9][0-9]*$/.test(chosen)) throw new UserError(`${what}: WASMVISOR_DOM0='${chosen}' is not a process id`);
    const d = all.find((x) => x.pid === Number(chosen));
    if (d === undefined) throw new UserError(`${what}: WASMVISOR_DOM0=${chosen}: no Dom0 with that pid is running (${all.length === 0 ? 'none is' : `running: ${pids}`})`, 1);
    return d;
  }
  if (all.length === 0) throw new UserError(`${what}: no Dom0 is running (start one with 'wasmvisor up HOST.cfg')`, 1);
  if (all.length > 1) throw new UserError(`${what}: ${all.length} Dom0 processes are running (pids ${pids}); choose one with WASMVISOR_DOM0=PID`, 1);
  return all[0];
}

/** Send the request; resolve with the answer and any bytes after it. */
function exchange(s: Socket, req: XlRequest, dom0: Dom0Socket, what: string, timeoutMs: number): Promise<{ res: XlResponse; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const first = new FirstLine(MAX_RESPONSE_LINE);
    const fail = (why: string) => {
      s.destroy();
      reject(new UserError(`${what}: Dom0 (pid ${dom0.pid}) ${why}`, 1));
    };
    const timer = setTimeout(() => fail(`did not answer within ${timeoutMs / 1000} s`), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
      s.off('error', onError);
      s.pause();
    };
    const onData = (chunk: Buffer) => {
      let got: { line: string; rest: Buffer } | undefined;
      try {
        got = first.feed(chunk);
      } catch {
        done();
        return fail('sent an answer too long to read');
      }
      if (got === undefined) return;
      done();
      let res: XlResponse;
      try {
        res = JSON.parse(got.line) as XlResponse;
      } catch {
        return fail('sent an answer that is not JSON');
      }
      resolve({ res, rest: got.rest });
    };
    const onClose = () => {
      done();
      fail('hung up before answering (did it exit?)');
    };
    const onError = (e: Error) => {
      done();
      fail(`cannot be reached: ${e.message}`);
    };
    s.on('data', onData);
    s.on('close', onClose);
    s.on('error', onError);
    s.write(JSON.stringify(req) + '\n');
  });
}

/** `xl console` after the OK: bytes both ways until Ctrl-], the domain's end or the Dom0's. */
function attach(s: Socket, rest: Buffer, res: XlResponse & { ok: true }, io: XlClientIo): Promise<number> {
  return new Promise((resolve) => {
    let ended = false;
    const output = (chunk: Buffer) => io.stdout(new Uint8Array(chunk));
    /** Stop: restore the terminal, hang up (after what was typed is sent), resolve. */
    const end = (status: number) => {
      if (ended) return;
      ended = true;
      typed.close();
      s.off('data', output);
      if (s.destroyed) return resolve(status);
      s.resume();
      const timer = setTimeout(() => s.destroy(), 2000);
      s.once('close', () => {
        clearTimeout(timer);
        resolve(status);
      });
      s.end();
    };
    const typed = readTyped(io.stdin, (chunk) => {
      const at = chunk.indexOf(DETACH);
      const bytes = at >= 0 ? chunk.subarray(0, at) : chunk;
      if (bytes.length > 0 && s.writable) s.write(bytes);
      if (at >= 0) end(0);
    }, { signals: true });
    io.onStdoutClosed?.(() => end(EXIT_BROKEN_PIPE));
    if (typed.tty) io.stderr(`wasmvisor: console of ${res.name} (d${res.domid}); Ctrl-] detaches\r\n`);
    if (rest.length > 0) io.stdout(new Uint8Array(rest));
    s.on('data', output);
    s.on('close', () => end(0));
    s.on('error', () => s.destroy());
    s.resume();
  });
}
