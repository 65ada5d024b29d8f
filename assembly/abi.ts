// The one ABI file shared by assembly/ (AssemblyScript) and host/ (TypeScript).
//
// It is written in the common subset of both languages: `export const NAME: usize = expr;` only, each
// expression built from literals and earlier names. The core reads and writes its state at
// these offsets; the host wraps the same offsets in named views (host/machine/hart.ts), so the
// two sides cannot drift.
//
// Wasm linear memory of one machine (all offsets in bytes):
//
//   0x0000_0000 +--------------------------------------+
//               | AssemblyScript static data and stack | (the core allocates nothing at run time)
//   STATE       +--------------------------------------+ 0x0010_0000
//               | hart state: x0..x31 (+ x32 sink for  |
//               | writes to x0), pc, privilege, CSRs,  |
//               | exit information, counters           |
//   VMCS        +--------------------------------------+ STATE + 4 KiB
//               | VMCS (H extension; reserved)         |
//   TLB_READ    +--------------------------------------+
//               | TLB for loads     TLB_ENTRIES x 16 B |
//   TLB_WRITE   | TLB for stores    TLB_ENTRIES x 16 B |
//   TLB_FETCH   | TLB for fetches   TLB_ENTRIES x 16 B |
//   CTX_TABLE   +--------------------------------------+
//               | translation-context table (tags)     |
//   PWC         | G-stage translation cache            |
//   PAGE_INFO   +--------------------------------------+
//               | per RAM page: code generation (u32)  |
//   RAM_DIRTY   | per RAM page: written since reset (1 bit)
//   DIRTY_LOG   | per RAM page: written since the log was cleared (1 bit)
//   BT_HASH     +--------------------------------------+
//               | block hash: paddr -> block (2 x u32) |
//   BT_ARENA    +--------------------------------------+
//               | decoded blocks (tier 1 of the cache) |
//   JIT_BUF     +--------------------------------------+
//               | tier 2: the module being emitted,    |
//   JIT_SLOTS   | the table slots of compiled regions  |
//   POP         | in-core populate: frame pool and log |
//   RAM_OFFSET  +--------------------------------------+ (64 KiB aligned)
//               | guest RAM (host frames)              |
//               +--------------------------------------+ RAM_OFFSET + ram size

// ---- the guest-physical board (QEMU virt) ----
export const RAM_BASE: u64 = 0x80000000;
export const RAM_SIZE_MAX: u64 = 0xfc000000; // 4032 MiB: what a 4 GiB (32-bit) Wasm memory holds next to the core's regions (and a VM's G-stage tables)
export const PAGE_SHIFT: u32 = 12;
export const PAGE_SIZE: u32 = 4096;

