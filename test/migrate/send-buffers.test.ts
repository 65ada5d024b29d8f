/**
 * The source's PAGES frames and their buffers (host/migrate/source.ts sendPages, stream.ts
 * BufferPool). Node 20's socket.write() answers true when the kernel took a frame at once and
 * gives its buffer back (`done`) only on the next tick: sendPages waits for it instead of taking
 * a fresh 1 MiB buffer (whose first writes are page faults). A transport that behaves so: four
 * frames of 256 pages each are built in one buffer, in order, each with its own pages.
 */
import { describe, expect, it } from 'vitest';
import { Asm } from '../vmm/asm';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { defaultMigrateOptions } from '../../host/migrate/options';
import { MigrationSource } from '../../host/migrate/source';
import { BufferPool, MSG } from '../../host/migrate/stream';
import type { Transport } from '../../host/migrate/transport';

const PAGE = 4096;

/** A transport that takes every write at once (true) and calls `done` on the next tick, as a socket does. */
function syncSocket(writes: { bytes: Uint8Array; buffer: ArrayBufferLike }[]): Transport {
  return {
    write(bytes: Uint8Array, done?: () => void) {
      writes.push({ bytes: new Uint8Array(bytes), buffer: bytes.buffer }); // (a copy: Buffer.slice is a view)
      if (done) process.nextTick(done);
      return true;
    },
    end: () => undefined,
    destroy: () => undefined,
    destroyed: false,
    on: () => undefined,
    off: () => undefined,
  } as unknown as Transport;
}

describe('sendPages and its frame buffers', () => {
  it('frames the transport takes at once reuse one buffer, each frame with its own pages', async () => {
    const a = new Asm(0x8000_0000n);
    a.label('spin').jal(0, 'spin'); // (the guest never runs here)
    const m = await Machine.create({ memSize: 16 << 20, kernel: parseImage(a.finish(4096), 'loop.bin', 0x8000_0000n), deterministic: true });
    const ram = m.snapshotInternals().ram;
    // Pages 100..1123: each filled with its own index (so none is sent as a zero page).
    const indices = Array.from({ length: 1024 }, (_, k) => 100 + k);
    for (const i of indices) ram.write(ram.base + BigInt(i * PAGE), new Uint8Array(PAGE).fill((i % 255) + 1));
    const writes: { bytes: Uint8Array; buffer: ArrayBufferLike }[] = [];
    const socket = syncSocket(writes);
    const src = new MigrationSource(m, m, { ...defaultMigrateOptions(), to: { host: '127.0.0.1', port: 1, text: 'test' } }, { stderr: () => undefined, isTTY: false }, { text: 'test', connect: () => Promise.resolve(socket) });
    await (src as unknown as { connect(): Promise<void> }).connect();
    const bytes = await src.sendPages(1, indices);
    expect(writes.length).toBe(4);
    expect(new Set(writes.map((w) => w.buffer)).size).toBe(1);
    expect(bytes).toBe(4 * (9 + 8 + 256 * (5 + PAGE) + 4));
    writes.forEach((w, f) => {
      const v = new DataView(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength);
      expect(w.bytes[0]).toBe(MSG.PAGES);
      expect(v.getUint32(9, true)).toBe(1); // round
      expect(v.getUint32(13, true)).toBe(256);
      for (let k = 0; k < 256; k++) {
        const o = 17 + k * (5 + PAGE);
        const index = 100 + f * 256 + k;
        expect(v.getUint32(o, true)).toBe(index);
        expect(w.bytes[o + 4]).toBe(1);
        expect(w.bytes[o + 5]).toBe((index % 255) + 1);
        expect(w.bytes[o + 4 + PAGE]).toBe((index % 255) + 1);
      }
    });
  });

  it('BufferPool: starved while every buffer taken is still out, not once one is back', () => {
    const pool = new BufferPool(64);
    expect(pool.starved).toBe(false);
    const b1 = pool.take();
    expect(pool.starved).toBe(true);
    pool.give(b1);
    expect(pool.starved).toBe(false);
    expect(pool.take()).toBe(b1);
    pool.give(new Uint8Array(10)); // (another size: not the pool's, ignored)
    expect(pool.starved).toBe(true);
  });
});
