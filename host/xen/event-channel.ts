/**
 * Event channels (xen/include/public/event_channel.h; semantics of Xen's common/event_channel.c
 * with the 2-level ABI of shared-info.ts). Each domain has a bounded table of ports; a port is
 * free, reserved (port 0), unbound (waiting for one named remote domain), interdomain (joined
 * to a port of another domain) or bound to a VIRQ. Sending on an interdomain port marks the
 * remote port pending in the remote domain's shared-info page and, when that raises
 * evtchn_upcall_pending, calls `onUpcall(domid, vcpu)`: the VMM turns it into a virtual
 * external interrupt (hvip.VSEIP) unless vcpu_info.evtchn_upcall_mask is set. Whenever a guest
 * port's pending bit goes from 0 to 1, masked or not, `onPortPending(domid, port)` follows
 * (Xen's evtchn_check_pollers: it ends a SCHEDOP_poll waiting for that port).
 *
 * Dom0 here is the host itself: its backends (TypeScript) own ports in the host domain's
 * table, which has no shared-info page. A notification to a host port calls the handler the
 * backend registered, synchronously, from inside the sender's hypercall (a backend that wants
 * to batch defers its work itself). The whole table is plain data (snapshot/restore); handlers
 * are functions and are re-attached after a restore with setHostHandler.
 *
 * Every operation returns 0 or a port number (>= 1) on success and a NEGATED errno.ts value on
 * failure, exactly what the hypercall returns to the guest.
 */
import { XEN_EFAULT, XEN_EEXIST, XEN_EINVAL, XEN_ENOENT, XEN_ENOSPC, XEN_ENOSYS, XEN_EPERM, XEN_ESRCH } from './errno';
import * as H from './hypercall-abi';
import { rangeInDomain, readGuest, writeGuest } from './domain-memory';
import { EVTCHN_2L_NR_CHANNELS, SharedInfoPage } from './shared-info';

/** Port states, as Xen's struct evtchn numbers them (ECS_*). */
export const ECS_FREE = 0;
/** Not usable (port 0 of every domain). */
export const ECS_RESERVED = 1;
/** Allocated, waiting for bind_interdomain from its remote domain. */
export const ECS_UNBOUND = 2;
/** Connected to a port of another (or the same) domain. */
export const ECS_INTERDOMAIN = 3;
/** Bound to a physical IRQ (never used here). */
export const ECS_PIRQ = 4;
/** Bound to a virtual IRQ. */
export const ECS_VIRQ = 5;
/** Bound for inter-vCPU IPIs (not offered yet). */
export const ECS_IPI = 6;

/** Default ports per domain (xl's default event_channels = 1023, plus port 0). */
export const DEFAULT_MAX_PORTS = 1024;

/** A handler for notifications on a host-owned port. */
export type HostNotifyHandler = (port: number) => void;

/** How a domain is added to the event-channel layer. */
export interface EvtchnDomainConfig {
  domid: number;
  /** The domain's shared-info page (guests). */
  sharedInfo: SharedInfoPage;
  /** Ports in the table, 2..4096 (default 1024). */
  maxPorts?: number;
  /** May act on other domains' tables (alloc_unbound/status with dom != DOMID_SELF). */
  privileged?: boolean;
}

/** Result of EVTCHNOP_status: the OUT fields of struct evtchn_status. */
export interface EvtchnStatus {
  /** 0, or a negated errno (then the other fields are 0). */
  rc: number;
  /** EVTCHNSTAT_*. */
  status: number;
  /** The vCPU notified. */
  vcpu: number;
  /** u.unbound.dom or u.interdomain.dom. */
  dom: number;
  /** u.interdomain.port. */
  port: number;
  /** u.virq. */
  virq: number;
}

/** Plain-data state of one port in use. */
export interface PortSnapshot {
  port: number;
  state: number;
  /** ECS_UNBOUND: remote domid; ECS_INTERDOMAIN: remote domid. */
  remoteDom: number;
  /** ECS_INTERDOMAIN: remote port; ECS_VIRQ: the virq. */
  remotePort: number;
  vcpu: number;
}

