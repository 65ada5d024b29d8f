/**
 * Dom0's direct XenStore API (the toolstack and the backends call it in-process, not over a
 * ring): plain reads and writes with Dom0's privileges, transactions with retry, watches with
 * callbacks, a domain's home directory, and the XenBus device directories of a split driver.
 *
 * Layout, as libxl writes it (docs/misc/xenstore-paths.pandoc):
 *   /local/domain/<fe>                                  "n0" "r<fe>"   home of the DomU
 *   /local/domain/<fe>/{name,domid}                     read-only to the DomU
 *   /local/domain/<fe>/{device,control}                 "n0" "r<fe>"
 *   /local/domain/<fe>/data                             "n<fe>"        owned by the DomU
 *   /local/domain/<fe>/device/<type>/<devid>            "n<fe>" "r<be>" frontend directory
 *   /local/domain/<be>/backend/<type>/<fe>/<devid>      "n<be>" "r<fe>" backend directory
 * The frontend directory holds backend, backend-id and state; the backend directory holds
 * frontend, frontend-id, online and state. Both start Initialising.
 */
import type { Caller } from './path';
import { domainPath } from './path';
import type { RingMemory } from './ring';
import type { RingConnection } from './connection';
import type { XenStoreServer } from './server';
import type { Watcher } from './watches';
import { bytesOf, latin1, XsError } from './wire';
import { formatXenbusState, parseXenbusState, XenbusState } from './xenbus';

/** A watch callback: the event path (absolute) and the token given to watch(). */
export type WatchCallback = (path: string, token: string) => void;

/** What addDevice() needs. */
export interface DeviceSpec {
  /** Device class as in xenstore paths: "vbd", "vif", "console". */
  type: string;
  /** Device id within the class (decimal, e.g. 51712 for xvda, 0 for the first vif). */
  devid: number;
  frontendDomid: number;
  backendDomid: number;
  /** Extra keys for the frontend directory. */
  frontend?: Record<string, string>;
  /** Extra keys for the backend directory. */
  backend?: Record<string, string>;
}

/** The two directories of a device. */
export interface DevicePaths {
  frontend: string;
  backend: string;
}

/** Retries of a transaction that keeps hitting EAGAIN before giving up. */
const MAX_TX_RETRIES = 16;

/** Dom0's in-process handle on the XenStore server. */
export class XsToolstack {
  private readonly caller: Caller = { domid: 0, privileged: true, conn: 'toolstack' };
  private readonly callbacks = new Map<string, WatchCallback>();
  private readonly queue: { path: string; token: string }[] = [];
  private draining = false;
  private readonly watcher: Watcher;

  constructor(readonly server: XenStoreServer) {
    this.watcher = {
      caller: this.caller,
      // Events are queued and run one at a time, so a callback that writes to the store
      // (and so fires more events) never re-enters another callback.
      deliver: (path, token) => {
        this.queue.push({ path, token });
        if (this.draining) return;
        this.draining = true;
        try {
          for (let ev = this.queue.shift(); ev; ev = this.queue.shift()) this.callbacks.get(ev.token)?.(ev.path, ev.token);
        } finally {
          this.draining = false;
        }
      },
    };
  }

  /** Reads `path` as a string (Latin-1); throws XsError (ENOENT...) on failure. */
  read(path: string, txId = 0): string {
    return latin1(this.server.store.read(this.caller, txId, path));
  }

