/**
 * The TCP network backend (QEMU's `-netdev socket` stream framing: a 4-byte big-endian length,
 * then the frame): the decoder over arbitrary chunking, two endpoints exchanging frames, a raw
 * peer speaking the wire format, disconnects (one line, frames dropped and counted, the dialler
 * dials again), an oversized length, a port already in use, and the --net parser.
 */
import { spawn } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { oracle, QEMU } from '../../../oracles';
import { encodeFrame, FrameDecoder, NET_SOCKET_MAX_FRAME, parseNetOption, SocketNetBackend } from '../../../../host/devices/virtio/net-socket';

const frame = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const until = async (cond: () => boolean, ms = 10_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});
async function backend(mode: 'listen' | 'connect', port: number, log: string[] = []): Promise<SocketNetBackend> {
  const b = await SocketNetBackend.open({ mode, host: '127.0.0.1', port }, (l) => log.push(l));
  open.push(b);
  return b;
}

describe('FrameDecoder', () => {
  it('splits frames whatever the chunking: byte by byte, several per chunk', () => {
    const frames = [frame(60, 1), frame(1, 2), frame(1514, 3)];
    const wire = Buffer.concat(frames.map(encodeFrame));
    for (const step of [1, 3, 7, 64, wire.length]) {
      const got: Uint8Array[] = [];
      const d = new FrameDecoder((f) => got.push(f));
      for (let i = 0; i < wire.length; i += step) expect(d.feed(wire.subarray(i, i + step))).toBeUndefined();
      expect(got).toEqual(frames);
    }
  });
  it('the prefix is big-endian: 60 bytes is 00 00 00 3c', () => {
    expect([...encodeFrame(frame(60, 0)).subarray(0, 4)]).toEqual([0, 0, 0, 0x3c]);
  });
  it('an empty frame is skipped; a length above QEMU\'s NET_BUFSIZE is an error', () => {
    const got: Uint8Array[] = [];
    const d = new FrameDecoder((f) => got.push(f));
    expect(d.feed(Uint8Array.of(0, 0, 0, 0))).toBeUndefined();
    expect(got).toEqual([]);
    const big = new Uint8Array(4);
    new DataView(big.buffer).setUint32(0, NET_SOCKET_MAX_FRAME + 1);
    expect(d.feed(big)).toBe(`frame length ${NET_SOCKET_MAX_FRAME + 1} is above 69632`);
  });
});

describe('SocketNetBackend', () => {
  it('listen and connect endpoints exchange frames both ways', async () => {
    const a = await backend('listen', 0);
    const b = await backend('connect', a.boundPort!);
    const atA: Uint8Array[] = [];
    const atB: Uint8Array[] = [];
    a.onReceive = (f) => atA.push(f);
    b.onReceive = (f) => atB.push(f);
    await until(() => a.connected && b.connected);
    b.send(frame(60, 1));
    b.send(frame(1514, 2));
    a.send(frame(98, 3));
    await until(() => atA.length === 2 && atB.length === 1);
    expect(atA).toEqual([frame(60, 1), frame(1514, 2)]);
    expect(atB).toEqual([frame(98, 3)]);
    expect(a.counters).toEqual({ sent: 1, received: 2, dropped: 0 });
    expect(b.counters).toEqual({ sent: 2, received: 1, dropped: 0 });
  });

  it('speaks the wire format: a raw peer sees length-prefixed frames and its frames arrive', async () => {
    const a = await backend('listen', 0);
    const got: Uint8Array[] = [];
    a.onReceive = (f) => got.push(f);
    const raw = createConnection({ host: '127.0.0.1', port: a.boundPort! });
    const seen: Buffer[] = [];
    raw.on('data', (b: Buffer) => seen.push(b));
    await until(() => a.connected);
    a.send(Uint8Array.of(1, 2, 3));
    await until(() => Buffer.concat(seen).length === 7);
    expect([...Buffer.concat(seen)]).toEqual([0, 0, 0, 3, 1, 2, 3]);
    // Two frames, the second split across writes.
    raw.write(Buffer.from([0, 0, 0, 2, 9, 8, 0, 0]));
    raw.write(Buffer.from([0, 1, 7]));
    await until(() => got.length === 2);
    expect(got).toEqual([Uint8Array.of(9, 8), Uint8Array.of(7)]);
    raw.destroy();
  });

  it('connect= keeps dialling until the listener is up; before that frames are dropped and counted', async () => {
    // Find a free port, then let it go so nobody listens there yet.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const b = await backend('connect', port);
    b.send(frame(60, 1));
    expect(b.counters.dropped).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    const a = await backend('listen', port);
    await until(() => a.connected && b.connected);
    const got: Uint8Array[] = [];
    a.onReceive = (f) => got.push(f);
    b.send(frame(60, 2));
    await until(() => got.length === 1);
    expect(got[0]).toEqual(frame(60, 2));
  });

  it('a peer that disconnects is one line; frames are dropped until the dialler is back', async () => {
    const logA: string[] = [];
    const logB: string[] = [];
    const a = await backend('listen', 0, logA);
    const b = await backend('connect', a.boundPort!, logB);
    await until(() => a.connected && b.connected);
    // The listener's side of the connection goes away: both see it once; b dials again.
    const bPort = (a as unknown as { peer: Socket }).peer.remotePort;
    (a as unknown as { peer: Socket }).peer.destroy();
    await until(() => logA.length === 1 && logB.length === 1);
    expect(logA).toEqual([`wasmvisor: --net: peer 127.0.0.1:${bPort} disconnected; frames are dropped until one connects`]);
    expect(logB).toEqual([`wasmvisor: --net: peer 127.0.0.1:${a.boundPort} disconnected; frames are dropped until one connects`]);
    await until(() => a.connected && b.connected);
    const got: Uint8Array[] = [];
    a.onReceive = (f) => got.push(f);
    b.send(frame(60, 5));
    await until(() => got.length === 1);
    b.close();
    await until(() => !a.connected);
    a.send(frame(60, 6));
    expect(a.counters.dropped).toBe(1);
    expect(logA.length).toBe(2);
  });

  it('a second peer is turned away while one is connected', async () => {
    const a = await backend('listen', 0);
    const b = await backend('connect', a.boundPort!);
    await until(() => a.connected && b.connected);
    const extra = createConnection({ host: '127.0.0.1', port: a.boundPort! });
    await new Promise<void>((r) => extra.on('close', () => r()));
    expect(a.connected).toBe(true);
  });

  it('a length above NET_BUFSIZE ends the connection with one line', async () => {
    const log: string[] = [];
    const a = await backend('listen', 0, log);
    const raw = createConnection({ host: '127.0.0.1', port: a.boundPort! });
    await until(() => a.connected);
    const rawPort = raw.localPort;
    raw.write(Buffer.from([0, 1, 0x10, 1]));
    await until(() => !a.connected);
    expect(log[0]).toBe(`wasmvisor: --net: peer 127.0.0.1:${rawPort}: frame length 69633 is above 69632; connection closed`);
    raw.destroy();
  });

  it('listening on a port in use is a one-line UserError (exit 2)', async () => {
    const a = await backend('listen', 0);
    await expect(backend('listen', a.boundPort!)).rejects.toMatchObject({
      message: `wasmvisor: --net: cannot listen on 127.0.0.1:${a.boundPort}: EADDRINUSE`, exitCode: 2,
    });
  });
});

