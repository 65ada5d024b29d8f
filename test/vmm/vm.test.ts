/**
 * Whole-VM tests: tiny S-mode guests run in VS-mode through Vm (the core's vmRun), asserting
 * their console output, exit codes and the exits the VMM handled.
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { Vm, type VmConfig } from '../../host/vmm/vm';
import * as E from '../diff/encode';
import { sbiHelloPayload } from '../cli/guests';
import { A0, A1, A2, assemble, csrrs, csrrw, li, putchar, sbi, shutdown, S1, T0, T1, T2, WFI } from './guests';

async function runGuest(code: Uint8Array, cfg: Partial<VmConfig> = {}, maxInstructions = 1_000_000n) {
  const out: number[] = [];
  const trace: string[] = [];
  const vm = await Vm.create({
    memSize: 16 << 20,
    kernel: parseImage(code, 'guest.bin', 0x80200000n),
    deterministic: true,
    onConsoleOutput: (b) => out.push(...b),
    onTraceExit: (l) => trace.push(l),
    ...cfg,
  });
  const r = await vm.run({ maxInstructions, timeoutMs: 10_000 });
  return { vm, r, out: String.fromCharCode(...out), trace };
}

const reasons = (vm: Vm) => Object.fromEntries(vm.exits.rows().map((r) => [r.reason, r.count]));

describe('VM mode', () => {
  it('the vCPU starts with scounteren = 7 (CY, TM, IR for VU-mode), as a KVM vCPU', async () => {
    const { vm } = await runGuest(sbiHelloPayload('x'));
    expect(vm.hart.scounteren).toBe(7n);
  });
  it('SBI legacy putchar and SRST shutdown: output, exit code 0, exits by reason', async () => {
    const { vm, r, out, trace } = await runGuest(sbiHelloPayload('hi!'));
    expect(out).toBe('hi!');
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(r.failure).toBeUndefined();
    // The kernel's page was populated when the image was loaded: no first-touch exit for it.
    expect(reasons(vm)).toEqual({ 'SBI ecall (legacy console_putchar)': 3, 'SBI ecall (SRST system_reset)': 1 });
    expect(trace[0]).toBe('exit 1: SBI ecall (legacy console_putchar) pc=0x80200014 cause=10 tval=0x0 htval=0x0 insn: ecall');
    expect(trace[3]).toBe('exit 4: SBI ecall (SRST system_reset) pc=0x80200034 cause=10 tval=0x0 htval=0x0 insn: ecall');
    expect(trace.length).toBe(4);
  });

  it('shutdown for a system failure exits 1', async () => {
    const { r } = await runGuest(assemble(shutdown(1)));
    expect(r).toMatchObject({ reason: 'exit', exitCode: 1 });
  });

  it('MMIO: stores to the UART THR and loads of LSR are emulated; the test finisher ends the VM', async () => {
    const code = assemble([
      E.lui(T0, 0x10000), // t0 = UART
      E.aluI('addi', T1, 0, 0x4f), E.store('sb', T1, T0, 0), // 'O'
      E.aluI('addi', T1, 0, 0x4b), E.store('sw', T1, T0, 0), // 'K' with a 32-bit store
      E.load('lbu', T2, T0, 5), // LSR: THRE | TEMT = 0x60
      E.aluI('addi', T2, T2, -0x60), // 0 when LSR was 0x60
      E.lui(T0, 0x100), // test finisher
      ...li(T1, (4 << 16) | 0x3333), // FAIL(4) ...
      E.aluR('add', T1, T1, T2), // ... plus whatever LSR was off by
      E.store('sw', T1, T0, 0),
      E.jal(0, 0),
    ]);
    const { vm, r, out } = await runGuest(code);
    expect(out).toBe('OK');
    expect(r).toMatchObject({ reason: 'exit', exitCode: 4 });
    expect(reasons(vm)).toMatchObject({ 'MMIO store (uart0)': 2, 'MMIO load (uart0)': 1, 'MMIO store (test)': 1 });
  });

  it('MMIO through compressed loads and stores', async () => {
    const code = assemble([
      E.lui(S1, 0x10000), // s1 (x9) = UART
      E.aluI('addi', 8, 0, 0x43), // s0 = 'C'
      { half: E.cLoadStore('c.sw', 8, 9, 0) }, // c.sw s0, 0(s1)
      { half: E.cLoadStore('c.lw', 10, 9, 4) }, // c.lw a0, 4(s1): IER..MSR word; LSR byte is at bit 8
      ...shutdown(),
    ]);
    const { vm, r, out } = await runGuest(code);
    expect(out).toBe('C');
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons(vm)).toMatchObject({ 'MMIO store (uart0)': 1, 'MMIO load (uart0)': 1 });
  });

  it('populates guest RAM on first touch, with frames that are not the identity', async () => {
    const code = assemble([
      E.lui(T0, 0x80f0), E.shiftI('slli', T0, T0, 4), // t0 = 0x80f00000, near the end of 16 MiB guest RAM
      ...li(T1, 0x1234567),
      E.store('sd', T1, T0, 8),
      E.load('ld', T2, T0, 8),
      E.aluR('sub', A1, T1, T2), // 0 when the load saw the store
      E.aluI('addi', A0, 0, 0),
      ...sbi(0x53525354, 0),
    ]);
    const { vm, r } = await runGuest(code);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 }); // reason a1 = 0
    const hpa = vm.gstage.lookup(0x80f00008n)!.hpa;
    expect(hpa).not.toBe(0x80f00008n);
    expect(vm.hostRam.read(hpa, 8)).toEqual(Uint8Array.of(0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0));
    expect(reasons(vm)['guest-page fault: first touch of RAM']).toBe(1); // the data page (code was loaded)
    expect(vm.populatedPages).toBe(3); // + the DTB page
  });

  it('WFI halts until the guest timer (SBI set_timer, sie.STIE) is due', async () => {
    const code = assemble([
      csrrs(T0, 0xc01, 0), // t0 = time
      E.aluI('addi', A0, T0, 1000), // a0 = time + 1000
      ...sbi(0x54494d45, 0), // TIME set_timer
      E.aluI('addi', T1, 0, 0x20), csrrs(0, 0x104, T1), // sie.STIE (sstatus.SIE stays 0: no trap)
      WFI,
      csrrs(T2, 0xc01, 0), // t2 = time after the wait
      E.aluR('sltu', A1, T2, A0), // a1 = 1 if woken early
      E.aluI('addi', A0, 0, 0),
      ...sbi(0x53525354, 0),
    ]);
    const { vm, r } = await runGuest(code);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons(vm)).toMatchObject({ 'WFI (vCPU halts)': 1, 'SBI ecall (TIME set_timer)': 1 });
  });

  it('an access to a GPA with no device gives the guest an access fault (its own handler runs)', async () => {
    const code = assemble([
      E.auipc(T0, 0), E.aluI('addi', T0, T0, 24), csrrw(0, 0x105, T0), // stvec = handler (pc + 24)
      E.lui(T1, 0x20000), // 0x20000000: nothing there
      E.load('lw', T2, T1, 0),
      E.jal(0, 0),
      // handler: a1 = scause (expect 5) - 5 + stval - 0x20000000 -> 0
      csrrs(A1, 0x142, 0), E.aluI('addi', A1, A1, -5),
      csrrs(A2, 0x143, 0), E.aluR('sub', A2, A2, T1), E.aluR('or', A1, A1, A2),
      E.aluI('addi', A0, 0, 0),
      ...sbi(0x53525354, 0),
    ]);
    const { vm, r } = await runGuest(code);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(reasons(vm)['MMIO load to no device (access fault to the guest)']).toBe(1);
  });

  it('a store beyond the 41-bit guest-physical space: access fault to the guest; with no handler the VM stops', async () => {
    const code = assemble([...li(T0, 0x80f00000 | 0) /* sign-extends: 0xffffffff80f00000 */, E.store('sd', T0, T0, 8), E.jal(0, 0)]);
    const { vm, r } = await runGuest(code);
    expect(reasons(vm)['MMIO store to no device (access fault to the guest)']).toBe(1);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 1 });
    expect(r.failure).toBe('guest.bin: VM stopped: instruction fetch from guest-physical 0x0, which is not RAM; pc 0x0, cause 20, tval 0x0');
  });

  it('a virtual instruction ends the guest with one report line', async () => {
    const code = assemble([...putchar('x'), csrrs(A0, 0x600, 0) /* csrr a0, hstatus */, E.jal(0, 0)]);
    const { r, out } = await runGuest(code);
    expect(out).toBe('x');
    expect(r).toMatchObject({ reason: 'exit', exitCode: 1 });
    expect(r.failure).toBe('guest.bin: VM stopped: virtual instruction taken to HS; pc 0x8020000c, cause 22, tval 0x60002573: csrrs a0, hstatus, zero');
  });

  it('SBI BASE and DBCN console_write through guest memory', async () => {
    const text = 'dbcn ok\n';
    const head = [
      ...sbi(0x10, 0), // get_spec_version -> a1
      ...li(T0, 0x02000000), E.aluR('sub', S1, A1, T0), // s1 = 0 if 2.0
    ];
    const tail = (textOffset: number) => [
      E.auipc(A1, 0), E.aluI('addi', A1, A1, textOffset), // a1 = text
      E.aluI('addi', A0, 0, text.length), E.aluI('addi', A2, 0, 0),
      ...sbi(0x4442434e, 0),
      E.aluI('addi', A0, 0, 0), E.aluR('add', A1, S1, 0),
      ...sbi(0x53525354, 0),
    ];
    const words = [...head, ...tail(0)];
    const code = assemble([...head, ...tail((words.length - head.length) * 4)], new TextEncoder().encode(text));
    const { r, out } = await runGuest(code);
    expect(out).toBe('dbcn ok\r\n'); // the SBI console writes LF as CR LF, as OpenSBI does
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
  });

  it('a guest that only makes SBI calls (the fast path): every exit counted, the timeout and stop() honoured', async () => {
    const loop = [...sbi(0x10, 0), E.jal(0, -4 * sbi(0x10, 0).length)]; // BASE get_spec_version, forever
    // sbiInCore off: this is the TypeScript handler's fast path (in-core SBI: sbi-incore.test.ts)
    const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(assemble(loop), 'spin.bin', 0x80200000n), deterministic: true, sbiInCore: false });
    const r = await vm.run({ timeoutMs: 150 });
    expect(r.reason).toBe('timeout');
    // not before the timeout, and not seconds after it (a generous bound for a loaded machine;
    // a timeout the fast path ignored would never end)
    expect(r.wallMs).toBeGreaterThanOrEqual(150);
    expect(r.wallMs).toBeLessThan(10_000);
    const rows = vm.exits.rows();
    expect(rows.map((x) => x.reason)).toEqual(['SBI ecall (BASE get_spec_version)']);
    expect(rows[0].count).toBe(vm.exits.exits);
    // Each call retires li a7, li a6 and (after the first) the jal back; the trapping ecall retires nothing.
    expect(BigInt(rows[0].count) * 3n - 1n).toBe(r.instructions);
    expect(rows[0].meanNs).toBeGreaterThan(0);
    expect(vm.vmcs.x(A0)).toBe(0n);
    expect(vm.vmcs.x(A1)).toBe(0x02000000n);
    setTimeout(() => vm.stop(), 50);
    expect((await vm.run({ timeoutMs: 5_000 })).reason).toBe('stopped');
  });
});