/** Plain-data state of one domain's table. */
export interface EvtchnDomainSnapshot {
  domid: number;
  maxPorts: number;
  privileged: boolean;
  ports: PortSnapshot[];
}

/** Plain-data state of all tables (shared-info pages live in guest memory, saved with it). */
export interface EventChannelsSnapshot {
  hostDomid: number;
  domains: EvtchnDomainSnapshot[];
}

/** One domain's port table. */
class PortTable {
  readonly state: Uint8Array;
  readonly remoteDom: Uint16Array;
  readonly remotePort: Uint32Array;
  readonly vcpu: Uint8Array;
  /** virq * vcpus + vcpu -> port (0 = unbound). */
  readonly virqPort: Uint16Array;
  readonly handlers = new Map<number, HostNotifyHandler>();

  constructor(
    readonly domid: number,
    readonly maxPorts: number,
    readonly privileged: boolean,
    readonly sharedInfo: SharedInfoPage | undefined,
  ) {
    this.state = new Uint8Array(maxPorts);
    this.remoteDom = new Uint16Array(maxPorts);
    this.remotePort = new Uint32Array(maxPorts);
    this.vcpu = new Uint8Array(maxPorts);
    this.virqPort = new Uint16Array(H.NR_VIRQS * this.vcpus);
    this.state[0] = ECS_RESERVED;
  }

  get vcpus(): number {
    return this.sharedInfo?.vcpus ?? 1;
  }

  valid(port: number): boolean {
    return Number.isInteger(port) && port >= 0 && port < this.maxPorts;
  }

  /** The lowest free port (get_free_port), or -ENOSPC. Bounded by maxPorts. */
  freePort(): number {
    for (let p = 1; p < this.maxPorts; p++) if (this.state[p] === ECS_FREE) return p;
    return -XEN_ENOSPC;
  }
}

/** The event channels of every domain, and of the host (Dom0 backends). */
export class EventChannels {
  private readonly tables = new Map<number, PortTable>();
  /** The host domain's id (Dom0). */
  readonly hostDomid: number;

  private readonly onPortPending: ((domid: number, port: number) => void) | undefined;

  /**
   * @param onUpcall called when a vCPU's evtchn_upcall_pending goes from 0 to 1
   * @param opts hostDomid (default 0), the host's port count (default 4096), and onPortPending:
   *   called after a guest port's pending bit went from 0 to 1 (after any onUpcall it caused)
   */
  constructor(
    private readonly onUpcall: (domid: number, vcpu: number) => void,
    opts: { hostDomid?: number; hostMaxPorts?: number; onPortPending?: (domid: number, port: number) => void } = {},
  ) {
    this.hostDomid = opts.hostDomid ?? 0;
    this.onPortPending = opts.onPortPending;
    const max = opts.hostMaxPorts ?? EVTCHN_2L_NR_CHANNELS;
    this.tables.set(this.hostDomid, new PortTable(this.hostDomid, checkMaxPorts(max, this.hostDomid), true, undefined));
  }

  /** Add a guest domain's table. Throws for a duplicate or out-of-range domid (a toolstack bug). */
  addDomain(cfg: EvtchnDomainConfig): void {
    const { domid } = cfg;
    if (!Number.isInteger(domid) || domid < 0 || domid >= H.DOMID_FIRST_RESERVED) throw new RangeError(`evtchn: domid ${domid} out of range`);
    if (this.tables.has(domid)) throw new Error(`evtchn: domain ${domid} already exists`);
    const max = checkMaxPorts(cfg.maxPorts ?? DEFAULT_MAX_PORTS, domid);
    this.tables.set(domid, new PortTable(domid, max, cfg.privileged ?? false, cfg.sharedInfo));
  }

  /** Whether `domid` has a table. */
  hasDomain(domid: number): boolean {
    return this.tables.has(domid);
  }

