/**
 * The SBI implementation of the VMM: what a guest kernel's `ecall` from VS-mode reaches,
 * following the RISC-V Supervisor Binary Interface specification v2.0 (chapter numbers below).
 *
 * Calling convention (§3): a7 = extension id (EID), a6 = function id (FID), arguments in
 * a0..a5; the result is an error code in a0 and a value in a1. Legacy extensions (§5, EIDs
 * 0x00..0x0F) return a single value in a0 and leave a1 alone. The caller (the vCPU) steps the
 * guest's pc over the ecall.
 *
 * Implemented: BASE (§4), legacy set_timer/console_putchar/console_getchar/shutdown (§5),
 * TIME (§6), IPI (§7), RFENCE (§8), HSM (§9), SRST (§10), DBCN (§12), for one hart (hartid 0).
 * Implementation id: WASMVISOR_SBI_IMPL_ID = 0x7761736d ("wasm" in ASCII), outside the ids the
 * SBI spec's table 4 assigns (0..11 at the time of writing) so that it cannot collide.
 */

/**
 * Errors (§3, table 1). Error codes, extension and function ids and return values are numbers:
 * they all fit in 32 bits, and SBI calls are the hottest VM exits, so the dispatch below makes
 * no bigint unless a call's arguments really are 64-bit (timer values, addresses, hart masks).
 */
export const SBI_SUCCESS = 0;
export const SBI_ERR_FAILED = -1;
export const SBI_ERR_NOT_SUPPORTED = -2;
export const SBI_ERR_INVALID_PARAM = -3;
export const SBI_ERR_DENIED = -4;
export const SBI_ERR_INVALID_ADDRESS = -5;
export const SBI_ERR_ALREADY_AVAILABLE = -6;
export const SBI_ERR_ALREADY_STARTED = -7;
export const SBI_ERR_ALREADY_STOPPED = -8;

// Extension ids, as numbers for the dispatch switch.
const LEGACY_SET_TIMER = 0x00;
const LEGACY_PUTCHAR = 0x01;
const LEGACY_GETCHAR = 0x02;
const LEGACY_SHUTDOWN = 0x08;
const BASE = 0x10;
const TIME = 0x54494d45; // "TIME"
const IPI = 0x735049; // "sPI"
const RFENCE = 0x52464e43; // "RFNC"
const HSM = 0x48534d; // "HSM"
const SRST = 0x53525354; // "SRST"
const DBCN = 0x4442434e; // "DBCN"

/** Extension ids (as a guest writes them to a7). */
export const EID = {
  LEGACY_SET_TIMER: BigInt(LEGACY_SET_TIMER),
  LEGACY_PUTCHAR: BigInt(LEGACY_PUTCHAR),
  LEGACY_GETCHAR: BigInt(LEGACY_GETCHAR),
  LEGACY_SHUTDOWN: BigInt(LEGACY_SHUTDOWN),
  BASE: BigInt(BASE),
  TIME: BigInt(TIME),
  IPI: BigInt(IPI),
  RFENCE: BigInt(RFENCE),
  HSM: BigInt(HSM),
  SRST: BigInt(SRST),
  DBCN: BigInt(DBCN),
} as const;

/** SBI specification version this implements: 2.0 (major in bits 30:24, minor in 23:0). */
export const SBI_SPEC_VERSION = (2 << 24) | 0;
/** Our implementation id ("wasm"); see the file comment. */
export const WASMVISOR_SBI_IMPL_ID = 0x7761736d;
/** Implementation version: wasmvisor 0.1 as major << 16 | minor. */
export const WASMVISOR_SBI_IMPL_VERSION = (0 << 16) | 1;

/** HSM hart states (§9, table 28). */
export const HSM_STARTED = 0;
/** HSM suspend types (§9.4); bigints: compared with the low half of a 64-bit argument. */
export const HSM_SUSPEND_RETENTIVE = 0x00000000n;
export const HSM_SUSPEND_NON_RETENTIVE = 0x80000000n;
/** SRST reset types and reasons (§10.1); bigints, as above. */
export const SRST_SHUTDOWN = 0n;
export const SRST_COLD_REBOOT = 1n;
export const SRST_WARM_REBOOT = 2n;
export const SRST_REASON_NONE = 0n;
export const SRST_REASON_SYSTEM_FAILURE = 1n;

