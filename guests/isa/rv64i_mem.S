/*
 * rv64i_mem.S - RV64I loads and stores (unprivileged spec 2.6 and 5.3).
 *
 * Covered: lb lbu lh lhu lw lwu ld sb sh sw sd; sign and zero extension;
 * negative offsets; stores touching only their own bytes; x0 as load
 * destination; misaligned accesses inside a page and across a page
 * boundary.
 *
 * Misaligned accesses: the spec lets an implementation either perform them
 * or raise an address-misaligned exception (unprivileged spec 2.6). QEMU's
 * virt hart performs them for ordinary loads and stores, without a trap;
 * this test asserts that behaviour (trap_record_entry is installed and
 * must record nothing), since wasmvisor follows QEMU.
 */
#include "isa_macros.h"

/* Loads `op` from s1+off (s1 = src) and checks the result. */
.macro TEST_LD name:req, op:req, off:req, want:req
    \op     t0, \off(s1)
    CHECK   "\name", t0, \want
.endm

TEST_BEGIN
    la      s1, src
    la      s2, scratch
    la      s3, page_buf + 4096     /* s3 = first byte of the second page */

    GROUP "loads"
    TEST_LD "lb 0", lb, 0, 0x01
    TEST_LD "lb 1 sign-extends", lb, 1, 0xffffffffffffff82
    TEST_LD "lbu 1 zero-extends", lbu, 1, 0x82
    TEST_LD "lh 0 sign-extends", lh, 0, 0xffffffffffff8201
    TEST_LD "lhu 2", lhu, 2, 0x8403
    TEST_LD "lh 14", lh, 14, 0xffffffffffff900f
    TEST_LD "lw 0 sign-extends", lw, 0, 0xffffffff84038201
    TEST_LD "lwu 0 zero-extends", lwu, 0, 0x84038201
    TEST_LD "lw 4", lw, 4, 0xffffffff88078605
    TEST_LD "lw 12", lw, 12, 0xffffffff900f8e0d
    TEST_LD "lwu 12", lwu, 12, 0x900f8e0d
    TEST_LD "ld 0", ld, 0, 0x8807860584038201
    TEST_LD "ld 8", ld, 8, 0x900f8e0d8c0b8a09
    addi    s4, s1, 16
    lb      t0, -15(s4)
    CHECK   "lb negative offset", t0, 0xffffffffffffff82
    ld      t0, -8(s4)
    CHECK   "ld negative offset", t0, 0x900f8e0d8c0b8a09
    lw      x0, 0(s1)
    CHECK   "lw to x0 ignored", x0, 0
    GROUP_END

    GROUP "stores"
    li      t0, -1
    sd      t0, 0(s2)
    li      t0, 0x1234
    sb      t0, 3(s2)               /* only the low byte, 0x34 */
    ld      t0, 0(s2)
    CHECK   "sb writes one byte", t0, 0xffffffff34ffffff
    li      t0, 0x7777123456
    sh      t0, 6(s2)
    ld      t0, 0(s2)
    CHECK   "sh writes two bytes", t0, 0x3456ffff34ffffff
    li      t0, 0xffffffff789abcde
    sw      t0, 0(s2)
    ld      t0, 0(s2)
    CHECK   "sw writes four bytes", t0, 0x3456ffff789abcde
    li      t0, 0x0123456789abcdef
    addi    s4, s2, 8
    sd      t0, -8(s4)
    ld      t0, 0(s2)
    CHECK   "sd negative offset", t0, 0x0123456789abcdef
    lbu     t0, 7(s2)
    CHECK   "byte order is little-endian", t0, 0x01
    sd      zero, 0(s2)
    ld      t0, 0(s2)
    CHECK   "sd zero", t0, 0
    GROUP_END

    TRAP_RECORD_ON

    GROUP "misaligned in page"
    TEST_LD "lh 1", lh, 1, 0x382
    TEST_LD "lhu 1", lhu, 1, 0x382
    TEST_LD "lh 3", lh, 3, 0x584
    TEST_LD "lw 1", lw, 1, 0x5840382
    TEST_LD "lwu 1", lwu, 1, 0x5840382
    TEST_LD "lw 2 sign-extends", lw, 2, 0xffffffff86058403
    TEST_LD "lw 3", lw, 3, 0x7860584
    TEST_LD "lw 6 sign-extends", lw, 6, 0xffffffff8a098807
    TEST_LD "lwu 5", lwu, 5, 0x9880786
    TEST_LD "ld 1", ld, 1, 0x988078605840382
    TEST_LD "ld 3", ld, 3, 0xb8a098807860584
    TEST_LD "ld 7", ld, 7, 0xf8e0d8c0b8a0988
    sd      zero, 0(s2)
    sd      zero, 8(s2)
    sd      zero, 16(s2)
    li      t0, 0x0102030405060708
    sd      t0, 1(s2)
    ld      t0, 0(s2)
    CHECK   "sd 1 low dword", t0, 0x0203040506070800
    ld      t0, 8(s2)
    CHECK   "sd 1 high dword", t0, 0x01
    li      t0, 0xeeff
    sh      t0, 7(s2)
    ld      t0, 0(s2)
    CHECK   "sh 7 low dword", t0, 0xff03040506070800
    ld      t0, 8(s2)
    CHECK   "sh 7 high dword", t0, 0xee
    li      t0, 0x11223344
    sw      t0, 13(s2)
    ld      t0, 8(s2)
    CHECK   "sw 13 low dword", t0, 0x22334400000000ee
    ld      t0, 16(s2)
    CHECK   "sw 13 high dword", t0, 0x11
    CHECK_NO_TRAP "misaligned in page"
    GROUP_END

    GROUP "misaligned across page"
    /* bytes P-8 .. P+7 (P = s3, a page boundary) = 0xc0 .. 0xcf */
    li      t1, 0xc0
    addi    t2, s3, -8
