/*
 * xen.h - a small Xen-style DomU runtime for wasmvisor (docs/xen/hypercalls.md):
 * hypercalls as SBI ecalls (a7 = XEN_SBI_EID, a6 = __HYPERVISOR_*, a0.. = args,
 * result in a0), the /hypervisor device-tree node, the shared-info page and
 * its event upcall, and a XenStore client over the ring (xenstore.c).
 * Numbers and layouts are those of xen/include/public (64-bit).
 */
#ifndef XEN_H
#define XEN_H

#include <stdint.h>
#include "guest.h"

#define XEN_SBI_EID 0x0958454eUL   /* "XEN", vendor SBI extension range */

/* xen.h hypercall numbers */
#define __HYPERVISOR_memory_op        12
#define __HYPERVISOR_set_timer_op     15
#define __HYPERVISOR_xen_version      17
#define __HYPERVISOR_console_io       18
#define __HYPERVISOR_grant_table_op   20
#define __HYPERVISOR_sched_op         29
#define __HYPERVISOR_event_channel_op 32

#define DOMID_SELF 0x7ff0
#define CONSOLEIO_write 0
#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_crash 3
#define XENVER_version 0
#define XENVER_extraversion 1
#define XENVER_get_features 6
#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_current_reservation 3
#define XENMEM_populate_physmap 6
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_send 4
#define EVTCHNOP_alloc_unbound 6
#define VIRQ_TIMER 0
#define GNTTABOP_setup_table 2
#define GNTTABOP_copy 5
#define GNTTABOP_query_size 6
#define GTF_permit_access 1
#define GTF_readonly (1 << 2)
#define GTF_reading (1 << 3)
#define GTF_writing (1 << 4)
#define EVTCHNOP_close 3
#define GNTCOPY_source_gref 1
#define GNTCOPY_dest_gref 2

/* event_channel.h / grant_table.h / memory.h / version.h argument structs (LP64) */
struct evtchn_alloc_unbound { uint16_t dom, remote_dom; uint32_t port; };
struct evtchn_bind_interdomain { uint16_t remote_dom; uint32_t remote_port, local_port; };
struct evtchn_bind_virq { uint32_t virq, vcpu, port; };
struct evtchn_send { uint32_t port; };
struct gnttab_setup_table { uint16_t dom; uint32_t nr_frames; int16_t status; uint64_t frame_list; };
struct gnttab_query_size { uint16_t dom; uint32_t nr_frames, max_nr_frames; int16_t status; };
struct gnttab_copy_ptr { uint64_t u; uint16_t domid, offset; };
struct gnttab_copy { struct gnttab_copy_ptr source, dest; uint16_t len, flags; int16_t status; };
struct grant_entry_v1 { uint16_t flags, domid; uint32_t frame; };
struct xen_memory_reservation { uint64_t extent_start, nr_extents; uint32_t extent_order, mem_flags; uint16_t domid; };
struct xen_feature_info { uint32_t submap_idx, submap; };

/* What the /hypervisor node says. */
struct xen_info {
    uint32_t domid;
    uint64_t shared_info_gfn;
    uint64_t grant_gfn[8];
    int grant_frames;
    uint64_t xenstore_gfn, console_gfn;
    uint32_t xenstore_port, console_port;
};
extern struct xen_info xen;

static inline long hypercall(unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2)
{
    register unsigned long r0 __asm__("a0") = a0;
    register unsigned long r1 __asm__("a1") = a1;
    register unsigned long r2 __asm__("a2") = a2;
    register unsigned long r6 __asm__("a6") = nr;
    register unsigned long r7 __asm__("a7") = XEN_SBI_EID;
    __asm__ volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r6), "r"(r7) : "memory");
    return (long)r0;
}

/** 1 when the SBI implementation offers the hypercall extension (SBI probe_extension). */
int xen_present(void);
/* No Xen underneath (e.g. QEMU): print `who` and a fixed message through the legacy SBI
   console, then power off through SBI SRST. */
void xen_absent(const char *who) __attribute__((noreturn));
/** Reads the /hypervisor node of the DTB into `xen`; 0, or -1 if there is none. */
int xen_parse_dt(const void *dtb);
/** Flushes buffered console output (con_putc buffers a line). */
void xen_console_flush(void);
/**
 * The console: one byte into a line buffer, sent to xen_console_sink at '\n' or when full.
 * con_putc and con_puts are weak aliases of these (a kernel with its own console overrides them).
 */
