/**
 * The Xen hypervisor of wasmvisor: it owns every domain's event channels (EventChannels),
 * grant tables (GrantTables), the XenStore server (XenStoreServer, driven through
 * XsToolstack as Dom0's xenstored), and the DomUs themselves (domain.ts). The host is Dom0
 * (domain 0: toolstack and backends, no VM of its own).
 *
 * Building a DomU (createDomain), as xl and libxl do for a PV guest:
 *   1. the hypervisor frames at the top of its RAM (layout.ts);
 *   2. its event-channel table, with two ports allocated unbound for Dom0: XenStore (port 1)
 *      and the PV console (port 2);
 *   3. its VM, whose device tree gets the /hypervisor node naming all of the above, and whose
 *      vendor SBI extension XEN_SBI_EID is this domain's hypercall entry (hypercalls.ts);
 *   4. the shared-info page, grant table, XenStore and console pages zeroed;
 *   5. XenStore: /local/domain/N (name, domid, memory/, store/, console/ as xl writes them),
 *      xenstored binds the XenStore port and serves the ring (INTRODUCE).
 * The console port stays unbound until Dom0's console backend (host/xen/backends) binds it.
 */
import { type BootOptions } from '../machine/boot-data';
import { UserError } from '../errors';
import type { GuestMemory } from '../devices/device';
import type { JitConfig, LoadedImage, RunLimits } from '../machine/types';
import { nameSbiExtension } from '../vmm/sbi';
import { Vm, type VmRunResult } from '../vmm/vm';
import { domainMemoryOf, gpaOf, type DomainMemory } from './domain-memory';
import { XenDomain, type XenDomainSnapshot } from './domain';
import { DEFAULT_MAX_PORTS, EventChannels, type EventChannelsSnapshot } from './event-channel';
import { GrantTables, type GrantTablesSnapshot } from './grant-table';
import * as H from './hypercall-abi';
import { xenHypercall, type HypercallContext } from './hypercalls';
import { addXenNodes, DEFAULT_GRANT_FRAMES, xenLayout } from './layout';
import { HYPERCALL_NAMES, XEN_SBI_EID } from './ops-abi';
import { SharedInfoPage } from './shared-info';
import type { RingMemory } from './xenstore/ring';
import { XenStoreServer, type ServerSnapshot } from './xenstore/server';
import { XsToolstack } from './xenstore/toolstack';

nameSbiExtension(XEN_SBI_EID, 'XEN', HYPERCALL_NAMES);

const PAGE = 4096;

/** How a DomU is built (the keys of an xl.cfg that matter here). */
export interface XenDomainConfig extends JitConfig {
  /** Domain id, 1..0x7fef (xl picks the lowest free one; createDomain does when omitted). */
  domid?: number;
  name: string;
  /** RAM in bytes (a multiple of 4 KiB). */
  memSize: number;
  kernel: LoadedImage;
  /** The kernel command line and initial ramdisk (xl.cfg cmdline=/extra=/ramdisk=, issue 12). */
  boot?: BootOptions;
  /** Grant-table frames (1..64, default 4): the table's maximum size. */
  grantFrames?: number;
  /** Event-channel ports (default 1024). */
  maxPorts?: number;
  deterministic?: boolean;
  /** Bytes the guest writes to its UART or SBI console. */
  onConsoleOutput?: (bytes: Uint8Array) => void;
  /** Bytes the guest writes with console_io (each line prefixed "(dN) "); default onConsoleOutput. */
  onXenConsole?: (bytes: Uint8Array) => void;
  onTraceExit?: (line: string) => void;
  /**
   * xl restore builds the domain to load a save into (host/snapshot/xen.ts): its pages are not
   * zeroed, nothing is written to XenStore and its ring is not introduced (adoptXenStore does).
   */
  restoring?: boolean;
}

/** Plain-data state of the hypervisor (guest RAM, holding the shared pages, is saved apart). */
export interface XenHypervisorSnapshot {
  evtchn: EventChannelsSnapshot;
  grants: GrantTablesSnapshot;
  xenstore: ServerSnapshot;
  domains: XenDomainSnapshot[];
}

/** Dom0's view of the machine: the Xen tables and the DomUs. */
export class XenHypervisor implements HypercallContext {
  readonly evtchn: EventChannels;
  readonly grants = new GrantTables();
  readonly xenstore = new XenStoreServer();
  /** Dom0's direct XenStore access (the toolstack's). */
  readonly xs: XsToolstack;
  private readonly domains = new Map<number, XenDomain>();

  constructor() {
    this.evtchn = new EventChannels((domid) => this.domains.get(domid)?.upcall(), {
      onPortPending: (domid, port) => this.domains.get(domid)?.checkPollers(port),
    });
    this.xs = new XsToolstack(this.xenstore);
  }

