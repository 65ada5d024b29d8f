/**
 * `xl migrate [OPTIONS] DOM HOST[:PORT]` between two Dom0 processes over TCP (docs/xen/xl.md,
 * "Save, restore, migrate"). The target is a Dom0 started with
 * `wasmvisor up [HOST.cfg] --incoming tcp:HOST:PORT`; it listens for as long as it runs.
 *
 * Live, as Xen's xl migrate: pre-copy by default, post-copy or hybrid with run's --migrate-mode
 * (host/migrate/domain-source.ts and domain-target.ts, over the VM's machinery in host/migrate/).
 * This file parses the addresses and listens.
 *
 * The stream, one migration per connection:
 *   source -> target   one line of JSON {"wasmvisor":"xl-migrate","version":2,"cfg":{xl.cfg}},
 *                      then the live-migration stream of docs/migration.md "Stream"
 * A connection whose first line is not that gets one line of JSON back,
 * {"ok":false,"error":"..."} (what version 1, stop-and-copy, expected), and is closed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { XL_MIGRATE_HEADER, XL_MIGRATE_VERSION } from '../migrate/domain-source';
import { UserError } from '../errors';
import { FirstLine } from './xl-protocol';

/** Xen's old relocation port (xend-relocation-port), the default of HOST[:PORT]. */
export const XL_MIGRATE_DEFAULT_PORT = 8002;
/** How long a connection may take to send its header line. */
const HEADER_MS = 10_000;

/** Parse the HOST[:PORT] of `xl migrate` (one-line UserError, exit 2). */
export function parseMigrateTarget(v: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:\s]+)(?::(\d{1,5}))?$/.exec(v);
  const port = m?.[2] !== undefined ? Number(m[2]) : XL_MIGRATE_DEFAULT_PORT;
  if (!m || !(port > 0 && port < 65536)) throw new UserError(`wasmvisor: xl migrate: '${v}' is not HOST[:PORT] (e.g. 127.0.0.1:4444)`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** Parse `--incoming tcp:HOST:PORT` of `wasmvisor up` (one-line UserError, exit 2). */
export function parseIncoming(v: string): { host: string; port: number } {
  const m = /^tcp:(.*):(\d+)$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  // Port 0: the system picks one (the Dom0 prints it).
  if (!m || m[1] === '' || !(port >= 0 && port < 65536)) throw new UserError(`wasmvisor: up: --incoming: '${v}' is not tcp:HOST:PORT (e.g. tcp:127.0.0.1:4444)`);
  return { host: m[1], port };
}

/** What a listener hands a live migration: the socket (paused, its first bytes after the header put back), the header, the peer. */
export type ReceiveLive = (s: Socket, header: { cfg?: unknown }, from: string) => void;

/**
 * Listen for migrations on host:port. Each connection's stream goes to `receive` once its
 * header line is read. Resolves once listening; rejects (one line) when the address cannot be used.
 */
export function listenIncoming(host: string, port: number, receive: ReceiveLive, onEvent: (line: string) => void): Promise<Server> {
  const server = createServer((s) => serve(s, receive, onEvent));
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new UserError(`wasmvisor: up: --incoming tcp:${host}:${port}: cannot listen (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      resolve(server);
    });
  });
}

/** One incoming migration: its header line, then the stream goes to `receive`. */
function serve(s: Socket, receive: ReceiveLive, onEvent: (line: string) => void): void {
  const first = new FirstLine(1 << 16);
  const who = `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
  const refuse = (why: string) => {
    onEvent(`incoming migration from ${who} refused: ${why}`);
    s.off('data', onData);
    if (!s.destroyed) s.end(JSON.stringify({ ok: false, error: why }) + '\n');
  };
  s.on('error', () => s.destroy());
  s.setTimeout(HEADER_MS, () => s.destroy());
  const onData = (chunk: Buffer) => {
    let line;
    try {
      line = first.feed(chunk);
    } catch {
      return refuse('a header line too long');
    }
    if (!line) return;
    let h: { wasmvisor?: unknown; version?: unknown; cfg?: unknown };
    try {
      h = JSON.parse(line.line) as typeof h;
    } catch {
      return refuse('not a wasmvisor xl migration (bad header)');
    }
    if (typeof h !== 'object' || h === null || h.wasmvisor !== XL_MIGRATE_HEADER) return refuse('not a wasmvisor xl migration (bad header)');
    if (h.version !== XL_MIGRATE_VERSION) return refuse(`xl migration stream version ${String(h.version)}, this wasmvisor reads version ${XL_MIGRATE_VERSION} (live migration)`);
    s.off('data', onData);
    s.pause();
    s.setTimeout(0);
    if (line.rest.length > 0) s.unshift(line.rest);
    receive(s, h, who);
  };
  s.on('data', onData);
}