// ---- regions of linear memory ----
export const STATE: usize = 0x100000;
export const STATE_SIZE: usize = 0x1000;
export const VMCS: usize = STATE + STATE_SIZE;
export const VMCS_SIZE: usize = 0x1000;
export const TLB_BITS: u32 = 12;
export const TLB_ENTRIES: u32 = 4096; // 1 << TLB_BITS
export const TLB_ENTRY_SIZE: usize = 16; // u64 tag (page | context), i64 addend (host offset - page)
export const TLB_READ: usize = VMCS + VMCS_SIZE;
export const TLB_WRITE: usize = TLB_READ + TLB_ENTRIES * TLB_ENTRY_SIZE;
export const TLB_FETCH: usize = TLB_WRITE + TLB_ENTRIES * TLB_ENTRY_SIZE;
export const CTX_ENTRIES: u32 = 512; // context ids 0..510, kept in bits 11..3 of a TLB tag
export const CTX_TABLE: usize = TLB_FETCH + TLB_ENTRIES * TLB_ENTRY_SIZE; // u64 key per id
export const PWC_ENTRIES: u32 = 8192; // G-stage translation cache (2D walks): GPA page -> host page
export const PWC: usize = CTX_TABLE + CTX_ENTRIES * 8; // per entry: u64 key (vmid, GPA page) + 1, u64 host page
export const PAGE_INFO: usize = PWC + PWC_ENTRIES * 16;
export const PAGE_INFO_SIZE: usize = 0x400000; // 4 bytes per page of the largest memory (4 GiB), a VM's host RAM included
export const BT_HASH_BITS: u32 = 16;
export const BT_HASH_ENTRIES: u32 = 65536; // 1 << BT_HASH_BITS
// 1 bit per RAM page: written (by the guest through a write TLB fill or a store's slow path,
// or by the host) since the last zeroRam(): a machine reset zeroes only those pages.
export const RAM_DIRTY: usize = PAGE_INFO + PAGE_INFO_SIZE;
export const RAM_DIRTY_SIZE: usize = 0x20000; // PAGE_INFO_SIZE / 32
// Dirty-page logging (migration, host/migrate/dirty-log.ts): 1 bit per RAM page, set where
// RAM_DIRTY is (store TLB fills and slow paths, page-walker A/D updates, host writes and device
// DMA) while logging is on. Clearing it also empties the TLBs, so the first store to each page
// after a clear takes the slow path again and is seen: nothing is added to the store fast path.
export const DIRTY_LOG: usize = RAM_DIRTY + RAM_DIRTY_SIZE;
export const DIRTY_LOG_SIZE: usize = RAM_DIRTY_SIZE;
// Post-copy migration on a bare machine (host/migrate/postcopy-target.ts): 1 bit per RAM page
// that has not arrived yet. Consulted only while the core's absentOn flag is set, and only on a
// TLB fill, a slow-path access or a page-walker PTE read: an absent page never gets a TLB entry,
// so the hit paths never look, and an access to it exits (EXIT_ABSENT) before it happens.
export const ABSENT_MAP: usize = DIRTY_LOG + DIRTY_LOG_SIZE;
export const ABSENT_MAP_SIZE: usize = RAM_DIRTY_SIZE;
export const BT_HASH: usize = ABSENT_MAP + ABSENT_MAP_SIZE; // per entry: u32 paddr - RAM_BASE + 1, u32 block
export const BT_ARENA: usize = BT_HASH + BT_HASH_ENTRIES * 8;
export const BT_ARENA_SIZE: usize = 0x1000000; // 16 MiB of decoded blocks
// Tier 2 of the BT cache (assembly/jit/): hot regions compiled to WebAssembly functions that
// live in the core's function table at JIT_TABLE_BASE + slot.
export const JIT_BUF: usize = BT_ARENA + BT_ARENA_SIZE; // the Wasm module being emitted
export const JIT_BUF_SIZE: usize = 0x40000;
export const JIT_MAX_SLOTS: u32 = 8192; // compiled regions alive at once (table slots)
export const JIT_SLOTS: usize = JIT_BUF + JIT_BUF_SIZE; // per slot, 16 bytes: u32 owner block (0 = free), u32 code bytes, u32 compile sequence number
export const JIT_FREE: usize = JIT_SLOTS + JIT_MAX_SLOTS * 16; // free list: u32 slot numbers
export const JIT_TABLE_BASE: u32 = 16; // table index of slot 0 (the core's own entries stay below)
// In-core population of a VM's guest RAM (assembly/populate.ts, host/vmm/populate.ts): the first
// touch of a guest page is mapped by the G-stage walker from a pool of zeroed host frames that the
// VMM tops up, as KVM's fault handler maps from its per-vCPU memory cache, and logged for the VMM.
// Not hart state: a snapshot never holds it (the VMM refills it after a restore).
export const POP: usize = JIT_FREE + JIT_MAX_SLOTS * 4; // (4 KiB aligned)
export const POP_SIZE: usize = 0x1000;
export const POP_BASE: usize = 0x00; // u64: first guest page number (gpa >> 12) the core may populate
export const POP_END: usize = 0x08; // u64: end of that range (exclusive); POP_BASE = POP_END: off
export const POP_FREE: usize = 0x10; // u32: frames in the pool (the core takes pool[FREE - 1])
export const POP_LOGGED: usize = 0x14; // u32: entries in the log, cleared by the host when it reads them
export const POP_COUNTED: usize = 0x18; // u32 x 2: pages populated for explicit accesses, then for VS-stage PTE reads (counted as exits; the host clears them)
export const POP_POOL: usize = 0x400; // u64 x POP_MAX: host physical addresses of zeroed frames
export const POP_LOG: usize = 0x800; // per entry: u64 guest page number, u64 host physical address of its frame
export const POP_MAX: u32 = 128; // pool and log entries
export const RAM_OFFSET: usize = (POP + POP_SIZE + 0xffff) & 0x7fff0000; // 64 KiB aligned

