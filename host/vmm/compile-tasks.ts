/**
 * One background compile task for V8's WebAssembly tiers (issue 16, goal 8: host RSS).
 *
 * V8 tiers the core's hot functions up to TurboFan on its compiler threads. The largest of them
 * (the decoder's decode32 and the interpreter's execBlock, 7-14 KB of Wasm each) take about
 * 2.8 MB of compiler zone memory apiece; compiled at the same time on several threads, each
 * thread's glibc arena keeps its peak, and the process's RSS stays 2-3 MiB higher for good (a
 * DomU that touches 0.15 MiB peaked at 57.5-58.3 MB, and at 54.7-55.7 MB with one task; the
 * tier-up itself takes the same CPU either way). The flag is read when tier-up work is scheduled,
 * so setting it when the first VM is built, after the core was compiled, is in time. In a browser
 * node:v8 is a stub that throws: the page's engine is not ours to tune.
 */
import { setFlagsFromString } from 'node:v8';

let set = false;

/** Ask V8 for one background WebAssembly compile task (once per process). */
export function oneWasmCompileTask(): void {
  if (set) return;
  set = true;
  try {
    setFlagsFromString('--wasm-num-compilation-tasks=1');
  } catch {
    // not Node (host/web): nothing to do
  }
}

/**
 * V8 11.3's default for the flag (`node --v8-options`). V8's code cache records a hash of the
 * flags as they are when it is made, and refuses it under other flags: bin/wasmvisor.cjs puts
 * the flag back with `restoreV8Flags` before it writes the CLI's cache at exit, so that the
 * next start (default flags) accepts it.
 */
const DEFAULT_WASM_COMPILATION_TASKS = 128;

/** Undo `oneWasmCompileTask` (at exit, before the code cache is made). */
export function restoreV8Flags(): void {
  if (!set) return;
  set = false;
  try {
    setFlagsFromString(`--wasm-num-compilation-tasks=${DEFAULT_WASM_COMPILATION_TASKS}`);
  } catch {
    // not Node
  }
}
