/*
 * mprv.c - mstatus.MPRV (M-mode loads and stores translated and checked as
 * MPP; fetches not) and the trap-virtualization bits TVM, TW and TSR
 * (privileged spec 1.12 §3.1.6.3, §3.1.6.5).
 *
 * Sv39 mapping: RAM identity for S (2 MiB, S RWX), and at TV = 0x40000000
 *   page 0  S R W   test_pages[0]
 *   page 1  U R W   test_pages[1]
 *   page 2  S R     test_pages[2]
 */
#include "priv.h"

#define TV 0x40000000UL
#define VA(page) (TV + (uint64_t)(page) * PAGE)

/*
 * mprv_ld(va, bits) / mprv_sd(va, bits, v): set MPRV|MPP (bits), do the
 * access, clear them again. Nothing between the two csr writes touches
 * memory, so the C code around never runs with MPRV set. If the access
 * traps, the handler's mret leaves MPRV set and MPP = U; the csrc that
 * follows clears MPRV. These fetches come from S-only pages while MPP may
 * be U: they work only because MPRV does not apply to fetches.
 */
__asm__(
    ".option push\n"
    ".option norvc\n"
    ".text\n"
    ".balign 4\n"
    ".globl mprv_ld_insn\n"
    "mprv_ld:\n"
    "   li t0, 0x1800\n"
    "   csrc mstatus, t0\n"
    "   csrs mstatus, a1\n"
    "mprv_ld_insn:\n"
    "   ld a0, 0(a0)\n"
    "   csrc mstatus, a1\n"
    "   ret\n"
    "mprv_sd:\n"
    "   li t0, 0x1800\n"
    "   csrc mstatus, t0\n"
    "   csrs mstatus, a1\n"
    "   sd a2, 0(a0)\n"
    "   csrc mstatus, a1\n"
    "   ret\n"
    ".globl probe_satp_insn, probe_sfence_insn, probe_wfi_insn, probe_sret_insn\n"
    "probe_satp:\n"
    "probe_satp_insn:\n"
    "   csrr a0, satp\n"
    "   ret\n"
    "probe_sfence:\n"
    "probe_sfence_insn:\n"
    "   sfence.vma\n"
    "   ret\n"
    "probe_wfi:\n"
    "probe_wfi_insn:\n"
    "   wfi\n"
    "   ret\n"
    "probe_sret:\n"
    "probe_sret_insn:\n"
    "   sret\n"
    "   ret\n"
    ".option pop\n");
uint64_t mprv_ld(uint64_t va, uint64_t bits);
uint64_t mprv_sd(uint64_t va, uint64_t bits, uint64_t v);
uint64_t probe_satp(void);
uint64_t probe_sfence(void);
uint64_t probe_wfi(void);
uint64_t probe_sret(void);
extern char mprv_ld_insn[], probe_satp_insn[], probe_sfence_insn[],
    probe_wfi_insn[], probe_sret_insn[];

#define AS_S (MSTATUS_MPRV | MSTATUS_MPP_S)
#define AS_U (MSTATUS_MPRV)

static void check_fault(const char *what, uint64_t cause, uint64_t epc,
                        uint64_t tval)
{
    CHECK_EQ(what, mtrap.count, 1);
    CHECK_EQ("cause", mtrap.cause, cause);
    CHECK_EQ("mepc", mtrap.epc, epc);
    CHECK_EQ("mtval", mtrap.tval, tval);
    trap_reset();
}

