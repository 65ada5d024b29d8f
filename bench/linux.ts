/**
 * Linux boot time: from process start to busybox's shell prompt, for the committed Linux guest
 * (guests/bin/linux: Image + initramfs.cpio.gz, console=ttyS0), in one run, side by side:
 *
 * - wasmvisor as a VM (`npm run linux`), with --jit on and --jit off;
 * - wasmvisor's bare board behind Debian's OpenSBI (fw_dynamic.bin), --jit on;
 * - QEMU TCG `-M virt` behind its own OpenSBI, the same Image and initramfs.
 *
 * Each is one boot of a whole process (`node bin/wasmvisor.mjs run ...`, Node's start included,
 * as QEMU's process start is), killed once the prompt is on its console.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QEMU } from './qemu';

const OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin';
/** The shell prompt (guests/linux/rootfs/etc/profile: PS1='\w # ', in /). */
const PROMPT = '\n/ # ';
const TIMEOUT_MS = 600_000;

/** Milliseconds to the prompt (null when that engine is not available). */
export interface LinuxBench {
  vmJitMs: number;
  vmInterpMs: number;
  /**
   * The lab workload (`rdinit=/etc/init.d/lab`: boot, ten fork+exec, sha256sum of busybox,
   * poweroff) as a VM to its last line, --jit on and off: the JIT check's Linux pair besides the
   * prompt (docs/jit.md, "Boots are not slower").
   */
  labJitMs: number;
  labInterpMs: number;
  /** Runs of each --jit on / off boot, alternated; the figures are the best of them. */
  runs: number;
  bareOpenSbiMs: number | null;
  qemuOpenSbiMs: number | null;
}

/** The lab workload's last line (guests/linux/rootfs/etc/init.d/lab). */
const LAB_DONE = 'lab workload done';

function toPrompt(cmd: string, args: string[], what: string, until = PROMPT): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`linux: ${what} showed no ${JSON.stringify(until)} within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
    p.stdout.on('data', (d: Buffer) => {
      text += d.toString('latin1').replace(/\r/g, '');
      if (text.includes(until)) {
        const ms = performance.now() - t0;
        clearTimeout(timer);
        p.kill('SIGKILL');
        resolve(ms);
      }
    });
    p.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`linux: ${what} ended (code ${code}) before ${JSON.stringify(until)}`));
    });
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Boot the Linux guest on each engine once; the --jit on / off pairs `runs` times each, in turn
 * (on, off, on, off...), keeping the best: one boot each moved 20-40 % between runs on this
 * shared 2-core machine, enough to flag the JIT or hide it.
 */
export async function linuxBenchmarks(root: string, useQemu: boolean, log: (s: string) => void, runs = 1): Promise<LinuxBench> {
  const image = join(root, 'guests/bin/linux/Image');
  const initrd = join(root, 'guests/bin/linux/initramfs.cpio.gz');
  if (!existsSync(image) || !existsSync(initrd)) throw new Error(`${image} or ${initrd} is missing (make -C guests linux)`);
  const boot = ['--initrd', initrd, '--append', 'console=ttyS0'];
  const cli = (extra: string[]) => [join(root, 'bin/wasmvisor.mjs'), 'run', ...extra, image, ...boot];
  const lab = (jit: string) => [join(root, 'bin/wasmvisor.mjs'), 'run', '--jit', jit, image, '--initrd', initrd, '--append', 'console=ttyS0 quiet rdinit=/etc/init.d/lab'];
  const best = { vmJitMs: Infinity, vmInterpMs: Infinity, labJitMs: Infinity, labInterpMs: Infinity };
  for (let i = 0; i < Math.max(1, runs); i++) {
    best.vmJitMs = Math.min(best.vmJitMs, await toPrompt(process.execPath, cli(['--jit', 'on']), 'wasmvisor VM'));
    best.vmInterpMs = Math.min(best.vmInterpMs, await toPrompt(process.execPath, cli(['--jit', 'off']), 'wasmvisor VM --jit off'));
    best.labJitMs = Math.min(best.labJitMs, await toPrompt(process.execPath, lab('on'), 'wasmvisor VM, lab workload', LAB_DONE));
    best.labInterpMs = Math.min(best.labInterpMs, await toPrompt(process.execPath, lab('off'), 'wasmvisor VM, lab workload, --jit off', LAB_DONE));
  }
  const r: LinuxBench = {
    ...best,
    runs: Math.max(1, runs),
    bareOpenSbiMs: existsSync(OPENSBI) ? await toPrompt(process.execPath, cli(['--bare', '--bios', OPENSBI]), 'wasmvisor bare + OpenSBI') : null,
    qemuOpenSbiMs: useQemu
      ? await toPrompt(QEMU, ['-M', 'virt', '-m', '128M', '-nographic', '-kernel', image, '-initrd', initrd, '-append', 'console=ttyS0'], 'QEMU')
      : null,
  };
  log(`bench: Linux to the shell prompt: ${formatLine(r)}`);
  return r;
}

function formatLine(b: LinuxBench): string {
  const f = (v: number | null) => (v == null ? '-' : `${(v / 1000).toFixed(2)} s`);
  return `wasmvisor VM ${f(b.vmJitMs)} (--jit off ${f(b.vmInterpMs)}), bare + OpenSBI ${f(b.bareOpenSbiMs)}, QEMU TCG + OpenSBI ${f(b.qemuOpenSbiMs)}\n` +
    `lab workload (boot, fork+exec x10, sha256sum, poweroff) as a VM: ${f(b.labJitMs)} (--jit off ${f(b.labInterpMs)}); --jit on/off best of ${b.runs}`;
}

/** The Linux section as text. */
export function formatLinuxBench(b: LinuxBench): string {
  return ['Linux 6.1 + busybox: boot to the shell prompt (whole process)', '-------------------------------------------------------------', formatLine(b)].join(
    '\n',
  );
}
