/*
 * xen.c - the DomU side of wasmvisor's hypervisor interface: console_io as
 * the console, the /hypervisor device-tree node, the event upcall and waiting
 * for events (docs/xen/hypercalls.md).
 */
#include "xen.h"

struct xen_info xen;
volatile unsigned long xen_upcalls;
/* Ports 0..255 the upcall handler has seen pending (consumed by xen_test_port). */
static volatile uint64_t seen[4];

/* ---- console: a line buffer written with CONSOLEIO_write ---- */

static char line[256];
static unsigned line_len;

static void console_io_write(const char *s, unsigned n)
{
    hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, n, (unsigned long)s);
}

void (*xen_console_sink)(const char *s, unsigned n) = console_io_write;

void xen_console_flush(void)
{
    if (line_len > 0)
        xen_console_sink(line, line_len);
    line_len = 0;
}

void xen_con_putc(char c)
{
    line[line_len++] = c;
    if (c == '\n' || line_len == sizeof line)
        xen_console_flush();
}

void xen_con_puts(const char *s)
{
    while (*s)
        xen_con_putc(*s++);
}

/* The DomU programs' con_putc/con_puts (printf.c's output). Weak, so a kernel
 * with a console of its own (minikernel: SBI) keeps its con_putc and forwards
 * to xen_con_putc only while it runs as a DomU. */
void con_putc(char c) __attribute__((weak, alias("xen_con_putc")));
void con_puts(const char *s) __attribute__((weak, alias("xen_con_puts")));

/* ---- is there a hypervisor? ---- */

int xen_present(void)
{
    register unsigned long a0 __asm__("a0") = XEN_SBI_EID;
    register unsigned long a1 __asm__("a1");
    register unsigned long a6 __asm__("a6") = 3;     /* BASE probe_extension */
    register unsigned long a7 __asm__("a7") = 0x10;
    __asm__ volatile("ecall" : "+r"(a0), "=r"(a1) : "r"(a6), "r"(a7) : "memory");
    return a0 == 0 && a1 != 0;
}

/* ---- the device tree (DT spec v0.4 §5: big-endian cells, 4-byte tokens) ---- */

static uint32_t be32(const void *p)
{
    const uint8_t *b = p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static uint64_t be64(const void *p)
{
    return ((uint64_t)be32(p) << 32) | be32((const uint8_t *)p + 4);
}

int xen_parse_dt(const void *dtb)
{
    const uint8_t *base = dtb;
    if (be32(base) != 0xd00dfeed)
        return -1;
    const uint8_t *p = base + be32(base + 8);
    const char *strings = (const char *)base + be32(base + 12);
    const uint8_t *end = p + be32(base + 36);
    int depth = 0, in_hv = 0, found = 0;
    while (p < end) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == 1) {                               /* FDT_BEGIN_NODE */
            const char *name = (const char *)p;
            depth++;
            in_hv = depth == 2 && strcmp(name, "hypervisor") == 0;
            p += (strlen(name) + 4) & ~3UL;
        } else if (tok == 2) {                        /* FDT_END_NODE */
            depth--;
            in_hv = 0;
        } else if (tok == 3) {                        /* FDT_PROP */
            uint32_t len = be32(p), nameoff = be32(p + 4);
            const uint8_t *v = p + 8;
            const char *name = strings + nameoff;
            p += 8 + ((len + 3) & ~3U);
            if (!in_hv)
                continue;
            if (strcmp(name, "compatible") == 0)
                found = strcmp((const char *)v, "xen,xen-wasmvisor") == 0;
            else if (strcmp(name, "xen,domid") == 0)
                xen.domid = be32(v);
            else if (strcmp(name, "xen,shared-info-gfn") == 0)
                xen.shared_info_gfn = be64(v);
            else if (strcmp(name, "xen,grant-frames") == 0) {
                xen.grant_frames = 0;
                for (uint32_t i = 0; i < len / 8 && i < 8; i++)
                    xen.grant_gfn[xen.grant_frames++] = be64(v + 8 * i);
            } else if (strcmp(name, "xen,xenstore-gfn") == 0)
                xen.xenstore_gfn = be64(v);
            else if (strcmp(name, "xen,xenstore-evtchn") == 0)
                xen.xenstore_port = be32(v);
            else if (strcmp(name, "xen,console-gfn") == 0)
                xen.console_gfn = be64(v);
            else if (strcmp(name, "xen,console-evtchn") == 0)
                xen.console_port = be32(v);
        } else if (tok == 9) {                        /* FDT_END */
            break;
        }                                             /* FDT_NOP (4): nothing */
    }
    return found ? 0 : -1;
}

/* ---- events ---- */

/* struct shared_info (64-bit): vcpu_info[0] at 0 (upcall_pending +0,
 * upcall_mask +1, pending_sel +8), evtchn_pending[64] at 0x800, evtchn_mask[64]
 * at 0xa00. Our RAM is identity-mapped (no paging), so gpa = address. */
#define SI ((volatile uint8_t *)(xen.shared_info_gfn << 12))
#define SI_PENDING_SEL ((volatile uint64_t *)(SI + 8))
#define SI_PENDING ((volatile uint64_t *)(SI + 0x800))
#define SI_MASK ((volatile uint64_t *)(SI + 0xa00))

/* The upcall (VS external interrupt): clear evtchn_upcall_pending, take the
 * selector, then each word's pending and unmasked bits (2-level ABI, as
 * Linux's xen_evtchn_do_upcall). Then any hypercall drops the interrupt line,
 * which follows upcall_pending (docs/xen/hypercalls.md, "Upcalls"). */
