/**
 * Every VM exit reason the VMM's statistics can name (host/vmm/vcpu.ts, sbi.ts), each reached by
 * a small raw S-mode guest, with the exact exit table and what the guest saw (values it stored,
 * its exit code, its console output).
 *
 * Not reachable by any guest, so not here: "unexpected exit reason N from vmRun" (the core only
 * returns BUDGET, HALT and VM_TRAP in VM mode), "unexpected interrupt taken to HS" (the VS
 * interrupts are delegated and the VMM raises no others), "<cause> on guest RAM that is mapped"
 * (the hart never faults on a mapped G-stage page) and "<cause> taken to HS" (access faults
 * cannot happen from V = 1 since the G-stage only maps RAM frames; the other causes are
 * delegated, or cannot come from V = 1).
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { Vm } from '../../host/vmm/vm';
import * as E from '../diff/encode';
import { Asm } from './asm';
import { damagedCanary, plantCanary } from './audit';

const T0 = 5, T1 = 6, T2 = 7, S1 = 9, A0 = 10, A1 = 11, A2 = 12, A6 = 16, A7 = 17, S2 = 18, S3 = 19, RA = 1;
const CSR = { sie: 0x104, stvec: 0x105, sepc: 0x141, scause: 0x142, stval: 0x143, satp: 0x180, time: 0xc01, hstatus: 0x600 } as const;
const csrrw = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (1 << 12) | (rd << 7) | 0x73) >>> 0;
const csrrs = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (2 << 12) | (rd << 7) | 0x73) >>> 0;
const ECALL = 0x00000073, EBREAK = 0x00100073, SRET = 0x10200073, WFI = 0x10500073, SFENCE_VMA = 0x12000073;
const EID = { BASE: 0x10n, TIME: 0x54494d45n, IPI: 0x735049n, RFENCE: 0x52464e43n, HSM: 0x48534dn, SRST: 0x53525354n, DBCN: 0x4442434en } as const;
const M64 = (1n << 64n) - 1n;
const BASE = 0x80200000n;
/** Data page of every test image (populated at load). */
const DATA = 0x80201000n;
/** Where guests store results. */
const RES = 0x80201800n;
const IMAGE = 0x2000;

/** A guest: `body` after a trap handler that counts traps in s2, shifts scause into s3 and skips the instruction (or returns to ra outside the code). */
function guest(body: (a: Asm) => void, data: [bigint, Uint8Array][] = []): Uint8Array {
  const a = new Asm(BASE);
  a.label('code_start').la(T0, 'handler').emit(csrrw(0, CSR.stvec, T0)).jal(0, 'main');
  a.label('handler').emit(E.aluI('addi', S2, S2, 1), csrrs(30, CSR.scause, 0), E.shiftI('slli', S3, S3, 5), E.aluR('add', S3, S3, 30), csrrs(30, CSR.sepc, 0));
  a.la(31, 'code_start').branch('bltu', 30, 31, 'away').la(31, 'code_end').branch('bgeu', 30, 31, 'away');
  a.emit(E.aluI('addi', 30, 30, 4)).jal(0, 'set');
  a.label('away').emit(E.aluI('addi', 30, RA, 0));
  a.label('set').emit(csrrw(0, CSR.sepc, 30), SRET);
  a.label('main');
  body(a);
  a.emit(E.jal(0, 0)).label('code_end');
  for (const [at, bytes] of data) a.place(at, bytes);
  return a.finish(IMAGE);
}

/** SRST shutdown with reason a1 = 0 if `reg` is zero, else 1 (system failure: exit code 1). */
function shutdownIfZero(a: Asm, reg: number): void {
  a.emit(E.aluR('sltu', A1, 0, reg), E.aluI('addi', A0, 0, 0)).li64(A6, 0n).li64(A7, EID.SRST).emit(ECALL);
}

