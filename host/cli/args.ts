/**
 * The `wasmvisor` command line: what a user may type and what it means. Parsing only; nothing
 * here touches a file or a machine. Every mistake becomes a one-line UserError (exit code 2)
 * that names the option and the value.
 */
import { RAM_SIZE_MAX } from '../../assembly/abi';
import { UserError } from '../errors';
import { memSizeLimit, sizeText } from '../machine/mem-size';
import { vmMemSizeLimit } from '../vmm/vm';
import { parseTraceKinds, parseTraceRange, type TraceKind } from '../debug/trace-options';
import { parseNetOption, type SocketEndpoint } from '../devices/virtio/net-option';
import { checkMigrateOptions, defaultMigrateOptions, MIGRATE_HELP, MIGRATE_OPTIONS, parseMigrateOption, type MigrateOptions } from '../migrate/options';

/** Smallest RAM a guest may have (the DTB and firmware need room). */
export const MEM_MIN = 1 << 20;
/** Largest RAM of a bare machine: what the core's Wasm memory holds (host/machine/mem-size.ts). */
export const MEM_MAX = memSizeLimit();
/** Default RAM, as QEMU's virt board. */
export const MEM_DEFAULT = 128 << 20;

/** What `wasmvisor run` was asked to do. */
export interface RunOptions {
  /** Path of the kernel / bare-metal image, as typed (used in messages). */
  image: string;
  /** --bare: the image runs in M-mode on the bare machine (the only mode so far). */
  bare: boolean;
  /** RAM size in bytes. */
  memSize: number;
  /** --bios FILE: firmware at 0x80000000; the image becomes its payload at 0x80200000. */
  bios?: string;
  /** --timeout: wall-clock limit, in seconds, exactly as typed (for the message). */
  timeout?: string;
  /** --max-instructions: limit on retired instructions (and on traps taken). */
  maxInstructions?: bigint;
  /** --stats: print counters to stderr at exit. */
  stats: boolean;
  /** --deterministic: time follows retired instructions, not the wall clock. */
  deterministic: boolean;
  /** --paging MODE (VM mode): how guest-physical memory is virtualized: nested (--virt hw) or shadow (--virt trap). */
  paging?: 'nested' | 'shadow';
  /** --virt MODE (VM mode): how the CPU is virtualized: hw (the H extension), trap (trap-and-emulate), bt (binary translation) or pv (paravirtual MMU and CPU). */
  virt?: 'hw' | 'trap' | 'bt' | 'pv';
  /** --trace exits (VM mode): one line per VM exit on stderr. */
  traceExits?: true;
  /** --trace LIST: every kind asked for (insn, int, mmu, exits, sbi, io; host/debug/trace.ts). */
  trace?: Set<TraceKind>;
  /** --trace-file FILE: trace lines go there instead of stderr. */
  traceFile?: string;
  /** --trace-range LO-HI: only events whose pc (mmu: virtual address) is inside. */
  traceRange?: { lo: bigint; hi: bigint };
  /** --jit MODE: tier 2 of the BT cache (off, on, always); default on. */
  jit?: 'off' | 'on' | 'always';
  /** --jit-threshold N: interpreted runs of a block before its region is compiled. */
  jitThreshold?: number;
  /** --jit-code-limit SIZE: bytes of generated Wasm kept before all is evicted. */
  jitCodeLimit?: number;
  /** --jit-max-blocks N: most blocks in one compiled region (1..64). */
  jitMaxBlocks?: number;
  /** --disk FILE[,ro]: a raw disk image for the virtio-blk device in slot 0. */
  disk?: { path: string; readOnly: boolean };
  /** --net socket,listen=|connect=HOST:PORT[,mac=]: a virtio-net device (slot 1) on a TCP link. */
  net?: { endpoint: SocketEndpoint; mac?: Uint8Array };
  /** --virtio-console: a virtio console (slot 2) on the terminal, next to the UART. */
  virtioConsole?: true;
  /** --virtio-rng: a virtio entropy device (slot 3) fed by the host's crypto. */
  virtioRng?: true;
  /** --console-input uart|virtio: which console typed input goes to at start (default uart). */
  consoleInput?: 'uart' | 'virtio';
  /** --append CMDLINE: the kernel command line (/chosen bootargs). */
  append?: string;
  /** --initrd FILE: initial ramdisk, loaded where QEMU's virt puts it. */
  initrd?: string;
  /** --dtb FILE: a device tree blob used instead of the generated one. */
  dtb?: string;
  /** --save-on-exit FILE: save a snapshot when the run ends (not when the guest ended itself). docs/snapshot.md */
  saveOnExit?: string;
  /** --restore FILE: start from this snapshot instead of the image's entry (same image and options). */
  restore?: string;
  /** --snapshot-file FILE: where Ctrl-A S saves (default wasmvisor-snapshot.wvsnap). */
  snapshotFile?: string;
  // -- debugging (host/debug/, docs/debug.md) --
  /** --gdb tcp:HOST:PORT (-s: tcp::1234): a GDB stub listens there. */
  gdb?: string;
  /** -S: the hart starts stopped, until GDB (or the monitor's cont) lets it run. */
  startStopped?: boolean;
  /** --monitor stdio | tcp:HOST:PORT: the HMP-style monitor (also on Ctrl-A C). */
  monitor?: string;
  /** --incoming, --migrate-to and their knobs (host/migrate/options.ts, docs/migration.md). */
  migrate?: MigrateOptions;
}

