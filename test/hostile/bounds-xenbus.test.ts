/**
 * The XenBus backend's transition history is bounded (docs/bounds.md): a DomU that cycles its
 * frontend state (Initialising -> Initialised -> Closed) for as long as it runs used to grow
 * XenbusBackend.history by four entries a cycle, forever.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../host/devices/virtio/backend';
import { Blkback } from '../../host/xen/backends/blkback';
import { BLKIF_REQ_SIZE, BLKIF_RSP_SIZE } from '../../host/xen/backends/blkif';
import { XENBUS_HISTORY_MAX, XenbusBackend } from '../../host/xen/backends/xenbus-backend';
import { XenStoreServer } from '../../host/xen/xenstore/server';
import { XsToolstack } from '../../host/xen/xenstore/toolstack';
import { bytesOf, XsType } from '../../host/xen/xenstore/wire';
import { XenbusState as S } from '../../host/xen/xenstore/xenbus';
import { FrontRing, World } from '../xen/backends/harness';
import { GuestClient } from '../xen/xenstore/client';

describe('XenBus backend history', () => {
  it(`keeps the last ${XENBUS_HISTORY_MAX} transitions of 200 connect/close cycles, and counts them all`, () => {
    const world = new World();
    const fe = world.addDomain(1);
    const server = new XenStoreServer();
    const ts = new XsToolstack(server);
    ts.createDomainHome(1, 'guest');
    const guest = new GuestClient(server, 1);
    const paths = ts.addDevice({ type: 'vbd', devid: 51712, frontendDomid: 1, backendDomid: 0 });
    const be = new Blkback({ grants: world.grants, events: world.events, frontendDomid: 1, disk: new MemoryBackend(64 * 512) });
    const xb = new XenbusBackend(ts, paths, be);
    const feWrite = (key: string, value: string) => expect(guest.call(XsType.WRITE, 0, `${paths.frontend}/${key}`, bytesOf(value)).strings).toEqual(['OK']);
    xb.start();
    const cycles = 200;
    for (let i = 0; i < cycles; i++) {
      new FrontRing(fe, 0, BLKIF_REQ_SIZE, BLKIF_RSP_SIZE);
      feWrite('ring-ref', String(fe.grant(0)));
      feWrite('event-channel', String(fe.allocPort()));
      feWrite('state', String(S.Initialised));
      expect(xb.state).toBe(S.Connected);
      feWrite('state', String(S.Closed));
      expect(xb.state).toBe(S.Closed);
      feWrite('state', String(S.Initialising));
      expect(xb.state).toBe(S.InitWait);
    }
    // start: InitWait; each cycle: Connected, Closing, Closed, InitWait.
    expect(xb.transitions).toBe(1 + 4 * cycles);
    expect(xb.history).toHaveLength(XENBUS_HISTORY_MAX);
    expect(xb.history.slice(-4)).toEqual([S.Connected, S.Closing, S.Closed, S.InitWait]);
    expect(world.grants.activeMappings(1)).toBe(0);
  });
});
