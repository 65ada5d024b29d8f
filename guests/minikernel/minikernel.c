/*
 * minikernel - a small S-mode kernel for wasmvisor's test suite.
 *
 * Boot (common/smode/entry.S): the SBI firmware enters at 0x80200000 in S-mode with
 * a0 = hartid, a1 = DTB. Under wasmvisor's Xen-style hypervisor the kernel
 * is a DomU and runs the PV test program instead (lib/domu.c). Otherwise
 * main()
 *   1. probes the SBI extensions (console, timer, reset),
 *   2. reads the timebase and RAM size from the DTB,
 *   3. gives the pages after the image to the page allocator, builds the
 *      kernel's Sv39 tables and turns paging on,
 *   4. starts six U-mode tasks (lib/tasks_user.c) and runs them, preempted
 *      by a 1 ms SBI timer tick, until every foreground task has ended,
 *      then a last one alone (lib/task.c),
 *   5. prints each task's output and counters in pid order and shuts down
 *      through SBI SRST.
 * Nothing it prints depends on timing, so the output is the same under
 * QEMU + OpenSBI and under wasmvisor (bare machine + OpenSBI, or VM mode).
 * Build options (minikernel_CFLAGS): -DMINIKERNEL_DEBUG adds a line of
 * timing-dependent counters (ticks, preemptions, idle waits, ASID bits) to
 * the report; -DMINIKERNEL_NO_ASID runs every task with ASID 0 and flushes
 * the TLB on each switch, the path for harts without ASIDs.
 */
#include "kernel.h"

#define POOL_SIZE (4UL << 20)  /* pages for tables, stacks and heaps */
#define TICK_HZ   1000

/** Free pages once the kernel's own tables exist (the leak check compares). */
unsigned long boot_free_pages;

int main(long hartid, void *dtb)
{
    domu_run_if_xen(dtb);      /* returns, silently, unless Xen is there */
    sbi_init();
    con_printf("minikernel: S-mode on hart %ld\n", hartid);

    struct boot_info bi;
    if (fdt_read(dtb, &bi) < 0)
        con_printf("minikernel: no device tree at a1, assuming defaults\n");
    if (!bi.timebase)
        bi.timebase = 10000000;
    if (!bi.mem_size) {
        bi.mem_base = 0x80000000UL;
        bi.mem_size = 128UL << 20;
    }
    con_printf("minikernel: RAM %lu MiB at 0x%lx, timebase %lu Hz\n", bi.mem_size >> 20,
               bi.mem_base, bi.timebase);

    uintptr_t pool = (uintptr_t)_end;
    uintptr_t ram_end = bi.mem_base + bi.mem_size;
    if (pool + POOL_SIZE > ram_end || (uintptr_t)_end > 0x80400000UL) {
        con_printf("minikernel: image end 0x%lx does not leave a %lu KiB pool\n", pool,
                   POOL_SIZE >> 10);
        sbi_shutdown();
    }
    page_init(pool, pool + POOL_SIZE);
    vm_init(ram_end);
    boot_free_pages = page_free_count();
    con_printf("minikernel: Sv39 on, %lu KiB page pool\n", POOL_SIZE >> 10);

    task_init(bi.timebase / TICK_HZ);
    /* The spinner never makes a system call after its first line: the
     * others only get the CPU because the timer preempts it. */
    task_spawn("spinner", user_spinner, 1);
    task_spawn("primes", user_primes, 0);
    task_spawn("heap", user_heap, 0);
    task_spawn("forker", user_forker, 0);
    task_spawn("faulter", user_faulter, 0);
    task_spawn("snoop", user_snoop, 0);
    con_printf("minikernel: 6 tasks started\n");
    task_run();
}
