/**
 * The numbers of the Xen hypercall interface as xen/include/public numbers them: hypercall
 * numbers (xen.h), event-channel sub-operations and states (event_channel.h), grant-table
 * sub-operations, entry flags and status codes (grant_table.h), and the byte layouts of the
 * argument structures we implement, for a 64-bit guest (LP64: xen_pfn_t and guest handles are
 * 8 bytes, naturally aligned). Errno values are in errno.ts; the shared-info page layout is in
 * shared-info.ts. Everything is `export const NAME = n`, one name per number, so that a trace,
 * a test and a C frontend all say the same thing.
 */

// ---------------------------------------------------------------------------------------------
// Hypercall numbers (xen.h, "__HYPERVISOR_*"). The ones marked * are the ones issue 6 plans.
// ---------------------------------------------------------------------------------------------

/** __HYPERVISOR_set_trap_table. */
export const HYPERVISOR_set_trap_table = 0;
/** __HYPERVISOR_mmu_update. */
export const HYPERVISOR_mmu_update = 1;
/** __HYPERVISOR_memory_op * (populate_physmap, decrease_reservation). */
export const HYPERVISOR_memory_op = 12;
/** __HYPERVISOR_multicall. */
export const HYPERVISOR_multicall = 13;
/** __HYPERVISOR_set_timer_op *. */
export const HYPERVISOR_set_timer_op = 15;
/** __HYPERVISOR_xen_version *. */
export const HYPERVISOR_xen_version = 17;
/** __HYPERVISOR_console_io *. */
export const HYPERVISOR_console_io = 18;
/** __HYPERVISOR_grant_table_op * (cmd = GNTTABOP_*, arg = array of structs, count). */
export const HYPERVISOR_grant_table_op = 20;
/** __HYPERVISOR_vm_assist. */
export const HYPERVISOR_vm_assist = 21;
/** __HYPERVISOR_vcpu_op. */
export const HYPERVISOR_vcpu_op = 24;
/** __HYPERVISOR_sched_op * (yield, block, shutdown, poll). */
export const HYPERVISOR_sched_op = 29;
/** __HYPERVISOR_callback_op. */
export const HYPERVISOR_callback_op = 30;
/** __HYPERVISOR_event_channel_op * (cmd = EVTCHNOP_*, arg = one struct). */
export const HYPERVISOR_event_channel_op = 32;
/** __HYPERVISOR_physdev_op. */
export const HYPERVISOR_physdev_op = 33;
/** __HYPERVISOR_hvm_op. */
export const HYPERVISOR_hvm_op = 34;
/** __HYPERVISOR_sysctl. */
export const HYPERVISOR_sysctl = 35;
/** __HYPERVISOR_domctl. */
export const HYPERVISOR_domctl = 36;

// ---------------------------------------------------------------------------------------------
// Domain ids (xen.h). domid_t is a uint16_t.
// ---------------------------------------------------------------------------------------------

/** The first domain id that names no real domain; ids at or above it are special. */
export const DOMID_FIRST_RESERVED = 0x7ff0;
/** "The calling domain" in any domid_t argument. */
export const DOMID_SELF = 0x7ff0;
/** DOMID_IO (special owner of I/O pages). */
export const DOMID_IO = 0x7ff1;
/** DOMID_XEN (pages owned by the hypervisor). */
export const DOMID_XEN = 0x7ff2;
/** DOMID_COW. */
export const DOMID_COW = 0x7ff3;
/** DOMID_INVALID. */
export const DOMID_INVALID = 0x7ff4;
/** DOMID_IDLE. */
export const DOMID_IDLE = 0x7fff;

// ---------------------------------------------------------------------------------------------
// Event channels (event_channel.h). evtchn_port_t is a uint32_t.
// ---------------------------------------------------------------------------------------------