/** Most bytes one DBCN console_write/console_read moves; the spec lets us do fewer (a1 says how many). */
export const DBCN_MAX_CHUNK = 4096;

const ALL_ONES = (1n << 64n) - 1n;
const A0 = 10, A1 = 11, A2 = 12, A6 = 16, A7 = 17;

/** What an SBI handler needs of the vCPU and the VM. */
export interface SbiVcpu {
  /** Guest register x[i]. */
  x(i: number): bigint;
  setX(i: number, v: bigint): void;
  /**
   * Guest register x[i] as a number, made without a bigint: exact below 2^53, and at least
   * 2^32 whenever the value does not fit in 32 bits, so that comparing it with a 32-bit
   * constant (an EID, a FID, a hartid) is exact.
   */
  xNumber(i: number): number;
  /** The low 32 bits of x[i] (for byte and word arguments). */
  xLow32(i: number): number;
  /** x[i] = n sign-extended to 64 bits, for an integer n in [-2^31, 2^32) (error codes, values). */
  setXNumber(i: number, n: number): void;
  /** Program the guest's timer (vstimecmp); a deadline in the future clears a pending one. */
  setTimer(stime: bigint): void;
  /** Make the supervisor software interrupt pending (hvip.VSSIP). */
  raiseSoftwareInterrupt(): void;
  /** Flush the guest's cached translations (remote sfence.vma; fence.i needs nothing: stores invalidate decoded code). */
  flushTranslations(): void;
  /** Bytes to the console. */
  consoleWrite(bytes: Uint8Array): void;
  /** Up to `max` bytes of console input (possibly none). */
  consoleRead(max: number): Uint8Array;
  /** Read guest-physical memory; undefined unless [gpa, gpa + len) is guest RAM. */
  readGuest(gpa: bigint, len: number): Uint8Array | undefined;
  /** Write guest-physical memory; false unless the range is guest RAM. */
  writeGuest(gpa: bigint, bytes: Uint8Array): boolean;
  /**
   * The vendor extension the VM plugs in for `eid` (Vm.sbiExtensions), if any. Optional so that
   * an SbiVcpu without one (tests, a plain VM) answers vendor EIDs with NOT_SUPPORTED.
   */
  extension?(eid: number): SbiExtension | undefined;
}

// ---- vendor extensions (hook for host/xen; the VMM itself has none) ----

/**
 * An SBI extension a VM plugs in from outside the VMM, in the vendor/firmware-specific EID
 * range 0x0900_0000..0x09FF_FFFF (SBI §3, table 2): Xen's hypercalls (host/xen/hypercalls.ts)
 * are one. It keeps its own register convention: `handle` writes whatever result registers
 * its ABI defines and returns the outcome; the vCPU steps over the ecall as for any call.
 */
export interface SbiExtension {
  /** Handle function `fid` of the extension for the guest whose registers are `v`. */
  handle(v: SbiVcpu, fid: number): SbiOutcome;
}

/**
 * Give a vendor extension and its functions readable names ("XEN console_io"), used by
 * --stats and --trace exits. Until it is named, its calls count as any unknown extension's.
 */
export function nameSbiExtension(eid: number, name: string, functions: ReadonlyMap<number, string>): void {
  registerExtension(eid, name, functions);
}
// ---- end of vendor extensions ----

/** What the vCPU does after the call. */
export type SbiOutcome =
  | { kind: 'continue' } // step over the ecall and resume
  | { kind: 'shutdown'; code: number } // the VM ends with this exit code
  | { kind: 'reboot' } // reset the VM
  | { kind: 'hart-stop' } // the only hart stopped itself
  | { kind: 'suspend'; retentive: boolean; resumeAddr: bigint; opaque: bigint; wake?: SuspendWake }; // wait for an interrupt

/**
 * A vendor extension's own end to a suspend, besides an interrupt (Xen's SCHEDOP_poll waits for
 * event-channel ports, which need not raise one). The vCPU resumes when an enabled interrupt is
 * pending or `ready()` is true; a halted vCPU sleeps no later than `due()` (and with
 * deterministic time jumps there), so a timeout needs no other clock.
 */
