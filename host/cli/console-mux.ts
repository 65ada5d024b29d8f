/**
 * The terminal escape of `qemu -nographic`: Ctrl-A followed by a command key. Pure logic over
 * bytes, so it can be tested without a terminal; host/cli/stdin.ts feeds it.
 *
 *   Ctrl-A x        quit (the CLI exits with code 0)
 *   Ctrl-A h or ?   print the help
 *   Ctrl-A Ctrl-A   send one Ctrl-A to the guest
 *   Ctrl-A other    ignored, as QEMU's mux does (the key is dropped)
 */

/** The escape character, Ctrl-A. */
export const ESCAPE = 0x01;

/** The help printed by Ctrl-A H (lines end in CR LF: the terminal is in raw mode). */
export const MUX_HELP =
  'C-a h    print this help\r\n' +
  'C-a x    exit wasmvisor\r\n' +
  'C-a C-a  send C-a to the guest\r\n';

/** Where the mux sends its results. */
export interface MuxSinks {
  /** Bytes for the guest's UART. */
  guest(bytes: Uint8Array): void;
  /** The user asked to quit. */
  quit(): void;
  /** Text for the user (the help). */
  notice(text: string): void;
}

/** Splits typed bytes into guest input and escape commands; keeps state across chunks. */
export class ConsoleMux {
  private escaped = false;
  private done = false;

  constructor(private readonly sinks: MuxSinks) {}

  /** Process one chunk of typed bytes. After quit, further input is ignored. */
  feed(bytes: Uint8Array): void {
    let start = 0; // first byte of the pending run of plain guest bytes
    const flush = (end: number) => {
      if (end > start) this.sinks.guest(bytes.slice(start, end));
    };
    for (let i = 0; i < bytes.length && !this.done; i++) {
      const b = bytes[i];
      if (!this.escaped) {
        if (b === ESCAPE) {
          flush(i);
          this.escaped = true;
          start = i + 1;
        }
        continue;
      }
      this.escaped = false;
      start = i + 1;
      switch (b) {
        case ESCAPE:
          this.sinks.guest(Uint8Array.of(ESCAPE));
          break;
        case 0x78: // x
        case 0x58: // X
          this.done = true;
          this.sinks.quit();
          return;
        case 0x68: // h
        case 0x48: // H
        case 0x3f: // ?
          this.sinks.notice(MUX_HELP);
          break;
        default:
          break; // unknown command: dropped
      }
    }
    if (!this.done && !this.escaped) flush(bytes.length);
  }
}
