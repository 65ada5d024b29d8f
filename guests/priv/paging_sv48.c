/*
 * paging_sv48.c - Sv48: the four-level walk, a 512 GiB leaf at the top
 * level, the wider canonical range, and faults (privileged spec 1.12 §4.5).
 *
 *   va                     level  maps to                 flags
 *   0x0000402004003000     4 KiB  test_pages[0]           S R W A D
 *   0x0000008000000000     4 KiB  test_pages[1]           S R A   (bit 39 set:
 *                                                          not canonical in Sv39)
 *   0xffff800000002000     4 KiB  test_pages[2]           S R A   (high half)
 *   0x0000010000000000     512G   pa 0                    S R A   (terapage)
 *   0x0000018000000000     512G   pa 0x80000000           misaligned terapage
 *   RAM                    2 MiB  identity                S R W X A D
 */
#include "priv.h"

#define LEVELS 4
#define VA_4K   0x0000402004003000UL
#define VA_B39  0x0000008000000000UL
#define VA_HIGH 0xffff800000002000UL
#define VA_TERA 0x0000010000000000UL
#define VA_MIS  0x0000018000000000UL

static uint64_t s_ld(uint64_t va) { return RUN(PRV_S, probe_ld, va, 0); }

static void check_fault(const char *what, uint64_t cause, uint64_t va)
{
    CHECK_EQ(what, mtrap.count, 1);
    CHECK_EQ("cause", mtrap.cause, cause);
    CHECK_EQ("mtval", mtrap.tval, va);
    trap_reset();
}

int main(long hartid, void *dtb)
{
    uint64_t *root;
    (void)hartid;
    (void)dtb;
    priv_init();
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 512; j++)
            ((uint64_t *)test_pages[i])[j] = ((uint64_t)i << 32) + j;

    root = pt_new_root();
    pt_map_ram(root, LEVELS);
    pt_map(root, LEVELS, VA_4K, (uint64_t)test_pages[0], 0,
           PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    pt_map(root, LEVELS, VA_B39, (uint64_t)test_pages[1], 0,
           PTE_V | PTE_R | PTE_A);
    pt_map(root, LEVELS, VA_HIGH, (uint64_t)test_pages[2], 0,
           PTE_V | PTE_R | PTE_A);
    pt_map(root, LEVELS, VA_TERA, 0, 3, PTE_V | PTE_R | PTE_A);
    pt_map(root, LEVELS, VA_MIS, 0x80000000UL, 3, PTE_V | PTE_R | PTE_A);
    csr_write(satp, SATP_SV48 | ((uint64_t)root >> 12));
    sfence_all();

    group_begin("Sv48 walk: 4 KiB page through four levels, load and store");
    CHECK_EQ("satp mode", csr_read(satp) >> 60, 9);
    CHECK_EQ("load", s_ld(VA_4K + 0x18), 3);
    RUN(PRV_S, probe_sd, VA_4K + 0x20, 0x4848);
    CHECK_EQ("store landed", ((uint64_t *)test_pages[0])[4], 0x4848);
    CHECK_EQ("traps", mtrap.count, 0);
    group_end();

    group_begin("Sv48 canonical range: bit 39 and high half map");
    CHECK_EQ("bit 39 va", s_ld(VA_B39 + 8), (1UL << 32) + 1);
    CHECK_EQ("high half va", s_ld(VA_HIGH + 16), (2UL << 32) + 2);
    CHECK_EQ("traps", mtrap.count, 0);
    group_end();

    group_begin("Sv48 512 GiB leaf at level 3");
    CHECK_EQ("terapage load", s_ld(VA_TERA + (uint64_t)test_pages[3] + 0x28),
             (3UL << 32) + 5);
    CHECK_EQ("traps", mtrap.count, 0);
    group_end();

    group_begin("Sv48 faults: non-canonical, misaligned terapage, unmapped, store to R");
    s_ld(0x0001000000000000UL);  /* bit 48 set, bit 47 clear */
    check_fault("non-canonical", CAUSE_LOAD_PAGE, 0x0001000000000000UL);
    s_ld(VA_MIS + 0x40);
    check_fault("misaligned terapage", CAUSE_LOAD_PAGE, VA_MIS + 0x40);
    s_ld(0x0000402004005000UL);  /* next-but-one page: V=0 leaf */
    check_fault("unmapped 4 KiB", CAUSE_LOAD_PAGE, 0x0000402004005000UL);
    s_ld(0x0000200000000000UL);  /* level-3 entry V=0 */
    check_fault("unmapped top level", CAUSE_LOAD_PAGE, 0x0000200000000000UL);
    RUN(PRV_S, probe_sd, VA_B39, 1);
    check_fault("store to R page", CAUSE_STORE_PAGE, VA_B39);
    group_end();

    csr_write(satp, 0);
    sfence_all();
    return check_report("paging_sv48");
}
