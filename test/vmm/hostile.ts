/**
 * A hostile S-mode guest for the isolation tests, generated from a seed, and a model of what
 * the VMM must do with it (which exits, what the guest's own trap handler counts, what every
 * hypercall returns).
 *
 * The guest, in four phases (straight-line code, so the model can follow it exactly):
 *   1. With vsatp Bare, loads and stores at guest-physical addresses spread from 0 to 2^64:
 *      devices, holes, RAM, the top of the 41-bit Sv39x4 space and aliases above it.
 *   2. Wild hypercalls: random EIDs/FIDs/arguments, and the known extensions with bad arguments;
 *      every a0/a1 is stored in a results table the test reads back.
 *   3. VS-stage Sv39 tables whose PTEs point everywhere (RAM, devices, holes, beyond 41 bits,
 *      misaligned superpages, reserved bits), satp on, then loads, stores and fetches through
 *      them. Only its own image is mapped sanely (a 1 GiB identity leaf for 0x80000000).
 *   4. satp off, a report through SBI DBCN, SRST shutdown.
 * Its trap handler counts scause into a table and skips the faulting instruction (or, for a
 * fault outside its code, i.e. a wild fetch, returns to ra).
 *
 * The model (reference walker walk.ts over the PTEs the guest writes, G-stage Bare) keeps the
 * guest from what would legitimately end it (a store to the test finisher, AMOs or fetches on
 * MMIO, page tables outside RAM: the VMM stops such a guest, as KVM does) and from
 * overwriting itself; everything else is fair game.
 */
import * as E from '../diff/encode';
import { walk2d, type Access } from '../../host/vmm/walk';
import { Asm } from './asm';
import { Prng } from './prng';

export const RAM_BASE = 0x80000000n;
/** The hostile guest's RAM (the VM's memSize). */
export const HOSTILE_MEM = 16 << 20;
export const RAM_END = RAM_BASE + BigInt(HOSTILE_MEM);
/** The image: code and pool, then tables and tables of results, all loaded (populated). */
export const IMAGE_BASE = 0x80200000n;
export const IMAGE_SIZE = 0x80000;
const CODE_LIMIT = 0x80240000n;
/** The VS-stage root table; L1 tables follow at +0x1000.., L0 tables at +0x9000... */
export const TABLES = 0x80240000n;
/** u64 per scause (0..30; 31 = interrupts), counted by the guest's handler. */
export const COUNTS = 0x80270000n;
/** a0, a1 after each hypercall of phase 2. */
export const RESULTS = 0x80271000n;
const DOTS = 0x80278000n; // 4096 '.' for a DBCN write with a huge length
const MSG_AT = 0x8027f000n;
/** The report line the guest prints last. */
export const HOSTILE_MSG = 'hostile guest: done';
/** Never stored to: fetch targets (zero, so an illegal instruction) and empty page tables. */
const FETCH_WIN: [bigint, bigint] = [0x80800000n, 0x80900000n];
const ZERO_WIN: [bigint, bigint] = [0x80900000n, 0x80a00000n];
const FINISHER: [bigint, bigint] = [0x100000n, 0x101000n];

const T0 = 5, T1 = 6, T2 = 7, T5 = 30, T6 = 31, RA = 1, A0 = 10, A6 = 16, A7 = 17;
const CSR = { stvec: 0x105, sepc: 0x141, scause: 0x142, satp: 0x180 } as const;
const csrrw = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (1 << 12) | (rd << 7) | 0x73) >>> 0;
const csrrs = (rd: number, csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (2 << 12) | (rd << 7) | 0x73) >>> 0;
const ECALL = 0x00000073, SRET = 0x10200073, SFENCE_VMA = 0x12000073;
const PTE_V = 1n, PTE_R = 2n, PTE_W = 4n, PTE_X = 8n, PTE_U = 16n, PTE_A = 64n, PTE_D = 128n;
const SATP = (8n << 60n) | (TABLES >> 12n);

/** SBI extension ids. */
export const EIDS = { BASE: 0x10n, TIME: 0x54494d45n, IPI: 0x735049n, RFENCE: 0x52464e43n, HSM: 0x48534dn, SRST: 0x53525354n, DBCN: 0x4442434en } as const;
const IMPLEMENTED = new Set<bigint>([...Object.values(EIDS), 0n, 1n, 2n, 8n]);
const ERR = { NOT_SUPPORTED: -2n, INVALID_PARAM: -3n, INVALID_ADDRESS: -5n, ALREADY_AVAILABLE: -6n } as const;

