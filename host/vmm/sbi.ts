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

/** Errors (§3, table 1). */
export const SBI_SUCCESS = 0n;
export const SBI_ERR_FAILED = -1n;
export const SBI_ERR_NOT_SUPPORTED = -2n;
export const SBI_ERR_INVALID_PARAM = -3n;
export const SBI_ERR_DENIED = -4n;
export const SBI_ERR_INVALID_ADDRESS = -5n;
export const SBI_ERR_ALREADY_AVAILABLE = -6n;
export const SBI_ERR_ALREADY_STARTED = -7n;
export const SBI_ERR_ALREADY_STOPPED = -8n;

/** Extension ids. */
export const EID = {
  LEGACY_SET_TIMER: 0x00n,
  LEGACY_PUTCHAR: 0x01n,
  LEGACY_GETCHAR: 0x02n,
  LEGACY_SHUTDOWN: 0x08n,
  BASE: 0x10n,
  TIME: 0x54494d45n, // "TIME"
  IPI: 0x735049n, // "sPI"
  RFENCE: 0x52464e43n, // "RFNC"
  HSM: 0x48534dn, // "HSM"
  SRST: 0x53525354n, // "SRST"
  DBCN: 0x4442434en, // "DBCN"
} as const;

/** SBI specification version this implements: 2.0 (major in bits 30:24, minor in 23:0). */
export const SBI_SPEC_VERSION = (2n << 24n) | 0n;
/** Our implementation id ("wasm"); see the file comment. */
export const WASMVISOR_SBI_IMPL_ID = 0x7761736dn;
/** Implementation version: wasmvisor 0.1 as major << 16 | minor. */
export const WASMVISOR_SBI_IMPL_VERSION = (0n << 16n) | 1n;

/** HSM hart states (§9, table 28). */
export const HSM_STARTED = 0n;
/** HSM suspend types (§9.4). */
export const HSM_SUSPEND_RETENTIVE = 0x00000000n;
export const HSM_SUSPEND_NON_RETENTIVE = 0x80000000n;
/** SRST reset types and reasons (§10.1). */
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
}

/** What the vCPU does after the call. */
export type SbiOutcome =
  | { kind: 'continue' } // step over the ecall and resume
  | { kind: 'shutdown'; code: number } // the VM ends with this exit code
  | { kind: 'reboot' } // reset the VM
  | { kind: 'hart-stop' } // the only hart stopped itself
  | { kind: 'suspend'; retentive: boolean; resumeAddr: bigint; opaque: bigint }; // wait for an interrupt

/** The result of one call: its readable name (for --stats and --trace) and the outcome. */
export interface SbiResult {
  /** e.g. "TIME set_timer", "legacy console_putchar", "EID 0x12345 fid 3". */
  name: string;
  outcome: SbiOutcome;
}

const CONTINUE: SbiOutcome = { kind: 'continue' };

/** Function names per extension, for stats and traces. */
const FUNCTIONS: Record<string, [string, readonly string[]]> = {
  [EID.BASE.toString()]: ['BASE', ['get_spec_version', 'get_impl_id', 'get_impl_version', 'probe_extension', 'get_mvendorid', 'get_marchid', 'get_mimpid']],
  [EID.TIME.toString()]: ['TIME', ['set_timer']],
  [EID.IPI.toString()]: ['IPI', ['send_ipi']],
  [EID.RFENCE.toString()]: ['RFENCE', ['remote_fence_i', 'remote_sfence_vma', 'remote_sfence_vma_asid', 'remote_hfence_gvma_vmid', 'remote_hfence_gvma', 'remote_hfence_vvma_asid', 'remote_hfence_vvma']],
  [EID.HSM.toString()]: ['HSM', ['hart_start', 'hart_stop', 'hart_get_status', 'hart_suspend']],
  [EID.SRST.toString()]: ['SRST', ['system_reset']],
  [EID.DBCN.toString()]: ['DBCN', ['console_write', 'console_read', 'console_write_byte']],
};
const LEGACY: Record<string, string> = { '0': 'set_timer', '1': 'console_putchar', '2': 'console_getchar', '8': 'shutdown' };

