/**
 * Helpers of the live xl migrate tests (migrate-live.test.ts, migrate-live-faults.test.ts): the
 * unmigrated reference run of the diskloop DomU, a target Dom0 listening on a port the system
 * picks, the summary line of xl migrate taken apart, and a TCP proxy that cuts the stream.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { diskloopDir, diskloopLines, run, start, until, type Proc } from './save-helpers';

const dirs: string[] = [];
/** Remove the directories made (afterAll). */
export function removeDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A diskloop directory (removed afterAll) with a second runtime directory `rtB` for the target. */
export function dir(prefix: string): ReturnType<typeof diskloopDir> & { rtB: string } {
  const t = diskloopDir(prefix);
  dirs.push(t.dir);
  const rtB = join(t.dir, 'b');
  mkdirSync(rtB, { mode: 0o700 });
  return { ...t, rtB };
}

let reference: { lines: string[]; disk: Buffer } | undefined;
/** The diskloop DomU run to its end without a migration (--deterministic): its lines and its disk. */
export async function unmigrated(): Promise<{ lines: string[]; disk: Buffer }> {
  if (reference) return reference;
  const t = dir('wasmvisor-xllive-ref-');
  const r = await run(t.dir, ['xl', 'create', t.cfg, '--deterministic']);
  expect(r.status).toBe(0);
  reference = { lines: diskloopLines(r.stdout), disk: readFileSync(t.disk) };
  expect(reference.lines.length).toBe(1202);
  return reference;
}

/** A target Dom0 (`up [extra] --incoming tcp:127.0.0.1:0`); resolves with it and its port. */
export async function target(rt: string, extra: string[] = []): Promise<{ p: Proc; port: number }> {
  const p = start(rt, ['up', ...extra, '--incoming', 'tcp:127.0.0.1:0', '--deterministic', '--timeout', '300']);
  await until('the target to listen', () => /waiting for xl migrate on tcp:127\.0\.0\.1:(\d+)\n/.test(p.err), () => p.err);
  return { p, port: Number(/waiting for xl migrate on tcp:127\.0\.0\.1:(\d+)\n/.exec(p.err)![1]) };
}

/** xl migrate's success line, taken apart (host/migrate/progress.ts summaryText). */
export interface MigrateLine {
  mode: string;
  totalMs: number;
  downtimeMs: number;
  rounds: string[];
  fetched: number;
  bytes: number;
}

export function parseMigrateLine(stderr: string, port: number): MigrateLine {
  const m = new RegExp(`^wasmvisor: xl migrate: dl \\(d1\\) migrated to 127\\.0\\.0\\.1:${port} \\((precopy|postcopy|hybrid): total ([\\d.]+) ms, downtime ([\\d.]+) ms, (\\d+) rounds \\(pages ([^)]*)\\), ([\\d,]+) pages fetched on demand, ([\\d,]+) bytes sent\\)\\n$`).exec(stderr);
  if (!m) throw new Error(`not xl migrate's success line: ${JSON.stringify(stderr)}`);
  const rounds = m[5].split(', ');
  expect(rounds.length).toBe(Number(m[4]));
  const num = (s: string) => Number(s.replace(/,/g, ''));
  return { mode: m[1], totalMs: Number(m[2]), downtimeMs: Number(m[3]), rounds, fetched: num(m[6]), bytes: num(m[7]) };
}

/** The target's messages (stream.ts framing) as they come through the proxy, one type letter each. */
class FrameSplitter {
  private head = Buffer.alloc(0); // a message's 9-byte header, as it comes
  private left = -1; // bytes of the current message after its header (payload and CRC), -1: in a header
  /** Split `b` into pieces that end where messages start or end; `start(type)` for each message begun. */
  *pieces(b: Buffer): Generator<{ piece: Buffer; starts?: string }> {
    let rest = b;
    while (rest.length > 0) {
      let n: number;
      let starts: string | undefined;
      if (this.left < 0) {
        n = Math.min(rest.length, 9 - this.head.length);
        if (this.head.length === 0) starts = String.fromCharCode(rest[0]);
        this.head = Buffer.concat([this.head, rest.subarray(0, n)]);
        if (this.head.length === 9) {
          this.left = this.head.readUInt32LE(1) + 4;
          this.head = Buffer.alloc(0);
        }
      } else {
        n = Math.min(rest.length, this.left);
        this.left -= n;
        if (this.left === 0) this.left = -1;
      }
      yield { piece: rest.subarray(0, n), starts };
      rest = rest.subarray(n);
    }
  }
}

/** What cuttingProxy can do besides cutting the source's direction. */
export interface ProxyFaults {
  /** Cut both connections instead of forwarding a message of the target's of this type letter (its answer lost). */
  cutAnswer?: (type: string) => boolean;
  /** A slow link: every piece is forwarded this many ms late, each way (in order). */
  delayMs?: number;
  /** The source's stream starts with xl migrate's header line (default); false: a VM's stream (messages at once). */
  headerLine?: boolean;
  /** Cut both connections just before the source's first message of this type letter (none of it forwarded). */
  cutBefore?: (type: string) => boolean;
  /** Flip the first byte after the header of the source's first message of this type letter (its checksum fails). */
  corrupt?: (type: string) => boolean;
}

