import { expect, test } from 'vitest';
import { VirtioMmioEmpty } from '../../../host/devices/virtio-mmio-empty';

test('an empty slot reads magic, version 2, device 0 and QEMU vendor; the rest 0', () => {
  const d = new VirtioMmioEmpty();
  expect(d.read(0x000, 4)).toBe(0x74726976n);
  expect(d.read(0x004, 4)).toBe(2n);
  expect(d.read(0x008, 4)).toBe(0n);
  expect(d.read(0x00c, 4)).toBe(0x554d4551n);
  for (const off of [0x010, 0x034, 0x044, 0x060, 0x070, 0x0fc, 0x100, 0xffc]) expect(d.read(off, 4)).toBe(0n);
});

test('writes are ignored', () => {
  const d = new VirtioMmioEmpty();
  d.write(0x070, 4, 0xffn); // Status
  d.write(0x000, 4, 0n);
  expect(d.read(0x070, 4)).toBe(0n);
  expect(d.read(0x000, 4)).toBe(0x74726976n);
});

test('narrow reads see their bytes of the word', () => {
  const d = new VirtioMmioEmpty();
  expect(d.read(0x000, 1)).toBe(0x76n); // 'v'
  expect(d.read(0x002, 2)).toBe(0x7472n);
});
