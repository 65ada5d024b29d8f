/**
 * Typed input for the commands with a console: `wasmvisor run` (attachStdin), `xl create` and
 * `up` (host/cli/xl.ts) and `xl console` (host/cli/xl-client.ts). On a terminal, stdin goes to
 * raw mode (every key, Ctrl-C included, is a byte for the guest) and is put back by close(), at
 * process exit and, where the command asks, on SIGTERM and SIGHUP; otherwise bytes are piped
 * through unchanged as they arrive, and end of input just stops reading.
 */
import { ConsoleMux } from './console-mux';

/** Typed input being read. */
export interface TypedInput {
  /** Whether stdin is a terminal (in raw mode until close()). */
  readonly tty: boolean;
  /** Stop reading and restore the terminal. Idempotent. */
  close(): void;
}

/** What the CLI needs from the console hookup. */
export type ConsoleHookup = TypedInput;

/** Whether `stdin` is a terminal that raw mode applies to. */
export function isTerminal(stdin: NodeJS.ReadStream): boolean {
  return stdin.isTTY === true && typeof stdin.setRawMode === 'function';
}

/**
 * Read `stdin` into `onBytes` until close() or the end of input. With `signals`, SIGTERM and
 * SIGHUP restore the terminal and end the process as the signal would (128 + its number); a
 * command that handles those signals itself (xl-control.ts) passes false.
 */
export function readTyped(stdin: NodeJS.ReadStream, onBytes: (bytes: Uint8Array) => void, opts: { signals: boolean }): TypedInput {
  const tty = isTerminal(stdin);
  let closed = false;
  const onData = (chunk: Buffer) => onBytes(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  const restore = () => {
    if (tty) stdin.setRawMode(false);
  };
  // A signal death skips 'exit' handlers: put the terminal back, then die as the signal would.
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.exit(128 + (signal === 'SIGHUP' ? 1 : 15));
  };
  const close = () => {
    if (closed) return;
    closed = true;
    stdin.off('data', onData);
    stdin.off('end', close);
    stdin.off('error', close);
    process.off('exit', restore);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    restore();
    stdin.pause();
    // A paused stdin no longer keeps the event loop alive once unref'd.
    (stdin as unknown as { unref?: () => void }).unref?.();
  };
  if (tty) {
    stdin.setRawMode(true);
    process.on('exit', restore);
    if (opts.signals) {
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
    }
  }
  stdin.on('data', onData);
  stdin.on('end', close);
  stdin.on('error', close);
  stdin.resume();
  return { tty, close };
}

/**
 * `wasmvisor run`: forward stdin to `input`, through the Ctrl-A mux on a terminal. `onQuit`
 * runs after Ctrl-A X, `onSave` (if given) after Ctrl-A S.
 */
export function attachStdin(
  stdin: NodeJS.ReadStream,
  input: (bytes: Uint8Array) => void,
  onQuit: () => void,
  notice: (text: string) => void,
  onSave?: () => void,
  monitor?: () => void,
  switchConsole?: () => 'uart' | 'virtio',
): ConsoleHookup {
  const mux = isTerminal(stdin) ? new ConsoleMux({ guest: input, quit: onQuit, notice, save: onSave, monitor, switchConsole }) : undefined;
  return readTyped(stdin, (bytes) => (mux ? mux.feed(bytes) : input(bytes)), { signals: true });
}
