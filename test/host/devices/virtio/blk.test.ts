/**
 * The virtio block device (virtio 1.x §5.2) driven through the transport by the test driver:
 * every request type, every status, the any-layout rule, read-only disks and capacity limits.
 * Each error case starts from a valid request and changes one field.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../../../host/devices/virtio/mmio';
import { MemoryBackend, type BlockBackend } from '../../../../host/devices/virtio/backend';
import {
  BLK_BATCH_BYTES, BLK_REQUEST_COST, VirtioBlk, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
} from '../../../../host/devices/virtio/blk';
import { DATA, Driver, TestIrq, TestMemory, type Desc } from './driver';

const SECTORS = 64;
const FEATURES = M.VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_FLUSH;
/** Request buffers: header, status, data. */
const HDR = DATA;
const STATUS = DATA + 0x40n;
const BUF = DATA + 0x1000n;

/** A memory disk that counts reads, writes and flushes, and can be told to fail. */
class SpyBackend extends MemoryBackend {
  flushes = 0;
  transfers = 0;
  failing = false;
  override read(offset: number, dst: Uint8Array): void {
    this.transfers++;
    if (this.failing) throw new Error('EIO');
    super.read(offset, dst);
  }
  override write(offset: number, src: Uint8Array): void {
    this.transfers++;
    super.write(offset, src);
  }
  override flush(): void {
    if (this.failing) throw new Error('EIO');
    this.flushes++;
  }
}

function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

function setup(opts: { readOnly?: boolean; serial?: string; features?: bigint; backend?: BlockBackend } = {}) {
  const mem = new TestMemory();
  const backend = (opts.backend as SpyBackend | undefined) ?? new SpyBackend(pattern(SECTORS * 512, 3), { readOnly: opts.readOnly });
  const blk = new VirtioBlk(backend, { serial: opts.serial });
  const irq = new TestIrq();
  const dev = new M.VirtioMmio(blk, mem, irq);
  const drv = new Driver(dev, mem);
  drv.init(opts.features ?? (FEATURES | (opts.readOnly ? 1n << 5n : 0n)));
  mem.bytes.fill(0xee, Number(DATA - mem.base), Number(DATA - mem.base) + 0x8000); // poison the buffers
  return { mem, backend: backend as SpyBackend, blk, irq, dev, drv };
}

type Setup = ReturnType<typeof setup>;

/** Write a request header at HDR. */
function header(s: Setup, type: number, sector: bigint): void {
  s.mem.setU32(HDR, type);
  s.mem.setU32(HDR + 4n, 0);
  s.mem.setU64(HDR + 8n, sector);
}

/** Submit `descs` as one chain, notify, and return the status byte and the used element. */
function submit(s: Setup, descs: Desc[]): { status: number; len: number; id: number; usedIdx: number } {
  const head = s.drv.chain(descs);
  s.drv.offer(head);
  s.drv.notify();
  const u = s.drv.used(0);
  return { status: s.mem.u8(STATUS), len: u.len, id: u.id, usedIdx: s.drv.usedIdx() };
}

/** The usual three-descriptor layout: header, data (direction by type), status. */
function standard(type: number, dataLen: number): Desc[] {
  return [
    { addr: HDR, len: 16 },
    { addr: BUF, len: dataLen, write: type === VIRTIO_BLK_T_IN || type === VIRTIO_BLK_T_GET_ID },
    { addr: STATUS, len: 1, write: true },
  ];
}

/** Byte arrays equal (Buffer.compare: deep equality of big typed arrays is slow). */
function expectBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length);
  expect(Buffer.compare(got, want)).toBe(0);
}

const disk = (s: Setup, sector: number, n: number) => s.backend.bytes.slice(sector * 512, (sector + n) * 512);

