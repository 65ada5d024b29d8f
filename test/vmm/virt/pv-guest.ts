/**
 * A hand-built S-mode guest with its own Sv39 tables, for the PV and hw+shadow tests: code at
 * 0x8020_0000, then page-aligned data (all identity mapped by one 2 MiB superpage):
 *
 *   D + 0x0000  root     [2] -> L1
 *   D + 0x1000  L1       [1] = 2 MiB leaf over 0x8020_0000 (RWX, A, D: code, data, tables)
 *                        [2] -> L0 (covers TEST_VA = 0x8040_0000)
 *   D + 0x2000  L0       [0] = P0 (R W A D); the updates rewrite [0] to P1, then [1..n-1]
 *   D + 0x3000  mmu_update requests { ptr, val }, n of them; D + 0x3ff0: the count done
 *   D + 0x3fc0  one mmuext_op NEW_BASEPTR (arg1 = SATP)
 *   D + 0x4000  P0: 0x1111 at offset 0;  D + 0x5000  P1: 0x2222 at offset 0
 *
 * The program switches to the tables (PV: mmuext_op NEW_BASEPTR; native: csrw satp, and reads
 * it back into a3), loads
 * TEST_VA into s1 (P0's word), updates the L0 entries (PV: one mmu_update of n requests;
 * native: n stores and sfence.vma), loads TEST_VA again into s2 (P1's word if the update reached the shadow)
 * and shuts down.
 */
import * as E from '../../diff/encode';
import { A0, A1, A2, assemble, csrrs, csrrw, li, S1, sbi, shutdown } from '../guests';

export const BASE = 0x8020_0000n;
export const D = BASE + 0x1000n;
export const ROOT = D, L1 = D + 0x1000n, L0 = D + 0x2000n, REQS = D + 0x3000n, DONE = D + 0x3ff0n, OP = D + 0x3fc0n;
export const P0 = D + 0x4000n, P1 = D + 0x5000n;
export const TEST_VA = 0x8040_0000n;
export const SATP = (8n << 60n) | (ROOT >> 12n);
export const PV_EID = 0x09575056;
const SFENCE_VMA = 0x12000073;
export const A3 = 13, S2 = 18, S3 = 19, S4 = 20;
const V = 1n, R = 2n, W = 4n, X = 8n, A = 64n, Dd = 128n;
export const leaf = (pa: bigint, flags: bigint) => ((pa >> 12n) << 10n) | flags | V;
export const P0_LEAF = leaf(P0, R | W | A | Dd);
export const P1_LEAF = leaf(P1, R | W | A | Dd);

/** li for an unsigned 32-bit value (zero-extended: addresses in 0x8000_0000..). */
export function liU(rd: number, value: bigint): number[] {
  return [...li(rd, Number(BigInt.asIntN(32, value))), E.shiftI('slli', rd, rd, 32), E.shiftI('srli', rd, rd, 32)];
}

/** The n L0 updates: [0] = P1, [i] = P0 read-only for i >= 1. */
export function updates(n: number): { ptr: bigint; val: bigint }[] {
  return Array.from({ length: n }, (_, i) => ({ ptr: L0 + BigInt(i) * 8n, val: i === 0 ? P1_LEAF : leaf(P0, R | A | Dd) }));
}

/** The guest image: `pv` uses the hypercalls, otherwise the instructions; `reqs` overrides the request array. */
export function tableGuest(pv: boolean, n: number, reqs = updates(n)): Uint8Array {
  const code: number[] = [];
  if (pv) code.push(...liU(A0, OP), ...li(A1, 1), ...li(A2, 0), ...sbi(PV_EID, 2));
  else code.push(...liU(S3, ROOT >> 12n), ...li(S4, 8), E.shiftI('slli', S4, S4, 60), E.aluR('or', S3, S3, S4), csrrw(0, 0x180, S3), csrrs(A3, 0x180, 0));
  code.push(...liU(S3, TEST_VA), E.load('ld', S1, S3, 0));
  if (pv) {
    code.push(...liU(A0, REQS), ...li(A1, n), ...liU(A2, DONE), ...sbi(PV_EID, 1));
  } else {
    for (const r of reqs) code.push(...liU(S3, r.val), ...liU(S4, r.ptr), E.store('sd', S3, S4, 0));
    code.push(SFENCE_VMA); // (priv spec §4.2.1: the hart may use the old translation until then)
  }
  code.push(...liU(S3, TEST_VA), E.load('ld', S2, S3, 0), ...shutdown());
  return withTables(code, reqs);
}

/** `code` (at most a page) followed by the tables and pages above; `extra` PTEs are added to them. */
export function withTables(code: number[], reqs: { ptr: bigint; val: bigint }[] = [], extra: { ptr: bigint; val: bigint }[] = []): Uint8Array {
  const codeBytes = code.length * 4;
  if (codeBytes > 0x1000) throw new Error('tableGuest: code does not fit its page');
  const data = new Uint8Array(0x6000);
  const dv = new DataView(data.buffer);
  const put = (gpa: bigint, v: bigint) => dv.setBigUint64(Number(gpa - D), v, true);
  put(ROOT + 2n * 8n, leaf(L1, 0n));
  put(L1 + 1n * 8n, leaf(BASE, R | W | X | A | Dd));
  put(L1 + 2n * 8n, leaf(L0, 0n));
  put(L0, P0_LEAF);
  reqs.forEach((r, i) => { put(REQS + BigInt(i) * 16n, r.ptr); put(REQS + BigInt(i) * 16n + 8n, r.val); });
  put(OP, 5n); put(OP + 8n, SATP);
  put(P0, 0x1111n); put(P1, 0x2222n);
  for (const e of extra) put(e.ptr, e.val);
  const pad = new Uint8Array(0x1000 - codeBytes);
  return assemble(code, Uint8Array.from([...pad, ...data]));
}
