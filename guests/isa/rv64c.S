/*
 * rv64c.S - the C extension on RV64 (unprivileged spec chapter 16,
 * "Compressed" instruction set; table 16.5-16.7 list the encodings).
 *
 * Every RV64C integer instruction is written with its explicit c.*
 * mnemonic (so the assembler cannot pick the 32-bit form) and checked:
 *   quadrant 0: c.addi4spn c.lw c.ld c.sw c.sd
 *   quadrant 1: c.nop c.addi c.addiw c.li c.addi16sp c.lui c.srli c.srai
 *               c.andi c.sub c.xor c.or c.and c.subw c.addw c.j c.beqz c.bnez
 *   quadrant 2: c.slli c.lwsp c.ldsp c.jr c.mv c.ebreak c.jalr c.add c.swsp
 *               c.sdsp
 * (c.fld/c.fsd/c.fldsp/c.fsdsp need F/D and are left out.) Immediates are
 * tried at their extremes, since each is scrambled differently in the
 * encoding; sign extension is checked wherever the spec asks for it.
 */
#include "isa_macros.h"

    .option rvc

TEST_BEGIN
    la      s1, cdata

    GROUP "c.addi4spn/c.addi16sp"
    c.addi4spn s0, sp, 4
    sub     t0, s0, sp
    CHECK   "c.addi4spn 4", t0, 4
    c.addi4spn s0, sp, 1020
    sub     t0, s0, sp
    CHECK   "c.addi4spn 1020", t0, 1020
    c.addi4spn a5, sp, 512
    sub     t0, a5, sp
    CHECK   "c.addi4spn a5 512", t0, 512
    mv      s2, sp
    c.addi16sp sp, -512
    sub     s3, s2, sp
    c.addi16sp sp, 496
    sub     s4, s2, sp
    c.addi16sp sp, 16
    sub     s5, s2, sp
    CHECK   "c.addi16sp -512", s3, 512
    CHECK   "c.addi16sp +496", s4, 16
    CHECK   "c.addi16sp +16", s5, 0
    GROUP_END

    GROUP "c.lw/c.ld/c.sw/c.sd"
    c.lw    s0, 0(s1)
    CHECK   "c.lw 0 sign-extends", s0, 0xffffffff80000001
    c.lw    a0, 4(s1)
    CHECK   "c.lw 4", a0, 0x7ffffffe
    c.lw    a5, 124(s1)
    CHECK   "c.lw 124", a5, 0xffffffffdeadbeef
    c.ld    s0, 8(s1)
    CHECK   "c.ld 8", s0, 0x0123456789abcdef
    c.ld    a4, 248(s1)
    CHECK   "c.ld 248", a4, 0xfedcba9876543210
    la      s1, cscratch
    li      a0, 0x1122334455667788
    c.sd    a0, 0(s1)
    li      a1, 0xffffffffaabbccdd
    c.sw    a1, 8(s1)
    li      a2, 0x99
    c.sw    a2, 124(s1)
    li      a3, 0x7766554433221100
    c.sd    a3, 248(s1)
    ld      t0, 0(s1)
    CHECK   "c.sd 0", t0, 0x1122334455667788
    ld      t0, 8(s1)
    CHECK   "c.sw 8 writes 32 bits", t0, 0x00000000aabbccdd
    lwu     t0, 124(s1)
    CHECK   "c.sw 124", t0, 0x99
    ld      t0, 248(s1)
    CHECK   "c.sd 248", t0, 0x7766554433221100
    la      s1, cdata
    GROUP_END

    GROUP "c.li/c.lui/c.addi/c.addiw/c.nop"
    c.li    t0, -32
    CHECK   "c.li -32", t0, 0xffffffffffffffe0
    c.li    t1, 31
    CHECK   "c.li 31", t1, 31
    c.li    a0, 0
    CHECK   "c.li 0", a0, 0
    c.lui   t0, 1
    CHECK   "c.lui 1", t0, 0x1000
    c.lui   t0, 31
    CHECK   "c.lui 31", t0, 0x1f000
    c.lui   t0, 0xfffe0
    CHECK   "c.lui 0xfffe0 sign-extends", t0, 0xfffffffffffe0000
    c.lui   t0, 0xfffff
    CHECK   "c.lui 0xfffff", t0, 0xfffffffffffff000
    li      t0, 100
    c.addi  t0, -32
    CHECK   "c.addi -32", t0, 68
    li      t0, -1
    c.addi  t0, 31
    CHECK   "c.addi 31", t0, 30
    li      t0, 0x7fffffffffffffff
    c.addi  t0, 1
    CHECK   "c.addi wraps to 64-bit min", t0, 0x8000000000000000
    li      t0, 0x7fffffff
    c.addiw t0, 1
    CHECK   "c.addiw sign-extends", t0, 0xffffffff80000000
    li      t0, 0x1234567887654321
    c.addiw t0, 0
    CHECK   "c.addiw 0 is sext.w", t0, 0xffffffff87654321
    li      t0, 5
    c.addiw t0, -32
    CHECK   "c.addiw -32", t0, 0xffffffffffffffe5
    li      t0, 0x55
    c.nop
    CHECK   "c.nop", t0, 0x55
    GROUP_END

    GROUP "c.srli/c.srai/c.andi/c.slli"
    li      s0, 0x8000000000000000
    c.srli  s0, 63
    CHECK   "c.srli 63", s0, 1
    li      s0, 0x8000000000000000
    c.srli  s0, 32
    CHECK   "c.srli 32", s0, 0x80000000
    li      s0, 0x8000000000000000
    c.srli  s0, 1
    CHECK   "c.srli 1", s0, 0x4000000000000000
    li      a1, 0x8000000000000000
    c.srai  a1, 63
    CHECK   "c.srai 63", a1, -1
    li      a1, 0x8000000000000000
    c.srai  a1, 32
    CHECK   "c.srai 32", a1, 0xffffffff80000000
    li      a1, 0x4000000000000000
    c.srai  a1, 1
    CHECK   "c.srai 1 positive", a1, 0x2000000000000000
    li      a2, 0x123456789abcdef0
    c.andi  a2, -32
    CHECK   "c.andi -32", a2, 0x123456789abcdee0
    li      a2, 0x123456789abcdeff
    c.andi  a2, 31
    CHECK   "c.andi 31", a2, 0x1f
    li      a2, 0x123456789abcdeff
    c.andi  a2, 0
    CHECK   "c.andi 0", a2, 0
    li      t3, 1
    c.slli  t3, 63
    CHECK   "c.slli 63", t3, 0x8000000000000000
    li      t3, 0x123456789abcdef0
    c.slli  t3, 1
    CHECK   "c.slli 1", t3, 0x2468acf13579bde0
    li      t3, 0x00000000ffffffff
    c.slli  t3, 32
    CHECK   "c.slli 32", t3, 0xffffffff00000000
    GROUP_END

    GROUP "c.sub/c.xor/c.or/c.and/c.subw/c.addw"
    li      s0, 3
    li      a5, 7
    c.sub   s0, a5
    CHECK   "c.sub", s0, -4
    li      s0, 0xff00ff00ff00ff00
    li      a5, 0x0f0f0f0f0f0f0f0f
    c.xor   s0, a5
    CHECK   "c.xor", s0, 0xf00ff00ff00ff00f
    li      s0, 0xff00ff00ff00ff00
    li      a5, 0x0f0f0f0f0f0f0f0f
    c.or    s0, a5
    CHECK   "c.or", s0, 0xff0fff0fff0fff0f
    li      s0, 0xff00ff00ff00ff00
    li      a5, 0x0f0f0f0f0f0f0f0f
    c.and   s0, a5
    CHECK   "c.and", s0, 0x0f000f000f000f00
    li      a0, 0x80000000
    li      a1, 1
    c.subw  a0, a1
    CHECK   "c.subw sign-extends", a0, 0x7fffffff
    li      a0, 0x100000000
    li      a1, 1
    c.subw  a0, a1
    CHECK   "c.subw 0-1", a0, -1
    li      a0, 0x7fffffff
    li      a1, 0xffffffff00000001
    c.addw  a0, a1
    CHECK   "c.addw sign-extends", a0, 0xffffffff80000000
    GROUP_END

    GROUP "c.mv/c.add"
    li      t1, 0x123456789abcdef0
    c.mv    t0, t1
    CHECK   "c.mv", t0, 0x123456789abcdef0
    li      s6, 0x7fffffffffffffff
    li      s7, 1
    c.add   s6, s7
    CHECK   "c.add wraps", s6, 0x8000000000000000
    li      t4, 40
    c.add   t4, t4
    CHECK   "c.add rd=rs2", t4, 80
    GROUP_END

    GROUP "c.lwsp/c.ldsp/c.swsp/c.sdsp"
    c.addi16sp sp, -512
    li      t0, 0xffffffff80000007
    c.swsp  t0, 4(sp)
    li      t1, 0x0102030405060708
    c.sdsp  t1, 8(sp)
    li      t2, 0x7eadbeef
    c.swsp  t2, 252(sp)
    li      t3, 0xa5a5a5a55a5a5a5a
    c.sdsp  t3, 504(sp)
    c.lwsp  s2, 4(sp)
    c.ldsp  s3, 8(sp)
    c.lwsp  s4, 252(sp)
    c.ldsp  s5, 504(sp)
    c.lwsp  s6, 8(sp)
    ld      s7, 248(sp)
    c.addi16sp sp, 496              /* +512 does not fit: 496 is the maximum */
    c.addi16sp sp, 16
    CHECK   "c.lwsp 4 sign-extends", s2, 0xffffffff80000007
    CHECK   "c.ldsp 8", s3, 0x0102030405060708
    CHECK   "c.lwsp 252", s4, 0x7eadbeef
    CHECK   "c.ldsp 504", s5, 0xa5a5a5a55a5a5a5a
    CHECK   "c.lwsp 8 low word", s6, 0x05060708
    srli    s7, s7, 32
    CHECK   "c.swsp 252 placement", s7, 0x7eadbeef
    GROUP_END

    GROUP "c.j/c.beqz/c.bnez"
    li      t0, 0
    c.j     1f
    li      t0, 99
