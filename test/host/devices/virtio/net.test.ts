/**
 * The virtio network device (virtio 1.x §5.1) driven through its virtio-mmio transport as a
 * driver would: features, config space, transmit and receive chains with the exact used-ring
 * entries and bytes, interrupts, the receive backlog, and the in-process hub backend.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../../../host/devices/virtio/mmio';
import { NetHub, netPair, parseMac, type NetBackend, type NetBackendCounters } from '../../../../host/devices/virtio/net-backend';
import {
  NET_RX_BACKLOG, NET_RX_QUEUE, NET_TX_QUEUE, VirtioNet, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS,
} from '../../../../host/devices/virtio/net';
import { Driver, TestIrq, TestMemory, RAM } from './driver';

/** A backend that records what the guest sent and lets the test deliver frames. */
class TestBackend implements NetBackend {
  onReceive: ((frame: Uint8Array) => void) | undefined;
  readonly counters: NetBackendCounters = { sent: 0, received: 0, dropped: 0 };
  readonly sent: Uint8Array[] = [];
  send(frame: Uint8Array): void {
    this.sent.push(frame.slice());
  }
  deliver(frame: Uint8Array): void {
    this.onReceive?.(frame);
  }
  close(): void {}
}

const FEATURES = M.VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS;
const BUF = RAM + 0x20000n;

function frame(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);
}

function setup(opts: { features?: bigint; mac?: Uint8Array; live?: boolean } = {}) {
  const mem = new TestMemory();
  const irq = new TestIrq();
  const backend = new TestBackend();
  const net = new VirtioNet(backend, { mac: opts.mac });
  const dev = new M.VirtioMmio(net, mem, irq);
  let events = 0;
  dev.onDeviceEvent = () => events++;
  const rx = new Driver(dev, mem, 8, NET_RX_QUEUE);
  const tx = new Driver(dev, mem, 8, NET_TX_QUEUE);
  if (opts.live !== false) {
    rx.negotiate(opts.features ?? FEATURES);
    rx.setupQueue();
    tx.setupQueue();
    rx.set(M.STATUS, rx.reg(M.STATUS) | M.STATUS_DRIVER_OK);
  }
  return { mem, irq, backend, net, dev, rx, tx, events: () => events };
}

describe('virtio-net: identification, features, config space', () => {
  it('device ID 1; offers VERSION_1, MAC (bit 5) and STATUS (bit 16) only', () => {
    const { rx } = setup({ live: false });
    expect(rx.reg(M.DEVICE_ID)).toBe(1);
    rx.set(M.DEVICE_FEATURES_SEL, 0);
    expect(rx.reg(M.DEVICE_FEATURES)).toBe(0x0001_0020);
    rx.set(M.DEVICE_FEATURES_SEL, 1);
    expect(rx.reg(M.DEVICE_FEATURES)).toBe(1);
  });
  it('two queues of 256 entries; a third does not exist', () => {
    const { rx } = setup({ live: false });
    for (const [q, max] of [[0, 256], [1, 256], [2, 0]]) {
      rx.set(M.QUEUE_SEL, q);
      expect(rx.reg(M.QUEUE_NUM_MAX)).toBe(max);
    }
  });
  it('config: the default MAC 52:54:00:12:34:56, status LINK_UP, nothing past byte 8; writes ignored', () => {
    const { dev } = setup();
    const cfg = (off: number, size: number) => Number(dev.read(M.CONFIG + off, size));
    expect([0, 1, 2, 3, 4, 5].map((i) => cfg(i, 1))).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    expect(cfg(0, 4)).toBe(0x1200_5452);
    expect(cfg(6, 2)).toBe(1);
    expect(cfg(8, 4)).toBe(0);
    dev.write(M.CONFIG, 1, 0xffn);
    dev.write(M.CONFIG + 6, 2, 0n);
    expect([cfg(0, 1), cfg(6, 2)]).toEqual([0x52, 1]);
  });
  it('mac= puts another address in config space', () => {
    const mac = parseMac('52:54:00:ab:cd:ef')!;
    const { dev } = setup({ mac });
    expect([0, 1, 2, 3, 4, 5].map((i) => Number(dev.read(M.CONFIG + i, 1)))).toEqual([0x52, 0x54, 0, 0xab, 0xcd, 0xef]);
  });
  it('parseMac takes six colon-separated hex pairs only', () => {
    expect(parseMac('52:54:00:12:34:56')).toEqual(Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56));
    for (const bad of ['52:54:00:12:34', '52-54-00-12-34-56', '52:54:00:12:34:5g', '']) expect(parseMac(bad)).toBeUndefined();
  });
});