void xen_con_putc(char c);
void xen_con_puts(const char *s);
/** Installs the trap path (stvec = xen_trap_entry) and enables the event upcall (sie.SEIE, sstatus.SIE). */
void xen_events_init(void);
/** trap.S: saves the caller-saved registers and calls xen_trap_handler. */
void xen_trap_entry(void);
/** The upcall (VS external interrupt) is handled; any other trap prints "FAIL: trap ..." and crashes the domain. */
void xen_trap_handler(uint64_t scause, uint64_t sepc);
/** Waits (SCHEDOP_block) until the upcall handler has seen an event on `port`, and consumes it. */
void xen_wait_port(uint32_t port);
/** Whether the handler saw an event on `port` (consumes it). */
int xen_test_port(uint32_t port);
/** Upcalls taken so far. */
extern volatile unsigned long xen_upcalls;
/**
 * As xen_wait_port, but gives up at Xen system time `deadline` (ns, xen_now_ns):
 * 1 if the event came (and is consumed), 0 at the deadline (~0: none). It
 * sleeps in SCHEDOP_poll on the port with that timeout.
 */
int xen_wait_port_until(uint32_t port, uint64_t deadline);

/** SCHEDOP_shutdown with `reason`; does not return. */
void xen_shutdown(unsigned reason) __attribute__((noreturn));
/** Xen system time in ns (the time CSR at 10 MHz). */
uint64_t xen_now_ns(void);

/* xenstore.c: one request at a time; watch events are counted as they arrive. */
/** Sends request `type` with payload `len` bytes; the reply payload (NUL-terminated) goes to `out`. Returns the reply type. */
int xs_request(uint32_t type, const char *payload, uint32_t len, char *out, uint32_t max);
/** Watch events received and the path of the last one. */
extern unsigned xs_watch_events;
extern char xs_watch_path[128];
/** Wait until at least `n` watch events arrived. */
void xs_wait_watch_events(unsigned n);

/* ---- console output: where con_putc's line buffer goes ---- */
/** Writes `n` bytes of console output; the default is CONSOLEIO_write (console_io). */
extern void (*xen_console_sink)(const char *s, unsigned n);
/** Waits until the handler saw an event on `a` or on `b` (consumed); returns that port (a first). */
uint32_t xen_wait_either(uint32_t a, uint32_t b);
/** Sends an event on `port` (EVTCHNOP_send); 0 or -errno. */
long xen_notify(uint32_t port);
/** Allocates a port for `remote` to bind (EVTCHNOP_alloc_unbound); the port, or 0 on failure. */
uint32_t xen_alloc_unbound(uint16_t remote);

/* ---- gnttab.c: grant references 8..511 of the first grant frame ---- */
/** Activates one grant frame (GNTTABOP_setup_table); 0 or -1. */
int gnttab_init(void);
/** Grants frame `gfn` to `domid` (read-only if `ro`); the ref, or -1 if none is free. */
int gnttab_grant(uint16_t domid, uint64_t gfn, int ro);
/** Ends a grant; 0, or -1 while the other side still maps it (the ref stays granted). */
int gnttab_end(int ref);
/** Refs in use. */
unsigned gnttab_in_use(void);

/* ---- xenbus.c: XenStore as the frontends use it (paths relative to the domain's home or absolute) ---- */
/** Reads `path` into `out` (NUL-terminated); 0, or -1 (ENOENT, EACCES...). */
int xenbus_read(const char *path, char *out, unsigned max);
/** Reads `path` as a decimal number; `dflt` if missing or malformed. */
unsigned long xenbus_read_ul(const char *path, unsigned long dflt);
/** Writes `value` at `path`; 0 or -1. */
int xenbus_write(const char *path, const char *value);
/** Writes decimal `v` at `path`; 0 or -1. */
int xenbus_write_ul(const char *path, unsigned long v);
/** The first child of directory `path` into `out`; 0, or -1 if none. */
int xenbus_first_child(const char *path, char *out, unsigned max);
/** Writes `<dir>/state`. */
int xenbus_switch_state(const char *dir, unsigned state);
/** Reads `<dir>/state` (0, Unknown, when missing). */
unsigned xenbus_state(const char *dir);
/** Waits (a watch on `<dir>/state`) until it is `want`; 0, or -1 if it became Closing/Closed or 64 changes went by. */
int xenbus_wait_state(const char *dir, unsigned want);
/** `a` + "/" + `b` into `out` (truncated to `max`). */
void path_join(char *out, unsigned max, const char *a, const char *b);

#define XenbusStateUnknown 0
#define XenbusStateInitialising 1
#define XenbusStateInitWait 2
#define XenbusStateInitialised 3
#define XenbusStateConnected 4
#define XenbusStateClosing 5
#define XenbusStateClosed 6

#endif
