/**
 * Loading the Wasm core: one compiled module per process, one instance per machine, each
 * instance over its own WebAssembly.Memory (Wasm bounds are the outer isolation wall).
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RAM_OFFSET, JIT_TABLE_BASE, JIT_MAX_SLOTS, S_JIT_MODE, JIT_OFF, JIT_ON, JIT_ALWAYS } from '../../assembly/abi';
import { JitHost } from './jit';

/** The functions the core exports (assembly/index.ts). */
export interface CoreExports {
  init(ramSize: bigint): void;
  reset(entry: bigint, a0: bigint, a1: bigint, a2: bigint): void;
  run(budget: bigint): number;
  invalidateRam(paddr: bigint, len: bigint): void;
  flushAll(): void;
  /** Drop cached translations (TLB, G-stage page-walk cache) but keep decoded code: hfence.gvma. */
  flushTlb(): void;
  mtimeNow(): bigint;
  decodeInto(word: number, rec: number): void;
  /** Blocks of one instruction, so run(1n) executes exactly one. */
  setSingleStep(on: boolean): void;
  /**
   * Enter the guest described by the VMCS (H extension, HS external) and run it until a VM
   * exit; returns the exit reason (EXIT_VM_TRAP, EXIT_HALT, EXIT_BUDGET...). See assembly/index.ts.
   */
  vmRun(): number;
  /** A background compile of slot `slot` finished: true if the region is still wanted. */
  jitReady(slot: number, seq: number, ok: boolean): boolean;
}

/** Tier 2 of the BT cache: off, on (hot regions compiled), always (every block on first run). */
export type JitMode = 'off' | 'on' | 'always';

/** The JIT mode of new machines: WASMVISOR_JIT in the environment (tests run the suite under each), else 'on'. */
export function defaultJitMode(): JitMode {
  const env = typeof process !== 'undefined' ? process.env?.WASMVISOR_JIT : undefined;
  return env === 'off' || env === 'always' || env === 'on' ? env : 'on';
}

/** The S_JIT_MODE value of a mode. */
export function jitModeValue(mode: JitMode): number {
  return mode === 'off' ? JIT_OFF : mode === 'always' ? JIT_ALWAYS : JIT_ON;
}
export { S_JIT_MODE };

let compiled: WebAssembly.Module | undefined;

function corePath(): string {
  // From the sources (host/machine/) or from the bundle (dist/).
  for (const rel of ['../../build/core.wasm', '../build/core.wasm']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('build/core.wasm not found: run `npm run build`');
}

/**
 * Use an already compiled core module (browsers: a Worker compiles build/core.wasm
 * asynchronously from a URL or bytes, then hands the module here before creating machines).
 */
export function setCoreModule(module: WebAssembly.Module): void {
  compiled = module;
}

/** The compiled core module (set by setCoreModule, or on Node compiled synchronously on first use). */
export function coreModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(corePath()));
  return compiled;
}

/** A memory large enough for the core's regions and `ramSize` bytes of guest RAM. */
export function createMemory(ramSize: number): WebAssembly.Memory {
  const pages = Math.ceil((RAM_OFFSET + ramSize) / 65536);
  return new WebAssembly.Memory({ initial: pages, maximum: pages });
}

/** A core instance and the host half of its JIT. */
export interface CoreInstance {
  core: CoreExports;
  jit: JitHost;
}

/**
 * Instantiate the core over `memory`. `asyncJit`: compile generated code in the background
 * (browsers, where synchronous compiles of large modules are not allowed on the main thread and
 * would stall a Worker); Node compiles synchronously, so a hot region runs compiled at once.
 */
export function instantiateCore(memory: WebAssembly.Memory, asyncJit = false): CoreExports {
  return instantiateCoreWithJit(memory, asyncJit).core;
}

/** instantiateCore, also returning the JIT's host half (its statistics). */
export function instantiateCoreWithJit(memory: WebAssembly.Memory, asyncJit = false): CoreInstance {
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
  jit.attach(instance.exports as unknown as CoreExports & WebAssembly.Exports);
  return { core: instance.exports as unknown as CoreExports, jit };
}
