# Build flags of the minikernel suite (included by guests/Makefile).
#
# minikernel is an S-mode kernel: OpenSBI (or wasmvisor's VM mode) enters it at
# 0x80200000, so it uses the S-mode layout and the S-mode entry
# (common/smode/entry.S, with stvec = its trap_entry, lib/entry.S, and
# sbi_shutdown should main return) instead of common/crt0.S. Of common/ it
# links only the parts that never touch M-mode CSRs or MMIO: the printf
# formatter (its con_putc/con_puts come from lib/sbi.c) and the string
# functions.
# -g: debug info, for the GDB stub's test (test/debug/gdb.test.ts reads a local);
# it changes no code.
# -mno-relax: no gp-relative accesses, so the U-mode code (lib/*_user.c, mapped
# into every task) does not depend on gp, which tasks never set.
#
# As a Xen DomU it runs the PV test program of the xen suite (lib/domu.c), so
# it also links the xen suite's library: the hypervisor interface and the
# DomU trap path (xen.c, trap.S), XenStore and xenbus, grants, the frontends,
# ping and the program itself (pvprog.c). Their con_putc/con_puts are weak:
# sbi.c's win.
minikernel_LDSCRIPT     := common/link-s.ld
minikernel_XEN_SRCS     := $(sort $(wildcard xen/lib/*.c xen/lib/*.S))
minikernel_COMMON_SRCS  := common/smode/entry.S common/printf.c common/string.c $(minikernel_XEN_SRCS)
minikernel_CFLAGS       := -g -mno-relax -Ixen/lib -DS_ENTRY_TRAP=trap_entry -DS_ENTRY_EXIT=sbi_shutdown
# The Makefile's rules only watch common/ and minikernel/ headers: the xen
# library's objects (and lib/domu.o) must also be rebuilt when xen/lib/*.h change.
$(foreach f,$(minikernel_XEN_SRCS) minikernel/lib/domu.c,build/minikernel/$(basename $(f)).o): $(wildcard xen/lib/*.h)
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
