/*
 * netbench.c - the network half of issue 6's benchmarks: two DomUs on one
 * Dom0 bridge, each with a vif (netfront, lib/netfront.c). One is the client,
 * the other the server: the client is the odd domid (the server the even
 * one), unless "netbench/role" under the domain's home says "client" or
 * "server". Addresses as pvtest.c: the backend's "ip" key, else
 * 10.0.0.<domid>; the peer is our pair in the /24 (.1 <-> .2, ...).
 *
 * Phases (the client drives; the server answers until the transfer ends):
 *   1. ARP (RFC 826). Both send one request for the peer as soon as their
 *      vif is connected, and answer requests for their address. No timer
 *      is needed: whichever request is sent second finds the other vif
 *      connected, and its reply teaches the first sender.
 *   2. Round trips: the client sends N ICMP echo requests (RFC 792, in IPv4
 *      without options; 56 data bytes as ping), one at a time, each after
 *      the reply to the previous one; the server answers them.
 *   3. Bulk: the client sends B bytes in frames of P payload bytes, raw
 *      Ethernet with the local experimental EtherType 0x88b5 (IEEE 802):
 *        DATA  0 type 1  1..3 0  4 seq  8 frames  12 payload bytes  16 payload
 *        ACK   0 type 2  1 nak   4 next seq expected  8 bytes received
 *              12 fnv1a of the payload received so far
 *      (big endian). Payload byte k of the stream is byte k & 3 (little
 *      endian) of the u32 word (k >> 2) * 2654435761. At most WINDOW frames
 *      are unacknowledged, fewer than the server's NET_RX_BUFS posted rx
 *      buffers, so the backend never drops one for want of a buffer. The
 *      server takes frames in order, checksums (FNV-1a) and checks them
 *      against the pattern, and acknowledges (cumulatively) every ACK_EVERY
 *      frames and the last one. A frame out of order
 *      (a loss) is dropped and answered once with a NAK, and the client goes
 *      back to the first unacknowledged frame (go-back-N). A loss that no
 *      later frame reveals (the end of the stream, or a lost ACK) is found by
 *      the client's timeout: nothing acknowledged for RTO_NS, and it goes back
 *      the same way; the server answers a frame it already has with an ACK of
 *      where it is, and stays LINGER_NS after the last frame for those. A
 *      lost echo request or reply is sent again after RTO_NS. Waits are
 *      SCHEDOP_poll on the vif's port with the timeout (xen_wait_port_until).
 *      The final ACK
 *      carries the server's checksum, which the client compares with its own
 *      (computed before the phase starts).
 *
 * Nothing is timed in the guest (its clock is not reliable under
 * deterministic time); the host timestamps the console lines that mark the
 * phase boundaries (bench/xen.ts):
 *   client: netbench: domain D, client, mac M, ip A, peer B
 *           netbench: peer B at M                               (ARP done)
 *           netbench: ping: N round trips                       (phase 2 starts)
 *           netbench: ping: N replies                           (phase 2 ends)
 *           netbench: bulk: B bytes in F frames of P, fnv1a 0xH  (phase 3 starts)
 *           netbench: bulk: F frames acked (K acks, R resent), receiver fnv1a 0xH ok  (ends)
 *             (K: ACK frames received, NAKs included; R: frames sent again)
 *   server: netbench: domain D, server, mac M, ip A, peer B
 *           netbench: answered N echo requests
 *           netbench: received F frames, B bytes, fnv1a 0xH, pattern ok (X out of order)
 * then SHUTDOWN_poweroff (exit 0). Failures print "FAIL: ..." and crash
 * (exit 1). Configuration (the client's home, optional): netbench/pings
 * (default 1000), netbench/bytes (default 4 MiB), netbench/frame (payload
 * bytes per frame, 16..1484, default 1400).
 */
#include "pv.h"
#include "inet.h"

#define CHECK(cond, ...) do { if (!(cond)) { con_printf("FAIL: " __VA_ARGS__); con_printf("\n"); xen_shutdown(SHUTDOWN_crash); } } while (0)

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_BENCH 0x88b5
#define ICMP_ID 0x6e62                  /* "nb" */
#define PING_DATA 56
#define BULK_DATA 1
#define BULK_ACK 2
#define HDR 16                          /* bulk header after the Ethernet header */
#define MAX_PAYLOAD (1500 - HDR)
#define WINDOW 24                       /* < NET_RX_BUFS of the server */
#define ACK_EVERY 8
#define RTO_NS 200000000ull             /* retransmission timeout: 200 ms of Xen system time (as TCP's minimum) */
#define MAX_TIMEOUTS 100                /* in a row without progress: the peer is gone */
#define LINGER_NS (2 * RTO_NS)          /* the server stays this long after the last frame */

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct netfront net;
static uint32_t self, peer;
static int peer_known;
static uint8_t peer_mac[6];
static uint8_t tx[1536], rx[2048];

