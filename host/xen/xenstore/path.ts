/**
 * XenStore paths and permissions (docs/misc/xenstore.txt; the XenBus "Permissions" rules).
 *
 * Paths: '/'-separated, starting with '/', characters [A-Za-z0-9-/_@], no doubled or trailing
 * '/' (except the root "/"), at most XENSTORE_ABS_PATH_MAX bytes. A path without a leading '/'
 * sent by domain N means /local/domain/N/<path> and may be at most XENSTORE_REL_PATH_MAX bytes.
 * "@<name>" is only meaningful as a watch path (special watches).
 *
 * Permissions: a node carries a list like ["n0", "r1", "b5"]. The first entry names the owner
 * and, by its letter, the access of every domain not listed; later entries grant a domain
 * exactly that access. Letters: n none, r read, w write, b both. The owner and privileged
 * domains (Dom0) may always read and write.
 */
import { XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX, XsError } from './wire';

/** The base of domain N's relative paths. */
export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

const PATH_CHARS = /^[A-Za-z0-9\-/_@]*$/;

/** True if `path` is a valid absolute node path (not a special "@" path). */
export function isValidAbsPath(path: string): boolean {
  if (path.length === 0 || path.length > XENSTORE_ABS_PATH_MAX || path[0] !== '/') return false;
  if (!PATH_CHARS.test(path)) return false;
  if (path === '/') return true;
  return !path.endsWith('/') && !path.includes('//');
}

/**
 * Resolves a path a domain sent into an absolute one: relative paths are taken from
 * /local/domain/<domid>. Throws EINVAL for an invalid or over-long path.
 * @param allowSpecial accept "@name" (watch paths)
 */
export function canonicalize(path: string, domid: number, allowSpecial = false): string {
  if (allowSpecial && path.startsWith('@')) {
    if (path.length > XENSTORE_ABS_PATH_MAX || !PATH_CHARS.test(path)) throw new XsError('EINVAL', `bad special path`);
    return path;
  }
  if (path.startsWith('/')) {
    if (!isValidAbsPath(path)) throw new XsError('EINVAL', 'bad path');
    return path;
  }
  if (path.length === 0 || path.length > XENSTORE_REL_PATH_MAX) throw new XsError('EINVAL', 'bad relative path');
  const abs = `${domainPath(domid)}/${path}`;
  if (!isValidAbsPath(abs)) throw new XsError('EINVAL', 'bad relative path');
  return abs;
}

/** The parent of an absolute path ("/" for top-level nodes and for "/" itself). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The last component of an absolute path ("" for "/"). */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** `child` is a child of `parent` in xenstore.txt's sense: equal, or below it. */
export function isChildOf(child: string, parent: string): boolean {
  if (child === parent) return true;
  if (parent === '/') return child.startsWith('/');
  return child.startsWith(parent + '/');
}

/** Access rights a permission letter grants. */
export interface Access {
  read: boolean;
  write: boolean;
}

/** One permission entry: domain and letter. */
export interface Perm {
  domid: number;
  /** 'n' none, 'r' read, 'w' write, 'b' both. */
  perm: 'n' | 'r' | 'w' | 'b';
}

/** A domain id as XenStore accepts it: 0..65535. */
export const DOMID_MAX = 0xffff;

/** Parses "r1"-style strings; throws EINVAL on any malformed entry or an empty list. */
export function parsePerms(strings: readonly string[]): Perm[] {
  if (strings.length === 0) throw new XsError('EINVAL', 'no permissions');
  return strings.map((s) => {
    const m = /^([nrwb])(\d{1,5})$/.exec(s);
    if (!m) throw new XsError('EINVAL', 'bad permission');
    const domid = Number(m[2]);
    if (domid > DOMID_MAX) throw new XsError('EINVAL', 'bad permission domid');
    return { perm: m[1] as Perm['perm'], domid };
  });
}

/** Formats permissions as their wire strings ("n0", "r1", ...). */
export function formatPerms(perms: readonly Perm[]): string[] {
  return perms.map((p) => `${p.perm}${p.domid}`);
}

/** Who is asking: a domain id and whether it is privileged (Dom0 and the toolstack). */
export interface Caller {
  domid: number;
  privileged: boolean;
  /** Name of the connection asking ("ring:3", "local:1", "toolstack"): transactions belong to it. */
  conn?: string;
}

/** The access `caller` has to a node with permissions `perms` (perm_for_conn in xenstored). */
export function accessFor(caller: Caller, perms: readonly Perm[]): Access {
  if (caller.privileged || perms[0].domid === caller.domid) return { read: true, write: true };
  let letter = perms[0].perm;
  for (let i = 1; i < perms.length; i++) {
    if (perms[i].domid === caller.domid) {
      letter = perms[i].perm;
      break;
    }
  }
  return { read: letter === 'r' || letter === 'b', write: letter === 'w' || letter === 'b' };
}
