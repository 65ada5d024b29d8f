/**
 * The Dom0 side of the xl commands typed in another terminal: `wasmvisor xl list`, `pause`,
 * `unpause`, `destroy` and `console` (host/cli/xl-client.ts) reach a running `wasmvisor up` or
 * `wasmvisor xl create` through its Unix socket (host/cli/dom0-sockets.ts), with the protocol
 * of host/cli/xl-protocol.ts. The commands act through the Toolstack between two slices
 * (Toolstack.defer), as the Ctrl-A escapes do.
 *
 * Every connection is untrusted: a request that is too long, not JSON or of an unknown shape,
 * a client that sends nothing for REQUEST_TIMEOUT_MS, or a console client that reads too slowly
 * (MAX_CONSOLE_BACKLOG unsent bytes) loses its connection; the Dom0 carries on.
 *
 * The socket is removed when the control closes (the session's end: all domains gone, Ctrl-A x,
 * --timeout or an error) and when the process exits, also on SIGINT, SIGTERM and SIGHUP, which
 * end the process with status 128 + the signal's number, as a death by that signal reports.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { DomainRecord, Toolstack } from '../xen/toolstack/xl';
import type { ConsoleHub } from './console-hub';
import { dom0SocketPath, ensureDom0Dir, removeQuietly } from './dom0-sockets';
import { UserError } from '../errors';
import { migrateDomain, restoreFile, saveFile } from './xl-save';
import type { DomainSourceIo } from '../migrate/domain-source';
import { EXIT_VM_LOST } from '../migrate/options';
import { summaryText } from '../migrate/progress';
import { FirstLine, MAX_REQUEST_LINE, parseRequest, type XlRequest, type XlResponse } from './xl-protocol';

/** A connection that has not sent its request line by then is closed. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Console output a client has not read yet, beyond which it is disconnected. */
export const MAX_CONSOLE_BACKLOG = 1 << 20;
/** Connections at once (Node refuses more). */
const MAX_CONNECTIONS = 64;

/** What the control needs from its session. */
export interface XlControlOptions {
  xl: Toolstack;
  /** The session's console output, by domain record. */
  consoles: ConsoleHub<DomainRecord>;
  /** Domain-0's CPU time for `xl list`. */
  dom0Seconds(): number;
}

/** What `find` returns for Domain-0, which has no record. */
const DOMAIN_0 = Symbol('Domain-0');

/** A failed command: its message goes to the client. */
class CommandError extends Error {}

/** Signals after which the process removes its socket and exits. */
const SIGNALS: [NodeJS.Signals, number][] = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]];