describe('VIRTIO_BLK_T_IN', () => {
  it('reads whole sectors into the writable buffer; used len = data + status', () => {
    const s = setup();
    header(s, VIRTIO_BLK_T_IN, 5n);
    expect(submit(s, standard(VIRTIO_BLK_T_IN, 1024))).toEqual({ status: VIRTIO_BLK_S_OK, len: 1025, id: 0, usedIdx: 1 });
    expectBytes(s.mem.read(BUF, 1024), disk(s, 5, 2));
    expect(s.mem.u8(BUF + 1024n)).toBe(0xee); // nothing past the buffer
    expect(s.blk.counters).toMatchObject({ requests: 1, reads: 1, bytesRead: 1024, errors: 0 });
  });
  it('any layout: header split 8+8, data over three buffers, status sharing the last one', () => {
    const s = setup();
    header(s, VIRTIO_BLK_T_IN, 1n);
    const r = submit(s, [
      { addr: HDR, len: 8 },
      { addr: HDR + 8n, len: 8 },
      { addr: BUF, len: 100, write: true },
      { addr: BUF + 0x400n, len: 400, write: true },
      { addr: BUF + 0x800n, len: 13, write: true }, // 12 data bytes, then the status
    ]);
    expect([r.len, s.mem.u8(STATUS)]).toEqual([513, 0xee]); // the status went to the last byte instead
    const want = disk(s, 1, 1);
    expectBytes(s.mem.read(BUF, 100), want.slice(0, 100));
    expectBytes(s.mem.read(BUF + 0x400n, 400), want.slice(100, 500));
    expectBytes(s.mem.read(BUF + 0x800n, 12), want.slice(500, 512));
    expect(s.mem.u8(BUF + 0x800n + 12n)).toBe(VIRTIO_BLK_S_OK);
  });
  it('the last sector of the disk is readable; zero sectors is OK', () => {
    const s = setup();
    header(s, VIRTIO_BLK_T_IN, BigInt(SECTORS - 1));
    expect(submit(s, standard(VIRTIO_BLK_T_IN, 512)).status).toBe(VIRTIO_BLK_S_OK);
    expectBytes(s.mem.read(BUF, 512), disk(s, SECTORS - 1, 1));
    const t = setup();
    header(t, VIRTIO_BLK_T_IN, BigInt(SECTORS));
    expect(submit(t, [{ addr: HDR, len: 16 }, { addr: STATUS, len: 1, write: true }])).toMatchObject({ status: VIRTIO_BLK_S_OK, len: 1 });
  });
  it('a request larger than the copy chunk (128 KiB) arrives whole', () => {
    const s = setup({ backend: new SpyBackend(pattern(512 * 512, 5)) });
    header(s, VIRTIO_BLK_T_IN, 3n);
    const r = submit(s, [{ addr: HDR, len: 16 }, { addr: DATA + 0x8000n, len: 0x20000, write: true }, { addr: STATUS, len: 1, write: true }]);
    expect([r.status, r.len]).toEqual([VIRTIO_BLK_S_OK, 0x20001]);
    expectBytes(s.mem.read(DATA + 0x8000n, 0x20000), disk(s, 3, 256));
  });
});

