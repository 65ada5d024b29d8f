/*
 * dirty.c - a guest that keeps a steady store rate, for the live-migration benchmark
 * (bench/migration.ts): the same ELF runs on wasmvisor (--bare) and on QEMU (-bios none), so
 * both migrate the same RAM contents under the same dirty rate.
 *
 * It writes one word into every page from the end of its image to the device tree (a1; both
 * wasmvisor and QEMU put it near the top of RAM), so pre-copy has (almost) all of RAM to send
 * and no page is zero, then prints one line and dirties DIRTY_RATE pages per second of mtime
 * (CLINT, 10 MHz on both), round-robin over a working set of DIRTY_SET pages, for ever. The rate
 * is paced by mtime, not by instructions, so it is the same on a fast and a slow engine; the
 * guest spins between stores.
 */
#include "guest.h"

extern char _end[];

#ifndef DIRTY_RATE
#define DIRTY_RATE 4096UL /* pages per second (16 MiB/s) */
#endif
#ifndef DIRTY_SET
#define DIRTY_SET 4096UL /* pages (16 MiB) */
#endif
#define MTIME_HZ 10000000UL

int main(long hartid, void *dtb)
{
    (void)hartid;
    uintptr_t lo = ((uintptr_t)_end + 4095) & ~4095UL;
    uintptr_t hi = (uintptr_t)dtb & ~4095UL;
    unsigned long pages = (hi - lo) >> 12;
    for (uintptr_t a = lo; a < hi; a += 4096)
        *(volatile uint64_t *)a = a | 1;
    unsigned long set = pages < DIRTY_SET ? pages : DIRTY_SET;
    con_printf("dirty: %lu pages written, dirtying %lu pages/s over %lu\n", pages, DIRTY_RATE, set);
    uint64_t t0 = mmio_read64(CLINT_MTIME);
    uint64_t done = 0, k = 0;
    for (;;) {
        uint64_t due = (mmio_read64(CLINT_MTIME) - t0) * DIRTY_RATE / MTIME_HZ;
        for (; done < due; done++) {
            volatile uint64_t *p = (volatile uint64_t *)(lo + (k << 12) + ((done & 63) << 3));
            *p = done;
            if (++k == set)
                k = 0;
        }
    }
}
