/**
 * `wasmvisor xl create DOMU.cfg` and `wasmvisor up HOST.cfg`: the toolstack (host/xen/toolstack)
 * on the command line. docs/xen/xl.md is the user's guide.
 *
 * The process is Dom0, and its domains live as long as it does: `xl create` runs the domain in
 * the foreground with its console attached (xl create -c). The other xl commands (list, pause,
 * unpause, destroy, console) reach the running process from another terminal through its
 * socket (host/cli/xl-client.ts, host/cli/xl-control.ts), and are also console escapes of the
 * process itself: Ctrl-A, then
 *   l  xl list              1..9  console input to that domain (xl console)
 *   p  pause / unpause the domain the console is on      d  destroy it
 *   x  quit                 h ?   help                   Ctrl-A  a literal Ctrl-A
 *   c  switch between the console and the Dom0's monitor (xl list, pause...; xl-monitor.ts),
 *      which --monitor tcp:HOST:PORT also serves
 *
 * Output: guest consoles on stdout (under `up`, each line prefixed with the domain's name),
 * lifecycle notices on stderr, and at exit an `xl list` table of every domain on stdout
 * (--stats adds the scheduler's accounting and the devices' counters on stderr).
 *
 * Exit status: 0 when every DomU powered off with exit code 0; otherwise 1 (or under
 * `xl create` the guest's own exit code) with one line on stderr naming the first domain that
 * did not; 124 after --timeout; 2 for bad input; 128 + N after signal N (SIGINT, SIGTERM,
 * SIGHUP: host/cli/xl-control.ts removes the socket and exits).
 */
import * as devices from '../xen/devices';
import { UserError } from '../errors';
import { XenHypervisor } from '../xen/hypervisor';
import { readDomainCfg, type DomainCfg } from '../xen/toolstack/cfg';
import { readHostCfg } from '../xen/toolstack/host-cfg';
import { BridgeUplink, type UplinkSpec } from '../xen/backends/bridge-uplink';
import { formatXlList, type XlListRow } from '../xen/toolstack/list-format';
import { describeEnd, succeeded, Toolstack, type DeviceOps, type DomainRecord } from '../xen/toolstack/xl';
import { commandHelp } from './help';
import { ConsoleHub } from './console-hub';
import { EscapeSplitter } from './console-mux';
import { isTerminal, readTyped, type TypedInput } from './stdin';
import { dom0Dir } from './dom0-sockets';
import { runXlClient, XL_CLIENT_COMMANDS } from './xl-client';
import { XlControl } from './xl-control';
import { xlMonitor } from './xl-monitor';
import type { Server } from 'node:net';
import { parseTcpSpec } from '../debug/gdb-stub';
import { LineEditor, PROMPT, crlf, listenMonitor } from '../debug/monitor-io';
import { listenIncoming, parseIncoming } from './xl-migrate';
import { receiveDomain } from '../migrate/domain-target';

/** Exit status after --timeout (as `wasmvisor run`). */
const EXIT_TIMEOUT = 124;

/** Where the command writes (main.ts's CliIo). */
export interface XlIo {
  stdout(bytes: Uint8Array | string): void;
  stderr(text: string): void;
  stdin: NodeJS.ReadStream;
  /** What to do when stdout's reader goes away (main.ts's CliIo). */
  onStdoutClosed?(handler: () => void): void;
}

/** Options of `xl create` and `up`. */
export interface XlOptions {
  /** The configuration file (DOMU.cfg or HOST.cfg). */
  file: string;
  timeout?: string;
  deterministic: boolean;
  stats: boolean;
  jit?: 'off' | 'on' | 'always';
  /** --monitor tcp:HOST:PORT: the Dom0's monitor, with the xl commands (xl-monitor.ts). */
  monitor?: string;
  /** up --incoming tcp:HOST:PORT: listen for xl migrate (host/cli/xl-migrate.ts). */
  incoming?: { host: string; port: number };
  /** up --wait: Dom0 runs on with no domain (until Ctrl-A x, --timeout or a signal). */
  wait?: boolean;
}

