// The shared-memory core (issue 16, start-up): the build writes build/core.shared.wasm, whose
// memory import is shared (scripts/shared-core.mjs); Node loads it, machines get a shared memory,
// and the core emits each JIT region's memory import shared too (assembly/jit/module.ts). A
// host with build/core.wasm (a browser page) keeps an unshared memory and unshared regions.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { coreModule, createMemory, setCoreModule } from '../../host/machine/core';
import { loadImageFile } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
// @ts-expect-error: a build script (plain JavaScript, no declarations)
import { sharedCore } from '../../scripts/shared-core.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sharedCoreOf = sharedCore as (b: Uint8Array) => Uint8Array;

/** A module: imports env.f (func), env.t (table), env.g (global i32), env.memory with `limits`; exports load(addr) -> i32. */
function moduleWith(limits: number[] | null): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const imports = [
    limits ? 4 : 3, // count
    ...str('env'), ...str('f'), 0, 0, // func, type 0
    ...str('env'), ...str('t'), 1, 0x70, 1, 1, 4, // table funcref, min 1 max 4
    ...str('env'), ...str('g'), 3, 0x7f, 0, // global i32, immutable
    ...(limits ? [...str('env'), ...str('memory'), 2, ...limits] : []),
  ];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [2, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f]), // types: ()->(), (i32)->i32
    ...section(2, imports),
    ...section(3, [1, 1]), // one function of type 1
    ...section(7, [1, ...str('load'), 0, 1]), // export function 1 (after the imported f)
    ...section(10, [1, 7, 0, 0x20, 0, 0x28, 2, 0, 0x0b]), // local.get 0; i32.load align=2; end
  ]);
}

describe('sharedCore (scripts/shared-core.mjs)', () => {
  const shared = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
  new DataView(shared.buffer).setUint32(8, 0x12345678, true);
  const env = { f: () => {}, t: new WebAssembly.Table({ initial: 1, maximum: 4, element: 'anyfunc' }), g: 7, memory: shared };
  const load = (bytes: Uint8Array) => (new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env }).exports.load as (a: number) => number)(8);

  it('sets the flag of a memory import with a maximum (asc\'s layout) to shared, and nothing else', () => {
    const plain = moduleWith([1, 1, 0x80, 0x80, 0x04]);
    expect(() => load(plain)).toThrow(WebAssembly.LinkError); // an unshared import refuses a shared memory
    const out = sharedCoreOf(plain);
    expect(load(out)).toBe(0x12345678);
    const diff = [...out].flatMap((b, i) => (b !== plain[i] ? [[plain[i], b]] : []));
    expect(diff).toEqual([[1, 3]]);
    expect(plain).toEqual(moduleWith([1, 1, 0x80, 0x80, 0x04])); // the input is left alone
  });

  it('refuses a memory without a maximum, and a module without a memory import (the build fails)', () => {
    expect(() => sharedCoreOf(moduleWith([0, 1]))).toThrow('core: memory import limits flag 0, not 1');
    expect(() => sharedCoreOf(moduleWith(null))).toThrow('core: no memory import');
  });

  it('build/core.shared.wasm is build/core.wasm with that one flag', () => {
    const plain = readFileSync(join(ROOT, 'build/core.wasm'));
    const built = readFileSync(join(ROOT, 'build/core.shared.wasm'));
    expect(Buffer.from(sharedCoreOf(plain)).equals(built)).toBe(true);
    expect([...built].filter((b, i) => b !== plain[i]).length).toBe(1);
  });
});

const CRC32 = join(ROOT, 'guests/bin/bench/crc32.elf');

/** crc32 to its end with every block compiled: the JIT's counters and the console. */
async function crc32Compiled(): Promise<{ out: string; compiles: bigint; failures: bigint }> {
  let out = '';
  const m = await Machine.create({
    memSize: 16 << 20, kernel: loadImageFile(CRC32, 0x80000000n), jit: 'always',
    onConsoleOutput: (b) => { out += Buffer.from(b).toString('latin1'); },
  });
  const r = await m.run({ timeoutMs: 60_000 });
  expect([r.reason, r.exitCode]).toEqual(['exit', 0]);
  const s = m.stats();
  return { out, compiles: s.jit.compiles, failures: s.jit.failures };
}

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

  it('JIT regions link the shared memory; with build/core.wasm (a page\'s core) they link an unshared one', async () => {
    const sharedRun = await crc32Compiled();
    expect(sharedRun.failures).toBe(0n);
    expect(sharedRun.compiles).toBeGreaterThan(0n);
    setCoreModule(new WebAssembly.Module(readFileSync(join(ROOT, 'build/core.wasm'))), false);
    try {
      expect(createMemory(1 << 20).buffer).toBeInstanceOf(ArrayBuffer);
      const plainRun = await crc32Compiled();
      expect(plainRun.failures).toBe(0n);
      expect(plainRun.compiles).toBe(sharedRun.compiles); // the same regions, each compiled
      expect(plainRun.out).toBe(sharedRun.out);
    } finally {
      setCoreModule(new WebAssembly.Module(readFileSync(join(ROOT, 'build/core.shared.wasm'))), true);
    }
  }, 120_000);
});
