/*
 * gnttab.c - granting our frames to another domain (grant_table.h, v1
 * entries): refs 8..511 of the first grant frame (0..7 are reserved for the
 * toolstack, GNTTAB_NR_RESERVED_ENTRIES).
 *
 * Granting: write domid and frame, a write barrier, then flags
 * (GTF_permit_access, plus GTF_readonly): the hypervisor trusts an entry only
 * once its flags say so. Ending: the flags word is cleared with a
 * compare-and-swap that fails while the hypervisor has set GTF_reading or
 * GTF_writing (a live mapping or copy), as Linux's
 * gnttab_end_foreign_access_ref does, so a frame is never taken back from
 * under the backend.
 */
#include "xen.h"

#define FIRST_REF 8
#define NR_REFS 512             /* one frame of 8-byte v1 entries */

static uint64_t used[NR_REFS / 64];
static unsigned in_use;

#define GT ((volatile struct grant_entry_v1 *)(xen.grant_gfn[0] << 12))

int gnttab_init(void)
{
    static uint64_t frame;
    struct gnttab_setup_table st = { DOMID_SELF, 1, 0, (uint64_t)&frame };
    if (hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, (unsigned long)&st, 1) != 0 || st.status != 0)
        return -1;
    return frame == xen.grant_gfn[0] ? 0 : -1;
}

int gnttab_grant(uint16_t domid, uint64_t gfn, int ro)
{
    for (int ref = FIRST_REF; ref < NR_REFS; ref++) {
        if (used[ref / 64] & (1UL << (ref % 64)))
            continue;
        used[ref / 64] |= 1UL << (ref % 64);
        in_use++;
        GT[ref].domid = domid;
        GT[ref].frame = (uint32_t)gfn;
        __sync_synchronize();
        GT[ref].flags = GTF_permit_access | (ro ? GTF_readonly : 0);
        return ref;
    }
    return -1;
}

int gnttab_end(int ref)
{
    if (ref < FIRST_REF || ref >= NR_REFS || !(used[ref / 64] & (1UL << (ref % 64))))
        return -1;
    /* flags (u16) and domid (u16) share the entry's first word (little endian:
     * flags in the low half); a 32-bit CAS clears the flags atomically. */
    volatile uint32_t *word = (volatile uint32_t *)&GT[ref];
    for (int tries = 0; tries < 16; tries++) {
        uint32_t old = *word;
        if (old & (GTF_reading | GTF_writing))
            return -1;
        if (__sync_bool_compare_and_swap(word, old, old & 0xffff0000u)) {
            used[ref / 64] &= ~(1UL << (ref % 64));
            in_use--;
            return 0;
        }
    }
    return -1;
}

unsigned gnttab_in_use(void)
{
    return in_use;
}
