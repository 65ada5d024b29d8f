/**
 * The numbers and argument layouts of the hypercalls that hypercalls.ts implements itself
 * (event channels and grant tables have theirs in hypercall-abi.ts): console_io (xen.h),
 * sched_op (sched.h), memory_op (memory.h), xen_version (version.h, features.h), and the
 * vendor SBI extension id that carries every hypercall. 64-bit (LP64) layouts throughout.
 */

/**
 * The SBI extension id of Xen hypercalls: "XEN" in ASCII (0x58 0x45 0x4e) in the vendor /
 * firmware-specific range 0x0900_0000..0x09FF_FFFF (SBI spec v2.0 §3, table 2).
 */
export const XEN_SBI_EID = 0x0958454e;

/** Xen version we report (XENVER_version: major << 16 | minor): the 4.19 interface. */
export const XEN_VERSION_MAJOR = 4;
/** See XEN_VERSION_MAJOR. */
export const XEN_VERSION_MINOR = 19;
/** XENVER_extraversion: at most 15 characters and a NUL (xen_extraversion_t is char[16]). */
export const XEN_EXTRAVERSION = '.0-wasmvisor';

// console_io (xen.h)
/** CONSOLEIO_write(count, buffer): bytes to the hypervisor console. */
export const CONSOLEIO_write = 0;
/** CONSOLEIO_read (Dom0 only in Xen; not offered: a DomU reads its PV console ring). */
export const CONSOLEIO_read = 1;
/** Most bytes one CONSOLEIO_write takes (Xen would continue the call; we refuse more). */
export const CONSOLEIO_WRITE_MAX = 16384;

// sched_op (sched.h)
/** SCHEDOP_yield: give up the CPU (nothing else to run here: returns at once). */
export const SCHEDOP_yield = 0;
/** SCHEDOP_block: wait until an event is pending (enables event delivery first). */
export const SCHEDOP_block = 1;
/** SCHEDOP_shutdown(struct sched_shutdown *): stop the domain with a reason. */
export const SCHEDOP_shutdown = 2;
/** SCHEDOP_poll(struct sched_poll *): wait for one of a set of ports. */
export const SCHEDOP_poll = 3;
/** SCHEDOP_remote_shutdown (privileged). */
export const SCHEDOP_remote_shutdown = 4;
/** SCHEDOP_shutdown_code. */
export const SCHEDOP_shutdown_code = 5;
/** SCHEDOP_watchdog. */
export const SCHEDOP_watchdog = 6;

/** struct sched_shutdown { unsigned int reason; } */
export const SCHED_SHUTDOWN_SIZE = 4;
/** SHUTDOWN_poweroff (sched.h): the run ends with exit code 0. */
export const SHUTDOWN_poweroff = 0;
/** SHUTDOWN_reboot: exit code 0; the toolstack rebuilds the domain. */
export const SHUTDOWN_reboot = 1;
/** SHUTDOWN_suspend (not offered: -ENOSYS). */
export const SHUTDOWN_suspend = 2;
/** SHUTDOWN_crash: exit code 1. */
export const SHUTDOWN_crash = 3;
/** SHUTDOWN_watchdog: exit code 1. */
export const SHUTDOWN_watchdog = 4;
/** SHUTDOWN_soft_reset (not offered: -ENOSYS). */
export const SHUTDOWN_soft_reset = 5;

/** struct sched_poll { XEN_GUEST_HANDLE(evtchn_port_t) ports; unsigned int nr_ports; uint64_t timeout; } */
export const SCHED_POLL_PORTS = 0;
export const SCHED_POLL_NR_PORTS = 8;
export const SCHED_POLL_TIMEOUT = 16;
export const SCHED_POLL_SIZE = 24;
/** Most ports one poll may name (Xen's do_poll refuses more with -EINVAL). */
export const SCHED_POLL_MAX_PORTS = 128;

// memory_op (memory.h)
/** XENMEM_increase_reservation (not offered: a translated guest uses populate_physmap). */
export const XENMEM_increase_reservation = 0;
/** XENMEM_decrease_reservation: give frames back (balloon out). */
export const XENMEM_decrease_reservation = 1;
/** XENMEM_maximum_ram_page (not offered). */
export const XENMEM_maximum_ram_page = 2;
/** XENMEM_current_reservation(domid_t *): pages the domain has. */
export const XENMEM_current_reservation = 3;
/** XENMEM_maximum_reservation(domid_t *): pages it may have. */
export const XENMEM_maximum_reservation = 4;
/** XENMEM_populate_physmap: back frames again (balloon in). */
export const XENMEM_populate_physmap = 6;
/**
 * struct xen_memory_reservation { XEN_GUEST_HANDLE(xen_pfn_t) extent_start; xen_ulong_t
 * nr_extents; unsigned int extent_order; unsigned int mem_flags; domid_t domid; }
 */
export const XEN_MEMORY_RESERVATION_EXTENT_START = 0;
export const XEN_MEMORY_RESERVATION_NR_EXTENTS = 8;
export const XEN_MEMORY_RESERVATION_EXTENT_ORDER = 16;
export const XEN_MEMORY_RESERVATION_MEM_FLAGS = 20;
export const XEN_MEMORY_RESERVATION_DOMID = 24;
export const XEN_MEMORY_RESERVATION_SIZE = 32;

// xen_version (version.h)
/** XENVER_version: major << 16 | minor. */
export const XENVER_version = 0;
/** XENVER_extraversion(char[16]). */
export const XENVER_extraversion = 1;
/** XENVER_get_features(struct xen_feature_info *). */
export const XENVER_get_features = 6;
/** XENVER_pagesize: 4096. */
export const XENVER_pagesize = 7;
/** struct xen_feature_info { unsigned int submap_idx; uint32_t submap (OUT); } */
export const XEN_FEATURE_INFO_SUBMAP_IDX = 0;
export const XEN_FEATURE_INFO_SUBMAP = 4;
export const XEN_FEATURE_INFO_SIZE = 8;
/** features.h: the guest works in guest frame numbers, never machine frames. */
export const XENFEAT_auto_translated_physmap = 2;
/** features.h: event upcalls arrive as an interrupt (here the VS external interrupt). */
export const XENFEAT_hvm_callback_vector = 8;
/** The submap 0 we report. */
export const XEN_FEATURES_SUBMAP0 = (1 << XENFEAT_auto_translated_physmap) | (1 << XENFEAT_hvm_callback_vector);

/** Hypercall names by number, for --stats and --trace ("XEN sched_op"). */
export const HYPERCALL_NAMES: ReadonlyMap<number, string> = new Map([
  [12, 'memory_op'], [15, 'set_timer_op'], [17, 'xen_version'], [18, 'console_io'],
  [20, 'grant_table_op'], [29, 'sched_op'], [32, 'event_channel_op'],
]);
/**
 * The key under which XenDomain.hypercalls counts every hypercall number not in HYPERCALL_NAMES
 * (all answered -ENOSYS): a guest sweeping a6 adds no entries (docs/bounds.md).
 */
export const HYPERCALL_OTHER = -1;