// The wire format against QEMU itself: its -netdev socket on a hub with its user-mode network
// (slirp, the gateway 10.0.2.2). An ARP request we send must come back as slirp's ARP reply.
describe.skipIf(!oracle('qemu', 'test/host/devices/virtio/net-socket.test.ts'))('interoperates with QEMU -netdev socket', () => {
  it('a frame to QEMU\'s slirp through its socket netdev gets the ARP reply back', async () => {
    const a = await backend('listen', 0);
    const q = spawn(QEMU, [
      '-M', 'none', '-nographic',
      '-netdev', 'user,id=u,net=10.0.2.0/24', '-netdev', 'hubport,id=h0,hubid=0,netdev=u',
      '-netdev', `socket,id=s,connect=127.0.0.1:${a.boundPort}`, '-netdev', 'hubport,id=h1,hubid=0,netdev=s',
    ], { stdio: 'ignore' });
    try {
      const got: Uint8Array[] = [];
      a.onReceive = (f) => got.push(f);
      await until(() => a.connected);
      const mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
      // Ethernet broadcast, ARP request (htype 1, ptype IPv4, op 1): who has 10.0.2.2, tell 10.0.2.15.
      a.send(Uint8Array.of(255, 255, 255, 255, 255, 255, ...mac, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1, ...mac, 10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2, ...new Array(18).fill(0)));
      await until(() => got.length > 0);
      const r = got[0];
      expect([...r.subarray(0, 6)]).toEqual(mac); // to us
      expect([...r.subarray(12, 14)]).toEqual([8, 6]); // ARP
      expect([...r.subarray(20, 22)]).toEqual([0, 2]); // reply
      expect([...r.subarray(28, 32)]).toEqual([10, 0, 2, 2]); // sender: the gateway
      expect([...r.subarray(38, 42)]).toEqual([10, 0, 2, 15]); // target: us
    } finally {
      q.kill('SIGKILL');
    }
  }, 30_000);
});

describe('parseNetOption', () => {
  it('listen=, connect=, an empty host, mac=', () => {
    expect(parseNetOption('socket,listen=127.0.0.1:5555')).toEqual({ endpoint: { mode: 'listen', host: '127.0.0.1', port: 5555 }, mac: undefined });
    expect(parseNetOption('socket,connect=:5555,mac=52:54:00:12:34:57')).toEqual({
      endpoint: { mode: 'connect', host: '127.0.0.1', port: 5555 }, mac: Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x57),
    });
    expect(parseNetOption('socket,listen=:0').endpoint).toEqual({ mode: 'listen', host: '0.0.0.0', port: 0 });
  });
  it.each([
    ['user', "unknown backend 'user'"],
    ['socket', 'missing listen= or connect='],
    ['socket,listen=:1,connect=:2', 'listen= and connect= given together'],
    ['socket,listen=localhost', "bad address 'localhost'"],
    ['socket,connect=:70000', "bad address ':70000'"],
    ['socket,connect=:0', "bad address ':0'"],
    ['socket,listen=:1,mac=52:54:00:12:34', "bad MAC address '52:54:00:12:34'"],
    ['socket,listen=:1,mac=01:00:5e:00:00:01', "MAC address '01:00:5e:00:00:01' is a multicast address"],
    ['socket,listen=:1,fd=3', "unknown option 'fd'"],
  ])('%s: %s', (value, why) => {
    expect(() => parseNetOption(value)).toThrow(`wasmvisor: --net: ${why} in '${value}' (expected socket,listen=HOST:PORT or socket,connect=HOST:PORT[,mac=52:54:00:12:34:56])`);
  });
});
