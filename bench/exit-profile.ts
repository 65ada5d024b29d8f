/**
 * The exit path alone, for profiling (`node --cpu-prof dist/exit-profile.mjs [N]`): the
 * round-trip guest of vm.ts (N SBI calls, each an exit to the TypeScript handler and back) in
 * one VM, timed by wall clock and by the process's CPU time (less disturbed by other processes
 * on a shared machine); prints ns per exit. A fourth argument 'ts' turns in-core SBI off. Not part of `npm run bench`; bundle it with
 * `npx esbuild bench/exit-profile.ts --bundle --platform=node --format=esm --outfile=dist/exit-profile.mjs`.
 */
import { parseImage } from '../host/machine/loader';
import { Vm, KERNEL_RAW_BASE } from '../host/vmm/vm';
import { roundTripGuest } from './vm';
import { MEM_SIZE } from './wasmvisor';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 2_000_000);
  const reps = Number(process.argv[3] ?? 5);
  const sbiInCore = process.argv[4] !== 'ts'; // 'ts': every call to the TypeScript handler
  let best = Infinity;
  let bestCpu = Infinity;
  for (let i = 0; i < reps; i++) {
    const vm = await Vm.create({ memSize: MEM_SIZE, kernel: parseImage(roundTripGuest(n, true), 'roundtrip.bin', KERNEL_RAW_BASE), deterministic: true, sbiInCore });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await vm.run({ timeoutMs: 600_000 });
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const cpuMs = (c.user + c.system) / 1000;
    bestCpu = Math.min(bestCpu, cpuMs);
    if (r.reason !== 'exit' || r.exitCode !== 0) throw new Error(`roundtrip: ${r.reason} ${r.exitCode}`);
    best = Math.min(best, ms);
    console.log(`run ${i}: ${((ms * 1e6) / n).toFixed(0)} ns per exit wall, ${((cpuMs * 1e6) / n).toFixed(0)} ns CPU (${vm.exits.exits} exits)`);
  }
  console.log(`best: ${((best * 1e6) / n).toFixed(0)} ns per exit wall, ${((bestCpu * 1e6) / n).toFixed(0)} ns CPU`);
}
main().catch((e) => { console.error(e); process.exit(1); });
