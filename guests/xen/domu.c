/*
 * domu.c - a Xen-style DomU that exercises wasmvisor's hypervisor interface
 * end to end (docs/xen/hypercalls.md): it finds its pages in the /hypervisor
 * device-tree node, prints with console_io, sets up its grant table and copies
 * through a grant, sends an event to itself, arms the one-shot timer, talks to
 * XenStore over the ring (write, read back, watch, watch event through the
 * event upcall), balloons pages out and back, and powers off with
 * SCHEDOP_shutdown. Any failed check prints "FAIL" and crashes the domain
 * (exit code 1). Under QEMU, with no hypervisor, it says so and powers off.
 *
 * The guest checks what it can know by itself (Xen's public headers, its device
 * tree, what it wrote): its printed values are not taken on trust from a
 * recording (test/xen/domu.test.ts checks the rest from Dom0's side).
 */
#include "xen.h"

#define CHECK(cond, ...) do { if (!(cond)) { con_printf("FAIL: " __VA_ARGS__); con_printf("\n"); xen_shutdown(SHUTDOWN_crash); } } while (0)

static uint8_t pages[6][4096] __attribute__((aligned(4096)));
static char reply[256];

static long evtchn_op(int cmd, void *arg) { return hypercall(__HYPERVISOR_event_channel_op, cmd, (unsigned long)arg, 0); }
static long gnttab_op(int cmd, void *arg, unsigned n) { return hypercall(__HYPERVISOR_grant_table_op, cmd, (unsigned long)arg, n); }
static long memory_op(int cmd, void *arg) { return hypercall(__HYPERVISOR_memory_op, cmd, (unsigned long)arg, 0); }

#define XENFEAT_auto_translated_physmap 2  /* xen/include/public/features.h */
#define XENFEAT_hvm_callback_vector     8

static unsigned long to_ul(const char *s)
{
    unsigned long v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (unsigned long)(*s - '0');
    return *s ? ~0ul : v;
}

static void test_version(void)
{
    char extra[16];
    long v = hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0);
    CHECK(hypercall(__HYPERVISOR_xen_version, XENVER_extraversion, (unsigned long)extra, 0) == 0, "extraversion");
    struct xen_feature_info fi = { 0, 0 };
    CHECK(hypercall(__HYPERVISOR_xen_version, XENVER_get_features, (unsigned long)&fi, 0) == 0, "get_features");
    /* this guest hands the hypervisor guest frame numbers and takes its upcalls through a vector */
    CHECK(v >> 16 == 4 && extra[0] == '.', "version %ld.%ld%s", v >> 16, v & 0xffff, extra);
    CHECK((fi.submap >> XENFEAT_auto_translated_physmap & 1) && (fi.submap >> XENFEAT_hvm_callback_vector & 1), "features 0x%x", fi.submap);
    CHECK(xen.domid != 0 && xen.domid < 0x7ff0, "domid %u is not a DomU's", xen.domid); /* DOMID_FIRST_RESERVED */
    con_printf("domu: Xen %ld.%ld%s, features 0x%x, domid %u\n", v >> 16, v & 0xffff, extra, fi.submap, xen.domid);
}

