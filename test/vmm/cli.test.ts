/**
 * VM mode through the built command (`node bin/wasmvisor.mjs run IMAGE`), as a user runs it.
 * Needs dist/cli.mjs (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../host/cli/args';
import { sbiHelloPayload } from '../cli/guests';
import * as E from '../diff/encode';
import { assemble, csrrs, putchar, shutdown, T0, T1 } from './guests';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-vmm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}
function wasmvisor(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input: '', encoding: 'utf8', timeout: 30_000 });
}

describe('wasmvisor run IMAGE (VM mode)', () => {
  it('prints through SBI and exits with SRST shutdown status 0', () => {
    const r = wasmvisor(['run', file('hello.bin', sbiHelloPayload('Hello from VS-mode\n'))]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Hello from VS-mode\r\n'); // the SBI console writes LF as CR LF, as OpenSBI
    expect(r.status).toBe(0);
  });

  it('a guest writing the UART THR directly, then the test finisher FAIL(3): status 3', () => {
    const code = assemble([
      E.lui(T0, 0x10000), E.aluI('addi', T1, 0, 0x55), E.store('sb', T1, T0, 0), // 'U'
      E.aluI('addi', T1, 0, 0x0a), E.store('sb', T1, T0, 0),
      E.lui(T0, 0x100), E.lui(T1, 0x33), E.aluI('addiw', T1, T1, 0x333), // t1 = 3 << 16 | 0x3333
      E.store('sw', T1, T0, 0), E.jal(0, 0),
    ]);
    const r = wasmvisor(['run', file('uart.bin', code)]);
    expect(r.stdout).toBe('U\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
  });

  it('--trace exits streams one line per exit; --stats prints the exit table', () => {
    const r = wasmvisor(['run', '--trace', 'exits', '--stats', file('two.bin', assemble([...putchar('a'), ...shutdown()]))]);
    expect(r.stdout).toBe('a');
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('exit 1: SBI ecall (legacy console_putchar) pc=0x80200008 cause=10 tval=0x0 htval=0x0 insn: ecall');
    expect(lines[1]).toMatch(/^exit 2: SBI ecall \(SRST system_reset\) pc=0x802000\w+ cause=10 tval=0x0 htval=0x0 insn: ecall$/);
    expect(r.stderr).toContain('wasmvisor VM exits\n');
    expect(r.stderr).toMatch(/\n {2}SBI ecall \(legacy console_putchar\) +1 +50\.00 % +[\d.]+ (ns|µs|ms)\n/);
    expect(r.stderr).toMatch(/\n {2}total +2 +100\.00 %\n/);
    expect(r.stderr).toMatch(/\n {2}guest instructions per exit +[\d.]+\n/);
    expect(r.stderr).toMatch(/\n {2}TLB misses, 2D walks +\d+ \(mean (n\/a|[\d.]+) refs per walk\)\n/);
  });

  it('a virtual instruction stops the guest with one report line and status 1', () => {
    const r = wasmvisor(['run', file('vi.bin', assemble([csrrs(10, 0x600, 0)]))]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`wasmvisor: ${join(dir, 'vi.bin')}: VM stopped: virtual instruction taken to HS; pc 0x80200000, cause 22, tval 0x60002573: csrrs a0, hstatus, zero\n`);
    expect(r.status).toBe(1);
  });

  it('--paging nested without --virt hw and unknown values are one-line errors; --bios needs --bare', () => {
    const img = file('x.bin', assemble(shutdown()));
    for (const [args, msg] of [
      [['run', '--virt', 'pv', '--paging', 'nested', img], 'wasmvisor: --paging nested needs the H extension (--virt hw); --virt pv uses --paging shadow'],
      [['run', '--paging=flat', img], "wasmvisor: --paging: unknown mode 'flat' (expected nested or shadow)"],
      [['run', '--trace', 'all', img], "wasmvisor: --trace: unknown trace 'all' (expected a list of insn, int, mmu, exits, sbi, io)"],
      [['run', '--bios', img, img], 'wasmvisor: --bios needs --bare (in VM mode the VMM itself answers SBI calls)'],
      [['run', '--bare', '--paging', 'nested', img], 'wasmvisor: --paging applies to VM mode only (drop --bare)'],
    ] as const) {
      const r = wasmvisor([...args]);
      expect(r.stderr).toBe(msg + '\n');
      expect(r.status).toBe(2);
    }
    expect(wasmvisor(['run', '--paging', 'nested', img]).status).toBe(0);
  }, 60_000);

  it('parses the VM options', () => {
    expect(parseArgs(['run', '--paging', 'nested', '--trace=exits', 'k'])).toMatchObject({
      kind: 'run', options: { image: 'k', bare: false, paging: 'nested', traceExits: true },
    });
  });
});
