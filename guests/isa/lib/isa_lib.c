/*
 * isa_lib.c - C helpers behind the ISA test macros (isa_macros.h).
 *
 * Every ISA test prints one line per case group ("<group>: ok" or
 * "<group>: <n> failures"), a "FAIL ..." line for each failing check (from
 * check_eq_u64), and finally "PASS <test>" or "FAIL <test> (<n> failures)".
 * Nothing printed depends on addresses or timing.
 */
#include "guest.h"

static const char *group_name;
static int group_start_failures;

/** Starts a case group; prints nothing until isa_group_end(). */
void isa_group_begin(const char *name)
{
    group_name = name;
    group_start_failures = guest_failures;
}

/** Ends the current group with its one summary line. */
void isa_group_end(void)
{
    int n = guest_failures - group_start_failures;
    if (n == 0)
        con_printf("%s: ok\n", group_name);
    else
        con_printf("%s: %d failures\n", group_name, n);
}

/* Builds "<name>/<what>" for the FAIL lines of a trap check. */
static const char *subname(char *buf, size_t size, const char *name, const char *what)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < size; p++)
        buf[n++] = *p;
    if (n + 1 < size)
        buf[n++] = '/';
    for (const char *p = what; *p && n + 1 < size; p++)
        buf[n++] = *p;
    buf[n] = '\0';
    return buf;
}

/**
 * Returns the instruction at `addr` as an illegal-instruction trap reports
 * it in mtval: 16 bits when its low two bits are not 0b11, else 32 bits.
 * Reads 16-bit halves so a 32-bit instruction at a 2-byte boundary is
 * never loaded misaligned.
 */
uint64_t isa_insn_bits(uint64_t addr)
{
    const volatile uint16_t *p = (const volatile uint16_t *)(uintptr_t)addr;
    uint32_t lo = p[0];
    if ((lo & 3) != 3)
        return lo;
    return lo | ((uint32_t)p[1] << 16);
}

/**
 * Checks that exactly one trap was recorded by trap_record_entry since the
 * last reset, with the given mcause, mepc and mtval, then resets the record.
 */
void isa_check_trap(const char *name, uint64_t cause, uint64_t epc, uint64_t tval)
{
    char buf[96];
    check_eq_u64(subname(buf, sizeof buf, name, "traps"), trap_count, 1);
    check_eq_u64(subname(buf, sizeof buf, name, "mcause"), trap_mcause, cause);
    check_eq_u64(subname(buf, sizeof buf, name, "mepc"), trap_mepc, epc);
    check_eq_u64(subname(buf, sizeof buf, name, "mtval"), trap_mtval, tval);
    trap_record_reset();
}

/** Checks that no trap was recorded since the last reset. */
void isa_check_no_trap(const char *name)
{
    char buf[96];
    check_eq_u64(subname(buf, sizeof buf, name, "traps"), trap_count, 0);
    trap_record_reset();
}
