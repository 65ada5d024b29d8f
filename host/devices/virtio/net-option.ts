/**
 * The --net option's text (host/cli/args.ts), apart from the socket backend itself
 * (net-socket.ts, which needs node:net): the argument parser is also bundled for the browser
 * (the lab's registry asks it which combinations run).
 */
import { UserError } from '../../errors';
import { parseMac } from './net-backend';

/** Where a socket backend listens or connects. */
export interface SocketEndpoint {
  mode: 'listen' | 'connect';
  host: string;
  port: number;
}

/**
 * Parse a --net value: `socket,listen=HOST:PORT` or `socket,connect=HOST:PORT`, each with an
 * optional `mac=XX:XX:XX:XX:XX:XX`. Throws a one-line UserError naming the value.
 */
export function parseNetOption(text: string): { endpoint: SocketEndpoint; mac?: Uint8Array } {
  const bad = (why: string) => new UserError(`wasmvisor: --net: ${why} in '${text}' (expected socket,listen=HOST:PORT or socket,connect=HOST:PORT[,mac=52:54:00:12:34:56])`);
  const [kind, ...opts] = text.split(',');
  if (kind !== 'socket') throw bad(`unknown backend '${kind}'`);
  let endpoint: SocketEndpoint | undefined;
  let mac: Uint8Array | undefined;
  for (const o of opts) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    const value = eq < 0 ? '' : o.slice(eq + 1);
    if (key === 'listen' || key === 'connect') {
      if (endpoint !== undefined) throw bad('listen= and connect= given together');
      const m = /^(.*):(\d+)$/.exec(value);
      const port = m ? Number(m[2]) : NaN;
      if (!m || !(port >= 0 && port <= 65535) || (key === 'connect' && port === 0)) throw bad(`bad address '${value}'`);
      // An empty host listens on every address (as QEMU's listen=:PORT) and dials localhost.
      endpoint = { mode: key, host: m[1] === '' ? (key === 'listen' ? '0.0.0.0' : '127.0.0.1') : m[1].replace(/^\[(.*)\]$/, '$1'), port };
    } else if (key === 'mac') {
      mac = parseMac(value);
      if (mac === undefined) throw bad(`bad MAC address '${value}'`);
      if ((mac[0] & 1) !== 0) throw bad(`MAC address '${value}' is a multicast address`);
    } else {
      throw bad(`unknown option '${key}'`);
    }
  }
  if (endpoint === undefined) throw bad('missing listen= or connect=');
  return { endpoint, mac };
}
