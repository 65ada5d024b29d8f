/**
 * The hart's state as the host sees it: named fields over the STATE region of linear memory,
 * at the offsets of assembly/abi.ts (the only place they are defined). Nothing else in host/
 * reads or writes hart state by raw offset.
 */
import * as A from '../../assembly/abi';
import type { JitStats, MachineStats } from './types';

/** Named accessors for one hart's state. */
export class HartState {
  private readonly u64: BigUint64Array;

  constructor(memory: WebAssembly.Memory) {
    this.u64 = new BigUint64Array(memory.buffer, A.STATE, A.STATE_SIZE / 8);
  }

  private get(off: number): bigint {
    return this.u64[off >> 3];
  }
  private set(off: number, v: bigint): void {
    this.u64[off >> 3] = BigInt.asUintN(64, v);
  }

  /** Integer register x[i] (0..31). */
  x(i: number): bigint {
    return i === 0 ? 0n : this.get(A.S_X + i * 8);
  }
  setX(i: number, v: bigint): void {
    if (i !== 0) this.set(A.S_X + i * 8, v);
  }
  /** Floating-point register f[i] (0..31), its 64 bits (a single value is NaN-boxed). */
  f(i: number): bigint {
    return this.get(A.S_F + i * 8);
  }
  setF(i: number, v: bigint): void {
    this.set(A.S_F + i * 8, v);
  }
  /** fcsr: frm (bits 7:5) and fflags (bits 4:0). */
  get fcsr(): bigint { return this.get(A.S_FCSR); }
  set fcsr(v: bigint) { this.set(A.S_FCSR, v); }
  get pc(): bigint { return this.get(A.S_PC); }
  set pc(v: bigint) { this.set(A.S_PC, v); }
  /** 0 = U, 1 = S, 3 = M. */
  get priv(): number { return Number(this.get(A.S_PRIV)); }
  /** Instructions retired since reset. */
  get instret(): bigint { return this.get(A.S_INSTRET); }
  get mstatus(): bigint { return this.get(A.S_MSTATUS); }
  get mcause(): bigint { return this.get(A.S_MCAUSE); }
  get mepc(): bigint { return this.get(A.S_MEPC); }
  get mtval(): bigint { return this.get(A.S_MTVAL); }
  get scause(): bigint { return this.get(A.S_SCAUSE); }
  get sepc(): bigint { return this.get(A.S_SEPC); }
  get stval(): bigint { return this.get(A.S_STVAL); }
  get satp(): bigint { return this.get(A.S_SATP); }
  get mie(): bigint { return this.get(A.S_MIE); }
  get menvcfg(): bigint { return this.get(A.S_MENVCFG); }
  get stimecmp(): bigint { return this.get(A.S_STIMECMP); }

