/**
 * The source side of a live migration (docs/migration.md): `wasmvisor run … --migrate-to tcp:…`.
 *
 * Pre-copy, as Xen's and KVM's: while the guest keeps running (the CLI's run loop goes on; this
 * works between its slices), round 1 sends every page the guest has, later rounds the pages the
 * dirty log caught during the previous round. Once the estimated downtime (the dirty set over the
 * measured bandwidth) is at most --migrate-downtime, or the rounds stop shrinking the dirty set,
 * or --migrate-max-rounds is reached, the source stops the guest (stopWanted; the run loop calls
 * stopAndCopy), sends the last dirty pages, the RAM index and the execution state, and hands
 * over: READY from the target, COMMIT, DONE. Any failure before DONE leaves the guest here,
 * running on, with one line on stderr saying why.
 *
 * Post-copy skips the rounds and hybrid runs --migrate-precopy-rounds of them; then, instead of
 * the last pages, the stop sends the list of pages the target lacks (ABSENT) with the state, and
 * after COMMIT the target resumes at once while postcopy-source.ts pushes those pages and serves
 * its FETCHes. From COMMIT on the guest belongs to the target: a failure then is the VM lost.
 */
import type { Machine } from '../machine/machine';
import { Vm } from '../vmm/vm';
import { UserError } from '../errors';
import { saveSnapshot, snapshotConfig, whyNotSaveable } from '../snapshot/snapshot';
import { EXIT_VM_LOST, type MigrateOptions } from './options';
import { guestRam, PAGE, type GuestRam } from './pages';
import { BufferPool, MessageReader, MSG, Out, In, frame, sealFrame, StreamError, STREAM_MAGIC, STREAM_VERSION, PAGES_BATCH, PAGES_MAX_PAYLOAD } from './stream';
import { Progress, type RoundStats, type Summary } from './progress';
import { pushPostcopy, PUSH_BATCH_CAPPED, whyNotPostcopy, type PostcopySender } from './postcopy-source';
import { tcpDialer } from './tcp-transport';
import type { Dialer, Transport } from './transport';
import type { RunState } from '../debug/gate';

/**
 * The run the source stops for stop-and-copy. `runState`: whether the VM runs (a debugger's
 * gate: the monitor's stop, -S, a breakpoint hold it); a VM not running goes to the target as
 * it is, with its run state (RUNSTATE), and stays paused there until `cont`, as QEMU's
 * migration carries its run state ("globalstate") and the target takes it.
 */
export interface SourceRun {
  stop(): void;
  runState?(): RunState;
}

/**
 * The guest's run loop yields to the event loop this often (ms) while pre-copy sends, instead of
 * every 20 ms: each turn lets the socket take what the kernel's buffer holds, so with 20 ms
 * turns the stream ran at ~15 MB/s on loopback.
 */
const PRECOPY_YIELD_MS = 1;
const BATCH = PAGES_BATCH;
/** The shortest round: the guest runs at least this long between two looks at the dirty log. */
const ROUND_MIN_MS = 20;
/**
 * Once pre-copy has converged (the estimate within --migrate-downtime), one more round of the
 * dirty set with only this long (ms) after it, so that stop-and-copy copies what the guest
 * dirtied in ~2-4 ms rather than in a 20 ms round: at 16 MiB/s, ~15 pages instead of 100-300
 * (docs/migration.md "Experiments"). Not when the dirty set is already this small (pages).
 */
const FINAL_ROUND_MS = 2;
const FINAL_ROUND_MIN_PAGES = 32;
/** Rounds whose dirty set did not shrink before the source gives up converging. */
const STALL_ROUNDS = 3;
/** Node's Buffer where there is one (its compare is a native memcmp); a page in a browser Worker has none. */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const ZERO_PAGE = NodeBuffer ? NodeBuffer.alloc(PAGE) : new Uint8Array(PAGE);
/** Whether buf[at, at + PAGE) is all zero. */
function zeroPageAt(buf: Uint8Array, at: number): boolean {
  if (NodeBuffer && buf instanceof NodeBuffer) return buf.compare(ZERO_PAGE, 0, PAGE, at, at + PAGE) === 0;
  for (let i = at; i < at + PAGE; i++) if (buf[i] !== 0) return false;
  return true;
}
/** The process, in Node (for the profile's environment switch and CPU time); undefined in a browser. */
const nodeProcess = (globalThis as { process?: NodeJS.Process }).process;

