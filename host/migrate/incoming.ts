/**
 * The target side of a live migration (docs/migration.md): `wasmvisor run … --incoming tcp:…`.
 * The target is built from its own command line, waits for one connection, checks the source's
 * configuration against its own (the snapshot's CONF check), collects the pages of the pre-copy
 * rounds, and at the stop loads the execution state with the collected RAM (restoreSnapshot, so
 * every check of a snapshot restore applies). It runs the guest only after the source's COMMIT:
 * a stream that is refused, corrupt or cut before that leaves this process with one line and
 * exit 2, having run nothing.
 *
 * Post-copy and hybrid: the stop also names the pages still to come (ABSENT); the guest runs
 * right after COMMIT with those pages left out (postcopy-target.ts), and they follow.
 */
import type { Machine } from '../machine/machine';
import { Vm } from '../vmm/vm';
import * as A from '../../assembly/abi';
import { UserError } from '../errors';
import { SnapshotError } from '../snapshot/format';
import { checkConfig, clearRam, restoreSnapshot, saveSnapshot, snapshotConfig, whyNotSaveable, type SnapshotConfig } from '../snapshot/snapshot';
import { PAUSED_STATES, pausedText, type PausedState, type RunState } from '../debug/gate';
import type { MigrateOptions } from './options';
import { guestRam, PAGE } from './pages';
import { whyNotPostcopy } from './postcopy-source';
import { PostcopyTarget, rehearseAbsent } from './postcopy-target';
import { profiling, StopProfile } from './source';
import { In, MessageReader, MSG, Out, frame, StreamError, STREAM_MAGIC, STREAM_VERSION, type Message } from './stream';
import { acceptTcp } from './tcp-transport';
import type { Transport } from './transport';

const ZERO = new Uint8Array(PAGE);

/**
 * Wait for the stream on --incoming and load it into `target`; throws a one-line UserError (exit 2).
 * For post-copy and hybrid, returns the migration still going on while the guest runs.
 */
export async function receiveMigration(
  target: Machine | Vm, opts: MigrateOptions, io: { stderr(t: string): void },
  /** The target's debugger gate (--monitor, -s, --gdb, -S): it holds a VM that came paused, or any with -S. */
  run?: { readonly runState: RunState; incoming: boolean; hold(state: PausedState): void },
): Promise<PostcopyTarget | undefined> {
  const at = opts.incoming!;
  const what = `wasmvisor: incoming migration on ${at.text}`;
  let touching: { stop(): void } | undefined;
  // The stop's rehearsal before listening: done after HELLO, it ran while the source's guest ran
  // on (the source waits for OK), and a guest that ends in 100 ms ended before the hand-over.
  rehearse(target, snapshotConfig(target).memSize / PAGE, true, REHEARSALS_IDLE);
  // (info status on a TCP monitor meanwhile: "paused (inmigrate)", as QEMU's -incoming)
  if (run) run.incoming = true;
  let got: Awaited<ReturnType<typeof receiveOver>>;
  let from: string;
  try {
    const conn = await acceptTcp(at, what, () => {
      io.stderr(`wasmvisor: waiting for a migration on ${at.text}\n`);
      touching = touchRam(target);
    });
    from = conn.from;
    touching?.stop();
    got = await receiveOver(target, conn.transport, what, io, { rehearsed: true, pausable: run !== undefined });
  } finally {
    if (run) run.incoming = false;
  }
  if (got.profile !== undefined) io.stderr(`wasmvisor: ${got.postcopy ? 'post-copy switch' : 'stop-and-copy'} (target): ${got.profile}\n`);
  // As QEMU's target: the source's run state if it was not running; else paused if -S holds the
  // hart here (QEMU's "autostart" off: plain paused), else running.
  if (run && got.runState !== undefined) run.hold(got.runState);
  else if (run && run.runState !== 'running') run.hold('paused');
  const rs = run?.runState ?? 'running';
  const runs = rs === 'running' ? 'running' : `${pausedText(rs)}: cont on the monitor runs it`;
  if (got.postcopy) {
    io.stderr(`wasmvisor: migrated in from ${from} (${got.postcopy.mode}: ${got.pages} pages here, ${got.postcopy.toCome} to come, ${got.bytes} bytes); ${runs}\n`);
    return got.postcopy.target;
  }
  io.stderr(`wasmvisor: migrated in from ${from} (${got.pages} pages, ${got.bytes} bytes); ${runs}\n`);
  return undefined;
}

