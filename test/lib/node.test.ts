// The Node library as a consumer gets it: `npm pack`, unpacked into a temp project, imported by
// name ('wasmvisor'), run on the package's own guests; its types checked by tsc.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { consumerProject, packTarball, root, sh } from './consumer';

const minikernelText = readFileSync(join(root, 'guests/expected/minikernel/minikernel.txt'), 'utf8');
const helloText = readFileSync(join(root, 'guests/expected/demo/hello.txt'), 'utf8');

const runJs = `
import { createMachine, createVm, createXenHost } from 'wasmvisor';
const pkg = new URL('./node_modules/wasmvisor/', import.meta.url).pathname;
const out = [];
const text = (b) => out.push(Buffer.from(b).toString('latin1'));
const vm = await createVm({ image: pkg + 'guests/bin/minikernel/minikernel.elf', deterministic: true, onConsoleOutput: text });
const r = await vm.run({ timeoutMs: 60000 });
process.stdout.write(JSON.stringify({ what: 'vm', reason: r.reason, exitCode: r.exitCode, out: out.join('') }) + '\\n');
out.length = 0;
const m = await createMachine({ image: pkg + 'guests/bin/demo/hello.elf', deterministic: true, onConsoleOutput: text });
const r2 = await m.run({ timeoutMs: 60000 });
process.stdout.write(JSON.stringify({ what: 'machine', reason: r2.reason, exitCode: r2.exitCode, out: out.join('') }) + '\\n');
const host = await createXenHost({ config: pkg + 'guests/xen/demo.cfg', deterministic: true });
const how = await host.run({ timeoutMs: 60000 });
process.stdout.write(JSON.stringify({ what: 'xen', how, domains: host.xl.records().map((d) => [d.cfg.name, d.end?.reason, d.end?.exitCode]) }) + '\\n');
`;

const consumerTs = `
import { createMachine, createVm, configureCore, type VmOptions, type RunResult } from 'wasmvisor';
import { createVm as createWebVm, type VmStats } from 'wasmvisor/web';
const options: VmOptions = { image: 'k.elf', virt: 'trap', paging: 'shadow', memSize: 64 << 20 };
export async function main(): Promise<number> {
  configureCore('build/core.wasm');
  const vm = await createVm(options);
  const r: RunResult = await vm.run({ timeoutMs: 1000 });
  const m = await createMachine({ image: new Uint8Array(4), bios: 'fw.bin' });
  await m.run({ maxInstructions: 10n });
  const w = await createWebVm({ image: '/k.elf', combo: 'trap+shadow' });
  w.addEventListener('stats', (e) => { const s: VmStats = (e as CustomEvent<VmStats>).detail; console.log(s.instructionsPerSecond); });
  return r.exitCode;
}
`;
const tsconfig = JSON.stringify({
  compilerOptions: {
    target: 'es2022', module: 'esnext', moduleResolution: 'bundler', strict: true, noEmit: true,
    lib: ['es2022', 'dom'], types: ['node'], typeRoots: [join(root, 'node_modules/@types')],
  },
  files: ['consumer.ts'],
});

describe('wasmvisor as an npm package, from Node', () => {
  let tgz: string;
  beforeAll(() => { tgz = packTarball(); }, 120_000);

  it('createVm, createMachine and createXenHost run the bundled guests', () => {
    const dir = consumerProject(tgz, { 'run.mjs': runJs });
    const r = sh(process.execPath, ['run.mjs'], dir);
    expect(r.stderr).toBe('');
    const [vm, machine, xen] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(vm).toEqual({ what: 'vm', reason: 'exit', exitCode: 0, out: minikernelText });
    expect(machine).toEqual({ what: 'machine', reason: 'exit', exitCode: 0, out: helloText });
    expect(xen.what).toBe('xen');
    expect(xen.how).toBe('done');
    expect(xen.domains).toEqual([['domu1', 'poweroff', 0], ['domu2', 'poweroff', 0]]);
  }, 180_000);

  it("the README's Node snippet runs as written", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const snippet = /```js\n(import \{ createVm \} from 'wasmvisor';[\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const dir = consumerProject(tgz, { 'snippet.mjs': snippet! });
    expect(sh(process.execPath, ['snippet.mjs'], dir)).toEqual({ status: 0, stdout: minikernelText, stderr: '' });
  }, 60_000);

  it('a missing core is an error naming the path it tried', () => {
    const dir = consumerProject(tgz, {
      'configured.mjs': `import { configureCore } from 'wasmvisor';\ntry { configureCore('/nowhere/core.wasm'); } catch (e) { console.log(e.message); }`,
      'default.mjs': `import { createMachine } from 'wasmvisor';\ntry { await createMachine({ image: new Uint8Array([0x73, 0, 0x50, 0x10]) }); } catch (e) { console.log(e.message); }`,
    });
    expect(sh(process.execPath, ['configured.mjs'], dir).stdout)
      .toBe('wasmvisor: core not found: /nowhere/core.wasm (the core option; build it with `npm run build`)\n');
    // (on Node the default core is the one importing a shared memory: scripts/shared-core.mjs)
    rmSync(join(dir, 'node_modules/wasmvisor/build/core.shared.wasm'));
    const expected = join(dir, 'node_modules/wasmvisor/build/core.shared.wasm');
    expect(sh(process.execPath, ['default.mjs'], dir).stdout)
      .toBe(`build/core.shared.wasm not found (tried ${expected}, ${join(dir, 'node_modules/wasmvisor/dist/build/core.shared.wasm')}): run \`npm run build\`, or give the library a core (configureCore)\n`);
  }, 60_000);

  it('a TypeScript consumer type-checks against the published .d.ts, and a wrong option does not', () => {
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const dir = consumerProject(tgz, { 'consumer.ts': consumerTs, 'tsconfig.json': tsconfig });
    const ok = sh(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const bad = consumerProject(tgz, { 'consumer.ts': consumerTs.replace("virt: 'trap'", "virt: 'fast'"), 'tsconfig.json': tsconfig });
    const r = sh(process.execPath, [tsc, '-p', 'tsconfig.json'], bad);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^consumer\.ts\(\d+,\d+\): error TS2322: Type '"fast"' is not assignable to type /);
  }, 300_000);
});