describe('virtio-net: transmit', () => {
  it('the bytes after the 12-byte header go to the backend; used entry {head, 0}; one interrupt', () => {
    const { mem, irq, backend, dev, tx, net } = setup();
    const f = frame(60, 1);
    mem.write(BUF, new Uint8Array(12));
    mem.write(BUF + 0x100n, f);
    const head = tx.chain([{ addr: BUF, len: 12 }, { addr: BUF + 0x100n, len: 60 }], 3);
    tx.offer(head);
    tx.notify();
    expect(backend.sent).toEqual([f]);
    expect(tx.usedIdx()).toBe(1);
    expect(tx.used(0)).toEqual({ id: 3, len: 0 });
    expect(tx.reg(M.INTERRUPT_STATUS)).toBe(M.INT_VRING);
    expect([irq.level, irq.rises]).toEqual([true, 1]);
    expect(net.counters).toMatchObject({ txFrames: 1, txBytes: 60 });
    tx.set(M.INTERRUPT_ACK, M.INT_VRING);
    expect(irq.level).toBe(false);
    expect(dev.counters.notifies).toBe(1);
  });
  it('header and frame in one descriptor (any layout, §2.7.4.4)', () => {
    const { mem, backend, tx } = setup();
    const f = frame(1514, 2);
    mem.write(BUF + 12n, f);
    tx.offer(tx.chain([{ addr: BUF, len: 12 + 1514 }]));
    tx.notify();
    expect(backend.sent).toEqual([f]);
  });
  it('a driver without VERSION_1 uses the 10-byte legacy header', () => {
    const { mem, backend, tx } = setup({ features: VIRTIO_NET_F_MAC });
    const f = frame(42, 3);
    mem.write(BUF + 10n, f);
    tx.offer(tx.chain([{ addr: BUF, len: 10 + 42 }]));
    tx.notify();
    expect(backend.sent).toEqual([f]);
  });
  it('a chain with nothing after the header sends nothing but is used', () => {
    const { backend, tx } = setup();
    tx.offer(tx.chain([{ addr: BUF, len: 12 }]));
    tx.notify();
    expect([backend.sent.length, tx.usedIdx(), tx.used(0).len]).toEqual([0, 1, 0]);
  });
});

describe('virtio-net: receive', () => {
  /** Offer receive buffer i (1526 bytes at BUF + i * 0x1000) on descriptor 2i. */
  function offerRx(rx: Driver, i: number, len = 1526): void {
    rx.offer(rx.chain([{ addr: BUF + BigInt(i) * 0x1000n, len, write: true }], 2 * i));
  }

  it('a frame with a buffer offered is written at once after a zero header with num_buffers 1', () => {
    const { mem, irq, backend, rx, events, dev } = setup();
    mem.bytes.fill(0xee, Number(BUF - RAM), Number(BUF - RAM) + 0x2000);
    offerRx(rx, 0);
    rx.notify();
    expect(rx.usedIdx()).toBe(0);
    const f = frame(98, 4);
    backend.deliver(f);
    expect(rx.usedIdx()).toBe(1);
    expect(rx.used(0)).toEqual({ id: 0, len: 12 + 98 });
    expect(mem.read(BUF, 12)).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0));
    expect(mem.read(BUF + 12n, 98)).toEqual(f);
    expect(mem.u8(BUF + 110n)).toBe(0xee); // nothing past the frame
    expect([irq.level, rx.reg(M.INTERRUPT_STATUS), events()]).toEqual([true, M.INT_VRING, 1]);
    expect(dev.counters.notifies).toBe(1); // the delivery itself is no notify
  });
  it('frames wait for buffers and fill them in order when the driver offers and notifies', () => {
    const { mem, backend, rx, net } = setup();
    backend.deliver(frame(60, 1));
    backend.deliver(frame(70, 2));
    expect(net.backlogFrames).toBe(2);
    offerRx(rx, 0);
    offerRx(rx, 1);
    rx.notify();
    expect(rx.usedIdx()).toBe(2);
    expect([rx.used(0), rx.used(1)]).toEqual([{ id: 0, len: 72 }, { id: 2, len: 82 }]);
    expect(mem.read(BUF + 0x1000n + 12n, 70)).toEqual(frame(70, 2));
    expect(net.counters).toMatchObject({ rxFrames: 2, rxBytes: 130 });
  });
  it('a frame larger than the buffer is dropped and the buffer kept for the next frame', () => {
    const { backend, rx, net } = setup();
    offerRx(rx, 0, 100);
    rx.notify();
    backend.deliver(frame(100, 1)); // needs 112 bytes
    expect([rx.usedIdx(), net.counters.rxTooLong]).toEqual([0, 1]);
    backend.deliver(frame(88, 2)); // fits exactly
    expect(rx.usedIdx()).toBe(1);
    expect(rx.used(0)).toEqual({ id: 0, len: 100 });
  });
  it('a driver without VERSION_1 gets the 10-byte header', () => {
    const { mem, backend, rx } = setup({ features: VIRTIO_NET_F_MAC });
    offerRx(rx, 0);
    rx.notify();
    backend.deliver(frame(60, 5));
    expect(rx.used(0)).toEqual({ id: 0, len: 70 });
    expect(mem.read(BUF + 10n, 60)).toEqual(frame(60, 5));
  });
  it(`at most ${NET_RX_BACKLOG} frames wait; later ones are dropped and counted`, () => {
    const { backend, net } = setup();
    for (let i = 0; i < NET_RX_BACKLOG + 3; i++) backend.deliver(frame(60, i));
    expect([net.backlogFrames, net.counters.rxDropped]).toEqual([NET_RX_BACKLOG, 3]);
  });
  it('before DRIVER_OK nothing is written; the frame is delivered once the driver is up', () => {
    const { backend, rx, tx } = setup({ live: false });
    rx.negotiate(FEATURES); // (a reset first: it would drop frames that came before)
    rx.setupQueue();
    tx.setupQueue();
    backend.deliver(frame(60, 1));
    offerRx(rx, 0);
    rx.notify(); // not DRIVER_OK yet: ignored
    expect(rx.usedIdx()).toBe(0);
    rx.set(M.STATUS, rx.reg(M.STATUS) | M.STATUS_DRIVER_OK);
    rx.notify();
    expect(rx.used(0)).toEqual({ id: 0, len: 72 });
  });
  it('VIRTQ_AVAIL_F_NO_INTERRUPT suppresses the used-buffer interrupt', () => {
    const { mem, irq, backend, rx } = setup();
    mem.setU16(rx.rings.avail, 1);
    offerRx(rx, 0);
    rx.notify();
    backend.deliver(frame(60, 1));
    expect([rx.usedIdx(), irq.level]).toEqual([1, false]);
  });
  it('a device reset drops waiting frames', () => {
    const { backend, rx, net } = setup();
    backend.deliver(frame(60, 1));
    rx.set(M.STATUS, 0);
    expect(net.backlogFrames).toBe(0);
  });
});