  /**
   * Destroy a domain's table (evtchn_destroy): every port is closed, so interdomain peers go
   * back to unbound (waiting for this domid) exactly as if the domain had closed them.
   */
  removeDomain(domid: number): void {
    const t = this.tables.get(domid);
    if (!t || domid === this.hostDomid) return;
    for (let p = 1; p < t.maxPorts; p++) if (t.state[p] !== ECS_FREE) this.closePort(t, p);
    this.tables.delete(domid);
  }

  /** Resolve DOMID_SELF to the caller. */
  private resolve(caller: number, dom: number): number {
    return dom === H.DOMID_SELF ? caller : dom;
  }

  /** The table of `dom` for `caller` (rcu_lock_domain_by_any_id + the XSM target check). */
  private targetTable(caller: number, dom: number): PortTable | number {
    const c = this.tables.get(caller);
    if (!c) return -XEN_ESRCH;
    const d = this.tables.get(this.resolve(caller, dom));
    if (!d) return -XEN_ESRCH;
    if (d !== c && !c.privileged) return -XEN_EPERM;
    return d;
  }

  /**
   * EVTCHNOP_alloc_unbound: allocate a port in `dom` (DOMID_SELF, or another domain when the
   * caller is privileged) that `remoteDom` may bind to. Returns the port, -ESRCH (no such
   * domain), -EPERM (not privileged), -ENOSPC (table full).
   */
  allocUnbound(caller: number, dom: number, remoteDom: number): number {
    const t = this.targetTable(caller, dom);
    if (typeof t === 'number') return t;
    const port = t.freePort();
    if (port < 0) return port;
    t.state[port] = ECS_UNBOUND;
    t.remoteDom[port] = this.resolve(caller, remoteDom) & 0xffff;
    t.remotePort[port] = 0;
    t.vcpu[port] = 0;
    return port;
  }

  /**
   * EVTCHNOP_bind_interdomain: connect a new local port of `caller` to `remotePort` of
   * `remoteDom`, which must be unbound and waiting for the caller. Returns the local port;
   * -ESRCH (no such domain), -ENOSPC (caller's table full), -EINVAL (remote port out of range,
   * not unbound, or waiting for another domain). As Xen does, the new local port is marked
   * pending at once (notifications sent to the unbound port were dropped).
   */
  bindInterdomain(caller: number, remoteDom: number, remotePort: number): number {
    const l = this.tables.get(caller);
    if (!l) return -XEN_ESRCH;
    const r = this.tables.get(this.resolve(caller, remoteDom));
    if (!r) return -XEN_ESRCH;
    const lport = l.freePort();
    if (lport < 0) return lport;
    if (!r.valid(remotePort)) return -XEN_EINVAL;
    if (r.state[remotePort] !== ECS_UNBOUND || r.remoteDom[remotePort] !== caller) return -XEN_EINVAL;
    l.state[lport] = ECS_INTERDOMAIN;
    l.remoteDom[lport] = r.domid;
    l.remotePort[lport] = remotePort;
    l.vcpu[lport] = 0;
    r.state[remotePort] = ECS_INTERDOMAIN;
    r.remoteDom[remotePort] = caller;
    r.remotePort[remotePort] = lport;
    this.setPending(l, lport);
    return lport;
  }

