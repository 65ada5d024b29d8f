/**
 * Linux to the shell prompt as a VM, in-process, with where the time goes (`node dist/linux-profile.mjs [on|off] [reps]`):
 * wall and CPU time to the prompt, guest instructions (and MIPS over the running time), VM exits
 * by reason (count, mean), the time the vCPU slept in WFI and how late its wake-ups were.
 * Not part of `npm run bench`; bundle it with
 * `npx esbuild bench/linux-profile.ts --bundle --platform=node --format=esm --outfile=dist/linux-profile.mjs`.
 */
import { readFileSync } from 'node:fs';
import { parseImage } from '../host/machine/loader';
import { Vm, KERNEL_RAW_BASE } from '../host/vmm/vm';

const PROMPT = '\n/ # ';

async function main(): Promise<void> {
  const jit = (process.argv[2] ?? 'on') as 'on' | 'off';
  const reps = Number(process.argv[3] ?? 1);
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let text = '';
    let at = 0;
    let vm: Vm | undefined;
    vm = await Vm.create({
      memSize: 128 * 2 ** 20,
      kernel: parseImage(new Uint8Array(readFileSync('guests/bin/linux/Image')), 'Image', KERNEL_RAW_BASE),
      jit,
      boot: { append: 'console=ttyS0', initrd: { name: 'initramfs.cpio.gz', data: new Uint8Array(readFileSync('guests/bin/linux/initramfs.cpio.gz')) } },
      onConsoleOutput: (b) => {
        if (at) return;
        text = (text + Buffer.from(b).toString('latin1').replace(/\r/g, '')).slice(-8);
        if (text.includes(PROMPT)) { at = performance.now() - t0; vm?.stop(); }
      },
    });
    const tc = performance.now() - t0;
    const cc = process.cpuUsage(c0);
    const r = await vm.run({ timeoutMs: 60_000 });
    const c = process.cpuUsage(c0);
    console.log(`run ${i} --jit ${jit}: create ${tc.toFixed(0)} ms (${((cc.user + cc.system) / 1000).toFixed(0)} CPU), prompt at ${at.toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms CPU, ${r.instructions} instructions`);
    if (process.env.ROWS) {
      for (const row of vm.exits.rows()) console.log(`  ${row.reason}: ${row.count} exits, mean ${row.meanNs.toFixed(0)} ns`);
      console.log(`  walks ${JSON.stringify(vm.walkCounters(), (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      console.log(`  hart ${JSON.stringify(vm.hart.counters(), (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    }
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
