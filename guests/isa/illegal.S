/*
 * illegal.S - encodings that must trap, and the synchronous exceptions
 * raised on purpose (privileged spec 3.1.15 mcause, 3.1.16 mtval).
 *
 * Each case runs under trap_record_entry, which records mcause, mepc and
 * mtval and skips the instruction (2 or 4 bytes from its low two bits).
 * For illegal instructions mtval must hold the faulting instruction bits
 * (16 bits for a compressed encoding), as QEMU reports them.
 *
 *   all-zero 16-bit word   defined to be illegal (spec 16.1)
 *   0xffffffff             reserved long encoding (QEMU: a 32-bit illegal)
 *   reserved C encodings   c.addi4spn nzuimm=0, c.lui imm=0, c.addi16sp
 *                          imm=0, c.lwsp/c.ldsp rd=0, c.jr rs1=0, the
 *                          reserved funct2 slots next to c.subw/c.addw
 *   32-bit reserved        OP funct7=0x7f, LOAD funct3=7, BRANCH funct3=2,
 *                          slliw with shamt[5]=1, custom-0 opcode,
 *                          unimp (csrrw x0, cycle, x0), fadd.s with
 *                          mstatus.FS = Off
 *   ebreak / c.ebreak      cause 3, mtval = 0 (QEMU 7.2; the spec allows 0
 *                          or the pc)
 *   ecall from M-mode      cause 11, mtval = 0
 */
#include "isa_macros.h"

/* Places one raw 16-bit (`.hword`) or 32-bit (`.word`) encoding and checks
 * it raised illegal instruction with mtval = those bits. */
.macro TEST_ILLEGAL16 name:req, bits:req
.Lat\@:
    .hword  \bits
    CHECK_TRAP "\name", CAUSE_ILLEGAL_INSN, .Lat\@, \bits
.endm

.macro TEST_ILLEGAL32 name:req, bits:req
.Lat\@:
    .word   \bits
    CHECK_TRAP "\name", CAUSE_ILLEGAL_INSN, .Lat\@, \bits
.endm

TEST_BEGIN
    TRAP_RECORD_ON

    GROUP "zero and all-ones"
    TEST_ILLEGAL16 "16-bit zero", 0x0000
    TEST_ILLEGAL32 "0xffffffff", 0xffffffff
    GROUP_END

    GROUP "reserved compressed"
    TEST_ILLEGAL16 "c.addi4spn nzuimm=0", 0x0004
    TEST_ILLEGAL16 "c.lui a0 imm=0", 0x6501
    TEST_ILLEGAL16 "c.addi16sp imm=0", 0x6101
    TEST_ILLEGAL16 "c.lwsp rd=0", 0x4002
    TEST_ILLEGAL16 "c.ldsp rd=0", 0x6002
    TEST_ILLEGAL16 "c.jr rs1=0", 0x8002
    TEST_ILLEGAL16 "quadrant 1 reserved funct2=10", 0x9c41
    TEST_ILLEGAL16 "quadrant 1 reserved funct2=11", 0x9c61
    GROUP_END

    GROUP "reserved 32-bit"
    TEST_ILLEGAL32 "OP funct7=0x7f", 0xfe5282b3
    TEST_ILLEGAL32 "LOAD funct3=7", 0x00007283
    TEST_ILLEGAL32 "BRANCH funct3=2", 0x00002063
    TEST_ILLEGAL32 "slliw shamt=32", 0x0202929b
    TEST_ILLEGAL32 "custom-0", 0x0000000b
    TEST_ILLEGAL32 "unimp (csrrw x0, cycle, x0)", 0xc0001073
    csrr    t0, mstatus
    li      t1, 3 << 13             /* mstatus.FS (bits 14:13) */
    and     t0, t0, t1
    CHECK   "mstatus.FS is Off at reset", t0, 0
    TEST_ILLEGAL32 "fadd.s with FS=Off", 0x00007053
    GROUP_END

    GROUP "ebreak/ecall"
1:  ebreak
    CHECK_TRAP "ebreak", CAUSE_BREAKPOINT, 1b, 0
2:  c.ebreak
    CHECK_TRAP "c.ebreak", CAUSE_BREAKPOINT, 2b, 0
3:  ecall
    CHECK_TRAP "ecall from M", CAUSE_ECALL_M, 3b, 0
    li      a7, 0x5a
    li      a0, 0xa5
4:  ecall
    mv      s2, a7
    mv      s3, a0
    CHECK_TRAP "ecall with arguments", CAUSE_ECALL_M, 4b, 0
    CHECK   "ecall keeps a7", s2, 0x5a
    CHECK   "ecall keeps a0", s3, 0xa5
    GROUP_END

    GROUP "registers survive a trap"
    li      s2, 0x1122334455667788
    li      t0, 0x0123456789abcdef
    li      t6, 0x0fedcba987654321
    mv      s4, sp
5:  .word   0xffffffff
    mv      s3, t0
    mv      s5, t6
    mv      s6, sp
    CHECK_TRAP "trap in the middle", CAUSE_ILLEGAL_INSN, 5b, 0xffffffff
    CHECK   "s2 kept", s2, 0x1122334455667788
    CHECK   "t0 kept", s3, 0x0123456789abcdef
    CHECK   "t6 kept", s5, 0x0fedcba987654321
    CHECK_R "sp kept", s6, s4
    GROUP_END

    TRAP_RECORD_OFF
TEST_END "illegal"
