/**
 * The toolstack: what Xen's xl and libxl do, for domains in this process. `create` builds a
 * DomU from its xl.cfg (XenHypervisor.createDomain, then its disks, vifs and PV console through
 * Dom0's backends), `run` shares the host thread among the DomUs with the credit scheduler
 * until none is left running, and `list`, `pause`, `unpause`, `destroy` and `console` are the
 * xl commands of the same names.
 *
 * Lifecycle (xl.cfg on_poweroff / on_reboot / on_crash): when a domain shuts down (the run of
 * its vCPU ends with SCHEDOP_shutdown, SBI SRST or the test finisher), the reason picks the
 * action. A Xen shutdown names its reason; an SBI or finisher exit is a poweroff when its code
 * is 0 and a crash otherwise; a VM the VMM had to stop (a guest fault) is a crash.
 *   destroy   the domain and its devices go (the default for poweroff and crash)
 *   restart   it is destroyed and built again from the same configuration (with the lowest
 *             free domain id), keeping its disks (the default for reboot; at most MAX_RESTARTS times)
 *   preserve  it stays, shut down, in `xl list` (state s or c) until destroyed
 * Every domain keeps a record (`records()`) of how it ended and what it got from the scheduler,
 * across restarts, for the table `wasmvisor up` prints at exit.
 *
 * Devices come from host/xen/devices.ts, passed in as `DeviceOps` so that this file does not
 * depend on the backends' wiring (the tests pass stubs).
 */
import { type BootOptions } from '../../machine/boot-data';
import { readInputFile } from '../../machine/input-file';
import { MemoryBackend, type BlockBackend } from '../../devices/virtio/backend';
import { FileBackend } from '../../devices/virtio/file-backend';
import { UserError } from '../../errors';
import { loadImageFile } from '../../machine/loader';
import type { JitConfig, LoadedImage } from '../../machine/types';
import type { ExitRow } from '../../vmm/stats';
import { KERNEL_RAW_BASE, type VmRunResult } from '../../vmm/vm';
import { Bridge } from '../backends/bridge';
import type { XenDomain } from '../domain';
import type { XenHypervisor } from '../hypervisor';
import type { DiskCfg, DomainCfg, LifecycleAction } from './cfg';
import type { XlListRow } from './list-format';
import { CreditScheduler, type SchedAccount, type SchedulerOptions, type SchedVcpu } from './scheduler';
import { xenSchedVcpu } from './xen-vcpu';
import { SnapshotError } from '../../snapshot/format';
import { loadXenDomain, openSavedDisks, saveXenDomain, type SavedDevice, type XenSaveFile, type XenSaveInput } from '../../snapshot/xen';
import type { ConsoleSnapshot } from '../backends/console';
import { EXIT_VM_LOST } from '../../migrate/options';
import type { AttachedXenbusDevice, DiskResumeState, VifResumeState } from '../devices';
import type { Netback } from '../backends/netback';

/** A device attached to a domain (host/xen/devices.ts). */
export interface AttachedDevice {
  readonly kind: 'vbd' | 'vif' | 'console';
  readonly devid: number;
  close(): void;
  stats(): Record<string, number>;
  /** A vif: announce its MAC on its bridge (a restored domain, devices.ts resumeVif; a failed migration's source, resumed). */
  announce?(): void;
}

/** host/xen/devices.ts: how Dom0 gives a domain its disks, vifs and PV console. */
export interface DeviceOps {
  attachDisk(hv: XenHypervisor, dom: XenDomain, devid: number, spec: { backend: BlockBackend; vdev: string; readOnly: boolean }): AttachedDevice;
  attachVif(hv: XenHypervisor, dom: XenDomain, devid: number, spec: { bridge: Bridge; mac?: string; ip?: string; bridgeName?: string }): AttachedDevice;
  attachConsole(hv: XenHypervisor, dom: XenDomain, sink: (bytes: Uint8Array) => void): AttachedDevice & { input(bytes: Uint8Array): void };
  /** xl restore (host/snapshot/xen.ts): the same devices, reconnected to a restored domain. */
  resumeDisk?(hv: XenHypervisor, dom: XenDomain, devid: number, spec: { backend: BlockBackend; vdev: string; readOnly: boolean }, saved: DiskResumeState): AttachedDevice;
  resumeConsole?(hv: XenHypervisor, dom: XenDomain, sink: (bytes: Uint8Array) => void, saved: ConsoleSnapshot): AttachedDevice & { input(bytes: Uint8Array): void };
  resumeVif?(hv: XenHypervisor, dom: XenDomain, devid: number, spec: { bridge: Bridge; ip?: string; bridgeName?: string }, saved: VifResumeState): AttachedDevice;
}

