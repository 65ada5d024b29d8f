/*
 * pingloop.c - two DomUs on a bridge, one pinging the other for as long as
 * it is told to: the guest pair that `xl save`, `xl restore` and `xl migrate`
 * of a domain with a vif are tested with (test/xen/vif-*.test.ts). The role
 * comes from the kernel command line (xl.cfg cmdline=, /chosen bootargs):
 *
 *   answer                     answer ARP requests (RFC 826) and ICMP echo
 *                              requests (RFC 792) for our address until an
 *                              echo request with the stop id arrives (it is
 *                              answered too), then print
 *                                pingloop: answered N echo requests
 *                              and power off.
 *   ping [count=N] [hold=K]    ARP for the peer (again every WAIT_NS until
 *                              answered), then echo requests seq 1, 2, ...,
 *                              ONE AT A TIME: request k waits for its reply at
 *                              most WAIT_NS (1 s of Xen time); without one by
 *                              then it is lost ("pingloop: seq K lost") and
 *                              request k + 1 goes. A reply is taken only for
 *                              the request outstanding; one for an older seq
 *                              is counted as late. Requests go INTERVAL_NS
 *                              (10 ms) apart at most once a reply came. Every
 *                              100 replies: "pingloop: R replies, L lost".
 *                              It stops after N requests (count=N), or when
 *                              `q` is typed on its console; hold=K: after K
 *                              replies it prints "pingloop: holding at K
 *                              replies" and waits for a typed byte. At the
 *                              end it sends the stop request (up to 10 times,
 *                              WAIT_NS each) and prints
 *                                pingloop: N requests, R replies, L lost, X late
 *                              then powers off (exit 0; 1 if the peer never
 *                              answered the stop).
 * Addresses as netbench.c: the backend's "ip" key, else 10.0.0.<domid>; the
 * peer is our pair in the /24 (.1 <-> .2, ...).
 *
 * With one request outstanding at a time, a peer that is unreachable for T
 * (a migration's downtime) costs at most ceil(T / WAIT_NS) + 1 lost requests:
 * the one outstanding when the outage began, and those sent during it, which
 * are WAIT_NS apart (test/xen/vif-migrate.test.ts asserts this bound).
 *
 * Under QEMU (no hypervisor) it says so and powers off.
 */
#include "pv.h"
#include "inet.h"

#define CHECK(cond, ...) do { if (!(cond)) { con_printf("FAIL: " __VA_ARGS__); con_printf("\n"); xen_shutdown(SHUTDOWN_crash); } } while (0)

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define PING_ID 0x706c                  /* "pl" */
#define STOP_ID 0x7374                  /* "st" */
#define PING_DATA 56
#define WAIT_NS 1000000000ull           /* 1 s: a request without a reply by then is lost */
#define INTERVAL_NS 10000000ull         /* 10 ms between requests */
#define STOP_TRIES 10

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct netfront net;
static uint32_t self, peer;
static int peer_known, answering, stop;
static uint8_t peer_mac[6];
static uint8_t tx[128], rx[2048];
static unsigned long answered;
/* The pinger: the id and seq of the reply last seen. */
static uint16_t reply_id, reply_seq;
static int reply_new;

/* /chosen/bootargs of the device tree, or "" (a flattened tree walk, as xen_parse_dt). */
static const char *bootargs(const void *dtb)
{
    const uint8_t *base = dtb;
#define BE32(p) ((uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 | (p)[3])
    const uint8_t *p = base + BE32(base + 8);
    const char *strings = (const char *)base + BE32(base + 12);
    const uint8_t *end = p + BE32(base + 36);
    int depth = 0, in_chosen = 0;
    while (p < end) {
        uint32_t tok = BE32(p);
        p += 4;
        if (tok == 1) {
            const char *name = (const char *)p;
            depth++;
            in_chosen = depth == 2 && strcmp(name, "chosen") == 0;
            p += (strlen(name) + 4) & ~3UL;
        } else if (tok == 2) {
            depth--;
            in_chosen = 0;
        } else if (tok == 3) {
            uint32_t len = BE32(p);
            const char *name = strings + BE32(p + 4);
            const char *v = (const char *)p + 8;
            p += 8 + ((len + 3) & ~3U);
            if (in_chosen && strcmp(name, "bootargs") == 0)
                return v;
        } else if (tok == 9) {
            break;
        }
    }
    return "";
#undef BE32
}

