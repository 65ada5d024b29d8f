/**
 * The snapshot format (docs/snapshot.md): every section round-trips (save, restore into a new
 * machine, save again: the same bytes), every byte is covered by a checksum (a flipped byte
 * anywhere, or a file cut anywhere, is refused with one line and leaves the target untouched),
 * a version, RAM size, mode, image or device mismatch is refused in one line, and a device that
 * cannot be saved makes the save refuse, naming it.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as A from '../../assembly/abi';
import { UserError } from '../../host/errors';
import { loadImageFile } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { Vm } from '../../host/vmm/vm';
import { MemoryBackend } from '../../host/devices/virtio/backend';
import { VirtioMmio, type VirtioDevice } from '../../host/devices/virtio/mmio';
import { crc32, decodeSnapshot, HEADER_SIZE, SectionReader, SectionWriter } from '../../host/snapshot/format';
import { restoreSnapshot, saveSnapshot } from '../../host/snapshot/snapshot';

const ROOT = join(__dirname, '../..');
const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const BARE_IMAGE = join(ROOT, 'guests/bin/board/ramzero.elf');
const OTHER_KERNEL = join(ROOT, 'guests/bin/vmboard/ramzero.elf');

const vm = (memSize = 128 << 20, out: Uint8Array[] = []) => Vm.create({
  memSize, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: true,
  onConsoleOutput: (b) => out.push(Uint8Array.from(b)),
});
const text = (out: Uint8Array[]) => Buffer.concat(out).toString('latin1');

/** The refusal of `f`: a UserError with exit code 2 and one line; returns its message. */
function refusal(f: () => unknown): string {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  const e = err as UserError;
  expect(e.exitCode).toBe(2);
  expect(e.message).not.toContain('\n');
  return e.message;
}

let snap: Uint8Array; // minikernel in a VM, 3M instructions in
let expectedRest: string; // what it prints from there on

beforeAll(async () => {
  const out: Uint8Array[] = [];
  const v = await vm(128 << 20, out);
  await v.run({ maxInstructions: 3_000_000n });
  snap = saveSnapshot(v);
  const printed = text(out).length;
  await v.run({});
  expectedRest = text(out).slice(printed);
}, 60_000);

