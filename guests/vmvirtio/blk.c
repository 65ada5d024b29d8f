/* blk.c as an S-mode kernel for VM mode (see virtio-blk/blk.c): the same report on a VM's disk. */
#include "../virtio-blk/blk.c"
