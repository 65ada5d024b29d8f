/**
 * Save and restore of one Xen DomU (`xl save`, `xl restore`, `xl migrate`; docs/snapshot.md,
 * "Xen domains"). A save file is a snapshot file (format.ts) with the sections of the DomU's VM
 * (snapshot.ts: CONF, HART, CLCK, VMM, DEVC, RAM) and these:
 *
 *   XDOM          JSON: the domain's xl.cfg (parsed), its old domid, XenStore and console ports,
 *                 event-channel table size, grant frames, set_timer_op deadline, SCHEDOP_poll
 *   XEVT          JSON: the event-channel ports in use (state, remote domain and port, vCPU)
 *   XGNT          JSON: grant-table frames in use (the entries are in RAM)
 *   XSTO          JSON: the XenStore nodes of the domain (its home, and Dom0's backend
 *                 directories of its devices), its xenstored connection (queued replies and
 *                 events, a partial request, our ring indices) and its watches
 *   XBKD console  JSON: the console backend's out_cons, in_prod and pending typed input
 *   XBKD vbdN     JSON: blkback of vbd N: connected?, our ring indices, persistent grants
 *   XBKD vifN     JSON: netback of vif N (xen-net.ts, which says what happens to frames in flight)
 *   XDSK vbdN     the disk: a file (path and size: shared storage, as QEMU's and Xen's
 *                 migration assume) or a memory disk's contents (sparse 4 KiB blocks)
 *
 * What the guest sees: nothing. Xen's own save asks a PV guest to suspend (SHUTDOWN_suspend)
 * and its frontends reconnect after the restore; our guests do not implement that, so the
 * restore is transparent instead: the domain keeps every port number, grant reference and ring
 * it had, and Dom0 puts its side back under the new domid:
 *   - the shared-info page (pending and mask bits, vcpu_info), the grant-table frames, the
 *     XenStore and console pages and every frontend ring are guest RAM, restored with it;
 *   - ports that were bound to Dom0 come back unbound for Dom0 and Dom0's side binds them
 *     again: xenstored (adoptXenStore) and each backend (new host ports; the guest never
 *     learns Dom0's port numbers);
 *   - backends' mappings are not carried over: each backend maps its ring grants again from
 *     the frontend's XenStore keys (and blkback its persistent grants), so pins and the
 *     GTF_reading/GTF_writing bits in the entries are as they were. Backends serve requests
 *     inside the frontend's notification, so at a save every request is answered; their own
 *     private ring indices are saved and restored, never renegotiated;
 *   - XenStore paths and permissions naming the old domid are renamed to the new one (the
 *     domain's home, /local/domain/0/backend/TYPE/OLD/..., frontend-id, domid).
 * A domain with an open XenStore transaction, or an event channel to another DomU, is refused at
 * the save, in one line.
 *
 * Live migration (host/migrate/domain-source.ts) sends the same sections without RAM (its pages
 * go in rounds) and with one more:
 *   XPGS          the hypervisor frames (console and XenStore pages, grant frames, shared-info)
 *                 as they are when the Xen state is saved: Dom0 writes them by itself (a timer's
 *                 event, a XenStore watch event, typed input) while the domain is stopped, after
 *                 the last dirty pages were taken, so they travel with the state they belong to.
 */
import { MemoryBackend, type BlockBackend } from '../devices/virtio/backend';
import { FileBackend } from '../devices/virtio/file-backend';
import { UserError } from '../errors';
import type { Vm } from '../vmm/vm';
import type { XenDomain } from '../xen/domain';
import { ECS_INTERDOMAIN, ECS_UNBOUND, type PortSnapshot } from '../xen/event-channel';
import type { XenHypervisor } from '../xen/hypervisor';
import type { DiskResumeState, VifResumeState } from '../xen/devices';
import type { ConsoleSnapshot } from '../xen/backends/console';
import type { BlkbackSnapshot } from '../xen/backends/blkback';
import type { DomainCfg } from '../xen/toolstack/cfg';
import type { ConnectionSnapshot } from '../xen/xenstore/connection';
import type { WatchSnapshot } from '../xen/xenstore/watches';
import { decodeSnapshot, encodeSnapshot, sectionKey, SectionReader, SectionWriter, SnapshotError, type Section } from './format';
import { restoreSections, snapshotSections } from './snapshot';
import { readVifStates, vifResumeState } from './xen-net';

/** Version of every X* section (bumped when one changes meaning). */
export const XEN_SECTION_VERSION = 1;

const PAGE = 4096;

