/*
 * probes.S - tiny functions that perform one access that may trap.
 *
 * Assembled without the C extension so every probed instruction is 4 bytes
 * long: the suite's handlers skip a trapping instruction with epc += 4.
 * A probe whose access traps returns its argument unchanged (a0 is not
 * written), which tests use to tell "trapped" from "loaded a value".
 * The *_insn labels mark the instruction that may trap (for epc checks).
 */
    .option norvc
    .text
    .balign 4

    .globl probe_ld, probe_ld_insn
probe_ld:
probe_ld_insn:
    ld      a0, 0(a0)
    ret

    .globl probe_lw, probe_lw_insn
probe_lw:
probe_lw_insn:
    lw      a0, 0(a0)
    ret

    .globl probe_sd, probe_sd_insn
probe_sd:
probe_sd_insn:
    sd      a1, 0(a0)
    li      a0, 0
    ret

/* Calls the code at a0; a fetch fault resumes at the instruction after
 * the jalr (the handlers return to the saved ra). */
    .globl probe_exec
probe_exec:
    mv      t1, ra
    jalr    ra, 0(a0)
    mv      ra, t1
    ret

/* ecall with a0 as given and a7 = a1 (never EXIT_MAGIC in tests). */
    .globl probe_ecall, probe_ecall_insn
probe_ecall:
    mv      a7, a1
probe_ecall_insn:
    ecall
    ret

    .globl probe_illegal, probe_illegal_insn
probe_illegal:
probe_illegal_insn:
    csrrw   x0, cycle, x0           /* write to a read-only CSR: illegal */
    ret

    .globl probe_nop
probe_nop:
    nop
    ret

    .globl probe_ret5a
probe_ret5a:
    li      a0, 0x5a
    ret

    .globl probe_read_sstatus
probe_read_sstatus:
    csrr    a0, sstatus
    ret

    .globl probe_read_sip
probe_read_sip:
    csrr    a0, sip
    ret
