/**
 * Live migration over TCP (the CLI's --migrate-to and --incoming tcp:HOST:PORT): a net.Socket is
 * a Transport as it is (transport.ts); this file dials and accepts one.
 */
import * as net from 'node:net';
import { UserError } from '../errors';
import { StreamError } from './stream';
import type { Dialer, Transport } from './transport';

/** The source's side: connect to --migrate-to. */
export function tcpDialer(to: { host: string; port: number; text: string }): Dialer {
  return {
    text: to.text,
    connect: (what) => {
      const s = net.connect({ host: to.host, port: to.port });
      s.setNoDelay(true);
      return new Promise<Transport>((resolve, reject) => {
        s.once('connect', () => resolve(s));
        s.once('error', (e: NodeJS.ErrnoException) => reject(new StreamError(`${what}: cannot connect (${e.code ?? e.message})`)));
      });
    },
  };
}

/** The target's side: wait for one connection on --incoming; `from` names the peer. */
export function acceptTcp(at: { host: string; port: number; text: string }, what: string, listening: () => void): Promise<{ transport: Transport; from: string }> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: false }, (s) => {
      server.close();
      s.setNoDelay(true);
      resolve({ transport: s, from: `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}` });
    });
    server.maxConnections = 1;
    server.once('error', (e: NodeJS.ErrnoException) => reject(new UserError(`${what}: cannot listen (${e.code ?? e.message})`, 2)));
    server.listen(at.port, at.host, listening);
  });
}