// ---- hart state, offsets from STATE (all fields u64 unless noted) ----
export const S_X: usize = 0x000; // x0..x31, then x32: the sink that decoded writes to x0 go to
export const S_F: usize = 0x110; // f0..f31 (F/D; a single is NaN-boxed); f[i] is x-array slot 34 + i
export const S_PC: usize = 0x210;
export const S_PRIV: usize = 0x218; // 0 U, 1 S, 3 M
export const S_INSTRET: usize = 0x220; // minstret (and mcycle)
export const S_LR_ADDR: usize = 0x228; // reservation set (physical address), -1 when none
// CSRs, one u64 slot each
export const S_MSTATUS: usize = 0x240;
export const S_MISA: usize = 0x248;
export const S_MEDELEG: usize = 0x250;
export const S_MIDELEG: usize = 0x258;
export const S_MIE: usize = 0x260;
export const S_MIP: usize = 0x268; // software-writable bits (SSIP, STIP, SEIP as written by M-mode)
export const S_MTVEC: usize = 0x270;
export const S_MCOUNTEREN: usize = 0x278;
export const S_MSCRATCH: usize = 0x280;
export const S_MEPC: usize = 0x288;
export const S_MCAUSE: usize = 0x290;
export const S_MTVAL: usize = 0x298;
export const S_STVEC: usize = 0x2a0;
export const S_SCOUNTEREN: usize = 0x2a8;
export const S_SSCRATCH: usize = 0x2b0;
export const S_SEPC: usize = 0x2b8;
export const S_SCAUSE: usize = 0x2c0;
export const S_STVAL: usize = 0x2c8;
export const S_SATP: usize = 0x2d0;
export const S_MENVCFG: usize = 0x2d8;
export const S_SENVCFG: usize = 0x2e0;
export const S_STIMECMP: usize = 0x2e8;
export const S_MCOUNTINHIBIT: usize = 0x2f0;
export const S_MHARTID: usize = 0x2f8;
export const S_PMPCFG: usize = 0x300; // pmpcfg0, pmpcfg2, ... pmpcfg14: 8 slots
export const S_PMPADDR: usize = 0x340; // pmpaddr0..pmpaddr63: 64 slots
export const S_FCSR: usize = 0x540; // frm (7:5), fflags (4:0)
export const S_MCYCLE_DELTA: usize = 0x548; // mcycle = instret + MCYCLE_DELTA (after writes to mcycle)
export const S_MINSTRET_DELTA: usize = 0x550; // minstret = instret + MINSTRET_DELTA
// H extension (privileged spec ch. 8): the hart's own hypervisor CSRs, one u64 slot each.
// They are laid out as two blocks that the VMCS mirrors (see VMCS below), so a VM entry or
// exit is a few block copies: the controls block and the VS block.
export const S_H_BLOCK: usize = 0x700; // start of the controls block (VM_CONTROLS mirrors it)
export const S_HSTATUS: usize = 0x700;
export const S_HEDELEG: usize = 0x708;
export const S_HIDELEG: usize = 0x710;
export const S_HIE: usize = 0x718; // VSSIE, VSTIE, VSEIE, SGEIE
export const S_HVIP: usize = 0x720; // VSSIP, VSTIP, VSEIP injected by the hypervisor
export const S_HCOUNTEREN: usize = 0x728;
export const S_HTIMEDELTA: usize = 0x730;
export const S_HGATP: usize = 0x738;
export const S_HENVCFG: usize = 0x740;
export const S_H_BLOCK_END: usize = 0x748;
export const S_HTVAL: usize = 0x748;
export const S_HTINST: usize = 0x750;
export const S_MTVAL2: usize = 0x758;
export const S_MTINST: usize = 0x760;
export const S_VS_BLOCK: usize = 0x780; // start of the VS block (VM_VS mirrors it)
export const S_VSSTATUS: usize = 0x780;
export const S_VSTVEC: usize = 0x788;
export const S_VSSCRATCH: usize = 0x790;
export const S_VSEPC: usize = 0x798;
export const S_VSCAUSE: usize = 0x7a0;
export const S_VSTVAL: usize = 0x7a8;
export const S_VSATP: usize = 0x7b0;
export const S_VSTIMECMP: usize = 0x7b8;
export const S_VS_BLOCK_END: usize = 0x7c0;
export const S_V: usize = 0x7c0; // virtualization mode: 1 while in VS or VU
export const S_HS_EXTERNAL: usize = 0x7c8; // 1: traps that would enter HS or M exit to the host
// 1 while trapRun() runs a deprivileged guest kernel (trap-and-emulate, host/vmm/virt/trap.ts):
// every trap taken from U-mode with V = 0 exits to the host (EXIT_VM_TRAP, VM_EXIT_*).
export const S_U_EXTERNAL: usize = 0x7d0;
// platform inputs written by the host before run()
export const S_IRQ_LINES: usize = 0x580; // MIP bits driven by devices: MSIP (3), MEIP (11), SEIP (9)
export const S_MTIMECMP: usize = 0x588; // CLINT mtimecmp for this hart
// mtime (docs/time.md). Instruction time (TIME_MUL = 0, --deterministic):
//   mtime = TIME_OFFSET + (instret >> TIME_SHIFT).
// Wall time (TIME_MUL != 0): the host publishes its clock at each entry (TIME_OFFSET at
// instret = TIME_BASE) and the core extrapolates, never past TIME_LIMIT:
//   mtime = min(TIME_OFFSET + ((instret - TIME_BASE) * TIME_MUL >> 32), TIME_LIMIT).
export const S_TIME_OFFSET: usize = 0x590;
export const S_TIME_SHIFT: usize = 0x598; // log2(instructions per 10 MHz tick), instruction time
export const S_TIME_BASE: usize = 0x5b0; // wall time: instret when TIME_OFFSET was published
export const S_TIME_MUL: usize = 0x5b8; // wall time: ticks per instruction, 32.32 fixed point (1..2^32)
export const S_TIME_LIMIT: usize = 0x7e8; // wall time: mtime stops here until the host publishes again
export const S_RAM_SIZE: usize = 0x5a0;
export const S_TOHOST: usize = 0x5a8; // physical address of HTIF tohost, 0 when the image has none
// MMIO exit information (written by the core on EXIT_MMIO, completed by the host)
export const S_MMIO_ADDR: usize = 0x5c0; // physical address
export const S_MMIO_DATA: usize = 0x5c8; // store data, or load result written by the host
export const S_MMIO_SIZE: usize = 0x5d0; // 1, 2, 4 or 8
export const S_MMIO_WRITE: usize = 0x5d8; // 1 store, 0 load
export const S_MMIO_RD: usize = 0x5e0; // destination register of a load
export const S_MMIO_SIGNED: usize = 0x5e8; // 1 if the load sign-extends
export const S_MMIO_VADDR: usize = 0x5f0; // virtual address (for the access-fault tval)
export const S_MMIO_STATUS: usize = 0x5f8; // host answer: MMIO_OK or MMIO_FAULT
export const S_HTIF_VALUE: usize = 0x600; // value written to tohost on EXIT_HTIF
export const S_MMIO_LEN: usize = 0x608; // length of the instruction that made the MMIO access
// tier-2 (JIT) configuration, written by the host before run()
export const S_JIT_MODE: usize = 0x610; // JIT_OFF, JIT_ON, JIT_ALWAYS
export const S_JIT_THRESHOLD: usize = 0x618; // runs of a block before its region is compiled (JIT_ON)
export const S_JIT_CODE_LIMIT: usize = 0x620; // bytes of generated Wasm alive at once; over it, all are evicted
export const S_JIT_MAX_BLOCKS: usize = 0x628; // most blocks in one compiled region
export const S_STAT_JIT_DEMOTED: usize = 0x630; // regions given back to the interpreter (they kept leaving it at once)
// statistics (u64 counters)
export const S_STAT_TLB_MISS: usize = 0x640;
export const S_STAT_TLB_ACCESS: usize = 0x648; // data accesses, estimated: the memory ops of each block run (an early exit overcounts)
export const S_STAT_BLOCK_HIT: usize = 0x650;
export const S_STAT_BLOCK_MISS: usize = 0x658;
export const S_STAT_BLOCK_CHAIN: usize = 0x660;
export const S_STAT_BT_FLUSH: usize = 0x668;
export const S_STAT_CODE_INVAL: usize = 0x670;
export const S_STAT_WALKS: usize = 0x678;
export const S_STAT_WALK_REFS: usize = 0x680;
export const S_STAT_TRAPS: usize = 0x688;
export const S_STAT_INTERRUPTS: usize = 0x690;
export const S_STAT_WALKS_2D: usize = 0x698; // walks with V = 1 (VS-stage and G-stage)
export const S_STAT_WALK_REFS_2D: usize = 0x6a0; // memory references of those walks
export const S_STAT_PWC_HITS: usize = 0x6a8; // G-stage translations of VS PTEs served by the PWC
export const S_STAT_VM_EXITS: usize = 0x6b0;
export const S_STAT_JIT_COMPILES: usize = 0x6b8; // regions compiled
export const S_STAT_JIT_FAILS: usize = 0x6c0; // regions the host could not compile
export const S_STAT_JIT_EVICTIONS: usize = 0x6c8; // evictions of all compiled code (code limit, BT flush)
export const S_STAT_JIT_FUNCS: usize = 0x6d0; // compiled regions alive now
export const S_STAT_JIT_BYTES: usize = 0x6d8; // bytes of their Wasm code
export const S_STAT_JIT_CALLS: usize = 0x6e0; // entries into compiled code
export const S_STAT_JIT_INSNS: usize = 0x6e8; // guest instructions retired in compiled code
export const S_STAT_JIT_BLOCKS: usize = 0x6f0; // blocks compiled (a block may be in several regions)
export const S_STAT_JIT_IJC_HITS: usize = 0x6f8; // indirect jumps served by the jump cache
// The last page walk, for viewers (the web page's walk view, traces): written by walk.ts when
// S_WALK_LOG_ON is 1.
//   S_WALK_LOG + 0: u64 virtual address, +8: u64 access (0 read, 1 write, 2 fetch),
//   +16: u64 result (physical address, or 1 << 63 | cause), +24: u64 number of steps,
//   +32: steps, 3 u64 each: kind << 8 | level (kind 1 = satp walk, 2 = VS-stage PTE,
//   3 = G-stage PTE while translating a VS-stage PTE address, 4 = G-stage PTE of the final
//   guest physical address), the PTE's physical address, the PTE.
export const S_WALK_LOG_ON: usize = 0x7f8;
export const S_WALK_LOG: usize = 0x800;
export const WALK_LOG_MAX_STEPS: u32 = 32;
// Binary translation (--virt bt, assembly/btvirt.ts, host/vmm/virt/bt.ts). BT_ON is written by
// the host; the counts by the core: instructions classed when their block was decoded (static,
// summed over every decode) and inline sites executed (dynamic; the VMM counts the rest).
export const S_BT_ON: usize = 0xe00; // 1: trapRun translates the guest kernel's blocks
export const S_STAT_BT_IDENT: usize = 0xe08;
export const S_STAT_BT_INLINE: usize = 0xe10;
export const S_STAT_BT_CALLOUT: usize = 0xe18;
export const S_STAT_BT_INLINE_RUN: usize = 0xe20; // inline sites executed
// Tier 2's values for the compiled function running now (written at its entry, read by its
// checks and TLB probes from memory, so they take no machine register in its loops: jit/emit.ts)
export const S_JIT_EVENT_AT: usize = 0xe28; // eventAt, or 0 when irqCheck was set at entry
export const S_JIT_CTX: usize = 0xe30; // ctxData
// a scratch decoded record for the host's disassembler (decodeInto)
export const S_SCRATCH_REC: usize = 0xf00;

