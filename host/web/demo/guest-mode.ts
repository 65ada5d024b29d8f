/**
 * Which guest the demo page starts with and how a bundled guest runs: shared by the page's
 * bootstrap (boot.ts, inlined into index.html) and the page itself (main.ts).
 */
import type { VmMode } from '../protocol';

/** The guest of an address without `?guest=`. */
export const DEFAULT_GUEST = 'minikernel/minikernel.elf';
/** The Linux guest (guests/bin/linux): booted as a VM with its initramfs, console on ttyS0. */
export const LINUX_GUEST = 'linux/Image';

/**
 * How a bundled guest runs: the S-mode kernels (minikernel, vmbench) as virtual machines, the
 * M-mode programs (demo, isa, priv, bench) on the bare board. Linux runs as a VM too (on the bare
 * board it would need OpenSBI, which the page does not bundle).
 */
export function guestMode(path: string): VmMode {
  return /^(minikernel|vmbench|linux)\//.test(path) ? 'vm' : 'bare';
}

/** The first guest an address names and its mode (`?guest=`, `?mode=`), or undefined for a Xen host (`?xen=`). */
export function firstGuest(params: URLSearchParams): { path: string; mode: VmMode } | undefined {
  if (params.get('xen') !== null) return undefined;
  const path = params.get('guest') ?? DEFAULT_GUEST;
  const m = params.get('mode');
  return { path, mode: m === 'vm' || m === 'bare' ? m : guestMode(path) };
}
