/*
 * kernel.h - internal interfaces of minikernel, a small S-mode kernel.
 *
 * OpenSBI (or any SBI firmware) enters it at 0x80200000 in S-mode with
 * a0 = hartid and a1 = DTB address. It uses SBI for its console, timer and
 * shutdown, runs U-mode tasks in Sv39 address spaces (one root table and
 * one ASID each), preempts them with the SBI timer and prints a report that
 * does not depend on timing before it shuts the machine down.
 */
#ifndef MINIKERNEL_KERNEL_H
#define MINIKERNEL_KERNEL_H

#include "syscall.h"

#define SSTATUS_SIE   (1 << 1)
#define SSTATUS_SPIE  (1 << 5)
#define SSTATUS_SPP   (1 << 8)
#define SIE_STIE      (1 << 5)
#define SIP_STIP      (1 << 5)

/* scause values (privileged spec, "Supervisor Cause Register"). */
#define SCAUSE_INTERRUPT       (1UL << 63) /* C only */
#define IRQ_S_TIMER            5
#define EXC_INST_PAGE_FAULT    12
#define EXC_LOAD_PAGE_FAULT    13
#define EXC_STORE_PAGE_FAULT   15
#define EXC_ECALL_U            8

/** Offset of trapframe.pc (after x0..x31), used by entry.S. */
#define TF_PC 256

#ifndef __ASSEMBLER__
#include "guest.h"

/* ---- paravirtual MMU and CPU (lib/pvmmu.c) ----------------------------- */
/** Set by sbi_init when the VMM offers wasmvisor's PV extension (--virt pv); else 0. */
extern int pv_active;
/** Probes the PV extension (sbi_init calls it). */
void pv_init(void);
/** A CSR access by hypercall: op 0 read, 1 write, 2 set, 3 clear; returns the old value. */
uint64_t pv_csr(unsigned num, unsigned op, uint64_t value);
/** What the VMM writes for each trap of a task under --virt pv (set_callback). */
struct pv_trap_info {
    uint64_t sepc, scause, stval;
};
extern struct pv_trap_info pv_trap_info;
/** entry.S: where the VMM enters on a trap of a task under --virt pv (a0 = the saved frame). */
void pv_trap_entry(void);

/* ---- CSR access -------------------------------------------------------- */
/* Under --virt pv they are hypercalls (pv_csr); otherwise the instructions.
 * CSR_NUM_x: the numbers of the CSRs the kernel's C code uses. */
#define CSR_NUM_sstatus 0x100
#define CSR_NUM_sie     0x104
#define CSR_NUM_sepc    0x141
#define CSR_NUM_scause  0x142
#define CSR_NUM_stval   0x143
#define CSR_NUM_sip     0x144
#define CSR_NUM_satp    0x180
#define CSR_NUM_time    0xc01
#define csr_insn_read(csr) ({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_insn(op, csr, v) __asm__ volatile(op " " #csr ", %0" : : "r"((uint64_t)(v)) : "memory")
#define csr_read(csr) (pv_active ? pv_csr(CSR_NUM_##csr, 0, 0) : csr_insn_read(csr))
#define csr_write(csr, v) do { uint64_t w_ = (v); if (pv_active) pv_csr(CSR_NUM_##csr, 1, w_); else csr_insn("csrw", csr, w_); } while (0)
#define csr_set(csr, v) do { uint64_t w_ = (v); if (pv_active) pv_csr(CSR_NUM_##csr, 2, w_); else csr_insn("csrs", csr, w_); } while (0)
#define csr_clear(csr, v) do { uint64_t w_ = (v); if (pv_active) pv_csr(CSR_NUM_##csr, 3, w_); else csr_insn("csrc", csr, w_); } while (0)

/* ---- SBI (lib/sbi.c) --------------------------------------------------- */
/** The two values every SBI call returns (SBI spec, "Binary Encoding"). */
struct sbiret {
    long error;
    long value;
};
/** One SBI call: extension id in a7, function id in a6, arguments a0..a2. */
struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2);
/** Probes DBCN, TIME and SRST; chooses the console and timer calls. */
void sbi_init(void);
/** Asks for a supervisor timer interrupt at `stime` (clears STIP until then). */
void sbi_set_timer(uint64_t stime);
/** Flushes the console and powers off (SRST, else legacy shutdown). */
void sbi_shutdown(void) __attribute__((noreturn));
/** Sends the console's buffered line to the firmware. */
void con_flush(void);
/** When set, con_putc and con_puts hand every byte to it instead of the SBI console (lib/domu.c). */
extern void (*con_redirect)(char c);

/* ---- as a Xen DomU (lib/domu.c) ---------------------------------------- */
/**
 * If the SBI implementation offers the Xen hypercall extension and `dtb` has the
 * /hypervisor node, runs the PV test program instead of the tasks and ends the
 * domain (never returns); otherwise returns at once, having printed nothing.
 */
void domu_run_if_xen(const void *dtb);

/* ---- device tree (lib/fdt.c) ------------------------------------------- */
/** What the kernel takes from the DTB. Zero where the DTB says nothing. */
struct boot_info {
    uint64_t timebase;   /* /cpus timebase-frequency, Hz */
    uint64_t mem_base;   /* first /memory node's reg */
    uint64_t mem_size;
};
/** Reads `dtb`; returns 0, or -1 if it is not a flattened device tree. */
int fdt_read(const void *dtb, struct boot_info *bi);

