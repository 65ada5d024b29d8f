/**
 * Decoding and comparison of the privileged fuzzer's dumps (test/diff/priv.ts), with the masks
 * for what the specification leaves to the implementation (WARL choices, optional fields) or
 * where QEMU 7.2 is known to differ from the ratified specification. Every mask says why.
 */
import { CHECKPOINT_CSRS, RECORDS, type Case, type PrivProgram } from './priv';


/** One decoded record: which handler (or the checkpoint) wrote it, for which case, and its values. */
export interface LogRecord {
  kind: keyof typeof RECORDS;
  caseIndex: number;
  values: bigint[];
}

/** The dump: the log records and one hash per page (table pages, then data pages). */
export interface PrivDump {
  records: LogRecord[];
  pageHashes: bigint[];
  /** Set when the dump is malformed (missing lines, unknown tag). */
  error?: string;
}

const KIND_BY_TAG = new Map(Object.entries(RECORDS).map(([k, v]) => [v.tag, k as keyof typeof RECORDS]));

/** Parse the UART text: lines of 1 to 16 hex digits (count, log words, page hashes). */
export function parsePrivDump(text: string, pages: number): PrivDump {
  const words = text.split(/\r?\n/).filter((l) => /^[0-9a-f]{1,16}$/.test(l)).map((l) => BigInt('0x' + l));
  const dump: PrivDump = { records: [], pageHashes: [] };
  if (words.length === 0) return { ...dump, error: 'no output' };
  const count = Number(words[0]);
  if (words.length !== 1 + count + pages) {
    dump.error = `expected ${1 + count + pages} lines (log ${count} words, ${pages} pages), got ${words.length}`;
  }
  const log = words.slice(1, 1 + count);
  for (let i = 0; i < log.length;) {
    const kind = KIND_BY_TAG.get(Number(log[i] >> 56n));
    if (!kind) return { ...dump, error: `unknown tag 0x${log[i].toString(16)} at log word ${i}` };
    const n = RECORDS[kind].fields.length;
    dump.records.push({ kind, caseIndex: Number(log[i] & 0xffffffffn), values: log.slice(i + 1, i + 1 + n) });
    i += 1 + n;
  }
  dump.pageHashes = words.slice(1 + count, 1 + count + pages);
  return dump;
}

const ALL = (1n << 64n) - 1n;
const bit = (n: number) => 1n << BigInt(n);

/** What a rule may depend on: the case, and the last trap into M, HS and VS so far in it (QEMU's values). */
export interface MaskContext {
  c?: Case;
  lastM?: { cause: bigint; epc: bigint };
  lastS?: { cause: bigint; epc: bigint };
  lastV?: { cause: bigint; epc: bigint };
  /** The instruction at an address of the image (VA of the runtime or the U alias), or undefined. */
  insnAt?: (va: bigint) => bigint | undefined;
}

/** Exceptions that write a (guest) virtual address to xtval: the only ones that may set GVA. */
const ADDRESS_CAUSES = new Set([0n, 1n, 3n, 4n, 5n, 6n, 7n, 12n, 13n, 15n, 20n, 21n, 23n]);
const isInsnCause = (t?: { cause: bigint }) => t !== undefined && (t.cause === 2n || t.cause === 22n);
/** GVA may differ: QEMU 7.2 sets it for any trap from V = 1, whatever it wrote to xtval. */
const gvaUnreliable = (t: { cause: bigint } | undefined) => t !== undefined && !ADDRESS_CAUSES.has(t.cause);
/** tval of an illegal/virtual-instruction trap: wasmvisor writes the instruction bits (see below). */
const insnTval = (t: { cause: bigint; epc: bigint } | undefined, x: MaskContext) =>
  (_q: bigint, w: bigint) => w === x.insnAt?.(t!.epc);

/**
 * The comparison rules, one per value name (a CSR or a record field). Each is a deviation of
 * QEMU 7.2 from the ratified specification or a WARL/optional choice where both answers are
 * legal; docs/testing.md lists them too. `mask` selects the bits compared; `agree`, when it
 * returns a function, replaces the comparison (wasmvisor's value is checked against what the
 * specification requires, QEMU's is not used).
 */
