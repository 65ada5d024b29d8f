/**
 * The monitor: QEMU's HMP commands that make sense here, one line in, text out (transports in
 * monitor-io.ts: a TCP server, stdin, Ctrl-A C on the terminal; GDB's `monitor CMD`).
 *
 *   help                      the command list
 *   info registers            pc, x1..x31, privilege, the CSRs (with the H state)
 *   info mem                  the guest's mappings (current satp, or the guest's vsatp), merged
 *   info tlb                  the same, one line per leaf (page or superpage)
 *   info exits                VM exits by reason (a VM), or the machine's exit counters
 *   info status               the run state, as QEMU's: running, or paused (and why, gate.ts RunState)
 *   x/FMT ADDR, xp/FMT ADDR   memory, virtual (through the current translation) or physical;
 *                             FMT = [count][x|d|u|c|i][b|h|w|g] as QEMU's (default 1, x, w)
 *   stop, cont                hold / release the hart (the GDB stub's gate)
 *   system_reset              reset the machine (the VM: a reboot), as the guest's reset
 *   quit                      end the run (exit code 0)
 *
 * The run's owner adds commands with define(): savevm, loadvm, info snapshots, migrate and
 * info migrate for `wasmvisor run` (host/cli/monitor-run.ts), xl for a Dom0 (host/cli/xl-monitor.ts).
 * Commands run one at a time in the order they came, from every transport.
 *
 * Addresses and values in hex (0x optional), as QEMU reads them; a failed translation says so.
 */
import { UserError } from '../errors';
import { disassemble, ABI_NAMES } from '../isa/disasm';
import { pausedText, type DebugGate, type RunState } from './gate';
import { listMappings, pteFlags } from './translate';
import { read64, readMemory, translate, type DebugTarget } from './target';

/** What the monitor acts on besides the hart. */
export interface MonitorHost {
  target: DebugTarget;
  gate: DebugGate;
  /** The exit table (VM mode: formatExitStats; bare: the machine's counters). */
  exits(): string;
  /** Extra register lines (a VM's H state from its VMCS). */
  hState?(): string;
  reset(): void;
  quit(): void;
}

/**
 * A command the run's owner adds (savevm and migrate in `run`, host/cli/monitor-run.ts; xl in a
 * Dom0, host/cli/xl-monitor.ts). `run` gets the words after the name; its answer may come later
 * (a command that needs the run stopped), and the commands after it wait for it.
 */
export interface MonitorCommand {
  /** Its lines in `help`, as MONITOR_HELP's ("name ARGS" padded to 26, what it does). */
  help: string;
  run(args: string[]): string | Promise<string>;
}

/** The help of the hart's monitor (`run`); added commands follow it. */
export const MONITOR_HELP = `help                      show this list
info registers            pc, general registers, privilege, CSRs and the H state
info mem                  the guest's mappings (virtual range, physical, size, flags)
info tlb                  the guest's mappings, one line per page or superpage
info exits                exits by reason
info status               the run state (running, or paused and why)
x/FMT ADDR                memory at a virtual address (FMT: [count][x|d|u|c|i][b|h|w|g])
xp/FMT ADDR               memory at a physical address
stop                      stop the hart
cont                      let the hart run
system_reset              reset the machine
quit                      end the run
`;

/** The help of a monitor without a hart (a Dom0's); added commands follow it. */
export const MONITOR_HELP_NO_HART = `help                      show this list
quit                      end the run
`;

const hex16 = (v: bigint) => v.toString(16).padStart(16, '0');
/** Most units one x/xp shows (QEMU has no limit; a typo should not print megabytes). */
const MAX_COUNT = 4096;

