/*
 * blkbench.c - the split-driver half of issue 6's disk benchmark: a DomU
 * that writes its whole first vbd (4 to 256 MiB; bench/xen.ts uses 64 MiB) in 64 KiB I/Os, reads it back the same
 * way, and checks it (a stamp in every sector), through blkfront (lib/blkfront.c). Sixteen
 * I/Os (1 MiB) are in flight per batch, one notification each: 16 indirect requests of 16
 * segments when the backend offers feature-max-indirect-segments, else 32 requests of 11 + 5
 * segments; on a two-page ring when it offers max-ring-page-order >= 1. virtblkbench.c runs the same workload through an
 * emulated virtio-blk device.
 *
 * The guest's own work is kept small so that the I/O path dominates: the
 * buffer is filled once (untimed); each batch stamps the first 8 bytes of
 * every sector with its disk offset before writing, clears the stamps before
 * reading, and checks them after.
 *
 * Output, one line per phase (console_io, so it works without a console
 * backend):
 *   blkbench: write B bytes, N I/Os of 65536 (B = 4194304, N = 64 on a 4 MiB disk): T us, R MB/s, N notifications, W waits
 * T is Xen system time (the time CSR). It is only indicative: with real time
 * the VMM moves the time CSR to the wall clock at some exits only, so the
 * backend's work inside a hypercall may not show; with deterministic time it
 * counts the guest's own instructions. The host harness measures what counts:
 * host time of the run, exits (Vm.exits) and the backend's counters. Then it powers off
 * (exit 0), or prints FAIL and crashes (exit 1).
 *
 * Run it (a disk of at least 4 MiB):
 *   const hv = new XenHypervisor();
 *   const d = await hv.createDomain({ name: 'blkbench', memSize: 16 << 20,
 *       kernel: loadImageFile('guests/bin/xen/blkbench.elf', 0x80200000n) });
 *   attachDisk(hv, d, 51712, { backend: new MemoryBackend(4 << 20), vdev: 'xvda', readOnly: false });
 *   const r = await hv.run(d.domid);      // then d.vm.stats() for exits
 */
#include "pv.h"
#include "diskbench.h"

#define CHECK(cond, ...) do { if (!(cond)) { con_printf("FAIL: " __VA_ARGS__); con_printf("\n"); xen_shutdown(SHUTDOWN_crash); } } while (0)

/* Bytes written and read back: the whole disk, in whole batches (diskbench_total). */
static uint32_t total;

static struct blkfront blk;
static uint8_t buf[BATCH_BYTES] __attribute__((aligned(4096)));

static void report(const char *what, uint64_t ns, unsigned long notifies, unsigned long waits)
{
    uint64_t us = ns / 1000 ? ns / 1000 : 1;
    uint64_t tenths = (uint64_t)total * 10 / us;
    con_printf("blkbench: %s %u bytes, %u I/Os of %u: %lu us, %lu.%lu MB/s, %lu notifications, %lu waits\n", what, total,
               total / IO_BYTES, IO_BYTES, (unsigned long)us, (unsigned long)(tenths / 10), (unsigned long)(tenths % 10),
               notifies, waits);
}

static void phase(int op)
{
    struct blk_io io[BATCH];
    unsigned long n0 = blk.notifies, w0 = blk.waits;
    uint64_t t0 = xen_now_ns();
    for (uint32_t off = 0; off < total; off += BATCH_BYTES) {
        diskbench_stamp(buf, off, op == BLKIF_OP_READ);
        for (unsigned i = 0; i < BATCH; i++) {
            io[i].op = (uint8_t)op;
            io[i].sector = (off + i * IO_BYTES) / 512;
            io[i].buf = buf + i * IO_BYTES;
            io[i].len = IO_BYTES;
        }
        CHECK(blkfront_io(&blk, io, BATCH) == 0, "%s at %u: status %d", op == BLKIF_OP_WRITE ? "write" : "read", off, io[0].status);
        if (op == BLKIF_OP_READ)
            CHECK(diskbench_stamped(buf, off), "read-back differs at %u", off);
    }
    report(op == BLKIF_OP_WRITE ? "write" : "read", xen_now_ns() - t0, blk.notifies - n0, blk.waits - w0);
}

int main(long hartid, const void *dtb)
{
    (void)hartid;
    char child[32], dir[48];
    if (!xen_present() || xen_parse_dt(dtb) != 0)
        xen_absent("blkbench");                               /* under QEMU: nothing to measure */
    xen_events_init();
    CHECK(gnttab_init() == 0, "grant table setup");
    CHECK(xenbus_first_child("device/vbd", child, sizeof child) == 0, "no disk (device/vbd is empty)");
    path_join(dir, sizeof dir, "device/vbd", child);
    blk.want_persistent = 1;            /* feature-persistent: grants kept for the connection */
    blk.want_indirect = 1;              /* feature-max-indirect-segments: 16 segments a request */
    blk.want_ring_order = 1;            /* ring-page-order 1: a two-page ring (64 slots) */
    int rc = blkfront_init(&blk, dir);
    CHECK(rc == 0, "blkfront: handshake step %d failed", -rc);
    total = diskbench_total(blk.sectors);
    CHECK(!blk.read_only && total != 0, "need a writable disk of 4 MiB (%lu sectors)", (unsigned long)blk.sectors);
    diskbench_fill(buf);
    phase(BLKIF_OP_WRITE);
    phase(BLKIF_OP_READ);
    con_printf("blkbench: ok; powering off\n");
    xen_shutdown(SHUTDOWN_poweroff);
}