export interface Rule {
  name: string;
  why: string;
  mask?: (x: MaskContext) => bigint;
  agree?: (x: MaskContext) => ((q: bigint, w: bigint) => boolean) | undefined;
  /** `agree` applies to the snippet's CSR reads too (otherwise only `mask` does). */
  readback?: boolean;
}
export const RULES: Rule[] = [
  {
    // Priv. spec §8.4.1 (mstatus.GVA) and §8.2.1 (hstatus.GVA): GVA = 1 exactly when the trap wrote
    // a guest virtual address to xtval. QEMU 7.2 sets it for every trap from V = 1 (ecall,
    // illegal/virtual instruction, interrupts too).
    name: 'mstatus', why: 'QEMU 7.2: mstatus.GVA follows V, not the kind of tval',
    mask: (x) => (gvaUnreliable(x.lastM) ? ALL & ~bit(38) : ALL),
  },
  {
    // §3.1.6.1: "An MRET or SRET instruction that changes the privilege mode to a mode less
    // privileged than M also sets MPRV = 0." QEMU 7.2 leaves MPRV set after such an MRET. And a trap
    // into M writes MPV = V (§8.4.1); QEMU 7.2 leaves MPV alone on a trap from M (so an MRET with
    // MPP = M, MPV = 1 leaves MPV = 1 behind).
    name: 'mstatus', why: 'QEMU 7.2: MRET to a lower mode keeps MPRV; a trap from M keeps MPV',
    mask: (x) => (x.c?.op === 'mret' && x.c.mode === 'M' ? ALL & ~bit(17) & ~bit(39) : ALL),
  },
  {
    // §3.1.6.6: without the V extension, mstatus.VS may optionally be read-only zero (wasmvisor's
    // choice); QEMU 7.2 lets it be written, and SD follows it. WARL, both legal.
    name: 'mstatus', why: 'optional: mstatus.VS (and so SD) writable without V', mask: () => ALL & ~(3n << 9n) & ~bit(63),
  },
  { name: 'sstatus', why: 'as mstatus: sstatus.VS and SD', mask: () => ALL & ~(3n << 9n) & ~bit(63) },
  {
    // Bit 13 (LCOFI) exists with Sscofpmf only; wasmvisor has no Sscofpmf and keeps the bits zero,
    // QEMU 7.2 lets mie/mideleg/mip bit 13 be written without it.
    name: 'mie', why: 'QEMU 7.2: LCOFI bit 13 writable without Sscofpmf', mask: () => ALL & ~bit(13),
  },
  { name: 'mideleg', why: 'as mie: LCOFI', mask: () => ALL & ~bit(13) },
  { name: 'mip', why: 'as mie: LCOFI', mask: () => ALL & ~bit(13) },
  { name: 'sie', why: 'as mie: LCOFI', mask: () => ALL & ~bit(13) },
  { name: 'sip', why: 'as mie: LCOFI', mask: () => ALL & ~bit(13) },
  {
    // §4.1.1/§3.1.7: stvec/mtvec MODE values >= 2 are reserved; the register is WARL. wasmvisor
    // ignores such a write, QEMU 7.2 stores the reserved MODE. Where QEMU reads one, skip.
    name: 'vstvec', why: 'WARL: reserved xtvec MODE', readback: true,
    agree: () => (q, w) => (q & 3n) >= 2n || q === w,
  },
  { name: 'stvec', why: 'as vstvec', readback: true, agree: () => (q, w) => (q & 3n) >= 2n || q === w },
  { name: 'mtvec', why: 'as vstvec', readback: true, agree: () => (q, w) => (q & 3n) >= 2n || q === w },
  {
    name: 'hstatus', why: 'QEMU 7.2: hstatus.GVA follows V, not the kind of tval',
    mask: (x) => (gvaUnreliable(x.lastS) ? ALL & ~bit(6) : ALL),
  },
  {
    // §8.6.3: htinst/mtinst may always be written with zero, and are WARL registers that need hold
    // only the values the implementation writes on a trap. QEMU 7.2 always writes (and reads) 0;
    // wasmvisor writes transformed instructions and pseudo-instructions. Both are legal.
    name: 'htinst', why: 'WARL: QEMU 7.2 hardwires htinst to 0', mask: () => 0n,
  },
  { name: 'mtinst', why: 'WARL: QEMU 7.2 hardwires mtinst to 0', mask: () => 0n },
  {
    // §8.4.1 / §8.2.3: mideleg bit 12 (SGEI) is read-only one only when GEILEN is nonzero; with no
    // guest external interrupt files (wasmvisor, QEMU's virt without AIA) the bit is WARL. QEMU 7.2
    // forces it to one, and lets mie/hie.SGEIE be written; wasmvisor keeps both zero.
    name: 'mideleg', why: 'WARL with GEILEN = 0: mideleg.SGEI', mask: () => ALL & ~bit(12),
  },
  { name: 'mie', why: 'WARL with GEILEN = 0: mie.SGEIE', mask: () => ALL & ~bit(12) },
  { name: 'hie', why: 'WARL with GEILEN = 0: hie.SGEIE', mask: () => ALL & ~bit(12) },
  {
    // §8.2.12 (vsip/vsie): with hideleg bit 6/10 set, vsip.STIP/SEIP alias hip.VSTIP/VSEIP. QEMU 7.2
    // reads back only vsip.SSIP (its read mask is the writable mask, VSSIP alone).
    name: 'vsip', why: 'QEMU 7.2 reads vsip.STIP and vsip.SEIP as 0', mask: () => ALL & ~(bit(5) | bit(9)),
  },
  {
    // QEMU 7.2 masks what VS-mode reads through sie/sip (that is, vsie/vsip, §8.2.12) with
    // mideleg's S-level bits, so it reads a subset of the right value (vsie.SSIE reads 0 unless
    // mideleg[1] is set). Its bits must be a subset of wasmvisor's.
    name: 'sie in V', why: 'QEMU 7.2: sie in V = 1 masked by mideleg', readback: true,
    agree: () => (q, w) => (q & ~w) === 0n,
  },
  {
    name: 'sip in V', why: 'as sie in V (and vsip.STIP/SEIP, see vsip)', readback: true,
    agree: () => (q, w) => (q & ~w & ~(bit(5) | bit(9))) === 0n,
  },
  {
    // §3.1.8: medeleg[11] (ecall from M) is read-only zero. QEMU 7.2 lets it be written.
    name: 'medeleg', why: 'QEMU 7.2: medeleg[11] writable', mask: () => ALL & ~bit(11),
  },
  {
    // §3.1.11, §4.1.5, §8.2.6: the counter-enable registers are 32-bit registers. QEMU 7.2 keeps
    // all 64 bits written to them.
    name: 'mcounteren', why: 'QEMU 7.2: 64-bit mcounteren', mask: () => 0xffffffffn,
  },
  { name: 'scounteren', why: 'QEMU 7.2: 64-bit scounteren', mask: () => 0xffffffffn },
  { name: 'hcounteren', why: 'QEMU 7.2: 64-bit hcounteren', mask: () => 0xffffffffn },
  {
    // §8.6.1: in VU-mode SRET, SFENCE.VMA, HFENCE and HLV/HSV raise a virtual-instruction exception
    // (22); QEMU 7.2 raises illegal instruction (2). The generator keeps both out of medeleg for
    // those cases so both runs trap to M, and the record must say 22 where QEMU says 2.
    name: 'mcause', why: 'QEMU 7.2: illegal instead of virtual instruction in VU-mode',
    agree: (x) => (x.c?.vuVirtual ? (q, w) => w === (q === 2n ? 22n : q) : undefined),
  },
  {
    // §8.5.1 (end): a guest-page fault on an implicit G-stage access of the VS-stage walk is
    // reported as a guest-page fault of the original access type (store/AMO 23, fetch 20). QEMU 7.2
    // reports 21 (load) for all of them. The generator keeps 20/21/23 with M for such cases.
    name: 'mcause', why: 'QEMU 7.2: guest-page faults of the implicit VS-stage walk are always 21',
    agree: (x) => {
      if (!x.c?.implicitGpf) return undefined;
      const op = x.c.op ?? '';
      const want = op === 'fetch' ? 20n : /^(s|amo)/.test(op) ? 23n : 21n;
      return (q, w) => w === (q === 21n ? want : q);
    },
  },
  {
    // §3.1.6.5, §8.6.1: with mstatus.TW = 1, WFI in VU-mode is an illegal instruction (2); QEMU 7.2
    // raises virtual instruction (22). Both stay with M for such cases; 2 is expected where QEMU says 22.
    name: 'mcause', why: 'QEMU 7.2: WFI in VU with TW = 1 raises virtual instruction',
    agree: (x) => (x.c?.wfiTw ? (q, w) => w === (q === 22n ? 2n : q) : undefined),
  },
  {
    // An AMO raises store/AMO faults (Volume I, chapter 8; priv. §3.7.1). QEMU 7.2 performs an AMO
    // to a non-RAM address as a load then a store, so an access fault there is a load access fault.
    // The generator keeps causes 5 and 7 with M for AMO cases; 7 is expected where QEMU says 5.
    name: 'mcause', why: 'QEMU 7.2: AMO access fault outside RAM reported as a load access fault',
    agree: (x) => (x.c?.amoFault ? (q, w) => w === (q === 5n ? 7n : q) : undefined),
  },
  {
    // §8.2.11 vsstatus: the fields of sstatus; with only RV64, UXL is read-only 2. QEMU 7.2 stores
    // every bit written to vsstatus (WPRI fields, the read-only SD, FS/XS, and any non-zero UXL).
    name: 'vsstatus', why: 'QEMU 7.2 keeps WPRI/read-only bits written to vsstatus',
    mask: () => bit(1) | bit(5) | bit(8) | bit(18) | bit(19) | (3n << 32n),
  },
  {
    // §4.1.11 (satp), §8.2.10 (hgatp), §8.2.18 (vsatp): with MODE = Bare the other fields should be
    // zero, and what they read is UNSPECIFIED. wasmvisor zeroes hgatp.PPN[1:0] (read-only zero in
    // the x4 modes), QEMU keeps them. Where QEMU reads MODE = Bare, only MODE is compared.
    // An unsupported MODE written to hgatp leaves the fields "WARL in the normal way" (§8.2.10):
    // wasmvisor keeps the old MODE and writes VMID/PPN; QEMU 7.2 stores the unsupported MODE (an
    // illegal WARL value), keeps PPN[1:0], which read as zero in the x4 modes, and bits 59:58,
    // which are zero in the RV64 format (VMID is 57:44).
    name: 'hgatp', why: 'UNSPECIFIED with Bare; QEMU 7.2 keeps an unsupported MODE and PPN[1:0]', readback: true,
    agree: () => (q, w) => {
      const mode = q >> 60n, fields = 0x03fffffffffffffcn;
      if (mode === 0n) return w >> 60n === 0n;
      if (mode === 8n || mode === 9n) return (q & fields) === (w & fields) && w >> 60n === mode;
      return [0n, 8n, 9n].includes(w >> 60n) && (q & fields) === (w & fields);
    },
  },
  { name: 'satp', why: 'as hgatp (Bare)', readback: true, agree: () => (q, w) => (q >> 60n === 0n ? w >> 60n === 0n : q === w) },
  {
    // §8.2.18: a write of an unsupported MODE to vsatp is either ignored (wasmvisor) or WARL in the
    // normal way; QEMU 7.2 stores the unsupported MODE. Where QEMU reads one, wasmvisor's MODE must
    // be a supported one.
    name: 'vsatp', why: 'as hgatp (Bare); QEMU 7.2 keeps an unsupported MODE', readback: true,
    agree: () => (q, w) => {
      const mode = q >> 60n;
      if (mode === 0n) return w >> 60n === 0n;
      if (mode === 8n || mode === 9n) return q === w;
      return [0n, 8n, 9n].includes(w >> 60n);
    },
  },
  {
    // §8.2.1 hstatus: VSBE, GVA, SPV, SPVP, HU, VGEIN, VTVM, VTW, VTSR, VSXL; the rest is WPRI
    // (read-only zero when not furnished) and VGEIN is WARL, read-only zero with GEILEN = 0. QEMU
    // 7.2 stores every bit written to hstatus.
    name: 'hstatus', why: 'QEMU 7.2 keeps WPRI and VGEIN bits written to hstatus',
    mask: () => bit(5) | bit(6) | bit(7) | bit(8) | bit(9) | bit(20) | bit(21) | bit(22) | (3n << 32n),
  },
  {
    // The Zicbom/Zicboz fields CBIE (5:4), CBCFE (6) and CBZE (7) of xenvcfg are read-only zero
    // without those extensions (Zicbom/Zicboz spec, §2.3-2.4 of the CMO spec). QEMU 7.2 has
    // neither extension but lets the fields be written.
    name: 'senvcfg', why: 'QEMU 7.2: CBIE/CBCFE/CBZE writable without Zicbom/Zicboz', mask: () => ALL & ~0xf0n,
  },
  // PBMTE (bit 62) is read-only zero without Svpbmt (disabled in QEMU's CPU: svpbmt=false), but
  // QEMU 7.2 lets it be written.
  { name: 'menvcfg', why: 'as senvcfg; and PBMTE writable without Svpbmt', mask: () => ALL & ~0xf0n & ~bit(62) },
  { name: 'henvcfg', why: 'as menvcfg', mask: () => ALL & ~0xf0n & ~bit(62) },
  {
    // §3.1.14, §4.1.7: xepc[0] is always zero (IALIGN = 16 with C). QEMU 7.2 keeps bit 0 written by
    // a CSR instruction (and clears it only when it uses the value for xRET).
    name: 'mepc', why: 'QEMU 7.2: mepc[0] writable', mask: () => ALL & ~1n,
  },
  { name: 'sepc', why: 'as mepc', mask: () => ALL & ~1n },
  { name: 'vsepc', why: 'as mepc', mask: () => ALL & ~1n },
  {
    // QEMU 7.2 lowers the cause of any trap delegated to VS-mode by one when it equals a VS interrupt
    // number (2, 6, 10), exceptions included: an illegal instruction reaches VS as cause 1, a
    // store misaligned as 5 (§8.6.4: only the VS interrupts 10/6/2 are translated, to 9/5/1).
    name: 'vscause', why: 'QEMU 7.2: exception causes 2 and 6 delegated to VS read as 1 and 5',
    agree: () => (q, w) => w === q || ((q === 1n || q === 5n) && w === q + 1n),
  },
  {
    // §3.1.16/§4.1.9: on an illegal-instruction trap xtval is 0 or the instruction's bits; on a
    // virtual-instruction trap, the same (§8.6.1). wasmvisor writes the bits (as QEMU does for
    // most); QEMU 7.2 writes 0 for some virtual-instruction traps and stale bits of an earlier
    // instruction for HSV. So wasmvisor's value is checked against the instruction at epc.
    name: 'mtval', why: 'xtval of illegal/virtual instruction: 0 or the bits; QEMU 7.2 sometimes stale',
    agree: (x) => (isInsnCause(x.lastM) ? insnTval(x.lastM, x) : undefined),
  },
  { name: 'stval', why: 'as mtval', agree: (x) => (isInsnCause(x.lastS) ? insnTval(x.lastS, x) : undefined) },
  { name: 'vstval', why: 'as mtval', agree: (x) => (isInsnCause(x.lastV) ? insnTval(x.lastV, x) : undefined) },
];
/** True when QEMU's value `q` and wasmvisor's `w` of `name` agree under the rules. */
export function agrees(name: string, q: bigint, w: bigint, x: MaskContext, readback = false): boolean {
  let m = ALL;
  for (const rule of RULES) {
    if (rule.name !== name) continue;
    const fn = readback && !rule.readback ? undefined : rule.agree?.(x);
    if (fn) return fn(q, w);
    if (rule.mask) m &= rule.mask(x);
  }
  return (q & m) === (w & m);
}