/** How the toolstack is set up. */
export interface ToolstackOptions extends JitConfig {
  devices: DeviceOps;
  deterministic?: boolean;
  /** Scheduler knobs (slice, period); `deterministic` comes from above. */
  scheduler?: Omit<SchedulerOptions, 'deterministic'>;
  /** The bridges that exist; undefined: a bridge is created the first time a vif names it. */
  bridges?: string[];
  /** Console output of a domain (UART, SBI console, console_io and the PV console). */
  onConsole?: (rec: DomainRecord, bytes: Uint8Array) => void;
  /** One line about a lifecycle event ("domu1 (d1): poweroff, exit code 0: destroyed"). */
  onNotice?: (line: string) => void;
  /** Load a kernel (default: the file, raw images at 0x80200000). */
  loadKernel?: (path: string) => LoadedImage;
}

/** How a domain ended. */
export interface DomainEnd {
  reason: 'poweroff' | 'reboot' | 'crash' | 'watchdog' | 'destroyed' | 'timeout' | 'saved' | 'migrated' | 'lost';
  /** saved: the file; migrated: the target (host:port); lost: the migration (why it was lost). */
  to?: string;
  exitCode: number;
  /** The VMM's report when it stopped the guest. */
  failure?: string;
}

/** One domain (one configuration), over its restarts. */
export interface DomainRecord {
  readonly cfg: DomainCfg;
  /**
   * Its name as XenStore's /local/domain/<domid>/name holds it, by which `xl list` shows it and
   * xl commands find it: cfg.name, but for the source of a migration past the target's READY,
   * NAME--migratedaway (rename, host/migrate/domain-source.ts), for its target until COMMIT,
   * NAME--incoming (incomingName), and whatever `xl rename` gave it.
   */
  name: string;
  /** Its current (or last) domain id. */
  domid: number;
  /** running: scheduled (or paused); preserved: shut down but kept; gone: destroyed. */
  state: 'running' | 'preserved' | 'gone';
  paused: boolean;
  end?: DomainEnd;
  restarts: number;
  /** Scheduler totals of earlier incarnations (before restarts). */
  past: { instructions: bigint; hostMs: number; slices: number; blocks: number };
  /** The live domain's devices. */
  devices: AttachedDevice[];
  /** Each device's counters when it was last closed, by "vbd51712", "vif0", "console0". */
  deviceStats: Record<string, Record<string, number>>;
  /** VM exits of earlier incarnations by reason (ExitStats keeps at most MAX_EXIT_REASONS). */
  pastExits: Map<string, number>;
  /** Input to its console (PV console, else its UART). */
  consoleInput?: (bytes: Uint8Array) => void;
}

/** A domain coming in by live migration (Toolstack.incoming). */
export interface IncomingDomain {
  readonly dom: XenDomain;
  /** Load the state, reconnect the devices, schedule it (paused: not running yet); SnapshotError when refused. */
  load(save: XenSaveFile, opts?: { ramInPlace?: boolean; paused?: boolean }): DomainRecord;
  /** Drop the domain before load (the migration failed). */
  discard(): void;
}

/**
 * The name of a domain coming in by live migration until the source's COMMIT, as xl's
 * migrate_receive names it (tools/xl/xl_vmcontrol.c create_domain: "%s--incoming"); renamed to
 * NAME then (host/migrate/domain-target.ts), destroyed if the migration fails.
 */
export const incomingName = (name: string): string => `${name}--incoming`;

/** The longest name rename gives (xl.cfg's name= takes 1..64, cfg.ts; --migratedaway adds 14). */
const MAX_NAME = 128;

/** Restarts (on_reboot=restart, ...) of one domain before the toolstack destroys it instead. */
export const MAX_RESTARTS = 8;

/** The toolstack over one XenHypervisor. */
export class Toolstack {
  readonly scheduler: CreditScheduler;
  private readonly recs: DomainRecord[] = [];
  private readonly bridges = new Map<string, Bridge>();
  private readonly disks = new Map<DomainRecord, BlockBackend[]>();
  private readonly pending: (() => void | Promise<void>)[] = [];
  private quitRequested = false;
  /** Called once when a domain goes (host/migrate/domain-source.ts abandons its migration then). */
  private readonly endWatchers = new Map<number, () => void>();

  constructor(readonly hv: XenHypervisor, readonly opts: ToolstackOptions) {
    this.scheduler = new CreditScheduler({ deterministic: opts.deterministic ?? false, ...opts.scheduler });
    for (const b of opts.bridges ?? []) this.bridges.set(b, new Bridge());
  }