static void xen_upcall(void)
{
    xen_upcalls++;
    SI[0] = 0;
    __sync_synchronize();
    uint64_t sel = __atomic_exchange_n(SI_PENDING_SEL, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        unsigned w = 0;
        while (!(sel & (1UL << w)))                   /* lowest set bit (no libgcc ctz) */
            w++;
        sel &= sel - 1;
        uint64_t bits = SI_PENDING[w] & ~SI_MASK[w];
        __atomic_fetch_and(&SI_PENDING[w], ~bits, __ATOMIC_SEQ_CST);
        if (w < 4)
            __atomic_fetch_or(&seen[w], bits, __ATOMIC_SEQ_CST);
    }
    hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0);
}

void xen_trap_handler(uint64_t scause, uint64_t sepc)
{
    if (scause == ((1UL << 63) | 9)) {
        xen_upcall();
        return;
    }
    con_printf("FAIL: trap scause=%lx sepc=%lx\n", (unsigned long)scause, (unsigned long)sepc);
    xen_shutdown(SHUTDOWN_crash);
}

void xen_events_init(void)
{
    __asm__ volatile("csrw stvec, %0" :: "r"(xen_trap_entry));
    __asm__ volatile("csrs sie, %0" :: "r"(1UL << 9));     /* SEIE */
    __asm__ volatile("csrs sstatus, %0" :: "r"(1UL << 1)); /* SIE */
}

int xen_test_port(uint32_t port)
{
    uint64_t bit = 1UL << (port % 64);
    if (port >= 256 || !(seen[port / 64] & bit))
        return 0;
    __atomic_fetch_and(&seen[port / 64], ~bit, __ATOMIC_SEQ_CST);
    return 1;
}

void xen_wait_port(uint32_t port)
{
    for (;;) {
        /* Check and block with SIE off: an event after the check still ends
         * the block (it sees the pending upcall), and is taken once SIE is on. */
        __asm__ volatile("csrc sstatus, %0" :: "r"(1UL << 1));
        int got = xen_test_port(port);
        if (!got)
            hypercall(__HYPERVISOR_sched_op, SCHEDOP_block, 0, 0);
        __asm__ volatile("csrs sstatus, %0" :: "r"(1UL << 1));
        if (got)
            return;
    }
}

int xen_wait_port_until(uint32_t port, uint64_t deadline)
{
    /* public/sched.h struct sched_poll (64-bit): the ports handle, nr_ports, timeout. */
    struct { uint64_t ports; uint32_t nr_ports, pad; uint64_t timeout; } sp;
    static uint32_t polled;
    for (;;) {
        /* As xen_wait_port: SIE off across the check and the poll. A pending
         * port or a deliverable upcall ends the poll at once; the upcall is
         * then taken when SIE is back on, and the loop looks again. */
        __asm__ volatile("csrc sstatus, %0" :: "r"(1UL << 1));
        int got = xen_test_port(port), late = !got && xen_now_ns() >= deadline;
        if (!got && !late) {
            polled = port;
            sp.ports = (uint64_t)(uintptr_t)&polled;
            sp.nr_ports = 1;
            sp.pad = 0;
            sp.timeout = deadline == ~0ull ? 0 : deadline;   /* 0: no timeout (Xen's s_time_t is signed) */
            hypercall(__HYPERVISOR_sched_op, SCHEDOP_poll, (unsigned long)&sp, 0);
        }
        __asm__ volatile("csrs sstatus, %0" :: "r"(1UL << 1));
        if (got || late)
            return got;
    }
}

uint32_t xen_wait_either(uint32_t a, uint32_t b)
{
    for (;;) {
        __asm__ volatile("csrc sstatus, %0" :: "r"(1UL << 1));
        uint32_t got = xen_test_port(a) ? a : xen_test_port(b) ? b : 0;
        if (!got)
            hypercall(__HYPERVISOR_sched_op, SCHEDOP_block, 0, 0);
        __asm__ volatile("csrs sstatus, %0" :: "r"(1UL << 1));
        if (got)
            return got;
    }
}

long xen_notify(uint32_t port)
{
    struct evtchn_send s = { port };
    return hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&s, 0);
}

uint32_t xen_alloc_unbound(uint16_t remote)
{
    struct evtchn_alloc_unbound a = { DOMID_SELF, remote, 0 };
    return hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, (unsigned long)&a, 0) == 0 ? a.port : 0;
}

void xen_shutdown(unsigned reason)
{
    static uint32_t r;
    xen_console_flush();
    r = reason;
    hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&r, 0);
    for (;;)
        __asm__ volatile("wfi");
}

uint64_t xen_now_ns(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t * 100;
}

static void sbi_legacy_putc(char c)
{
    register unsigned long a0 __asm__("a0") = (unsigned char)c;
    register unsigned long a7 __asm__("a7") = 1;            /* legacy console_putchar */
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
}

void xen_absent(const char *who)
{
    for (const char *s = who; *s; s++)
        sbi_legacy_putc(*s);
    for (const char *s = ": no Xen hypercall interface (SBI extension 0x0958454e); powering off\n"; *s; s++)
        sbi_legacy_putc(*s);
    register unsigned long a0 __asm__("a0") = 0, a1 __asm__("a1") = 0;
    register unsigned long a6 __asm__("a6") = 0, a7 __asm__("a7") = 0x53525354; /* SRST shutdown */
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
    for (;;)
        __asm__ volatile("wfi");
}