export class Monitor {
  private readonly commands = new Map<string, MonitorCommand>();
  private readonly infos = new Map<string, MonitorCommand>();
  /** The command running now: the next one starts after it (its answer may be asynchronous). */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * `host`: the hart's monitor (info registers, x, stop...), or only `quit` for a monitor
   * without a hart (a Dom0's, whose commands are added: xl).
   */
  constructor(private readonly host: MonitorHost | { quit(): void }) {}

  /** Add a command (`name` ARGS), or an `info` topic when `name` is "info TOPIC". */
  define(name: string, cmd: MonitorCommand): void {
    if (name.startsWith('info ')) this.infos.set(name.slice(5), cmd);
    else this.commands.set(name, cmd);
  }

  /** The help text: the built-in commands, then the added ones in the order they were added. */
  help(): string {
    return ('target' in this.host ? MONITOR_HELP : MONITOR_HELP_NO_HART) + [...this.commands.values(), ...this.infos.values()].map((c) => c.help).join('');
  }

  /** Execute one command line once the ones before it have answered; resolves with its output (lines end in \n). */
  execute(line: string): Promise<string> {
    const answer = this.queue.then(() => this.run(line)).catch((e: unknown) => {
      // (an added command's one-line refusal, without the program's name: the monitor is ours)
      if (e instanceof UserError) return e.message.replace(/^wasmvisor: /, '') + '\n';
      throw e;
    });
    this.queue = answer.catch(() => {});
    return answer;
  }

  private get hart(): MonitorHost {
    return this.host as MonitorHost;
  }

  private run(line: string): string | Promise<string> {
    const cmd = line.trim();
    if (cmd === '') return '';
    const [word, ...args] = cmd.split(/\s+/);
    const added = this.commands.get(word);
    if (added) return added.run(args);
    const topic = word === 'info' ? this.infos.get(args[0] ?? '') : undefined;
    if (topic) return topic.run(args.slice(1));
    switch (word) {
      case 'help': case '?': return this.help();
      case 'q': case 'quit':
        this.host.quit();
        return '';
    }
    if (!('target' in this.host)) {
      if (word === 'info') return this.infos.size > 0 ? `info: expected ${this.topics([])}, got '${args[0] ?? ''}'\n` : 'info: no topics in this monitor (help lists its commands)\n';
      return `unknown command: '${word}' (help lists them)\n`;
    }
    const host = this.host;
    switch (word) {
      case 'info': return this.info(host, args[0] ?? '');
      case 'stop':
        // (answered once the hart is held, as QEMU's stop returns with the VM stopped)
        host.gate.halt('paused');
        return host.gate.whenHeld().then(() => '');
      case 'c': case 'cont':
        host.gate.resume(false);
        return '';
      case 'system_reset':
        host.reset();
        return '';
    }
    const m = /^(xp?)(?:\/(\d*)([xduci]?)([bhwg]?))?$/.exec(word);
    if (m) {
      const addr = parseHex(args.join(''));
      if (addr === undefined) return `${m[1]}: expected an address, e.g. ${m[1]}/4xw 0x80000000\n`;
      const count = Number(m[2] || '1');
      if (count > MAX_COUNT) return `${m[1]}: at most ${MAX_COUNT} units at a time\n`;
      return this.examine(addr, m[1] === 'xp', count, m[3] || 'x', m[4] || 'w');
    }
    return `unknown command: '${word}' (help lists them)\n`;
  }

  /** "a, b or c": the info topics. */
  private topics(builtIn: string[]): string {
    const all = [...builtIn, ...this.infos.keys()];
    return all.length < 2 ? all.join('') : `${all.slice(0, -1).join(', ')} or ${all.at(-1)}`;
  }

  private info(host: MonitorHost, what: string): string {
    switch (what) {
      case 'registers': return this.registers();
      case 'mem': return this.mappings(true);
      case 'tlb': return this.mappings(false);
      case 'exits': return host.exits();
      case 'status': return statusLine(host.gate.runState);
    }
    return `info: expected ${this.topics(['registers', 'mem', 'tlb', 'exits', 'status'])}, got '${what}'\n`;
  }

  private registers(): string {
    const t = this.hart.target;
    const priv = ['U', 'S', '?', 'M'][t.priv];
    let s = `pc       ${hex16(t.pc)}  priv ${t.kind === 'vm' ? `V${priv} (the guest's ${priv})` : priv}\n`;
    for (let i = 1; i < 32; i++) {
      s += `x${String(i).padEnd(2)}/${ABI_NAMES[i].padEnd(4)} ${hex16(t.x(i))}${i % 4 === 3 ? '\n' : '  '}`;
    }
    s += '\n';
    const csrs = [...t.csrs.values()].sort((a, b) => a.num - b.num);
    csrs.forEach((c, i) => { s += `${c.name.padEnd(10)} ${hex16(c.get())}${i % 3 === 2 ? '\n' : '  '}`; });
    if (csrs.length % 3 !== 0) s += '\n';
    if (this.hart.hState) s += this.hart.hState();
    return s;
  }

  private mappings(merged: boolean): string {
    const t = this.hart.target;
    const satp = t.dataSatp();
    if (satp >> 60n === 0n) return `paging off (${t.kind === 'vm' ? 'vsatp' : 'satp'} = ${hex16(t.kind === 'vm' ? satp : t.csrs.get(0x180)?.get() ?? 0n)}${t.priv === 3 ? ', M-mode' : ''}): virtual = physical\n`;
    const maps = listMappings(satp, (pa) => read64(t, pa), merged ? 256 : 512, merged);
    let s = merged ? 'virtual address  physical address  size             attr\n' : 'virtual address  physical address  page size  attr\n';
    for (const m of maps) {
      s += merged
        ? `${hex16(m.va)} ${hex16(m.pa)}  ${hex16(m.size)} ${pteFlags(m.flags)}\n`
        : `${hex16(m.va)} ${hex16(m.pa)}  ${(m.size >> 10n).toString().padStart(7)}K  ${pteFlags(m.flags)}\n`;
    }
    return s;
  }

  private examine(addr: bigint, physical: boolean, count: number, fmt: string, sizeCh: string): string {
    const t = this.hart.target;
    if (fmt === 'i') {
      let s = '';
      let a = addr;
      for (let i = 0; i < count; i++) {
        const lo = readMemory(t, a, 2, physical);
        if (!lo) return s + `${hex16(a)}: cannot access memory\n`;
        let w = lo[0] | (lo[1] << 8);
        let len = 2;
        if ((w & 3) === 3) {
          const hi = readMemory(t, a + 2n, 2, physical);
          if (!hi) return s + `${hex16(a)}: cannot access memory\n`;
          w = (w | (hi[0] << 16) | (hi[1] << 24)) >>> 0;
          len = 4;
        }
        s += `${hex16(a)}:  ${disassemble(w, a)}\n`;
        a += BigInt(len);
      }
      return s;
    }
    const size = { b: 1, h: 2, w: 4, g: 8 }[sizeCh] ?? 4;
    const bytes = readMemory(t, addr, count * size, physical);
    if (!bytes) {
      const pa = physical ? addr : translate(t, addr);
      return pa === undefined ? `${hex16(addr)}: no translation (page fault)\n` : `${hex16(addr)}: not RAM (physical ${hex16(pa)})\n`;
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const perLine = Math.max(1, 16 / size);
    let s = '';
    for (let i = 0; i < count; i++) {
      if (i % perLine === 0) s += `${i ? '\n' : ''}${hex16(addr + BigInt(i * size))}:`;
      const v = size === 8 ? dv.getBigUint64(i * 8, true) : BigInt(size === 4 ? dv.getUint32(i * 4, true) : size === 2 ? dv.getUint16(i * 2, true) : dv.getUint8(i));
      s += ' ' + formatValue(v, size, fmt);
    }
    return s + '\n';
  }
}

/**
 * HMP's `info status` line (QEMU hmp_info_status): "running" or "paused", and the state's name
 * after "paused" unless it is plain paused (the monitor's stop): "paused (prelaunch)" for -S.
 */
export function statusLine(state: RunState): string {
  return `VM status: ${state === 'running' ? 'running' : pausedText(state)}\n`;
}

function formatValue(v: bigint, size: number, fmt: string): string {
  switch (fmt) {
    case 'd': return BigInt.asIntN(size * 8, v).toString();
    case 'u': return v.toString();
    case 'c': return JSON.stringify(String.fromCharCode(Number(v & 0xffn)));
    default: return '0x' + v.toString(16).padStart(size * 2, '0');
  }
}

function parseHex(text: string): bigint | undefined {
  const m = /^(?:0x)?([0-9a-f]+)$/i.exec(text);
  return m ? BigInt('0x' + m[1]) : undefined;
}