/* The value of "KEY=" in the command line `args` as a number, or `dflt`. */
static unsigned long arg_ul(const char *args, const char *key, unsigned long dflt)
{
    unsigned klen = strlen(key);
    for (const char *s = args; *s;) {
        while (*s == ' ')
            s++;
        if (strncmp(s, key, klen) == 0 && s[klen] == '=') {
            unsigned long v = 0;
            for (s += klen + 1; *s >= '0' && *s <= '9'; s++)
                v = v * 10 + (unsigned long)(*s - '0');
            return v;
        }
        while (*s && *s != ' ')
            s++;
    }
    return dflt;
}

static void send_frame(unsigned len)
{
    CHECK(netfront_send(&net, tx, len < 60 ? 60 : len) == 0, "no free tx buffer");
}

static void send_arp(uint16_t op, const uint8_t *tmac, uint32_t tip)
{
    memset(tx, 0, sizeof tx);
    send_frame(inet_arp(tx, net.mac, self, op, tmac, tip));
}

static void send_icmp(const uint8_t *dmac, uint32_t dst, uint8_t type, uint16_t id, uint16_t seq, const uint8_t *data, unsigned dlen)
{
    if (dlen > sizeof tx - 42)
        dlen = sizeof tx - 42;
    memset(tx, 0, sizeof tx);
    send_frame(inet_icmp_echo(tx, net.mac, dmac, self, dst, type, id, seq, data, dlen));
}

static void send_request(uint16_t id, uint16_t seq)
{
    uint8_t data[PING_DATA];
    for (unsigned i = 0; i < PING_DATA; i++)
        data[i] = (uint8_t)(0x10 + i);
    send_icmp(peer_mac, peer, 8, id, seq, data, PING_DATA);
}

/* One received frame, either role. */
static void handle(const uint8_t *f, unsigned len)
{
    if (len < 14 || memcmp(f + 6, net.mac, 6) == 0)
        return;
    if (memcmp(f, net.mac, 6) != 0 && memcmp(f, broadcast, 6) != 0)
        return;                                 /* not for us (flooded unicast) */
    uint16_t type = get16(f + 12);
    const uint8_t *a = f + 14;
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
    if (type != ETH_P_IP || len < 14 + 20 + 8)
        return;                                 /* RARP announcements (0x8035) and the rest */
    const uint8_t *ip = f + 14;
    unsigned tot = get16(ip + 2);
    if (ip[0] != 0x45 || ip[9] != 1 || tot < 28 || 14 + tot > len || csum(ip, 20) != 0 || get32(ip + 16) != self)
        return;
    const uint8_t *ic = ip + 20;
    unsigned ilen = tot - 20;
    if (csum(ic, ilen) != 0)
        return;
    if (ic[0] == 8 && ic[1] == 0) {
        send_icmp(f + 6, get32(ip + 12), 0, get16(ic + 4), get16(ic + 6), ic + 8, ilen - 8);
        answered++;
        if (answering && get16(ic + 4) == STOP_ID)
            stop = 1;
    } else if (ic[0] == 0 && get32(ip + 12) == peer && ilen == 8 + PING_DATA) {
        reply_id = get16(ic + 4);
        reply_seq = get16(ic + 6);
        reply_new = 1;
    }
}