describe('in-process links (NetHub, netPair)', () => {
  const tick = () => new Promise<void>((r) => setImmediate(r));
  it('a pair delivers each frame to the other end one event-loop turn later', async () => {
    const [a, b] = netPair();
    const got: Uint8Array[] = [];
    b.onReceive = (f) => got.push(f);
    a.send(frame(60, 1));
    expect(got).toEqual([]);
    await tick();
    expect(got).toEqual([frame(60, 1)]);
    expect([a.counters.sent, b.counters.received]).toEqual([1, 1]);
  });
  it('a frame to a closed peer is dropped and counted', async () => {
    const [a, b] = netPair();
    b.close();
    a.send(frame(60, 1));
    await tick();
    expect(a.counters).toEqual({ sent: 0, received: 0, dropped: 1 });
  });
  it('a hub of three passes a frame to both others', async () => {
    const hub = new NetHub();
    const [a, b, c] = [hub.port(), hub.port(), hub.port()];
    const got: string[] = [];
    b.onReceive = () => got.push('b');
    c.onReceive = () => got.push('c');
    a.onReceive = () => got.push('a');
    a.send(frame(60, 1));
    await tick();
    expect(got.sort()).toEqual(['b', 'c']);
  });
  it('two devices on a pair: a frame sent by one lands in the other one receive buffer', async () => {
    const [pa, pb] = netPair();
    const mk = (backend: NetBackend) => {
      const mem = new TestMemory();
      const dev = new M.VirtioMmio(new VirtioNet(backend), mem, new TestIrq());
      const rx = new Driver(dev, mem, 8, NET_RX_QUEUE);
      const tx = new Driver(dev, mem, 8, NET_TX_QUEUE);
      rx.negotiate(FEATURES);
      rx.setupQueue();
      tx.setupQueue();
      rx.set(M.STATUS, rx.reg(M.STATUS) | M.STATUS_DRIVER_OK);
      return { mem, rx, tx };
    };
    const A = mk(pa);
    const B = mk(pb);
    B.rx.offer(B.rx.chain([{ addr: BUF, len: 1526, write: true }]));
    B.rx.notify();
    const f = frame(342, 9);
    A.mem.write(BUF + 12n, f);
    A.tx.offer(A.tx.chain([{ addr: BUF, len: 12 + 342 }]));
    A.tx.notify();
    await tick();
    expect(B.rx.used(0)).toEqual({ id: 0, len: 354 });
    expect(B.mem.read(BUF + 12n, 342)).toEqual(f);
  });
});