/** The XDOM section. */
export interface XenDomState {
  cfg: DomainCfg;
  domid: number;
  xenstoreEvtchn: number;
  consoleEvtchn: number;
  maxPorts: number;
  grantFrames: number;
  memSize: number;
  /** set_timer_op deadline in guest ticks, or null. */
  timerDeadline: string | null;
  /** SCHEDOP_poll in progress: its port (-1: several) and deadline in guest ticks. */
  poll: { port: number; deadline: string | null } | null;
}

/** The XSTO section. */
interface XenStoreState {
  nodes: { path: string; value: string; perms: string[] }[];
  conn: ConnectionSnapshot;
  watches: WatchSnapshot[];
}

/** A device of the domain as the save sees it (the toolstack's attached devices). */
export interface SavedDevice {
  kind: 'vbd' | 'vif' | 'console';
  devid: number;
  /** ConsoleSnapshot, or { xenbus, driver: BlkbackSnapshot / NetbackSnapshot } for a vbd / vif. */
  snapshot?: () => unknown;
}

/** What saveXenDomain needs. */
export interface XenSaveInput {
  hv: XenHypervisor;
  dom: XenDomain;
  cfg: DomainCfg;
  devices: readonly SavedDevice[];
  /** The disks of cfg.disks, in order. */
  disks: readonly BlockBackend[];
  /** Live migration: no RAM section; the hypervisor frames in XPGS instead. */
  withoutRam?: boolean;
}

/** Why `x` cannot be saved, or undefined. */
export function whyNotSaveableDomain(x: XenSaveInput): string | undefined {
  const { hv, dom } = x;
  if (dom.shutdownReason !== undefined) return `it has shut down (${dom.shutdownReason})`;
  const xs = hv.xenstore.domainState(dom.domid);
  if (!xs) return 'it has no XenStore connection';
  if (xs.transactions > 0) return `it has ${xs.transactions} XenStore transaction(s) open; try again`;
  for (const p of hv.evtchn.domainPorts(dom.domid) ?? []) {
    if ((p.state === ECS_UNBOUND || p.state === ECS_INTERDOMAIN) && p.remoteDom !== 0 && p.remoteDom !== dom.domid) {
      return `its event channel ${p.port} is bound to domain ${p.remoteDom} (only channels to Dom0 can be saved)`;
    }
  }
  return undefined;
}

/** The XenStore subtree of `domid`: its home and Dom0's backend directories for it, parents first. */
function xenStoreNodes(hv: XenHypervisor, domid: number): XenStoreState['nodes'] {
  const out: XenStoreState['nodes'] = [];
  const walk = (path: string) => {
    out.push({ path, value: hv.xs.read(path), perms: hv.xs.getPerms(path) });
    for (const c of hv.xs.directory(path)) walk(`${path}/${c}`);
  };
  walk(`/local/domain/${domid}`);
  const be = '/local/domain/0/backend';
  if (hv.xs.tryRead(be) !== undefined) {
    for (const type of hv.xs.directory(be)) {
      const dir = `${be}/${type}/${domid}`;
      if (hv.xs.tryRead(dir) !== undefined) walk(dir);
    }
  }
  return out;
}

/**
 * Save domain `x.dom` (not running: between slices) as a save file. Throws a one-line UserError
 * when it cannot be saved. The domain is left as it was (the caller destroys it, as xl save does).
 */
