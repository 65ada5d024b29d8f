/**
 * F and D in VM mode: the guest kernel turns FP on with its own sstatus.FS (vsstatus; the
 * host's mstatus.FS is set by vmRun, privileged spec §8.2.11), computes, and reads back fflags
 * and sstatus.SD. f0..f31 and fcsr stay in the hart across the VM exits in between (each SBI
 * putchar is an exit): the registers written before the exits are read after them.
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { Vm } from '../../host/vmm/vm';
import * as E from '../diff/encode';
import { fp, RM, csr, CSR_FFLAGS } from '../diff/fp-encode';
import { assemble, csrrs, li, putchar, A0, T0, T1, T2 } from './guests';

describe('F and D in a VM', () => {
  it('the guest enables FP through sstatus.FS; results, fflags and SD survive VM exits', async () => {
    const code = assemble([
      ...li(T0, 0x2000), csrrs(0, 0x100, T0), // sstatus.FS = Initial (vsstatus)
      ...li(T0, 1), fp('fcvt.d.w', { rd: 1, rs1: T0, rm: RM.rne }), // f1 = 1
      ...li(T0, 3), fp('fcvt.d.w', { rd: 2, rs1: T0, rm: RM.rne }), // f2 = 3
      fp('fdiv.d', { rd: 3, rs1: 1, rs2: 2, rm: RM.rne }), // 1/3: NX
      fp('fadd.d', { rd: 4, rs1: 1, rs2: 2, rm: RM.rne }), // 4
      ...putchar('F'), ...putchar('P'), // two VM exits
      fp('fsqrt.d', { rd: 4, rs1: 4, rm: RM.rne }), // 2
      fp('fmul.d', { rd: 4, rs1: 4, rs2: 2, rm: RM.rne }), // 6
      fp('fcvt.w.d', { rd: T1, rs1: 4, rm: RM.rtz }), // t1 = 6
      csr(2, T2, CSR_FFLAGS, 0), // t2 = fflags = NX (1)
      csrrs(T0, 0x100, 0), E.shiftI('srli', T0, T0, 63), // t0 = sstatus.SD
      // exit code = 6 * 4 + fflags * 2 + SD = 27
      E.shiftI('slli', T1, T1, 2), E.shiftI('slli', T2, T2, 1), E.aluR('add', T1, T1, T2), E.aluR('add', A0, T1, T0),
      // the test finisher: FAIL(code) ends the VM with that exit code
      E.shiftI('slli', A0, A0, 16), ...li(T1, 0x3333), E.aluR('or', A0, A0, T1), E.lui(T0, 0x100), E.store('sw', A0, T0, 0), E.jal(0, 0),
    ]);
    const out: number[] = [];
    const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(code, 'fp.bin', 0x80200000n), deterministic: true, onConsoleOutput: (b) => out.push(...b) });
    const r = await vm.run({ maxInstructions: 100_000n, timeoutMs: 10_000 });
    expect(r.failure).toBeUndefined();
    expect(r).toMatchObject({ reason: 'exit', exitCode: 27 });
    expect(String.fromCharCode(...out)).toBe('FP');
  });
});