/** A parsed command line. */
export type Command =
  /** --help, or `help COMMAND` / `COMMAND --help` (host/cli/help.ts) */
  | { kind: 'help'; command?: string }
  | { kind: 'version' }
  | { kind: 'run'; options: RunOptions }
  // -- xl toolstack (host/cli/xl.ts parses the rest of the line) --
  | { kind: 'xl'; args: string[] }
  | { kind: 'up'; args: string[] }
  // -- the techniques lab (host/lab/run.ts parses the rest of the line) --
  | { kind: 'lab'; args: string[] };

/** The text of `wasmvisor --help`. */
export const USAGE = `usage: wasmvisor run [--bare] IMAGE [options]
       wasmvisor xl create DOMU.cfg [--timeout S] [--deterministic] [--stats] [--jit MODE] [--monitor tcp:HOST:PORT]
       wasmvisor up HOST.cfg [--timeout S] [--deterministic] [--stats] [--jit MODE] [--monitor tcp:HOST:PORT]
       wasmvisor xl list [DOM...] | xl pause DOM | xl unpause DOM | xl destroy DOM | xl rename DOM NEWNAME
       wasmvisor xl console DOM
       wasmvisor xl save DOM FILE | xl restore [-p] FILE | xl migrate [--migrate-*] DOM HOST[:PORT]
       wasmvisor up [HOST.cfg] --incoming tcp:HOST:PORT | up [HOST.cfg] --wait
       wasmvisor lab IMAGE [--json FILE|-] [--svg FILE] [--runs N] [VM options]
       wasmvisor help COMMAND | COMMAND --help
       wasmvisor --help | --version

Run a RISC-V (RV64IMAC) guest on a QEMU virt-compatible board.
Without --bare, IMAGE is an S-mode kernel run as a virtual machine in VS-mode (as under KVM):
the TypeScript VMM answers its SBI calls and emulates its devices.
IMAGE is an ELF64 RISC-V file or a raw binary (loaded at 0x80000000 with --bare, at
0x80200000 in VM mode or with --bios).

options of run:
  --bare                   run IMAGE on the bare machine in M-mode (like qemu -bios none -kernel)
  --virt MODE              VM mode: how the CPU is virtualized: hw (the H extension, the
                           default), trap (trap-and-emulate: the kernel runs deprivileged in
                           U-mode, the VMM emulates its S-mode), bt (as trap, with the kernel's
                           sensitive instructions translated) or pv (as trap, and the kernel
                           asks by hypercall: CSRs, satp, batched PTE updates); docs/techniques.md
  --paging MODE            VM mode: how guest memory is virtualized: nested (G-stage tables,
                           the default with --virt hw) or shadow (shadow page tables: the only
                           paging of --virt trap, bt and pv; with --virt hw through hstatus.VTVM)
  --trace LIST             trace events to stderr (docs/debug.md), a comma-separated list of
                           insn (each instruction, with the registers it changed; JIT off),
                           int (traps and interrupts), mmu (page walks), exits (VM exits),
                           sbi (SBI calls, VM mode), io (MMIO accesses)
  --trace-file FILE        write the trace there instead of stderr
  --trace-range LO-HI      trace only pcs (mmu: virtual addresses) in LO..HI (hex)
  -m, --mem SIZE           RAM size: bytes, or with a K, M or G suffix (default 128M;
                           a multiple of 4K, 1M..${sizeText(MEM_MAX)} with --bare, 1M..${sizeText(vmMemSizeLimit())} for a VM)
  --disk FILE[,ro]         a raw disk image as a virtio-blk device (virtio-mmio slot 0,
                           0x10001000); ,ro attaches it read-only
  --net socket,listen=HOST:PORT | socket,connect=HOST:PORT [,mac=52:54:00:12:34:56]
                           a virtio-net device (slot 1) linked over TCP to another wasmvisor
                           or a QEMU -netdev socket (4-byte big-endian length per frame)
  --virtio-console         a virtio console (slot 2) on the terminal next to the UART (Linux
                           numbers it hvc1 when its SBI console is hvc0)
  --console-input WHERE    where typed input goes at start: uart (the default) or virtio
                           (the virtio console); Ctrl-A V switches on a terminal
  --virtio-rng             a virtio entropy device (slot 3) fed by the host's crypto
  --bios FILE              firmware (e.g. OpenSBI fw_dynamic.bin) at 0x80000000; IMAGE is its
                           payload at 0x80200000, started in S-mode
  --append CMDLINE         kernel command line (the device tree's /chosen bootargs)
  --initrd FILE            initial ramdisk, loaded at the kernel's entry + min(RAM/2, 128M) as
                           QEMU does (/chosen linux,initrd-start and linux,initrd-end)
  --dtb FILE               use this device tree blob instead of the generated one (--append
                           and --initrd set its /chosen, as QEMU does)
  --gdb tcp:HOST:PORT      a GDB stub (remote protocol) listens there (docs/debug.md)
  -s                       the same as --gdb tcp::1234 (as QEMU)
  -S                       start with the hart stopped until GDB or the monitor continues it
  --monitor DEV            the monitor (QEMU HMP style: info registers, x/FMT, stop, cont...)
                           on stdio or tcp:HOST:PORT; on a terminal it is also on Ctrl-A C
  --timeout SECONDS        stop after this much wall time
  --max-instructions N     stop after N retired instructions (or N traps: a guest whose
                           trap handler traps again retires none)
  --stats                  print execution counters (in VM mode also the VM exits) to stderr at exit
  --deterministic          derive time from retired instructions (reproducible runs)
  --jit MODE               tier 2 of the translation cache: on (hot code compiled to
                           WebAssembly, the default), off (interpreter only), always
                           (every block compiled on its first run; for tests)
  --jit-threshold N        runs of a block before its region is compiled (default 50000)
  --jit-code-limit SIZE    generated code kept before all of it is evicted (default 64M)
  --jit-max-blocks N       most blocks compiled into one region (1..64, default 8)
  --save-on-exit FILE      save a snapshot to FILE when the run ends (--timeout,
                           --max-instructions, Ctrl-A X; not when the guest exits itself)
  --restore FILE           continue from snapshot FILE (taken with the same IMAGE and
                           options; docs/snapshot.md)
  --snapshot-file FILE     where Ctrl-A S saves a snapshot (default wasmvisor-snapshot.wvsnap)
  QEMU's spellings work too: -kernel IMAGE, -m SIZE, -append, -initrd, -dtb; -nographic is
  accepted and changes nothing (the console is always stdin/stdout)

${MIGRATE_HELP}
lab runs IMAGE as a VM under every virtualization technique this build has (--virt and
--paging combinations), checks that their console outputs are identical and prints a table
of what each cost (docs/techniques.md, "The lab"; wasmvisor lab --help).

xl create runs one Xen DomU from an xl.cfg file in the foreground with its console attached;
up runs Dom0 with the DomUs a HOST.cfg lists, each console line prefixed with its domain's
name, and exits 0 only if every DomU powered off with exit code 0 (docs/xen/xl.md). Under
both, Ctrl-A L lists the domains, Ctrl-A 1..9 moves console input, Ctrl-A P pauses or
unpauses, Ctrl-A D destroys that domain, Ctrl-A C switches to the Dom0's monitor.
From another terminal, xl list, pause, unpause, destroy and console act on the running
Dom0 (DOM: a domain name or id); with several running, WASMVISOR_DOM0=PID picks one.
xl console shows the domain's recent and new output and sends it your typing; Ctrl-]
detaches. These exit 1 when there is no such Dom0 or domain. The Dom0's monitor (Ctrl-A C,
or --monitor tcp:HOST:PORT) takes xl list, pause, unpause and destroy, and quit.
xl save writes the domain's whole state to FILE and destroys it; xl restore runs it on from
FILE under a new domid (a refused file: one line, exit 2); xl migrate moves it live to a Dom0
started with up --incoming tcp:HOST:PORT (port 0: any; default PORT 8002): pre-copy, or with
--migrate-mode postcopy|hybrid; run's --migrate-precopy-rounds, -max-rounds, -downtime,
-bandwidth and --plot apply (docs/xen/xl.md).
up --wait keeps Dom0 running with no domain, until Ctrl-A X, --timeout or a signal.

console: guest output goes to stdout; keys go to the guest's UART. On a terminal,
  Ctrl-A X quits, Ctrl-A S saves a snapshot, Ctrl-A C switches to the monitor, Ctrl-A V switches
  input between the UART and the virtio console, Ctrl-A H shows help, Ctrl-A Ctrl-A sends Ctrl-A.

exit status: the guest's exit code (test finisher or HTIF); 0 after Ctrl-A X;
  124 after --timeout; 125 after --max-instructions; 141 when stdout's reader goes away;
  2 for bad input; 70 for an internal error.
`;

