/**
 * Where a Dom0 process (`wasmvisor up`, `wasmvisor xl create`) listens for the xl commands
 * typed in another terminal (host/cli/xl-control.ts), and how those commands find it
 * (host/cli/xl-client.ts).
 *
 * Every Dom0 listens on a Unix domain socket of its own, `DIR/dom0-PID.sock`, so any number of
 * them run side by side. DIR is `$XDG_RUNTIME_DIR/wasmvisor` (the XDG Base Directory
 * specification's place for a user's sockets), else `<tmpdir>/wasmvisor-UID`. A socket there
 * accepts domain commands, so DIR must be private: created with mode 0700, and refused when it
 * is a symbolic link, belongs to another user or is open to others.
 *
 * A Dom0 removes its socket when it exits. One left behind by a process that could not (killed
 * by SIGKILL) refuses connections; the next xl command that finds it removes it.
 */
import { lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Dom0 that answers on its socket. */
export interface Dom0Socket {
  pid: number;
  path: string;
}

/** The directory of the Dom0 sockets (see the file comment). */
export function dom0Dir(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && runtime.startsWith('/')) return join(runtime, 'wasmvisor');
  return join(tmpdir(), `wasmvisor-${process.getuid?.() ?? 'user'}`);
}

/** The socket of Dom0 process `pid`. */
export function dom0SocketPath(dir: string, pid: number): string {
  return join(dir, `dom0-${pid}.sock`);
}

/** Create `dir` (mode 0700) if it does not exist; throw an Error saying why it is unusable. */
export function ensureDom0Dir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ${dir}: ${(e as Error).message}`);
  }
  checkPrivate(dir);
}

/** Throw unless `dir` is a real directory of this user that nobody else may enter. */
export function checkPrivate(dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new Error(`${dir} belongs to uid ${st.uid}, not to you (uid ${uid})`);
  if (uid !== undefined && (st.mode & 0o077) !== 0) throw new Error(`${dir} is open to others (mode ${(st.mode & 0o777).toString(8)}; expected 700)`);
}

/**
 * The Dom0 processes whose sockets in `dir` accept a connection, by pid. Sockets of processes
 * that are gone are removed. A missing directory means no Dom0 runs.
 */
export async function findDom0s(dir: string): Promise<Dom0Socket[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  checkPrivate(dir);
  const found: Dom0Socket[] = [];
  for (const name of names) {
    const m = /^dom0-([1-9][0-9]{0,9})\.sock$/.exec(name);
    if (m === null) continue;
    const sock = { pid: Number(m[1]), path: join(dir, name) };
    const answer = await probe(sock.path);
    if (answer === 'live') found.push(sock);
    else if (answer === 'refused' && !processExists(sock.pid)) removeQuietly(sock.path);
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/** Connect and hang up: does a process listen on `path`? */
function probe(path: string): Promise<'live' | 'refused' | 'other'> {
  return new Promise((resolve) => {
    const s = connect(path);
    // A listener whose backlog is full leaves the connection pending; it is alive.
    const timer = setTimeout(() => done('live'), 2000);
    const done = (answer: 'live' | 'refused' | 'other') => {
      clearTimeout(timer);
      s.destroy();
      resolve(answer);
    };
    s.once('connect', () => done('live'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'other'));
  });
}

/** Whether process `pid` exists (signal 0 checks without sending anything). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove a file if it is there. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
