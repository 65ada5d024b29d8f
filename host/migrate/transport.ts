/**
 * The byte stream a live migration runs over (docs/migration.md "Transports"). The source
 * (source.ts), the target (incoming.ts) and the framing (stream.ts) see only this: the part of
 * Node's net.Socket they use, so a TCP socket is one as it is (tcp-transport.ts), and a
 * MessagePort between two Workers of a page is one through port-transport.ts.
 *
 * Semantics are the socket's: write() queues bytes and returns false once the peer is behind
 * (then 'drain' says when to go on); end() sends the last bytes and closes; destroy() closes at
 * once. 'data' delivers bytes in order; 'end' / 'close' say the stream ended; 'error' that it broke.
 * write's `done`, when given, is called once the transport no longer needs `bytes` (a socket: they
 * are in the kernel, or the write failed), so that the caller may reuse the buffer.
 */
export interface Transport {
  write(bytes: Uint8Array, done?: () => void): boolean;
  end(): unknown;
  end(bytes: Uint8Array): unknown;
  destroy(): void;
  readonly destroyed: boolean;
  on(event: 'data', listener: (bytes: Uint8Array) => void): unknown;
  on(event: 'drain' | 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (e: { code?: string; message: string }) => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  /** Hold the writes until uncork(), then pass them to the kernel together (a socket's; optional). */
  cork?(): void;
  uncork?(): void;
}

/** Where a source sends its stream: a name for messages ("tcp:127.0.0.1:4444") and how to open it. */
export interface Dialer {
  readonly text: string;
  /** Open the stream; rejects with a StreamError naming `what` when it cannot. */
  connect(what: string): Promise<Transport>;
}