1:  CHECK   "c.j forward", t0, 0
    li      t0, 0
    c.j     3f
2:  li      t0, 1
    c.j     4f
3:  c.j     2b
4:  CHECK   "c.j backward", t0, 1
    li      s0, 0
    li      t0, 2
    c.beqz  s0, 5f
    li      t0, 1
5:  CHECK   "c.beqz taken", t0, 2
    li      s0, 0x8000000000000000
    li      t0, 2
    c.beqz  s0, 6f
    li      t0, 1
6:  CHECK   "c.beqz not taken (bit 63)", t0, 1
    li      a0, 0x100000000
    li      t0, 2
    c.bnez  a0, 7f
    li      t0, 1
7:  CHECK   "c.bnez taken (bit 32)", t0, 2
    li      a0, 0
    li      t0, 2
    c.bnez  a0, 8f
    li      t0, 1
8:  CHECK   "c.bnez not taken", t0, 1
    /* a backward c.bnez loop */
    li      a0, 5
    li      s0, 0
9:  addi    s0, s0, 2
    c.addi  a0, -1
    c.bnez  a0, 9b
    CHECK   "c.bnez loop", s0, 10
    GROUP_END

    GROUP "c.jr/c.jalr"
    li      t0, 0
    la      t1, 1f
    c.jr    t1
    li      t0, 99
