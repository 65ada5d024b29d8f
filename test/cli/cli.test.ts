/**
 * The built `wasmvisor` command, run as a user runs it: `node bin/wasmvisor.mjs ...` in a child
 * process. Bad input must give exactly one line on stderr (no stack trace) and exit code 2.
 * Needs dist/cli.mjs (`npm run build`; `npm test` builds first).
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildElf } from '../host/elf-writer';
import { runQemu } from '../diff/qemu';
import { OPENSBI, oracle } from '../oracles';
import { finisherFail, finisherGuest, sbiHelloPayload, spinGuest } from './guests';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const haveOpensbi = oracle('opensbi', 'test/cli/cli.test.ts');
const haveQemu = oracle('qemu', 'test/cli/cli.test.ts');
const HELLO = join(ROOT, 'guests/bin/demo/hello.elf');
const ECHO = join(ROOT, 'guests/bin/demo/echo.elf');
const haveCore = existsSync(join(ROOT, 'host/machine/machine.ts'));
const haveScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `npm run build` first');
});

function wasmvisor(args: string[], input?: string | Uint8Array, timeoutMs = 30_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    input: input ?? '',
    encoding: 'latin1',
    timeout: timeoutMs,
    env: { ...process.env, WASMVISOR_DEBUG: '' },
  });
}

/** Write a file in the temp dir and return its path. */
function file(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** Assert the command failed on bad input: exactly `message` on stderr, nothing on stdout, exit 2. */
function expectUsageError(r: SpawnSyncReturns<string>, message: string): void {
  expect(r.error).toBeUndefined();
  expect(r.stderr).toBe(message + '\n');
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
  expect(r.stdout).toBe('');
  expect(r.status).toBe(2);
}

/** A 52-byte ELF32 RISC-V header (class 1): the loader must refuse it by its class. */
function elf32Header(): Uint8Array {
  const b = new Uint8Array(52);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); // magic, ELFCLASS32, little-endian, EV_CURRENT
  const v = new DataView(b.buffer);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 243, true); // EM_RISCV
  v.setUint32(20, 1, true);
  v.setUint32(24, 0x80000000, true); // e_entry
  v.setUint16(40, 52, true); // e_ehsize
  return b;
}

describe('wasmvisor command line: help and version', () => {
  it('--help prints the usage on stdout and exits 0', () => {
    const r = wasmvisor(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('usage: wasmvisor run [--bare] IMAGE [options]');
    expect(r.stdout).toContain('124 after --timeout; 125 after --max-instructions');
    expect(r.stderr).toBe('');
  });
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = wasmvisor(['--version']);
    expect([r.stdout, r.stderr, r.status]).toEqual([`wasmvisor ${version}\n`, '', 0]);
  });
  it('says how to build when dist/ is missing', () => {
    const fake = join(dir, 'unbuilt');
    mkdirSync(join(fake, 'bin'), { recursive: true });
    // bin/wasmvisor.cjs is the shim (package.json's bin); bin/wasmvisor.mjs imports it
    for (const f of ['wasmvisor.mjs', 'wasmvisor.cjs']) copyFileSync(join(dirname(BIN), f), join(fake, 'bin', f));
    for (const f of ['wasmvisor.mjs', 'wasmvisor.cjs']) {
      const r = spawnSync(process.execPath, [join(fake, 'bin', f), '--help'], { encoding: 'utf8', timeout: 30_000 });
      expect([f, r.stderr, r.status]).toEqual([f, 'wasmvisor: not built: run `npm run build`\n', 2]);
    }
  });
});

