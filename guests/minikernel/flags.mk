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
# The kernel needs an SBI firmware: QEMU_ARGS adds -bios default (QEMU's own
# OpenSBI; it comes after run-qemu.sh's -bios none and wins), so check-qemu
# boots it and passes on the SBI shutdown. The console then starts with
# OpenSBI's banner, which differs between firmware builds, so `make expected`
# skips this suite: expected/minikernel/minikernel.txt holds the kernel's own
# output only (from its first line "minikernel: S-mode on hart 0" on), taken
# from
#   qemu-system-riscv64 -M virt -m 128M -nographic \
#     -bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin \
#     -kernel bin/minikernel/minikernel.elf | sed -n '/^minikernel: S-mode/,$p'
minikernel_NO_EXPECTED  := 1
minikernel_QEMU_ARGS    := -bios default
