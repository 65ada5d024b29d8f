/*
 * priv.h - shared helpers of the privileged-architecture guests (guests/priv).
 *
 * Every test runs its checks from M-mode and prints from M-mode only. Code
 * under test runs in a lower mode through run_lower(), which mrets into a
 * function and comes back when that function returns: the function's `ret`
 * lands on lower_return (trapvec.S), which does `ecall` with a7 = EXIT_MAGIC,
 * and the M-mode handler then longjmps back into run_lower's caller.
 *
 * Trap handling (trapvec.S + trap.c), M and S alike:
 *   - interrupts are logged in irq_log[] and their source is cleared;
 *   - an ecall with a7 == EXIT_MAGIC ends run_lower() (S forwards it to M);
 *   - any other exception is recorded in mtrap / strap and skipped:
 *     epc += 4 (every instruction these tests expect to trap is 4 bytes:
 *     the probes are assembled with .option norvc), except fetch faults
 *     (causes 1 and 12), which resume at the saved ra, i.e. right after the
 *     jalr that jumped to the bad address.
 *
 * References are to the RISC-V privileged spec, version 1.12 (20211203).
 */
#ifndef PRIV_H
#define PRIV_H

#include "guest.h"

/* ---- privilege modes (§1.2) --------------------------------------------- */
#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

/* ---- mstatus / sstatus fields (§3.1.6, §4.1.1) -------------------------- */
#define MSTATUS_SIE   (1UL << 1)
#define MSTATUS_MIE   (1UL << 3)
#define MSTATUS_SPIE  (1UL << 5)
#define MSTATUS_MPIE  (1UL << 7)
#define MSTATUS_SPP   (1UL << 8)
#define MSTATUS_MPP   (3UL << 11)
#define MSTATUS_MPP_S (1UL << 11)
#define MSTATUS_MPP_M (3UL << 11)
#define MSTATUS_MPRV  (1UL << 17)
#define MSTATUS_SUM   (1UL << 18)
#define MSTATUS_MXR   (1UL << 19)
#define MSTATUS_TVM   (1UL << 20)
#define MSTATUS_TW    (1UL << 21)
#define MSTATUS_TSR   (1UL << 22)
#define MPP_OF(st)    (((st) >> 11) & 3)

/* ---- interrupt numbers (§3.1.9) and exception causes (Table 3.6) -------- */
#define IRQ_S_SOFT  1
#define IRQ_M_SOFT  3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT   9
#define IRQ_M_EXT   11
#define MIP_SSIP (1UL << IRQ_S_SOFT)
#define MIP_MSIP (1UL << IRQ_M_SOFT)
#define MIP_STIP (1UL << IRQ_S_TIMER)
#define MIP_MTIP (1UL << IRQ_M_TIMER)
#define CAUSE_INTR (1UL << 63)

#define CAUSE_FETCH_MISALIGNED 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_LOAD_MISALIGNED  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_STORE_MISALIGNED 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE       12
#define CAUSE_LOAD_PAGE        13
#define CAUSE_STORE_PAGE       15

/* a7 value that marks the ecall ending run_lower() (fits a 12-bit li). */
#define EXIT_MAGIC 0x5e7