export interface SourceIo {
  stderr(text: string): void;
  isTTY: boolean;
  /** After each pre-copy round (a page's live view, host/web; the CLI has its progress line). */
  onRound?(r: RoundStats, pagesSent: number): void;
  /** Once: the summary after the hand-over, or the one line why the migration failed (the VM runs on here). */
  onEnd?(end: { summary: Summary } | { error: string }): void;
  /** The line (with its newline) printed when it fails before the switch (default: `WHAT: WHY; the VM keeps running here`); `refused`: the target said so. */
  failLine?(why: string, refused: boolean): string;
}

/** WASMVISOR_MIGRATE_PROFILE=1: both sides print where stop-and-copy's time went. */
export const profiling = (): boolean => nodeProcess?.env?.WASMVISOR_MIGRATE_PROFILE === '1';

/**
 * Named intervals from a start time, as one line: "dirty set 0.31, pages 1.20, … (total 3.10 ms,
 * cpu 2.05 ms)". The CPU time this process used over the whole tells work from waiting (the
 * peer, the network, or other processes on a loaded machine).
 */
export class StopProfile {
  private readonly marks: [string, number, number][] = [];
  private last: number;
  private readonly cpu0 = nodeProcess?.cpuUsage?.();
  private cpuMs = 0;
  /** Node's GC profiler while profiling: the collections in the window, with their cost. */
  private readonly gc = profiling() ? startGcProfiler() : undefined;
  constructor(private readonly t0: number) {
    this.last = t0;
  }
  mark(name: string): void {
    const now = performance.now();
    const before = this.cpuMs;
    if (this.cpu0 !== undefined) {
      const c = nodeProcess!.cpuUsage(this.cpu0);
      this.cpuMs = (c.user + c.system) / 1000;
    }
    this.marks.push([name, now - this.last, this.cpuMs - before]);
    this.last = now;
  }
  /** Each step's wall time, and its CPU time in brackets where it is under 90 % of that (waiting). */
  text(): string {
    const step = ([n, ms, cpu]: [string, number, number]) => `${n} ${ms.toFixed(2)}${this.cpu0 !== undefined && cpu < ms * 0.9 ? ` [${cpu.toFixed(2)}]` : ''}`;
    return `${this.marks.map(step).join(', ')} (total ${(this.last - this.t0).toFixed(2)} ms, cpu ${this.cpuMs.toFixed(2)} ms${this.gcText()})`;
  }
  /** Stop the GC profiler (a profile dropped without text()). */
  close(): void {
    this.gc?.stop();
  }
  /** ", gc Scavenge 1.20": the collections from the start to now, their kinds and summed cost (ms). */
  private gcText(): string {
    const stats = this.gc?.stop()?.statistics;
    if (!stats || stats.length === 0) return '';
    return `, gc ${stats.map((s) => s.gcType).join('+')} ${(stats.reduce((a, s) => a + s.cost, 0) / 1000).toFixed(2)}`;
  }
}