/**
 * Receive a migration stream over `socket` (any transport: TCP above, a MessagePort on the
 * page) into `target`: on return the target holds the source's VM, ready to run. `what` starts
 * every error line. Throws a one-line UserError (exit 2) having run nothing.
 */
export async function receiveOver(
  target: Machine | Vm, socket: Transport, what: string, io: { stderr(t: string): void } = { stderr: () => undefined },
  /** A Xen domain's (host/migrate/domain-target.ts): load the state instead of restoreSnapshot (SnapshotError: refused). */
  hooks: {
    restore?(state: Uint8Array): void | Promise<void>;
    /** rehearse() ran already (while waiting for the connection) */
    rehearsed?: boolean;
    /** The target can keep a VM paused until `cont` (it has a monitor): a paused source's VM is refused otherwise. */
    pausable?: boolean;
    /**
     * COMMIT is here, DONE not yet sent (a Xen domain takes its name, domain-target.ts). A
     * SnapshotError refuses (REFUSE: the source resumes its copy; this one is dropped).
     */
    committed?(postcopy: boolean): void;
  } = {},
): Promise<{ pages: number; bytes: number; profile?: string; runState?: PausedState; postcopy?: { target: PostcopyTarget; mode: string; toCome: number } }> {
  const reader = new MessageReader(socket, what);
  /** REFUSE with `line`, then close (or just close when the socket cannot take it). */
  const sendRefusal = (line: string): void => {
    try {
      const o = new Out();
      o.str(line);
      socket.end(frame(MSG.REFUSE, o.result()));
    } catch {
      socket.destroy();
    }
  };
  const refuse = (line: string): never => {
    sendRefusal(line);
    throw new UserError(`${what}: ${line}`, 2);
  };
  try {
    // HELLO: the stream's version and the source's configuration.
    const hello = new In((await reader.expect(MSG.HELLO)).payload, what);
    const magic = hello.str();
    const version = hello.u32();
    if (magic !== STREAM_MAGIC) refuse(`not a wasmvisor migration stream (magic '${magic.slice(0, 16)}')`);
    if (version !== STREAM_VERSION) refuse(`stream version ${version}, this wasmvisor reads ${STREAM_VERSION}`);
    const mode = hello.str();
    if (mode !== 'precopy' && mode !== 'postcopy' && mode !== 'hybrid') refuse(`--migrate-mode '${mode.slice(0, 16)}' is not precopy, postcopy or hybrid (corrupt stream)`);
    const postcopy = mode !== 'precopy';
    const whyNot = postcopy ? whyNotPostcopy(target) : undefined;
    if (whyNot) refuse(whyNot);
    let conf: SnapshotConfig;
    try {
      conf = JSON.parse(hello.str()) as SnapshotConfig;
    } catch {
      return refuse('the source configuration is not JSON (corrupt stream)');
    }
    try {
      checkConfig('the source', conf, snapshotConfig(target));
    } catch (e) {
      if (e instanceof SnapshotError) refuse(e.message.slice('the source: '.length).replace('snapshot does not match the command line', 'the source VM does not match this command line').replaceAll('in the snapshot', 'there'));
      throw e;
    }
    // RAM is written as the pages arrive (the guest is not running here yet), from a clear RAM:
    // the pages this process's own loader wrote are not the source's.
    clearRam(target);
    const ram = guestRam(target);
    const pageCount = conf.memSize / PAGE;
    // (before OK: the source's guest runs on until then, and post-copy stops it right after)
    if (!hooks.rehearsed) rehearse(target, pageCount, postcopy);
    socket.write(frame(MSG.OK, new Uint8Array(0)));

    // Pages, round by round, until the INDEX of the stop-and-copy.
    const pages = new Uint8Array(pageCount); // 1: sent at least once
    let received = 0;
    let m: Message;
    // Profiling: the stop's window here starts with the last round's pages (the stop-and-copy's,
    // which come in one write with INDEX and STATE), so the profile starts at each round's first message.
    let prof: StopProfile | undefined;
    let round = -1;
    for (;;) {
      m = await reader.expect(MSG.PAGES, MSG.INDEX);
      if (m.type === MSG.INDEX) break;
      const r = new In(m.payload, what);
      const n = r.u32(); // round
      if (n !== round && profiling()) {
        prof?.close();
        prof = new StopProfile(performance.now());
      }
      round = n;
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        const index = r.u32();
        const kind = r.u8();
        if (index >= pageCount || kind > 1) refuse(`page ${index} of kind ${kind} in message ${reader.count} (corrupt stream)`);
        ram.write(index, kind === 1 ? r.bytes(PAGE) : ZERO);
        if (pages[index] === 0) received++;
        pages[index] = 1;
      }
      r.end();
      reader.recycle(m);
    }
    // The guest is stopped on the source from here to DONE (docs/migration.md "Downtime").
    if (prof) prof.mark(`round ${round}'s pages`);
    else prof = new StopProfile(performance.now());
    const listed = new Uint8Array(pageCount);
    const p = m.payload;
    const bad = readIndex(p, pages, postcopy, listed);
    if (bad !== undefined) refuse(bad);
    const count = (p.length - 4) / 5;
    // Post-copy: the pages of the index that are still to come (none here, or stale copies).
    // (typed arrays: 131,072 entries for a 512 MiB guest, while the source's guest is stopped)
    let absent: Uint32Array = new Uint32Array(0);
    let absentFlag: Uint8Array | undefined;
    if (postcopy) {
      const got = readAbsent((await reader.expect(MSG.ABSENT)).payload, pages, listed);
      if (typeof got === 'string') refuse(got);
      else ({ absent, flags: absentFlag } = got);
    }
    prof.mark('index');

    // The run state when the source's VM was not running (RUNSTATE), then the execution state,
    // with the collected pages as its RAM section.
    let sm = await reader.expect(MSG.RUNSTATE, MSG.STATE);
    let runState: PausedState | undefined;
    if (sm.type === MSG.RUNSTATE) {
      runState = pausedState(sm.payload, what, hooks.pausable === true, refuse);
      sm = await reader.expect(MSG.STATE);
    }
    const state = sm.payload;
    prof.mark('wait state');
    try {
      // A page sent in a round but gone from the guest's RAM by the stop is zero again.
      for (const i of unlisted(pages, listed)) ram.write(i, ZERO);
      if (hooks.restore) await hooks.restore(state);
      else restoreSnapshot(target, state, 'the migrated state', { ramInPlace: true });
    } catch (e) {
      if (e instanceof SnapshotError) refuse(e.message);
      throw e;
    }
    prof.mark('restore');
    // Post-copy: the pages to come are left out, so the guest's first touch of one fetches it.
    const incoming = postcopy ? new PostcopyTarget(target, absent, socket, reader, what, io, absentFlag) : undefined;
    if (incoming) prof.mark('absent pages out');
    socket.write(frame(MSG.READY, new Uint8Array(0)));
    await reader.expect(MSG.COMMIT); // (the source's answer to READY: from here the guest is this side's)
    try {
      hooks.committed?.(postcopy);
    } catch (e) {
      if (e instanceof SnapshotError) refuse(e.message);
      throw e;
    }
    if (incoming) {
      // (the guest runs from here; a failure now is the VM lost: postcopy-target.ts)
      socket.write(frame(MSG.DONE, new Uint8Array(0)));
      incoming.start();
      prof.mark('COMMIT, DONE');
      return { pages: count - absent.length, bytes: reader.bytes, runState, postcopy: { target: incoming, mode, toCome: absent.length }, ...(profiling() ? { profile: prof.text() } : {}) };
    }
    socket.end(frame(MSG.DONE, new Uint8Array(0)));
    prof.mark('COMMIT, DONE');
    return { pages: received, bytes: reader.bytes, runState, ...(profiling() ? { profile: prof.text() } : {}) };
  } catch (e) {
    if (e instanceof StreamError) {
      // Say so to the source when it can still hear (a corrupt message; not a closed connection):
      // a REFUSE tells it that nothing runs here, so it resumes the guest even after writing
      // COMMIT (source.ts targetOwns) instead of holding it.
      sendRefusal(e.message.startsWith(`${what}: `) ? e.message.slice(what.length + 2) : e.message);
      throw new UserError(`${e.message}; nothing was run`, 2);
    }
    throw e;
  }
}