  /** The bridge named `name` (created on demand when the toolstack was given no list). */
  bridge(name: string): Bridge {
    let b = this.bridges.get(name);
    if (b === undefined) {
      if (this.opts.bridges !== undefined) throw new UserError(`toolstack: no bridge '${name}' (have ${[...this.bridges.keys()].join(', ')})`);
      b = new Bridge();
      this.bridges.set(name, b);
    }
    return b;
  }

  /** xl create: build the domain of `cfg`, attach its devices and schedule it. */
  async create(cfg: DomainCfg): Promise<DomainRecord> {
    if (this.named(cfg.name)) throw new UserError(`${cfg.file}: a domain named '${cfg.name}' already exists`);
    const rec: DomainRecord = {
      cfg, name: cfg.name, domid: 0, state: 'running', paused: false, restarts: 0,
      past: { instructions: 0n, hostMs: 0, slices: 0, blocks: 0 }, devices: [], deviceStats: {}, pastExits: new Map(),
    };
    const opened: BlockBackend[] = [];
    try {
      for (const disk of cfg.disks) opened.push(openDisk(disk));
      this.disks.set(rec, opened);
      await this.build(rec);
    } catch (e) {
      for (const d of opened) closeDisk(d);
      this.disks.delete(rec);
      throw e;
    }
    this.recs.push(rec);
    return rec;
  }

  /** Build (or rebuild) the live domain of `rec`. */
  private async build(rec: DomainRecord): Promise<void> {
    const { cfg, name } = rec;
    const kernel = (this.opts.loadKernel ?? ((p) => loadImageFile(p, KERNEL_RAW_BASE)))(cfg.kernel);
    const out = (bytes: Uint8Array) => this.opts.onConsole?.(rec, Uint8Array.from(bytes));
    // cmdline= / root= / extra= and ramdisk= (issue 12): /chosen in the DomU's tree.
    const memSize = cfg.memoryMiB * 2 ** 20;
    const boot: BootOptions | undefined = cfg.cmdline !== undefined || cfg.ramdisk !== undefined
      ? { append: cfg.cmdline, initrd: cfg.ramdisk !== undefined ? { name: cfg.ramdisk, data: readInputFile(cfg.ramdisk, { what: 'ramdisk', maxBytes: memSize }) } : undefined }
      : undefined;
    const d = await this.hv.createDomain({
      name, memSize, kernel, boot, deterministic: this.opts.deterministic,
      jit: this.opts.jit, jitThreshold: this.opts.jitThreshold, jitCodeLimit: this.opts.jitCodeLimit, jitMaxBlocks: this.opts.jitMaxBlocks, jitBackground: this.opts.jitBackground,
      onConsoleOutput: out, onXenConsole: out,
    });
    rec.domid = d.domid;
    rec.devices = [];
    try {
      const dev = this.opts.devices;
      const con = dev.attachConsole(this.hv, d, out);
      rec.devices.push(con);
      rec.consoleInput = (bytes) => con.input(bytes);
      cfg.disks.forEach((disk, i) => {
        rec.devices.push(dev.attachDisk(this.hv, d, disk.devid, { backend: this.disks.get(rec)![i], vdev: disk.vdev, readOnly: disk.readOnly }));
      });
      cfg.vifs.forEach((vif, i) => {
        rec.devices.push(dev.attachVif(this.hv, d, i, { bridge: this.bridge(vif.bridge), mac: vif.mac, ip: vif.ip, bridgeName: vif.bridge }));
      });
    } catch (e) {
      this.teardown(rec);
      throw e;
    }
    this.scheduler.add(d.domid, isolated(xenSchedVcpu(this.hv, d)), { weight: cfg.weight, cap: cfg.cap });
    if (rec.paused) this.scheduler.pause(d.domid);
  }

  /** Close the live domain's devices and destroy it (its disks stay open for a restart). */
  private teardown(rec: DomainRecord): void {
    this.held.delete(rec.domid);
    const watcher = this.endWatchers.get(rec.domid);
    this.endWatchers.delete(rec.domid);
    watcher?.();
    for (const dev of rec.devices.splice(0).reverse()) {
      rec.deviceStats[`${dev.kind}${dev.devid}`] = dev.stats();
      dev.close();
    }
    if (this.scheduler.has(rec.domid)) {
      const a = this.scheduler.account(rec.domid);
      rec.past.instructions += a.instructions;
      rec.past.hostMs += a.hostMs;
      rec.past.slices += a.slices;
      rec.past.blocks += a.blocks;
      this.scheduler.remove(rec.domid);
    }
    rec.consoleInput = undefined;
    for (const x of this.liveExits(rec)) rec.pastExits.set(x.reason, (rec.pastExits.get(x.reason) ?? 0) + x.count);
    this.hv.destroyDomain(rec.domid);
  }