async function run(image: Uint8Array, opts: { input?: string; maxInstructions?: bigint; timeoutMs?: number; onOutput?: (vm: Vm, out: string) => void; memSize?: number } = {}) {
  let out = '';
  const trace: string[] = [];
  let vmRef: Vm | undefined;
  const vm = await Vm.create({
    memSize: opts.memSize ?? 16 << 20,
    kernel: parseImage(image, 'guest.bin', BASE),
    deterministic: true,
    onConsoleOutput: (b) => {
      out += Buffer.from(b).toString('latin1');
      opts.onOutput?.(vmRef!, out);
    },
    onTraceExit: (l) => trace.push(l),
  });
  vmRef = vm;
  if (opts.input !== undefined) vm.consoleInput(new TextEncoder().encode(opts.input));
  const canary = plantCanary(vm);
  const r = await vm.run({ maxInstructions: opts.maxInstructions ?? 10_000_000n, timeoutMs: opts.timeoutMs ?? 20_000 });
  expect(damagedCanary(vm, canary)).toEqual([]);
  const reasons = Object.fromEntries(vm.exits.rows().map((x) => [x.reason, x.count]));
  const u64 = (gpa: bigint) => new DataView(vm.readGuest(gpa, 8)!.buffer).getBigUint64(0, true);
  return { vm, r, out, reasons, trace, u64 };
}