/* Send `len` bytes of `tx` (padded to the 60-byte minimum); a full tx ring is retried after a yield. */
static void send(unsigned len)
{
    if (len < 60) {
        memset(tx + len, 0, 60 - len);
        len = 60;
    }
    for (unsigned tries = 0; netfront_send(&net, tx, len) != 0; tries++) {
        CHECK(tries < 100000, "tx ring stays full");
        hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0);
    }
}

static void eth(const uint8_t *dst, uint16_t type)
{
    memcpy(tx, dst, 6);
    memcpy(tx + 6, net.mac, 6);
    put16(tx + 12, type);
}

static void send_arp(uint16_t op, const uint8_t *tmac, uint32_t tip)
{
    send(inet_arp(tx, net.mac, self, op, tmac, tip));
}

/* An echo request (type 8) or reply (type 0). */
static void send_icmp(const uint8_t *dmac, uint32_t dst, uint8_t type, uint16_t id, uint16_t seq, const uint8_t *data, unsigned dlen)
{
    send(inet_icmp_echo(tx, net.mac, dmac, self, dst, type, id, seq, data, dlen));
}

/* ---- the bulk stream ---- */

/* Payload bytes [off, off + n) of the stream into `p` (off is a multiple of 4). */
static void pattern(uint8_t *p, uint32_t off, unsigned n)
{
    for (unsigned i = 0; i < n; i += 4) {
        uint32_t w = ((off + i) >> 2) * 2654435761u;
        for (unsigned j = 0; j < 4 && i + j < n; j++)
            p[i + j] = (uint8_t)(w >> (8 * j));
    }
}

/* Whether `p` is payload [off, off + n) of the stream. */
static int is_pattern(const uint8_t *p, uint32_t off, unsigned n)
{
    for (unsigned i = 0; i < n; i += 4) {
        uint32_t w = ((off + i) >> 2) * 2654435761u;
        for (unsigned j = 0; j < 4 && i + j < n; j++)
            if (p[i + j] != (uint8_t)(w >> (8 * j)))
                return 0;
    }
    return 1;
}

/* What the server has taken in so far. */
static struct {
    uint32_t next, frames, bytes, fnv, out_of_order, acks;
    int bad, nak_sent;
    uint32_t dups;
} srv;
static unsigned echoes_answered;

static void send_ack(int nak)
{
    eth(peer_mac, ETH_P_BENCH);
    uint8_t *h = tx + 14;
    memset(h, 0, HDR);
    h[0] = BULK_ACK;
    h[1] = (uint8_t)nak;
    put32(h + 4, srv.next);
    put32(h + 8, srv.bytes);
    put32(h + 12, srv.fnv);
    send(14 + HDR);
    srv.acks++;
}

/* The client's view of acknowledgements. */
static struct { uint32_t acked, fnv, acks; int nak; uint16_t reply_seq; } cli;

/*
 * Handle one received frame, for either role: ARP (learn the peer, answer
 * requests), ICMP echo (answer requests; note replies), bulk DATA (server)
 * and ACK (client).
 */
