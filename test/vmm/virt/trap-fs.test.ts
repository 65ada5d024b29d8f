/**
 * sstatus.FS of a deprivileged kernel (--virt trap and bt; trap-csr.ts, assembly/btvirt.ts).
 *
 * The bug this pins: the virtual sstatus kept only SIE, SPIE, SPP, SUM and MXR, so a guest's
 * `csrs sstatus, SR_FS` was dropped while the hart, which runs the kernel in real U-mode, kept
 * mstatus.FS = Off. Linux's first __fstate_restore (an fld, when it starts /init) then took an
 * illegal-instruction trap in the kernel: "Oops - illegal instruction", init killed by SIGSEGV.
 * FS also has to read back Dirty after the guest writes an FP register (priv spec §3.1.6.6:
 * Linux saves a task's FP registers on a context switch only when sstatus.FS is Dirty).
 * The H extension (--virt hw) is the reference: the same guest sees the same values there.
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../../host/machine/loader';
import { Vm } from '../../../host/vmm/vm';
import * as E from '../../diff/encode';
import { A0, A1, A2, assemble, csrrs, csrrw, T0, T1 } from '../guests';

const BASE = 0x80200000n;
const A3 = 13;
const CSR = { sstatus: 0x100, stvec: 0x105 };
const csrrc = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (3 << 12) | (rd << 7) | 0x73) >>> 0;
/** fmv.d.x fd, rs1 and fmv.x.d rd, fs1 (RV64D). */
const fmvDX = (fd: number, rs1: number) => ((0x79 << 25) | (rs1 << 15) | (fd << 7) | 0x53) >>> 0;
const fmvXD = (rd: number, fs1: number) => ((0x71 << 25) | (fs1 << 15) | (rd << 7) | 0x53) >>> 0;
const FS_INITIAL = 1n << 13n, FS_DIRTY = 3n << 13n, SD = 1n << 63n, UXL64 = 2n << 32n;

// stvec = handler; a0 = sstatus (FS Off); sstatus.FS = Initial; a1 = sstatus; f1 = 0x5a (FP write);
// a2 = sstatus (Dirty, SD); sstatus.FS = Off; a3 = sstatus; fmv.x.d t1, f1: illegal -> handler.
const FP_WRITE = 10, FP_READ = 16;
const words = [
  E.auipc(T0, 0), E.aluI('addi', T1, T0, (FP_READ + 2) * 4), csrrw(0, CSR.stvec, T1),
  csrrs(A0, CSR.sstatus, 0),
  E.lui(T1, 2), csrrs(0, CSR.sstatus, T1), // 0x2000 = FS Initial
  csrrs(A1, CSR.sstatus, 0),
  E.aluI('addi', T1, 0, 0x5a), E.aluI('addi', T1, T1, 0), E.aluI('addi', T1, T1, 0),
  fmvDX(1, T1),
  csrrs(A2, CSR.sstatus, 0),
  E.lui(T1, 6), csrrc(0, CSR.sstatus, T1), // 0x6000 = FS
  csrrs(A3, CSR.sstatus, 0),
  E.aluI('addi', T1, 0, 0), fmvXD(T1, 1),
  E.jal(0, 0),
  E.jal(0, 0), // handler
];

async function run(virt: 'hw' | 'trap' | 'bt') {
  const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(assemble(words), 'guest.bin', BASE), deterministic: true, virt, jit: 'off' });
  await vm.run({ maxInstructions: 400n, timeoutMs: 30_000 });
  const v = vm.vmcs;
  return {
    a0: v.x(A0) & (FS_DIRTY | SD), a1: v.x(A1) & (FS_DIRTY | SD), a2: v.x(A2) & (FS_DIRTY | SD), a3: v.x(A3) & (FS_DIRTY | SD),
    uxl: v.x(A1) & UXL64, t1: v.x(T1), pc: v.pc, vscause: v.vscause, vsepc: v.vsepc, vstval: v.vstval,
  };
}

describe('sstatus.FS under a deprivileged kernel', () => {
  expect(words[FP_WRITE]).toBe(fmvDX(1, T1));
  expect(words[FP_READ]).toBe(fmvXD(T1, 1));

  for (const virt of ['trap', 'bt'] as const) {
    it(`--virt ${virt}: FS written, Dirty after an FP write, Off again traps; as under --virt hw`, async () => {
      const got = await run(virt);
      expect(got).toEqual({
        a0: 0n, a1: FS_INITIAL, a2: FS_DIRTY | SD, a3: 0n, uxl: UXL64,
        t1: 0n, // the fmv.x.d with FS Off did not write t1
        pc: BASE + BigInt((FP_READ + 2) * 4), vscause: 2n, vsepc: BASE + BigInt(FP_READ * 4), vstval: BigInt(fmvXD(T1, 1)),
      });
      const hw = await run('hw');
      expect(got).toEqual(hw);
    });
  }
});
