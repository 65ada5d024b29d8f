/*
 * smode/entry.S - the entry point of the S-mode kernels (common/link-s.ld):
 * minikernel, vmbench and the xen suite's DomUs. It lives in a directory of
 * its own so that the M-mode suites, which link all of common/*.S by
 * default, do not get a second _start; the S-mode suites name it in their
 * <suite>_COMMON_SRCS.
 *
 * The firmware enters at 0x80200000 in S-mode (VS-mode under wasmvisor's VMM
 * or hypervisor) with a0 = hartid and a1 = DTB address, as OpenSBI fw_dynamic
 * and KVM enter Linux (Documentation/arch/riscv/boot.rst). _start:
 *   1. masks S-mode interrupts (sie = 0) and clears sscratch (minikernel's
 *      trap path reads 0 there as "trap from the kernel");
 *   2. parks every hart but hart 0 in wfi;
 *   3. sets gp (__global_pointer$, without relaxation) and the 64 KiB boot
 *      stack;
 *   4. points stvec at S_ENTRY_TRAP when the suite defines it (flags.mk:
 *      -DS_ENTRY_TRAP=trap_entry); vmbench takes no traps and leaves stvec;
 *   5. zeroes .bss and calls main(hartid, dtb);
 *   6. if main returns, calls S_ENTRY_EXIT(main's result) when the suite
 *      defines it (minikernel: sbi_shutdown; vmbench: guest_exit, the test
 *      finisher), then parks.
 */

    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    csrw    sie, zero
    csrw    sscratch, zero
    bnez    a0, park
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, _stack_top
#ifdef S_ENTRY_TRAP
    la      t0, S_ENTRY_TRAP
    csrw    stvec, t0
#endif
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
#ifdef S_ENTRY_EXIT
    call    S_ENTRY_EXIT
#endif
park:
    wfi
    j       park
    .size _start, . - _start
