/**
 * A bridge's uplink: one port of a Bridge that is a UDP socket, joining the bridges of two Dom0
 * processes (on one host or two) into one Ethernet segment, as QEMU's `-netdev dgram` (and the
 * older `-netdev socket,udp=HOST:PORT,localaddr=HOST:PORT`) joins two QEMUs: each datagram
 * carries exactly one Ethernet frame (destination MAC, source MAC, EtherType, payload; no FCS,
 * no header of ours), so the two ends need only agree on the addresses. HOST.cfg's `uplinks`
 * key configures it (host-cfg.ts, docs/xen/xl.md "Joining two Dom0s").
 *
 * Out (bridge -> remote): frames the bridge forwards or floods to the uplink are queued by
 * deliver() and sent, one datagram each, at flush() (the end of the bridge's batch). A frame
 * whose sender left its transport checksum blank (NETTXF_csum_blank: "the checksum is the
 * pseudo-header's, complete it") gets it completed first, as Linux completes a CHECKSUM_PARTIAL
 * frame for a device without checksum offload (skb_checksum_help): for IPv4 TCP and UDP, the
 * one's-complement sum of the segment from its L4 header on is folded into the checksum field
 * (RFC 1071; a UDP result of 0 is sent as 0xffff, RFC 768). Other blank-checksum frames
 * cannot be completed and are dropped (`csumDropped`). Frames over MAX_UDP_FRAME bytes are
 * dropped (`txOversize`).
 * In (remote -> bridge): each datagram of 14..MAX_UDP_FRAME bytes from the configured remote
 * address is one frame into the bridge (input(), one batch per datagram); anything else is
 * dropped (`rxInvalid`: runts, datagrams from another address).
 *
 * Like a cable between two switches, the uplink has no loop protection (no spanning tree):
 * join Dom0s in a line or a tree, never a ring. Frames lost on the way are lost (UDP), as on a
 * wire; the bridges' learning and the guests' own retransmissions deal with that.
 */
import { createSocket, type Socket } from 'node:dgram';
import { UserError } from '../../errors';
import type { Bridge, BridgePort, EthFrame } from './bridge';

/** The largest frame a datagram carries (a UDP payload over IPv4 is at most 65507 bytes). */
export const MAX_UDP_FRAME = 65507;
const ETH_HLEN = 14;

/** host:port of one end. */
export interface UdpAddress {
  host: string;
  port: number;
}

/** An uplink as HOST.cfg declares it. */
export interface UplinkSpec {
  /** The bridge it is a port of. */
  bridge: string;
  /** Where this end listens (port 0: the system picks one). */
  local: UdpAddress;
  /** Where the other end listens. */
  remote: UdpAddress;
  /** For error messages ("host.cfg:3"). */
  where?: string;
}

/** Counters of an uplink. */
export interface UplinkStats {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames too big for one datagram. */
  txOversize: number;
  /** Blank-checksum frames that are not IPv4 TCP/UDP. */
  csumDropped: number;
  /** Checksums completed on the way out. */
  csumFilled: number;
  /** Datagrams dropped on the way in (runts, oversize, an unexpected sender). */
  rxInvalid: number;
  /** Sends the socket reported failed. */
  txErrors: number;
}

