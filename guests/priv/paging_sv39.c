/*
 * paging_sv39.c - Sv39 translation from S and U (privileged spec 1.12
 * §4.3 Sv32 rules as extended by §4.4 Sv39, §4.1.1 SUM/MXR, §4.2.1
 * sfence.vma).
 *
 * RAM is identity-mapped for S with 2 MiB pages (so S code, data and the
 * S trap stack work with satp on); test pages live at TV = 0x40000000:
 *
 *   page  va          flags (all V unless said)      backing
 *   0     TV+0x0000   S  R W      A D                test_pages[0]
 *   1     TV+0x1000   S  R        A                  test_pages[1]
 *   2     TV+0x2000   S      X    A   (ret5a code)   test_pages[2]
 *   3     TV+0x3000   U  R W      A D                test_pages[3]
 *   4     TV+0x4000   U  R   X    A   (U snippets)   test_pages[4]
 *   5     TV+0x5000   V=0                            test_pages[5]
 *   6     TV+0x6000   W without R (reserved)         test_pages[6]
 *   7     TV+0x7000   S  R W      A=0 D=0            test_pages[7]
 *   8     TV+0x8000   S  R   X    A=0 (ret5a code)   test_pages[8]
 *   9     TV+0x9000   S  R W      A D                test_pages[9], then [10]
 *   11    TV+0xb000   U  R W      A=0 D=0            test_pages[11]
 *   MP    TV+0x200000 2 MiB leaf, PPN not 2 MiB aligned (misaligned superpage)
 *   ALIAS TV+0x400000 2 MiB leaf at 0x80000000, S R   (good megapage)
 *
 * All traps go to M (medeleg = 0) except in the delegation group. The M
 * handler records mcause/mtval and skips the access, so a faulting probe
 * returns its argument unchanged.
 */
#include "priv.h"

#define TV 0x40000000UL
#define VA(page) (TV + (uint64_t)(page) * PAGE)
#define MP_VA (TV + 0x200000UL)
#define ALIAS_VA (TV + 0x400000UL)
#define LEVELS 3

/*
 * Snippets run from U at VA(4): U cannot fetch from the S-only RAM mapping,
 * so each ends with its own exit ecall instead of returning.
 */
__asm__(
    ".option push\n"
    ".option norvc\n"
    ".text\n"
    ".balign 4\n"
    "u_blob:\n"
    "u_ld:   ld a0, 0(a0)\n"
    "        li a7, 0x5e7\n"
    "        ecall\n"
    "u_sd:   sd a1, 0(a0)\n"
    "        li a7, 0x5e7\n"
    "        ecall\n"
    "u_exec: jalr ra, 0(a0)\n"
    "        li a7, 0x5e7\n"
    "        ecall\n"
    "u_ret:  li a0, 0x5a\n"
    "        ret\n"
    "u_blob_end:\n"
    ".option pop\n");
extern char u_blob[], u_ld[], u_sd[], u_exec[], u_ret[], u_blob_end[];
#define U_FN(sym) (VA(4) + (uint64_t)((sym) - u_blob))

static uint64_t *root;

static volatile uint64_t *pte(int page)
{
    return pt_entry(root, LEVELS, VA(page), 0);
}

static void fill(int page, uint64_t seed)
{
    uint64_t *p = (uint64_t *)test_pages[page];
    for (unsigned i = 0; i < PAGE / 8; i++)
        p[i] = seed + i;
}

