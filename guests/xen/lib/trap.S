/*
 * trap.S - the DomU's trap path, xen_trap_entry (stvec: the S-mode entry,
 * common/smode/entry.S, installs it at boot for the xen suite, and
 * xen_events_init for any kernel).
 *
 * Traps only come from S-mode (a DomU program has no U-mode; minikernel
 * switches to this path only when it runs as a DomU, lib/domu.c):
 * xen_trap_entry saves the caller-saved registers on the current stack,
 * calls xen_trap_handler(scause, sepc) (xen.c) and returns with sret.
 */
#define SAVED 16

    .text
    .balign 4
    .globl xen_trap_entry
    .type xen_trap_entry, @function
xen_trap_entry:
    addi    sp, sp, -8 * SAVED
    sd      ra, 0(sp)
    sd      t0, 8(sp)
    sd      t1, 16(sp)
    sd      t2, 24(sp)
    sd      t3, 32(sp)
    sd      t4, 40(sp)
    sd      t5, 48(sp)
    sd      t6, 56(sp)
    sd      a0, 64(sp)
    sd      a1, 72(sp)
    sd      a2, 80(sp)
    sd      a3, 88(sp)
    sd      a4, 96(sp)
    sd      a5, 104(sp)
    sd      a6, 112(sp)
    sd      a7, 120(sp)
    csrr    a0, scause
    csrr    a1, sepc
    call    xen_trap_handler
    ld      ra, 0(sp)
    ld      t0, 8(sp)
    ld      t1, 16(sp)
    ld      t2, 24(sp)
    ld      t3, 32(sp)
    ld      t4, 40(sp)
    ld      t5, 48(sp)
    ld      t6, 56(sp)
    ld      a0, 64(sp)
    ld      a1, 72(sp)
    ld      a2, 80(sp)
    ld      a3, 88(sp)
    ld      a4, 96(sp)
    ld      a5, 104(sp)
    ld      a6, 112(sp)
    ld      a7, 120(sp)
    addi    sp, sp, 8 * SAVED
    sret
    .size xen_trap_entry, . - xen_trap_entry
