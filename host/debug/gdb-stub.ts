/**
 * A GDB stub: the remote serial protocol (GDB manual, appendix E) over TCP, for the bare
 * machine's hart or a VM's guest (target.ts). One debugger at a time, as QEMU's -gdb.
 *
 * Packets served: qSupported, qXfer:features:read (target-xml.ts), ?, g/G, p/P, m/M, Z0-Z4 and
 * z0-z4 (gate.ts), c/C, s/S, vCont (c, C, s, S), D (detach: breakpoints dropped, the hart runs),
 * k (kill: the run ends), Ctrl-C (0x03), H, T, qC, qfThreadInfo, qAttached, QStartNoAckMode,
 * qRcmd (GDB's `monitor CMD`, when a monitor is given) and QEMU's Qqemu.PhyMemMode:1|0 / qqemu.PhyMemMode
 * (`maintenance packet Qqemu.PhyMemMode:1`: m/M then address physical memory, guest-physical
 * for a VM). A memory access that does not translate, or reaches no RAM, answers E14 (EFAULT),
 * as QEMU. Anything else gets the empty reply ("not supported").
 */
import { createServer, type Server, type Socket } from 'node:net';
import { UserError } from '../errors';
import { DebugGate, type StopEvent } from './gate';
import { bytesToHex, framePacket, fromLeHex, hexToBytes, leHex, RspReader, type RspEvent } from './rsp';
import { readMemory, writeMemory, type DebugTarget } from './target';
import { FP_CSRS, REG_CSR0, REG_F0, REG_PC, REG_PRIV, targetXml } from './target-xml';

/** Where to listen: QEMU's `tcp::PORT` or `tcp:HOST:PORT` (-s is tcp::1234). */
export interface ListenSpec { host: string; port: number }

/** Parse a QEMU-style chardev spec for --gdb or --monitor (tcp only; `what` names the flag). */
export function parseTcpSpec(spec: string, what: string): ListenSpec {
  const m = /^tcp:([^:]*):(\d+)$/.exec(spec);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new UserError(`wasmvisor: ${what} ${spec}: expected tcp:HOST:PORT or tcp::PORT`);
  return { host: m[1] === '' ? '127.0.0.1' : m[1], port };
}

export interface GdbStubOptions {
  /** The debugger's `kill`: end the run (the CLI then exits). */
  onKill(): void;
  /** GDB's `monitor CMD` (qRcmd): the monitor's answer, when there is a monitor. */
  monitor?(cmd: string): Promise<string>;
}

const E_FAULT = 'E14';
/** Most bytes one m packet reads: what fits in PacketSize (0x4000 hex digits). */
const MAX_MEM = 0x2000;
const E_INVAL = 'E22';

