/*
 * conecho.c - a DomU that echoes its PV console (lib/pvcons.c): the guest
 * that `wasmvisor xl console` is tested with (test/xen/toolstack/).
 *
 * It prints one line, then waits (SCHEDOP_block, so `xl list` shows it
 * blocked) for input on the console's event channel. Every byte typed is
 * echoed as it comes (CR or LF as a new line, DEL or BS erases); each
 * complete line is answered with
 *     conecho: got 'LINE'
 * and the lines "poweroff", "reboot" and "crash" end the domain with that
 * SCHEDOP_shutdown reason (public/sched.h). Lines longer than 127 bytes are
 * cut. Empty lines are ignored, so CR LF counts as one line end.
 *
 * Under QEMU (no hypervisor) it says so and powers off.
 */
#include "pv.h"

#ifndef SHUTDOWN_reboot
#define SHUTDOWN_reboot 1               /* public/sched.h */
#endif

static char line[128];
static unsigned len;

/* A complete line: answer it, and act on the three commands. */
static void done_line(void)
{
    line[len] = 0;
    len = 0;
    con_printf("conecho: got '%s'\n", line);
    if (strcmp(line, "poweroff") == 0)
        xen_shutdown(SHUTDOWN_poweroff);
    if (strcmp(line, "reboot") == 0)
        xen_shutdown(SHUTDOWN_reboot);
    if (strcmp(line, "crash") == 0)
        xen_shutdown(SHUTDOWN_crash);
}

int main(long hartid, const void *dtb)
{
    (void)hartid;
    if (!xen_present())
        xen_absent("conecho");
    if (xen_parse_dt(dtb) != 0) {
        con_printf("FAIL: no /hypervisor node\n");
        xen_shutdown(SHUTDOWN_crash);
    }
    xen_events_init();
    pvcons_init();
    con_printf("conecho: domain %u, echoing the PV console\n", xen.domid);
    for (;;) {
        int c = pvcons_getc();
        if (c < 0) {
            xen_wait_port(xen.console_port);    /* input (or Dom0 took our output) */
            continue;
        }
        if (c == '\r' || c == '\n') {
            if (len == 0)
                continue;
            con_putc('\n');
            done_line();
        } else if (c == 0x7f || c == '\b') {
            if (len == 0)
                continue;
            len--;
            con_puts("\b \b");
            xen_console_flush();
        } else {
            if (len < sizeof line - 1)
                line[len++] = (char)c;
            con_putc((char)c);
            xen_console_flush();
        }
    }
}
