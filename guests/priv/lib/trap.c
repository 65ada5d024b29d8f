/*
 * trap.c - the C half of the priv suite's trap handlers (see priv.h for the
 * policy) and the check-group printer.
 */
#include "priv.h"

volatile struct trap_rec mtrap, strap;
volatile uint64_t irq_log[16];
volatile uint64_t irq_count;
volatile uint64_t irq_epc, irq_status;
volatile uint64_t exit_status;

extern void m_trap_vec(void);
extern void s_trap_vec(void);
extern char m_trap_stack_top[], s_trap_stack_top[];
void m_resume(uint64_t result) __attribute__((noreturn));
void m_trap_c(uint64_t *frame);
void s_trap_c(uint64_t *frame);

/* Frame slots (trapvec.S): slot i = x<i>. */
#define REG_RA 1
#define REG_A0 10
#define REG_A7 17

void trap_reset(void)
{
    mtrap.count = mtrap.cause = mtrap.epc = mtrap.tval = mtrap.status = 0;
    strap.count = strap.cause = strap.epc = strap.tval = strap.status = 0;
    for (int i = 0; i < 16; i++)
        irq_log[i] = 0;
    irq_count = irq_epc = irq_status = exit_status = 0;
}

void priv_init(void)
{
    csr_write(mtvec, (uint64_t)m_trap_vec);
    csr_write(stvec, (uint64_t)s_trap_vec);
    csr_write(mscratch, (uint64_t)m_trap_stack_top);
    csr_write(sscratch, (uint64_t)s_trap_stack_top);
    /* PMP entry 0: NAPOT over the whole address space, R W X (§3.7.1). */
    csr_write(pmpaddr0, ~0UL >> 10);
    csr_write(pmpcfg0, 0x1f);
    csr_write(medeleg, 0);
    csr_write(mideleg, 0);
    csr_write(mie, 0);
    csr_write(satp, 0);
    mmio_write64(CLINT_MTIMECMP, ~0UL);
    __asm__ volatile("sfence.vma" ::: "memory");
    trap_reset();
}

static void log_irq(int level, uint64_t code, uint64_t epc, uint64_t status)
{
    if (irq_count < 16)
        irq_log[irq_count] = IRQ(level, code);
    irq_count++;
    irq_epc = epc;
    irq_status = status;
}

/* Called by m_trap_vec with the saved registers. */
void m_trap_c(uint64_t *frame)
{
    uint64_t cause = csr_read(mcause);
    uint64_t epc = csr_read(mepc);
    uint64_t status = csr_read(mstatus);

    if (cause & CAUSE_INTR) {
        uint64_t code = cause & 0xff;
        log_irq(PRV_M, code, epc, status);
        /* Clear the source so mret does not take it again. */
        switch (code) {
        case IRQ_M_SOFT:  mmio_write32(CLINT_MSIP, 0); break;
        case IRQ_M_TIMER: mmio_write64(CLINT_MTIMECMP, ~0UL); break;
        case IRQ_S_SOFT:  csr_clear(mip, MIP_SSIP); break;
        case IRQ_S_TIMER: csr_clear(mip, MIP_STIP); break;
        default:          csr_clear(mie, 1UL << code); break;
        }
        return;
    }
    if ((cause == CAUSE_ECALL_U || cause == CAUSE_ECALL_S ||
         cause == CAUSE_ECALL_M) && frame[REG_A7] == EXIT_MAGIC) {
        exit_status = status;
        m_resume(frame[REG_A0]);
    }
    mtrap.count++;
    mtrap.cause = cause;
    mtrap.epc = epc;
    mtrap.tval = csr_read(mtval);
    mtrap.status = status;
    if (cause == CAUSE_FETCH_ACCESS || cause == CAUSE_FETCH_PAGE)
        csr_write(mepc, frame[REG_RA]);
    else
        csr_write(mepc, epc + 4);
}

/* Called by s_trap_vec (only for what medeleg / mideleg delegate). */
void s_trap_c(uint64_t *frame)
{
    uint64_t cause = csr_read(scause);
    uint64_t epc = csr_read(sepc);
    uint64_t status = csr_read(sstatus);

    if (cause & CAUSE_INTR) {
        uint64_t code = cause & 0xff;
        log_irq(PRV_S, code, epc, status);
        switch (code) {
        case IRQ_S_SOFT: csr_clear(sip, MIP_SSIP); break;
        /* STIP is read-only in sip (§4.1.3): mask it instead. */
        default:         csr_clear(sie, 1UL << code); break;
        }
        return;
    }
    if (cause == CAUSE_ECALL_U && frame[REG_A7] == EXIT_MAGIC) {
        /* A delegated exit ecall from U: pass it on to M. */
        register uint64_t a0 __asm__("a0") = frame[REG_A0];
        register uint64_t a7 __asm__("a7") = EXIT_MAGIC;
        __asm__ volatile("ecall" : : "r"(a0), "r"(a7) : "memory");
        for (;;)
            ;
    }
    strap.count++;
    strap.cause = cause;
    strap.epc = epc;
    strap.tval = csr_read(stval);
    strap.status = status;
    if (cause == CAUSE_FETCH_ACCESS || cause == CAUSE_FETCH_PAGE)
        csr_write(sepc, frame[REG_RA]);
    else
        csr_write(sepc, epc + 4);
}

static const char *group_name;
static int group_start;

void group_begin(const char *name)
{
    group_name = name;
    group_start = guest_failures;
    trap_reset();
}

void group_end(void)
{
    int n = guest_failures - group_start;
    if (n == 0)
        con_printf("ok   %s\n", group_name);
    else
        con_printf("FAIL %s (%d failures)\n", group_name, n);
}
