/*
 * rv64m.S - the M extension on RV64 (unprivileged spec chapter 13).
 *
 * Covered: mul mulh mulhu mulhsu mulw div divu rem remu divw divuw remw
 * remuw, with sign combinations, upper-word results, *W forms using only
 * the low 32 bits of their operands and sign-extending their result, and
 * the special cases of section 13.2 (table 13.1):
 *   divide by zero: quotient = all ones (-1 signed, 2^XLEN-1 unsigned),
 *                   remainder = the dividend;
 *   signed overflow (most negative / -1): quotient = the dividend,
 *                   remainder = 0.
 * For the *W forms "all ones" and "the dividend" are 32-bit values, sign
 * extended to 64 bits. Expected values were computed with an independent
 * model of the spec (Python integers) and agree with QEMU.
 */
#include "isa_macros.h"

TEST_BEGIN


    GROUP "mul"
    TEST_RR "mul 3 7", mul, 0x15, 0x3, 0x7
    TEST_RR "mul -3 7", mul, 0xffffffffffffffeb, 0xfffffffffffffffd, 0x7
    TEST_RR "mul -1 -1", mul, 0x1, 0xffffffffffffffff, 0xffffffffffffffff
    TEST_RR "mul 0x7fffffffffffffff 2", mul, 0xfffffffffffffffe, 0x7fffffffffffffff, 0x2
    TEST_RR "mul 0x123456789abcdef0 0xfedcba9876543210", mul, 0x236d88fe5618cf00, 0x123456789abcdef0, 0xfedcba9876543210
    TEST_RR "mul 0x8000000000000000 -1", mul, 0x8000000000000000, 0x8000000000000000, 0xffffffffffffffff
    TEST_RR "mul 0 -1", mul, 0x0, 0x0, 0xffffffffffffffff
    TEST_RR "mul 0x100000000 0x100000000", mul, 0x0, 0x100000000, 0x100000000
    GROUP_END

    GROUP "mulh/mulhu/mulhsu"
    TEST_RR "mulh 3 7", mulh, 0x0, 0x3, 0x7
    TEST_RR "mulh -3 7", mulh, 0xffffffffffffffff, 0xfffffffffffffffd, 0x7
    TEST_RR "mulh -1 -1", mulh, 0x0, 0xffffffffffffffff, 0xffffffffffffffff
    TEST_RR "mulh 0x8000000000000000 0x8000000000000000", mulh, 0x4000000000000000, 0x8000000000000000, 0x8000000000000000
    TEST_RR "mulh 0x7fffffffffffffff 0x7fffffffffffffff", mulh, 0x3fffffffffffffff, 0x7fffffffffffffff, 0x7fffffffffffffff
    TEST_RR "mulh 0x8000000000000000 0x7fffffffffffffff", mulh, 0xc000000000000000, 0x8000000000000000, 0x7fffffffffffffff
    TEST_RR "mulh 0x123456789abcdef0 0xfedcba9876543210", mulh, 0xffeb49923cc09532, 0x123456789abcdef0, 0xfedcba9876543210
    TEST_RR "mulhu -1 -1", mulhu, 0xfffffffffffffffe, 0xffffffffffffffff, 0xffffffffffffffff
    TEST_RR "mulhu -1 2", mulhu, 0x1, 0xffffffffffffffff, 0x2
    TEST_RR "mulhu 0x8000000000000000 0x8000000000000000", mulhu, 0x4000000000000000, 0x8000000000000000, 0x8000000000000000
    TEST_RR "mulhu 0x123456789abcdef0 0xfedcba9876543210", mulhu, 0x121fa00ad77d7422, 0x123456789abcdef0, 0xfedcba9876543210
    TEST_RR "mulhu 3 7", mulhu, 0x0, 0x3, 0x7
    TEST_RR "mulhsu -1 -1", mulhsu, 0xffffffffffffffff, 0xffffffffffffffff, 0xffffffffffffffff
    TEST_RR "mulhsu -1 1", mulhsu, 0xffffffffffffffff, 0xffffffffffffffff, 0x1
    TEST_RR "mulhsu 1 -1", mulhsu, 0x0, 0x1, 0xffffffffffffffff
    TEST_RR "mulhsu 0x8000000000000000 -1", mulhsu, 0x8000000000000000, 0x8000000000000000, 0xffffffffffffffff
    TEST_RR "mulhsu 0x7fffffffffffffff -1", mulhsu, 0x7ffffffffffffffe, 0x7fffffffffffffff, 0xffffffffffffffff
    TEST_RR "mulhsu -2 0x8000000000000000", mulhsu, 0xffffffffffffffff, 0xfffffffffffffffe, 0x8000000000000000
    GROUP_END

    GROUP "mulw"
    TEST_RR "mulw 3 7", mulw, 0x15, 0x3, 0x7
    TEST_RR "mulw 0x7fffffff 2", mulw, 0xfffffffffffffffe, 0x7fffffff, 0x2
    TEST_RR "mulw 0x10000 0x10000", mulw, 0x0, 0x10000, 0x10000
    TEST_RR "mulw 0xffffffff00000003 0x1ffffffff", mulw, 0xfffffffffffffffd, 0xffffffff00000003, 0x1ffffffff
    TEST_RR "mulw 0x12345678 0x9abcdef0", mulw, 0x242d2080, 0x12345678, 0x9abcdef0
    GROUP_END

    GROUP "div/divu/rem/remu"
    TEST_RR "div 20 6", div, 0x3, 0x14, 0x6
    TEST_RR "div -20 6", div, 0xfffffffffffffffd, 0xffffffffffffffec, 0x6
    TEST_RR "div 20 -6", div, 0xfffffffffffffffd, 0x14, 0xfffffffffffffffa
    TEST_RR "div -20 -6", div, 0x3, 0xffffffffffffffec, 0xfffffffffffffffa
    TEST_RR "div 0x8000000000000000 1", div, 0x8000000000000000, 0x8000000000000000, 0x1
    TEST_RR "divu 20 6", divu, 0x3, 0x14, 0x6
    TEST_RR "divu -20 6", divu, 0x2aaaaaaaaaaaaaa7, 0xffffffffffffffec, 0x6
    TEST_RR "divu -1 1", divu, 0xffffffffffffffff, 0xffffffffffffffff, 0x1
    TEST_RR "rem 20 6", rem, 0x2, 0x14, 0x6
    TEST_RR "rem -20 6", rem, 0xfffffffffffffffe, 0xffffffffffffffec, 0x6
    TEST_RR "rem 20 -6", rem, 0x2, 0x14, 0xfffffffffffffffa
    TEST_RR "rem -20 -6", rem, 0xfffffffffffffffe, 0xffffffffffffffec, 0xfffffffffffffffa
    TEST_RR "remu 20 6", remu, 0x2, 0x14, 0x6
    TEST_RR "remu -20 6", remu, 0x2, 0xffffffffffffffec, 0x6
    GROUP_END

    GROUP "divw/divuw/remw/remuw"
    TEST_RR "divw 20 6", divw, 0x3, 0x14, 0x6
    TEST_RR "divw -20 6", divw, 0xfffffffffffffffd, 0xffffffffffffffec, 0x6
    TEST_RR "divw 0x100000014 6", divw, 0x3, 0x100000014, 0x6
    TEST_RR "divw 0xffffffff80000000 2", divw, 0xffffffffc0000000, 0xffffffff80000000, 0x2
    TEST_RR "divuw 20 6", divuw, 0x3, 0x14, 0x6
    TEST_RR "divuw 0xfffffff0 2", divuw, 0x7ffffff8, 0xfffffff0, 0x2
    TEST_RR "divuw 0x80000000 1", divuw, 0xffffffff80000000, 0x80000000, 0x1
    TEST_RR "divuw 0x1ffffffff 1", divuw, 0xffffffffffffffff, 0x1ffffffff, 0x1
    TEST_RR "divuw -1 0xffffffff", divuw, 0x1, 0xffffffffffffffff, 0xffffffff
    TEST_RR "remw 20 6", remw, 0x2, 0x14, 0x6
    TEST_RR "remw -20 6", remw, 0xfffffffffffffffe, 0xffffffffffffffec, 0x6
    TEST_RR "remw 20 -6", remw, 0x2, 0x14, 0xfffffffffffffffa
    TEST_RR "remw 0x1ffffffff 16", remw, 0xffffffffffffffff, 0x1ffffffff, 0x10
    TEST_RR "remuw 20 6", remuw, 0x2, 0x14, 0x6
    TEST_RR "remuw 0xfffffff5 16", remuw, 0x5, 0xfffffff5, 0x10
    TEST_RR "remuw 0x12345678abcdef01 0x10000", remuw, 0xef01, 0x12345678abcdef01, 0x10000
    GROUP_END

    GROUP "division by zero"
    TEST_RR "div 5 0", div, 0xffffffffffffffff, 0x5, 0x0
    TEST_RR "div -5 0", div, 0xffffffffffffffff, 0xfffffffffffffffb, 0x0
    TEST_RR "div 0 0", div, 0xffffffffffffffff, 0x0, 0x0
    TEST_RR "div 0x8000000000000000 0", div, 0xffffffffffffffff, 0x8000000000000000, 0x0
    TEST_RR "divu 5 0", divu, 0xffffffffffffffff, 0x5, 0x0
    TEST_RR "divu -5 0", divu, 0xffffffffffffffff, 0xfffffffffffffffb, 0x0
    TEST_RR "divu 0 0", divu, 0xffffffffffffffff, 0x0, 0x0
    TEST_RR "divu 0x8000000000000000 0", divu, 0xffffffffffffffff, 0x8000000000000000, 0x0
    TEST_RR "rem 5 0", rem, 0x5, 0x5, 0x0
    TEST_RR "rem -5 0", rem, 0xfffffffffffffffb, 0xfffffffffffffffb, 0x0
    TEST_RR "rem 0 0", rem, 0x0, 0x0, 0x0
    TEST_RR "rem 0x8000000000000000 0", rem, 0x8000000000000000, 0x8000000000000000, 0x0
    TEST_RR "remu 5 0", remu, 0x5, 0x5, 0x0
    TEST_RR "remu -5 0", remu, 0xfffffffffffffffb, 0xfffffffffffffffb, 0x0
    TEST_RR "remu 0 0", remu, 0x0, 0x0, 0x0
    TEST_RR "remu 0x8000000000000000 0", remu, 0x8000000000000000, 0x8000000000000000, 0x0
    TEST_RR "divw 5 0", divw, 0xffffffffffffffff, 0x5, 0x0
    TEST_RR "divw 0x87654321 0", divw, 0xffffffffffffffff, 0x87654321, 0x0
    TEST_RR "divw 0x1234567880000001 0xffffffff00000000", divw, 0xffffffffffffffff, 0x1234567880000001, 0xffffffff00000000
    TEST_RR "divuw 5 0", divuw, 0xffffffffffffffff, 0x5, 0x0
    TEST_RR "divuw 0x87654321 0", divuw, 0xffffffffffffffff, 0x87654321, 0x0
    TEST_RR "divuw 0x1234567880000001 0xffffffff00000000", divuw, 0xffffffffffffffff, 0x1234567880000001, 0xffffffff00000000
    TEST_RR "remw 5 0", remw, 0x5, 0x5, 0x0
    TEST_RR "remw 0x87654321 0", remw, 0xffffffff87654321, 0x87654321, 0x0
    TEST_RR "remw 0x1234567880000001 0xffffffff00000000", remw, 0xffffffff80000001, 0x1234567880000001, 0xffffffff00000000
    TEST_RR "remuw 5 0", remuw, 0x5, 0x5, 0x0
    TEST_RR "remuw 0x87654321 0", remuw, 0xffffffff87654321, 0x87654321, 0x0
    TEST_RR "remuw 0x1234567880000001 0xffffffff00000000", remuw, 0xffffffff80000001, 0x1234567880000001, 0xffffffff00000000
    GROUP_END

    GROUP "signed overflow"
    TEST_RR "div 0x8000000000000000 -1", div, 0x8000000000000000, 0x8000000000000000, 0xffffffffffffffff
    TEST_RR "rem 0x8000000000000000 -1", rem, 0x0, 0x8000000000000000, 0xffffffffffffffff
    TEST_RR "divw 0x80000000 -1", divw, 0xffffffff80000000, 0x80000000, 0xffffffffffffffff
    TEST_RR "remw 0x80000000 -1", remw, 0x0, 0x80000000, 0xffffffffffffffff
    TEST_RR "divw 0x1234567880000000 0xffffffff", divw, 0xffffffff80000000, 0x1234567880000000, 0xffffffff
    TEST_RR "remw 0x1234567880000000 0xffffffff", remw, 0x0, 0x1234567880000000, 0xffffffff
    TEST_RR "divu 0x8000000000000000 -1", divu, 0x0, 0x8000000000000000, 0xffffffffffffffff
    TEST_RR "remu 0x8000000000000000 -1", remu, 0x8000000000000000, 0x8000000000000000, 0xffffffffffffffff
    TEST_RR "divuw 0x80000000 -1", divuw, 0x0, 0x80000000, 0xffffffffffffffff
    TEST_RR "remuw 0x80000000 -1", remuw, 0xffffffff80000000, 0x80000000, 0xffffffffffffffff
    GROUP_END

    GROUP "rd aliasing"
    TEST_RR_SAME1 "mul rd=rs1", mul, 42, 6, 7
    TEST_RR_ALL "mulhu rd=rs1=rs2", mulhu, 0xfffffffffffffffe, -1
    TEST_RR_ALL "div rd=rs1=rs2", div, 1, -7
    TEST_RR_ALL "remuw rd=rs1=rs2", remuw, 0, 0x123456789
    GROUP_END

TEST_END "rv64m"