  /** The end of a record: the domain and its disks go. */
  private finish(rec: DomainRecord): void {
    this.teardown(rec);
    rec.state = 'gone';
    for (const d of this.disks.get(rec) ?? []) closeDisk(d);
    this.disks.delete(rec);
  }

  /** Every domain this toolstack created, in creation order, live or not. */
  records(): readonly DomainRecord[] {
    return this.recs;
  }

  /** The live record of domain `domid` (UserError if there is none). */
  record(domid: number): DomainRecord {
    const r = this.recs.find((x) => x.domid === domid && x.state !== 'gone');
    if (r === undefined) throw new UserError(`xl: no domain ${domid}`);
    return r;
  }

  /** What the scheduler gave a record, over all its incarnations. */
  totals(rec: DomainRecord): { instructions: bigint; hostMs: number; slices: number; blocks: number; sched?: SchedAccount } {
    const t = { ...rec.past };
    if (rec.state === 'running' && this.scheduler.has(rec.domid)) {
      const a = this.scheduler.account(rec.domid);
      return { instructions: t.instructions + a.instructions, hostMs: t.hostMs + a.hostMs, slices: t.slices + a.slices, blocks: t.blocks + a.blocks, sched: a };
    }
    return t;
  }

  /** VM exits of a record by reason (all incarnations), most frequent first. */
  exits(rec: DomainRecord): { reason: string; count: number }[] {
    const all = new Map(rec.pastExits);
    for (const x of this.liveExits(rec)) all.set(x.reason, (all.get(x.reason) ?? 0) + x.count);
    return [...all].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }

  private liveExits(rec: DomainRecord): ExitRow[] {
    // A gone record's domid may belong to another domain by now.
    return rec.state !== 'gone' ? this.hv.domain(rec.domid)?.vm.exits.rows() ?? [] : [];
  }

  /** One `xl list` row of a record (live or not). */
  row(rec: DomainRecord): XlListRow {
    const t = this.totals(rec);
    const end = rec.end;
    const crashed = end !== undefined && (end.reason === 'crash' || end.reason === 'watchdog' || (end.reason === 'poweroff' && end.exitCode !== 0));
    const killed = end !== undefined && (end.reason === 'destroyed' || end.reason === 'timeout');
    return {
      name: rec.name, domid: rec.domid, memMiB: rec.cfg.memoryMiB, vcpus: 1, timeS: t.hostMs / 1000,
      state: rec.state === 'running'
        ? { running: t.sched?.state === 'runnable' || t.sched?.state === 'parked', blocked: t.sched?.state === 'blocked', paused: rec.paused }
        : { shutdown: end !== undefined && !crashed && !killed, crashed, dying: killed },
    };
  }

  /** xl list: Domain-0, then the live domains (running, paused or preserved) by id. */
  list(dom0TimeS = 0): XlListRow[] {
    const live = this.recs.filter((r) => r.state !== 'gone').sort((a, b) => a.domid - b.domid);
    return [{ name: 'Domain-0', domid: 0, memMiB: 0, vcpus: 1, state: { running: true }, timeS: dom0TimeS }, ...live.map((r) => this.row(r))];
  }

  /** xl pause. */
  pause(domid: number): void {
    const r = this.liveRunning(domid);
    r.paused = true;
    this.scheduler.pause(domid);
  }

  /** xl unpause. */
  unpause(domid: number): void {
    const r = this.liveRunning(domid);
    if (this.held.has(domid)) throw new UserError(`xl: domain ${domid} (${r.name}) is stopped for its migration`);
    r.paused = false;
    this.scheduler.unpause(domid);
  }

  /** xl destroy: the domain stops at once, whatever its configuration says. */
  destroy(domid: number): void {
    const r = this.record(domid);
    // A domain stopped by the time limit keeps that ending (the CLI names it "still running").
    if (r.state === 'running' && r.end === undefined) r.end = { reason: 'destroyed', exitCode: 1 };
    this.finish(r);
    this.opts.onNotice?.(`${r.name} (d${domid}): destroyed`);
  }

  /**
   * xl save (and the source of xl migrate): the domain's state as a save file
   * (host/snapshot/xen.ts). Between slices only (Toolstack.defer). The domain is left running:
   * `saved` ends it.
   */
  saveBytes(domid: number): Uint8Array {
    return saveXenDomain(this.saveInput(domid));
  }