describe('VM exits: SBI', () => {
  it('every function of every extension, legacy calls and an unknown extension: one exit each, the values the spec gives', async () => {
    type Call = [name: string, eid: bigint, fid: bigint, args: bigint[], a0: bigint, a1?: bigint];
    const calls: Call[] = [
      ['legacy set_timer', 0n, 0n, [M64], 0n],
      ['legacy console_putchar', 1n, 0n, [0x78n], 0n],
      ['legacy console_getchar', 2n, 0n, [], 0x6bn],
      ['legacy EID 0x3', 3n, 0n, [], M64 - 1n],
      ['BASE get_spec_version', EID.BASE, 0n, [], 0n, 0x2000000n],
      ['BASE get_impl_id', EID.BASE, 1n, [], 0n, 0x7761736dn],
      ['BASE get_impl_version', EID.BASE, 2n, [], 0n, 1n],
      ['BASE probe_extension', EID.BASE, 3n, [EID.DBCN], 0n, 1n],
      ['BASE get_mvendorid', EID.BASE, 4n, [], 0n, 0n],
      ['BASE get_marchid', EID.BASE, 5n, [], 0n, 0n],
      ['BASE get_mimpid', EID.BASE, 6n, [], 0n, 0n],
      ['BASE unknown fid', EID.BASE, 7n, [], M64 - 1n],
      ['TIME set_timer', EID.TIME, 0n, [M64], 0n, 0n],
      ['IPI send_ipi', EID.IPI, 0n, [0n, 0n], 0n, 0n],
      ['RFENCE remote_fence_i', EID.RFENCE, 0n, [1n, 0n], 0n, 0n],
      ['RFENCE remote_sfence_vma', EID.RFENCE, 1n, [1n, 0n, 0n, M64], 0n, 0n],
      ['RFENCE remote_sfence_vma_asid', EID.RFENCE, 2n, [0n, M64, 0n, M64, 0n], 0n, 0n],
      ['RFENCE remote_hfence_gvma_vmid', EID.RFENCE, 3n, [1n, 0n], M64 - 1n],
      ['RFENCE remote_hfence_gvma', EID.RFENCE, 4n, [1n, 0n], M64 - 1n],
      ['RFENCE remote_hfence_vvma_asid', EID.RFENCE, 5n, [1n, 0n], M64 - 1n],
      ['RFENCE remote_hfence_vvma', EID.RFENCE, 6n, [1n, 0n], M64 - 1n],
      ['HSM hart_start', EID.HSM, 0n, [0n, BASE, 0n], M64 - 5n, 0n],
      ['HSM hart_get_status', EID.HSM, 2n, [0n], 0n, 0n],
      ['IPI send_ipi', EID.IPI, 0n, [1n, 0n], 0n, 0n], // VSSIP pending: wakes the suspend below at once
      ['HSM hart_suspend', EID.HSM, 3n, [0n, 0n, 0n], 0n, 0n],
      ['HSM unknown fid', EID.HSM, 4n, [], M64 - 1n],
      ['SRST unknown fid', EID.SRST, 1n, [], M64 - 1n],
      ['DBCN console_write', EID.DBCN, 0n, [3n, DATA, 0n], 0n, 3n],
      ['DBCN console_read', EID.DBCN, 1n, [4n, DATA + 0x100n, 0n], 0n, 1n],
      ['DBCN console_write_byte', EID.DBCN, 2n, [0x21n], 0n, 0n],
      ['DBCN unknown fid', EID.DBCN, 3n, [], M64 - 1n],
      ['unknown EID', 0x12345n, 9n, [], M64 - 1n],
    ];
    const image = guest((a) => {
      a.emit(E.aluI('addi', T0, 0, 2), csrrs(0, CSR.sie, T0)); // sie.SSIE: a pending VSSIP ends hart_suspend
      calls.forEach(([, eid, fid, args], i) => {
        for (let r = 0; r < 6; r++) a.li64(A0 + r, args[r] ?? 0n);
        a.li64(A1, args[1] ?? 0x5a5an); // a1 preset, to see whether the call writes it
        a.li64(A6, fid).li64(A7, eid).emit(ECALL);
        a.li64(T0, RES + BigInt(i * 16)).emit(E.store('sd', A0, T0, 0), E.store('sd', A1, T0, 8));
      });
      a.li64(A0, 0n).li64(A1, 0n).li64(A6, 0n).li64(A7, EID.SRST).emit(ECALL);
    }, [[DATA, new TextEncoder().encode('dbc')]]);
    const { vm, r, out, reasons, u64 } = await run(image, { input: 'kz' });
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(out).toBe('xdbc!');
    const want: Record<string, number> = { 'SBI ecall (SRST system_reset)': 1 };
    for (const [name] of calls) want[`SBI ecall (${name})`] = (want[`SBI ecall (${name})`] ?? 0) + 1;
    expect(reasons).toEqual(want);
    calls.forEach(([name, , , args, a0, a1], i) => {
      expect({ name, a0: u64(RES + BigInt(i * 16)) }).toEqual({ name, a0 });
      // Legacy calls leave a1 alone; so do the errors.
      expect({ name, a1: u64(RES + BigInt(i * 16) + 8n) }).toEqual({ name, a1: a1 ?? args[1] ?? 0x5a5an });
    });
    expect(vm.readGuest(DATA + 0x100n, 4)).toEqual(Uint8Array.of(0x7a, 0, 0, 0)); // DBCN read got 'z'
    expect(vm.stats().haltExits).toBe(1n); // the suspend
  });

  it('legacy shutdown ends the VM with exit code 0', async () => {
    const { r, reasons } = await run(guest((a) => a.li64(A7, 8n).emit(ECALL)));
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons).toEqual({ 'SBI ecall (legacy shutdown)': 1 });
  });

  it('HSM hart_stop of the only hart ends the VM with exit code 0', async () => {
    const { r, reasons } = await run(guest((a) => a.li64(A6, 1n).li64(A7, EID.HSM).emit(ECALL)));
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons).toEqual({ 'SBI ecall (HSM hart_stop)': 1 });
  });

  for (const how of ['srst', 'syscon'] as const) {
    it(`${how === 'srst' ? 'SRST cold reboot' : 'the syscon reset value 0x7777'} restarts the guest from its image`, { timeout: 30_000 }, async () => {
      const image = guest((a) => {
        a.li64(A0, 0x42n).li64(A7, 1n).emit(ECALL);
        if (how === 'srst') a.li64(A0, 1n).li64(A1, 0n).li64(A6, 0n).li64(A7, EID.SRST).emit(ECALL);
        else a.li64(T0, 0x100000n).li64(T1, 0x7777n).emit(E.store('sw', T1, T0, 0));
      });
      const { r, out, reasons } = await run(image, { timeoutMs: 30_000, onOutput: (vm, o) => { if (o.length === 2) vm.stop(); } });
      expect(r).toMatchObject({ reason: 'stopped' });
      expect(out).toBe('BB');
      expect(reasons).toEqual({ 'SBI ecall (legacy console_putchar)': 2, [how === 'srst' ? 'SBI ecall (SRST system_reset)' : 'MMIO store (test)']: 1 });
    });
  }
});

