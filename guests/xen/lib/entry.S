/*
 * entry.S - the DomU's entry point and trap path.
 *
 * _start: entered in S-mode (VS under wasmvisor) at 0x80200000 with
 * a0 = hartid and a1 = DTB. Any hart but the first parks; the boot hart
 * takes the boot stack, points stvec at trap_entry, zeroes .bss and calls
 * main(hartid, dtb).
 *
 * Traps only come from S-mode (the kernel has no U-mode): trap_entry saves
 * the caller-saved registers on the current stack, calls
 * trap_handler(scause, sepc) and returns with sret.
 */
#define SAVED 16

    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    csrw    sie, zero
    bnez    a0, park
    la      sp, _stack_top
    la      t0, trap_entry
    csrw    stvec, t0
    mv      s0, a0
    mv      s1, a1
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  mv      a0, s0
    mv      a1, s1
    call    main
park:
    wfi
    j       park
    .size _start, . - _start

    .text
    .balign 4
    .globl trap_entry
    .type trap_entry, @function
trap_entry:
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
    call    trap_handler
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
    .size trap_entry, . - trap_entry