  /** What a save of domain `domid` reads (a live migration saves it without RAM, host/migrate/domain-source.ts). */
  saveInput(domid: number): XenSaveInput {
    const r = this.liveRunning(domid);
    const d = this.hv.domain(domid);
    if (d === undefined) throw new UserError(`xl: no domain ${domid}`);
    return { hv: this.hv, dom: d, cfg: r.cfg, devices: r.devices as SavedDevice[], disks: this.disks.get(r) ?? [] };
  }

  /** The domain was saved (or has migrated) to `to`: it is destroyed, as xl save does. */
  saved(domid: number, how: 'saved' | 'migrated', to: string): void {
    const r = this.record(domid);
    r.name = r.cfg.name; // (migrated: it lives on under its name, not as NAME--migratedaway)
    r.end = { reason: how, exitCode: 0, to };
    this.finish(r);
    this.opts.onNotice?.(`${r.name} (d${domid}): ${describeEnd(r.end)}: destroyed`);
  }

  /**
   * xl restore (and the target of xl migrate): build the domain of a save file under a new
   * domid, load its state, reconnect its console and disks, schedule it. One-line errors
   * (SnapshotError, exit 2) leave nothing behind.
   */
  async restore(save: XenSaveFile): Promise<DomainRecord> {
    const inc = await this.incoming(save.dom.cfg, save.file);
    return inc.load(save);
  }

  /**
   * The first half of a restore, for the target of a live migration (host/migrate/domain-target.ts):
   * the domain of `cfg` built under a new domid, empty and not scheduled, so that its pages can
   * come in; `load` then loads the state and schedules it (as restore does), `discard` drops it.
   * One-line errors (SnapshotError, exit 2) leave nothing behind.
   */
  async incoming(cfg: DomainCfg, file: string, migration = false): Promise<IncomingDomain> {
    const dev = this.opts.devices;
    if (!dev.resumeDisk || !dev.resumeConsole || (cfg.vifs.length > 0 && !dev.resumeVif)) throw new UserError('xl restore: this toolstack cannot reconnect devices');
    // A migration's domain is named NAME--incoming until the source's COMMIT (incomingName): NAME
    // may still be the source's own while it migrates to this very Dom0 (xl migrate to localhost).
    const inName = migration ? incomingName(cfg.name) : cfg.name;
    const refuseNames = (f: string) => {
      if (migration && this.named(inName)) throw new SnapshotError(f, `a domain named '${inName}' already exists here`);
      if (this.recs.some((r) => r.name === cfg.name && r.state !== 'gone' && !(migration && this.outgoing.has(r.domid)))) throw new SnapshotError(f, `a domain named '${cfg.name}' already exists here`);
    };
    refuseNames(file);
    const kernel = (this.opts.loadKernel ?? ((p) => loadImageFile(p, KERNEL_RAW_BASE)))(cfg.kernel);
    const rec: DomainRecord = {
      cfg, name: inName, domid: 0, state: 'running', paused: false, restarts: 0,
      past: { instructions: 0n, hostMs: 0, slices: 0, blocks: 0 }, devices: [], deviceStats: {}, pastExits: new Map(),
    };
    const out = (bytes: Uint8Array) => this.opts.onConsole?.(rec, Uint8Array.from(bytes));
    // A new domid, as Xen's allocator gives (it moves on rather than reuse the lowest free id).
    let domid = Math.max(0, ...this.recs.map((r) => r.domid), ...this.incomingIds) + 1;
    while (this.hv.hasDomain(domid)) domid++;
    const d = await this.hv.createDomain({
      domid, name: inName, memSize: cfg.memoryMiB * 2 ** 20, kernel, restoring: true, deterministic: this.opts.deterministic,
      jit: this.opts.jit, jitThreshold: this.opts.jitThreshold, jitCodeLimit: this.opts.jitCodeLimit, jitMaxBlocks: this.opts.jitMaxBlocks, jitBackground: this.opts.jitBackground,
      onConsoleOutput: out, onXenConsole: out,
    });
    rec.domid = d.domid;
    this.incomingIds.add(d.domid);
    let loaded = false;
    const discard = () => {
      this.incomingIds.delete(d.domid);
      if (loaded) return;
      loaded = true;
      this.hv.destroyDomain(d.domid);
    };
    const load = (save: XenSaveFile, opts: { ramInPlace?: boolean; paused?: boolean } = {}): DomainRecord => {
      if (loaded) throw new Error('toolstack: an incoming domain loaded twice');
      try {
        refuseNames(save.file);
      } catch (e) {
        discard();
        throw e;
      }
      let disks: BlockBackend[] = [];
      try {
        disks = openSavedDisks(save);
        const saved = loadXenDomain(save, this.hv, d, { ramInPlace: opts.ramInPlace });
        // (its XenStore home is the source's, name included: NAME--incoming here until COMMIT)
        if (migration) this.hv.xs.write(`/local/domain/${d.domid}/name`, inName);
        const con = saved.console ? dev.resumeConsole!(this.hv, d, out, saved.console) : dev.attachConsole(this.hv, d, out);
        rec.devices.push(con);
        rec.consoleInput = (bytes) => con.input(bytes);
        cfg.disks.forEach((disk, i) => {
          rec.devices.push(dev.resumeDisk!(this.hv, d, disk.devid, { backend: disks[i], vdev: disk.vdev, readOnly: disk.readOnly }, saved.disks.get(disk.devid)!));
        });
        cfg.vifs.forEach((vif, i) => {
          rec.devices.push(dev.resumeVif!(this.hv, d, i, { bridge: this.bridge(vif.bridge), ip: vif.ip, bridgeName: vif.bridge }, saved.vifs.get(i)!));
        });
      } catch (e) {
        for (const x of rec.devices.splice(0).reverse()) x.close();
        discard();
        // The backend directories the load wrote for devices never reconnected (closed ones removed theirs).
        const be = '/local/domain/0/backend';
        for (const type of this.hv.xs.tryRead(be) !== undefined ? this.hv.xs.directory(be) : []) {
          if (this.hv.xs.tryRead(`${be}/${type}/${d.domid}`) !== undefined) this.hv.xs.rm(`${be}/${type}/${d.domid}`);
        }
        for (const x of disks) closeDisk(x);
        throw e;
      }
      loaded = true;
      this.incomingIds.delete(d.domid);
      this.disks.set(rec, disks);
      this.recs.push(rec);
      this.scheduler.add(d.domid, isolated(xenSchedVcpu(this.hv, d)), { weight: cfg.weight, cap: cfg.cap });
      if (opts.paused) {
        // (a live migration's target: announced once the source commits, announce() below)
        rec.paused = true;
        this.scheduler.pause(d.domid);
      } else {
        this.announce(rec);
      }
      return rec;
    };
    return { dom: d, load, discard };
  }

