/**
 * The network backend (Dom0 side of io/netif.h; the behaviour of Linux's xen-netback with
 * rx-copy): one vif, plugged into a Bridge.
 *
 * Transmit (guest -> bridge), on each notification, for every packet on the tx ring:
 *   slots are copied out of the ring (first request, its extra-info slots, then the
 *   NETTXF_more_data fragments) and checked from those copies. Broken framing is FATAL for
 *   the vif, as in netback's netbk_fatal_tx_err (the device is stopped, xenbus goes Closing):
 *     - an extra-info slot of type 0 or >= XEN_NETIF_EXTRA_TYPE_MAX, or more than 4 of them;
 *     - a packet of more than 18 slots (XEN_NETIF_NR_SLOTS_MIN), or one not wholly published;
 *     - a slot with offset + size > 4096; fragments bigger than the packet's first `size`.
 *   A packet shorter than an Ethernet header, or a slot whose grant does not copy, is an
 *   ERROR for that packet only (NETIF_RSP_ERROR on each of its slots). Good packets are pulled
 *   in with grant copies (GNTTABOP_copy, source = the guest's gref: no mapping outlives the
 *   copy), answered NETIF_RSP_OKAY (NETIF_RSP_NULL on extra slots), and handed to the bridge as
 *   one batch after the tx responses are published: one notification back per batch.
 *   A frame whose source MAC is not the vif's `mac` is dropped (`spoofed`) when antiSpoof is on
 *   (the default whenever a MAC is configured), so a guest cannot steal another vif's traffic
 *   by poisoning the bridge's MAC table.
 * Receive (bridge -> guest), per frame: the guest must have posted rx requests (empty granted
 *   pages) for it: one slot per 4096 bytes with feature-sg, else frames over 4096 bytes are
 *   dropped (`rxOversize`). Without enough posted requests the frame is dropped and counted
 *   (`rxNoBuffer`): the bridge never queues. Each slot is filled with a grant copy into the
 *   guest's gref (offset 0) and answered {id, offset 0, flags, status = bytes}; a failed copy
 *   answers NETIF_RSP_ERROR for that slot (`rxErrors`). Responses are published, and the guest
 *   notified at most once, when the bridge ends the batch (flush()).
 */
import { GNTST_okay } from '../hypercall-abi';
import { formatMac, macAt, parseMac, rarpAnnouncement, type Bridge, type BridgePort, type EthFrame } from './bridge';
import { BackendChannel, type BackendContext, type ChannelSnapshot, type ChannelStats } from './channel';
import {
  decodeRxRequest, decodeTxRequest, encodeRxResponse, encodeTxResponse, ETH_HLEN, NETIF_RSP_ERROR, NETIF_RSP_NULL,
  NETIF_RSP_OKAY, NETIF_RX_REQ_SIZE, NETIF_RX_RSP_SIZE, NETIF_TX_REQ_SIZE, NETIF_TX_RSP_SIZE, NETRXF_csum_blank,
  NETRXF_data_validated, NETRXF_more_data, NETTXF_csum_blank, NETTXF_extra_info, NETTXF_more_data,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_NR_SLOTS_MIN, type NetifTxRequest,
} from './netif';
import { BackRing, serviceRing, type BackRingSnapshot } from './ring';
import { readU32Key, type XenbusDriver } from './xenbus-backend';

const PAGE = 4096;

/** How a vif is created. */
export interface NetbackOptions extends BackendContext {
  /** The switch to plug into (optional: a vif alone just counts its packets). */
  bridge?: Bridge;
  /** The vif's MAC ("00:16:3e:..", as xl's vif=[mac=...]). */
  mac?: string;
  /** Drop frames whose source MAC is not `mac` (default: true when mac is given). */
  antiSpoof?: boolean;
  /** Packets served per run (default one ring size). */
  maxPacketsPerRun?: number;
}

/** Counters of a vif. */
export interface NetbackStats extends ChannelStats {
  txPackets: number;
  txBytes: number;
  /** Packets answered NETIF_RSP_ERROR. */
  txErrors: number;
  /** Frames dropped by anti-spoofing. */
  spoofed: number;
  rxPackets: number;
  rxBytes: number;
  /** Frames dropped: not enough rx requests posted. */
  rxNoBuffer: number;
  /** Frames dropped: too big for the guest's buffers. */
  rxOversize: number;
  /** rx slots whose grant copy failed. */
  rxErrors: number;
  /** Grant copy operations (tx and rx). */
  grantCopies: number;
  /** Unexpected host exceptions caught (a bug; the vif is stopped). Must stay 0. */
  internalErrors: number;
}

