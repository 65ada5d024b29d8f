// build/core.shared.wasm: the core importing a shared memory, the variant Node loads (issue 16,
// start-up). Written by scripts/build.mjs's core step from asc's build/core.wasm.
//
// Why shared on Node: V8 counts the length of every non-shared ArrayBuffer as external memory, a
// Wasm memory's too. A 128 MiB VM's Memory (RAM plus the core's regions, ~156 MB) is past V8's
// initial external limit of 64 MB, so creating it starts an incremental Mark-Compact and a
// Scavenge of a heap that has barely anything in it: ~44 M instructions in a trivial run
// (docs/performance.md "Start-up"). A shared memory's accounting length is 0 (V8's
// `BackingStore::PerIsolateAccountingLength`), so it causes none of that. Its pages are the same:
// lazily committed, zero until written. A browser page needs cross-origin isolation for a shared
// memory, so dist/web keeps build/core.wasm.
//
// How: a module accepts a shared memory only if its import says so (WebAssembly threads
// proposal: memory type limits flag 0x03, shared with a maximum; Core spec 5.3.8 for 0x00/0x01).
// asc writes the import with a maximum (--importMemory --maximumMemory: flag 0x01), so the
// shared variant is the same bytes with that one flag set to 0x03: asc's own --sharedMemory
// (with --enable threads) gives exactly these bytes (compared byte for byte, asc 0.28.20) at the
// cost of a second 14 s compile. Plain loads and stores compile to the same code either way.
// The JIT's regions import the same memory: the core emits their import shared when the host
// sets its jitSharedMemory global (assembly/jit/module.ts, host/machine/core.ts).

/** Wasm section id of the import section (Core spec 5.5.5) and the import kinds. */
const SEC_IMPORT = 2;
const KIND_FUNC = 0;
const KIND_TABLE = 1;
const KIND_MEMORY = 2;
const KIND_GLOBAL = 3;
/** Limits flags: 0x01 has a maximum; 0x02 shared (threads proposal). */
const HAS_MAX = 1;
const SHARED = 2;

/** An unsigned LEB128 at `p` of `b`: [value, position after it]. */
function leb(b, p) {
  let v = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    const x = b[p++];
    if (x === undefined) break;
    v += (x & 0x7f) * 2 ** shift;
    if ((x & 0x80) === 0) return [v, p];
  }
  throw new RangeError('bad LEB128');
}

/**
 * The core's bytes with its memory import made shared: a copy with the import's limits flag
 * 0x01 set to 0x03. Throws when the module has no memory import with a maximum (asc's layout
 * changed: the build must fail, not ship a core Node cannot link).
 */
export function sharedCore(bytes) {
  let p = 8; // magic and version
  while (p < bytes.length) {
    const id = bytes[p];
    const [size, body] = leb(bytes, p + 1);
    if (id !== SEC_IMPORT) {
      p = body + size;
      continue;
    }
    let [count, q] = leb(bytes, body);
    for (; count > 0; count--) {
      for (let n = 0; n < 2; n++) {
        const [len, after] = leb(bytes, q); // module name, then field name
        q = after + len;
      }
      const kind = bytes[q++];
      if (kind === KIND_MEMORY) {
        if (bytes[q] !== HAS_MAX) throw new Error(`core: memory import limits flag ${bytes[q]}, not ${HAS_MAX} (a maximum, not shared)`);
        const out = Uint8Array.from(bytes);
        out[q] = HAS_MAX | SHARED;
        return out;
      }
      if (kind === KIND_FUNC) q = leb(bytes, q)[1]; // type index
      else if (kind === KIND_GLOBAL) q += 2; // valtype, mutability
      else if (kind === KIND_TABLE) {
        const flags = bytes[q + 1]; // after the reftype
        q = leb(bytes, q + 2)[1];
        if (flags & HAS_MAX) q = leb(bytes, q)[1];
      } else throw new Error(`core: import kind ${kind}`);
    }
    break;
  }
  throw new Error('core: no memory import');
}
