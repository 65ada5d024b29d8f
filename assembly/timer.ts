// Time: mtime (the CLINT's 10 MHz counter, also the `time` CSR) in one of two models
// (docs/time.md, abi.ts S_TIME_*):
// - instruction time (TIME_MUL = 0; --deterministic): mtime = TIME_OFFSET + (instret >> TIME_SHIFT).
//   The host moves TIME_OFFSET only to skip idle time (WFI), so a run is reproducible.
// - wall time (TIME_MUL != 0; the default): at each entry the host publishes its monotonic clock
//   (TIME_OFFSET, at instret TIME_BASE) and an estimate of ticks per instruction (TIME_MUL,
//   32.32 fixed point); between entries the core extrapolates, and never past TIME_LIMIT, so
//   guest time cannot run ahead of the host's clock by more than the host allows, however fast
//   the guest runs. The host never publishes a time below one the guest may have seen.
// Both cost nothing per instruction: time is computed when it is read, and at event checks.
//
// Timer interrupts: MTIP = mtime >= mtimecmp (CLINT); with Sstc (menvcfg.STCE),
// STIP = mtime >= stimecmp; for a guest (henvcfg.STCE, §8.2.2 of the H extension),
// VSTIP = mtime + htimedelta >= vstimecmp (henvcfg.STCE counts only with menvcfg.STCE). Rather than compare on every block, the core
// computes the instruction count at which the earliest of them becomes due (nextTimerIcount).
// In wall time a deadline past TIME_LIMIT is not due before the host publishes again: run()
// returns at the end of its budget (a time slice), and the next entry re-derives it.

import {
  S_TIME_OFFSET, S_TIME_SHIFT, S_TIME_BASE, S_TIME_MUL, S_TIME_LIMIT, S_MTIMECMP, S_STIMECMP,
  S_MENVCFG, S_HENVCFG, S_HTIMEDELTA, S_VSTIMECMP,
} from './abi';
import { icount, rd64, MIP_MTIP, MIP_STIP, MIP_VSTIP } from './state';

const STCE: u64 = 1 << 63;
const NEVER: u64 = 0xffffffffffffffff;

/** Current mtime in ticks. */
@inline export function mtime(): u64 {
  const mul = rd64(S_TIME_MUL);
  if (mul == 0) return rd64(S_TIME_OFFSET) + (icount >> rd64(S_TIME_SHIFT));
  return wallTime(mul);
}

/** mtime in wall time: the host's last reading, extrapolated, capped at TIME_LIMIT. */
function wallTime(mul: u64): u64 {
  let d = icount - rd64(S_TIME_BASE);
  if (d > 0xffffffff) d = 0xffffffff; // (also a guest that wrote minstret backwards: the cap holds)
  const t = rd64(S_TIME_OFFSET) + ((d * mul) >> 32);
  const limit = rd64(S_TIME_LIMIT);
  return t < limit ? t : limit;
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

/** Instruction count at which mtime reaches `cmp` (NEVER when not before the next entry, 0 when now). */
function icountAt(cmp: u64): u64 {
  const off = rd64(S_TIME_OFFSET);
  const mul = rd64(S_TIME_MUL);
  if (mul == 0) {
    const shift = rd64(S_TIME_SHIFT);
    if (cmp <= off) return 0;
    const ticks = cmp - off;
    if (ticks >= (<u64>1 << (63 - shift))) return NEVER;
    return ticks << shift;
  }
  if (cmp <= off) return 0;
  if (cmp > rd64(S_TIME_LIMIT)) return NEVER;
  const ticks = cmp - off;
  if (ticks > 0xffffffff) return NEVER; // (the host keeps TIME_LIMIT - TIME_OFFSET far below this)
  // The least d with (d * mul) >> 32 >= ticks.
  const want = ticks << 32;
  let d = want / mul;
  if (d * mul < want) d++;
  return rd64(S_TIME_BASE) + d;
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
