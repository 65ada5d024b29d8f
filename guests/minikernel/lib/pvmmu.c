/*
 * pvmmu.c - minikernel as a paravirtual guest of wasmvisor's `--virt pv`
 * (host/vmm/virt/pv-abi.ts, docs/techniques.md "Paravirtualization").
 *
 * sbi_init calls pv_init, which probes the PV extension (BASE
 * probe_extension of EID 0x09575056, "WPV"). QEMU's OpenSBI and wasmvisor
 * under --virt hw or trap do not offer it: pv_active stays 0 and every
 * path below is the native one (the instructions, stores to the tables).
 * Under --virt pv the kernel runs deprivileged and asks instead of
 * trapping:
 *   - CSR reads and writes of its C code: FID 0 csr (kernel.h csr_*);
 *   - satp switches: mmuext_op MMUEXT_NEW_BASEPTR;
 *   - page-table writes: mmu_update batches of { ptr, val }, at most
 *     PV_BATCH entries each (the VMM takes up to 512);
 *   - freed tables: mmuext_op MMUEXT_UNPIN_TABLE, so reusing the page as
 *     data does not fault;
 *   - sfence.vma: none (the VMM keeps its shadows exact);
 *   - the trap path: set_callback makes the VMM save a task's registers
 *     into its trapframe and enter pv_trap_entry with the trap's sepc,
 *     scause and stval in pv_trap_info (entry.S, task.c trap_handler);
 *     user_return leaves by the iret hypercall.
 * The kernel's image and RAM are identity mapped, so the addresses it
 * passes (guest-physical, as the extension wants) are its pointers.
 * Nothing here prints: the console output stays that of the native kernel.
 */
#include "kernel.h"

#define PV_EID              0x09575056
#define PV_FID_CSR          0
#define PV_FID_MMU_UPDATE   1
#define PV_FID_MMUEXT_OP    2
#define PV_FID_SET_CALLBACK 3
#define MMUEXT_UNPIN_TABLE  4
#define MMUEXT_NEW_BASEPTR  5
#define PV_BATCH            64
#define CSR_SATP            0x180

int pv_active;
struct pv_trap_info pv_trap_info;

struct mmu_update {
    uint64_t ptr; /* guest-physical address of the PTE; low 3 bits: command 0 */
    uint64_t val;
};
struct mmuext_op {
    uint64_t cmd;
    uint64_t arg1;
    uint64_t arg2;
};

static struct mmu_update batch[PV_BATCH];
static unsigned batch_len, batch_depth;
static struct mmuext_op unpins[PV_BATCH];
static unsigned unpin_len;

/* A refused request is a kernel bug: say so and stop (never under QEMU). */
static void pv_check(struct sbiret r, const char *what)
{
    if (r.error != 0) {
        con_printf("minikernel: PV %s refused (%ld)\n", what, r.error);
        sbi_shutdown();
    }
}

void pv_init(void)
{
    struct sbiret r = sbi_call(0x10, 3, PV_EID, 0, 0);
    pv_active = r.error == 0 && r.value != 0;
    /* Traps of tasks: the VMM saves their registers into the frame at
     * sscratch and enters pv_trap_entry (entry.S); user_return irets. */
    if (pv_active)
        pv_check(sbi_call(PV_EID, PV_FID_SET_CALLBACK, (long)pv_trap_entry, (long)&pv_trap_info, 0),
                 "set_callback");
}

static void mmuext(uint64_t cmd, uint64_t arg1)
{
    struct mmuext_op op = { cmd, arg1, 0 };
    pv_check(sbi_call(PV_EID, PV_FID_MMUEXT_OP, (long)&op, 1, 0), "mmuext_op");
}

uint64_t pv_csr(unsigned num, unsigned op, uint64_t value)
{
    if (num == CSR_SATP && op == 1) {
        /* A satp switch is Xen's new base pointer; it returns no old value. */
        mmuext(MMUEXT_NEW_BASEPTR, value);
        return 0;
    }
    struct sbiret r = sbi_call(PV_EID, PV_FID_CSR, num, op, (long)value);
    pv_check(r, "csr");
    return (uint64_t)r.value;
}

static void flush_batch(void)
{
    if (batch_len) {
        pv_check(sbi_call(PV_EID, PV_FID_MMU_UPDATE, (long)batch, batch_len, 0), "mmu_update");
        batch_len = 0;
    }
    if (unpin_len) {
        pv_check(sbi_call(PV_EID, PV_FID_MMUEXT_OP, (long)unpins, unpin_len, 0), "mmuext_op");
        unpin_len = 0;
    }
}

void pte_set(pte_t *e, pte_t v)
{
    if (!pv_active) {
        *e = v;
        return;
    }
    batch[batch_len].ptr = (uintptr_t)e;
    batch[batch_len].val = v;
    batch_len++;
    /* A pointer to a next-level table: walks read it back at once. */
    int table = (v & PTE_V) && !(v & (PTE_R | PTE_W | PTE_X));
    if (batch_depth == 0 || table || batch_len == PV_BATCH)
        flush_batch();
}

void pt_release(void *t)
{
    if (!pv_active)
        return;
    unpins[unpin_len].cmd = MMUEXT_UNPIN_TABLE;
    unpins[unpin_len].arg1 = (uintptr_t)t >> 12;
    unpins[unpin_len].arg2 = 0;
    unpin_len++;
    if (batch_depth == 0 || unpin_len == PV_BATCH)
        flush_batch();
}

void pt_batch_begin(void) { batch_depth++; }

void pt_batch_end(void)
{
    if (--batch_depth == 0)
        flush_batch();
}
