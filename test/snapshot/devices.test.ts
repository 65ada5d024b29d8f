/**
 * Devices in snapshots: a virtio-blk request in flight (cut at the device's byte budget, to be
 * finished on a later turn of the event loop) is finished by quiesceState before the save, so
 * the saved transport has no request in flight and loads into a new transport with the same
 * state; saving without quiescing is refused by the device model.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../host/devices/virtio/mmio';
import { MemoryBackend } from '../../host/devices/virtio/backend';
import { BLK_BATCH_BYTES, VirtioBlk, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN } from '../../host/devices/virtio/blk';
import { SectionReader, SectionWriter } from '../../host/snapshot/format';
import { DATA, Driver, TestIrq, TestMemory, type Desc } from '../host/devices/virtio/driver';

const FEATURES = M.VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_FLUSH;
const HDR = DATA;
const STATUS = DATA + 0x40n;
const BUF = DATA + 0x1000n;
const SEG = 64 * 1024;
const SEGS = BLK_BATCH_BYTES / SEG + 16;

function transport(deferred: (() => void)[]) {
  const mem = new TestMemory(1 << 20);
  const backend = new MemoryBackend(SEG * SEGS);
  backend.bytes.forEach((_, i) => { backend.bytes[i] = (i * 7 + 5) & 0xff; });
  const blk = new VirtioBlk(backend);
  const irq = new TestIrq();
  const dev = new M.VirtioMmio(blk, mem, irq, undefined, (f) => deferred.push(f));
  const drv = new Driver(dev, mem, 256);
  drv.init(FEATURES);
  return { mem, blk, irq, dev, drv };
}

describe('virtio-blk in a snapshot', () => {
  it('a request in flight is finished by quiesceState, then saved and loaded as plain state', () => {
    const deferred: (() => void)[] = [];
    const s = transport(deferred);
    s.mem.setU32(HDR, VIRTIO_BLK_T_IN);
    s.mem.setU32(HDR + 4n, 0);
    s.mem.setU64(HDR + 8n, 0n);
    const descs: Desc[] = [{ addr: HDR, len: 16 }];
    for (let i = 0; i < SEGS; i++) descs.push({ addr: BUF, len: SEG, write: true });
    descs.push({ addr: STATUS, len: 1, write: true });
    s.drv.offer(s.drv.chain(descs));
    s.drv.notify();
    expect([s.drv.usedIdx(), s.blk.pending(0), deferred.length]).toEqual([0, true, 1]); // in flight
    expect(() => s.blk.saveState(new SectionWriter())).toThrow('saveState with a request in flight');

    s.dev.quiesceState();
    expect([s.drv.usedIdx(), s.blk.pending(0), s.irq.level]).toEqual([1, false, true]);
    expect(s.drv.used(0)).toEqual({ id: 0, len: SEG * SEGS + 1 });
    expect(s.mem.u8(STATUS)).toBe(VIRTIO_BLK_S_OK);
    deferred.shift()!(); // the stale continuation finds nothing to do
    expect(s.drv.usedIdx()).toBe(1);

    const w = new SectionWriter();
    s.dev.saveState(w);
    const t = transport([]);
    t.dev.loadState(new SectionReader('f', 'DEVC:blk', w.result()), 1);
    expect(t.dev.snapshot()).toEqual(s.dev.snapshot());
    expect(t.irq.level).toBe(true); // the restored interrupt status drives the line
  });
});
