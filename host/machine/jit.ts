/**
 * The host half of tier 2 (assembly/jit/): the core emits a Wasm module for a hot region and
 * calls jitCompile; this compiles it, instantiates it against the core's exports (module "c")
 * and memory, and installs its one function in the shared table at JIT_TABLE_BASE + slot, where
 * the core's dispatcher calls it. Free slots are managed by the core; release() only drops the
 * function so the module can be collected.
 */
import { JIT_ALWAYS, JIT_OFF, JIT_ON, JIT_TABLE_BASE } from '../../assembly/abi';
import type { CoreExports } from './core';
import { jitTieringBudget } from './jit-tiering';
import type { HartState } from './hart';
import type { JitConfig } from './types';

/** Tier 2 of the BT cache: off, on (hot regions compiled), always (every block on first run). */
export type JitMode = 'off' | 'on' | 'always';

/** The JIT mode of new machines: WASMVISOR_JIT in the environment (tests run the suite under each), else 'on'. */
export function defaultJitMode(): JitMode {
  const env = typeof process !== 'undefined' ? process.env?.WASMVISOR_JIT : undefined;
  return env === 'off' || env === 'always' || env === 'on' ? env : 'on';
}

/** The S_JIT_MODE value of a mode. */
function jitModeValue(mode: JitMode): number {
  return mode === 'off' ? JIT_OFF : mode === 'always' ? JIT_ALWAYS : JIT_ON;
}

/** Write a machine's or VM's JIT configuration into the hart (read by the core at each run()). */
export function applyJitConfig(hart: HartState, cfg: JitConfig): void {
  hart.jitMode = jitModeValue(cfg.jit ?? defaultJitMode());
  hart.jitThreshold = cfg.jitThreshold ?? 0;
  hart.jitCodeLimit = cfg.jitCodeLimit ?? 0;
  hart.jitMaxBlocks = cfg.jitMaxBlocks ?? 0;
}

/**
 * Whether a machine compiles its hot regions in the background: cfg.jitBackground when given,
 * else yes with `--jit on` unless the machine is deterministic. A background compile
 * (WebAssembly.instantiate, on the engine's compiler threads) keeps compiles off the run loop:
 * the region stays interpreted until its module is installed, at the run loop's next yield.
 * Synchronous compiles stalled a Linux boot for seconds (docs/jit.md, "Compile off the critical
 * path"). Deterministic machines compile synchronously, so which blocks run compiled, and so
 * the host time of each slice, depend only on the instruction stream (guest-visible state never
 * depends on the tier). `--jit always` compiles synchronously: its point is to run every block
 * compiled from its first run.
 */
export function jitInBackground(cfg: JitConfig & { deterministic?: boolean }): boolean {
  if (cfg.jitBackground !== undefined) return cfg.jitBackground;
  return (cfg.jit ?? defaultJitMode()) === 'on' && cfg.deterministic !== true;
}

/** jitCompile's answers (assembly/host.ts). */
const FAILED = 0;
const COMPILED = 1;
const PENDING = 2;

export class JitHost {
  private core?: CoreExports & WebAssembly.Exports;
  private imports?: WebAssembly.Imports;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly table: WebAssembly.Table,
    private readonly background: boolean,
  ) {}

  /** The core instance whose exports generated code imports. */
  attach(core: CoreExports & WebAssembly.Exports): void {
    this.core = core;
    this.imports = { c: core, env: { memory: this.memory } };
  }

  /** env.jitCompile: the module's bytes are at ptr..ptr+len of the core's memory. */
  compile(ptr: number, len: number, slot: number, seq: number): number {
    jitTieringBudget(); // (the core, running, is compiled: the budget is for the regions only)
    // (the core emitted the memory import shared when its memory is: assembly/jit/module.ts)
    const bytes = new Uint8Array(this.memory.buffer, ptr, len);
    if (this.background) {
      // (no copy of our own: instantiate copies the bytes before it returns, WebAssembly JS API
      // "get a copy of the buffer source", so the core may reuse JIT_BUF at once)
      WebAssembly.instantiate(bytes, this.imports!).then(
        ({ instance }) => {
          if (this.core!.jitReady(slot, seq, true)) this.table.set(JIT_TABLE_BASE + slot, instance.exports.f as Function);
        },
        // A module the engine refuses (an emitter bug) leaves its region interpreted; the
        // core counts it among the regions not compiled (--stats).
        () => this.core!.jitReady(slot, seq, false),
      );
      return PENDING;
    }
    try {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), this.imports!);
      this.table.set(JIT_TABLE_BASE + slot, instance.exports.f as Function);
      return COMPILED;
    } catch {
      return FAILED;
    }
  }

  /** env.jitRelease: the slot is free; drop its function. */
  release(slot: number): void {
    this.table.set(JIT_TABLE_BASE + slot, null);
  }
}
