/**
 * Where a network device's frames go. The virtio-net model (net.ts) talks to a `NetBackend`
 * only, so the same model runs over a TCP stream to another process (net-socket.ts, Node, as
 * QEMU's `-netdev socket`) or over an in-process hub between VMs of one process (`NetHub`,
 * here: tests, pages). Frames are whole Ethernet frames without any virtio header.
 */

/** Counters of one backend. */
export interface NetBackendCounters {
  /** Frames handed to the peer. */
  sent: number;
  /** Frames received from the peer. */
  received: number;
  /** Frames the guest sent while no peer was connected: dropped. */
  dropped: number;
}

/** One end of a network link. */
export interface NetBackend {
  /** A frame from the guest; dropped (counters.dropped) while there is no peer. */
  send(frame: Uint8Array): void;
  /** Where frames for the guest go; set by the device that owns this backend. */
  onReceive: ((frame: Uint8Array) => void) | undefined;
  readonly counters: NetBackendCounters;
  /** Let go of the link (sockets, timers); later sends are dropped. Idempotent. */
  close(): void;
}

/**
 * A hub of ports in one process, as QEMU's `-netdev hubport`: a frame sent on one port reaches
 * every other port, one event-loop turn later (so a VM's transmit never runs another VM's
 * receive inside its own exit). Two ports make a point-to-point link (`netPair`).
 */
export class NetHub {
  private readonly ports: HubPort[] = [];

  /** A new port on the hub. */
  port(): NetBackend {
    const p = new HubPort(this);
    this.ports.push(p);
    return p;
  }

  /** Deliver `frame` from port `from` to every other open port. Returns how many got it. */
  forward(from: HubPort, frame: Uint8Array): number {
    let n = 0;
    for (const p of this.ports) {
      if (p === from || p.closed) continue;
      const copy = frame.slice();
      defer(() => p.deliver(copy));
      n++;
    }
    return n;
  }
}

/** One port of a NetHub. */
class HubPort implements NetBackend {
  onReceive: ((frame: Uint8Array) => void) | undefined;
  readonly counters: NetBackendCounters = { sent: 0, received: 0, dropped: 0 };
  closed = false;
  constructor(private readonly hub: NetHub) {}

  send(frame: Uint8Array): void {
    if (this.closed || this.hub.forward(this, frame) === 0) this.counters.dropped++;
    else this.counters.sent++;
  }

  deliver(frame: Uint8Array): void {
    if (this.closed) return;
    this.counters.received++;
    this.onReceive?.(frame);
  }

  close(): void {
    this.closed = true;
  }
}

/** Two backends linked to each other (a NetHub with two ports). */
export function netPair(): [NetBackend, NetBackend] {
  const hub = new NetHub();
  return [hub.port(), hub.port()];
}

/** Run `f` after the host's event loop has had a turn. */
function defer(f: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(f);
  else setTimeout(f, 0);
}

/** Parse a MAC address "52:54:00:12:34:56" (hex pairs separated by colons); undefined if malformed. */
export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(text);
  return m ? Uint8Array.from(m.slice(1), (h) => parseInt(h, 16)) : undefined;
}

/** QEMU's default MAC address for the first NIC (52:54:00 is its locally administered prefix). */
export const DEFAULT_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
