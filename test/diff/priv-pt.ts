/**
 * Random page tables for the privileged differential fuzzer (test/diff/priv.ts): Sv39/Sv48
 * (privileged spec §4.4, §4.5) and the G-stage's Sv39x4/Sv48x4 (§8.5.1).
 *
 * Every tree keeps the runtime reachable, so a handler can never fault on its own code:
 *   VA 0x8000_0000 -> 0x8000_0000  gigapage, RWX A D, not U   (handlers, log, tables)
 *   VA 0x4000_0000 -> 0x8000_0000  gigapage, RWX A D, U       (U-mode snippets run here)
 *   G-stage GPA 0x8000_0000 -> 0x8000_0000 gigapage, RWX A D U (G-stage leaves must be U, §8.5.1)
 * and puts random PTEs on the path of one test address:
 *   stage 1: VA  0xC020_0000 + j * 4 KiB  (Sv48: plus 1 << 39, so the top level is random too)
 *   G-stage: GPA 0xC020_0000 + w * 4 KiB
 * Random leaves point at the 16 data pages (PA 0x8020_0000..), or, on purpose, at superpages
 * (aligned ones land in the same data pages; misaligned ones must fault), at addresses outside
 * RAM (access faults) or at guest-physical addresses the G-stage does not map.
 */
import type { Rng } from './fuzz';

export const RAM = 0x80000000;
export const PT_BASE = 0x80100000;
export const PT_END = 0x80200000;
export const DATA_BASE = 0x80200000;
export const DATA_PAGES = 16;
/** The alias through which U-mode snippets run when stage-1 translation is on. */
export const USER_ALIAS = 0x40000000;
/** Test addresses: stage-1 VA and G-stage GPA of page 0 of the random window. */
export const TEST_VA = 0xc0200000;
export const TEST_GPA = 0xc0200000;
const SV48_TEST_VA = 2 ** 39 + TEST_VA;

const V = 1n, R = 2n, W = 4n, X = 8n, U = 16n, G = 32n, A = 64n, D = 128n;
const leafBits = (ppn: number, bits: bigint) => (BigInt(ppn) << 10n) | bits;
const FIXED = R | W | X | A | D | V;

/** The image memory from RAM up to the end of the data pages, plus a page allocator for tables. */
export class Memory {
  readonly bytes = new Uint8Array(DATA_BASE + DATA_PAGES * 4096 - RAM);
  private readonly view = new DataView(this.bytes.buffer);
  private next = PT_BASE;
  /** Table pages used, for the end-of-run hash. */
  readonly tablePages: number[] = [];
  write64(pa: number, v: bigint): void {
    this.view.setBigUint64(pa - RAM, BigInt.asUintN(64, v), true);
  }
  read64(pa: number): bigint {
    return this.view.getBigUint64(pa - RAM, true);
  }
  /** Free table pages left. */
  get free(): number {
    return (PT_END - this.next) / 4096;
  }
  /** A zeroed table of `pages` pages aligned to its size (the G-stage root is 16 KiB, §8.5.1). */
  table(pages = 1): number {
    const size = pages * 4096;
    const at = Math.ceil(this.next / size) * size;
    if (at + size > PT_END) throw new Error('priv-pt: out of table pages');
    this.next = at + size;
    for (let p = at; p < at + size; p += 4096) this.tablePages.push(p);
    return at;
  }
}

/** A translation tree and what the generator knows about the test address. */
export interface Tree {
  /** satp/vsatp/hgatp MODE (8 Sv39, 9 Sv48) and root PPN. */
  mode: 8 | 9;
  root: number;
  /** The address the snippet should use (stage 1: VA of the test page; G-stage: unused). */
  testAddr: number;
  /** One line per random PTE, for reports. */
  notes: string[];
}

/** Random leaf permission bits: mostly valid, any R/W/X/U combination, usually A and D. */
function randomLeafBits(r: Rng, gstage: boolean): bigint {
  let b = r.chance(0.95) ? V : 0n;
  if (r.chance(0.7)) b |= R;
  if (r.chance(0.5)) b |= W;
  if (r.chance(0.5)) b |= X;
  if ((b & (R | W | X)) === 0n) b |= R; // a leaf; W without R (reserved) is still possible
  if (r.chance(gstage ? 0.85 : 0.4)) b |= U;
  if (r.chance(0.2)) b |= G;
  if (r.chance(0.85)) b |= A;
  if (r.chance(0.75)) b |= D;
  if (r.chance(0.3)) b |= BigInt(r.int(0, 3)) << 8n; // RSW: ignored by hardware
  // bits 63:54 are reserved without Svpbmt/Svnapot (§4.4.1): a set one must fault
  if (r.chance(0.03)) b |= 1n << BigInt(r.pick([54, 60, 61, 62, 63]));
  return b;
}

/**
 * Build a tree for stage 1 (gstage false: Sv39/Sv48 over VAs) or the G-stage (Sv39x4/Sv48x4
 * over GPAs). `leafPage(r)` gives the PPN a level-0 leaf points to (and a note).
 */