  // ---- setters and further CSR slots (tests, debuggers, snapshot restore) ----
  // These write the raw slot: no WARL legalisation and no side effects. The core re-reads
  // privilege, mstatus and satp at the start of every run(), so writes between runs are seen.
  set priv(v: number) { this.set(A.S_PRIV, BigInt(v)); }
  set instret(v: bigint) { this.set(A.S_INSTRET, v); }
  set mstatus(v: bigint) { this.set(A.S_MSTATUS, v); }
  set mcause(v: bigint) { this.set(A.S_MCAUSE, v); }
  set mepc(v: bigint) { this.set(A.S_MEPC, v); }
  set mtval(v: bigint) { this.set(A.S_MTVAL, v); }
  set scause(v: bigint) { this.set(A.S_SCAUSE, v); }
  set sepc(v: bigint) { this.set(A.S_SEPC, v); }
  set stval(v: bigint) { this.set(A.S_STVAL, v); }
  set satp(v: bigint) { this.set(A.S_SATP, v); }
  set mie(v: bigint) { this.set(A.S_MIE, v); }
  set menvcfg(v: bigint) { this.set(A.S_MENVCFG, v); }
  set stimecmp(v: bigint) { this.set(A.S_STIMECMP, v); }
  /** The software-writable bits of mip (SSIP, STIP, SEIP); device lines are irqLines. */
  get mip(): bigint { return this.get(A.S_MIP); }
  set mip(v: bigint) { this.set(A.S_MIP, v); }
  get mtvec(): bigint { return this.get(A.S_MTVEC); }
  set mtvec(v: bigint) { this.set(A.S_MTVEC, v); }
  get stvec(): bigint { return this.get(A.S_STVEC); }
  set stvec(v: bigint) { this.set(A.S_STVEC, v); }
  get medeleg(): bigint { return this.get(A.S_MEDELEG); }
  set medeleg(v: bigint) { this.set(A.S_MEDELEG, v); }
  get mideleg(): bigint { return this.get(A.S_MIDELEG); }
  set mideleg(v: bigint) { this.set(A.S_MIDELEG, v); }
  get mscratch(): bigint { return this.get(A.S_MSCRATCH); }
  set mscratch(v: bigint) { this.set(A.S_MSCRATCH, v); }
  get sscratch(): bigint { return this.get(A.S_SSCRATCH); }
  set sscratch(v: bigint) { this.set(A.S_SSCRATCH, v); }
  get mcounteren(): bigint { return this.get(A.S_MCOUNTEREN); }
  set mcounteren(v: bigint) { this.set(A.S_MCOUNTEREN, v); }
  get scounteren(): bigint { return this.get(A.S_SCOUNTEREN); }
  set scounteren(v: bigint) { this.set(A.S_SCOUNTEREN, v); }
  /** The LR/SC reservation (an address, or all ones when there is none). */
  get lrAddr(): bigint { return this.get(A.S_LR_ADDR); }
  set lrAddr(v: bigint) { this.set(A.S_LR_ADDR, v); }

  // ---- H extension (privileged spec ch. 8): the hypervisor and VS CSR slots, raw ----
  get hstatus(): bigint { return this.get(A.S_HSTATUS); }
  set hstatus(v: bigint) { this.set(A.S_HSTATUS, v); }
  get hedeleg(): bigint { return this.get(A.S_HEDELEG); }
  set hedeleg(v: bigint) { this.set(A.S_HEDELEG, v); }
  get hideleg(): bigint { return this.get(A.S_HIDELEG); }
  set hideleg(v: bigint) { this.set(A.S_HIDELEG, v); }
  get hie(): bigint { return this.get(A.S_HIE); }
  set hie(v: bigint) { this.set(A.S_HIE, v); }
  get hvip(): bigint { return this.get(A.S_HVIP); }
  set hvip(v: bigint) { this.set(A.S_HVIP, v); }
  get hcounteren(): bigint { return this.get(A.S_HCOUNTEREN); }
  set hcounteren(v: bigint) { this.set(A.S_HCOUNTEREN, v); }
  get htimedelta(): bigint { return this.get(A.S_HTIMEDELTA); }
  set htimedelta(v: bigint) { this.set(A.S_HTIMEDELTA, v); }
  get hgatp(): bigint { return this.get(A.S_HGATP); }
  set hgatp(v: bigint) { this.set(A.S_HGATP, v); }
  get henvcfg(): bigint { return this.get(A.S_HENVCFG); }
  set henvcfg(v: bigint) { this.set(A.S_HENVCFG, v); }
  get htval(): bigint { return this.get(A.S_HTVAL); }
  set htval(v: bigint) { this.set(A.S_HTVAL, v); }
  get htinst(): bigint { return this.get(A.S_HTINST); }
  set htinst(v: bigint) { this.set(A.S_HTINST, v); }
  get mtval2(): bigint { return this.get(A.S_MTVAL2); }
  set mtval2(v: bigint) { this.set(A.S_MTVAL2, v); }
  get mtinst(): bigint { return this.get(A.S_MTINST); }
  set mtinst(v: bigint) { this.set(A.S_MTINST, v); }
  get vsstatus(): bigint { return this.get(A.S_VSSTATUS); }
  set vsstatus(v: bigint) { this.set(A.S_VSSTATUS, v); }
  get vstvec(): bigint { return this.get(A.S_VSTVEC); }
  set vstvec(v: bigint) { this.set(A.S_VSTVEC, v); }
  get vsscratch(): bigint { return this.get(A.S_VSSCRATCH); }
  set vsscratch(v: bigint) { this.set(A.S_VSSCRATCH, v); }
  get vsepc(): bigint { return this.get(A.S_VSEPC); }
  set vsepc(v: bigint) { this.set(A.S_VSEPC, v); }
  get vscause(): bigint { return this.get(A.S_VSCAUSE); }
  set vscause(v: bigint) { this.set(A.S_VSCAUSE, v); }
  get vstval(): bigint { return this.get(A.S_VSTVAL); }
  set vstval(v: bigint) { this.set(A.S_VSTVAL, v); }
  get vsatp(): bigint { return this.get(A.S_VSATP); }
  set vsatp(v: bigint) { this.set(A.S_VSATP, v); }
  get vstimecmp(): bigint { return this.get(A.S_VSTIMECMP); }
  set vstimecmp(v: bigint) { this.set(A.S_VSTIMECMP, v); }
  /** Virtualization mode: 1 in VS/VU (with priv 1/0), 0 otherwise. */
  get v(): number { return Number(this.get(A.S_V)); }
  set v(x: number) { this.set(A.S_V, BigInt(x)); }
  /** 1 while vmRun() runs a guest: traps that would enter HS or M exit to the host. */
  get hsExternal(): number { return Number(this.get(A.S_HS_EXTERNAL)); }
  set hsExternal(x: number) { this.set(A.S_HS_EXTERNAL, BigInt(x)); }

