/**
 * Hostile PV hypercalls (host/vmm/virt/pv.ts): each malformed request is refused with Xen's
 * error (-EPERM, -EINVAL, -EFAULT, -ENOSYS) or SBI's, with the count done in a1, and changes
 * nothing it should not; a count above PV_BATCH_MAX (docs/bounds.md) is refused before any
 * work; set_callback and iret refuse what is not guest RAM; random hypercalls with random arguments (fast-check, fixed seed) never throw, never
 * write outside guest RAM's tables, and leave no shadow entry outside guest memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../../host/machine/loader';
import type { SbiExtension, SbiVcpu } from '../../../host/vmm/sbi';
import { MMUEXT, PV_BATCH_MAX, PV_FID, PV_SBI_EID } from '../../../host/vmm/virt/pv-abi';
import type { PvTechnique } from '../../../host/vmm/virt/pv';
import { Vm } from '../../../host/vmm/vm';
import * as E from '../../diff/encode';
import { A0, assemble, S1, sbi, shutdown } from '../guests';
import { liU } from './pv-guest';

const RAM = 0x8000_0000n;
const MEM = 16 << 20;
const RAM_END = RAM + BigInt(MEM);
const REQS = RAM + 0x40_0000n; // a free page for request arrays
const TABLE = RAM + 0x41_0000n; // the PTEs the requests name
const DONE = RAM + 0x42_0000n;
const EPERM = -1n, EFAULT = -14n, EINVAL = -22n, ENOSYS = -38n;
const SBI_ERR_NOT_SUPPORTED = -2n, SBI_ERR_INVALID_PARAM = -3n;
const leaf = (pa: bigint, flags = 0xc7n /* V R W A D */) => ((pa >> 12n) << 10n) | flags;

async function pvVm() {
  const vm = await Vm.create({ memSize: MEM, kernel: parseImage(assemble(shutdown()), 'guest.bin', 0x8020_0000n), deterministic: true, virt: 'pv' });
  const ext = vm.sbiExtensions.get(PV_SBI_EID) as SbiExtension;
  const v = vm.vmcs;
  // The registers and memory of the guest, as the vCPU gives them to an SBI extension.
  const s = {
    x: (i: number) => v.x(i), setX: (i: number, n: bigint) => v.setX(i, n),
    xNumber: (i: number) => Number(v.x(i) > 0xffff_ffff_ffffn ? 0xffff_ffff_ffffn : v.x(i)),
    xLow32: (i: number) => Number(v.x(i) & 0xffff_ffffn),
    setXNumber: (i: number, n: number) => v.setX(i, BigInt.asUintN(64, BigInt(n))),
    readGuest: (gpa: bigint, len: number) => vm.readGuest(gpa, len),
    writeGuest: (gpa: bigint, b: Uint8Array) => vm.writeGuest(gpa, b),
  } as unknown as SbiVcpu;
  const call = (fid: number, a0: bigint, a1: bigint, a2: bigint) => {
    v.setX(10, a0); v.setX(11, a1); v.setX(12, a2);
    expect(ext.handle(s, fid)).toEqual({ kind: 'continue' });
    return [BigInt.asIntN(64, v.x(10)), v.x(11)] as const;
  };
  const reqs = (list: [bigint, bigint][]) => {
    const b = new Uint8Array(list.length * 16);
    const dv = new DataView(b.buffer);
    list.forEach(([p, val], i) => { dv.setBigUint64(i * 16, p, true); dv.setBigUint64(i * 16 + 8, val, true); });
    expect(vm.writeGuest(REQS, b)).toBe(true);
  };
  const read64 = (gpa: bigint) => new DataView((vm.readGuest(gpa, 8) as Uint8Array).slice().buffer).getBigUint64(0, true);
  const tech = vm.vcpu.technique as PvTechnique;
  return { vm, call, reqs, read64, tech };
}

