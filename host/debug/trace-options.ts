/**
 * The words of --trace and --trace-range (host/debug/trace.ts is the tracer): apart, so that
 * parsing the command line does not load the tracer and the disassembler it uses.
 */

export type TraceKind = 'insn' | 'int' | 'mmu' | 'exits' | 'sbi' | 'io';
export const TRACE_KINDS: readonly TraceKind[] = ['insn', 'int', 'mmu', 'exits', 'sbi', 'io'];

/** Parse --trace's list ("insn,int"); throws a message naming the bad word. */
export function parseTraceKinds(text: string): Set<TraceKind> | string {
  const out = new Set<TraceKind>();
  for (const w of text.split(',')) {
    if (!(TRACE_KINDS as readonly string[]).includes(w)) return `unknown trace '${w}' (expected a list of ${TRACE_KINDS.join(', ')})`;
    out.add(w as TraceKind);
  }
  return out;
}

/** Parse --trace-range LO-HI (hex, 0x optional). */
export function parseTraceRange(text: string): { lo: bigint; hi: bigint } | undefined {
  const m = /^(?:0x)?([0-9a-f]+)-(?:0x)?([0-9a-f]+)$/i.exec(text);
  if (!m) return undefined;
  const lo = BigInt('0x' + m[1]);
  const hi = BigInt('0x' + m[2]);
  return lo <= hi ? { lo, hi } : undefined;
}