  /**
   * Once nothing can fail any more: the restored domain's vifs announce its MACs on their
   * bridges (a refused restore, or a migration the source did not commit, moved no bridge entry).
   * The source of a failed live migration calls it too when it resumes the domain (QEMU's
   * announce_self after a failed migration), so that every bridge points back at it.
   */
  announce(rec: DomainRecord): void {
    for (const x of rec.devices) x.announce?.();
  }

  /**
   * Domains of this Dom0 migrating out (host/migrate/domain-source.ts, from the start to the end):
   * an incoming domain of the same name is let in under NAME--incoming (xl migrate to this Dom0
   * itself, as Xen allows: the source is NAME--migratedaway by the target's rename at COMMIT).
   */
  readonly outgoing = new Set<number>();

  /** Domain ids of incoming domains not loaded yet (no record holds them). */
  private readonly incomingIds = new Set<number>();

  /**
   * An incoming migration that did not complete after `load` (the source did not commit): the
   * domain, which never ran, goes, and so does its record (it was never this Dom0's).
   */
  dropIncoming(rec: DomainRecord): void {
    this.finish(rec);
    this.recs.splice(this.recs.indexOf(rec), 1);
  }

  /**
   * A domain lost in a post-copy migration (host/migrate/domain-*.ts): it can run neither here
   * nor there. It is destroyed; `why` is the migration's line.
   */
  lost(domid: number, why: string): void {
    const r = this.record(domid);
    r.name = r.cfg.name; // (the domain its migration lost, not the NAME--migratedaway copy)
    r.end = { reason: 'lost', exitCode: EXIT_VM_LOST, to: why };
    this.finish(r);
    this.opts.onNotice?.(`${r.name} (d${domid}): ${describeEnd(r.end)}: destroyed`);
  }

  /** Whether a live domain (created, restored or migrated in) is named `name` (XenStore's name: DomainRecord.name). */
  private named(name: string): boolean {
    return this.recs.some((r) => r.name === name && r.state !== 'gone');
  }