/**
 * Parse a memory size: plain bytes, or a number with suffix K, M or G (powers of 1024,
 * case-insensitive, an optional trailing B or iB as in "128MiB"). The result must be a multiple
 * of 4 KiB within [MEM_MIN, MEM_MAX].
 */
export function parseSize(text: string, option = '--mem'): number {
  const m = /^(\d+)(?:([kmg])(?:i?b)?)?$/i.exec(text.trim());
  if (!m) throw new UserError(`wasmvisor: ${option}: bad size '${text}' (expected e.g. 128M, 1G)`);
  const shift = { '': 0, k: 10, m: 20, g: 30 }[(m[2] ?? '').toLowerCase()] as number;
  const bytes = BigInt(m[1]) << BigInt(shift);
  if (bytes < BigInt(MEM_MIN)) {
    const hint = m[2] === undefined ? `; plain numbers are bytes, write ${text}M for MiB` : '';
    throw new UserError(`wasmvisor: ${option}: ${text} is below the minimum of 1M${hint}`);
  }
  if (bytes > BigInt(MEM_MAX)) {
    throw new UserError(`wasmvisor: ${option}: ${text} is above the maximum of ${sizeText(MEM_MAX)}`);
  }
  if (bytes % 4096n !== 0n) {
    throw new UserError(`wasmvisor: ${option}: ${text} is not a multiple of 4K`);
  }
  return Number(bytes);
}

