/*
 * vm.c - physical pages and Sv39 address spaces (privileged spec,
 * "Sv39: Page-Based 39-bit Virtual-Memory System").
 *
 * A task's address space (every VA below 2^38, so all in Sv39's lower half):
 *
 *   0x0000_0000 +-------------------------+
 *               |  unmapped               |
 *   0x1000_0000 +-------------------------+ USER_HEAP_BASE
 *               |  heap, demand paged,    |  U R W, up to the break
 *               |  at most 1 MiB          |
 *   0x1010_0000 +-------------------------+ USER_HEAP_LIMIT
 *               |  unmapped               |
 *   0x3fff_c000 +-------------------------+
 *               |  stack, 4 pages         |  U R W, mapped at creation
 *   0x4000_0000 +-------------------------+ USER_STACK_TOP (end of root entry 0)
 *               |  unmapped               |
 *   0x8020_0000 +-------------------------+ shared level-1 table (root entry 2)
 *               |  kernel text            |  R X G
 *               |  kernel rodata          |  R G
 *               |  .user: task code       |  U R X G (the only U pages here)
 *               |  kernel data, bss       |  R W G
 *               |  page pool              |  R W G
 *   0x8040_0000 +-------------------------+
 *               |  rest of RAM            |  R W G, 2 MiB megapages
 *     RAM end   +-------------------------+
 *
 * VA bits (Sv39): [38:30] VPN[2] | [29:21] VPN[1] | [20:12] VPN[0] | [11:0] offset.
 *
 * Every address space has its own root table. Entry 2 of each root (VAs
 * 0x80000000..0xBFFFFFFF) points at one level-1 table shared by all: the
 * kernel, identity mapped with global (G) supervisor pages, so a satp switch
 * keeps the kernel's translations. Inside it the 2 MiB from 0x80200000 use
 * 4 KiB pages (text R+X, rodata R, the U-mode section U+R+X, data and bss
 * and the page pool R+W); the rest of RAM uses 2 MiB R+W megapages; the
 * firmware's first 2 MiB are not mapped. The U-mode section is the same in
 * every space, so it may be global too. Task mappings (heap, stack) live
 * below 0x40000000, under root entry 0, and are never global.
 * Leaves are created with A and D already set, so the kernel works whether
 * the hart updates A/D itself or raises page faults for them (Svade).
 */
#include "kernel.h"

#define PTE_PPN_SHIFT 10
#define PA_TO_PTE(pa) (((uint64_t)(pa) >> 12) << PTE_PPN_SHIFT)
#define PTE_TO_PA(pte) (((pte) >> PTE_PPN_SHIFT) << 12)
#define PTE_LEAF (PTE_R | PTE_W | PTE_X)
#define SATP_SV39 (8UL << 60)
#define KERNEL_BASE 0x80200000UL
#define MEGA (2UL << 20)
#define GIGA (1UL << 30)

/* ---- page allocator: a free list threaded through the free pages ---- */
struct free_page {
    struct free_page *next;
};
static struct free_page *free_list;
static unsigned long free_count;

void page_init(uintptr_t start, uintptr_t end)
{
    /* Pushed from the top down so pages come out in ascending order. */
    for (uintptr_t p = end - PAGE_SIZE; p >= start && p < end; p -= PAGE_SIZE) {
        struct free_page *f = (struct free_page *)p;
        f->next = free_list;
        free_list = f;
        free_count++;
    }
}

void *page_alloc(void)
{
    struct free_page *f = free_list;
    if (!f)
        return NULL;
    free_list = f->next;
    free_count--;
    memset(f, 0, PAGE_SIZE);
    return f;
}

void page_free(void *page)
{
    struct free_page *f = page;
    f->next = free_list;
    free_list = f;
    free_count++;
}

unsigned long page_free_count(void) { return free_count; }

/* ---- page tables ---- */
static pte_t *kernel_root, *kernel_l1;
static uint64_t kernel_satp;
static unsigned long asid_max;