export interface SuspendWake {
  /** Whether the wait is over (asked before each sleep and after it). */
  ready(): boolean;
  /** Guest time (10 MHz ticks) at which ready() may turn true by itself; NEVER (2^64 - 1): none. */
  due(): bigint;
  /** The vCPU resumes, because ready() said so or because of an interrupt. */
  resume(): void;
}

/** The result of one call: its readable name (for --stats and --trace) and the outcome. */
export interface SbiResult {
  /** e.g. "TIME set_timer", "legacy console_putchar", "TIME unknown fid", "unknown EID" (see callId). */
  name: string;
  /** A small integer that stands for `name` (the same for every call of that name), for tables indexed by call. */
  call: number;
  outcome: SbiOutcome;
}

const CONTINUE: SbiOutcome = { kind: 'continue' };
const REBOOT: SbiOutcome = { kind: 'reboot' };
const HART_STOP: SbiOutcome = { kind: 'hart-stop' };

/** Function names per extension, for stats and traces. */
const FUNCTIONS = new Map<number, [string, readonly string[]]>([
  [BASE, ['BASE', ['get_spec_version', 'get_impl_id', 'get_impl_version', 'probe_extension', 'get_mvendorid', 'get_marchid', 'get_mimpid']]],
  [TIME, ['TIME', ['set_timer']]],
  [IPI, ['IPI', ['send_ipi']]],
  [RFENCE, ['RFENCE', ['remote_fence_i', 'remote_sfence_vma', 'remote_sfence_vma_asid', 'remote_hfence_gvma_vmid', 'remote_hfence_gvma', 'remote_hfence_vvma_asid', 'remote_hfence_vvma']]],
  [HSM, ['HSM', ['hart_start', 'hart_stop', 'hart_get_status', 'hart_suspend']]],
  [SRST, ['SRST', ['system_reset']]],
  [DBCN, ['DBCN', ['console_write', 'console_read', 'console_write_byte']]],
]);
const LEGACY = new Map<number, string>([[0, 'set_timer'], [1, 'console_putchar'], [2, 'console_getchar'], [8, 'shutdown']]);

// ---- call ids: bounded whatever the guest puts in a7 and a6 ----
//
// Every call is counted under a name (--stats, --trace exits, the web stats). The names are a
// fixed set: each function of each known extension, one "<EXT> unknown fid" per known
// extension, the legacy EIDs 0x00..0x0F, and one "unknown EID" for every other extension id.
// A guest that sweeps a7/a6 through 2^64 values therefore gets no new name, id or table slot:
// ids were interned per distinct (eid, fid) before, and such a guest grew the host by about
// 20 MB/s (issue 11). The answer to an unknown call is still SBI_ERR_NOT_SUPPORTED (§3).

/** The name every call of an extension this SBI does not know gets. */
export const SBI_UNKNOWN_EID = 'unknown EID';
/** The name of the calls of known extension `ext` whose function id it does not define. */
export const sbiUnknownFid = (ext: string): string => `${ext} unknown fid`;

/** Call names, by call id (SbiResult.call); an id is given out once per distinct name. */
const CALL_NAMES: string[] = [];
const CALL_IDS = new Map<string, number>();
function internCall(name: string): number {
  let id = CALL_IDS.get(name);
  if (id === undefined) {
    CALL_IDS.set(name, (id = CALL_NAMES.length));
    CALL_NAMES.push(name);
  }
  return id;
}

/** The call ids of one known extension: by function id, and for every other function id. */
interface ExtensionIds {
  readonly byFid: readonly number[];
  readonly other: number;
}
/** Known extensions by EID; the only source of call ids besides UNKNOWN_CALL. */
const IDS = new Map<number, ExtensionIds>();
/** The call id of every call of an unknown extension. */
const UNKNOWN_CALL = internCall(SBI_UNKNOWN_EID);
/** The call ids that stand for many (eid, fid) pairs: UNKNOWN_CALL and each "<EXT> unknown fid". */
const FOLDED = new Set<number>([UNKNOWN_CALL]);

