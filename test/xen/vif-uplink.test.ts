/**
 * The pieces of a vif's migration, in process: the RARP announcement (QEMU's announce_self
 * frame), Netback.resume from a snapshot (the rings carry on from the saved indices, posted rx
 * buffers included) and its announce moving a learned MAC; bridge uplinks over UDP on loopback
 * (frames cross, bridges learn across them, blank checksums are completed, strangers and
 * oversize frames are dropped); HOST.cfg's `uplinks` key.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../host/errors';
import { Bridge, parseMac, macAt, rarpAnnouncement, type BridgePort, type EthFrame } from '../../host/xen/backends/bridge';
import { BridgeUplink, completeChecksum, MAX_UDP_FRAME } from '../../host/xen/backends/bridge-uplink';
import { Netback } from '../../host/xen/backends/netback';
import { parseDomainCfg } from '../../host/xen/toolstack/cfg';
import { parseHostCfg } from '../../host/xen/toolstack/host-cfg';
import { pattern, World } from './backends/harness';
import { icmpEcho, NetFront } from './backends/netfront';
import { freeUdpPorts } from './vif-helpers';

const MAC1 = '00:16:3e:00:00:01';
const MAC2 = '00:16:3e:00:00:02';
const IP1 = [10, 0, 0, 1];
const IP2 = [10, 0, 0, 2];

/** A bridge port that keeps what it is given. */
class Tap implements BridgePort {
  readonly name = 'tap';
  readonly got: Uint8Array[] = [];
  flushes = 0;
  deliver(f: EthFrame): void {
    this.got.push(Uint8Array.from(f.data));
  }
  flush(): void {
    this.flushes++;
  }
}

/** A frame from `src` to `dst` with EtherType 0x88b5 and `n` payload bytes. */
function frame(dst: string, src: string, n = 46, seed = 1): Uint8Array {
  const f = new Uint8Array(14 + n);
  f.set(parseMac(dst)!, 0);
  f.set(parseMac(src)!, 6);
  f.set([0x88, 0xb5], 12);
  f.set(pattern(n, seed), 14);
  return f;
}

describe('the RARP announcement (QEMU net/announce.c)', () => {
  it('is 60 bytes: broadcast, EtherType 0x8035, op 3, sender = target = the MAC, addresses 0', () => {
    const f = rarpAnnouncement(macAt(parseMac(MAC1)!, 0));
    const m = [0x00, 0x16, 0x3e, 0x00, 0x00, 0x01];
    expect([...f]).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...m, 0x80, 0x35,
      0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x03, ...m, 0, 0, 0, 0, ...m, 0, 0, 0, 0, ...Array(18).fill(0),
    ]);
  });
});

describe('Netback.resume and announce', () => {
  it('a vif resumed from its snapshot carries on the rings where the old backend stopped; its announce moves the MAC to its port', () => {
    const world = new World();
    const bridge = new Bridge({ now: () => 1000 });
    const a = new NetFront(world, world.addDomain(1), bridge, MAC1);
    const b = new NetFront(world, world.addDomain(2), bridge, MAC2);
    const ping = (seq: number) => icmpEcho(8, MAC2, MAC1, IP2, IP1, 7, seq, pattern(56, seq));
    const pong = (seq: number) => icmpEcho(0, MAC1, MAC2, IP1, IP2, 7, seq, pattern(56, seq));
    for (let s = 1; s <= 3; s++) {
      b.send(ping(s));
      expect(a.receive().frames).toEqual([ping(s)]);
      a.send(pong(s));
      expect(b.receive().frames).toEqual([pong(s)]);
    }
    const snap = a.be.snapshot();
    expect(snap.mac).toBe(MAC1);
    expect(snap.tx).toEqual({ reqCons: 3, rspProdPvt: 3, rspPushed: 3, broken: null });
    expect(snap.rx).toEqual({ reqCons: 3, rspProdPvt: 3, rspPushed: 3, broken: null });
    // The save: the old backend goes (the bridge forgets MAC1 with its port).
    a.be.detach();
    b.send(ping(4)); // nobody has MAC1 now: flooded, lost
    expect(a.receive().frames).toEqual([]);
    // Meanwhile a peer behind another port taught the bridge that MAC1 is there (as an uplink would).
    const tap = new Tap();
    const far = bridge.attach(tap);
    bridge.input(far, [{ data: frame(MAC2, MAC1) }]);
    expect(bridge.lookup(MAC1)).toBe(far);
    expect(b.receive().frames).toEqual([frame(MAC2, MAC1)]);

    const be = new Netback({ grants: world.grants, events: world.events, frontendDomid: 1, bridge, mac: snap.mac! });
    // NetFront granted its tx ring first (ref 8), then its rx ring (ref 9).
    const keys = be.frontendKeys((k) => ({ 'tx-ring-ref': '8', 'rx-ring-ref': '9', 'event-channel': String(a.port), 'request-rx-copy': '1' })[k]);
    expect(keys).toEqual({ txRef: 8, rxRef: 9, port: a.port, rxSg: false });
    expect(be.resume(keys as Exclude<typeof keys, string>, { tx: snap.tx!, rx: snap.rx! })).toBeNull();
    expect(tap.got).toEqual([]); // resume itself sends nothing
    be.announce();
    expect(tap.got).toEqual([rarpAnnouncement(macAt(parseMac(MAC1)!, 0))]);
    expect(b.receive().frames).toEqual([rarpAnnouncement(macAt(parseMac(MAC1)!, 0))]); // flooded to the peer too
    expect(bridge.lookup(MAC1)).toBe(be.bridgePort);
    // The rings go on: rx buffer 3 (posted before the save) takes the next frame, tx slot 3 the next reply.
    b.send(ping(5));
    const r = a.receive();
    expect(r.frames).toEqual([ping(5)]);
    expect(r.raw[0].id).toBe(3);
    a.send(pong(5));
    expect(b.receive().frames).toEqual([pong(5)]);
    expect(be.snapshot().tx).toEqual({ reqCons: 4, rspProdPvt: 4, rspPushed: 4, broken: null });
    expect(tap.got.length).toBe(1); // forwarded to MAC2's port, not flooded to the tap
  });
});

