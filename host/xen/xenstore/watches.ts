/**
 * XenStore watches (docs/misc/xenstore.txt, WATCH / WATCH_EVENT / UNWATCH).
 *
 * A watch on <wpath> fires for a change at <path> when <path> is <wpath> or below it, with the
 * changed path as <epath>. When a removal takes away a parent of <wpath>, the watch fires with
 * <epath> = <wpath>. A watch set with a relative path gets relative event paths. The special
 * watches "@introduceDomain" and "@releaseDomain" fire only on those domain events.
 * An event is only sent to a watcher that may read the changed node (with its permissions at
 * the time of the change; for a removal, the removed node's).
 */
import { accessFor, domainPath, isChildOf, type Caller, type Perm } from './path';
import type { StoreChange } from './store';
import { XsError } from './wire';

/** The special watch paths xenstored invents events for. */
export const SPECIAL_INTRODUCE = '@introduceDomain';
export const SPECIAL_RELEASE = '@releaseDomain';

/** Someone who can hold watches: a ring or local connection, or a toolstack callback. */
export interface Watcher {
  /** Identity and privilege (for the read check and quotas). */
  readonly caller: Caller;
  /** Queues or handles one WATCH_EVENT. */
  deliver(epath: string, token: string): void;
}

/** One registered watch. */
interface Watch {
  watcher: Watcher;
  /** Absolute path, or "@name". */
  path: string;
  token: string;
  /** Set when the watch was given relative: event paths are made relative to it. */
  relative: boolean;
}

/** Plain data of one watch, for snapshots (the watcher is named by its caller.conn). */
export interface WatchSnapshot {
  conn: string;
  path: string;
  token: string;
  relative: boolean;
}

/** Permissions of the special nodes: only privileged domains hear about domains coming and going. */
const SPECIAL_PERMS: readonly Perm[] = [{ domid: 0, perm: 'n' }];

/** All watches of all watchers, in the order they were set. */
export class WatchRegistry {
  private watches: Watch[] = [];

  constructor(private readonly maxPerDomain: number) {}

  /** WATCH: EEXIST for the same path and token twice, E2BIG over the per-domain quota. */
  add(watcher: Watcher, path: string, token: string, relative: boolean): void {
    let mine = 0;
    for (const w of this.watches) {
      if (w.watcher.caller.domid === watcher.caller.domid) mine++;
      if (w.watcher === watcher && w.path === path && w.token === token) throw new XsError('EEXIST', 'watch exists');
    }
    if (!watcher.caller.privileged && mine >= this.maxPerDomain) throw new XsError('E2BIG', 'too many watches');
    this.watches.push({ watcher, path, token, relative });
  }

  /** UNWATCH: ENOENT if there is no such watch. */
  remove(watcher: Watcher, path: string, token: string): void {
    const i = this.watches.findIndex((w) => w.watcher === watcher && w.path === path && w.token === token);
    if (i < 0) throw new XsError('ENOENT', 'no such watch');
    this.watches.splice(i, 1);
  }

  /** Drops every watch of `watcher` (RESET_WATCHES, connection closed). */
  removeAll(watcher: Watcher): void {
    this.watches = this.watches.filter((w) => w.watcher !== watcher);
  }

  /** Watches held by `watcher`. */
  count(watcher: Watcher): number {
    return this.watches.filter((w) => w.watcher === watcher).length;
  }

  /** Fires the watches matching a store change. */
  fire(change: StoreChange): void {
    for (const w of [...this.watches]) {
      if (w.path.startsWith('@')) continue;
      let epath: string;
      let perms: readonly Perm[];
      if (isChildOf(change.path, w.path)) {
        epath = change.path;
        perms = change.perms;
      } else if (change.removed && isChildOf(w.path, change.path)) {
        epath = w.path;
        perms = change.removed.get(w.path) ?? change.perms;
      } else {
        continue;
      }
      if (!accessFor(w.watcher.caller, perms).read) continue;
      w.watcher.deliver(w.relative ? relativize(epath, w.watcher.caller.domid) : epath, w.token);
    }
  }

  /** Fires a special watch ("@introduceDomain" or "@releaseDomain"). */
  fireSpecial(name: string): void {
    for (const w of [...this.watches]) {
      if (w.path === name && accessFor(w.watcher.caller, SPECIAL_PERMS).read) w.watcher.deliver(name, w.token);
    }
  }

  /** Plain data of every watch whose watcher has a connection name. */
  snapshot(): WatchSnapshot[] {
    return this.watches
      .filter((w) => w.watcher.caller.conn !== undefined)
      .map((w) => ({ conn: w.watcher.caller.conn!, path: w.path, token: w.token, relative: w.relative }));
  }

  /** Re-registers snapshot watches, finding each watcher by connection name (unknown ones are dropped). */
  restore(list: readonly WatchSnapshot[], find: (conn: string) => Watcher | undefined): void {
    this.watches = this.watches.filter((w) => w.watcher.caller.conn === undefined);
    for (const s of list) {
      const watcher = find(s.conn);
      if (watcher) this.watches.push({ watcher, path: s.path, token: s.token, relative: s.relative });
    }
  }
}

/** Strips "/local/domain/<domid>/" from an event path of a relative watch. */
function relativize(epath: string, domid: number): string {
  const base = domainPath(domid) + '/';
  return epath.startsWith(base) ? epath.slice(base.length) : epath;
}
