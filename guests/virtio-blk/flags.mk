# Build and QEMU flags of the virtio-blk suite (included by guests/Makefile).
# Its images need a disk and the modern virtio-mmio interface (register layout
# version 2; QEMU 7.2 defaults to the legacy one). check-qemu and expected
# attach a 1 MiB scratch disk, created here, that the test overwrites.
VIRTIO_BLK_DISK := build/virtio-blk/disk.img
virtio-blk_QEMU_ARGS := -global virtio-mmio.force-legacy=false \
    -drive if=none,file=$(VIRTIO_BLK_DISK),format=raw,id=d0 -device virtio-blk-device,drive=d0

check-qemu expected: $(VIRTIO_BLK_DISK)
$(VIRTIO_BLK_DISK):
	@mkdir -p $(dir $@)
	truncate -s 1M $@