describe('bridge uplinks over UDP', () => {
  const open: BridgeUplink[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((u) => u.close()));
  });

  /** Two bridges joined by uplinks, with a tap each. */
  async function joined() {
    const [p1, p2] = await freeUdpPorts();
    const b1 = new Bridge();
    const b2 = new Bridge();
    const u1 = await BridgeUplink.open(b1, { bridge: 'xenbr0', local: { host: '127.0.0.1', port: p1 }, remote: { host: '127.0.0.1', port: p2 } });
    const u2 = await BridgeUplink.open(b2, { bridge: 'xenbr0', local: { host: '127.0.0.1', port: p2 }, remote: { host: '127.0.0.1', port: p1 } });
    open.push(u1, u2);
    const t1 = new Tap();
    const t2 = new Tap();
    return { b1, b2, u1, u2, t1, t2, port1: b1.attach(t1), port2: b2.attach(t2), p1, p2 };
  }
  const arrived = async (tap: Tap, n: number) => {
    for (let i = 0; i < 400 && tap.got.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  };

  it('frames cross one per datagram; each bridge learns the far MAC on its uplink', async () => {
    const j = await joined();
    const hello = frame('ff:ff:ff:ff:ff:ff', MAC1, 100, 1);
    j.b1.input(j.port1, [{ data: hello }]);
    await arrived(j.t2, 1);
    expect(j.t2.got).toEqual([hello]);
    const reply = frame(MAC1, MAC2, 1400, 2);
    j.b2.input(j.port2, [{ data: reply }]);
    await arrived(j.t1, 1);
    expect(j.t1.got).toEqual([reply]);
    expect([j.b1.stats.forwarded, j.b2.stats.forwarded]).toEqual([1, 1]); // the reply was known on both
    expect(j.u1.stats).toMatchObject({ txFrames: 1, txBytes: 114, rxFrames: 1, rxBytes: 1414, rxInvalid: 0 });
    expect(j.u2.stats).toMatchObject({ txFrames: 1, txBytes: 1414, rxFrames: 1, rxBytes: 114, rxInvalid: 0 });
  });

  it('a blank transport checksum is completed on the way out (RFC 768/1071); other blank ones, oversize frames and strangers are dropped', async () => {
    const j = await joined();
    // IPv4 UDP 10.0.0.1:1000 -> 10.0.0.2:2000, 8 payload bytes; the checksum field holds the pseudo-header sum.
    const udp = new Uint8Array(14 + 20 + 16);
    udp.set(parseMac(MAC2)!, 0);
    udp.set(parseMac(MAC1)!, 6);
    udp.set([0x08, 0x00, 0x45, 0, 0, 36, 0, 1, 0x40, 0, 64, 17, 0, 0, ...IP1, ...IP2], 12);
    udp.set([0x03, 0xe8, 0x07, 0xd0, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], 34);
    const pseudo = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 16;
    udp.set([pseudo >> 8, pseudo & 0xff], 40);
    j.b1.input(j.port1, [{ data: udp, csumBlank: true }]);
    // A full checksum: the sum over pseudo-header and segment is 0xffff.
    await arrived(j.t2, 1);
    const got = j.t2.got[0];
    let s = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 16;
    for (let i = 34; i < 50; i += 2) s += got[i] << 8 | got[i + 1];
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    expect(s).toBe(0xffff);
    expect([...got.subarray(0, 40)]).toEqual([...udp.subarray(0, 40)]);
    expect(udp[40] << 8 | udp[41]).toBe(pseudo); // the sender's copy is untouched
    expect(j.u1.stats.csumFilled).toBe(1);

    j.b1.input(j.port1, [{ data: frame(MAC2, MAC1), csumBlank: true }]); // not IPv4 TCP/UDP
    j.b1.input(j.port1, [{ data: frame(MAC2, MAC1, MAX_UDP_FRAME - 13) }]);
    expect(j.u1.stats).toMatchObject({ csumDropped: 1, txOversize: 1, txFrames: 1 });
    expect(completeChecksum(frame(MAC2, MAC1))).toBe(false);

    // A datagram from anyone but the configured remote end is not a frame of the segment.
    const stranger = createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => stranger.send(frame(MAC2, '00:16:3e:00:00:09'), j.p2, '127.0.0.1', () => r()));
    for (let i = 0; i < 200 && j.u2.stats.rxInvalid === 0; i++) await new Promise((r) => setTimeout(r, 5));
    stranger.close();
    expect(j.u2.stats.rxInvalid).toBe(1);
    expect(j.t2.got.length).toBe(1);
    expect(j.b2.lookup('00:16:3e:00:00:09')).toBeUndefined();
  });

  it('a local address in use is one line', async () => {
    const j = await joined();
    await expect(BridgeUplink.open(new Bridge(), { bridge: 'xenbr1', local: { host: '127.0.0.1', port: j.p1 }, remote: { host: '127.0.0.1', port: 9 }, where: 'h.cfg:2' }))
      .rejects.toThrow(new UserError(`h.cfg:2: uplink of bridge xenbr1: cannot bind udp 127.0.0.1:${j.p1} (EADDRINUSE)`));
  });
});