/**
 * RUNSTATE's payload: the source's VM was not running at the stop (paused, prelaunch, debug).
 * A target that cannot hold it until `cont` refuses (it would either run a paused VM or wait
 * for a `cont` nobody can give).
 */
function pausedState(p: Uint8Array, what: string, pausable: boolean, refuse: (line: string) => never): PausedState {
  const r = new In(p, what);
  const got = r.str();
  r.end();
  const state = PAUSED_STATES.find((s) => s === got);
  if (state === undefined) return refuse(`run state '${got.slice(0, 16)}' is not paused, prelaunch or debug (corrupt stream)`);
  if (!pausable) refuse(`the source VM is ${pausedText(state)} and this target has no monitor to continue it: add --monitor (or -s, --gdb)`);
  return state;
}

/**
 * Check the INDEX payload `p` against the pages received (`pages`: 1 for each page sent) and
 * mark the pages it lists in `listed`. Returns the refusal line for a bad index, or undefined.
 * (Before post-copy's ABSENT list, a listed page not sent is not yet an error.)
 */
function readIndex(p: Uint8Array, pages: Uint8Array, postcopy: boolean, listed: Uint8Array): string | undefined {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const count = p.length >= 4 ? v.getUint32(0, true) : -1;
  if (p.length !== 4 + count * 5) return `the RAM index is ${p.length} bytes for ${count} entries (corrupt stream)`;
  const pageCount = pages.length;
  for (let k = 0, o = 4; k < count; k++, o += 5) {
    const index = v.getUint32(o, true);
    if (index >= pageCount) return `RAM index names page ${index} of ${pageCount} (corrupt stream)`;
    if (pages[index] === 0 && !postcopy) return `page ${index} was never sent (corrupt stream)`;
    listed[index] = 1;
  }
  return undefined;
}

