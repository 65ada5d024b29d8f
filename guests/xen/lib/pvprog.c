/*
 * pvprog.c - the PV test program: a DomU that uses every PV frontend
 * (docs/xen/frontends.md). pvtest.c runs it as "pvtest", minikernel as a
 * DomU (guests/minikernel/lib/domu.c) as "minikernel"; `name` below is that
 * prefix of its lines.
 *
 *   1. logs through the PV console (pvcons.c) from its first line;
 *   2. disk: the first vbd of device/vbd. A writable disk gets a 128 KiB
 *      pattern at sector 64, written from a buffer that starts 512 bytes
 *      into a page (three writes: four multi-segment ring requests, partial
 *      first and last pages), read back in a different split (two 64 KiB
 *      reads, two ring requests each), compared byte for byte and by
 *      checksum, then a flush. A read-only disk must refuse a write
 *      (BLKIF_RSP_ERROR, reported); its first 128 KiB from sector 64 are read
 *      and their checksum printed;
 *   3. network: the first vif of device/vif, if any. Our address is the
 *      backend's "ip" key (xl's vif ip=), else 10.0.0.<domid>; the peer is
 *      "pvtest/peer" under our home (the key keeps that name whoever runs the
 *      program), else our pair in the same /24 (.1 <-> .2, .3 <-> .4, ...).
 *      ping_run (ping.c) pings it and answers its pings.
 *
 * Success: "<name>: disk ok", "<name>: ping A.B.C.D ok" and SHUTDOWN_poweroff
 * (exit 0). Any failure prints "FAIL: ..." and SHUTDOWN_crash (exit 1).
 */
#include "pv.h"

#define CHECK(cond, ...) do { if (!(cond)) { con_printf("FAIL: " __VA_ARGS__); con_printf("\n"); xen_shutdown(SHUTDOWN_crash); } } while (0)

#define PATTERN_SECTOR PVPROG_PATTERN_SECTOR
#define PATTERN_BYTES PVPROG_PATTERN_BYTES

/* The pattern: u32 word i of the region is i * 2654435761 ^ domid << 24 (little endian). */
static void fill_pattern(uint8_t *p)
{
    for (uint32_t i = 0; i < PATTERN_BYTES / 4; i++) {
        uint32_t w = i * 2654435761u ^ (xen.domid << 24);
        p[4 * i] = (uint8_t)w;
        p[4 * i + 1] = (uint8_t)(w >> 8);
        p[4 * i + 2] = (uint8_t)(w >> 16);
        p[4 * i + 3] = (uint8_t)(w >> 24);
    }
}

static void disk_test(struct pvprog *p, const char *dir)
{
    struct blkfront *blk = &p->blk;
    const char *name = p->name;
    int rc = blkfront_init(blk, dir);
    CHECK(rc == 0, "blkfront: %s: handshake step %d failed", dir, -rc);
    con_printf("%s: vbd %s: %lu sectors, %s, flush %s, ring-ref %d, port %u\n", name, dir + 11,
               (unsigned long)blk->sectors, blk->read_only ? "read-only" : "read-write", blk->flush ? "yes" : "no",
               blk->ring_ref, blk->port);
    CHECK(blk->sectors >= PATTERN_SECTOR + PATTERN_BYTES / 512, "disk too small (%lu sectors)", (unsigned long)blk->sectors);

    if (blk->read_only) {
        struct blk_io w = { BLKIF_OP_WRITE, PATTERN_SECTOR, p->wbuf, 4096, 0, 0 };
        CHECK(blkfront_io(blk, &w, 1) == 1 && w.status == BLKIF_RSP_ERROR, "write to a read-only disk: status %d", w.status);
        con_printf("%s: write to read-only disk refused (status %d)\n", name, w.status);
        struct blk_io r = { BLKIF_OP_READ, PATTERN_SECTOR, p->rbuf, PATTERN_BYTES, 0, 0 };
        CHECK(blkfront_io(blk, &r, 1) == 0, "read: status %d", r.status);
        con_printf("%s: read %u bytes at sector %u, fnv1a 0x%08x\n", name, PATTERN_BYTES, PATTERN_SECTOR,
                   fnv1a(p->rbuf, PATTERN_BYTES, FNV1A_INIT));
    } else {
        /* Writes of 43.5 KiB (11 segments, the first partial), 40.5 KiB (11, the
         * last partial) and 44 KiB (12 pages: two ring requests). */
        uint8_t *src = p->wbuf + 512;           /* the pattern starts 512 bytes into a page */
        uint8_t *rbuf = p->rbuf;
        fill_pattern(src);
        uint32_t a = 44 * 1024 - 512, b = 40 * 1024 + 512, c = PATTERN_BYTES - a - b;
        struct blk_io w[3] = {
            { BLKIF_OP_WRITE, PATTERN_SECTOR, src, a, 0, 0 },
            { BLKIF_OP_WRITE, PATTERN_SECTOR + a / 512, src + a, b, 0, 0 },
            { BLKIF_OP_WRITE, PATTERN_SECTOR + (a + b) / 512, src + a + b, c, 0, 0 },
        };
        unsigned long req0 = blk->requests, seg0 = blk->segments;
        CHECK(blkfront_io(blk, w, 3) == 0, "write: status %d %d %d", w[0].status, w[1].status, w[2].status);
        con_printf("%s: wrote %u bytes at sector %u in %lu requests (%lu segments)\n", name, PATTERN_BYTES, PATTERN_SECTOR,
                   blk->requests - req0, blk->segments - seg0);
        memset(rbuf, 0, sizeof p->rbuf);
        struct blk_io r[2] = {
            { BLKIF_OP_READ, PATTERN_SECTOR, rbuf, PATTERN_BYTES / 2, 0, 0 },
            { BLKIF_OP_READ, PATTERN_SECTOR + PATTERN_BYTES / 1024, rbuf + PATTERN_BYTES / 2, PATTERN_BYTES / 2, 0, 0 },
        };
        req0 = blk->requests;
        CHECK(blkfront_io(blk, r, 2) == 0, "read: status %d %d", r[0].status, r[1].status);
        uint32_t hw = fnv1a(src, PATTERN_BYTES, FNV1A_INIT), hr = fnv1a(rbuf, PATTERN_BYTES, FNV1A_INIT);
        con_printf("%s: read back in %lu requests, fnv1a 0x%08x (written 0x%08x)\n", name, blk->requests - req0, hr, hw);
        CHECK(hr == hw && memcmp(src, rbuf, PATTERN_BYTES) == 0, "read-back differs from what was written");
        struct blk_io f = { BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0, 0, 0 };
        CHECK(blkfront_io(blk, &f, 1) == 0, "flush: status %d", f.status);
        con_printf("%s: flush ok\n", name);
    }
    CHECK(blk->grant_errors == 0 && gnttab_in_use() == 1, "grants left: %u in use, %lu not ended", gnttab_in_use(), blk->grant_errors);
    con_printf("%s: disk ok (%lu notifications, %lu waits)\n", name, blk->notifies, blk->waits);
}

