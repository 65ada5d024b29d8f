/**
 * The vif sections of a Xen DomU's save file (xen.ts; docs/snapshot.md "Xen domains",
 * docs/xen/backends.md "Save, restore and migration of a vif"):
 *
 *   XBKD vifN     JSON: netback of vif N: connected?, our private indices of the tx and rx
 *                 rings (req_cons, rsp_prod_pvt, the rsp_prod last pushed, broken), its MAC
 *
 * As for blkback (xen.ts's header): the two ring pages and every buffer the frontend granted
 * are guest RAM and come back with it, so the rx buffers the frontend had posted are still on
 * the rx ring past our req_cons; the restored backend maps the rings again from the frontend's
 * XenStore keys (tx-ring-ref, rx-ring-ref, event-channel, feature-sg) and binds a new Dom0 port
 * to the same guest port (Netback.resume). The MAC is kept: a vif without `mac=` in xl.cfg got
 * a default one naming the old domid, and the guest and the bridges know it by that MAC.
 *
 * Frames in flight are dropped, as on a real link across a migration: netback holds no frame
 * between two runs (tx packets go to the bridge inside the frontend's notification; rx frames
 * are copied into posted buffers as they arrive, or dropped for want of one), so a save loses
 * no frame the guest sent or received before it. Frames that reach the source's copy after the
 * save (into its RAM, which is not sent again) or that find no vif while the domain moves are
 * lost; the guest's protocols retransmit, as they do over any lossy Ethernet. Once restored, the
 * toolstack announces the MAC on the target's bridge (Netback.announce: a RARP broadcast, as
 * QEMU's announce_self), so learning bridges, across uplinks too, send its frames to the new
 * place at once rather than after their entries age out.
 */
import type { NetbackSnapshot } from '../xen/backends/netback';
import type { BackRingSnapshot } from '../xen/backends/ring';
import { parseMac } from '../xen/backends/bridge';
import type { VifResumeState } from '../xen/devices';
import type { DomainCfg } from '../xen/toolstack/cfg';
import { SnapshotError } from './format';

/** The XBKD vifN section of a vif, from its attached device's snapshot() ({ xenbus, driver }). */
export function vifResumeState(snapshot: unknown): VifResumeState {
  const s = snapshot as { xenbus: { connected: boolean }; driver: NetbackSnapshot };
  if (s.driver.mac === null) throw new Error('a vif without a MAC cannot be saved'); // attachVif always gives one
  const connected = s.xenbus.connected && s.driver.channel.stopped === null && s.driver.tx !== null && s.driver.rx !== null;
  return { connected, tx: connected ? s.driver.tx : null, rx: connected ? s.driver.rx : null, mac: s.driver.mac };
}

function isRing(r: unknown): r is BackRingSnapshot {
  const x = r as BackRingSnapshot;
  return typeof x === 'object' && x !== null && [x.reqCons, x.rspProdPvt, x.rspPushed].every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff) &&
    (x.broken === null || typeof x.broken === 'string');
}

/**
 * The vif states of a save, by devid (vif i of cfg.vifs is devid i), checked: `read(name)` gives
 * section XBKD:name's JSON (and throws SnapshotError when it is missing).
 */
export function readVifStates(file: string, cfg: DomainCfg, read: (name: string) => unknown): Map<number, VifResumeState> {
  const out = new Map<number, VifResumeState>();
  cfg.vifs.forEach((_, devid) => {
    const v = read(`vif${devid}`) as VifResumeState;
    const ok = typeof v === 'object' && v !== null && typeof v.connected === 'boolean' && typeof v.mac === 'string' && parseMac(v.mac) !== undefined &&
      (v.connected ? isRing(v.tx) && isRing(v.rx) : v.tx === null && v.rx === null);
    if (!ok) throw new SnapshotError(file, `section XBKD:vif${devid} holds malformed data (corrupt snapshot)`);
    out.set(devid, v);
  });
  return out;
}