/** The readable name of an SBI call (a7 = eid, a6 = fid). */
export function sbiCallName(eid: bigint, fid: bigint): string {
  // Names are made once per (extension, function): exits are the hot path of the VMM.
  let byFid = NAME_CACHE.get(eid);
  if (!byFid) NAME_CACHE.set(eid, (byFid = new Map()));
  let name = byFid.get(fid);
  if (name === undefined) byFid.set(fid, (name = makeCallName(eid, fid)));
  return name;
}
const NAME_CACHE = new Map<bigint, Map<bigint, string>>();

function makeCallName(eid: bigint, fid: bigint): string {
  if (eid <= 0x0fn) return LEGACY[eid.toString()] !== undefined ? `legacy ${LEGACY[eid.toString()]}` : `legacy EID 0x${eid.toString(16)}`;
  const ext = FUNCTIONS[eid.toString()];
  if (!ext) return `EID 0x${eid.toString(16)} fid ${fid}`;
  return `${ext[0]} ${ext[1][Number(fid)] ?? `fid ${fid}`}`;
}

/** Whether an extension is implemented (BASE probe_extension). */
export function sbiProbe(eid: bigint): boolean {
  if (eid <= 0x0fn) return LEGACY[eid.toString()] !== undefined;
  return FUNCTIONS[eid.toString()] !== undefined;
}