/** EVTCHNOP_bind_interdomain: struct evtchn_bind_interdomain. */
export const EVTCHNOP_bind_interdomain = 0;
/** EVTCHNOP_bind_virq: struct evtchn_bind_virq. */
export const EVTCHNOP_bind_virq = 1;
/** EVTCHNOP_bind_pirq (not implemented: no physical IRQs here). */
export const EVTCHNOP_bind_pirq = 2;
/** EVTCHNOP_close: struct evtchn_close. */
export const EVTCHNOP_close = 3;
/** EVTCHNOP_send: struct evtchn_send. */
export const EVTCHNOP_send = 4;
/** EVTCHNOP_status: struct evtchn_status. */
export const EVTCHNOP_status = 5;
/** EVTCHNOP_alloc_unbound: struct evtchn_alloc_unbound. */
export const EVTCHNOP_alloc_unbound = 6;
/** EVTCHNOP_bind_ipi (not implemented yet). */
export const EVTCHNOP_bind_ipi = 7;
/** EVTCHNOP_bind_vcpu (not implemented yet). */
export const EVTCHNOP_bind_vcpu = 8;
/** EVTCHNOP_unmask: struct evtchn_unmask. */
export const EVTCHNOP_unmask = 9;
/** EVTCHNOP_reset. */
export const EVTCHNOP_reset = 10;
/** EVTCHNOP_init_control (FIFO ABI; not implemented: we offer the 2-level ABI only). */
export const EVTCHNOP_init_control = 11;
/** EVTCHNOP_expand_array (FIFO ABI). */
export const EVTCHNOP_expand_array = 12;
/** EVTCHNOP_set_priority (FIFO ABI). */
export const EVTCHNOP_set_priority = 13;

/** EVTCHNSTAT_closed: the port is free (or reserved, as port 0 is). */
export const EVTCHNSTAT_closed = 0;
/** EVTCHNSTAT_unbound: waiting for a bind_interdomain from u.unbound.dom. */
export const EVTCHNSTAT_unbound = 1;
/** EVTCHNSTAT_interdomain: connected to u.interdomain.{dom, port}. */
export const EVTCHNSTAT_interdomain = 2;
/** EVTCHNSTAT_pirq. */
export const EVTCHNSTAT_pirq = 3;
/** EVTCHNSTAT_virq: bound to u.virq. */
export const EVTCHNSTAT_virq = 4;
/** EVTCHNSTAT_ipi. */
export const EVTCHNSTAT_ipi = 5;

/** VIRQ_TIMER: per-vCPU timer (set_timer_op expiry). */
export const VIRQ_TIMER = 0;
/** VIRQ_DEBUG: per-vCPU debug request. */
export const VIRQ_DEBUG = 1;
/** VIRQ_CONSOLE: global; the hypervisor console has input (Dom0 only in Xen). */
export const VIRQ_CONSOLE = 2;
/** VIRQ_DOM_EXC: global; a domain crashed or shut down. */
export const VIRQ_DOM_EXC = 3;
/** VIRQ_TBUF: global. */
export const VIRQ_TBUF = 4;
/** VIRQ_DEBUGGER: global. */
export const VIRQ_DEBUGGER = 6;
/** VIRQ_XENOPROF: per-vCPU. */
export const VIRQ_XENOPROF = 7;
/** VIRQ_CON_RING: global. */
export const VIRQ_CON_RING = 8;
/** VIRQ_PCPU_STATE: global. */
export const VIRQ_PCPU_STATE = 9;
/** VIRQ_MEM_EVENT: global. */
export const VIRQ_MEM_EVENT = 10;
/** VIRQ_ARGO: global. */
export const VIRQ_ARGO = 11;
/** VIRQ_ENOMEM: global. */
export const VIRQ_ENOMEM = 12;
/** VIRQ_XENPMU: per-vCPU. */
export const VIRQ_XENPMU = 13;
/** NR_VIRQS: virq numbers are 0 .. NR_VIRQS-1. */
export const NR_VIRQS = 24;

