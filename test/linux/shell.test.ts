/**
 * Linux 6.1 + busybox (guests/bin/linux) to a shell prompt, then a fixed command script typed on
 * the console, as a VM and on the bare board behind OpenSBI, with the JIT and with --jit off;
 * `poweroff` must end wasmvisor with exit code 0. The same script runs on
 * qemu-system-riscv64 -M virt (its own OpenSBI), and the three shell transcripts must agree
 * once the lines that legitimately differ are masked (see `mask`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { oracle } from '../oracles';
import { CPUINFO_WASMVISOR, EXPECTED, MOUNTS, SCRIPT } from './script';
import { BANNER, haveImages, Session, type Where } from './session';

/**
 * Masking for the cross-engine comparison. Legitimately different:
 * - /proc/cpuinfo `isa`, `mmu` and the vendor/arch/implementation ids: QEMU 7.2's hart has
 *   more extensions (h, zicbom, zihintpause, ...) and Sv57; its ids are those of QEMU;
 * - sizes in `mount` (devtmpfs/rootfs size= and nr_inodes=): OpenSBI reserves RAM in bare mode
 *   and on QEMU, a VM's RAM is all the kernel's.
 */
function mask(lines: string[]): string[] {
  return lines.map((l) =>
    l
      .replace(/^(isa|mmu|mvendorid|marchid|mimpid|uarch)(\s+): .*/, '$1$2: <masked>')
      .replace(/(size|nr_inodes)=\d+k?/g, '$1=<n>'),
  );
}

type Transcript = Map<string, string[]>;
const transcripts = new Map<string, Transcript>();
const sessions: Session[] = [];
afterAll(() => sessions.forEach((s) => s.kill()));

/** Boot, run SCRIPT, power off; the transcript, the boot time and the exit code. */
async function session(where: Where, jit: 'on' | 'off'): Promise<{ t: Transcript; bootMs: number; code: number | null; s: Session }> {
  const s = new Session(where, jit);
  sessions.push(s);
  const bootMs = await s.boot(180_000);
  const t: Transcript = new Map();
  for (const cmd of SCRIPT) t.set(cmd, await s.run(cmd));
  const code = await s.poweroff(60_000);
  return { t, bootMs, code, s };
}

const BOOT_TIMEOUT = 300_000;
const haveSbi = haveImages() && oracle('opensbi', 'test/linux/shell.test.ts');

describe.skipIf(!haveImages())('Linux + busybox on wasmvisor', () => {
  const cases: [Where, 'on' | 'off'][] = [
    ['vm', 'on'],
    ['vm', 'off'],
    ['bare', 'on'],
    ['bare', 'off'],
  ];
  for (const [where, jit] of cases) {
    it.skipIf(where === 'bare' && !haveSbi)(
      `${where === 'vm' ? 'VM mode' : 'bare + OpenSBI'}, --jit ${jit}: banner, prompt, the script's exact output, poweroff exits 0`,
      async () => {
        const { t, bootMs, code, s } = await session(where, jit);
        if (jit === 'on') transcripts.set(where, t);
        console.log(`linux ${where} --jit ${jit}: prompt after ${(bootMs / 1000).toFixed(1)} s`);
        expect(s.out).toContain(`\n${BANNER}\n`);
        for (const [cmd, lines] of Object.entries(EXPECTED)) expect(t.get(cmd), cmd).toEqual(lines);
        expect(t.get('cat /proc/cpuinfo')).toEqual(CPUINFO_WASMVISOR);
        expect(t.get('mount')).toEqual(MOUNTS);
        expect(s.out).toContain('reboot: Power down');
        expect(code).toBe(0);
      },
      BOOT_TIMEOUT,
    );
  }

  it.skipIf(!haveSbi || !oracle('qemu', 'test/linux/shell.test.ts'))(
    'the shell transcript on qemu-system-riscv64 -M virt equals the VM and bare ones, masked',
    async () => {
      const { t, s } = await session('qemu', 'on');
      expect(s.out).toContain(`\n${BANNER}\n`);
      const masked = (tr: Transcript | undefined) => (tr === undefined ? undefined : SCRIPT.map((c) => [c, mask(tr.get(c) ?? [])]));
      const qemu = masked(t);
      for (const where of ['vm', 'bare']) {
        const ours = masked(transcripts.get(where));
        expect(ours, `${where} transcript (its test must have passed)`).toBeDefined();
        expect(ours).toEqual(qemu);
      }
    },
    BOOT_TIMEOUT,
  );
});
