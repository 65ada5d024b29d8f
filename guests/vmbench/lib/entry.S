/* S-mode entry of the vmbench workloads: a0 = hartid, a1 = DTB (as OpenSBI and a VMM enter a
   kernel). Sets the stack, clears .bss, runs main and reports its result to the finisher. */
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, _stack_top
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  call main
    call guest_exit
3:  j 3b
