/**
 * The host half of tier 2 (assembly/jit/): the core emits a Wasm module for a hot region and
 * calls jitCompile; this compiles it, instantiates it against the core's exports (module "c")
 * and memory, and installs its one function in the shared table at JIT_TABLE_BASE + slot, where
 * the core's dispatcher calls it. Free slots are managed by the core; release() only drops the
 * function so the module can be collected.
 */
import { JIT_TABLE_BASE } from '../../assembly/abi';
import { defaultJitMode, jitModeValue, type CoreExports } from './core';
import type { HartState } from './hart';
import type { JitConfig } from './types';

/** Write a machine's or VM's JIT configuration into the hart (read by the core at each run()). */
export function applyJitConfig(hart: HartState, cfg: JitConfig): void {
  hart.jitMode = jitModeValue(cfg.jit ?? defaultJitMode());
  hart.jitThreshold = cfg.jitThreshold ?? 0;
  hart.jitCodeLimit = cfg.jitCodeLimit ?? 0;
  hart.jitMaxBlocks = cfg.jitMaxBlocks ?? 0;
}

/** jitCompile's answers (assembly/host.ts). */
const FAILED = 0;
const COMPILED = 1;
const PENDING = 2;

/** Host-side JIT counters (the core keeps the rest in STATE). */
export interface JitHostStats {
  /** Host time spent compiling and instantiating generated modules, in ms. */
  compileMs: number;
  /** Modules the engine refused (a bug in the emitter: the region then stays interpreted). */
  refused: number;
}

export class JitHost {
  private core?: CoreExports & WebAssembly.Exports;
  private imports?: WebAssembly.Imports;
  readonly stats: JitHostStats = { compileMs: 0, refused: 0 };
  /** The first refusal's message (emitter bugs show up in tests). */
  lastError = '';

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
    const bytes = new Uint8Array(this.memory.buffer, ptr, len);
    if (this.background) {
      const copy = bytes.slice();
      WebAssembly.instantiate(copy, this.imports!).then(
        ({ instance }) => {
          if (this.core!.jitReady(slot, seq, true)) this.table.set(JIT_TABLE_BASE + slot, instance.exports.f as Function);
        },
        (e) => {
          this.refuse(e);
          this.core!.jitReady(slot, seq, false);
        },
      );
      return PENDING;
    }
    const t0 = performance.now();
    try {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), this.imports!);
      this.table.set(JIT_TABLE_BASE + slot, instance.exports.f as Function);
      return COMPILED;
    } catch (e) {
      this.refuse(e);
      return FAILED;
    } finally {
      this.stats.compileMs += performance.now() - t0;
    }
  }

  /** env.jitRelease: the slot is free; drop its function. */
  release(slot: number): void {
    this.table.set(JIT_TABLE_BASE + slot, null);
  }

  private refuse(e: unknown): void {
    this.stats.refused++;
    if (!this.lastError) this.lastError = e instanceof Error ? e.message : String(e);
  }
}