/** Plain-data state of a vif. */
export interface NetbackSnapshot {
  channel: ChannelSnapshot;
  tx: BackRingSnapshot | null;
  rx: BackRingSnapshot | null;
  rxSg: boolean;
  /** The vif's MAC ("00:16:3e:.."), or null without one. */
  mac: string | null;
  stats: NetbackStats;
}

/** The frontend's keys a vif connects with (netif.h "Frontend XenBus Nodes"). */
export interface NetifFrontendKeys {
  txRef: number;
  rxRef: number;
  port: number;
  rxSg: boolean;
}

/** A protocol violation that stops the vif (thrown inside the tx loop, caught in serveTx). */
class FatalTx extends Error {}

/** One vif. */
export class Netback implements XenbusDriver, BridgePort {
  readonly channel: BackendChannel;
  readonly stats: NetbackStats;
  readonly name: string;
  /** This vif's port on the bridge (0 without a bridge). */
  readonly bridgePort: number;
  tx: BackRing | null = null;
  rx: BackRing | null = null;
  /** The frontend accepts multi-slot rx packets (its feature-sg). */
  rxSg = false;
  private readonly mac: number | undefined;
  private readonly antiSpoof: boolean;
  private rxPending = false;

  constructor(private readonly opts: NetbackOptions) {
    this.name = `vif d${opts.frontendDomid}`;
    this.channel = new BackendChannel(opts, this.name);
    const s = this.channel.stats as NetbackStats;
    Object.assign(s, { txPackets: 0, txBytes: 0, txErrors: 0, spoofed: 0, rxPackets: 0, rxBytes: 0, rxNoBuffer: 0, rxOversize: 0, rxErrors: 0, grantCopies: 0, internalErrors: 0 });
    this.stats = s;
    if (opts.mac !== undefined) {
      const b = parseMac(opts.mac);
      if (!b) throw new RangeError(`${this.name}: MAC "${opts.mac}" is not aa:bb:cc:dd:ee:ff`);
      this.mac = macAt(b, 0);
    }
    this.antiSpoof = opts.antiSpoof ?? this.mac !== undefined;
    this.bridgePort = opts.bridge ? opts.bridge.attach(this) : 0;
  }

  /** Backend keys (netif.h "Backend XenBus Nodes"). */
  features(): Record<string, string> {
    const f: Record<string, string> = { 'feature-sg': '1', 'feature-rx-copy': '1', 'feature-rx-flip': '0' };
    if (this.mac !== undefined) f.mac = formatMac(this.mac);
    return f;
  }

  /** XenbusDriver.connect: tx-ring-ref, rx-ring-ref, event-channel, request-rx-copy = 1. */
  connect(frontend: (key: string) => string | undefined): string | null {
    const k = this.frontendKeys(frontend);
    return typeof k === 'string' ? k : this.connectRings(k.txRef, k.rxRef, k.port, k.rxSg);
  }

  /** The rings, port and feature-sg the frontend's keys name, or what is wrong with them. */
  frontendKeys(frontend: (key: string) => string | undefined): NetifFrontendKeys | string {
    const tx = readU32Key(frontend('tx-ring-ref'));
    const rx = readU32Key(frontend('rx-ring-ref'));
    const port = readU32Key(frontend('event-channel'));
    if (tx === undefined || rx === undefined) return `${this.name}: tx-ring-ref/rx-ring-ref missing or malformed`;
    if (port === undefined) return `${this.name}: event-channel missing or malformed (split event channels are not offered)`;
    if (frontend('request-rx-copy') !== '1') return `${this.name}: the frontend must request rx-copy (request-rx-copy = 1)`;
    return { txRef: tx, rxRef: rx, port, rxSg: frontend('feature-sg') === '1' };
  }

  /**
   * xl restore (host/snapshot/xen-net.ts): reconnect to a frontend that never saw the save, with
   * the rings and port of its XenStore keys and our private indices of both rings as snapshot()
   * saved them. The shared rings came back with guest RAM, and with them the rx buffers the
   * frontend had posted (requests past our rx req_cons) and any tx requests not yet taken. No
   * frame is sent, no event raised: a save is taken between two runs, when the tx ring has been
   * served to its end and every rx batch published (the bridge flushes each batch), so the
   * frontend's next kick, or the next frame for it, carries on. Null, or an error message.
   */
  resume(k: NetifFrontendKeys, s: { tx: BackRingSnapshot; rx: BackRingSnapshot }): string | null {
    this.tx = this.rx = null;
    const err = this.channel.connect([k.txRef, k.rxRef], k.port, () => this.serveTx());
    if (err) return err;
    this.tx = new BackRing(this.channel.pages[0], NETIF_TX_REQ_SIZE, NETIF_TX_RSP_SIZE, s.tx);
    this.rx = new BackRing(this.channel.pages[1], NETIF_RX_REQ_SIZE, NETIF_RX_RSP_SIZE, s.rx);
    this.rxSg = k.rxSg;
    return null;
  }

