/**
 * A shared WebAssembly.Memory for the machine on Node (issue 16, start-up).
 *
 * V8 counts the length of every non-shared ArrayBuffer as external memory, a Wasm memory's too.
 * A 128 MiB VM's Memory (RAM plus the core's regions, ~156 MB) is past V8's initial external
 * limit of 64 MB, so creating it starts an incremental Mark-Compact and a Scavenge of a heap that
 * has barely anything in it: ~44 M instructions (concurrent marking, sweeping, the pauses, and the
 * marking steps that every later ArrayBuffer allocation advances on the main thread) in a
 * trivial run, docs/performance.md "Start-up". A shared memory's accounting length is 0 (V8's
 * `BackingStore::PerIsolateAccountingLength`), so it causes none of that. The memory's pages are
 * the same either way: lazily committed, zero until written.
 *
 * A module imports a shared memory only if its import says `shared` (WebAssembly threads
 * proposal, memory type limits flag 0x03: shared, with a maximum; Core spec 5.3.8 for 0x00/0x01),
 * so the core's bytes and every JIT region's module are rewritten here before they are compiled:
 * the import of env.memory gets flag 0x03 and a maximum of 65536 pages (4 GiB, the most a 32-bit
 * memory has; an import's maximum only bounds the memory it accepts). Nothing else changes:
 * plain loads and stores compile to the same code on a shared memory, and nothing here grows it.
 *
 * Only Node uses it. A browser needs cross-origin isolation for a shared memory, and host/web
 * hands the core over already compiled (setCoreModule), so its memories stay unshared.
 */

/** Wasm section id of the import section (Core spec 5.5.5) and the import kind of a memory. */
const SEC_IMPORT = 2;
const KIND_MEMORY = 2;
/** Limits flags: 0x01 has a maximum; 0x02 shared (threads proposal). */
const HAS_MAX = 1;
const SHARED = 2;
/** The largest maximum of a 32-bit memory, in 64 KiB pages, as LEB128. */
const MAX_PAGES_LEB = [0x80, 0x80, 0x04];

/** Whether this host can give machines a shared memory (Node; not a browser page). */
export function sharedMemoryHost(): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** An unsigned LEB128 at `p`: its value and the position after it. */
function leb(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    if (p >= b.length || shift > 28) throw new RangeError('bad LEB128');
    const x = b[p++];
    v += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if ((x & 0x80) === 0) return [v, p];
  }
}

/** `v` as LEB128 in exactly `width` bytes (non-minimal encodings are valid, Core spec 5.2.2). */
function lebFixed(v: number, width: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    out.push((v & 0x7f) | (i < width - 1 ? 0x80 : 0));
    v = Math.floor(v / 128);
  }
  if (v !== 0) throw new RangeError('LEB128 too wide');
  return out;
}

/**
 * `bytes` (a Wasm module) with its memory import made shared, or null when it imports no
 * memory. A new array; an import already shared comes back unchanged (copied). Throws a
 * RangeError on bytes it cannot parse (a module V8 would refuse anyway).
 */
export function withSharedMemoryImport(bytes: Uint8Array): Uint8Array<ArrayBuffer> | null {
  let p = 8; // magic and version
  while (p < bytes.length) {
    const id = bytes[p];
    const sizeAt = p + 1;
    const [size, body] = leb(bytes, sizeAt);
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
      if (kind !== KIND_MEMORY) {
        q = skipImportDesc(bytes, kind, q);
        continue;
      }
      const flags = bytes[q];
      if (flags & SHARED) return bytes.slice();
      const [, afterMin] = leb(bytes, q + 1);
      if (flags & HAS_MAX) {
        const out = bytes.slice();
        out[q] = flags | SHARED;
        return out;
      }
      // No maximum: flag 0x03 and the maximum after the minimum, 3 bytes more in the section,
      // whose size is written again in the width it had (wider only if it must be).
      const newSize = size + MAX_PAGES_LEB.length;
      let width = body - sizeAt;
      while (newSize >= 2 ** (7 * width)) width++;
      const shift = sizeAt + width - body; // how far the section's body moves
      const out = new Uint8Array(bytes.length + shift + MAX_PAGES_LEB.length);
      out.set(bytes.subarray(0, sizeAt), 0);
      out.set(lebFixed(newSize, width), sizeAt);
      out.set(bytes.subarray(body, q), body + shift);
      out[q + shift] = HAS_MAX | SHARED;
      out.set(bytes.subarray(q + 1, afterMin), q + 1 + shift);
      out.set(MAX_PAGES_LEB, afterMin + shift);
      out.set(bytes.subarray(afterMin), afterMin + shift + MAX_PAGES_LEB.length);
      return out;
    }
    return null;
  }
  return null;
}

/** The position after an import's description of kind func (0), table (1) or global (3). */
function skipImportDesc(b: Uint8Array, kind: number, q: number): number {
  switch (kind) {
    case 0: return leb(b, q)[1]; // type index
    case 1: { // reftype, limits
      const flags = b[q + 1];
      const [, afterMin] = leb(b, q + 2);
      return flags & HAS_MAX ? leb(b, afterMin)[1] : afterMin;
    }
    case 3: return q + 2; // valtype, mutability
    default: throw new RangeError(`import kind ${kind}`);
  }
}