describe('VM exits: memory', () => {
  it('first touch of guest RAM by a load, a store and a fetch (the fetched zeros are an illegal instruction handed back)', async () => {
    const image = guest((a) => {
      a.li64(T0, 0x80500000n).emit(E.load('ld', T1, T0, 0));
      a.li64(T0, 0x80600008n).li64(T1, 0x1234n).emit(E.store('sd', T1, T0, 0));
      a.li64(T0, 0x80400000n).emit(E.jalr(RA, T0, 0)); // zeros: illegal; the handler returns to ra
      a.li64(T0, 2n).emit(E.aluR('sub', T0, S3, T0)); // one trap, scause 2
      shutdownIfZero(a, T0);
    });
    const { vm, r, reasons, u64 } = await run(image);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons).toEqual({ 'guest-page fault: first touch of RAM': 3, 'illegal instruction (redirected to the guest)': 1, 'SBI ecall (SRST system_reset)': 1 });
    expect(u64(0x80600008n)).toBe(0x1234n);
    for (const p of [0x80400000n, 0x80500000n, 0x80600000n]) expect(vm.isPopulated(p)).toBe(true);
  });

  it('first touch of RAM by the VS-stage walk (a page table in a page never touched)', async () => {
    // Root (in the image): [2] = 1 GiB identity leaf for the guest's own code, [0] -> 0x80700000 (untouched).
    const root = new Uint8Array(4096);
    const dv = new DataView(root.buffer);
    dv.setBigUint64(2 * 8, ((0x80000000n >> 12n) << 10n) | 0xcfn, true); // V R W X A D
    dv.setBigUint64(0, ((0x80700000n >> 12n) << 10n) | 1n, true);
    const image = guest((a) => {
      a.li64(T0, (8n << 60n) | (DATA >> 12n)).emit(csrrw(0, CSR.satp, T0), SFENCE_VMA);
      a.li64(T0, 0x1000n).emit(E.load('ld', T1, T0, 0)); // walks into the zero page: load page fault (13), delegated
      a.emit(E.aluI('addi', T0, S3, -13));
      shutdownIfZero(a, T0);
    }, [[DATA, root]]);
    const { r, reasons } = await run(image);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons).toEqual({ 'guest-page fault: first touch of RAM (guest page table)': 1, 'SBI ecall (SRST system_reset)': 1 });
  });

  it('MMIO loads and stores to every device kind, and to no device (access faults to the guest)', async () => {
    const image = guest((a) => {
      a.li64(T0, 0x10000000n).li64(T1, 0x55n).emit(E.store('sb', T1, T0, 0), E.load('lbu', T2, T0, 5)); // THR 'U'; LSR
      a.emit(E.aluI('addi', S1, T2, -0x60)); // s1 = 0 when LSR = THRE | TEMT
      a.li64(T0, 0xc000028n).li64(T1, 7n).emit(E.store('sw', T1, T0, 0), E.load('lw', T2, T0, 0)); // PLIC priority[10]
      a.emit(E.aluI('addi', T2, T2, -7), E.aluR('or', S1, S1, T2));
      a.li64(T0, 0x10001000n).emit(E.load('lw', T2, T0, 0)).li64(T1, 0x74726976n).emit(E.aluR('sub', T2, T2, T1), E.aluR('or', S1, S1, T2)); // magic
      a.li64(T0, 0x10008000n).emit(E.load('lw', T2, T0, 4), E.aluI('addi', T2, T2, -2), E.aluR('or', S1, S1, T2), E.store('sw', T1, T0, 0x70)); // version 2; status
      a.li64(T0, 0x20000000n).emit(E.load('lw', T2, T0, 0)); // no device
      a.li64(T0, 0x30000000n).emit(E.store('sw', T1, T0, 0));
      a.li64(T1, (5n << 5n) | 7n).emit(E.aluR('sub', T2, S3, T1), E.aluR('or', S1, S1, T2)); // scause 5 then 7
      // The test finisher: pass (exit 0) when everything matched, else fail with code 3.
      a.li64(T0, 0x100000n).li64(T1, 0x5555n).li64(T2, 0x33333n).branch('beq', S1, 0, 'pass').emit(E.aluI('addi', T1, T2, 0));
      a.label('pass').emit(E.store('sw', T1, T0, 0));
    });
    const { r, out, reasons } = await run(image);
    expect(out).toBe('U');
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons).toEqual({
      'MMIO store (uart0)': 1, 'MMIO load (uart0)': 1, 'MMIO store (plic)': 1, 'MMIO load (plic)': 1,
      'MMIO load (virtio-mmio@10001000)': 1, 'MMIO load (virtio-mmio@10008000)': 1, 'MMIO store (virtio-mmio@10008000)': 1,
      'MMIO load to no device (access fault to the guest)': 1, 'MMIO store to no device (access fault to the guest)': 1,
      'MMIO store (test)': 1,
    });
  });

  it('a misaligned LR and AMO are handed back to the guest (load / store address misaligned); ebreak never exits', async () => {
    const image = guest((a) => {
      a.li64(T0, DATA + 2n).emit(E.amo('lr', 'w', T1, T0, 0), E.amo('amoadd', 'w', T1, T0, T1), EBREAK);
      a.li64(T1, (4n << 10n) | (6n << 5n) | 3n).emit(E.aluR('sub', T2, S3, T1));
      shutdownIfZero(a, T2);
    });
    const { r, reasons } = await run(image);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons).toEqual({
      'load address misaligned (redirected to the guest)': 1, 'store address misaligned (redirected to the guest)': 1, 'SBI ecall (SRST system_reset)': 1,
    });
  });

  it('an illegal instruction is handed back to the guest with stval = the instruction', async () => {
    const ILLEGAL = 0xffffffff;
    const image = guest((a) => {
      a.emit(ILLEGAL, csrrs(T0, CSR.stval, 0)).li64(T1, BigInt(ILLEGAL)).emit(E.aluR('sub', T0, T0, T1), E.aluI('addi', T1, S3, -2), E.aluR('or', T0, T0, T1));
      shutdownIfZero(a, T0);
    });
    const { r, reasons } = await run(image);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons).toEqual({ 'illegal instruction (redirected to the guest)': 1, 'SBI ecall (SRST system_reset)': 1 });
  });
});

