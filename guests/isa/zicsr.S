/*
 * zicsr.S - CSR instructions (unprivileged spec chapter 9, "Zicsr") and
 * CSR access rules (privileged spec 2.1: csr[11:10] = 0b11 is read-only).
 *
 * Covered: csrrw csrrs csrrc csrrwi csrrsi csrrci on mscratch (old value
 * to rd, new value in the CSR, all 64 bits kept); rs1 = x0 / uimm = 0 for
 * csrrs/csrrc does not write (so it is legal on read-only CSRs, 9.1);
 * csrrw with rd = x0 does not read; rd == rs1; writing a read-only CSR
 * (mvendorid, marchid, mimpid, mhartid, cycle) raises illegal instruction
 * with mtval = the instruction bits and leaves rd unwritten; misa reports
 * MXL = 64 and the I, M, A, C extensions; cycle, instret and time are
 * readable in M-mode.
 */
#include "isa_macros.h"

#define SENTINEL 0x5e5e5e5e5e5e5e5e

/* Runs the read-only CSR write `insn` (labelled), expects an illegal
 * instruction trap for it and s2 (its rd, preset to SENTINEL) unchanged. */
.macro TEST_RO_WRITE name:req, insn:vararg
    li      s2, SENTINEL
    li      t1, 1
.Linsn\@:
    \insn
    CHECK_TRAP_INSN "\name", CAUSE_ILLEGAL_INSN, .Linsn\@
    CHECK   "\name rd unwritten", s2, SENTINEL
.endm

TEST_BEGIN

    GROUP "register forms"
    li      t1, 0x1111222233334444
    csrw    mscratch, t1
    li      t1, 0xf0f0f0f0f0f0f0f0
    csrrw   t0, mscratch, t1
    csrr    t2, mscratch
    mv      s2, t0
    mv      s3, t2
    CHECK   "csrrw old", s2, 0x1111222233334444
    CHECK   "csrrw new", s3, 0xf0f0f0f0f0f0f0f0
    li      t1, 0x0f0000000000000f
    csrrs   t0, mscratch, t1
    csrr    t2, mscratch
    mv      s2, t0
    mv      s3, t2
    CHECK   "csrrs old", s2, 0xf0f0f0f0f0f0f0f0
    CHECK   "csrrs new", s3, 0xfff0f0f0f0f0f0ff
    li      t1, 0xff000000000000ff
    csrrc   t0, mscratch, t1
    csrr    t2, mscratch
    mv      s2, t0
    mv      s3, t2
    CHECK   "csrrc old", s2, 0xfff0f0f0f0f0f0ff
    CHECK   "csrrc new", s3, 0x00f0f0f0f0f0f000
    csrrs   t0, mscratch, x0        /* reads, does not write */
    csrr    t2, mscratch
    mv      s2, t0
    mv      s3, t2
    CHECK   "csrrs x0 reads", s2, 0x00f0f0f0f0f0f000
    CHECK   "csrrs x0 keeps", s3, 0x00f0f0f0f0f0f000
    csrrc   t0, mscratch, x0
    csrr    t2, mscratch
    CHECK   "csrrc x0 keeps", t2, 0x00f0f0f0f0f0f000
    li      t1, -1
    csrrw   x0, mscratch, t1        /* write only */
    csrr    t2, mscratch
    CHECK   "mscratch holds 64 bits", t2, -1
    li      t1, 0x1234
    csrrw   t1, mscratch, t1        /* rd == rs1: swap */
    csrr    t2, mscratch
    mv      s2, t1
    mv      s3, t2
    CHECK   "csrrw rd==rs1 old", s2, -1
    CHECK   "csrrw rd==rs1 new", s3, 0x1234
    GROUP_END

    GROUP "immediate forms"
    csrw    mscratch, zero
    csrrwi  t0, mscratch, 31
    csrr    t2, mscratch
    mv      s2, t0
    mv      s3, t2
    CHECK   "csrrwi old", s2, 0
    CHECK   "csrrwi new (zero-extended 5 bits)", s3, 31
    csrrsi  t0, mscratch, 0x10
    mv      s2, t0
    li      t1, 0x100
    csrw    mscratch, t1
    csrrsi  t0, mscratch, 0x3
    csrr    t2, mscratch
    mv      s3, t0
    mv      s4, t2
    CHECK   "csrrsi old", s2, 31
    CHECK   "csrrsi old 2", s3, 0x100
    CHECK   "csrrsi new", s4, 0x103
    csrrci  t0, mscratch, 0x1
    csrr    t2, mscratch
    mv      s2, t0
    mv      s3, t2
    CHECK   "csrrci old", s2, 0x103
    CHECK   "csrrci new", s3, 0x102
    csrrsi  t0, mscratch, 0
    csrrci  t1, mscratch, 0
    csrr    t2, mscratch
    mv      s2, t0
    mv      s3, t1
    mv      s4, t2
    CHECK   "csrrsi 0 reads", s2, 0x102
    CHECK   "csrrci 0 reads", s3, 0x102
    CHECK   "uimm 0 keeps", s4, 0x102
    csrrwi  x0, mscratch, 0
    csrr    t2, mscratch
    CHECK   "csrrwi 0 writes", t2, 0
    GROUP_END

    GROUP "read-only reads"
    TRAP_RECORD_ON
    csrr    s2, mhartid
    csrrs   s3, mvendorid, x0
    csrrsi  s4, mhartid, 0
    csrrc   s5, mhartid, x0
    csrrci  s6, mimpid, 0
    rdcycle s7
    rdinstret s8
    rdtime  s9
    CHECK   "mhartid is 0", s2, 0
    CHECK_NO_TRAP "csrrs/csrrc/csrrsi/csrrci with x0/0 on read-only"
    csrr    s2, misa
    srli    t0, s2, 62
    CHECK   "misa MXL is 64-bit", t0, 2
    li      t1, (1 << 0) | (1 << 2) | (1 << 8) | (1 << 12)
    and     t0, s2, t1
    CHECK   "misa has A C I M", t0, (1 << 0) | (1 << 2) | (1 << 8) | (1 << 12)
    /* QEMU (TCG without -icount) derives instret from host ticks, so only
     * "it advances" can be asserted, not an exact count. */
    rdinstret s2
    nop
    rdinstret s3
    sltu    t0, s2, s3
    CHECK   "instret advances", t0, 1
    GROUP_END

    GROUP "read-only writes"
    TEST_RO_WRITE "csrw mvendorid", csrrw s2, mvendorid, t1
    TEST_RO_WRITE "csrrw x0 mvendorid", csrrw x0, mvendorid, t1
    TEST_RO_WRITE "csrrs mhartid", csrrs s2, mhartid, t1
    TEST_RO_WRITE "csrrc marchid", csrrc s2, marchid, t1
    TEST_RO_WRITE "csrrwi mimpid 0", csrrwi s2, mimpid, 0
    TEST_RO_WRITE "csrrsi mhartid 1", csrrsi s2, mhartid, 1
    TEST_RO_WRITE "csrrci mvendorid 4", csrrci s2, mvendorid, 4
    TEST_RO_WRITE "csrw cycle", csrrw s2, cycle, t1
    TEST_RO_WRITE "csrs instret", csrrs s2, instret, t1
    TRAP_RECORD_OFF
    GROUP_END

TEST_END "zicsr"
