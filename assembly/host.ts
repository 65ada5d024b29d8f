// Everything the core imports from the host, in one place (STYLE 5):
//
//   env.memory      the machine's WebAssembly.Memory (asc --importMemory): layout in abi.ts
//   env.table       the function table (asc --importTable): the core's own entries, then the
//                   compiled regions of tier 2 from JIT_TABLE_BASE on
//   env.abort       AssemblyScript's abort hook, reached only by failed assertions (debug builds)
//   env.jitCompile  compile the Wasm module at ptr..ptr+len and install its function `f` at
//                   table index JIT_TABLE_BASE + slot. Returns 1 when installed, 2 when the
//                   compile goes on in the background (the host calls jitReady later), 0 when
//                   the module was refused. The generated module imports the core's exports
//                   as module "c" and the memory as env.memory (see jit/emit.ts).
//   env.jitRelease  table slot `slot` is free again: drop the function there.
//
// Device work is never done through these: the host handles it after run() returns an exit.

@external('env', 'jitCompile')
export declare function jitCompile(ptr: usize, len: u32, slot: u32, seq: u32): u32;

@external('env', 'jitRelease')
export declare function jitRelease(slot: u32): void;