/* Handle every frame waiting; if there was none, block until one comes or Xen time `deadline`. */
static void poll_until(uint64_t deadline)
{
    unsigned len, got = 0;
    while ((len = netfront_recv(&net, rx, sizeof rx)) != 0) {
        handle(rx, len);
        got++;
    }
    if (!got && !netfront_rx_ready(&net) && xen_now_ns() < deadline)
        xen_wait_port_until(net.port, deadline);
}

/* Send request (id, seq) and wait for its reply at most WAIT_NS: 1 if it came. Late replies count in *late. */
static int round_trip(uint16_t id, uint16_t seq, unsigned long *late)
{
    send_request(id, seq);
    uint64_t deadline = xen_now_ns() + WAIT_NS;
    for (;;) {
        reply_new = 0;
        poll_until(deadline);
        if (reply_new && reply_id == id && reply_seq == seq)
            return 1;
        if (reply_new && reply_id == PING_ID)
            (*late)++;
        if (xen_now_ns() >= deadline)
            return 0;
    }
}

static void answer(void)
{
    answering = 1;
    while (!stop)
        poll_until(~0ull);
    con_printf("pingloop: answered %lu echo requests\n", answered);
}

static void ping(const char *args)
{
    unsigned long count = arg_ul(args, "count", 0), hold = arg_ul(args, "hold", 0);
    unsigned long sent = 0, replies = 0, lost = 0, late = 0;
    CHECK(count <= 65535, "count=%lu (at most 65535)", count);
    while (!peer_known) {
        send_arp(1, broadcast, peer);
        uint64_t deadline = xen_now_ns() + WAIT_NS;
        while (!peer_known && xen_now_ns() < deadline)
            poll_until(deadline);
    }
    inet_print_ip("pingloop: peer ", peer);
    inet_print_mac(" at ", peer_mac);
    con_printf("\n");
    for (int quit = 0; !quit && (count == 0 || sent < count);) {
        uint64_t next = xen_now_ns() + INTERVAL_NS;
        sent++;
        if (round_trip(PING_ID, (uint16_t)sent, &late)) {
            replies++;
            if (replies % 100 == 0)
                con_printf("pingloop: %lu replies, %lu lost\n", replies, lost);
        } else {
            lost++;
            con_printf("pingloop: seq %lu lost\n", sent);
        }
        if (hold != 0 && replies == hold) {
            hold = 0;
            con_printf("pingloop: holding at %lu replies\n", replies);
            while (pvcons_getc() < 0)
                xen_wait_port(xen.console_port);
        }
        for (int c; (c = pvcons_getc()) >= 0;)
            if (c == 'q')
                quit = 1;
        while (!quit && xen_now_ns() < next)
            poll_until(next);
    }
    int stopped = 0;
    for (unsigned i = 0; i < STOP_TRIES && !stopped; i++)
        stopped = round_trip(STOP_ID, (uint16_t)(i + 1), &late);
    con_printf("pingloop: %lu requests, %lu replies, %lu lost, %lu late\n", sent, replies, lost, late);
    CHECK(stopped, "the peer did not answer the stop request");
}

int main(long hartid, const void *dtb)
{
    (void)hartid;
    char child[32], dir[48], v[32], p[160];
    if (!xen_present())
        xen_absent("pingloop");
    CHECK(xen_parse_dt(dtb) == 0, "no /hypervisor node");
    const char *args = bootargs(dtb);
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
    int pinger = strncmp(args, "ping", 4) == 0 && (args[4] == 0 || args[4] == ' ');
    CHECK(pinger || strcmp(args, "answer") == 0, "cmdline '%s': expected 'answer' or 'ping [count=N] [hold=K]'", args);
    con_printf("pingloop: %s", pinger ? "ping" : "answer");
    inet_print_mac(", mac ", net.mac);
    inet_print_ip(", ip ", self);
    inet_print_ip(", peer ", peer);
    con_printf("\n");
    if (pinger)
        ping(args);
    else
        answer();
    xen_shutdown(SHUTDOWN_poweroff);
}
