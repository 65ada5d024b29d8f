/*
 * counters.c - Zicntr counters and their gating (privileged spec 1.12
 * §3.1.10-§3.1.12 mcycle/minstret/mcounteren, §4.1.5 scounteren;
 * unprivileged spec "Zicntr").
 *
 * QEMU 7.2 without -icount derives cycle and instret from the host's tick
 * counter, not from retired instructions, so no exact instruction delta can
 * be asserted: the checks are "readable", "monotonic", "strictly grows
 * over a straight-line run of nops" and "a written value is the floor".
 * time is the CLINT mtime.
 */
#include "priv.h"

#define COUNTEREN_CY (1UL << 0)
#define COUNTEREN_TM (1UL << 1)
#define COUNTEREN_IR (1UL << 2)

/* Reads of each counter as separate 4-byte probes, for mtval checks. */
__asm__(
    ".option push\n"
    ".option norvc\n"
    ".text\n"
    ".balign 4\n"
    "probe_time:   csrr a0, time\n"
    "              ret\n"
    "probe_cycle:  csrr a0, cycle\n"
    "              ret\n"
    "probe_instret: csrr a0, instret\n"
    "              ret\n"
    "probe_wtime:  csrw time, a0\n"
    "              ret\n"
    /* instret, 100 nops, instret: returns the difference. */
    "nops_delta:   csrr t0, minstret\n"
    "              .rept 100\n"
    "              nop\n"
    "              .endr\n"
    "              csrr a0, minstret\n"
    "              sub a0, a0, t0\n"
    "              ret\n"
    ".option pop\n");
uint64_t probe_time(void);
uint64_t probe_cycle(void);
uint64_t probe_instret(void);
uint64_t probe_wtime(uint64_t v);
uint64_t nops_delta(void);

#define INSN_TIME    0xc0102573UL  /* csrr a0, time */
#define INSN_CYCLE   0xc0002573UL  /* csrr a0, cycle */
#define INSN_INSTRET 0xc0202573UL  /* csrr a0, instret */

static uint64_t mtime(void) { return mmio_read64(CLINT_MTIME); }

static void check_illegal(const char *what, uint64_t insn)
{
    CHECK_EQ(what, mtrap.count, 1);
    CHECK_EQ("cause", mtrap.cause, CAUSE_ILLEGAL);
    CHECK_EQ("mtval", mtrap.tval, insn);
    trap_reset();
}

static void in_m(void)
{
    uint64_t m1, t, m2, a, b;
    group_begin("M: time between two mtime reads; cycle, instret grow");
    m1 = mtime();
    t = probe_time();
    m2 = mtime();
    CHECK_EQ("mtime <= time", m1 <= t, 1);
    CHECK_EQ("time <= mtime", t <= m2, 1);
    a = probe_cycle();
    b = probe_cycle();
    CHECK_EQ("cycle monotonic", b >= a, 1);
    a = probe_instret();
    b = probe_instret();
    CHECK_EQ("instret monotonic", b >= a, 1);
    /* Not exact on QEMU 7.2 (host ticks); must grow over 100 nops. */
    CHECK_EQ("minstret grows over 100 nops", nops_delta() > 0, 1);
    probe_wtime(5);
    check_illegal("write to time", 0xc0151073UL);
    group_end();
}

static void writable(void)
{
    uint64_t v;
    group_begin("minstret/mcycle writable: value read back is at least the one written");
    csr_write(minstret, 1UL << 40);
    v = csr_read(minstret);
    CHECK_EQ("minstret >= written", v >= (1UL << 40), 1);
    CHECK_EQ("minstret near written", v - (1UL << 40) < (1UL << 32), 1);
    CHECK_EQ("instret alias", probe_instret() >= (1UL << 40), 1);
    csr_write(mcycle, 1UL << 41);
    v = csr_read(mcycle);
    CHECK_EQ("mcycle >= written", v >= (1UL << 41), 1);
    CHECK_EQ("mcycle near written", v - (1UL << 41) < (1UL << 32), 1);
    group_end();
}

static void gate_s(void)
{
    uint64_t m1, t, m2;
    group_begin("mcounteren gates S: CY/TM/IR clear -> illegal instruction");
    csr_write(mcounteren, 0);
    RUN(PRV_S, probe_time, 0, 0);
    check_illegal("time, TM=0", INSN_TIME);
    RUN(PRV_S, probe_cycle, 0, 0);
    check_illegal("cycle, CY=0", INSN_CYCLE);
    RUN(PRV_S, probe_instret, 0, 0);
    check_illegal("instret, IR=0", INSN_INSTRET);
    csr_write(mcounteren, COUNTEREN_CY | COUNTEREN_TM | COUNTEREN_IR);
    m1 = mtime();
    t = RUN(PRV_S, probe_time, 0, 0);
    m2 = mtime();
    CHECK_EQ("time in S", m1 <= t && t <= m2, 1);
    RUN(PRV_S, probe_cycle, 0, 0);
    RUN(PRV_S, probe_instret, 0, 0);
    CHECK_EQ("traps", mtrap.count, 0);
    /* Only TM: cycle still traps. */
    csr_write(mcounteren, COUNTEREN_TM);
    RUN(PRV_S, probe_cycle, 0, 0);
    check_illegal("cycle, only TM", INSN_CYCLE);
    group_end();
}

static void gate_u(void)
{
    group_begin("scounteren gates U under mcounteren");
    csr_write(mcounteren, COUNTEREN_CY | COUNTEREN_TM | COUNTEREN_IR);
    csr_write(scounteren, 0);
    RUN(PRV_U, probe_time, 0, 0);
    check_illegal("U time, scounteren.TM=0", INSN_TIME);
    csr_write(scounteren, COUNTEREN_TM);
    RUN(PRV_U, probe_time, 0, 0);
    CHECK_EQ("U time, both TM=1", mtrap.count, 0);
    RUN(PRV_U, probe_instret, 0, 0);
    check_illegal("U instret, scounteren.IR=0", INSN_INSTRET);
    csr_write(mcounteren, COUNTEREN_CY | COUNTEREN_IR);
    RUN(PRV_U, probe_time, 0, 0);
    check_illegal("U time, mcounteren.TM=0", INSN_TIME);
    csr_write(mcounteren, 0);
    csr_write(scounteren, 0);
    group_end();
}

int main(long hartid, void *dtb)
{
    (void)hartid;
    (void)dtb;
    priv_init();
    in_m();
    writable();
    gate_s();
    gate_u();
    return check_report("counters");
}