export class GdbStub {
  readonly gate: DebugGate;
  private server: Server | undefined;
  private conn: Socket | undefined;
  private noAck = false;
  private physical = false;
  /** True between c/s and the stop reply. */
  private running = false;
  private lastStop: StopEvent = { kind: 'signal', signal: 5 };
  private heldWaiters: (() => void)[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly xml: Map<string, string>;
  private exited = false;

  constructor(private readonly target: DebugTarget, gate: DebugGate, private readonly opts: GdbStubOptions) {
    this.gate = gate;
    gate.onStop = (e) => this.stopped(e);
    this.xml = targetXml(target);
  }

  /** Listen; resolves with the bound port (0 picks a free one). */
  listen(spec: ListenSpec): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((s) => this.accept(s));
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new UserError(`wasmvisor: --gdb tcp:${spec.host}:${spec.port}: ${e.code ?? e.message}`)));
      server.listen(spec.port, spec.host, () => {
        this.server = server;
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : spec.port);
      });
    });
  }

  /** The guest ended: tell the debugger (W, the exit code) and stop listening. */
  guestExited(code: number): void {
    this.exited = true;
    this.send(`W${(code & 0xff).toString(16).padStart(2, '0')}`);
    this.close();
  }

  close(): void {
    this.conn?.end();
    this.conn = undefined;
    this.server?.close();
    this.server = undefined;
  }

  private accept(s: Socket): void {
    if (this.conn) {
      s.end(); // one debugger at a time
      return;
    }
    this.conn = s;
    this.noAck = false;
    this.physical = false;
    s.setNoDelay(true);
    s.setEncoding('latin1');
    const reader = new RspReader();
    // As QEMU: a debugger that connects stops the hart.
    this.gate.halt();
    s.on('data', (chunk: string) => reader.feed(chunk, (e) => this.event(e)));
    s.on('close', () => {
      if (this.conn !== s) return;
      this.conn = undefined;
      if (!this.exited) this.gate.detach(); // a debugger that goes away lets the guest run
    });
    s.on('error', () => {});
  }

  private event(e: RspEvent): void {
    if (e.kind === 'interrupt') {
      this.gate.halt();
      return;
    }
    if (e.kind === 'bad') {
      this.raw('-');
      return;
    }
    if (!this.noAck) this.raw('+');
    const data = e.data;
    this.queue = this.queue.then(async () => {
      await this.whenHeld();
      const reply = await this.handle(data);
      if (reply !== undefined) this.send(reply);
    }).catch((err: unknown) => {
      this.send(E_INVAL);
      process.emitWarning(`gdb stub: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  private whenHeld(): Promise<void> {
    if (this.gate.held && !this.running) return Promise.resolve();
    return new Promise((r) => this.heldWaiters.push(r));
  }

  private stopped(e: StopEvent): void {
    this.lastStop = e;
    if (this.running) {
      this.running = false;
      this.send(this.stopReply(e));
    }
    const w = this.heldWaiters;
    this.heldWaiters = [];
    for (const r of w) r();
  }

  private stopReply(e: StopEvent): string {
    if (e.kind === 'watch') return `T05${e.type}:${e.addr.toString(16)};thread:01;`;
    return `T${e.signal.toString(16).padStart(2, '0')}thread:01;`;
  }

  private raw(s: string): void {
    this.conn?.write(s, 'latin1');
  }

  private send(data: string): void {
    this.raw(framePacket(data));
  }

  private resume(step: boolean): undefined {
    this.running = true;
    this.gate.resume(step);
    return undefined; // the stop reply comes when the hart stops
  }

  /** The reply to one packet; undefined: none now (c/s answer when the hart stops). */
  private async handle(p: string): Promise<string | undefined> {
    const t = this.target;
    switch (p[0]) {
      case '?': return this.stopReply(this.lastStop);
      case 'g': {
        let s = '';
        for (let i = 0; i < 32; i++) s += leHex(t.x(i), 8);
        return s + leHex(t.pc, 8);
      }
      case 'G': {
        for (let i = 1; i < 32 && 16 * (i + 1) <= p.length - 1; i++) t.setX(i, fromLeHex(p.slice(1 + 16 * i, 17 + 16 * i)));
        if (p.length - 1 >= 33 * 16) t.pc = fromLeHex(p.slice(1 + 32 * 16, 1 + 33 * 16));
        return 'OK';
      }
      case 'p': return this.readReg(parseInt(p.slice(1), 16)) ?? E_INVAL;
      case 'P': {
        const [n, v] = p.slice(1).split('=');
        return this.writeReg(parseInt(n, 16), fromLeHex(v)) ? 'OK' : E_INVAL;
      }
      case 'm': {
        const [a, l] = p.slice(1).split(',');
        const len = parseInt(l, 16);
        if (!(len >= 0 && len <= MAX_MEM)) return E_INVAL; // (GDB keeps within PacketSize)
        const b = readMemory(t, BigInt('0x' + a), len, this.physical);
        return b ? bytesToHex(b) : E_FAULT;
      }
      case 'M': {
        const [head, hex] = p.slice(1).split(':');
        const [a] = head.split(',');
        return writeMemory(t, BigInt('0x' + a), hexToBytes(hex ?? ''), this.physical) ? 'OK' : E_FAULT;
      }
      case 'Z':
      case 'z': {
        const [type, a, kind] = p.slice(1).split(',');
        const addr = BigInt('0x' + a);
        const ok = p[0] === 'Z' ? this.gate.insert(Number(type), addr, parseInt(kind, 16)) : this.gate.remove(Number(type), addr, parseInt(kind, 16));
        return ok ? 'OK' : p[0] === 'Z' ? '' : 'OK';
      }
      case 'c':
      case 'C':
      case 's':
      case 'S': {
        // c[addr] / Csig[;addr]: resume at addr if given (the signal is not delivered: no OS here).
        const rest = p[0] === 'c' || p[0] === 's' ? p.slice(1) : p.slice(1).split(';')[1] ?? '';
        if (rest !== '') t.pc = BigInt('0x' + rest);
        return this.resume(p[0] === 's' || p[0] === 'S');
      }
      case 'v': return this.handleV(p);
      case 'D':
        this.send('OK');
        this.gate.detach();
        this.conn?.end();
        return undefined;
      case 'k':
        this.exited = true;
        this.opts.onKill();
        this.gate.detach();
        this.close();
        return undefined;
      case 'H': case 'T': return 'OK';
      case 'q': return this.handleQuery(p);
      case 'Q': return this.handleSet(p);
    }
    return '';
  }

  private handleV(p: string): string | undefined {
    if (p === 'vCont?') return 'vCont;c;C;s;S';
    if (p.startsWith('vCont;')) {
      // The first action that applies to thread 1 (or to all) decides: one hart.
      for (const action of p.slice(6).split(';')) {
        const [act, thread] = action.split(':');
        if (thread !== undefined && thread !== '1' && thread !== '01' && thread !== '-1') continue;
        if (act[0] === 's' || act[0] === 'S') return this.resume(true);
        if (act[0] === 'c' || act[0] === 'C') return this.resume(false);
      }
      return E_INVAL;
    }
    if (p === 'vMustReplyEmpty') return '';
    return '';
  }

  private async handleQuery(p: string): Promise<string> {
    if (p.startsWith('qSupported')) return 'PacketSize=4000;qXfer:features:read+;vContSupported+;QStartNoAckMode+';
    if (p.startsWith('qXfer:features:read:')) {
      const [annex, range] = p.slice('qXfer:features:read:'.length).split(':');
      const doc = this.xml.get(annex);
      if (doc === undefined) return 'E00';
      const [off, len] = range.split(',').map((x) => parseInt(x, 16));
      const chunk = doc.slice(off, off + len);
      return (off + len >= doc.length ? 'l' : 'm') + chunk;
    }
    if (p === 'qC') return 'QC01';
    if (p === 'qfThreadInfo') return 'm01';
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qAttached')) return '1';
    if (p === 'qqemu.PhyMemMode') return this.physical ? '1' : '0';
    if (p.startsWith('qRcmd,') && this.opts.monitor) {
      const cmd = Buffer.from(p.slice(6), 'hex').toString('latin1');
      const out = await this.opts.monitor(cmd);
      if (out !== '') this.send('O' + Buffer.from(out, 'latin1').toString('hex'));
      return 'OK';
    }
    return '';
  }

  private handleSet(p: string): string | undefined {
    if (p === 'QStartNoAckMode') {
      this.send('OK');
      this.noAck = true;
      return undefined;
    }
    const m = /^Qqemu\.PhyMemMode:([01])$/.exec(p);
    if (m) {
      this.physical = m[1] === '1';
      return 'OK';
    }
    return '';
  }

  private readReg(n: number): string | undefined {
    const t = this.target;
    if (n < 32) return leHex(t.x(n), 8);
    if (n === REG_PC) return leHex(t.pc, 8);
    if (n >= REG_F0 && n < REG_F0 + 32) return leHex(t.f(n - REG_F0), 8);
    if (n === REG_PRIV) return leHex(BigInt(t.priv), 8);
    const csr = t.csrs.get(n - REG_CSR0);
    if (n >= REG_CSR0 && csr) return leHex(csr.get(), FP_CSRS.includes(csr.num) ? 4 : 8);
    return undefined;
  }

  private writeReg(n: number, v: bigint): boolean {
    const t = this.target;
    if (n < 32) t.setX(n, v);
    else if (n === REG_PC) t.pc = v;
    else if (n >= REG_F0 && n < REG_F0 + 32) t.setF(n - REG_F0, v);
    else {
      const csr = t.csrs.get(n - REG_CSR0);
      if (n < REG_CSR0 || !csr?.set) return false;
      csr.set(v);
    }
    return true;
  }
}