/** The console escapes of `xl create` and `up` (CR LF: the terminal is raw). */
export const XL_MUX_HELP =
  'C-a l    xl list\r\nC-a 1..9 console input to that domain\r\nC-a p    pause / unpause that domain\r\n' +
  "C-a c    switch between the console and the Dom0's monitor (xl commands)\r\n" +
  'C-a d    destroy that domain\r\nC-a x    quit\r\nC-a h    this help\r\nC-a C-a  send C-a\r\n';

/** Parse the arguments after `xl` or `up`. `what` is "xl create" or "up". */
export function parseXlArgs(what: string, args: string[]): XlOptions {
  const o: XlOptions = { file: '', deterministic: false, stats: false };
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const need = () => {
      if (value !== undefined) return value;
      if (i + 1 >= args.length) throw new UserError(`wasmvisor: ${what}: ${a} needs a value`);
      return args[++i];
    };
    if (a === '--timeout') {
      const v = need();
      if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v) || !(Number(v) > 0)) throw new UserError(`wasmvisor: --timeout: bad value '${v}' (expected seconds > 0, e.g. 10 or 0.5)`);
      o.timeout = v;
    } else if (a === '--jit') {
      const v = need();
      if (v !== 'off' && v !== 'on' && v !== 'always') throw new UserError(`wasmvisor: --jit: unknown mode '${v}' (expected off, on or always)`);
      o.jit = v;
    } else if (a === '--monitor') {
      const v = need();
      if (v === 'stdio') throw new UserError(`wasmvisor: ${what}: --monitor stdio is not available for a Dom0 (stdin is the domains' console input): use tcp:HOST:PORT`);
      parseTcpSpec(v, '--monitor');
      o.monitor = v;
    } else if (a === '--incoming' && what === 'up') {
      o.incoming = parseIncoming(need());
    } else if (value !== undefined) {
      throw new UserError(`wasmvisor: option '${a}' takes no value`);
    } else if (a === '--deterministic') o.deterministic = true;
    else if (a === '--wait' && what === 'up') o.wait = true;
    else if (a === '--stats') o.stats = true;
    else if (a.startsWith('-') && a !== '-') throw new UserError(`wasmvisor: ${what}: unknown option '${a}' (see wasmvisor --help)`);
    else if (file !== undefined) throw new UserError(`wasmvisor: ${what}: unexpected argument '${a}' (one configuration file only)`);
    else file = a;
  }
  // up --incoming or --wait may start with no domain of its own.
  if (file === undefined && !o.incoming && !o.wait) throw new UserError(`wasmvisor: ${what}: missing the configuration file (usage: wasmvisor ${what} FILE.cfg)`);
  o.file = file ?? '';
  return o;
}

/** `wasmvisor xl SUBCOMMAND ...`: create runs a Dom0; the others act on a running one. */
export async function runXl(args: string[], io: XlIo): Promise<number> {
  if (wantsHelp(args, io, 'xl')) return 0;
  const [sub, ...rest] = args;
  const known = `create, ${XL_CLIENT_COMMANDS.slice(0, -1).join(', ')} or ${XL_CLIENT_COMMANDS.at(-1)}`;
  if (sub === undefined) throw new UserError(`wasmvisor: xl: missing subcommand (${known}; see wasmvisor --help)`);
  if (XL_CLIENT_COMMANDS.includes(sub)) return runXlClient(sub, rest, io);
  if (sub !== 'create') throw new UserError(`wasmvisor: xl: unknown subcommand '${sub}' (expected ${known})`);
  const o = parseXlArgs('xl create', rest);
  const cfg = readDomainCfg(o.file);
  return session(o, [cfg], undefined, io, false);
}