describe("HOST.cfg's uplinks", () => {
  const dom = (p: string) => ({ ...parseDomainCfg("name='a'\nkernel='k'\nvif=['bridge=br1']", p), file: p });
  const base = "bridges = [ 'xenbr0', 'br1' ]\ndomains = [ 'a' ]\n";

  it('reads bridge, local and remote (bridge xenbr0 by default)', () => {
    const h = parseHostCfg(base + "uplinks = [ 'local=127.0.0.1:5001, remote=10.1.2.3:5002', 'bridge=br1, local=[::1]:0, remote=host-b:7' ]", 'h', dom);
    expect(h.uplinks).toEqual([
      { bridge: 'xenbr0', local: { host: '127.0.0.1', port: 5001 }, remote: { host: '10.1.2.3', port: 5002 }, where: 'h:3' },
      { bridge: 'br1', local: { host: '::1', port: 0 }, remote: { host: 'host-b', port: 7 }, where: 'h:3' },
    ]);
    expect(parseHostCfg(base, 'h', dom).uplinks).toEqual([]);
  });

  it("a Dom0 that waits for domains (up --incoming, --wait) may have no 'domains' of its own", () => {
    const text = "uplinks = [ 'local=127.0.0.1:1, remote=127.0.0.1:2' ]";
    expect(() => parseHostCfg(text, 'h', dom)).toThrow(new UserError("h: missing 'domains' (e.g. domains = [ 'domu1.cfg' ])"));
    const h = parseHostCfg(text, 'h', dom, { domainsOptional: true });
    expect([h.bridges, h.domains, h.uplinks.length]).toEqual([['xenbr0'], [], 1]);
  });

  it.each([
    ["uplinks = [ 'local=1.2.3.4:1' ]", "h:3: uplinks = [ 'local=1.2.3.4:1' ]: uplink 'local=1.2.3.4:1' has no remote=HOST:PORT"],
    ["uplinks = [ 'local=1.2.3.4:1, remote=1.2.3.4:0' ]", "h:3: uplinks = [ 'local=1.2.3.4:1, remote=1.2.3.4:0' ]: uplink remote '1.2.3.4:0' is not HOST:PORT (port 1..65535)"],
    ["uplinks = [ 'local=1.2.3.4, remote=1.2.3.4:2' ]", "h:3: uplinks = [ 'local=1.2.3.4, remote=1.2.3.4:2' ]: uplink local '1.2.3.4' is not HOST:PORT"],
    ["uplinks = [ 'mtu=1500' ]", "h:3: uplinks = [ 'mtu=1500' ]: unknown uplink key 'mtu' (known: bridge, local, remote)"],
    ["uplinks = [ 'bridge=br9, local=a:1, remote=b:2' ]", "h:3: uplink bridge 'br9' is not one of the bridges (xenbr0, br1)"],
    ["uplinks = [ 'local=a:1, remote=b:2', 'bridge=br1, local=a:1, remote=c:2' ]", 'h:3: two uplinks listen on a:1'],
  ])('%j', (line, message) => {
    expect(() => parseHostCfg(base + line, 'h', dom)).toThrow(new UserError(message));
  });
});
