/**
 * `--virt bt`: binary translation of the guest kernel's sensitive instructions, as VMware's VMM
 * did for x86 (Adams and Agesen, ASPLOS 2006). Everything trap-and-emulate does stays (trap.ts):
 * the kernel runs deprivileged in U-mode on a shadow table, its traps come to this VMM. What
 * changes is the kernel's code: when the core decodes a block of it (virtual S-mode), it classes
 * each instruction (assembly/btvirt.ts):
 *
 *   ident     runs as decoded
 *   inline    a CSR access of the virtual CSR file (the VMCS fields trap-csr.ts emulates
 *             against), done inside the core: no trap, no exit
 *   call-out  sret, wfi, sfence.vma, writes of satp and stimecmp: the core exits here with the
 *             instruction (VM_EXIT_CAUSE = CAUSE_BT_CALLOUT), no trap taken; emulated as trap.ts
 *             emulates it after an illegal-instruction trap
 *
 * Guest user code (virtual U) runs untranslated, so its own sensitive instructions (rdtime with
 * the guest's scounteren.TM clear, a stray sret) still trap and are handled by trap.ts.
 *
 * Counting (TechniqueCounters): static counts are summed by the core as blocks are decoded; the
 * dynamic ones are exact per instruction at no cost per block: inline sites count themselves in
 * the core, call-outs are counted here, and ident = what the virtual-S entries retired minus the
 * inline sites (each entry runs in one virtual privilege: only the VMM changes it). An
 * instruction that traps (a page fault, an ecall to SBI) counts when it retires.
 */
import { CAUSE_BT_CALLOUT, CAUSE_BT_RESYNC } from '../../../assembly/abi';
import { TrapTechnique } from './trap';
import type { ReasonId, TechniqueCounters, VirtMode } from './technique';

const CALLOUT = Number(CAUSE_BT_CALLOUT);
const RESYNC = Number(CAUSE_BT_RESYNC);

/** The binary-translation technique. */
export class BtTechnique extends TrapTechnique {
  override readonly mode: VirtMode = 'bt';
  /** Call-outs emulated (dynamic). */
  private callouts = 0;
  /** Instructions retired by entries in virtual S (all of them translated). */
  private kernelRetired = 0;

  override reset(): void {
    super.reset();
    this.cpu.vm.hart.btOn = 1n;
    this.callouts = 0;
    this.kernelRetired = 0;
  }

  override enter(): number {
    const exit = super.enter();
    const v = this.cpu.vm.vmcs;
    // VM_PRIV is the privilege of the entry that just ended: the core never changes it.
    if (v.priv === 1n) this.kernelRetired += Number(v.exitInstructions);
    return exit;
  }

  override handleTrap(): ReasonId {
    const v = this.cpu.vm.vmcs;
    if (!v.exitIsInterrupt) {
      const code = v.exitCauseCode;
      if (code === CALLOUT) return this.callout();
      // An inline sstatus write changed SUM or MXR: enter() activates that view's shadow.
      if (code === RESYNC) return this.id('BT: sstatus.SUM/MXR written (new shadow view)');
    }
    return super.handleTrap();
  }

  /** A call-out: the instruction is in VM_EXIT_INSN, pc at it; emulate as after a trap. */
  private callout(): ReasonId {
    const v = this.cpu.vm.vmcs;
    const insn = Number(v.exitInsn & 0xffff_ffffn);
    this.callouts++;
    const r = this.emulate(insn, true, true);
    return r ?? this.cpu.fail(`BT call-out of an instruction the VMM does not emulate (0x${insn.toString(16)})`);
  }

  override counters(): TechniqueCounters {
    const c = super.counters();
    const h = this.cpu.vm.hart;
    c.btStatic = { ident: Number(h.statBtIdent), inline: Number(h.statBtInline), callout: Number(h.statBtCallout) };
    const inline = Number(h.statBtInlineRun);
    c.btDynamic = { ident: this.kernelRetired - inline, inline, callout: this.callouts };
    return c;
  }
}

/** BT's counters as the CLI's --stats prints them (after the shadow table's). */
export function formatBtStats(c: TechniqueCounters): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const row = (what: string, k: TechniqueCounters['btStatic']) =>
    `  ${what.padEnd(28)} ${n(k.ident)} ident, ${n(k.inline)} inline, ${n(k.callout)} call-out\n`;
  return 'wasmvisor binary translation (--virt bt)\n' +
    row('classed at translation', c.btStatic) +
    row('executed', c.btDynamic) +
    `  privileged emulated by VMM   ${n(c.emulated)} (call-outs, and traps from virtual U)\n`;
}
