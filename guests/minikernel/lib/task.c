/*
 * task.c - tasks, the round-robin scheduler, traps from U-mode, system calls
 * and the final report.
 *
 * A task is a U-mode program with its own Sv39 address space and ASID (its
 * pid, when satp has enough ASID bits; otherwise ASID 0 and a full TLB flush
 * on every switch). The kernel never blocks inside a trap: a blocked task
 * just stops being RUNNABLE and trap_handler returns another task's frame.
 *
 * Time: the SBI timer raises a supervisor timer interrupt every tick; the
 * tick wakes sleepers and preempts the running task (round robin). When no
 * task can run, the kernel waits with wfi (sstatus.SIE stays 0: wfi still
 * wakes for a pending interrupt enabled in sie, and the kernel polls sip).
 *
 * End: background tasks (the spinner) do not keep the system alive. When
 * every foreground task has ended, the kernel stops the background ones and
 * starts one last task, alone, that only sleeps (so the idle path with wfi
 * always runs); when it has ended too, the kernel prints the report and
 * shuts down.
 *
 * Output: write() does not reach the console. Each task has an output
 * buffer, and the kernel adds its own notes about the task (a kill) there
 * too; the buffers are printed in pid order once every foreground task has
 * ended. So the console output does not depend on how the timer interleaved
 * the tasks, only on what each one computed.
 */
#include "kernel.h"

#define MAX_TASKS 16
#define OUT_MAX   1024

enum task_state { UNUSED, RUNNABLE, SLEEPING, WAITING, ZOMBIE, REAPED };

/** One task: its saved registers, address space, state and report. */
struct task {
    struct trapframe tf;       /* first: entry.S saves registers here */
    enum task_state state;
    int pid;
    int parent;                /* pid, 0 for the tasks the kernel started */
    int background;
    const char *name;
    pte_t *root;
    uint64_t satp;
    unsigned long asid;
    uintptr_t brk;             /* the heap is [USER_HEAP_BASE, brk) */
    uint64_t wake_tick;        /* SLEEPING: runnable again at this tick */
    int wait_pid;              /* WAITING: the child waited for */
    uintptr_t wait_status;     /* WAITING: where its exit code goes */
    int exit_code;
    int killed;
    /* counters that depend only on what the task does, not on timing */
    unsigned long syscalls, heap_faults, forks;
    char out[OUT_MAX];
    unsigned out_len, out_lost;
};

static struct task tasks[MAX_TASKS];
static int ntasks;
static struct task *current;
static uint64_t ticks, tick_interval;
/* Timing-dependent counters: printed only in a -DMINIKERNEL_DEBUG build. */
static uint64_t preemptions, idle_waits;

void task_init(uint64_t interval) { tick_interval = interval; }

/* ---- per-task output ---- */
static void out_putc(struct task *t, char c)
{
    if (t->out_len < OUT_MAX)
        t->out[t->out_len++] = c;
    else
        t->out_lost++;
}

static void out_puts(struct task *t, const char *s)
{
    while (*s)
        out_putc(t, *s++);
}

static void out_hex(struct task *t, uint64_t v)
{
    out_puts(t, "0x");
    for (int shift = 60; shift >= 0; shift -= 4) {
        if ((v >> shift) == 0 && shift)
            continue;
        out_putc(t, "0123456789abcdef"[(v >> shift) & 15]);
    }
}

/* ---- creation and end ---- */
static struct task *task_alloc(const char *name)
{
    if (ntasks == MAX_TASKS)
        return NULL;
    pte_t *root = vm_create();
    if (!root)
        return NULL;
    struct task *t = &tasks[ntasks++];
    t->pid = ntasks;
    t->name = name;
    t->root = root;
#ifdef MINIKERNEL_NO_ASID
    t->asid = 0; /* test build: the path for harts without ASIDs */
#else
    t->asid = vm_asid_max() >= MAX_TASKS ? (unsigned long)t->pid : 0;
#endif
    t->satp = vm_satp(root, t->asid);
    t->brk = USER_HEAP_BASE;
    return t;
}

int task_spawn(const char *name, void (*entry)(void), int background)
{
    struct task *t = task_alloc(name);
    if (!t)
        return -1;
    for (int i = 1; i <= USER_STACK_PAGES; i++) {
        void *page = page_alloc();
        if (!page || vm_map(t->root, USER_STACK_TOP - i * PAGE_SIZE, (uintptr_t)page,
                            PTE_R | PTE_W | PTE_U) < 0)
            return -1; /* only at boot, where the pool is large enough */
    }
    t->tf.pc = (uintptr_t)entry;
    t->tf.regs[2] = USER_STACK_TOP;
    t->background = background;
    t->state = RUNNABLE;
    return t->pid;
}

