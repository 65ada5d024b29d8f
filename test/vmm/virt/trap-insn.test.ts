/**
 * Trap-and-emulate (--virt trap, host/vmm/virt/trap.ts), one privileged instruction at a time:
 * tiny raw S-mode guests, run deprivileged in real U-mode, whose every privileged instruction
 * traps to the VMM and is emulated against the virtual S-mode state (VMCS fields). Each test
 * asserts the virtual CSRs it should change, that nothing else changed, and where it makes
 * sense that the H-extension technique (--virt hw) gives the same guest-visible result.
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../../host/machine/loader';
import { Vm } from '../../../host/vmm/vm';
import type { TrapTechnique } from '../../../host/vmm/virt/trap';
import * as E from '../../diff/encode';
import { A0, A2, assemble, csrrs, csrrw, ECALL, li, T0, T1, T2 } from '../guests';

const BASE = 0x80200000n;
const A3 = 13, A4 = 14;
const SRET = 0x10200073;
/** The time CSR read (rdtime = csrrs rd, time, x0). */
const rdtime = (rd: number) => csrrs(rd, 0xc01, 0);
const CSR = { sstatus: 0x100, stvec: 0x105, scounteren: 0x106, sepc: 0x141, mstatus: 0x300 };
const SSTATUS = { SIE: 1n << 1n, SPIE: 1n << 5n, SPP: 1n << 8n, SUM: 1n << 18n, MXR: 1n << 19n, UXL64: 2n << 32n };

async function run(words: number[], virt: 'hw' | 'trap' = 'trap', maxInstructions = 5_000n) {
  const out: number[] = [];
  const vm = await Vm.create({
    memSize: 16 << 20, kernel: parseImage(assemble(words), 'guest.bin', BASE), deterministic: true, virt,
    onConsoleOutput: (b) => out.push(...b),
  });
  const before = snapshot(vm);
  const r = await vm.run({ maxInstructions, timeoutMs: 20_000 });
  return { vm, r, before, out: String.fromCharCode(...out), reasons: Object.fromEntries(vm.exits.rows().map((row) => [row.reason, row.count])) };
}

/** The virtual S state and the hart's own CSRs that a guest must never reach. */
function snapshot(vm: Vm) {
  const v = vm.vmcs;
  const h = vm.hart;
  return {
    vstvec: v.vstvec, vsscratch: v.vsscratch, vsepc: v.vsepc, vscause: v.vscause, vstval: v.vstval, vsatp: v.vsatp,
    hie: v.hie, hvip: v.hvip, vstimecmp: v.vstimecmp, mstatus: h.mstatus, stvec: h.stvec, sepc: h.sepc, scause: h.scause, mtvec: h.mtvec,
  };
}

/**
 * A guest that sets stvec to `handler` words from the start, then `body`, then spins; the
 * handler spins too (the test reads the state it trapped with). Offsets are in words.
 */
function program(body: number[], handlerBody: number[] = []): number[] {
  // auipc t0, 0; addi t1, t0, H*4; csrw stvec, t1; <body>; j .; handler: <handlerBody>; j .
  const head = 3;
  const handler = head + body.length + 1;
  return [E.auipc(T0, 0), E.aluI('addi', T1, T0, handler * 4), csrrw(0, CSR.stvec, T1), ...body, E.jal(0, 0), ...handlerBody, E.jal(0, 0)];
}
const handlerAt = (words: number[], handlerBody: number[] = []) => BASE + BigInt((words.length - handlerBody.length - 1) * 4);

