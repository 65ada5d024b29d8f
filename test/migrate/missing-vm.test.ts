/**
 * Post-copy's missing pages in a VM (--virt hw; host/vmm/vm.ts populate, Vcpu.run): a page still
 * to come is unmapped in the G-stage, so a guest load or store to it is a guest-page fault whose
 * handling (populate) throws PageNotHere; the vCPU asks for exactly that page, and the guest
 * repeats the access and sees what arrived. An SBI call whose handler reads a missing page (DBCN
 * console write) is repeated the same way: its output appears once, from the arrived bytes.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { Asm } from '../vmm/asm';
import { parseImage } from '../../host/machine/loader';
import { KERNEL_RAW_BASE, Vm } from '../../host/vmm/vm';

const [T0, A0, A1, A2, A6, A7, S1, S2] = [5, 10, 11, 12, 16, 17, 9, 18];
const gpa = (pfn: number) => BigInt(pfn) << 12n;
const A = 0x80400, B = 0x80405, M = 0x80407; // guest page numbers, none touched by the loader

function program(): Uint8Array {
  const a = new Asm(KERNEL_RAW_BASE);
  a.li64(S1, gpa(A)).li64(S2, gpa(B));
  a.emit(E.load('ld', T0, S1, 0)); // A: load
  a.emit(E.store('sd', T0, S2, 8)); // B: store
  // SBI DBCN console write (SBI v2.0 §12.1) of 2 bytes at M + 16
  a.li64(A7, 0x4442434en).li64(A6, 0n).li64(A0, 2n).li64(A1, gpa(M) + 16n).li64(A2, 0n).emit(E.SYSTEM.ecall);
  // SBI SRST shutdown (§10.1)
  a.li64(A7, 0x53525354n).li64(A6, 0n).li64(A0, 0n).li64(A1, 0n).emit(E.SYSTEM.ecall);
  a.label('end').jal(0, 'end');
  return a.finish(4096);
}

describe('post-copy: pages not arrived in a VM (--virt hw)', () => {
  it('a load, a store and an SBI call each wait for their page, then see what arrived', async () => {
    let out = '';
    const vm = await Vm.create({
      memSize: 16 << 20, kernel: parseImage(program(), 'missing.bin', KERNEL_RAW_BASE), deterministic: true,
      onConsoleOutput: (b) => (out += Buffer.from(b).toString('latin1')),
    });
    const arriving = new Map<number, Uint8Array>([
      [A, new Uint8Array(new BigUint64Array([0x1234n]).buffer)],
      [B, new Uint8Array(8)],
      [M, new Uint8Array([...new Uint8Array(16), 0x68, 0x69])], // "hi" at offset 16
    ]);
    const missing = new Set(arriving.keys());
    for (const p of missing) expect(vm.isPopulated(gpa(p))).toBe(false);
    const asked: number[] = [];
    vm.missingPages = {
      has: (pfn) => missing.has(pfn),
      all: () => Promise.reject(new Error('no device here')),
      fetch: async (pfn) => {
        asked.push(pfn);
        await new Promise((r) => setTimeout(r, 1));
        missing.delete(pfn);
        const page = new Uint8Array(4096);
        page.set(arriving.get(pfn)!);
        vm.writeGuest(gpa(pfn), page);
      },
    };
    const r = await vm.run({ timeoutMs: 30_000 });
    expect([r.reason, r.exitCode]).toEqual(['exit', 0]);
    expect(asked).toEqual([A, B, M]);
    expect(vm.readGuest(gpa(B) + 8n, 8)).toEqual(new Uint8Array(new BigUint64Array([0x1234n]).buffer));
    expect(out).toBe('hi');
  }, 60_000);
});
