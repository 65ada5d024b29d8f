# Build flags of the vmvirtio suite (included by guests/Makefile): the virtio guests
# (virtio-blk/*.c, included) as S-mode kernels at 0x80200000 for VM mode, where every device
# register access is an MMIO exit to the VMM. Same entry and exit as vmboard.
vmvirtio_LDSCRIPT     := common/link-s.ld
vmvirtio_COMMON_SRCS  := common/smode/entry.S common/printf.c common/string.c common/uart.c common/runtime.c
vmvirtio_CFLAGS       := -DS_ENTRY_EXIT=guest_exit
vmvirtio_QEMU_ARGS    := -bios default $(virtio-blk_QEMU_ARGS)
vmvirtio_NO_EXPECTED  := 1
$(patsubst vmvirtio/%.c,build/vmvirtio/vmvirtio/%.o,$(wildcard vmvirtio/*.c)): $(wildcard virtio-blk/*.c)
