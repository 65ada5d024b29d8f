// Everything the core imports from the host, in one place (STYLE 5):
//
//   env.memory  the machine's WebAssembly.Memory (asc --importMemory): layout in abi.ts
//   env.abort   AssemblyScript's abort hook, reached only by failed assertions (debug builds)
//
// There are no other imports: device work is done by the host after run() returns an exit,
// never by a call out of the middle of an instruction.
export {};