1:  CHECK   "c.jr", t0, 0
    li      t0, 0
    la      t1, 2f
    c.jalr  t1
3:  li      t0, 99
2:  la      t2, 3b
    mv      s2, ra
    CHECK_R "c.jalr link is pc+2", s2, t2
    CHECK   "c.jalr target", t0, 0
    la      t1, add_two
    li      s3, 40
    c.jalr  t1
    CHECK   "c.jalr call/ret", s3, 42
    GROUP_END

    /* mtval for a breakpoint may be 0 or the pc (privileged spec 3.1.16);
     * QEMU 7.2 writes 0, and so must wasmvisor. */
    GROUP "c.ebreak"
    TRAP_RECORD_ON
1:  c.ebreak
    CHECK_TRAP "c.ebreak", CAUSE_BREAKPOINT, 1b, 0
    TRAP_RECORD_OFF
    GROUP_END

TEST_END "rv64c"

    .text
    .balign 4
add_two:
    addi    s3, s3, 2
    ret

    .section .rodata
    .balign 8
cdata:
    .word   0x80000001, 0x7ffffffe          /* 0, 4 */
    .dword  0x0123456789abcdef              /* 8 */
    .fill   (124 - 16) / 4, 4, 0
    .word   0xdeadbeef                      /* 124 */
    .fill   (248 - 128) / 4, 4, 0
    .dword  0xfedcba9876543210              /* 248 */

    .section .bss
    .balign 8
cscratch:
    .space  256