function parseTimeout(text: string): string {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text) || !(Number(text) > 0)) {
    throw new UserError(`wasmvisor: --timeout: bad value '${text}' (expected seconds > 0, e.g. 10 or 0.5)`);
  }
  return text;
}

function parseCount(text: string, option: string): bigint {
  if (!/^\d+$/.test(text) || BigInt(text) === 0n) {
    throw new UserError(`wasmvisor: ${option}: bad value '${text}' (expected a positive integer)`);
  }
  return BigInt(text);
}

function parsePaging(text: string): 'nested' | 'shadow' {
  if (text === 'nested' || text === 'shadow') return text;
  throw new UserError(`wasmvisor: --paging: unknown mode '${text}' (expected nested or shadow)`);
}

function parseVirt(text: string): 'hw' | 'trap' | 'bt' | 'pv' {
  if (text === 'hw' || text === 'trap' || text === 'bt' || text === 'pv') return text;
  throw new UserError(`wasmvisor: --virt: unknown mode '${text}' (expected hw, trap, bt or pv)`);
}

/** --disk FILE[,ro]: the image path and whether it is read-only. */
function parseDisk(text: string): { path: string; readOnly: boolean } {
  const readOnly = text.endsWith(',ro');
  const path = readOnly ? text.slice(0, -3) : text;
  if (path === '') throw new UserError(`wasmvisor: --disk: missing FILE in '${text}' (expected FILE or FILE,ro)`);
  return { path, readOnly };
}