static void build(void)
{
    static const uint64_t flags[12] = {
        [0] = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D,
        [1] = PTE_V | PTE_R | PTE_A,
        [2] = PTE_V | PTE_X | PTE_A,
        [3] = PTE_V | PTE_U | PTE_R | PTE_W | PTE_A | PTE_D,
        [4] = PTE_V | PTE_U | PTE_R | PTE_X | PTE_A,
        [5] = PTE_R | PTE_W | PTE_A | PTE_D,
        [6] = PTE_V | PTE_W | PTE_A | PTE_D,
        [7] = PTE_V | PTE_R | PTE_W,
        [8] = PTE_V | PTE_R | PTE_X,
        [9] = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D,
        [10] = 0,
        [11] = PTE_V | PTE_U | PTE_R | PTE_W,
    };
    root = pt_new_root();
    pt_map_ram(root, LEVELS);
    for (int i = 0; i < 12; i++) {
        fill(i, (uint64_t)i << 32);
        if (flags[i])
            pt_map(root, LEVELS, VA(i), (uint64_t)test_pages[i], 0, flags[i]);
    }
    copy_code(test_pages[2], (const void *)probe_ret5a, 8);
    copy_code(test_pages[8], (const void *)probe_ret5a, 8);
    copy_code(test_pages[4], u_blob, (size_t)(u_blob_end - u_blob));
    /* A 2 MiB leaf whose PPN[0] is not zero (test_pages[0] is only 4 KiB
     * aligned): §4.3.2 step 6, misaligned superpage -> page fault. */
    pt_map(root, LEVELS, MP_VA, (uint64_t)test_pages[0], 1,
           PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    pt_map(root, LEVELS, ALIAS_VA, 0x80000000UL, 1, PTE_V | PTE_R | PTE_A);
    csr_write(satp, SATP_SV39 | ((uint64_t)root >> 12));
    sfence_all();
}

/* Checks that the last access faulted into M with `cause` at `va`. */
static void check_fault(const char *what, uint64_t cause, uint64_t va)
{
    if (!CHECK_EQ(what, mtrap.count, 1))
        con_printf("  (%s)\n", what);
    CHECK_EQ("cause", mtrap.cause, cause);
    CHECK_EQ("mtval", mtrap.tval, va);
    trap_reset();
}

static void check_ok(const char *what)
{
    CHECK_EQ(what, mtrap.count, 0);
    trap_reset();
}

static uint64_t s_ld(uint64_t va) { return RUN(PRV_S, probe_ld, va, 0); }
static void s_sd(uint64_t va, uint64_t v) { RUN(PRV_S, probe_sd, va, v); }
static uint64_t s_exec(uint64_t va) { return RUN(PRV_S, probe_exec, va, 0); }
static uint64_t u_load(uint64_t va) { return RUN(PRV_U, U_FN(u_ld), va, 0); }
static void u_store(uint64_t va, uint64_t v) { RUN(PRV_U, U_FN(u_sd), va, v); }
static uint64_t u_run(uint64_t va) { return RUN(PRV_U, U_FN(u_exec), va, 0); }

static void s_basic(void)
{
    group_begin("S: load/store/fetch allowed by R/W/X, 2 MiB alias");
    CHECK_EQ("load RW page", s_ld(VA(0) + 8), 1);
    s_sd(VA(0) + 16, 0xabcdef);
    CHECK_EQ("store landed", ((uint64_t *)test_pages[0])[2], 0xabcdef);
    CHECK_EQ("load R page", s_ld(VA(1) + 24), (1UL << 32) + 3);
    CHECK_EQ("fetch X page", s_exec(VA(2)), 0x5a);
    CHECK_EQ("megapage alias",
             s_ld(ALIAS_VA + ((uint64_t)test_pages[3] - 0x80000000UL)),
             3UL << 32);
    check_ok("no traps");
    group_end();
}

static void s_perm(void)
{
    group_begin("S: store to R page 15, fetch from RW page 12, load X-only 13");
    s_sd(VA(1), 1);
    check_fault("store R", CAUSE_STORE_PAGE, VA(1));
    s_exec(VA(0) + 0x40);
    check_fault("fetch RW", CAUSE_FETCH_PAGE, VA(0) + 0x40);
    s_ld(VA(2) + 0x808);
    check_fault("load X", CAUSE_LOAD_PAGE, VA(2) + 0x808);
    CHECK_EQ("page 1 unchanged", ((uint64_t *)test_pages[1])[0], 1UL << 32);
    group_end();
}

static void u_access(void)
{
    group_begin("U: own pages work, S pages fault (13/15/12)");
    CHECK_EQ("load U page", u_load(VA(3) + 8), (3UL << 32) + 1);
    u_store(VA(3) + 8, 0x1234);
    CHECK_EQ("store landed", ((uint64_t *)test_pages[3])[1], 0x1234);
    CHECK_EQ("fetch U page", u_run(U_FN(u_ret)), 0x5a);
    check_ok("no traps");
    u_load(VA(0));
    check_fault("load S page", CAUSE_LOAD_PAGE, VA(0));
    u_store(VA(4) + 0x800, 1);
    check_fault("store U RX page", CAUSE_STORE_PAGE, VA(4) + 0x800);
    u_run(VA(2));
    check_fault("fetch S X page", CAUSE_FETCH_PAGE, VA(2));
    CHECK_EQ("exit MPP", MPP_OF(exit_status), PRV_U);
    group_end();
}

static void sum_mxr(void)
{
    group_begin("SUM: S access to U page; MXR: load from X-only page");
    s_ld(VA(3));
    check_fault("S load U, SUM=0", CAUSE_LOAD_PAGE, VA(3));
    s_sd(VA(3) + 8, 5);
    check_fault("S store U, SUM=0", CAUSE_STORE_PAGE, VA(3) + 8);
    csr_set(mstatus, MSTATUS_SUM);
    CHECK_EQ("S load U, SUM=1", s_ld(VA(3) + 16), (3UL << 32) + 2);
    s_sd(VA(3) + 8, 5);
    check_ok("S store U, SUM=1");
    CHECK_EQ("stored", ((uint64_t *)test_pages[3])[1], 5);
    s_exec(VA(4));
    check_fault("S fetch U page, SUM=1", CAUSE_FETCH_PAGE, VA(4));
    csr_clear(mstatus, MSTATUS_SUM);
    csr_set(mstatus, MSTATUS_MXR);
    CHECK_EQ("S load X-only, MXR=1", s_ld(VA(2) + 0x808), (2UL << 32) + 0x101);
    check_ok("MXR load");
    s_sd(VA(2) + 0x808, 1);
    check_fault("S store X-only, MXR=1", CAUSE_STORE_PAGE, VA(2) + 0x808);
    csr_clear(mstatus, MSTATUS_MXR);
    group_end();
}

static void bad_ptes(void)
{
    group_begin("faults: V=0, W without R, misaligned superpage, non-canonical");
    s_ld(VA(5));
    check_fault("V=0 load", CAUSE_LOAD_PAGE, VA(5));
    s_ld(VA(6) + 8);
    check_fault("W&!R load", CAUSE_LOAD_PAGE, VA(6) + 8);
    s_sd(VA(6) + 8, 1);
    check_fault("W&!R store", CAUSE_STORE_PAGE, VA(6) + 8);
    s_ld(MP_VA + 0x18);
    check_fault("misaligned superpage", CAUSE_LOAD_PAGE, MP_VA + 0x18);
    /* Bit 39 set, bit 38 clear: bits 63..39 must all equal bit 38 (§4.4.1). */
    s_ld(0x0000008000000000UL);
    check_fault("non-canonical", CAUSE_LOAD_PAGE, 0x0000008000000000UL);
    s_ld(0xffffffc000001000UL);  /* canonical, high half, unmapped */
    check_fault("unmapped high half", CAUSE_LOAD_PAGE, 0xffffffc000001000UL);
    u_load(VA(5) + 0x10);
    check_fault("V=0 load from U", CAUSE_LOAD_PAGE, VA(5) + 0x10);
    group_end();
}

static void ad_bits(void)
{
    uint64_t v;
    group_begin("A/D: set by the walk on first load, store and fetch");
    CHECK_EQ("page 7 starts A=0 D=0", *pte(7) & (PTE_A | PTE_D), 0);
    v = s_ld(VA(7) + 8);
    CHECK_EQ("load value", v, (7UL << 32) + 1);
    check_ok("load");
    CHECK_EQ("A after load", *pte(7) & (PTE_A | PTE_D), PTE_A);
    s_sd(VA(7) + 8, 9);
    check_ok("store");
    CHECK_EQ("A D after store", *pte(7) & (PTE_A | PTE_D), PTE_A | PTE_D);
    CHECK_EQ("stored", ((uint64_t *)test_pages[7])[1], 9);
    CHECK_EQ("fetch value", s_exec(VA(8)), 0x5a);
    check_ok("fetch");
    CHECK_EQ("A after fetch", *pte(8) & (PTE_A | PTE_D), PTE_A);
    u_store(VA(11) + 8, 3);
    check_ok("U store");
    CHECK_EQ("U page A D after store", *pte(11) & (PTE_A | PTE_D),
             PTE_A | PTE_D);
    group_end();
}

static void sfence(void)
{
    group_begin("sfence.vma: a changed PTE takes effect after the fence");
    CHECK_EQ("old page", s_ld(VA(9)), 9UL << 32);
    *pte(9) = (((uint64_t)test_pages[10] >> 12) << 10) |
              PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    sfence_all();
    CHECK_EQ("new page", s_ld(VA(9)), 10UL << 32);
    *pte(9) = 0;
    sfence_all();
    s_ld(VA(9));
    check_fault("unmapped after fence", CAUSE_LOAD_PAGE, VA(9));
    *pte(9) = (((uint64_t)test_pages[9] >> 12) << 10) |
              PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    sfence_all();
    group_end();
}

static void misaligned(void)
{
    group_begin("misaligned across pages: load R|RW ok, store into R page faults");
    /* VA(0)+0xffc..VA(1)+3: page 0 is RW, page 1 read-only. */
    uint64_t *p0 = (uint64_t *)test_pages[0], *p1 = (uint64_t *)test_pages[1];
    p0[511] = 0x2222222211111111UL;
    p1[0] = 0x4444444433333333UL;
    uint64_t v = s_ld(VA(0) + 0xffc);
    check_ok("load across");
    CHECK_EQ("value", v, 0x3333333322222222UL);
    /* §3.1.16 lets mtval hold the address of the part that faulted: QEMU
     * 7.2 reports the start of the second page and writes neither half. */
    s_sd(VA(0) + 0xffc, 0x5555555566666666UL);
    check_fault("store across", CAUSE_STORE_PAGE, VA(1));
    CHECK_EQ("first half not written", p0[511], 0x2222222211111111UL);
    CHECK_EQ("second half not written", p1[0], 0x4444444433333333UL);
    group_end();
}

static void delegated(void)
{
    group_begin("medeleg[13,15]: page faults taken in S with stval");
    csr_write(medeleg, (1UL << CAUSE_LOAD_PAGE) | (1UL << CAUSE_STORE_PAGE));
    s_ld(VA(5) + 0x20);
    CHECK_EQ("S traps", strap.count, 1);
    CHECK_EQ("scause", strap.cause, CAUSE_LOAD_PAGE);
    CHECK_EQ("stval", strap.tval, VA(5) + 0x20);
    CHECK_EQ("sepc", strap.epc, (uint64_t)probe_ld_insn);
    CHECK_EQ("SPP", strap.status & MSTATUS_SPP, MSTATUS_SPP);
    u_store(VA(1) + 0x30, 1);
    CHECK_EQ("S traps", strap.count, 2);
    CHECK_EQ("scause", strap.cause, CAUSE_STORE_PAGE);
    CHECK_EQ("stval", strap.tval, VA(1) + 0x30);
    CHECK_EQ("sepc", strap.epc, U_FN(u_sd));
    CHECK_EQ("SPP", strap.status & MSTATUS_SPP, 0);
    CHECK_EQ("M traps", mtrap.count, 0);
    csr_write(medeleg, 0);
    group_end();
}

int main(long hartid, void *dtb)
{
    (void)hartid;
    (void)dtb;
    priv_init();
    build();
    s_basic();
    s_perm();
    u_access();
    sum_mxr();
    bad_ptes();
    ad_bits();
    sfence();
    misaligned();
    delegated();
    csr_write(satp, 0);
    sfence_all();
    return check_report("paging_sv39");
}
