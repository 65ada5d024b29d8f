/**
 * TLB stress alone, for profiling the 2D/1D ratio (`node --cpu-prof dist/tlb-profile.mjs vm|bare|both [reps]`):
 * guests/bin/bench/tlbstress.elf on the bare machine (1D walks) or guests/bin/vmbench/tlbstress.elf
 * in a VM (2D walks), as bench/vm.ts runs them, timed by wall clock and CPU time. Not part of
 * `npm run bench`; bundle it with
 * `npx esbuild bench/tlb-profile.ts --bundle --platform=node --format=esm --outfile=dist/tlb-profile.mjs`.
 */
import { readFileSync } from 'node:fs';
import { parseImage } from '../host/machine/loader';
import { Vm, KERNEL_RAW_BASE } from '../host/vmm/vm';
import { runWasmvisor, MEM_SIZE } from './wasmvisor';

async function main(): Promise<void> {
  const reps = Number(process.argv[3] ?? 3);
  for (let j = 0; j < reps * (process.argv[2] === 'both' ? 2 : 1); j++) {
    const which = process.argv[2] === 'both' ? (j % 2 === 0 ? 'bare' : 'vm') : process.argv[2] ?? 'vm';
    const i = j;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let instructions = 0n;
    if (which === 'bare') {
      const r = await runWasmvisor(new Uint8Array(readFileSync('guests/bin/bench/tlbstress.elf')), 'tlbstress.elf', 600_000);
      instructions = r.instructions;
      if (process.env.ROWS) console.log(`  tlb misses ${r.stats.tlbMisses}, walks ${r.stats.pageWalks}, traps ${r.stats.traps}, jit ${JSON.stringify(r.stats.jit, (_, v) => typeof v === 'bigint' ? String(v) : v)}`);
    } else {
      const vm = await Vm.create({ memSize: MEM_SIZE, kernel: parseImage(new Uint8Array(readFileSync('guests/bin/vmbench/tlbstress.elf')), 'tlbstress.elf', KERNEL_RAW_BASE), deterministic: true });
      const r = await vm.run({ timeoutMs: 600_000 });
      if (r.reason !== 'exit' || r.exitCode !== 0) throw new Error(`vm: ${r.reason} ${r.exitCode}`);
      instructions = r.instructions;
      if (process.env.ROWS) console.log(`  hart ${JSON.stringify(vm.hart.counters(), (_, v) => typeof v === 'bigint' ? String(v) : v)}`);
      if (process.env.ROWS) for (const row of vm.exits.rows()) console.log(`  ${row.reason}: ${row.count} exits, mean ${row.meanNs.toFixed(0)} ns`);
    }
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    console.log(`${which} run ${i}: ${ms.toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms CPU, ${instructions} instructions`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