  // ---- platform inputs ----
  /** MIP bits driven by devices (MSIP from the CLINT, MEIP/SEIP from the PLIC). */
  get irqLines(): bigint { return this.get(A.S_IRQ_LINES); }
  set irqLines(v: bigint) { this.set(A.S_IRQ_LINES, v); }
  get mtimecmp(): bigint { return this.get(A.S_MTIMECMP); }
  set mtimecmp(v: bigint) { this.set(A.S_MTIMECMP, v); }
  get timeOffset(): bigint { return this.get(A.S_TIME_OFFSET); }
  set timeOffset(v: bigint) { this.set(A.S_TIME_OFFSET, v); }
  /** log2 of instructions per mtime tick. */
  get timeShift(): number { return Number(this.get(A.S_TIME_SHIFT)); }
  set timeShift(v: number) { this.set(A.S_TIME_SHIFT, BigInt(v)); }
  /** Wall time (guest-clock.ts): instret at the last publication, ticks per instruction (32.32), the cap. */
  get timeBase(): bigint { return this.get(A.S_TIME_BASE); }
  set timeBase(v: bigint) { this.set(A.S_TIME_BASE, v); }
  get timeMul(): bigint { return this.get(A.S_TIME_MUL); }
  set timeMul(v: bigint) { this.set(A.S_TIME_MUL, v); }
  get timeLimit(): bigint { return this.get(A.S_TIME_LIMIT); }
  set timeLimit(v: bigint) { this.set(A.S_TIME_LIMIT, v); }
  get tohost(): bigint { return this.get(A.S_TOHOST); }
  set tohost(v: bigint) { this.set(A.S_TOHOST, v); }

  // ---- MMIO exit information ----
  get mmioAddr(): bigint { return this.get(A.S_MMIO_ADDR); }
  get mmioSize(): number { return Number(this.get(A.S_MMIO_SIZE)); }
  get mmioWrite(): boolean { return this.get(A.S_MMIO_WRITE) !== 0n; }
  get mmioData(): bigint { return this.get(A.S_MMIO_DATA); }
  /** The load result the host supplies before resuming. */
  set mmioData(v: bigint) { this.set(A.S_MMIO_DATA, v); }
  set mmioStatus(v: number) { this.set(A.S_MMIO_STATUS, BigInt(v)); }
  get htifValue(): bigint { return this.get(A.S_HTIF_VALUE); }