static void test_grants(void)
{
    struct gnttab_query_size q = { DOMID_SELF, 0, 0, 0 };
    CHECK(gnttab_op(GNTTABOP_query_size, &q, 1) == 0 && q.status == 0, "query_size");
    CHECK(q.nr_frames >= 1 && q.max_nr_frames >= 2 && q.nr_frames <= q.max_nr_frames, "query_size: %u of %u frames", q.nr_frames, q.max_nr_frames);
    static uint64_t frames[2];
    struct gnttab_setup_table st = { DOMID_SELF, 2, 0, (uint64_t)frames };
    CHECK(gnttab_op(GNTTABOP_setup_table, &st, 1) == 0 && st.status == 0, "setup_table %d", st.status);
    CHECK(frames[0] == xen.grant_gfn[0] && frames[1] == xen.grant_gfn[1], "grant frames");
    con_printf("grant: table %u of %u frames, now 2 at gfn 0x%lx\n", q.nr_frames, q.max_nr_frames, (unsigned long)frames[0]);

    /* Grant page 0 to ourselves (read-only) and copy it into page 1 through the grant. */
    volatile struct grant_entry_v1 *gt = (struct grant_entry_v1 *)(frames[0] << 12);
    for (int i = 0; i < 64; i++)
        pages[0][i] = (uint8_t)(i * 7 + 1);
    gt[8].domid = (uint16_t)xen.domid;
    gt[8].frame = (uint32_t)((uint64_t)pages[0] >> 12);
    __sync_synchronize();
    gt[8].flags = GTF_permit_access | GTF_readonly;
    struct gnttab_copy c = { { 8, DOMID_SELF, 0 }, { (uint64_t)pages[1] >> 12, DOMID_SELF, 0 }, 64, GNTCOPY_source_gref, 0 };
    c.source.domid = (uint16_t)xen.domid;
    CHECK(gnttab_op(GNTTABOP_copy, &c, 1) == 0 && c.status == 0, "copy from grant: %d", c.status);
    CHECK(memcmp(pages[0], pages[1], 64) == 0, "copied bytes");
    /* Copying INTO a read-only grant is refused (GNTST_general_error). */
    struct gnttab_copy w = { { (uint64_t)pages[1] >> 12, DOMID_SELF, 0 }, { 8, (uint16_t)xen.domid, 0 }, 64, GNTCOPY_dest_gref, 0 };
    CHECK(gnttab_op(GNTTABOP_copy, &w, 1) == 0 && w.status == -1, "copy into read-only grant: %d", w.status);
    gt[8].flags = 0;
    con_printf("grant: copy through ref 8 ok, write to read-only grant refused (%d)\n", w.status);
}

static void test_events(void)
{
    struct evtchn_alloc_unbound a = { DOMID_SELF, DOMID_SELF, 0 };
    CHECK(evtchn_op(EVTCHNOP_alloc_unbound, &a) == 0, "alloc_unbound");
    struct evtchn_bind_interdomain b = { DOMID_SELF, a.port, 0 };
    CHECK(evtchn_op(EVTCHNOP_bind_interdomain, &b) == 0, "bind_interdomain");
    xen_wait_port(b.local_port);                 /* binding marks the new port pending */
    struct evtchn_send s = { b.local_port };
    CHECK(evtchn_op(EVTCHNOP_send, &s) == 0, "send");
    xen_wait_port(a.port);
    CHECK(a.port != b.local_port && a.port != xen.xenstore_port && a.port != xen.console_port &&
          b.local_port != xen.xenstore_port && b.local_port != xen.console_port, "ports %u %u", a.port, b.local_port);
    con_printf("evtchn: loopback %u <-> %u, event received on %u\n", a.port, b.local_port, a.port);

    struct evtchn_bind_virq v = { VIRQ_TIMER, 0, 0 };
    CHECK(evtchn_op(EVTCHNOP_bind_virq, &v) == 0, "bind_virq");
    uint64_t deadline = xen_now_ns() + 2000000;
    CHECK(hypercall(__HYPERVISOR_set_timer_op, deadline, 0, 0) == 0, "set_timer_op");
    xen_wait_port(v.port);
    /* VIRQ_TIMER fires when system time passes the deadline, not before */
    uint64_t now = xen_now_ns();
    CHECK(now >= deadline, "timer fired %lu ns early", (unsigned long)(deadline - now));
    con_printf("timer: VIRQ_TIMER on port %u after set_timer_op(+2 ms)\n", v.port);
}

static int xs(uint32_t type, const char *a, const char *b)
{
    char buf[200];
    uint32_t n = 0;
    for (const char *p = a; *p; p++) buf[n++] = *p;
    buf[n++] = 0;
    if (b) {
        for (const char *p = b; *p; p++) buf[n++] = *p;
        if (type == 4) buf[n++] = 0;      /* XS_WATCH: "path\0token\0" */
    }
    return xs_request(type, buf, n, reply, sizeof reply);
}

