/** The PV console backend: out drained to the sink (with wrap), input into the in ring, limits. */
import { beforeEach, describe, expect, it } from 'vitest';
import { ConsoleBackend, XENCONS_IN, XENCONS_IN_CONS, XENCONS_IN_PROD, XENCONS_OUT, XENCONS_OUT_CONS, XENCONS_OUT_PROD } from '../../../host/xen/backends/console';
import { World, type Frontend } from './harness';

const PAGE = 0;
let world: World;
let fe: Frontend;
let port: number;
let con: ConsoleBackend;
let out: string;
let fatal: string[];
let outProd: number;

const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const get32 = (off: number) => new DataView(fe.peek(PAGE, off, 4).buffer).getUint32(0, true);

/** The guest writes text to out[] (as xencons_ring_send does) and notifies. */
function guestWrite(text: string): void {
  for (const ch of Buffer.from(text, 'latin1')) {
    fe.poke(PAGE, XENCONS_OUT + (outProd & 2047), [ch]);
    outProd = (outProd + 1) >>> 0;
  }
  fe.poke(PAGE, XENCONS_OUT_PROD, u32(outProd));
  fe.notify(port);
}

/** The guest reads everything in in[] and advances in_cons. */
function guestRead(): string {
  let cons = get32(XENCONS_IN_CONS);
  const prod = get32(XENCONS_IN_PROD);
  let s = '';
  while (cons !== prod) {
    s += String.fromCharCode(fe.peek(PAGE, XENCONS_IN + (cons & 1023), 1)[0]);
    cons = (cons + 1) >>> 0;
  }
  fe.poke(PAGE, XENCONS_IN_CONS, u32(cons));
  return s;
}

function setup(startIdx = 0): void {
  world = new World();
  fe = world.addDomain(1);
  outProd = startIdx;
  for (const off of [XENCONS_IN_CONS, XENCONS_IN_PROD, XENCONS_OUT_CONS, XENCONS_OUT_PROD]) fe.poke(PAGE, off, u32(startIdx));
  port = fe.allocPort();
  out = '';
  fatal = [];
  con = new ConsoleBackend({ grants: world.grants, events: world.events, frontendDomid: 1, sink: (b) => { out += Buffer.from(b).toString('latin1'); }, onFatal: (r) => fatal.push(r), maxPendingInput: 1500 });
  expect(con.connectGrant(fe.grant(PAGE), port)).toBe(null);
}

beforeEach(() => setup());

describe('console backend', () => {
  it('drains out[] to the sink and advances out_cons; one notification per pass', () => {
    guestWrite('hello, ');
    guestWrite('world\n');
    expect(out).toBe('hello, world\n');
    expect(get32(XENCONS_OUT_CONS)).toBe(13);
    expect(con.stats).toMatchObject({ outBytes: 13, notifications: 2 });
    expect(fe.takeEvent(port)).toBe(true);
  });

  it('wraps around the 2048-byte ring with free-running indices near 2^32', () => {
    setup(0xffffffff - 1000);
    const text = 'x'.repeat(1500) + 'y'.repeat(500);
    guestWrite(text.slice(0, 1500));
    guestWrite(text.slice(1500));
    guestWrite('z'.repeat(2048)); // a completely full ring
    expect(out).toBe(text + 'z'.repeat(2048));
    expect(get32(XENCONS_OUT_CONS)).toBe(((0xffffffff - 1000) + 4048) >>> 0);
  });

  it('feeds input into in[] as far as it fits; the rest waits (bounded) for the guest to consume', () => {
    expect(con.input(Buffer.from('ls -l\n'))).toBe(6);
    expect(guestRead()).toBe('ls -l\n');
    const long = Buffer.from('a'.repeat(1024) + 'b'.repeat(400));
    expect(con.input(long)).toBe(1424);
    expect(guestRead()).toBe('a'.repeat(1024));
    expect(con.snapshot().pendingInput.length).toBe(400);
    expect(con.input(Buffer.from('c'.repeat(2000)))).toBe(1100); // 1500-byte pending limit
    expect(con.stats.inputDropped).toBe(900);
    fe.notify(port); // the guest consumed: the backend moves more in
    expect(guestRead()).toBe('b'.repeat(400) + 'c'.repeat(624));
    fe.notify(port);
    expect(guestRead()).toBe('c'.repeat(476));
    expect(con.stats.inBytes).toBe(6 + 1024 + 1024 + 476);
  });

  it('a wild out_prod stops the console; so does an in_cons ahead of in_prod', () => {
    fe.poke(PAGE, XENCONS_OUT_PROD, u32(2049));
    fe.notify(port);
    expect(fatal).toEqual(['console d1: guest broke the console ring: out_prod 2049 is 2049 bytes past out_cons 0']);
    expect(out).toBe('');
    expect(world.grants.activeMappings(1)).toBe(0);
    setup();
    fe.poke(PAGE, XENCONS_IN_CONS, u32(5));
    con.input(Buffer.from('q'));
    expect(fatal[0]).toMatch(/in_cons 5 is not within 1024 bytes before in_prod 0/);
  });

  it('the primary console: a page the toolstack hands over directly', () => {
    const bytes = new Uint8Array(4096);
    const page = { read: (o: number, n: number) => bytes.slice(o, o + n), write: (o: number, b: Uint8Array) => bytes.set(b, o) };
    world = new World();
    fe = world.addDomain(1);
    port = fe.allocPort();
    out = '';
    con = new ConsoleBackend({ grants: world.grants, events: world.events, frontendDomid: 1, sink: (b) => { out += Buffer.from(b).toString(); } });
    bytes.set(Buffer.from('boot'), XENCONS_OUT);
    bytes.set(u32(4), XENCONS_OUT_PROD);
    expect(con.connectPage(page, port)).toBe(null); // drains what the guest wrote before connecting
    expect(out).toBe('boot');
  });
});
