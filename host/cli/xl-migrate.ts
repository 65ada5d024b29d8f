/**
 * `xl migrate DOM HOST[:PORT]` between two Dom0 processes over TCP (docs/xen/xl.md,
 * "Save, restore, migrate"). The target is a Dom0 started with
 * `wasmvisor up [HOST.cfg] --incoming tcp:HOST:PORT`; it listens for as long as it runs.
 *
 * Stop-and-copy, not pre-copy: the source Dom0 pauses the domain between two slices, saves it
 * (the `xl save` file, host/snapshot/xen.ts) and sends it; the target restores it under a new
 * domid and runs it, and answers; only then does the source destroy its copy. If anything fails
 * (no listener, the connection drops, the target refuses the file), the source unpauses the
 * domain, which runs on as if nothing happened, and the command fails with the reason.
 * The domain's downtime is the whole transfer.
 *
 * The stream, one migration per connection:
 *   source -> target   one line of JSON {"wasmvisor":"xl-migrate","version":1,"bytes":N}, then N bytes
 *   target -> source   one line of JSON {"ok":true,"domid":D,"name":"..."} or {"ok":false,"error":"..."}
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { UserError } from '../errors';
import { FirstLine } from './xl-protocol';

/** Xen's old relocation port (xend-relocation-port), the default of HOST[:PORT]. */
export const XL_MIGRATE_DEFAULT_PORT = 8002;
/** The largest save a target accepts (4 GiB of RAM is not a DomU of this toolstack). */
const MAX_SAVE_BYTES = 2 ** 31;
/** How long the source waits for the target's answer after the last byte (it restores first). */
const ANSWER_MS = 120_000;
const HEADER = 'xl-migrate';

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

/**
 * Send a save to a listening Dom0; resolves with its answer (the new domid and name), rejects
 * with an Error saying why the migration did not happen.
 */
export function sendSave(host: string, port: number, bytes: Uint8Array): Promise<{ domid: number; name: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const first = new FirstLine(1 << 16);
    let settled = false;
    const finish = (err: Error | null, v?: { domid: number; name: string }) => {
      if (settled) return;
      settled = true;
      s.destroy();
      if (err) reject(err);
      else resolve(v!);
    };
    s.setTimeout(ANSWER_MS, () => finish(new Error(`${host}:${port} did not answer within ${ANSWER_MS / 1000} s`)));
    s.on('error', (e) => finish(new Error(`${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    s.on('close', () => finish(new Error(`${host}:${port} hung up before answering`)));
    s.on('connect', () => {
      s.write(JSON.stringify({ wasmvisor: HEADER, version: 1, bytes: bytes.length }) + '\n');
      s.write(bytes);
    });
    s.on('data', (chunk: Buffer) => {
      let got;
      try {
        got = first.feed(chunk);
      } catch {
        return finish(new Error(`${host}:${port} sent an answer too long to read`));
      }
      if (!got) return;
      let res: { ok?: unknown; error?: unknown; domid?: unknown; name?: unknown };
      try {
        res = JSON.parse(got.line) as typeof res;
      } catch {
        return finish(new Error(`${host}:${port} sent an answer that is not JSON`));
      }
      if (res.ok === true && typeof res.domid === 'number' && typeof res.name === 'string') finish(null, { domid: res.domid, name: res.name });
      else finish(new Error(`the target refused it: ${typeof res.error === 'string' ? res.error : 'no reason given'}`));
    });
  });
}

/**
 * Listen for migrations on host:port. Each connection's save goes to `receive` (which restores
 * it and resolves with the new domain, or rejects with the one-line reason sent back).
 * Resolves once listening; rejects (one line) when the address cannot be used.
 */
export function listenIncoming(host: string, port: number, receive: (bytes: Uint8Array, from: string) => Promise<{ domid: number; name: string }>,
  onEvent: (line: string) => void): Promise<Server> {
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

/** One incoming migration: header, bytes, restore, answer. */
function serve(s: Socket, receive: (bytes: Uint8Array, from: string) => Promise<{ domid: number; name: string }>, onEvent: (line: string) => void): void {
  const first = new FirstLine(4096);
  const who = `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
  let want = -1;
  let buf: Uint8Array | undefined;
  let got = 0;
  const answer = (res: object) => {
    if (!s.destroyed) s.end(JSON.stringify(res) + '\n');
  };
  const refuse = (why: string) => {
    onEvent(`incoming migration from ${who} refused: ${why}`);
    answer({ ok: false, error: why });
    s.off('data', onData);
  };
  s.on('error', () => s.destroy());
  s.on('close', () => {
    if (want >= 0 && got < want) onEvent(`incoming migration from ${who} ended after ${got} of ${want} bytes: nothing restored`);
  });
  s.setTimeout(ANSWER_MS, () => s.destroy());
  const take = (chunk: Uint8Array) => {
    const n = Math.min(chunk.length, want - got);
    buf!.set(chunk.subarray(0, n), got);
    got += n;
    if (got < want) return;
    s.off('data', onData);
    s.pause();
    receive(buf!, who).then(
      (d) => answer({ ok: true, domid: d.domid, name: d.name }),
      (e: Error) => refuse(e.message),
    );
  };
  const onData = (chunk: Buffer) => {
    if (want >= 0) return take(new Uint8Array(chunk));
    let line;
    try {
      line = first.feed(chunk);
    } catch {
      return refuse('a header line too long');
    }
    if (!line) return;
    let h: { wasmvisor?: unknown; version?: unknown; bytes?: unknown };
    try {
      h = JSON.parse(line.line) as typeof h;
    } catch {
      return refuse('not a wasmvisor xl migration (bad header)');
    }
    if (h.wasmvisor !== HEADER) return refuse('not a wasmvisor xl migration (bad header)');
    if (h.version !== 1) return refuse(`xl migration stream version ${String(h.version)}, this wasmvisor reads version 1`);
    if (!Number.isInteger(h.bytes) || (h.bytes as number) <= 0 || (h.bytes as number) > MAX_SAVE_BYTES) return refuse(`a save of ${String(h.bytes)} bytes`);
    want = h.bytes as number;
    buf = new Uint8Array(want);
    if (line.rest.length > 0) take(new Uint8Array(line.rest));
  };
  s.on('data', onData);
}