describe('VM exits: time', () => {
  it('WFI halts the vCPU until its timer is due', async () => {
    const image = guest((a) => {
      a.emit(csrrs(T0, CSR.time, 0), E.aluI('addi', A0, T0, 1000)).li64(A6, 0n).li64(A7, EID.TIME).emit(ECALL);
      a.emit(E.aluI('addi', T1, 0, 0x20), csrrs(0, CSR.sie, T1), WFI, csrrs(T2, CSR.time, 0), E.aluR('sltu', S1, T2, A0)); // s1 = 1 if early
      shutdownIfZero(a, S1);
    });
    const { vm, r, reasons } = await run(image);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons).toEqual({ 'SBI ecall (TIME set_timer)': 1, 'WFI (vCPU halts)': 1, 'SBI ecall (SRST system_reset)': 1 });
    expect(vm.stats().haltExits).toBe(1n);
  });

  it('the time slice ends every 1,000,000 guest instructions (budget exits)', async () => {
    const N = 1_200_000n; // 2 instructions per iteration: 2.4 M in all
    const image = guest((a) => {
      a.li64(T0, N).label('loop').emit(E.aluI('addi', T0, T0, -1)).branch('bne', T0, 0, 'loop');
      shutdownIfZero(a, T0);
    });
    const { r, reasons } = await run(image);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(r.instructions).toBeGreaterThan(2n * N);
    expect(r.instructions).toBeLessThan(2n * N + 40n);
    expect(reasons).toEqual({ 'time slice ends (budget)': 2, 'SBI ecall (SRST system_reset)': 1 });
  });

  it('an instruction limit ends run() with one budget exit and exactly that many instructions', async () => {
    const { r, reasons } = await run(guest(() => {}), { maxInstructions: 1500n });
    expect(r).toMatchObject({ reason: 'max-instructions', instructions: 1500n });
    expect(reasons).toEqual({ 'time slice ends (budget)': 1 });
  });
});

