/*
 * entry.S - minikernel's trap path (U-mode traps, and the report of a trap
 * in the kernel) and the return to U-mode.
 *
 * Boot is common/smode/entry.S: it clears sscratch, points stvec at
 * trap_entry (-DS_ENTRY_TRAP in flags.mk), zeroes .bss, calls
 * main(hartid, dtb) and, should main return, sbi_shutdown.
 *
 * Traps: while a task runs in U-mode, sscratch holds its trapframe; while
 * the kernel runs, sscratch is 0. trap_entry swaps t6 with sscratch, so a
 * zero t6 means the trap came from S-mode (a kernel bug): it is reported and
 * the machine shut down. From U-mode every register goes to the trapframe,
 * the kernel runs on the boot stack (it never blocks inside a trap: all task
 * state lives in the trapframes) and trap_handler returns the frame of the
 * task to resume, possibly another one.
 */
#include "kernel.h"

#define REG(n) (8 * (n))

    .text
    .balign 4
    .globl trap_entry
    .type trap_entry, @function
trap_entry:
    csrrw   t6, sscratch, t6
    beqz    t6, from_kernel
    sd      x1, REG(1)(t6)
    sd      x2, REG(2)(t6)
    sd      x3, REG(3)(t6)
    sd      x4, REG(4)(t6)
    sd      x5, REG(5)(t6)
    sd      x6, REG(6)(t6)
    sd      x7, REG(7)(t6)
    sd      x8, REG(8)(t6)
    sd      x9, REG(9)(t6)
    sd      x10, REG(10)(t6)
    sd      x11, REG(11)(t6)
    sd      x12, REG(12)(t6)
    sd      x13, REG(13)(t6)
    sd      x14, REG(14)(t6)
    sd      x15, REG(15)(t6)
    sd      x16, REG(16)(t6)
    sd      x17, REG(17)(t6)
    sd      x18, REG(18)(t6)
    sd      x19, REG(19)(t6)
    sd      x20, REG(20)(t6)
    sd      x21, REG(21)(t6)
    sd      x22, REG(22)(t6)
    sd      x23, REG(23)(t6)
    sd      x24, REG(24)(t6)
    sd      x25, REG(25)(t6)
    sd      x26, REG(26)(t6)
    sd      x27, REG(27)(t6)
    sd      x28, REG(28)(t6)
    sd      x29, REG(29)(t6)
    sd      x30, REG(30)(t6)
    csrr    t5, sscratch        /* the task's t6 */
    sd      t5, REG(31)(t6)
    csrw    sscratch, zero      /* now in the kernel */
    la      sp, _stack_top
    mv      a0, t6
    call    trap_handler
    /* fall through with a0 = the frame to resume */
    .size trap_entry, . - trap_entry

    .globl user_return
    .type user_return, @function
user_return:
    la      t0, pv_active
    lw      t0, 0(t0)
    bnez    t0, pv_iret
    ld      t0, TF_PC(a0)
    csrw    sepc, t0
    li      t0, SSTATUS_SPP
    csrc    sstatus, t0         /* sret goes to U-mode */
    li      t0, SSTATUS_SPIE
    csrs    sstatus, t0         /* with interrupts on */
    csrw    sscratch, a0
    mv      t6, a0
    ld      x1, REG(1)(t6)
    ld      x2, REG(2)(t6)
    ld      x3, REG(3)(t6)
    ld      x4, REG(4)(t6)
    ld      x5, REG(5)(t6)
    ld      x6, REG(6)(t6)
    ld      x7, REG(7)(t6)
    ld      x8, REG(8)(t6)
    ld      x9, REG(9)(t6)
    ld      x10, REG(10)(t6)
    ld      x11, REG(11)(t6)
    ld      x12, REG(12)(t6)
    ld      x13, REG(13)(t6)
    ld      x14, REG(14)(t6)
    ld      x15, REG(15)(t6)
    ld      x16, REG(16)(t6)
    ld      x17, REG(17)(t6)
    ld      x18, REG(18)(t6)
    ld      x19, REG(19)(t6)
    ld      x20, REG(20)(t6)
    ld      x21, REG(21)(t6)
    ld      x22, REG(22)(t6)
    ld      x23, REG(23)(t6)
    ld      x24, REG(24)(t6)
    ld      x25, REG(25)(t6)
    ld      x26, REG(26)(t6)
    ld      x27, REG(27)(t6)
    ld      x28, REG(28)(t6)
    ld      x29, REG(29)(t6)
    ld      x30, REG(30)(t6)
    ld      x31, REG(31)(t6)
    sret
    .size user_return, . - user_return

    .globl pv_trap_entry
    .type pv_trap_entry, @function
pv_trap_entry:                  /* --virt pv: the VMM saved the task's registers in a0's frame */
    la      sp, _stack_top
    call    trap_handler
    j       user_return
    .size pv_trap_entry, . - pv_trap_entry

pv_iret:                        /* --virt pv: iret(a0 = frame), never returns */
    li      a7, 0x09575056
    li      a6, 4
    ecall
1:  j       1b

from_kernel:
    csrrw   t6, sscratch, t6    /* t6 back, sscratch = 0 again */
    la      sp, _trap_stack_top
    call    kernel_trap_report  /* never returns */
1:  wfi
    j       1b
