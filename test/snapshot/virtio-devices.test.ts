/**
 * virtio-net, virtio-console and virtio-rng in snapshots (docs/snapshot.md): each transport is
 * driven as a driver would, saved mid-traffic, loaded into a new transport over a copy of guest
 * RAM (as a restore or a migration does), and the traffic goes on. The restored side must use the
 * same used-ring slots, deliver the frames and typed bytes that were waiting at the save, keep the
 * saved MAC (over its own mac=) and counters; a corrupt section is refused in one line.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../host/devices/virtio/mmio';
import { parseMac, type NetBackend, type NetBackendCounters } from '../../host/devices/virtio/net-backend';
import { NET_RX_BACKLOG, NET_RX_QUEUE, NET_TX_QUEUE, VirtioNet, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS } from '../../host/devices/virtio/net';
import { CONSOLE_RX_QUEUE, CONSOLE_TX_QUEUE, VirtioConsole } from '../../host/devices/virtio/console';
import { VirtioRng } from '../../host/devices/virtio/rng';
import { SectionReader, SectionWriter, SnapshotError } from '../../host/snapshot/format';
import { Driver, RAM, TestIrq, TestMemory } from '../host/devices/virtio/driver';

const BUF = RAM + 0x20000n;

class TestBackend implements NetBackend {
  onReceive: ((frame: Uint8Array) => void) | undefined;
  readonly counters: NetBackendCounters = { sent: 0, received: 0, dropped: 0 };
  readonly sent: Uint8Array[] = [];
  send(frame: Uint8Array): void { this.sent.push(frame.slice()); }
  deliver(frame: Uint8Array): void { this.onReceive?.(frame); }
  close(): void {}
}

const frame = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);

/** Save `dev`, load it into `make()`'s transport over a copy of `mem`; drivers carry their avail index. */
function migrate<T extends M.VirtioMmio>(dev: T, mem: TestMemory, make: (mem: TestMemory, irq: TestIrq) => T, drivers: Driver[]) {
  const w = new SectionWriter();
  dev.quiesceState();
  dev.saveState(w);
  const mem2 = new TestMemory(mem.size);
  mem2.bytes.set(mem.bytes);
  const irq2 = new TestIrq();
  const dev2 = make(mem2, irq2);
  const r = new SectionReader('s.wvsnap', 'DEVC:virtio-mmio@10008000', w.result());
  dev2.loadState(r, 1);
  r.end();
  const drv2 = drivers.map((d) => {
    const n = new Driver(dev2, mem2, d.qsize, d.queue);
    n.availIdx = d.availIdx;
    return n;
  });
  return { dev: dev2, mem: mem2, irq: irq2, drivers: drv2, bytes: w.result() };
}