/** One Dom0's socket and the connections on it. */
export class XlControl {
  /** Connections waiting for their command to run (answered "Dom0 is exiting" at close). */
  private readonly waiting = new Set<Socket>();
  /** Attached consoles: the socket, its domain, and how to detach it. */
  private readonly consoles = new Map<Socket, { rec: DomainRecord; detach: () => void }>();
  private closed = false;
  private readonly onExit = () => removeQuietly(this.path);
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.close();
    process.exit(128 + (SIGNALS.find(([s]) => s === signal)?.[1] ?? 15));
  };

  private constructor(private readonly server: Server, readonly path: string, private readonly opts: XlControlOptions) {
    process.on('exit', this.onExit);
    for (const [s] of SIGNALS) process.on(s, this.onSignal);
  }

  /** Listen on this process's socket in `dir`. Rejects (with the reason) when it cannot. */
  static async start(dir: string, opts: XlControlOptions): Promise<XlControl> {
    ensureDom0Dir(dir);
    const path = dom0SocketPath(dir, process.pid);
    removeQuietly(path); // left by an earlier process with our pid
    const server = createServer({ allowHalfOpen: false });
    server.maxConnections = MAX_CONNECTIONS;
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`cannot listen on ${path}: ${e.message}`)));
      server.listen(path, () => {
        server.removeAllListeners('error');
        server.on('error', () => {}); // accept errors on a listening socket are not fatal
        const control = new XlControl(server, path, opts);
        server.on('connection', (s) => control.accept(s));
        resolve(control);
      });
    });
  }

  /** A domain's state changed: end the consoles of domains that no longer run. */
  domainsChanged(): void {
    for (const [s, c] of this.consoles) if (c.rec.state !== 'running') this.endConsole(s);
  }

  /** Stop listening, end every connection, remove the socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    removeQuietly(this.path);
    process.off('exit', this.onExit);
    for (const [s] of SIGNALS) process.off(s, this.onSignal);
    for (const s of this.waiting) this.reply(s, { ok: false, error: 'Dom0 is exiting' });
    this.waiting.clear();
    for (const s of [...this.consoles.keys()]) this.endConsole(s);
  }

  /** A new connection: read its request line. */
  private accept(s: Socket): void {
    const first = new FirstLine(MAX_REQUEST_LINE);
    s.on('error', () => s.destroy());
    s.on('close', () => {
      this.waiting.delete(s);
      this.consoles.get(s)?.detach();
      this.consoles.delete(s);
    });
    s.setTimeout(REQUEST_TIMEOUT_MS, () => s.destroy());
    const onData = (chunk: Buffer) => {
      let got: { line: string; rest: Buffer } | undefined;
      try {
        got = first.feed(chunk);
      } catch {
        s.destroy(); // an endless line
        return;
      }
      if (got === undefined) return;
      s.off('data', onData);
      s.setTimeout(0);
      let req: XlRequest;
      try {
        req = parseRequest(got.line);
      } catch (e) {
        this.reply(s, { ok: false, error: (e as Error).message });
        return;
      }
      s.pause(); // nothing more is read until the command has run
      this.waiting.add(s);
      const rest = got.rest;
      this.opts.xl.defer(() => {
        if (!this.waiting.delete(s) || s.destroyed) return;
        // A migration's transfer is not awaited here: the other domains run meanwhile.
        if (req.cmd === 'migrate') return void this.runSaveCommand(s, req);
        if (req.cmd === 'save' || req.cmd === 'restore') return this.runSaveCommand(s, req);
        this.run(s, req, rest);
      });
    };
    s.on('data', onData);
  }

  /** Run a command (between slices) and answer it. */
  private run(s: Socket, req: Exclude<XlRequest, { cmd: 'save' | 'restore' | 'migrate' }>, rest: Buffer): void {
    if (req.cmd !== 'console') return this.reply(s, answerXl(this.opts, req));
    try {
      const rec = findDomain(this.opts.xl, req.dom);
      if (rec === DOMAIN_0) throw new CommandError(domain0Refusal(req.cmd));
      this.attachConsole(s, rec, rest);
    } catch (e) {
      this.reply(s, { ok: false, error: errorText(e) });
    }
  }

  /** xl save, restore and migrate (host/cli/xl-save.ts), answered when done. */
  private async runSaveCommand(s: Socket, req: Extract<XlRequest, { cmd: 'save' | 'restore' | 'migrate' }>): Promise<void> {
    this.reply(s, await answerXlSave(this.opts.xl, req));
  }


  /** Answer OK, send the console's recent output, then pass bytes both ways. */
  private attachConsole(s: Socket, rec: DomainRecord, typed: Buffer): void {
    const ok = JSON.stringify({ ok: true, domid: rec.domid, name: rec.name } satisfies XlResponse) + '\n';
    s.write(Buffer.concat([Buffer.from(ok), this.opts.consoles.history(rec)]));
    s.resume();
    if (rec.state !== 'running') {
      s.end(); // shut down (preserved): its last output, and that is all
      return;
    }
    const detach = this.opts.consoles.attach(rec, (bytes) => {
      if (s.writableLength > MAX_CONSOLE_BACKLOG) s.destroy();
      else if (!s.destroyed && s.writable) s.write(bytes);
    });
    this.consoles.set(s, { rec, detach });
    const input = (bytes: Uint8Array) => {
      if (rec.state !== 'running') return;
      try {
        this.opts.xl.console(rec.domid)(bytes);
      } catch {
        // the domain went between two slices: typing goes nowhere
      }
    };
    if (typed.length > 0) input(new Uint8Array(typed));
    s.on('data', (chunk: Buffer) => input(new Uint8Array(chunk)));
  }

  /** End a console connection. */
  private endConsole(s: Socket): void {
    this.consoles.get(s)?.detach();
    this.consoles.delete(s);
    s.end();
  }

  /** Send the one response line and hang up (reading on, so that the client's close is seen). */
  private reply(s: Socket, res: XlResponse): void {
    if (s.destroyed) return;
    s.end(JSON.stringify(res) + '\n');
    s.resume();
    s.setTimeout(REQUEST_TIMEOUT_MS, () => s.destroy());
  }
}

/**
 * Run an xl command other than console (between slices: inside Toolstack.defer) and answer it:
 * for the socket's clients and for the Dom0's monitor (host/cli/xl-monitor.ts).
 */