describe('--virt pv: malformed hypercalls are refused with Xen errors', () => {
  it('mmu_update: PTE pointers and PTEs outside guest RAM (-EPERM), reserved bits and W without R (-EINVAL), commands (-ENOSYS)', async () => {
    const { call, reqs, read64, tech } = await pvVm();
    const cases: [bigint, bigint, bigint][] = [
      [0x1000_0000n, leaf(RAM), EPERM], // the PTE pointer names the UART
      [RAM_END, leaf(RAM), EPERM], // just past guest RAM
      [0n, leaf(RAM), EPERM],
      [TABLE, leaf(RAM_END), EPERM], // a page past guest RAM
      [TABLE, leaf(0x1_0000_0000n), EPERM],
      [TABLE, leaf(0x0200_0000n), EPERM], // the CLINT
      [TABLE, leaf(0n, 0x01n), EPERM], // a table pointer to address 0
      [TABLE, leaf(RAM) | (1n << 54n), EINVAL], // reserved bits 63:54
      [TABLE, leaf(RAM) | (1n << 63n), EINVAL],
      [TABLE, leaf(RAM, 0x05n), EINVAL], // V W without R
      [TABLE | 1n, leaf(RAM), ENOSYS], // MMU_MACHPHYS_UPDATE
      [TABLE | 2n, leaf(RAM), ENOSYS],
      [TABLE + 4n, leaf(RAM), ENOSYS], // misaligned
    ];
    for (const [ptr, val, err] of cases) {
      reqs([[ptr, val]]);
      expect([ptr, val, call(PV_FID.MMU_UPDATE, REQS, 1n, DONE)]).toEqual([ptr, val, [err, 0n]]);
      expect(read64(DONE)).toBe(0n);
      expect(read64(TABLE)).toBe(0n);
    }
    // A PTE with V = 0 may hold anything: no walk reads it.
    reqs([[TABLE, 0xffff_ffff_ffff_fffen]]);
    expect(call(PV_FID.MMU_UPDATE, REQS, 1n, DONE)).toEqual([0n, 1n]);
    expect(read64(TABLE)).toBe(0xffff_ffff_ffff_fffen);
    expect(tech.counters()).toMatchObject({ hypercalls: cases.length + 1, mmuUpdates: 1 });
  });

  it(`counts above ${PV_BATCH_MAX} are refused before any work; an array or count pointer outside RAM is -EFAULT`, async () => {
    const { call, reqs, read64, tech } = await pvVm();
    reqs([[TABLE, leaf(RAM)]]);
    for (const n of [BigInt(PV_BATCH_MAX) + 1n, 1n << 40n, (1n << 64n) - 1n]) {
      expect(call(PV_FID.MMU_UPDATE, REQS, n, DONE)).toEqual([EINVAL, 0n]);
      expect(call(PV_FID.MMUEXT_OP, REQS, n, 0n)).toEqual([EINVAL, 0n]);
    }
    expect(read64(TABLE)).toBe(0n);
    expect(call(PV_FID.MMU_UPDATE, 0x1000_0000n, 1n, 0n)).toEqual([EFAULT, 0n]);
    expect(call(PV_FID.MMU_UPDATE, RAM_END - 16n * 4n, 8n, 0n)).toEqual([EFAULT, 0n]); // runs past the end of RAM
    expect(call(PV_FID.MMU_UPDATE, REQS, 1n, RAM_END)).toEqual([EFAULT, 1n]); // done, but the count cannot be stored
    expect(read64(TABLE)).toBe(leaf(RAM));
    // PV_BATCH_MAX itself is taken.
    reqs(Array.from({ length: PV_BATCH_MAX }, (_, i) => [TABLE + BigInt(i) * 8n, leaf(RAM + BigInt(i) * 4096n)]));
    expect(call(PV_FID.MMU_UPDATE, REQS, BigInt(PV_BATCH_MAX), DONE)).toEqual([0n, BigInt(PV_BATCH_MAX)]);
    expect(tech.counters().mmuUpdates).toBe(1 + PV_BATCH_MAX);
  });

  it('mmuext_op: unknown commands (-ENOSYS), bad base pointers and frames (-EINVAL); csr: CSRs outside virtual S and bad ops; unknown FIDs', async () => {
    const { vm, call, reqs } = await pvVm();
    const op = (cmd: bigint, arg1: bigint) => { reqs([[cmd, arg1], [0n, 0n]]); return call(PV_FID.MMUEXT_OP, REQS, 1n, 0n); };
    expect(op(99n, 0n)).toEqual([ENOSYS, 0n]);
    expect(op(BigInt(MMUEXT.NEW_BASEPTR), (1n << 60n) | (TABLE >> 12n))).toEqual([EINVAL, 0n]); // mode 1
    expect(op(BigInt(MMUEXT.NEW_BASEPTR), (8n << 60n) | (RAM_END >> 12n))).toEqual([EINVAL, 0n]); // root outside RAM
    expect(op(BigInt(MMUEXT.UNPIN_TABLE), RAM_END >> 12n)).toEqual([EINVAL, 0n]);
    expect(vm.vmcs.vsatp).toBe(0n);
    expect(op(BigInt(MMUEXT.NEW_BASEPTR), (8n << 60n) | (TABLE >> 12n))).toEqual([0n, 1n]);
    expect(vm.vmcs.vsatp).toBe((8n << 60n) | (TABLE >> 12n));
    expect(call(PV_FID.CSR, 0x300n, 0n, 0n)[0]).toBe(SBI_ERR_INVALID_PARAM); // mstatus
    expect(call(PV_FID.CSR, 0x600n, 1n, 0n)[0]).toBe(SBI_ERR_INVALID_PARAM); // hstatus
    expect(call(PV_FID.CSR, 0xc01n, 1n, 5n)[0]).toBe(SBI_ERR_INVALID_PARAM); // time is read-only
    expect(call(PV_FID.CSR, 0x140n, 4n, 0n)[0]).toBe(SBI_ERR_INVALID_PARAM); // op 4
    expect(call(PV_FID.CSR, 0x1_0000_0140n, 0n, 0n)[0]).toBe(SBI_ERR_INVALID_PARAM);
    expect(call(PV_FID.CSR, 0x140n, 1n, 0x1234n)).toEqual([0n, 0n]); // sscratch: old value 0
    expect(call(PV_FID.CSR, 0x140n, 0n, 0n)).toEqual([0n, 0x1234n]);
    expect(vm.vmcs.vsscratch).toBe(0x1234n);
    expect(call(7, 0n, 0n, 0n)[0]).toBe(SBI_ERR_NOT_SUPPORTED);
    // set_callback: the information block must be guest RAM, the entry 2-byte aligned; entry 0 turns it off.
    expect(call(PV_FID.SET_CALLBACK, 0x8020_0000n, RAM_END - 8n, 0n)[0]).toBe(SBI_ERR_INVALID_PARAM);
    expect(call(PV_FID.SET_CALLBACK, 0x8020_0001n, REQS, 0n)[0]).toBe(SBI_ERR_INVALID_PARAM);
    expect(call(PV_FID.SET_CALLBACK, 0n, 0x1000_0000n, 0n)[0]).toBe(0n);
  });

  it('iret with a frame outside guest RAM: a0 = -EFAULT and the guest goes on after its ecall', async () => {
    const words = [...liU(A0, 0x1000_0000n), ...sbi(PV_SBI_EID, PV_FID.IRET), E.aluI('addi', S1, A0, 0), ...shutdown()];
    const vm = await Vm.create({ memSize: MEM, kernel: parseImage(assemble(words), 'guest.bin', 0x8020_0000n), deterministic: true, virt: 'pv' });
    const r = await vm.run({ maxInstructions: 10_000n, timeoutMs: 20_000 });
    expect([r.reason, r.exitCode, r.failure]).toEqual(['exit', 0, undefined]);
    expect(BigInt.asIntN(64, vm.vmcs.x(S1))).toBe(EFAULT);
    expect(vm.exits.rows().find((row) => row.reason === 'SBI ecall (PV iret)')?.count).toBe(1);
    expect((vm.vcpu.technique as PvTechnique).counters().hypercalls).toBe(1);
  });

  it('random hypercalls (fast-check, fixed seed) never throw and leave every shadow leaf on a guest RAM frame', async () => {
    const { vm, call, tech } = await pvVm();
    const word = fc.oneof(
      fc.constantFrom(0n, REQS, TABLE, RAM, RAM_END, RAM_END - 8n, 0x1000_0000n, (1n << 64n) - 1n),
      fc.bigInt({ min: RAM, max: RAM_END - 1n }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), word, fc.bigInt({ min: 0n, max: 600n }), word, fc.array(fc.tuple(word, word), { maxLength: 8 })), { maxLength: 12 }), (calls) => {
        for (const [fid, a0, a1, a2, data] of calls) {
          // Random requests where the array pointer most likely points.
          const b = new Uint8Array(data.length * 16);
          const dv = new DataView(b.buffer);
          data.forEach(([p, val], i) => { dv.setBigUint64(i * 16, p, true); dv.setBigUint64(i * 16 + 8, val, true); });
          vm.writeGuest(REQS, b);
          const [err] = call(fid, a0, a1, a2);
          expect([0n, EPERM, EFAULT, EINVAL, ENOSYS, SBI_ERR_NOT_SUPPORTED, SBI_ERR_INVALID_PARAM]).toContain(err);
          // Then the guest touches its address space: the shadow is filled from whatever the tables hold now.
          tech.shadow.activate(vm.vmcs.vsatp, { user: false, sum: true, mxr: false });
          for (const va of [RAM, TABLE, REQS, 0n, 0x1000n]) tech.shadow.fault(va, 'read');
        }
        for (const l of tech.shadow.leaves()) {
          expect(isGuestFrame(vm, l.hpa), `shadow leaf for 0x${l.va.toString(16)} -> host 0x${l.hpa.toString(16)}`).toBe(true);
        }
      }),
      { seed: 0x13_0bad, numRuns: 60 },
    );
  }, 120_000);
});

/** Whether host address `hpa` is the frame of a guest RAM page (populated now). */
function isGuestFrame(vm: Vm, hpa: bigint): boolean {
  for (let p = RAM; p < RAM_END; p += 4096n) if (vm.isPopulated(p) && vm.gpaToHpa(p) === hpa) return true;
  return false;
}
