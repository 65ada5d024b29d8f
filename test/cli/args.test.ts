import { describe, expect, it } from 'vitest';
import { parseArgs, parseSize, MEM_DEFAULT, type RunOptions } from '../../host/cli/args';
import { UserError } from '../../host/errors';

function run(argv: string[]): RunOptions {
  const c = parseArgs(argv);
  if (c.kind !== 'run') throw new Error(`expected run, got ${c.kind}`);
  return c.options;
}

function fails(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

describe('parseSize', () => {
  it('accepts suffixes K, M, G (powers of 1024, any case, optional B/iB) and plain bytes', () => {
    expect(parseSize('128M')).toBe(128 * 2 ** 20);
    expect(parseSize('1G')).toBe(2 ** 30);
    expect(parseSize('2g')).toBe(2 ** 31);
    expect(parseSize('65536K')).toBe(2 ** 26);
    expect(parseSize('64MiB')).toBe(2 ** 26);
    expect(parseSize('16mb')).toBe(2 ** 24);
    expect(parseSize('1048576')).toBe(2 ** 20);
  });
  it('rejects malformed sizes with the value', () => {
    expect(fails(() => parseSize('abc'))).toBe("wasmvisor: --mem: bad size 'abc' (expected e.g. 128M, 1G)");
    expect(fails(() => parseSize('12T'))).toBe("wasmvisor: --mem: bad size '12T' (expected e.g. 128M, 1G)");
    expect(fails(() => parseSize('-1M'))).toBe("wasmvisor: --mem: bad size '-1M' (expected e.g. 128M, 1G)");
    expect(fails(() => parseSize('1.5G'))).toBe("wasmvisor: --mem: bad size '1.5G' (expected e.g. 128M, 1G)");
    expect(fails(() => parseSize(''))).toBe("wasmvisor: --mem: bad size '' (expected e.g. 128M, 1G)");
  });
  it('rejects sizes out of range or not a multiple of 4 KiB', () => {
    expect(fails(() => parseSize('1025K'))).toBe('wasmvisor: --mem: 1025K is not a multiple of 4K');
    expect(fails(() => parseSize('1048577'))).toBe('wasmvisor: --mem: 1048577 is not a multiple of 4K');
    expect(fails(() => parseSize('1020K'))).toBe('wasmvisor: --mem: 1020K is below the minimum of 1M');
    expect(fails(() => parseSize('128'))).toBe(
      'wasmvisor: --mem: 128 is below the minimum of 1M; plain numbers are bytes, write 128M for MiB',
    );
    expect(fails(() => parseSize('4033M'))).toBe('wasmvisor: --mem: 4033M is above the maximum of 4032M');
    expect(fails(() => parseSize('99999999999999999999G'))).toBe(
      'wasmvisor: --mem: 99999999999999999999G is above the maximum of 4032M',
    );
  });
});

describe('parseArgs', () => {
  it('parses run with every option, in both --opt value and --opt=value forms', () => {
    expect(
      run(['run', '--bare', 'k.elf', '--mem', '256M', '--bios', 'fw.bin', '--timeout', '2.5',
        '--max-instructions', '1000', '--stats', '--deterministic']),
    ).toEqual({
      image: 'k.elf', bare: true, memSize: 256 << 20, bios: 'fw.bin', timeout: '2.5',
      maxInstructions: 1000n, stats: true, deterministic: true,
    });
    expect(run(['run', '--mem=1G', '-m', '64M', '--bare', '--', '-odd-name'])).toEqual({
      image: '-odd-name', bare: true, memSize: 64 << 20, stats: false, deterministic: false,
    });
  });
  it('defaults to 128 MiB, no limits, VM mode', () => {
    expect(run(['run', 'k.elf'])).toEqual({
      image: 'k.elf', bare: false, memSize: MEM_DEFAULT, stats: false, deterministic: false,
    });
    expect(MEM_DEFAULT).toBe(128 << 20);
  });
  it('knows --help and --version', () => {
    expect(parseArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['-h'])).toEqual({ kind: 'help' });
    expect(parseArgs(['run', '--bare', '--help'])).toEqual({ kind: 'help', command: 'run' });
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
  });
  it('rejects mistakes with one line naming the option or value', () => {
    expect(fails(() => parseArgs([]))).toBe(
      'wasmvisor: missing command (usage: wasmvisor run --bare IMAGE; see wasmvisor --help)',
    );
    expect(fails(() => parseArgs(['boot']))).toBe(
      "wasmvisor: unknown command 'boot' (expected run; see wasmvisor --help)",
    );
    expect(fails(() => parseArgs(['--frobnicate']))).toBe(
      "wasmvisor: unknown option '--frobnicate' (see wasmvisor --help)",
    );
    expect(fails(() => parseArgs(['run', '--bare', 'k', '--nographic']))).toBe(
      "wasmvisor: unknown option '--nographic' (see wasmvisor --help)",
    );
    expect(fails(() => parseArgs(['run', '--bare']))).toBe(
      'wasmvisor: run: missing IMAGE (usage: wasmvisor run --bare IMAGE [options])',
    );
    expect(fails(() => parseArgs(['run', 'a', 'b']))).toBe(
      "wasmvisor: run: unexpected argument 'b' (one IMAGE only; options start with --)",
    );
    expect(fails(() => parseArgs(['run', 'k', '--mem']))).toBe('wasmvisor: --mem needs a value (see wasmvisor --help)');
    expect(fails(() => parseArgs(['run', 'k', '--stats=1']))).toBe("wasmvisor: option '--stats' takes no value");
    expect(fails(() => parseArgs(['run', 'k', '--timeout', '0']))).toBe(
      "wasmvisor: --timeout: bad value '0' (expected seconds > 0, e.g. 10 or 0.5)",
    );
    expect(fails(() => parseArgs(['run', 'k', '--timeout', '5s']))).toBe(
      "wasmvisor: --timeout: bad value '5s' (expected seconds > 0, e.g. 10 or 0.5)",
    );
    expect(fails(() => parseArgs(['run', 'k', '--max-instructions', '1e6']))).toBe(
      "wasmvisor: --max-instructions: bad value '1e6' (expected a positive integer)",
    );
    expect(fails(() => parseArgs(['run', 'k', '--max-instructions=0']))).toBe(
      "wasmvisor: --max-instructions: bad value '0' (expected a positive integer)",
    );
  });
});

