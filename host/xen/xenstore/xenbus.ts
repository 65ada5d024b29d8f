/**
 * XenbusState (xen/include/public/io/xenbus.h): the states a split driver's frontend and
 * backend publish in their "state" node during the device handshake.
 *
 *   frontend: Initialising -> Initialised / Connected -> Closing -> Closed
 *   backend:  Initialising -> InitWait -> Connected -> Closing -> Closed
 *
 * The value is written as a decimal string ("4" for Connected).
 */

/** enum xenbus_state, values as io/xenbus.h. */
export enum XenbusState {
  Unknown = 0,
  Initialising = 1,
  /** Finished early initialisation, waiting for the peer's details (backends). */
  InitWait = 2,
  /** Ready for a connection: details published (frontends). */
  Initialised = 3,
  Connected = 4,
  /** The device is being closed due to an error or an unplug event. */
  Closing = 5,
  Closed = 6,
  /** Reconfiguring is in progress (optional, pvSCSI). */
  Reconfiguring = 7,
  Reconfigured = 8,
}

/**
 * Parses a "state" node value. Anything that is not a plain decimal 0..8 reads as Unknown,
 * so a hostile frontend cannot push a backend outside the enum.
 */
export function parseXenbusState(value: Uint8Array | string): XenbusState {
  const s = typeof value === 'string' ? value : String.fromCharCode(...value.subarray(0, 4));
  if (!/^[0-8]$/.test(s)) return XenbusState.Unknown;
  return Number(s) as XenbusState;
}

/** The decimal string stored for a state. */
export function formatXenbusState(state: XenbusState): string {
  return String(state);
}
