/*
 * ping.c - just enough IPv4 over netfront to ping a peer and be pinged:
 * ARP (RFC 826) requests and replies, ICMP echo request and reply (RFC 792)
 * in IPv4 (RFC 791) without options or fragments. Frames are Ethernet II;
 * every frame we send is padded to the 60-byte minimum, as a NIC pads it.
 *
 *   ARP (28 bytes after the Ethernet header):
 *     0 htype 1   2 ptype 0x0800   4 hlen 6   5 plen 4   6 op (1 request, 2 reply)
 *     8 sender MAC  14 sender IP  18 target MAC  24 target IP
 *   IPv4: 0 0x45  2 total length  4 id  6 flags DF  8 ttl 64  9 proto 1
 *     10 header checksum  12 source  16 destination
 *   ICMP: 0 type (8 request, 0 reply)  1 code 0  2 checksum  4 id  6 seq  8 data
 *
 * The loop: send (ARP request until the peer's MAC is known, then echo
 * requests); arm set_timer_op for 10 ms; handle every frame received; block
 * until a frame or the timer (VIRQ_TIMER) arrives; on the timer, send again.
 */
#include "pv.h"
#include "inet.h"

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ICMP_ID 0x7076                  /* "pv" */
#define PING_DATA 56
#define RETRANSMIT_NS 10000000UL        /* 10 ms */
/* Give up after this many timer expiries (60 s of Xen time). With deterministic
 * time a blocked domain's clock jumps to its timer, so expiries cost
 * instructions, not waiting: the bound must cover a peer that is still
 * booting (a few million of our instructions). */
#define MAX_TIMEOUTS 6000

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

uint32_t fnv1a(const void *p, unsigned long n, uint32_t h)
{
    const uint8_t *b = p;
    for (unsigned long i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}


struct ping {
    struct netfront *n;
    uint32_t self, peer;
    int peer_known, got_reply, answered;
    uint16_t seq;
    struct ping_result *r;
    uint8_t frame[128];
};

static void send_arp(struct ping *p, uint16_t op, const uint8_t *tmac, uint32_t tip)
{
    memset(p->frame, 0, sizeof p->frame);
    inet_arp(p->frame, p->n->mac, p->self, op, tmac, tip);
    netfront_send(p->n, p->frame, 60);
}

/* An echo request (type 8) or reply (type 0) with `data`. */
static void send_icmp(struct ping *p, const uint8_t *dmac, uint32_t dst, uint8_t type, uint16_t id, uint16_t seq, const uint8_t *data, unsigned dlen)
{
    if (dlen > 128 - 42)
        dlen = 128 - 42;
    memset(p->frame, 0, sizeof p->frame);
    unsigned len = inet_icmp_echo(p->frame, p->n->mac, dmac, p->self, dst, type, id, seq, data, dlen);
    netfront_send(p->n, p->frame, len < 60 ? 60 : len);
}

static void send_request(struct ping *p)
{
    if (!p->peer_known) {
        send_arp(p, 1, broadcast, p->peer);
        p->r->arp_sent++;
        return;
    }
    uint8_t data[PING_DATA];
    for (unsigned i = 0; i < PING_DATA; i++)
        data[i] = (uint8_t)(0x10 + i);
    send_icmp(p, p->r->peer_mac, p->peer, 8, ICMP_ID, ++p->seq, data, PING_DATA);
    p->r->echo_sent++;
}

static void handle(struct ping *p, const uint8_t *f, unsigned len)
{
    if (len < 14 || memcmp(f + 6, p->n->mac, 6) == 0)
        return;
    if (memcmp(f, p->n->mac, 6) != 0 && memcmp(f, broadcast, 6) != 0)
        return;                                 /* not for us (flooded unicast) */
    uint16_t type = get16(f + 12);
    const uint8_t *a = f + 14;
    if (type == ETH_P_ARP && len >= 14 + 28 && get16(a) == 1 && get16(a + 2) == ETH_P_IP && a[4] == 6 && a[5] == 4) {
        uint16_t op = get16(a + 6);
        uint32_t sip = get32(a + 14), tip = get32(a + 24);
        if (sip == p->peer && tip == p->self) {  /* the peer's MAC, from its request or its reply */
            memcpy(p->r->peer_mac, a + 8, 6);
            if (!p->peer_known) {
                p->peer_known = 1;
                if (!p->got_reply)
                    send_request(p);            /* the first echo request, at once */
            }
        }
        if (op == 1 && tip == p->self) {
            send_arp(p, 2, a + 8, sip);
            p->r->arp_answered++;
        }
        return;
    }
    if (type != ETH_P_IP || len < 14 + 20 + 8)
        return;
    const uint8_t *ip = f + 14;
    unsigned tot = get16(ip + 2);
    if (ip[0] != 0x45 || ip[9] != 1 || tot < 28 || 14 + tot > len || csum(ip, 20) != 0 || get32(ip + 16) != p->self)
        return;
    const uint8_t *ic = ip + 20;
    unsigned ilen = tot - 20;
    if (csum(ic, ilen) != 0)
        return;
    uint32_t src = get32(ip + 12);
    if (ic[0] == 8 && ic[1] == 0) {
        send_icmp(p, f + 6, src, 0, get16(ic + 4), get16(ic + 6), ic + 8, ilen - 8);
        p->r->echo_answered++;
        if (src == p->peer)
            p->answered = 1;
    } else if (ic[0] == 0 && src == p->peer && get16(ic + 4) == ICMP_ID && ilen == 8 + PING_DATA) {
        for (unsigned i = 0; i < PING_DATA; i++)
            if (ic[8 + i] != (uint8_t)(0x10 + i))
                return;
        p->r->echo_replies++;
        p->got_reply = 1;
    }
}

int ping_run(struct netfront *n, uint32_t self, uint32_t peer, struct ping_result *r)
{
    static struct ping p;
    static uint8_t buf[2048];
    memset(&p, 0, sizeof p);
    memset(r, 0, sizeof *r);
    p.n = n;
    p.self = self;
    p.peer = peer;
    p.r = r;
    struct evtchn_bind_virq v = { VIRQ_TIMER, 0, 0 };
    if (hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, (unsigned long)&v, 0) != 0)
        return -1;
    send_request(&p);
    hypercall(__HYPERVISOR_set_timer_op, xen_now_ns() + RETRANSMIT_NS, 0, 0);
    int rc = -1;
    for (;;) {
        unsigned len;
        while ((len = netfront_recv(n, buf, sizeof buf)) != 0)
            handle(&p, buf, len);
        if (p.got_reply && p.answered) {
            rc = 0;
            break;
        }
        if (netfront_rx_ready(n))
            continue;
        if (xen_wait_either(n->port, v.port) == v.port) {
            if (++r->timeouts > MAX_TIMEOUTS)
                break;
            if (!p.got_reply)
                send_request(&p);
            hypercall(__HYPERVISOR_set_timer_op, xen_now_ns() + RETRANSMIT_NS, 0, 0);
        }
    }
    hypercall(__HYPERVISOR_set_timer_op, 0, 0, 0);
    struct { uint32_t port; } c = { v.port };
    hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_close, (unsigned long)&c, 0);
    return rc;
}

