/**
 * The consoles of a Dom0's domains as `xl console` sees them: each domain's recent output (its
 * last HISTORY_BYTES, as xenconsoled buffers a console that no client reads) and the clients
 * attached to it, which get every byte from then on.
 */

/** Output kept per domain for a client that attaches later. */
export const HISTORY_BYTES = 16 * 1024;

/** A domain's console output, and who listens to it. `K` identifies the domain. */
export class ConsoleHub<K> {
  private readonly consoles = new Map<K, Console>();

  private get(key: K): Console {
    let c = this.consoles.get(key);
    if (c === undefined) this.consoles.set(key, (c = { chunks: [], size: 0, total: 0, listeners: new Set() }));
    return c;
  }

  /** Output of the domain `key` (kept, and passed to its listeners). */
  write(key: K, bytes: Uint8Array): void {
    const c = this.get(key);
    const copy = Uint8Array.from(bytes);
    c.chunks.push(copy);
    c.size += copy.length;
    c.total += copy.length;
    // Chunks go once the rest holds HISTORY_BYTES without them.
    while (c.chunks.length > 1 && c.size - c.chunks[0].length >= HISTORY_BYTES) c.size -= c.chunks.shift()!.length;
    for (const l of c.listeners) l(copy);
  }

  /**
   * The last HISTORY_BYTES (at most) of the domain's output. When older output was dropped, the
   * history starts after the first line end it holds, so no line is shown cut.
   */
  history(key: K): Uint8Array {
    const c = this.consoles.get(key);
    if (c === undefined) return new Uint8Array(0);
    const all = Buffer.concat(c.chunks);
    if (c.total <= HISTORY_BYTES) return new Uint8Array(all);
    const tail = all.subarray(all.length - HISTORY_BYTES);
    const lf = tail.indexOf(0x0a);
    return new Uint8Array(lf >= 0 ? tail.subarray(lf + 1) : tail);
  }

  /** Call `listener` with each later byte of output; returns the function that detaches it. */
  attach(key: K, listener: (bytes: Uint8Array) => void): () => void {
    const c = this.get(key);
    c.listeners.add(listener);
    return () => c.listeners.delete(listener);
  }
}

/** One domain's console. */
interface Console {
  /** The kept output (at least the last HISTORY_BYTES of it, when there was that much). */
  chunks: Uint8Array[];
  /** Bytes in `chunks`. */
  size: number;
  /** Bytes ever written. */
  total: number;
  listeners: Set<(bytes: Uint8Array) => void>;
}
