/**
 * The guest's store to one of its own page-table pages, which shadow paging write-protects
 * (shadow.ts): the VMM performs it on the guest's behalf. Plain stores come from the MMIO
 * decoder; Linux also updates PTEs with AMOs (ptep_get_and_clear: amoswap) and LR/SC loops
 * (cmpxchg), so those are emulated too (ISA spec, "A" extension, §8.2-8.4):
 *   - an AMO reads the old value (sign-extended for .W) into rd and stores op(old, rs2);
 *   - SC stores rs2 and writes 0 (success) to rd: the hart is the guest's only one, and the LR
 *     that took the reservation ran just before on the same (read-only mapped) page.
 */
import { decodeRaw } from '../mmio';
import type { Vm } from '../vm';
import type { VcpuPort } from '../virt/technique';
import type { ShadowAccess, ShadowPager } from './shadow';

/** What the VMM needs of the vCPU and of guest memory. */
export interface PtWriteHost {
  x(r: number): bigint;
  setX(r: number, v: bigint): void;
  read(gpa: bigint, size: number): bigint;
  write(gpa: bigint, size: number, v: bigint): void;
}

const M64 = (1n << 64n) - 1n;
const sext = (v: bigint, size: number): bigint => (size === 4 ? BigInt.asUintN(64, BigInt.asIntN(32, v)) : v & M64);

/** Emulate `insn` (a store, AMO or SC) writing guest-physical `gpa`; its length and size, or undefined. */
export function emulatePtWrite(insn: number, gpa: bigint, h: PtWriteHost): { len: number; size: number } | undefined {
  if ((insn & 0x7f) === 0x2f) {
    const f3 = (insn >>> 12) & 7;
    if (f3 !== 2 && f3 !== 3) return undefined;
    const size = f3 === 2 ? 4 : 8;
    const f5 = insn >>> 27;
    const rd = (insn >>> 7) & 31;
    const src = h.x((insn >>> 20) & 31);
    if (f5 === 0x02) return undefined; // LR reads: it never faults on a write-protected page
    if (f5 === 0x03) { // SC
      h.write(gpa, size, src);
      if (rd !== 0) h.setX(rd, 0n);
      return { len: 4, size };
    }
    const bits = BigInt(size * 8);
    const old = h.read(gpa, size);
    const a = BigInt.asUintN(Number(bits), old);
    const b = BigInt.asUintN(Number(bits), src);
    const sa = BigInt.asIntN(Number(bits), a);
    const sb = BigInt.asIntN(Number(bits), b);
    let v: bigint;
    switch (f5) {
      case 0x01: v = b; break; // amoswap
      case 0x00: v = a + b; break; // amoadd
      case 0x04: v = a ^ b; break; // amoxor
      case 0x0c: v = a & b; break; // amoand
      case 0x08: v = a | b; break; // amoor
      case 0x10: v = sa < sb ? a : b; break; // amomin
      case 0x14: v = sa > sb ? a : b; break; // amomax
      case 0x18: v = a < b ? a : b; break; // amominu
      case 0x1c: v = a > b ? a : b; break; // amomaxu
      default: return undefined;
    }
    h.write(gpa, size, BigInt.asUintN(Number(bits), v));
    if (rd !== 0) h.setX(rd, sext(a, size));
    return { len: 4, size };
  }
  const acc = decodeRaw(insn);
  if (acc === undefined || !acc.write) return undefined;
  h.write(gpa, acc.size, h.x(acc.reg));
  return { len: acc.len, size: acc.size };
}

/** Guest memory and registers for emulatePtWrite (paging/pt-write.ts), over the VM's host RAM. */
export function ptWriteHost(vm: Vm): PtWriteHost {
  const v = vm.vmcs;
  const le = (b: Uint8Array) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
  return {
    x: (r) => v.x(r),
    setX: (r, val) => v.setX(r, val),
    read: (gpa, size) => le(vm.hostRam.read(vm.gpaToHpa(gpa) as bigint, size)),
    write: (gpa, size, val) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = Number((val >> BigInt(8 * i)) & 0xffn);
      vm.hostRam.write(vm.gpaToHpa(gpa) as bigint, bytes);
    },
  };
}

/**
 * A shadow fault that is a guest store to its own (write-protected) page table: emulate the
 * instruction at pc, zap the shadow entries it invalidates, step over it. Undefined when done,
 * else why it could not be (one line, for the vCPU's fail).
 */
export function servePtWrite(cpu: VcpuPort, shadow: ShadowPager, gpa: bigint, access: ShadowAccess): string | undefined {
  const vm = cpu.vm;
  const raw = cpu.fetchInsn(vm.vmcs.pc);
  const done = raw !== undefined && access === 'write' ? emulatePtWrite(raw, gpa, ptWriteHost(vm)) : undefined;
  if (done === undefined) return `store to the guest page table at guest-physical 0x${gpa.toString(16)} by an instruction the VMM cannot emulate`;
  shadow.ptWritten(gpa, done.size);
  vm.vmcs.advancePc(done.len);
  return undefined;
}
