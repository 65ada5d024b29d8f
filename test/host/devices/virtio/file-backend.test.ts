/** The image-file block backend (Node): sizes, reads and writes at offsets, read-only, errors. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBackend } from '../../../../host/devices/virtio/file-backend';
import { MemoryBackend } from '../../../../host/devices/virtio/backend';

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-fb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

describe('FileBackend', () => {
  it('reads and writes at byte offsets; the file holds the write when write() returns', () => {
    const p = image('a.img', Uint8Array.from({ length: 2048 }, (_, i) => i & 0xff));
    const b = FileBackend.open(p);
    expect([b.size, b.readOnly]).toEqual([2048, false]);
    const dst = new Uint8Array(4);
    b.read(510, dst);
    expect([...dst]).toEqual([254, 255, 0, 1]);
    b.write(1024, Uint8Array.of(9, 8, 7));
    expect([...readFileSync(p).subarray(1023, 1028)]).toEqual([255, 9, 8, 7, 3]);
    b.flush();
    b.close();
  });
  it('refuses accesses past the end and writes to a read-only image', () => {
    const p = image('b.img', new Uint8Array(1024));
    const b = FileBackend.open(p, { readOnly: true });
    expect(b.readOnly).toBe(true);
    expect(() => b.read(1020, new Uint8Array(8))).toThrow('disk access at 1020+8 is outside the 1024-byte disk');
    expect(() => b.write(0, new Uint8Array(1))).toThrow(`${p}: disk image is read-only`);
    b.flush(); // nothing to sync on a read-only image
    b.close();
    expect(() => b.read(0, new Uint8Array(1))).toThrow(`${p}: disk image is closed`);
  });
  it('a missing file is a UserError naming it', () => {
    const p = join(dir, 'missing.img');
    expect(() => FileBackend.open(p)).toThrow(`${p}: cannot open disk image: ENOENT`);
  });
  it.skipIf(process.getuid?.() === 0)('a file without write permission suggests ,ro', () => {
    const p = image('c.img', new Uint8Array(512));
    chmodSync(p, 0o444);
    expect(() => FileBackend.open(p)).toThrow(`${p}: cannot open disk image: EACCES (add ,ro to attach it read-only)`);
    expect(FileBackend.open(p, { readOnly: true }).size).toBe(512);
  });
});

describe('MemoryBackend', () => {
  it('uses the given bytes in place and honours readOnly', () => {
    const bytes = new Uint8Array(1024);
    const m = new MemoryBackend(bytes);
    m.write(512, Uint8Array.of(1, 2));
    expect([bytes[512], bytes[513]]).toEqual([1, 2]);
    expect(() => new MemoryBackend(bytes, { readOnly: true }).write(0, Uint8Array.of(1))).toThrow('memory disk is read-only');
    expect(() => m.read(1023, new Uint8Array(2))).toThrow('disk access at 1023+2 is outside the 1024-byte disk');
  });
});
