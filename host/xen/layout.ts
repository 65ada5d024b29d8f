/**
 * Where a DomU's hypervisor pages live, and how it learns where: the toolstack sets aside the
 * last frames of guest RAM, and describes them in a `/hypervisor` node of the guest's device
 * tree (as Xen on Arm does), with the same range under `/reserved-memory` so that a kernel
 * never allocates it. docs/xen/hypercalls.md has the whole picture.
 *
 *   end of RAM - 1 frame             shared-info page          (xen.h struct shared_info)
 *   below it, grantFrames frames     grant-table frames, in order (grant_table.h v1 entries)
 *   below them                       XenStore interface page   (io/xs_wire.h)
 *   below it                         PV console ring page      (io/console.h)
 *
 * The node (all numbers are guest frame numbers, i.e. guest-physical address >> 12):
 *
 *   hypervisor {
 *       compatible = "xen,xen-wasmvisor";
 *       wasmvisor,hypercall-eid = <0x0958454e>;    vendor SBI extension of the hypercalls
 *       xen,domid = <1>;
 *       xen,shared-info-gfn = <hi lo>;
 *       xen,grant-frames = <hi lo>...;             every reserved grant frame, in order
 *       xen,xenstore-gfn = <hi lo>;  xen,xenstore-evtchn = <port>;
 *       xen,console-gfn = <hi lo>;   xen,console-evtchn = <port>;
 *   };
 */
import type { Fdt } from '../machine/fdt';
import { FRAME_SHIFT } from './domain-memory';

/** Guest RAM starts here (the virt board; host/vmm/vm.ts GUEST_RAM_BASE). */
const RAM_BASE = 0x80000000n;
/** Most grant frames a domain may have (GrantTables allows 1..64). */
export const MAX_GRANT_FRAMES = 64;
/** Grant frames reserved when the configuration does not say (xl's default max_grant_frames is 64; 4 is plenty here). */
export const DEFAULT_GRANT_FRAMES = 4;
/** The `compatible` string of the /hypervisor node. */
export const XEN_DT_COMPATIBLE = 'xen,xen-wasmvisor';

/** The hypervisor frames of one DomU (guest frame numbers). */
export interface XenLayout {
  sharedInfoGfn: bigint;
  /** Grant-table frames, in table order. */
  grantGfns: bigint[];
  xenstoreGfn: bigint;
  consoleGfn: bigint;
  /** The lowest reserved frame and how many frames follow it (the /reserved-memory range). */
  firstGfn: bigint;
  frames: number;
}

/**
 * The layout for a domain of `memSize` bytes of RAM (a multiple of 4 KiB) with `grantFrames`
 * grant frames (1..64).
 */
export function xenLayout(memSize: number, grantFrames = DEFAULT_GRANT_FRAMES): XenLayout {
  if (!Number.isInteger(grantFrames) || grantFrames < 1 || grantFrames > MAX_GRANT_FRAMES) {
    throw new RangeError(`xen layout: ${grantFrames} grant frames, expected 1..${MAX_GRANT_FRAMES}`);
  }
  const end = (RAM_BASE + BigInt(memSize)) >> FRAME_SHIFT; // first frame past RAM
  const sharedInfoGfn = end - 1n;
  const grantGfns: bigint[] = [];
  for (let i = 0; i < grantFrames; i++) grantGfns.push(sharedInfoGfn - BigInt(grantFrames - i));
  const xenstoreGfn = grantGfns[0] - 1n;
  const consoleGfn = xenstoreGfn - 1n;
  return { sharedInfoGfn, grantGfns, xenstoreGfn, consoleGfn, firstGfn: consoleGfn, frames: Number(end - consoleGfn) };
}

/** What the /hypervisor node says besides the layout. */
export interface XenDtInfo {
  domid: number;
  hypercallEid: number;
  xenstoreEvtchn: number;
  consoleEvtchn: number;
}

/** Add `/hypervisor` and `/reserved-memory/xen@...` to a guest's tree (VmConfig.fdtExtra). */
export function addXenNodes(fdt: Fdt, layout: XenLayout, info: XenDtInfo): void {
  const hv = fdt.node('/hypervisor');
  hv.str('compatible', XEN_DT_COMPATIBLE);
  hv.u32('wasmvisor,hypercall-eid', info.hypercallEid);
  hv.u32('xen,domid', info.domid);
  hv.u64('xen,shared-info-gfn', layout.sharedInfoGfn);
  hv.u64('xen,grant-frames', ...layout.grantGfns);
  hv.u64('xen,xenstore-gfn', layout.xenstoreGfn).u32('xen,xenstore-evtchn', info.xenstoreEvtchn);
  hv.u64('xen,console-gfn', layout.consoleGfn).u32('xen,console-evtchn', info.consoleEvtchn);
  const base = layout.firstGfn << FRAME_SHIFT;
  const rm = fdt.node('/reserved-memory');
  rm.u32('#address-cells', 2).u32('#size-cells', 2).flag('ranges');
  rm.child(`xen@${base.toString(16)}`).u64('reg', base, BigInt(layout.frames) << FRAME_SHIFT).flag('no-map');
}
