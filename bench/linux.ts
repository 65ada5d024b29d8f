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
  bareOpenSbiMs: number | null;
  qemuOpenSbiMs: number | null;
}

function toPrompt(cmd: string, args: string[], what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`linux: ${what} showed no shell prompt within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
    p.stdout.on('data', (d: Buffer) => {
      text += d.toString('latin1').replace(/\r/g, '');
      if (text.includes(PROMPT)) {
        const ms = performance.now() - t0;
        clearTimeout(timer);
        p.kill('SIGKILL');
        resolve(ms);
      }
    });
    p.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`linux: ${what} ended (code ${code}) before the shell prompt`));
    });
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Boot the Linux guest on each engine once. */
export async function linuxBenchmarks(root: string, useQemu: boolean, log: (s: string) => void): Promise<LinuxBench> {
  const image = join(root, 'guests/bin/linux/Image');
  const initrd = join(root, 'guests/bin/linux/initramfs.cpio.gz');
  if (!existsSync(image) || !existsSync(initrd)) throw new Error(`${image} or ${initrd} is missing (make -C guests linux)`);
  const boot = ['--initrd', initrd, '--append', 'console=ttyS0'];
  const cli = (extra: string[]) => [join(root, 'bin/wasmvisor.mjs'), 'run', ...extra, image, ...boot];
  const r: LinuxBench = {
    vmJitMs: await toPrompt(process.execPath, cli(['--jit', 'on']), 'wasmvisor VM'),
    vmInterpMs: await toPrompt(process.execPath, cli(['--jit', 'off']), 'wasmvisor VM --jit off'),
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
  return `wasmvisor VM ${f(b.vmJitMs)} (--jit off ${f(b.vmInterpMs)}), bare + OpenSBI ${f(b.bareOpenSbiMs)}, QEMU TCG + OpenSBI ${f(b.qemuOpenSbiMs)}`;
}

/** The Linux section as text. */
export function formatLinuxBench(b: LinuxBench): string {
  return ['Linux 6.1 + busybox: boot to the shell prompt (one run each, whole process)', '--------------------------------------------------------------------------', formatLine(b)].join(
    '\n',
  );
}