// ---- VMCS: one per vCPU, offsets from its base (the core uses the one at VMCS) ----
// Guest state: what the guest sees of the hart while V = 1.
export const VM_X: usize = 0x000; // x0..x31
export const VM_PC: usize = 0x100;
export const VM_PRIV: usize = 0x108; // 1 VS, 0 VU
export const VM_VS: usize = 0x110; // vsstatus, vstvec, vsscratch, vsepc, vscause, vstval, vsatp, vstimecmp (as S_VS_BLOCK)
export const VM_VS_END: usize = 0x150;
// Execution controls: the hypervisor's CSRs for this vCPU (as S_H_BLOCK): hstatus (VTW, VTVM,
// VTSR), hedeleg, hideleg, hie, hvip (interrupt injection), hcounteren, htimedelta, hgatp, henvcfg.
export const VM_CONTROLS: usize = 0x200;
export const VM_CONTROLS_END: usize = 0x248;
export const VM_BUDGET: usize = 0x280; // most guest instructions to run in this entry
// Exit information, written by the core on every exit.
export const VM_EXIT_REASON: usize = 0x300; // EXIT_*
export const VM_EXIT_CAUSE: usize = 0x308; // for EXIT_VM_TRAP: the trap's cause (bit 63 = interrupt)
export const VM_EXIT_TVAL: usize = 0x310; // stval/mtval the trap would have written
export const VM_EXIT_HTVAL: usize = 0x318; // guest physical address >> 2 for guest-page faults
export const VM_EXIT_HTINST: usize = 0x320; // transformed instruction (priv spec §8.6.3), or 0
export const VM_EXIT_INSN_LEN: usize = 0x328; // length of the trapping instruction (2 or 4), 0 if none
export const VM_EXIT_INSN: usize = 0x330; // the trapping instruction's bits (virtual instruction, ecall), 0 if none
export const VM_EXIT_INSTRUCTIONS: usize = 0x338; // guest instructions retired in this entry
// The virtual CSRs of a deprivileged guest kernel that have no VS CSR (--virt trap and bt: the
// VMM and the core's inline sites share them here).
export const VM_SCOUNTEREN: usize = 0x380;
export const VM_SENVCFG: usize = 0x388;
// In-core SBI (assembly/sbi.ts): the host sets SBI_INCORE to 1 to let the core answer the
// simplest SBI calls itself, as KVM answers them in the kernel; the core counts each one in
// SBI_COUNTS (u32 per SBI_SLOT_*) and their sum in SBI_COUNTS_TOTAL, which the host reads and
// clears after the entry.
// SBI_COUNTS_TOTAL also counts the guest pages the core populated itself (POP_COUNTED): it is
// the sum of everything the core handled in the entry, so the host looks at one word.
export const VM_SBI_INCORE: usize = 0x390;
export const VM_SBI_COUNTS_TOTAL: usize = 0x398; // u32
export const VM_SBI_COUNTS: usize = 0x3a0; // u32 x SBI_SLOTS
export const VMCS_SIZE_USED: usize = 0x3c8;
/** In-core SBI call slots: BASE fids 0..6 (3, probe_extension, is not one), TIME set_timer, legacy set_timer. */
export const SBI_SLOT_TIME: u32 = 7;
export const SBI_SLOT_LEGACY_TIMER: u32 = 8;
export const SBI_SLOTS: u32 = 9;
/** VM_EXIT_CAUSE of a BT call-out (a cause for custom use, priv spec table 3.6): VM_EXIT_INSN holds the instruction. */
export const CAUSE_BT_CALLOUT: u64 = 24;
/** VM_EXIT_CAUSE after a BT inline sstatus write changed SUM or MXR (it retired): re-enter on the shadow of the new view. */
export const CAUSE_BT_RESYNC: u64 = 25;

