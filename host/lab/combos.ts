/**
 * The lab's combinations (issue 13, part 5): every meaningful pair of a CPU technique (--virt)
 * and a memory technique (--paging), in the order the lab's table shows them.
 *
 *   hw   + nested   the H extension, G-stage tables (the default)
 *   hw   + shadow   the H extension with hstatus.VTVM: the VMM's shadow table in vsatp, hgatp Bare
 *   trap + shadow   trap-and-emulate, shadow page tables
 *   bt   + shadow   binary translation of sensitive instructions, shadow page tables
 *   pv   + pv MMU   paravirtual CPU and MMU: the guest's page-table updates are hypercalls
 *                   (Xen's mmu_update), so its paging is neither nested nor shadow
 *
 * Whether this build runs a combination is asked of the one place that decides it for the
 * command line: the argument parser (host/cli/args.ts), given exactly the options the lab will
 * use. Each technique's branch teaches the parser its mode, so the lab, its tests and the web
 * page's picker pick it up with no edit here.
 */
import { parseArgs, type RunOptions } from '../cli/args';
import type { LoadedImage } from '../machine/types';
import type { PagingMode, VirtMode } from '../vmm/virt/technique';

/** One row of the lab. */
export interface Combo {
  /** Short name, the row's label and its JSON key: "hw+nested", "pv+pvmmu". */
  readonly id: string;
  readonly virt: VirtMode;
  /** The paging the technique runs; 'pv' is the paravirtual MMU (no --paging option). */
  readonly paging: PagingMode | 'pv';
  /** What the row means, for help texts and the web page. */
  readonly title: string;
  /** The run options that select it (what `wasmvisor run` is given). */
  readonly args: readonly string[];
  /** Only a kernel written for it can use it (pv: the kernel must make the hypercalls). */
  readonly needsPvKernel?: boolean;
}

/**
 * Every combination, supported here or not. A technique with one paging of its own is selected
 * by --virt alone (trap, bt and pv), so the lab never names a paging its parser may refuse.
 */
export const COMBOS: readonly Combo[] = [
  { id: 'hw+nested', virt: 'hw', paging: 'nested', title: 'H extension, nested paging (G-stage)', args: ['--virt', 'hw', '--paging', 'nested'] },
  { id: 'hw+shadow', virt: 'hw', paging: 'shadow', title: 'H extension, shadow page tables (hstatus.VTVM)', args: ['--virt', 'hw', '--paging', 'shadow'] },
  { id: 'trap+shadow', virt: 'trap', paging: 'shadow', title: 'trap-and-emulate, shadow page tables', args: ['--virt', 'trap'] },
  { id: 'bt+shadow', virt: 'bt', paging: 'shadow', title: 'binary translation, shadow page tables', args: ['--virt', 'bt'] },
  { id: 'pv+pvmmu', virt: 'pv', paging: 'pv', title: 'paravirtual CPU and MMU (hypercalls, batched mmu_update)', args: ['--virt', 'pv'], needsPvKernel: true },
];

/**
 * A Linux kernel Image: the RISC-V boot image header's magic2 "RSC\x05" at byte 56
 * (Documentation/riscv/boot-image-header.rst), in the image's first segment.
 */
export function isLinuxImage(kernel: LoadedImage): boolean {
  const d = kernel.segments[0]?.data;
  return d !== undefined && d.length >= 60 && d[56] === 0x52 && d[57] === 0x53 && d[58] === 0x43 && d[59] === 0x05;
}

/**
 * Why `combo` does not apply to `kernel`, or undefined when it does. pv needs a kernel that
 * makes its hypercalls (pv-abi.ts): there is no paravirtual RISC-V Linux (Linux's paravirt ops
 * and Xen PV guests exist only for x86), so under --virt pv Linux would just run trap-and-emulate.
 */
export function notApplicable(combo: Combo, kernel: LoadedImage): string | undefined {
  if (combo.needsPvKernel && isLinuxImage(kernel)) return 'no paravirtual RISC-V Linux exists';
  return undefined;
}

/** The run options of `combo` on top of `runArgs` (IMAGE and VM options such as --mem): what the parser makes of them. */
export function comboOptions(combo: Combo, runArgs: readonly string[]): RunOptions {
  const cmd = parseArgs(['run', ...combo.args, ...runArgs]);
  if (cmd.kind !== 'run') throw new Error(`lab: ${combo.id}: the parser gave '${cmd.kind}'`);
  return cmd.options;
}

/** Whether this build runs `combo`: the argument parser accepts its options. */
export function isSupported(combo: Combo): boolean {
  try {
    comboOptions(combo, ['lab.elf']);
    return true;
  } catch {
    return false;
  }
}

/** The combinations this build runs, in table order. */
export function supportedCombos(): Combo[] {
  return COMBOS.filter(isSupported);
}
