# Build flags of the xen suite (included by guests/Makefile).
#
# domu.elf is an S-mode kernel that runs as a Xen-style DomU under wasmvisor's
# hypervisor (host/xen; ABI in docs/xen/hypercalls.md): it is entered at
# 0x80200000 like minikernel, through the S-mode entry (common/smode/entry.S),
# and links only that, common/printf.c and string.c (its con_putc is
# console_io, lib/xen.c).
# Under QEMU there is no Xen: the image finds no hypercall extension (SBI
# probe_extension), says so and powers off through SBI, so check-qemu passes
# on OpenSBI (-bios default). Its real output needs the hypervisor, so
# `make expected` skips the suite. The guests check their own results and
# crash with a FAIL line otherwise; test/xen/domu.test.ts and frontends.test.ts
# assert their lines against values known from outside the guest (no recorded
# console is the oracle).
xen_LDSCRIPT     := common/link-s.ld
xen_COMMON_SRCS  := common/smode/entry.S common/printf.c common/string.c
# The S-mode entry points stvec at the DomU trap path (lib/trap.S); main never returns.
xen_CFLAGS       := -DS_ENTRY_TRAP=xen_trap_entry
xen_NO_EXPECTED  := 1
xen_QEMU_ARGS    := -bios default