/** `wasmvisor up HOST.cfg`. */
export async function runUp(args: string[], io: XlIo): Promise<number> {
  if (wantsHelp(args, io, 'up')) return 0;
  const o = parseXlArgs('up', args);
  const host = o.file !== '' ? readHostCfg(o.file, { domainsOptional: o.incoming !== undefined || o.wait === true }) : { domains: [], bridges: undefined, uplinks: [] };
  return session(o, host.domains, host.bridges, io, true, host.uplinks);
}

/** --help or -h anywhere: print the command's usage (help.ts). */
function wantsHelp(args: string[], io: XlIo, what: 'xl' | 'up'): boolean {
  if (!args.includes('--help') && !args.includes('-h')) return false;
  io.stdout(commandHelp(what));
  return true;
}

/** Build the toolstack, create the domains, run them, report. */
async function session(o: XlOptions, cfgs: DomainCfg[], bridges: string[] | undefined, io: XlIo, prefixed: boolean, uplinkSpecs: UplinkSpec[] = []): Promise<number> {
  let width = Math.max(0, ...cfgs.map((c) => c.name.length));
  const lines = new Map<DomainRecord, LinePrefixer>();
  const consoles = new ConsoleHub<DomainRecord>();
  let control: XlControl | undefined;
  const hv = new XenHypervisor();
  const xl = new Toolstack(hv, {
    devices: devices as DeviceOps,
    deterministic: o.deterministic,
    jit: o.jit,
    bridges,
    onConsole: (rec, bytes) => {
      consoles.write(rec, bytes);
      if (!prefixed) return io.stdout(bytes);
      let p = lines.get(rec);
      width = Math.max(width, rec.cfg.name.length); // a domain restored or migrated in
      if (!p) lines.set(rec, (p = new LinePrefixer(`${rec.cfg.name.padEnd(width)} | `, (s) => io.stdout(s))));
      p.write(bytes);
    },
    onNotice: (line) => {
      io.stderr(`wasmvisor: ${line}\n`);
      control?.domainsChanged(); // every lifecycle change comes with a notice
    },
  });
  // The bridges' uplinks first, so that the domains' first frames (ARP) can cross them.
  const uplinks: BridgeUplink[] = [];
  try {
    for (const u of uplinkSpecs) uplinks.push(await BridgeUplink.open(xl.bridge(u.bridge), u));
    for (const c of cfgs) await xl.create(c);
  } catch (e) {
    for (const r of xl.records()) if (r.state !== 'gone') xl.destroy(r.domid);
    await Promise.all(uplinks.map((u) => u.close()));
    throw e;
  }

  const t0 = performance.now();
  let quitByMonitor = false;
  let focus = xl.records()[0]?.domid ?? 0;
  const say = (text: string) => io.stderr(text);
  // The Dom0's monitor (xl-monitor.ts): on a terminal Ctrl-A C switches typed input to it; --monitor serves it on TCP.
  const monitor = xlMonitor(xl, () => dom0Seconds(xl, t0), () => { quitByMonitor = true; });
  let inMonitor = false;
  const editor = new LineEditor((line) => void monitor.execute(line).then((out) => say(crlf(out) + PROMPT)), true, say);
  const input = attachInput(io.stdin, {
    guest: (bytes) => {
      if (inMonitor) return editor.feed(bytes);
      try {
        xl.console(focus)(bytes);
      } catch {
        // the domain is gone: typing goes nowhere
      }
    },
    command: (key) => key === 'c' ? switchMonitor() : xl.defer(() => {
      try {
        if (key === 'x') xl.quit();
        else if (key === 'h' || key === '?') say(XL_MUX_HELP);
        else if (key === 'l') say(formatXlList(xl.list(dom0Seconds(xl, t0))).replace(/\n/g, '\r\n'));
        else if (key >= '1' && key <= '9') {
          focus = xl.record(Number(key)).domid;
          say(`wasmvisor: console input goes to ${xl.record(focus).cfg.name} (d${focus})\r\n`);
        } else if (key === 'p') {
          const r = xl.record(focus);
          if (r.paused) xl.unpause(focus);
          else xl.pause(focus);
          say(`wasmvisor: ${r.cfg.name} (d${focus}) ${r.paused ? 'paused' : 'unpaused'}\r\n`);
        } else if (key === 'd') xl.destroy(focus);
      } catch (e) {
        say(`wasmvisor: ${(e as Error).message}\r\n`);
      }
    }),
  });
  function switchMonitor(): void {
    inMonitor = !inMonitor;
    say(inMonitor ? `\r\n${PROMPT}` : '\r\n');
  }
  let how: 'done' | 'quit' | 'timeout';
  let monitorServer: Server | undefined;
  let incoming: Server | undefined;
  let received = false;
  try {
    // The xl commands of other terminals; the domains run without them if there is no socket.
    control = await XlControl.start(dom0Dir(), { xl, consoles, dom0Seconds: () => dom0Seconds(xl, t0) })
      .catch((e: Error) => {
        say(`wasmvisor: xl commands from other terminals are unavailable: ${e.message}\n`);
        return undefined;
      });
    if (o.monitor !== undefined) {
      const spec = parseTcpSpec(o.monitor, '--monitor');
      const m = await listenMonitor(spec, monitor);
      monitorServer = m.server;
      say(`wasmvisor: monitor listening on ${spec.host}:${m.port}\n`);
    }
    if (o.incoming) {
      const { host, port } = o.incoming;
      incoming = await listenIncoming(host, port, (s, header, from) => void receiveDomain(xl, s, header, from, say).then((r) => {
        received = true;
        xl.opts.onNotice?.(`${r.cfg.name} (d${r.domid}): migrated in from ${from}`);
      }, (e: Error) => say(`${e.message}\n`)), (line) => say(`wasmvisor: ${line}\n`));
      say(`wasmvisor: waiting for xl migrate on tcp:${host}:${(incoming.address() as { port: number }).port}\n`);
    }
    // Dom0 stays up with no domain under --wait, and under --incoming until a domain came in.
    const keepAlive = () => o.wait === true || (o.incoming !== undefined && !received);
    how = await xl.run({ timeoutMs: o.timeout !== undefined ? Number(o.timeout) * 1000 : undefined, keepAlive });
  } finally {
    monitorServer?.close();
    incoming?.close();
    await Promise.all(uplinks.map((u) => u.close()));
    control?.close();
    input.close();
    for (const p of lines.values()) p.end();
  }
  if (how === 'quit') say(quitByMonitor ? "wasmvisor: terminated by the monitor's quit\n" : '\r\nwasmvisor: terminated by Ctrl-A X\n');
  for (const r of xl.records()) if (r.state !== 'gone') xl.destroy(r.domid);

  const rows: XlListRow[] = [xl.list(dom0Seconds(xl, t0))[0], ...xl.records().map((r) => xl.row(r))];
  io.stdout(formatXlList(rows));
  if (o.stats) say(formatToolstackStats(xl) + uplinks.map((u) => `${u.name}: ${Object.entries(u.stats).map(([k, v]) => `${k} ${v}`).join(', ')}\n`).join(''));
  if (how === 'timeout') {
    const r = xl.records().find((x) => x.end?.reason === 'timeout');
    say(`wasmvisor: ${o.file}: timeout after ${o.timeout} s${r ? ` (${r.cfg.name} still running)` : ''}\n`);
    return EXIT_TIMEOUT;
  }
  const failed = xl.records().find((r) => !succeeded(r));
  if (failed === undefined) return 0;
  say(`wasmvisor: ${failed.name} (d${failed.domid}) did not power off cleanly: ${failed.end ? describeEnd(failed.end) : 'no end'}\n`);
  if (!prefixed && failed.end && failed.end.exitCode !== 0) return (failed.end.exitCode & 0xff) || 1;
  return 1;
}

