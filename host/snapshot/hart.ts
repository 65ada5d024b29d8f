/**
 * The HART section: the hart's state region (assembly/abi.ts STATE: x0..x31, f0..f31, fcsr, pc,
 * privilege, every M/S CSR, the H extension's CSRs, mtimecmp, the device interrupt lines, the time
 * fields) and the VMCS region (the vCPU's guest state and controls), saved as two byte regions
 * with a layout fingerprint rather than field by field: the fingerprint is a CRC-32 of every
 * S_* and VM_* offset of abi.ts, so a snapshot from a build whose layout differs is refused
 * instead of being loaded into the wrong slots.
 *
 * What is not state but a cache, and so is not saved and is flushed on restore (flushAll): the
 * TLBs, the context table, the G-stage page-walk cache, the BT cache (decoded blocks, chains) and
 * every JIT-compiled region. What comes from the command line, not the snapshot: the JIT
 * settings (S_JIT_*) and the page-walk log switch (S_WALK_LOG_ON).
 */
import * as A from '../../assembly/abi';
import type { HartState } from '../machine/hart';
import { applyJitConfig } from '../machine/jit';
import type { JitConfig } from '../machine/types';
import { crc32, SectionReader, SectionWriter, SnapshotError } from './format';

/**
 * CRC-32 of the names and values of abi.ts's state and VMCS offsets (sorted by name). Computed on
 * first use, not when the module loads: every CLI start loads this module, few take a snapshot
 * (it cost 10-20 ms of each start-up on a loaded machine; docs/performance.md).
 */
let layoutCrc: number | undefined;
export function hartLayout(): number {
  return (layoutCrc ??= (() => {
    const entries = Object.entries(A as Record<string, unknown>)
      .filter(([k, v]) => /^(S_|VM_|STATE_SIZE$|VMCS_SIZE$)/.test(k) && typeof v === 'number')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return crc32(new TextEncoder().encode(entries.map(([k, v]) => `${k}=${v as number}`).join(';')));
  })());
}

export const HART_VERSION = 1;

/** Write the state and VMCS regions. */
export function saveHart(w: SectionWriter, memory: WebAssembly.Memory): void {
  w.u32(hartLayout());
  w.blob(new Uint8Array(memory.buffer, A.STATE, A.STATE_SIZE));
  w.blob(new Uint8Array(memory.buffer, A.VMCS, A.VMCS_SIZE));
}

/** Load the regions into `memory`, keeping the target's JIT settings and walk-log switch. */
export function loadHart(r: SectionReader, memory: WebAssembly.Memory, hart: HartState, jit: JitConfig): void {
  const layout = r.u32();
  if (layout !== hartLayout()) {
    throw new SnapshotError(r.file, `hart state layout 0x${layout.toString(16)} differs from this build's 0x${hartLayout().toString(16)} (snapshot from another version of wasmvisor)`);
  }
  const state = r.blob();
  const vmcs = r.blob();
  if (state.length !== A.STATE_SIZE || vmcs.length !== A.VMCS_SIZE) {
    throw new SnapshotError(r.file, `hart state regions of ${state.length} and ${vmcs.length} bytes, expected ${A.STATE_SIZE} and ${A.VMCS_SIZE}`);
  }
  r.end();
  const u64 = new BigUint64Array(memory.buffer, A.STATE, A.STATE_SIZE / 8);
  const walkLog = u64[A.S_WALK_LOG_ON / 8];
  new Uint8Array(memory.buffer, A.STATE, A.STATE_SIZE).set(state);
  new Uint8Array(memory.buffer, A.VMCS, A.VMCS_SIZE).set(vmcs);
  u64[A.S_WALK_LOG_ON / 8] = walkLog;
  applyJitConfig(hart, jit);
}