static unsigned vpn(uintptr_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

/* The level-0 entry for va, creating tables on the way if `alloc`. */
static pte_t *walk(pte_t *root, uintptr_t va, int alloc)
{
    pte_t *table = root;
    for (int level = 2; level > 0; level--) {
        pte_t *e = &table[vpn(va, level)];
        if (*e & PTE_V) {
            if (*e & PTE_LEAF)
                return NULL; /* a superpage: no level-0 entry */
            table = (pte_t *)PTE_TO_PA(*e);
        } else {
            if (!alloc)
                return NULL;
            pte_t *t = page_alloc();
            if (!t)
                return NULL;
            pte_set(e, PA_TO_PTE(t) | PTE_V);
            table = t;
        }
    }
    return &table[vpn(va, 0)];
}

int vm_map(pte_t *root, uintptr_t va, uintptr_t pa, uint64_t perm)
{
    pte_t *e = walk(root, va, 1);
    if (!e)
        return -1;
    pte_set(e, PA_TO_PTE(pa) | perm | PTE_V | PTE_A | PTE_D);
    return 0;
}

pte_t *vm_leaf(pte_t *root, uintptr_t va) { return walk(root, va, 0); }

/* Permissions of the kernel page at pa (inside the first 2 MiB). */
static uint64_t kernel_perm(uintptr_t pa)
{
    if (pa >= (uintptr_t)__text_start && pa < (uintptr_t)__text_end)
        return PTE_R | PTE_X | PTE_G;
    if (pa >= (uintptr_t)__rodata_start && pa < (uintptr_t)__rodata_end)
        return PTE_R | PTE_G;
    if (pa >= (uintptr_t)__user_start && pa < (uintptr_t)__user_end)
        return PTE_R | PTE_X | PTE_U | PTE_G;
    return PTE_R | PTE_W | PTE_G;
}

void vm_init(uintptr_t ram_end)
{
    kernel_root = page_alloc();
    kernel_l1 = page_alloc();
    pte_t *l0 = page_alloc();
    pt_batch_begin();
    pte_set(&kernel_root[vpn(KERNEL_BASE, 2)], PA_TO_PTE(kernel_l1) | PTE_V);
    pte_set(&kernel_l1[vpn(KERNEL_BASE, 1)], PA_TO_PTE(l0) | PTE_V);
    for (uintptr_t pa = KERNEL_BASE; pa < KERNEL_BASE + MEGA; pa += PAGE_SIZE)
        pte_set(&l0[vpn(pa, 0)], PA_TO_PTE(pa) | kernel_perm(pa) | PTE_V | PTE_A | PTE_D);
    /* The rest of RAM, as far as this one level-1 table reaches. */
    uintptr_t top = 0x80000000UL + GIGA;
    if (ram_end > top)
        ram_end = top;
    for (uintptr_t pa = KERNEL_BASE + MEGA; pa + MEGA <= ram_end; pa += MEGA)
        pte_set(&kernel_l1[vpn(pa, 1)], PA_TO_PTE(pa) | PTE_R | PTE_W | PTE_G | PTE_V | PTE_A | PTE_D);
    pt_batch_end();

    /* WARL: the ASID bits that stick are the implemented ones (privileged
     * spec, "satp": ASIDLEN found by writing ones and reading back). */
    csr_write(satp, vm_satp(kernel_root, 0xffff));
    asid_max = (csr_read(satp) >> 44) & 0xffff;
    kernel_satp = vm_satp(kernel_root, 0);
    csr_write(satp, kernel_satp);
    sfence_vma_all();
}

uint64_t vm_kernel_satp(void) { return kernel_satp; }
unsigned long vm_asid_max(void) { return asid_max; }

uint64_t vm_satp(pte_t *root, unsigned long asid)
{
    return SATP_SV39 | (uint64_t)asid << 44 | (uintptr_t)root >> 12;
}

pte_t *vm_create(void)
{
    pte_t *root = page_alloc();
    if (root)
        pte_set(&root[vpn(KERNEL_BASE, 2)], PA_TO_PTE(kernel_l1) | PTE_V);
    return root;
}

void vm_unmap_range(pte_t *root, uintptr_t lo, uintptr_t hi)
{
    pt_batch_begin();
    for (uintptr_t va = lo; va < hi; va += PAGE_SIZE) {
        pte_t *e = walk(root, va, 0);
        if (e && (*e & PTE_V) && (*e & PTE_U)) {
            page_free((void *)PTE_TO_PA(*e));
            pte_set(e, 0);
        }
    }
    pt_batch_end();
}

/* Calls fn on every valid user leaf below root entry 2 (the task's part). */
static int for_each_user_leaf(pte_t *root, int (*fn)(uintptr_t va, pte_t *e, void *arg),
                              void *arg)
{
    for (unsigned i2 = 0; i2 < vpn(KERNEL_BASE, 2); i2++) {
        if (!(root[i2] & PTE_V))
            continue;
        pte_t *l1 = (pte_t *)PTE_TO_PA(root[i2]);
        for (unsigned i1 = 0; i1 < 512; i1++) {
            if (!(l1[i1] & PTE_V))
                continue;
            pte_t *l0 = (pte_t *)PTE_TO_PA(l1[i1]);
            for (unsigned i0 = 0; i0 < 512; i0++) {
                if (!(l0[i0] & PTE_V) || !(l0[i0] & PTE_U))
                    continue;
                uintptr_t va = (uintptr_t)i2 << 30 | (uintptr_t)i1 << 21 | (uintptr_t)i0 << 12;
                if (fn(va, &l0[i0], arg) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

static int copy_leaf(uintptr_t va, pte_t *e, void *arg)
{
    void *page = page_alloc();
    if (!page)
        return -1;
    memcpy(page, (void *)PTE_TO_PA(*e), PAGE_SIZE);
    if (vm_map(arg, va, (uintptr_t)page, *e & (PTE_LEAF | PTE_U)) < 0) {
        page_free(page);
        return -1;
    }
    return 0;
}

int vm_copy_user(pte_t *dst, pte_t *src)
{
    pt_batch_begin();
    int r = for_each_user_leaf(src, copy_leaf, dst);
    pt_batch_end();
    return r;
}

/* Pass 1 (free_tables 0) frees the user pages and gives up the tables (PV
 * unpin); pass 2 frees the tables, whose pages page_free writes to: under
 * --virt pv only once the VMM no longer treats them as page tables. */
static void destroy_pass(pte_t *root, int free_tables)
{
    for (unsigned i2 = 0; i2 < vpn(KERNEL_BASE, 2); i2++) {
        if (!(root[i2] & PTE_V))
            continue;
        pte_t *l1 = (pte_t *)PTE_TO_PA(root[i2]);
        for (unsigned i1 = 0; i1 < 512; i1++) {
            if (!(l1[i1] & PTE_V))
                continue;
            pte_t *l0 = (pte_t *)PTE_TO_PA(l1[i1]);
            if (free_tables) {
                page_free(l0);
                continue;
            }
            for (unsigned i0 = 0; i0 < 512; i0++)
                if ((l0[i0] & PTE_V) && (l0[i0] & PTE_U))
                    page_free((void *)PTE_TO_PA(l0[i0]));
            pt_release(l0);
        }
        if (free_tables)
            page_free(l1);
        else
            pt_release(l1);
    }
}

void vm_destroy(pte_t *root)
{
    pt_batch_begin();
    destroy_pass(root, 0);
    pt_release(root);
    pt_batch_end();
    destroy_pass(root, 1);
    page_free(root);
}
