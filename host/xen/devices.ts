/**
 * Plugging Dom0 backends into a DomU, as xl (libxl's device_add) and Dom0's backend drivers do
 * it together:
 *
 * ```
 *  toolstack (this file)                    backend driver (Blkback / Netback)   DomU frontend
 *  XsToolstack.addDevice: both directories,
 *    cross-linked, state Initialising,
 *    plus libxl's keys (below)
 *  new XenbusBackend(...).start()  ------>  features, InitWait  --------------->  reads them,
 *                                                                                 grants ring(s),
 *                                                                                 ring-ref..., Initialised
 *                                           map ring, bind port, Connected <----
 *  close(): Closing, unmap, Closed, rm both directories
 * ```
 * Keys written besides addDevice's (docs/misc/xenstore-paths.pandoc, libxl_disk.c/libxl_nic.c):
 *   vbd  frontend: virtual-device, device-type            backend: dev, type, params, mode,
 *                                                          device-type, removable, bootable
 *   vif  frontend: handle, mac                            backend: handle, mac, type, script,
 *                                                          bridge, ip (when given)
 * The primary PV console is not a xenbus device: xl writes /local/domain/N/console (createDomain
 * did) and xenconsoled maps the reserved console page and binds the console port directly
 * (ConsoleBackend.connectPage).
 *
 * Backends run in immediate mode (a notification runs them inside the DomU's EVTCHNOP_send)
 * unless `opts.schedule` hands them to a scheduler (the VMM's "after this exit" queue).
 * docs/xen/frontends.md describes the frontends that talk to these devices.
 */
import { UserError } from '../errors';
import type { BlockBackend } from '../devices/virtio/backend';
import { Blkback, type BlkbackSnapshot } from './backends/blkback';
import { formatMac, parseMac, macAt, type Bridge } from './backends/bridge';
import { ConsoleBackend, type ConsoleSnapshot } from './backends/console';
import { Netback, type NetbackSnapshot } from './backends/netback';
import { XenbusBackend, type XenbusBackendSnapshot, type XenbusDriver } from './backends/xenbus-backend';
import type { XenDomain } from './domain';
import type { XenHypervisor } from './hypervisor';
import type { DevicePaths } from './xenstore/toolstack';

/** A disk as xl.cfg's `disk=[...]` describes it. */
export interface DiskSpec {
  /** The storage (MemoryBackend, FileBackend). */
  backend: BlockBackend;
  /** The guest's name for it: xvda, xvdb, ... (written as the backend's `dev`). */
  vdev: string;
  /** Attach read-only (xl's `r` access). A backend that is itself read-only is read-only either way. */
  readOnly: boolean;
}

/** A network interface as xl.cfg's `vif=[...]` describes it. */
export interface VifSpec {
  /** The switch the vif is plugged into. */
  bridge: Bridge;
  /** "00:16:3e:xx:xx:xx"; default 00:16:3e:00:<domid>:<devid> (xl picks a random one). */
  mac?: string;
  /** The guest's IPv4 address (xl's `ip=`), written as the backend's `ip` key. */
  ip?: string;
  /** The bridge's name for the `bridge` key (default "xenbr0"). */
  bridgeName?: string;
}

/** A device attached to a domain. */
export interface AttachedDevice {
  readonly kind: 'vbd' | 'vif' | 'console';
  readonly devid: number;
  /** Detach: the backend goes Closing, unmaps and unbinds, goes Closed; the directories are removed. Idempotent. */
  close(): void;
  /** The backend's counters (requests, bytes, kicks, notifications, ...). */
  stats(): Record<string, number>;
}

/** A vbd or vif: the handshake and the driver behind it. */
export interface AttachedXenbusDevice<D extends XenbusDriver & { snapshot(): unknown }> extends AttachedDevice {
  readonly paths: DevicePaths;
  readonly xenbus: XenbusBackend;
  readonly driver: D;
  /** Plain-data state: the handshake and the driver (BlkbackSnapshot / NetbackSnapshot). */
  snapshot(): { xenbus: XenbusBackendSnapshot; driver: ReturnType<D['snapshot']> };
}

/** The primary console: typed input goes to the guest's `in` ring. */
export interface AttachedConsole extends AttachedDevice {
  readonly backend: ConsoleBackend;
  /** Type `bytes` into the guest's console (bounded pending buffer; see ConsoleBackend). */
  input(bytes: Uint8Array): void;
  /** Plain-data state of the console backend. */
  snapshot(): ConsoleSnapshot;
}

