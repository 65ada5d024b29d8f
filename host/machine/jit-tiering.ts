/**
 * V8's tier-up budget for the JIT's modules (issue 16: boots are not slower with the JIT).
 *
 * V8 runs a new Wasm function in Liftoff, its baseline tier, and recompiles it with TurboFan on a
 * background thread once it has spent its tiering budget (`--wasm-tiering-budget`, default
 * 1,800,000). Liftoff charges each loop back edge with the bytes of the loop's code, and a
 * region's function is one loop over its blocks (assembly/jit/emit.ts), so a region of 8-10 KB of
 * Wasm was sent to TurboFan after some 200 iterations: of the 8 regions of a Linux boot to the
 * prompt, 5-6 were recompiled, 50-90 ms of a compiler thread each on this loaded machine, when
 * most of them ran 30 K-500 K guest instructions in all (docs/jit.md, "Boots are not slower").
 * With JIT_TIERING_BUDGET a region stays in Liftoff (still far faster than the interpreter) for
 * about 100 K iterations of a 10 KB region, a few hundred thousand guest instructions, and only
 * the loops that keep running get TurboFan: the bench workloads' loops run hundreds of millions.
 *
 * V8 reads the flag when it creates a module's code (the NativeModule; an instance made later
 * keeps its module's budget, measured), so it is set at the first region's compile: the core,
 * compiled before any machine runs, keeps the default budget for its own tier-up. Process-wide:
 * a core compiled after that (host/lib's configureCore called late) would tier up 550x later.
 * In a browser node:v8 is a stub that throws: the page's engine is not ours to tune.
 */
import { setFlagsFromString } from 'node:v8';

/** `--wasm-tiering-budget` for the JIT's modules (V8's default is 1,800,000). */
export const JIT_TIERING_BUDGET = 1_000_000_000;

let set = false;

/** Give modules compiled from now on JIT_TIERING_BUDGET (once per process; call after the core is compiled). */
export function jitTieringBudget(): void {
  if (set) return;
  set = true;
  try {
    setFlagsFromString(`--wasm-tiering-budget=${JIT_TIERING_BUDGET}`);
  } catch {
    // not Node (host/web): nothing to do
  }
}