  /**
   * EVTCHNOP_bind_virq: bind `virq` on `vcpu` of the caller to a new port. Returns the port;
   * -EINVAL (virq >= NR_VIRQS, or a global virq on a vCPU other than 0), -ENOENT (no such
   * vCPU), -EEXIST (already bound on that vCPU), -ENOSPC (table full).
   */
  bindVirq(caller: number, virq: number, vcpu: number): number {
    const t = this.tables.get(caller);
    if (!t) return -XEN_ESRCH;
    if (!Number.isInteger(virq) || virq < 0 || virq >= H.NR_VIRQS) return -XEN_EINVAL;
    if (H.virqIsGlobal(virq) && vcpu !== 0) return -XEN_EINVAL;
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= t.vcpus) return -XEN_ENOENT;
    const slot = virq * t.vcpus + vcpu;
    if (t.virqPort[slot] !== 0) return -XEN_EEXIST;
    const port = t.freePort();
    if (port < 0) return port;
    t.state[port] = ECS_VIRQ;
    t.remoteDom[port] = 0;
    t.remotePort[port] = virq;
    t.vcpu[port] = vcpu;
    t.virqPort[slot] = port;
    return port;
  }

  /**
   * EVTCHNOP_close: free `port` of the caller. An interdomain peer goes back to unbound,
   * waiting for the caller again; the port's pending bit is cleared. -EINVAL for a port out of
   * range, free or reserved.
   */
  close(caller: number, port: number): number {
    const t = this.tables.get(caller);
    if (!t) return -XEN_ESRCH;
    if (!t.valid(port)) return -XEN_EINVAL;
    const s = t.state[port];
    if (s === ECS_FREE || s === ECS_RESERVED) return -XEN_EINVAL;
    this.closePort(t, port);
    return 0;
  }

  private closePort(t: PortTable, port: number): void {
    const s = t.state[port];
    if (s === ECS_VIRQ) {
      const slot = t.remotePort[port] * t.vcpus + t.vcpu[port];
      if (t.virqPort[slot] === port) t.virqPort[slot] = 0;
    } else if (s === ECS_INTERDOMAIN) {
      const r = this.tables.get(t.remoteDom[port]);
      const rp = t.remotePort[port];
      if (r && r.state[rp] === ECS_INTERDOMAIN && r.remoteDom[rp] === t.domid && r.remotePort[rp] === port) {
        r.state[rp] = ECS_UNBOUND;
        r.remoteDom[rp] = t.domid;
        r.remotePort[rp] = 0;
      }
    }
    t.state[port] = ECS_FREE;
    t.remoteDom[port] = 0;
    t.remotePort[port] = 0;
    t.vcpu[port] = 0;
    t.handlers.delete(port);
    t.sharedInfo?.clearPending(port);
  }

  /**
   * EVTCHNOP_send: notify the other end of `port`. Interdomain: the remote port becomes
   * pending; unbound: the notification is silently dropped (Xen does the same); anything
   * else, or a port out of range: -EINVAL.
   */
  send(caller: number, port: number): number {
    const t = this.tables.get(caller);
    if (!t) return -XEN_ESRCH;
    if (!t.valid(port)) return -XEN_EINVAL;
    switch (t.state[port]) {
      case ECS_INTERDOMAIN: {
        const r = this.tables.get(t.remoteDom[port]);
        if (r) this.setPending(r, t.remotePort[port]);
        return 0;
      }
      case ECS_UNBOUND:
        return 0;
      default:
        return -XEN_EINVAL;
    }
  }

  /**
   * EVTCHNOP_status of `port` in `dom` (DOMID_SELF, or any domain for a privileged caller).
   * -ESRCH (no such domain), -EPERM (not privileged), -EINVAL (port out of range).
   */
  status(caller: number, dom: number, port: number): EvtchnStatus {
    const out: EvtchnStatus = { rc: 0, status: H.EVTCHNSTAT_closed, vcpu: 0, dom: 0, port: 0, virq: 0 };
    const t = this.targetTable(caller, dom);
    if (typeof t === 'number') return { ...out, rc: t };
    if (!t.valid(port)) return { ...out, rc: -XEN_EINVAL };
    switch (t.state[port]) {
      case ECS_UNBOUND:
        out.status = H.EVTCHNSTAT_unbound;
        out.dom = t.remoteDom[port];
        break;
      case ECS_INTERDOMAIN:
        out.status = H.EVTCHNSTAT_interdomain;
        out.dom = t.remoteDom[port];
        out.port = t.remotePort[port];
        break;
      case ECS_VIRQ:
        out.status = H.EVTCHNSTAT_virq;
        out.virq = t.remotePort[port];
        break;
      default:
        out.status = H.EVTCHNSTAT_closed;
    }
    out.vcpu = t.vcpu[port];
    return out;
  }

  /**
   * EVTCHNOP_unmask: clear the mask bit of `port` and, if it is pending, deliver it now.
   * -EINVAL for a port out of range.
   */
  unmask(caller: number, port: number): number {
    const t = this.tables.get(caller);
    if (!t) return -XEN_ESRCH;
    if (!t.valid(port)) return -XEN_EINVAL;
    if (t.sharedInfo?.unmask(port, t.vcpu[port])) this.onUpcall(t.domid, t.vcpu[port]);
    return 0;
  }

  /**
   * evtchn_port_poll, for SCHEDOP_poll: 1 if `port` of `domid` is pending, 0 if not, -EINVAL if
   * it is out of the table or not in use (free, or reserved like port 0: Xen's evtchn_usable),
   * -ESRCH for no such domain.
   */
  portPoll(domid: number, port: number): number {
    const t = this.tables.get(domid);
    if (!t) return -XEN_ESRCH;
    if (!t.valid(port) || t.state[port] === ECS_FREE || t.state[port] === ECS_RESERVED) return -XEN_EINVAL;
    return t.sharedInfo?.isPending(port) ? 1 : 0;
  }

  /**
   * Raise `virq` in `domid` from the hypervisor (send_guest_vcpu_virq / global virq: global
   * ones are bound on vCPU 0). Returns false when nothing is bound to it (the event is lost).
   */
  raiseVirq(domid: number, virq: number, vcpu = 0): boolean {
    const t = this.tables.get(domid);
    if (!t || !Number.isInteger(virq) || virq < 0 || virq >= H.NR_VIRQS) return false;
    const v = H.virqIsGlobal(virq) ? 0 : vcpu;
    if (!Number.isInteger(v) || v < 0 || v >= t.vcpus) return false;
    const port = t.virqPort[virq * t.vcpus + v];
    if (port === 0) return false;
    this.setPending(t, port);
    return true;
  }

  /** Deliver an event to `port` of table `t`: the shared-info page, or a host handler. */
  private setPending(t: PortTable, port: number): void {
    if (t.sharedInfo) {
      const vcpu = t.vcpu[port];
      const was = this.onPortPending !== undefined && t.sharedInfo.isPending(port);
      if (t.sharedInfo.setPending(port, vcpu)) this.onUpcall(t.domid, vcpu);
      if (this.onPortPending !== undefined && !was && t.sharedInfo.isPending(port)) this.onPortPending(t.domid, port);
    } else {
      t.handlers.get(port)?.(port);
    }
  }

  // -------------------------------------------------------------------------------------------
  // The host (Dom0 backends) side.
  // -------------------------------------------------------------------------------------------

  private get host(): PortTable {
    return this.tables.get(this.hostDomid)!;
  }

  /**
   * Bind a new host port to `remotePort` of `remoteDom` (which the DomU allocated with
   * alloc_unbound for remote domain 0 and advertised, e.g. in XenStore), calling `onNotify`
   * whenever the DomU sends on its end. Returns the host port or a negated errno, as
   * bind_interdomain.
   */
  hostBindInterdomain(remoteDom: number, remotePort: number, onNotify: HostNotifyHandler): number {
    const h = this.host;
    // Register the handler first: bind_interdomain notifies the new local port at once.
    const lport = h.freePort();
    if (lport < 0) return lport;
    h.handlers.set(lport, onNotify);
    const rc = this.bindInterdomain(this.hostDomid, remoteDom, remotePort);
    if (rc < 0) h.handlers.delete(lport);
    return rc;
  }

  /**
   * Allocate a host port that `remoteDom` may bind to (the toolstack's pattern for the console
   * and XenStore channels, the other way round), calling `onNotify` on its notifications.
   */
  hostAllocUnbound(remoteDom: number, onNotify: HostNotifyHandler): number {
    const port = this.allocUnbound(this.hostDomid, H.DOMID_SELF, remoteDom);
    if (port > 0) this.host.handlers.set(port, onNotify);
    return port;
  }

  /** Notify the DomU end of host port `port` (EVTCHNOP_send from Dom0). 0 or -EINVAL. */
  hostNotify(port: number): number {
    return this.send(this.hostDomid, port);
  }

  /** Close host port `port` (its DomU end goes back to unbound). 0 or -EINVAL. */
  hostClose(port: number): number {
    return this.close(this.hostDomid, port);
  }

  /** (Re)attach the handler of host port `port`, e.g. after restore(). 0, or -EINVAL if free. */
  setHostHandler(port: number, onNotify: HostNotifyHandler): number {
    const h = this.host;
    if (!h.valid(port) || h.state[port] === ECS_FREE || h.state[port] === ECS_RESERVED) return -XEN_EINVAL;
    h.handlers.set(port, onNotify);
    return 0;
  }

  // -------------------------------------------------------------------------------------------
  // The hypercall: HYPERVISOR_event_channel_op(cmd, arg), arg a guest-physical pointer.
  // -------------------------------------------------------------------------------------------

  /**
   * Run event_channel_op `cmd` for guest `caller` with its argument structure at guest-physical
   * `arg`: the structure is copied out once, the operation runs, the OUT fields are copied
   * back. Returns the hypercall's a0: 0 or a negated errno (-EFAULT when the structure is not
   * in the caller's RAM, -ENOSYS for sub-operations we do not offer).
   */
  hypercall(caller: number, cmd: number, arg: bigint): number {
    const t = this.tables.get(caller);
    const mem = t?.sharedInfo?.memory;
    if (!t || !mem) return -XEN_ESRCH;
    const size = argSize(cmd);
    if (size === 0) return -XEN_ENOSYS;
    if (!rangeInDomain(mem, arg, size)) return -XEN_EFAULT;
    const a = readGuest(mem, arg, size);
    const v = new DataView(a.buffer, a.byteOffset, size);
    let rc: number;
    switch (cmd) {
      case H.EVTCHNOP_alloc_unbound:
        rc = this.allocUnbound(caller, v.getUint16(H.EVTCHN_ALLOC_UNBOUND_DOM, true), v.getUint16(H.EVTCHN_ALLOC_UNBOUND_REMOTE_DOM, true));
        if (rc < 0) return rc;
        v.setUint32(H.EVTCHN_ALLOC_UNBOUND_PORT, rc, true);
        break;
      case H.EVTCHNOP_bind_interdomain:
        rc = this.bindInterdomain(caller, v.getUint16(H.EVTCHN_BIND_INTERDOMAIN_REMOTE_DOM, true), v.getUint32(H.EVTCHN_BIND_INTERDOMAIN_REMOTE_PORT, true));
        if (rc < 0) return rc;
        v.setUint32(H.EVTCHN_BIND_INTERDOMAIN_LOCAL_PORT, rc, true);
        break;
      case H.EVTCHNOP_bind_virq:
        rc = this.bindVirq(caller, v.getUint32(H.EVTCHN_BIND_VIRQ_VIRQ, true), v.getUint32(H.EVTCHN_BIND_VIRQ_VCPU, true));
        if (rc < 0) return rc;
        v.setUint32(H.EVTCHN_BIND_VIRQ_PORT, rc, true);
        break;
      case H.EVTCHNOP_close:
        return this.close(caller, v.getUint32(H.EVTCHN_PORT_ARG_PORT, true));
      case H.EVTCHNOP_send:
        return this.send(caller, v.getUint32(H.EVTCHN_PORT_ARG_PORT, true));
      case H.EVTCHNOP_unmask:
        return this.unmask(caller, v.getUint32(H.EVTCHN_PORT_ARG_PORT, true));
      case H.EVTCHNOP_status: {
        const s = this.status(caller, v.getUint16(H.EVTCHN_STATUS_DOM, true), v.getUint32(H.EVTCHN_STATUS_PORT, true));
        if (s.rc < 0) return s.rc;
        v.setUint32(H.EVTCHN_STATUS_STATUS, s.status, true);
        v.setUint32(H.EVTCHN_STATUS_VCPU, s.vcpu, true);
        v.setUint32(H.EVTCHN_STATUS_U_DOM, 0, true);
        v.setUint32(H.EVTCHN_STATUS_U_PORT, 0, true);
        if (s.status === H.EVTCHNSTAT_virq) v.setUint32(H.EVTCHN_STATUS_U_VIRQ, s.virq, true);
        else if (s.status === H.EVTCHNSTAT_unbound || s.status === H.EVTCHNSTAT_interdomain) {
          v.setUint16(H.EVTCHN_STATUS_U_DOM, s.dom, true);
          if (s.status === H.EVTCHNSTAT_interdomain) v.setUint32(H.EVTCHN_STATUS_U_PORT, s.port, true);
        }
        break;
      }
      default:
        return -XEN_ENOSYS;
    }
    writeGuest(mem, arg, a);
    return 0;
  }

  // -------------------------------------------------------------------------------------------
  // Snapshot.
  // -------------------------------------------------------------------------------------------

  /** Plain-data state of every table (ports in use only). */
  snapshot(): EventChannelsSnapshot {
    const domains: EvtchnDomainSnapshot[] = [];
    for (const t of this.tables.values()) {
      const ports: PortSnapshot[] = [];
      for (let p = 1; p < t.maxPorts; p++) {
        if (t.state[p] !== ECS_FREE) ports.push({ port: p, state: t.state[p], remoteDom: t.remoteDom[p], remotePort: t.remotePort[p], vcpu: t.vcpu[p] });
      }
      domains.push({ domid: t.domid, maxPorts: t.maxPorts, privileged: t.privileged, ports });
    }
    return { hostDomid: this.hostDomid, domains };
  }

  /** The ports in use of one guest domain (xl save), or undefined if it has no table. */
  domainPorts(domid: number): PortSnapshot[] | undefined {
    const t = this.tables.get(domid);
    if (!t || domid === this.hostDomid) return undefined;
    const ports: PortSnapshot[] = [];
    for (let p = 1; p < t.maxPorts; p++) {
      if (t.state[p] !== ECS_FREE) ports.push({ port: p, state: t.state[p], remoteDom: t.remoteDom[p], remotePort: t.remotePort[p], vcpu: t.vcpu[p] });
    }
    return ports;
  }

  /**
   * Load saved ports (domainPorts of a saved domain, remote domids already renamed for this
   * table) into the new table of `domid` (xl restore), replacing what it had. A port that was
   * interdomain with the host comes back unbound for the host, as evtchn_close leaves a peer:
   * the restored backends bind it again (hostBindInterdomain), so no host port is carried
   * over. Pending and mask bits live in the shared-info page, restored with guest RAM.
   * Returns null, or what is wrong with `ports` (nothing is changed then).
   */
  loadDomainPorts(domid: number, ports: readonly PortSnapshot[]): string | null {
    const t = this.tables.get(domid);
    if (!t || domid === this.hostDomid) return `no event-channel table for d${domid}`;
    for (const p of ports) {
      if (!t.valid(p.port) || p.port === 0) return `port ${p.port} out of range (the domain has ${t.maxPorts})`;
      if (p.vcpu >= t.vcpus) return `port ${p.port} notifies vCPU ${p.vcpu}`;
      if (p.state === ECS_UNBOUND || p.state === ECS_INTERDOMAIN) {
        if (p.remoteDom !== this.hostDomid && p.remoteDom !== domid) return `port ${p.port} is bound to domain ${p.remoteDom} (only Dom0 and the domain itself can be restored)`;
        if (p.state === ECS_INTERDOMAIN && p.remoteDom === domid) return `port ${p.port} is a loopback channel (not supported)`;
      } else if (p.state === ECS_VIRQ) {
        if (p.remotePort >= H.NR_VIRQS) return `port ${p.port} is bound to VIRQ ${p.remotePort}`;
      } else if (p.state !== ECS_IPI) {
        return `port ${p.port} has state ${p.state}`;
      }
    }
    t.state.fill(0); t.remoteDom.fill(0); t.remotePort.fill(0); t.vcpu.fill(0); t.virqPort.fill(0);
    t.handlers.clear();
    t.state[0] = ECS_RESERVED;
    for (const p of ports) {
      const host = p.state === ECS_INTERDOMAIN;
      t.state[p.port] = host ? ECS_UNBOUND : p.state;
      t.remoteDom[p.port] = p.remoteDom;
      t.remotePort[p.port] = host ? 0 : p.remotePort;
      t.vcpu[p.port] = p.vcpu;
      if (p.state === ECS_VIRQ) t.virqPort[p.remotePort * t.vcpus + p.vcpu] = p.port;
    }
    return null;
  }

  /**
   * Load the port states of `s` into the tables. Guest domains must have been added again
   * (addDomain, with their shared-info pages) before; host handlers must be re-attached with
   * setHostHandler afterwards. Throws on a snapshot that does not fit the tables.
   */
  restore(s: EventChannelsSnapshot): void {
    if (s.hostDomid !== this.hostDomid) throw new Error(`evtchn restore: host domid ${s.hostDomid}, expected ${this.hostDomid}`);
    for (const d of s.domains) {
      const t = this.tables.get(d.domid);
      if (!t) throw new Error(`evtchn restore: domain ${d.domid} was not added`);
      if (t.maxPorts !== d.maxPorts) throw new Error(`evtchn restore: d${d.domid} has ${t.maxPorts} ports, snapshot ${d.maxPorts}`);
    }
    for (const d of s.domains) {
      const t = this.tables.get(d.domid)!;
      t.state.fill(0); t.remoteDom.fill(0); t.remotePort.fill(0); t.vcpu.fill(0); t.virqPort.fill(0);
      t.handlers.clear();
      t.state[0] = ECS_RESERVED;
      for (const p of d.ports) {
        if (!t.valid(p.port) || p.port === 0) throw new Error(`evtchn restore: d${d.domid} port ${p.port} out of range`);
        t.state[p.port] = p.state;
        t.remoteDom[p.port] = p.remoteDom;
        t.remotePort[p.port] = p.remotePort;
        t.vcpu[p.port] = p.vcpu;
        if (p.state === ECS_VIRQ) t.virqPort[p.remotePort * t.vcpus + p.vcpu] = p.port;
      }
    }
  }
}

function checkMaxPorts(n: number, domid: number): number {
  if (!Number.isInteger(n) || n < 2 || n > EVTCHN_2L_NR_CHANNELS) throw new RangeError(`evtchn: d${domid} maxPorts ${n}, expected 2..${EVTCHN_2L_NR_CHANNELS}`);
  return n;
}

/** Bytes of the argument structure of EVTCHNOP `cmd`, 0 when we do not offer it. */
function argSize(cmd: number): number {
  switch (cmd) {
    case H.EVTCHNOP_alloc_unbound: return H.EVTCHN_ALLOC_UNBOUND_SIZE;
    case H.EVTCHNOP_bind_interdomain: return H.EVTCHN_BIND_INTERDOMAIN_SIZE;
    case H.EVTCHNOP_bind_virq: return H.EVTCHN_BIND_VIRQ_SIZE;
    case H.EVTCHNOP_close:
    case H.EVTCHNOP_send:
    case H.EVTCHNOP_unmask: return H.EVTCHN_PORT_ARG_SIZE;
    case H.EVTCHNOP_status: return H.EVTCHN_STATUS_SIZE;
    default: return 0;
  }
}
