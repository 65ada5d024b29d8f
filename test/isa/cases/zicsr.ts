/**
 * Zicsr (unprivileged spec ch. 7) with the CSR rules of the privileged spec (§2.1 address
 * conventions, §3.1 machine CSRs, §4.1 supervisor CSRs): read-old/write-new of each form, the
 * x0 / zimm = 0 rule (no write, so read-only CSRs are readable), illegal accesses with
 * mtval = the instruction bits, and a few WARL fields.
 */
import { expect } from 'vitest';
import { Cases, expectIllegal, expectRetired, S, U, type Harness } from '../harness';

export const cases = new Cases();

const MSCRATCH = 0x340;
/** A CSR instruction: csr | rs1 or zimm | funct3 | rd | SYSTEM. */
const csr = (f3: number, rd: number, rs1: number, c: number) => ((c << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x73) >>> 0;
const F3 = { csrrw: 1, csrrs: 2, csrrc: 3, csrrwi: 5, csrrsi: 6, csrrci: 7 } as const;
type Op = keyof typeof F3;

/**
 * x5 = old CSR value; the CSR's slot `slot` = `after` (undefined: must not change). `src` is
 * the zimm of the immediate forms, else the value put in x6 = rs1, or 'x0' for rs1 = x0.
 */
function op(name: Op, c: number, slot: string, src: bigint | number | 'x0', rd: bigint | undefined, after: bigint | undefined, title: string, setup: (h: Harness) => void, rdReg = 5): void {
  cases.add(name, title, (h) => {
    const imm = name.endsWith('i');
    const rs1 = imm ? Number(src) : src === 'x0' ? 0 : 6;
    const s = h.exec(csr(F3[name], rdReg, rs1, c), (h) => {
      setup(h);
      if (rs1 === 6) h.hart.setX(6, BigInt(src));
    });
    const w: Record<string, bigint> = {};
    if (rd !== undefined) w[`x${rdReg}`] = rd;
    if (after !== undefined) w[slot] = after;
    expectRetired(s, 4, w);
  });
}
const scratch = (v: bigint) => (h: Harness) => { h.hart.mscratch = v; };

op('csrrw', MSCRATCH, 'mscratch', 0xabcdn, 0x1234n, 0xabcdn, 'swaps: rd = old, csr = rs1', scratch(0x1234n));
op('csrrw', MSCRATCH, 'mscratch', 0xabcdn, undefined, 0xabcdn, 'rd = x0: write only', scratch(0x1234n), 0);
op('csrrs', MSCRATCH, 'mscratch', 0x0fn, 0xf0n, 0xffn, 'sets the bits of rs1', scratch(0xf0n));
op('csrrc', MSCRATCH, 'mscratch', 0x0fn, 0xffn, 0xf0n, 'clears the bits of rs1', scratch(0xffn));
op('csrrwi', MSCRATCH, 'mscratch', 31, 0x1234n, 31n, 'writes the zero-extended zimm', scratch(0x1234n));
op('csrrsi', MSCRATCH, 'mscratch', 0x0f, 0xf0n, 0xffn, 'sets the zimm bits', scratch(0xf0n));
op('csrrci', MSCRATCH, 'mscratch', 0x0f, 0xffn, 0xf0n, 'clears the zimm bits', scratch(0xffn));

// Read-only CSRs (bits 11:10 = 11) may be read when the instruction does not write (§9.1).
op('csrrs', 0xf14, 'mhartid', 'x0', 0n, undefined, 'csrrs rd, mhartid, x0 reads a read-only CSR', () => {});
op('csrrs', 0xf14, 'mhartid', 'x0', undefined, undefined, 'csrrs x0, mhartid, x0 (a pure read with rd = x0) is legal', () => {}, 0);
op('csrrc', 0xf11, 'mvendorid', 'x0', 0n, undefined, 'csrrc rd, mvendorid, x0 reads a read-only CSR', () => {});
op('csrrsi', 0xf12, 'marchid', 0, 0n, undefined, 'csrrsi rd, marchid, 0 reads a read-only CSR', () => {});
op('csrrci', 0xf13, 'mimpid', 0, 0n, undefined, 'csrrci rd, mimpid, 0 reads a read-only CSR', () => {});
op('csrrs', 0x301, 'misa', 'x0', 0x80000000001411adn, undefined, 'misa reads RV64 ACDFHIMSU', () => {});
op('csrrs', 0xb02, 'minstret', 'x0', 100n, undefined, 'minstret reads the instructions retired before this one', (h) => { h.hart.instret = 100n; });
op('csrrs', 0xc02, 'instret', 'x0', 100n, undefined, 'instret (user counter) reads the same in M-mode', (h) => { h.hart.instret = 100n; });
op('csrrs', 0xc01, 'time', 'x0', 12n, undefined, 'time = mtime = instret >> 3 (deterministic time base)', (h) => { h.hart.instret = 100n; });
cases.add('csrrw', 'minstret write: the next instruction reads the written value (§3.3.1, no increment for the writer)', (h) => {
  h.reset();
  h.put(csr(1, 5, 6, 0xb02));
  h.put(csr(2, 7, 0, 0xb02), 0x80000004n);
  h.hart.instret = 100n;
  h.hart.setX(6, 1000n);
  const w = h.step();
  expect(w.changed).toEqual(['x5', 'pc', 'instret', 'minstret_delta']);
  expect(h.hart.x(5)).toBe(100n);
  expectRetired(h.step(), 4, { x7: 1000n });
});
op('csrrs', 0xc00, 'cycle', 'x0', 7n, undefined, 'U-mode reads cycle when mcounteren.CY and scounteren.CY are set', (h) => {
  h.hart.instret = 7n; h.hart.priv = U; h.hart.mcounteren = 1n; h.hart.scounteren = 1n;
});
op('csrrs', 0x344, 'mip', 'x0', 0x80n, undefined, 'mip shows MTIP driven by the timer (mtimecmp = 0 after reset)', () => {});

// ---- illegal accesses: mtval = the instruction bits ----
const illegal = (name: Op, title: string, word: number, setup: (h: Harness) => void = () => {}) =>
  cases.add(name, `illegal: ${title}`, (h) => expectIllegal(h, word, setup));
illegal('csrrw', 'write to read-only mhartid', csr(1, 5, 6, 0xf14));
illegal('csrrw', 'csrrw to read-only with rd = x0 still writes', csr(1, 0, 0, 0xf11));
illegal('csrrs', 'csrrs with rs1 != x0 to read-only mvendorid', csr(2, 5, 6, 0xf11), (h) => h.hart.setX(6, 0n));
illegal('csrrc', 'csrrc with rs1 != x0 to read-only cycle', csr(3, 5, 6, 0xc00));
illegal('csrrwi', 'csrrwi with zimm 0 to read-only (csrrw always writes)', csr(5, 5, 0, 0xf14));
illegal('csrrsi', 'csrrsi with zimm != 0 to read-only', csr(6, 5, 1, 0xf14));
illegal('csrrci', 'csrrci with zimm != 0 to read-only', csr(7, 5, 1, 0xf12));
illegal('csrrs', 'unknown CSR 0x7c0', csr(2, 5, 0, 0x7c0));
illegal('csrrw', 'unknown CSR 0x5c0', csr(1, 5, 6, 0x5c0));
illegal('csrrs', 'odd pmpcfg1 does not exist on RV64', csr(2, 5, 0, 0x3a1));
illegal('csrrs', 'S-mode reads mstatus', csr(2, 5, 0, 0x300), (h) => { h.hart.priv = S; });
illegal('csrrs', 'U-mode reads sstatus', csr(2, 5, 0, 0x100), (h) => { h.hart.priv = U; });
illegal('csrrs', 'U-mode reads cycle with mcounteren.CY = 0', csr(2, 5, 0, 0xc00), (h) => { h.hart.priv = U; });
illegal('csrrs', 'S-mode reads satp with mstatus.TVM', csr(2, 5, 0, 0x180), (h) => { h.hart.priv = S; h.hart.mstatus |= 1n << 20n; });

// ---- WARL fields ----
const MSTATUS0 = 0xa00000000n; // UXL = SXL = 2 after reset
op('csrrw', 0x300, 'mstatus', -1n, MSTATUS0, 0x800000ca007e79aan, 'mstatus: only the implemented fields take all ones (with H: MPV, GVA; FS, and SD = FS Dirty)', () => {});
op('csrrw', 0x300, 'mstatus', 0x1000n, MSTATUS0, undefined, 'mstatus.MPP = 2 (reserved) keeps the old MPP', () => {});
op('csrrs', 0x100, 'mstatus', 'x0', 0x2000c0122n, undefined, 'sstatus is a view of mstatus (SIE, SPIE, SPP, SUM, MXR, UXL)', (h) => { h.hart.mstatus = 0xa007e19aan; });
op('csrrw', 0x100, 'mstatus', -1n, MSTATUS0 & 0x300000000n, MSTATUS0 | 0xc6122n | (1n << 63n), 'sstatus writes only SIE, SPIE, SPP, SUM, MXR, FS (SD follows FS)', () => {});
op('csrrw', 0x341, 'mepc', 0x80001235n, 0x5a5a5a5a5a5a5a5an, 0x80001234n, 'mepc: bit 0 is always zero (IALIGN = 16)', () => {});
op('csrrw', 0x305, 'mtvec', 0x80002002n, 0x80000100n, undefined, 'mtvec: reserved mode 2 is not written', () => {});
op('csrrw', 0x305, 'mtvec', 0x80002001n, 0x80000100n, 0x80002001n, 'mtvec: vectored mode is accepted', () => {});
op('csrrw', 0x180, 'satp', 0x1000000000000001n, 0n, undefined, 'satp: an unsupported MODE is not written', () => {});
op('csrrw', 0x180, 'satp', 0x8000000000080001n, 0n, 0x8000000000080001n, 'satp: Sv39 is accepted', () => {});
op('csrrw', 0x302, 'medeleg', -1n, 0n, 0xf0b7ffn, 'medeleg: ecall from M and reserved causes are not delegable (H adds 10, 20-23)', () => {});
op('csrrw', 0x303, 'mideleg', -1n, 0x444n, 0x222n, 'mideleg: S-level interrupts writable, VS-level read-only one (§8.4.1)', () => {});
cases.add('csrrw', 'mie: SSIE, MSIE, STIE, MTIE, SEIE, MEIE, and the VS bits, which are hie (§8.2.4)', (h) => {
  const s = h.exec(csr(F3.csrrw, 5, 6, 0x304), (h) => h.hart.setX(6, -1n));
  expectRetired(s, 4, { x5: 0n, mie: 0xaaan, hie: 0x444n });
});
op('csrrw', 0x301, 'misa', 0x1234n, 0x80000000001411adn, undefined, 'misa writes are ignored (WARL, fixed)', () => {});
cases.add('csrrw', 'mip: M-mode writes SSIP, STIP, SEIP and VSSIP (hvip); MTIP reads from the timer', (h) => {
  const s = h.exec(csr(F3.csrrw, 5, 6, 0x344), (h) => h.hart.setX(6, -1n));
  expectRetired(s, 4, { x5: 0x80n, mip: 0x222n, hvip: 0x4n });
});
op('csrrw', 0x104, 'mie', -1n, 0n, 0x222n, 'sie writes only the bits delegated in mideleg', (h) => { h.hart.mideleg = 0x222n; });
op('csrrs', 0x144, 'mip', 'x0', 0x2n, undefined, 'sip shows only delegated pending bits', (h) => { h.hart.mideleg = 0x2n; h.hart.mip = 0x222n; });
op('csrrw', 0x320, 'mcountinhibit', -1n, 0n, 0xfffffffdn, 'mcountinhibit: bit 1 (TM) is read-only zero', () => {});
op('csrrs', 0x180, 'satp', 'x0', 0n, undefined, 'M-mode reads satp even with mstatus.TVM', (h) => { h.hart.mstatus = 0xa00100000n; });
illegal('csrrs', 'U-mode reads time with mcounteren.TM = 0', csr(2, 5, 0, 0xc01), (h) => { h.hart.priv = U; });
illegal('csrrs', 'S-mode reads cycle with mcounteren.CY = 0', csr(2, 5, 0, 0xc00), (h) => { h.hart.priv = S; });
illegal('csrrs', 'U-mode reads cycle allowed by mcounteren but not scounteren', csr(2, 5, 0, 0xc00), (h) => { h.hart.priv = U; h.hart.mcounteren = 1n; });
illegal('csrrs', 'S-mode reads stimecmp without menvcfg.STCE', csr(2, 5, 0, 0x14d), (h) => { h.hart.priv = S; h.hart.mcounteren = 2n; });
illegal('csrrw', 'U-mode writes mscratch', csr(1, 5, 6, 0x340), (h) => { h.hart.priv = U; });
