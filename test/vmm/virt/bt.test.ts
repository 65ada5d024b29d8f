/**
 * Binary translation (--virt bt, host/vmm/virt/bt.ts, assembly/btvirt.ts) on tiny raw S-mode
 * guests: the class counts of each translated block (static) and of each execution (dynamic),
 * inline CSR sites against trap-and-emulate's results, call-outs, the prompt delivery of an
 * interrupt an inline write enables, and blocks keyed by the virtual privilege. Each runs with
 * the JIT off and with every block compiled on its first run (JIT 'always').
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../../host/machine/loader';
import { Vm } from '../../../host/vmm/vm';
import type { BtTechnique } from '../../../host/vmm/virt/bt';
import * as E from '../../diff/encode';
import { A0, A1, A2, assemble, csrrs, csrrw, shutdown, T0, T1, T2 } from '../guests';

const BASE = 0x80200000n;
const A3 = 13, A4 = 14, A5 = 15, S0 = 8;
const SRET = 0x10200073;
const SFENCE_VMA = 0x12000073;
const CSR = {
  sstatus: 0x100, sie: 0x104, stvec: 0x105, scounteren: 0x106, senvcfg: 0x10a, sscratch: 0x140, sepc: 0x141,
  scause: 0x142, stval: 0x143, sip: 0x144, stimecmp: 0x14d, satp: 0x180,
};
const csrrc = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x73) >>> 0;
const csrrsi = (rd: number, csr: number, imm: number) => ((csr << 20) | (imm << 15) | (6 << 12) | (rd << 7) | 0x73) >>> 0;
const JITS = ['off', 'always'] as const;

async function run(words: number[], virt: 'hw' | 'trap' | 'bt', jit: 'off' | 'on' | 'always' = 'off', maxInstructions = 5_000n) {
  const vm = await Vm.create({
    memSize: 16 << 20, kernel: parseImage(assemble(words), 'guest.bin', BASE), deterministic: true, virt, jit,
    // 'on' at the JIT's pre-issue-16 threshold, so these short loops compile.
    jitThreshold: jit === 'on' ? 64 : undefined,
  });
  const r = await vm.run({ maxInstructions, timeoutMs: 30_000 });
  const reasons: Record<string, number> = Object.fromEntries(vm.exits.rows().map((row) => [row.reason, row.count]));
  return { vm, r, reasons };
}

/** Exit reasons of a privileged instruction emulated after an illegal-instruction trap (trap.ts). */
const trapEmulated = (reasons: Record<string, number>) =>
  Object.keys(reasons).filter((k) => /^(csr |sret|wfi|sfence).*\(emulated\)$/.test(k));

