/*
 * pvcons.c - the PV console frontend (io/console.h): the console page the
 * toolstack reserved (xen.console_gfn, from the device tree) and its event
 * channel (xen.console_port), served by Dom0's console backend.
 *
 *   struct xencons_interface {
 *     char in[1024];  char out[2048];
 *     u32 in_cons, in_prod;      in: Dom0 produces, we consume
 *     u32 out_cons, out_prod;    out: we produce, Dom0 consumes
 *   };
 * Byte i of a ring is at i & (size - 1) (MASK_XENCONS_IDX). We write bytes,
 * a write barrier, then out_prod, and notify once per write. A full ring is
 * handed to Dom0 (notify) and we wait for its event.
 */
#include "xen.h"

struct xencons {
    char in[1024];
    char out[2048];
    volatile uint32_t in_cons, in_prod;
    volatile uint32_t out_cons, out_prod;
};

#define CONS ((struct xencons *)(xen.console_gfn << 12))

static void put(char c)
{
    struct xencons *x = CONS;
    while (x->out_prod - x->out_cons >= sizeof x->out) {
        __sync_synchronize();
        xen_notify(xen.console_port);
        if (x->out_prod - x->out_cons >= sizeof x->out)
            xen_wait_port(xen.console_port);
    }
    x->out[x->out_prod & (sizeof x->out - 1)] = c;
    __sync_synchronize();
    x->out_prod++;
}

/* A console_sink: "\n" goes out as "\r\n", as a serial console driver sends it. */
static void pvcons_write(const char *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (s[i] == '\n')
            put('\r');
        put(s[i]);
    }
    __sync_synchronize();
    xen_notify(xen.console_port);
}

void pvcons_init(void)
{
    xen_console_flush();
    xen_console_sink = pvcons_write;
}

int pvcons_getc(void)
{
    struct xencons *x = CONS;
    if (x->in_cons == x->in_prod)
        return -1;
    __sync_synchronize();
    int c = (unsigned char)x->in[x->in_cons & (sizeof x->in - 1)];
    __sync_synchronize();
    x->in_cons++;
    return c;
}