  /**
   * Tell the bridge (and through its uplinks the segment) where this vif's MAC now is, as QEMU's
   * announce_self does after a migration (net/announce.c): one broadcast RARP request (EtherType
   * 0x8035, RFC 903 op 3, sender and target hardware address = the MAC, protocol addresses 0),
   * sent into the bridge from this vif's port, so every learning bridge on the way moves the
   * MAC's entry to the port it came from. Guests ignore it (it is not ARP). A vif without a MAC
   * or a bridge announces nothing.
   */
  announce(): void {
    if (this.mac === undefined || !this.opts.bridge || !this.bridgePort) return;
    this.opts.bridge.input(this.bridgePort, [{ data: rarpAnnouncement(this.mac) }]);
  }

  /** Map the two rings and bind the port. Null or an error message. */
  connectRings(txRef: number, rxRef: number, port: number, rxSg = false): string | null {
    this.tx = this.rx = null;
    const err = this.channel.connect([txRef, rxRef], port, () => this.serveTx());
    if (err) return err;
    this.tx = new BackRing(this.channel.pages[0], NETIF_TX_REQ_SIZE, NETIF_TX_RSP_SIZE);
    this.rx = new BackRing(this.channel.pages[1], NETIF_RX_REQ_SIZE, NETIF_RX_RSP_SIZE);
    this.rxSg = rxSg;
    this.channel.run();
    return null;
  }

  /** XenbusDriver.disconnect (the vif stays on the bridge; frames to it are dropped). */
  disconnect(): void {
    this.channel.disconnect();
    this.tx = this.rx = null;
  }

  /** Unplug from the bridge for good. */
  detach(): void {
    this.disconnect();
    if (this.bridgePort) this.opts.bridge?.detach(this.bridgePort);
  }

  /** XenbusDriver.setOnFatal. */
  setOnFatal(handler: (reason: string) => void): void {
    this.channel.onFatal = handler;
  }

  /** Serve the tx ring now (what a notification does). */
  kick(): void {
    this.channel.kick();
  }

  private stop(reason: string): void {
    this.channel.stop(reason);
    this.tx = this.rx = null;
  }

  private serveTx(): void {
    const ring = this.tx;
    if (!ring) return;
    const batch: EthFrame[] = [];
    let notify = false;
    try {
      notify = serviceRing(ring, this.opts.maxPacketsPerRun ?? ring.size, () => {
        const f = this.onePacket(ring);
        if (f) batch.push(f);
      });
    } catch (e) {
      if (!(e instanceof FatalTx)) this.stats.internalErrors++;
      this.stop(e instanceof FatalTx ? e.message : `internal error: ${(e as Error).message}`);
      return;
    }
    if (ring.broken) {
      this.stop(`frontend broke the tx ring: ${ring.broken}`);
      return;
    }
    if (notify) this.channel.notify();
    if (batch.length > 0 && this.opts.bridge) this.opts.bridge.input(this.bridgePort, batch);
  }

