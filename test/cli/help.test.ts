// `wasmvisor help COMMAND` / `COMMAND --help`, QEMU's option spellings, and the --bare hint for an
// M-mode image run as a VM: the exact lines and exit codes of bin/wasmvisor.mjs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseArgs, USAGE } from '../../host/cli/args';
import { LAB_USAGE } from '../../host/lab/run';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const MINIKERNEL = 'guests/bin/minikernel/minikernel.elf';

function wasmvisor(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, input: '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('help per command', () => {
  it('help run and run --help print the same text: run synopsis, its options, console keys, exit status', () => {
    const a = wasmvisor(['help', 'run']);
    const b = wasmvisor(['run', '--help']);
    expect(a.status).toBe(0);
    expect(a.stderr).toBe('');
    expect(b).toEqual(a);
    const lines = a.stdout.split('\n');
    expect(lines[0]).toBe('usage: wasmvisor run [--bare] IMAGE [options]');
    expect(lines[1]).toBe('');
    expect(lines[2]).toBe('Run a RISC-V (RV64IMAC) guest on a QEMU virt-compatible board.');
    expect(lines).toContain('options of run:');
    expect(lines.some((l) => l.startsWith('  --jit-max-blocks N '))).toBe(true);
    expect(lines.some((l) => l.startsWith('  QEMU\'s spellings work too: -kernel IMAGE, -m SIZE'))).toBe(true);
    expect(a.stdout).not.toContain('xl create runs');
    expect(a.stdout).toMatch(/\nexit status: the guest's exit code[^]*70 for an internal error\.\n$/);
    expect(a.stdout.length).toBeLessThan(USAGE.length);
  }, 60_000);

  it('help xl and xl --help: the xl synopsis lines and the toolstack paragraph only', () => {
    const a = wasmvisor(['help', 'xl']);
    expect(a.status).toBe(0);
    expect(wasmvisor(['xl', '--help'])).toEqual(a);
    expect(a.stdout.split('\n').slice(0, 5)).toEqual([
      'usage: wasmvisor xl create DOMU.cfg [--timeout S] [--deterministic] [--stats] [--jit MODE] [--monitor tcp:HOST:PORT]',
      '       wasmvisor xl list [DOM...] | xl pause DOM | xl unpause DOM | xl destroy DOM | xl rename DOM NEWNAME',
      '       wasmvisor xl console DOM',
      '       wasmvisor xl save DOM FILE | xl restore [-p] FILE | xl migrate [--migrate-*] DOM HOST[:PORT]',
      '',
    ]);
    expect(a.stdout).toContain('\nxl create runs one Xen DomU from an xl.cfg file');
    expect(a.stdout).not.toContain('--jit-threshold');
  }, 60_000);

  it('help up and up --help start with the up synopsis', () => {
    const a = wasmvisor(['help', 'up']);
    expect(a.status).toBe(0);
    expect(wasmvisor(['up', '--help'])).toEqual(a);
    expect(a.stdout.split('\n').slice(0, 3)).toEqual([
      'usage: wasmvisor up HOST.cfg [--timeout S] [--deterministic] [--stats] [--jit MODE] [--monitor tcp:HOST:PORT]',
      '       wasmvisor up [HOST.cfg] --incoming tcp:HOST:PORT | up [HOST.cfg] --wait',
      '',
    ]);
  }, 60_000);

  it('help lab and lab --help print the lab usage', () => {
    const a = wasmvisor(['help', 'lab']);
    expect(a).toEqual({ status: 0, stdout: LAB_USAGE, stderr: '' });
    expect(wasmvisor(['lab', '--help'])).toEqual(a);
  }, 60_000);

  it('help of an unknown command: one line, exit 2; --help alone: the whole usage', () => {
    expect(wasmvisor(['help', 'nope'])).toEqual({ status: 2, stdout: '', stderr: "wasmvisor: help: unknown command 'nope' (expected run, xl, up, lab)\n" });
    expect(wasmvisor(['--help'])).toEqual({ status: 0, stdout: USAGE, stderr: '' });
  }, 60_000);
});

describe("QEMU's spellings", () => {
  it('-kernel, -m, -append, -initrd, -dtb and -nographic mean IMAGE, --mem, --append, --initrd, --dtb and nothing', () => {
    expect(parseArgs(['run', '-nographic', '-kernel', 'k.elf', '-m', '64M', '-append', 'console=ttyS0 quiet', '-initrd', 'i.cpio', '-dtb', 'b.dtb']))
      .toEqual(parseArgs(['run', 'k.elf', '--mem', '64M', '--append', 'console=ttyS0 quiet', '--initrd', 'i.cpio', '--dtb', 'b.dtb']));
    expect(() => parseArgs(['run', '-kernel', 'a.elf', 'b.elf'])).toThrow("wasmvisor: run: unexpected argument 'b.elf' (one IMAGE only; options start with --)");
    expect(() => parseArgs(['run', '-kernel'])).toThrow('wasmvisor: -kernel needs a value (see wasmvisor --help)');
  });

  it('qemu-style command line boots minikernel as a VM', () => {
    const r = wasmvisor(['run', '-nographic', '-m', '128M', '-kernel', MINIKERNEL, '--deterministic']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(readFileSync(join(ROOT, 'guests/expected/minikernel/minikernel.txt'), 'utf8'));
    expect(r.status).toBe(0);
  }, 60_000);
});

describe('run of an M-mode image without --bare', () => {
  it('stops before running, with exit 2 and a line that names the evidence and suggests --bare', () => {
    expect(wasmvisor(['run', 'guests/bin/demo/hello.elf'])).toEqual({
      status: 2, stdout: '',
      stderr: 'wasmvisor: guests/bin/demo/hello.elf: an M-mode program (an access to mtvec at 0x8000001a), not an S-mode kernel: run it on the bare machine with --bare\n',
    });
    const bare = wasmvisor(['run', '--bare', 'guests/bin/demo/hello.elf']);
    expect(bare.status).toBe(0);
    expect(bare.stdout).toBe(readFileSync(join(ROOT, 'guests/expected/demo/hello.txt'), 'utf8'));
  }, 60_000);
});