// ---- exit reasons returned by run() ----
export const EXIT_NONE: u32 = 0;
export const EXIT_BUDGET: u32 = 1; // the instruction budget of this call is spent
export const EXIT_MMIO: u32 = 2; // a load or store to a non-RAM physical address; see S_MMIO_*
export const EXIT_HALT: u32 = 3; // WFI with no interrupt pending: wait for the next timer or device
export const EXIT_HTIF: u32 = 4; // a store to tohost; value in S_HTIF_VALUE
export const EXIT_VM_TRAP: u32 = 6; // a trap from V = 1 that would enter HS or M (HS_EXTERNAL); VM_EXIT_*
export const EXIT_DEBUG: u32 = 12; // pc reached a debugger breakpoint (setBreakpoints), before executing it
export const EXIT_ABSENT: u32 = 13; // an access (fetch, load, store, PTE read) to a RAM page marked in ABSENT_MAP, before it happens; absentPa() names it

export const JIT_OFF: u32 = 0;
export const JIT_ON: u32 = 1;
export const JIT_ALWAYS: u32 = 2; // compile every block on its first run (tests)
export const JIT_NEVER: u32 = 0xffffffff; // B_JIT of a block that is not compiled (failed, pending)

export const MMIO_PENDING: u32 = 0;
export const MMIO_OK: u32 = 1;
export const MMIO_FAULT: u32 = 2;