uint32_t inet_parse_ip(const char *s)
{
    uint32_t ip = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 3)
            v = v * 10 + (unsigned)(*s++ - '0'), digits++;
        if (!digits || v > 255 || (i < 3 && *s++ != '.'))
            return 0;
        ip = ip << 8 | v;
    }
    return *s ? 0 : ip;
}

void inet_print_ip(const char *label, uint32_t ip)
{
    con_printf("%s%u.%u.%u.%u", label, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

void inet_print_mac(const char *label, const uint8_t *m)
{
    con_printf("%s%02x:%02x:%02x:%02x:%02x:%02x", label, m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* The Ethernet II header: destination, source, EtherType. */
static void inet_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, type);
}

unsigned inet_arp(uint8_t *f, const uint8_t *smac, uint32_t sip, uint16_t op, const uint8_t *tmac, uint32_t tip)
{
    inet_eth(f, op == 1 ? broadcast : tmac, smac, ETH_P_ARP);
    uint8_t *a = f + 14;
    memset(a, 0, 28);
    put16(a, 1);
    put16(a + 2, ETH_P_IP);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, smac, 6);
    put32(a + 14, sip);
    if (op == 2)
        memcpy(a + 18, tmac, 6);
    put32(a + 24, tip);
    return 14 + 28;
}

unsigned inet_icmp_echo(uint8_t *f, const uint8_t *smac, const uint8_t *dmac, uint32_t src, uint32_t dst, uint8_t type,
                        uint16_t id, uint16_t seq, const uint8_t *data, unsigned dlen)
{
    inet_eth(f, dmac, smac, ETH_P_IP);
    uint8_t *ip = f + 14, *ic = ip + 20;
    memset(ip, 0, 28);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(28 + dlen));
    put16(ip + 4, seq);
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 1;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, csum(ip, 20));
    ic[0] = type;
    put16(ic + 4, id);
    put16(ic + 6, seq);
    memcpy(ic + 8, data, dlen);
    put16(ic + 2, csum(ic, 8 + dlen));
    return 14 + 28 + dlen;
}
