/**
 * The backend half of the XenBus device handshake (io/xenbus.h; Linux's xenbus_probe_backend
 * and blkback/netback frontend_changed()), driven by XsToolstack watches:
 *
 * ```
 *  backend                                   frontend
 *  Initialising  (toolstack's addDevice)     Initialising
 *  write features; InitWait  ------------->  reads features, allocates ring(s) + event channel,
 *                                            writes ring-ref / event-channel / ...;
 *                            <-------------  Initialised (or Connected)
 *  read the keys, map the ring(s), bind the
 *  event channel; Connected  ------------->  Connected
 *                            <-------------  Closing
 *  Closing                                   Closed
 *                            <-------------  (state node Closed, or gone: Unknown)
 *  unmap, close; Closed
 *                            <-------------  Initialising (the frontend reconnects)
 *  InitWait again (features are still there)
 * ```
 * A connect() that fails (bad keys, ungrantable ring, unbindable port) and a driver that stops
 * its device for a protocol error both write `<backend>/error` and move the backend to Closing,
 * as xenbus_dev_fatal does; the device stays down until the frontend goes Closed and starts
 * again. A removed device (close(), the toolstack's detach) goes Closing, disconnects, Closed.
 * Every value read from the frontend's directory is parsed strictly (parseXenbusState,
 * readU32Key): a hostile frontend can only fail its own device.
 */
import type { DevicePaths, XsToolstack } from '../xenstore/toolstack';
import { XenbusState } from '../xenstore/xenbus';

/** What a backend driver (blkback, netback, console) offers the handshake. */
export interface XenbusDriver {
  /** Keys published in the backend directory before InitWait (features, sizes). */
  features(): Record<string, string>;
  /**
   * Connect with the frontend's keys (`frontend(key)` reads `<frontend>/<key>`). Returns null,
   * or an error message with nothing left mapped or bound.
   */
  connect(frontend: (key: string) => string | undefined): string | null;
  /** Unmap and unbind everything; idempotent. */
  disconnect(): void;
  /** Install the handler the driver calls when it stops the device for a protocol error. */
  setOnFatal(handler: (reason: string) => void): void;
}

/** Plain-data state of a handshake. */
export interface XenbusBackendSnapshot {
  paths: DevicePaths;
  state: XenbusState;
  connected: boolean;
  error: string | null;
}

/**
 * Parse a decimal u32 written by a frontend ("ring-ref", "event-channel"): 1 to 10 digits, no
 * sign, no spaces, at most 0xffffffff. Anything else is undefined.
 */
export function readU32Key(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= 0xffffffff ? n : undefined;
}

/**
 * Most transitions XenbusBackend.history keeps (the latest). A frontend may cycle
 * Initialising -> Connected -> Closed for as long as it runs, four backend transitions a cycle.
 */
export const XENBUS_HISTORY_MAX = 64;

/** One device's handshake, from the backend side. */
export class XenbusBackend {
  /** The last error written, or null. */
  error: string | null = null;
  /** Transitions made, for tests and traces: the last XENBUS_HISTORY_MAX states this backend wrote, in order. */
  readonly history: XenbusState[] = [];
  /** Transitions made in all (history keeps only the last ones). */
  transitions = 0;
  private connected = false;
  private watching = false;
  private readonly token: string;

  constructor(private readonly ts: XsToolstack, readonly paths: DevicePaths, private readonly driver: XenbusDriver) {
    this.token = `backend:${paths.backend}`;
    driver.setOnFatal((reason) => this.fatal(reason));
  }

  /** This backend's current state node. */
  get state(): XenbusState {
    return this.ts.readState(this.paths.backend);
  }

  /** Whether the driver is connected. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** Publish the features, go InitWait and start watching the frontend's state. */
  start(): void {
    const f = this.driver.features();
    this.ts.transaction((tx) => {
      for (const [k, v] of Object.entries(f)) this.ts.write(`${this.paths.backend}/${k}`, v, tx);
    });
    this.switchTo(XenbusState.InitWait);
    if (!this.watching) {
      this.watching = true;
      this.ts.watch(`${this.paths.frontend}/state`, this.token, () => this.frontendChanged());
    }
  }

  /**
   * xl restore: the directories came back Connected (host/snapshot/xen.ts) and the driver has
   * reconnected itself (Blkback.resume): watch the frontend again, write nothing.
   */
  resumeConnected(): void {
    this.connected = true;
    if (!this.watching) {
      this.watching = true;
      this.ts.watch(`${this.paths.frontend}/state`, this.token, () => this.frontendChanged());
    }
  }

  /** The toolstack removes the device: Closing, disconnect, Closed, stop watching. */
  close(): void {
    if (this.watching) {
      this.ts.unwatch(`${this.paths.frontend}/state`, this.token);
      this.watching = false;
    }
    const s = this.state;
    if (s !== XenbusState.Closed) this.switchTo(XenbusState.Closing);
    this.disconnect();
    this.switchTo(XenbusState.Closed);
  }

  /** The driver stopped its device: record the error and go Closing (xenbus_dev_fatal). */
  fatal(reason: string): void {
    this.error = reason;
    this.connected = false; // the driver has already disconnected itself
    this.ts.write(`${this.paths.backend}/error`, reason);
    if (this.state !== XenbusState.Closed) this.switchTo(XenbusState.Closing);
  }

  /** React to the frontend's state (frontend_changed). */
  private frontendChanged(): void {
    const fe = this.ts.readState(this.paths.frontend);
    const be = this.state;
    switch (fe) {
      case XenbusState.Initialising:
        // A frontend starting (again) after we closed: offer the device anew.
        if (be === XenbusState.Closed) this.switchTo(XenbusState.InitWait);
        break;
      case XenbusState.Initialised:
      case XenbusState.Connected:
        if (be === XenbusState.InitWait || be === XenbusState.Initialised) this.tryConnect();
        break;
      case XenbusState.Closing:
        if (be !== XenbusState.Closed) this.switchTo(XenbusState.Closing);
        break;
      case XenbusState.Closed:
      case XenbusState.Unknown:
        if (be !== XenbusState.Closed) {
          if (be !== XenbusState.Closing) this.switchTo(XenbusState.Closing);
          this.disconnect();
          this.switchTo(XenbusState.Closed);
        }
        break;
      default:
        break; // InitWait, Reconfiguring, Reconfigured: nothing for a backend to do
    }
  }

  private tryConnect(): void {
    this.error = null;
    const err = this.driver.connect((key) => this.ts.tryRead(`${this.paths.frontend}/${key}`));
    if (err !== null) {
      this.fatal(err);
      return;
    }
    // The driver may already have served (and given up on) requests published before it connected.
    if (this.error !== null) return;
    this.connected = true;
    this.switchTo(XenbusState.Connected);
  }

  private disconnect(): void {
    this.driver.disconnect();
    this.connected = false;
  }

  private switchTo(s: XenbusState): void {
    if (this.history.length >= XENBUS_HISTORY_MAX) this.history.shift();
    this.history.push(s);
    this.transitions++;
    this.ts.switchState(this.paths.backend, s);
  }

  /** Plain-data state. */
  snapshot(): XenbusBackendSnapshot {
    return { paths: { ...this.paths }, state: this.state, connected: this.connected, error: this.error };
  }
}