/**
 * Whether a VIRQ is global (bound on vCPU 0 only) or per-vCPU, as Xen's virq_is_global():
 * TIMER, DEBUG, XENOPROF and XENPMU are per-vCPU, every other number is global.
 */
export function virqIsGlobal(virq: number): boolean {
  return !(virq === VIRQ_TIMER || virq === VIRQ_DEBUG || virq === VIRQ_XENOPROF || virq === VIRQ_XENPMU);
}

// Argument structures of EVTCHNOP_* (byte offsets; IN fields first, then OUT as the header says).

/** struct evtchn_alloc_unbound { domid_t dom, remote_dom; evtchn_port_t port (OUT); } */
export const EVTCHN_ALLOC_UNBOUND_DOM = 0;
export const EVTCHN_ALLOC_UNBOUND_REMOTE_DOM = 2;
export const EVTCHN_ALLOC_UNBOUND_PORT = 4;
export const EVTCHN_ALLOC_UNBOUND_SIZE = 8;
/** struct evtchn_bind_interdomain { domid_t remote_dom; port remote_port; port local_port (OUT); } */
export const EVTCHN_BIND_INTERDOMAIN_REMOTE_DOM = 0;
export const EVTCHN_BIND_INTERDOMAIN_REMOTE_PORT = 4;
export const EVTCHN_BIND_INTERDOMAIN_LOCAL_PORT = 8;
export const EVTCHN_BIND_INTERDOMAIN_SIZE = 12;
/** struct evtchn_bind_virq { uint32_t virq; uint32_t vcpu; port port (OUT); } */
export const EVTCHN_BIND_VIRQ_VIRQ = 0;
export const EVTCHN_BIND_VIRQ_VCPU = 4;
export const EVTCHN_BIND_VIRQ_PORT = 8;
export const EVTCHN_BIND_VIRQ_SIZE = 12;
/** struct evtchn_close / evtchn_send / evtchn_unmask { evtchn_port_t port; } */
export const EVTCHN_PORT_ARG_PORT = 0;
export const EVTCHN_PORT_ARG_SIZE = 4;
/**
 * struct evtchn_status { domid_t dom; port port; uint32_t status (OUT); uint32_t vcpu (OUT);
 * union { {domid_t dom} unbound; {domid_t dom; port port} interdomain; uint32_t pirq;
 * uint32_t virq; } u (OUT); }
 */
export const EVTCHN_STATUS_DOM = 0;
export const EVTCHN_STATUS_PORT = 4;
export const EVTCHN_STATUS_STATUS = 8;
export const EVTCHN_STATUS_VCPU = 12;
export const EVTCHN_STATUS_U_DOM = 16;
export const EVTCHN_STATUS_U_PORT = 20;
export const EVTCHN_STATUS_U_VIRQ = 16;
export const EVTCHN_STATUS_SIZE = 24;

// ---------------------------------------------------------------------------------------------
// Grant tables (grant_table.h). grant_ref_t is a uint32_t; grant_handle_t a uint32_t.
// ---------------------------------------------------------------------------------------------

/** GNTTABOP_map_grant_ref (Dom0 only here; backends use GrantTables.map). */
export const GNTTABOP_map_grant_ref = 0;
/** GNTTABOP_unmap_grant_ref. */
export const GNTTABOP_unmap_grant_ref = 1;
/** GNTTABOP_setup_table: struct gnttab_setup_table. */
export const GNTTABOP_setup_table = 2;
/** GNTTABOP_dump_table. */
export const GNTTABOP_dump_table = 3;
/** GNTTABOP_transfer (not implemented). */
export const GNTTABOP_transfer = 4;
/** GNTTABOP_copy: struct gnttab_copy[]. */
export const GNTTABOP_copy = 5;
/** GNTTABOP_query_size: struct gnttab_query_size. */
export const GNTTABOP_query_size = 6;
/** GNTTABOP_unmap_and_replace. */
export const GNTTABOP_unmap_and_replace = 7;
/** GNTTABOP_set_version (we offer version 1 only). */
export const GNTTABOP_set_version = 8;
/** GNTTABOP_get_status_frames. */
export const GNTTABOP_get_status_frames = 9;
/** GNTTABOP_get_version. */
export const GNTTABOP_get_version = 10;
/** GNTTABOP_swap_grant_ref. */
export const GNTTABOP_swap_grant_ref = 11;