  // ---- statistics ----
  get statTlbMiss(): bigint { return this.get(A.S_STAT_TLB_MISS); }
  get statTlbAccess(): bigint { return this.get(A.S_STAT_TLB_ACCESS); }
  get statBlockHit(): bigint { return this.get(A.S_STAT_BLOCK_HIT); }
  get statBlockMiss(): bigint { return this.get(A.S_STAT_BLOCK_MISS); }
  get statBlockChain(): bigint { return this.get(A.S_STAT_BLOCK_CHAIN); }
  get statBtFlush(): bigint { return this.get(A.S_STAT_BT_FLUSH); }
  get statCodeInval(): bigint { return this.get(A.S_STAT_CODE_INVAL); }
  get statWalks(): bigint { return this.get(A.S_STAT_WALKS); }
  get statWalkRefs(): bigint { return this.get(A.S_STAT_WALK_REFS); }
  get statTraps(): bigint { return this.get(A.S_STAT_TRAPS); }
  get statInterrupts(): bigint { return this.get(A.S_STAT_INTERRUPTS); }
  /** Traps that left a VM for the host (vmRun's EXIT_VM_TRAP). */
  get statVmExits(): bigint { return this.get(A.S_STAT_VM_EXITS); }
  /** One-dimensional walks are statWalks; these count the two-dimensional ones (V = 1), kept apart. */
  get statWalks2d(): bigint { return this.get(A.S_STAT_WALKS_2D); }
  /** PTE references of the two-dimensional walks (both stages). */
  get statWalkRefs2d(): bigint { return this.get(A.S_STAT_WALK_REFS_2D); }
  /** G-stage translations (of VS-stage PTE addresses and of final guest physical addresses) served by the G-stage cache. */
  get statPwcHits(): bigint { return this.get(A.S_STAT_PWC_HITS); }
  /** --virt bt: 1 makes trapRun translate the guest kernel's blocks (assembly/btvirt.ts). */
  get btOn(): bigint { return this.get(A.S_BT_ON); }
  set btOn(v: bigint) { this.set(A.S_BT_ON, v); }
  /** BT: instructions classed ident / inline / call-out when their block was decoded (static, summed). */
  get statBtIdent(): bigint { return this.get(A.S_STAT_BT_IDENT); }
  get statBtInline(): bigint { return this.get(A.S_STAT_BT_INLINE); }
  get statBtCallout(): bigint { return this.get(A.S_STAT_BT_CALLOUT); }
  /** BT: inline sites executed (dynamic). */
  get statBtInlineRun(): bigint { return this.get(A.S_STAT_BT_INLINE_RUN); }

  // ---- tier 2 (JIT) configuration and counters ----
  /** A abi.ts JIT_* mode (JIT_OFF, JIT_ON, JIT_ALWAYS), read by the core at each run(). */
  get jitMode(): number { return Number(this.get(A.S_JIT_MODE)); }
  set jitMode(v: number) { this.set(A.S_JIT_MODE, BigInt(v)); }
  /** Interpreted runs of a block before its region is compiled (0: the core's default, 64). */
  set jitThreshold(v: number) { this.set(A.S_JIT_THRESHOLD, BigInt(v)); }
  /** Bytes of generated Wasm alive at once before everything is evicted (0: default, 64 MiB). */
  set jitCodeLimit(v: number) { this.set(A.S_JIT_CODE_LIMIT, BigInt(v)); }
  /** Most blocks in one compiled region (0: default, 8; at most 64). */
  set jitMaxBlocks(v: number) { this.set(A.S_JIT_MAX_BLOCKS, BigInt(v)); }

