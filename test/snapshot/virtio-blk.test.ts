/**
 * A snapshot of a machine with a virtio-blk disk (guests/virtio-blk/blk.elf, bare machine):
 * saved at 12 points of its run, each restored into a new machine given the disk as it was at
 * the save (the disk's contents are shared storage, not part of the snapshot), prints exactly the
 * rest of the uninterrupted run's output and leaves the same disk contents behind.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../host/devices/virtio/backend';
import { loadImageFile } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { restoreSnapshot, saveSnapshot } from '../../host/snapshot/snapshot';

const ELF = join(__dirname, '../../guests/bin/virtio-blk/blk.elf');
const DISK_SIZE = 1 << 20;

async function machine(disk: MemoryBackend, out: Uint8Array[]): Promise<Machine> {
  return Machine.create({ memSize: 128 << 20, kernel: loadImageFile(ELF, 0x80000000n), deterministic: true, disk, onConsoleOutput: (b) => out.push(Uint8Array.from(b)) });
}
const text = (out: Uint8Array[]) => Buffer.concat(out).toString('latin1');

describe('snapshots with a virtio-blk disk', () => {
  it('restored at 12 points, the guest prints the rest and the disk ends the same', async () => {
    const fullDisk = new MemoryBackend(DISK_SIZE);
    const fullOut: Uint8Array[] = [];
    const full = await machine(fullDisk, fullOut);
    const r = await full.run({ timeoutMs: 30_000 });
    expect([r.reason, r.exitCode]).toEqual(['exit', 0]);
    const total = full.hart.instret;
    const expected = text(fullOut);
    expect(fullDisk.bytes.some((b) => b !== 0)).toBe(true); // the guest wrote its disk

    const disk = new MemoryBackend(DISK_SIZE);
    const out: Uint8Array[] = [];
    const src = await machine(disk, out);
    const saves: { bytes: Uint8Array; disk: Uint8Array; printed: number }[] = [];
    for (let i = 1; i <= 12; i++) {
      const at = (total * BigInt(i)) / 13n;
      if (src.hart.instret < at) {
        const s = await src.run({ maxInstructions: at - src.hart.instret, timeoutMs: 30_000 });
        if (s.reason !== 'max-instructions') break;
      }
      saves.push({ bytes: saveSnapshot(src), disk: Uint8Array.from(disk.bytes), printed: text(out).length });
    }
    expect(saves.length).toBe(12);
    expect((await src.run({ timeoutMs: 30_000 })).exitCode).toBe(0);
    expect(text(out)).toBe(expected);

    for (const s of saves) {
      const d = new MemoryBackend(s.disk);
      const o: Uint8Array[] = [];
      const m = await machine(d, o);
      restoreSnapshot(m, s.bytes);
      const rr = await m.run({ timeoutMs: 30_000 });
      expect([rr.reason, rr.exitCode, text(o)]).toEqual(['exit', 0, expected.slice(s.printed)]);
      expect(Buffer.from(d.bytes).equals(Buffer.from(fullDisk.bytes))).toBe(true);
    }
  }, 120_000);
});