function parseJit(text: string): 'off' | 'on' | 'always' {
  if (text === 'off' || text === 'on' || text === 'always') return text;
  throw new UserError(`wasmvisor: --jit: unknown mode '${text}' (expected off, on or always)`);
}

/** A positive integer option no larger than `max`. */
function parseBounded(text: string, name: string, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new UserError(`wasmvisor: ${name}: '${text}' is not a whole number from 1 to ${max}`);
  }
  return Number(text);
}

/** --jit-code-limit: bytes with an optional K, M or G suffix, 64K..1G. */
function parseCodeLimit(text: string): number {
  const m = /^([0-9]+)([KMG]?)$/i.exec(text);
  const n = m ? Number(m[1]) * ({ '': 1, K: 1024, M: 1 << 20, G: 1 << 30 } as Record<string, number>)[m[2].toUpperCase()] : NaN;
  if (!(n >= 64 * 1024 && n <= 1 << 30)) throw new UserError(`wasmvisor: --jit-code-limit: '${text}' is not a size from 64K to 1G`);
  return n;
}

function parseTrace(text: string): Set<TraceKind> {
  const kinds = parseTraceKinds(text);
  if (typeof kinds === 'string') throw new UserError(`wasmvisor: --trace: ${kinds}`);
  return kinds;
}

/** Options of `run` that take a value, with their canonical names. */
const VALUE_OPTIONS: Record<string, string> = {
  '--mem': '--mem',
  '-m': '--mem',
  '--bios': '--bios',
  '--timeout': '--timeout',
  '--max-instructions': '--max-instructions',
  '--paging': '--paging',
  '--virt': '--virt',
  '--trace': '--trace',
  '--disk': '--disk',
  '--net': '--net',
  '--console-input': '--console-input',
  '--append': '--append',
  '--initrd': '--initrd',
  '--dtb': '--dtb',
  '--jit': '--jit',
  '--jit-threshold': '--jit-threshold',
  '--jit-code-limit': '--jit-code-limit',
  '--jit-max-blocks': '--jit-max-blocks',
  '--save-on-exit': '--save-on-exit',
  '--restore': '--restore',
  '--snapshot-file': '--snapshot-file',
  '--gdb': '--gdb',
  '--trace-file': '--trace-file',
  '--trace-range': '--trace-range',
  '--monitor': '--monitor',
  // QEMU's spellings of the same options (qemu-system-riscv64 -m 256M -kernel K -append ... -initrd I).
  '-kernel': '-kernel',
  '-append': '--append',
  '-initrd': '--initrd',
  '-dtb': '--dtb',
  ...Object.fromEntries(MIGRATE_OPTIONS.map((n) => [n, n])),
};

