/**
 * The virtio console (§5.3, one port) and the virtio entropy device (§5.4) driven through their
 * transports: features, config space, the exact used-ring entries and bytes, interrupts, the
 * bounded input buffer.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../../../host/devices/virtio/mmio';
import { CONSOLE_RX_QUEUE, CONSOLE_TX_QUEUE, VirtioConsole, VIRTIO_CONSOLE_INPUT_LIMIT } from '../../../../host/devices/virtio/console';
import { RNG_CHAIN_LIMIT, VirtioRng } from '../../../../host/devices/virtio/rng';
import { Driver, TestIrq, TestMemory, RAM } from './driver';

const BUF = RAM + 0x20000n;
const text = (s: string) => new TextEncoder().encode(s);

function consoleSetup(live = true) {
  const mem = new TestMemory();
  const irq = new TestIrq();
  const out: Uint8Array[] = [];
  const con = new VirtioConsole((b) => out.push(b.slice()));
  const dev = new M.VirtioMmio(con, mem, irq);
  const rx = new Driver(dev, mem, 8, CONSOLE_RX_QUEUE);
  const tx = new Driver(dev, mem, 8, CONSOLE_TX_QUEUE);
  if (live) {
    rx.negotiate(M.VIRTIO_F_VERSION_1);
    rx.setupQueue();
    tx.setupQueue();
    rx.set(M.STATUS, rx.reg(M.STATUS) | M.STATUS_DRIVER_OK);
  }
  return { mem, irq, out, con, dev, rx, tx };
}

describe('virtio-console', () => {
  it('device ID 3, VERSION_1 only (no SIZE, MULTIPORT, EMERG_WRITE), two queues of 128', () => {
    const { rx } = consoleSetup(false);
    expect(rx.reg(M.DEVICE_ID)).toBe(3);
    expect(rx.deviceFeatures()).toBe(M.VIRTIO_F_VERSION_1);
    for (const [q, max] of [[0, 128], [1, 128], [2, 0]]) {
      rx.set(M.QUEUE_SEL, q);
      expect(rx.reg(M.QUEUE_NUM_MAX)).toBe(max);
    }
  });
  it('config: cols 0, rows 0, max_nr_ports 1, emerg_wr 0; writes are ignored', () => {
    const { dev } = consoleSetup();
    expect([0, 2, 4, 8, 12].map((o) => Number(dev.read(M.CONFIG + o, o < 4 ? 2 : 4)))).toEqual([0, 0, 1, 0, 0]);
    dev.write(M.CONFIG + 8, 4, 0x41n); // emerg_wr without EMERG_WRITE
    expect(Number(dev.read(M.CONFIG + 4, 4))).toBe(1);
  });
  it('transmit: readable bytes go to the output in chain order; used {head, 0}; interrupt', () => {
    const { mem, irq, out, tx, con } = consoleSetup();
    mem.write(BUF, text('hello, '));
    mem.write(BUF + 0x100n, text('hvc0\n'));
    tx.offer(tx.chain([{ addr: BUF, len: 7 }, { addr: BUF + 0x100n, len: 5 }], 4));
    tx.notify();
    expect(new TextDecoder().decode(Buffer.concat(out))).toBe('hello, hvc0\n');
    expect([tx.usedIdx(), tx.used(0)]).toEqual([1, { id: 4, len: 0 }]);
    expect([irq.level, tx.reg(M.INTERRUPT_STATUS)]).toEqual([true, M.INT_VRING]);
    expect(con.counters.outBytes).toBe(12);
  });
  it('receive: typed bytes fill offered buffers at once, each as far as it goes', () => {
    const { mem, irq, rx, con, dev } = consoleSetup();
    let events = 0;
    dev.onDeviceEvent = () => events++;
    rx.offer(rx.chain([{ addr: BUF, len: 4, write: true }], 0));
    rx.offer(rx.chain([{ addr: BUF + 0x100n, len: 64, write: true }], 1));
    rx.notify();
    expect(rx.usedIdx()).toBe(0); // nothing typed yet
    con.receive(text('ls -l\n'));
    expect(rx.usedIdx()).toBe(2);
    expect([rx.used(0), rx.used(1)]).toEqual([{ id: 0, len: 4 }, { id: 1, len: 2 }]);
    expect(new TextDecoder().decode(mem.read(BUF, 4))).toBe('ls -');
    expect(new TextDecoder().decode(mem.read(BUF + 0x100n, 2))).toBe('l\n');
    expect([irq.level, events, con.pendingInput()]).toEqual([true, 1, 0]);
  });
  it('input typed before buffers waits; the next notify delivers it', () => {
    const { mem, rx, con } = consoleSetup();
    con.receive(text('abc'));
    expect(con.pendingInput()).toBe(3);
    rx.offer(rx.chain([{ addr: BUF, len: 4096, write: true }]));
    rx.notify();
    expect(rx.used(0)).toEqual({ id: 0, len: 3 });
    expect(new TextDecoder().decode(mem.read(BUF, 3))).toBe('abc');
  });
  it(`at most ${VIRTIO_CONSOLE_INPUT_LIMIT} typed bytes wait; the rest is dropped and counted`, () => {
    const { con } = consoleSetup();
    con.receive(new Uint8Array(VIRTIO_CONSOLE_INPUT_LIMIT + 5));
    expect([con.pendingInput(), con.counters.inputDropped]).toEqual([VIRTIO_CONSOLE_INPUT_LIMIT, 5]);
  });
});

describe('virtio-rng', () => {
  function rngSetup(source?: (b: Uint8Array) => void) {
    const mem = new TestMemory();
    const irq = new TestIrq();
    const rng = new VirtioRng(source);
    const dev = new M.VirtioMmio(rng, mem, irq);
    const drv = new Driver(dev, mem, 8, 0);
    drv.init(M.VIRTIO_F_VERSION_1);
    return { mem, irq, rng, dev, drv };
  }
  it('device ID 4, VERSION_1 only, one queue of 64, no config space', () => {
    const { drv, dev } = rngSetup();
    expect(drv.reg(M.DEVICE_ID)).toBe(4);
    expect(drv.deviceFeatures()).toBe(M.VIRTIO_F_VERSION_1);
    drv.set(M.QUEUE_SEL, 0);
    expect(drv.reg(M.QUEUE_NUM_MAX)).toBe(64);
    drv.set(M.QUEUE_SEL, 1);
    expect(drv.reg(M.QUEUE_NUM_MAX)).toBe(0);
    expect(Number(dev.read(M.CONFIG, 4))).toBe(0);
  });
  it('each writable buffer is filled from the entropy source; used len = its length', () => {
    let k = 0;
    const { mem, irq, drv, rng } = rngSetup((b) => b.forEach((_, i) => (b[i] = (k++ * 7 + 1) & 0xff)));
    drv.offer(drv.chain([{ addr: BUF, len: 16, write: true }, { addr: BUF + 0x100n, len: 48, write: true }], 2));
    drv.notify();
    expect([drv.usedIdx(), drv.used(0)]).toEqual([1, { id: 2, len: 64 }]);
    const want = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 1) & 0xff);
    expect(mem.read(BUF, 16)).toEqual(want.subarray(0, 16));
    expect(mem.read(BUF + 0x100n, 48)).toEqual(want.subarray(16));
    expect(irq.level).toBe(true);
    expect(rng.counters).toEqual({ requests: 1, bytes: 64 });
  });
  it(`a buffer larger than ${RNG_CHAIN_LIMIT} bytes gets ${RNG_CHAIN_LIMIT} (§5.4.6.2 allows less)`, () => {
    const { drv } = rngSetup();
    drv.offer(drv.chain([{ addr: BUF, len: RNG_CHAIN_LIMIT + 4096, write: true }]));
    drv.notify();
    expect(drv.used(0)).toEqual({ id: 0, len: RNG_CHAIN_LIMIT });
  });
  it("the host's crypto by default: two reads of 64 bytes differ and are not all zero", () => {
    const { mem, drv } = rngSetup();
    drv.offer(drv.chain([{ addr: BUF, len: 64, write: true }], 0));
    drv.offer(drv.chain([{ addr: BUF + 0x100n, len: 64, write: true }], 1));
    drv.notify();
    const a = mem.read(BUF, 64);
    const b = mem.read(BUF + 0x100n, 64);
    expect(a.some((x) => x !== 0)).toBe(true);
    expect(Buffer.compare(a, b)).not.toBe(0);
  });
});
