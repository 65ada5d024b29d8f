/**
 * What every Dom0 backend holds for one connected frontend: the ring pages it mapped through
 * the grant table (writable: the backend writes responses and indices into them), the host
 * end of the frontend's event channel, and the rules for running its work.
 *
 * - A notification from the frontend "kicks" the backend. Without a scheduler the work runs at
 *   once, inside the frontend's EVTCHNOP_send; with one (the VMM's "after this exit" queue)
 *   kicks are coalesced into a single scheduled run, so an event storm costs one pass.
 * - A kick that arrives while the backend is running (re-entrancy) is remembered and served by
 *   one more pass, never by recursion.
 * - stop(reason) is the answer to a frontend that broke the protocol: the rings are unmapped,
 *   the port closed, later kicks ignored, and `onFatal` tells the xenbus layer (which moves the
 *   device to Closing and records the error). Other devices and domains are not affected.
 */
import type { EventChannels } from '../event-channel';
import type { GrantMapping, GrantTables } from '../grant-table';
import { GNTST_okay } from '../hypercall-abi';

/** The hypervisor services and policy a backend is created with. */
export interface BackendContext {
  grants: GrantTables;
  events: EventChannels;
  /** The frontend's domain. */
  frontendDomid: number;
  /** Defer a kick (run it later, once); default: run at once. */
  schedule?: (run: () => void) => void;
  /** Called once when the device is stopped for a protocol error. */
  onFatal?: (reason: string) => void;
}

/** Counters shared by every backend. */
export interface ChannelStats {
  /** Notifications received from the frontend. */
  kicks: number;
  /** Passes over the rings (one per run, however many kicks it covers). */
  runs: number;
  /** Notifications sent to the frontend. */
  notifications: number;
}

/** Plain-data state of a channel. */
export interface ChannelSnapshot {
  ringHandles: number[];
  port: number;
  stopped: string | null;
  stats: ChannelStats;
}

/** Passes one run may make for kicks that arrive while it runs (a bound, not a tuning knob). */
const MAX_RERUNS = 4;

/** One frontend's rings and event channel, as a backend holds them. */
export class BackendChannel {
  /** The mapped ring pages, in the order of the refs given to connect(). */
  pages: GrantMapping[] = [];
  /** The host port bound to the frontend's event channel (0 when not connected). */
  port = 0;
  /** Why the device was stopped, or null. */
  stopped: string | null = null;
  readonly stats: ChannelStats = { kicks: 0, runs: 0, notifications: 0 };
  private scheduled = false;
  private running = false;
  private again = false;
  private work: (() => void) | null = null;
  /** Called once when the device is stopped (ctx.onFatal; the xenbus layer may replace it). */
  onFatal: ((reason: string) => void) | undefined;

  constructor(readonly ctx: BackendContext, readonly name: string) {
    this.onFatal = ctx.onFatal;
  }

  /** Whether rings and port are live. */
  get connected(): boolean {
    return this.port > 0 && this.stopped === null;
  }

  /**
   * Map each of `refs` writable from the frontend and bind `remotePort`, running `work` on
   * every kick. Returns null, or an error message (nothing is left mapped or bound then).
   */
  connect(refs: number[], remotePort: number, work: () => void): string | null {
    this.disconnect();
    this.stopped = null;
    const fe = this.ctx.frontendDomid;
    for (const ref of refs) {
      const r = this.ctx.grants.map(fe, ref, false);
      if (r.status !== GNTST_okay || !r.mapping) {
        this.disconnect();
        return `${this.name}: cannot map ring grant ref ${ref} of d${fe} (GNTST ${r.status})`;
      }
      this.pages.push(r.mapping);
    }
    this.work = work;
    const port = this.ctx.events.hostBindInterdomain(fe, remotePort, () => this.kick());
    if (port < 0) {
      this.work = null;
      this.disconnect();
      return `${this.name}: cannot bind event channel ${remotePort} of d${fe} (errno ${-port})`;
    }
    this.port = port;
    return null;
  }

  /** A notification from the frontend (also callable by the VMM or a test). */
  kick(): void {
    this.stats.kicks++;
    if (!this.connected || !this.work) return;
    const sched = this.ctx.schedule;
    if (!sched) {
      this.run();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    sched(() => {
      this.scheduled = false;
      this.run();
    });
  }

  /** Run the work now (coalescing re-entrant kicks into at most MAX_RERUNS more passes). */
  run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      for (let i = 0; i <= MAX_RERUNS; i++) {
        this.again = false;
        if (!this.connected || !this.work) break;
        this.stats.runs++;
        this.work();
        if (!this.again) break;
      }
    } finally {
      this.running = false;
    }
  }

  /** Notify the frontend (one EVTCHNOP_send from Dom0). */
  notify(): void {
    if (this.port <= 0) return;
    this.stats.notifications++;
    this.ctx.events.hostNotify(this.port);
  }

  /** Stop the device for a protocol error: disconnect, remember why, tell onFatal once. */
  stop(reason: string): void {
    if (this.stopped !== null) return;
    this.disconnect();
    this.stopped = `${this.name}: ${reason}`;
    this.onFatal?.(this.stopped);
  }

  /** Unmap the rings and close the port (idempotent). */
  disconnect(): void {
    for (const p of this.pages) if (p.live) this.ctx.grants.unmap(p);
    this.pages = [];
    if (this.port > 0) this.ctx.events.hostClose(this.port);
    this.port = 0;
  }

  /** Plain-data state. */
  snapshot(): ChannelSnapshot {
    return { ringHandles: this.pages.map((p) => p.handle), port: this.port, stopped: this.stopped, stats: { ...this.stats } };
  }
}