describe('VIRTIO_BLK_T_OUT', () => {
  it('writes the readable data after the header; used len = 1 (the status)', () => {
    const s = setup();
    header(s, VIRTIO_BLK_T_OUT, 7n);
    s.mem.write(BUF, pattern(1024, 99));
    expect(submit(s, standard(VIRTIO_BLK_T_OUT, 1024))).toMatchObject({ status: VIRTIO_BLK_S_OK, len: 1 });
    expectBytes(disk(s, 7, 2), pattern(1024, 99));
    expectBytes(disk(s, 6, 1), pattern(SECTORS * 512, 3).slice(6 * 512, 7 * 512)); // neighbours untouched
    expectBytes(disk(s, 9, 1), pattern(SECTORS * 512, 3).slice(9 * 512, 10 * 512));
    expect(s.blk.counters).toMatchObject({ writes: 1, bytesWritten: 1024 });
  });
  it('header and data may share one descriptor', () => {
    const s = setup();
    header(s, VIRTIO_BLK_T_OUT, 0n);
    s.mem.write(HDR + 16n, pattern(512, 42));
    expect(submit(s, [{ addr: HDR, len: 16 + 512 }, { addr: STATUS, len: 1, write: true }]).status).toBe(VIRTIO_BLK_S_OK);
    expectBytes(disk(s, 0, 1), pattern(512, 42));
  });
  it('with FLUSH negotiated writes are not flushed one by one; without it the device writes through', () => {
    const wb = setup();
    header(wb, VIRTIO_BLK_T_OUT, 0n);
    submit(wb, standard(VIRTIO_BLK_T_OUT, 512));
    expect(wb.backend.flushes).toBe(0);
    const wt = setup({ features: M.VIRTIO_F_VERSION_1 });
    header(wt, VIRTIO_BLK_T_OUT, 0n);
    expect(submit(wt, standard(VIRTIO_BLK_T_OUT, 512)).status).toBe(VIRTIO_BLK_S_OK);
    expect(wt.backend.flushes).toBe(1);
  });
  it('a read-only disk answers IOERR and stores nothing (§5.2.6.2); reads still work', () => {
    const s = setup({ readOnly: true });
    expect(s.drv.reg(M.STATUS) & M.STATUS_DRIVER_OK).toBe(M.STATUS_DRIVER_OK);
    const before = s.backend.bytes.slice();
    header(s, VIRTIO_BLK_T_OUT, 0n);
    s.mem.write(BUF, pattern(512, 1));
    expect(submit(s, standard(VIRTIO_BLK_T_OUT, 512))).toMatchObject({ status: VIRTIO_BLK_S_IOERR, len: 1 });
    expectBytes(s.backend.bytes, before);
    expect(s.backend.transfers).toBe(0);
    header(s, VIRTIO_BLK_T_IN, 0n);
    s.drv.offer(0);
    s.drv.chain(standard(VIRTIO_BLK_T_IN, 512));
    s.drv.notify();
    expect(s.mem.u8(STATUS)).toBe(VIRTIO_BLK_S_OK);
    expect(s.blk.counters.errors).toBe(1);
  });
});

describe('VIRTIO_BLK_T_FLUSH and VIRTIO_BLK_T_GET_ID', () => {
  it('FLUSH flushes the backend and answers OK', () => {
    const s = setup();
    header(s, VIRTIO_BLK_T_FLUSH, 0n);
    expect(submit(s, [{ addr: HDR, len: 16 }, { addr: STATUS, len: 1, write: true }])).toMatchObject({ status: VIRTIO_BLK_S_OK, len: 1 });
    expect(s.backend.flushes).toBe(1);
  });
  it('GET_ID with no serial writes one NUL, as QEMU does', () => {
    const s = setup();
    header(s, VIRTIO_BLK_T_GET_ID, 0n);
    expect(submit(s, standard(VIRTIO_BLK_T_GET_ID, 20))).toMatchObject({ status: VIRTIO_BLK_S_OK, len: 2 });
    expect(s.mem.u8(BUF)).toBe(0);
    expect(s.mem.u8(BUF + 1n)).toBe(0xee);
  });
  it('GET_ID writes the serial NUL-terminated when shorter than 20 bytes', () => {
    const s = setup({ serial: 'disk0' });
    header(s, VIRTIO_BLK_T_GET_ID, 0n);
    expect(submit(s, standard(VIRTIO_BLK_T_GET_ID, 20)).len).toBe(7);
    expect(Buffer.from(s.mem.read(BUF, 7)).toString('latin1')).toBe('disk0\0\xee');
  });
  it('GET_ID truncates a long serial to 20 bytes without NUL, and to the buffer', () => {
    const s = setup({ serial: 'abcdefghijklmnopqrstuvwxyz' });
    header(s, VIRTIO_BLK_T_GET_ID, 0n);
    expect(submit(s, standard(VIRTIO_BLK_T_GET_ID, 32)).len).toBe(21);
    expect(Buffer.from(s.mem.read(BUF, 21)).toString('latin1')).toBe('abcdefghijklmnopqrst\xee');
    const t = setup({ serial: 'abcdefghijklmnopqrstuvwxyz' });
    header(t, VIRTIO_BLK_T_GET_ID, 0n);
    expect(submit(t, standard(VIRTIO_BLK_T_GET_ID, 4)).len).toBe(5);
    expect(Buffer.from(t.mem.read(BUF, 5)).toString('latin1')).toBe('abcd\xee');
  });
});

