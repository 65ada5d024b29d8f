// Time: mtime (the CLINT's 10 MHz counter, also the `time` CSR) is derived from retired
// instructions: mtime = TIME_OFFSET + (instret >> TIME_SHIFT). In deterministic mode the host
// leaves TIME_OFFSET alone (a run is reproducible); otherwise it moves TIME_OFFSET forward
// between run() calls so that mtime follows the wall clock. mtime never goes backwards.
//
// Timer interrupts: MTIP = mtime >= mtimecmp (CLINT); with Sstc (menvcfg.STCE),
// STIP = mtime >= stimecmp; for a guest (henvcfg.STCE, §8.2.2 of the H extension),
// VSTIP = mtime + htimedelta >= vstimecmp (henvcfg.STCE counts only with menvcfg.STCE). Rather than compare on every block, the core
// computes the instruction count at which the earliest of them becomes due (nextTimerIcount).

import {
  S_TIME_OFFSET, S_TIME_SHIFT, S_MTIMECMP, S_STIMECMP, S_MENVCFG, S_HENVCFG, S_HTIMEDELTA,
  S_VSTIMECMP,
} from './abi';
import { icount, rd64, MIP_MTIP, MIP_STIP, MIP_VSTIP } from './state';

const STCE: u64 = 1 << 63;

/** Current mtime in ticks. */
@inline export function mtime(): u64 {
  return rd64(S_TIME_OFFSET) + (icount >> rd64(S_TIME_SHIFT));
}

/** MTIP, STIP (Sstc) and VSTIP (guest Sstc) as the timers drive them now. */
export function timerPendingBits(): u64 {
  const t = mtime();
  let bits: u64 = 0;
  if (t >= rd64(S_MTIMECMP)) bits |= MIP_MTIP;
  if ((rd64(S_MENVCFG) & STCE) != 0 && t >= rd64(S_STIMECMP)) bits |= MIP_STIP;
  if ((rd64(S_HENVCFG) & rd64(S_MENVCFG) & STCE) != 0 && t + rd64(S_HTIMEDELTA) >= rd64(S_VSTIMECMP)) bits |= MIP_VSTIP;
  return bits;
}

/** Instruction count at which mtime reaches `cmp` (u64 max when never, 0 when now). */
function icountAt(cmp: u64): u64 {
  const off = rd64(S_TIME_OFFSET);
  const shift = rd64(S_TIME_SHIFT);
  if (cmp <= off) return 0;
  const ticks = cmp - off;
  if (ticks >= (<u64>1 << (63 - shift))) return 0xffffffffffffffff;
  return ticks << shift;
}

/** The instruction count at which the next timer interrupt becomes pending. */
export function nextTimerIcount(): u64 {
  let at = icountAt(rd64(S_MTIMECMP));
  if ((rd64(S_MENVCFG) & STCE) != 0) {
    const s = icountAt(rd64(S_STIMECMP));
    if (s < at) at = s;
  }
  if ((rd64(S_HENVCFG) & rd64(S_MENVCFG) & STCE) != 0) {
    // vstimecmp compares with mtime + htimedelta (wrapping, as the guest's time does).
    const vs = icountAt(rd64(S_VSTIMECMP) - rd64(S_HTIMEDELTA));
    if (vs < at) at = vs;
  }
  return at;
}
