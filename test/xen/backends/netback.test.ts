/** netback + bridge: two (three) vifs exchanging ARP and ICMP, learning, flooding, limits. */
import { beforeEach, describe, expect, it } from 'vitest';
import { Bridge, type BridgePort, type EthFrame } from '../../../host/xen/backends/bridge';
import {
  NET_RX_RING_SIZE, NET_TX_RING_SIZE, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETRXF_csum_blank,
  NETRXF_data_validated, NETRXF_more_data, NETTXF_csum_blank, NETTXF_extra_info, NETTXF_more_data,
} from '../../../host/xen/backends/netif';
import { pattern, World } from './harness';
import { arp, icmpChecksumsOk, icmpEcho, NetFront, TX_PAGE } from './netfront';

const MAC1 = '00:16:3e:00:00:01';
const MAC2 = '00:16:3e:00:00:02';
const MAC3 = '00:16:3e:00:00:03';
const IP1 = [10, 0, 0, 1];
const IP2 = [10, 0, 0, 2];

let world: World;
let bridge: Bridge;
let clock: number;
let a: NetFront;
let b: NetFront;

beforeEach(() => {
  world = new World();
  clock = 1000;
  bridge = new Bridge({ now: () => clock, ageingMs: 300_000 });
  a = new NetFront(world, world.addDomain(1), bridge, MAC1);
  b = new NetFront(world, world.addDomain(2), bridge, MAC2);
});