  /** Whether a domain with this id exists (Dom0, the host, always does). */
  hasDomain(domid: number): boolean {
    return domid === 0 || this.domains.has(domid);
  }

  /** The DomU `domid`, if it exists. */
  domain(domid: number): XenDomain | undefined {
    return this.domains.get(domid);
  }

  /** Every DomU, by id. */
  list(): XenDomain[] {
    return [...this.domains.values()].sort((a, b) => a.domid - b.domid);
  }

  /** Build a DomU and load its kernel (see the file comment). Throws UserError for a bad configuration. */
  async createDomain(cfg: XenDomainConfig): Promise<XenDomain> {
    const domid = cfg.domid ?? this.freeDomid();
    if (!Number.isInteger(domid) || domid < 1 || domid >= H.DOMID_FIRST_RESERVED) {
      throw new UserError(`${cfg.name}: domain id ${domid} is out of range (1..${H.DOMID_FIRST_RESERVED - 1})`);
    }
    if (this.domains.has(domid)) throw new UserError(`${cfg.name}: domain id ${domid} is in use by ${this.domains.get(domid)!.name}`);
    if (cfg.memSize % PAGE !== 0 || cfg.memSize < 4 << 20) throw new UserError(`${cfg.name}: memory ${cfg.memSize} bytes; a DomU needs a multiple of 4 KiB, at least 4 MiB`);
    const layout = xenLayout(cfg.memSize, cfg.grantFrames ?? DEFAULT_GRANT_FRAMES);
    const maxPorts = cfg.maxPorts ?? DEFAULT_MAX_PORTS;

    // The domain's memory reaches the VM once it exists; until then it has no frames at all
    // (so undoing step 2 after a failed step 3 touches nothing).
    let vm: Vm | undefined;
    const ram: GuestMemory = {
      base: 0x80000000n,
      size: cfg.memSize,
      read: (a, n) => vm?.readGuest(a, n) ?? new Uint8Array(n),
      write: (a, b) => void vm?.writeGuest(a, b),
      access: (a, n, w, use) => {
        if (!vm) throw new RangeError(`${cfg.name}: no memory yet`);
        vm.accessGuest(a, n, w, use);
      },
    };
    const memory: DomainMemory = domainMemoryOf(domid, ram, (gfn) => vm === undefined || vm.isBallooned(gfn << 12n));
    const sharedInfo = new SharedInfoPage(memory, layout.sharedInfoGfn, 1);
    this.evtchn.addDomain({ domid, sharedInfo, maxPorts });
    const xenstoreEvtchn = this.evtchn.allocUnbound(0, domid, 0);
    const consoleEvtchn = this.evtchn.allocUnbound(0, domid, 0);
    try {
      vm = await Vm.create({
        memSize: cfg.memSize,
        kernel: cfg.kernel,
        boot: cfg.boot,
        deterministic: cfg.deterministic,
        onConsoleOutput: cfg.onConsoleOutput,
        onTraceExit: cfg.onTraceExit,
        jit: cfg.jit,
        jitBackground: cfg.jitBackground,
        fdtExtra: (fdt) => addXenNodes(fdt, layout, { domid, hypercallEid: XEN_SBI_EID, xenstoreEvtchn, consoleEvtchn }),
      });
      for (const seg of cfg.kernel.segments) {
        const end = seg.paddr + BigInt(Math.max(seg.memSize, seg.data.length));
        if (end > gpaOf(layout.firstGfn, 0)) {
          throw new UserError(`${cfg.kernel.name}: segment at 0x${seg.paddr.toString(16)} reaches the hypervisor pages at 0x${gpaOf(layout.firstGfn, 0).toString(16)}; give the domain more memory`);
        }
      }
      if (vm.initrd && vm.initrd.end > gpaOf(layout.firstGfn, 0)) {
        throw new UserError(`${cfg.boot!.initrd!.name}: ramdisk at 0x${vm.initrd.start.toString(16)}-0x${(vm.initrd.end - 1n).toString(16)} reaches the hypervisor pages at 0x${gpaOf(layout.firstGfn, 0).toString(16)}; give the domain more memory`);
      }
    } catch (e) {
      this.evtchn.removeDomain(domid);
      throw e;
    }

    if (!cfg.restoring) {
      sharedInfo.clear();
      for (const gfn of [layout.xenstoreGfn, layout.consoleGfn]) memory.write(gpaOf(gfn, 0), new Uint8Array(PAGE));
    }
    this.grants.addDomain(domid, {
      memory,
      frames: layout.grantGfns,
      initialFrames: 1,
      reservedFrames: [layout.sharedInfoGfn, layout.xenstoreGfn, layout.consoleGfn],
    });
    const onXen = cfg.onXenConsole ?? cfg.onConsoleOutput ?? (() => {});
    const d = new XenDomain({
      domid, name: cfg.name, vm, memory, sharedInfo, layout, xenstoreEvtchn, consoleEvtchn, maxPorts,
      onConsole: onXen,
      raiseTimer: () => void this.evtchn.raiseVirq(domid, H.VIRQ_TIMER, 0),
    });
    this.domains.set(domid, d);
    vm.sbiExtensions.set(XEN_SBI_EID, { handle: (v, fid) => xenHypercall(this, d, v, fid) });
    if (!cfg.restoring) {
      this.writeStartInfo(d, cfg.memSize);
      this.introduce(d);
    }
    return d;
  }