/**
 * Post-copy's ABSENT payload `a` (the pages still to come) against the INDEX (`listed`) and the
 * pages received (`pages`): the list, ascending, and one byte per page (1: to come), or the
 * refusal line. Plain loops over typed arrays, rehearsed before OK: they run with the guest
 * stopped, over 131,072 pages at 512 MiB.
 */
export function readAbsent(a: Uint8Array, pages: Uint8Array, listed: Uint8Array): { absent: Uint32Array; flags: Uint8Array } | string {
  const pageCount = pages.length;
  const av = new DataView(a.buffer, a.byteOffset, a.byteLength);
  const n = a.length >= 4 ? av.getUint32(0, true) : -1;
  if (a.length !== 4 + n * 4) return `the ABSENT list is ${a.length} bytes for ${n} entries (corrupt stream)`;
  const flags = new Uint8Array(pageCount);
  const absent = new Uint32Array(n);
  let sorted = true;
  for (let k = 0, prev = -1; k < n; k++) {
    const index = av.getUint32(4 + k * 4, true);
    if (index >= pageCount || listed[index] === 0 || flags[index] !== 0) return `ABSENT names page ${index}, not in the RAM index or twice (corrupt stream)`;
    flags[index] = 1;
    absent[k] = index;
    if (index < prev) sorted = false;
    prev = index;
  }
  for (let i = 0; i < pageCount; i++) if (listed[i] !== 0 && pages[i] === 0 && flags[i] === 0) return `page ${i} was never sent (corrupt stream)`;
  if (!sorted) absent.sort(); // (this version's source sends it ascending)
  return { absent, flags };
}

