/*
 * pt.c - page-table building for the paging tests (privileged spec 1.12
 * §4.3.2 walk, §4.4 Sv39, §4.5 Sv48).
 *
 *   Sv39 va: | 63..39 sign | VPN[2] 38..30 | VPN[1] 29..21 | VPN[0] 20..12 | offset |
 *   Sv48 va: | 63..48 sign | VPN[3] 47..39 | VPN[2] | VPN[1] | VPN[0] | offset |
 *   PTE:     | 63..54 0 | PPN 53..10 | RSW 9..8 | D A G U X W R V |
 *
 * Tables come from a static pool, so a test can rebuild them from scratch.
 */
#include "priv.h"

#define POOL_PAGES 16

static uint64_t pool[POOL_PAGES][512] __attribute__((aligned(4096)));
static int pool_used;
uint8_t test_pages[TEST_PAGES][4096] __attribute__((aligned(4096)));

static uint64_t *pt_alloc(void)
{
    if (pool_used >= POOL_PAGES) {
        con_puts("pt.c: page-table pool exhausted\n");
        guest_exit(98);
    }
    return pool[pool_used++];
}

uint64_t *pt_new_root(void)
{
    memset(pool, 0, sizeof pool);
    pool_used = 0;
    return pt_alloc();
}

volatile uint64_t *pt_entry(uint64_t *root, int levels, uint64_t va, int level)
{
    uint64_t *table = root;
    for (int l = levels - 1; l > level; l--) {
        uint64_t *pte = &table[(va >> (12 + 9 * l)) & 511];
        if (!(*pte & PTE_V)) {
            uint64_t *next = pt_alloc();
            /* Non-leaf: V set, R W X clear (§4.3.2 step 4). */
            *pte = (((uint64_t)next >> 12) << 10) | PTE_V;
        }
        table = (uint64_t *)((*pte >> 10) << 12);
    }
    return &table[(va >> (12 + 9 * level)) & 511];
}

void pt_map(uint64_t *root, int levels, uint64_t va, uint64_t pa, int level,
            uint64_t flags)
{
    *pt_entry(root, levels, va, level) = ((pa >> 12) << 10) | flags;
}

void pt_map_ram(uint64_t *root, int levels)
{
    for (uint64_t off = 0; off < (128UL << 20); off += 2UL << 20)
        pt_map(root, levels, 0x80000000UL + off, 0x80000000UL + off, 1,
               PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
}

void copy_code(void *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
    __asm__ volatile("fence.i" ::: "memory");
}
