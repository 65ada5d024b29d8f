/**
 * How a halted hart waits (WFI with nothing pending), shared by the bare machine and the VMM's
 * vCPU: with virtual (deterministic) time it jumps straight to the timer deadline; otherwise it
 * sleeps until the deadline, in slices of at most 20 ms, and input or stop() wake it early.
 * It never busy-waits.
 */

/** mtime frequency of the board (as QEMU virt). */
export const TIMEBASE_HZ = 10_000_000;
/** A timer compare value that never fires. */
export const NEVER = 0xffff_ffff_ffff_ffffn;

/** What a halted hart's wait depends on. */
export interface HaltWait {
  /** The timer's time now and the earliest enabled deadline (NEVER when none), in ticks. */
  now: bigint;
  due: bigint;
  /** Time follows retired instructions: advance it to the deadline instead of sleeping. */
  deterministic: boolean;
  /** Move the timer forward by `ticks` (deterministic mode). */
  advance(ticks: bigint): void;
  /** Console input is waiting: an interrupt may be due, do not sleep. */
  inputPending: boolean;
  /** Wall-clock limit of the run (performance.now() milliseconds). */
  deadline: number;
}

/** Sleeps a halted hart; `wake()` ends a sleep early (input, stop()). */
export class HaltSleeper {
  private wakeFn: (() => void) | undefined;

  /** End the current sleep, if any. */
  wake(): void {
    this.wakeFn?.();
  }

  /** Wait as `w` says (see the file comment). */
  async wait(w: HaltWait): Promise<void> {
    if (w.deterministic && w.due !== NEVER) {
      if (w.due > w.now) w.advance(w.due - w.now);
      return;
    }
    if (w.inputPending) return;
    const untilDue = w.due === NEVER ? Infinity : Number(w.due > w.now ? w.due - w.now : 0n) / (TIMEBASE_HZ / 1000);
    const ms = Math.min(untilDue, 20, Math.max(0, w.deadline - performance.now()));
    if (ms <= 0) return;
    const end = performance.now() + ms;
    await new Promise<void>((resolve) => {
      const done = () => { this.wakeFn = undefined; resolve(); };
      // libuv's timers count whole milliseconds on a clock it caches once per loop turn, so a
      // timer can fire up to a millisecond or so before `end` by performance.now(): sleep the
      // rest, so that one halt exit never stands for less than its sleep (test/vmm/exits.test.ts).
      let t: ReturnType<typeof setTimeout>;
      const arm = (d: number) => { t = setTimeout(() => { const left = end - performance.now(); if (left > 0) arm(left); else done(); }, d); };
      arm(ms);
      this.wakeFn = () => { clearTimeout(t); done(); };
    });
  }
}