describe('--virt bt: classing and counting', () => {
  // Blocks (every CSR instruction and every call-out ends one; the ecall ends the last):
  //   1  addi t1, x0, 5; csrw sscratch, t1           ident 1, inline 1
  //   2  csrr a0, sscratch                            inline 1
  //   3  addi a1, a0, 1; sfence.vma                   ident 1, call-out 1
  //   4  addi a2, a1, 1; addi a2, a2, 1; csrr a3, sstatus   ident 2, inline 1
  //   5  shutdown: addi a0; addi a1; lui+addiw a7; addi a6; ecall   ident 6
  const words = [
    E.aluI('addi', T1, 0, 5), csrrw(0, CSR.sscratch, T1),
    csrrs(A0, CSR.sscratch, 0),
    E.aluI('addi', A1, A0, 1), SFENCE_VMA,
    E.aluI('addi', A2, A1, 1), E.aluI('addi', A2, A2, 1), csrrs(A3, CSR.sstatus, 0),
    ...shutdown(0),
  ];

  for (const jit of JITS) {
    it(`counts each class exactly, statically per translated block and per execution (JIT ${jit})`, async () => {
      const { vm, r, reasons } = await run(words, 'bt', jit);
      expect([r.reason, r.exitCode, r.failure]).toEqual(['exit', 0, undefined]);
      const v = vm.vmcs;
      expect([v.x(A0), v.x(A2), v.x(A3)]).toEqual([0n, 8n, 2n << 32n]); // a0, a1 rewritten by shutdown(); sstatus = UXL only
      expect(v.vsscratch).toBe(5n);
      const c = (vm.vcpu.technique as BtTechnique).counters();
      expect(c.btStatic).toEqual({ ident: 1 + 0 + 1 + 2 + 6, inline: 3, callout: 1 });
      // The ecall is not retired by the core (it exits to SBI, which steps over it): 9 ident run.
      expect(c.btDynamic).toEqual({ ident: 9, inline: 3, callout: 1 });
      expect(c.emulated).toBe(1);
      // No illegal-instruction trap for any of them: one call-out exit, one SBI exit.
      expect(trapEmulated(reasons)).toEqual([]);
      expect(reasons).toEqual({ 'BT call-out: sfence.vma': 1, 'SBI ecall (SRST system_reset)': 1, 'page fault: shadow fill (fetch)': 1 });
      if (jit === 'always') {
        // Compiled, inline sites included (a region with one imports the core's btCsr).
        const j = vm.hart.jitStats();
        expect(j.compiles).toBe(2n); // blocks 1-3 (inline sites do not end a region; the call-out does), then 4-5
        expect(j.failures).toBe(0n);
      }
    });
  }

  it('the same guest under --virt trap takes a trap for each of the four sensitive instructions', async () => {
    const { vm, reasons } = await run(words, 'trap');
    expect(vm.vmcs.x(A3)).toBe(2n << 32n);
    expect(trapEmulated(reasons).sort()).toEqual(['csr read sscratch (emulated)', 'csr read sstatus (emulated)', 'csr write sscratch (emulated)', 'sfence.vma (emulated)']);
    expect((vm.vcpu.technique.counters?.())?.btStatic).toEqual({ ident: 0, inline: 0, callout: 0 });
  });

  it('a loop runs its translated block again: dynamic counts grow per execution, static ones do not', async () => {
    // t2 = 10; loop: csrr a4, sscratch (inline, block 2) ; addi t2, t2, -1; bne t2, x0, loop (block 3: 2 ident)
    const loop = [E.aluI('addi', T2, 0, 10), csrrs(A4, CSR.sscratch, 0), E.aluI('addi', T2, T2, -1), E.branch('bne', T2, 0, -8), ...shutdown(0)];
    for (const jit of JITS) {
      const { vm } = await run(loop, 'bt', jit);
      const c = (vm.vcpu.technique as BtTechnique).counters();
      // Blocks: [addi t2; csrr] once, then [csrr] (the loop head, its own block), [addi; bne; shutdown...] per pass.
      expect([jit, c.btDynamic.inline, c.btDynamic.callout]).toEqual([jit, 10, 0]);
      expect(c.btDynamic.ident).toBe(1 + 10 * 2 + 5);
      expect(c.btStatic.inline).toBe(2); // the csrr decoded twice: in the first block and as the loop head
      if (jit === 'always') {
        // The loop stays in one compiled region: an inline site ends its block, not the region
        // (the interpreter would be entered at each iteration if it did).
        const j = vm.hart.jitStats();
        expect(j.failures).toBe(0n);
        expect(j.calls).toBeLessThan(4n);
      }
    }
  });
});

