/**
 * The terminal escape of `qemu -nographic`: Ctrl-A followed by a command key. Pure logic over
 * bytes, so it can be tested without a terminal; host/cli/stdin.ts feeds it. `xl create` and
 * `up` use the same splitter with their own keys (host/cli/xl.ts, XlMux).
 *
 *   Ctrl-A x        quit (the CLI exits with code 0)
 *   Ctrl-A s        save a snapshot (when the command offers it: `run`, docs/snapshot.md)
 *   Ctrl-A h or ?   print the help
 *   Ctrl-A c        switch between the guest's console and the monitor (host/debug/monitor.ts)
 *   Ctrl-A v        typed input to the other console (UART <-> virtio console), as QEMU's
 *                   mux chardev cycles its frontends; a notice says which (run only; QEMU's
 *                   Ctrl-A c is the monitor's here, as issue 15 asks)
 *   Ctrl-A Ctrl-A   send one Ctrl-A to the guest
 *   Ctrl-A other    ignored, as QEMU's mux does (the key is dropped)
 */

/** The escape character, Ctrl-A. */
export const ESCAPE = 0x01;

/** The help printed by Ctrl-A H (lines end in CR LF: the terminal is in raw mode). */
export const MUX_HELP =
  'C-a h    print this help\r\n' +
  'C-a x    exit wasmvisor\r\n' +
  'C-a c    switch between console and monitor\r\n' +
  'C-a v    switch typed input between the UART and the virtio console\r\n' +
  'C-a C-a  send C-a to the guest\r\n';

/** The help line of Ctrl-A S, when saving is offered. */
export const MUX_HELP_SAVE = 'C-a s    save a snapshot (--snapshot-file)\r\n';

/** Where the mux sends its results. */
export interface MuxSinks {
  /** Bytes for the guest's UART. */
  guest(bytes: Uint8Array): void;
  /** The user asked to quit. */
  quit(): void;
  /** Text for the user (the help). */
  notice(text: string): void;
  /** The user asked for a snapshot (Ctrl-A S); without it the key is dropped like any other. */
  save?(): void;
  /** Ctrl-A c: switch between the console and the monitor (absent: the key is dropped). */
  monitor?(): void;
  /** Ctrl-A v: move typed input to the other console; returns where it goes now. */
  switchConsole?(): 'uart' | 'virtio';
}

/** Where an EscapeSplitter sends typed bytes. */
export interface EscapeSinks {
  /** Bytes for the guest (Ctrl-A Ctrl-A arrives as one Ctrl-A). */
  guest(bytes: Uint8Array): void;
  /** The key typed after Ctrl-A; 'stop' ignores all further input. */
  key(key: number): 'stop' | void;
}

/**
 * Splits typed bytes into guest input and the keys typed after Ctrl-A; keeps its state across
 * chunks (an escape may end one chunk and its key start the next).
 */
export class EscapeSplitter {
  private escaped = false;
  private stopped = false;

  constructor(private readonly sinks: EscapeSinks) {}

  /** Process one chunk of typed bytes. */
  feed(bytes: Uint8Array): void {
    let start = 0; // first byte of the pending run of plain guest bytes
    for (let i = 0; i < bytes.length && !this.stopped; i++) {
      const b = bytes[i];
      if (!this.escaped) {
        if (b === ESCAPE) {
          if (i > start) this.sinks.guest(bytes.slice(start, i));
          this.escaped = true;
        }
        continue;
      }
      this.escaped = false;
      start = i + 1;
      if (b === ESCAPE) this.sinks.guest(Uint8Array.of(ESCAPE));
      else if (this.sinks.key(b) === 'stop') this.stopped = true;
    }
    if (!this.stopped && !this.escaped && start < bytes.length) this.sinks.guest(bytes.slice(start));
  }
}

/** The mux of `wasmvisor run`: Ctrl-A x quits (input is ignored after it), h or ? prints the help. */
export class ConsoleMux extends EscapeSplitter {
  constructor(sinks: MuxSinks) {
    super({
      guest: (bytes) => sinks.guest(bytes),
      key: (b) => {
        switch (b) {
          case 0x78: // x
          case 0x58: // X
            sinks.quit();
            return 'stop';
          case 0x68: // h
          case 0x48: // H
          case 0x3f: // ?
            sinks.notice(sinks.save ? MUX_HELP + MUX_HELP_SAVE : MUX_HELP);
            return;
          case 0x73: // s
          case 0x53: // S
            sinks.save?.();
            return;
          case 0x63: // c
          case 0x43: // C
            sinks.monitor?.();
            return;
          case 0x76: // v
          case 0x56: // V
            if (sinks.switchConsole) {
              const to = sinks.switchConsole();
              sinks.notice(`\r\nwasmvisor: console input to the ${to === 'virtio' ? 'virtio console' : 'UART'}\r\n`);
            }
            return;
          default:
            return; // unknown command: dropped
        }
      },
    });
  }
}