1:  sb      t1, 0(t2)
    addi    t1, t1, 1
    addi    t2, t2, 1
    li      t0, 0xd0
    bltu    t1, t0, 1b
    ld      t0, -7(s3)
    CHECK   "ld P-7", t0, 0xc8c7c6c5c4c3c2c1
    ld      t0, -3(s3)
    CHECK   "ld P-3", t0, 0xcccbcac9c8c7c6c5
    lw      t0, -2(s3)
    CHECK   "lw P-2", t0, 0xffffffffc9c8c7c6
    lwu     t0, -2(s3)
    CHECK   "lwu P-2", t0, 0xc9c8c7c6
    lh      t0, -1(s3)
    CHECK   "lh P-1", t0, 0xffffffffffffc8c7
    lhu     t0, -1(s3)
    CHECK   "lhu P-1", t0, 0xc8c7
    li      t0, 0x1122334455667788
    sd      t0, -4(s3)
    ld      t0, -8(s3)
    CHECK   "sd P-4 first page", t0, 0x55667788c3c2c1c0
    ld      t0, 0(s3)
    CHECK   "sd P-4 second page", t0, 0xcfcecdcc11223344
    li      t0, 0xa1b2
    sh      t0, -1(s3)
    ld      t0, -8(s3)
    CHECK   "sh P-1 first page", t0, 0xb2667788c3c2c1c0
    ld      t0, 0(s3)
    CHECK   "sh P-1 second page", t0, 0xcfcecdcc112233a1
    li      t0, 0xdeadbeef
    sw      t0, -3(s3)
    ld      t0, -8(s3)
    CHECK   "sw P-3 first page", t0, 0xadbeef88c3c2c1c0
    ld      t0, 0(s3)
    CHECK   "sw P-3 second page", t0, 0xcfcecdcc112233de
    CHECK_NO_TRAP "misaligned across page"
    GROUP_END

    TRAP_RECORD_OFF
TEST_END "rv64i_mem"

    .section .rodata
    .balign 16
src:
    .byte 0x01, 0x82, 0x03, 0x84, 0x05, 0x86, 0x07, 0x88
    .byte 0x09, 0x8a, 0x0b, 0x8c, 0x0d, 0x8e, 0x0f, 0x90

    .section .bss
    .balign 16
scratch:
    .space 32
    .balign 4096
page_buf:
    .space 8192