/** Give the functions of extension `eid` their call ids (each name interned once). */
function registerExtension(eid: number, name: string, functions: ReadonlyMap<number, string>): void {
  const other = internCall(sbiUnknownFid(name));
  FOLDED.add(other);
  const byFid: number[] = [];
  for (const [fid, f] of functions) {
    if (!Number.isInteger(fid) || fid < 0 || fid >= FIDS_BY_INDEX) throw new Error(`SBI extension ${name}: function id ${fid} is not below ${FIDS_BY_INDEX}`);
    while (byFid.length <= fid) byFid.push(other);
    byFid[fid] = internCall(`${name} ${f}`);
  }
  IDS.set(eid, { byFid, other });
}
/** Function ids a known extension may name (they are small; anything above is "unknown fid"). */
const FIDS_BY_INDEX = 256;

for (const [eid, [name, fns]] of FUNCTIONS) registerExtension(eid, name, new Map(fns.map((f, i) => [i, f])));
// Legacy extensions (§5) have one function each and ignore a6: every fid is the same call.
for (let eid = 0; eid <= 0x0f; eid++) {
  const id = internCall(`legacy ${LEGACY.get(eid) ?? `EID 0x${eid.toString(16)}`}`);
  IDS.set(eid, { byFid: [], other: id });
}

/**
 * The call id of (eid, fid) as SbiVcpu.xNumber gives them (exact below 2^53, and at least 2^32
 * for anything wider, so no wide value is mistaken for a known id). Looked up by number: SBI
 * calls are the hottest exits of the VMM, and this allocates nothing.
 */
function callId(eid: number, fid: number): number {
  const ext = IDS.get(eid);
  if (ext === undefined) return UNKNOWN_CALL;
  return fid < ext.byFid.length ? ext.byFid[fid] : ext.other;
}

/** The readable name of an SBI call (a7 = eid, a6 = fid). */
export function sbiCallName(eid: bigint, fid: bigint): string {
  const n = (v: bigint) => (v <= 0xffff_ffffn ? Number(v) : 2 ** 32);
  return CALL_NAMES[callId(n(eid), n(fid))];
}

/** The name of the calls with call id `call` (SbiResult.call, SbiCall.id). */
export function sbiCallIdName(call: number): string {
  return CALL_NAMES[call];
}

/**
 * The call ids of the core's in-core SBI slots (assembly/sbi.ts, abi.ts SBI_SLOT_*): BASE fids
 * 0..6 (slot 3, probe_extension, is never used), TIME set_timer, legacy set_timer.
 */
export const SBI_INCORE_CALL_IDS: readonly number[] = [0, 1, 2, 3, 4, 5, 6].map((fid) => callId(BASE, fid)).concat([callId(TIME, 0), callId(LEGACY_SET_TIMER, 0)]);

/** Whether call id `call` stands for many calls (an unknown EID or fid), so a7 and a6 say more than its name. */
export function sbiCallFolded(call: number): boolean {
  return FOLDED.has(call);
}

/** How many call ids there are (a bound for tables indexed by call id). */
export function sbiCallIds(): number {
  return CALL_NAMES.length;
}

/** Whether an extension is implemented (BASE probe_extension); `eid` as SbiVcpu.xNumber gives it. */
function probe(eid: number): boolean {
  return eid <= 0x0f ? LEGACY.has(eid) : FUNCTIONS.has(eid);
}

/** Whether an extension is implemented (BASE probe_extension). */
export function sbiProbe(eid: bigint): boolean {
  return eid <= 0xffff_ffffn && probe(Number(eid));
}

/**
 * The one result object handleSbi returns (a call allocates nothing on its common paths): it
 * is valid until the next call.
 */
const RESULT: SbiResult = { name: '', call: 0, outcome: CONTINUE };

/** Finish a call: a0 = error, a1 = value if given (§3), then resume the guest. */
function ret(v: SbiVcpu, error: number, value?: number): SbiResult {
  v.setXNumber(A0, error);
  if (value !== undefined) v.setXNumber(A1, value);
  return done(CONTINUE);
}

/** Finish a call with `outcome` (registers already written, or none to write). */
function done(outcome: SbiOutcome): SbiResult {
  RESULT.outcome = outcome;
  return RESULT;
}

/** An SBI call as decoded from a7 and a6 (numbers as SbiVcpu.xNumber gives them), and its call id. */
export interface SbiCall {
  eid: number;
  fid: number;
  /** The call id (SbiResult.call). */
  id: number;
}
/** The one SbiCall decodeSbiCall fills. */
const DECODED: SbiCall = { eid: 0, fid: 0, id: 0 };