describe('--virt trap: privileged instructions of the deprivileged kernel are emulated', () => {
  it('csrw sstatus updates the virtual sstatus (writable bits only) and nothing else; csrr reads it back with UXL', async () => {
    // lui t1, 0xc0; addi t1, t1, 0xa -> SUM | MXR | MIE (bit 3, not an sstatus bit) | SIE
    const words = program([E.lui(T1, 0xc0), E.aluI('addi', T1, T1, 0xa), csrrw(0, CSR.sstatus, T1), csrrs(A0, CSR.sstatus, 0)]);
    const { vm, before, reasons } = await run(words);
    const v = vm.vmcs;
    expect(v.vsstatus).toBe(SSTATUS.SUM | SSTATUS.MXR | SSTATUS.SIE);
    expect(v.x(A0)).toBe(SSTATUS.SUM | SSTATUS.MXR | SSTATUS.SIE | SSTATUS.UXL64);
    expect(v.priv).toBe(1n); // still virtual S
    expect(vm.hart.priv).toBe(0); // the hart itself ran it in U-mode
    const after = snapshot(vm);
    expect({ ...after, vstvec: before.vstvec }).toEqual(before); // only stvec (set by the program) and sstatus changed
    expect(after.vstvec).toBe(handlerAt(words));
    expect(reasons['csr write sstatus (emulated)']).toBe(1);
    expect(reasons['csr read sstatus (emulated)']).toBe(1);
    expect(reasons['csr write stvec (emulated)']).toBe(1);
  });

  it('sret to virtual U, then an ecall from U: a virtual trap with sepc, scause 8, stval 0, SPP = U, SPIE = SIE, SIE = 0', async () => {
    // stvec set; sepc = user; sstatus = SPIE; sret -> user: addi a2, zero, 7; ecall
    const user = 3 + 6; // word index of the user code
    const body = [E.aluI('addi', T1, T0, user * 4), csrrw(0, CSR.sepc, T1), E.aluI('addi', T1, 0, 0x20), csrrw(0, CSR.sstatus, T1), SRET, E.jal(0, 12),
      E.aluI('addi', A2, 0, 7), ECALL];
    // (the jal skips the user code when falling through: it is reached only by sret)
    const words = program(body);
    expect(words[user]).toBe(E.aluI('addi', A2, 0, 7));
    for (const virt of ['trap', 'hw'] as const) {
      const { vm, reasons } = await run(words, virt);
      const v = vm.vmcs;
      expect([virt, v.priv, v.pc]).toEqual([virt, 1n, handlerAt(words)]);
      expect(v.vsepc).toBe(BASE + BigInt((user + 1) * 4));
      expect(v.vscause).toBe(8n);
      expect(v.vstval).toBe(0n);
      expect(v.vsstatus & (SSTATUS.SPP | SSTATUS.SPIE | SSTATUS.SIE)).toBe(SSTATUS.SPIE);
      expect(v.x(A2)).toBe(7n);
      if (virt === 'trap') {
        expect(reasons['sret to virtual U (emulated)']).toBe(1);
        expect(reasons['ecall from virtual U (to the guest)']).toBe(1);
      }
    }
  });

  it('an S CSR from virtual U, or an M CSR from virtual S, is an illegal-instruction trap for the guest (stval = the instruction)', async () => {
    const user = 3 + 6;
    const bodyU = [E.aluI('addi', T1, T0, user * 4), csrrw(0, CSR.sepc, T1), E.aluI('addi', T1, 0, 0), csrrw(0, CSR.sstatus, T1), SRET, E.jal(0, 8),
      csrrs(A3, CSR.sstatus, 0)];
    const state = (vm: Vm) => ({ pc: vm.vmcs.pc, priv: vm.vmcs.priv, vsepc: vm.vmcs.vsepc, vscause: vm.vmcs.vscause, vstval: vm.vmcs.vstval, a3: vm.vmcs.x(A3) });
    const fromU = program(bodyU);
    const u = await run(fromU);
    expect(state(u.vm)).toEqual({ pc: handlerAt(fromU), priv: 1n, vsepc: BASE + BigInt(user * 4), vscause: 2n, vstval: BigInt(csrrs(A3, CSR.sstatus, 0)), a3: 0n });
    expect(u.reasons['illegal instruction (to the guest)']).toBe(1);
    // (Under --virt hw the hart raises a virtual-instruction exception for this, and today's hw
    // VMM stops the guest on it rather than injecting an illegal instruction as KVM does.)
    const fromS = program([csrrs(A3, CSR.mstatus, 0)]);
    const s = await run(fromS);
    const h = await run(fromS, 'hw');
    expect(state(s.vm)).toEqual({ pc: handlerAt(fromS), priv: 1n, vsepc: BASE + 12n, vscause: 2n, vstval: BigInt(csrrs(A3, CSR.mstatus, 0)), a3: 0n });
    expect(state(s.vm)).toEqual(state(h.vm)); // the same as under the H extension
    expect(h.r.failure).toBeUndefined();
  });

  it('wfi with nothing pending halts the vCPU; sfence.vma is counted', async () => {
    const words = program([0x12000073 /* sfence.vma */, 0x10500073 /* wfi */]);
    const { vm, reasons } = await run(words, 'trap', 2_000n);
    expect(reasons['sfence.vma (emulated)']).toBe(1);
    expect(reasons['wfi (emulated)']).toBe(1);
    expect(vm.vcpu.haltExits).toBe(1n);
    expect((vm.vcpu.technique as TrapTechnique).shadow.counters.sfences).toBe(1);
  });

  it('MMIO: a store to the UART through a page fault, decoded from the instruction in guest memory', async () => {
    // lui t1, 0x10000 (UART THR at 0x1000_0000); li a0, 'H'; sb a0, 0(t1); li a0, 'i'; sb a0, 0(t1)
    const words = program([E.lui(T1, 0x10000), ...li(A0, 72), E.store('sb', A0, T1, 0), ...li(A0, 105), E.store('sb', A0, T1, 0)]);
    const { out, reasons } = await run(words);
    expect(out).toBe('Hi');
    expect(reasons['MMIO store (uart16550)'] ?? Object.entries(reasons).find(([k]) => k.startsWith('MMIO store'))?.[1]).toBe(2);
  });
});

