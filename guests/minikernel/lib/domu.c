/*
 * domu.c - minikernel as a Xen-style DomU of wasmvisor's hypervisor
 * (docs/xen/hypercalls.md, docs/xen/frontends.md).
 *
 * main() calls domu_run_if_xen before anything else. The kernel is a DomU
 * when the SBI implementation offers the Xen hypercall extension (BASE
 * probe_extension of XEN_SBI_EID: QEMU's OpenSBI and wasmvisor's VMM without
 * the hypervisor do not) and the device tree has the /hypervisor node
 * (compatible "xen,xen-wasmvisor"). Otherwise domu_run_if_xen returns having
 * printed nothing, and the kernel starts its tasks: its console output stays
 * byte for byte that of QEMU + OpenSBI.
 *
 * As a DomU the kernel runs the PV test program of guests/xen/lib (pvprog.c
 * and the frontends it uses, linked through minikernel_COMMON_SRCS in
 * flags.mk) under the name "minikernel", exactly as pvtest runs it: the PV
 * console from the first line, blkfront with the disk pattern and its
 * checksums, netfront with a ping of the peer (ARP and ICMP echo). Meanwhile
 *   - con_putc (sbi.c) hands every byte to xen_con_putc, the Xen console
 *     (console_io, then the PV console ring once pvcons_init ran);
 *   - traps go to the DomU path (xen_trap_entry, installed by
 *     xen_events_init), which takes the event upcall, not to entry.S's
 *     trap_entry, which would report any S-mode trap as a kernel bug;
 *   - paging stays off and no task runs: the frontends grant frames by
 *     address (gfn = address >> 12), as in bare S-mode.
 * The program ends the domain: SHUTDOWN_poweroff after "minikernel: all
 * tests passed; powering off" (exit 0), SHUTDOWN_crash after "FAIL: ..."
 * (exit 1).
 */
#include "kernel.h"
#include "pv.h"

/* The frontends' state and the disk buffers (about 550 KiB; the image still
 * ends below 0x80400000, as main() requires). */
static struct pvprog prog;

void domu_run_if_xen(const void *dtb)
{
    if (!dtb || !xen_present() || xen_parse_dt(dtb) != 0)
        return;
    con_redirect = xen_con_putc;
    pvprog_run(&prog, "minikernel");
}
