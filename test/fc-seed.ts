/**
 * Seeds of the fast-check properties. Each property has its own fixed seed, so every run of the
 * suite checks the same cases and a failure reproduces as it stands; FC_SEED=n replaces them all
 * to explore other cases (fast-check names the seed and path of any failure it finds).
 */
export function fcSeed(fixed: number): number {
  const v = process.env.FC_SEED;
  if (v === undefined || v === '') return fixed;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`FC_SEED=${v} is not an integer`);
  return n | 0;
}