/** One memory access of the guest, as the model predicts it. */
export interface MemEvent {
  kind: 'mem';
  access: Access;
  va: bigint;
  size: number;
  /** Guest-physical addresses of the VS-stage PTEs read (in order). */
  pteReads: bigint[];
  /** 12/13/15 when the VS stage faults (delegated: no exit). */
  pageFault?: number;
  /** The guest-physical address accessed, when the VS stage succeeds. */
  gpa?: bigint;
}
/** One hypercall and what it must return. */
export interface SbiEvent {
  kind: 'sbi';
  /** The call's name as the exit statistics show it. */
  name: string;
  a7: bigint;
  a6: bigint;
  args: bigint[];
  /** Expected a0 (an SBI error code, or 0). */
  a0: bigint;
  /** Expected a1 on success (not checked when undefined). */
  a1?: bigint;
  /** Index into RESULTS; undefined for the final report/shutdown calls. */
  slot?: number;
}
export type HostileEvent = MemEvent | SbiEvent;

/** A generated hostile guest. */
export interface HostileGuest {
  image: Uint8Array;
  events: HostileEvent[];
  /** What the hypercalls of phase 2 print, in one piece (UART garbage comes before and after). */
  sbiOutput: string;
}

/** Where a guest-physical access lands on the VM's board. */
export function classify(gpa: bigint, size: number): { kind: 'ram' } | { kind: 'device'; name: string } | { kind: 'none' } {
  if (gpa >> 41n !== 0n) return { kind: 'none' };
  const end = gpa + BigInt(size);
  if (gpa >= RAM_BASE && end <= RAM_END) return { kind: 'ram' };
  const within = (b: bigint, len: bigint) => gpa >= b && end <= b + len;
  if (within(0x100000n, 0x1000n)) return { kind: 'device', name: 'test' };
  if (within(0xc000000n, 0x600000n)) return { kind: 'device', name: 'plic' };
  if (within(0x10000000n, 0x100n)) return { kind: 'device', name: 'uart0' };
  for (let i = 0n; i < 8n; i++) {
    const b = 0x10001000n + i * 0x1000n;
    if (within(b, 0x1000n)) return { kind: 'device', name: `virtio-mmio@${b.toString(16)}` };
  }
  return { kind: 'none' };
}

const inWin = (a: bigint, w: [bigint, bigint]) => a >= w[0] && a < w[1];
/** Stores must not hit the guest's own image, the never-written windows or the finisher. */
function storeForbidden(gpa: bigint): boolean {
  return inWin(gpa, [IMAGE_BASE, IMAGE_BASE + BigInt(IMAGE_SIZE)]) || inWin(gpa, FETCH_WIN) || inWin(gpa, ZERO_WIN) || inWin(gpa, FINISHER);
}

const LOAD_OPS = [['lb', 1], ['lh', 2], ['lw', 4], ['ld', 8], ['lbu', 1], ['lhu', 2], ['lwu', 4]] as const;
const STORE_OPS = [['sb', 1], ['sh', 2], ['sw', 4], ['sd', 8]] as const;

