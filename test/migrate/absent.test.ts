/**
 * Post-copy's missing pages on a bare machine (assembly/phys.ts ABSENT_MAP, Machine.run's
 * EXIT_ABSENT): a load, a store, an AMO, a page-table read and an instruction fetch to a page
 * that has not arrived each stop before the access, the host is asked for exactly that page, and once it is written
 * the access repeats and sees the arrived contents, never what was there before; a page that is
 * present costs no request. The same in the interpreter and in compiled code (--jit always). A
 * host access (device DMA) to a missing page throws rather than read it.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { Asm } from '../vmm/asm';
import * as ABI from '../../assembly/abi';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { PageNotHere } from '../../host/machine/missing-pages';

const [T0, T1, T2, A0, S1, S2, S3, S4, S5, S6, S7] = [5, 6, 7, 10, 9, 18, 19, 20, 21, 22, 23];
// RAM page indices (from 0x80000000): the program is page 0; LOADED is present, the rest absent.
const LOADED = 0x20, A = 0x100, B = 0x105, C = 0x107, PT = 0x108, CODE = 0x10a;
// Sv39 through PT: VA 0x4000_0000 (VPN[2] = 1) is a 1 GiB leaf onto PA 0x8000_0000.
const VA = 0x4000_0000n;
const LEAF = (0x80000n << 10n) | 0xc7n; // D A - - - W R V
const page = (i: number) => 0x8000_0000n + BigInt(i) * 4096n;
const u64 = (v: bigint) => new Uint8Array(new BigUint64Array([v]).buffer);

function program(): Uint8Array {
  const a = new Asm(0x8000_0000n);
  a.li64(S1, page(A)).li64(S2, page(B)).li64(S3, page(C)).li64(S4, page(CODE));
  a.li64(A0, page(LOADED)).emit(E.load('ld', A0, A0, 0)); // a present page: no request
  a.emit(E.load('ld', T1, S2, 0x10)); // (B: stored to below, loaded first: one request for both)
  a.emit(E.load('ld', T0, S1, 0)); // A: load
  a.emit(E.store('sd', T0, S2, 8)); // B: store
  a.emit(E.amo('amoadd', 'd', T1, S3, T0)); // C: AMO (T1 = old C, C += T0)
  // PT: a load translated through a root page table that has not arrived (M-mode, MPRV with MPP = S):
  // the walker's PTE read stops, not the access to A.
  // (li64 loads from a constant pool: all of them before MPRV translates loads)
  a.li64(S5, VA + BigInt(A) * 4096n).li64(S7, (8n << 60n) | (page(PT) >> 12n)).li64(T2, (1n << 17n) | (1n << 11n));
  a.emit(E.csr(1, 0, S7, 0x180)); // csrw satp
  a.emit(E.csr(2, 0, T2, 0x300), E.load('ld', S6, S5, 0)); // csrs mstatus, MPRV | MPP=S; the load
  a.emit(E.csr(3, 0, T2, 0x300)); // csrc mstatus
  a.emit(E.iType(0x67, 0, 0, S4, 0)); // jr CODE: a fetch
  return a.finish(4096);
}

/** What the source would send for each page: data at offset 0, or code. */
function arriving(): Map<number, Uint8Array> {
  const code = new Asm(page(CODE));
  code.emit(E.aluI('addi', A0, T0, 1)).label('end').jal(0, 'end');
  return new Map([
    [A, u64(0x1111n)],
    [B, new Uint8Array(4096)],
    [C, u64(0x2200n)],
    [PT, new Uint8Array(new BigUint64Array([0n, LEAF]).buffer)],
    [CODE, code.finish(64)],
  ]);
}

async function scenario(jit: 'off' | 'always'): Promise<void> {
  const m = await Machine.create({ memSize: 16 << 20, kernel: parseImage(program(), 'absent.bin', 0x8000_0000n), deterministic: true, jit });
  const { ram, core } = m.snapshotInternals();
  // Stale contents where the pages will arrive: the guest must never see them.
  for (const p of [A, B, C, PT, CODE]) ram.write(page(p), new Uint8Array(4096).fill(0xee));
  ram.write(page(LOADED), u64(7n));
  const data = arriving();
  const missing = new Set(data.keys());
  const map = new Uint8Array(ram.memory.buffer, ABI.ABSENT_MAP, ABI.ABSENT_MAP_SIZE);
  for (const p of missing) map[p >> 3] |= 1 << (p & 7);
  const asked: number[] = [];
  ram.missing = {
    has: (p) => missing.has(p),
    all: () => Promise.reject(new Error('no device here')),
    fetch: async (p) => {
      asked.push(p);
      await new Promise((r) => setTimeout(r, 1)); // (it arrives later, as over the stream)
      missing.delete(p);
      map[p >> 3] &= ~(1 << (p & 7));
      const page4k = new Uint8Array(4096);
      page4k.set(data.get(p)!);
      ram.write(page(p), page4k);
    },
  };
  core.setAbsentOn(true);
  core.flushTlb();
  // A host access (a device's DMA) to a missing page is refused before it reads anything.
  expect(() => ram.read(page(C) + 8n, 8)).toThrow(PageNotHere);
  expect(() => ram.write(page(CODE), new Uint8Array(1))).toThrow(PageNotHere);
  const r = await m.run({ maxInstructions: 200n });
  expect(r.reason).toBe('max-instructions');
  expect(asked).toEqual([B, A, C, PT, CODE]);
  expect(m.hart.x(S6)).toBe(0x1111n); // A through the page table that arrived
  expect(m.hart.x(T0)).toBe(0x1111n); // A's arrived contents, not 0xeeee...
  expect(m.hart.x(T1)).toBe(0x2200n); // C's old value as it arrived
  expect(m.hart.x(A0)).toBe(0x1112n); // the code that arrived on CODE ran
  expect(ram.read(page(B) + 8n, 8)).toEqual(u64(0x1111n));
  expect(ram.read(page(C), 8)).toEqual(u64(0x3311n));
  expect(missing.size).toBe(0);
  core.setAbsentOn(false);
}

describe('post-copy: pages not arrived on a bare machine', () => {
  it('interpreter: load, store, AMO, PTE read and fetch each wait for their page, then see what arrived', () => scenario('off'));
  it('compiled code (--jit always): the same', () => scenario('always'));
});