  /**
   * Rename live domain `domid` from `from` to `to`, as libxl_domain_rename does: `from` must be
   * its name now (a race otherwise), no other domain may be named `to` (a domain's own name is
   * fine), and the name goes to XenStore's /local/domain/<domid>/name, which `xl list` shows.
   * The source of xl migrate renames NAME to NAME--migratedaway before COMMIT, and back on a
   * failure before it (host/migrate/domain-source.ts). One-line UserError when refused.
   */
  rename(domid: number, from: string, to: string): void {
    const r = this.record(domid);
    if (r.name !== from) throw new UserError(`xl: domain ${domid} is named '${r.name}', not '${from}'`);
    if (to.length === 0 || to.length > MAX_NAME) throw new UserError(`xl: domain name '${to}' is not 1..${MAX_NAME} characters`);
    if (this.recs.some((x) => x !== r && x.name === to && x.state !== 'gone')) throw new UserError(`xl: a domain named '${to}' already exists`);
    const d = this.hv.domain(domid);
    if (d !== undefined) {
      this.hv.xs.write(`/local/domain/${domid}/name`, to);
      d.name = to;
    }
    r.name = to;
  }

  /** Domains stopped for their migration (host/migrate/domain-source.ts): unpause refuses them. */
  private readonly held = new Set<number>();

  /** Keep domain `domid` paused (its migration's stop-and-copy or switch), or let it be unpaused again. */
  hold(domid: number, on: boolean): void {
    if (on) this.held.add(domid);
    else this.held.delete(domid);
    // Its vifs take no frames meanwhile: Dom0's other domains run on during the stop, and a
    // frame netback wrote into its RAM after the last dirty pages were taken would not travel.
    for (const d of this.recs.find((r) => r.domid === domid && r.state !== 'gone')?.devices ?? []) {
      const drv = (d as Partial<AttachedXenbusDevice<Netback>>).driver;
      if (d.kind === 'vif' && drv) drv.held = on;
    }
  }

  /** Call `f` once when domain `domid` goes (destroyed, shut down, saved, migrated); replaces an earlier one. */
  watchEnd(domid: number, f: (() => void) | undefined): void {
    if (f) this.endWatchers.set(domid, f);
    else this.endWatchers.delete(domid);
  }

  /** xl console: where typed bytes for domain `domid` go. */
  console(domid: number): (bytes: Uint8Array) => void {
    const r = this.record(domid);
    return (bytes) => {
      if (r.consoleInput) r.consoleInput(bytes);
      else if (r.state === 'running') this.hv.domain(r.domid)?.vm.consoleInput(bytes);
    };
  }

  /** Run `action` between two slices (console commands arrive while a slice runs). */
  defer(action: () => void | Promise<void>): void {
    this.pending.push(action);
  }

  /** Make `run` return after the current slice. */
  quit(): void {
    this.quitRequested = true;
    for (const r of this.recs) if (r.state === 'running') this.hv.domain(r.domid)?.vm.stop();
  }

  /**
   * Run the scheduler until no domain is left running (or paused), `quit()`, or the time limit.
   * Returns why it stopped. Domains still running at a timeout get end reason 'timeout'.
   */
  async run(limits: { timeoutMs?: number; keepAlive?: () => boolean } = {}): Promise<'done' | 'quit' | 'timeout'> {
    const deadline = limits.timeoutMs !== undefined ? performance.now() + limits.timeoutMs : Infinity;
    for (;;) {
      for (const action of this.pending.splice(0)) await action();
      if (this.quitRequested) return 'quit';
      // keepAlive: Dom0 waits for a domain to come (xl restore, an incoming migration).
      if (!this.recs.some((r) => r.state === 'running') && this.pending.length === 0 && !(limits.keepAlive?.() ?? false)) return 'done';
      if (performance.now() >= deadline) {
        for (const r of this.recs) if (r.state === 'running') r.end = { reason: 'timeout', exitCode: 1 };
        return 'timeout';
      }
      const step = await this.scheduler.step();
      if (step.kind === 'empty') await new Promise((res) => setTimeout(res, 5)); // all paused: wait for the user
      else if (step.kind === 'ran') await this.afterSlice(step.domid, step.slice.result);
    }
  }

