/*
 * ramzero.c - every boot sees zeroed RAM, also after a reset (test/hostile/memory-rss.test.ts).
 *
 * The RAM it uses: from the end of the image to the device tree (a1), all of the first 4 MiB and
 * the first page of every MiB after them (touching all of it would make the host pay for all of
 * it, and the test also bounds the host's memory). On each boot it checks that this RAM reads as
 * zero and says so, then reads a console byte: 'r' writes a pattern there, reads it back and
 * resets the machine (test finisher 0x7777 on the bare machine; SBI SRST cold
 * reboot in a VM, SBI spec §10); 'q' ends the run (exit 0). The test types 'r', waits for the
 * second boot's report, then types 'q'.
 */
#include "guest.h"

extern char _end[];

#define SBI_EXT_SRST 0x53525354UL
#define DENSE  (4UL << 20) /* patterned densely */
#define STRIDE (1UL << 20) /* then one page per this */

static uint64_t pattern(uintptr_t a)
{
    return (uint64_t)a * 0x9e3779b97f4a7c15UL | 1;
}

enum { CHECK_ZERO, WRITE, CHECK_PATTERN };

/*
 * One pass over the RAM the test uses in [lo, hi): all of its first DENSE bytes, then the first
 * page of every STRIDE. Returns the first address that fails the check, or 0.
 */
static uintptr_t visit(uintptr_t lo, uintptr_t hi, int what)
{
    for (uintptr_t a = lo; a < hi; a += 8) {
        if (a >= lo + DENSE && (a & (STRIDE - 1)) >= 4096) {
            a = (a | (STRIDE - 1)) + 1 - 8; /* on to the next stride */
            continue;
        }
        volatile uint64_t *p = (volatile uint64_t *)a;
        if (what == WRITE)
            *p = pattern(a);
        else if (*p != (what == CHECK_ZERO ? 0 : pattern(a)))
            return a;
    }
    return 0;
}

static void reset_machine(void)
{
#ifdef BOARD_VM
    register long a0 __asm__("a0") = 1; /* SRST type: cold reboot */
    register long a1 __asm__("a1") = 0; /* reason: none */
    register long a6 __asm__("a6") = 0; /* FID 0: system_reset */
    register long a7 __asm__("a7") = SBI_EXT_SRST;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
#else
    *(volatile uint32_t *)TEST_BASE = 0x7777;
#endif
}

int main(long hartid, void *dtb)
{
    (void)hartid;
    uintptr_t lo = ((uintptr_t)_end + 4095) & ~4095UL;
    uintptr_t hi = (uintptr_t)dtb & ~4095UL;
    uintptr_t bad = visit(lo, hi, CHECK_ZERO);
    if (bad)
        con_printf("ramzero: %lu KiB: NOT zero at 0x%lx\n", (unsigned long)((hi - lo) >> 10), (unsigned long)bad);
    else
        con_printf("ramzero: %lu KiB: zero\n", (unsigned long)((hi - lo) >> 10));
    for (;;) {
        int c = con_getc();
        if (c == 'q')
            return 0;
        if (c != 'r')
            continue;
        visit(lo, hi, WRITE);
        bad = visit(lo, hi, CHECK_PATTERN);
        if (bad) {
            con_printf("ramzero: pattern lost at 0x%lx\n", (unsigned long)bad);
            return 1;
        }
        con_printf("ramzero: pattern written, reset\n");
        reset_machine();
        con_printf("ramzero: reset did not happen\n");
        return 1;
    }
}