/**
 * struct grant_entry_v1 (8 bytes, 512 per 4 KiB frame):
 *
 *    0        2        4                 8
 *   +--------+--------+-----------------+
 *   | flags  | domid  | frame           |   flags: GTF_*; domid: the grantee;
 *   +--------+--------+-----------------+   frame: the granted guest frame number
 */
export const GRANT_ENTRY_V1_FLAGS = 0;
export const GRANT_ENTRY_V1_DOMID = 2;
export const GRANT_ENTRY_V1_FRAME = 4;
export const GRANT_ENTRY_V1_SIZE = 8;
/** Bytes of a page / grant frame. */
export const XEN_PAGE_SIZE = 4096;
/** Entries per grant-table frame (v1). */
export const GRANT_ENTRIES_PER_FRAME = XEN_PAGE_SIZE / GRANT_ENTRY_V1_SIZE;

/** GTF_invalid: the entry grants nothing. */
export const GTF_invalid = 0;
/** GTF_permit_access: the grantee (domid) may map or copy `frame`. */
export const GTF_permit_access = 1;
/** GTF_accept_transfer (not supported: transfers are not implemented). */
export const GTF_accept_transfer = 2;
/** GTF_transitive (v2 only). */
export const GTF_transitive = 3;
/** GTF_type_mask: the low two bits hold the entry type. */
export const GTF_type_mask = 3;
/** GTF_readonly: the grantee may only read. */
export const GTF_readonly = 1 << 2;
/** GTF_reading: set by the hypervisor while the frame is mapped or being copied. */
export const GTF_reading = 1 << 3;
/** GTF_writing: set by the hypervisor while the frame is mapped writable or being copied into. */
export const GTF_writing = 1 << 4;
/** GTF_PWT / GTF_PCD / GTF_PAT: cache attributes (ignored here). */
export const GTF_PWT = 1 << 5;
export const GTF_PCD = 1 << 6;
export const GTF_PAT = 1 << 7;
/** GTF_sub_page (v2 only; ignored in v1 entries). */
export const GTF_sub_page = 1 << 8;

/** GNTMAP_device_map. */
export const GNTMAP_device_map = 1 << 0;
/** GNTMAP_host_map. */
export const GNTMAP_host_map = 1 << 1;
/** GNTMAP_readonly: map for reading only. */
export const GNTMAP_readonly = 1 << 2;
/** GNTMAP_application_map. */
export const GNTMAP_application_map = 1 << 3;
/** GNTMAP_contains_pte. */
export const GNTMAP_contains_pte = 1 << 4;

/** GNTCOPY_source_gref: source.u is a grant reference in source.domid's table. */
export const GNTCOPY_source_gref = 1 << 0;
/** GNTCOPY_dest_gref: dest.u is a grant reference in dest.domid's table. */
export const GNTCOPY_dest_gref = 1 << 1;