  /** Reads `path`, or undefined if it does not exist. */
  tryRead(path: string, txId = 0): string | undefined {
    try {
      return this.read(path, txId);
    } catch (e) {
      if (e instanceof XsError && e.errno === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Writes `value` at `path` (creating parents). */
  write(path: string, value: string | Uint8Array, txId = 0): void {
    this.server.store.write(this.caller, txId, path, typeof value === 'string' ? bytesOf(value) : value);
  }

  /** Creates `path` if missing. */
  mkdir(path: string, txId = 0): void {
    this.server.store.mkdir(this.caller, txId, path);
  }

  /** Removes `path` and its subtree. */
  rm(path: string, txId = 0): void {
    this.server.store.rm(this.caller, txId, path);
  }

  /** The children of `path`. */
  directory(path: string, txId = 0): string[] {
    return this.server.store.directory(this.caller, txId, path);
  }

  /** Permission strings of `path`, owner first. */
  getPerms(path: string, txId = 0): string[] {
    return this.server.store.getPerms(this.caller, txId, path);
  }

  /** Sets permission strings ("n1", "r0", ...) of `path`. */
  setPerms(path: string, perms: readonly string[], txId = 0): void {
    this.server.store.setPerms(this.caller, txId, path, perms);
  }

  /**
   * Runs `body` in a transaction and commits it, retrying from scratch on EAGAIN (up to 16
   * times). Any other error aborts the transaction and is rethrown.
   */
  transaction<T>(body: (txId: number) => T): T {
    for (let attempt = 0; ; attempt++) {
      const tx = this.server.store.startTransaction(this.caller);
      let result: T;
      try {
        result = body(tx);
      } catch (e) {
        this.server.store.endTransaction(this.caller, tx, false);
        throw e;
      }
      try {
        this.server.store.endTransaction(this.caller, tx, true);
        return result;
      } catch (e) {
        if (!(e instanceof XsError && e.errno === 'EAGAIN') || attempt + 1 >= MAX_TX_RETRIES) throw e;
      }
    }
  }

  /**
   * Watches `path` (absolute or "@introduceDomain" / "@releaseDomain"); `callback` runs for the
   * initial event and every change at or below `path`. Tokens are unique per toolstack.
   */
  watch(path: string, token: string, callback: WatchCallback): void {
    if (this.callbacks.has(token)) throw new XsError('EEXIST', `watch token ${token} in use`);
    this.server.watches.add(this.watcher, path, token, false);
    this.callbacks.set(token, callback);
    this.watcher.deliver(path, token);
  }

  /** Removes a watch set by watch(). */
  unwatch(path: string, token: string): void {
    this.server.watches.remove(this.watcher, path, token);
    this.callbacks.delete(token);
  }

  /**
   * Creates the home of domain `domid` (/local/domain/<domid>, owned by Dom0, readable by the
   * domain) with name, domid, device/, control/ and a writable data/.
   */
  createDomainHome(domid: number, name: string): string {
    const home = domainPath(domid);
    const ro = ['n0', `r${domid}`];
    this.transaction((tx) => {
      this.mkdir(home, tx);
      this.setPerms(home, ro, tx);
      this.write(`${home}/name`, name, tx);
      this.write(`${home}/domid`, String(domid), tx);
      for (const dir of ['device', 'control']) {
        this.mkdir(`${home}/${dir}`, tx);
        this.setPerms(`${home}/${dir}`, ro, tx);
      }
      this.mkdir(`${home}/data`, tx);
      this.setPerms(`${home}/data`, [`n${domid}`], tx);
    });
    return home;
  }

  /** Removes the home of a domain (after it is destroyed). */
  removeDomainHome(domid: number): void {
    if (this.server.store.exists(this.caller, 0, domainPath(domid))) this.rm(domainPath(domid));
  }

  /** Introduces a domain's ring to the server (xenstored INTRODUCE, from the toolstack). */
  introduceDomain(domid: number, mem: RingMemory, notify: () => void): RingConnection {
    return this.server.introduce(domid, mem, notify);
  }

  /** Releases a domain (xenstored RELEASE). */
  releaseDomain(domid: number): boolean {
    return this.server.release(domid);
  }

  /** The XenBus directories of a device. */
  devicePaths(type: string, devid: number, frontendDomid: number, backendDomid: number): DevicePaths {
    return {
      frontend: `${domainPath(frontendDomid)}/device/${type}/${devid}`,
      backend: `${domainPath(backendDomid)}/backend/${type}/${frontendDomid}/${devid}`,
    };
  }

  /**
   * Writes a device's frontend and backend directories in one transaction, cross-linked, both
   * in state Initialising, with the permissions of the layout above.
   */
  addDevice(spec: DeviceSpec): DevicePaths {
    const { type, devid, frontendDomid: fe, backendDomid: be } = spec;
    const paths = this.devicePaths(type, devid, fe, be);
    const fePerms = [`n${fe}`, `r${be}`];
    const bePerms = [`n${be}`, `r${fe}`];
    this.transaction((tx) => {
      const fill = (dir: string, perms: string[], keys: Record<string, string>) => {
        this.mkdir(dir, tx);
        this.setPerms(dir, perms, tx);
        for (const [k, v] of Object.entries(keys)) {
          this.write(`${dir}/${k}`, v, tx);
          this.setPerms(`${dir}/${k}`, perms, tx);
        }
      };
      fill(paths.frontend, fePerms, {
        'backend': paths.backend,
        'backend-id': String(be),
        'state': formatXenbusState(XenbusState.Initialising),
        ...spec.frontend,
      });
      fill(paths.backend, bePerms, {
        'frontend': paths.frontend,
        'frontend-id': String(fe),
        'online': '1',
        'state': formatXenbusState(XenbusState.Initialising),
        ...spec.backend,
      });
    });
    return paths;
  }

  /** Removes both directories of a device. */
  removeDevice(paths: DevicePaths): void {
    this.transaction((tx) => {
      for (const p of [paths.frontend, paths.backend]) if (this.server.store.exists(this.caller, tx, p)) this.rm(p, tx);
    });
  }

  /** Writes `<dir>/state`. */
  switchState(dir: string, state: XenbusState): void {
    this.write(`${dir}/state`, formatXenbusState(state));
  }

  /** Reads `<dir>/state` (Unknown if missing or malformed). */
  readState(dir: string): XenbusState {
    return parseXenbusState(this.tryRead(`${dir}/state`) ?? '');
  }
}
