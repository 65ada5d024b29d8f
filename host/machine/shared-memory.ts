/**
 * A shared WebAssembly.Memory for the machine on Node (issue 16, start-up).
 *
 * V8 counts a non-shared Memory's length as external memory, and a 128 MiB VM's is past its
 * initial limit: creating one starts a garbage collection of a heap that has barely anything in
 * it (~44 M instructions in a trivial run, docs/performance.md "Start-up"); a shared one counts
 * 0. A module links a shared memory only if its import says so, so the build writes the core
 * twice: build/core.wasm (browsers: a shared memory needs cross-origin isolation there) and
 * build/core.shared.wasm, whose memory import is shared (scripts/shared-core.mjs). Node loads the
 * latter (host/machine/core.ts, bin/wasmvisor.cjs), and the core then emits each JIT region's
 * import shared as well (its jitSharedMemory global, assembly/jit/module.ts).
 */

/** The core that imports a shared memory, in build/ (and dist/ for the library). */
export const SHARED_CORE = 'core.shared.wasm';

/** Whether this host gives machines a shared memory (Node; not a browser page). */
export function sharedMemoryHost(): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}
