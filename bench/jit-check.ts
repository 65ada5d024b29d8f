/**
 * The JIT must never make a workload slower than the interpreter (issue 16): every pair of
 * times measured both ways in one bench run (the workloads, the boots) is compared here, and
 * any where `--jit on` took longer than `--jit off` is flagged. Both sides are best-of-N from
 * the same run; a margin of SLACK absorbs this shared machine's noise (a real regression, as the
 * synchronous compiles were, is 2-4x).
 */

/** One thing measured with the JIT on and off. */
export interface JitPair {
  name: string;
  jitMs: number;
  interpMs: number;
}

/** A JIT time within this factor of the interpreter's is not flagged. */
export const SLACK = 1.05;

/** The pairs where the JIT is slower than --jit off (beyond SLACK), as one line each. */
export function jitSlowerThanInterpreter(pairs: JitPair[], slack = SLACK): string[] {
  return pairs
    .filter((p) => Number.isFinite(p.jitMs) && Number.isFinite(p.interpMs) && p.jitMs > p.interpMs * slack)
    .map((p) => `${p.name}: --jit on ${p.jitMs.toFixed(1)} ms, --jit off ${p.interpMs.toFixed(1)} ms (${(p.jitMs / p.interpMs).toFixed(2)}x)`);
}

/** The check as text: one line when all is well, else a line per offender. */
export function formatJitCheck(pairs: JitPair[]): string {
  const bad = jitSlowerThanInterpreter(pairs);
  const head = `JIT against --jit off (${pairs.length} workloads and boots, flagged past ${SLACK.toFixed(2)}x)`;
  if (bad.length === 0) return `${head}\n${'-'.repeat(head.length)}\nthe JIT is nowhere slower than the interpreter`;
  return [head, '-'.repeat(head.length), ...bad.map((b) => `!!!! JIT SLOWER: ${b}`)].join('\n');
}