  /** A slice ended: act on a shutdown. */
  private async afterSlice(domid: number, result: VmRunResult): Promise<void> {
    if (result.reason !== 'exit' || this.quitRequested) return;
    const rec = this.recs.find((r) => r.domid === domid && r.state === 'running');
    const d = this.hv.domain(domid);
    if (rec === undefined || d === undefined) return;
    const reason = result.failure !== undefined ? 'crash' : d.shutdownReason ?? (result.exitCode === 0 ? 'poweroff' : 'crash');
    rec.end = { reason, exitCode: result.exitCode, ...(result.failure !== undefined ? { failure: result.failure } : {}) };
    let action: LifecycleAction = reason === 'poweroff' ? rec.cfg.onPoweroff : reason === 'reboot' ? rec.cfg.onReboot : rec.cfg.onCrash;
    if (action === 'restart' && rec.restarts >= MAX_RESTARTS) action = 'destroy';
    const what = `${rec.name} (d${domid}): ${describeEnd(rec.end)}`;
    try {
      if (action === 'destroy') {
        this.finish(rec);
        this.opts.onNotice?.(`${what}: destroyed`);
      } else if (action === 'preserve') {
        this.scheduler.remove(domid);
        rec.state = 'preserved';
        this.opts.onNotice?.(`${what}: preserved`);
      } else {
        this.teardown(rec);
        rec.restarts++;
        await this.build(rec);
        this.opts.onNotice?.(`${what}: restarted as d${rec.domid} (restart ${rec.restarts} of at most ${MAX_RESTARTS})`);
      }
    } catch (e) {
      // Tearing it down or building it again failed (its kernel file went away...): this domain
      // ends here, the others go on.
      this.abandon(rec);
      this.opts.onNotice?.(`${what}: ${action} failed: ${failureText(e)}: destroyed`);
    }
  }

  /** Forget a record whose domain could not be torn down or rebuilt cleanly (best effort). */
  private abandon(rec: DomainRecord): void {
    for (const step of [() => this.teardown(rec), () => this.scheduler.has(rec.domid) && this.scheduler.remove(rec.domid)]) {
      try {
        step();
      } catch {
        // the domain is already half gone; what is left of it is unreachable once the record is
      }
    }
    rec.state = 'gone';
    for (const d of this.disks.get(rec) ?? []) closeDisk(d);
    this.disks.delete(rec);
  }

  private liveRunning(domid: number): DomainRecord {
    const r = this.record(domid);
    if (r.state !== 'running') throw new UserError(`xl: domain ${domid} (${r.name}) is shut down`);
    return r;
  }
}

/** The text of an error for a one-line report: a UserError's own line, else "internal error: ...". */
function failureText(e: unknown): string {
  if (e instanceof UserError) return e.message;
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * A domain's vCPU, fenced: whatever its run throws (the VMM, a device model or a backend that
 * runs inside its hypercalls failing) ends that slice as a crash of that domain with the error
 * as the VMM's report, so the toolstack applies on_crash to it alone and Dom0 and the other
 * domains go on (as in Xen, where a domain's crash is the domain's, not the host's).
 */
function isolated(inner: SchedVcpu): SchedVcpu {
  let failure: string | undefined;
  const guard = <T>(f: () => T, otherwise: T): T => {
    if (failure !== undefined) return otherwise;
    try {
      return f();
    } catch (e) {
      failure = failureText(e);
      return otherwise;
    }
  };
  return {
    async runSlice(limits) {
      if (failure === undefined) {
        try {
          return await inner.runSlice(limits);
        } catch (e) {
          failure = failureText(e);
        }
      }
      return { result: { reason: 'exit', exitCode: 1, instructions: 0n, traps: 0n, wallMs: 0, failure }, blocked: false };
    },
    // A failed domain is runnable, so that its next slice reports the failure at once.
    wakeable: () => guard(() => inner.wakeable(), true),
    hasTimer: () => guard(() => inner.hasTimer(), true),
  };
}

/** "poweroff, exit code 0", "crash: <VMM report>", ... */
export function describeEnd(end: DomainEnd): string {
  if (end.reason === 'destroyed') return 'destroyed';
  if (end.reason === 'timeout') return 'still running at the time limit';
  if (end.reason === 'saved') return `saved to ${end.to}`;
  if (end.reason === 'migrated') return `migrated to ${end.to}`;
  if (end.reason === 'lost') return `lost in its migration (${end.to})`;
  if (end.failure !== undefined) return `crash: ${end.failure}`;
  return `${end.reason}, exit code ${end.exitCode}`;
}

/** Whether a record ended as `wasmvisor up` wants: powered off with exit code 0. */
export function succeeded(rec: DomainRecord): boolean {
  // A saved or migrated domain lives on elsewhere: this Dom0 did its part.
  if (rec.end?.reason === 'saved' || rec.end?.reason === 'migrated') return true;
  return rec.end?.reason === 'poweroff' && rec.end.exitCode === 0;
}

/** Open one disk of a configuration. */
function openDisk(d: DiskCfg): BlockBackend {
  if ('memoryBytes' in d.target) return new MemoryBackend(d.target.memoryBytes, { readOnly: d.readOnly });
  return FileBackend.open(d.target.path, { readOnly: d.readOnly });
}

/** Close a disk that has a file behind it. */
function closeDisk(d: BlockBackend): void {
  if (d instanceof FileBackend) d.close();
}