// ---- decoded instruction record (tier 1 of the BT cache), 16 bytes ----
export const R_OP: usize = 0; // u16 op id (assembly/gen/ops.ts, from the ISA table)
export const R_RD: usize = 2; // u8, 32 when the instruction writes x0
export const R_RS1: usize = 3; // u8
export const R_RS2: usize = 4; // u8
export const R_LEN: usize = 5; // u8: 2 or 4
export const R_PCOFF: usize = 6; // u16: byte offset of the instruction from the block's start
export const R_IMM: usize = 8; // i32
export const R_RAW: usize = 12; // u32: the instruction bits (mtval of an illegal instruction)
export const R_SIZE: usize = 16;

// ---- decoded block header ----
export const B_PADDR: usize = 0; // u64 physical address of the first instruction
export const B_PAGE: usize = 8; // u32 RAM page index
export const B_GEN: usize = 12; // u32 code generation of that page when decoded
export const B_COUNT: usize = 16; // u32 number of records
export const B_MEMOPS: usize = 20; // u32 loads + stores in the block (TLB statistics)
export const B_BYTES: usize = 40; // u32 bytes of code in the block (pc after falling off its end)
export const B_JIT: usize = 44; // u32 tier 2: 0 not compiled, slot + 1 when compiled, JIT_NEVER
export const B_HOT: usize = 60; // u32 times the block was run by the interpreter
export const B_CHAIN_PC: usize = 24; // u64 pc of the most recent successor
export const B_CHAIN_BLK: usize = 32; // u32 that successor's block
export const B_CHAIN_EPOCH: usize = 36; // u32 epoch both links were made in
export const B_CHAIN2_PC: usize = 48; // u64 pc of the other successor (a branch has two)
export const B_CHAIN2_BLK: usize = 56; // u32 its block
export const B_HDR: usize = 64;
export const BT_MAX_INSNS: u32 = 64;