describe('the container', () => {
  it('has the magic, version 1 and the sections in order, END last with the CRC of all before it', () => {
    expect(Buffer.from(snap.subarray(0, 8)).toString('latin1')).toBe('WVSNAP\r\n');
    const view = new DataView(snap.buffer, snap.byteOffset);
    expect(view.getUint32(8, true)).toBe(1);
    const keys = [...decodeSnapshot('s', snap).keys()];
    expect(keys.slice(0, 4)).toEqual(['CONF', 'HART', 'CLCK', 'VMM']);
    expect(keys.at(-1)).toBe('RAM');
    expect(keys.filter((k) => k.startsWith('DEVC:'))).toEqual([
      'DEVC:test@100000', 'DEVC:plic@c000000', 'DEVC:uart0@10000000',
      ...Array.from({ length: 8 }, (_, i) => `DEVC:virtio-mmio@${(0x10001000 + i * 0x1000).toString(16)}`),
    ]);
    // END: tag, empty name, version 1, length 4, CRC of everything before END, then its own CRC.
    const end = snap.length - 22;
    expect(Buffer.from(snap.subarray(end, end + 4)).toString('latin1')).toBe('END ');
    expect(view.getUint32(end + 14, true)).toBe(crc32(snap.subarray(0, end)));
  });

  it('CRC-32 is the IEEE one (zlib, PNG): "123456789" -> 0xcbf43926', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('section readers refuse reading past the payload and unread bytes, naming the section', () => {
    const w = new SectionWriter();
    w.u32(7);
    w.json({ a: 1n });
    const r = new SectionReader('f.wvsnap', 'DEVC:x', w.result());
    expect(r.u32()).toBe(7);
    expect(r.json()).toEqual({ a: '1' });
    expect(() => r.u8()).toThrow('f.wvsnap: section DEVC:x is shorter than its contents (corrupt snapshot)');
    const r2 = new SectionReader('f.wvsnap', 'HART', w.result());
    r2.u32();
    expect(() => r2.end()).toThrow(/section HART has \d+ unread bytes/);
  });
});

describe('round trip', () => {
  it('restore then save gives every section back byte for byte (HART: but its BT-flush counter)', async () => {
    const v2 = await vm();
    restoreSnapshot(v2, snap);
    const again = decodeSnapshot('again', saveSnapshot(v2));
    const first = decodeSnapshot('first', snap);
    expect([...again.keys()]).toEqual([...first.keys()]);
    for (const [key, s] of first) {
      const a = again.get(key)!;
      if (key === 'HART') {
        // The restore flushed the BT cache once more (S_STAT_BT_FLUSH counts it): mask that slot.
        const at = 4 + 4 + A.S_STAT_BT_FLUSH;
        const mask = (p: Uint8Array) => { const c = Uint8Array.from(p); c.fill(0, at, at + 8); return c; };
        expect(mask(a.payload)).toEqual(mask(s.payload));
        expect(a.payload).not.toEqual(s.payload);
      } else {
        expect({ key, payload: Buffer.from(a.payload).toString('hex') }).toEqual({ key, payload: Buffer.from(s.payload).toString('hex') });
      }
    }
  }, 60_000);

  it('the UART keeps its FIFOs and registers (typed input not yet read by the guest)', async () => {
    const out: Uint8Array[] = [];
    const m = await Machine.create({ memSize: 16 << 20, kernel: loadImageFile(BARE_IMAGE, 0x80000000n), deterministic: true, onConsoleOutput: (b) => out.push(Uint8Array.from(b)) });
    await m.run({ maxInstructions: 20_000n });
    m.consoleInput(new TextEncoder().encode('snapshot!'));
    const before = m.uart.snapshot();
    expect(before.rx.length + before.hostQueue.length).toBe(9);
    const bytes = saveSnapshot(m);
    const m2 = await Machine.create({ memSize: 16 << 20, kernel: loadImageFile(BARE_IMAGE, 0x80000000n), deterministic: true });
    restoreSnapshot(m2, bytes);
    expect(m2.uart.snapshot()).toEqual(before);
    expect(m2.hart.pc).toBe(m.hart.pc);
    expect(m2.hart.instret).toBe(m.hart.instret);
  }, 60_000);

  it('a restored VM prints exactly the rest and exits 0', async () => {
    const out: Uint8Array[] = [];
    const v2 = await vm(128 << 20, out);
    restoreSnapshot(v2, snap);
    const r = await v2.run({});
    expect([r.reason, r.exitCode, text(out)]).toEqual(['exit', 0, expectedRest]);
  }, 60_000);
});

describe('guest time', () => {
  it('continues from the saved mtime: exactly (deterministic), from the saved value at the host rate (wall time), and across modes', async () => {
    const det = await vm();
    restoreSnapshot(det, snap);
    const saved = (() => { const s = decodeSnapshot('s', snap).get('CLCK')!.payload; return new DataView(s.buffer, s.byteOffset).getBigUint64(0, true); })();
    expect(saved).toBeGreaterThan(0n);
    expect(det.vcpu.clock.mtime()).toBe(saved);
    // A wall-time VM created long after (its own clock near 0): guest time jumps to the saved
    // value, not back, and goes on at the host's rate from there.
    const wall = await Vm.create({ memSize: 128 << 20, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: false });
    restoreSnapshot(wall, snap);
    const t0 = wall.vcpu.clock.mtime();
    expect(t0).toBeGreaterThanOrEqual(saved);
    expect(t0 - saved).toBeLessThan(10_000_000n); // < 1 s of 10 MHz ticks
    await new Promise((r) => setTimeout(r, 50));
    const r = await wall.run({ maxInstructions: 100_000n });
    expect(r.reason).toBe('max-instructions');
    const t1 = wall.vcpu.clock.mtime();
    expect(t1 - t0).toBeGreaterThanOrEqual(400_000n); // the 50 ms passed (10 MHz ticks)
    // and a wall-time snapshot restores deterministically from its own mtime
    const back = await vm();
    const wsnap = saveSnapshot(wall);
    restoreSnapshot(back, wsnap);
    const ws = (() => { const s = decodeSnapshot('s', wsnap).get('CLCK')!.payload; return new DataView(s.buffer, s.byteOffset).getBigUint64(0, true); })();
    expect(back.vcpu.clock.mtime()).toBe(ws);
  }, 60_000);
});

describe('refusals (one line, exit 2, the target untouched)', () => {
  it('a flipped byte anywhere: in the header, in every section header, payload and CRC', async () => {
    const target = await vm();
    const pcBefore = target.vmcs.pc;
    // Offsets: the header, then for each section its first bytes, its payload's start, middle
    // and end, and its CRC (every range of the file).
    const offsets = new Set<number>([0, 7, 8, 11, 12, 15]);
    let pos = HEADER_SIZE;
    const view = new DataView(snap.buffer, snap.byteOffset);
    while (pos < snap.length) {
      const nameLen = view.getUint16(pos + 4, true);
      const len = view.getUint32(pos + 6 + nameLen + 4, true);
      const payload = pos + 6 + nameLen + 8;
      for (const o of [pos, pos + 3, pos + 4, pos + 6, payload - 8, payload - 4, payload, payload + (len >> 1), payload + len - 1, payload + len, payload + len + 3]) {
        if (o < snap.length) offsets.add(o);
      }
      pos = payload + len + 4;
    }
    expect(offsets.size).toBeGreaterThan(100);
    for (const o of offsets) {
      const bad = Uint8Array.from(snap);
      bad[o] ^= 0x5a;
      const msg = refusal(() => restoreSnapshot(target, bad, 'bad.wvsnap'));
      expect(msg).toMatch(/^bad\.wvsnap: (not a wasmvisor snapshot|snapshot format version|checksum mismatch|whole-file checksum|truncated|section .* (malformed|shorter)|\d+ bytes after)/);
    }
    expect(target.vmcs.pc).toBe(pcBefore);
    expect(target.populatedPages).toBeGreaterThan(0); // its kernel is still loaded
  }, 120_000);

  it('a file cut anywhere is truncated', async () => {
    const target = await vm();
    for (const n of [0, 7, 15, 16, 17, 100, 5000, snap.length >> 1, snap.length - 23, snap.length - 22, snap.length - 5, snap.length - 1]) {
      const msg = refusal(() => restoreSnapshot(target, snap.subarray(0, n), 'cut.wvsnap'));
      expect(msg).toMatch(n < 16 ? /^cut\.wvsnap: not a wasmvisor snapshot/ : /^cut\.wvsnap: truncated at byte \d+/);
    }
  }, 60_000);

  it('another format version', async () => {
    const bad = Uint8Array.from(snap);
    new DataView(bad.buffer).setUint32(8, 2, true);
    expect(refusal(() => restoreSnapshot(new Object() as Vm, bad, 'v2.wvsnap'))).toBe('v2.wvsnap: snapshot format version 2, this wasmvisor reads version 1');
  });

  it('another RAM size, mode or image', async () => {
    const small = await vm(64 << 20);
    expect(refusal(() => restoreSnapshot(small, snap, 's.wvsnap'))).toBe('s.wvsnap: snapshot does not match the command line: --mem 128M in the snapshot, --mem 64M here');
    const bare = await Machine.create({ memSize: 128 << 20, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: true });
    expect(refusal(() => restoreSnapshot(bare, snap, 's.wvsnap'))).toBe('s.wvsnap: snapshot does not match the command line: it is of a VM, not a bare machine');
    const other = await Vm.create({ memSize: 128 << 20, kernel: loadImageFile(OTHER_KERNEL, 0x80200000n) });
    expect(refusal(() => restoreSnapshot(other, snap, 's.wvsnap'))).toMatch(/^s\.wvsnap: snapshot does not match the command line: a different image \(checksum [0-9a-f]{8}, this one's is [0-9a-f]{8}\)$/);
  }, 60_000);

  it('a disk where the snapshot had none', async () => {
    const withDisk = await Vm.create({ memSize: 128 << 20, kernel: loadImageFile(KERNEL, 0x80200000n), disk: new MemoryBackend(4096) });
    expect(refusal(() => restoreSnapshot(withDisk, snap, 's.wvsnap'))).toBe('s.wvsnap: snapshot does not match the command line: device virtio-mmio@10001000 is not on this machine');
  }, 60_000);
});

describe('devices that cannot be saved', () => {
  it('a bus device without saveState makes the save refuse, naming it', async () => {
    const v = await vm();
    v.bus.map(0x2000_0000n, 0x1000n, { name: 'gadget', read: () => 0n, write: () => {} });
    expect(refusal(() => saveSnapshot(v))).toBe('wasmvisor: cannot save: gadget@20000000 does not support snapshots');
  }, 60_000);

  it('a virtio transport whose device model has no saveState makes the save refuse, naming both', async () => {
    const v = await vm();
    const model: VirtioDevice = {
      name: 'virtio-gadget', deviceId: 99, deviceFeatures: 0n, queueMaxSizes: [8],
      readConfig: () => 0, writeConfig: () => {}, activate: () => {}, processQueue: () => false, reset: () => {}, snapshot: () => ({}),
    } as unknown as VirtioDevice;
    v.bus.map(0x2000_0000n, 0x1000n, new VirtioMmio(model, v.guestMemory(), { set: () => {} }, 'virtio-gadget'));
    expect(refusal(() => saveSnapshot(v))).toBe('wasmvisor: cannot save: virtio-gadget@20000000: its device model virtio-gadget does not support snapshots');
  }, 60_000);
});
