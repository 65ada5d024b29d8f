/*
 * trap_record.S - a trap handler for tests that expect traps.
 *
 * Install with set_mtvec(trap_record_entry). On each trap it records
 *   trap_mcause, trap_mepc, trap_mtval   (the CSR values)
 *   trap_count                           (incremented)
 * and, for exceptions, moves mepc past the trapping instruction. Its
 * length comes from the instruction itself: low two bits 0b11 = 4 bytes,
 * otherwise 2 (RISC-V unprivileged spec, "Base Instruction-Length
 * Encoding"). It reads the instruction as two 16-bit halves so a 4-byte
 * instruction at a 2-byte aligned mepc is never read misaligned.
 * Interrupts (mcause bit 63) are recorded and mepc is left alone; the test
 * that enables them must also clear the source.
 *
 * All registers are preserved: t0..t2 are saved in 32 bytes below sp.
 */
    .text
    .balign 4
    .globl trap_record_entry
    .type trap_record_entry, @function
trap_record_entry:
    addi    sp, sp, -32
    sd      t0, 0(sp)
    sd      t1, 8(sp)
    sd      t2, 16(sp)

    csrr    t0, mcause
    la      t1, trap_mcause
    sd      t0, 0(t1)
    csrr    t0, mepc
    la      t1, trap_mepc
    sd      t0, 0(t1)
    csrr    t0, mtval
    la      t1, trap_mtval
    sd      t0, 0(t1)
    la      t1, trap_count
    ld      t2, 0(t1)
    addi    t2, t2, 1
    sd      t2, 0(t1)

    csrr    t0, mcause
    bltz    t0, 1f              /* interrupt: return to the same pc */
    csrr    t0, mepc
    lhu     t1, 0(t0)           /* low half holds the length bits */
    andi    t1, t1, 3
    li      t2, 3
    addi    t0, t0, 2
    bne     t1, t2, 2f
    addi    t0, t0, 2
2:  csrw    mepc, t0
1:
    ld      t0, 0(sp)
    ld      t1, 8(sp)
    ld      t2, 16(sp)
    addi    sp, sp, 32
    mret
    .size trap_record_entry, . - trap_record_entry

    .globl trap_record_reset
    .type trap_record_reset, @function
trap_record_reset:
    la      t0, trap_count
    sd      zero, 0(t0)
    la      t0, trap_mcause
    sd      zero, 0(t0)
    la      t0, trap_mepc
    sd      zero, 0(t0)
    la      t0, trap_mtval
    sd      zero, 0(t0)
    ret
    .size trap_record_reset, . - trap_record_reset

    .section .bss
    .balign 8
    .globl trap_count, trap_mcause, trap_mepc, trap_mtval
trap_count:  .dword 0
trap_mcause: .dword 0
trap_mepc:   .dword 0
trap_mtval:  .dword 0
