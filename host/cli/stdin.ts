/**
 * Connects the process's stdin to the guest console. On a terminal, stdin goes to raw mode
 * (every key, Ctrl-C included, reaches the guest) and passes through the Ctrl-A mux; otherwise
 * bytes are piped through unchanged as they arrive, and end of input just stops reading.
 */
import { ConsoleMux } from './console-mux';

/** What the CLI needs from the console hookup. */
export interface ConsoleHookup {
  /** Stop reading and restore the terminal. Idempotent. */
  close(): void;
}

/**
 * Start forwarding stdin to `input`. `onQuit` runs after Ctrl-A X (terminal only).
 * The terminal is restored by `close()`, and also on process exit as a safety net.
 */
export function attachStdin(
  stdin: NodeJS.ReadStream,
  input: (bytes: Uint8Array) => void,
  onQuit: () => void,
  notice: (text: string) => void,
): ConsoleHookup {
  const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  let closed = false;
  let onData: (chunk: Buffer) => void;
  if (tty) {
    const mux = new ConsoleMux({ guest: input, quit: onQuit, notice });
    onData = (chunk) => mux.feed(chunk);
  } else {
    onData = (chunk) => input(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
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
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
  }
  stdin.on('data', onData);
  stdin.on('end', close);
  stdin.on('error', close);
  stdin.resume();
  return { close };
}
