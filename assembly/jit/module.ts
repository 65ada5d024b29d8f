// The frame of a region's WebAssembly module (WebAssembly core spec §5.5): its types, its
// imports (the host passes the core's exports as module "c" and the memory as env.memory) and
// its one exported function `f`, whose body emit.ts writes.

import * as W from './wasm';
import { regionBlocks, regionBlk } from './region';
import { B_COUNT, B_HDR, R_SIZE, R_OP } from '../abi';
import * as O from '../gen/isa';


export const F_REST: u32 = 0; // jitRest(block, record, block pc): the interpreter finishes the block
// --virt bt (btvirt.ts), imported only by a region that has such sites (other modules are as before):
/** btCsr(record, source) -> old value: a BT inline site. */
export let F_BTCSR: u32 = 0;
/** btCallout(record): a BT call-out's exit to the VMM. */
export let F_BTCALLOUT: u32 = 0;
/** Imported functions (jitRest, then btCsr and btCallout when used); the region's function comes next. */
export let funcImports: u32 = 1;
export const G_PC: u32 = 0;
export const G_ICOUNT: u32 = 1;
export const G_IRQ: u32 = 2;
export const G_EVENT: u32 = 3;
export const G_CTX: u32 = 4;
export const TY_REGION: u32 = 0;
export const TY_REST: u32 = 1;
export let TY_BTCSR: u32 = 0;
export let TY_BTCALLOUT: u32 = 0;
/**
 * 1 when the core's memory is shared (Node loads build/core.shared.wasm: scripts/shared-core.mjs
 * says why): the host sets it when it instantiates the core (host/machine/core.ts, exported as
 * jitSharedMemory), and every region's import of that memory must then be shared as well. An
 * import that is not shared refuses a shared memory and the reverse (threads proposal, memory
 * type limits flag 0x03: shared, which needs a maximum).
 */
export let sharedMemory: i32 = 0;
/** The largest maximum of a 32-bit memory in 64 KiB pages (a shared import's must bound the memory's). */
const MAX_PAGES: u32 = 65536;


function importFunc(n: string, ty: u32): void {
  W.name('c');
  W.name(n);
  W.byte(W.KIND_FUNC);
  W.u32leb(ty);
}
function importGlobal(n: string, t: u8): void {
  W.name('c');
  W.name(n);
  W.byte(W.KIND_GLOBAL);
  W.byte(t);
  W.byte(1); // mutable
}
function funcType(params: StaticArray<u8>, result: u8): void {
  W.byte(W.T_FUNC);
  W.u32leb(<u32>params.length);
  for (let i = 0; i < params.length; i++) W.byte(unchecked(params[i]));
  if (result == 0) W.u32leb(0);
  else { W.u32leb(1); W.byte(result); }
}

const P_NONE: StaticArray<u8> = [];
const P_REST: StaticArray<u8> = [W.T_I32, W.T_I32, W.T_I64];
const P_BTCSR: StaticArray<u8> = [W.T_I32, W.T_I64];
const P_BTCALLOUT: StaticArray<u8> = [W.T_I32];

export function header(): void {
  // magic and version (§5.5.16)
  W.byte(0); W.byte(0x61); W.byte(0x73); W.byte(0x6d);
  W.byte(1); W.byte(0); W.byte(0); W.byte(0);
  let s: usize;
  W.byte(W.SEC_TYPE);
  s = W.beginSized();
  W.u32leb(1 + funcImports);
  funcType(P_NONE, 0); // TY_REGION
  funcType(P_REST, 0); // TY_REST
  if (F_BTCSR != 0) funcType(P_BTCSR, W.T_I64); // TY_BTCSR
  if (F_BTCALLOUT != 0) funcType(P_BTCALLOUT, 0); // TY_BTCALLOUT
  W.endSized(s);
  W.byte(W.SEC_IMPORT);
  s = W.beginSized();
  W.u32leb(funcImports + 1 + 5);
  importFunc('jitRest', TY_REST);
  if (F_BTCSR != 0) importFunc('btCsr', TY_BTCSR);
  if (F_BTCALLOUT != 0) importFunc('btCallout', TY_BTCALLOUT);
  W.name('env');
  W.name('memory');
  W.byte(W.KIND_MEMORY);
  if (sharedMemory != 0) {
    W.byte(3); // limits: shared, min and max
    W.u32leb(0);
    W.u32leb(MAX_PAGES);
  } else {
    W.byte(0); // limits: min only
    W.u32leb(0);
  }
  importGlobal('pc', W.T_I64);
  importGlobal('icount', W.T_I64);
  importGlobal('irqCheck', W.T_I32);
  importGlobal('eventAt', W.T_I64);
  importGlobal('ctxData', W.T_I64);
  W.endSized(s);
  W.byte(W.SEC_FUNCTION);
  s = W.beginSized();
  W.u32leb(1);
  W.u32leb(TY_REGION);
  W.endSized(s);
  W.byte(W.SEC_EXPORT);
  s = W.beginSized();
  W.u32leb(1);
  W.name('f');
  W.byte(W.KIND_FUNC);
  W.u32leb(funcImports);
  W.endSized(s);
}


/**
 * The imports of the region's module: btCsr if it holds a BT inline site, btCallout if it holds a
 * call-out (each is its block's last record: both kinds end blocks), with a type each.
 */
export function regionImports(): void {
  let inline = false, callout = false;
  for (let b: u32 = 0; b < regionBlocks(); b++) {
    const blk = unchecked(regionBlk[b]);
    const n = load<u32>(blk, B_COUNT);
    const op = <u32>load<u16>(blk + <usize>B_HDR + <usize>(n - 1) * <usize>R_SIZE, R_OP);
    if (op == O.OP_BT_INLINE) inline = true;
    else if (op == O.OP_BT_CALLOUT) callout = true;
  }
  funcImports = 1;
  F_BTCSR = F_BTCALLOUT = 0;
  if (inline) { F_BTCSR = funcImports; TY_BTCSR = 1 + funcImports; funcImports++; }
  if (callout) { F_BTCALLOUT = funcImports; TY_BTCALLOUT = 1 + funcImports; funcImports++; }
}