const CSR_NAMES = new Map<number, string>([
  ...CHECKPOINT_CSRS.map(([n, v]) => [v, n] as [number, string]),
  [0x301, 'misa'], [0x305, 'mtvec'], [0x342, 'mcause'], [0x343, 'mtval'], [0x34a, 'mtinst'], [0xf11, 'mvendorid'],
  [0xf14, 'mhartid'], [0x100, 'sstatus'], [0x104, 'sie'], [0x144, 'sip'], [0x604, 'hie'], [0x607, 'hgeie'],
  [0x644, 'hip'], [0xe12, 'hgeip'],
]);

/** The name of the value in field `f` of a record of `kind` for case `c` (a CSR name where known). */
function fieldCsr(kind: string, f: string, c: Case | undefined): string {
  if (kind === 'M' && (f === 'a2' || f === 'a3') && c?.kind === 'csr' && c.csr !== undefined) {
    // sie/sip are vsie/vsip in V = 1 (§8.2.12)
    if ((c.csr === 0x104 || c.csr === 0x144) && (c.mode === 'VS' || c.mode === 'VU')) return c.csr === 0x104 ? 'sie in V' : 'sip in V';
    return CSR_NAMES.get(c.csr) ?? `csr 0x${c.csr.toString(16)}`;
  }
  return f;
}