describe('errors answered in the status byte (one field changed from a valid IN)', () => {
  const cases: [string, (s: Setup) => Desc[], number][] = [
    ['unknown type 0x7f', (s) => { header(s, 0x7f, 0n); return standard(VIRTIO_BLK_T_IN, 512); }, VIRTIO_BLK_S_UNSUPP],
    ['DISCARD (11, not offered)', (s) => { header(s, 11, 0n); return standard(VIRTIO_BLK_T_IN, 512); }, VIRTIO_BLK_S_UNSUPP],
    ['sector = capacity', (s) => { header(s, VIRTIO_BLK_T_IN, BigInt(SECTORS)); return standard(VIRTIO_BLK_T_IN, 512); }, VIRTIO_BLK_S_IOERR],
    ['last sector but two sectors long', (s) => { header(s, VIRTIO_BLK_T_IN, BigInt(SECTORS - 1)); return standard(VIRTIO_BLK_T_IN, 1024); }, VIRTIO_BLK_S_IOERR],
    ['sector 2^63', (s) => { header(s, VIRTIO_BLK_T_IN, 1n << 63n); return standard(VIRTIO_BLK_T_IN, 512); }, VIRTIO_BLK_S_IOERR],
    ['sector 2^64 - 1', (s) => { header(s, VIRTIO_BLK_T_IN, (1n << 64n) - 1n); return standard(VIRTIO_BLK_T_IN, 512); }, VIRTIO_BLK_S_IOERR],
    ['data not a whole sector', (s) => { header(s, VIRTIO_BLK_T_IN, 0n); return standard(VIRTIO_BLK_T_IN, 511); }, VIRTIO_BLK_S_IOERR],
    ['header only 15 bytes', (s) => { header(s, VIRTIO_BLK_T_IN, 0n); const d = standard(VIRTIO_BLK_T_IN, 512); d[0].len = 15; return d; }, VIRTIO_BLK_S_IOERR],
    ['IN data buffer device-readable', (s) => { header(s, VIRTIO_BLK_T_IN, 0n); const d = standard(VIRTIO_BLK_T_IN, 512); d[1].write = false; return d; }, VIRTIO_BLK_S_IOERR],
    ['OUT data buffer device-writable', (s) => { header(s, VIRTIO_BLK_T_OUT, 0n); return standard(VIRTIO_BLK_T_IN, 512); }, VIRTIO_BLK_S_IOERR],
    ['OUT past capacity', (s) => { header(s, VIRTIO_BLK_T_OUT, BigInt(SECTORS)); return standard(VIRTIO_BLK_T_OUT, 512); }, VIRTIO_BLK_S_IOERR],
    ['backend read error', (s) => { s.backend.failing = true; header(s, VIRTIO_BLK_T_IN, 0n); return standard(VIRTIO_BLK_T_IN, 512); }, VIRTIO_BLK_S_IOERR],
    ['backend flush error', (s) => { s.backend.failing = true; header(s, VIRTIO_BLK_T_FLUSH, 0n); return [standard(0, 0)[0], standard(0, 0)[2]]; }, VIRTIO_BLK_S_IOERR],
  ];
  it.each(cases)('%s', (_what, build, status) => {
    const s = setup();
    const before = s.backend.bytes.slice();
    const r = submit(s, build(s));
    expect(r).toEqual({ status, len: 1, id: 0, usedIdx: 1 });
    expect(s.mem.u8(BUF)).toBe(0xee); // no data reached the guest
    expectBytes(s.backend.bytes, before); // nor the disk
    expect(s.dev.errorReason()).toBeUndefined(); // the queue keeps running
    expect(s.blk.counters.errors).toBe(1);
    // Refused before the backend was asked (the backend's own range check is not relied on).
    if (!s.backend.failing) expect(s.backend.transfers).toBe(0);
  });
});

describe('requests that cannot be answered', () => {
  it('no device-writable byte for the status: the queue stops, DEVICE_NEEDS_RESET', () => {
    const s = setup();
    header(s, VIRTIO_BLK_T_IN, 0n);
    const d = standard(VIRTIO_BLK_T_FLUSH, 512);
    d[2].len = 0; // the status buffer is empty
    d[1].write = false;
    const r = submit(s, d);
    expect(r.usedIdx).toBe(0);
    expect(s.mem.u8(STATUS)).toBe(0xee);
    expect(s.drv.reg(M.STATUS) & M.STATUS_DEVICE_NEEDS_RESET).toBe(M.STATUS_DEVICE_NEEDS_RESET);
    expect(s.dev.errorReason()).toBe('virtio-blk request at descriptor 0 has no device-writable status byte');
  });
});

