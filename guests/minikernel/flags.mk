# Build flags of the minikernel suite (included by guests/Makefile).
#
# minikernel is an S-mode kernel: OpenSBI (or wasmvisor's VM mode) enters it at
# 0x80200000, so it uses the S-mode layout and its own entry (lib/entry.S)
# instead of common/crt0.S. Of common/ it links only the parts that never touch
# M-mode CSRs or MMIO: the printf formatter (its con_putc/con_puts come from
# lib/console.c, over SBI) and the string functions.
# -mno-relax: no gp-relative accesses, so the U-mode code (lib/*_user.c, mapped
# into every task) does not depend on gp, which tasks never set.
minikernel_LDSCRIPT     := common/link-s.ld
minikernel_COMMON_SRCS  := common/printf.c common/string.c
minikernel_CFLAGS       := -mno-relax
# The Makefile's check-qemu/expected run images with -bios none (M-mode entry);
# this kernel needs an SBI firmware, so its expected output is written by hand
# from a QEMU + OpenSBI run (see lib/README or guests/expected/minikernel/).
minikernel_NO_EXPECTED  := 1
minikernel_QEMU_ARGS    := -bios default