/** A difference between the two runs, described in one line. */
export interface Difference {
  caseIndex: number;
  where: string;
  qemu: string;
  wasmvisor: string;
}

const hex = (v: bigint | undefined) => (v === undefined ? '(missing)' : '0x' + v.toString(16));

/** Every difference (after the masks) between QEMU's dump and wasmvisor's. Stops at the first diverging record. */
export function comparePriv(p: PrivProgram, q: PrivDump, w: PrivDump): Difference[] {
  // Not masked but not generated (QEMU 7.2 deviations that change the whole trace; see docs/testing.md):
  //  - M-mode loads/stores with MPRV = 1 and MPV = 1: QEMU translates them single-stage through satp,
  //    ignoring MPV (§3.1.6.3 with the H extension's §8.4.1: "as though V = MPV").
  //  - a non-leaf PTE pointing outside RAM: QEMU raises a page fault, the spec an access fault
  //    (§4.3.2 step 2).
  //  - satp/vsatp/hgatp MODE 10/11: QEMU implements Sv57 (optional), wasmvisor does not.
  const out: Difference[] = [];
  if (q.error) out.push({ caseIndex: -1, where: 'qemu dump', qemu: q.error, wasmvisor: '' });
  if (w.error) out.push({ caseIndex: -1, where: 'wasmvisor dump', qemu: '', wasmvisor: w.error });
  const n = Math.max(q.records.length, w.records.length);
  const ctx: MaskContext = { insnAt: (va) => insnAt(p.image, va) };
  for (let i = 0; i < n; i++) {
    const a = q.records[i], b = w.records[i];
    if (!a || !b || a.kind !== b.kind || a.caseIndex !== b.caseIndex) {
      out.push({
        caseIndex: (a ?? b).caseIndex, where: `record ${i}`,
        qemu: a ? `${a.kind} case ${a.caseIndex}` : '(none)', wasmvisor: b ? `${b.kind} case ${b.caseIndex}` : '(none)',
      });
      return out; // the two runs went different ways: what follows is noise
    }
    const c = p.cases[a.caseIndex];
    if (ctx.c !== c) Object.assign(ctx, { c, lastM: undefined, lastS: undefined, lastV: undefined });
    const trap = { cause: a.values[0], epc: a.values[1] };
    if (a.kind === 'M') ctx.lastM = trap;
    if (a.kind === 'S') ctx.lastS = trap;
    if (a.kind === 'V') ctx.lastV = trap;
    RECORDS[a.kind].fields.forEach((f, k) => {
      const name = fieldCsr(a.kind, f, c);
      if (!agrees(name, a.values[k], b.values[k], ctx, name !== f)) {
        out.push({ caseIndex: a.caseIndex, where: `${a.kind}.${f}${name !== f ? ` (${name})` : ''}`, qemu: hex(a.values[k]), wasmvisor: hex(b.values[k]) });
      }
    });
  }
  p.hashedPages.forEach((page, k) => {
    if (q.pageHashes[k] !== w.pageHashes[k]) {
      out.push({ caseIndex: -1, where: `page 0x${page.toString(16)} hash`, qemu: hex(q.pageHashes[k]), wasmvisor: hex(w.pageHashes[k]) });
    }
  });
  return out;
}