export function saveXenDomain(x: XenSaveInput): Uint8Array {
  const { hv, dom, cfg } = x;
  const why = whyNotSaveableDomain(x);
  if (why) throw new UserError(`wasmvisor: cannot save ${cfg.name} (d${dom.domid}): ${why}`);
  const snap = dom.snapshot();
  const sections: Section[] = snapshotSections(dom.vm, { xen: {}, withoutRam: x.withoutRam });
  const add = (tag: string, name: string, fill: (w: SectionWriter) => void) => {
    const w = new SectionWriter();
    fill(w);
    sections.push({ tag, name, version: XEN_SECTION_VERSION, payload: w.result() });
  };
  const state: XenDomState = {
    cfg, domid: dom.domid, xenstoreEvtchn: dom.xenstoreEvtchn, consoleEvtchn: dom.consoleEvtchn, maxPorts: dom.maxPorts,
    grantFrames: dom.layout.grantGfns.length, memSize: cfg.memoryMiB * 2 ** 20, timerDeadline: snap.timerDeadline, poll: snap.poll,
  };
  add('XDOM', '', (w) => w.json(state));
  add('XEVT', '', (w) => w.json(hv.evtchn.domainPorts(dom.domid)));
  add('XGNT', '', (w) => w.json({ nrFrames: hv.grants.tableFrames(dom.domid) }));
  const xs = hv.xenstore.domainState(dom.domid)!;
  add('XSTO', '', (w) => w.json({ nodes: xenStoreNodes(hv, dom.domid), conn: xs.conn, watches: xs.watches } satisfies XenStoreState));
  for (const d of x.devices) {
    if (d.kind === 'console') {
      const c = d.snapshot!() as ConsoleSnapshot;
      add('XBKD', 'console', (w) => w.json({ outCons: c.outCons, inProd: c.inProd, pendingInput: c.pendingInput }));
    } else if (d.kind === 'vbd') {
      const s = d.snapshot!() as { xenbus: { connected: boolean }; driver: BlkbackSnapshot };
      const resume: DiskResumeState = {
        connected: s.xenbus.connected && s.driver.channel.stopped === null, ring: s.driver.ring,
        persistent: s.driver.persistent, persistentRefs: s.driver.persistentGrants.map((g) => g.ref),
      };
      add('XBKD', `vbd${d.devid}`, (w) => w.json(resume));
    } else if (d.kind === 'vif') {
      add('XBKD', `vif${d.devid}`, (w) => w.json(vifResumeState(d.snapshot!())));
    }
  }
  cfg.disks.forEach((disk, i) => add('XDSK', `vbd${disk.devid}`, (w) => saveDisk(w, x.disks[i])));
  if (x.withoutRam) {
    // XPGS: u32 n, n x (u64 gfn, 4096 bytes).
    add('XPGS', '', (w) => {
      const gfns = hypervisorGfns(dom);
      w.u32(gfns.length);
      for (const g of gfns) {
        w.u64(g);
        w.bytes(dom.vm.readGuest(g << 12n, PAGE) ?? new Uint8Array(PAGE));
      }
    });
  }
  return encodeSnapshot(sections);
}

/** The domain's hypervisor frames (layout.ts): console, XenStore, grant frames, shared-info. */
export function hypervisorGfns(dom: XenDomain): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < dom.layout.frames; i++) out.push(dom.layout.firstGfn + BigInt(i));
  return out;
}

/** XDSK: u8 kind (0: a file, 1: memory), u64 size; a file: its path (blob); memory: u32 blocks, each u32 index + 4096 bytes (non-zero blocks only). */
function saveDisk(w: SectionWriter, disk: BlockBackend): void {
  if (disk instanceof FileBackend) {
    w.u8(0);
    w.u64(BigInt(disk.size));
    w.blob(new TextEncoder().encode(disk.path));
    return;
  }
  w.u8(1);
  w.u64(BigInt(disk.size));
  const blocks: { index: number; data: Uint8Array }[] = [];
  for (let at = 0; at < disk.size; at += PAGE) {
    const b = new Uint8Array(Math.min(PAGE, disk.size - at));
    disk.read(at, b);
    if (b.some((v) => v !== 0)) blocks.push({ index: at / PAGE, data: b });
  }
  w.u32(blocks.length);
  for (const b of blocks) {
    w.u32(b.index);
    const full = new Uint8Array(PAGE);
    full.set(b.data);
    w.bytes(full);
  }
}

/** A save file, checked and split: what the toolstack needs before it builds the domain. */
export interface XenSaveFile {
  file: string;
  sections: Map<string, Section>;
  dom: XenDomState;
}

/** Read and check a save file's container and XDOM section (SnapshotError, exit 2, when bad). */
export function readXenSave(file: string, bytes: Uint8Array): XenSaveFile {
  const sections = decodeSnapshot(file, bytes);
  const xdom = sections.get('XDOM');
  if (!xdom) throw new SnapshotError(file, 'not a Xen domain\'s save file (no XDOM section: a snapshot of a machine or VM is restored with wasmvisor run --restore)');
  for (const s of sections.values()) {
    if (s.tag.startsWith('X') && s.version !== XEN_SECTION_VERSION) throw new SnapshotError(file, `section ${sectionKey(s.tag, s.name)} version ${s.version}, this wasmvisor reads ${XEN_SECTION_VERSION}`);
  }
  const dom = reader(file, xdom).json<XenDomState>();
  if (typeof dom !== 'object' || dom === null || typeof dom.cfg?.name !== 'string' || !Number.isInteger(dom.domid) || !Array.isArray(dom.cfg.disks)) {
    throw new SnapshotError(file, 'section XDOM holds malformed data (corrupt snapshot)');
  }
  return { file, sections, dom };
}