/** Policy shared by the attach functions. */
export interface AttachOptions {
  /** Defer backend work to a scheduler (BackendContext.schedule); default: run at once. */
  schedule?: (run: () => void) => void;
  /** blkback's transport offers (default: indirect segments and multi-page rings on; bench/xen.ts turns them off to time the old path). */
  blkback?: { maxIndirectSegments?: number; maxRingPageOrder?: number };
}

/** Dom0 is every backend's domain here. */
const BACKEND_DOMID = 0;

/**
 * The Linux/xl device number of a Xen virtual disk name (docs/misc/vbd-interface.txt):
 * xvdX and xvdXY -> 202 << 8 | disk << 4 (51712 for xvda), up to xvdp; beyond, the extended
 * form 1 << 28 | disk << 8. Undefined for anything else (hdX/sdX are not offered).
 */
export function vdevToDevid(vdev: string): number | undefined {
  const m = /^xvd([a-z]{1,2})$/.exec(vdev);
  if (!m) return undefined;
  const s = m[1];
  const disk = s.length === 1 ? s.charCodeAt(0) - 97 : (s.charCodeAt(0) - 96) * 26 + (s.charCodeAt(1) - 97);
  return disk < 16 ? (202 << 8) | (disk << 4) : (1 << 28) | (disk << 8);
}

/** A read-only view of a writable disk (xl's `r` access on a writable image). */
function readOnlyView(disk: BlockBackend): BlockBackend {
  return {
    get size() {
      return disk.size;
    },
    readOnly: true,
    read: (offset, dst) => disk.read(offset, dst),
    write: () => {
      throw new Error('disk attached read-only');
    },
    flush: () => disk.flush(),
  };
}

/** Numeric fields of a stats object. */
function numbers(o: object): Record<string, number> {
  const r: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number') r[k] = v;
  return r;
}

function checkDevid(dom: XenDomain, kind: string, devid: number): void {
  if (!Number.isInteger(devid) || devid < 0 || devid > 0x7fffffff) {
    throw new UserError(`${dom.name}: ${kind} device id ${devid} is not an integer 0..2^31-1`);
  }
}

/** addDevice + XenbusBackend.start, undone if the start fails. */
function plug<D extends XenbusDriver & { snapshot(): unknown }>(
  hv: XenHypervisor, dom: XenDomain, type: 'vbd' | 'vif', devid: number, driver: D,
  keys: { frontend: Record<string, string>; backend: Record<string, string> }, onClose: () => void,
): AttachedXenbusDevice<D> {
  const p = hv.xs.devicePaths(type, devid, dom.domid, BACKEND_DOMID);
  if (hv.xs.tryRead(`${p.frontend}/state`) !== undefined || hv.xs.tryRead(`${p.backend}/state`) !== undefined) {
    throw new UserError(`${dom.name}: ${type} ${devid} is already attached`);
  }
  const paths = hv.xs.addDevice({ type, devid, frontendDomid: dom.domid, backendDomid: BACKEND_DOMID, ...keys });
  const xenbus = new XenbusBackend(hv.xs, paths, driver);
  try {
    xenbus.start();
  } catch (e) {
    hv.xs.removeDevice(paths);
    onClose();
    throw e;
  }
  let closed = false;
  return {
    kind: type, devid, paths, xenbus, driver,
    close() {
      if (closed) return;
      closed = true;
      xenbus.close();
      onClose();
      hv.xs.removeDevice(paths);
    },
    stats: () => numbers((driver as unknown as { stats: object }).stats),
    snapshot: () => ({ xenbus: xenbus.snapshot(), driver: driver.snapshot() as ReturnType<D['snapshot']> }),
  };
}

/**
 * Attach a disk to `dom` as vbd `devid` (use vdevToDevid(spec.vdev) for xl's numbering), served
 * by a Blkback over `spec.backend`. The frontend connects when the guest runs its blkfront.
 */
export function attachDisk(hv: XenHypervisor, dom: XenDomain, devid: number, spec: DiskSpec, opts: AttachOptions = {}): AttachedXenbusDevice<Blkback> {
  checkDevid(dom, 'vbd', devid);
  if (!/^[a-z][a-z0-9]{0,15}$/.test(spec.vdev)) throw new UserError(`${dom.name}: disk name "${spec.vdev}" is not a device name like xvda`);
  const readOnly = spec.readOnly || spec.backend.readOnly;
  const disk = readOnly && !spec.backend.readOnly ? readOnlyView(spec.backend) : spec.backend;
  const blk = new Blkback({ grants: hv.grants, events: hv.evtchn, frontendDomid: dom.domid, disk, schedule: opts.schedule, ...opts.blkback });
  return plug(hv, dom, 'vbd', devid, blk, {
    frontend: { 'virtual-device': String(devid), 'device-type': 'disk' },
    backend: {
      'dev': spec.vdev, 'type': 'phy', 'params': spec.vdev, 'mode': readOnly ? 'r' : 'w',
      'device-type': 'disk', 'removable': '0', 'bootable': '1',
    },
  }, () => {});
}

