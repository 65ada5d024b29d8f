// host/machine/shared-memory.ts: on Node the core and every JIT region import a shared memory, so
// that V8 does not count a machine's RAM as external memory (issue 16, start-up).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { coreModule, createMemory } from '../../host/machine/core';
import { withSharedMemoryImport } from '../../host/machine/shared-memory';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A module: imports env.f (func), env.g (global i32), env.memory with `limits`, exports load(addr) -> i32. */
function moduleWith(limits: number[], sizeWidth = 1, fname = 'f'): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const imports = [
    3, // count
    ...str('env'), ...str(fname), 0, 0, // func, type 0
    ...str('env'), ...str('g'), 3, 0x7f, 0, // global i32, immutable
    ...str('env'), ...str('memory'), 2, ...limits,
  ];
  const size = (n: number) => (sizeWidth === 1 ? [n] : [(n & 0x7f) | 0x80, ...Array(sizeWidth - 2).fill(0x80), 0]);
  const section = (id: number, body: number[], w = 1) => [id, ...(w === 1 ? [body.length] : size(body.length)), ...body];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [2, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f]), // types: ()->(), (i32)->i32
    ...section(2, imports, sizeWidth),
    ...section(3, [1, 1]), // one function of type 1
    ...section(7, [1, ...str('load'), 0, 1]), // export function 1 (after the imported f)
    ...section(10, [1, 7, 0, 0x20, 0, 0x28, 2, 0, 0x0b]), // local.get 0; i32.load align=2; end
  ]);
}

describe('withSharedMemoryImport', () => {
  const shared = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
  new DataView(shared.buffer).setUint32(8, 0x12345678, true);
  const imports = { env: { f: () => {}, g: 7, memory: shared } };
  const load = (bytes: Uint8Array, env: Record<string, unknown> = imports.env) => (new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env } as WebAssembly.Imports).exports.load as (a: number) => number)(8);

  for (const [what, limits, width] of [
    ['no maximum, as a JIT region writes it (5-byte section size)', [0, 0], 5],
    ['no maximum, a 1-byte section size', [0, 1], 1],
    ['a maximum, as asc writes the core\'s', [1, 1, 0x80, 0x80, 0x04], 1],
  ] as const) {
    it(`makes the import shared: ${what}`, () => {
      const plain = moduleWith([...limits], width);
      expect(() => load(plain)).toThrow(WebAssembly.LinkError); // an unshared import refuses a shared memory
      const patched = withSharedMemoryImport(plain)!;
      expect(load(patched)).toBe(0x12345678);
      expect(plain).toEqual(moduleWith([...limits], width)); // the input is left alone
      expect(withSharedMemoryImport(patched)).toEqual(patched); // already shared: unchanged
    });
  }

  it('a section size that no longer fits in its one byte grows to two', () => {
    // a func import's name long enough that the section is 125-127 bytes: +3 makes it 128-130
    const importAt = (b: Uint8Array) => 8 + 2 + b[9]; // after the header and the type section
    let name = 'f';
    while (moduleWith([0, 0], 1, name)[importAt(moduleWith([0, 0], 1, name)) + 1] < 125) name += 'x';
    const plain = moduleWith([0, 0], 1, name);
    const at = importAt(plain);
    expect(plain[at]).toBe(2);
    expect(plain[at + 1]).toBeGreaterThanOrEqual(125);
    expect(plain[at + 1]).toBeLessThan(128);
    const patched = withSharedMemoryImport(plain)!;
    expect(patched.length).toBe(plain.length + 4); // a byte of size and 3 of maximum
    expect([patched[at + 1], patched[at + 2]]).toEqual([((plain[at + 1] + 3) & 0x7f) | 0x80, 1]);
    expect(load(patched, { ...imports.env, [name]: () => {} })).toBe(0x12345678);
  });

  it('a module without a memory import: null', () => {
    const none = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0]);
    expect(withSharedMemoryImport(none)).toBeNull();
  });
});

describe('the core on Node', () => {
  it('imports a shared memory, and machines get one', () => {
    expect(WebAssembly.Module.imports(coreModule()).find((i) => i.name === 'memory')?.kind).toBe('memory');
    const m = createMemory(1 << 20);
    expect(m.buffer).toBeInstanceOf(SharedArrayBuffer);
    // build/core.wasm itself stays unshared (a browser page gets it as it is)
    const raw = new WebAssembly.Module(readFileSync(join(ROOT, 'build/core.wasm')));
    const f = () => 0;
    const table = new WebAssembly.Table({ initial: 1, element: 'anyfunc' });
    expect(() => new WebAssembly.Instance(raw, { env: { memory: m, table, abort: f, jitCompile: f, jitRelease: f } })).toThrow(WebAssembly.LinkError);
  });
});