static void handle(const uint8_t *f, unsigned len)
{
    if (len < 14 || memcmp(f + 6, net.mac, 6) == 0)
        return;
    if (memcmp(f, net.mac, 6) != 0 && memcmp(f, broadcast, 6) != 0)
        return;                                 /* not for us (flooded unicast) */
    uint16_t type = get16(f + 12);
    const uint8_t *a = f + 14;
    if (type == ETH_P_BENCH && len >= 14 + HDR) {
        if (a[0] == BULK_ACK) {
            uint32_t next = get32(a + 4);
            if (next > cli.acked)
                cli.acked = next;
            cli.fnv = get32(a + 12);
            cli.nak |= a[1];
            cli.acks++;
            return;
        }
        if (a[0] != BULK_DATA)
            return;
        uint32_t seq = get32(a + 4), frames = get32(a + 8), n = get16(a + 12);
        if (seq < srv.next && n <= len - 14 - HDR) {
            /* Sent again after a timeout (our ACK, or the frame, was lost): say
             * again where we are. */
            srv.dups++;
            send_ack(0);
            return;
        }
        if (seq != srv.next || n > len - 14 - HDR) {
            srv.out_of_order++;
            if (!srv.nak_sent) {
                send_ack(1);
                srv.nak_sent = 1;
            }
            return;
        }
        srv.frames = frames;
        memcpy(peer_mac, f + 6, 6);             /* ACKs go back to the sender */
        if (!is_pattern(a + HDR, srv.bytes, n))
            srv.bad++;
        srv.fnv = fnv1a(a + HDR, n, srv.fnv);
        srv.bytes += n;
        srv.next++;
        srv.nak_sent = 0;
        if (srv.next % ACK_EVERY == 0 || srv.next == srv.frames)
            send_ack(0);
        return;
    }
    if (type == ETH_P_ARP && len >= 14 + 28 && get16(a) == 1 && get16(a + 2) == ETH_P_IP && a[4] == 6 && a[5] == 4) {
        uint32_t sip = get32(a + 14), tip = get32(a + 24);
        if (sip == peer && tip == self) {
            memcpy(peer_mac, a + 8, 6);
            peer_known = 1;
        }
        if (get16(a + 6) == 1 && tip == self)
            send_arp(2, a + 8, sip);
        return;
    }
    if (type != ETH_P_IP || len < 14 + 28)
        return;
    const uint8_t *ip = f + 14;
    unsigned tot = get16(ip + 2);
    if (ip[0] != 0x45 || ip[9] != 1 || tot < 28 || 14 + tot > len || csum(ip, 20) != 0 || get32(ip + 16) != self)
        return;
    const uint8_t *ic = ip + 20;
    unsigned ilen = tot - 20;
    if (csum(ic, ilen) != 0 || ilen - 8 > 128)
        return;
    if (ic[0] == 8 && ic[1] == 0) {
        send_icmp(f + 6, get32(ip + 12), 0, get16(ic + 4), get16(ic + 6), ic + 8, ilen - 8);
        echoes_answered++;
    } else if (ic[0] == 0 && get32(ip + 12) == peer && get16(ic + 4) == ICMP_ID && ilen == 8 + PING_DATA) {
        cli.reply_seq = get16(ic + 6);
    }
}

/*
 * Handle every frame waiting; if there was none, block until the backend's
 * next event or Xen system time `deadline`. Returns the frames handled.
 */
static unsigned poll_until(uint64_t deadline)
{
    unsigned len, got = 0;
    while ((len = netfront_recv(&net, rx, sizeof rx)) != 0) {
        handle(rx, len);
        got++;
    }
    if (!got && !netfront_rx_ready(&net))
        xen_wait_port_until(net.port, deadline);
    return got;
}

static void poll(void)
{
    poll_until(~0ull);
}

/* ---- the two roles ---- */

static void client(void)
{
    unsigned long pings = xenbus_read_ul("netbench/pings", 1000);
    unsigned long bytes = xenbus_read_ul("netbench/bytes", 4u << 20);
    unsigned long psize = xenbus_read_ul("netbench/frame", 1400);
    CHECK(pings <= 65535 && bytes >= 1 && bytes <= (1ul << 30) && psize >= 16 && psize <= MAX_PAYLOAD && psize % 4 == 0,
          "netbench/pings %lu (<= 65535), bytes %lu (1..2^30), frame %lu (16..%u, a multiple of 4)", pings, bytes, psize, MAX_PAYLOAD);

    while (!peer_known)
        poll();
    inet_print_ip("netbench: peer ", peer);
    inet_print_mac(" at ", peer_mac);
    con_printf("\n");

    uint8_t data[PING_DATA];
    for (unsigned i = 0; i < PING_DATA; i++)
        data[i] = (uint8_t)(0x10 + i);
    con_printf("netbench: ping: %lu round trips\n", pings);
    unsigned timeouts = 0;
    for (unsigned long s = 1; s <= pings; s++) {
        send_icmp(peer_mac, peer, 8, ICMP_ID, (uint16_t)s, data, PING_DATA);
        uint64_t deadline = xen_now_ns() + RTO_NS;
        while (cli.reply_seq != (uint16_t)s) {
            poll_until(deadline);
            if (cli.reply_seq != (uint16_t)s && xen_now_ns() >= deadline) {    /* lost: ask again */
                CHECK(++timeouts < MAX_TIMEOUTS, "ping %lu: no reply after %u tries", s, timeouts);
                send_icmp(peer_mac, peer, 8, ICMP_ID, (uint16_t)s, data, PING_DATA);
                deadline = xen_now_ns() + RTO_NS;
            }
        }
        timeouts = 0;
    }
    con_printf("netbench: ping: %lu replies\n", pings);

    /* Bulk: the checksum first (untimed), then the stream. */
    uint32_t frames = (uint32_t)((bytes + psize - 1) / psize), fnv = FNV1A_INIT;
    for (uint32_t off = 0; off < bytes; off += (uint32_t)psize) {
        unsigned n = bytes - off < psize ? (unsigned)(bytes - off) : (unsigned)psize;
        pattern(tx, off, n);
        fnv = fnv1a(tx, n, fnv);
    }
    con_printf("netbench: bulk: %lu bytes in %u frames of %lu, fnv1a 0x%08x\n", bytes, frames, psize, fnv);
    uint32_t next = 0, resent = 0, progress = 0;
    uint64_t deadline = xen_now_ns() + RTO_NS;
    while (cli.acked < frames) {
        while (next < frames && next - cli.acked < WINDOW) {
            uint32_t off = next * (uint32_t)psize;
            unsigned n = bytes - off < psize ? (unsigned)(bytes - off) : (unsigned)psize;
            eth(peer_mac, ETH_P_BENCH);
            uint8_t *h = tx + 14;
            memset(h, 0, HDR);
            h[0] = BULK_DATA;
            put32(h + 4, next);
            put32(h + 8, frames);
            put16(h + 12, (uint16_t)n);
            pattern(h + HDR, off, n);
            send(14 + HDR + n);
            next++;
        }
        poll_until(deadline);
        if (cli.acked != progress) {            /* the server moved on: a new timeout */
            progress = cli.acked;
            timeouts = 0;
            deadline = xen_now_ns() + RTO_NS;
        } else if (cli.acked < frames && xen_now_ns() >= deadline) {
            /* Nothing acknowledged for RTO_NS: a frame or an ACK was lost and no
             * later frame made the server NAK (the end of the stream). */
            CHECK(++timeouts < MAX_TIMEOUTS, "bulk: no acknowledgement after frame %u for %u timeouts", cli.acked, timeouts);
            cli.nak = 1;
            deadline = xen_now_ns() + RTO_NS;
        }
        if (cli.nak) {                          /* go back to the first frame not acknowledged */
            resent += next - cli.acked;
            next = cli.acked;
            cli.nak = 0;
        }
    }
    CHECK(cli.fnv == fnv, "receiver fnv1a 0x%08x, sent 0x%08x", cli.fnv, fnv);
    con_printf("netbench: bulk: %u frames acked (%u acks, %u resent), receiver fnv1a 0x%08x ok\n", frames, cli.acks, resent, cli.fnv);
}