/** Dom0's time: the session's wall time neither spent in a DomU's slices nor idle. */
function dom0Seconds(xl: Toolstack, t0: number): number {
  const guests = xl.records().reduce((s, r) => s + xl.totals(r).hostMs, 0);
  return Math.max(0, performance.now() - t0 - guests - xl.scheduler.idleMs) / 1000;
}

/** --stats: what the scheduler gave each domain. */
export function formatToolstackStats(xl: Toolstack): string {
  const out = ['domain                instructions     host ms   slices   blocks  weight  cap  restarts'];
  for (const r of xl.records()) {
    const t = xl.totals(r);
    out.push(`${r.cfg.name.padEnd(20)} ${String(t.instructions).padStart(14)} ${t.hostMs.toFixed(1).padStart(11)} ${String(t.slices).padStart(8)} ${String(t.blocks).padStart(8)} ${String(r.cfg.weight).padStart(7)} ${String(r.cfg.cap).padStart(4)} ${String(r.restarts).padStart(9)}`);
  }
  for (const r of xl.records()) {
    for (const [dev, counters] of Object.entries(r.deviceStats)) {
      const list = Object.entries(counters).map(([k, v]) => `${k} ${v}`).join(', ');
      out.push(`${r.cfg.name} ${dev}: ${list || 'no counters'}`);
    }
  }
  for (const r of xl.records()) {
    const exits = xl.exits(r);
    if (exits.length > 0) out.push(`${r.cfg.name} VM exits: ${exits.map((x) => `${x.reason} ${x.count}`).join('; ')}`);
  }
  out.push(`scheduler: ${xl.scheduler.periods} accounting periods, ${xl.scheduler.idleMs.toFixed(1)} ms idle`);
  return out.join('\n') + '\n';
}