static void build(void)
{
    uint64_t *root = pt_new_root();
    pt_map_ram(root, 3);
    pt_map(root, 3, VA(0), (uint64_t)test_pages[0], 0,
           PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    pt_map(root, 3, VA(1), (uint64_t)test_pages[1], 0,
           PTE_V | PTE_U | PTE_R | PTE_W | PTE_A | PTE_D);
    pt_map(root, 3, VA(2), (uint64_t)test_pages[2], 0,
           PTE_V | PTE_R | PTE_A);
    for (int i = 0; i < 3; i++)
        ((uint64_t *)test_pages[i])[1] = 0x1000 + i;
    csr_write(satp, SATP_SV39 | ((uint64_t)root >> 12));
    sfence_all();
}

static void mprv_translate(void)
{
    group_begin("MPRV=1: M loads/stores use MPP's translation, fetches do not");
    CHECK_EQ("MPP=S load", mprv_ld(VA(0) + 8, AS_S), 0x1000);
    mprv_sd(VA(0) + 16, AS_S, 0x77);
    CHECK_EQ("MPP=S store landed", ((uint64_t *)test_pages[0])[2], 0x77);
    CHECK_EQ("MPP=U load U page", mprv_ld(VA(1) + 8, AS_U), 0x1001);
    mprv_sd(VA(1) + 16, AS_U, 0x78);
    CHECK_EQ("MPP=U store landed", ((uint64_t *)test_pages[1])[2], 0x78);
    CHECK_EQ("traps", mtrap.count, 0);
    CHECK_EQ("MPRV cleared", csr_read(mstatus) & MSTATUS_MPRV, 0);
    group_end();
}

static void mprv_checks(void)
{
    group_begin("MPRV=1: permission checks as MPP (U, SUM, R-only)");
    mprv_ld(VA(0), AS_U);
    check_fault("MPP=U load S page", CAUSE_LOAD_PAGE, (uint64_t)mprv_ld_insn,
                VA(0));
    mprv_ld(VA(1), AS_S);
    check_fault("MPP=S load U page, SUM=0", CAUSE_LOAD_PAGE,
                (uint64_t)mprv_ld_insn, VA(1));
    CHECK_EQ("MPP=S load U page, SUM=1",
             mprv_ld(VA(1) + 8, AS_S | MSTATUS_SUM), 0x1001);
    CHECK_EQ("traps", mtrap.count, 0);
    mprv_sd(VA(2) + 8, AS_S, 1);
    CHECK_EQ("MPP=S store R page", mtrap.cause, CAUSE_STORE_PAGE);
    CHECK_EQ("mtval", mtrap.tval, VA(2) + 8);
    CHECK_EQ("MPP on entry (from M)", MPP_OF(mtrap.status), PRV_M);
    CHECK_EQ("page 2 unchanged", ((uint64_t *)test_pages[2])[1], 0x1002);
    CHECK_EQ("MPRV cleared", csr_read(mstatus) & MSTATUS_MPRV, 0);
    group_end();
}

static void tvm(void)
{
    group_begin("TVM=1: satp access and sfence.vma in S are illegal");
    CHECK_EQ("satp in S, TVM=0", RUN(PRV_S, probe_satp, 0x99, 0), 0);
    RUN(PRV_S, probe_sfence, 0, 0);
    CHECK_EQ("sfence.vma in S, TVM=0", mtrap.count, 0);
    csr_set(mstatus, MSTATUS_TVM);
    RUN(PRV_S, probe_satp, 0x99, 0);
    check_fault("satp in S", CAUSE_ILLEGAL, (uint64_t)probe_satp_insn,
                0x18002573);
    RUN(PRV_S, probe_sfence, 0, 0);
    check_fault("sfence.vma in S", CAUSE_ILLEGAL, (uint64_t)probe_sfence_insn,
                0x12000073);
    CHECK_EQ("satp in M, TVM=1", probe_satp(), 0);
    CHECK_EQ("traps", mtrap.count, 0);
    csr_clear(mstatus, MSTATUS_TVM);
    group_end();
}

static void tw(void)
{
    group_begin("TW=1: wfi in S is illegal; wfi in U is illegal");
    csr_set(mstatus, MSTATUS_TW);
    RUN(PRV_S, probe_wfi, 0, 0);
    check_fault("wfi in S", CAUSE_ILLEGAL, (uint64_t)probe_wfi_insn,
                0x10500073);
    csr_clear(mstatus, MSTATUS_TW);
    /* §3.3.3: with S-mode present, QEMU 7.2 traps U's wfi at once. */
    RUN(PRV_U, probe_wfi, 0, 0);
    check_fault("wfi in U", CAUSE_ILLEGAL, (uint64_t)probe_wfi_insn,
                0x10500073);
    group_end();
}

static void tsr(void)
{
    group_begin("TSR=1: sret in S is illegal; sret in U is illegal");
    csr_set(mstatus, MSTATUS_TSR);
    RUN(PRV_S, probe_sret, 0, 0);
    check_fault("sret in S", CAUSE_ILLEGAL, (uint64_t)probe_sret_insn,
                0x10200073);
    csr_clear(mstatus, MSTATUS_TSR);
    RUN(PRV_U, probe_sret, 0, 0);
    check_fault("sret in U", CAUSE_ILLEGAL, (uint64_t)probe_sret_insn,
                0x10200073);
    group_end();
}

int main(long hartid, void *dtb)
{
    (void)hartid;
    (void)dtb;
    priv_init();
    build();
    mprv_translate();
    mprv_checks();
    csr_write(satp, 0);
    sfence_all();
    tvm();
    tw();
    tsr();
    return check_report("mprv");
}