describe('virtio-net in a snapshot', () => {
  const FEATURES = M.VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS;
  function netSide(mem: TestMemory, irq: TestIrq, mac?: string) {
    const backend = new TestBackend();
    const net = new VirtioNet(backend, { mac: mac ? parseMac(mac) : undefined });
    return { backend, net, dev: new M.VirtioMmio(net, mem, irq) };
  }

  it('frames waiting for receive buffers, the MAC and the counters go across; rings continue in their slots', () => {
    const mem = new TestMemory();
    const src = netSide(mem, new TestIrq(), '52:54:00:aa:bb:cc');
    const rx = new Driver(src.dev, mem, 8, NET_RX_QUEUE);
    const tx = new Driver(src.dev, mem, 8, NET_TX_QUEUE);
    rx.negotiate(FEATURES);
    rx.setupQueue();
    tx.setupQueue();
    rx.set(M.STATUS, rx.reg(M.STATUS) | M.STATUS_DRIVER_OK);
    // One frame out, one in (through an offered buffer), then two that wait: no buffers left.
    mem.write(BUF + 0x100n, frame(60, 1));
    tx.offer(tx.chain([{ addr: BUF, len: 12 }, { addr: BUF + 0x100n, len: 60 }]));
    tx.notify();
    rx.offer(rx.chain([{ addr: BUF + 0x1000n, len: 1526, write: true }]));
    rx.notify();
    src.backend.deliver(frame(100, 2));
    src.backend.deliver(frame(1514, 3));
    src.backend.deliver(frame(42, 4));
    expect([rx.usedIdx(), src.net.backlogFrames]).toEqual([1, 2]);

    let tgt: ReturnType<typeof netSide> | undefined;
    const m = migrate(src.dev, mem, (mem2, irq2) => (tgt = netSide(mem2, irq2, '52:54:00:00:00:01')).dev, [rx, tx]);
    const [rx2, tx2] = m.drivers;
    const t = tgt!;
    // The saved MAC wins over the target's mac= (the guest's driver read it at probe).
    expect([0, 1, 2, 3, 4, 5].map((i) => Number(m.dev.read(M.CONFIG + i, 1)))).toEqual([0x52, 0x54, 0, 0xaa, 0xbb, 0xcc]);
    expect(Array.from(t.net.mac)).toEqual([0x52, 0x54, 0, 0xaa, 0xbb, 0xcc]);
    expect(t.net.backlogFrames).toBe(2);
    expect(t.net.counters).toEqual({ txFrames: 1, txBytes: 60, rxFrames: 1, rxBytes: 100, rxDropped: 0, rxTooLong: 0 });
    expect(m.dev.snapshot()).toEqual(src.dev.snapshot());

    // The guest offers two buffers on the target: the waiting frames fill them, in order, in used slots 1 and 2.
    rx2.offer(rx2.chain([{ addr: BUF + 0x2000n, len: 1526, write: true }], 2));
    rx2.offer(rx2.chain([{ addr: BUF + 0x3000n, len: 1526, write: true }], 4));
    rx2.notify();
    expect([rx2.usedIdx(), rx2.used(1), rx2.used(2)]).toEqual([3, { id: 2, len: 12 + 1514 }, { id: 4, len: 12 + 42 }]);
    expect(m.mem.read(BUF + 0x2000n + 12n, 1514)).toEqual(frame(1514, 3));
    expect(m.mem.read(BUF + 0x3000n + 12n, 42)).toEqual(frame(42, 4));
    expect(m.irq.level).toBe(true);
    // Transmit goes on through the target's own backend, in the next used slot.
    m.mem.write(BUF + 0x400n, frame(70, 5));
    tx2.offer(tx2.chain([{ addr: BUF + 0x300n, len: 12 }, { addr: BUF + 0x400n, len: 70 }], 2));
    tx2.notify();
    expect([t.backend.sent, tx2.usedIdx(), tx2.used(1)]).toEqual([[frame(70, 5)], 2, { id: 2, len: 0 }]);
    expect(t.net.counters).toEqual({ txFrames: 2, txBytes: 130, rxFrames: 3, rxBytes: 1656, rxDropped: 0, rxTooLong: 0 });
  });

  it('a driver without VERSION_1 keeps its 10-byte header across', () => {
    const mem = new TestMemory();
    const src = netSide(mem, new TestIrq());
    const rx = new Driver(src.dev, mem, 8, NET_RX_QUEUE);
    rx.negotiate(VIRTIO_NET_F_MAC);
    rx.setupQueue();
    rx.set(M.STATUS, rx.reg(M.STATUS) | M.STATUS_DRIVER_OK);
    src.backend.deliver(frame(50, 6));
    let tgt: ReturnType<typeof netSide> | undefined;
    const m = migrate(src.dev, mem, (mem2, irq2) => (tgt = netSide(mem2, irq2)).dev, [rx]);
    m.drivers[0].offer(m.drivers[0].chain([{ addr: BUF, len: 1524, write: true }]));
    m.drivers[0].notify();
    expect([m.drivers[0].used(0), tgt!.net.backlogFrames]).toEqual([{ id: 0, len: 10 + 50 }, 0]);
    expect(m.mem.read(BUF + 10n, 50)).toEqual(frame(50, 6));
  });

  it('a section with a bad header size or too many frames is refused in one line, the device unchanged', () => {
    const mk = (hdr: number, frames: number) => {
      const w = new SectionWriter();
      w.json({ status: 0, deviceFeaturesSel: 0, driverFeaturesSel: 0, driverFeatures: '0', queueSel: 0, interruptStatus: 0, queues: [] });
      w.json({ hdrSize: hdr, counters: {} });
      w.bytes(new Uint8Array(6));
      w.u32(frames);
      return new SectionReader('s.wvsnap', 'DEVC:virtio-mmio@10008000', w.result());
    };
    const s = netSide(new TestMemory(), new TestIrq());
    expect(() => s.dev.loadState(mk(7, 0), 1)).toThrow(new SnapshotError('s.wvsnap', 'section DEVC:virtio-mmio@10008000: virtio-net header size 7'));
    expect(() => s.dev.loadState(mk(12, NET_RX_BACKLOG + 1), 1)).toThrow(new SnapshotError('s.wvsnap', `section DEVC:virtio-mmio@10008000: ${NET_RX_BACKLOG + 1} frames waiting, at most ${NET_RX_BACKLOG}`));
    expect(Array.from(s.net.mac)).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
  });
});