/* ---- CSR access ----------------------------------------------------------- */
#define csr_read(csr) ({ uint64_t v_; \
    __asm__ volatile("csrr %0, " #csr : "=r"(v_) : : "memory"); v_; })
#define csr_write(csr, val) \
    __asm__ volatile("csrw " #csr ", %0" : : "r"((uint64_t)(val)) : "memory")
#define csr_set(csr, val) \
    __asm__ volatile("csrs " #csr ", %0" : : "r"((uint64_t)(val)) : "memory")
#define csr_clear(csr, val) \
    __asm__ volatile("csrc " #csr ", %0" : : "r"((uint64_t)(val)) : "memory")

/* ---- trap records (trap.c) ------------------------------------------------ */
/** What one handler saw on its most recent recorded exception. */
struct trap_rec {
    uint64_t count;   /* exceptions recorded since trap_reset() */
    uint64_t cause;   /* xcause */
    uint64_t epc;     /* xepc */
    uint64_t tval;    /* xtval */
    uint64_t status;  /* mstatus (M handler) or sstatus (S handler) on entry */
};
/** Exceptions taken into M-mode (not counting the run_lower exit ecall). */
extern volatile struct trap_rec mtrap;
/** Exceptions taken into S-mode (delegated through medeleg). */
extern volatile struct trap_rec strap;
/** Interrupts taken, in order: (level << 8) | code, level PRV_M or PRV_S. */
extern volatile uint64_t irq_log[16];
extern volatile uint64_t irq_count;
/** The most recent interrupt: xepc and xstatus on entry. */
extern volatile uint64_t irq_epc, irq_status;
/** mstatus at the exit ecall of the last run_lower (MPP = mode that ran). */
extern volatile uint64_t exit_status;
/** Makes the log entry for an interrupt with `code` taken into `level`. */
#define IRQ(level, code) (((uint64_t)(level) << 8) | (code))

/** Clears mtrap, strap and the interrupt log. */
void trap_reset(void);
/**
 * One-time setup: mtvec/stvec to the suite handlers, mscratch/sscratch to
 * their stacks, PMP entry 0 = all memory RWX (without it S and U can touch
 * nothing, §3.7.1), medeleg = mideleg = mie = 0, satp = 0, mtimecmp = max.
 */
void priv_init(void);

/* ---- mode switching (trapvec.S) ------------------------------------------ */
/**
 * Runs fn(a0, a1) (fn is a code address) in `mode` (mstatus.MPP = mode, then mret) and returns
 * its result. Other mstatus bits (MPIE, SIE, SUM, MPRV...) are the caller's.
 */
uint64_t run_lower(int mode, uint64_t fn, uint64_t a0, uint64_t a1);
/** Same, entering through sret: the caller sets sstatus.SPP/SPIE first. */
uint64_t run_sret(uint64_t fn, uint64_t a0, uint64_t a1);
/** run_lower with the casts: RUN(PRV_U, probe_ld, addr, 0). */
#define RUN(mode, fn, a0, a1) \
    run_lower((mode), (uint64_t)(uintptr_t)(fn), (uint64_t)(a0), (uint64_t)(a1))

/* ---- probes (probes.S): each trapping instruction is 4 bytes ------------- */
uint64_t probe_ld(uint64_t addr);             /* ld a0, 0(a0) */
uint64_t probe_lw(uint64_t addr);             /* lw a0, 0(a0) */
uint64_t probe_sd(uint64_t addr, uint64_t v); /* sd a1, 0(a0); returns 0 */
uint64_t probe_exec(uint64_t addr);           /* jalr ra, 0(a0) */
uint64_t probe_ecall(uint64_t a0, uint64_t a7);
uint64_t probe_illegal(void);                 /* csrrw x0, cycle, x0 */
uint64_t probe_nop(void);
uint64_t probe_ret5a(void);                   /* returns 0x5a */
uint64_t probe_read_sstatus(void);
uint64_t probe_read_sip(void);
/* Labels of the trapping instruction inside each probe, for epc checks. */
extern char probe_ld_insn[], probe_sd_insn[], probe_ecall_insn[],
    probe_illegal_insn[], probe_lw_insn[];
/* The encoding of the instruction at probe_illegal_insn. */
#define ILLEGAL_INSN 0xc0001073UL

/* ---- page tables (pt.c; §4.3-§4.5) --------------------------------------- */
#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define SATP_SV39 (8UL << 60)
#define SATP_SV48 (9UL << 60)
#define PAGE 4096UL
/** Number of 4 KiB data pages in test_pages. */
#define TEST_PAGES 16
/** Physical pages the paging tests map at test virtual addresses. */
extern uint8_t test_pages[TEST_PAGES][4096];
/** Zeroes the page-table pool and returns a fresh root table. */
uint64_t *pt_new_root(void);
/**
 * Returns the PTE that maps `va` at `level` (0 = 4 KiB, 1 = 2 MiB, ...) in
 * a `levels`-level table (3 = Sv39, 4 = Sv48), creating the non-leaf
 * tables above it.
 */
volatile uint64_t *pt_entry(uint64_t *root, int levels, uint64_t va, int level);
/** Sets the leaf for `va` at `level` to pa | flags (pa >> 12 into PPN). */
void pt_map(uint64_t *root, int levels, uint64_t va, uint64_t pa, int level,
            uint64_t flags);
/** Identity-maps RAM (128 MiB from 0x80000000) with 2 MiB pages: S RWX, A D. */
void pt_map_ram(uint64_t *root, int levels);
/** Copies code (n bytes) to dst and runs fence.i. */
void copy_code(void *dst, const void *src, size_t n);
/** sfence.vma with no operands (all addresses, all ASIDs). */
static inline void sfence_all(void) { __asm__ volatile("sfence.vma" ::: "memory"); }

/* ---- check groups --------------------------------------------------------- */
/** Starts a group of checks that prints as one line. */
void group_begin(const char *name);
/** Prints "ok   <group>" or "FAIL <group> (<n> failures)". */
void group_end(void);

#endif /* PRIV_H */