describe('VM exits: waiting without a wake-up never spins the host', () => {
  it('HSM hart_suspend with no interrupt enabled: one exit, then the vCPU sleeps until the run times out', async () => {
    const { r, reasons } = await run(guest((a) => a.li64(A0, 0n).li64(A6, 3n).li64(A7, EID.HSM).emit(ECALL)), { timeoutMs: 300 });
    expect(r).toMatchObject({ reason: 'timeout' });
    expect(reasons).toEqual({ 'SBI ecall (HSM hart_suspend)': 1 });
  });

  it('WFI with nothing enabled: one halt exit per 20 ms sleep at most', async () => {
    const { r, reasons } = await run(guest((a) => a.label('w').emit(WFI).jal(0, 'w')), { timeoutMs: 300 });
    expect(r).toMatchObject({ reason: 'timeout' });
    expect(Object.keys(reasons)).toEqual(['WFI (vCPU halts)']);
    expect(reasons['WFI (vCPU halts)']).toBeGreaterThanOrEqual(1);
    expect(reasons['WFI (vCPU halts)']).toBeLessThanOrEqual(16);
  });
});

describe('VM exits: fatal (the VMM stops the guest with one report line; the host is fine)', () => {
  const fatal = async (body: (a: Asm) => void, reason: string, failure: string, data: [bigint, Uint8Array][] = []) => {
    const { r, reasons } = await run(guest(body, data));
    expect(r).toMatchObject({ reason: 'exit', exitCode: 1 });
    expect(r.failure).toBe(failure);
    expect(reasons).toEqual({ [`fatal: ${reason}`]: 1 });
  };

  it('a virtual instruction (csrr hstatus from VS)', () =>
    fatal((a) => a.emit(csrrs(A0, CSR.hstatus, 0)), 'virtual instruction taken to HS',
      'guest.bin: VM stopped: virtual instruction taken to HS; pc 0x80200050, cause 22, tval 0x60002573: csrrs a0, hstatus, zero'));

  it('an instruction fetch from a device', () =>
    fatal((a) => a.li64(T0, 0x10000000n).emit(E.jalr(RA, T0, 0)), 'instruction fetch from guest-physical 0x10000000, which is not RAM',
      'guest.bin: VM stopped: instruction fetch from guest-physical 0x10000000, which is not RAM; pc 0x10000000, cause 20, tval 0x10000000, htval 0x4000000 (GPA 0x10000000)'));

  it('a VS-stage page table on a device', () =>
    fatal((a) => a.li64(T0, (8n << 60n) | 0x10000n).emit(csrrw(0, CSR.satp, T0), SFENCE_VMA), 'guest page table at guest-physical 0x10000010, which is not RAM',
      'guest.bin: VM stopped: guest page table at guest-physical 0x10000010, which is not RAM; pc 0x8020005c, cause 20, tval 0x8020005c, htval 0x4000004 (GPA 0x10000010)'));

  it('an AMO on a device (MMIO the VMM cannot emulate)', () =>
    fatal((a) => a.li64(T0, 0x10000000n).emit(E.amo('amoswap', 'w', T1, T0, T1)),
      'MMIO access at guest-physical 0x10000000 by an instruction the VMM cannot emulate (htinst 0x860232f)',
      'guest.bin: VM stopped: MMIO access at guest-physical 0x10000000 by an instruction the VMM cannot emulate (htinst 0x860232f); pc 0x80200058, cause 23, tval 0x10000000, htval 0x4000000 (GPA 0x10000000): amoswap.w t1, t1, (t0)'));
});