describe('wasmvisor command line: bad input is one line and exit code 2', () => {
  it('missing command, unknown command, unknown option', () => {
    expectUsageError(wasmvisor([]), 'wasmvisor: missing command (usage: wasmvisor run --bare IMAGE; see wasmvisor --help)');
    expectUsageError(wasmvisor(['boot', 'x']), "wasmvisor: unknown command 'boot' (expected run; see wasmvisor --help)");
    expectUsageError(wasmvisor(['run', '--bare', '--frobnicate', 'k.elf']), "wasmvisor: unknown option '--frobnicate' (see wasmvisor --help)");
    expectUsageError(wasmvisor(['run', '--bare']), 'wasmvisor: run: missing IMAGE (usage: wasmvisor run --bare IMAGE [options])');
  });
  it('VM mode: nested paging needs --virt hw; VM-only options need VM mode', () => {
    expectUsageError(wasmvisor(['run', '--virt', 'pv', '--paging', 'nested', HELLO]), 'wasmvisor: --paging nested needs the H extension (--virt hw); --virt pv uses --paging shadow');
    expectUsageError(wasmvisor(['run', '--bare', '--trace', 'exits', HELLO]), 'wasmvisor: --trace exits applies to VM mode only (drop --bare)');
  });
  it('bad --mem values name the value', () => {
    expectUsageError(wasmvisor(['run', '--bare', '--mem', 'abc', 'k.elf']), "wasmvisor: --mem: bad size 'abc' (expected e.g. 128M, 1G)");
    expectUsageError(wasmvisor(['run', '--bare', '-m', '4G', 'k.elf']), 'wasmvisor: --mem: 4G is above the maximum of 4032M');
    expectUsageError(wasmvisor(['run', '--bare', '--mem=512K', 'k.elf']), 'wasmvisor: --mem: 512K is below the minimum of 1M');
    expectUsageError(wasmvisor(['run', '--bare', '--mem', '1049600', 'k.elf']), 'wasmvisor: --mem: 1049600 is not a multiple of 4K');
  });
  it('bad limits', () => {
    expectUsageError(wasmvisor(['run', '--bare', '--timeout', 'soon', 'k.elf']), "wasmvisor: --timeout: bad value 'soon' (expected seconds > 0, e.g. 10 or 0.5)");
    expectUsageError(wasmvisor(['run', '--bare', '--max-instructions', '-5', 'k.elf']), "wasmvisor: --max-instructions: bad value '-5' (expected a positive integer)");
  });
  it('missing image file and missing --bios file', () => {
    const missing = join(dir, 'nope.elf');
    expectUsageError(wasmvisor(['run', '--bare', missing]), `${missing}: no such file`);
    expectUsageError(wasmvisor(['run', '--bare', '--bios', missing, HELLO]), `${missing}: no such file`);
  });
  it('a zero-length image', () => {
    const p = file('empty.bin', new Uint8Array());
    expectUsageError(wasmvisor(['run', '--bare', p]), `${p}: empty file`);
  });
  it.skipIf(!existsSync('/bin/true'))('an x86-64 ELF (/bin/true)', () => {
    expectUsageError(wasmvisor(['run', '--bare', '/bin/true']), '/bin/true: ELF machine is x86-64 (62), expected RISC-V (243)');
  });
  it('a 32-bit ELF', () => {
    const p = file('rv32.elf', elf32Header());
    expectUsageError(wasmvisor(['run', '--bare', p]), `${p}: ELF class is ELF32 (1), expected ELF64 (2)`);
  });
  it('a segment outside RAM, above and below, naming the segment', () => {
    const code = new Uint8Array([0x6f, 0, 0, 0]);
    const high = file('high.elf', buildElf({ entry: 0x88000000n, segments: [{ paddr: 0x88000000n, data: code }] }).bytes);
    expectUsageError(wasmvisor(['run', '--bare', high]), `${high}: segment at 0x88000000 (size 0x4) is outside RAM 0x80000000-0x87ffffff`);
    // the same file fits with more RAM: the check follows --mem
    const low = file('low.elf', buildElf({ entry: 0x1000n, segments: [{ paddr: 0x1000n, data: code }] }).bytes);
    expectUsageError(wasmvisor(['run', '--bare', '--mem', '1G', low]), `${low}: segment at 0x1000 (size 0x4) is outside RAM 0x80000000-0xbfffffff`);
  });
  it('a payload that overlaps the --bios firmware', () => {
    const fw = file('big-fw.bin', new Uint8Array(0x300000).fill(0x13));
    const k = file('payload.bin', spinGuest());
    expectUsageError(
      wasmvisor(['run', '--bare', '--bios', fw, k]),
      `${k}: segment 0x80200000-0x80200003 overlaps the firmware ${fw} at 0x80000000-0x802fffff`,
    );
  });
});