static struct task *task_by_pid(int pid)
{
    return pid >= 1 && pid <= ntasks ? &tasks[pid - 1] : NULL;
}

/* Stores a 32-bit value at user address va of t; -1 if not writable. */
static int put_user_u32(struct task *t, uintptr_t va, uint32_t v);

/* Ends t: frees its address space and hands its exit code to a waiting parent. */
static void task_finish(struct task *t, int code)
{
    t->exit_code = code;
    if (t == current)
        csr_write(satp, vm_kernel_satp());
    vm_destroy(t->root);
    t->root = NULL;
    if (t->asid)
        sfence_vma_asid(t->asid);
    else
        sfence_vma_all();
    t->state = ZOMBIE;
    struct task *p = task_by_pid(t->parent);
    if (p && p->state == WAITING && p->wait_pid == t->pid) {
        if (p->wait_status && put_user_u32(p, p->wait_status, (uint32_t)code) < 0)
            p->tf.regs[10] = (uint64_t)-1;
        else
            p->tf.regs[10] = (uint64_t)t->pid;
        t->state = REAPED;
        p->state = RUNNABLE;
    }
}

static void task_kill(struct task *t, const char *why, uint64_t addr)
{
    out_puts(t, "minikernel: pid ");
    if (t->pid >= 10)
        out_putc(t, (char)('0' + t->pid / 10));
    out_putc(t, (char)('0' + t->pid % 10));
    out_puts(t, " killed: ");
    out_puts(t, why);
    if (addr) {
        out_puts(t, " at ");
        out_hex(t, addr);
    }
    out_putc(t, '\n');
    t->killed = 1;
    task_finish(t, -1);
}

/* ---- user memory, through the task's page table (no SUM needed) ---- */

/* Maps a fresh zeroed page for heap address va; 0, or -1 if va is not in the heap. */
static int heap_fault(struct task *t, uintptr_t va)
{
    if (va < USER_HEAP_BASE || va >= t->brk)
        return -1;
    void *page = page_alloc();
    if (!page)
        return -1;
    uintptr_t page_va = va & ~(PAGE_SIZE - 1);
    if (vm_map(t->root, page_va, (uintptr_t)page, PTE_R | PTE_W | PTE_U) < 0) {
        page_free(page);
        return -1;
    }
    /* A new valid PTE still needs an sfence.vma before the hart must see it
     * (privileged spec, "Virtual Address Translation Process" and the
     * SFENCE.VMA rules); otherwise the retried access may fault again. */
    if (t->asid)
        sfence_vma_page(page_va, t->asid);
    else
        sfence_vma_all();
    t->heap_faults++;
    return 0;
}

/* Kernel address of user byte va of t (demand-mapping heap pages); NULL if invalid. */
static uint8_t *user_addr(struct task *t, uintptr_t va, int write)
{
    pte_t *e = vm_leaf(t->root, va);
    if (!e || !(*e & PTE_V)) {
        if (heap_fault(t, va) < 0)
            return NULL;
        e = vm_leaf(t->root, va);
    }
    if (!(*e & PTE_U) || !(*e & PTE_R) || (write && !(*e & PTE_W)))
        return NULL;
    return (uint8_t *)(((*e >> 10) << 12) | (va & (PAGE_SIZE - 1)));
}

static int put_user_u32(struct task *t, uintptr_t va, uint32_t v)
{
    if (va & 3)
        return -1;
    uint8_t *p = user_addr(t, va, 1);
    if (!p)
        return -1;
    *(uint32_t *)p = v;
    return 0;
}

/* ---- system calls ---- */
static long sys_write(struct task *t, uintptr_t buf, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++) {
        uint8_t *p = user_addr(t, buf + i, 0);
        if (!p)
            return -1;
        out_putc(t, (char)*p);
    }
    return (long)len;
}

