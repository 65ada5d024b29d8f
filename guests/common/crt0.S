/*
 * crt0.S - entry of every M-mode guest image.
 *
 * The board (QEMU virt with -bios none, or wasmvisor --bare) jumps to the
 * ELF entry in M-mode with a0 = hartid and a1 = DTB address.
 *   - harts other than 0 park in a wfi loop;
 *   - sp = _stack_top (link.ld), mtvec = default_trap_entry;
 *   - .bss is zeroed, the UART initialised;
 *   - main(hartid, dtb) runs and its result goes to guest_exit().
 */
    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    bnez    a0, park

    la      sp, _stack_top
    la      t0, default_trap_entry
    csrw    mtvec, t0

    /* Keep hartid and dtb in callee-saved registers across the setup calls. */
    mv      s0, a0
    mv      s1, a1

    /* Zero .bss (both bounds are 8-byte aligned by link.ld). */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    call    uart_init
    mv      a0, s0
    mv      a1, s1
    call    main
    call    guest_exit      /* a0 = main's return value; never returns */

park:
    wfi
    j       park
    .size _start, . - _start

/*
 * default_trap_entry - the handler crt0 installs. Switches to a small
 * private stack (the faulting code's sp may be what went wrong) and calls
 * default_trap_report(), which prints mcause/mepc/mtval and exits with 99.
 */
    .text
    .balign 4
    .globl default_trap_entry
    .type default_trap_entry, @function
default_trap_entry:
    la      sp, _trap_stack_top
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    call    default_trap_report
1:  wfi
    j       1b
    .size default_trap_entry, . - default_trap_entry