describe('--virt trap: counters, the sensitive instructions U-mode may execute (docs/techniques.md)', () => {
  /** 2000 instructions: 250 ticks of the deterministic clock (8 instructions a tick). */
  const spin = [E.aluI('addi', T2, 0, 1000), E.aluI('addi', T2, T2, -1), E.branch('bne', T2, 0, -4)];
  /** Spin, then in virtual U: rdtime a4, then ecall (to the handler). scounteren as given. */
  const counterProgram = (scounteren: number) => {
    const user = 3 + 3 + 8;
    return {
      user,
      words: program([...spin, E.aluI('addi', T1, 0, scounteren), csrrw(0, CSR.scounteren, T1), E.aluI('addi', T1, T0, user * 4), csrrw(0, CSR.sepc, T1),
        E.aluI('addi', T1, 0, 0), csrrw(0, CSR.sstatus, T1), SRET, E.jal(0, 12), rdtime(A4), ECALL]),
    };
  };

  it('rdtime in virtual U with the guest scounteren.TM = 0: the guest gets its illegal-instruction trap', async () => {
    const { user, words } = counterProgram(0);
    const { vm } = await run(words);
    const v = vm.vmcs;
    expect([v.vscause, v.vsepc, v.vstval, v.x(A4)]).toEqual([2n, BASE + BigInt(user * 4), BigInt(rdtime(A4)), 0n]);
    // (Under --virt hw the hart raises a virtual-instruction exception here, which today's hw
    // VMM does not turn into the guest's illegal instruction.)
  });

  it('rdtime in virtual U with scounteren.TM = 1, and in virtual S: the guest time base (from 0 at boot), though the hart runs U-mode with scounteren = 0', async () => {
    const { words } = counterProgram(2);
    const { vm, reasons } = await run(words);
    const v = vm.vmcs;
    expect(v.vscause).toBe(8n); // it reached the ecall
    // Guest time started at 0: a few instructions later it is small, and not above the time now.
    expect(v.x(A4)).toBeGreaterThanOrEqual(250n);
    expect(v.x(A4)).toBeLessThanOrEqual(vm.vcpu.guestTime());
    expect(v.x(A4)).toBeLessThan(300n);
    expect(vm.hart.scounteren).toBe(0n);
    expect(reasons['csr read time (emulated)']).toBe(1);
    const s = await run(program([...spin, rdtime(A4)]));
    expect(s.vm.vmcs.x(A4)).toBeGreaterThanOrEqual(250n);
    expect(s.vm.vmcs.x(A4)).toBeLessThan(300n);
  });
});