/**
 * Attach a vif to `dom` as vif `devid`, plugged into `spec.bridge`. Anti-spoofing is on: the
 * guest must send from its MAC (the `mac` key, which the frontend reads).
 */
export function attachVif(hv: XenHypervisor, dom: XenDomain, devid: number, spec: VifSpec, opts: AttachOptions = {}): AttachedXenbusDevice<Netback> & { announce(): void } {
  checkDevid(dom, 'vif', devid);
  let mac: string;
  if (spec.mac !== undefined) {
    const b = parseMac(spec.mac);
    if (!b || (b[0] & 1) !== 0) throw new UserError(`${dom.name}: vif ${devid} MAC "${spec.mac}" is not a unicast aa:bb:cc:dd:ee:ff`);
    mac = formatMac(macAt(b, 0));
  } else {
    const h = (n: number) => (n & 0xff).toString(16).padStart(2, '0');
    mac = `00:16:3e:${h(dom.domid >> 8)}:${h(dom.domid)}:${h(devid)}`;
  }
  if (spec.ip !== undefined && !/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(spec.ip)) {
    throw new UserError(`${dom.name}: vif ${devid} ip "${spec.ip}" is not a dotted IPv4 address`);
  }
  const net = new Netback({ grants: hv.grants, events: hv.evtchn, frontendDomid: dom.domid, bridge: spec.bridge, mac, schedule: opts.schedule });
  const backend: Record<string, string> = {
    'handle': String(devid), 'mac': mac, 'type': 'vif', 'script': 'vif-bridge', 'bridge': spec.bridgeName ?? 'xenbr0',
  };
  if (spec.ip !== undefined) backend.ip = spec.ip;
  // announce(): the source of a failed live migration resumes the domain (host/migrate/domain-source.ts).
  return { ...plug(hv, dom, 'vif', devid, net, { frontend: { 'handle': String(devid), 'mac': mac }, backend }, () => net.detach()), announce: () => net.announce() };
}

/**
 * Serve `dom`'s primary PV console (the reserved console page and the console event channel
 * createDomain allocated for Dom0): the guest's output goes to `sink`, input() types into it.
 * Throws UserError if the console is already attached.
 */
export function attachConsole(hv: XenHypervisor, dom: XenDomain, sink: (bytes: Uint8Array) => void, opts: AttachOptions = {}): AttachedConsole {
  const backend = new ConsoleBackend({ grants: hv.grants, events: hv.evtchn, frontendDomid: dom.domid, sink, schedule: opts.schedule });
  const err = backend.connectPage(dom.hypervisorPage(dom.layout.consoleGfn), dom.consoleEvtchn);
  if (err !== null) throw new UserError(`${dom.name}: cannot attach the console: ${err}`);
  return attachedConsole(backend);
}

/** A connected console backend as an attached device (attachConsole, resumeConsole). */
function attachedConsole(backend: ConsoleBackend): AttachedConsole {
  return {
    kind: 'console', devid: 0, backend,
    input: (bytes) => void backend.input(bytes),
    close: () => backend.disconnect(),
    stats: () => numbers(backend.stats),
    snapshot: () => backend.snapshot(),
  };
}

/**
 * What xl save keeps of a vbd's backend (host/snapshot/xen.ts): whether it was connected, and
 * the driver's private state. The ring refs and event channel are the frontend's XenStore keys.
 */
export interface DiskResumeState {
  connected: boolean;
  ring: BlkbackSnapshot['ring'];
  persistent: boolean;
  persistentRefs: number[];
}

/**
 * xl restore: the vbd `devid` of a restored domain, whose XenStore directories came back with
 * it. A backend that was connected reconnects as it was (Blkback.resume: same ring, its own
 * ring indices, persistent grants mapped again) with nothing written to XenStore and no event
 * sent; one that was not (still in the handshake) starts its side of the handshake again
 * (features, InitWait), which the frontend, still waiting, follows.
 */
