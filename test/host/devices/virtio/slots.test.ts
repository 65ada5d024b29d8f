/**
 * The board's virtio slot map (devices/virtio/slots.ts), the same on the bare machine and in a
 * VM: blk, net, console and rng in slots 0..3 when configured, empty transports elsewhere, each
 * at 0x10001000 + slot * 0x1000; and the CLI's refusals of the device options (one line, exit 2).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../host/cli/main';
import { MemoryBackend } from '../../../../host/devices/virtio/backend';
import { DEVICE_ID, MAGIC_VALUE, VERSION } from '../../../../host/devices/virtio/mmio';
import { netPair } from '../../../../host/devices/virtio/net-backend';
import { SocketNetBackend } from '../../../../host/devices/virtio/net-socket';
import { Machine } from '../../../../host/machine/machine';
import { parseImage } from '../../../../host/machine/loader';
import { Vm } from '../../../../host/vmm/vm';
import { sbiHelloPayload } from '../../../cli/guests';

const kernel = () => parseImage(sbiHelloPayload('hi'), 'guest.bin', 0x80200000n);
const all = () => ({ disk: new MemoryBackend(1 << 20), net: { backend: netPair()[0] }, virtioConsole: true, virtioRng: true });

describe('virtio slot map', () => {
  it('VM: device IDs 2, 1, 3, 4 in slots 0..3 and 0 in 4..7, read through MMIO at 0x10001000 + slot * 0x1000', async () => {
    const vm = await Vm.create({ memSize: 16 << 20, kernel: kernel(), ...all() });
    const ids = [];
    for (let i = 0; i < 8; i++) {
      const w = vm.bus.find(BigInt(0x10001000 + i * 0x1000 + DEVICE_ID), 4)!;
      expect(Number(w.device.read(MAGIC_VALUE, 4))).toBe(0x74726976);
      expect(Number(w.device.read(VERSION, 4))).toBe(2);
      ids.push(Number(w.device.read(DEVICE_ID, 4)));
    }
    expect(ids).toEqual([2, 1, 3, 4, 0, 0, 0, 0]);
    expect(vm.virtio.attached.map((t) => t.name)).toEqual(['virtio-blk@10001000', 'virtio-net@10002000', 'virtio-console@10003000', 'virtio-rng@10004000']);
  });
  it('bare machine: the same map', async () => {
    const m = await Machine.create({ memSize: 16 << 20, kernel: kernel(), ...all() });
    expect(m.virtio.slots.map((d) => Number(d.read(DEVICE_ID, 4)))).toEqual([2, 1, 3, 4, 0, 0, 0, 0]);
  });
  it('each device keeps its slot when it is the only one', async () => {
    const vm = await Vm.create({ memSize: 16 << 20, kernel: kernel(), virtioRng: true });
    expect(vm.virtio.slots.map((d) => Number(d.read(DEVICE_ID, 4)))).toEqual([0, 0, 0, 4, 0, 0, 0, 0]);
    const m = await Machine.create({ memSize: 16 << 20, kernel: kernel(), net: { backend: netPair()[0] } });
    expect(m.virtio.slots.map((d) => Number(d.read(DEVICE_ID, 4)))).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
  });
  it('typed input goes to the virtio console with consoleInput "virtio"; switchConsoleInput moves it', async () => {
    const vm = await Vm.create({ memSize: 16 << 20, kernel: kernel(), virtioConsole: true, consoleInput: 'virtio' });
    vm.consoleInput(Uint8Array.of(0x61));
    expect([vm.virtio.consoleDevice!.pendingInput(), vm.uart.pendingInput()]).toEqual([1, 0]);
    expect(vm.switchConsoleInput()).toBe('uart');
    vm.consoleInput(Uint8Array.of(0x62));
    expect([vm.virtio.consoleDevice!.pendingInput(), vm.uart.pendingInput()]).toEqual([1, 1]);
    const plain = await Vm.create({ memSize: 16 << 20, kernel: kernel() });
    expect(plain.switchConsoleInput()).toBe('uart'); // no virtio console: input stays on the UART
  });
});

describe('CLI: device options that cannot be honoured are one line, exit 2', () => {
  async function cli(args: string[]) {
    const err: string[] = [];
    const stdin = new PassThrough();
    stdin.end();
    const code = await runCli(args, { stdout: () => {}, stderr: (t) => err.push(t), stdin: stdin as unknown as NodeJS.ReadStream, onStdoutClosed: () => {} });
    return { err: err.join(''), code };
  }
  it('--net listen= on a port in use, in both modes', async () => {
    const busy = await SocketNetBackend.open({ mode: 'listen', host: '127.0.0.1', port: 0 }, () => {});
    try {
      const image = 'guests/bin/vmvirtio/blk.elf';
      for (const mode of [[], ['--bare']]) {
        expect(await cli(['run', ...mode, '--net', `socket,listen=127.0.0.1:${busy.boundPort}`, image])).toEqual({
          err: `wasmvisor: --net: cannot listen on 127.0.0.1:${busy.boundPort}: EADDRINUSE\n`, code: 2,
        });
      }
    } finally {
      busy.close();
    }
  });
});
