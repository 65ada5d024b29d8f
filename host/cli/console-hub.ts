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
    if (c === undefined) this.consoles.set(key, (c = { ring: new Uint8Array(HISTORY_BYTES), total: 0, listeners: new Set() }));
    return c;
  }

  /**
   * Output of the domain `key` (kept, and passed to its listeners). The cost is the length of
   * `bytes`, whatever is kept: a guest printing one byte at a time must not make each byte
   * cost the whole history.
   */
  write(key: K, bytes: Uint8Array): void {
    const c = this.get(key);
    const tail = bytes.length > HISTORY_BYTES ? bytes.subarray(bytes.length - HISTORY_BYTES) : bytes;
    const at = (c.total + bytes.length - tail.length) % HISTORY_BYTES;
    const first = Math.min(tail.length, HISTORY_BYTES - at);
    c.ring.set(tail.subarray(0, first), at);
    c.ring.set(tail.subarray(first), 0);
    c.total += bytes.length;
    if (c.listeners.size === 0) return;
    const copy = Uint8Array.from(bytes);
    for (const l of c.listeners) l(copy);
  }

  /**
   * The last HISTORY_BYTES (at most) of the domain's output. When older output was dropped, the
   * history starts after the first line end it holds, so no line is shown cut.
   */
  history(key: K): Uint8Array {
    const c = this.consoles.get(key);
    if (c === undefined) return new Uint8Array(0);
    if (c.total <= HISTORY_BYTES) return c.ring.slice(0, c.total);
    const at = c.total % HISTORY_BYTES; // the oldest byte kept
    const tail = new Uint8Array(HISTORY_BYTES);
    tail.set(c.ring.subarray(at));
    tail.set(c.ring.subarray(0, at), HISTORY_BYTES - at);
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
  /** The last HISTORY_BYTES of output: byte i of the output (counting from 0) is at i % HISTORY_BYTES. */
  ring: Uint8Array;
  /** Bytes ever written. */
  total: number;
  listeners: Set<(bytes: Uint8Array) => void>;
}
