/**
 * Traces, as QEMU's -d: `--trace insn,int,mmu,exits,sbi,io`, to stderr or --trace-file, with
 * --trace-range LO-HI keeping only events whose pc (or, for mmu, virtual address) is inside.
 * The format, one event per line, is in docs/debug.md:
 *
 *   insn M 0000000080000000: 00000297  auipc t0, 0x0 | t0=0000000080000000
 *   int  M->M cause 11 (ecall from M) tval=0000000000000000 epc=0000000080000010 pc=0000000080000100
 *   mmu  read va=0000000080201000 pa=0000000080201000 | satp L2 @0000000080299010=0000000020000c01 ...
 *
 * insn, int and mmu step the hart one instruction per entry (single-step mode: no JIT, no
 * multi-instruction blocks) through the run loop's RunGate, comparing the registers and the
 * trap and walk counters around each instruction; that is slow (about a microsecond an
 * instruction) and is paid only when asked for. exits, sbi and io are the VMM's exit trace
 * (vcpu.ts), filtered; io on the bare machine is its MMIO exits.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { EXIT_MMIO } from '../../assembly/abi';
import { disassemble } from '../isa/disasm';
import type { RunGate } from '../machine/types';
import { CAUSE_NAMES } from '../vmm/stats';
import { XREG_NAMES, FREG_NAMES } from './target-xml';
import { readMemory, type DebugTarget } from './target';

import type { TraceKind } from './trace-options';
export { TRACE_KINDS, parseTraceKinds, parseTraceRange, type TraceKind } from './trace-options';

export interface TraceOptions {
  kinds: Set<TraceKind>;
  /** Only events whose pc (mmu: virtual address) is in [lo, hi]. */
  range?: { lo: bigint; hi: bigint };
}

/**
 * Where trace lines go: a file (opened once, written synchronously in 64 KiB batches so lines
 * keep their order and a crash loses at most one batch) or a callback (stderr), line by line.
 */
export class TraceSink {
  private fd: number | undefined;
  private buf = '';
  constructor(file: string | undefined, private readonly fallback: (line: string) => void) {
    if (file !== undefined) this.fd = openSync(file, 'w');
  }
  line(s: string): void {
    if (this.fd === undefined) {
      this.fallback(s + '\n');
      return;
    }
    this.buf += s + '\n';
    if (this.buf.length >= 65536) this.flush();
  }
  private flush(): void {
    if (this.fd !== undefined && this.buf !== '') writeSync(this.fd, this.buf);
    this.buf = '';
  }
  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

const hex16 = (v: bigint) => v.toString(16).padStart(16, '0');
const PRIV = ['U', 'S', '?', 'M'];
const INTERRUPT_NAMES: Record<number, string> = {
  1: 'supervisor software', 2: 'virtual supervisor software', 3: 'machine software', 5: 'supervisor timer',
  6: 'virtual supervisor timer', 7: 'machine timer', 9: 'supervisor external', 10: 'virtual supervisor external', 11: 'machine external',
};

/** A cause in words: "11 (ecall from M)", "irq 7 (machine timer)". */
export function causeWords(cause: bigint): string {
  const irq = (cause >> 63n) === 1n;
  const code = Number(cause & 0xffn);
  return irq ? `irq ${code} (${INTERRUPT_NAMES[code] ?? 'interrupt'})` : `${code} (${CAUSE_NAMES[code] ?? 'exception'})`;
}

/**
 * The instruction tracer: a RunGate that steps the hart and logs each instruction (insn), each
 * trap or interrupt taken (int) and each page walk (mmu). `inner` is a debugger's gate, if any:
 * it still holds and releases the hart.
 */
export class InsnTracer implements RunGate {
  private pc = 0n;
  private priv = 0;
  private readonly x: bigint[] = new Array<bigint>(32).fill(0n);
  private readonly f: bigint[] = new Array<bigint>(32).fill(0n);
  /** Disassembly by instruction bits (a guest runs the same few thousand words over and over). */
  private readonly text = new Map<number, string>();
  private traps = 0n;
  private walks = 0n;
  private instret = 0n;
  private completing = false;

  constructor(private readonly t: DebugTarget, private readonly opts: TraceOptions, private readonly sink: TraceSink, private readonly inner?: RunGate) {
    t.core.setSingleStep(true);
    if (opts.kinds.has('mmu')) t.hart.walkLogOn = true;
  }

  get held(): boolean {
    return this.inner?.held ?? false;
  }

  async enter(budget: bigint): Promise<bigint> {
    const b = this.inner ? await this.inner.enter(budget) : budget;
    if (this.completing || b === 0n) return 0n;
    const t = this.t;
    this.pc = t.pc;
    this.priv = t.priv;
    if (this.opts.kinds.has('insn')) {
      for (let i = 1; i < 32; i++) this.x[i] = t.x(i);
      for (let i = 0; i < 32; i++) this.f[i] = t.f(i);
    }
    this.traps = t.hart.statTraps + t.hart.statInterrupts;
    this.instret = t.hart.instret;
    this.walks = t.hart.statWalks + t.hart.statWalks2d;
    return 1n;
  }