  /** Consume one packet's slots, answer each, return the frame to forward (or null). */
  private onePacket(ring: BackRing): EthFrame | null {
    const first = decodeTxRequest(ring.takeRequest());
    let extras = 0;
    if (first.flags & NETTXF_extra_info) {
      for (let more = true; more;) {
        if (extras >= XEN_NETIF_EXTRA_TYPE_MAX - 1) throw new FatalTx(`tx: more than ${XEN_NETIF_EXTRA_TYPE_MAX - 1} extra-info slots`);
        if (ring.unconsumed() === 0) throw new FatalTx('tx: extra-info slot missing');
        const ex = ring.takeRequest();
        extras++;
        if (ex[0] === 0 || ex[0] >= XEN_NETIF_EXTRA_TYPE_MAX) throw new FatalTx(`tx: extra-info type ${ex[0]}`);
        more = (ex[1] & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
      }
    }
    const frags: NetifTxRequest[] = [];
    for (let last = first; last.flags & NETTXF_more_data;) {
      if (frags.length + 1 >= XEN_NETIF_NR_SLOTS_MIN) throw new FatalTx(`tx: packet of more than ${XEN_NETIF_NR_SLOTS_MIN} slots`);
      if (ring.unconsumed() === 0) throw new FatalTx('tx: packet continues past req_prod');
      last = decodeTxRequest(ring.takeRequest());
      frags.push(last);
    }
    let rest = 0;
    for (const f of frags) rest += f.size;
    if (rest > first.size) throw new FatalTx(`tx: fragments of ${rest} bytes in a packet of ${first.size}`);
    const firstLen = first.size - rest;
    const slots: [NetifTxRequest, number][] = [[first, firstLen], ...frags.map((f): [NetifTxRequest, number] => [f, f.size])];
    for (const [s, n] of slots) {
      if (s.offset + n > PAGE) throw new FatalTx(`tx: slot id ${s.id} offset ${s.offset} + size ${n} crosses the page`);
    }
    let status = NETIF_RSP_OKAY;
    const data = new Uint8Array(first.size);
    if (first.size < ETH_HLEN) status = NETIF_RSP_ERROR;
    else {
      let at = 0;
      for (const [s, n] of slots) {
        this.stats.grantCopies++;
        // A copy's local side is page-sized too: land each slot in its own window of `data`.
        const [st] = this.opts.grants.copy([{
          source: { kind: 'gref', domid: this.opts.frontendDomid, ref: s.gref, offset: s.offset },
          dest: { kind: 'local', buffer: data.subarray(at, at + n), offset: 0 },
          len: n,
        }]);
        if (st !== GNTST_okay) {
          status = NETIF_RSP_ERROR;
          break;
        }
        at += n;
      }
    }
    ring.putResponse(encodeTxResponse(first.id, status));
    for (let i = 0; i < extras; i++) ring.putResponse(encodeTxResponse(0, NETIF_RSP_NULL));
    for (const f of frags) ring.putResponse(encodeTxResponse(f.id, status));
    if (status !== NETIF_RSP_OKAY) {
      this.stats.txErrors++;
      return null;
    }
    this.stats.txPackets++;
    this.stats.txBytes += data.length;
    if (this.antiSpoof && macAt(data, 6) !== this.mac) {
      this.stats.spoofed++;
      return null;
    }
    return { data, csumBlank: (first.flags & NETTXF_csum_blank) !== 0 };
  }

  /** Frames for the domain are dropped (Toolstack.hold: stopped for its migration). */
  held = false;

  /** BridgePort.deliver: put one frame into posted rx buffers (or drop and count). */
  deliver(frame: EthFrame): void {
    const ring = this.rx;
    // (held: the domain is stopped for its live migration, and its RAM and this backend's ring
    // indices are being sent; a frame written now could miss both, so it is dropped, as frames
    // in flight across a migration are: counted with those that found no buffer)
    if (!ring || !this.channel.connected || this.held) {
      this.stats.rxNoBuffer++;
      return;
    }
    try {
      this.receive(ring, frame);
    } catch (e) {
      this.stats.internalErrors++;
      this.stop(`internal error: ${(e as Error).message}`);
    }
  }

  private receive(ring: BackRing, frame: EthFrame): void {
    const d = frame.data;
    const need = Math.max(1, Math.ceil(d.length / PAGE));
    if (need > 1 && !this.rxSg) {
      this.stats.rxOversize++;
      return;
    }
    const posted = ring.unconsumed();
    if (ring.broken) {
      this.stop(`frontend broke the rx ring: ${ring.broken}`);
      return;
    }
    if (posted < need) {
      this.stats.rxNoBuffer++;
      return;
    }
    const csum = frame.csumBlank ? NETRXF_csum_blank | NETRXF_data_validated : 0;
    let failed = false;
    for (let i = 0; i < need; i++) {
      const req = decodeRxRequest(ring.takeRequest());
      const at = i * PAGE;
      const n = Math.min(PAGE, d.length - at);
      this.stats.grantCopies++;
      const [st] = this.opts.grants.copy([{
        source: { kind: 'local', buffer: d.subarray(at, at + n), offset: 0 },
        dest: { kind: 'gref', domid: this.opts.frontendDomid, ref: req.gref, offset: 0 },
        len: n,
      }]);
      const ok = st === GNTST_okay;
      if (!ok) failed = true;
      const flags = (i + 1 < need ? NETRXF_more_data : 0) | (i === 0 ? csum : 0);
      ring.putResponse(encodeRxResponse({ id: req.id, offset: 0, flags, status: ok ? n : NETIF_RSP_ERROR }));
    }
    this.rxPending = true;
    if (failed) this.stats.rxErrors++;
    else {
      this.stats.rxPackets++;
      this.stats.rxBytes += d.length;
    }
  }

  /** BridgePort.flush: publish rx responses; notify the guest if it asked to be. */
  flush(): void {
    if (!this.rxPending) return;
    this.rxPending = false;
    const ring = this.rx;
    if (ring && this.channel.connected && ring.pushResponses()) this.channel.notify();
  }

  /** Plain-data state. */
  snapshot(): NetbackSnapshot {
    return {
      channel: this.channel.snapshot(), tx: this.tx?.snapshot() ?? null, rx: this.rx?.snapshot() ?? null, rxSg: this.rxSg,
      mac: this.mac === undefined ? null : formatMac(this.mac), stats: { ...this.stats },
    };
  }
}