static long sys_sbrk(struct task *t, long inc)
{
    uintptr_t old = t->brk, brk = old + inc;
    if (brk < USER_HEAP_BASE || brk > USER_HEAP_LIMIT)
        return -1;
    if (brk < old) {
        uintptr_t lo = (brk + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        vm_unmap_range(t->root, lo, old);
        if (t->asid)
            sfence_vma_asid(t->asid);
        else
            sfence_vma_all();
    }
    t->brk = brk;
    return (long)old;
}

static long sys_fork(struct task *t)
{
    struct task *c = task_alloc(t->name);
    if (!c)
        return -1;
    if (vm_copy_user(c->root, t->root) < 0) {
        vm_destroy(c->root);
        c->state = REAPED; /* the slot stays used; nothing to report */
        return -1;
    }
    c->tf = t->tf;
    c->tf.regs[10] = 0;
    c->brk = t->brk;
    c->parent = t->pid;
    c->background = t->background;
    c->state = RUNNABLE;
    t->forks++;
    return c->pid;
}

static long sys_wait(struct task *t, int pid, uintptr_t status)
{
    struct task *c = task_by_pid(pid);
    if (!c || c->parent != t->pid || c->state == REAPED || c->state == UNUSED)
        return -1;
    if (c->state == ZOMBIE) {
        if (status && put_user_u32(t, status, (uint32_t)c->exit_code) < 0)
            return -1;
        c->state = REAPED;
        return pid;
    }
    t->state = WAITING;
    t->wait_pid = pid;
    t->wait_status = status;
    return 0; /* replaced by task_finish when the child ends */
}

/* Returns 1 if the task gives up the CPU (yield). */
static int syscall(struct task *t)
{
    uint64_t *r = t->tf.regs;
    long ret;
    int yield = 0;
    t->syscalls++;
    t->tf.pc += 4; /* past the ecall */
    switch (r[17]) {
    case SYS_WRITE:  ret = sys_write(t, r[10], r[11]); break;
    case SYS_GETPID: ret = t->pid; break;
    case SYS_YIELD:  ret = 0; yield = 1; break;
    case SYS_SLEEP:
        ret = 0;
        t->wake_tick = ticks + (r[10] ? r[10] : 1);
        t->state = SLEEPING;
        break;
    case SYS_SBRK:   ret = sys_sbrk(t, (long)r[10]); break;
    case SYS_FORK:   ret = sys_fork(t); break;
    case SYS_EXIT:
        task_finish(t, (int)r[10]);
        return 1;
    case SYS_WAIT:   ret = sys_wait(t, (int)r[10], r[11]); break;
    default:
        task_kill(t, "unknown system call", r[17]);
        return 1;
    }
    if (t->state == RUNNABLE || t->state == SLEEPING || t->state == WAITING)
        r[10] = (uint64_t)ret;
    return yield;
}

/* ---- time and scheduling ---- */
static void timer_tick(void)
{
    ticks++;
    sbi_set_timer(csr_read(time) + tick_interval);
    for (int i = 0; i < ntasks; i++)
        if (tasks[i].state == SLEEPING && tasks[i].wake_tick <= ticks)
            tasks[i].state = RUNNABLE;
}

static int foreground_alive(void)
{
    for (int i = 0; i < ntasks; i++) {
        enum task_state s = tasks[i].state;
        if (!tasks[i].background && (s == RUNNABLE || s == SLEEPING || s == WAITING))
            return 1;
    }
    return 0;
}

static int any_sleeping(void)
{
    for (int i = 0; i < ntasks; i++)
        if (tasks[i].state == SLEEPING)
            return 1;
    return 0;
}

static void report_and_shutdown(void) __attribute__((noreturn));

/* Stops every background task that is still alive (they never end by themselves). */
static void stop_background(void)
{
    for (int i = 0; i < ntasks; i++) {
        struct task *t = &tasks[i];
        if (t->background && (t->state == RUNNABLE || t->state == SLEEPING || t->state == WAITING)) {
            out_puts(t, "minikernel: background task stopped\n");
            task_finish(t, -1);
        }
    }
}

static int last_task_started;

/* The next task to run: the current one unless `rotate`, else round robin. */
static struct task *schedule(int rotate)
{
    for (;;) {
        if (!foreground_alive()) {
            if (last_task_started)
                report_and_shutdown();
            /* Once the others are done, one last task runs alone: while it
             * sleeps nothing is runnable and the kernel waits in wfi. */
            stop_background();
            last_task_started = 1;
            if (task_spawn("sleeper", user_sleeper, 0) < 0)
                report_and_shutdown();
            continue;
        }
        if (!rotate && current && current->state == RUNNABLE)
            return current;
        int start = current ? (int)(current - tasks) : ntasks - 1;
        for (int k = 1; k <= ntasks; k++) {
            struct task *t = &tasks[(start + k) % ntasks];
            if (t->state == RUNNABLE)
                return t;
        }
        if (!any_sleeping()) {
            con_printf("minikernel: deadlock: every task waits for another\n");
            report_and_shutdown();
        }
        /* Idle until the next tick. */
        idle_waits++;
        __asm__ volatile("wfi");
        if (csr_read(sip) & SIP_STIP)
            timer_tick();
        rotate = 0;
    }
}

static struct trapframe *switch_to(struct task *t)
{
    if (t != current || csr_read(satp) != t->satp) {
        csr_write(satp, t->satp);
        if (!t->asid)
            sfence_vma_all();
    }
    current = t;
    return &t->tf;
}

struct trapframe *trap_handler(struct trapframe *tf)
{
    struct task *t = current;
    (void)tf; /* == &t->tf */
    uint64_t cause, tval;
    if (pv_active) { /* the VMM saved the frame and wrote what the trap was */
        t->tf.pc = pv_trap_info.sepc;
        cause = pv_trap_info.scause;
        tval = pv_trap_info.stval;
    } else {
        t->tf.pc = csr_read(sepc);
        cause = csr_read(scause);
        tval = csr_read(stval);
    }
    int rotate = 0;
    if (cause & SCAUSE_INTERRUPT) {
        if ((cause & ~SCAUSE_INTERRUPT) != IRQ_S_TIMER) {
            con_printf("minikernel: unexpected interrupt %lu\n", cause & ~SCAUSE_INTERRUPT);
            sbi_shutdown();
        }
        timer_tick();
        rotate = 1;
        preemptions++;
    } else if (cause == EXC_ECALL_U) {
        rotate = syscall(t);
    } else if (cause == EXC_LOAD_PAGE_FAULT || cause == EXC_STORE_PAGE_FAULT) {
        int load = cause == EXC_LOAD_PAGE_FAULT;
        pte_t *e = vm_leaf(t->root, tval);
        if (e && (*e & PTE_V))
            task_kill(t, load ? "load page fault on a page it may not read"
                              : "store page fault on a page it may not write",
                      tval);
        else if (heap_fault(t, tval) < 0)
            task_kill(t, load ? "load page fault outside the heap"
                              : "store page fault outside the heap",
                      tval);
    } else if (cause == EXC_INST_PAGE_FAULT) {
        task_kill(t, "instruction page fault", tval);
    } else {
        task_kill(t, "unexpected exception", cause);
    }
    return switch_to(schedule(rotate));
}

void task_run(void)
{
    csr_set(sie, SIE_STIE);
    sbi_set_timer(csr_read(time) + tick_interval);
    user_return(switch_to(schedule(0)));
}

/* ---- the end ---- */
static void report_and_shutdown(void)
{
    csr_write(satp, vm_kernel_satp());
    sfence_vma_all();
    current = NULL;
    unsigned long syscalls = 0, faults = 0, forks = 0, killed = 0;
    stop_background();
    con_printf("minikernel: all foreground tasks have ended; output by task:\n");
    for (int i = 0; i < ntasks; i++) {
        struct task *t = &tasks[i];
        con_printf("--- pid %d %s%s (parent %d): exit %d, %lu syscalls, %lu heap page faults, "
                   "%lu forks\n",
                   t->pid, t->name, t->background ? " [background]" : "", t->parent,
                   t->exit_code, t->syscalls, t->heap_faults, t->forks);
        for (unsigned k = 0; k < t->out_len; k++)
            con_putc(t->out[k]);
        if (t->out_lost)
            con_printf("[%u bytes of output lost]\n", t->out_lost);
        syscalls += t->syscalls;
        faults += t->heap_faults;
        forks += t->forks;
        killed += (unsigned long)t->killed;
    }
    con_printf("minikernel: %d tasks, %lu syscalls, %lu heap page faults, %lu forks, "
               "%lu killed by faults\n",
               ntasks, syscalls, faults, forks, killed);
    extern unsigned long boot_free_pages;
    con_printf("minikernel: free pages %lu at start, %lu at end: %s\n", boot_free_pages,
               page_free_count(), boot_free_pages == page_free_count() ? "no leak" : "LEAK");
#ifdef MINIKERNEL_DEBUG
    con_printf("debug: %lu ticks, %lu timer interrupts from U-mode, %lu idle waits, "
               "asid max %lu\n", ticks, preemptions, idle_waits, vm_asid_max());
#endif
    con_printf("minikernel: shutdown\n");
    sbi_shutdown();
}

void kernel_trap_report(void)
{
    con_printf("minikernel: trap in the kernel: scause=0x%lx sepc=0x%lx stval=0x%lx\n",
               csr_read(scause), csr_read(sepc), csr_read(stval));
    sbi_shutdown();
}