  exited(reason: number): boolean {
    if (reason === EXIT_MMIO && !this.completing) {
      this.completing = true; // (bare machine: the device answers, the next entry retires it)
      return this.inner?.exited(reason) ?? false;
    }
    this.completing = false;
    this.log();
    return this.inner?.exited(reason) ?? false;
  }

  private inRange(a: bigint): boolean {
    const r = this.opts.range;
    return r === undefined || (a >= r.lo && a <= r.hi);
  }

  private log(): void {
    const t = this.t;
    const k = this.opts.kinds;
    const h = t.hart;
    const trapped = h.statTraps + h.statInterrupts !== this.traps;
    if (k.has('mmu') && h.statWalks + h.statWalks2d !== this.walks) this.logWalk();
    if (!trapped) {
      // Nothing retired and pc unchanged: an exit the VMM resolved without emulating the
      // instruction (a first touch of guest RAM), which the next entry runs again.
      if (t.pc === this.pc && h.instret === this.instret) return;
      if (k.has('insn') && this.inRange(this.pc)) this.logInsn(this.priv, this.pc);
      return;
    }
    // A trap: the instruction at pc did not retire (an exception), or never ran (an interrupt,
    // taken before it). The core's run(1) follows a trap into its handler and runs the
    // handler's first instruction in the same step: that is the instruction to log.
    const to = t.priv;
    const csr = (m: number, s: number) => t.csrs.get(to === 3 ? m : s)?.get() ?? 0n;
    const cause = csr(0x342, 0x142);
    const tvec = csr(0x305, 0x105);
    // Vectored mode (tvec.MODE = 1) sends interrupts to BASE + 4 * cause (priv spec §3.1.7).
    const entry = (tvec & ~3n) + ((tvec & 3n) === 1n && (cause >> 63n) === 1n ? 4n * (cause & 0xffn) : 0n);
    if (k.has('int') && this.inRange(this.pc)) {
      this.sink.line(`int  ${PRIV[this.priv]}->${PRIV[to]} cause ${causeWords(cause)} tval=${hex16(csr(0x343, 0x143))} epc=${hex16(csr(0x341, 0x141))} pc=${hex16(entry)}`);
    }
    if (k.has('insn') && this.inRange(entry) && t.pc !== entry) this.logInsn(to, entry);
  }

  /** One insn line: the instruction at `pc` ran at `priv`; the registers that differ now changed. */
  private logInsn(priv: number, pc: bigint): void {
    const t = this.t;
    const bytes = readMemory(t, pc, 4, false) ?? readMemory(t, pc, 2, false);
    let text = '(unreadable)';
    if (bytes) {
      let w = bytes[0] | (bytes[1] << 8);
      if ((w & 3) === 3 && bytes.length === 4) w = (w | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
      const hexw = (w & 3) === 3 ? w.toString(16).padStart(8, '0') : w.toString(16).padStart(4, '0');
      // (a branch's target is absolute: words whose text depends on the pc are not cached)
      let d = this.text.get(w);
      if (d === undefined) {
        d = disassemble(w, pc);
        if (d === disassemble(w)) this.text.set(w, d);
      }
      text = `${hexw}  ${d}`;
    }
    let changed = '';
    for (let i = 1; i < 32; i++) if (t.x(i) !== this.x[i]) changed += ` ${XREG_NAMES[i]}=${hex16(t.x(i))}`;
    for (let i = 0; i < 32; i++) if (t.f(i) !== this.f[i]) changed += ` ${FREG_NAMES[i]}=${hex16(t.f(i))}`;
    this.sink.line(`insn ${PRIV[priv]} ${hex16(pc)}: ${text}${changed ? ' |' + changed : ''}`);
  }

  private logWalk(): void {
    const w = this.t.hart.lastWalk();
    if (!w || !this.inRange(w.va)) return;
    const res = w.pa !== undefined ? `pa=${hex16(w.pa)}` : `fault ${causeWords(BigInt(w.faultCause ?? 0))}`;
    const steps = w.steps.map((s) => `${s.kind} L${s.level} @${hex16(s.pteAddress)}=${hex16(s.pte)}`).join('; ');
    this.sink.line(`mmu  ${w.access} va=${hex16(w.va)} ${res} | ${steps}`);
  }
}

/** An MMIO access of the bare machine: `io   store 0000000010000000 1 0000000000000068`. */
export function formatIo(addr: bigint, size: number, write: boolean, value: bigint): string {
  return `io   ${write ? 'store' : 'load '} ${hex16(addr)} ${size} ${hex16(value)}`;
}

/** A VM exit trace line (vcpu.ts formatExitTrace) filtered by the kinds asked for. */
export function exitLineWanted(kinds: Set<TraceKind>, line: string): boolean {
  if (kinds.has('exits')) return true;
  if (kinds.has('sbi') && /^exit \d+: SBI /.test(line)) return true;
  return kinds.has('io') && /^exit \d+: MMIO /.test(line);
}
