/*
 * xenstore.c - a XenStore client over the interface page (io/xs_wire.h):
 * requests into req[], replies and watch events out of rsp[], free-running
 * u32 indices, a notification on the XenStore event channel after each
 * request, and waiting on that channel for the reply.
 */
#include "xen.h"

#define RING 1024
struct xs_page {
    char req[RING];
    char rsp[RING];
    volatile uint32_t req_cons, req_prod, rsp_cons, rsp_prod;
};
#define XS ((struct xs_page *)(xen.xenstore_gfn << 12))
#define XS_WATCH_EVENT 15

struct xs_hdr { uint32_t type, req_id, tx_id, len; };

unsigned xs_watch_events;
char xs_watch_path[128];
static uint32_t next_req_id = 1;

static void notify(void)
{
    struct evtchn_send s = { xen.xenstore_port };
    hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&s, 0);
}

static void put(const void *data, uint32_t len)
{
    const char *d = data;
    for (uint32_t i = 0; i < len; i++) {
        while (XS->req_prod - XS->req_cons >= RING) {   /* full: let the server drain */
            notify();
            xen_wait_port(xen.xenstore_port);
        }
        XS->req[XS->req_prod % RING] = d[i];
        __sync_synchronize();
        XS->req_prod++;
    }
}

/* Copy `len` bytes out of rsp[], waiting for them. */
static void get(void *out, uint32_t len)
{
    char *o = out;
    for (uint32_t i = 0; i < len; i++) {
        while (XS->rsp_prod == XS->rsp_cons)
            xen_wait_port(xen.xenstore_port);
        __sync_synchronize();
        o[i] = XS->rsp[XS->rsp_cons % RING];
        __sync_synchronize();
        XS->rsp_cons++;
    }
}

/* Read one message; watch events are recorded and skipped. */
static int read_reply(uint32_t req_id, char *out, uint32_t max)
{
    for (;;) {
        struct xs_hdr h;
        char body[512];
        get(&h, sizeof h);
        uint32_t n = h.len < sizeof body ? h.len : sizeof body;
        get(body, n);
        for (uint32_t i = n; i < h.len; i++) {          /* drop what does not fit */
            char c;
            get(&c, 1);
        }
        notify();   /* we consumed replies: the server may have more queued */
        if (h.type == XS_WATCH_EVENT) {
            xs_watch_events++;
            uint32_t m = n < sizeof xs_watch_path - 1 ? n : sizeof xs_watch_path - 1;
            memcpy(xs_watch_path, body, m);
            xs_watch_path[m] = 0;                         /* "path\0token\0": keep the path */
            continue;
        }
        if (h.req_id != req_id)
            continue;
        uint32_t m = n < max - 1 ? n : max - 1;
        memcpy(out, body, m);
        out[m] = 0;
        return (int)h.type;
    }
}

int xs_request(uint32_t type, const char *payload, uint32_t len, char *out, uint32_t max)
{
    struct xs_hdr h = { type, next_req_id++, 0, len };
    put(&h, sizeof h);
    put(payload, len);
    notify();
    return read_reply(h.req_id, out, max);
}

void xs_wait_watch_events(unsigned n)
{
    while (xs_watch_events < n) {
        char c;
        struct xs_hdr h;
        /* Only events can arrive now: read one message. */
        get(&h, sizeof h);
        uint32_t m = 0;
        for (uint32_t i = 0; i < h.len; i++) {
            get(&c, 1);
            if (m < sizeof xs_watch_path - 1 && (i == 0 || xs_watch_path[m - 1] != 0))
                xs_watch_path[m++] = c;
        }
        xs_watch_path[m] = 0;
        notify();
        if (h.type == XS_WATCH_EVENT)
            xs_watch_events++;
    }
}
