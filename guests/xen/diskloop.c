/*
 * diskloop.c - a DomU that does disk I/O for a while and logs every step: the
 * guest `xl save` / `xl restore` and `xl migrate` are tested with
 * (test/xen/save-restore.test.ts, test/xen/migrate.test.ts). Wherever it is
 * saved, it is in the middle of disk I/O.
 *
 * Through its first vbd (blkfront, lib/blkfront.c) it runs ROUNDS rounds; round
 * i writes 16 KiB at sector 64 + 32 * (i % SLOTS), filled with a pattern of i,
 * reads them back into another buffer, checks them byte for byte, folds them
 * into a running FNV-1a hash and prints, on the PV console,
 *     diskloop: round I sector S fnv1a 0xH
 * then "diskloop: done, N requests" and SHUTDOWN_poweroff (exit 0). Any
 * failure prints "FAIL: ..." and crashes (exit 1). The disk's final contents
 * and the lines are a function of the rounds alone, so a run that was saved and
 * restored (or migrated) on the way must print the same lines and leave the
 * same disk as a run that was not.
 *
 * Under QEMU (no hypervisor) it says so and powers off.
 */
#include "pv.h"

#define ROUNDS 1200
#define SLOTS 24
#define IO_SIZE 16384

#define CHECK(cond, ...) do { if (!(cond)) { con_printf("FAIL: " __VA_ARGS__); con_printf("\n"); xen_shutdown(SHUTDOWN_crash); } } while (0)

static struct blkfront blk;
static uint8_t wbuf[IO_SIZE] __attribute__((aligned(4096)));
static uint8_t rbuf[IO_SIZE] __attribute__((aligned(4096)));

int main(long hartid, const void *dtb)
{
    char child[32], dir[48];
    (void)hartid;
    if (!xen_present())
        xen_absent("diskloop");
    if (xen_parse_dt(dtb) != 0) {
        con_printf("FAIL: no /hypervisor node\n");
        xen_shutdown(SHUTDOWN_crash);
    }
    xen_events_init();
    pvcons_init();
    CHECK(gnttab_init() == 0, "grant table setup");
    CHECK(xenbus_first_child("device/vbd", child, sizeof child) == 0, "no disk (device/vbd is empty)");
    path_join(dir, sizeof dir, "device/vbd", child);
    int rc = blkfront_init(&blk, dir);
    CHECK(rc == 0, "blkfront: %s: handshake step %d failed", dir, -rc);
    CHECK(blk.sectors >= 64 + 32 * SLOTS && !blk.read_only, "need a writable disk of %u sectors", 64 + 32 * SLOTS);
    con_printf("diskloop: %lu sectors, %u rounds\n", (unsigned long)blk.sectors, ROUNDS);
    uint32_t h = FNV1A_INIT;
    for (uint32_t i = 0; i < ROUNDS; i++) {
        uint32_t sector = 64 + 32 * (i % SLOTS);
        for (uint32_t j = 0; j < IO_SIZE / 4; j++) {
            uint32_t w = (j * 2654435761u) ^ (i << 20) ^ 0x5a5a;
            memcpy(wbuf + 4 * j, &w, 4);
        }
        struct blk_io w = { BLKIF_OP_WRITE, sector, wbuf, IO_SIZE, 0, 0 };
        CHECK(blkfront_io(&blk, &w, 1) == 0, "round %u: write: status %d", i, w.status);
        memset(rbuf, 0, IO_SIZE);
        struct blk_io r = { BLKIF_OP_READ, sector, rbuf, IO_SIZE, 0, 0 };
        CHECK(blkfront_io(&blk, &r, 1) == 0, "round %u: read: status %d", i, r.status);
        CHECK(memcmp(wbuf, rbuf, IO_SIZE) == 0, "round %u: read-back differs", i);
        h = fnv1a(rbuf, IO_SIZE, h);
        con_printf("diskloop: round %u sector %u fnv1a 0x%08x\n", i, sector, h);
    }
    con_printf("diskloop: done, %lu requests\n", blk.requests);
    xen_shutdown(SHUTDOWN_poweroff);
}
