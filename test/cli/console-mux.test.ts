import { describe, expect, it } from 'vitest';
import { ConsoleMux, MUX_HELP } from '../../host/cli/console-mux';

function harness() {
  const guest: number[] = [];
  const notices: string[] = [];
  let quits = 0;
  const mux = new ConsoleMux({
    guest: (b) => guest.push(...b),
    quit: () => quits++,
    notice: (t) => notices.push(t),
  });
  const feed = (s: string | number[]) => mux.feed(typeof s === 'string' ? new TextEncoder().encode(s) : Uint8Array.from(s));
  return { guest, notices, feed, quits: () => quits };
}

describe('ConsoleMux (Ctrl-A escape as qemu -nographic)', () => {
  it('passes ordinary bytes through, Ctrl-C included', () => {
    const h = harness();
    h.feed([0x68, 0x69, 0x03, 0x0d]);
    expect(h.guest).toEqual([0x68, 0x69, 0x03, 0x0d]);
    expect(h.quits()).toBe(0);
  });
  it('Ctrl-A x quits and drops everything after it', () => {
    const h = harness();
    h.feed([0x61, 0x01, 0x78, 0x62]);
    h.feed('more');
    expect(h.guest).toEqual([0x61]);
    expect(h.quits()).toBe(1);
  });
  it('Ctrl-A X (upper case) quits too, with the escape split across chunks', () => {
    const h = harness();
    h.feed([0x61, 0x01]);
    h.feed([0x58]);
    expect(h.guest).toEqual([0x61]);
    expect(h.quits()).toBe(1);
  });
  it('Ctrl-A Ctrl-A sends one Ctrl-A, in order with the surrounding bytes', () => {
    const h = harness();
    h.feed([0x61, 0x01, 0x01, 0x62, 0x01]);
    h.feed([0x01, 0x63]);
    expect(h.guest).toEqual([0x61, 0x01, 0x62, 0x01, 0x63]);
  });
  it('Ctrl-A h / H / ? prints the help; other keys after Ctrl-A are dropped', () => {
    const h = harness();
    h.feed([0x01, 0x68, 0x01, 0x48, 0x01, 0x3f, 0x01, 0x7a, 0x61]);
    expect(h.notices).toEqual([MUX_HELP, MUX_HELP, MUX_HELP]);
    expect(h.guest).toEqual([0x61]);
    expect(MUX_HELP).toContain('C-a x    exit wasmvisor\r\n');
  });
});

describe('ConsoleMux: Ctrl-A c (the monitor)', () => {
  it('calls the monitor sink, and is dropped when there is none', () => {
    let switches = 0;
    const guest: number[] = [];
    const mux = new ConsoleMux({ guest: (b) => guest.push(...b), quit: () => {}, notice: () => {}, monitor: () => switches++ });
    mux.feed(Uint8Array.from([0x61, 0x01, 0x63, 0x62, 0x01, 0x43]));
    expect(switches).toBe(2);
    expect(guest).toEqual([0x61, 0x62]);
    const h = harness();
    h.feed([0x01, 0x63, 0x7a]);
    expect(h.guest).toEqual([0x7a]);
    expect(MUX_HELP).toContain('C-a c    switch between console and monitor\r\n');
  });
});

describe('Ctrl-A v: typed input to the other console (issue 12, virtio console)', () => {
  it('calls switchConsole and says where input goes now; without the sink the key is dropped', () => {
    const to: ('uart' | 'virtio')[] = ['virtio', 'uart'];
    const notices: string[] = [];
    const guest: number[] = [];
    const mux = new ConsoleMux({ guest: (b) => guest.push(...b), quit: () => {}, notice: (t) => notices.push(t), switchConsole: () => to.shift()! });
    mux.feed(Uint8Array.of(0x01, 0x76, 0x61, 0x01, 0x56));
    expect(notices).toEqual(['\r\nwasmvisor: console input to the virtio console\r\n', '\r\nwasmvisor: console input to the UART\r\n']);
    expect(guest).toEqual([0x61]);
    const h = harness();
    h.feed([0x01, 0x76, 0x62]);
    expect([h.notices, h.guest]).toEqual([[], [0x62]]);
    expect(MUX_HELP).toContain('C-a v    switch typed input between the UART and the virtio console\r\n');
  });
});