/** The instruction bits at `va` in the image (runtime VA = PA; the U alias maps 0x4000_0000 to RAM). */
export function insnAt(image: Uint8Array, va: bigint): bigint | undefined {
  const pa = va >= 0x40000000n && va < 0x80000000n ? va + 0x40000000n : va;
  const off = Number(pa - 0x80000000n);
  if (off < 0 || off + 4 > image.length) return undefined;
  const lo = image[off] | (image[off + 1] << 8);
  if ((lo & 3) !== 3) return BigInt(lo); // compressed (16-bit) encoding
  return BigInt((lo | (image[off + 2] << 16) | (image[off + 3] << 24)) >>> 0);
}

/** A report of the differences with the cases they occur in. */
export function describe(p: PrivProgram, diffs: Difference[], limit = 12): string {
  const lines: string[] = [];
  const shown = new Set<number>();
  for (const d of diffs.slice(0, limit)) {
    lines.push(`case ${d.caseIndex} ${d.where}: qemu ${d.qemu}, wasmvisor ${d.wasmvisor}`);
    if (d.caseIndex >= 0 && !shown.has(d.caseIndex)) {
      shown.add(d.caseIndex);
      const c = p.cases[d.caseIndex];
      lines.push(`  case ${c.index} (${c.kind}, ${c.mode}): ${c.text.join('; ')}`);
    }
  }
  if (diffs.length > limit) lines.push(`... and ${diffs.length - limit} more`);
  return lines.join('\n');
}
