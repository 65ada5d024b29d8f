/**
 * In-core SBI (assembly/sbi.ts): the core answers BASE's id calls and set_timer itself when the
 * vCPU lets it (VmConfig.sbiInCore, --virt hw, exits not traced). The guest must not be able to
 * tell: the same registers, the same timer, the same instruction count and the same exit
 * statistics as when every call goes to the TypeScript handler (host/vmm/sbi.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { Vm, type VmConfig } from '../../host/vmm/vm';
import * as E from '../diff/encode';
import { Asm } from './asm';

const T0 = 5, T1 = 6, S1 = 9, A0 = 10, A1 = 11, A6 = 16, A7 = 17;
const csrrs = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (2 << 12) | (rd << 7) | 0x73) >>> 0;
const csrrw = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (1 << 12) | (rd << 7) | 0x73) >>> 0;
const CSR = { sie: 0x104, stvec: 0x105, scause: 0x142, sip: 0x144, time: 0xc01 } as const;
const ECALL = 0x00000073, WFI = 0x10500073;
const EID = { BASE: 0x10n, TIME: 0x54494d45n, SRST: 0x53525354n } as const;
const M64 = (1n << 64n) - 1n;
const BASE = 0x80200000n;
const RES = 0x80201800n;

type Call = [name: string, eid: bigint, fid: bigint, a0In: bigint, a0: bigint, a1: bigint];
const CALLS: Call[] = [
  ['BASE get_spec_version', EID.BASE, 0n, 0n, 0n, 0x2000000n],
  ['BASE get_impl_id', EID.BASE, 1n, 0n, 0n, 0x7761736dn],
  ['BASE get_impl_version', EID.BASE, 2n, 0n, 0n, 1n],
  ['BASE probe_extension', EID.BASE, 3n, EID.TIME, 0n, 1n], // the host's (vendor extensions)
  ['BASE get_mvendorid', EID.BASE, 4n, 0n, 0n, 0n],
  ['BASE get_marchid', EID.BASE, 5n, 0n, 0n, 0n],
  ['BASE get_mimpid', EID.BASE, 6n, 0n, 0n, 0n],
  ['BASE unknown fid', EID.BASE, 7n, 0n, M64 - 1n, 0x5a5an],
  ['BASE unknown fid', EID.BASE, 1n << 32n, 0n, M64 - 1n, 0x5a5an], // a6 wider than 32 bits is not fid 0
  ['TIME set_timer', EID.TIME, 0n, 0x1234_5678_9abcn, 0n, 0n],
  ['TIME unknown fid', EID.TIME, 1n, 0n, M64 - 1n, 0x5a5an],
  ['legacy set_timer', 0n, 0n, 0x4321_0000_0000n, 0n, 0x5a5an], // legacy: a1 untouched
];

/** Each call of CALLS with a1 preset to 0x5a5a, a0/a1 stored at RES + 16 i; then SRST shutdown. */
function callsImage(): Uint8Array {
  const a = new Asm(BASE);
  CALLS.forEach(([, eid, fid, a0In], i) => {
    a.li64(A0, a0In).li64(A1, 0x5a5an).li64(A6, fid).li64(A7, eid).emit(ECALL);
    a.li64(T0, RES + BigInt(i * 16)).emit(E.store('sd', A0, T0, 0), E.store('sd', A1, T0, 8));
  });
  a.li64(A0, 0n).li64(A1, 0n).li64(A6, 0n).li64(A7, EID.SRST).emit(ECALL, E.jal(0, 0));
  return a.finish(0x2000);
}

async function run(image: Uint8Array, cfg: Partial<VmConfig>) {
  const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(image, 'guest.bin', BASE), deterministic: true, ...cfg });
  const r = await vm.run({ maxInstructions: 10_000_000n, timeoutMs: 20_000 });
  const rows = vm.exits.rows();
  const u64 = (gpa: bigint) => new DataView(vm.readGuest(gpa, 8)!.buffer).getBigUint64(0, true);
  return { vm, r, rows, reasons: Object.fromEntries(rows.map((x) => [x.reason, x.count])), u64 };
}

