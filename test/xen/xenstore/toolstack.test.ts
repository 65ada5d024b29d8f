/** Dom0's direct API: domain homes, device directories, watches with callbacks, the handshake. */
import { describe, expect, it } from 'vitest';
import { XenStoreServer } from '../../../host/xen/xenstore/server';
import { XsToolstack } from '../../../host/xen/xenstore/toolstack';
import { parseXenbusState, XenbusState } from '../../../host/xen/xenstore/xenbus';
import { bytesOf, XsType } from '../../../host/xen/xenstore/wire';
import { GuestClient } from './client';

describe('XsToolstack', () => {
  it('XenbusState values are those of io/xenbus.h; malformed states read Unknown', () => {
    expect([XenbusState.Unknown, XenbusState.Initialising, XenbusState.InitWait, XenbusState.Initialised, XenbusState.Connected,
      XenbusState.Closing, XenbusState.Closed, XenbusState.Reconfiguring, XenbusState.Reconfigured]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseXenbusState('4')).toBe(XenbusState.Connected);
    expect(parseXenbusState(bytesOf('6'))).toBe(XenbusState.Closed);
    for (const bad of ['', '9', '04', '4 ', '-1', 'x']) expect(parseXenbusState(bad)).toBe(XenbusState.Unknown);
  });

  it('creates a domain home with the libxl permissions', () => {
    const ts = new XsToolstack(new XenStoreServer());
    expect(ts.createDomainHome(3, 'web')).toBe('/local/domain/3');
    expect(ts.directory('/local/domain/3')).toEqual(['name', 'domid', 'device', 'control', 'data']);
    expect(ts.getPerms('/local/domain/3')).toEqual(['n0', 'r3']);
    expect(ts.getPerms('/local/domain/3/device')).toEqual(['n0', 'r3']);
    expect(ts.getPerms('/local/domain/3/data')).toEqual(['n3']);
    expect(ts.read('/local/domain/3/name')).toBe('web');
    ts.removeDomainHome(3);
    expect(ts.tryRead('/local/domain/3/name')).toBe(undefined);
  });

  it('addDevice writes cross-linked frontend/backend directories; the handshake runs through watches', () => {
    const server = new XenStoreServer();
    const ts = new XsToolstack(server);
    ts.createDomainHome(1, 'g');
    const fe = new GuestClient(server, 1);
    const paths = ts.addDevice({ type: 'vbd', devid: 51712, frontendDomid: 1, backendDomid: 0, backend: { 'sectors': '2048' } });
    expect(paths).toEqual({ frontend: '/local/domain/1/device/vbd/51712', backend: '/local/domain/0/backend/vbd/1/51712' });
    expect(ts.getPerms(paths.frontend)).toEqual(['n1', 'r0']);
    expect(ts.getPerms(`${paths.frontend}/state`)).toEqual(['n1', 'r0']);
    expect(ts.getPerms(paths.backend)).toEqual(['n0', 'r1']);
    expect(ts.read(`${paths.frontend}/backend`)).toBe(paths.backend);
    expect(ts.read(`${paths.backend}/frontend-id`)).toBe('1');
    expect(ts.readState(paths.frontend)).toBe(XenbusState.Initialising);
    expect(ts.readState(paths.backend)).toBe(XenbusState.Initialising);

    // The backend watches the frontend's state: the initial event, then each change.
    const events: string[] = [];
    ts.watch(`${paths.frontend}/state`, 'be', (p) => {
      events.push(`${p}=${ts.readState(paths.frontend)}`);
      if (ts.readState(paths.frontend) === XenbusState.Initialised) ts.switchState(paths.backend, XenbusState.Connected);
    });
    ts.switchState(paths.backend, XenbusState.InitWait);
    // The frontend reads the backend over its ring and moves on.
    expect(fe.call(XsType.READ, 0, `${paths.backend}/sectors`).raw.subarray(16)).toEqual(bytesOf('2048'));
    expect(fe.call(XsType.READ, 0, `${paths.backend}/state`).raw.subarray(16)).toEqual(bytesOf('2'));
    expect(fe.call(XsType.WRITE, 0, 'device/vbd/51712/state', bytesOf('3')).strings).toEqual(['OK']);
    expect(events).toEqual([`${paths.frontend}/state=1`, `${paths.frontend}/state=3`]);
    expect(ts.readState(paths.backend)).toBe(XenbusState.Connected);
    // The frontend may not touch the backend directory.
    expect(fe.call(XsType.WRITE, 0, `${paths.backend}/state`, bytesOf('6')).strings).toEqual(['EACCES']);
    ts.unwatch(`${paths.frontend}/state`, 'be');
    ts.removeDevice(paths);
    expect(ts.tryRead(`${paths.backend}/state`)).toBe(undefined);
  });

  it('transaction() retries on EAGAIN and returns the body result', () => {
    const ts = new XsToolstack(new XenStoreServer());
    ts.write('/counter', '0');
    let attempts = 0;
    const got = ts.transaction((tx) => {
      attempts++;
      const v = Number(ts.read('/counter', tx));
      if (attempts === 1) ts.write('/counter', '10'); // an intervening write outside
      ts.write('/counter', String(v + 1), tx);
      return v;
    });
    expect(attempts).toBe(2);
    expect(got).toBe(10);
    expect(ts.read('/counter')).toBe('11');
    expect(() => ts.transaction(() => { throw new Error('body'); })).toThrow('body');
    expect(ts.server.store.transactionCount(0)).toBe(0);
  });

  it('watch callbacks may write without re-entering another callback; @releaseDomain reaches Dom0', () => {
    const server = new XenStoreServer();
    const ts = new XsToolstack(server);
    const log: string[] = [];
    ts.watch('/a', 'A', (p) => {
      log.push(`A:${p}`);
      if (p === '/a/1') ts.write('/a/2', 'x');
    });
    ts.watch('@releaseDomain', 'R', (p) => log.push(`R:${p}`));
    ts.write('/a/1', 'x');
    ts.createDomainHome(4, 'g');
    new GuestClient(server, 4);
    ts.releaseDomain(4);
    expect(log).toEqual(['A:/a', 'R:@releaseDomain', 'A:/a/1', 'A:/a/2', 'R:@releaseDomain']);
  });
});