// These need the core and host/machine/machine.ts (the lead's part).
describe.skipIf(!haveCore)('wasmvisor run: guests', () => {
  it('runs the hello demo: its output on stdout, exit code 0', () => {
    const r = wasmvisor(['run', '--bare', HELLO]);
    expect(r.stderr).toBe('');
    // the guest ends lines with CR LF itself
    expect(r.stdout).toContain('wasmvisor demo guest: hello from RV64 M-mode\r\nhartid: 0\r\n');
    expect(r.stdout).toContain('dtb magic: 0xd00dfeed (ok)\r\n');
    expect(r.stdout).toContain('first 20 primes: 2 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59 61 67 71\r\n');
    expect(r.stdout.endsWith('bye\r\n')).toBe(true);
    expect(r.status).toBe(0);
  });
  it('pipes stdin to the guest UART (not a terminal): the echo demo', () => {
    const r = wasmvisor(['run', '--bare', ECHO], readFileSync(join(ROOT, 'guests/demo/echo.in')));
    // as QEMU prints it for the same input (guests/demo/echo.c ends lines with CR LF)
    expect(r.stdout).toBe(
      'wasmvisor echo: type a line, "quit" to stop\r\n> hello wasmvisor\r\nHELLO WASMVISOR\r\n' +
        '> abc 123 xyz!\r\nABC 123 XYZ!\r\n> \r\n\r\n> quit\r\nbye\r\n',
    );
    expect([r.stderr, r.status]).toEqual(['', 0]);
  });
  it("exits with the guest's finisher code; a code with a zero low byte becomes 1", () => {
    const fail3 = file('fail3.bin', finisherGuest(finisherFail(3)));
    expect([wasmvisor(['run', '--bare', fail3]).status, wasmvisor(['run', '--bare', fail3]).stderr]).toEqual([3, '']);
    const fail256 = file('fail256.bin', finisherGuest(finisherFail(256)));
    expect(wasmvisor(['run', '--bare', fail256]).status).toBe(1);
    const pass = file('pass.bin', finisherGuest(0x5555));
    expect(wasmvisor(['run', '--bare', pass]).status).toBe(0);
  });
  it('--timeout stops a spinning guest: exit 124 and one line', () => {
    const p = file('spin.bin', spinGuest());
    const r = wasmvisor(['run', '--bare', '--timeout', '0.5', p]);
    expect(r.stderr).toMatch(new RegExp(`^wasmvisor: ${p}: timeout after 0\\.5 s \\(\\d+ instructions\\)\\n$`));
    expect(r.status).toBe(124);
  });
  it('--max-instructions stops a spinning guest: exit 125 and one line', () => {
    const p = file('spin2.bin', spinGuest());
    const r = wasmvisor(['run', '--bare', '--max-instructions', '100000', '--deterministic', p]);
    expect(r.stderr).toMatch(new RegExp(`^wasmvisor: ${p}: stopped after \\d+ instructions \\(--max-instructions 100000\\)\\n$`));
    expect(r.status).toBe(125);
  });
  it('--stats prints the counters table on stderr', () => {
    const r = wasmvisor(['run', '--bare', '--stats', '--jit', 'off', HELLO]);
    expect(r.status).toBe(0);
    const labels = r.stderr.split('\n').filter(Boolean).map((l) => l.trim().split(/\s{2,}/)[0]);
    expect(labels).toEqual([
      'wasmvisor statistics', 'instructions retired', 'wall time', 'MIPS', 'block cache hit rate',
      'blocks chained', 'TLB hit rate', 'page walks', 'jump cache hits', 'compiled code', 'compiled regions',
      'JIT evictions', 'traps', 'interrupts', 'MMIO exits', 'halt exits',
    ]);
    expect(r.stderr).toMatch(/instructions retired {2}[1-9][\d,]*\n/);
    expect(r.stderr).toContain('compiled code         0.00 % of instructions (0 entries)\n');
  }, 60_000);
  it('the guest\'s console, written in batches, comes before what the CLI writes to stderr after it (one file for both)', () => {
    const alone = wasmvisor(['run', '--bare', '--jit', 'off', HELLO]);
    expect(alone.status).toBe(0);
    expect(alone.stdout.length).toBeGreaterThan(0);
    const out = join(dir, 'both.txt');
    const fd = openSync(out, 'w');
    try {
      const r = spawnSync(process.execPath, [BIN, 'run', '--bare', '--stats', '--jit', 'off', HELLO], {
        cwd: ROOT, stdio: ['ignore', fd, fd], timeout: 30_000, env: { ...process.env, WASMVISOR_DEBUG: '' },
      });
      expect(r.status).toBe(0);
    } finally {
      closeSync(fd);
    }
    const both = readFileSync(out, 'latin1');
    expect(both.slice(0, alone.stdout.length)).toBe(alone.stdout);
    expect(both.slice(alone.stdout.length).trimStart().split('\n')[0].trim()).toBe('wasmvisor statistics');
  }, 60_000);
  it('--jit always: the same output, and --stats shows the compiled code', () => {
    const off = wasmvisor(['run', '--bare', '--jit', 'off', HELLO]);
    const r = wasmvisor(['run', '--bare', '--stats', '--jit', 'always', HELLO]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(off.stdout);
    const pct = Number(/compiled code +([\d.]+) %/.exec(r.stderr)?.[1]);
    expect(pct).toBeGreaterThan(50);
    expect(r.stderr).toMatch(/compiled regions +[1-9][\d,]* \([1-9][\d,]* blocks\), [1-9][\d,]* alive in [1-9][\d,]* KiB\n/);
    expect(r.stderr).toMatch(/TLB misses +[\d,]+ \(hit rate not measured in compiled code\)\n/);
  }, 60_000);
  it('--jit rejects a mode it does not know, and the JIT limits their out-of-range values', () => {
    for (const [args, msg] of [
      [['--jit', 'fast'], "wasmvisor: --jit: unknown mode 'fast' (expected off, on or always)\n"],
      [['--jit-max-blocks', '65'], "wasmvisor: --jit-max-blocks: '65' is not a whole number from 1 to 64\n"],
      [['--jit-threshold', '0'], "wasmvisor: --jit-threshold: '0' is not a whole number from 1 to 1073741824\n"],
      [['--jit-code-limit', '1K'], "wasmvisor: --jit-code-limit: '1K' is not a size from 64K to 1G\n"],
    ] as const) {
      const r = wasmvisor(['run', '--bare', ...args, HELLO]);
      expect([r.status, r.stderr, r.stdout]).toEqual([2, msg, '']);
    }
  });
  it.skipIf(!haveOpensbi)('--bios: OpenSBI fw_dynamic boots an S-mode payload at 0x80200000', () => {
    const k = file('sbi-hello.bin', sbiHelloPayload('payload: hello from S-mode\n'));
    const r = wasmvisor(['run', '--bare', '--bios', OPENSBI, '--timeout', '20', k]);
    expect(r.stdout).toContain('OpenSBI v');
    expect(r.stdout).toContain('Domain0 Next Address      : 0x0000000080200000');
    expect(r.stdout).toContain('Domain0 Next Mode         : S-mode');
    // OpenSBI's console turns LF into CR LF
    expect(r.stdout.endsWith('payload: hello from S-mode\r\n')).toBe(true);
    expect([r.stderr, r.status]).toEqual(['', 0]);
  }, 60_000);
  it.skipIf(!haveOpensbi || !haveQemu)('--bios: OpenSBI tells the payload what it tells it on QEMU with the same firmware', async () => {
    // QEMU with the same firmware and payload is the reference for what OpenSBI was told
    // (the rest of the banner reports hart details such as PMP bits, which may differ)
    const k = file('sbi-hello-q.bin', sbiHelloPayload('payload: hello from S-mode\n'));
    const r = wasmvisor(['run', '--bare', '--bios', OPENSBI, '--timeout', '20', k]);
    const q = await runQemu(k, { bios: OPENSBI, timeoutMs: 20_000 });
    const pick = (out: string) => out.split('\r\n').filter((l) => /^Domain0 Next|^payload:/.test(l));
    expect(pick(r.stdout)).toEqual(pick(q.stdout));
    expect(pick(r.stdout)).toHaveLength(4); // Next Address, Next Arg1 (the DTB), Next Mode, the payload line
    expect(q.exitCode).toBe(0);
  }, 60_000);
  it.skipIf(!haveScript)('on a terminal: raw keys reach the guest, Ctrl-A H helps, Ctrl-A X quits with 0 and restores the TTY', async () => {
    // util-linux script(1) gives the CLI a pseudo-terminal; we type into it step by step
    const cmd = `node bin/wasmvisor.mjs run --bare ${ECHO}; echo "EXIT=$?"; stty -a | grep -o -- '-\\?icanon'`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const waiters: { text: string; resolve: () => void }[] = [];
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      for (const w of waiters.filter((w) => out.includes(w.text))) w.resolve();
    });
    const seen = (text: string) =>
      new Promise<void>((resolve, reject) => {
        if (out.includes(text)) return resolve();
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(text)} in ${JSON.stringify(out)}`)), 20_000);
        waiters.push({ text, resolve: () => (clearTimeout(t), resolve()) });
      });
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await seen('> ');
      child.stdin.write('hi\r');
      await seen('HI');
      child.stdin.write('\x01h');
      await seen('C-a x    exit wasmvisor');
      child.stdin.write('\x01x');
      await seen('icanon');
    } finally {
      child.stdin.end();
    }
    expect(await done).toBe(0);
    expect(out).toContain('wasmvisor: terminated by Ctrl-A X');
    expect(out).toContain('EXIT=0');
    expect(out).toMatch(/EXIT=0\r?\n(?:\r?\n)*icanon/); // canonical mode is back on, not -icanon
  }, 60_000);
});