describe('batches', () => {
  it('one notify serves every available chain and raises one interrupt', () => {
    const s = setup();
    for (let k = 0; k < 3; k++) {
      const h = HDR + BigInt(0x100 * k);
      s.mem.setU32(h, VIRTIO_BLK_T_IN);
      s.mem.setU64(h + 8n, BigInt(k));
      // data and status share the writable buffer (sector k at BUF + 0x400 k, status after it)
      s.drv.chain([{ addr: h, len: 16 }, { addr: BUF + BigInt(0x400 * k), len: 513, write: true }], 2 * k);
      s.drv.offer(2 * k);
    }
    s.drv.notify();
    expect(s.drv.usedIdx()).toBe(3);
    expect([0, 1, 2].map((k) => s.drv.used(k))).toEqual([{ id: 0, len: 513 }, { id: 2, len: 513 }, { id: 4, len: 513 }]);
    for (let k = 0; k < 3; k++) {
      expectBytes(s.mem.read(BUF + BigInt(0x400 * k), 512), disk(s, k, 1));
      expect(s.mem.u8(BUF + BigInt(0x400 * k + 512))).toBe(VIRTIO_BLK_S_OK);
    }
    expect(s.irq.rises).toBe(1);
    expect(s.dev.counters.notifies).toBe(1);
  });
});

describe('the device model alone', () => {
  it('capacity rounds a partial last sector down', () => {
    expect(new VirtioBlk(new MemoryBackend(1000)).capacity).toBe(1);
  });
  it('snapshot is plain data and restores', () => {
    const s = setup();
    header(s, VIRTIO_BLK_T_IN, 0n);
    submit(s, standard(VIRTIO_BLK_T_IN, 512));
    const snap = s.blk.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    const b = new VirtioBlk(new MemoryBackend(512));
    b.restore(snap);
    expect(b.snapshot()).toEqual(snap);
  });
});


// ---- issue 11: one QueueNotify carrying 1024 whole-disk reads held the host for ~20 s ----

