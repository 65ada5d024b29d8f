// The FP context status (privileged spec §3.1.6.6 "Extension Context Status in mstatus"; with
// the H extension §8.2.11: when V = 1 both mstatus.FS and vsstatus.FS are in effect).
// Used by the F/D executor (fp/exec.ts) and by the fcsr/frm/fflags CSRs (csr.ts).

import { S_MSTATUS, S_VSSTATUS } from '../abi';
import { virt, rd64, wr64, MSTATUS_FS, MSTATUS_SD } from '../state';

/** FP instructions and fcsr may be used: FS != Off (both FS fields when V = 1). */
export function fpEnabled(): bool {
  if ((rd64(S_MSTATUS) & MSTATUS_FS) == 0) return false;
  return !virt || (rd64(S_VSSTATUS) & MSTATUS_FS) != 0;
}

/** The FP state was modified: FS = Dirty and SD = 1; in vsstatus too when V = 1. */
export function fpDirty(): void {
  const ms = rd64(S_MSTATUS);
  if ((ms & MSTATUS_FS) != MSTATUS_FS) wr64(S_MSTATUS, ms | MSTATUS_FS | MSTATUS_SD);
  if (virt) {
    const vs = rd64(S_VSSTATUS);
    if ((vs & MSTATUS_FS) != MSTATUS_FS) wr64(S_VSSTATUS, vs | MSTATUS_FS | MSTATUS_SD);
  }
}

/** A status value with SD = (FS == Dirty): SD summarizes FS (no XS or VS state here). */
@inline export function withSD(v: u64): u64 {
  return (v & MSTATUS_FS) == MSTATUS_FS ? v | MSTATUS_SD : v & ~MSTATUS_SD;
}
