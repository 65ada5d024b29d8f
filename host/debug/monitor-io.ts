/**
 * The monitor's transports: a TCP server (--monitor tcp:HOST:PORT, one session per connection,
 * QEMU's banner and prompt), and a line editor for typed bytes (--monitor stdio, and Ctrl-A C
 * on the terminal, which switches between the guest's console and the monitor).
 */
import { createServer, type Server } from 'node:net';
import { UserError } from '../errors';
import type { ListenSpec } from './gdb-stub';
import type { Monitor } from './monitor';

/** What the transports need of a monitor (the hart's, or a Dom0's). */
export type MonitorLike = Pick<Monitor, 'execute'>;

export const MONITOR_BANNER = "wasmvisor monitor - type 'help' for more information\r\n";
export const PROMPT = '(wasmvisor) ';

/** Lines end in CR LF on a terminal or a socket (QEMU's monitor does the same). */
const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

/** Serve the monitor on TCP; resolves with the server and the bound port. */
export function listenMonitor(spec: ListenSpec, monitor: MonitorLike, what = '--monitor'): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => {
      s.setEncoding('latin1');
      s.on('error', () => {});
      const editor = new LineEditor((line) => void monitor.execute(line).then((out) => {
        if (s.writable) s.write(crlf(out) + PROMPT);
      }), false);
      s.write(MONITOR_BANNER + PROMPT);
      s.on('data', (d: string) => editor.feed(Buffer.from(d, 'latin1')));
    });
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new UserError(`wasmvisor: ${what} tcp:${spec.host}:${spec.port}: ${e.code ?? e.message}`)));
    server.listen(spec.port, spec.host, () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : spec.port });
    });
  });
}

/**
 * Collects typed bytes into lines: Enter (CR or LF) runs one; backspace (DEL or BS) erases.
 * With `echo` (a terminal in raw mode), it echoes what it keeps through `echoOut`.
 */
export class LineEditor {
  private line = '';
  constructor(private readonly onLine: (line: string) => void, private readonly echo: boolean, private readonly echoOut: (s: string) => void = () => {}) {}

  feed(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (b === 0x0d || b === 0x0a) {
        if (b === 0x0a && this.lastCr) { this.lastCr = false; continue; }
        this.lastCr = b === 0x0d;
        if (this.echo) this.echoOut('\r\n');
        const l = this.line;
        this.line = '';
        this.onLine(l);
        continue;
      }
      this.lastCr = false;
      if (b === 0x7f || b === 0x08) {
        if (this.line.length > 0) {
          this.line = this.line.slice(0, -1);
          if (this.echo) this.echoOut('\b \b');
        }
        continue;
      }
      if (b < 0x20) continue;
      this.line += String.fromCharCode(b);
      if (this.echo) this.echoOut(String.fromCharCode(b));
    }
  }
  private lastCr = false;
}

export { crlf };
