/**
 * Raw S-mode DomUs for the hypercall tests: a list of steps (hypercalls with their argument
 * registers, or raw instructions) assembled with test/vmm/asm.ts. After hypercall i the guest
 * stores a0 at RESULTS + 8 i; after the last step it ends with SBI SRST shutdown. Structures
 * the calls point at are placed at fixed guest-physical addresses (DATA...).
 */
import { parseImage } from '../../host/machine/loader';
import { XenHypervisor, type XenDomainConfig } from '../../host/xen/hypervisor';
import type { XenDomain } from '../../host/xen/domain';
import { XEN_SBI_EID } from '../../host/xen/ops-abi';
import { Asm } from '../vmm/asm';
import * as E from '../diff/encode';

/** Where the image loads. */
export const BASE = 0x80200000n;
/** Where the results go (a0 of each hypercall, in order). */
export const RESULTS = 0x80300000n;
/** Free guest RAM for argument structures (inside the image). */
export const DATA = 0x80310000n;
/** The image size: code at BASE .. data up to DATA + 64 KiB. */
const IMAGE_SIZE = Number(DATA - BASE) + 0x10000;

const A0 = 10, A6 = 16, A7 = 17, T0 = 5;
const ECALL = 0x00000073;

/** One step of a test guest. */
export type Step =
  | { nr: number; args?: bigint[] } // a hypercall: a0.. = args
  | { insns: number[] } // raw instructions
  | { asm: (a: Asm) => void }; // anything the assembler can emit

/** Shorthand for a hypercall step. */
export const hc = (nr: number, ...args: (bigint | number)[]): Step => ({ nr, args: args.map((a) => BigInt.asUintN(64, BigInt(a))) });

/** Assemble the guest. */
export function buildGuest(steps: Step[], data: { at: bigint; bytes: Uint8Array }[] = []): Uint8Array {
  const a = new Asm(BASE);
  let n = 0;
  for (const s of steps) {
    if ('insns' in s) {
      a.emit(...s.insns);
      continue;
    }
    if ('asm' in s) {
      s.asm(a);
      continue;
    }
    (s.args ?? []).forEach((v, i) => a.li64(A0 + i, v));
    a.li64(A6, BigInt(s.nr)).li64(A7, BigInt(XEN_SBI_EID)).emit(ECALL);
    a.li64(T0, RESULTS + BigInt(n++ * 8)).emit(E.store('sd', A0, T0, 0));
  }
  // SBI SRST shutdown(0, 0)
  a.li64(A0, 0n).li64(A0 + 1, 0n).li64(A7, 0x53525354n).li64(A6, 0n).emit(ECALL).emit(E.jal(0, 0));
  for (const d of data) a.place(d.at, d.bytes);
  return a.finish(IMAGE_SIZE);
}

/** Little-endian struct builder. */
export function struct(size: number, fields: [off: number, bytes: 1 | 2 | 4 | 8, value: number | bigint][]): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [off, n, v] of fields) {
    if (n === 1) dv.setUint8(off, Number(v));
    else if (n === 2) dv.setUint16(off, Number(v), true);
    else if (n === 4) dv.setUint32(off, Number(v), true);
    else dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
  }
  return b;
}

/** A booted test DomU and what it did. */
export interface Ran {
  hv: XenHypervisor;
  d: XenDomain;
  /** a0 of each hypercall, as signed numbers. */
  results: number[];
  exitCode: number;
  reason: string;
  failure?: string;
  /** Everything the guest printed (UART/SBI and console_io). */
  out: string;
}

/** Build a hypervisor and one DomU running `steps`, run it to its end, collect the results. */
export async function runSteps(steps: Step[], data: { at: bigint; bytes: Uint8Array }[] = [], cfg: Partial<XenDomainConfig> = {}, hv = new XenHypervisor()): Promise<Ran> {
  const out: number[] = [];
  const image = buildGuest(steps, data);
  const d = await hv.createDomain({
    name: 'test', memSize: 16 << 20, kernel: parseImage(image, 'guest.bin', BASE), deterministic: true,
    onConsoleOutput: (b) => out.push(...b), ...cfg,
  });
  const r = await hv.run(d.domid, { maxInstructions: 2_000_000n, timeoutMs: 10_000 });
  const calls = steps.filter((s) => 'nr' in s).length;
  const raw = d.vm.readGuest(RESULTS, calls * 8)!;
  const dv = new DataView(raw.buffer, raw.byteOffset);
  const results = Array.from({ length: calls }, (_, i) => Number(dv.getBigInt64(i * 8, true)));
  return { hv, d, results, exitCode: r.exitCode, reason: r.reason, failure: r.failure, out: String.fromCharCode(...out) };
}

/** Read `len` bytes of the domain's RAM. */
export function peek(d: XenDomain, gpa: bigint, len: number): Uint8Array {
  return d.vm.readGuest(gpa, len)!;
}