/** Parse `argv` (without node and the script). Throws UserError on any mistake. */
export function parseArgs(argv: string[]): Command {
  if (argv.length === 0) throw new UserError(`wasmvisor: missing command (usage: wasmvisor run --bare IMAGE; see wasmvisor --help)`);
  const [cmd, ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') return rest[0] !== undefined ? { kind: 'help', command: rest[0] } : { kind: 'help' };
  if (cmd === '--version' || cmd === '-V') return { kind: 'version' };
  if (cmd.startsWith('-')) throw new UserError(`wasmvisor: unknown option '${cmd}' (see wasmvisor --help)`);
  // -- xl toolstack --
  if (cmd === 'xl') return { kind: 'xl', args: rest };
  if (cmd === 'up') return { kind: 'up', args: rest };
  if (cmd === 'lab') return { kind: 'lab', args: rest };
  // -- end xl toolstack --
  if (cmd !== 'run') throw new UserError(`wasmvisor: unknown command '${cmd}' (expected run; see wasmvisor --help)`);

  const o: RunOptions = { image: '', bare: false, memSize: MEM_DEFAULT, stats: false, deterministic: false };
  let image: string | undefined;
  let memText: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    let arg = rest[i];
    if (arg === '--') {
      // everything after -- is positional
      for (const a of rest.slice(i + 1)) image = positional(image, a);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      image = positional(image, arg);
      continue;
    }
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const name = VALUE_OPTIONS[arg];
    if (name !== undefined) {
      if (value === undefined) {
        if (i + 1 >= rest.length) throw new UserError(`wasmvisor: ${name} needs a value (see wasmvisor --help)`);
        value = rest[++i];
      }
      if (name === '-kernel') image = positional(image, value);
      else if (name === '--mem') {
        o.memSize = parseSize(value);
        memText = value;
      }
      else if (name === '--bios') o.bios = value;
      else if (name === '--append') o.append = value;
      else if (name === '--initrd') o.initrd = value;
      else if (name === '--dtb') o.dtb = value;
      else if (name === '--save-on-exit') o.saveOnExit = value;
      else if (name === '--restore') o.restore = value;
      else if (name === '--snapshot-file') o.snapshotFile = value;
      else if (MIGRATE_OPTIONS.includes(name)) parseMigrateOption((o.migrate ??= defaultMigrateOptions()), name, value);
      else if (name === '--timeout') o.timeout = parseTimeout(value);
      else if (name === '--paging') o.paging = parsePaging(value);
      else if (name === '--virt') o.virt = parseVirt(value);
      else if (name === '--trace') {
        o.trace = parseTrace(value);
        if (o.trace.has('exits')) o.traceExits = true;
      }
      else if (name === '--trace-file') o.traceFile = value;
      else if (name === '--trace-range') {
        o.traceRange = parseTraceRange(value);
        if (!o.traceRange) throw new UserError(`wasmvisor: --trace-range: bad value '${value}' (expected LO-HI in hex, e.g. 80000000-80000fff)`);
      }
      else if (name === '--jit') o.jit = parseJit(value);
      else if (name === '--jit-threshold') o.jitThreshold = parseBounded(value, name, 1 << 30);
      else if (name === '--jit-code-limit') o.jitCodeLimit = parseCodeLimit(value);
      else if (name === '--jit-max-blocks') o.jitMaxBlocks = parseBounded(value, name, 64);
      else if (name === '--gdb') o.gdb = parseChardev(value, name, false);
      else if (name === '--monitor') o.monitor = parseChardev(value, name, true);
      else if (name === '--disk') {
        if (o.disk !== undefined) throw new UserError(`wasmvisor: --disk given twice (one disk only so far)`);
        o.disk = parseDisk(value);
      }
      else if (name === '--console-input') {
        if (value !== 'uart' && value !== 'virtio') throw new UserError(`wasmvisor: --console-input: unknown console '${value}' (expected uart or virtio)`);
        o.consoleInput = value;
      }
      else if (name === '--net') {
        if (o.net !== undefined) throw new UserError(`wasmvisor: --net given twice (one network device only so far)`);
        o.net = parseNetOption(value);
      }
      else o.maxInstructions = parseCount(value, name);
      continue;
    }
    if (value !== undefined) throw new UserError(`wasmvisor: option '${arg}' takes no value`);
    switch (arg) {
      case '--bare': o.bare = true; break;
      case '--stats': o.stats = true; break;
      case '--deterministic': o.deterministic = true; break;
      case '-s': o.gdb = 'tcp::1234'; break;
      case '-S': o.startStopped = true; break;
      case '--virtio-console': o.virtioConsole = true; break;
      case '--virtio-rng': o.virtioRng = true; break;
      case '--help': case '-h': return { kind: 'help', command: 'run' };
      case '-nographic': break; // QEMU's: wasmvisor has no display, the console is always stdio
      default: throw new UserError(`wasmvisor: unknown option '${arg}' (see wasmvisor --help)`);
    }
  }
  if (image === undefined) throw new UserError(`wasmvisor: run: missing IMAGE (usage: wasmvisor run --bare IMAGE [options])`);
  o.image = image;
  if (o.bare && o.paging !== undefined) throw new UserError(`wasmvisor: --paging applies to VM mode only (drop --bare)`);
  if (o.bare && o.virt !== undefined) throw new UserError(`wasmvisor: --virt applies to VM mode only (drop --bare)`);
  if (o.virt !== undefined && o.virt !== 'hw' && o.paging === 'nested') throw new UserError(`wasmvisor: --paging nested needs the H extension (--virt hw); --virt ${o.virt} uses --paging shadow`);
  if (o.bare && o.traceExits) throw new UserError(`wasmvisor: --trace exits applies to VM mode only (drop --bare)`);
  if (o.bare && o.trace?.has('sbi')) throw new UserError(`wasmvisor: --trace sbi applies to VM mode only (on the bare machine, --trace int shows the ecalls)`);
  if (o.consoleInput === 'virtio' && !o.virtioConsole) throw new UserError(`wasmvisor: --console-input virtio needs --virtio-console`);
  if (!o.bare && o.bios !== undefined) throw new UserError(`wasmvisor: --bios needs --bare (in VM mode the VMM itself answers SBI calls)`);
  if (!o.bare && o.memSize > vmMemSizeLimit()) {
    // The VMM's host RAM holds the guest's pages and its G-stage tables (vm.ts hostRamSize).
    throw new UserError(`wasmvisor: --mem: ${memText} is above the maximum of ${sizeText(vmMemSizeLimit())} for a VM (--bare allows ${sizeText(MEM_MAX)})`);
  }
  if (o.migrate) checkMigrateOptions(o.migrate, o.restore);
  return { kind: 'run', options: o };
}

/** --gdb / --monitor: tcp:HOST:PORT or tcp::PORT (and stdio for the monitor), as QEMU's chardevs. */
function parseChardev(text: string, name: string, stdio: boolean): string {
  if (stdio && text === 'stdio') return text;
  const m = /^tcp:[^:]*:(\d+)$/.exec(text);
  if (!m || Number(m[1]) > 65535) throw new UserError(`wasmvisor: ${name}: bad value '${text}' (expected ${stdio ? 'stdio, ' : ''}tcp:HOST:PORT or tcp::PORT)`);
  return text;
}

function positional(image: string | undefined, arg: string): string {
  if (image !== undefined) throw new UserError(`wasmvisor: run: unexpected argument '${arg}' (one IMAGE only; options start with --)`);
  return arg;
}
