# Build flags of the vmboard suite (included by guests/Makefile): the board suite's programs
# (board/*.c, included with BOARD_VM defined) as S-mode kernels at 0x80200000 for VM mode, with
# the S-mode entry (common/smode/entry.S; main's result goes to guest_exit). They use the UART
# and the test finisher directly (the VMM emulates both) and SBI for a reboot.
vmboard_LDSCRIPT     := common/link-s.ld
vmboard_COMMON_SRCS  := common/smode/entry.S common/printf.c common/string.c common/uart.c common/runtime.c
vmboard_CFLAGS       := -DBOARD_VM -DS_ENTRY_EXIT=guest_exit
vmboard_QEMU_ARGS    := -bios default
vmboard_NO_EXPECTED  := 1
# Its sources include board/*.c, which the Makefile's rules do not watch.
$(patsubst vmboard/%.c,build/vmboard/vmboard/%.o,$(wildcard vmboard/*.c)): $(wildcard board/*.c)
