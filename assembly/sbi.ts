// In-core SBI: the calls a guest kernel makes most that need nothing of the host, answered
// without leaving the core, as KVM answers SBI calls in the kernel (arch/riscv/kvm/vcpu_sbi*.c)
// and forwards only the rest to its userspace. The host turns it on per entry (VMCS
// VM_SBI_INCORE: host/vmm/vcpu.ts leaves it off while exits are traced or a debugger holds the
// vCPU, and for the techniques other than --virt hw) and gets the same answers as from its own
// handler (host/vmm/sbi.ts): the core counts each call by slot and the host adds the counts to
// its exit statistics after the entry.
//
// SBI v2.0: BASE (§4) get_spec_version, get_impl_id, get_impl_version, get_mvendorid,
// get_marchid, get_mimpid; TIME set_timer (§6.1); legacy set_timer (§5.1, a0 only). The ecall
// is stepped over (pc += 4, ecall has no compressed form) and, like an ecall the host answers,
// does not count as retired.

import {
  VMCS, S_VSTIMECMP, S_STAT_VM_EXITS, VM_SBI_COUNTS, VM_SBI_COUNTS_TOTAL,
  SBI_SLOT_TIME, SBI_SLOT_LEGACY_TIMER,
} from './abi';
import { pc, setPc, setStop, setIrqCheck, getX, setX, rd64, wr64 } from './state';

const EID_LEGACY_SET_TIMER: u64 = 0x00;
const EID_BASE: u64 = 0x10;
const EID_TIME: u64 = 0x54494d45;
/** The same values as host/vmm/sbi.ts: SBI 2.0, implementation "wasm", version 0.1. */
const SPEC_VERSION: u64 = 2 << 24;
const IMPL_ID: u64 = 0x7761736d;
const IMPL_VERSION: u64 = 1;
const A0: u32 = 10, A1: u32 = 11, A6: u32 = 16, A7: u32 = 17;

/**
 * Answer the guest's ecall from VS-mode if it is one of the calls above: registers written,
 * the call counted, pc past the ecall; false (nothing changed) for any other call.
 */
export function sbiInCore(): bool {
  const eid = getX(A7);
  const fid = getX(A6);
  let slot: u32;
  if (eid == EID_BASE) {
    if (fid > 6 || fid == 3) return false; // probe_extension: the host knows its vendor extensions
    setX(A1, fid == 0 ? SPEC_VERSION : fid == 1 ? IMPL_ID : fid == 2 ? IMPL_VERSION : 0);
    slot = <u32>fid;
  } else if (eid == EID_TIME) {
    if (fid != 0) return false;
    wr64(S_VSTIMECMP, getX(A0));
    setX(A1, 0);
    slot = SBI_SLOT_TIME;
  } else if (eid == EID_LEGACY_SET_TIMER) {
    wr64(S_VSTIMECMP, getX(A0)); // legacy: a1 is left alone
    slot = SBI_SLOT_LEGACY_TIMER;
  } else {
    return false;
  }
  setX(A0, 0); // SBI_SUCCESS (legacy set_timer returns 0 too)
  const c = VMCS + VM_SBI_COUNTS + (<usize>slot << 2);
  store<u32>(c, load<u32>(c) + 1);
  store<u32>(VMCS + VM_SBI_COUNTS_TOTAL, load<u32>(VMCS + VM_SBI_COUNTS_TOTAL) + 1);
  wr64(S_STAT_VM_EXITS, rd64(S_STAT_VM_EXITS) + 1);
  setPc(pc + 4);
  setStop(true); // the block ends here, as after a trap
  setIrqCheck(true); // a new timer deadline, or a pending timer interrupt cleared (Sstc)
  return true;
}
