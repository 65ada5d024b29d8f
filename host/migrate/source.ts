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
import type { Vm } from '../vmm/vm';
import { UserError } from '../errors';
import { saveSnapshot, snapshotConfig, whyNotSaveable } from '../snapshot/snapshot';
import { EXIT_VM_LOST, type MigrateOptions } from './options';
import { guestRam, isZeroPage, PAGE, type GuestRam } from './pages';
import { MessageReader, MSG, Out, In, frame, StreamError, STREAM_MAGIC, STREAM_VERSION } from './stream';
import { Progress, type RoundStats, type Summary } from './progress';
import { pushPostcopy, whyNotPostcopy, type PostcopySender } from './postcopy-source';
import { tcpDialer } from './tcp-transport';
import type { Dialer, Transport } from './transport';

/** Pages per PAGES message (up to 1 MiB of payload). */
const BATCH = 256;
/** The shortest round: the guest runs at least this long between two looks at the dirty log. */
const ROUND_MIN_MS = 20;
/** Rounds whose dirty set did not shrink before the source gives up converging. */
const STALL_ROUNDS = 3;

export interface SourceIo {
  stderr(text: string): void;
  isTTY: boolean;
  /** After each pre-copy round (a page's live view, host/web; the CLI has its progress line). */
  onRound?(r: RoundStats, pagesSent: number): void;
  /** Once: the summary after the hand-over, or the one line why the migration failed (the VM runs on here). */
  onEnd?(end: { summary: Summary } | { error: string }): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class MigrationSource implements PostcopySender {
  private readonly ram: GuestRam;
  private socket: Transport | undefined;
  reader: MessageReader | undefined;
  readonly what: string;
  private state: 'idle' | 'precopy' | 'stopping' | 'postcopy' | 'failed' | 'done' = 'idle';
  private timer: NodeJS.Timeout | undefined;
  readonly sent = new Set<number>();
  private pending: number[] = [];
  bytes = 0;
  private startedAt = 0;
  private readonly rounds: RoundStats[] = [];
  private readonly progress: Progress;

  constructor(
    private readonly target: Machine | Vm,
    private readonly runnable: { stop(): void },
    private readonly opts: MigrateOptions,
    private readonly io: SourceIo,
    /** Where the stream goes: --migrate-to's TCP address by default (a MessagePort on the page). */
    private readonly dial: Dialer = tcpDialer(opts.to!),
  ) {
    this.ram = guestRam(target);
    this.what = `wasmvisor: migration to ${dial.text}`;
    this.progress = new Progress(io);
  }

  /** Start migrating after --migrate-after. */
  start(): void {
    this.timer = setTimeout(() => void this.precopy(), this.opts.afterMs);
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
    this.io.stderr(`${this.what}: ${why}; the VM keeps running here\n`);
    this.io.onEnd?.({ error: why });
    this.close();
  }

  private close(): void {
    if (this.ram) this.ram.stopLog();
    this.socket?.destroy();
  }

  async send(type: number, payload: Uint8Array): Promise<void> {
    const s = this.socket!;
    const broken = () => this.reader?.broken ?? new StreamError(`${this.what}: the connection closed`);
    if (s.destroyed || this.reader?.broken) throw broken();
    const f = frame(type, payload);
    this.bytes += f.length;
    if (!s.write(f)) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          s.off('drain', ok);
          s.off('close', bad);
          if (err) reject(err);
          else resolve();
        };
        const ok = () => done();
        const bad = () => done(broken());
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

  async sendPages(round: number, indices: number[]): Promise<number> {
    const before = this.bytes;
    for (let i = 0; i < indices.length; i += BATCH) {
      const batch = indices.slice(i, i + BATCH);
      const out = new Out();
      out.u32(round);
      out.u32(batch.length);
      for (const index of batch) {
        const data = this.ram.read(index);
        out.u32(index);
        if (isZeroPage(data)) out.u8(0);
        else {
          out.u8(1);
          out.bytes(data);
        }
        this.sent.add(index);
      }
      await this.send(MSG.PAGES, out.result());
    }
    return this.bytes - before;
  }

  private async connect(): Promise<void> {
    this.socket = await this.dial.connect(this.what);
    this.reader = new MessageReader(this.socket, this.what);
  }

  private async precopy(): Promise<void> {
    this.state = 'precopy';
    this.startedAt = performance.now();
    try {
      const why = whyNotSaveable(this.target) ?? (this.opts.mode !== 'precopy' ? whyNotPostcopy(this.target) : undefined);
      if (why) throw new UserError(`${this.what}: cannot migrate: ${why}`);
      await this.connect();
      const hello = new Out();
      hello.str(STREAM_MAGIC);
      hello.u32(STREAM_VERSION);
      hello.str(this.opts.mode);
      hello.str(JSON.stringify(snapshotConfig(this.target)));
      await this.send(MSG.HELLO, hello.result());
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
      let t = performance.now();
      let indices = this.ram.all().map((p) => p.index);
      let lastDirty = Infinity;
      let stalls = 0;
      for (let round = 1; ; round++) {
        const s0 = performance.now();
        const bytes = await this.sendPages(round, indices);
        this.noteBandwidth(bytes, performance.now() - s0);
        await sleep(ROUND_MIN_MS);
        if (this.state !== 'precopy') return;
        const now = performance.now();
        const ms = now - t;
        t = now;
        const dirty = this.ram.dirty();
        // Stop-and-copy costs the dirty pages at the stream's bandwidth plus the state's round trip.
        const estDowntime = (dirty.length * (PAGE + 5)) / this.bandwidth + this.fixedMs;
        this.rounds.push({ round, pages: indices.length, bytes, ms, dirtyRate: (dirty.length * 1000) / ms, estDowntimeMs: estDowntime });
        this.progress.round(this.rounds, this.sent.size);
        this.io.onRound?.(this.rounds[this.rounds.length - 1], this.sent.size);
        stalls = dirty.length >= lastDirty ? stalls + 1 : 0;
        lastDirty = dirty.length;
        const last = this.opts.mode === 'hybrid'
          ? round >= (this.opts.precopyRounds ?? 2)
          : estDowntime <= this.opts.downtimeMs || round >= this.opts.maxRounds || stalls >= STALL_ROUNDS;
        if (last) {
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
      const final = new Set([...this.pending, ...this.ram.dirty()]);
      this.ram.stopLog();
      const all = this.ram.all();
      for (const p of all) if (!this.sent.has(p.index)) final.add(p.index);
      const round = this.rounds.length + 1;
      const indices = [...final].sort((a, b) => a - b);
      const bytes = await this.sendPages(round, indices);
      const index = new Out();
      index.u32(all.length);
      for (const p of all) {
        index.u32(p.index);
        index.u8(p.populated ? 1 : 0);
      }
      await this.send(MSG.INDEX, index.result());
      await this.send(MSG.STATE, saveSnapshot(this.target, { withoutRam: true }));
      const ready = await this.reader!.expect(MSG.READY, MSG.REFUSE);
      if (ready.type === MSG.REFUSE) throw new StreamError(`${this.what}: refused by the target: ${new In(ready.payload, this.what).str()}`);
      await this.send(MSG.COMMIT, new Uint8Array(0));
      await this.reader!.expect(MSG.DONE);
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
    let absent: number[];
    try {
      const dirty = new Set([...this.pending, ...(this.sent.size > 0 ? this.ram.dirty() : [])]);
      this.ram.stopLog();
      const all = this.ram.all();
      absent = all.filter((p) => !this.sent.has(p.index) || dirty.has(p.index)).map((p) => p.index);
      const index = new Out();
      index.u32(all.length);
      for (const p of all) {
        index.u32(p.index);
        index.u8(p.populated ? 1 : 0);
      }
      await this.send(MSG.INDEX, index.result());
      const list = new Out();
      list.u32(absent.length);
      for (const i of absent) list.u32(i);
      await this.send(MSG.ABSENT, list.result());
      await this.send(MSG.STATE, saveSnapshot(this.target, { withoutRam: true }));
      const ready = await this.reader!.expect(MSG.READY, MSG.REFUSE);
      if (ready.type === MSG.REFUSE) throw new StreamError(`${this.what}: refused by the target: ${new In(ready.payload, this.what).str()}`);
      // From here the guest is the target's, whatever happens next.
      this.state = 'postcopy';
      await this.send(MSG.COMMIT, new Uint8Array(0));
      await this.reader!.expect(MSG.DONE);
    } catch (e) {
      if (this.state !== 'postcopy') {
        this.fail(e);
        return false;
      }
      return this.lost(e);
    }
    const downtime = performance.now() - t0;
    try {
      const r = await pushPostcopy(this, this.rounds.length + 1, absent);
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
      pagesSent: this.sent.size,
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
