/**
 * A seeded pseudo-random generator (SplitMix64, Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", 2014) so that the hostile-guest tests are reproducible:
 * the same seed builds the same guest and expects the same exits.
 */

const MASK = (1n << 64n) - 1n;

/** A SplitMix64 stream. */
export class Prng {
  private state: bigint;
  constructor(seed: bigint) {
    this.state = BigInt.asUintN(64, seed);
  }

  /** The next 64-bit value. */
  next64(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    return z ^ (z >> 31n);
  }

  /** A value in [0, 2^bits). */
  bits(bits: number): bigint {
    return bits >= 64 ? this.next64() : this.next64() & ((1n << BigInt(bits)) - 1n);
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Number(this.next64() % BigInt(n));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.below(1_000_000) < p * 1_000_000;
  }

  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
}
