/*
 * wallclock.c - times a busy loop with the guest's own clock, for the host to hold it against
 * its wall clock (test/hostile/clock.test.ts).
 *
 * Reads the `time` CSR, prints "clock: start", then computes (a 64-bit LCG, hot code that the
 * JIT compiles) until `time` says SECONDS seconds have passed at the device tree's timebase
 * (10 MHz), prints "clock: end" and the ticks it measured. The M-mode build also reads mtime
 * through the CLINT at both ends (the MMIO path to the same clock). The host measures the time
 * between the two lines; guest time that follows the wall clock makes the two agree.
 */
#include "guest.h"

#define TIMEBASE 10000000UL
#define SECONDS  2
#define INNER    200000 /* LCG steps between reads of time: about 0.8 M instructions */

static uint64_t clint_mtime(void)
{
#ifdef BOARD_VM
    return 0; /* a VM has no CLINT */
#else
    return *(volatile uint64_t *)CLINT_MTIME;
#endif
}

int main(long hartid, void *dtb)
{
    (void)hartid;
    (void)dtb;
    uint64_t m0 = clint_mtime();
    uint64_t t0 = rdtime64();
    con_printf("clock: start\n");
    uint64_t x = 1, t;
    do {
        for (int i = 0; i < INNER; i++)
            x = x * 6364136223846793005UL + 1442695040888963407UL;
        t = rdtime64();
    } while (t - t0 < SECONDS * TIMEBASE);
    uint64_t m1 = clint_mtime();
    con_printf("clock: end\n");
    con_printf("clock: time %lu ticks, mtime %lu ticks (lcg %lx)\n", t - t0, m1 - m0, x);
    return 0;
}