function reader(file: string, s: Section): SectionReader {
  return new SectionReader(file, sectionKey(s.tag, s.name), s.payload);
}

function need(save: XenSaveFile, tag: string, name = ''): Section {
  const s = save.sections.get(sectionKey(tag, name));
  if (!s) throw new SnapshotError(save.file, `section ${sectionKey(tag, name)} is missing`);
  return s;
}

/**
 * The disks of a save, opened: a file disk must exist and have its saved size (shared
 * storage); a memory disk is rebuilt from its contents. Throws SnapshotError/UserError.
 */
export function openSavedDisks(save: XenSaveFile): BlockBackend[] {
  const opened: BlockBackend[] = [];
  try {
    for (const d of save.dom.cfg.disks) {
      const r = reader(save.file, need(save, 'XDSK', `vbd${d.devid}`));
      const kind = r.u8();
      const size = Number(r.u64());
      if (kind === 0) {
        const path = new TextDecoder().decode(r.blob());
        r.end();
        const f = FileBackend.open(path, { readOnly: d.readOnly });
        opened.push(f);
        if (f.size !== size) throw new SnapshotError(save.file, `disk ${d.vdev} (${path}) has ${f.size} bytes, the saved domain had ${size}`);
      } else if (kind === 1) {
        if (!Number.isSafeInteger(size) || size <= 0 || size > 2 ** 32) throw new SnapshotError(save.file, `disk ${d.vdev}: size ${size} (corrupt snapshot)`);
        const contents = new Uint8Array(size);
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const index = r.u32();
          const data = r.bytes(PAGE);
          if (index * PAGE >= size) throw new SnapshotError(save.file, `disk ${d.vdev}: block ${index} past its end (corrupt snapshot)`);
          contents.set(data.subarray(0, Math.min(PAGE, size - index * PAGE)), index * PAGE);
        }
        r.end();
        opened.push(new MemoryBackend(contents, { readOnly: d.readOnly }));
      } else {
        throw new SnapshotError(save.file, `disk ${d.vdev} has kind ${kind} (corrupt snapshot)`);
      }
    }
  } catch (e) {
    for (const d of opened) if (d instanceof FileBackend) d.close();
    throw e;
  }
  return opened;
}

/** Rename the old domid to the new one in a XenStore path or value. */
function renamer(from: number, to: number): { path(p: string): string; perm(p: string): string } {
  const home = new RegExp(`^/local/domain/${from}(?=/|$)`);
  const backend = new RegExp(`^(/local/domain/0/backend/[^/]+/)${from}(?=/|$)`);
  return {
    path: (p) => p.replace(home, `/local/domain/${to}`).replace(backend, `$1${to}`),
    perm: (p) => (p.slice(1) === String(from) ? `${p[0]}${to}` : p),
  };
}

/** What loadXenDomain gives back for the devices (the toolstack attaches them). */
export interface RestoredBackends {
  console: ConsoleSnapshot | undefined;
  disks: Map<number, DiskResumeState>;
  vifs: Map<number, VifResumeState>;
}

/**
 * Load a save into `d`, a domain the toolstack just built for it (createDomain with
 * `restoring`, same xl.cfg): the VM (RAM, hart, VMCS, clock, devices), then the Xen state under
 * d's domid. Everything is checked before anything changes; throws SnapshotError (one line).
 */