/**
 * A proxy on 127.0.0.1 in front of `port`: it forwards both ways and cuts both connections (the
 * first one it carries) once `cut(sent)` says so, `sent` being the source's bytes forwarded.
 * `frames` counts the source's messages after the header line by type letter (stream.ts framing)
 * so that a cut can come after a given message; with `atBytes`, no piece forwarded goes past
 * that many bytes, so that a cut there is exact. `faults`: a cut at the target's answer, a delay.
 */
export function cuttingProxy(port: number, cut: (sent: number, frames: string[]) => boolean, atBytes = Infinity, faults: ProxyFaults = {}): Promise<{ server: Server; port: number; cutAt: () => number | undefined; frames: () => string[]; answers: () => string[] }> {
  let cutAt: number | undefined;
  const frames: string[] = [];
  const answers: string[] = [];
  const server = createServer((s: Socket) => {
    server.close();
    const t = connect({ host: '127.0.0.1', port });
    let sent = 0;
    let headerLine = faults.headerLine ?? true;
    let head = Buffer.alloc(0); // a message's 9-byte header, as it comes
    let left = -1; // bytes of the current message after its header (payload and CRC), -1: in a header
    let type = 0;
    let whole = 0; // the current message's bytes after its header
    let corrupted = false;
    const delay = faults.delayMs ?? 0;
    const later = (to: Socket, b: Buffer) => {
      if (delay === 0) return void to.write(b);
      const copy = Buffer.from(b);
      setTimeout(() => void (to.destroyed || to.write(copy)), delay);
    };
    s.on('error', () => t.destroy());
    t.on('error', () => s.destroy());
    const back = new FrameSplitter();
    t.on('data', (b: Buffer) => {
      if (cutAt !== undefined) return;
      for (const { piece, starts } of back.pieces(b)) {
        if (starts !== undefined && faults.cutAnswer?.(starts)) {
          // The answer is lost: nothing of it goes to the source, and both connections end.
          cutAt = sent;
          answers.push(`${starts} (cut)`);
          s.destroy();
          t.destroy();
          return;
        }
        if (starts !== undefined) answers.push(starts);
        later(s, piece);
      }
    });
    t.on('close', () => (delay === 0 ? s.destroy() : setTimeout(() => s.destroy(), delay)));
    s.on('close', () => (delay === 0 ? t.destroy() : setTimeout(() => t.destroy(), delay)));
    s.on('data', (b: Buffer) => {
      if (cutAt !== undefined) return;
      // Forward piece by piece up to each message's end, so that a cut can fall right after one.
      let rest = b;
      while (rest.length > 0) {
        const piece = rest.subarray(0, Math.min(rest.length, atBytes - sent));
        let n: number;
        if (headerLine) {
          const lf = piece.indexOf(0x0a);
          n = lf >= 0 ? lf + 1 : piece.length;
          if (lf >= 0) headerLine = false;
        } else if (left < 0) {
          if (head.length === 0 && faults.cutBefore?.(String.fromCharCode(piece[0]))) {
            // Cut with none of this message forwarded (the source wrote it; the target never sees it).
            cutAt = sent;
            s.destroy();
            t.end();
            return;
          }
          n = Math.min(piece.length, 9 - head.length);
          head = Buffer.concat([head, piece.subarray(0, n)]);
          if (head.length === 9) {
            type = head[0];
            left = head.readUInt32LE(1) + 4;
            whole = left;
            head = Buffer.alloc(0);
          }
        } else {
          n = Math.min(piece.length, left);
          if (!corrupted && left === whole && faults.corrupt?.(String.fromCharCode(type))) {
            corrupted = true;
            const bad = Buffer.from(rest.subarray(0, n));
            bad[0] ^= 0x5a;
            later(t, bad);
            sent += n;
            rest = rest.subarray(n);
            left -= n;
            if (left === 0) {
              frames.push(`${String.fromCharCode(type)} (corrupt)`);
              left = -1;
            }
            continue;
          }
          left -= n;
          if (left === 0) {
            frames.push(String.fromCharCode(type));
            left = -1;
          }
        }
        later(t, rest.subarray(0, n));
        sent += n;
        rest = rest.subarray(n);
        if (cut(sent, frames)) {
          // (end, not destroy: what was forwarded still reaches the target, then the stream ends)
          cutAt = sent;
          s.destroy();
          t.end();
          return;
        }
      }
    });
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({ server, port: (server.address() as { port: number }).port, cutAt: () => cutAt, frames: () => frames.slice(), answers: () => answers.slice() })));
}