describe('--virt bt: inline CSR sites give what trap-and-emulate gives', () => {
  // For each virtual CSR: csrrw a0 <- all ones but SIE (so no interrupt is ever enabled),
  // csrr a1, csrrc a2 with 0x0f0f..., csrr a3; the four values stored at BASE + 0x8000 + 32 * i.
  const ALL_BUT_SIE = -3; // 0xffff_ffff_ffff_fffd
  const rw = [CSR.sstatus, CSR.sie, CSR.stvec, CSR.scounteren, CSR.senvcfg, CSR.sscratch, CSR.sepc, CSR.scause, CSR.stval, CSR.sip];
  const ro = [CSR.satp, CSR.stimecmp];
  const body: number[] = [
    E.auipc(S0, 8), // s0 = BASE + 0x8000
    E.aluI('addi', T1, 0, ALL_BUT_SIE),
    E.lui(T2, 0x0f0f1), E.aluI('addiw', T2, T2, -0x0f1), // t2 = 0x0f0f0f0f
  ];
  let slot = 0;
  for (const csr of rw) {
    body.push(csrrw(A0, csr, T1), csrrs(A1, csr, 0), csrrc(A2, csr, T2), csrrs(A3, csr, 0));
    for (const [k, reg] of [A0, A1, A2, A3].entries()) body.push(E.store('sd', reg, S0, slot * 32 + k * 8));
    slot++;
  }
  for (const csr of ro) {
    body.push(csrrs(A0, csr, 0), E.store('sd', A0, S0, slot * 32));
    slot++;
  }
  body.push(csrrsi(A4, CSR.sstatus, 0)); // csrrsi with zimm 0: a read
  body.push(...shutdown(0));
  expect(body.length * 4).toBeLessThan(0x8000);

  const dump = async (virt: 'trap' | 'bt' | 'hw', jit: 'off' | 'always') => {
    const { vm, r, reasons } = await run(body, virt, jit);
    expect([virt, jit, r.failure, r.exitCode]).toEqual([virt, jit, undefined, 0]);
    const bytes = vm.readGuest(BASE + 0x8000n, slot * 32) as Uint8Array;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const values: string[] = [];
    for (let i = 0; i < slot * 4; i++) values.push(view.getBigUint64(i * 8, true).toString(16));
    const v = vm.vmcs;
    const state = { vsstatus: v.vsstatus, hie: v.hie, hvip: v.hvip, vstvec: v.vstvec, vsscratch: v.vsscratch, vsepc: v.vsepc, vscause: v.vscause, vstval: v.vstval, a4: v.x(A4) };
    return { values, state, reasons, vm };
  };

  it('every value read and every virtual CSR left behind are equal, with no trap for any CSR access (JIT off and always)', async () => {
    const trap = await dump('trap', 'off');
    // The values themselves (trap-csr.ts, priv spec ch. 4): sstatus keeps SPIE, SPP, SUM, MXR and
    // FS (the hart's mstatus.FS: Dirty, so SD reads 1), and reads UXL.
    const FS_SD = (3n << 13n) | (1n << 63n);
    expect(trap.values.slice(0, 4)).toEqual(['200000000', (0xc0120n | FS_SD | (2n << 32n)).toString(16), (0xc0120n | FS_SD | (2n << 32n)).toString(16), (0x20n | FS_SD | (2n << 32n)).toString(16)]);
    expect(trap.values[1 * 4 + 1]).toBe('220'); // sie: STIE and SEIE (SSIE is bit 1, left clear)
    expect(trap.values[9 * 4 + 1]).toBe('0'); // sip: only SSIP (bit 1) is writable
    expect(Object.keys(trap.reasons).filter((k) => k.endsWith('(emulated)')).length).toBeGreaterThan(10);
    for (const jit of JITS) {
      const bt = await dump('bt', jit);
      expect(bt.values).toEqual(trap.values);
      expect(bt.state).toEqual(trap.state);
      expect(trapEmulated(bt.reasons)).toEqual([]);
      const c = (bt.vm.vcpu.technique as BtTechnique).counters();
      expect(c.btDynamic.inline).toBe(rw.length * 4 + ro.length + 1);
      expect(c.btDynamic.callout).toBe(0);
      // Exits: the two sstatus writes that change SUM/MXR (the shadow view; no emulation), the shutdown.
      expect(bt.reasons).toMatchObject({ 'BT: sstatus.SUM/MXR written (new shadow view)': 2, 'SBI ecall (SRST system_reset)': 1 });
    }
  });
});