describe('virtio-console in a snapshot', () => {
  function conSide(mem: TestMemory, irq: TestIrq) {
    const out: Uint8Array[] = [];
    const con = new VirtioConsole((b) => out.push(b.slice()));
    return { out, con, dev: new M.VirtioMmio(con, mem, irq) };
  }
  it('typed input the guest has not read goes across and reaches it on the target; output continues there', () => {
    const mem = new TestMemory();
    const src = conSide(mem, new TestIrq());
    const rx = new Driver(src.dev, mem, 8, CONSOLE_RX_QUEUE);
    const tx = new Driver(src.dev, mem, 8, CONSOLE_TX_QUEUE);
    rx.negotiate(M.VIRTIO_F_VERSION_1);
    rx.setupQueue();
    tx.setupQueue();
    rx.set(M.STATUS, rx.reg(M.STATUS) | M.STATUS_DRIVER_OK);
    rx.offer(rx.chain([{ addr: BUF, len: 4, write: true }]));
    rx.notify();
    src.con.receive(new TextEncoder().encode('ls -l\n')); // 4 bytes go in, "l\n" waits
    mem.write(BUF + 0x100n, new TextEncoder().encode('$ '));
    tx.offer(tx.chain([{ addr: BUF + 0x100n, len: 2 }]));
    tx.notify();
    expect([rx.usedIdx(), src.con.pendingInput(), Buffer.concat(src.out).toString()]).toEqual([1, 2, '$ ']);

    let tgt: ReturnType<typeof conSide> | undefined;
    const m = migrate(src.dev, mem, (mem2, irq2) => (tgt = conSide(mem2, irq2)).dev, [rx, tx]);
    const [rx2, tx2] = m.drivers;
    expect([tgt!.con.pendingInput(), tgt!.con.counters]).toEqual([2, { outBytes: 2, inBytes: 4, inputDropped: 0 }]);
    rx2.offer(rx2.chain([{ addr: BUF + 0x200n, len: 16, write: true }], 1));
    rx2.notify();
    expect([rx2.usedIdx(), rx2.used(1)]).toEqual([2, { id: 1, len: 2 }]);
    expect(new TextDecoder().decode(m.mem.read(BUF + 0x200n, 2))).toBe('l\n');
    m.mem.write(BUF + 0x300n, new TextEncoder().encode('total 0\n'));
    tx2.offer(tx2.chain([{ addr: BUF + 0x300n, len: 8 }], 1));
    tx2.notify();
    expect([Buffer.concat(tgt!.out).toString(), tx2.usedIdx(), tx2.used(1)]).toEqual(['total 0\n', 2, { id: 1, len: 0 }]);
    expect(tgt!.con.counters).toEqual({ outBytes: 10, inBytes: 6, inputDropped: 0 });
  });
});

describe('virtio-rng in a snapshot', () => {
  it('counters and the queue go across; the target fills the next buffer from its own source', () => {
    const mem = new TestMemory();
    const dev = new M.VirtioMmio(new VirtioRng((b) => b.fill(0x11)), mem, new TestIrq());
    const drv = new Driver(dev, mem, 8, 0);
    drv.init(M.VIRTIO_F_VERSION_1);
    drv.offer(drv.chain([{ addr: BUF, len: 32, write: true }]));
    drv.notify();
    let rng2: VirtioRng | undefined;
    const m = migrate(dev, mem, (mem2, irq2) => new M.VirtioMmio((rng2 = new VirtioRng((b) => b.fill(0x22))), mem2, irq2), [drv]);
    expect(rng2!.counters).toEqual({ requests: 1, bytes: 32 });
    m.drivers[0].offer(m.drivers[0].chain([{ addr: BUF + 0x100n, len: 16, write: true }], 1));
    m.drivers[0].notify();
    expect([m.drivers[0].usedIdx(), m.drivers[0].used(1)]).toEqual([2, { id: 1, len: 16 }]);
    expect(Array.from(m.mem.read(BUF, 32)).every((b) => b === 0x11)).toBe(true);
    expect(Array.from(m.mem.read(BUF + 0x100n, 16)).every((b) => b === 0x22)).toBe(true);
    expect(rng2!.counters).toEqual({ requests: 2, bytes: 48 });
  });
});