describe('virtio device options (issue 12)', () => {
  it('--disk in VM mode, --net, --virtio-console and --virtio-rng in both modes', () => {
    const o = run(['run', '--disk', 'd.img,ro', '--net', 'socket,connect=127.0.0.1:5555,mac=52:54:00:12:34:57', '--virtio-console', '--virtio-rng', 'k']);
    expect(o.bare).toBe(false);
    expect(o.disk).toEqual({ path: 'd.img', readOnly: true });
    expect(o.net).toEqual({ endpoint: { mode: 'connect', host: '127.0.0.1', port: 5555 }, mac: Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x57) });
    expect([o.virtioConsole, o.virtioRng, o.consoleInput]).toEqual([true, true, undefined]);
    expect(run(['run', '--virtio-console', '--console-input', 'virtio', 'k']).consoleInput).toBe('virtio');
    const b = run(['run', '--bare', '--net=socket,listen=:5556', 'k']);
    expect(b.net).toEqual({ endpoint: { mode: 'listen', host: '0.0.0.0', port: 5556 }, mac: undefined });
    expect([b.virtioConsole, b.virtioRng]).toEqual([undefined, undefined]);
  });
  it('mistakes are one line, exit 2', () => {
    expect(fails(() => run(['run', '--net', 'socket,listen=:1', '--net', 'socket,listen=:2', 'k']))).toBe('wasmvisor: --net given twice (one network device only so far)');
    expect(fails(() => run(['run', '--net', 'tap', 'k']))).toBe(
      "wasmvisor: --net: unknown backend 'tap' in 'tap' (expected socket,listen=HOST:PORT or socket,connect=HOST:PORT[,mac=52:54:00:12:34:56])");
    expect(fails(() => run(['run', 'k', '--net']))).toBe('wasmvisor: --net needs a value (see wasmvisor --help)');
    expect(fails(() => run(['run', '--virtio-rng=yes', 'k']))).toBe("wasmvisor: option '--virtio-rng' takes no value");
    expect(fails(() => run(['run', '--console-input', 'hvc0', 'k']))).toBe("wasmvisor: --console-input: unknown console 'hvc0' (expected uart or virtio)");
    expect(fails(() => run(['run', '--console-input', 'virtio', 'k']))).toBe('wasmvisor: --console-input virtio needs --virtio-console');
  });
});