describe('bounded work per QueueNotify', { timeout: 30_000 }, () => {
  /** A memory disk that counts the data bytes it moves. */
  class CountingBackend extends MemoryBackend {
    moved = 0;
    override read(offset: number, dst: Uint8Array): void {
      this.moved += dst.length;
      super.read(offset, dst);
    }
  }

  /** pattern(n, 5), fast enough for megabytes. */
  function bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7 + 5) & 0xff;
    return b;
  }

  /** A transport whose continuations are queued here, so the test runs them one at a time. */
  function bounded(diskBytes: number, ramBytes: number, qsize: number) {
    const mem = new TestMemory(ramBytes);
    const backend = new CountingBackend(bytes(diskBytes));
    const blk = new VirtioBlk(backend);
    const irq = new TestIrq();
    const deferred: (() => void)[] = [];
    const dev = new M.VirtioMmio(blk, mem, irq, undefined, (f) => deferred.push(f));
    const drv = new Driver(dev, mem, qsize);
    drv.init(FEATURES);
    return { mem, backend, blk, irq, dev, drv, deferred };
  }

  it('serves at most BLK_BATCH_BYTES per call and finishes the rest in later calls, in order, data intact', () => {
    const DISK = 256 * 1024;
    const REQUESTS = 128; // each reads the whole disk: 32 MiB in all
    const s = bounded(DISK, 1 << 20, 2 * REQUESTS);
    const buf = DATA + 0x1000n;
    header({ mem: s.mem } as Setup, VIRTIO_BLK_T_IN, 0n);
    for (let i = 0; i < REQUESTS; i++) {
      // any layout (§2.7.4.4): the header, then one writable descriptor for data + status
      s.drv.offer(s.drv.chain([{ addr: HDR, len: 16 }, { addr: buf, len: DISK + 1, write: true }], 2 * i));
    }
    s.drv.notify();
    const rounds: number[] = [s.drv.usedIdx()];
    expect(s.backend.moved).toBeLessThanOrEqual(BLK_BATCH_BYTES);
    expect(rounds[0]).toBeGreaterThan(0);
    expect(rounds[0]).toBeLessThan(REQUESTS); // the notify returned with work left...
    expect(s.deferred.length).toBe(1); // ...and scheduled one continuation
    for (let guard = 0; s.deferred.length > 0 && guard < 100; guard++) {
      const moved = s.backend.moved;
      s.deferred.shift()!();
      expect(s.backend.moved - moved).toBeLessThanOrEqual(BLK_BATCH_BYTES);
      rounds.push(s.drv.usedIdx());
    }
    expect(rounds[rounds.length - 1]).toBe(REQUESTS);
    expect(rounds.length).toBe(Math.ceil((REQUESTS * (DISK + BLK_REQUEST_COST)) / BLK_BATCH_BYTES));
    for (let i = 0; i < REQUESTS; i++) expect(s.drv.used(i)).toEqual({ id: 2 * i, len: DISK + 1 });
    expect(s.mem.read(buf, DISK)).toEqual(bytes(DISK));
    expect(s.mem.u8(buf + BigInt(DISK))).toBe(VIRTIO_BLK_S_OK);
    expect(s.blk.counters).toMatchObject({ requests: REQUESTS, reads: REQUESTS, bytesRead: REQUESTS * DISK, errors: 0 });
    expect(s.irq.level).toBe(true);
  });

  it('one request larger than a batch stays in flight until its last byte has moved', () => {
    const SEG = 64 * 1024;
    const SEGS = BLK_BATCH_BYTES / SEG + 16; // a batch and 1 MiB in one chain, every data descriptor on the same guest buffer
    const s = bounded(SEG * SEGS, 1 << 20, 256);
    header({ mem: s.mem } as Setup, VIRTIO_BLK_T_IN, 0n);
    const descs: Desc[] = [{ addr: HDR, len: 16 }];
    for (let i = 0; i < SEGS; i++) descs.push({ addr: BUF, len: SEG, write: true });
    descs.push({ addr: STATUS, len: 1, write: true });
    s.drv.offer(s.drv.chain(descs));
    s.drv.notify();
    expect([s.drv.usedIdx(), s.backend.moved, s.irq.level, s.deferred.length]).toEqual([0, BLK_BATCH_BYTES - BLK_REQUEST_COST, false, 1]);
    s.deferred.shift()!();
    expect([s.drv.usedIdx(), s.backend.moved, s.irq.level, s.deferred.length]).toEqual([1, SEG * SEGS, true, 0]);
    expect(s.drv.used(0)).toEqual({ id: 0, len: SEG * SEGS + 1 });
    expect(s.mem.u8(STATUS)).toBe(VIRTIO_BLK_S_OK);
    expect(s.mem.read(BUF, SEG)).toEqual(bytes(SEG * SEGS).subarray(SEG * (SEGS - 1))); // the last segment landed last
  });

  it('a device reset drops the request in flight and its continuation', () => {
    const SEG = 64 * 1024;
    const SEGS = BLK_BATCH_BYTES / SEG + 16;
    const s = bounded(SEG * SEGS, 1 << 20, 256);
    header({ mem: s.mem } as Setup, VIRTIO_BLK_T_IN, 0n);
    const descs: Desc[] = [{ addr: HDR, len: 16 }];
    for (let i = 0; i < SEGS; i++) descs.push({ addr: BUF, len: SEG, write: true });
    descs.push({ addr: STATUS, len: 1, write: true });
    s.mem.setU8(STATUS, 0xee);
    s.drv.offer(s.drv.chain(descs));
    s.drv.notify();
    s.drv.set(M.STATUS, 0); // reset (§4.2.3.1)
    const moved = s.backend.moved;
    for (const f of s.deferred.splice(0)) f();
    expect([s.backend.moved, s.drv.usedIdx(), s.mem.u8(STATUS), s.blk.pending(0)]).toEqual([moved, 0, 0xee, false]);
  });
});
