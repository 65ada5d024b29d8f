/*
 * rv64i_alu.S - RV64I integer computational instructions (unprivileged
 * spec, chapter 2.4 "Integer Computational Instructions" and chapter 5.2
 * for the RV64 *W forms).
 *
 * Covered: add sub sll slt sltu xor srl sra or and, the immediate forms,
 * addw subw sllw srlw sraw addiw slliw srliw sraiw (32-bit result sign
 * extended to 64), shift amounts masked to 6 bits (5 for *W), lui and
 * auipc (sign extension of the 32-bit immediate), writes to x0 ignored,
 * rd aliasing a source.
 */
#include "isa_macros.h"

TEST_BEGIN

    GROUP "add/sub"
    TEST_RR "add 1+1", add, 2, 1, 1
    TEST_RR "add carry into bit 32", add, 0x100000000, 0xffffffff, 1
    TEST_RR "add wraps", add, 0, -1, 1
    TEST_RR "add max+1", add, 0x8000000000000000, 0x7fffffffffffffff, 1
    TEST_RR "add min+min", add, 0, 0x8000000000000000, 0x8000000000000000
    TEST_RR "sub 0-1", sub, -1, 0, 1
    TEST_RR "sub min-1", sub, 0x7fffffffffffffff, 0x8000000000000000, 1
    TEST_RR "sub 3-7", sub, -4, 3, 7
    TEST_RR_SAME1 "add rd=rs1", add, 0x1234, 0x1000, 0x234
    TEST_RR_ALL "sub rd=rs1=rs2", sub, 0, 0x5555aaaa5555aaaa
    TEST_RR_ALL "add rd=rs1=rs2", add, 0xaaab5554aaab5554, 0x5555aaaa5555aaaa
    GROUP_END

    GROUP "addi"
    TEST_RI "addi +2047", addi, 2047, 0, 2047
    TEST_RI "addi -2048", addi, -2048, 0, -2048
    TEST_RI "addi -1 to 0", addi, 0, 1, -1
    TEST_RI "addi wraps", addi, 0x8000000000000000, 0x7fffffffffffffff, 1
    TEST_RI "addi 32-bit carry", addi, 0x100000000, 0xffffffff, 1
    GROUP_END

    GROUP "logic"
    TEST_RR "and", and, 0x0f000f000f000f00, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f
    TEST_RR "or", or, 0xff0fff0fff0fff0f, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f
    TEST_RR "xor", xor, 0xf00ff00ff00ff00f, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f
    TEST_RI "andi -1 keeps all", andi, 0x123456789abcdef0, 0x123456789abcdef0, -1
    TEST_RI "andi 0x7ff", andi, 0x6f0, 0x123456789abcdef0, 0x7ff
    TEST_RI "andi -2048 sign-extends", andi, 0x123456789abcd800, 0x123456789abcdef0, -2048
    TEST_RI "ori -2048 sign-extends", ori, 0xfffffffffffff800, 0, -2048
    TEST_RI "ori 0x555", ori, 0x123456789abcdff5, 0x123456789abcdef0, 0x555
    TEST_RI "xori -1 is not", xori, 0xedcba9876543210f, 0x123456789abcdef0, -1
    TEST_RI "xori 0x7ff", xori, 0x123456789abcd90f, 0x123456789abcdef0, 0x7ff
    GROUP_END

    GROUP "slt/sltu"
    TEST_RR "slt -1<0", slt, 1, -1, 0
    TEST_RR "slt 0<-1", slt, 0, 0, -1
    TEST_RR "sltu -1<0", sltu, 0, -1, 0
    TEST_RR "sltu 0<-1", sltu, 1, 0, -1
    TEST_RR "slt min<max", slt, 1, 0x8000000000000000, 0x7fffffffffffffff
    TEST_RR "sltu min<max", sltu, 0, 0x8000000000000000, 0x7fffffffffffffff
    TEST_RR "slt equal", slt, 0, 0x8000000000000000, 0x8000000000000000
    TEST_RR "sltu equal", sltu, 0, -1, -1
    TEST_RR "slt only high word differs", slt, 1, 0x00000000ffffffff, 0x0000000100000000
    TEST_RR "sltu x0<1 (snez)", sltu, 1, 0, 1
    TEST_RI "slti -2048", slti, 1, -2049, -2048
    TEST_RI "slti 2047", slti, 0, 2047, 2047
    TEST_RI "slti min", slti, 1, 0x8000000000000000, 0
    TEST_RI "sltiu 1 (seqz of 0)", sltiu, 1, 0, 1
    TEST_RI "sltiu 1 (seqz of 5)", sltiu, 0, 5, 1
    TEST_RI "sltiu -1 is 2^64-1", sltiu, 1, 0xfffffffffffffffe, -1
    TEST_RI "sltiu -1 vs all ones", sltiu, 0, -1, -1
    TEST_RI "sltiu -2048 unsigned", sltiu, 1, 0x8000000000000000, -2048
    GROUP_END

    GROUP "shifts"
    TEST_RR "sll 1<<63", sll, 0x8000000000000000, 1, 63
    TEST_RR "sll by 64 is by 0", sll, 0x123456789abcdef0, 0x123456789abcdef0, 64
    TEST_RR "sll by 65 is by 1", sll, 0x2468acf13579bde0, 0x123456789abcdef0, 65
    TEST_RR "sll uses low 6 bits", sll, 0x8000000000000000, 1, -1
    TEST_RR "sll by 32", sll, 0x9abcdef000000000, 0x123456789abcdef0, 32
    TEST_RR "srl by 63", srl, 1, 0x8000000000000000, 63
    TEST_RR "srl by 64 is by 0", srl, 0x8000000000000000, 0x8000000000000000, 64
    TEST_RR "srl by 4", srl, 0x0800000000000000, 0x8000000000000000, 4
    TEST_RR "sra by 63", sra, -1, 0x8000000000000000, 63
    TEST_RR "sra by 64 is by 0", sra, 0x8000000000000000, 0x8000000000000000, 64
    TEST_RR "sra by 4", sra, 0xf800000000000000, 0x8000000000000000, 4
    TEST_RR "sra positive", sra, 0x0123456789abcdef, 0x123456789abcdef0, 4
    TEST_RI "slli 63", slli, 0x8000000000000000, 1, 63
    TEST_RI "slli 0", slli, 0x123456789abcdef0, 0x123456789abcdef0, 0
    TEST_RI "slli 36", slli, 0xabcdef0000000000, 0x123456789abcdef0, 36
    TEST_RI "srli 63", srli, 1, 0x8000000000000000, 63
    TEST_RI "srli 36", srli, 0x0000000001234567, 0x123456789abcdef0, 36
    TEST_RI "srai 63", srai, -1, 0x8000000000000000, 63
    TEST_RI "srai 36", srai, 0xfffffffff8123456, 0x8123456789abcdef, 36
    TEST_RI "srai 0", srai, 0x8123456789abcdef, 0x8123456789abcdef, 0
    GROUP_END

    GROUP "w-ops"
    TEST_RR "addw sign-extends", addw, 0xffffffff80000000, 0x7fffffff, 1
    TEST_RR "addw ignores high bits", addw, 3, 0x1234567800000001, 0xabcdef0000000002
    TEST_RR "addw wraps to 0", addw, 0, 0xffffffff, 1
    TEST_RR "subw sign-extends", subw, 0x000000007fffffff, 0x80000000, 1
    TEST_RR "subw 0-1", subw, -1, 0, 1
    TEST_RR "sllw by 31", sllw, 0xffffffff80000000, 1, 31
    TEST_RR "sllw by 32 is by 0", sllw, 0x0000000012345678, 0xffffffff12345678, 32
    TEST_RR "sllw by 33 is by 1", sllw, 0x000000002468acf0, 0x12345678, 33
    TEST_RR "srlw by 31", srlw, 1, 0xffffffff80000000, 31
    TEST_RR "srlw by 0 sign-extends", srlw, 0xffffffff80000000, 0x0000000080000000, 0
    TEST_RR "srlw by 32 is by 0", srlw, 0xffffffff80000000, 0x0000000080000000, 32
    TEST_RR "srlw by 1", srlw, 0x0000000040000000, 0x1234567880000000, 1
    TEST_RR "sraw by 31", sraw, -1, 0x80000000, 31
    TEST_RR "sraw by 4", sraw, 0xfffffffff8000000, 0x80000000, 4
    TEST_RR "sraw by 36 is by 4", sraw, 0x0000000007000000, 0xffffffff70000000, 36
    TEST_RI "addiw -1", addiw, -1, 0, -1
    TEST_RI "addiw 0 is sext.w", addiw, 0xffffffff87654321, 0x0000000087654321, 0
    TEST_RI "addiw overflow", addiw, 0xffffffff80000000, 0x7fffffff, 1
    TEST_RI "addiw high bits dropped", addiw, 0x7ff, 0xffffffff00000000, 2047
    TEST_RI "slliw 31", slliw, 0xffffffff80000000, 1, 31
    TEST_RI "slliw 0", slliw, 0x0000000012345678, 0xffffffff12345678, 0
    TEST_RI "srliw 31", srliw, 1, 0x80000000, 31
    TEST_RI "srliw 0 sign-extends", srliw, 0xffffffff80000000, 0x80000000, 0
    TEST_RI "srliw 8", srliw, 0x0000000000800000, 0xffffffff80000000, 8
    TEST_RI "sraiw 31", sraiw, -1, 0x80000000, 31
    TEST_RI "sraiw 8", sraiw, 0xffffffffff800000, 0x0000000080000000, 8
    TEST_RI "sraiw positive", sraiw, 0x0000000000123456, 0xf000000012345678, 8
    GROUP_END

    GROUP "lui/auipc"
    lui     t0, 0x12345
    CHECK   "lui 0x12345", t0, 0x12345000
    lui     t0, 0x80000
    CHECK   "lui 0x80000 sign-extends", t0, 0xffffffff80000000
    lui     t0, 0xfffff
    CHECK   "lui 0xfffff", t0, 0xfffffffffffff000
    lui     t0, 0x7ffff
    CHECK   "lui 0x7ffff", t0, 0x7ffff000
1:  auipc   t0, 0
    la      t1, 1b
    CHECK_R "auipc 0 is pc", t0, t1
2:  auipc   t0, 1
    la      t1, 2b
    sub     t0, t0, t1
    CHECK   "auipc 1 is pc+4096", t0, 0x1000
3:  auipc   t0, 0x80000
    la      t1, 3b
    sub     t0, t0, t1
    CHECK   "auipc 0x80000 sign-extends", t0, 0xffffffff80000000
4:  auipc   t0, 0xfffff
    la      t1, 4b
    sub     t0, t0, t1
    CHECK   "auipc 0xfffff is pc-4096", t0, -4096
    GROUP_END

    GROUP "x0"
    li      t1, 5
    li      t2, 7
    add     x0, t1, t2
    CHECK   "add to x0 ignored", x0, 0
    addi    x0, x0, 1
    CHECK   "addi to x0 ignored", x0, 0
    lui     x0, 0x12345
    CHECK   "lui to x0 ignored", x0, 0
    add     t0, x0, t1
    CHECK   "x0 reads 0", t0, 5
    GROUP_END

TEST_END "rv64i_alu"
