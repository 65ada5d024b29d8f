/**
 * Loading the Wasm core: one compiled module per process, one instance per machine, each
 * instance over its own WebAssembly.Memory (Wasm bounds are the outer isolation wall).
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RAM_OFFSET, JIT_TABLE_BASE, JIT_MAX_SLOTS } from '../../assembly/abi';
import { JitHost } from './jit';
import { SHARED_CORE, sharedMemoryHost } from './shared-memory';

/** The functions the core exports (assembly/index.ts). */
export interface CoreExports {
  init(ramSize: bigint): void;
  /** Zero guest RAM for a reset, writing only pages that are not zero (untouched pages stay unallocated). */
  zeroRam(): void;
  reset(entry: bigint, a0: bigint, a1: bigint, a2: bigint): void;
  run(budget: bigint): number;
  invalidateRam(paddr: bigint, len: bigint): void;
  /** invalidateRam of whole pages by RAM page number (no BigInts: migration's page writes). */
  invalidateRamPages(first: number, count: number): void;
  flushAll(): void;
  /** Drop cached translations (TLB, G-stage page-walk cache) but keep decoded code: hfence.gvma. */
  flushTlb(): void;
  mtimeNow(): bigint;
  decodeInto(word: number, rec: number): void;
  /** Blocks of one instruction, so run(1n) executes exactly one. */
  setSingleStep(on: boolean): void;
  /** A debugger breakpoint i (host/debug/gate.ts); live after setBreakpointCount(n > i). */
  setBreakpoint(i: number, pc: bigint): void;
  /** How many breakpoints are live (run() exits with EXIT_DEBUG at one; needs single-step mode). */
  setBreakpointCount(n: number): void;
  /** Debugger watchpoint i: [addr, addr + len), kind 1 write, 2 read, 3 access (assembly/mmu.ts). */
  setWatchpoint(i: number, addr: bigint, len: bigint, kind: number): void;
  /** How many watchpoints are live; flushTlb() after adding, so their pages leave the TLB. */
  setWatchpointCount(n: number): void;
  /** After EXIT_DEBUG: the watchpoint hit, or -1 for a breakpoint (reading clears it). */
  takeWatchHit(): number;
  /**
   * Enter the guest described by the VMCS (H extension, HS external) and run it until a VM
   * exit; returns the exit reason (EXIT_VM_TRAP, EXIT_HALT, EXIT_BUDGET...). See assembly/index.ts.
   */
  vmRun(): number;
  /**
   * Enter a deprivileged guest kernel (trap-and-emulate): U-mode, V = 0, the host's satp, every
   * trap an EXIT_VM_TRAP; registers and pc through the VMCS. See assembly/index.ts.
   */
  trapRun(): number;
  /** Dirty-page logging (assembly/dirty.ts): start on a clear log, or stop. */
  dirtyLogEnable(on: boolean): void;
  /** Clear the dirty log (and the TLBs, so the next store to each page is logged). */
  dirtyLogClear(): void;
  /** Post-copy on a bare machine (assembly/phys.ts): consult abi ABSENT_MAP on fills and slow paths. */
  setAbsentOn(on: boolean): void;
  /** The physical address the last EXIT_ABSENT stopped at. */
  absentAddress(): bigint;
  /** A background compile of slot `slot` finished: true if the region is still wanted. */
  jitReady(slot: number, seq: number, ok: boolean): boolean;
}


let compiled: WebAssembly.Module | undefined;
/** Whether `compiled` imports a shared memory (build/core.shared.wasm): then so is every machine's. */
let compiledShared = false;

/** build/`name` (core.wasm, core.shared.wasm), from the sources (host/machine/) or the bundle (dist/). */
export function corePath(name = 'core.wasm'): string {
  const tried: string[] = [];
  for (const rel of [`../../build/${name}`, `../build/${name}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
    tried.push(p);
  }
  throw new Error(`build/${name} not found (tried ${tried.join(', ')}): run \`npm run build\`, or give the library a core (configureCore)`);
}

/**
 * Use an already compiled core module (browsers: a Worker compiles build/core.wasm
 * asynchronously from a URL or bytes, then hands the module here before creating machines;
 * bin/wasmvisor.cjs: build/core.shared.wasm, `sharedMemory` true).
 */
export function setCoreModule(module: WebAssembly.Module, sharedMemory = false): void {
  compiled = module;
  compiledShared = sharedMemory;
}

/**
 * The compiled core module (set by setCoreModule, or compiled synchronously on first use: on
 * Node build/core.shared.wasm, which imports a shared memory, host/machine/shared-memory.ts).
 */
export function coreModule(): WebAssembly.Module {
  if (compiled === undefined) {
    const shared = sharedMemoryHost();
    compiled = new WebAssembly.Module(readFileSync(corePath(shared ? SHARED_CORE : 'core.wasm')));
    compiledShared = shared;
  }
  return compiled;
}

/** A memory large enough for the core's regions and `ramSize` bytes of guest RAM (shared if the core imports one). */
export function createMemory(ramSize: number): WebAssembly.Memory {
  coreModule(); // (whether the memory is shared is the core's to say)
  const pages = Math.ceil((RAM_OFFSET + ramSize) / 65536);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: compiledShared });
}

/**
 * Instantiate the core over `memory`. `asyncJit`: compile generated code in the background
 * (browsers, where synchronous compiles of large modules are not allowed on the main thread and
 * would stall a Worker); Node compiles synchronously, so a hot region runs compiled at once.
 */
export function instantiateCore(memory: WebAssembly.Memory, asyncJit = false): CoreExports {
  const table = new WebAssembly.Table({ initial: JIT_TABLE_BASE + JIT_MAX_SLOTS, element: 'anyfunc' });
  const jit = new JitHost(memory, table, asyncJit);
  const instance = new WebAssembly.Instance(coreModule(), {
    env: {
      memory,
      table,
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`wasmvisor core: assertion failed at ${line}:${col}`);
      },
      jitCompile: (ptr: number, len: number, slot: number, seq: number) => jit.compile(ptr, len, slot, seq),
      jitRelease: (slot: number) => jit.release(slot),
    },
  });
  // The regions' modules import the memory as the core does (assembly/jit/module.ts).
  (instance.exports.jitSharedMemory as WebAssembly.Global).value = memory.buffer instanceof ArrayBuffer ? 0 : 1;
  jit.attach(instance.exports as unknown as CoreExports & WebAssembly.Exports);
  return instance.exports as unknown as CoreExports;
}
