import type { BootOptions } from './boot-data';
/** Types shared by the machine, the CLI, the tests and the benchmarks. */
import type { VirtioDevicesConfig } from '../devices/virtio/slots';

/** One loadable piece of a guest image. */
export interface Segment {
  /** Guest-physical load address. */
  paddr: bigint;
  /** Bytes to copy (file contents). */
  data: Uint8Array;
  /** Size in memory; bytes past data.length are zero (bss). */
  memSize: number;
}

/** A guest image after parsing (ELF64 RISC-V, or a raw binary placed at a load address). */
export interface LoadedImage {
  /** File name or guest name, used in every error message about this image. */
  name: string;
  entry: bigint;
  segments: Segment[];
  /** Physical address of the HTIF `tohost` symbol, when the ELF defines it. */
  tohost?: bigint;
  /** Physical address of the HTIF `fromhost` symbol, when the ELF defines it. */
  fromhost?: bigint;
}

/** How a machine is built. */
/** Tier 2 of the BT cache (assembly/jit/): hot guest code compiled to WebAssembly. */
export interface JitConfig {
  /** off: interpreter only; on: hot regions compiled (default); always: every block on its first run (tests). */
  jit?: 'off' | 'on' | 'always';
  /** Interpreted runs of a block before its region is compiled (default 50000). */
  jitThreshold?: number;
  /** Bytes of generated Wasm kept at once; past it all compiled code is evicted (default 64 MiB). */
  jitCodeLimit?: number;
  /** Most blocks in one compiled region (default 8, at most 64). */
  jitMaxBlocks?: number;
  /**
   * Compile generated code in the background (WebAssembly.instantiate), as browsers want; the
   * region stays interpreted until it is ready. Default (jit.ts jitInBackground): true with
   * `--jit on`, false with `--jit always` or a deterministic machine.
   */
  jitBackground?: boolean;
}

/** What tier 2 did (MachineStats.jit). */
export interface JitStats {
  /** Regions compiled and installed. */
  compiles: bigint;
  /** Regions that could not be compiled (they stay interpreted). */
  failures: bigint;
  /** Times all compiled code was evicted (code limit, slots exhausted, BT cache flush). */
  evictions: bigint;
  /** Compiled regions alive now, and the bytes of their Wasm modules. */
  liveRegions: bigint;
  liveBytes: bigint;
  /** Entries into compiled code, and the guest instructions retired there. */
  calls: bigint;
  instructions: bigint;
  /** Blocks compiled, summed over regions (a block may be in several). */
  blocksCompiled: bigint;
  /** Block lookups served by the indirect-jump cache (virtual pc -> block). */
  jumpCacheHits: bigint;
  /** Regions given back to the interpreter: their entries kept leaving for it at once. */
  demoted: bigint;
}

export interface MachineConfig extends JitConfig, VirtioDevicesConfig {
  /** RAM size in bytes (multiple of 4 KiB, at most 2 GiB). */
  memSize: number;
  /** The image run by the hart: the kernel, or with `bios` the payload at 0x80200000. */
  kernel: LoadedImage;
  /** Firmware (e.g. OpenSBI fw_dynamic.bin) loaded at 0x80000000; the kernel then goes to 0x80200000. */
  bios?: LoadedImage;
  /** Time derived from retired instructions only (reproducible runs). Default false: mtime follows the wall clock. */
  deterministic?: boolean;
  /** Bytes the guest writes to its console (UART transmit). */
  onConsoleOutput?: (bytes: Uint8Array) => void;
  /** --append, --initrd, --dtb (issue 12): the kernel command line, initial ramdisk and a user device tree. */
  boot?: BootOptions;
}

/** Limits of one `Machine.run` call. */
/**
 * A debugger's hold on a run loop (host/debug/gate.ts): the Machine and the vCPU call enter()
 * before each core entry and exited() after it, only while one is attached (zero cost without).
 */
export interface RunGate {
  /** Waits while the debugger holds the hart; returns the budget for this entry (1 when stepping). */
  enter(budget: bigint): Promise<bigint>;
  /** The core returned `reason` (an EXIT_*); true if the debugger now holds the hart. */
  exited(reason: number): boolean;
  /** True while the debugger holds the hart. */
  readonly held: boolean;
}

export interface RunLimits {
  /**
   * Stop after this many retired instructions, or after this many traps (RunResult.traps) for a
   * guest in a trap storm, which retires none.
   */
  maxInstructions?: bigint;
  /** Stop after this many milliseconds of wall time. */
  timeoutMs?: number;
}

/** Why a run ended. */
export type StopReason =
  | 'exit' // the guest ended itself: test finisher / syscon, or HTIF tohost
  | 'timeout'
  | 'max-instructions'
  | 'stopped'; // Machine.stop() was called (e.g. Ctrl-A X)

export interface RunResult {
  reason: StopReason;
  /** The guest's exit code when reason is 'exit' (0 pass; finisher FAIL code or HTIF code otherwise). */
  exitCode: number;
  /** Instructions retired during this run. */
  instructions: bigint;
  /**
   * Traps and interrupts taken during this run, and in a VM its exits to the VMM: the work of a
   * guest caught in a trap storm, which retires nothing (--max-instructions bounds these too).
   */
  traps: bigint;
  /** Wall time of this run in milliseconds. */
  wallMs: number;
}

/** Counters reported by `--stats`. */
export interface MachineStats {
  instructions: bigint;
  wallMs: number;
  mips: number;
  /**
   * Data accesses, counted per decoded block when it starts (the loads and stores it holds), so
   * an estimate: a branch taken in the middle of a block or a trap leaves some of them unrun.
   */
  tlbAccesses: bigint;
  tlbMisses: bigint;
  pageWalks: bigint;
  pageWalkRefs: bigint;
  blockHits: bigint;
  blockMisses: bigint;
  blockChains: bigint;
  btFlushes: bigint;
  codeInvalidations: bigint;
  traps: bigint;
  interrupts: bigint;
  /** Tier 2: compiled regions and how much ran in them. */
  jit: JitStats;
  mmioExits: bigint;
  haltExits: bigint;
}