  /** The lowest unused domain id from 1. */
  private freeDomid(): number {
    let id = 1;
    while (this.domains.has(id)) id++;
    return id;
  }

  /** What xl writes for a new domain: its home, memory targets, and the store and console rings. */
  private writeStartInfo(d: XenDomain, memSize: number): void {
    const home = this.xs.createDomainHome(d.domid, d.name);
    const kib = String(memSize / 1024);
    this.xs.transaction((tx) => {
      this.xs.write(`${home}/memory/static-max`, kib, tx);
      this.xs.write(`${home}/memory/target`, kib, tx);
      this.xs.write(`${home}/store/ring-ref`, String(d.layout.xenstoreGfn), tx);
      this.xs.write(`${home}/store/port`, String(d.xenstoreEvtchn), tx);
      this.xs.write(`${home}/console/ring-ref`, String(d.layout.consoleGfn), tx);
      this.xs.write(`${home}/console/port`, String(d.consoleEvtchn), tx);
      this.xs.write(`${home}/console/type`, 'xenconsoled', tx);
    });
  }

  /** xenstored binds the domain's XenStore port and starts serving its ring. */
  private introduce(d: XenDomain): void {
    const ring: RingMemory = d.hypervisorPage(d.layout.xenstoreGfn);
    const hostPort = this.evtchn.hostBindInterdomain(d.domid, d.xenstoreEvtchn, () => this.xenstore.kick(d.domid));
    if (hostPort < 0) throw new Error(`xen: cannot bind the XenStore port of d${d.domid}: ${hostPort}`);
    this.xs.introduceDomain(d.domid, ring, () => void this.evtchn.hostNotify(hostPort));
  }

  /**
   * xl restore: xenstored serves the restored domain's ring again with its saved connection
   * state and watches (XenStoreServer.adoptDomain), over a new host port bound to its XenStore
   * port. Throws Error when the port cannot be bound (a save that does not fit: checked before).
   */
  adoptXenStore(d: XenDomain, state: Parameters<XenStoreServer['adoptDomain']>[1]): void {
    const ring: RingMemory = d.hypervisorPage(d.layout.xenstoreGfn);
    const hostPort = this.evtchn.hostBindInterdomain(d.domid, d.xenstoreEvtchn, () => this.xenstore.kick(d.domid));
    if (hostPort < 0) throw new Error(`xen: cannot bind the XenStore port of d${d.domid}: ${hostPort}`);
    this.xenstore.adoptDomain(d.domid, state, ring, () => void this.evtchn.hostNotify(hostPort));
  }

  /** Run a DomU until it shuts down, fails, or a limit is reached (Vm.run). */
  run(domid: number, limits: RunLimits = {}): Promise<VmRunResult> {
    const d = this.domains.get(domid);
    if (!d) throw new UserError(`xen: no domain ${domid}`);
    return d.vm.run(limits);
  }

  /**
   * Destroy a DomU: its timer and any SCHEDOP_poll it waits in, XenStore connection and home,
   * event channels (peers go back to unbound) and grant table (dying while Dom0 still maps its
   * grants). A run of it in progress returns 'stopped'.
   */
  destroyDomain(domid: number): void {
    const d = this.domains.get(domid);
    if (!d) return;
    d.cancelTimer();
    d.cancelPoll();
    d.vm.stop();
    this.xs.releaseDomain(domid);
    this.xs.removeDomainHome(domid);
    this.evtchn.removeDomain(domid);
    this.grants.removeDomain(domid);
    this.domains.delete(domid);
  }

  /** Plain-data state of the Xen tables and domains (not the VMs' RAM or VMCS). */
  snapshot(): XenHypervisorSnapshot {
    return {
      evtchn: this.evtchn.snapshot(),
      grants: this.grants.snapshot(),
      xenstore: this.xenstore.snapshot(),
      domains: this.list().map((d) => d.snapshot()),
    };
  }
}