  /** What tier 2 did so far. */
  jitStats(): JitStats {
    return {
      compiles: this.get(A.S_STAT_JIT_COMPILES),
      failures: this.get(A.S_STAT_JIT_FAILS),
      evictions: this.get(A.S_STAT_JIT_EVICTIONS),
      liveRegions: this.get(A.S_STAT_JIT_FUNCS),
      liveBytes: this.get(A.S_STAT_JIT_BYTES),
      calls: this.get(A.S_STAT_JIT_CALLS),
      instructions: this.get(A.S_STAT_JIT_INSNS),
      blocksCompiled: this.get(A.S_STAT_JIT_BLOCKS),
      jumpCacheHits: this.get(A.S_STAT_JIT_IJC_HITS),
      demoted: this.get(A.S_STAT_JIT_DEMOTED),
    };
  }

  /** The hart's counters as MachineStats reports them (bare machine and VM alike). */
  counters(): Pick<MachineStats, 'tlbAccesses' | 'tlbMisses' | 'pageWalks' | 'pageWalkRefs' | 'blockHits' | 'blockMisses' | 'blockChains' | 'btFlushes' | 'codeInvalidations' | 'traps' | 'interrupts' | 'jit'> {
    return {
      jit: this.jitStats(),
      tlbAccesses: this.statTlbAccess,
      tlbMisses: this.statTlbMiss,
      pageWalks: this.statWalks,
      pageWalkRefs: this.statWalkRefs,
      blockHits: this.statBlockHit,
      blockMisses: this.statBlockMiss,
      blockChains: this.statBlockChain,
      btFlushes: this.statBtFlush,
      codeInvalidations: this.statCodeInval,
      traps: this.statTraps,
      interrupts: this.statInterrupts,
    };
  }

  // ---- the last page walk (abi.ts S_WALK_LOG) ----
  /** Record the steps of every page walk (the last one is kept), for viewers. */
  get walkLogOn(): boolean { return this.get(A.S_WALK_LOG_ON) !== 0n; }
  set walkLogOn(on: boolean) { this.set(A.S_WALK_LOG_ON, on ? 1n : 0n); }
  /** The last page walk recorded (walkLogOn), or undefined when none was. */
  lastWalk(): PageWalk | undefined {
    const base = A.S_WALK_LOG;
    const n = Math.min(Number(this.get(base + 24)), A.WALK_LOG_MAX_STEPS);
    if (n === 0) return undefined;
    const result = this.get(base + 16);
    const steps: WalkStep[] = [];
    for (let i = 0; i < n; i++) {
      const at = base + 32 + i * 24;
      const kl = this.get(at);
      steps.push({ kind: WALK_KINDS[Number(kl >> 8n)] ?? 'satp', level: Number(kl & 0xffn), pteAddress: this.get(at + 8), pte: this.get(at + 16) });
    }
    const fault = (result >> 63n) === 1n;
    return {
      va: this.get(base),
      access: (['read', 'write', 'fetch'] as const)[Number(this.get(base + 8))] ?? 'read',
      pa: fault ? undefined : result,
      faultCause: fault ? Number(result & 0xffn) : undefined,
      steps,
    };
  }
}

/** Which table a page-walk step read (abi.ts S_WALK_LOG kinds 1..4). */
export type WalkStepKind = 'satp' | 'vs' | 'g-for-vs' | 'g-final';
const WALK_KINDS: Record<number, WalkStepKind> = { 1: 'satp', 2: 'vs', 3: 'g-for-vs', 4: 'g-final' };

/** One PTE read of a page walk. */
export interface WalkStep {
  kind: WalkStepKind;
  /** Level of the PTE in its table (2 = the root of Sv39). */
  level: number;
  /** Physical address the PTE was read from. */
  pteAddress: bigint;
  pte: bigint;
}

/** A page walk as the core recorded it. */
export interface PageWalk {
  va: bigint;
  access: 'read' | 'write' | 'fetch';
  /** The translated (host) physical address, when the walk succeeded. */
  pa?: bigint;
  /** The exception cause, when it failed. */
  faultCause?: number;
  steps: WalkStep[];
}
