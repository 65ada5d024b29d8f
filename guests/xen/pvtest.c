/*
 * pvtest.c - a DomU that uses every PV frontend: the PV test program
 * (lib/pvprog.c, docs/xen/frontends.md) under the name "pvtest". It logs
 * through the PV console, writes and reads back a pattern on its first disk
 * with checksums, pings its peer over its first vif, and powers off
 * (SHUTDOWN_poweroff, exit 0); any failure prints "FAIL: ..." and ends in
 * SHUTDOWN_crash (exit 1). minikernel runs the same program when it boots as
 * a DomU.
 *
 * Under QEMU (no hypervisor) it says so and powers off.
 */
#include "pv.h"

static struct pvprog prog;

int main(long hartid, const void *dtb)
{
    (void)hartid;
    if (!xen_present())
        xen_absent("pvtest");
    if (xen_parse_dt(dtb) != 0) {
        con_printf("FAIL: no /hypervisor node\n");
        xen_shutdown(SHUTDOWN_crash);
    }
    pvprog_run(&prog, "pvtest");
}
