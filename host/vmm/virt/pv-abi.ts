/**
 * The hypercall interface of `--virt pv` (pv.ts; the guest side: guests/minikernel/lib/pv.c),
 * an SBI vendor extension (SBI v2.0 §3, table 2: EIDs 0x0900_0000..0x09FF_FFFF), shaped after
 * Xen's paravirtual MMU (xen/include/public/xen.h: mmu_update, mmuext_op):
 *
 *   EID 0x09575056 ("WPV")   a guest finds it with BASE probe_extension, as it finds Xen's
 *   FID 0 csr(num, op, value)            a0 = 0 or an SBI error, a1 = the old value.
 *                                        op 0 read, 1 write, 2 set bits, 3 clear bits; the
 *                                        CSRs of virtual S-mode (trap-csr.ts), satp included
 *   FID 1 mmu_update(reqs, count, done)  reqs: guest-physical address of `count` requests
 *                                        { u64 ptr; u64 val } (Xen's mmu_update_t): ptr is the
 *                                        guest-physical address of a PTE, its low 3 bits the
 *                                        command (MMU_NORMAL_PT_UPDATE = 0 only); val the PTE
 *   FID 2 mmuext_op(ops, count, done)    ops: `count` of { u64 cmd; u64 arg1; u64 arg2 }
 *                                        (Xen's mmuext_op_t, with 64-bit fields):
 *                                        MMUEXT_UNPIN_TABLE (arg1 = frame number): the page is
 *                                        no longer a page table; MMUEXT_NEW_BASEPTR (arg1 = the
 *                                        new satp, mode/ASID/PPN: RISC-V's base pointer);
 *                                        MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_INVLPG_LOCAL (arg1 = VA)
 *   FID 3 set_callback(entry, info)      Xen's set_callbacks / a trap table: from now on a trap
 *                                        of virtual U-mode is delivered by the VMM itself, as
 *                                        Xen's PV trap bounce: it saves x1..x31 and pc into the
 *                                        frame at the guest's sscratch (PV_FRAME_*), writes
 *                                        { sepc, scause, stval } at `info`, sets sepc/scause/
 *                                        stval/sstatus as a trap would, sscratch = 0, a0 = the
 *                                        frame, and enters virtual S at `entry` (not stvec).
 *                                        entry 0: off. Traps of virtual S still go to stvec.
 *   FID 4 iret(frame)                    Xen's iret: x1..x31 and pc from the frame, sscratch =
 *                                        frame, to virtual U with interrupts on (sstatus.SIE =
 *                                        SPIE = 1, SPP = U), as minikernel's csrw sepc; csrc/
 *                                        csrs sstatus; csrw sscratch; sret. Does not return.
 *
 * The two batched calls return as Xen's do: a0 = 0, or -errno (below) for the first request
 * refused, with the requests before it done; a1 = the requests done, also stored as a u64 at
 * guest-physical `done` unless it is 0. All addresses are guest-physical (the SBI convention,
 * as DBCN's), not virtual as in Xen.
 */

/** The extension id: "WPV" in ASCII in the vendor range. */
export const PV_SBI_EID = 0x09575056;

/** Function ids. */
export const PV_FID = { CSR: 0, MMU_UPDATE: 1, MMUEXT_OP: 2, SET_CALLBACK: 3, IRET: 4 } as const;

/**
 * The trap frame the VMM saves for the PV trap callback and loads for iret: x1..x31 at 8 * i
 * (slot 0 unused), the pc at 256 (minikernel's struct trapframe). The trap information block
 * the callback registration names: { u64 sepc; u64 scause; u64 stval }.
 */
export const PV_FRAME_SIZE = 33 * 8;
export const PV_FRAME_PC = 256;
export const PV_TRAP_INFO_SIZE = 24;

/** FID 0 operations. */
export const PV_CSR_OP = { READ: 0, WRITE: 1, SET: 2, CLEAR: 3 } as const;

/** mmu_update commands (xen.h; ptr & 7). */
export const MMU_NORMAL_PT_UPDATE = 0;

/** mmuext_op commands (xen.h numbering). */
export const MMUEXT = { UNPIN_TABLE: 4, NEW_BASEPTR: 5, TLB_FLUSH_LOCAL: 6, INVLPG_LOCAL: 7 } as const;

/** Xen's errno values (xen/include/public/errno.h), returned negated. */
export const XEN_EPERM = 1;
export const XEN_EFAULT = 14;
export const XEN_EINVAL = 22;
export const XEN_ENOSYS = 38;

/**
 * Most requests one mmu_update or mmuext_op takes (docs/bounds.md): one page table's 512
 * entries, so a call's work is bounded; Xen would preempt a longer batch with a continuation,
 * this VMM refuses it (-EINVAL, nothing done) and the guest splits it.
 */
export const PV_BATCH_MAX = 512;

/** Bytes of one mmu_update request and of one mmuext_op. */
export const MMU_UPDATE_SIZE = 16;
export const MMUEXT_OP_SIZE = 24;

/** Readable names for --stats and --trace exits. */
export const PV_FUNCTION_NAMES: ReadonlyMap<number, string> = new Map([
  [PV_FID.CSR, 'csr'],
  [PV_FID.MMU_UPDATE, 'mmu_update'],
  [PV_FID.MMUEXT_OP, 'mmuext_op'],
  [PV_FID.SET_CALLBACK, 'set_callback'],
  [PV_FID.IRET, 'iret'],
]);
