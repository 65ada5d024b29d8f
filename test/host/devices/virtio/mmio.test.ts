/**
 * The virtio-mmio transport's registers (virtio 1.x §4.2.2) with a block device behind it:
 * identification, feature selection, the status state machine (§3.1.1), queue setup rules,
 * interrupt status and acknowledge, reset.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../../../host/devices/virtio/mmio';
import { MemoryBackend } from '../../../../host/devices/virtio/backend';
import { VirtioBlk, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_T_IN } from '../../../../host/devices/virtio/blk';
import { AVAIL, DATA, DESC, Driver, TestIrq, TestMemory, USED } from './driver';

const A = M.STATUS_ACKNOWLEDGE, D = M.STATUS_DRIVER, F = M.STATUS_FEATURES_OK, OK = M.STATUS_DRIVER_OK;
const FEATURES = M.VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_FLUSH;

function setup(opts: { readOnly?: boolean } = {}) {
  const mem = new TestMemory();
  const irq = new TestIrq();
  const blk = new VirtioBlk(new MemoryBackend(64 * 512, opts));
  const dev = new M.VirtioMmio(blk, mem, irq, 'virtio-mmio@10001000');
  return { mem, irq, blk, dev, drv: new Driver(dev, mem) };
}

describe('identification', () => {
  it('reads magic "virt", version 2, device 2 (block), vendor "QEMU"', () => {
    const { drv } = setup();
    expect(drv.reg(M.MAGIC_VALUE)).toBe(0x74726976);
    expect(drv.reg(M.VERSION)).toBe(2);
    expect(drv.reg(M.DEVICE_ID)).toBe(2);
    expect(drv.reg(M.VENDOR_ID)).toBe(0x554d4551);
  });
  it('narrow reads see the bytes of the register word', () => {
    const { dev } = setup();
    expect(dev.read(M.MAGIC_VALUE, 1)).toBe(0x76n);
    expect(dev.read(M.MAGIC_VALUE + 2, 2)).toBe(0x7472n);
  });
  it('no shared memory regions: SHMLen and SHMBase read all ones; ConfigGeneration 0', () => {
    const { drv } = setup();
    for (const r of [M.SHM_LEN_LOW, M.SHM_LEN_HIGH, M.SHM_BASE_LOW, M.SHM_BASE_HIGH]) expect(drv.reg(r)).toBe(0xffffffff);
    expect(drv.reg(M.CONFIG_GENERATION)).toBe(0);
  });
  it('counts every register access', () => {
    const { drv, dev } = setup();
    drv.reg(M.MAGIC_VALUE);
    drv.set(M.STATUS, A);
    expect(dev.counters.registerAccesses).toBe(2);
  });
});

describe('features', () => {
  it('offers VERSION_1, SEG_MAX and FLUSH through the two selector words; words 2+ read 0', () => {
    const { drv } = setup();
    drv.set(M.DEVICE_FEATURES_SEL, 0);
    expect(drv.reg(M.DEVICE_FEATURES)).toBe((1 << 2) | (1 << 9));
    drv.set(M.DEVICE_FEATURES_SEL, 1);
    expect(drv.reg(M.DEVICE_FEATURES)).toBe(1);
    drv.set(M.DEVICE_FEATURES_SEL, 2);
    expect(drv.reg(M.DEVICE_FEATURES)).toBe(0);
  });
  it('a read-only disk also offers VIRTIO_BLK_F_RO (bit 5)', () => {
    const { drv } = setup({ readOnly: true });
    expect(drv.deviceFeatures()).toBe(FEATURES | VIRTIO_BLK_F_RO);
  });
  it('FEATURES_OK sticks for an offered subset with VERSION_1', () => {
    const { drv } = setup();
    drv.negotiate(M.VIRTIO_F_VERSION_1);
    expect(drv.reg(M.STATUS)).toBe(A | D | F);
  });
  // docs/board.md "Virtio feature negotiation": as QEMU, VERSION_1 is not required.
  it('FEATURES_OK sticks without VERSION_1 for a driver that writes only feature word 0 (as QEMU)', () => {
    const { drv, dev } = setup();
    drv.set(M.STATUS, A);
    drv.set(M.STATUS, A | D);
    drv.set(M.DEVICE_FEATURES_SEL, 0);
    const word0 = drv.reg(M.DEVICE_FEATURES);
    drv.set(M.DRIVER_FEATURES_SEL, 0);
    drv.set(M.DRIVER_FEATURES, word0 & ~(1 << 9)); // SEG_MAX only, as xv6 (it clears FLUSH)
    drv.set(M.STATUS, A | D | F);
    expect(drv.reg(M.STATUS)).toBe(A | D | F);
    expect(dev.snapshot().driverFeatures).toBe(String(VIRTIO_BLK_F_SEG_MAX));
  });
  it('a word-0-only driver that accepts an unoffered bit is still refused', () => {
    const { drv } = setup();
    drv.set(M.STATUS, A);
    drv.set(M.STATUS, A | D);
    drv.set(M.DRIVER_FEATURES_SEL, 0);
    drv.set(M.DRIVER_FEATURES, (1 << 2) | (1 << 5)); // SEG_MAX and RO (RO not offered: disk is writable)
    drv.set(M.STATUS, A | D | F);
    expect(drv.reg(M.STATUS)).toBe(A | D);
  });
  it('FEATURES_OK is refused for a feature the device did not offer', () => {
    const { drv } = setup();
    drv.negotiate(M.VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO);
    expect(drv.reg(M.STATUS)).toBe(A | D);
    drv.negotiate(M.VIRTIO_F_VERSION_1 | (1n << 28n)); // INDIRECT_DESC, not offered
    expect(drv.reg(M.STATUS)).toBe(A | D);
  });
  it('driver features written after FEATURES_OK are ignored', () => {
    const { drv } = setup();
    drv.negotiate(M.VIRTIO_F_VERSION_1);
    drv.driverFeatures(0n); // would drop VERSION_1
    drv.set(M.STATUS, A | D | F | OK);
    expect(drv.reg(M.STATUS)).toBe(A | D | F | OK);
    expect(drv.dev.snapshot().driverFeatures).toBe(String(M.VIRTIO_F_VERSION_1));
  });
});

describe('status state machine', () => {
  it('bits are added in the §3.1.1 order, one at a time', () => {
    const { drv } = setup();
    expect(drv.reg(M.STATUS)).toBe(0);
    drv.set(M.STATUS, A | D); // skipping ACKNOWLEDGE
    expect(drv.reg(M.STATUS)).toBe(0);
    drv.set(M.STATUS, A);
    expect(drv.reg(M.STATUS)).toBe(A);
    drv.set(M.STATUS, A | F); // FEATURES_OK before DRIVER
    expect(drv.reg(M.STATUS)).toBe(A);
    drv.set(M.STATUS, A | D);
    expect(drv.reg(M.STATUS)).toBe(A | D);
    drv.set(M.STATUS, A | D | OK); // DRIVER_OK before FEATURES_OK
    expect(drv.reg(M.STATUS)).toBe(A | D);
  });
  it('a driver cannot clear a bit except by writing 0 (reset)', () => {
    const { drv } = setup();
    drv.negotiate(M.VIRTIO_F_VERSION_1);
    drv.set(M.STATUS, A);
    expect(drv.reg(M.STATUS)).toBe(A | D | F);
    drv.set(M.STATUS, 0);
    expect(drv.reg(M.STATUS)).toBe(0);
  });
  it('FAILED can be added at any point and then nothing else', () => {
    const { drv } = setup();
    drv.set(M.STATUS, A);
    drv.set(M.STATUS, A | M.STATUS_FAILED);
    expect(drv.reg(M.STATUS)).toBe(A | M.STATUS_FAILED);
    drv.set(M.STATUS, A | D | M.STATUS_FAILED);
    expect(drv.reg(M.STATUS)).toBe(A | M.STATUS_FAILED);
  });
  it('the driver cannot set DEVICE_NEEDS_RESET', () => {
    const { drv } = setup();
    drv.set(M.STATUS, A | M.STATUS_DEVICE_NEEDS_RESET);
    expect(drv.reg(M.STATUS)).toBe(A);
  });
  it('DRIVER_OK activates the device with the negotiated features', () => {
    const { drv, blk } = setup();
    drv.init(FEATURES);
    expect(drv.reg(M.STATUS)).toBe(A | D | F | OK);
    expect(blk.snapshot().flushNegotiated).toBe(true);
  });
  it('writing 0 resets features, queues and interrupts', () => {
    const { drv, irq, dev } = setup();
    drv.init(FEATURES);
    drv.chain([{ addr: DATA, len: 16 }, { addr: DATA + 16n, len: 1, write: true }]);
    drv.offer(0);
    drv.notify();
    expect(irq.level).toBe(true);
    drv.set(M.STATUS, 0);
    expect(irq.level).toBe(false);
    expect(drv.reg(M.INTERRUPT_STATUS)).toBe(0);
    expect(drv.reg(M.QUEUE_READY)).toBe(0);
    expect(dev.queues[0].nextAvail).toBe(0);
    expect(dev.snapshot().driverFeatures).toBe('0');
  });
});

describe('queue setup', () => {
  it('queue 0 has QueueNumMax 1024 (as QEMU); a queue past the last reads 0', () => {
    const { drv } = setup();
    drv.set(M.QUEUE_SEL, 0);
    expect(drv.reg(M.QUEUE_NUM_MAX)).toBe(1024);
    drv.set(M.QUEUE_SEL, 1);
    expect(drv.reg(M.QUEUE_NUM_MAX)).toBe(0);
    drv.set(M.QUEUE_READY, 1);
    expect(drv.reg(M.QUEUE_READY)).toBe(0);
  });
  it('takes the ring addresses as low/high halves and goes ready', () => {
    const { drv, dev } = setup();
    drv.negotiate(FEATURES);
    drv.setupQueue();
    expect(drv.reg(M.QUEUE_READY)).toBe(1);
    const q = dev.queues[0];
    expect([q.size, q.descAddr, q.driverAddr, q.deviceAddr]).toEqual([8, DESC, AVAIL, USED]);
  });
  it('QueueReady is refused before FEATURES_OK', () => {
    const { drv } = setup();
    drv.set(M.STATUS, A);
    drv.set(M.STATUS, A | D);
    drv.setupQueue();
    expect(drv.reg(M.QUEUE_READY)).toBe(0);
  });
  it.each([
    ['0', 0],
    ['not a power of 2', 6],
    ['above QueueNumMax', 2048],
  ])('QueueNum %s is ignored', (_what, num) => {
    const { drv, dev } = setup();
    drv.negotiate(FEATURES);
    drv.set(M.QUEUE_SEL, 0);
    drv.set(M.QUEUE_NUM, 4);
    drv.set(M.QUEUE_NUM, num);
    expect(dev.queues[0].size).toBe(4);
  });
  it('queue registers are frozen while the queue is ready', () => {
    const { drv, dev } = setup();
    drv.negotiate(FEATURES);
    drv.setupQueue();
    drv.set(M.QUEUE_NUM, 4);
    drv.set(M.QUEUE_DESC_LOW, 0x8000_4000);
    expect([dev.queues[0].size, dev.queues[0].descAddr]).toEqual([8, DESC]);
    drv.set(M.QUEUE_READY, 0);
    drv.set(M.QUEUE_NUM, 4);
    expect(dev.queues[0].size).toBe(4);
  });
  it.each([
    ['descriptor table misaligned', { desc: DESC + 8n }, 'descriptor table at 0x80001008 is not 16-byte aligned'],
    ['available ring misaligned', { avail: AVAIL + 1n }, 'available ring at 0x80002001 is not 2-byte aligned'],
    ['used ring misaligned', { used: USED + 2n }, 'used ring at 0x80003002 is not 4-byte aligned'],
    ['descriptor table below RAM', { desc: 0x7fff_f000n }, 'descriptor table at 0x7ffff000 (+0x80) is outside RAM'],
    ['used ring running past RAM', { used: 0x8004_0000n - 0x40n }, 'used ring at 0x8003ffc0 (+0x46) is outside RAM'],
    ['available ring in the high half', { avail: 0x1_8000_2000n }, 'available ring at 0x180002000 (+0x16) is outside RAM'],
  ])('%s: the queue stays down and the device needs a reset', (_what, layout, reason) => {
    const { drv, dev } = setup();
    drv.negotiate(FEATURES);
    drv.setupQueue(layout);
    expect(drv.reg(M.QUEUE_READY)).toBe(0);
    expect(drv.reg(M.STATUS)).toBe(A | D | F | M.STATUS_DEVICE_NEEDS_RESET);
    expect(dev.errorReason()).toBe(reason);
  });
});

describe('notification and interrupts', () => {
  function request(drv: Driver): void {
    drv.mem.setU32(DATA, VIRTIO_BLK_T_IN);
    drv.chain([{ addr: DATA, len: 16 }, { addr: DATA + 0x200n, len: 512, write: true }, { addr: DATA + 16n, len: 1, write: true }]);
    drv.offer(0);
  }
  it('a served request sets InterruptStatus bit 0 and raises the line; ACK lowers it', () => {
    const { drv, irq, dev } = setup();
    drv.init(FEATURES);
    request(drv);
    drv.notify();
    expect(drv.usedIdx()).toBe(1);
    expect(drv.reg(M.INTERRUPT_STATUS)).toBe(M.INT_VRING);
    expect([irq.level, irq.rises]).toEqual([true, 1]);
    drv.set(M.INTERRUPT_ACK, M.INT_CONFIG); // acking another bit changes nothing
    expect(irq.level).toBe(true);
    drv.set(M.INTERRUPT_ACK, M.INT_VRING);
    expect(drv.reg(M.INTERRUPT_STATUS)).toBe(0);
    expect(irq.level).toBe(false);
    expect(dev.counters).toMatchObject({ notifies: 1, interrupts: 1 });
  });
  it('VIRTQ_AVAIL_F_NO_INTERRUPT suppresses the interrupt, not the work', () => {
    const { drv, irq } = setup();
    drv.init(FEATURES);
    drv.mem.setU16(AVAIL, 1);
    request(drv);
    drv.notify();
    expect(drv.usedIdx()).toBe(1);
    expect(irq.level).toBe(false);
  });
  it('a notify before DRIVER_OK, for a missing queue, or of the wrong width is ignored', () => {
    const { drv, dev } = setup();
    drv.negotiate(FEATURES);
    drv.setupQueue();
    request(drv);
    drv.notify();
    expect(drv.usedIdx()).toBe(0);
    drv.set(M.STATUS, A | D | F | OK);
    drv.notify(1);
    dev.write(M.QUEUE_NOTIFY, 2, 0n);
    expect(drv.usedIdx()).toBe(0);
    drv.notify(0);
    expect(drv.usedIdx()).toBe(1);
  });
  it('a broken chain after DRIVER_OK sets DEVICE_NEEDS_RESET and a config interrupt', () => {
    const { drv, irq } = setup();
    drv.init(FEATURES);
    drv.chain([{ addr: DATA, len: 16, next: 0, flags: 1 }]); // loops on itself
    drv.offer(0);
    drv.notify();
    expect(drv.reg(M.STATUS)).toBe(A | D | F | OK | M.STATUS_DEVICE_NEEDS_RESET);
    expect(drv.reg(M.INTERRUPT_STATUS)).toBe(M.INT_CONFIG);
    expect(irq.level).toBe(true);
    // The status read back (with NEEDS_RESET) may be written back without harm.
    drv.set(M.STATUS, drv.reg(M.STATUS));
    expect(drv.reg(M.STATUS)).toBe(A | D | F | OK | M.STATUS_DEVICE_NEEDS_RESET);
    // Until a reset, further notifies do nothing.
    request(drv);
    drv.notify();
    expect(drv.usedIdx()).toBe(0);
    drv.set(M.STATUS, 0);
    expect(drv.reg(M.STATUS)).toBe(0);
  });
});

describe('config space', () => {
  it('capacity in 512-byte sectors at 0x100 (two words), seg_max 254 at 0x10c', () => {
    const { dev } = setup();
    expect(dev.read(0x100, 4)).toBe(64n);
    expect(dev.read(0x104, 4)).toBe(0n);
    expect(dev.read(0x100, 8)).toBe(64n);
    expect(dev.read(0x10c, 4)).toBe(254n);
    expect(dev.read(0x10c, 1)).toBe(254n);
    expect(dev.read(0x10d, 2)).toBe(0n);
    expect(dev.read(0x200, 4)).toBe(0n); // past the config structure
  });
  it('config writes are ignored', () => {
    const { dev } = setup();
    dev.write(0x100, 4, 0x1234n);
    expect(dev.read(0x100, 4)).toBe(64n);
  });
});

describe('snapshot', () => {
  it('is plain data and restores into a fresh transport', () => {
    const a = setup();
    a.drv.init(FEATURES);
    const snap = a.dev.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    const b = setup();
    b.dev.restore(snap);
    expect(b.drv.reg(M.STATUS)).toBe(A | D | F | OK);
    expect(b.dev.queues[0].snapshot()).toEqual(a.dev.queues[0].snapshot());
  });
});