describe('--virt bt: call-outs and interrupts', () => {
  /**
   * stvec = handler; stimecmp = 0 (a call-out: the guest timer is due at once); sie.STIE
   * (inline, SIE still clear: nothing is delivered); a marker; then csrsi sstatus, SIE (inline):
   * the timer interrupt must arrive right after it, before the next instruction. The handler
   * copies scause and sepc and shuts down.
   */
  const handlerBody = [csrrs(A4, CSR.scause, 0), csrrs(A5, CSR.sepc, 0), ...shutdown(0)];
  const main = [
    E.auipc(T0, 0), E.aluI('addi', T1, T0, 0), csrrw(0, CSR.stimecmp, 0),
    E.aluI('addi', T1, 0, 0x20), csrrw(0, CSR.sie, T1),
    E.aluI('addi', A2, 0, 1),
    csrrsi(0, CSR.sstatus, 2),
    E.aluI('addi', A2, 0, 2), // never runs: the interrupt comes first
    E.jal(0, 0),
  ];
  // (handler at word 11: stvec set by the first instructions, patched in below)
  const words = [E.auipc(T0, 0), E.aluI('addi', T1, T0, (3 + main.length) * 4), csrrw(0, CSR.stvec, T1), ...main, ...handlerBody];
  const sepcWanted = BASE + BigInt((3 + 7) * 4); // the instruction after csrsi

  it('an inline write that enables a pending interrupt delivers it before the next instruction, as under trap and hw', async () => {
    for (const [virt, jit] of [['trap', 'off'], ['hw', 'off'], ['bt', 'off'], ['bt', 'always']] as const) {
      const { vm, r, reasons } = await run(words, virt, jit);
      const v = vm.vmcs;
      expect([virt, jit, r.failure, r.exitCode, v.x(A4), v.x(A5), v.x(A2)]).toEqual([virt, jit, undefined, 0, (1n << 63n) | 5n, sepcWanted, 1n]);
      if (virt === 'bt') {
        expect(reasons['BT call-out: csr write stimecmp']).toBe(1);
        expect(reasons['interrupt: virtual timer']).toBe(1);
        expect(trapEmulated(reasons)).toEqual([]);
      }
    }
  });

  it('sret and wfi are call-outs; a guest kernel block is never run for virtual U (blocks are keyed by the virtual privilege)', async () => {
    // shared: csrr a3, sscratch; ret  (called from virtual S: inline; then run by virtual U: it
    // must trap, as an S CSR from U-mode does, and the guest gets its illegal instruction)
    // main: sscratch = 0x55; jal shared; a4 = a3; sepc = shared; sstatus = 0 (SPP = U); sret
    // handler: shutdown (a3 stays what the kernel read; the trap's cause, sepc, stval are checked)
    const head = 3;
    const mainBody = [E.aluI('addi', T1, 0, 0x55), csrrw(0, CSR.sscratch, T1), E.jal(1, 0 /* patched */), E.aluI('addi', A4, A3, 0),
      E.aluI('addi', T1, T0, 0 /* patched */), csrrw(0, CSR.sepc, T1), csrrw(0, CSR.sstatus, 0), SRET];
    const shared = head + mainBody.length;
    const handler = shared + 2;
    mainBody[2] = E.jal(1, (shared - (head + 2)) * 4);
    mainBody[4] = E.aluI('addi', T1, T0, shared * 4);
    const words = [E.auipc(T0, 0), E.aluI('addi', T1, T0, handler * 4), csrrw(0, CSR.stvec, T1), ...mainBody,
      csrrs(A3, CSR.sscratch, 0), E.jalr(0, 1, 0), ...shutdown(0)];
    for (const virt of ['trap', 'bt'] as const) {
      for (const jit of JITS) {
        const { vm, r, reasons } = await run(words, virt, jit);
        const v = vm.vmcs;
        expect([virt, jit, r.failure, v.x(A4), v.priv, v.vscause, v.vsepc, v.vstval]).toEqual(
          [virt, jit, undefined, 0x55n, 1n, 2n, BASE + BigInt(shared * 4), BigInt(csrrs(A3, CSR.sscratch, 0))]);
        expect(reasons['illegal instruction (to the guest)']).toBe(1);
        if (virt === 'bt') {
          expect(reasons['BT call-out: sret to virtual U']).toBe(1);
          expect(trapEmulated(reasons)).toEqual([]);
        }
      }
    }
  });

  it('compiled code exits for a call-out itself: a hot loop of call-outs stays compiled (JIT on)', async () => {
    // t2 = 200; loop: sfence.vma (a call-out, its own block); addi t2, -1; bne t2, x0, loop
    const words = [E.aluI('addi', T2, 0, 200), SFENCE_VMA, E.aluI('addi', T2, T2, -1), E.branch('bne', T2, 0, -8), ...shutdown(0)];
    const { vm, r, reasons } = await run(words, 'bt', 'on', 20_000n);
    expect([r.failure, r.exitCode, reasons['BT call-out: sfence.vma']]).toEqual([undefined, 0, 200]);
    const j = vm.hart.jitStats();
    // Each compiled entry retires two instructions and leaves at the call-out: had it left
    // through the interpreter (jitRest), the region would be given back after 32 such entries.
    expect([j.failures, j.demoted]).toEqual([0n, 0n]);
    expect(j.calls).toBeGreaterThan(100n);
  });

  it('wfi with nothing pending is a call-out that halts the vCPU', async () => {
    const { vm, reasons } = await run([0x10500073, E.jal(0, 0)], 'bt', 'off', 2_000n);
    expect(reasons['BT call-out: wfi']).toBe(1);
    expect(vm.vcpu.haltExits).toBe(1n);
  });
});