/** Build the hostile guest of `seed`. */
export function buildHostile(seed: bigint): HostileGuest {
  const rng = new Prng(seed);
  const a = new Asm(IMAGE_BASE);
  const events: HostileEvent[] = [];
  let sbiOutput = '';
  const ptes = new Map<bigint, bigint>(); // the guest's page-table words, by GPA

  // ---- entry and trap handler ----
  a.label('code_start');
  a.la(T0, 'handler').emit(csrrw(0, CSR.stvec, T0));
  a.jal(0, 'main');
  a.label('handler');
  a.emit(csrrs(T6, CSR.scause, 0));
  a.branch('blt', T6, 0, 'irq');
  a.emit(E.aluI('andi', T6, T6, 31));
  a.jal(0, 'count');
  a.label('irq').emit(E.aluI('addi', T6, 0, 31));
  a.label('count').emit(E.shiftI('slli', T6, T6, 3));
  a.li64(T5, COUNTS).emit(E.aluR('add', T5, T5, T6), E.load('ld', T6, T5, 0), E.aluI('addi', T6, T6, 1), E.store('sd', T6, T5, 0));
  a.emit(csrrs(T6, CSR.sepc, 0));
  a.la(T5, 'code_start').branch('bltu', T6, T5, 'away');
  a.la(T5, 'code_end').branch('bgeu', T6, T5, 'away');
  a.emit(E.aluI('addi', T6, T6, 4));
  a.jal(0, 'set');
  a.label('away').emit(E.aluI('addi', T6, RA, 0));
  a.label('set').emit(csrrw(0, CSR.sepc, T6), SRET);
  a.label('main');

  const memOp = (access: Access, va: bigint, size: number, ev: MemEvent) => {
    a.li64(T0, va);
    if (access === 'read') a.emit(E.load(rng.pick(LOAD_OPS.filter((o) => o[1] === size))[0], T2, T0, 0));
    else if (access === 'write') a.li64(T1, rng.next64()).emit(E.store(STORE_OPS.find((o) => o[1] === size)![0], T1, T0, 0));
    else a.emit(E.jalr(RA, T0, 0));
    events.push(ev);
  };

  // ---- phase 1: the guest-physical space, vsatp Bare ----
  const loads: bigint[] = [
    0n, 0x1000n, 0x100000n, 0x101000n, 0x2000000n, 0x2004000n, 0xc000000n, 0xc200004n, 0xc5ffff8n, 0xc600000n,
    0x10000000n, 0x100000f8n, 0x10000100n, 0x10009000n, 0x7ffffff8n, RAM_BASE, RAM_END - 8n, RAM_END,
    (1n << 41n) - 8n, 1n << 41n, (1n << 41n) + RAM_BASE, (1n << 41n) + 0x10000000n, (1n << 42n) + 0x100000n,
    (1n << 44n) + 0x10000000n, 1n << 50n, (1n << 56n) + RAM_BASE, (1n << 63n) + 0x10000000n, (1n << 64n) - 8n,
  ];
  for (let i = 0n; i < 8n; i++) loads.push(0x10001000n + i * 0x1000n);
  for (let k = 32n; k <= 40n; k++) loads.push(1n << k);
  for (let i = 0; i < 30; i++) loads.push(rng.bits(41) & ~7n);
  for (let i = 0; i < 10; i++) loads.push(rng.next64() & ~7n);
  const stores: bigint[] = [
    0x1000n, 0x2000000n, 0x10000000n, 0x10001070n, 0xc000004n, RAM_END, (1n << 41n) + RAM_BASE + 0x1000n,
    (1n << 41n) + 0x10000000n, (1n << 40n) + RAM_BASE,
  ];
  while (stores.length < 30) {
    const g = rng.chance(0.5) ? RAM_BASE + (rng.bits(24) & ~7n) : rng.bits(41) & ~7n;
    if (!storeForbidden(g)) stores.push(g);
  }
  for (const g of loads) memOp('read', g, 8, { kind: 'mem', access: 'read', va: g, size: 8, pteReads: [], gpa: g });
  for (const g of stores) memOp('write', g, 8, { kind: 'mem', access: 'write', va: g, size: 8, pteReads: [], gpa: g });

  // ---- phase 2: hypercalls ----
  const M64 = (1n << 64n) - 1n;
  const calls: Omit<SbiEvent, 'kind' | 'slot'>[] = [];
  const call = (name: string, a7: bigint, a6: bigint, args: bigint[], a0: bigint, a1?: bigint) => calls.push({ name, a7, a6, args, a0, a1 });
  const { BASE, TIME, IPI, RFENCE, HSM, SRST, DBCN } = EIDS;
  call('BASE get_spec_version', BASE, 0n, [], 0n, 0x2000000n);
  call('BASE unknown fid', BASE, 7n, [], ERR.NOT_SUPPORTED);
  call('BASE unknown fid', BASE, M64, [], ERR.NOT_SUPPORTED);
  call('BASE probe_extension', BASE, 3n, [rng.next64() | (1n << 40n)], 0n, 0n);
  call('TIME unknown fid', TIME, 1n, [0n], ERR.NOT_SUPPORTED);
  call('IPI send_ipi', IPI, 0n, [2n, 0n], ERR.INVALID_PARAM);
  call('IPI send_ipi', IPI, 0n, [1n, 1n], ERR.INVALID_PARAM);
  call('IPI unknown fid', IPI, 1n, [1n, 0n], ERR.NOT_SUPPORTED);
  call('RFENCE remote_fence_i', RFENCE, 0n, [6n, 0n], ERR.INVALID_PARAM);
  call('RFENCE remote_sfence_vma', RFENCE, 1n, [1n, 7n, M64, M64], ERR.INVALID_PARAM);
  call('RFENCE remote_sfence_vma_asid', RFENCE, 2n, [M64, 0n, 0n, M64, rng.next64()], ERR.INVALID_PARAM);
  call('RFENCE remote_fence_i', RFENCE, 0n, [rng.next64(), M64], 0n, 0n);
  call('RFENCE remote_hfence_gvma_vmid', RFENCE, 3n, [1n, 0n, 0n, M64, 1n], ERR.NOT_SUPPORTED);
  call('RFENCE unknown fid', RFENCE, 7n, [1n, 0n], ERR.NOT_SUPPORTED);
  call('RFENCE unknown fid', RFENCE, 1n << 63n, [1n, 0n], ERR.NOT_SUPPORTED);
  call('HSM hart_start', HSM, 0n, [1n, RAM_BASE, 0n], ERR.INVALID_PARAM);
  call('HSM hart_start', HSM, 0n, [M64, 0x10000000n, M64], ERR.INVALID_PARAM);
  call('HSM hart_start', HSM, 0n, [0n, IMAGE_BASE, 0n], ERR.ALREADY_AVAILABLE);
  call('HSM hart_get_status', HSM, 2n, [5n], ERR.INVALID_PARAM);
  call('HSM hart_get_status', HSM, 2n, [1n << 63n], ERR.INVALID_PARAM);
  call('HSM hart_get_status', HSM, 2n, [0n], 0n, 0n);
  call('HSM hart_suspend', HSM, 3n, [0x12345n, IMAGE_BASE, 0n], ERR.INVALID_PARAM);
  call('HSM hart_suspend', HSM, 3n, [0x80000000n, 0x10000000n, 0n], ERR.INVALID_ADDRESS);
  call('HSM hart_suspend', HSM, 3n, [0x80000000n, M64 - 1n, 0n], ERR.INVALID_ADDRESS);
  call('HSM unknown fid', HSM, 4n, [], ERR.NOT_SUPPORTED);
  call('SRST system_reset', SRST, 0n, [3n, 0n], ERR.INVALID_PARAM);
  call('SRST system_reset', SRST, 0n, [0xf0000000n, 0n], ERR.INVALID_PARAM);
  call('SRST system_reset', SRST, 0n, [0n, 2n], ERR.INVALID_PARAM);
  call('SRST system_reset', SRST, 0n, [1n, 0xffffffffn], ERR.INVALID_PARAM);
  call('SRST unknown fid', SRST, 1n, [0n, 0n], ERR.NOT_SUPPORTED);
  call('DBCN console_write', DBCN, 0n, [16n, 0x10000000n, 0n], ERR.INVALID_PARAM);
  call('DBCN console_write', DBCN, 0n, [16n, RAM_END - 8n, 0n], ERR.INVALID_PARAM);
  call('DBCN console_write', DBCN, 0n, [8n, M64 - 3n, 0n], ERR.INVALID_PARAM);
  call('DBCN console_write', DBCN, 0n, [16n, DOTS, 1n], ERR.INVALID_PARAM);
  call('DBCN console_write', DBCN, 0n, [1n << 63n, DOTS, 0n], 0n, 4096n);
  call('DBCN console_read', DBCN, 1n, [16n, 0n, 0n], ERR.INVALID_PARAM);
  call('DBCN console_read', DBCN, 1n, [16n, DOTS, 0n], 0n, 0n);
  call('DBCN console_write_byte', DBCN, 2n, [0x5741n], 0n, 0n);
  call('DBCN unknown fid', DBCN, 3n, [], ERR.NOT_SUPPORTED);
  call('DBCN unknown fid', DBCN, M64, [], ERR.NOT_SUPPORTED);
  for (const eid of [3n, 4n, 5n, 6n, 7n, 9n, 0xfn]) call(`legacy EID 0x${eid.toString(16)}`, eid, rng.next64(), [rng.next64(), rng.next64()], ERR.NOT_SUPPORTED);
  call('legacy console_getchar', 2n, 0n, [], M64);
  call('legacy set_timer', 0n, 0n, [M64], 0n);
  call('legacy console_putchar', 1n, 0n, [0x123456789abcde41n], 0n);
  for (let i = 0; i < 60; i++) {
    let eid: bigint;
    do {
      eid = i < 20 ? rng.next64() : i < 40 ? rng.bits(32) : 0x11n + rng.bits(12);
    } while (IMPLEMENTED.has(eid) || eid <= 0xfn);
    const fid = rng.chance(0.5) ? rng.next64() : rng.bits(4);
    call('unknown EID', eid, fid, [0, 1, 2, 3, 4, 5].map(() => rng.next64()), ERR.NOT_SUPPORTED);
  }
  calls.forEach((c, slot) => {
    for (let r = 0; r < 6; r++) a.li64(A0 + r, c.args[r] ?? rng.next64());
    a.li64(A6, c.a6).li64(A7, c.a7).emit(ECALL);
    a.li64(T0, RESULTS + BigInt(slot * 16)).emit(E.store('sd', A0, T0, 0), E.store('sd', A0 + 1, T0, 8));
    events.push({ kind: 'sbi', ...c, slot });
    if (c.name === 'DBCN console_write' && c.a0 === 0n) sbiOutput += '.'.repeat(4096);
    if (c.name === 'DBCN console_write_byte') sbiOutput += 'A';
    if (c.name === 'legacy console_putchar') sbiOutput += 'A';
  });

  // ---- phase 3: VS-stage tables pointing everywhere ----
  const wildPpn = (): bigint => {
    switch (rng.below(8)) {
      case 0: case 1: return 0x80000n + rng.bits(12); // RAM, anywhere
      case 2: return (FETCH_WIN[0] >> 12n) + rng.bits(8);
      case 3: return rng.pick([0x10000n, 0x10001n + rng.bits(3), 0xc000n + BigInt(rng.below(0x600)), 0x100n, 0x2000n, 0n, 0x101n]);
      case 4: return 0x81000n + rng.bits(28) % ((1n << 29n) - 0x81000n); // above RAM, below 2^41
      case 5: return (1n << 29n) + rng.bits(44) % ((1n << 44n) - (1n << 29n)); // above 41 bits
      case 6: return (1n << BigInt(29 + rng.below(15))) | rng.pick([0x10000n, 0x80000n + rng.bits(12), 0x100n, 0xc000n]); // aliases
      default: return (1n << 44n) - 1n;
    }
  };
  const leafPte = (level: number): bigint => {
    let ppn = wildPpn();
    if (level > 0 && rng.chance(0.6)) ppn &= ~((1n << BigInt(9 * level)) - 1n);
    let f = PTE_A | PTE_D;
    if (rng.chance(0.95)) f |= PTE_V;
    if (rng.chance(0.7)) f |= PTE_R;
    if (rng.chance(0.5)) f |= PTE_W;
    if (rng.chance(0.4)) f |= PTE_X;
    if (rng.chance(0.2)) f |= PTE_U;
    if ((f & (PTE_R | PTE_X)) === 0n) f |= PTE_R; // a leaf, not a pointer
    let pte = (ppn << 10n) | f;
    if (rng.chance(0.05)) pte |= (1n + rng.bits(9)) << 54n; // reserved / PBMT / N bits
    return pte;
  };
  const junkPte = (): bigint => {
    const ppn = rng.bits(44);
    switch (rng.below(4)) {
      case 0: return rng.next64() & ~PTE_V;
      case 1: return (ppn << 10n) | PTE_V | PTE_U; // a pointer with U: reserved
      case 2: return (ppn << 10n) | PTE_V | PTE_W; // W without R
      default: return ((1n + rng.bits(9)) << 54n) | (ppn << 10n) | PTE_V; // a pointer with reserved bits
    }
  };
  const zeroPage = () => ZERO_WIN[0] + (rng.bits(8) << 12n);
  const L1 = [0, 1, 2, 3].map((k) => TABLES + BigInt(0x1000 * (1 + k)));
  const L0 = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => TABLES + BigInt(0x1000 * (9 + k)));
  const slots = new Map<bigint, number[]>(); // table -> its used indexes
  const write = (table: bigint, idx: number, pte: bigint) => {
    ptes.set(table + BigInt(idx * 8), pte);
    (slots.get(table) ?? slots.set(table, []).get(table)!).push(idx);
  };
  const freeIdx = (table: bigint, avoid: number[] = []) => {
    let i: number;
    do i = rng.below(512); while ((slots.get(table) ?? []).includes(i) || avoid.includes(i));
    return i;
  };
  write(TABLES, 2, ((RAM_BASE >> 12n) << 10n) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D); // own image, identity
  const ptr = (page: bigint) => ((page >> 12n) << 10n) | PTE_V;
  const l1Slot = L1.map(() => freeIdx(TABLES));
  L1.forEach((t, k) => write(TABLES, l1Slot[k], ptr(t)));
  for (let i = 0; i < 2; i++) write(TABLES, freeIdx(TABLES), ptr(zeroPage()));
  for (let i = 0; i < 4; i++) write(TABLES, freeIdx(TABLES), leafPte(2));
  for (let i = 0; i < 2; i++) write(TABLES, freeIdx(TABLES), junkPte());
  const l0Slot = L0.map((t, k) => freeIdx(L1[k % L1.length]));
  L0.forEach((t, k) => write(L1[k % L1.length], l0Slot[k], ptr(t)));
  // One executable page in the never-written window, so some wild fetches reach RAM.
  const fetchIdx = freeIdx(L0[0]);
  write(L0[0], fetchIdx, ((FETCH_WIN[0] >> 12n) << 10n) | PTE_V | PTE_R | PTE_X | PTE_A | PTE_D);
  const fetchVa = BigInt.asUintN(64, BigInt.asIntN(39, (BigInt(l1Slot[0]) << 30n) | (BigInt(l0Slot[0]) << 21n) | (BigInt(fetchIdx) << 12n)));
  for (const t of L1) {
    for (let i = 0; i < 20; i++) {
      const r = rng.below(10);
      write(t, freeIdx(t), r < 1 ? ptr(zeroPage()) : r < 9 ? leafPte(1) : junkPte());
    }
  }
  for (const t of L0) for (let i = 0; i < 24; i++) write(t, freeIdx(t), rng.chance(0.9) ? leafPte(0) : junkPte());
  // The guest writes its tables (in address order), then turns on Sv39.
  for (const [gpa, pte] of [...ptes.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    a.li64(T1, pte).li64(T0, gpa).emit(E.store('sd', T1, T0, 0));
  }
  a.li64(T0, SATP).emit(csrrw(0, CSR.satp, T0), SFENCE_VMA);

  const walk = (va: bigint, access: Access): MemEvent => {
    const reads: bigint[] = [];
    const r = walk2d({
      gva: va, access, vsatp: SATP, hgatp: 0n, priv: 'VS', sum: false, mxr: false, vmxr: false,
      read64: (g) => {
        if (classify(g, 8).kind !== 'ram') throw new Error(`hostile: the model reads a PTE outside RAM at 0x${g.toString(16)}`);
        reads.push(g);
        return ptes.get(g) ?? 0n;
      },
    });
    const ev: MemEvent = { kind: 'mem', access, va, size: 0, pteReads: reads };
    if (r.ok) ev.gpa = r.gpa;
    else if (r.cause === 12 || r.cause === 13 || r.cause === 15) ev.pageFault = r.cause;
    else throw new Error(`hostile: unexpected model fault ${r.cause}`);
    return ev;
  };
  const canon = (va: bigint) => BigInt.asUintN(64, BigInt.asIntN(39, va));
  const tableSlots = (t: bigint) => slots.get(t) ?? [];
  const wildVa = (align: number): bigint => {
    if (rng.chance(0.05)) return rng.next64() & ~BigInt(align - 1);
    const rootIdx = BigInt(rng.chance(0.85) ? rng.pick(tableSlots(TABLES)) : rng.below(512));
    const rootPte = ptes.get(TABLES + rootIdx * 8n) ?? 0n;
    const l1 = ((rootPte >> 10n) & ((1n << 44n) - 1n)) << 12n;
    const i1 = BigInt(L1.includes(l1) && rng.chance(0.9) ? rng.pick(tableSlots(l1)) : rng.below(512));
    const l0 = ((((ptes.get(l1 + i1 * 8n) ?? 0n) >> 10n) & ((1n << 44n) - 1n)) << 12n);
    const i0 = BigInt(L0.includes(l0) && rng.chance(0.9) ? rng.pick(tableSlots(l0)) : rng.below(512));
    const off = rng.bits(12) & ~BigInt(align - 1);
    return canon((rootIdx << 30n) | (i1 << 21n) | (i0 << 12n) | off);
  };
  let fetches = 0;
  for (let n = 0; n < 700; n++) {
    const kind = n % 7 === 6 ? 'fetch' : rng.chance(0.5) ? 'read' : 'write';
    const size = kind === 'fetch' ? 4 : 1 << rng.below(4);
    const va = kind === 'fetch' && rng.chance(0.2) ? fetchVa + (rng.bits(12) & ~3n) : wildVa(size);
    const ev = walk(va, kind);
    ev.size = size;
    if (ev.gpa !== undefined) {
      if (kind === 'write' && storeForbidden(ev.gpa)) continue;
      if (kind === 'fetch' && !inWin(ev.gpa, FETCH_WIN)) continue;
    }
    if (kind === 'fetch') fetches++;
    memOp(kind, va, size, ev);
  }
  if (fetches < 10) throw new Error(`hostile: seed ${seed} made only ${fetches} fetches`);

  // ---- phase 4: report and shut down ----
  a.emit(csrrw(0, CSR.satp, 0), SFENCE_VMA);
  a.li64(A0, BigInt(HOSTILE_MSG.length)).li64(A0 + 1, MSG_AT).li64(A0 + 2, 0n).li64(A6, 0n).li64(A7, DBCN).emit(ECALL);
  events.push({ kind: 'sbi', name: 'DBCN console_write', a7: DBCN, a6: 0n, args: [], a0: 0n });
  a.li64(A0, 0n).li64(A0 + 1, 0n).li64(A6, 0n).li64(A7, SRST).emit(ECALL);
  events.push({ kind: 'sbi', name: 'SRST system_reset', a7: SRST, a6: 0n, args: [], a0: 0n });
  a.emit(E.jal(0, 0));
  a.label('code_end');

  a.place(DOTS, new Uint8Array(4096).fill(0x2e));
  a.place(MSG_AT, new TextEncoder().encode(HOSTILE_MSG));
  const image = a.finish(IMAGE_SIZE);
  if (a.codeEnd > CODE_LIMIT) throw new Error(`hostile: code ends at 0x${a.codeEnd.toString(16)}, over its limit`);
  return { image, events, sbiOutput };
}