/** GNTST_okay: success. */
export const GNTST_okay = 0;
/** GNTST_general_error: bad flags or grantee, write to a read-only grant, unreadable table. */
export const GNTST_general_error = -1;
/** GNTST_bad_domain: no such domain (or it is being destroyed). */
export const GNTST_bad_domain = -2;
/** GNTST_bad_gntref: the reference is beyond the table. */
export const GNTST_bad_gntref = -3;
/** GNTST_bad_handle: no such mapping handle. */
export const GNTST_bad_handle = -4;
/** GNTST_bad_virt_addr. */
export const GNTST_bad_virt_addr = -5;
/** GNTST_bad_dev_addr. */
export const GNTST_bad_dev_addr = -6;
/** GNTST_no_device_space. */
export const GNTST_no_device_space = -7;
/** GNTST_permission_denied: not privileged for that domain, or copy-by-frame of another domain. */
export const GNTST_permission_denied = -8;
/** GNTST_bad_page: the granted frame is not the granter's RAM (or may never be granted). */
export const GNTST_bad_page = -9;
/** GNTST_bad_copy_arg: offset + len crosses the end of a page (or of a local buffer). */
export const GNTST_bad_copy_arg = -10;
/** GNTST_address_too_big. */
export const GNTST_address_too_big = -11;
/** GNTST_eagain. */
export const GNTST_eagain = -12;
/** GNTST_no_space: out of mapping handles (Xen >= 4.10; earlier Xen said no_device_space). */
export const GNTST_no_space = -13;

/** The messages of GNTTABOP_error_msgs, indexed by -status. */
export const GNTTAB_ERROR_MSGS: readonly string[] = [
  'okay', 'undefined error', 'unrecognised domain id', 'invalid grant reference',
  'invalid mapping handle', 'invalid virtual address', 'invalid device address',
  'no spare translation slot in the I/O MMU', 'permission denied', 'bad page',
  'copy arguments cross page boundary', 'page address size too large',
  'operation not done; try again', 'out of space',
];

/** "GNTST_bad_gntref (-3): invalid grant reference" style text for a status, for traces. */
export function gntstName(status: number): string {
  const msg = GNTTAB_ERROR_MSGS[-status];
  return msg === undefined ? `GNTST ${status}` : `GNTST ${status} (${msg})`;
}

/**
 * struct gnttab_setup_table { domid_t dom; uint32_t nr_frames; int16_t status (OUT);
 * XEN_GUEST_HANDLE(xen_pfn_t) frame_list (OUT array of nr_frames u64); }
 */
export const GNTTAB_SETUP_TABLE_DOM = 0;
export const GNTTAB_SETUP_TABLE_NR_FRAMES = 4;
export const GNTTAB_SETUP_TABLE_STATUS = 8;
export const GNTTAB_SETUP_TABLE_FRAME_LIST = 16;
export const GNTTAB_SETUP_TABLE_SIZE = 24;
/** struct gnttab_query_size { domid_t dom; u32 nr_frames, max_nr_frames (OUT); int16_t status (OUT); } */
export const GNTTAB_QUERY_SIZE_DOM = 0;
export const GNTTAB_QUERY_SIZE_NR_FRAMES = 4;
export const GNTTAB_QUERY_SIZE_MAX_NR_FRAMES = 8;
export const GNTTAB_QUERY_SIZE_STATUS = 12;
export const GNTTAB_QUERY_SIZE_SIZE = 16;
/**
 * struct gnttab_copy { struct gnttab_copy_ptr { union { grant_ref_t ref; xen_pfn_t gmfn; } u;
 * domid_t domid; uint16_t offset; } source, dest; uint16_t len; uint16_t flags;
 * int16_t status (OUT); }  — each gnttab_copy_ptr is 16 bytes (u is 8 bytes on LP64).
 */
export const GNTTAB_COPY_PTR_U = 0;
export const GNTTAB_COPY_PTR_DOMID = 8;
export const GNTTAB_COPY_PTR_OFFSET = 10;
export const GNTTAB_COPY_SOURCE = 0;
export const GNTTAB_COPY_DEST = 16;
export const GNTTAB_COPY_LEN = 32;
export const GNTTAB_COPY_FLAGS = 34;
export const GNTTAB_COPY_STATUS = 36;
export const GNTTAB_COPY_SIZE = 40;
