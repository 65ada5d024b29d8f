/** The backend's XenBus handshake, through every XenbusState, with a frontend writing as DomU 1. */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../host/devices/virtio/backend';
import { Blkback } from '../../../host/xen/backends/blkback';
import { BLKIF_OP_FLUSH_DISKCACHE, BLKIF_REQ_SIZE, BLKIF_RSP_OKAY, BLKIF_RSP_SIZE, decodeBlkifResponse, encodeBlkifRequest } from '../../../host/xen/backends/blkif';
import { readU32Key, XenbusBackend } from '../../../host/xen/backends/xenbus-backend';
import { XenStoreServer } from '../../../host/xen/xenstore/server';
import { XsToolstack } from '../../../host/xen/xenstore/toolstack';
import { bytesOf, latin1, XsType } from '../../../host/xen/xenstore/wire';
import { XenbusState as S } from '../../../host/xen/xenstore/xenbus';
import { GuestClient } from '../xenstore/client';
import { FrontRing, World, type Frontend } from './harness';

let world: World;
let fe: Frontend;
let ts: XsToolstack;
let guest: GuestClient;
let be: Blkback;
let xb: XenbusBackend;
let paths: { frontend: string; backend: string };

/** The DomU writes a key of its own device directory over its XenStore ring. */
function feWrite(key: string, value: string): void {
  // The value goes without a NUL (xs_write), as a C frontend sends it.
  const r = guest.call(XsType.WRITE, 0, `${paths.frontend}/${key}`, bytesOf(value));
  expect(r.strings).toEqual(['OK']);
}

beforeEach(() => {
  world = new World();
  fe = world.addDomain(1);
  const server = new XenStoreServer();
  ts = new XsToolstack(server);
  ts.createDomainHome(1, 'guest');
  guest = new GuestClient(server, 1);
  paths = ts.addDevice({ type: 'vbd', devid: 51712, frontendDomid: 1, backendDomid: 0 });
  be = new Blkback({ grants: world.grants, events: world.events, frontendDomid: 1, disk: new MemoryBackend(64 * 512) });
  xb = new XenbusBackend(ts, paths, be);
});

function connectFrontend(): { ring: FrontRing; port: number } {
  const ring = new FrontRing(fe, 0, BLKIF_REQ_SIZE, BLKIF_RSP_SIZE);
  const port = fe.allocPort();
  feWrite('ring-ref', String(fe.grant(0)));
  feWrite('event-channel', String(port));
  feWrite('state', String(S.Initialised));
  return { ring, port };
}

describe('xenbus backend handshake', () => {
  it('Initialising -> InitWait -> Connected -> Closing -> Closed -> InitWait -> Connected -> Closing -> Closed', () => {
    expect(xb.state).toBe(S.Initialising);
    xb.start();
    expect(xb.state).toBe(S.InitWait);
    expect(ts.read(`${paths.backend}/sectors`)).toBe('64');
    expect(ts.read(`${paths.backend}/feature-flush-cache`)).toBe('1');
    // The frontend can read the features (the backend directory is readable by it).
    expect(latin1(guest.call(XsType.READ, 0, `${paths.backend}/mode`).raw.subarray(16))).toBe('w');

    const { ring, port } = connectFrontend();
    expect(xb.state).toBe(S.Connected);
    expect(xb.isConnected).toBe(true);
    ring.put(encodeBlkifRequest({ operation: BLKIF_OP_FLUSH_DISKCACHE, nrSegments: 0, handle: 0, id: 9n, sector: 0n, seg: [] }));
    if (ring.push()) fe.notify(port);
    expect(ring.responses().map((b) => decodeBlkifResponse(b).status)).toEqual([BLKIF_RSP_OKAY]);
    feWrite('state', String(S.Connected));
    expect(xb.state).toBe(S.Connected);

    feWrite('state', String(S.Closing));
    expect(xb.state).toBe(S.Closing);
    expect(world.grants.activeMappings(1)).toBe(1); // still mapped until the frontend is Closed
    feWrite('state', String(S.Closed));
    expect(xb.state).toBe(S.Closed);
    expect(world.grants.activeMappings(1)).toBe(0);
    expect(be.channel.port).toBe(0);

    // The frontend comes back (e.g. after a kexec / module reload).
    feWrite('state', String(S.Initialising));
    expect(xb.state).toBe(S.InitWait);
    connectFrontend();
    expect(xb.state).toBe(S.Connected);

    xb.close(); // the toolstack detaches the disk
    expect(xb.state).toBe(S.Closed);
    expect(world.grants.activeMappings(1)).toBe(0);
    expect(xb.history).toEqual([S.InitWait, S.Connected, S.Closing, S.Closed, S.InitWait, S.Connected, S.Closing, S.Closed]);
    feWrite('state', String(S.Initialised)); // no longer watched
    expect(xb.state).toBe(S.Closed);
  });

  it('bad keys: error node, Closing, nothing mapped; the frontend vanishing closes the device', () => {
    xb.start();
    feWrite('ring-ref', '12abc');
    feWrite('event-channel', '1');
    feWrite('state', String(S.Initialised));
    expect(xb.state).toBe(S.Closing);
    expect(ts.read(`${paths.backend}/error`)).toBe('vbd d1: ring-ref missing or malformed');
    feWrite('ring-ref', '4000'); // a ref that is not granted
    feWrite('state', String(S.Closed));
    expect(xb.state).toBe(S.Closed);
    feWrite('state', String(S.Initialising));
    feWrite('state', String(S.Initialised));
    expect(xb.state).toBe(S.Closing);
    expect(xb.error).toMatch(/cannot map ring grant ref 4000 of d1/);
    expect(world.grants.activeMappings(1)).toBe(0);
    feWrite('state', String(S.Initialising)); // ignored while Closing
    expect(xb.state).toBe(S.Closing);
    feWrite('state', String(S.Closed));
    feWrite('state', String(S.Initialising));
    expect(xb.state).toBe(S.InitWait);
    expect(guest.call(XsType.RM, 0, `${paths.frontend}/state`).strings).toEqual(['OK']);
    expect(xb.state).toBe(S.Closed);
  });

  it('a ring broken at run time: the driver stops, the backend records the error and goes Closing', () => {
    xb.start();
    const { ring, port } = connectFrontend();
    ring.setField(0, 1000);
    fe.notify(port);
    expect(xb.state).toBe(S.Closing);
    expect(xb.isConnected).toBe(false);
    expect(ts.read(`${paths.backend}/error`)).toMatch(/vbd d1: frontend broke the ring: req_prod 1000/);
    feWrite('state', String(S.Closed));
    expect(xb.state).toBe(S.Closed);
  });

  it('readU32Key accepts plain decimals up to 2^32-1 only', () => {
    expect(['0', '8', '4294967295'].map(readU32Key)).toEqual([0, 8, 4294967295]);
    for (const bad of [undefined, '', '-1', '+1', ' 1', '1 ', '0x10', '4294967296', '12345678901', '1e3']) expect(readU32Key(bad)).toBe(undefined);
  });
});