/** One uplink (a bridge port over a UDP socket). */
export class BridgeUplink implements BridgePort {
  readonly name: string;
  readonly stats: UplinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, txOversize: 0, csumDropped: 0, csumFilled: 0, rxInvalid: 0, txErrors: 0 };
  private readonly queue: Uint8Array[] = [];
  private readonly bridgePort: number;
  private closed = false;
  /** Datagrams handed to the socket and not yet sent. */
  private sending = 0;
  private drained: (() => void) | undefined;

  private constructor(private readonly bridge: Bridge, private readonly sock: Socket, readonly spec: UplinkSpec, readonly localPort: number) {
    this.name = `uplink ${spec.bridge} -> ${spec.remote.host}:${spec.remote.port}`;
    this.bridgePort = bridge.attach(this);
    sock.on('message', (msg, from) => this.receive(msg, from.address, from.port));
    sock.on('error', () => this.stats.txErrors++);
    sock.unref(); // the uplink alone does not keep Dom0 alive
  }

  /** Bind the local end and plug into `bridge`. Rejects with a one-line UserError. */
  static open(bridge: Bridge, spec: UplinkSpec): Promise<BridgeUplink> {
    const sock = createSocket({ type: spec.local.host.includes(':') ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      sock.once('error', (e) => {
        sock.close();
        reject(new UserError(`${spec.where ?? 'uplink'}: uplink of bridge ${spec.bridge}: cannot bind udp ${spec.local.host}:${spec.local.port} (${(e as NodeJS.ErrnoException).code ?? e.message})`));
      });
      sock.bind(spec.local.port, spec.local.host, () => {
        sock.removeAllListeners('error');
        resolve(new BridgeUplink(bridge, sock, spec, sock.address().port));
      });
    });
  }

  /** BridgePort.deliver: queue a frame for the remote end. */
  deliver(frame: EthFrame): void {
    if (this.closed) return;
    if (frame.data.length > MAX_UDP_FRAME) {
      this.stats.txOversize++;
      return;
    }
    const data = Uint8Array.from(frame.data);
    if (frame.csumBlank) {
      if (!completeChecksum(data)) {
        this.stats.csumDropped++;
        return;
      }
      this.stats.csumFilled++;
    }
    this.queue.push(data);
  }

  /** BridgePort.flush: send what was queued, one datagram per frame. */
  flush(): void {
    for (const f of this.queue.splice(0)) {
      this.stats.txFrames++;
      this.stats.txBytes += f.length;
      this.sending++;
      this.sock.send(f, this.spec.remote.port, this.spec.remote.host, (err) => {
        if (err) this.stats.txErrors++;
        if (--this.sending === 0) this.drained?.();
      });
    }
  }

  private receive(msg: Buffer, host: string, port: number): void {
    if (this.closed) return;
    if (msg.length < ETH_HLEN || msg.length > MAX_UDP_FRAME || port !== this.spec.remote.port || !sameHost(host, this.spec.remote.host)) {
      this.stats.rxInvalid++;
      return;
    }
    this.stats.rxFrames++;
    this.stats.rxBytes += msg.length;
    this.bridge.input(this.bridgePort, [{ data: new Uint8Array(msg.buffer, msg.byteOffset, msg.length) }]);
  }

  /**
   * Unplug, let the datagrams already handed to the socket go (a domain's last frames before it
   * powered off: at most `drainMs`), then close the socket. Idempotent.
   */
  async close(drainMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.bridge.detach(this.bridgePort);
    if (this.sending > 0) {
      await new Promise<void>((res) => {
        const t = setTimeout(res, drainMs);
        this.drained = () => {
          clearTimeout(t);
          res();
        };
      });
    }
    this.sock.close();
  }
}

/** Whether a datagram's source address is the configured remote host (names: "localhost"). */
function sameHost(from: string, want: string): boolean {
  if (from === want) return true;
  if (want === 'localhost') return from === '127.0.0.1' || from === '::1';
  return from === `::ffff:${want}`;
}

/**
 * Complete the transport checksum of an IPv4 TCP or UDP frame whose checksum field holds the
 * pseudo-header's sum (CHECKSUM_PARTIAL): fold the one's-complement sum of the L4 segment into
 * it. False (nothing changed) for any other frame.
 */
export function completeChecksum(f: Uint8Array): boolean {
  if (f.length < ETH_HLEN + 20 || f[12] !== 0x08 || f[13] !== 0x00 || f[14] >> 4 !== 4) return false;
  const ihl = (f[14] & 15) * 4;
  const total = f[16] << 8 | f[17];
  const proto = f[23];
  const l4 = ETH_HLEN + ihl;
  const end = ETH_HLEN + total;
  const at = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : -1;
  if (at < 0 || ihl < 20 || end > f.length || at + 2 > end) return false;
  let s = 0;
  for (let i = l4; i + 1 < end; i += 2) s += f[i] << 8 | f[i + 1];
  if ((end - l4) & 1) s += f[end - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  let c = ~s & 0xffff;
  if (proto === 17 && c === 0) c = 0xffff;
  f[at] = c >> 8;
  f[at + 1] = c & 0xff;
  return true;
}
