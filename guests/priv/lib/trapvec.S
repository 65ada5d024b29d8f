/*
 * trapvec.S - trap vectors and mode switching for the priv suite.
 *
 * m_trap_vec / s_trap_vec save every GPR in a 256-byte frame on their own
 * stack (found through mscratch / sscratch, swapped with sp on entry, so the
 * interrupted sp may be anything) and call m_trap_c / s_trap_c (trap.c) with
 * the frame address; frame slot i holds x<i>, slot 2 the interrupted sp.
 * The C side may rewrite xepc and frame slots; the vector then restores
 * the registers and returns with mret / sret.
 *
 * run_lower / run_sret save the callee-saved state of their caller in
 * lower_ctx and enter the function in the lower mode; its `ret` lands on
 * lower_return, whose ecall (a7 = EXIT_MAGIC) brings the M handler to
 * m_resume, which restores lower_ctx and returns to run_lower's caller.
 * Nothing here nests: one trap at a time per handler.
 */
#define EXIT_MAGIC 0x5e7
#define FRAME 256

    .option norvc

/* Saves x1, x3..x31 at 8*i(sp); the caller stores the old sp in slot 2. */
.macro SAVE_GPRS
    sd x1, 8(sp)
    sd x3, 24(sp)
    sd x4, 32(sp)
    sd x5, 40(sp)
    sd x6, 48(sp)
    sd x7, 56(sp)
    sd x8, 64(sp)
    sd x9, 72(sp)
    sd x10, 80(sp)
    sd x11, 88(sp)
    sd x12, 96(sp)
    sd x13, 104(sp)
    sd x14, 112(sp)
    sd x15, 120(sp)
    sd x16, 128(sp)
    sd x17, 136(sp)
    sd x18, 144(sp)
    sd x19, 152(sp)
    sd x20, 160(sp)
    sd x21, 168(sp)
    sd x22, 176(sp)
    sd x23, 184(sp)
    sd x24, 192(sp)
    sd x25, 200(sp)
    sd x26, 208(sp)
    sd x27, 216(sp)
    sd x28, 224(sp)
    sd x29, 232(sp)
    sd x30, 240(sp)
    sd x31, 248(sp)
.endm

.macro LOAD_GPRS
    ld x1, 8(sp)
    ld x3, 24(sp)
    ld x4, 32(sp)
    ld x5, 40(sp)
    ld x6, 48(sp)
    ld x7, 56(sp)
    ld x8, 64(sp)
    ld x9, 72(sp)
    ld x10, 80(sp)
    ld x11, 88(sp)
    ld x12, 96(sp)
    ld x13, 104(sp)
    ld x14, 112(sp)
    ld x15, 120(sp)
    ld x16, 128(sp)
    ld x17, 136(sp)
    ld x18, 144(sp)
    ld x19, 152(sp)
    ld x20, 160(sp)
    ld x21, 168(sp)
    ld x22, 176(sp)
    ld x23, 184(sp)
    ld x24, 192(sp)
    ld x25, 200(sp)
    ld x26, 208(sp)
    ld x27, 216(sp)
    ld x28, 224(sp)
    ld x29, 232(sp)
    ld x30, 240(sp)
    ld x31, 248(sp)
.endm

    .text
    .balign 4
    .globl m_trap_vec
m_trap_vec:
    csrrw   sp, mscratch, sp        /* sp = M trap stack, mscratch = old sp */
    addi    sp, sp, -FRAME
    SAVE_GPRS
    csrr    t0, mscratch
    sd      t0, 16(sp)
    mv      a0, sp
    call    m_trap_c
    LOAD_GPRS
    addi    sp, sp, FRAME
    csrrw   sp, mscratch, sp        /* back to old sp, mscratch = stack top */
    mret

    .balign 4
    .globl s_trap_vec
s_trap_vec:
    csrrw   sp, sscratch, sp
    addi    sp, sp, -FRAME
    SAVE_GPRS
    csrr    t0, sscratch
    sd      t0, 16(sp)
    mv      a0, sp
    call    s_trap_c
    LOAD_GPRS
    addi    sp, sp, FRAME
    csrrw   sp, sscratch, sp
    sret

/* Saves ra, sp, s0..s11 in lower_ctx. */
.macro SAVE_CTX
    la      t0, lower_ctx
    sd      ra, 0(t0)
    sd      sp, 8(t0)
    sd      s0, 16(t0)
    sd      s1, 24(t0)
    sd      s2, 32(t0)
    sd      s3, 40(t0)
    sd      s4, 48(t0)
    sd      s5, 56(t0)
    sd      s6, 64(t0)
    sd      s7, 72(t0)
    sd      s8, 80(t0)
    sd      s9, 88(t0)
    sd      s10, 96(t0)
    sd      s11, 104(t0)
.endm

/* uint64_t run_lower(int mode, lower_fn fn, uint64_t a0, uint64_t a1) */
    .globl run_lower
run_lower:
    SAVE_CTX
    csrw    mepc, a1
    li      t0, 3 << 11
    csrc    mstatus, t0             /* MPP = 0 ... */
    andi    a0, a0, 3
    slli    t1, a0, 11
    csrs    mstatus, t1             /* ... | mode */
    mv      a0, a2
    mv      a1, a3
    la      ra, lower_return
    mret

/* uint64_t run_sret(lower_fn fn, uint64_t a0, uint64_t a1) */
    .globl run_sret
run_sret:
    SAVE_CTX
    csrw    sepc, a0
    mv      a0, a1
    mv      a1, a2
    la      ra, lower_return
    sret

    .globl lower_return
lower_return:
    li      a7, EXIT_MAGIC
    ecall
1:  j       1b

/*
 * m_resume(uint64_t result): called by m_trap_c on the M trap stack; makes
 * run_lower return `result` to its caller, in M-mode. The trap stacks are
 * re-armed because neither handler gets to swap its sp back.
 */
    .globl m_resume
m_resume:
    la      t0, m_trap_stack_top
    csrw    mscratch, t0
    la      t0, s_trap_stack_top
    csrw    sscratch, t0
    la      t0, lower_ctx
    ld      ra, 0(t0)
    ld      sp, 8(t0)
    ld      s0, 16(t0)
    ld      s1, 24(t0)
    ld      s2, 32(t0)
    ld      s3, 40(t0)
    ld      s4, 48(t0)
    ld      s5, 56(t0)
    ld      s6, 64(t0)
    ld      s7, 72(t0)
    ld      s8, 80(t0)
    ld      s9, 88(t0)
    ld      s10, 96(t0)
    ld      s11, 104(t0)
    ret

    .bss
    .balign 16
lower_ctx:
    .space 14 * 8
    .balign 16
    .globl m_trap_stack_top, s_trap_stack_top
    .space 4096
m_trap_stack_top:
    .space 4096
s_trap_stack_top:
