/**
 * GDB remote serial protocol framing (GDB manual, appendix E.1 "Overview"): packets are
 * `$data#cc` with cc the modulo-256 sum of data in two hex digits; the receiver acks with `+`
 * (or asks again with `-`) until QStartNoAckMode; a lone 0x03 byte outside a packet is an
 * interrupt request (Ctrl-C). `}` escapes the next byte XOR 0x20 (binary data and replies).
 */

/** Frame a reply: escape $ # } * and add the checksum. */
export function framePacket(data: string): string {
  let body = '';
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 0x24 || c === 0x23 || c === 0x7d || c === 0x2a) {
      body += '}' + String.fromCharCode(c ^ 0x20);
      sum += 0x7d + (c ^ 0x20);
    } else {
      body += data[i];
      sum += c;
    }
  }
  return `$${body}#${(sum & 0xff).toString(16).padStart(2, '0')}`;
}

/** What the reader found in the byte stream. */
export type RspEvent = { kind: 'packet'; data: string } | { kind: 'interrupt' } | { kind: 'bad' };

/**
 * Splits the incoming byte stream into packets (unescaped, checksum checked), interrupts and
 * bad packets (checksum mismatch: the stub answers `-`). Acks from GDB are dropped.
 */
export class RspReader {
  private buf = '';

  feed(chunk: string, out: (e: RspEvent) => void): void {
    this.buf += chunk;
    for (;;) {
      // Bytes between packets: acks (+ -) and interrupts (0x03).
      let i = 0;
      while (i < this.buf.length && this.buf[i] !== '$') {
        if (this.buf.charCodeAt(i) === 3) out({ kind: 'interrupt' });
        i++;
      }
      this.buf = this.buf.slice(i);
      if (this.buf.length === 0) return;
      const hash = this.buf.indexOf('#');
      if (hash < 0 || this.buf.length < hash + 3) return; // incomplete
      const raw = this.buf.slice(1, hash);
      const want = parseInt(this.buf.slice(hash + 1, hash + 3), 16);
      this.buf = this.buf.slice(hash + 3);
      let sum = 0;
      for (let k = 0; k < raw.length; k++) sum += raw.charCodeAt(k);
      if ((sum & 0xff) !== want) {
        out({ kind: 'bad' });
        continue;
      }
      let data = '';
      for (let k = 0; k < raw.length; k++) {
        if (raw[k] === '}' && k + 1 < raw.length) data += String.fromCharCode(raw.charCodeAt(++k) ^ 0x20);
        else data += raw[k];
      }
      out({ kind: 'packet', data });
    }
  }
}

/** Little-endian hex of a `bytes`-byte value (register contents in g/p packets). */
export function leHex(v: bigint, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Number((v >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0');
  return s;
}

/** The value of little-endian hex. */
export function fromLeHex(hex: string): bigint {
  let v = 0n;
  for (let i = hex.length - 2; i >= 0; i -= 2) v = (v << 8n) | BigInt(parseInt(hex.slice(i, i + 2), 16));
  return v;
}

export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