export function loadXenDomain(save: XenSaveFile, hv: XenHypervisor, d: XenDomain, opts: { ramInPlace?: boolean } = {}): RestoredBackends {
  const { file, dom } = save;
  const bad = (what: string) => new SnapshotError(file, what);
  const r = (tag: string, name = '') => reader(file, need(save, tag, name));
  const ports = r('XEVT').json<PortSnapshot[]>();
  const gnt = r('XGNT').json<{ nrFrames: number }>();
  const xs = r('XSTO').json<XenStoreState>();
  const consoleSaved = save.sections.has('XBKD:console') ? r('XBKD', 'console').json<{ outCons: number; inProd: number; pendingInput: number[] }>() : undefined;
  const disks = new Map<number, DiskResumeState>();
  for (const disk of dom.cfg.disks) disks.set(disk.devid, r('XBKD', `vbd${disk.devid}`).json<DiskResumeState>());
  const vifs = readVifStates(file, dom.cfg, (name) => r('XBKD', name).json<unknown>());
  if (!Array.isArray(ports) || !Array.isArray(xs?.nodes) || !Array.isArray(xs.watches) || typeof xs.conn !== 'object') throw bad('Xen sections hold malformed data (corrupt snapshot)');
  const from = dom.domid;
  const to = d.domid;
  const ren = renamer(from, to);
  const renamed = ports.map((p) => ({ ...p, remoteDom: p.remoteDom === from ? to : p.remoteDom }));
  const checks = () => {
    if (dom.maxPorts !== d.maxPorts) throw bad(`${dom.maxPorts} event-channel ports in the save, ${d.maxPorts} here`);
    if (dom.xenstoreEvtchn !== d.xenstoreEvtchn || dom.consoleEvtchn !== d.consoleEvtchn) throw bad(`XenStore and console ports ${dom.xenstoreEvtchn} and ${dom.consoleEvtchn} in the save, ${d.xenstoreEvtchn} and ${d.consoleEvtchn} here`);
    if (dom.grantFrames !== d.layout.grantGfns.length) throw bad(`${dom.grantFrames} grant frames in the save, ${d.layout.grantGfns.length} here`);
    if (!Number.isInteger(gnt.nrFrames) || gnt.nrFrames < 0 || gnt.nrFrames > dom.grantFrames) throw bad(`${gnt.nrFrames} grant-table frames in use (corrupt snapshot)`);
    for (const n of xs.nodes) if (typeof n.path !== 'string' || !ren.path(n.path).startsWith('/local/domain/')) throw bad(`XenStore node '${n.path}' is outside the domain's directories (corrupt snapshot)`);
    for (const p of pages) if (!d.isHypervisorFrame(p.gfn)) throw bad(`XPGS names frame 0x${p.gfn.toString(16)}, not a hypervisor frame (corrupt snapshot)`);
  };
  // Live migration: RAM came as pages; the hypervisor frames as they were at the stop.
  const pages: { gfn: bigint; data: Uint8Array }[] = [];
  if (opts.ramInPlace) {
    const x = r('XPGS');
    for (let i = 0, n = x.u32(); i < n; i++) pages.push({ gfn: x.u64(), data: x.bytes(PAGE) });
    x.end();
  }
  restoreSections(d.vm, save.sections, file, { xen: {}, check: checks, ramInPlace: opts.ramInPlace });
  for (const p of pages) d.vm.writeGuest(p.gfn << 12n, p.data);
  const err = hv.evtchn.loadDomainPorts(to, renamed);
  if (err) throw bad(`event channels: ${err}`);
  const gerr = hv.grants.restoreTableFrames(to, gnt.nrFrames);
  if (gerr) throw bad(`grant table: ${gerr}`);
  // XenStore: the nodes first (Dom0's writes fire no watch of the domain: it has none yet).
  hv.xs.transaction((tx) => {
    for (const n of xs.nodes) {
      const path = ren.path(n.path);
      let value = n.value;
      const base = path.slice(path.lastIndexOf('/') + 1);
      if (value.startsWith('/local/domain/')) value = ren.path(value);
      else if ((base === 'frontend-id' || base === 'domid') && value === String(from)) value = String(to);
      hv.xs.write(path, Uint8Array.from(value, (c) => c.charCodeAt(0) & 0xff), tx); // read as Latin-1: byte for byte
      hv.xs.setPerms(path, n.perms.map(ren.perm), tx);
    }
  });
  hv.adoptXenStore(d, { conn: xs.conn, watches: xs.watches.map((w) => ({ ...w, path: w.path.startsWith('/') ? ren.path(w.path) : w.path })) });
  // The one-shot timer and a SCHEDOP_poll, on the restored clock.
  if (dom.timerDeadline !== null) d.setTimer(BigInt(dom.timerDeadline) * 100n, true);
  rearmPoll(d.vm, d, dom.poll);
  return { console: consoleSaved ? { ...consoleSaved, channel: { ringHandles: [], port: 0, stopped: null, stats: { kicks: 0, runs: 0, notifications: 0 } }, stats: { kicks: 0, runs: 0, notifications: 0, outBytes: 0, inBytes: 0, inputDropped: 0 } } : undefined, disks, vifs };
}

/** A vCPU saved inside SCHEDOP_poll waits again for what ends the poll (XenDomain.beginPoll). */
function rearmPoll(vm: Vm, d: XenDomain, poll: XenDomState['poll']): void {
  if (poll === null) return;
  const suspended = vm.vmmState(true).suspended;
  if (suspended === null) return;
  const wake = d.beginPoll(poll.port, poll.deadline === null ? 0n : BigInt(poll.deadline) * 100n);
  vm.vcpu.loadSuspendState(suspended, wake);
}