export function resumeDisk(hv: XenHypervisor, dom: XenDomain, devid: number, spec: DiskSpec, saved: DiskResumeState, opts: AttachOptions = {}): AttachedXenbusDevice<Blkback> {
  const readOnly = spec.readOnly || spec.backend.readOnly;
  const disk = readOnly && !spec.backend.readOnly ? readOnlyView(spec.backend) : spec.backend;
  const blk = new Blkback({ grants: hv.grants, events: hv.evtchn, frontendDomid: dom.domid, disk, schedule: opts.schedule, ...opts.blkback });
  const paths = hv.xs.devicePaths('vbd', devid, dom.domid, BACKEND_DOMID);
  const xenbus = new XenbusBackend(hv.xs, paths, blk);
  const fail = (why: string) => new UserError(`${dom.name}: vbd ${devid}: cannot reconnect after the restore: ${why}`);
  if (saved.connected && saved.ring) {
    const keys = blk.frontendRings((key) => hv.xs.tryRead(`${paths.frontend}/${key}`));
    if (typeof keys === 'string') throw fail(keys);
    const err = blk.resume(keys.refs, keys.port, { ring: saved.ring, persistent: saved.persistent, persistentRefs: saved.persistentRefs });
    if (err !== null) throw fail(err);
    xenbus.resumeConnected();
  } else {
    xenbus.start();
  }
  let closed = false;
  return {
    kind: 'vbd', devid, paths, xenbus, driver: blk,
    close() {
      if (closed) return;
      closed = true;
      xenbus.close();
      hv.xs.removeDevice(paths);
    },
    stats: () => numbers(blk.stats),
    snapshot: () => ({ xenbus: xenbus.snapshot(), driver: blk.snapshot() }),
  };
}

/**
 * What xl save keeps of a vif's backend (host/snapshot/xen-net.ts): whether it was connected,
 * its private indices of the tx and rx rings, and its MAC (kept, since a default MAC names the
 * old domid). The ring refs, event channel and feature-sg are the frontend's XenStore keys.
 */
export interface VifResumeState {
  connected: boolean;
  tx: NetbackSnapshot['tx'];
  rx: NetbackSnapshot['rx'];
  mac: string;
}

/**
 * xl restore: vif `devid` of a restored domain, whose XenStore directories came back with it,
 * plugged into `spec.bridge` (the target Dom0's bridge of that name). A backend that was
 * connected reconnects as it was (Netback.resume) with nothing written to XenStore and no event
 * sent; one that was not starts its side of the handshake again (as resumeDisk). `announce()`
 * (the toolstack calls it once the domain is restored and scheduled) tells the bridges where the
 * MAC now is (Netback.announce).
 */
export function resumeVif(hv: XenHypervisor, dom: XenDomain, devid: number, spec: VifSpec, saved: VifResumeState, opts: AttachOptions = {}): AttachedXenbusDevice<Netback> & { announce(): void } {
  const net = new Netback({ grants: hv.grants, events: hv.evtchn, frontendDomid: dom.domid, bridge: spec.bridge, mac: saved.mac, schedule: opts.schedule });
  const paths = hv.xs.devicePaths('vif', devid, dom.domid, BACKEND_DOMID);
  const xenbus = new XenbusBackend(hv.xs, paths, net);
  const fail = (why: string) => new UserError(`${dom.name}: vif ${devid}: cannot reconnect after the restore: ${why}`);
  try {
    if (saved.connected && saved.tx && saved.rx) {
      const keys = net.frontendKeys((key) => hv.xs.tryRead(`${paths.frontend}/${key}`));
      if (typeof keys === 'string') throw fail(keys);
      const err = net.resume(keys, { tx: saved.tx, rx: saved.rx });
      if (err !== null) throw fail(err);
      xenbus.resumeConnected();
    } else {
      xenbus.start();
    }
  } catch (e) {
    net.detach();
    throw e;
  }
  let closed = false;
  return {
    kind: 'vif', devid, paths, xenbus, driver: net,
    close() {
      if (closed) return;
      closed = true;
      xenbus.close();
      net.detach();
      hv.xs.removeDevice(paths);
    },
    stats: () => numbers(net.stats),
    snapshot: () => ({ xenbus: xenbus.snapshot(), driver: net.snapshot() }),
    announce: () => net.announce(),
  };
}

/** xl restore: the primary console of a restored domain, with its saved indices and pending input (ConsoleBackend.resumePage). */
export function resumeConsole(hv: XenHypervisor, dom: XenDomain, sink: (bytes: Uint8Array) => void, saved: ConsoleSnapshot, opts: AttachOptions = {}): AttachedConsole {
  const backend = new ConsoleBackend({ grants: hv.grants, events: hv.evtchn, frontendDomid: dom.domid, sink, schedule: opts.schedule });
  const err = backend.resumePage(dom.hypervisorPage(dom.layout.consoleGfn), dom.consoleEvtchn, saved);
  if (err !== null) throw new UserError(`${dom.name}: cannot reconnect the console after the restore: ${err}`);
  return attachedConsole(backend);
}