static void server(void)
{
    srv.fnv = FNV1A_INIT;
    /* Serve until the whole stream is in (its last ACK went out in handle()). */
    while (srv.frames == 0 || srv.next < srv.frames)
        poll();
    /* Linger: if the last ACK is lost, the client sends the end of the stream
     * again after its timeout, and needs an answer (handle() re-ACKs). */
    for (uint64_t quiet = xen_now_ns() + LINGER_NS; xen_now_ns() < quiet;)
        if (poll_until(quiet))
            quiet = xen_now_ns() + LINGER_NS;
    con_printf("netbench: answered %u echo requests\n", echoes_answered);
    CHECK(!srv.bad, "%d frames differ from the pattern", srv.bad);
    con_printf("netbench: received %u frames, %u bytes, fnv1a 0x%08x, pattern ok (%u out of order, %u acks)\n",
               srv.next, srv.bytes, srv.fnv, srv.out_of_order, srv.acks);
}

int main(long hartid, const void *dtb)
{
    (void)hartid;
    char child[32], dir[48], v[32], p[160];
    if (!xen_present())
        xen_absent("netbench");
    CHECK(xen_parse_dt(dtb) == 0, "no /hypervisor node");
    xen_events_init();
    pvcons_init();
    CHECK(gnttab_init() == 0, "grant table setup");
    CHECK(xenbus_first_child("device/vif", child, sizeof child) == 0, "no vif (device/vif is empty)");
    path_join(dir, sizeof dir, "device/vif", child);
    int rc = netfront_init(&net, dir);
    CHECK(rc == 0, "netfront: %s: handshake step %d failed", dir, -rc);

    path_join(p, sizeof p, net.backend, "ip");
    self = xenbus_read(p, v, sizeof v) == 0 ? inet_parse_ip(v) : 0;
    if (!self)
        self = 10u << 24 | (xen.domid & 255);
    peer = (self & ~255u) | (((self & 1) ? self + 1 : self - 1) & 255);
    int is_client = xen.domid & 1;
    if (xenbus_read("netbench/role", v, sizeof v) == 0)
        is_client = strcmp(v, "client") == 0;
    con_printf("netbench: domain %u, %s", xen.domid, is_client ? "client" : "server");
    inet_print_mac(", mac ", net.mac);
    inet_print_ip(", ip ", self);
    inet_print_ip(", peer ", peer);
    con_printf("\n");

    send_arp(1, broadcast, peer);               /* see phase 1 in the file comment */
    if (is_client)
        client();
    else
        server();
    xen_shutdown(SHUTDOWN_poweroff);
}
