/*
 * isa_macros.h - assembler macros for the self-checking ISA tests.
 *
 * A test file looks like
 *     #include "isa_macros.h"
 *     TEST_BEGIN
 *         GROUP "add"
 *         TEST_RR "add 1+1", add, 2, 1, 1
 *         GROUP_END
 *     TEST_END "rv64i_alu"
 * The macros call C helpers (check_eq_u64, isa_lib.c), so a0-a7 and t0-t6
 * do not survive a check; s1-s11 do (main saves them). s0 holds no state.
 * Scratch registers used by TEST_* are t0 (result), t1 and t2 (sources).
 */
#ifndef ISA_MACROS_H
#define ISA_MACROS_H

/* mcause values, privileged spec 1.12 table 3.6. */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_ILLEGAL_INSN     2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_ECALL_M          11

/* main(): saves ra and s0-s11 in a 112-byte frame, installs nothing. */
.macro TEST_BEGIN
    .text
    .globl main
    .balign 4
main:
    addi    sp, sp, -112
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    sd      s1, 16(sp)
    sd      s2, 24(sp)
    sd      s3, 32(sp)
    sd      s4, 40(sp)
    sd      s5, 48(sp)
    sd      s6, 56(sp)
    sd      s7, 64(sp)
    sd      s8, 72(sp)
    sd      s9, 80(sp)
    sd      s10, 88(sp)
    sd      s11, 96(sp)
.endm

/* Prints PASS/FAIL <name> and returns 0/1 from main. */
.macro TEST_END name:req
    STRING  a0, "\name"
    call    check_report
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    ld      s1, 16(sp)
    ld      s2, 24(sp)
    ld      s3, 32(sp)
    ld      s4, 40(sp)
    ld      s5, 48(sp)
    ld      s6, 56(sp)
    ld      s7, 64(sp)
    ld      s8, 72(sp)
    ld      s9, 80(sp)
    ld      s10, 88(sp)
    ld      s11, 96(sp)
    addi    sp, sp, 112
    ret
.endm

/* reg = address of a NUL-terminated copy of `text` in .rodata. */
.macro STRING reg:req, text:req
    .pushsection .rodata.isa_str, "a", @progbits
.Lstr\@: .asciz "\text"
    .popsection
    la      \reg, .Lstr\@
.endm

.macro GROUP name:req
    STRING  a0, "\name"
    call    isa_group_begin
.endm

.macro GROUP_END
    call    isa_group_end
.endm

/* Fails `name` unless register `reg` equals the constant `want`. */
.macro CHECK name:req, reg:req, want:req
    mv      a1, \reg
    li      a2, \want
    STRING  a0, "\name"
    call    check_eq_u64
.endm

/* Fails `name` unless register `reg` equals register `wantreg`. */
.macro CHECK_R name:req, reg:req, wantreg:req
    mv      a1, \reg
    mv      a2, \wantreg
    STRING  a0, "\name"
    call    check_eq_u64
.endm

/* t0 = op(v1, v2) with register sources; checks t0 == want. */
.macro TEST_RR name:req, op:req, want:req, v1:req, v2:req
    li      t1, \v1
    li      t2, \v2
    \op     t0, t1, t2
    CHECK   "\name", t0, \want
.endm

/* t0 = op(v1, imm); checks t0 == want. */
.macro TEST_RI name:req, op:req, want:req, v1:req, imm:req
    li      t1, \v1
    \op     t0, t1, \imm
    CHECK   "\name", t0, \want
.endm

/* Same as TEST_RR with rd == rs1 (the source is overwritten). */
.macro TEST_RR_SAME1 name:req, op:req, want:req, v1:req, v2:req
    li      t1, \v1
    li      t2, \v2
    \op     t1, t1, t2
    CHECK   "\name", t1, \want
.endm

/* Same as TEST_RR with rs1 == rs2 == rd. */
.macro TEST_RR_ALL name:req, op:req, want:req, v1:req
    li      t1, \v1
    \op     t1, t1, t1
    CHECK   "\name", t1, \want
.endm

/* Installs trap_record_entry as mtvec and clears the record. */
.macro TRAP_RECORD_ON
    la      t0, trap_record_entry
    csrw    mtvec, t0
    call    trap_record_reset
.endm

/* Puts back crt0's default handler (unexpected traps end the test). */
.macro TRAP_RECORD_OFF
    la      t0, default_trap_entry
    csrw    mtvec, t0
.endm

/* Checks one recorded trap with mcause = cause, mepc = label and
 * mtval = the instruction bits found at label. */
.macro CHECK_TRAP_INSN name:req, cause:req, label:req
    la      a0, \label
    call    isa_insn_bits
    mv      a3, a0
    la      a2, \label
    li      a1, \cause
    STRING  a0, "\name"
    call    isa_check_trap
.endm

/* Checks one recorded trap with mcause = cause, mepc = label, mtval = tval. */
.macro CHECK_TRAP name:req, cause:req, label:req, tval:req
    li      a3, \tval
    la      a2, \label
    li      a1, \cause
    STRING  a0, "\name"
    call    isa_check_trap
.endm

/* Checks one recorded trap with mcause = cause, mepc = mtval = label. */
.macro CHECK_TRAP_PC name:req, cause:req, label:req
    la      a3, \label
    la      a2, \label
    li      a1, \cause
    STRING  a0, "\name"
    call    isa_check_trap
.endm

/* Checks that nothing trapped since the last check. */
.macro CHECK_NO_TRAP name:req
    STRING  a0, "\name"
    call    isa_check_no_trap
.endm

#endif /* ISA_MACROS_H */