export function answerXl(opts: Pick<XlControlOptions, 'xl' | 'dom0Seconds'>, req: Exclude<XlRequest, { cmd: 'console' | 'save' | 'restore' | 'migrate' }>): XlResponse {
  const { xl } = opts;
  try {
    if (req.cmd === 'list') {
      const rows = xl.list(opts.dom0Seconds());
      if (req.doms.length === 0) return { ok: true, rows };
      const ids = req.doms.map((d) => {
        const rec = findDomain(xl, d);
        return rec === DOMAIN_0 ? 0 : rec.domid;
      });
      return { ok: true, rows: ids.map((id) => rows.find((r) => r.domid === id)!) };
    }
    const rec = findDomain(xl, req.dom);
    if (rec === DOMAIN_0) throw new CommandError(domain0Refusal(req.cmd));
    if (req.cmd === 'destroy') xl.destroy(rec.domid);
    else if (req.cmd === 'rename') {
      // libxl_domain_rename (Toolstack.rename): refused when another live domain has the name
      // (libxl: 'domain with name "X" already exists', then xl's "Can't rename domain 'DOM'.")
      try {
        xl.rename(rec.domid, rec.name, req.name);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        throw new CommandError(`cannot rename ${rec.name} (d${rec.domid}): ${e.message.replace(/^xl: /, '')}`);
      }
    } else {
      if (rec.state !== 'running') throw new CommandError(`${rec.name} (d${rec.domid}) is shut down`);
      if (req.cmd === 'pause') xl.pause(rec.domid);
      else xl.unpause(rec.domid);
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, error: errorText(e) };
  }
}

const errorText = (e: unknown) => (e instanceof CommandError || e instanceof UserError ? e.message : `internal error: ${(e as Error).message}`);

/**
 * The live domain DOM names: a domain id when DOM is all digits, else a name (as xl's
 * find_domain does). Domain-0 is 0 or "Domain-0".
 */
function findDomain(xl: Toolstack, dom: string): DomainRecord | typeof DOMAIN_0 {
  const byId = /^[0-9]+$/.test(dom);
  if (byId ? Number(dom) === 0 : dom === 'Domain-0') return DOMAIN_0;
  const live = xl.records().filter((r) => r.state !== 'gone');
  // (by its name now, XenStore's: NAME--migratedaway after a migration that lost its answer)
  const rec = live.find((r) => (byId ? r.domid === Number(dom) : r.name === dom));
  if (rec === undefined) throw new CommandError(`no domain '${dom}' (see wasmvisor xl list)`);
  return rec;
}

/** Why a command cannot act on Domain-0. */
function domain0Refusal(cmd: string): string {
  if (cmd === 'destroy') return `Domain-0 cannot be destroyed (end this Dom0 process, pid ${process.pid}, instead)`;
  if (cmd === 'console') return `Domain-0 has no console here (its output is that of the Dom0 process, pid ${process.pid})`;
  return `Domain-0 cannot be ${cmd}d`;
}

/** xl save, restore and migrate (host/cli/xl-save.ts), answered when done: for the socket and a Dom0's monitor. */
export async function answerXlSave(xl: Toolstack, req: Extract<XlRequest, { cmd: 'save' | 'restore' | 'migrate' }>,
  io: DomainSourceIo = { stderr: (t) => void process.stderr.write(t), isTTY: process.stderr.isTTY === true }): Promise<XlResponse> {
  try {
    if (req.cmd === 'restore') {
      const rec = await restoreFile(xl, req.file, req.paused === true);
      return { ok: true, domid: rec.domid, name: rec.cfg.name };
    }
    const rec = findDomain(xl, req.dom);
    if (rec === DOMAIN_0) throw new CommandError(`Domain-0 cannot be ${req.cmd}d`);
    if (rec.state !== 'running') throw new CommandError(`${rec.name} (d${rec.domid}) is shut down`);
    const domid = rec.domid;
    const name = rec.name; // (before a migration renames it away)
    if (req.cmd === 'save') {
      const bytes = saveFile(xl, domid, req.file);
      return { ok: true, domid, name, bytes };
    }
    // migrate: live, while this domain and the others run (host/migrate/domain-source.ts).
    const m = await migrateDomain(xl, domid, req.host, req.port, req.flags ?? {}, io);
    return { ok: true, domid, name, bytes: m.summary.bytes, downtimeMs: m.summary.downtimeMs, mode: m.mode, summary: summaryText(m.summary) };
  } catch (e) {
    const message = e instanceof CommandError || e instanceof UserError ? e.message : `internal error: ${(e as Error).message}`;
    return { ok: false, error: message, ...(e instanceof UserError && (e.exitCode === 2 || e.exitCode === EXIT_VM_LOST) ? { code: e.exitCode } : {}) };
  }
}