#define XS_READ 2
#define XS_WATCH 4
#define XS_WRITE 11
#define XS_ERROR 16

static void test_xenstore(void)
{
    CHECK(xs(XS_READ, "name", 0) == XS_READ, "read name: %s", reply);
    con_printf("xenstore: name = %s\n", reply);
    CHECK(xs(XS_READ, "console/port", 0) == XS_READ, "read console/port");
    CHECK(to_ul(reply) == xen.console_port, "console/port %s, DT says %u", reply, xen.console_port);
    con_printf("xenstore: console/port = %s (DT says %u)\n", reply, xen.console_port);
    CHECK(xs(XS_WRITE, "data/greeting", "hello from DomU") == XS_WRITE, "write: %s", reply);
    CHECK(xs(XS_READ, "data/greeting", 0) == XS_READ && strcmp(reply, "hello from DomU") == 0, "read back: %s", reply);
    con_printf("xenstore: data/greeting = %s\n", reply);
    /* a domain may not write its own name (docs/misc/xenstore-paths: read-only to the guest) */
    CHECK(xs(XS_WRITE, "name", "evil") == XS_ERROR && strcmp(reply, "EACCES") == 0, "write to name: %s", reply);
    con_printf("xenstore: write to name refused: %s\n", reply);
    CHECK(xs(XS_WATCH, "data/greeting", "tok") == XS_WATCH, "watch: %s", reply);
    xs_wait_watch_events(1);                      /* the initial event */
    CHECK(xs(XS_WRITE, "data/greeting", "changed") == XS_WRITE, "write 2");
    xs_wait_watch_events(2);
    /* one event when the watch is set (the protocol fires it at once), one for the write */
    CHECK(xs_watch_events == 2 && strcmp(xs_watch_path, "data/greeting") == 0, "watch events %u for %s", xs_watch_events, xs_watch_path);
    con_printf("xenstore: watch event %u for %s\n", xs_watch_events, xs_watch_path);
}

static void test_balloon(void)
{
    uint16_t self = DOMID_SELF;
    long before = memory_op(XENMEM_current_reservation, &self);
    static uint64_t gfns[4];
    for (int i = 0; i < 4; i++) {
        gfns[i] = (uint64_t)pages[2 + i] >> 12;
        pages[2 + i][100] = 0x5a;
    }
    struct xen_memory_reservation r = { (uint64_t)gfns, 4, 0, 0, DOMID_SELF };
    long out = memory_op(XENMEM_decrease_reservation, &r);
    long during = memory_op(XENMEM_current_reservation, &self);
    long in = memory_op(XENMEM_populate_physmap, &r);
    long after = memory_op(XENMEM_current_reservation, &self);
    CHECK(out == 4 && in == 4 && during == before - 4 && after == before, "balloon %ld %ld", out, in);
    for (int i = 0; i < 4; i++)
        CHECK(pages[2 + i][100] == 0, "page %d not fresh", i);
    con_printf("balloon: %ld pages, 4 out -> %ld, 4 back -> %ld, back zeroed\n", before, during, after);
}

int main(long hartid, const void *dtb)
{
    (void)hartid;
    if (!xen_present())
        xen_absent("domu");
    CHECK(xen_parse_dt(dtb) == 0, "no /hypervisor node");
    xen_events_init();
    test_version();
    con_printf("domu: shared info gfn 0x%lx, xenstore gfn 0x%lx port %u, console gfn 0x%lx port %u\n",
               (unsigned long)xen.shared_info_gfn, (unsigned long)xen.xenstore_gfn, xen.xenstore_port,
               (unsigned long)xen.console_gfn, xen.console_port);
    test_grants();
    test_events();
    test_xenstore();
    test_balloon();
    con_printf("domu: all tests passed (%lu upcalls); powering off\n", xen_upcalls);
    xen_shutdown(SHUTDOWN_poweroff);
}