export function buildTree(
  mem: Memory, r: Rng, gstage: boolean, mode: 8 | 9, leafPage: (r: Rng) => [number, string], guestTables = false,
): Tree {
  const levels = mode === 8 ? 3 : 4;
  const rootPages = gstage ? 4 : 1;
  const root = mem.table(rootPages);
  const notes: string[] = [];
  const fixedUser = gstage ? U : 0n;
  // the fixed mappings live at the level where an entry is 1 GiB (level 2)
  const l2 = levels === 3 ? root : mem.table();
  if (levels === 4) mem.write64(root, leafBits(l2 >>> 12, V)); // root[0] -> l2
  mem.write64(l2 + 2 * 8, leafBits(RAM >>> 12, FIXED | fixedUser));
  if (!gstage) mem.write64(l2 + 1 * 8, leafBits(RAM >>> 12, FIXED | U));

  const va = gstage ? TEST_GPA : levels === 4 ? SV48_TEST_VA : TEST_VA;
  const j = r.int(0, DATA_PAGES - 1);
  const addr = va + j * 4096;
  let table = root;
  for (let level = levels - 1; level >= 0; level--) {
    const index = Math.floor(addr / 2 ** (12 + 9 * level)) % (level === levels - 1 && gstage ? 2048 : 512);
    const slot = table + index * 8;
    const existing = mem.read64(slot);
    const roll = r.u32() / 2 ** 32;
    const where = `L${level}[${index}]`;
    if (existing !== 0n) {
      // the path runs through a fixed table (Sv48 G-stage root[0]): follow it
      table = Number(existing >> 10n) * 4096;
      continue;
    }
    if (level === 0) {
      const [ppn, note] = leafPage(r);
      const bits = randomLeafBits(r, gstage);
      mem.write64(slot, leafBits(ppn, bits));
      notes.push(`${where} leaf ${note} bits=0x${bits.toString(16)}`);
    } else if (roll < 0.04) {
      const pte = r.pick([0n, W | V, W | X | V, BigInt(r.u32()) << 10n]); // invalid, reserved W-only
      mem.write64(slot, pte);
      notes.push(`${where} bad 0x${pte.toString(16)}`);
      break;
    } else if (roll < 0.06 && guestTables) {
      // a VS-stage pointer to a guest-physical table the G-stage does not map: guest-page fault
      // on the implicit access (§8.5.1). Physical tables are not pointed outside RAM: QEMU 7.2
      // raises a page fault there instead of an access fault (§4.3.2 step 2; see priv-compare.ts).
      mem.write64(slot, leafBits(0x100000 + r.int(0, 15), V));
      notes.push(`${where} pointer to an unmapped GPA`);
      break;
    } else if (roll < 0.18 && level <= 2) {
      // superpage: aligned to land on the data pages, or misaligned (§4.3.2 step 6: fault)
      const aligned = r.chance(0.7);
      const base = level === 2 ? RAM >>> 12 : DATA_BASE >>> 12;
      const ppn = aligned ? base : base + r.pick([1, 2, 0x1ff]);
      const bits = randomLeafBits(r, gstage);
      mem.write64(slot, leafBits(ppn, bits));
      notes.push(`${where} ${level === 2 ? 'giga' : 'mega'}page ${aligned ? '' : 'misaligned '}ppn=0x${ppn.toString(16)} bits=0x${bits.toString(16)}`);
      break;
    } else {
      const next = mem.table();
      mem.write64(slot, leafBits(next >>> 12, V));
      table = next;
    }
  }
  return { mode, root: root >>> 12, testAddr: addr, notes };
}

/** A stage-1 leaf target for single-stage translation: a data page, or rarely outside RAM. */
export function physicalLeaf(r: Rng): [number, string] {
  if (r.chance(0.04)) return [0x100000 + r.int(0, 15), 'outside RAM'];
  const k = r.int(0, DATA_PAGES - 1);
  return [(DATA_BASE >>> 12) + k, `data page ${k}`];
}

/**
 * A VS-stage leaf target: a guest-physical page that the fixed G mapping covers (identity data
 * page), one of the random G-stage window, or one the G-stage cannot map (beyond Sv39x4's 41
 * bits, or an empty root entry).
 */
export function guestLeaf(r: Rng, gWindowPage: number): [number, string] {
  const roll = r.u32() / 2 ** 32;
  if (roll < 0.35) {
    const k = r.int(0, DATA_PAGES - 1);
    return [(DATA_BASE >>> 12) + k, `gpa data page ${k}`];
  }
  if (roll < 0.9) return [(TEST_GPA >>> 12) + gWindowPage, `gpa window page ${gWindowPage}`];
  if (roll < 0.95) return [2 ** 29 + r.int(0, 15), 'gpa above 41 bits'];
  return [2 ** 27 + r.int(0, 15), 'gpa in an empty G root entry'];
}
