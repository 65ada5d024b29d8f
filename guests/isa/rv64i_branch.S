/*
 * rv64i_branch.S - control transfer (unprivileged spec 2.5).
 *
 * Covered: beq bne blt bge bltu bgeu taken and not taken, with operands
 * that make signed and unsigned comparisons disagree; a backward branch
 * loop; jal and jalr link values (pc + 4); jalr with a negative offset,
 * with rd == rs1 (the target uses the old rs1), and with an odd target
 * (bit 0 of the target is cleared); jal/jalr with rd = x0.
 */
#include "isa_macros.h"

/* t0 = 1 if `op v1, v2` branches, 2 if it falls through; checks it. */
.macro TEST_BR name:req, op:req, taken:req, v1:req, v2:req
    li      t1, \v1
    li      t2, \v2
    li      t0, 0
    \op     t1, t2, .Ltaken\@
    li      t0, 2
    j       .Ldone\@
.Ltaken\@:
    li      t0, 1
.Ldone\@:
    .if \taken
    CHECK   "\name", t0, 1
    .else
    CHECK   "\name", t0, 2
    .endif
.endm

TEST_BEGIN

    GROUP "beq/bne"
    TEST_BR "beq equal", beq, 1, 5, 5
    TEST_BR "beq differ", beq, 0, 5, 6
    TEST_BR "beq high bits differ", beq, 0, 0x100000005, 5
    TEST_BR "beq -1 -1", beq, 1, -1, -1
    TEST_BR "bne equal", bne, 0, 5, 5
    TEST_BR "bne differ", bne, 1, 5, 6
    TEST_BR "bne high bits differ", bne, 1, 0x8000000000000000, 0
    GROUP_END

    GROUP "blt/bge"
    TEST_BR "blt -1<0", blt, 1, -1, 0
    TEST_BR "blt 0<-1", blt, 0, 0, -1
    TEST_BR "blt equal", blt, 0, 7, 7
    TEST_BR "blt min<max", blt, 1, 0x8000000000000000, 0x7fffffffffffffff
    TEST_BR "bge equal", bge, 1, 7, 7
    TEST_BR "bge 0>=-1", bge, 1, 0, -1
    TEST_BR "bge -1>=0", bge, 0, -1, 0
    TEST_BR "bge max>=min", bge, 1, 0x7fffffffffffffff, 0x8000000000000000
    GROUP_END

    GROUP "bltu/bgeu"
    TEST_BR "bltu 0<-1", bltu, 1, 0, -1
    TEST_BR "bltu -1<0", bltu, 0, -1, 0
    TEST_BR "bltu equal", bltu, 0, -1, -1
    TEST_BR "bltu max<min", bltu, 1, 0x7fffffffffffffff, 0x8000000000000000
    TEST_BR "bgeu -1>=0", bgeu, 1, -1, 0
    TEST_BR "bgeu 0>=-1", bgeu, 0, 0, -1
    TEST_BR "bgeu equal", bgeu, 1, 0x8000000000000000, 0x8000000000000000
    TEST_BR "bgeu 32-bit vs 64-bit", bgeu, 1, 0x100000000, 0xffffffff
    GROUP_END

    GROUP "backward loop"
    li      t0, 0
    li      t1, 10
1:  addi    t0, t0, 3
    addi    t1, t1, -1
    bnez    t1, 1b
    CHECK   "10 iterations", t0, 30
    GROUP_END

    GROUP "jal"
    li      t0, 0
    jal     t1, 1f
2:  li      t0, 99                  /* skipped */
1:  la      t2, 2b
    CHECK_R "jal link is pc+4", t1, t2
    CHECK   "jal skipped", t0, 0
    li      t1, 0x55
    jal     x0, 3f
    li      t1, 0x66                /* skipped */
3:  CHECK   "jal x0 no link", t1, 0x55
    /* backward jal */
    li      t0, 0
    j       5f
4:  addi    t0, t0, 1
    j       6f
5:  jal     x0, 4b
6:  CHECK   "jal backward", t0, 1
    GROUP_END

    GROUP "jalr"
    la      t1, 1f
    li      t0, 0
    jalr    t2, 0(t1)
7:  li      t0, 99                  /* skipped */
1:  la      t1, 7b
    CHECK_R "jalr link is pc+4", t2, t1
    CHECK   "jalr skipped", t0, 0

    li      t0, 0
    la      t1, 2f + 8
    jalr    t2, -8(t1)              /* negative offset */
    li      t0, 99
2:  CHECK   "jalr negative offset", t0, 0

    li      t0, 0
    la      t1, 3f
    addi    t1, t1, 1               /* odd target: bit 0 is cleared */
    jalr    t2, 0(t1)
    li      t0, 99
3:  CHECK   "jalr clears bit 0", t0, 0

    li      t0, 0
    la      t1, 4f - 1
    jalr    t2, 2(t1)               /* sum odd: 4f + 1, cleared to 4f */
    li      t0, 99
4:  CHECK   "jalr clears bit 0 of the sum", t0, 0

    li      t0, 0
    la      t1, 5f
    jalr    t1, 0(t1)               /* rd == rs1: old t1 is the target */
8:  li      t0, 99
5:  la      t2, 8b
    CHECK_R "jalr rd==rs1 link", t1, t2
    CHECK   "jalr rd==rs1 target", t0, 0

    la      t1, 6f
    li      t2, 0x77
    jalr    x0, 0(t1)
    li      t2, 0x88
6:  CHECK   "jalr x0 no link", t2, 0x77
    GROUP_END

    GROUP "call/ret"
    li      s1, 0
    call    add_one
    call    add_one
    CHECK   "two calls", s1, 2
    GROUP_END

TEST_END "rv64i_branch"

    .text
    .balign 4
add_one:
    addi    s1, s1, 1
    ret