/** The pages received in a round and not in the INDEX (gone from the guest's RAM by the stop). */
function unlisted(pages: Uint8Array, listed: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < pages.length; i++) if (pages[i] !== 0 && listed[i] === 0) out.push(i);
  return out;
}

/**
 * Rehearse the stop while the source's rounds run, so that the code it runs with the guest
 * stopped is compiled and its one-time work done (the hart layout's fingerprint, ...): a cold
 * restore took ~11 ms of wall time, a rehearsed one under 1 ms (docs/migration.md "Experiments").
 * The restore rehearsed is of the target's own state, saved and loaded back: it changes nothing
 * (and the stop's restore replaces all of it); the INDEX check runs on a list of every page.
 */
function rehearse(target: Machine | Vm, pageCount: number, postcopy: boolean, times = 3): void {
  const all = new Uint8Array(4 + pageCount * 5);
  const v = new DataView(all.buffer);
  v.setUint32(0, pageCount, true);
  for (let i = 0; i < pageCount; i++) v.setUint32(4 + i * 5, i, true);
  const pages = new Uint8Array(pageCount).fill(1);
  for (let k = 0; k < Math.min(times, 8); k++) {
    readIndex(all, pages, false, new Uint8Array(pageCount));
    unlisted(pages, pages);
  }
  if (postcopy) {
    // ABSENT naming every page, and the absent pages' bits and flags (postcopy-target.ts), twice.
    const list = new Uint8Array(4 + pageCount * 4);
    const lv = new DataView(list.buffer);
    lv.setUint32(0, pageCount, true);
    for (let i = 0; i < pageCount; i++) lv.setUint32(4 + i * 4, i, true);
    for (let k = 0; k < 2; k++) {
      const got = readAbsent(list, new Uint8Array(pageCount), pages);
      if (typeof got !== 'string') rehearseAbsent(pageCount, got.absent, got.flags);
    }
  }
  if (whyNotSaveable(target) !== undefined) return;
  try {
    for (let i = 0; i < times; i++) restoreSnapshot(target, saveSnapshot(target, { withoutRam: true }), 'the target itself', { ramInPlace: true });
  } catch (e) {
    if (!(e instanceof SnapshotError || e instanceof UserError)) throw e; // (the stop's restore says why, if it must)
  }
}

/**
 * Restores rehearsed before listening (receiveMigration), where the time is the target's start-up,
 * not the migration's: 3 left the stop's restore at 1-2.5 ms on a bare 64 MiB target, 40 at
 * 0.5-1.2 ms (fully warm, in one process: 0.09 ms; docs/migration.md "Experiments").
 */
const REHEARSALS_IDLE = 40;

/** Pages touchRam touches per event-loop turn (16 MiB: tens of ms on a loaded machine). */
const TOUCH_SLICE = 4096;

/**
 * While a bare target waits for the connection, touch each page of its RAM once, in slices
 * between event-loop turns, until the connection comes (stop()). The first write to a page of
 * the process costs a page fault, ~20 us each on this project's machine (~350 ms of CPU for
 * 64 MiB, 10 to 30 times the copy itself), and pre-copy's round 1 writes nearly every page: the
 * faults are taken before the migration rather than in it. (QEMU's target asks for transparent
 * huge pages on its RAM, madvise(MADV_HUGEPAGE), so its faults are 2 MiB each; a WebAssembly
 * memory cannot ask.) Each byte is written with its own value: nothing the guest sees changes.
 * A VM's RAM is populated page by page on demand (host/vmm): left alone.
 */
function touchRam(target: Machine | Vm): { stop(): void } {
  let stopped = target instanceof Vm;
  if (!stopped) {
    const m = (target as Machine).snapshotInternals();
    const bytes = new Uint8Array(m.ram.memory.buffer, A.RAM_OFFSET, m.ram.size);
    let at = 0;
    const slice = () => {
      if (stopped) return;
      const end = Math.min(bytes.length, at + TOUCH_SLICE * PAGE);
      for (; at < end; at += PAGE) bytes[at] = bytes[at];
      if (at < bytes.length) setImmediate(slice);
    };
    setImmediate(slice);
  }
  return { stop: () => void (stopped = true) };
}