/** Splits a console's bytes into lines and prefixes each (CR LF and CR become LF). */
export class LinePrefixer {
  private partial = '';
  constructor(private readonly prefix: string, private readonly out: (text: string) => void) {}

  /**
   * Bytes of the console (Latin-1: one character a byte, so nothing is lost). Only the new
   * bytes are scanned, so a guest printing one byte at a time costs one byte's work per byte.
   * CR is dropped wherever it is (CR LF and a lone CR both end up as nothing but the LF).
   */
  write(bytes: Uint8Array): void {
    let text = '';
    for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    const lines = text.split('\n');
    const last = lines.pop()!;
    if (lines.length > 0) {
      lines[0] = this.partial + lines[0];
      this.partial = '';
      this.out(lines.map((l) => this.prefix + l.replace(/\r/g, '') + '\n').join(''));
    }
    this.partial += last;
    if (this.partial.length > 4096) this.flush(); // a runaway line is cut, not buffered forever
  }

  private flush(): void {
    this.out(this.prefix + this.partial.replace(/\r/g, '') + '\n');
    this.partial = '';
  }

  /** End of the console: print what is left of the last line. */
  end(): void {
    if (this.partial.replace(/\r/g, '') !== '') this.flush();
    this.partial = '';
  }
}

/** Where the console escape sends things. */
interface XlInputSinks {
  guest(bytes: Uint8Array): void;
  command(key: string): void;
}

/**
 * Typed input: on a terminal, raw mode and the Ctrl-A escapes (XlMux); otherwise bytes go to
 * the console as they come. Signals are xl-control.ts's: it removes the socket and exits, and
 * the terminal is put back at exit.
 */
function attachInput(stdin: NodeJS.ReadStream, sinks: XlInputSinks): TypedInput {
  const mux = isTerminal(stdin) ? new XlMux(sinks) : undefined;
  return readTyped(stdin, (bytes) => (mux ? mux.feed(bytes) : sinks.guest(bytes)), { signals: false });
}

/** Ctrl-A escapes of `xl create` and `up` (see the file comment): every key after Ctrl-A is a command. */
export class XlMux extends EscapeSplitter {
  constructor(sinks: XlInputSinks) {
    super({ guest: (bytes) => sinks.guest(bytes), key: (b) => sinks.command(String.fromCharCode(b).toLowerCase()) });
  }
}
