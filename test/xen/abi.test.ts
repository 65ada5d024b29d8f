/** The numbers of hypercall-abi.ts and errno.ts, pinned to Xen's public headers. */
import { describe, expect, it } from 'vitest';
import * as E from '../../host/xen/errno';
import * as H from '../../host/xen/hypercall-abi';

describe('hypercall numbers (xen.h)', () => {
  it('match __HYPERVISOR_*', () => {
    expect([H.HYPERVISOR_memory_op, H.HYPERVISOR_set_timer_op, H.HYPERVISOR_xen_version, H.HYPERVISOR_console_io,
      H.HYPERVISOR_grant_table_op, H.HYPERVISOR_sched_op, H.HYPERVISOR_event_channel_op, H.HYPERVISOR_hvm_op]).toEqual([12, 15, 17, 18, 20, 29, 32, 34]);
    expect([H.DOMID_SELF, H.DOMID_FIRST_RESERVED, H.DOMID_INVALID]).toEqual([0x7ff0, 0x7ff0, 0x7ff4]);
  });
});

describe('event_channel.h', () => {
  it('sub-ops, states, virqs', () => {
    expect([H.EVTCHNOP_bind_interdomain, H.EVTCHNOP_bind_virq, H.EVTCHNOP_close, H.EVTCHNOP_send, H.EVTCHNOP_status,
      H.EVTCHNOP_alloc_unbound, H.EVTCHNOP_unmask]).toEqual([0, 1, 3, 4, 5, 6, 9]);
    expect([H.EVTCHNSTAT_closed, H.EVTCHNSTAT_unbound, H.EVTCHNSTAT_interdomain, H.EVTCHNSTAT_pirq, H.EVTCHNSTAT_virq, H.EVTCHNSTAT_ipi]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(H.NR_VIRQS).toBe(24);
    const perVcpu = Array.from({ length: H.NR_VIRQS }, (_, v) => v).filter((v) => !H.virqIsGlobal(v));
    expect(perVcpu).toEqual([H.VIRQ_TIMER, H.VIRQ_DEBUG, H.VIRQ_XENOPROF, H.VIRQ_XENPMU]);
    expect(perVcpu).toEqual([0, 1, 7, 13]);
  });
});

describe('grant_table.h', () => {
  it('sub-ops, flags, statuses', () => {
    expect([H.GNTTABOP_map_grant_ref, H.GNTTABOP_unmap_grant_ref, H.GNTTABOP_setup_table, H.GNTTABOP_copy, H.GNTTABOP_query_size]).toEqual([0, 1, 2, 5, 6]);
    expect([H.GTF_permit_access, H.GTF_readonly, H.GTF_reading, H.GTF_writing, H.GTF_type_mask]).toEqual([1, 4, 8, 16, 3]);
    expect([H.GNTST_okay, H.GNTST_general_error, H.GNTST_bad_domain, H.GNTST_bad_gntref, H.GNTST_bad_handle, H.GNTST_permission_denied,
      H.GNTST_bad_page, H.GNTST_bad_copy_arg, H.GNTST_no_space]).toEqual([0, -1, -2, -3, -4, -8, -9, -10, -13]);
    expect([H.GNTCOPY_source_gref, H.GNTCOPY_dest_gref, H.GNTMAP_readonly]).toEqual([1, 2, 4]);
    expect(H.GRANT_ENTRIES_PER_FRAME).toBe(512);
    expect(H.gntstName(-3)).toBe('GNTST -3 (invalid grant reference)');
    expect(H.gntstName(-13)).toBe('GNTST -13 (out of space)');
    expect(H.gntstName(-99)).toBe('GNTST -99');
  });
});

describe('errno.h', () => {
  it('values and names', () => {
    expect([E.XEN_EPERM, E.XEN_ENOENT, E.XEN_ESRCH, E.XEN_EFAULT, E.XEN_EEXIST, E.XEN_EINVAL, E.XEN_ENOSPC, E.XEN_ENOSYS, E.XEN_ETIMEDOUT])
      .toEqual([1, 2, 3, 14, 17, 22, 28, 38, 110]);
    expect(E.XEN_EWOULDBLOCK).toBe(E.XEN_EAGAIN);
    expect(E.errnoName(-22)).toBe('-EINVAL');
    expect(E.errnoName(28)).toBe('ENOSPC');
    expect(E.errnoName(0)).toBe('0');
    expect(E.errnoName(-4)).toBe('-4'); // EINTR is internal to Xen
  });
});
