/*
 * netfront.c - the network frontend (io/netif.h; the behaviour of Linux's
 * xen-netfront with rx-copy, one queue, no scatter-gather).
 *
 * Handshake: read <dir>/backend, backend-id and mac; wait for the backend's
 * InitWait; grant the tx and rx ring pages; allocate one event channel for
 * both; post NET_RX_BUFS empty pages on the rx ring; write tx-ring-ref,
 * rx-ring-ref, event-channel, request-rx-copy = 1; Connected; wait for the
 * backend's Connected.
 *
 * Buffers are granted once and kept (the backend reaches them with grant
 * copies only, so nothing stays mapped): rx pages writable, tx pages
 * read-only. A frame to send is copied into a free tx page, published with
 * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, and its page is free again when its tx
 * response is consumed. A received frame is copied out of its rx page, which
 * is posted again at once.
 */
#include "pv.h"

_Static_assert(sizeof(struct netif_tx_request) == 12, "netif_tx_request is 12 bytes");
_Static_assert(sizeof(struct netif_rx_response) == 8, "netif_rx_response is 8 bytes");

#define NETIF_RSP_OKAY 0

static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = *s++;
            unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
            if (d > 15)
                return -1;
            v = v * 16 + d;
        }
        mac[i] = (uint8_t)v;
        if (i < 5 && *s++ != ':')
            return -1;
    }
    return *s == 0 ? 0 : -1;
}

static int key(const char *dir, const char *k, char *out, unsigned max)
{
    char p[160];
    path_join(p, sizeof p, dir, k);
    return xenbus_read(p, out, max);
}

static int put(const char *dir, const char *k, unsigned long v)
{
    char p[160];
    path_join(p, sizeof p, dir, k);
    return xenbus_write_ul(p, v);
}

static void post_rx(struct netfront *n, uint16_t id)
{
    struct netif_rx_request r = { id, 0, (uint32_t)n->rx_ref[id] };
    memcpy(ring_slot(&n->rx, n->rx.req_prod_pvt), &r, sizeof r);
    n->rx.req_prod_pvt++;
}

int netfront_init(struct netfront *n, const char *dir)
{
    char v[32], p[160];
    unsigned i;
    for (i = 0; dir[i] && i + 1 < sizeof n->dir; i++)
        n->dir[i] = dir[i];
    n->dir[i] = 0;
    if (key(n->dir, "backend", n->backend, sizeof n->backend) != 0)
        return -1;
    path_join(p, sizeof p, n->dir, "backend-id");
    n->backend_id = (uint16_t)xenbus_read_ul(p, 0);
    if ((key(n->dir, "mac", v, sizeof v) != 0 && key(n->backend, "mac", v, sizeof v) != 0) || parse_mac(v, n->mac) != 0)
        return -2;
    if (xenbus_wait_state(n->backend, XenbusStateInitWait) != 0)
        return -3;

    front_ring_init(&n->tx, n->tx_page, sizeof(struct netif_tx_request));
    front_ring_init(&n->rx, n->rx_page, sizeof(struct netif_rx_request));
    int txr = gnttab_grant(n->backend_id, (uint64_t)n->tx_page >> 12, 0);
    int rxr = gnttab_grant(n->backend_id, (uint64_t)n->rx_page >> 12, 0);
    n->port = xen_alloc_unbound(n->backend_id);
    if (txr < 0 || rxr < 0 || n->port == 0)
        return -4;
    for (i = 0; i < NET_RX_BUFS; i++) {
        n->rx_ref[i] = gnttab_grant(n->backend_id, (uint64_t)n->rxbuf[i] >> 12, 0);
        if (n->rx_ref[i] < 0)
            return -4;
        post_rx(n, (uint16_t)i);
    }
    ring_push_requests(&n->rx);
    for (i = 0; i < NET_TX_BUFS; i++) {
        n->tx_ref[i] = gnttab_grant(n->backend_id, (uint64_t)n->txbuf[i] >> 12, 1);
        n->tx_busy[i] = 0;
        if (n->tx_ref[i] < 0)
            return -4;
    }
    if (put(n->dir, "tx-ring-ref", (unsigned)txr) || put(n->dir, "rx-ring-ref", (unsigned)rxr) ||
        put(n->dir, "event-channel", n->port) || put(n->dir, "request-rx-copy", 1) || put(n->dir, "feature-rx-notify", 1))
        return -5;
    if (xenbus_switch_state(n->dir, XenbusStateConnected) != 0)
        return -6;
    return xenbus_wait_state(n->backend, XenbusStateConnected) == 0 ? 0 : -7;
}

/* Consume tx responses: their pages are free again. */
static void reclaim_tx(struct netfront *n)
{
    while (ring_unconsumed_responses(&n->tx)) {
        struct netif_tx_response r;
        memcpy(&r, ring_slot(&n->tx, n->tx.rsp_cons), sizeof r);
        n->tx.rsp_cons++;
        if (r.id < NET_TX_BUFS)
            n->tx_busy[r.id] = 0;
        if (r.status != NETIF_RSP_OKAY)
            n->tx_errors++;
    }
}

int netfront_send(struct netfront *n, const void *frame, unsigned len)
{
    reclaim_tx(n);
    unsigned id = 0;
    while (id < NET_TX_BUFS && n->tx_busy[id])
        id++;
    if (id == NET_TX_BUFS || len > 4096 || ring_free_requests(&n->tx) == 0)
        return -1;
    n->tx_busy[id] = 1;
    memcpy(n->txbuf[id], frame, len);
    struct netif_tx_request r = { (uint32_t)n->tx_ref[id], 0, 0, (uint16_t)id, (uint16_t)len };
    memcpy(ring_slot(&n->tx, n->tx.req_prod_pvt), &r, sizeof r);
    n->tx.req_prod_pvt++;
    n->tx_packets++;
    if (ring_push_requests(&n->tx)) {
        n->notifies++;
        xen_notify(n->port);
    }
    reclaim_tx(n);
    return 0;
}

unsigned netfront_recv(struct netfront *n, void *buf, unsigned max)
{
    while (ring_unconsumed_responses(&n->rx)) {
        struct netif_rx_response r;
        memcpy(&r, ring_slot(&n->rx, n->rx.rsp_cons), sizeof r);
        n->rx.rsp_cons++;
        if (r.id >= NET_RX_BUFS) {
            n->rx_errors++;
            continue;                       /* a response we never asked for */
        }
        unsigned len = 0;
        if (r.status > 0 && (unsigned)r.offset + (unsigned)r.status <= 4096) {
            len = (unsigned)r.status < max ? (unsigned)r.status : max;
            memcpy(buf, n->rxbuf[r.id] + r.offset, len);
            n->rx_packets++;
        } else {
            n->rx_errors++;
        }
        post_rx(n, r.id);
        if (ring_push_requests(&n->rx)) {
            n->notifies++;
            xen_notify(n->port);
        }
        if (len)
            return len;
    }
    return 0;
}

int netfront_rx_ready(struct netfront *n)
{
    reclaim_tx(n);
    return ring_final_check_responses(&n->rx) != 0;
}
