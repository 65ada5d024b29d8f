// AssemblyScript's number types as TypeScript sees them, so that assembly/abi.ts (typed for
// the core) is also plain TypeScript for the host. Every ABI value fits in a double exactly.
type usize = number;
type u64 = number;
type u32 = number;