/* ---- physical pages and Sv39 (lib/vm.c) -------------------------------- */
#define PAGE_SIZE 4096UL
typedef uint64_t pte_t;
#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)

/** Hands the pages of [start, end) to the page allocator. */
void page_init(uintptr_t start, uintptr_t end);
/** A zeroed 4 KiB page, or NULL when none is left. */
void *page_alloc(void);
/** Returns a page from page_alloc. */
void page_free(void *page);
/** Pages currently free. */
unsigned long page_free_count(void);

/**
 * Builds the kernel's tables (identity map of the image and of RAM up to
 * `ram_end`, global supervisor pages; the U-mode code section user-readable)
 * and turns on Sv39 with ASID 0. Finds how many ASID bits satp holds.
 */
void vm_init(uintptr_t ram_end);
/** satp value of the kernel's own space (ASID 0). */
uint64_t vm_kernel_satp(void);
/** The largest ASID satp accepts (0 if ASIDs are not implemented). */
unsigned long vm_asid_max(void);
/** A new root table that shares the kernel's mappings; NULL if out of pages. */
pte_t *vm_create(void);
/** Maps 4 KiB page `pa` at `va` with `perm` (plus V, A, D); -1 if out of pages. */
int vm_map(pte_t *root, uintptr_t va, uintptr_t pa, uint64_t perm);
/** The leaf PTE for `va` (valid or not) if its tables exist, else NULL. */
pte_t *vm_leaf(pte_t *root, uintptr_t va);
/** Unmaps and frees the user pages of [lo, hi) (page-aligned). */
void vm_unmap_range(pte_t *root, uintptr_t lo, uintptr_t hi);
/** Frees every user page and table of `root`, then root itself. */
void vm_destroy(pte_t *root);
/** Copies every user page of `src` into fresh pages in `dst`; -1 if out of pages. */
int vm_copy_user(pte_t *dst, pte_t *src);
/** satp value (mode Sv39) for `root` with `asid`. */
uint64_t vm_satp(pte_t *root, unsigned long asid);

/* Under --virt pv the VMM keeps translations exact after every hypercall,
 * so the fences are not needed (pvmmu.c). */
static inline void sfence_vma_all(void)
{
    if (!pv_active)
        __asm__ volatile("sfence.vma zero, zero" ::: "memory");
}
static inline void sfence_vma_asid(unsigned long asid)
{
    if (!pv_active)
        __asm__ volatile("sfence.vma zero, %0" : : "r"(asid) : "memory");
}
static inline void sfence_vma_page(uintptr_t va, unsigned long asid)
{
    if (!pv_active)
        __asm__ volatile("sfence.vma %0, %1" : : "r"(va), "r"(asid) : "memory");
}

/**
 * Page-table writes: *e = v, or under --virt pv a request queued for a
 * batched mmu_update hypercall. Between pt_batch_begin and pt_batch_end,
 * leaf updates wait in the batch (sent when it is full and at the end);
 * outside, and for a pointer to a next-level table (walks read it back at
 * once), the batch is sent at once. Nothing may read a queued PTE.
 */
void pte_set(pte_t *e, pte_t v);
void pt_batch_begin(void);
void pt_batch_end(void);
/** The page at pa is no longer a page table (PV: unpinned, batched the same way). */
void pt_release(void *table);

/* ---- tasks (lib/task.c) ------------------------------------------------ */
/** The U-mode registers of a task, saved and restored by lib/entry.S. */
struct trapframe {
    uint64_t regs[32]; /* x0..x31 (regs[0] unused) */
    uint64_t pc;       /* sepc */
};

/** Sets up the scheduler (tick length in timebase units). */
void task_init(uint64_t tick_interval);
/**
 * Creates a U-mode task that starts at `entry` with an empty heap and a
 * fresh stack. Background tasks do not keep the system alive: they are
 * killed once every other task has ended. Returns the pid or -1.
 */
int task_spawn(const char *name, void (*entry)(void), int background);
/** Starts the first task; never returns (the run ends in sbi_shutdown). */
void task_run(void) __attribute__((noreturn));
/** Called by entry.S on every trap from U-mode; returns the frame to resume. */
struct trapframe *trap_handler(struct trapframe *tf);
/** Called by entry.S on a trap taken in S-mode: reports it and shuts down. */
void kernel_trap_report(void) __attribute__((noreturn));
/** entry.S: loads `tf` into the registers and returns to U-mode. */
void user_return(struct trapframe *tf) __attribute__((noreturn));

/* ---- the U-mode programs (lib/tasks_user.c) ---------------------------- */
void user_spinner(void);
void user_primes(void);
void user_heap(void);
void user_forker(void);
void user_faulter(void);
void user_snoop(void);
void user_sleeper(void);

/* Linker symbols (common/link-s.ld). */
extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __user_start[], __user_end[], __data_start[], _end[];

#endif /* __ASSEMBLER__ */
#endif /* MINIKERNEL_KERNEL_H */