/** Handle the SBI call the guest made (registers of `v`); writes a0/a1 as the spec says. */
export function handleSbi(v: SbiVcpu): SbiResult {
  const eid = v.x(A7);
  const fid = v.x(A6);
  const name = sbiCallName(eid, fid);
  const ret = (error: bigint, value?: bigint): SbiResult => {
    v.setX(A0, error);
    if (value !== undefined) v.setX(A1, value);
    return { name, outcome: CONTINUE };
  };
  const arg = (i: number) => v.x(A0 + i);

  switch (eid) {
    // ---- legacy extensions (§5): one return value in a0 ----
    case EID.LEGACY_SET_TIMER:
      v.setTimer(arg(0));
      v.setX(A0, 0n);
      return { name, outcome: CONTINUE };
    case EID.LEGACY_PUTCHAR:
      v.consoleWrite(crlf(Uint8Array.of(Number(arg(0) & 0xffn))));
      v.setX(A0, 0n);
      return { name, outcome: CONTINUE };
    case EID.LEGACY_GETCHAR: {
      const b = v.consoleRead(1);
      v.setX(A0, b.length > 0 ? BigInt(b[0]) : ALL_ONES);
      return { name, outcome: CONTINUE };
    }
    case EID.LEGACY_SHUTDOWN:
      return { name, outcome: { kind: 'shutdown', code: 0 } };

    case EID.BASE:
      switch (fid) {
        case 0n: return ret(SBI_SUCCESS, SBI_SPEC_VERSION);
        case 1n: return ret(SBI_SUCCESS, WASMVISOR_SBI_IMPL_ID);
        case 2n: return ret(SBI_SUCCESS, WASMVISOR_SBI_IMPL_VERSION);
        case 3n: return ret(SBI_SUCCESS, sbiProbe(arg(0)) ? 1n : 0n);
        case 4n: case 5n: case 6n: return ret(SBI_SUCCESS, 0n); // mvendorid, marchid, mimpid
      }
      return ret(SBI_ERR_NOT_SUPPORTED);

    case EID.TIME:
      if (fid !== 0n) return ret(SBI_ERR_NOT_SUPPORTED);
      v.setTimer(arg(0));
      return ret(SBI_SUCCESS, 0n);

    case EID.IPI: {
      if (fid !== 0n) return ret(SBI_ERR_NOT_SUPPORTED);
      const h = hartSet(arg(0), arg(1));
      if (h === 'invalid') return ret(SBI_ERR_INVALID_PARAM, 0n);
      if (h === 'hart0') v.raiseSoftwareInterrupt();
      return ret(SBI_SUCCESS, 0n);
    }

    case EID.RFENCE: {
      if (fid > 6n) return ret(SBI_ERR_NOT_SUPPORTED);
      // The hfence variants (3..6) exist for guests that are hypervisors; ours have no H.
      if (fid >= 3n) return ret(SBI_ERR_NOT_SUPPORTED);
      const h = hartSet(arg(0), arg(1));
      if (h === 'invalid') return ret(SBI_ERR_INVALID_PARAM, 0n);
      if (h === 'hart0') v.flushTranslations();
      return ret(SBI_SUCCESS, 0n);
    }

    case EID.HSM:
      switch (fid) {
        case 0n: // hart_start(hartid, start_addr, opaque)
          return ret(arg(0) === 0n ? SBI_ERR_ALREADY_AVAILABLE : SBI_ERR_INVALID_PARAM, 0n);
        case 1n: // hart_stop(): does not return on success
          return { name, outcome: { kind: 'hart-stop' } };
        case 2n: // hart_get_status(hartid)
          return arg(0) === 0n ? ret(SBI_SUCCESS, HSM_STARTED) : ret(SBI_ERR_INVALID_PARAM, 0n);
        case 3n: { // hart_suspend(suspend_type, resume_addr, opaque)
          const type = arg(0) & 0xffff_ffffn;
          if (type !== HSM_SUSPEND_RETENTIVE && type !== HSM_SUSPEND_NON_RETENTIVE) return ret(SBI_ERR_INVALID_PARAM, 0n);
          const retentive = type === HSM_SUSPEND_RETENTIVE;
          const resumeAddr = arg(1);
          const opaque = arg(2);
          if (!retentive && v.readGuest(resumeAddr, 2) === undefined) return ret(SBI_ERR_INVALID_ADDRESS, 0n);
          v.setX(A0, SBI_SUCCESS);
          v.setX(A1, 0n);
          return { name, outcome: { kind: 'suspend', retentive, resumeAddr, opaque } };
        }
      }
      return ret(SBI_ERR_NOT_SUPPORTED);

    case EID.SRST: {
      if (fid !== 0n) return ret(SBI_ERR_NOT_SUPPORTED);
      const type = arg(0) & 0xffff_ffffn;
      const reason = arg(1) & 0xffff_ffffn;
      // Reserved and platform-specific types and reasons are INVALID_PARAM (§10.1).
      if (type > SRST_WARM_REBOOT || reason > SRST_REASON_SYSTEM_FAILURE) return ret(SBI_ERR_INVALID_PARAM, 0n);
      if (type === SRST_SHUTDOWN) return { name, outcome: { kind: 'shutdown', code: reason === SRST_REASON_NONE ? 0 : 1 } };
      return { name, outcome: { kind: 'reboot' } };
    }

    case EID.DBCN: {
      if (fid === 2n) {
        v.consoleWrite(crlf(Uint8Array.of(Number(arg(0) & 0xffn))));
        return ret(SBI_SUCCESS, 0n);
      }
      if (fid !== 0n && fid !== 1n) return ret(SBI_ERR_NOT_SUPPORTED);
      // (num_bytes, base_addr_lo, base_addr_hi): on RV64 the address is lo; a nonzero hi is
      // beyond any guest-physical address.
      if (arg(2) !== 0n) return ret(SBI_ERR_INVALID_PARAM, 0n);
      const n = arg(0) > BigInt(DBCN_MAX_CHUNK) ? DBCN_MAX_CHUNK : Number(arg(0));
      const base = arg(1);
      if (fid === 0n) {
        const bytes = v.readGuest(base, n);
        if (bytes === undefined) return ret(SBI_ERR_INVALID_PARAM, 0n);
        v.consoleWrite(crlf(bytes));
        return ret(SBI_SUCCESS, BigInt(n));
      }
      if (v.readGuest(base, n) === undefined) return ret(SBI_ERR_INVALID_PARAM, 0n);
      const got = v.consoleRead(n);
      if (got.length > 0 && !v.writeGuest(base, got)) return ret(SBI_ERR_INVALID_PARAM, 0n);
      return ret(SBI_SUCCESS, BigInt(got.length));
    }
  }
  // Unknown extension, or a legacy one we do not implement.
  if (eid <= 0x0fn) {
    v.setX(A0, SBI_ERR_NOT_SUPPORTED);
    return { name, outcome: CONTINUE };
  }
  return ret(SBI_ERR_NOT_SUPPORTED);
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