static void net_test(struct pvprog *p, const char *dir)
{
    struct netfront *net = &p->net;
    int rc = netfront_init(net, dir);
    CHECK(rc == 0, "netfront: %s: handshake step %d failed", dir, -rc);
    char v[32], path[160];
    path_join(path, sizeof path, net->backend, "ip");
    uint32_t self = xenbus_read(path, v, sizeof v) == 0 ? inet_parse_ip(v) : 0;
    if (!self)
        self = 10u << 24 | (xen.domid & 255);
    uint32_t peer = xenbus_read("pvtest/peer", v, sizeof v) == 0 ? inet_parse_ip(v) : 0;
    if (!peer)                                  /* our pair: .1 <-> .2, .3 <-> .4, ... */
        peer = (self & ~255u) | (((self & 1) ? self + 1 : self - 1) & 255);
    con_printf("%s: vif %s: mac %02x:%02x:%02x:%02x:%02x:%02x, port %u", p->name, dir + 11, net->mac[0], net->mac[1],
               net->mac[2], net->mac[3], net->mac[4], net->mac[5], net->port);
    inet_print_ip(", ip ", self);
    inet_print_ip(", peer ", peer);
    con_printf("\n");
    struct ping_result r;
    rc = ping_run(net, self, peer, &r);
    if (rc != 0) {
        inet_print_ip("FAIL: ping ", peer);
        con_printf(": %u ARP requests, %u echo requests, %u replies\n", r.arp_sent, r.echo_sent, r.echo_replies);
        xen_shutdown(SHUTDOWN_crash);
    }
    con_printf("%s: ", p->name);
    inet_print_ip("ping ", peer);
    con_printf(" ok\n");
}

void pvprog_run(struct pvprog *p, const char *name)
{
    char child[32], dir[48];
    p->name = name;
    xen_events_init();
    pvcons_init();
    con_printf("%s: domain %u, PV console on port %u\n", name, xen.domid, xen.console_port);
    CHECK(gnttab_init() == 0, "grant table setup");

    CHECK(xenbus_first_child("device/vbd", child, sizeof child) == 0, "no disk (device/vbd is empty)");
    path_join(dir, sizeof dir, "device/vbd", child);
    disk_test(p, dir);

    if (xenbus_first_child("device/vif", child, sizeof child) == 0) {
        path_join(dir, sizeof dir, "device/vif", child);
        net_test(p, dir);
    } else {
        con_printf("%s: no vif; no ping\n", name);
    }
    con_printf("%s: all tests passed; powering off\n", name);
    xen_shutdown(SHUTDOWN_poweroff);
}