describe('netback on the bridge', () => {
  it('ring sizes are 256; features', () => {
    expect([NET_TX_RING_SIZE, NET_RX_RING_SIZE]).toEqual([256, 256]);
    expect(a.be.features()).toEqual({ 'feature-sg': '1', 'feature-rx-copy': '1', 'feature-rx-flip': '0', 'mac': MAC1 });
  });

  it('ARP request (flooded), ARP reply (forwarded), ICMP echo request and reply, byte for byte', () => {
    const req = arp(1, MAC1, IP1, '00:00:00:00:00:00', IP2);
    expect(req.length).toBe(42);
    const [id] = a.send(req);
    expect(a.txResponses()).toEqual([{ id, status: NETIF_RSP_OKAY }]);
    expect(bridge.stats).toMatchObject({ flooded: 1, forwarded: 0 });
    const got = b.receive();
    expect(got.raw).toEqual([{ id: 0, offset: 0, flags: 0, status: 42 }]);
    expect(got.frames).toEqual([req]);
    expect(b.fe.takeEvent(b.port)).toBe(true);
    expect(a.receive().frames).toEqual([]); // not sent back to its sender

    const rep = arp(2, MAC2, IP2, MAC1, IP1);
    b.send(rep);
    expect(b.txResponses()[0].status).toBe(NETIF_RSP_OKAY);
    expect(bridge.stats).toMatchObject({ flooded: 1, forwarded: 1 });
    expect(a.receive().frames).toEqual([rep]);

    const payload = pattern(56, 8);
    const ping = icmpEcho(8, MAC1, MAC2, IP1, IP2, 0x1234, 1, payload);
    a.send(ping);
    const inB = b.receive().frames;
    expect(inB).toEqual([ping]);
    expect(icmpChecksumsOk(inB[0])).toBe(true);
    const pong = icmpEcho(0, MAC2, MAC1, IP2, IP1, 0x1234, 1, payload);
    b.send(pong);
    const inA = a.receive().frames;
    expect(inA).toEqual([pong]);
    expect(icmpChecksumsOk(inA[0])).toBe(true);
    expect(bridge.stats).toMatchObject({ flooded: 1, forwarded: 3, filtered: 0, invalid: 0 });
    expect(bridge.macTable().map((e) => [e.mac, e.port])).toEqual([[MAC1, a.be.bridgePort], [MAC2, b.be.bridgePort]]);
    expect(a.be.stats).toMatchObject({ txPackets: 2, txBytes: 42 + 98, rxPackets: 2, rxBytes: 42 + 98, txErrors: 0, rxNoBuffer: 0 });
  });

  it('learning and flooding with three vifs: unknown unicast floods, a learned MAC is forwarded', () => {
    const c = new NetFront(world, world.addDomain(3), bridge, MAC3);
    const toB = icmpEcho(8, MAC1, MAC2, IP1, IP2, 1, 1, pattern(8, 1));
    a.send(toB); // MAC2 unknown: flooded to b and c
    expect(b.receive().frames).toEqual([toB]);
    expect(c.receive().frames).toEqual([toB]);
    b.send(icmpEcho(0, MAC2, MAC1, IP2, IP1, 1, 1, pattern(8, 1))); // learns MAC2, forwarded to a only
    expect(a.receive().frames.length).toBe(1);
    expect(c.receive().frames.length).toBe(0);
    a.send(toB); // now known: b only
    expect(b.receive().frames).toEqual([toB]);
    expect(c.receive().frames).toEqual([]);
    expect(bridge.lookup(MAC2)).toBe(b.be.bridgePort);
    // Ageing: 5 minutes later MAC2 is forgotten and the frame floods again.
    clock += 300_001;
    a.send(toB);
    expect(c.receive().frames).toEqual([toB]);
    expect(bridge.stats.aged).toBe(1);
    expect(bridge.stats).toMatchObject({ flooded: 2, forwarded: 2 });
  });

  it('one notification per batch on both sides; copies counted', () => {
    const frames = Array.from({ length: 10 }, (_, i) => icmpEcho(8, MAC1, MAC2, IP1, IP2, 7, i, pattern(32, i)));
    bridge.input(b.be.bridgePort, [{ data: arp(2, MAC2, IP2, MAC1, IP1) }]); // teach MAC2
    a.receive();
    a.fe.takeEvent(a.port);
    const txNotes = a.be.stats.notifications;
    const rxNotes = b.be.stats.notifications;
    const copies = a.be.stats.grantCopies + b.be.stats.grantCopies;
    // One batch of 10 frames in 8 tx pages (two pages carry two frames, at offsets 0 and 2048).
    frames.forEach((f, i) => {
      const page = TX_PAGE + (i % 8);
      const off = i < 8 ? 0 : 2048;
      a.fe.poke(page, off, f);
      a.putTx({ gref: a.fe.grant(page, true), offset: off, flags: 0, id: 100 + i, size: f.length });
    });
    expect(a.tx.push()).toBe(true);
    a.fe.notify(a.port);
    expect(a.be.stats.notifications - txNotes).toBe(1);
    expect(b.be.stats.notifications - rxNotes).toBe(1);
    expect(a.be.stats.grantCopies + b.be.stats.grantCopies - copies).toBe(20); // 10 tx + 10 rx copies
    expect(a.txResponses().map((r) => r.id)).toEqual(frames.map((_, i) => 100 + i));
    expect(b.receive().frames).toEqual(frames);
  });

  it('multi-slot tx (more_data) to a vif with feature-sg: two rx slots with more_data; checksum flags carried', () => {
    world = new World();
    bridge = new Bridge();
    a = new NetFront(world, world.addDomain(1), bridge, MAC1);
    b = new NetFront(world, world.addDomain(2), bridge, MAC2, { sg: true });
    const big = icmpEcho(8, MAC1, 'ff:ff:ff:ff:ff:ff', IP1, IP2, 1, 1, pattern(5000, 3));
    const ids = a.send(big, 1500, NETTXF_csum_blank);
    expect(ids.length).toBe(4);
    expect(a.txResponses()).toEqual(ids.map((id) => ({ id, status: NETIF_RSP_OKAY })));
    const got = b.receive();
    expect(got.raw).toEqual([
      { id: 0, offset: 0, flags: NETRXF_more_data | NETRXF_csum_blank | NETRXF_data_validated, status: 4096 },
      { id: 1, offset: 0, flags: 0, status: big.length - 4096 },
    ]);
    expect(got.frames).toEqual([big]);
    // Without feature-sg the same frame is dropped as oversize.
    b.send(icmpEcho(8, MAC2, 'ff:ff:ff:ff:ff:ff', IP2, IP1, 1, 1, pattern(5000, 3)), 2000);
    expect(a.receive().frames).toEqual([]);
    expect(a.be.stats.rxOversize).toBe(1);
  });

  it('no rx buffer posted: the frame is dropped and counted; posting again resumes delivery', () => {
    world = new World();
    bridge = new Bridge();
    a = new NetFront(world, world.addDomain(1), bridge, MAC1);
    b = new NetFront(world, world.addDomain(2), bridge, MAC2, { post: 1 });
    const f = arp(1, MAC1, IP1, '00:00:00:00:00:00', IP2);
    a.send(f);
    a.send(f);
    expect(b.receive().frames).toEqual([f]);
    expect(b.be.stats.rxNoBuffer).toBe(1);
    b.post(1, 1);
    a.send(f);
    expect(b.receive().frames).toEqual([f]);
  });

  it('spoofed source MAC is dropped; runts are errors; extra-info slots get NULL responses', () => {
    const spoof = arp(1, MAC2, IP2, '00:00:00:00:00:00', IP1);
    a.send(spoof);
    expect(a.txResponses()[0].status).toBe(NETIF_RSP_OKAY);
    expect(a.be.stats.spoofed).toBe(1);
    expect(b.receive().frames).toEqual([]);
    expect(bridge.macTable()).toEqual([]); // nothing learned from it

    a.fe.poke(TX_PAGE, 0, pattern(13, 1));
    a.putTx({ gref: a.fe.grant(TX_PAGE, true), offset: 0, flags: 0, id: 50, size: 13 });
    const ok = arp(1, MAC1, IP1, '00:00:00:00:00:00', IP2);
    a.fe.poke(TX_PAGE + 1, 0, ok);
    a.putTx({ gref: a.fe.grant(TX_PAGE + 1, true), offset: 0, flags: NETTXF_extra_info, id: 51, size: ok.length });
    a.tx.put(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // XEN_NETIF_EXTRA_TYPE_GSO, no MORE
    a.putTx({ gref: 12345, offset: 0, flags: 0, id: 52, size: 60 }); // a grant that does not exist
    a.tx.push();
    a.fe.notify(a.port);
    expect(a.txResponses()).toEqual([
      { id: 50, status: NETIF_RSP_ERROR }, { id: 51, status: NETIF_RSP_OKAY }, { id: 0, status: NETIF_RSP_NULL }, { id: 52, status: NETIF_RSP_ERROR },
    ]);
    expect(b.receive().frames).toEqual([ok]);
    expect(a.be.stats).toMatchObject({ txErrors: 2, txPackets: 2 });
  });

  it('fatal framing stops the vif and only it: 19 slots, slot crossing the page, fragments bigger than the packet', () => {
    const cases: ((f: NetFront) => void)[] = [
      (f) => { for (let i = 0; i < 19; i++) f.putTx({ gref: f.fe.grant(TX_PAGE, true), offset: 0, flags: i < 18 ? NETTXF_more_data : 0, id: i, size: i === 0 ? 19 * 100 : 100 }); },
      (f) => f.putTx({ gref: f.fe.grant(TX_PAGE, true), offset: 4000, flags: 0, id: 1, size: 200 }),
      (f) => { f.putTx({ gref: f.fe.grant(TX_PAGE, true), offset: 0, flags: NETTXF_more_data, id: 1, size: 100 }); f.putTx({ gref: f.fe.grant(TX_PAGE, true), offset: 0, flags: 0, id: 2, size: 200 }); },
      (f) => f.putTx({ gref: f.fe.grant(TX_PAGE, true), offset: 0, flags: NETTXF_more_data, id: 1, size: 100 }), // never finished
      (f) => { f.putTx({ gref: 1, offset: 0, flags: NETTXF_extra_info, id: 1, size: 60 }); f.tx.put(new Uint8Array(12)); }, // extra type 0
    ];
    const reasons = [/more than 18 slots/, /crosses the page/, /fragments of 200 bytes in a packet of 100/, /continues past req_prod/, /extra-info type 0/];
    cases.forEach((mk, i) => {
      world = new World();
      bridge = new Bridge();
      const bad = new NetFront(world, world.addDomain(1), bridge, MAC1);
      const good = new NetFront(world, world.addDomain(2), bridge, MAC2);
      mk(bad);
      bad.tx.push();
      bad.fe.notify(bad.port);
      expect(bad.fatal.length).toBe(1);
      expect(bad.fatal[0]).toMatch(reasons[i]);
      expect(bad.be.channel.connected).toBe(false);
      expect(world.grants.activeMappings(1)).toBe(0);
      // The other vif is unaffected and frames to the stopped one are dropped.
      good.send(arp(1, MAC2, IP2, '00:00:00:00:00:00', IP1));
      expect(good.txResponses()[0].status).toBe(NETIF_RSP_OKAY);
      expect(bad.be.stats.rxNoBuffer).toBe(1);
    });
  });

  it('an rx buffer whose grant is revoked gets NETIF_RSP_ERROR for that slot; the next buffer works', () => {
    b.fe.revoke(10); // refs: tx ring 8, rx ring 9, then rx buffer id 0 is 10
    const f = arp(1, MAC1, IP1, '00:00:00:00:00:00', IP2);
    a.send(f);
    a.send(f);
    const got = b.receive();
    expect(got.raw[0]).toEqual({ id: 0, offset: 0, flags: 0, status: NETIF_RSP_ERROR });
    expect(got.frames).toEqual([f]);
    expect(b.be.stats).toMatchObject({ rxErrors: 1, rxPackets: 1 });
  });
});

describe('bridge', () => {
  class Sink implements BridgePort {
    got: Uint8Array[] = [];
    flushes = 0;
    constructor(readonly name: string) {}
    deliver(f: EthFrame): void { this.got.push(f.data); }
    flush(): void { this.flushes++; }
  }
  const frame = (dst: number, src: number) => Uint8Array.from([0, 0, 0, 0, 0, dst, 0, 0, 0, 0, 0, src, 8, 0]);

  it('bounded table: the least recently seen MAC is evicted', () => {
    const br = new Bridge({ maxEntries: 2 });
    const p = [new Sink('a'), new Sink('b')];
    const ids = p.map((s) => br.attach(s));
    br.input(ids[0], [{ data: frame(0xff, 1) }, { data: frame(0xff, 2) }, { data: frame(0xff, 1) }, { data: frame(0xff, 3) }]);
    expect(br.macTable().map((e) => e.mac)).toEqual(['00:00:00:00:00:01', '00:00:00:00:00:03']);
    expect(br.stats.evicted).toBe(1);
    expect(p[1].flushes).toBe(1); // one flush per batch
    expect(p[1].got.length).toBe(4);
  });

  it('drops runts, multicast and zero sources; filters frames to their own port; detach forgets', () => {
    const br = new Bridge();
    const s = [new Sink('a'), new Sink('b')];
    const [x, y] = s.map((p) => br.attach(p));
    const mcastSrc = frame(1, 0);
    mcastSrc[6] = 0x01;
    br.input(x, [{ data: new Uint8Array(13) }, { data: mcastSrc }, { data: frame(1, 0) }]);
    expect(br.stats.invalid).toBe(3);
    br.input(x, [{ data: frame(0xff, 1) }, { data: frame(1, 2) }]); // 2 is on x, and 1 is on x too
    expect(br.stats).toMatchObject({ flooded: 1, filtered: 1 });
    expect(s[1].got.length).toBe(1);
    br.detach(x);
    expect(br.lookup('00:00:00:00:00:01')).toBe(undefined);
    br.input(x, [{ data: frame(0xff, 1) }]); // a detached port's input is ignored
    expect(s[1].got.length).toBe(1);
    expect(br.portCount).toBe(1);
    void y;
  });
});