describe('in-core SBI', () => {
  it('answers as the TypeScript handler does: registers, timer, instructions and exit counts', async () => {
    const image = callsImage();
    const inCore = await run(image, {});
    const ts = await run(image, { sbiInCore: false });
    for (const x of [inCore, ts]) {
      expect(x.r).toMatchObject({ reason: 'exit', exitCode: 0 });
      CALLS.forEach(([name, , , , a0, a1], i) => {
        expect({ name, i, a0: x.u64(RES + BigInt(i * 16)), a1: x.u64(RES + BigInt(i * 16) + 8n) }).toEqual({ name, i, a0, a1 });
      });
      expect(x.vm.vmcs.vstimecmp).toBe(0x4321_0000_0000n); // the last set_timer (legacy)
      expect(x.reasons).toEqual(Object.fromEntries(Object.entries({
        'BASE get_spec_version': 1, 'BASE get_impl_id': 1, 'BASE get_impl_version': 1, 'BASE probe_extension': 1,
        'BASE get_mvendorid': 1, 'BASE get_marchid': 1, 'BASE get_mimpid': 1, 'BASE unknown fid': 2,
        'TIME set_timer': 1, 'TIME unknown fid': 1, 'legacy set_timer': 1, 'SRST system_reset': 1,
      }).map(([k, n]) => [`SBI ecall (${k})`, n])));
      expect(x.vm.exits.exits).toBe(CALLS.length + 1);
    }
    expect(inCore.r.instructions).toBe(ts.r.instructions);
    // Which path answered: the TypeScript handler times the first exit of each reason; the core times none.
    const timed = (rows: typeof ts.rows, name: string) => !Number.isNaN(rows.find((x) => x.reason === `SBI ecall (${name})`)!.meanNs);
    for (const name of ['BASE get_spec_version', 'BASE get_mimpid', 'TIME set_timer', 'legacy set_timer']) {
      expect({ name, inCore: timed(inCore.rows, name), ts: timed(ts.rows, name) }).toEqual({ name, inCore: false, ts: true });
    }
    for (const name of ['BASE probe_extension', 'TIME unknown fid', 'SRST system_reset']) {
      expect({ name, inCore: timed(inCore.rows, name) }).toEqual({ name, inCore: true });
    }
  });

  it('a guest that only makes in-core calls: each counted, the slices end by budget, the timeout and stop() honoured', async () => {
    const a = new Asm(BASE);
    a.label('loop').li64(A7, EID.BASE).li64(A6, 0n).emit(ECALL).jal(0, 'loop');
    const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(a.finish(0x2000), 'spin.bin', BASE), deterministic: true });
    const r = await vm.run({ timeoutMs: 150 });
    expect(r.reason).toBe('timeout');
    expect(r.wallMs).toBeGreaterThanOrEqual(150);
    expect(r.wallMs).toBeLessThan(10_000); // generous for a loaded machine; a core that never returned would hang
    const counts = Object.fromEntries(vm.exits.rows().map((x) => [x.reason, x.count]));
    expect(Object.keys(counts).sort()).toEqual(['SBI ecall (BASE get_spec_version)', 'time slice ends (budget)']);
    const calls = BigInt(counts['SBI ecall (BASE get_spec_version)']);
    // Each call retires li a7, li a6 and the jal back (the last may be cut by the budget); the ecall retires nothing.
    expect(r.instructions - calls * 3n).toBeGreaterThanOrEqual(-1n);
    expect(r.instructions - calls * 3n).toBeLessThanOrEqual(2n);
    expect(vm.vmcs.x(A1)).toBe(0x02000000n);
    setTimeout(() => vm.stop(), 50);
    expect((await vm.run({ timeoutMs: 5_000 })).reason).toBe('stopped');
  });

  it('is off while exits are traced: each call is one traced exit', async () => {
    const trace: string[] = [];
    const { r, reasons } = await run(callsImage(), { onTraceExit: (l) => trace.push(l) });
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(trace.length).toBe(CALLS.length + 1);
    expect(trace[0]).toMatch(/^exit 1: SBI ecall \(BASE get_spec_version\) pc=0x[0-9a-f]+ cause=10 /);
    expect(reasons['SBI ecall (TIME set_timer)']).toBe(1);
  });

  it('a set_timer answered in the core raises the timer interrupt when due, and a later deadline clears it (Sstc)', async () => {
    // stvec -> handler: counts interrupts in s1, moves the deadline out (set_timer(-1), in the core), returns.
    const a = new Asm(BASE);
    a.la(T0, 'handler').emit(csrrw(0, CSR.stvec, T0)).jal(0, 'main');
    a.label('handler').emit(E.aluI('addi', S1, S1, 1), csrrs(T1, CSR.scause, 0));
    a.li64(A0, M64).li64(A6, 0n).li64(A7, EID.TIME).emit(ECALL);
    a.emit(csrrs(T0, CSR.sip, 0)); // sip after the new deadline: STIP must be clear
    a.li64(A0, 0n).li64(A1, 0n).li64(A6, 0n).li64(A7, EID.SRST).emit(ECALL, E.jal(0, 0));
    a.label('main').emit(E.aluI('addi', T0, 0, 0x20), csrrs(0, CSR.sie, T0), E.aluI('addi', T0, 0, 2), csrrs(0, 0x100, T0)); // sie.STIE, sstatus.SIE
    a.emit(csrrs(T0, CSR.time, 0), E.aluI('addi', A0, T0, 500)).li64(A6, 0n).li64(A7, EID.TIME).emit(ECALL);
    a.label('spin').jal(0, 'spin');
    const { vm, r, reasons } = await run(a.finish(0x2000), {});
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(vm.vmcs.x(S1)).toBe(1n); // one timer interrupt
    expect(vm.vmcs.x(T1)).toBe((1n << 63n) | 5n); // scause: supervisor timer interrupt
    expect(vm.vmcs.x(T0) & 0x20n).toBe(0n); // STIP cleared by the later deadline
    expect(vm.vmcs.vstimecmp).toBe(M64);
    expect(reasons).toMatchObject({ 'SBI ecall (TIME set_timer)': 2, 'SBI ecall (SRST system_reset)': 1 });
  });
});
