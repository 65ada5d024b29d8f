/**
 * What an xl command (host/cli/xl-client.ts) and a Dom0 process (host/cli/xl-control.ts) say
 * over the Dom0's Unix socket (host/cli/dom0-sockets.ts).
 *
 * One request per connection: the client sends one line of JSON, the Dom0 answers with one
 * line of JSON and hangs up, except after the OK of a console request: from then on the
 * connection carries raw bytes, the domain's console output to the client and the client's
 * typing to the domain's console input, until either side closes it.
 *
 *   {"cmd":"list","doms":["domu1"]}   ->  {"ok":true,"rows":[XlListRow, ...]}   (doms may be [])
 *   {"cmd":"pause","dom":"domu1"}     ->  {"ok":true}        (also unpause, destroy)
 *   {"cmd":"rename","dom":"domu1","name":"web"}  ->  {"ok":true}
 *   {"cmd":"console","dom":"2"}       ->  {"ok":true,"domid":2,"name":"domu2"}, then raw bytes
 *   {"cmd":"save","dom":"d","file":"/abs/f.wvsave"}      ->  {"ok":true,"domid":1,"name":"d","bytes":N}
 *   {"cmd":"restore","file":"/abs/f.wvsave"}             ->  {"ok":true,"domid":2,"name":"d"}
 *   {"cmd":"migrate","dom":"d","host":"h","port":4444,"flags":{"--migrate-mode":"postcopy"}}
 *                                     ->  {"ok":true,"domid":1,"name":"d","bytes":N,"downtimeMs":T,"mode":"postcopy","summary":"total …"}
 *   anything that fails               ->  {"ok":false,"error":"no domain 'x'"} (and "code":2 for a
 *                                         refused save file, 69 for a domain lost in post-copy:
 *                                         the client's exit status)
 *
 * DOM is a domain name or id, as in xl. The Dom0 trusts nothing it reads: a line longer than
 * MAX_REQUEST_LINE, bad JSON or an unknown shape ends that connection, never the Dom0.
 */
import type { XlListRow } from '../xen/toolstack/list-format';

/** The longest request line the Dom0 reads (requests are a few dozen bytes). */
export const MAX_REQUEST_LINE = 4096;
/** The longest response line a client reads (an `xl list` of many domains fits easily). */
export const MAX_RESPONSE_LINE = 1 << 20;
/** The longest DOM (domain names have at most 64 characters). */
const MAX_DOM = 64;

/** An xl command for the Dom0. */
export type XlRequest =
  | { cmd: 'list'; doms: string[] }
  | { cmd: 'pause' | 'unpause' | 'destroy' | 'console'; dom: string }
  | { cmd: 'rename'; dom: string; name: string }
  | { cmd: 'save'; dom: string; file: string }
  | { cmd: 'restore'; file: string; paused?: boolean }
  | { cmd: 'migrate'; dom: string; host: string; port: number; flags?: Record<string, string> };

/** The Dom0's answer. */
export type XlResponse =
  | { ok: true; rows?: XlListRow[]; domid?: number; name?: string; bytes?: number; downtimeMs?: number; mode?: string; summary?: string }
  | { ok: false; error: string; code?: number };

/** The commands that name one domain. */
const ONE_DOMAIN = ['pause', 'unpause', 'destroy', 'console'];

/** Check a request line; throws an Error saying what is wrong with it. */
export function parseRequest(line: string): XlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error('bad request: not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('bad request: not an object');
  const o = v as Record<string, unknown>;
  const isDom = (d: unknown): d is string => typeof d === 'string' && d.length > 0 && d.length <= MAX_DOM;
  if (o.cmd === 'list') {
    const doms = o.doms ?? [];
    if (!Array.isArray(doms) || doms.length > 256 || !doms.every(isDom)) throw new Error('bad request: doms');
    return { cmd: 'list', doms };
  }
  const isFile = (f: unknown): f is string => typeof f === 'string' && f.startsWith('/') && f.length < 3000 && !f.includes('\0');
  if (o.cmd === 'save' || o.cmd === 'restore' || o.cmd === 'migrate') {
    if (o.cmd !== 'restore' && !isDom(o.dom)) throw new Error('bad request: dom');
    if (o.cmd === 'migrate') {
      if (typeof o.host !== 'string' || o.host.length === 0 || o.host.length > 255) throw new Error('bad request: host');
      if (!Number.isInteger(o.port) || (o.port as number) < 1 || (o.port as number) > 65535) throw new Error('bad request: port');
      const flags = o.flags ?? {};
      // (the values are parsed by the Dom0, host/cli/xl-save.ts migrateDomain)
      if (typeof flags !== 'object' || flags === null || Array.isArray(flags) || Object.keys(flags).length > 16
        || !Object.entries(flags).every(([k, v]) => /^--[a-z-]{1,40}$/.test(k) && typeof v === 'string' && v.length <= 4096)) throw new Error('bad request: flags');
      return { cmd: 'migrate', dom: o.dom as string, host: o.host, port: o.port as number, ...(Object.keys(flags).length > 0 ? { flags: flags as Record<string, string> } : {}) };
    }
    if (!isFile(o.file)) throw new Error('bad request: file');
    return o.cmd === 'save' ? { cmd: 'save', dom: o.dom as string, file: o.file } : { cmd: 'restore', file: o.file, ...(o.paused === true ? { paused: true } : {}) };
  }
  if (o.cmd === 'rename') {
    if (!isDom(o.dom) || !isDom(o.name)) throw new Error('bad request: rename');
    return { cmd: 'rename', dom: o.dom, name: o.name };
  }
  if (typeof o.cmd === 'string' && ONE_DOMAIN.includes(o.cmd)) {
    if (!isDom(o.dom)) throw new Error('bad request: dom');
    return { cmd: o.cmd as 'pause', dom: o.dom };
  }
  throw new Error('bad request: unknown cmd');
}

/**
 * Collects the first line of a connection (up to `max` bytes before its LF). `feed` returns the
 * line and the bytes after it once the LF arrived, undefined before; it throws when the line
 * grows beyond `max`.
 */
export class FirstLine {
  private readonly parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly max: number) {}

  feed(chunk: Buffer): { line: string; rest: Buffer } | undefined {
    const lf = chunk.indexOf(0x0a);
    if (lf < 0) {
      this.size += chunk.length;
      if (this.size > this.max) throw new Error(`line longer than ${this.max} bytes`);
      this.parts.push(chunk);
      return undefined;
    }
    if (this.size + lf > this.max) throw new Error(`line longer than ${this.max} bytes`);
    this.parts.push(chunk.subarray(0, lf));
    const line = Buffer.concat(this.parts).toString('utf8');
    this.parts.length = 0;
    this.size = 0;
    return { line, rest: chunk.subarray(lf + 1) };
  }
}
