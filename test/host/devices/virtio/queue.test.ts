/**
 * Split-virtqueue validation (virtio 1.x §2.7): starting from a valid chain, one field of the
 * rings is changed per case, and the queue must either return the chain exactly or stop with
 * the reason, never throw or loop. A property test throws random rings at it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DescriptorChain, SplitQueue, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../../host/devices/virtio/queue';
import { AVAIL, DATA, DESC, TestMemory, USED } from './driver';
import { fcSeed } from '../../../fc-seed';

const QSIZE = 8;

function setup() {
  const mem = new TestMemory();
  const q = new SplitQueue(256);
  q.setSize(QSIZE);
  q.descAddr = DESC;
  q.driverAddr = AVAIL;
  q.deviceAddr = USED;
  expect(q.checkLayout(mem)).toBeUndefined();
  q.ready = true;
  const chain = new DescriptorChain(256);
  const desc = (i: number, addr: bigint, len: number, flags: number, next: number) => {
    const d = DESC + BigInt(16 * i);
    mem.setU64(d, addr);
    mem.setU32(d + 8n, len);
    mem.setU16(d + 12n, flags);
    mem.setU16(d + 14n, next);
  };
  // A valid request-shaped chain 0 -> 1 -> 2: readable 16, writable 512, writable 1.
  desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
  desc(1, DATA + 0x200n, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
  desc(2, DATA + 0x10n, 1, VIRTQ_DESC_F_WRITE, 0);
  mem.setU16(AVAIL + 4n, 0); // ring[0] = head 0
  mem.setU16(AVAIL + 2n, 1); // idx = 1
  return { mem, q, chain, desc };
}

describe('a valid chain', () => {
  it('is returned with its buffers split into readable and writable parts', () => {
    const { mem, q, chain } = setup();
    expect(q.pop(mem, chain)).toBe(true);
    expect(q.error).toBeUndefined();
    expect([chain.head, chain.count, chain.readableCount, chain.readableBytes, chain.writableBytes]).toEqual([0, 3, 1, 16, 513]);
    expect(chain.addr.slice(0, 3)).toEqual([DATA, DATA + 0x200n, DATA + 0x10n]);
    expect([...chain.len.slice(0, 3)]).toEqual([16, 512, 1]);
    expect(q.nextAvail).toBe(1);
    expect(q.pop(mem, chain)).toBe(false); // nothing more available
    expect(q.error).toBeUndefined();
  });
  it('a chain of exactly `size` descriptors is fine', () => {
    const { mem, q, chain, desc } = setup();
    for (let i = 0; i < QSIZE; i++) desc(i, DATA, 4, i < QSIZE - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
    expect(q.pop(mem, chain)).toBe(true);
    expect(chain.count).toBe(QSIZE);
  });
  it('zero-length buffers inside RAM are accepted', () => {
    const { mem, q, chain, desc } = setup();
    desc(1, DATA, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    expect(q.pop(mem, chain)).toBe(true);
    expect(chain.writableBytes).toBe(1);
  });
  it('the available index wraps at 2^16', () => {
    const { mem, q, chain } = setup();
    q.nextAvail = 0xffff;
    mem.setU16(AVAIL + 4n + 2n * BigInt(0xffff % QSIZE), 1); // slot 7: the chain 1 -> 2
    mem.setU16(AVAIL + 2n, 0);
    expect(q.pop(mem, chain)).toBe(true);
    expect([chain.head, chain.count, q.nextAvail]).toEqual([1, 2, 0]);
  });
});

describe('one field wrong: the queue stops with the reason', () => {
  const cases: [string, (s: ReturnType<typeof setup>) => void, string][] = [
    ['avail.idx more than size ahead', (s) => s.mem.setU16(AVAIL + 2n, QSIZE + 1), 'available idx 9 is 9 ahead of the device\'s 0 (queue size 8)'],
    ['avail.idx behind the device (wraps to 65535 ahead)', (s) => s.mem.setU16(AVAIL + 2n, 0xffff), 'available idx 65535 is 65535 ahead of the device\'s 0 (queue size 8)'],
    ['head index = size', (s) => s.mem.setU16(AVAIL + 4n, QSIZE), 'available ring entry 0 names descriptor 8, beyond queue size 8'],
    ['head index = 65535', (s) => s.mem.setU16(AVAIL + 4n, 0xffff), 'available ring entry 0 names descriptor 65535, beyond queue size 8'],
    ['next index = size', (s) => s.mem.setU16(DESC + 16n + 14n, QSIZE), 'descriptor 1 has next 8, beyond queue size 8'],
    ['chain loops back to its head', (s) => { s.mem.setU16(DESC + 32n + 12n, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT); s.mem.setU16(DESC + 32n + 14n, 1); }, 'descriptor chain from 0 is longer than queue size 8 (a loop)'],
    ['descriptor points at itself', (s) => s.mem.setU16(DESC + 14n, 0), 'descriptor chain from 0 is longer than queue size 8 (a loop)'],
    ['buffer below RAM', (s) => s.mem.setU64(DESC + 16n, 0x7fff_ff00n), 'descriptor 1 buffer 0x7fffff00 (+0x200) is outside RAM'],
    ['buffer running past the end of RAM', (s) => s.mem.setU64(DESC + 16n, 0x8004_0000n - 0x100n), 'descriptor 1 buffer 0x8003ff00 (+0x200) is outside RAM'],
    ['buffer at the top of the address space', (s) => s.mem.setU64(DESC + 16n, 0xffff_ffff_ffff_ff00n), 'descriptor 1 buffer 0xffffffffffffff00 (+0x200) is outside RAM'],
    ['huge length', (s) => s.mem.setU32(DESC + 16n + 8n, 0xffff_ffff), 'descriptor 1 buffer 0x80008200 (+0xffffffff) is outside RAM'],
    ['zero-length buffer just past RAM', (s) => { s.mem.setU64(DESC + 16n, 0x8004_0000n); s.mem.setU32(DESC + 24n, 0); }, 'descriptor 1 buffer 0x80040000 (+0x0) is outside RAM'],
    ['INDIRECT flag (not offered)', (s) => s.mem.setU16(DESC + 16n + 12n, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_INDIRECT), 'descriptor 1 is INDIRECT, but VIRTIO_F_INDIRECT_DESC was not offered'],
    ['readable descriptor after a writable one', (s) => s.mem.setU16(DESC + 32n + 12n, 0), 'descriptor 2 is device-readable but follows a device-writable one'],
  ];
  it.each(cases)('%s', (_what, mutate, reason) => {
    const s = setup();
    mutate(s);
    expect(s.q.pop(s.mem, s.chain)).toBe(false);
    expect(s.q.error).toBe(reason);
    expect(s.q.nextAvail).toBe(0);
    // Broken stays broken, even once the ring is fixed, until a reset.
    const fresh = setup();
    s.mem.bytes.set(fresh.mem.bytes);
    expect(s.q.pop(s.mem, s.chain)).toBe(false);
    s.q.reset();
    expect(s.q.error).toBeUndefined();
    expect(s.q.ready).toBe(false);
  });
});

describe('used ring', () => {
  it('pushUsed writes id and len at the slot, then the index; slots wrap at size', () => {
    const { mem, q } = setup();
    q.nextUsed = QSIZE - 1;
    q.pushUsed(mem, 5, 513);
    const e = USED + 4n + 8n * BigInt(QSIZE - 1);
    expect([mem.u32(e), mem.u32(e + 4n), mem.u16(USED + 2n)]).toEqual([5, 513, QSIZE]);
    q.pushUsed(mem, 6, 1);
    expect([mem.u32(USED + 4n), mem.u32(USED + 8n), mem.u16(USED + 2n)]).toEqual([6, 1, QSIZE + 1]);
  });
  it('the used index wraps at 2^16', () => {
    const { mem, q } = setup();
    q.nextUsed = 0xffff;
    q.pushUsed(mem, 1, 1);
    expect([q.nextUsed, mem.u16(USED + 2n)]).toEqual([0, 0]);
  });
});

describe('hostile rings (property)', () => {
  it('random descriptor tables and available rings: pop terminates, never throws, and every chain it returns is in bounds', () => {
    const descArb = fc.record({
      addr: fc.oneof(fc.bigInt({ min: 0x8000_0000n, max: 0x8004_0000n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
      len: fc.oneof(fc.integer({ min: 0, max: 0x1000 }), fc.integer({ min: 0, max: 0xffff_ffff })),
      flags: fc.integer({ min: 0, max: 0xffff }),
      next: fc.oneof(fc.integer({ min: 0, max: QSIZE - 1 }), fc.integer({ min: 0, max: 0xffff })),
    });
    fc.assert(
      fc.property(
        fc.array(descArb, { minLength: QSIZE, maxLength: QSIZE }),
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: QSIZE, maxLength: QSIZE }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (descs, ring, availIdx, nextAvail) => {
          const s = setup();
          descs.forEach((d, i) => {
            const at = DESC + BigInt(16 * i);
            s.mem.setU64(at, d.addr);
            s.mem.setU32(at + 8n, d.len);
            s.mem.setU16(at + 12n, d.flags);
            s.mem.setU16(at + 14n, d.next);
          });
          ring.forEach((h, i) => s.mem.setU16(AVAIL + 4n + 2n * BigInt(i), h));
          s.mem.setU16(AVAIL + 2n, availIdx);
          s.q.nextAvail = nextAvail;
          let popped = 0;
          for (let n = 0; n < QSIZE + 2 && s.q.pop(s.mem, s.chain); n++) {
            popped++;
            const c = s.chain;
            expect(c.count).toBeGreaterThan(0);
            expect(c.count).toBeLessThanOrEqual(QSIZE);
            for (let i = 0; i < c.count; i++) {
              expect(c.addr[i] >= 0x8000_0000n && c.addr[i] + BigInt(c.len[i]) <= 0x8004_0000n).toBe(true);
            }
          }
          expect(popped).toBeLessThanOrEqual(QSIZE);
          // Either everything pending was consumed or the queue said why it stopped.
          if (s.q.error === undefined) expect(s.q.nextAvail).toBe(availIdx);
        },
      ),
      { numRuns: 2000, seed: fcSeed(0x71f) },
    );
  });
});