describe('--virt trap: the guest edits its own page tables (shadow paging end to end)', () => {
  const S0 = 8, S1 = 9, S2 = 18, S3 = 19, S4 = 20, A1 = 11, A5 = 15;
  const SFENCE_VMA = 0x12000073;
  /** rd = the PTE for the page at address rs with `flags`. */
  const pteOf = (rd: number, rs: number, flags: number) => [E.shiftI('srli', rd, rs, 12), E.shiftI('slli', rd, rd, 10), E.aluI('ori', rd, rd, flags)];
  // Tables at BASE + 0x10000 (root), + 0x11000 (L1), + 0x12000 (L0); data at + 0x13000, + 0x14000.
  // root[2]: a 1 GiB kernel page, identity over RAM (so the tables are writable through it);
  // root[0] -> L1, L1[0] -> L0, L0[1]: VA 0x1000 -> data 1. Then paging on, a load from VA 0x1000,
  // a store of a new L0[1] (-> data 2, D = 0) through the identity mapping, sfence.vma, a load and
  // a store at VA 0x1000 again.
  const body = [
    E.lui(T1, 0x10), E.aluR('add', S0, T0, T1), E.lui(T1, 1), E.aluR('add', S1, S0, T1), E.aluR('add', S2, S1, T1),
    E.aluR('add', S3, S2, T1), E.aluR('add', S4, S3, T1),
    E.shiftI('srli', A0, T0, 30), E.shiftI('slli', A0, A0, 28), E.aluI('ori', A0, A0, 0xcf), E.store('sd', A0, S0, 16),
    ...pteOf(A0, S1, 1), E.store('sd', A0, S0, 0),
    ...pteOf(A0, S2, 1), E.store('sd', A0, S1, 0),
    ...pteOf(A0, S3, 0xc7), E.store('sd', A0, S2, 8),
    E.aluI('addi', A0, 0, 0x11), E.store('sd', A0, S3, 0), E.aluI('addi', A0, 0, 0x22), E.store('sd', A0, S4, 0),
    E.shiftI('srli', A0, S0, 12), E.aluI('addi', A1, 0, 8), E.shiftI('slli', A1, A1, 60), E.aluR('or', A0, A0, A1), csrrw(0, 0x180, A0), SFENCE_VMA,
    E.lui(A5, 1), E.load('ld', A2, A5, 0),
    ...pteOf(A0, S4, 0x47), E.store('sd', A0, S2, 8), SFENCE_VMA,
    E.load('ld', A3, A5, 0), E.store('sd', A3, A5, 8),
  ];

  it('the store to the write-protected table is emulated, the stale shadow entry zapped, A and D set in the guest PTE', async () => {
    const words = program(body);
    const { vm, reasons, r } = await run(words, 'trap', 20_000n);
    expect(r.failure).toBeUndefined();
    const v = vm.vmcs;
    expect([v.x(A2), v.x(A3), v.pc]).toEqual([0x11n, 0x22n, handlerAt(words) - 4n]); // at the final j ., no trap to the guest
    expect(reasons['page fault: guest page-table write (emulated)']).toBe(1);
    const c = (vm.vcpu.technique as TrapTechnique).shadow.counters;
    expect(c).toMatchObject({ ptWrites: 1, zaps: 1, sfences: 2 });
    // L0[1] as the guest left it: data 2, with A (the fill) and D (the store) set by the VMM.
    const l0 = vm.readGuest(BASE + 0x12008n, 8) as Uint8Array;
    const pte = new DataView(l0.buffer, l0.byteOffset, 8).getBigUint64(0, true);
    expect(pte).toBe((((BASE + 0x14000n) >> 12n) << 10n) | 0xc7n);
    const data = vm.readGuest(BASE + 0x14008n, 8) as Uint8Array;
    expect(data[0]).toBe(0x22);
    // And under the H extension, the guest sees the same.
    const hw = await run(words, 'hw', 20_000n);
    expect([hw.vm.vmcs.x(A2), hw.vm.vmcs.x(A3), hw.vm.vmcs.pc]).toEqual([0x11n, 0x22n, handlerAt(words) - 4n]);
    const hwPte = hw.vm.readGuest(BASE + 0x12008n, 8) as Uint8Array;
    expect(new DataView(hwPte.buffer, hwPte.byteOffset, 8).getBigUint64(0, true)).toBe(pte);
  });
});

describe('--virt trap: guest RAM taken away', () => {
  it('ballooning a page out leaves no shadow leaf pointing at its frame', async () => {
    const words = program([E.lui(T1, 0x10), E.aluR('add', T1, T0, T1), E.store('sd', T0, T1, 0)]); // a store to BASE + 0x10000
    const { vm } = await run(words);
    const shadow = (vm.vcpu.technique as TrapTechnique).shadow;
    const page = BASE + 0x10000n;
    const frame = vm.gpaToHpa(page) as bigint;
    expect([...shadow.leaves()].map((l) => l.hpa)).toContain(frame);
    expect(vm.balloonOut(page)).toBe(true);
    expect([...shadow.leaves()].map((l) => l.hpa)).not.toContain(frame);
  });
});
