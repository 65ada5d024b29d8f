# Build flags of the vmbench suite (included by guests/Makefile): workloads that start in
# S-mode at 0x80200000 (entered by wasmvisor's VMM, or by OpenSBI on the bare machine), with
# the S-mode entry (common/smode/entry.S; main's result goes to guest_exit) instead of
# common/crt0.S. They use the UART and the test finisher directly (a VMM emulates both).
# QEMU runs them behind its own OpenSBI.
vmbench_LDSCRIPT     := common/link-s.ld
vmbench_COMMON_SRCS  := common/smode/entry.S common/printf.c common/string.c common/uart.c common/runtime.c
vmbench_CFLAGS       := -I bench -DS_ENTRY_EXIT=guest_exit
vmbench_QEMU_ARGS    := -bios default
vmbench_NO_EXPECTED  := 1