/** What the VMM and the guest's handler must have seen for `events`. */
export interface HostileExpectation {
  /** Exit reason -> count. */
  exits: Record<string, number>;
  /** The guest's scause counts (index = cause). */
  traps: number[];
  /** RAM pages populated at the end. */
  populated: Set<bigint>;
}

/** Follow the events in order; `populated` holds the guest pages backed before the run. */
export function expectHostile(events: HostileEvent[], populated: Set<bigint>): HostileExpectation {
  const pop = new Set(populated);
  const exits: Record<string, number> = {};
  const traps = new Array<number>(32).fill(0);
  const exit = (r: string) => (exits[r] = (exits[r] ?? 0) + 1);
  const page = (g: bigint) => g & ~0xfffn;
  for (const ev of events) {
    if (ev.kind === 'sbi') {
      exit(`SBI ecall (${ev.name})`);
      continue;
    }
    for (const g of ev.pteReads) {
      if (!pop.has(page(g))) {
        pop.add(page(g));
        exit('guest-page fault: first touch of RAM (guest page table)');
      }
    }
    if (ev.pageFault !== undefined) {
      traps[ev.pageFault]++;
      continue;
    }
    const gpa = ev.gpa!;
    const where = classify(gpa, ev.size);
    const what = ev.access === 'write' ? 'store' : 'load';
    if (where.kind === 'ram') {
      if (!pop.has(page(gpa))) {
        pop.add(page(gpa));
        exit('guest-page fault: first touch of RAM');
      }
      if (ev.access === 'fetch') {
        exit('illegal instruction (redirected to the guest)');
        traps[2]++;
      }
    } else if (ev.access === 'fetch') {
      throw new Error('hostile: a fetch outside RAM was generated');
    } else if (where.kind === 'device') {
      exit(`MMIO ${what} (${where.name})`);
    } else {
      exit(`MMIO ${what} to no device (access fault to the guest)`);
      traps[ev.access === 'write' ? 7 : 5]++;
    }
  }
  return { exits, traps, populated: pop };
}
