/*
 * runtime.c - exit, counters, test checks and the default trap report.
 */
#include "guest.h"

int guest_failures;

/* sifive,test0 finisher values (QEMU hw/misc/sifive_test.c). */
#define FINISHER_FAIL 0x3333
#define FINISHER_PASS 0x5555

void guest_exit(int code)
{
    uint32_t v = code == 0 ? FINISHER_PASS
                           : ((uint32_t)code << 16) | FINISHER_FAIL;
    mmio_write32(TEST_BASE, v);
    for (;;)
        __asm__ volatile("wfi");
}

uint64_t rdcycle64(void)
{
    uint64_t v;
    __asm__ volatile("rdcycle %0" : "=r"(v));
    return v;
}

uint64_t rdinstret64(void)
{
    uint64_t v;
    __asm__ volatile("rdinstret %0" : "=r"(v));
    return v;
}

uint64_t rdtime64(void)
{
    /* The time CSR (Zicntr) shadows the CLINT's mtime; QEMU virt provides it
     * in every mode, M-mode needs no mcounteren bit. */
    uint64_t v;
    __asm__ volatile("rdtime %0" : "=r"(v));
    return v;
}

int check_eq_u64(const char *name, uint64_t got, uint64_t want)
{
    if (got == want)
        return 1;
    con_printf("FAIL %s: got 0x%016lx want 0x%016lx\n", name, got, want);
    guest_failures++;
    return 0;
}

int check_report(const char *test)
{
    if (guest_failures == 0) {
        con_printf("PASS %s\n", test);
        return 0;
    }
    con_printf("FAIL %s (%d failures)\n", test, guest_failures);
    return 1;
}

/* Called by default_trap_entry (crt0.S) on its own stack; never returns. */
void default_trap_report(void)
{
    uint64_t cause, epc, tval;
    __asm__ volatile("csrr %0, mcause" : "=r"(cause));
    __asm__ volatile("csrr %0, mepc" : "=r"(epc));
    __asm__ volatile("csrr %0, mtval" : "=r"(tval));
    con_printf("unexpected trap: mcause=0x%lx mepc=0x%lx mtval=0x%lx\n",
               cause, epc, tval);
    guest_exit(99);
}