/** A running v8.GCProfiler (Node 20.16+: process.getBuiltinModule), or undefined. */
function startGcProfiler(): { stop(): { statistics: { gcType: string; cost: number }[] } | undefined } | undefined {
  const v8 = nodeProcess?.getBuiltinModule?.('node:v8') as typeof import('node:v8') | undefined;
  if (!v8?.GCProfiler) return undefined;
  const p = new v8.GCProfiler();
  p.start();
  return p;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** After the ticks already queued (Node's process.nextTick; a microtask in a browser). */
const nextTick = (): Promise<void> => new Promise<void>((r) => (nodeProcess?.nextTick ? nodeProcess.nextTick(r) : queueMicrotask(r)));

/**
 * Where a Xen domain's migration differs from a VM's (host/migrate/domain-source.ts); a VM or a
 * machine uses none of them.
 */
export interface SourceHooks {
  /** Why it cannot be migrated (instead of whyNotSaveable). */
  whyNot?(): string | undefined;
  /** The execution state without RAM (instead of saveSnapshot(target, { withoutRam: true })). */
  state?(): Uint8Array;
  /** Post-copy: pages (RAM indices) the target must have before it runs; sent at the switch, never absent. */
  presentAtSwitch?(): number[];
  /**
   * The target's READY came, COMMIT is next (Xen's xl migrate renames the domain away here,
   * before its "permission to go"); a throw fails the migration before COMMIT: resumed here.
   */
  beforeCommit?(): void;
}

/**
 * Post-copy's switch: the INDEX frame of `all` (RAM at the stop) and the ABSENT frame of the
 * pages in it never sent or dirtied since (`dirty`: 1 per page), and that list. Plain loops over
 * typed arrays: it runs with the guest stopped, for 131,072 pages in a 512 MiB guest.
 */
function switchLists(all: { indices: Uint32Array; populated: boolean }, sent: Uint8Array, dirty: Uint8Array): { index: Uint8Array; list: Uint8Array; absent: Uint32Array } {
  const { indices, populated } = all;
  const n = indices.length;
  // (byte stores, not a DataView, and the absent pages in a typed array, not a growing Array:
  // 131,072 pages took 60-100 ms of CPU with an object per page and DataView, ~6-14 ms so, in one process)
  const index = new Uint8Array(4 + n * 5);
  putU32(index, 0, n);
  const flag = populated ? 1 : 0;
  const absent = new Uint32Array(n);
  let a = 0;
  for (let k = 0, o = 4; k < n; k++, o += 5) {
    const i = indices[k];
    index[o] = i;
    index[o + 1] = i >>> 8;
    index[o + 2] = i >>> 16;
    index[o + 3] = i >>> 24;
    index[o + 4] = flag;
    if (sent[i] === 0 || dirty[i] !== 0) absent[a++] = i;
  }
  const list = new Uint8Array(4 + a * 4);
  putU32(list, 0, a);
  for (let k = 0, o = 4; k < a; k++, o += 4) putU32(list, o, absent[k]);
  return { index: frame(MSG.INDEX, index), list: frame(MSG.ABSENT, list), absent: absent.subarray(0, a) };
}

/** b[o, o + 4) = v, little-endian (the stream's byte order). */
function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** The pages in either list, ascending, once each. */
function union(a: number[], b: number[]): number[] {
  const all = new Uint32Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  all.sort();
  const out: number[] = [];
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) out.push(all[i]);
  return out;
}

export class MigrationSource implements PostcopySender {
  private readonly ram: GuestRam;
  private socket: Transport | undefined;
  reader: MessageReader | undefined;
  readonly what: string;
  private state: 'idle' | 'precopy' | 'stopping' | 'postcopy' | 'failed' | 'done' = 'idle';
  private timer: NodeJS.Timeout | undefined;
  /** 1 for each page sent at least once; sentCount of them. */
  private readonly sent: Uint8Array;
  private sentCount = 0;
  /**
   * A bare machine's INDEX frame, kept by sendPages as pages are first sent (its RAM at the stop
   * is the pages sent: stopAndCopy), so that nothing is built at the stop: 9 header bytes, u32 n,
   * n entries, the CRC.
   */
  private readonly index: Uint8Array;
  private readonly indexView: DataView;
  private pending: number[] = [];
  bytes = 0;
  private startedAt = 0;
  private readonly rounds: RoundStats[] = [];
  private readonly progress: Progress;

  constructor(
    private readonly target: Machine | Vm,
    private readonly runnable: SourceRun,
    private readonly opts: MigrateOptions,
    private readonly io: SourceIo,
    /** Where the stream goes: --migrate-to's TCP address by default (a MessagePort on the page). */
    private readonly dial: Dialer = tcpDialer(opts.to!),
    private readonly hooks: SourceHooks = {},
  ) {
    this.ram = guestRam(target);
    this.sent = new Uint8Array(this.ram.pageCount);
    this.index = new Uint8Array(9 + 4 + this.ram.pageCount * 5 + 4);
    this.indexView = new DataView(this.index.buffer);
    this.what = `wasmvisor: migration to ${dial.text}`;
    this.progress = new Progress(io);
  }

  /** Start migrating after --migrate-after. */
  start(): void {
    this.timer = setTimeout(() => void this.precopy(), this.opts.afterMs);
  }

  /** Start at once instead of at --migrate-after (SIGUSR2 from a script, host/cli/main.ts). */
  startNow(): void {
    if (this.state !== 'idle' || this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.precopy();
  }

  /** The guest should stop now for stop-and-copy (the run loop calls stopAndCopy()). */
  get stopWanted(): boolean {
    return this.state === 'stopping';
  }

  /** The run ended before the migration did (the guest exited, a limit, Ctrl-A X). */
  abandon(why: string): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.state === 'precopy' || this.state === 'stopping') {
      this.progress.clear();
      this.io.stderr(`${this.what}: abandoned: ${why}\n`);
      this.error = `abandoned: ${why}`;
      this.io.onEnd?.({ error: `abandoned: ${why}` });
      this.close();
    }
    this.state = 'failed';
  }

  private fail(e: unknown): void {
    if (!(e instanceof StreamError || e instanceof UserError)) throw e;
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.progress.clear();
    const refusal = this.reader?.refusal();
    const why = refusal !== undefined ? `refused by the target: ${refusal}` : e.message.startsWith(this.what) ? e.message.slice(this.what.length + 2) : e.message;
    this.error = why;
    this.endedAt = performance.now();
    this.refused = refusal !== undefined || why.startsWith('refused by the target');
    const owned = this.commitSent && !this.refused;
    this.io.stderr(this.io.failLine?.(why, this.refused) ?? (owned
      ? `${this.what}: ${why} after COMMIT, before the target's answer; the VM is the target's: not resumed here\n`
      : `${this.what}: ${why}; ${(this.runnable.runState?.() ?? 'running') === 'running' ? 'the VM keeps running here' : 'the VM stays here, paused'}\n`));
    this.io.onEnd?.({ error: why });
    this.close();
  }

  private close(): void {
    this.yieldEvery(undefined);
    if (this.ram) this.ram.stopLog();
    this.socket?.destroy();
  }

  async send(type: number, payload: Uint8Array): Promise<void> {
    return this.sendFrame(frame(type, payload));
  }

  /**
   * Write one frame; `done` once the transport no longer needs its buffer. Unless `noWait`,
   * wait while the peer is behind (the transport's back-pressure) and for the bandwidth cap.
   */
  private async sendFrame(f: Uint8Array, done?: () => void, noWait = false): Promise<void> {
    const s = this.socket!;
    const broken = () => this.reader?.broken ?? new StreamError(`${this.what}: the connection closed`);
    if (s.destroyed || this.reader?.broken) throw broken();
    this.bytes += f.length;
    if (!s.write(f, done) && !noWait) {
      await new Promise<void>((resolve, reject) => {
        const finish = (err?: Error) => {
          s.off('drain', ok);
          s.off('close', bad);
          if (err) reject(err);
          else resolve();
        };
        const ok = () => finish();
        const bad = () => finish(broken());
        s.on('drain', ok);
        s.on('close', bad);
        if (s.destroyed) bad(); // closed before the listeners were there
      });
    }
    const cap = this.opts.bandwidthMBps;
    if (cap !== undefined) {
      const ahead = this.bytes / (cap * 1e3) - (performance.now() - this.startedAt);
      if (ahead > 1) await sleep(ahead);
    }
  }

  /** Frame buffers of PAGES messages, reused once the transport has written them. */
  private readonly pool = new BufferPool(9 + PAGES_MAX_PAYLOAD + 4);

  /**
   * Send `indices` in PAGES messages of BATCH pages. Each frame is built in place in a reused
   * buffer: a page is copied once from guest RAM into it, and a zero page (compared natively,
   * memcmp) is taken back and sent as its 5-byte entry. `noWait`: write them all without waiting
   * for the peer (stop-and-copy: the guest is stopped, the last pages are few).
   */
  async sendPages(round: number, indices: number[], noWait = false): Promise<number> {
    const before = this.bytes;
    for (let i = 0; i < indices.length; i += BATCH) {
      const n = Math.min(BATCH, indices.length - i);
      // A frame the kernel took at once (write() returned true: Node 20 answers so when the
      // write completed synchronously) gives its buffer back on the next tick (`done`): wait for
      // it rather than take a fresh 1 MiB buffer, whose first writes are 256 page faults
      // (~5 ms; round 1 allocated ~60 of them for 64 MiB: docs/migration.md "Experiments").
      for (let k = 0; k < 2 && this.pool.starved; k++) await nextTick();
      const buf = this.pool.take();
      const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      v.setUint32(9, round, true);
      v.setUint32(13, n, true);
      let o = 17;
      for (let k = i; k < i + n; k++) {
        const index = indices[k];
        v.setUint32(o, index, true);
        this.ram.copyTo(index, buf, o + 5);
        const zero = zeroPageAt(buf, o + 5);
        buf[o + 4] = zero ? 0 : 1;
        o += zero ? 5 : 5 + PAGE;
        if (this.sent[index] === 0) {
          // (the INDEX entry: u32 page, u8 populated 0; in the order first sent)
          const at = 13 + this.sentCount * 5;
          this.indexView.setUint32(at, index, true);
          this.index[at + 4] = 0;
          this.sentCount++;
          this.sent[index] = 1;
        }
      }
      await this.sendFrame(sealFrame(buf, MSG.PAGES, o - 9), () => this.pool.give(buf), noWait);
    }
    return this.bytes - before;
  }

  private async connect(): Promise<void> {
    this.socket = await this.dial.connect(this.what);
    this.reader = new MessageReader(this.socket, this.what);
  }

  /** Set the run loop's yield interval (PRECOPY_YIELD_MS while migrating; undefined: its own again). */
  private yieldEvery(ms: number | undefined): void {
    const loop = this.target instanceof Vm ? this.target.vcpu : this.target;
    this.savedYield ??= loop.yieldMs;
    loop.yieldMs = ms ?? this.savedYield;
  }
  private savedYield: number | undefined;
  /** From the start to round 1 (connection, HELLO, OK): the profile's line. */
  private firstRoundAt = 0;

  private async precopy(): Promise<void> {
    this.state = 'precopy';
    this.yieldEvery(PRECOPY_YIELD_MS);
    this.startedAt = performance.now();
    try {
      const why = (this.hooks.whyNot ? this.hooks.whyNot() : whyNotSaveable(this.target)) ?? (this.opts.mode !== 'precopy' ? whyNotPostcopy(this.target) : undefined);
      if (why) throw new UserError(`${this.what}: cannot migrate: ${why}`);
      await this.connect();
      const hello = new Out();
      hello.str(STREAM_MAGIC);
      hello.u32(STREAM_VERSION);
      hello.str(this.opts.mode);
      hello.str(JSON.stringify(snapshotConfig(this.target)));
      await this.send(MSG.HELLO, hello.result());
      // Run the state's encoder once while the guest still runs, so that stop-and-copy does not
      // pay for V8's first, unoptimized pass over it.
      this.saveState();
      // So does post-copy's switch encode its lists, twice (on RAM as it is now; the results are
      // dropped): in one process, 131,072 pages took ~22 ms of CPU cold, ~14 the second time, ~6 the third.
      if (this.opts.mode !== 'precopy') for (let k = 0; k < 2; k++) switchLists(this.ram.allIndices(), this.sent, new Uint8Array(this.ram.pageCount));
      const answer = await this.reader!.expect(MSG.OK, MSG.REFUSE);
      if (answer.type === MSG.REFUSE) throw new StreamError(`${this.what}: refused by the target: ${new In(answer.payload, this.what).str()}`);
      if (this.state !== 'precopy') return;
      if (this.opts.mode === 'postcopy') {
        // No rounds: stop at once; every page follows the switch.
        this.state = 'stopping';
        this.runnable.stop();
        return;
      }
      // Round 1: everything, with the log on first so that what changes meanwhile is caught.
      this.ram.startLog();
      this.firstRoundAt = performance.now() - this.startedAt;
      let t = performance.now();
      let indices = this.ram.all().map((p) => p.index);
      let lastDirty = Infinity;
      let stalls = 0;
      let final = false;
      for (let round = 1; ; round++) {
        const s0 = performance.now();
        const bytes = await this.sendPages(round, indices);
        this.noteBandwidth(bytes, performance.now() - s0);
        await sleep(final ? FINAL_ROUND_MS : ROUND_MIN_MS);
        if (this.state !== 'precopy') return;
        const now = performance.now();
        const ms = now - t;
        t = now;
        const dirty = this.ram.dirty();
        // Stop-and-copy costs the dirty pages at the stream's bandwidth plus the state's round trip.
        const estDowntime = (dirty.length * (PAGE + 5)) / this.bandwidth + this.fixedMs;
        this.rounds.push({ round, pages: indices.length, bytes, ms, dirtyRate: (dirty.length * 1000) / ms, estDowntimeMs: estDowntime });
        this.progress.round(this.rounds, this.sentCount);
        this.io.onRound?.(this.rounds[this.rounds.length - 1], this.sentCount);
        stalls = dirty.length >= lastDirty ? stalls + 1 : 0;
        lastDirty = dirty.length;
        const last = this.opts.mode === 'hybrid'
          ? round >= (this.opts.precopyRounds ?? 2)
          : estDowntime <= this.opts.downtimeMs || round >= this.opts.maxRounds || stalls >= STALL_ROUNDS;
        if (!final && last && this.opts.mode === 'precopy' && estDowntime <= this.opts.downtimeMs && round < this.opts.maxRounds && dirty.length > FINAL_ROUND_MIN_PAGES) {
          final = true;
        } else if (last || final) {
          this.pending = dirty;
          this.state = 'stopping';
          this.runnable.stop();
          return;
        }
        indices = dirty;
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** The run state at the stop, when the VM is not running: RUNSTATE before STATE (none: running). */
  private async sendRunState(): Promise<void> {
    const rs = this.runnable.runState?.() ?? 'running';
    if (rs === 'running' || rs === 'inmigrate') return; // (inmigrate: a target's, never a source's)
    const o = new Out();
    o.str(rs);
    await this.sendFrame(frame(MSG.RUNSTATE, o.result()), undefined, true);
  }
  private saveState(): Uint8Array {
    return this.hooks.state ? this.hooks.state() : saveSnapshot(this.target, { withoutRam: true });
  }

  /** Bytes per ms the stream took (the best seen over sends of at least 256 KiB; 100 MB/s before). */
  private bandwidth = 1e5;
  private measured = false;
  /** What a stop-and-copy costs besides the pages (state, hand-over); 1 ms until measured. */
  private fixedMs = 1;

  private noteBandwidth(bytes: number, ms: number): void {
    if (bytes < 256 << 10 || ms <= 0) return;
    const bw = Math.min(bytes / ms, this.opts.bandwidthMBps !== undefined ? this.opts.bandwidthMBps * 1e3 : Infinity);
    this.bandwidth = this.measured ? Math.max(this.bandwidth, bw) : bw;
    this.measured = true;
  }

  /**
   * Stop-and-copy with the guest stopped: true once the target runs it (this process then
   * exits 0), false if the hand-over failed (one line printed; the caller runs the guest on).
   */
  async stopAndCopy(): Promise<boolean> {
    if (this.opts.mode !== 'precopy') return this.switchToPostcopy();
    const t0 = performance.now();
    try {
      // Profile of the downtime (docs/migration.md "Downtime"), printed with WASMVISOR_MIGRATE_PROFILE=1.
      const prof = new StopProfile(t0);
      const ram = this.ram;
      const last = ram.dirty();
      ram.stopLog();
      prof.mark('dirty log');
      // The RAM index. A VM: its populated pages now (a page populated by a read is in no dirty
      // log). A bare machine: the pages sent, once this round has sent the final ones. Its RAM is
      // the pages written since reset, and markDirty sets that bit and the log's together, so
      // every page written since round 1 listed them is in some round's dirty set (a reset's
      // zeroing too: such a page goes as zero, and a zero page is as good as an unwritten one).
      // No list of every page is built while the guest is stopped: sendPages has kept the index.
      const vmAll = this.target instanceof Vm ? ram.all() : undefined;
      let indices: number[];
      if (vmAll) {
        const final = new Uint8Array(ram.pageCount);
        for (const i of this.pending) final[i] = 1;
        for (const i of last) final[i] = 1;
        for (const p of vmAll) if (this.sent[p.index] === 0) final[p.index] = 1;
        indices = [];
        for (let i = 0; i < final.length; i++) if (final[i] !== 0) indices.push(i);
      } else indices = union(this.pending, last);
      const round = this.rounds.length + 1;
      prof.mark('dirty set');
      // The last pages, INDEX and STATE go to the kernel in one writev: the target wakes up once
      // for all of them rather than once per write (docs/migration.md "Downtime").
      const corked = this.socket!.cork !== undefined;
      if (corked) this.socket!.cork!();
      const bytes = await this.sendPages(round, indices, true);
      prof.mark('pages');
      let index: Uint8Array;
      if (vmAll) {
        const payload = new Uint8Array(4 + vmAll.length * 5);
        const iv = new DataView(payload.buffer);
        iv.setUint32(0, vmAll.length, true);
        vmAll.forEach((p, k) => {
          iv.setUint32(4 + k * 5, p.index, true);
          payload[8 + k * 5] = 1;
        });
        index = frame(MSG.INDEX, payload);
      } else {
        new DataView(this.index.buffer).setUint32(9, this.sentCount, true);
        index = sealFrame(this.index, MSG.INDEX, 4 + this.sentCount * 5);
      }
      await this.sendFrame(index, undefined, true);
      prof.mark('index');
      const state = this.saveState();
      prof.mark('save state');
      await this.sendRunState();
      // Stop to the last byte in the kernel's socket buffer (STATE's write done): what QEMU calls downtime.
      let sentMs = NaN;
      await this.sendFrame(frame(MSG.STATE, state), () => (sentMs = performance.now() - t0), true);
      if (corked) this.socket!.uncork!();
      prof.mark('send state');
      // COMMIT only after the target's READY (it has every byte and has loaded the state), as
      // Xen's xl migrate waits for its receiver before giving permission to go: COMMIT is the
      // point of no return (targetOwns), and written behind STATE it was in the same write as
      // the last pages, so a connection cut anywhere in them left this side holding a guest the
      // target never got (test/xen/migrate-live-faults.test.ts). The cost is a round trip.
      const ready = await this.reader!.expect(MSG.READY, MSG.REFUSE);
      if (ready.type === MSG.REFUSE) throw new StreamError(`${this.what}: refused by the target: ${new In(ready.payload, this.what).str()}`);
      prof.mark('wait READY');
      this.hooks.beforeCommit?.();
      await this.sendFrame(frame(MSG.COMMIT, new Uint8Array(0)), undefined, true);
      this.commitSent = true; // (sendFrame throws only before its write)
      const answer = await this.reader!.expect(MSG.DONE, MSG.REFUSE);
      if (answer.type === MSG.REFUSE) throw new StreamError(`${this.what}: refused by the target: ${new In(answer.payload, this.what).str()}`);
      prof.mark('wait DONE');
      if (profiling()) {
        this.io.stderr(`wasmvisor: stop-and-copy (source): ${prof.text()}; sent in ${sentMs.toFixed(2)} ms\n`);
        this.io.stderr(`wasmvisor: pre-copy rounds (source): ${this.rounds.map((r) => `${r.pages} pages ${r.ms.toFixed(0)} ms`).join(', ')}; from the start to round 1 ${this.firstRoundAt.toFixed(0)} ms\n`);
      }
      const downtime = performance.now() - t0;
      this.downtimeMs = downtime;
      this.endedAt = performance.now();
      this.rounds.push({ round, pages: indices.length, bytes, ms: downtime, dirtyRate: 0, estDowntimeMs: downtime, stopAndCopy: true });
      this.state = 'done';
      this.socket!.end();
      const summary: Summary = {
        totalMs: performance.now() - this.startedAt,
        downtimeMs: downtime,
        bytes: this.bytes,
        rounds: this.rounds,
        fetchedOnDemand: 0,
      };
      this.progress.summary(this.opts, summary, this.dial.text);
      this.io.onEnd?.({ summary });
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /**
   * Post-copy's switch, with the guest stopped: INDEX, ABSENT (the pages the target has no
   * current copy of: all of them for post-copy, those never sent or dirtied since for hybrid),
   * STATE; READY; COMMIT, after which this side never runs the guest again; DONE (the target
   * runs: the downtime ends). Then the absent pages are pushed and FETCHes served until the
   * target has all (COMPLETE): true. A failure before COMMIT resumes here (false, one line); one
   * after it is the VM lost: a UserError (exit 69) saying so, as KVM's post-copy.
   */
  private async switchToPostcopy(): Promise<boolean> {
    const t0 = performance.now();
    const prof = new StopProfile(t0);
    let absent: Uint32Array;
    try {
      // Typed arrays throughout: the guest is stopped, and a 512 MiB guest has 131,072 pages
      // (Out's byte-at-a-time encoding and a Set of them took ~700 ms here).
      const dirty = new Uint8Array(this.ram.pageCount);
      for (const i of this.pending) dirty[i] = 1;
      if (this.sentCount > 0) for (const i of this.ram.dirty()) dirty[i] = 1;
      this.ram.stopLog();
      const early = this.hooks.presentAtSwitch?.() ?? [];
      if (early.length > 0) {
        await this.sendPages(this.rounds.length + 1, early);
        for (const i of early) dirty[i] = 0;
      }
      const enc = switchLists(this.ram.allIndices(), this.sent, dirty);
      absent = enc.absent;
      prof.mark('index');
      // INDEX, ABSENT and STATE in one write, without waiting for the peer (as stop-and-copy's):
      // the target wakes once for them. "sent": the stop to STATE's write done, QEMU's definition
      // of post-copy's downtime (postcopy_start: the stop to the package written).
      const corked = this.socket!.cork !== undefined;
      if (corked) this.socket!.cork!();
      await this.sendFrame(enc.index, undefined, true);
      prof.mark('send index');
      await this.sendFrame(enc.list, undefined, true);
      prof.mark('absent');
      let sentMs = NaN;
      await this.sendRunState();
      await this.sendFrame(frame(MSG.STATE, this.saveState()), () => (sentMs = performance.now() - t0), true);
      if (corked) this.socket!.uncork!();
      prof.mark('state');
      const ready = await this.reader!.expect(MSG.READY, MSG.REFUSE);
      prof.mark('wait READY');
      if (ready.type === MSG.REFUSE) throw new StreamError(`${this.what}: refused by the target: ${new In(ready.payload, this.what).str()}`);
      this.hooks.beforeCommit?.();
      // From here the guest is the target's, whatever happens next.
      this.state = 'postcopy';
      await this.send(MSG.COMMIT, new Uint8Array(0));
      await this.reader!.expect(MSG.DONE);
      prof.mark('COMMIT, DONE');
      if (profiling()) this.io.stderr(`wasmvisor: post-copy switch (source): ${prof.text()}; sent in ${sentMs.toFixed(2)} ms\n`);
    } catch (e) {
      if (this.state !== 'postcopy') {
        this.fail(e);
        return false;
      }
      return this.lost(e);
    }
    const downtime = performance.now() - t0;
    try {
      const r = await pushPostcopy(this, this.rounds.length + 1, Array.from(absent), this.opts.bandwidthMBps !== undefined ? PUSH_BATCH_CAPPED : undefined);
      this.state = 'done';
      this.socket!.end();
      this.rounds.push({ round: this.rounds.length + 1, pages: r.pages, bytes: r.bytes, ms: performance.now() - t0, dirtyRate: 0, estDowntimeMs: downtime, postCopy: true });
      this.downtimeMs = downtime;
      this.endedAt = performance.now();
      const summary: Summary = {
        totalMs: performance.now() - this.startedAt,
        downtimeMs: downtime,
        bytes: this.bytes,
        rounds: this.rounds,
        fetchedOnDemand: r.fetched,
      };
      this.progress.summary(this.opts, summary, this.dial.text);
      this.io.onEnd?.({ summary });
      return true;
    } catch (e) {
      return this.lost(e);
    }
  }

  /** A failure after COMMIT: the guest cannot run here any more (this side gave it up). */
  private lost(e: unknown): never {
    if (!(e instanceof StreamError || e instanceof UserError)) throw e;
    this.state = 'failed';
    this.progress.clear();
    this.socket?.destroy();
    const why = e.message.startsWith(this.what) ? e.message.slice(this.what.length + 2) : e.message;
    this.error = `${why} after the switch to post-copy; the VM is lost`;
    this.endedAt = performance.now();
    this.io.onEnd?.({ error: this.error });
    throw new UserError(`${this.what}: ${why} after the switch to post-copy; the VM is lost: this side gave it up at the switch and cannot resume it`, EXIT_VM_LOST);
  }

  /** Stop-and-copy wrote COMMIT: a failure from then on without REFUSE may have left the guest running on the target (domain-source.ts). */
  commitSent = false;
  /** The target refused (its REFUSE came): it runs nothing. */
  private refused = false;

  /**
   * Failed after COMMIT was written with no REFUSE back: the target may be running the guest, so
   * this side must never run it again (COMMIT is the point of no return, as in Xen's xl migrate:
   * docs/migration.md "Stream"). The CLI ends the run (exit 1) instead of resuming.
   */
  get targetOwns(): boolean {
    return this.state === 'failed' && this.commitSent && !this.refused;
  }

  /** Why it failed (the line printed), for `info migrate`. */
  private error: string | undefined;
  private downtimeMs: number | undefined;
  /** When it failed or completed (info migrate's total time stops there). */
  private endedAt: number | undefined;

  /** Started and not yet over (the monitor refuses a second migrate, and loadvm, meanwhile). */
  get busy(): boolean {
    return this.state !== 'failed' && this.state !== 'done';
  }

  /** The monitor's `info migrate` (host/cli/monitor-run.ts), with QEMU's status names. */
  status(): MigrationStatus {
    const last = this.rounds[this.rounds.length - 1];
    const names = { idle: 'setup', precopy: 'active', stopping: 'device', postcopy: 'postcopy-active', failed: 'failed', done: 'completed' } as const;
    return {
      state: names[this.state],
      to: this.opts.to!.text,
      error: this.error,
      totalMs: this.startedAt === 0 ? 0 : (this.endedAt ?? performance.now()) - this.startedAt,
      downtimeMs: this.downtimeMs,
      expectedDowntimeMs: last?.estDowntimeMs,
      rounds: this.rounds.length,
      bytes: this.bytes,
      pagesSent: this.sentCount,
      dirtyRate: last?.dirtyRate ?? 0,
    };
  }
}

/** A migration's progress as `info migrate` shows it. */
export interface MigrationStatus {
  state: 'setup' | 'active' | 'device' | 'postcopy-active' | 'failed' | 'completed';
  to: string;
  error?: string;
  totalMs: number;
  downtimeMs?: number;
  expectedDowntimeMs?: number;
  rounds: number;
  bytes: number;
  pagesSent: number;
  /** Pages dirtied per second in the last round. */
  dirtyRate: number;
}