/**
 * Decode the SBI call the guest is making, without handling it (the caller learns which call
 * it is first). The result is one shared object, valid until the next decode.
 */
export function decodeSbiCall(v: SbiVcpu): SbiCall {
  const eid = v.xNumber(A7);
  const fid = v.xNumber(A6);
  DECODED.eid = eid;
  DECODED.fid = fid;
  DECODED.id = callId(eid, fid);
  return DECODED;
}

/**
 * Handle the SBI call the guest made (registers of `v`; `call` is its decodeSbiCall, if already
 * decoded); writes a0/a1 as the spec says. The result is one shared object, overwritten by the
 * next call.
 */
export function handleSbi(v: SbiVcpu, call: SbiCall = decodeSbiCall(v)): SbiResult {
  const { eid, fid } = call;
  RESULT.call = call.id;
  RESULT.name = CALL_NAMES[call.id];

  switch (eid) {
    // ---- legacy extensions (§5): one return value in a0 ----
    case LEGACY_SET_TIMER:
      v.setTimer(v.x(A0));
      v.setXNumber(A0, 0);
      return done(CONTINUE);
    case LEGACY_PUTCHAR:
      v.consoleWrite(crlf(Uint8Array.of(v.xLow32(A0) & 0xff)));
      v.setXNumber(A0, 0);
      return done(CONTINUE);
    case LEGACY_GETCHAR: {
      const b = v.consoleRead(1);
      v.setXNumber(A0, b.length > 0 ? b[0] : -1);
      return done(CONTINUE);
    }
    case LEGACY_SHUTDOWN:
      return done({ kind: 'shutdown', code: 0 });

    case BASE:
      switch (fid) {
        case 0: return ret(v, SBI_SUCCESS, SBI_SPEC_VERSION);
        case 1: return ret(v, SBI_SUCCESS, WASMVISOR_SBI_IMPL_ID);
        case 2: return ret(v, SBI_SUCCESS, WASMVISOR_SBI_IMPL_VERSION);
        case 3: return ret(v, SBI_SUCCESS, probe(v.xNumber(A0)) || v.extension?.(v.xNumber(A0)) !== undefined ? 1 : 0);
        case 4: case 5: case 6: return ret(v, SBI_SUCCESS, 0); // mvendorid, marchid, mimpid
      }
      return ret(v, SBI_ERR_NOT_SUPPORTED);

    case TIME:
      if (fid !== 0) return ret(v, SBI_ERR_NOT_SUPPORTED);
      v.setTimer(v.x(A0));
      return ret(v, SBI_SUCCESS, 0);

    case IPI: {
      if (fid !== 0) return ret(v, SBI_ERR_NOT_SUPPORTED);
      const h = hartSet(v.x(A0), v.x(A1));
      if (h === 'invalid') return ret(v, SBI_ERR_INVALID_PARAM, 0);
      if (h === 'hart0') v.raiseSoftwareInterrupt();
      return ret(v, SBI_SUCCESS, 0);
    }

    case RFENCE: {
      if (fid > 6) return ret(v, SBI_ERR_NOT_SUPPORTED);
      // The hfence variants (3..6) exist for guests that are hypervisors; ours have no H.
      if (fid >= 3) return ret(v, SBI_ERR_NOT_SUPPORTED);
      const h = hartSet(v.x(A0), v.x(A1));
      if (h === 'invalid') return ret(v, SBI_ERR_INVALID_PARAM, 0);
      if (h === 'hart0') v.flushTranslations();
      return ret(v, SBI_SUCCESS, 0);
    }

    case HSM:
      switch (fid) {
        case 0: // hart_start(hartid, start_addr, opaque)
          return ret(v, v.xNumber(A0) === 0 ? SBI_ERR_ALREADY_AVAILABLE : SBI_ERR_INVALID_PARAM, 0);
        case 1: // hart_stop(): does not return on success
          return done(HART_STOP);
        case 2: // hart_get_status(hartid)
          return v.xNumber(A0) === 0 ? ret(v, SBI_SUCCESS, HSM_STARTED) : ret(v, SBI_ERR_INVALID_PARAM, 0);
        case 3: { // hart_suspend(suspend_type, resume_addr, opaque)
          const type = v.x(A0) & 0xffff_ffffn;
          if (type !== HSM_SUSPEND_RETENTIVE && type !== HSM_SUSPEND_NON_RETENTIVE) return ret(v, SBI_ERR_INVALID_PARAM, 0);
          const retentive = type === HSM_SUSPEND_RETENTIVE;
          const resumeAddr = v.x(A1);
          const opaque = v.x(A2);
          if (!retentive && v.readGuest(resumeAddr, 2) === undefined) return ret(v, SBI_ERR_INVALID_ADDRESS, 0);
          v.setXNumber(A0, SBI_SUCCESS);
          v.setXNumber(A1, 0);
          return done({ kind: 'suspend', retentive, resumeAddr, opaque });
        }
      }
      return ret(v, SBI_ERR_NOT_SUPPORTED);

    case SRST: {
      if (fid !== 0) return ret(v, SBI_ERR_NOT_SUPPORTED);
      const type = v.x(A0) & 0xffff_ffffn;
      const reason = v.x(A1) & 0xffff_ffffn;
      // Reserved and platform-specific types and reasons are INVALID_PARAM (§10.1).
      if (type > SRST_WARM_REBOOT || reason > SRST_REASON_SYSTEM_FAILURE) return ret(v, SBI_ERR_INVALID_PARAM, 0);
      if (type === SRST_SHUTDOWN) return done({ kind: 'shutdown', code: reason === SRST_REASON_NONE ? 0 : 1 });
      return done(REBOOT);
    }

    case DBCN: {
      if (fid === 2) {
        v.consoleWrite(crlf(Uint8Array.of(v.xLow32(A0) & 0xff)));
        return ret(v, SBI_SUCCESS, 0);
      }
      if (fid !== 0 && fid !== 1) return ret(v, SBI_ERR_NOT_SUPPORTED);
      // (num_bytes, base_addr_lo, base_addr_hi): on RV64 the address is lo; a nonzero hi is
      // beyond any guest-physical address.
      if (v.xNumber(A2) !== 0) return ret(v, SBI_ERR_INVALID_PARAM, 0);
      const n = Math.min(v.xNumber(A0), DBCN_MAX_CHUNK);
      const base = v.x(A1);
      if (fid === 0) {
        const bytes = v.readGuest(base, n);
        if (bytes === undefined) return ret(v, SBI_ERR_INVALID_PARAM, 0);
        v.consoleWrite(crlf(bytes));
        return ret(v, SBI_SUCCESS, n);
      }
      if (v.readGuest(base, n) === undefined) return ret(v, SBI_ERR_INVALID_PARAM, 0);
      const got = v.consoleRead(n);
      if (got.length > 0 && !v.writeGuest(base, got)) return ret(v, SBI_ERR_INVALID_PARAM, 0);
      return ret(v, SBI_SUCCESS, got.length);
    }
  }
  // A vendor extension the VM plugged in (e.g. Xen's hypercalls).
  const ext = v.extension?.(eid);
  if (ext !== undefined) return done(ext.handle(v, fid));
  // Unknown extension, or a legacy one we do not implement (which leaves a1 alone either way).
  return ret(v, SBI_ERR_NOT_SUPPORTED);
}

/**
 * Which harts (hart_mask, hart_mask_base) names (§3.1): base = all ones means every hart;
 * otherwise bit i of the mask is hart base + i. With one hart, any other hartid is invalid.
 */
export function hartSet(mask: bigint, base: bigint): 'hart0' | 'none' | 'invalid' {
  if (base === ALL_ONES) return 'hart0';
  if (mask === 0n) return 'none';
  // Only hart 0 exists: the mask must be exactly bit 0 with base 0.
  if (base === 0n && mask === 1n) return 'hart0';
  return 'invalid';
}

// Argument registers used by callers that build SBI calls (tests, guests).
export const SBI_REGS = { A0, A1, A2, A6, A7 } as const;

/**
 * The SBI console writes "\n" as "\r\n", as OpenSBI's sbi_putc does for a serial console, so
 * a kernel's output is the same byte for byte under our VMM and behind OpenSBI.
 */
export function crlf(bytes: Uint8Array): Uint8Array {
  if (!bytes.includes(10)) return bytes;
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 10) out.push(13);
    out.push(b);
  }
  return Uint8Array.from(out);
}
