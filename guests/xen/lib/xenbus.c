/*
 * xenbus.c - XenStore the way a frontend uses it (io/xenbus.h,
 * io/xs_wire.h): reads and writes of its device directory and of the
 * backend's, and waiting for a state with a watch, on top of xs_request
 * (xenstore.c). Relative paths are relative to /local/domain/<domid>.
 */
#include "xen.h"

#define XS_DIRECTORY 1
#define XS_READ 2
#define XS_WATCH 4
#define XS_UNWATCH 5
#define XS_WRITE 11

static char reply[256];

void path_join(char *out, unsigned max, const char *a, const char *b)
{
    unsigned n = 0;
    for (; *a && n + 1 < max; a++)
        out[n++] = *a;
    if (n + 1 < max)
        out[n++] = '/';
    for (; *b && n + 1 < max; b++)
        out[n++] = *b;
    out[n] = 0;
}

/* "a\0b" (plus a final NUL if `nul2`) into buf; returns the length. */
static uint32_t pack(char *buf, unsigned max, const char *a, const char *b, int nul2)
{
    uint32_t n = 0;
    for (; *a && n + 2 < max; a++)
        buf[n++] = *a;
    buf[n++] = 0;
    if (b) {
        for (; *b && n + 2 < max; b++)
            buf[n++] = *b;
        if (nul2)
            buf[n++] = 0;
    }
    return n;
}

int xenbus_read(const char *path, char *out, unsigned max)
{
    char buf[160];
    uint32_t n = pack(buf, sizeof buf, path, 0, 0);
    return xs_request(XS_READ, buf, n, out, max) == XS_READ ? 0 : -1;
}

unsigned long xenbus_read_ul(const char *path, unsigned long dflt)
{
    char v[24];
    if (xenbus_read(path, v, sizeof v) != 0 || !v[0])
        return dflt;
    unsigned long r = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return dflt;
        r = r * 10 + (unsigned long)(*p - '0');
    }
    return r;
}

int xenbus_write(const char *path, const char *value)
{
    char buf[200];
    uint32_t n = pack(buf, sizeof buf, path, value, 0);
    return xs_request(XS_WRITE, buf, n, reply, sizeof reply) == XS_WRITE ? 0 : -1;
}

int xenbus_write_ul(const char *path, unsigned long v)
{
    char d[24];
    int i = sizeof d - 1;
    d[i] = 0;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    return xenbus_write(path, d + i);
}

int xenbus_first_child(const char *path, char *out, unsigned max)
{
    char buf[160];
    uint32_t n = pack(buf, sizeof buf, path, 0, 0);
    if (xs_request(XS_DIRECTORY, buf, n, out, max) != XS_DIRECTORY || !out[0])
        return -1;
    return 0;                           /* children are NUL-separated: out holds the first */
}

int xenbus_switch_state(const char *dir, unsigned state)
{
    char p[160];
    path_join(p, sizeof p, dir, "state");
    return xenbus_write_ul(p, state);
}

unsigned xenbus_state(const char *dir)
{
    char p[160];
    path_join(p, sizeof p, dir, "state");
    return (unsigned)xenbus_read_ul(p, XenbusStateUnknown);
}

int xenbus_wait_state(const char *dir, unsigned want)
{
    char p[160], buf[200];
    path_join(p, sizeof p, dir, "state");
    uint32_t n = pack(buf, sizeof buf, p, "xenbus", 1);
    if (xs_request(XS_WATCH, buf, n, reply, sizeof reply) != XS_WATCH)
        return -1;
    int rc = -1;
    for (int changes = 0; changes < 64; changes++) {
        unsigned events = xs_watch_events;
        unsigned s = xenbus_state(dir);
        if (s == want) {
            rc = 0;
            break;
        }
        if (s == XenbusStateClosing || s == XenbusStateClosed)
            break;
        if (xs_watch_events == events)
            xs_wait_watch_events(events + 1);
    }
    xs_request(XS_UNWATCH, buf, n, reply, sizeof reply);
    return rc;
}
